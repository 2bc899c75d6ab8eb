//! Number functions.

use serde_json::Value;

use super::{FnCtx, number_arg};
use crate::value::number_from_f64;

pub(super) fn abs(_: &FnCtx<'_>, args: Vec<Value>) -> Result<Value, String> {
    number_from_f64(number_arg(&args, 0, "num")?.abs())
}

pub(super) fn ceil(_: &FnCtx<'_>, args: Vec<Value>) -> Result<Value, String> {
    number_from_f64(number_arg(&args, 0, "num")?.ceil())
}

pub(super) fn floor(_: &FnCtx<'_>, args: Vec<Value>) -> Result<Value, String> {
    number_from_f64(number_arg(&args, 0, "num")?.floor())
}

/// Truncates toward zero.
pub(super) fn int(_: &FnCtx<'_>, args: Vec<Value>) -> Result<Value, String> {
    number_from_f64(number_arg(&args, 0, "num")?.trunc())
}

fn numbers(args: &[Value]) -> Result<Vec<f64>, String> {
    (0..args.len())
        .map(|i| number_arg(args, i, "numbers"))
        .collect()
}

pub(super) fn max(_: &FnCtx<'_>, args: Vec<Value>) -> Result<Value, String> {
    number_from_f64(
        numbers(&args)?
            .into_iter()
            .fold(f64::NEG_INFINITY, f64::max),
    )
}

pub(super) fn min(_: &FnCtx<'_>, args: Vec<Value>) -> Result<Value, String> {
    number_from_f64(numbers(&args)?.into_iter().fold(f64::INFINITY, f64::min))
}

/// `range(limit)`, `range(start, limit)`, `range(start, limit, step)`.
pub(super) fn range(ctx: &FnCtx<'_>, args: Vec<Value>) -> Result<Value, String> {
    let n = numbers(&args)?;
    let (start, limit, step) = match n.as_slice() {
        [limit] => (0.0, *limit, 1.0),
        [start, limit] => (*start, *limit, if limit >= start { 1.0 } else { -1.0 }),
        [start, limit, step] => (*start, *limit, *step),
        _ => return Err("range takes 1 to 3 arguments".to_owned()),
    };
    if step == 0.0 {
        return Err("step must not be zero".to_owned());
    }
    if (step > 0.0 && limit < start) || (step < 0.0 && limit > start) {
        return Err("the step must move from start toward limit".to_owned());
    }
    let count = ((limit - start) / step).ceil();
    if count > 1024.0 * 1024.0 {
        return Err("more than 1048576 elements".to_owned());
    }
    ctx.charge(count as u64, 0)?;
    (0..count as usize)
        .map(|i| number_from_f64(start + step * i as f64))
        .collect::<Result<Vec<_>, _>>()
        .map(Value::Array)
}

#[cfg(test)]
mod tests {
    use crate::functions::test_support::eval;
    use serde_json::json;

    #[test]
    fn numeric_functions() {
        assert_eq!(eval("abs(-3)").unwrap(), json!(3));
        assert_eq!(eval("ceil(1.2)").unwrap(), json!(2));
        assert_eq!(eval("floor(-1.2)").unwrap(), json!(-2));
        assert_eq!(eval("int(-1.7)").unwrap(), json!(-1));
        assert_eq!(eval("max(1, 5, 3)").unwrap(), json!(5));
        assert_eq!(eval("min([4, 2]...)").unwrap(), json!(2));
        assert_eq!(eval("range(3)").unwrap(), json!([0, 1, 2]));
        assert_eq!(eval("range(1, 4)").unwrap(), json!([1, 2, 3]));
        assert_eq!(eval("range(0, 1, 0.5)").unwrap(), json!([0, 0.5]));
        assert!(eval("range(0, 1, 0)").is_err());
        assert!(eval("abs(null)").is_err());
    }
}
