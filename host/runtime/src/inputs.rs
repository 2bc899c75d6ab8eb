//! Human input mid-run: the built-in app `input`, handler `ask`.
//!
//! A call to `input_ask` is taken by the `input` worker loop like any request, but instead of
//! running anything it records the question as an open input (a key of the `hops-inputs`
//! bucket) and acks. From then on the branch waits at no cost: no delivery is held, no
//! instance runs, nothing stays in memory, and a host restart changes nothing. The call's
//! result is stored later, once, by whoever comes first:
//!
//! - an answer (console, `POST /api/runs/{run}/inputs/{call}`, `hops input answer`), checked
//!   against the asked params like a task's params; its values become the result's `json`, and
//!   who answered becomes `hops.answered_by`;
//! - its deadline, which stores an errored result (see [`deadlines`]).
//!
//! Both publish once on the call's result subject, so an answer racing the deadline, or two
//! answers, leave exactly one result; the loser is told it came too late.

mod deadlines;
mod question;
pub(crate) mod views;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use hops_bus::{Bus, BusError};
use hops_core::{CallError, CallOutput, CallRequest, ResultMessage, Worker};
use hops_pipeline::Param;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use tokio::sync::Notify;
use tracing::{info, warn};

pub(crate) use deadlines::watch_deadlines;

use crate::metrics::Metrics;
use crate::params::{FieldErrors, check_params};

/// The built-in app that asks people.
pub const INPUT_APP: &str = "input";
/// Its one handler.
pub const ASK_HANDLER: &str = "ask";

/// An open input as recorded: the question and when it was asked.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OpenInput {
    /// The run that waits.
    pub run_id: String,
    /// The call's slug (its result's subject token).
    pub call: String,
    /// What people are asked.
    pub prompt: String,
    /// What they answer, with the shape and checks of task params.
    pub params: Vec<Param>,
    /// When the call was taken.
    pub asked_at: DateTime<Utc>,
    /// When it ends errored if nobody answered; `None`: it waits as long as it takes.
    pub deadline_at: Option<DateTime<Utc>>,
}

/// Why an answer was not taken.
#[derive(Debug, thiserror::Error)]
pub enum AnswerError {
    /// No such open input (never asked, or the run does not exist).
    #[error("run {run_id} has no open input {call}")]
    NotOpen {
        /// The run asked for.
        run_id: String,
        /// The call asked for.
        call: String,
    },
    /// It was answered already, or its deadline passed first.
    #[error("input {call} of run {run_id} is already closed: {why}")]
    Closed {
        /// The run.
        run_id: String,
        /// The call.
        call: String,
        /// Answered, or past its deadline.
        why: String,
    },
    /// The values do not fit the params.
    #[error("the answer does not fit what input {call} asks")]
    Invalid {
        /// The call.
        call: String,
        /// Problems per param.
        errors: FieldErrors,
    },
    /// NATS failed.
    #[error(transparent)]
    Bus(#[from] BusError),
}

/// Why asking failed.
pub(crate) enum AskError {
    /// The call's inputs are not a question: the call ends errored with this.
    Invalid(String),
    /// NATS failed: the request comes back.
    Bus(BusError),
}

/// Open inputs of one account and topic: asking, listing, answering, expiring.
pub struct Inputs {
    bus: Arc<Bus>,
    metrics: Arc<Metrics>,
    /// Woken when an input is opened here, so a short deadline is watched from the start.
    pub(crate) opened: Notify,
}

impl Inputs {
    /// Inputs over `bus`.
    pub fn new(bus: Arc<Bus>, metrics: Arc<Metrics>) -> Inputs {
        Inputs {
            bus,
            metrics,
            opened: Notify::new(),
        }
    }

    /// Opens the input a request of `input_ask` asks for (idempotent: a redelivery finds the
    /// first record and leaves it).
    pub(crate) async fn ask(
        &self,
        run_id: &str,
        call: &str,
        handler: &str,
        inputs: &[u8],
        published: DateTime<Utc>,
    ) -> Result<OpenInput, AskError> {
        if handler != ASK_HANDLER {
            return Err(AskError::Invalid(format!(
                "the input app has one handler, ask: write call input_ask, not input_{handler}"
            )));
        }
        let inputs: Value = if inputs.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(inputs).map_err(|err| {
                AskError::Invalid(format!("input_ask: inputs are not JSON: {err}"))
            })?
        };
        let question = question::parse(&inputs).map_err(AskError::Invalid)?;
        // The deadline counts from dispatch, so a request that waited for a worker does not
        // get longer than the pipeline said.
        let deadline_at = question
            .deadline
            .and_then(|d| chrono::Duration::from_std(d).ok())
            .map(|d| published + d);
        let open = OpenInput {
            run_id: run_id.to_owned(),
            call: call.to_owned(),
            prompt: question.prompt,
            params: question.params,
            asked_at: published,
            deadline_at,
        };
        let body = serde_json::to_vec(&open).map_err(|err| {
            AskError::Invalid(format!("input_ask: the question cannot be recorded: {err}"))
        })?;
        let created = self
            .bus
            .input_open(run_id, call, Bytes::from(body))
            .await
            .map_err(AskError::Bus)?;
        if created {
            info!(run_id, call, deadline = ?open.deadline_at, "input asked; the call waits for an answer");
            self.opened.notify_one();
        }
        Ok(open)
    }

