//! An in-memory [`HostApi`](crate::HostApi) for tests of the API and of the CLI (feature `test-support`).
//!
//! [`FakeHost`] records every request, validates task params like the runtime does, and plays
//! runs forward as they are polled: a run reports `running` until it has been fetched
//! [`FakeHost::set_polls_until_done`] times, then ends `completed`, or `errored` when its event
//! has `"fail": true`. An event with `"waiting_app": "<app>"` gets a call that waits for a worker;
//! one with `"ask": "<prompt>"` opens an input `approval` (a required bool `approve`, a text
//! `reason` defaulting to `none`).
//! [`FakeServer`] serves a host on a free loopback port from a background thread, so blocking
//! tests can run the `hops` binary against it.

mod fake_host;
mod fake_run;
mod server;

pub use fake_host::FakeHost;
pub use server::FakeServer;

use hops_core::WebhookRequest;
use serde_json::{Map, Value};

/// The tasks every [`FakeHost`] starts with.
pub const SAMPLE_TASKS: &str = r#"
task deploy {
  summary = "Deploy a service"
  param service {
    required = true
  }
  param replicas {
    type    = "number"
    default = 2
  }
  param dry_run {
    type = "bool"
  }
  param fail {
    type = "bool"
  }
  param notes {
    type = "text"
  }
}

task ping {}
"#;

/// The listener app that exists on a [`FakeHost`].
pub const FAKE_LISTENER: &str = "github";

/// A request the fake host received.
#[derive(Debug, Clone, PartialEq)]
pub enum Recorded {
    /// `send_event`.
    Event {
        /// The event.
        event: Value,
        /// The idempotency key.
        dedup: Option<String>,
    },
    /// `run_task`.
    RunTask {
        /// Task name.
        task: String,
        /// Params as received (before defaults).
        params: Map<String, Value>,
    },
    /// `list_runs`.
    ListRuns {
        /// The limit asked for.
        limit: usize,
    },
    /// `replay`.
    Replay {
        /// The replayed run.
        run_id: String,
        /// Dry run or not.
        dry_run: bool,
    },
    /// `purge_runs`.
    Purge {
        /// How long ago a run must have ended.
        older_than: std::time::Duration,
        /// Dry run or not.
        dry_run: bool,
    },
    /// `answer_input`.
    Answer {
        /// The run.
        run_id: String,
        /// The call as given.
        call: String,
        /// The values as received.
        values: Map<String, Value>,
        /// Who answered.
        by: String,
    },
    /// `webhook`.
    Webhook {
        /// The listener app.
        app: String,
        /// The request.
        request: WebhookRequest,
    },
}
