//! Open inputs as the API shows them, and finding one by the call's name.

use hops_api::{ApiError, InputView, ParamInfo, ParamKind};
use hops_pipeline::PipelineSet;

use super::OpenInput;
use crate::views::split_call;

/// How the API lists `open`, naming the call as the pipelines do.
pub(crate) fn input_view(open: &OpenInput, set: Option<&PipelineSet>) -> InputView {
    let (pipeline, call) = split_call(set, &open.call);
    InputView {
        run_id: open.run_id.clone(),
        call,
        pipeline,
        slug: open.call.clone(),
        prompt: open.prompt.clone(),
        params: open
            .params
            .iter()
            .map(|p| ParamInfo {
                name: p.name.clone(),
                kind: ParamKind::from(p.kind),
                required: p.required,
                default: p.default.clone(),
                display_name: p.display_name.clone(),
                help: p.help.clone(),
            })
            .collect(),
        asked_at: open.asked_at,
        deadline_at: open.deadline_at,
    }
}

/// The slug of the open input `call` (a name as the timeline shows it, or a slug) among the
/// open inputs of one run.
pub(crate) fn find_slug(run_id: &str, call: &str, open: &[InputView]) -> Result<String, ApiError> {
    let named: Vec<&InputView> = open
        .iter()
        .filter(|i| i.run_id == run_id && (i.slug == call || i.call == call))
        .collect();
    match named.as_slice() {
        [one] => Ok(one.slug.clone()),
        [] => {
            let here: Vec<&str> = open
                .iter()
                .filter(|i| i.run_id == run_id)
                .map(|i| i.call.as_str())
                .collect();
            Err(ApiError::NotFound(if here.is_empty() {
                format!(
                    "run {run_id} has no open input {call}; `hops input list` shows the open ones"
                )
            } else {
                format!(
                    "run {run_id} has no open input {call}; its open inputs: {}",
                    here.join(", ")
                )
            }))
        }
        many => Err(ApiError::invalid(format!(
            "run {run_id} has {} open inputs named {call} (in pipelines {}); answer one by its slug: {}",
            many.len(),
            many.iter()
                .map(|i| i.pipeline.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            many.iter()
                .map(|i| i.slug.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}