    /// Every open input, oldest first. Records that cannot be read are skipped with a warning.
    pub async fn list(&self) -> Result<Vec<OpenInput>, BusError> {
        let mut out: Vec<OpenInput> = self
            .bus
            .inputs_open()
            .await?
            .into_iter()
            .filter_map(|(run, call, body)| match serde_json::from_slice(&body) {
                Ok(open) => Some(open),
                Err(err) => {
                    warn!(run_id = %run, call = %call, error = %err, "an open input cannot be read; skipped");
                    None
                }
            })
            .collect();
        out.sort_by_key(|a| a.asked_at);
        Ok(out)
    }

    /// The open input of `call` (a slug) in `run_id`, if it is open.
    pub async fn get(&self, run_id: &str, call: &str) -> Result<Option<OpenInput>, BusError> {
        Ok(self
            .bus
            .input_get(run_id, call)
            .await?
            .and_then(|body| serde_json::from_slice(&body).ok()))
    }

    /// Answers the open input of `call` (a slug) in `run_id` with `values`, by `by`: checks
    /// them, stores the call's result (once), closes the input. Returns the stored result.
    pub async fn answer(
        &self,
        run_id: &str,
        call: &str,
        values: Map<String, Value>,
        by: &str,
    ) -> Result<ResultMessage, AnswerError> {
        let Some(open) = self.get(run_id, call).await? else {
            return Err(self.not_open(run_id, call).await);
        };
        let answer = check_params(&open.params, values, "this input asks for no values").map_err(
            |errors| AnswerError::Invalid {
                call: call.to_owned(),
                errors,
            },
        )?;
        let mut result = ResultMessage::from_outcome(
            &Ok(CallOutput::json(Value::Object(answer))),
            open.asked_at,
            Utc::now(),
        );
        result.hops.answered_by = Some(by.to_owned());
        self.close_with(&open, result, "answered").await
    }

    /// Ends an input past its deadline with an errored result.
    pub(crate) async fn expire(&self, open: &OpenInput) -> Result<ResultMessage, AnswerError> {
        let waited = open
            .deadline_at
            .map(|at| (at - open.asked_at).to_std().unwrap_or_default())
            .unwrap_or_default();
        let message = format!(
            "nobody answered input {} within its deadline of {} (asked {})",
            open.call,
            humantime::format_duration(Duration::from_secs(waited.as_secs())),
            open.asked_at
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        );
        let result = ResultMessage::errored(&message, open.asked_at, Utc::now());
        self.close_with(open, result, "deadline").await
    }

    async fn close_with(
        &self,
        open: &OpenInput,
        result: ResultMessage,
        how: &str,
    ) -> Result<ResultMessage, AnswerError> {
        let subject = self
            .bus
            .subjects()
            .result(&open.run_id, &open.call)
            .map_err(BusError::from)?;
        let published = self
            .bus
            .publish_once(&subject, Bytes::from(result.to_bytes()))
            .await?;
        // Closed either way: a duplicate means another answer or the deadline came first.
        if let Err(err) = self.bus.input_close(&open.run_id, &open.call).await {
            warn!(error = %err, "could not close an input whose result is stored; it is closed on the next try");
        }
        if published.duplicate {
            return Err(AnswerError::Closed {
                run_id: open.run_id.clone(),
                call: open.call.clone(),
                why: "another answer, or its deadline, came first".to_owned(),
            });
        }
        let waited = (result.hops.finished_at - result.hops.started_at)
            .to_std()
            .ok();
        self.metrics.call_stored(INPUT_APP, result.errored, waited);
        info!(run_id = %open.run_id, call = %open.call, how, "input closed; the run goes on");
        Ok(result)
    }

    async fn not_open(&self, run_id: &str, call: &str) -> AnswerError {
        let stored = match self.bus.subjects().result(run_id, call) {
            Ok(subject) => self.bus.has_message(&subject).await.unwrap_or(false),
            Err(_) => false,
        };
        if stored {
            AnswerError::Closed {
                run_id: run_id.to_owned(),
                call: call.to_owned(),
                why: "it has its result (answered, or past its deadline)".to_owned(),
            }
        } else {
            AnswerError::NotOpen {
                run_id: run_id.to_owned(),
                call: call.to_owned(),
            }
        }
    }
}

/// The `input` app in the registry, so that its worker loop runs and runners see it served.
/// Its requests never reach [`Worker::handle`]: the worker loop opens them as inputs.
pub struct InputApp;

#[async_trait::async_trait]
impl Worker for InputApp {
    async fn handle(&self, _call: CallRequest) -> Result<CallOutput, CallError> {
        Err(CallError::Reject(
            "input_ask is answered by people; this host has no input worker loop".to_owned(),
        ))
    }

    fn max_concurrency(&self) -> usize {
        // Opening an input is one key-value write.
        64
    }

    fn describe(&self) -> String {
        "built-in: waits for a person's answer".to_owned()
    }
}
