//! [`FakeHost`]: the in-memory [`HostApi`].

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

use chrono::Utc;
use hops_core::{SourceEvent, WebhookRequest, WebhookResponse};
use hops_pipeline::{ParamType, PipelineSet, Task};
use serde_json::{Map, Value, json};

use super::fake_run::FakeRun;
use super::{FAKE_LISTENER, Recorded, SAMPLE_TASKS};
use crate::{
    Accepted, Answered, ApiError, FieldErrors, HostApi, InputView, ParamInfo, ParamKind,
    PipelineView, PlannedCall, PurgeReport, ReplayOutcome, RunStatus, RunSummary, RunView,
};

#[derive(Debug)]
struct State {
    ready: Result<(), String>,
    tasks: Vec<Task>,
    runs: Vec<FakeRun>,
    recorded: Vec<Recorded>,
    polls_until_done: u32,
    hidden_polls: u32,
    /// Open inputs, and the (run, call) pairs answered.
    inputs: Vec<InputView>,
    answered: Vec<(String, String)>,
}

/// An in-memory host; see the module docs for how its runs behave.
#[derive(Debug)]
pub struct FakeHost {
    state: Mutex<State>,
}

impl Default for FakeHost {
    fn default() -> Self {
        Self::new()
    }
}

impl FakeHost {
    /// A ready host with the [`SAMPLE_TASKS`], whose runs end after 3 polls.
    pub fn new() -> Self {
        let set = PipelineSet::from_files(
            [("ops/main.hops".to_owned(), SAMPLE_TASKS.as_bytes().to_vec())].into(),
        );
        FakeHost {
            state: Mutex::new(State {
                ready: Ok(()),
                tasks: set.tasks,
                runs: Vec::new(),
                recorded: Vec::new(),
                polls_until_done: 3,
                hidden_polls: 0,
                inputs: Vec::new(),
                answered: Vec::new(),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A test that panicked while holding the lock already failed; keep serving the others.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// What `/ready` reports.
    pub fn set_ready(&self, ready: Result<(), String>) {
        self.lock().ready = ready;
    }

    /// How many `run()` fetches a run stays `running` for.
    pub fn set_polls_until_done(&self, polls: u32) {
        self.lock().polls_until_done = polls;
    }

    /// How many `run()` fetches of a new run answer 404 first, as a host that has not indexed
    /// the run yet would.
    pub fn set_hidden_polls(&self, polls: u32) {
        self.lock().hidden_polls = polls;
    }

    /// Every request received so far, in order.
    pub fn recorded(&self) -> Vec<Recorded> {
        self.lock().recorded.clone()
    }

    /// The ids of the runs started so far, oldest first.
    pub fn run_ids(&self) -> Vec<String> {
        self.lock().runs.iter().map(|r| r.id.clone()).collect()
    }

    /// Starts a run of `event` directly (no request recorded) and returns its id.
    pub fn start_run(&self, event: Value) -> Result<String, ApiError> {
        let id = SourceEvent::fresh_run_id();
        Self::insert_run(&mut self.lock(), id.clone(), event)?;
        Ok(id)
    }

    fn insert_run(state: &mut State, id: String, event: Value) -> Result<(), ApiError> {
        let source =
            SourceEvent::from_value(event).map_err(|e| ApiError::invalid(e.to_string()))?;
        if let Some(prompt) = source.payload().get("ask").and_then(Value::as_str) {
            state.inputs.push(fake_input(&id, prompt));
        }
        let hidden = state.hidden_polls;
        state.runs.push(FakeRun {
            id,
            event: Value::Object(source.payload().clone()),
            meta: source.meta().clone(),
            started_at: Utc::now(),
            polls: 0,
            hidden,
        });
        Ok(())
    }
}

/// The open input of an event with `"ask": "<prompt>"`: call `approval`, asking for a
/// required bool `approve` and a text `reason` (default `none`).
fn fake_input(run_id: &str, prompt: &str) -> InputView {
    InputView {
        run_id: run_id.to_owned(),
        call: "approval".to_owned(),
        pipeline: "deploy".to_owned(),
        slug: "deploy-approval".to_owned(),
        prompt: prompt.to_owned(),
        params: vec![
            ParamInfo {
                name: "approve".to_owned(),
                kind: ParamKind::Bool,
                required: true,
                default: None,
                display_name: "Approve".to_owned(),
                help: String::new(),
            },
            ParamInfo {
                name: "reason".to_owned(),
                kind: ParamKind::Text,
                required: false,
                default: Some(json!("none")),
                display_name: "Reason".to_owned(),
                help: String::new(),
            },
        ],
        asked_at: Utc::now(),
        deadline_at: None,
    }
}

/// The params of a fake input as a task's, for [`check_params`].
fn input_task(input: &InputView) -> Task {
    Task {
        name: input.call.clone(),
        display_name: String::new(),
        description: String::new(),
        summary: String::new(),
        emoji: String::new(),
        params: input
            .params
            .iter()
            .map(|p| hops_pipeline::Param {
                name: p.name.clone(),
                kind: match p.kind {
                    ParamKind::Number => ParamType::Number,
                    ParamKind::Bool => ParamType::Bool,
                    ParamKind::Text => ParamType::Text,
                    ParamKind::String | ParamKind::Other => ParamType::String,
                },
                required: p.required,
                default: p.default.clone(),
                display_name: p.display_name.clone(),
                help: p.help.clone(),
                flag: String::new(),
                shortflag: String::new(),
            })
            .collect(),
        filepath: String::new(),
    }
}

/// The runtime's rules: unknown names, types, required, defaults.
fn check_params(
    task: &Task,
    params: &Map<String, Value>,
) -> Result<Map<String, Value>, FieldErrors> {
    let mut errors = FieldErrors::new();
    let known: Vec<&str> = task.params.iter().map(|p| p.name.as_str()).collect();
    for name in params.keys().filter(|n| !known.contains(&n.as_str())) {
        errors
            .entry(name.clone())
            .or_default()
            .push(format!("Unknown parameter; known: {}", known.join(", ")));
    }
    let mut out = Map::new();
    for param in &task.params {
        match (params.get(&param.name), &param.default) {
            (Some(value), _) if param.kind.accepts(value) => {
                out.insert(param.name.clone(), value.clone());
            }
            (Some(_), _) => errors.entry(param.name.clone()).or_default().push(
                match param.kind {
                    ParamType::Number => "Should be a number",
                    ParamType::Bool => "Should be a boolean",
                    ParamType::Text => "Should be text",
                    ParamType::String => "Should be a string",
                }
                .to_owned(),
            ),
            (None, Some(default)) => {
                out.insert(param.name.clone(), default.clone());
            }
            (None, None) if param.required => {
                errors
                    .entry(param.name.clone())
                    .or_default()
                    .push("Required".to_owned());
            }
            (None, None) => {}
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

#[async_trait::async_trait]
impl HostApi for FakeHost {
    fn ready(&self) -> Result<(), String> {
        self.lock().ready.clone()
    }

    async fn send_event(&self, event: Value, dedup: Option<String>) -> Result<Accepted, ApiError> {
        let mut state = self.lock();
        state.recorded.push(Recorded::Event {
            event: event.clone(),
            dedup: dedup.clone(),
        });
        let source =
            SourceEvent::from_value(event.clone()).map_err(|e| ApiError::invalid(e.to_string()))?;
        let run_id = match &dedup {
            Some(key) => source.stable_run_id(Some(key)),
            None => SourceEvent::fresh_run_id(),
        };
        if state.runs.iter().any(|r| r.id == run_id) {
            return Ok(Accepted {
                run_id,
                duplicate: true,
            });
        }
        Self::insert_run(&mut state, run_id.clone(), event)?;
        Ok(Accepted {
            run_id,
            duplicate: false,
        })
    }

    async fn tasks(&self) -> Result<Vec<Task>, ApiError> {
        Ok(self.lock().tasks.clone())
    }

    async fn run_task(&self, task: &str, params: Map<String, Value>) -> Result<Accepted, ApiError> {
        self.run_task_as(task, params, "").await
    }

    async fn run_task_as(
        &self,
        task: &str,
        params: Map<String, Value>,
        by: &str,
    ) -> Result<Accepted, ApiError> {
        let mut state = self.lock();
        state.recorded.push(Recorded::RunTask {
            task: task.to_owned(),
            params: params.clone(),
        });
        let Some(found) = state.tasks.iter().find(|t| t.name == task) else {
            return Err(ApiError::NotFound(format!("no task named `{task}`")));
        };
        let mut payload = check_params(found, &params).map_err(|errors| ApiError::Invalid {
            message: format!("invalid inputs for {task}"),
            errors,
        })?;
        payload.insert(
            "hops".to_owned(),
            json!({"source": "hiphops", "event": "task", "action": task}),
        );
        if !by.is_empty()
            && let Some(Value::Object(hops)) = payload.get_mut("hops")
        {
            hops.insert(hops_core::STARTED_BY.to_owned(), json!(by));
        }
        let run_id = SourceEvent::fresh_run_id();
        Self::insert_run(&mut state, run_id.clone(), Value::Object(payload))?;
        Ok(Accepted {
            run_id,
            duplicate: false,
        })
    }

    async fn inputs(&self) -> Result<Vec<InputView>, ApiError> {
        Ok(self.lock().inputs.clone())
    }

    async fn answer_input(
        &self,
        run_id: &str,
        call: &str,
        values: Map<String, Value>,
        by: &str,
    ) -> Result<Answered, ApiError> {
        let mut state = self.lock();
        state.recorded.push(Recorded::Answer {
            run_id: run_id.to_owned(),
            call: call.to_owned(),
            values: values.clone(),
            by: by.to_owned(),
        });
        if state.answered.iter().any(|(r, c)| r == run_id && c == call) {
            return Err(ApiError::Conflict(format!(
                "input {call} of run {run_id} is already answered"
            )));
        }
        let Some(at) = state
            .inputs
            .iter()
            .position(|i| i.run_id == run_id && (i.call == call || i.slug == call))
        else {
            return Err(ApiError::NotFound(format!(
                "run {run_id} has no open input {call}"
            )));
        };
        let answer = check_params(&input_task(&state.inputs[at]), &values).map_err(|errors| {
            ApiError::Invalid {
                message: format!("the answer does not fit what input {call} asks"),
                errors,
            }
        })?;
        let input = state.inputs.remove(at);
        state.answered.push((run_id.to_owned(), input.call.clone()));
        Ok(Answered {
            run_id: run_id.to_owned(),
            call: input.call,
            answer: Value::Object(answer),
            answered_by: by.to_owned(),
        })
    }

    async fn list_runs(&self, limit: usize) -> Result<Vec<RunSummary>, ApiError> {
        let mut state = self.lock();
        state.recorded.push(Recorded::ListRuns { limit });
        let polls = state.polls_until_done;
        Ok(state
            .runs
            .iter()
            .rev()
            .take(limit)
            .map(|r| r.summary(polls))
            .collect())
    }

    async fn run(&self, run_id: &str) -> Result<RunView, ApiError> {
        let mut state = self.lock();
        let polls = state.polls_until_done;
        let Some(run) = state.runs.iter_mut().find(|r| r.id == run_id) else {
            return Err(ApiError::NotFound(format!("no run `{run_id}`")));
        };
        if run.hidden > 0 {
            run.hidden -= 1;
            return Err(ApiError::NotFound(format!("no run `{run_id}`")));
        }
        run.polls += 1;
        Ok(run.view(polls))
    }

    async fn replay(&self, run_id: &str, dry_run: bool) -> Result<ReplayOutcome, ApiError> {
        let mut state = self.lock();
        state.recorded.push(Recorded::Replay {
            run_id: run_id.to_owned(),
            dry_run,
        });
        let Some(run) = state.runs.iter().find(|r| r.id == run_id) else {
            return Err(ApiError::NotFound(format!("no run `{run_id}`")));
        };
        let event = run.event.clone();
        let calls = vec![PlannedCall {
            pipeline: "main".to_owned(),
            name: "first".to_owned(),
            app: "echo".to_owned(),
            handler: "echo".to_owned(),
            inputs: run.inputs(),
        }];
        let new_run = if dry_run {
            None
        } else {
            let id = SourceEvent::fresh_run_id();
            Self::insert_run(&mut state, id.clone(), event)?;
            Some(id)
        };
        Ok(ReplayOutcome {
            dry_run,
            run_id: new_run,
            calls,
            pipelines: vec![PipelineView {
                name: "main".to_owned(),
                status: RunStatus::Running,
            }],
            diagnostics: vec!["pipeline `broken`: unknown variable `nope`".to_owned()],
        })
    }

    async fn purge_runs(
        &self,
        older_than: std::time::Duration,
        dry_run: bool,
    ) -> Result<PurgeReport, ApiError> {
        let mut state = self.lock();
        state.recorded.push(Recorded::Purge {
            older_than,
            dry_run,
        });
        let runs = state.runs.len();
        if !dry_run {
            state.runs.clear();
        }
        Ok(PurgeReport {
            dry_run,
            cutoff: Utc::now() - chrono::Duration::from_std(older_than).unwrap_or_default(),
            runs,
            messages: if dry_run { 0 } else { runs as u64 * 3 },
        })
    }

    async fn metrics(&self) -> Result<String, ApiError> {
        Ok("# TYPE fake_runs counter\nfake_runs_total 1\n# EOF\n".to_owned())
    }

    async fn apps(&self) -> Result<Value, ApiError> {
        Ok(json!([{"name": "echo", "version": "0.1.0", "world": "worker"}]))
    }

    async fn webhook(
        &self,
        app: &str,
        request: WebhookRequest,
    ) -> Result<WebhookResponse, ApiError> {
        let mut state = self.lock();
        if app != FAKE_LISTENER {
            return Err(ApiError::NotFound(format!("no listener app `{app}`")));
        }
        let body = format!(
            "{} {} {} {}",
            request.method,
            request.path,
            request.query,
            request.body.len()
        );
        state.recorded.push(Recorded::Webhook {
            app: app.to_owned(),
            request,
        });
        Ok(WebhookResponse {
            status: 201,
            headers: BTreeMap::from([
                ("x-fake".to_owned(), "yes".to_owned()),
                ("content-type".to_owned(), "text/plain".to_owned()),
            ]),
            body: body.into_bytes(),
        })
    }
}
