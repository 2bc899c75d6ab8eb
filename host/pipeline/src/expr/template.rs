//! Template helpers: strip markers (`~`) and rendering of parts.

use std::borrow::Cow;

use serde_json::Value;

use super::Part;
use super::eval::{EvalError, Evaluator, Scope};
use crate::value;

/// Applies `${~ …}` / `%{ … ~}` strip markers to the literals around each non-literal part.
/// `strips` holds (part index, strip the literal before, strip the literal after).
pub(super) fn apply_strip(parts: &mut [Part], strips: &[(usize, bool, bool)]) {
    for &(index, before, after) in strips {
        if before
            && let Some(Part::Literal(text)) = index.checked_sub(1).and_then(|i| parts.get_mut(i))
        {
            *text = text.trim_end().to_owned();
        }
        if after && let Some(Part::Literal(text)) = parts.get_mut(index + 1) {
            *text = text.trim_start().to_owned();
        }
    }
}

impl Evaluator<'_> {
    /// Renders template parts into `out`, charging the budget for every byte and iteration.
    pub(super) fn render_parts(
        &self,
        parts: &[Part],
        scope: &Scope<'_>,
        out: &mut String,
    ) -> Result<(), EvalError> {
        for part in parts {
            match part {
                Part::Literal(text) => {
                    self.spend(0, text.len() as u64, &None)?;
                    out.push_str(text);
                }
                Part::Interpolation(expr) => {
                    let value = self.eval(expr, scope)?;
                    let text = value::to_string(&value).map_err(|m| {
                        EvalError::new(
                            format!("Invalid template interpolation value: {m}"),
                            expr.span.clone(),
                        )
                    })?;
                    self.spend(0, text.len() as u64, &expr.span)?;
                    out.push_str(&text);
                }
                Part::If(cond, then, otherwise) => {
                    let value = self.eval(cond, scope)?;
                    let flag = value::to_bool(&value).map_err(|m| {
                        EvalError::new(
                            format!("Invalid template directive condition: {m}"),
                            cond.span.clone(),
                        )
                    })?;
                    self.render_parts(if flag { then } else { otherwise }, scope, out)?;
                }
                Part::For {
                    key_var,
                    value_var,
                    collection,
                    body,
                } => {
                    let coll = self.eval(collection, scope)?;
                    let items: Vec<(Value, Cow<'_, Value>)> = match coll.as_ref() {
                        Value::Array(items) => items
                            .iter()
                            .enumerate()
                            .map(|(i, v)| (Value::from(i), Cow::Borrowed(v)))
                            .collect(),
                        Value::Object(map) => map
                            .iter()
                            .map(|(k, v)| (Value::String(k.clone()), Cow::Borrowed(v)))
                            .collect(),
                        other => {
                            return Err(EvalError::new(
                                format!(
                                    "Iteration over non-iterable value: a {} value cannot be used as the collection in a 'for' directive",
                                    value::type_name(other)
                                ),
                                collection.span.clone(),
                            ));
                        }
                    };
                    for (key, item) in items {
                        self.spend(1, 0, &collection.span)?;
                        let mut locals: Vec<(&str, Cow<'_, Value>)> = Vec::with_capacity(2);
                        if let Some(k) = key_var {
                            locals.push((k.as_str(), Cow::Owned(key)));
                        }
                        locals.push((value_var.as_str(), item));
                        let child = scope.child(&locals);
                        self.render_parts(body, &child, out)?;
                    }
                }
            }
        }
        Ok(())
    }
}
