//! The API's side of open inputs: listing them and taking answers.

use hops_api::{Answered, ApiError, CallStatus, InputView, RunView};
use serde_json::{Map, Value};

use super::{HostServices, bus_error, check_run_id};
use crate::inputs::views::{find_slug, input_view};
use crate::inputs::{AnswerError, INPUT_APP};
use crate::run_record::RunRecord;

impl HostServices {
    /// Every open input, named as the current pipelines name its call.
    pub(super) async fn open_inputs(&self) -> Result<Vec<InputView>, ApiError> {
        let Some(inputs) = &self.inputs else {
            return Ok(Vec::new());
        };
        let open = inputs.list().await.map_err(bus_error)?;
        let set = self.store.current();
        Ok(open.iter().map(|o| input_view(o, set.as_deref())).collect())
    }

    /// Says what each unfinished call to the `input` app is waiting for: its open question.
    /// `view.calls` are `record.requests`, in order.
    pub(super) async fn mark_open_inputs(&self, view: &mut RunView, record: &RunRecord) {
        let Some(inputs) = &self.inputs else { return };
        for (call, request) in view.calls.iter_mut().zip(&record.requests) {
            if call.app != INPUT_APP || call.status.is_finished() {
                continue;
            }
            if let Ok(Some(open)) = inputs.get(&view.run_id, &request.call).await {
                call.status = CallStatus::Waiting;
                call.waiting_for = Some(format!(
                    "an answer to {:?} (hops input answer {} {})",
                    open.prompt, view.run_id, call.name
                ));
            }
        }
    }

    /// Answers input `call` (a name or a slug) of `run_id`.
    pub(super) async fn answer(
        &self,
        run_id: &str,
        call: &str,
        values: Map<String, Value>,
        by: &str,
    ) -> Result<Answered, ApiError> {
        check_run_id(run_id)?;
        let Some(inputs) = &self.inputs else {
            return Err(ApiError::NotFound(format!(
                "run {run_id} has no open input {call}: this host takes no inputs"
            )));
        };
        let open = self.open_inputs().await?;
        let slug = match find_slug(run_id, call, &open) {
            Ok(slug) => slug,
            // Not open: an input answered already, or past its deadline, is told apart by its
            // call's result in the run.
            Err(ApiError::NotFound(message)) => {
                let view = hops_api::HostApi::run(self, run_id).await.ok();
                let closed = view.as_ref().and_then(|view| {
                    view.calls
                        .iter()
                        .find(|c| c.app == INPUT_APP && c.name == call && c.status.is_finished())
                });
                return Err(match closed {
                    Some(c) => ApiError::Conflict(format!(
                        "input {call} of run {run_id} is already closed: it was {}",
                        if c.status == CallStatus::Errored {
                            "not answered in time, or its question was wrong"
                        } else {
                            "answered"
                        }
                    )),
                    None => ApiError::NotFound(message),
                });
            }
            Err(err) => return Err(err),
        };
        let name = open
            .iter()
            .find(|i| i.run_id == run_id && i.slug == slug)
            .map_or_else(|| call.to_owned(), |i| i.call.clone());
        match inputs.answer(run_id, &slug, values, by).await {
            Ok(result) => Ok(Answered {
                run_id: run_id.to_owned(),
                call: name,
                answer: result.json.unwrap_or(Value::Null),
                answered_by: by.to_owned(),
            }),
            Err(AnswerError::Invalid { errors, .. }) => Err(ApiError::Invalid {
                message: format!("the answer does not fit what input {name} asks"),
                errors,
            }),
            Err(err @ AnswerError::Closed { .. }) => Err(ApiError::Conflict(err.to_string())),
            Err(err @ AnswerError::NotOpen { .. }) => Err(ApiError::NotFound(err.to_string())),
            Err(AnswerError::Bus(err)) => Err(bus_error(err)),
        }
    }
}
