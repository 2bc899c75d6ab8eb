//! The subject layout of a run (hops §3.3), as builders and a parser.
//!
//! ```text
//! <acct>.<topic>.notify.<run>.event                          source event
//! <acct>.<topic>.notify.<run>.hops                           pipeline version pin
//! <acct>.<topic>.notify.<run>.<call slug>                    call result
//! <acct>.<topic>.notify.<run>.<on slug>.done                 pipeline done marker
//! <acct>.<topic>.notify.<run>.<call slug>.attempt.<n>        why attempt n of a call did not finish
//! <acct>.<topic>.notify.<run>.<call slug>.wait               a call to an app nobody served yet
//! <acct>.<topic>.request.<run>.<call slug>.<app>.<handler>   call request
//! ```

use crate::error::{ConfigError, SubjectError};
use crate::names::validate_label;

/// Longest run id accepted.
const MAX_RUN_ID: usize = 128;

/// Which channels of a run to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Channels {
    /// `…notify.<run>.>`: the event, the pin, results and done markers (the run's bundle).
    #[default]
    Notify,
    /// `…*.<run>.>`: the above plus call requests (a run's full timeline).
    All,
}

/// What a subject of a run is.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum SubjectKind {
    /// `notify.<run>.event`: the source event.
    Event,
    /// `notify.<run>.hops`: the pipeline version the run is pinned to.
    Pin,
    /// `notify.<run>.<call>`: the result of a call.
    Result {
        /// Call slug.
        call: String,
    },
    /// `notify.<run>.<on>.done`: a pipeline's done marker.
    Done {
        /// Pipeline (`on`) slug.
        on: String,
    },
    /// `notify.<run>.<call>.attempt.<n>`: attempt `n` of a call ended without a result (it
    /// asked for a retry); the body says why.
    Attempt {
        /// Call slug.
        call: String,
        /// The attempt (1-based).
        attempt: u32,
    },
    /// `notify.<run>.<call>.wait`: the call went to an app no worker served when it was
    /// dispatched; the runner watches it until a worker takes it or its wait runs out.
    Wait {
        /// Call slug.
        call: String,
    },
    /// `request.<run>.<call>.<app>.<handler>`: a call request.
    Request {
        /// Call slug.
        call: String,
        /// App name.
        app: String,
        /// Handler name.
        handler: String,
    },
}

/// A parsed Hops subject.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ParsedSubject {
    /// The run the message belongs to.
    pub run_id: String,
    /// What the message is.
    pub kind: SubjectKind,
}

impl ParsedSubject {
    /// True for messages on the `notify` channel (everything but call requests).
    pub fn is_notify(&self) -> bool {
        !matches!(self.kind, SubjectKind::Request { .. })
    }
}

/// Subject builders and parser for one account and topic. Cheap to clone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subjects {
    account: String,
    topic: String,
    /// `<acct>.<topic>`
    prefix: String,
}

/// Checks a run id: `[A-Za-z0-9_-]{1,128}` (UUIDs, `replay-…`).
pub fn validate_run_id(run_id: &str) -> Result<(), SubjectError> {
    let ok = !run_id.is_empty()
        && run_id.len() <= MAX_RUN_ID
        && run_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(SubjectError::InvalidRunId {
            run_id: run_id.to_owned(),
        })
    }
}

/// Checks a token that goes into a subject verbatim (slugs, app, handler).
fn validate_token(what: &'static str, value: &str) -> Result<(), SubjectError> {
    let ok = !value.is_empty()
        && value
            .chars()
            .all(|c| !matches!(c, '.' | '*' | '>') && !c.is_whitespace() && !c.is_control());
    if ok {
        Ok(())
    } else {
        Err(SubjectError::InvalidToken {
            what,
            value: value.to_owned(),
        })
    }
}

impl Subjects {
    /// Subjects for `account` and `topic`, both `[a-z0-9_-]{1,64}`.
    pub fn new(account: &str, topic: &str) -> Result<Self, ConfigError> {
        validate_label("account", account)?;
        validate_label("topic", topic)?;
        Ok(Subjects {
            account: account.to_owned(),
            topic: topic.to_owned(),
            prefix: format!("{account}.{topic}"),
        })
    }

    /// The account (first token).
    pub fn account(&self) -> &str {
        &self.account
    }

    /// The topic (second token).
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// `<acct>.>`: everything of the account; the stream's subjects.
    pub fn account_filter(&self) -> String {
        format!("{}.>", self.account)
    }

    /// `<acct>.<topic>.notify.<run>.event`
    pub fn event(&self, run_id: &str) -> Result<String, SubjectError> {
        validate_run_id(run_id)?;
        Ok(format!("{}.notify.{run_id}.event", self.prefix))
    }

    /// `<acct>.<topic>.notify.<run>.hops` (the pipeline version pin).
    pub fn pin(&self, run_id: &str) -> Result<String, SubjectError> {
        validate_run_id(run_id)?;
        Ok(format!("{}.notify.{run_id}.hops", self.prefix))
    }

    /// `<acct>.<topic>.notify.<run>.<call slug>` (a call result).
    pub fn result(&self, run_id: &str, call_slug: &str) -> Result<String, SubjectError> {
        validate_run_id(run_id)?;
        validate_token("call slug", call_slug)?;
        Ok(format!("{}.notify.{run_id}.{call_slug}", self.prefix))
    }

    /// `<acct>.<topic>.notify.<run>.<on slug>.done` (a pipeline's done marker).
    pub fn done(&self, run_id: &str, on_slug: &str) -> Result<String, SubjectError> {
        validate_run_id(run_id)?;
        validate_token("pipeline slug", on_slug)?;
        Ok(format!("{}.notify.{run_id}.{on_slug}.done", self.prefix))
    }

    /// `<acct>.<topic>.notify.<run>.<call slug>.attempt.<n>` (why an attempt of a call did not
    /// end with a result).
    pub fn attempt(
        &self,
        run_id: &str,
        call_slug: &str,
        attempt: u32,
    ) -> Result<String, SubjectError> {
        validate_run_id(run_id)?;
        validate_token("call slug", call_slug)?;
        Ok(format!(
            "{}.notify.{run_id}.{call_slug}.attempt.{attempt}",
            self.prefix
        ))
    }

    /// `<acct>.<topic>.notify.<run>.<call slug>.wait` (a call waiting for its app).
    pub fn wait(&self, run_id: &str, call_slug: &str) -> Result<String, SubjectError> {
        validate_run_id(run_id)?;
        validate_token("call slug", call_slug)?;
        Ok(format!("{}.notify.{run_id}.{call_slug}.wait", self.prefix))
    }

    /// The subject a parsed subject came from (the inverse of [`Subjects::parse`]).
    pub fn render(&self, parsed: &ParsedSubject) -> String {
        let run = &parsed.run_id;
        let prefix = &self.prefix;
        match &parsed.kind {
            SubjectKind::Event => format!("{prefix}.notify.{run}.event"),
            SubjectKind::Pin => format!("{prefix}.notify.{run}.hops"),
            SubjectKind::Result { call } => format!("{prefix}.notify.{run}.{call}"),
            SubjectKind::Done { on } => format!("{prefix}.notify.{run}.{on}.done"),
            SubjectKind::Attempt { call, attempt } => {
                format!("{prefix}.notify.{run}.{call}.attempt.{attempt}")
            }
            SubjectKind::Wait { call } => format!("{prefix}.notify.{run}.{call}.wait"),
            SubjectKind::Request { call, app, handler } => {
                format!("{prefix}.request.{run}.{call}.{app}.{handler}")
            }
        }
    }

    /// `<acct>.<topic>.request.<run>.<call slug>.<app>.<handler>` (a call request).
    pub fn request(
        &self,
        run_id: &str,
        call_slug: &str,
        app: &str,
        handler: &str,
    ) -> Result<String, SubjectError> {
        validate_run_id(run_id)?;
        validate_token("call slug", call_slug)?;
        validate_token("app", app)?;
        validate_token("handler", handler)?;
        Ok(format!(
            "{}.request.{run_id}.{call_slug}.{app}.{handler}",
            self.prefix
        ))
    }

    /// Filter for every message of a run on the given channels:
    /// `<acct>.<topic>.notify.<run>.>` or `<acct>.<topic>.*.<run>.>`.
    pub fn run_filter(&self, run_id: &str, channels: Channels) -> Result<String, SubjectError> {
        validate_run_id(run_id)?;
        Ok(match channels {
            Channels::Notify => format!("{}.notify.{run_id}.>", self.prefix),
            Channels::All => format!("{}.*.{run_id}.>", self.prefix),
        })
    }

    /// `<acct>.<topic>.request.*.*.<app>.*`: every request for `app` (a worker's filter).
    pub fn app_requests(&self, app: &str) -> Result<String, SubjectError> {
        validate_token("app", app)?;
        Ok(format!("{}.request.*.*.{app}.*", self.prefix))
    }

    /// `<acct>.<topic>.notify.>`: every notify message (a run's bundle, every run).
    pub fn all_notify(&self) -> String {
        format!("{}.notify.>", self.prefix)
    }

    /// `<acct>.<topic>.notify.*.*`: what a runner steps on — events and results (and pins,
    /// which one filter cannot leave out). Done and attempt markers are left out: the runner
    /// wrote them and has nothing to do on their delivery.
    pub fn runner_steps(&self) -> String {
        format!("{}.notify.*.*", self.prefix)
    }

    /// `<acct>.<topic>.notify.*.*.wait`: calls waiting for an app nobody served yet, which the
    /// runner watches through a consumer of their own.
    pub fn runner_waits(&self) -> String {
        format!("{}.notify.*.*.wait", self.prefix)
    }

    /// `_hops.<acct>.<topic>.local.<host id>`: where a host that runs calls it dispatched
    /// itself answers whether one is still running (core NATS request/reply, outside the
    /// stream, which captures `<acct>.>` only).
    pub fn local_calls(&self, host_id: &str) -> Result<String, SubjectError> {
        validate_token("host id", host_id)?;
        Ok(format!("_hops.{}.local.{host_id}", self.prefix))
    }

    /// `<acct>.<topic>.notify.*.event`: every source event (run listings).
    pub fn all_events(&self) -> String {
        format!("{}.notify.*.event", self.prefix)
    }

    /// Parses a subject of this account and topic. Never panics; anything that does not follow
    /// the layout is a [`SubjectError::Malformed`] (or an invalid run id).
    pub fn parse(&self, subject: &str) -> Result<ParsedSubject, SubjectError> {
        let malformed = |reason| SubjectError::Malformed {
            subject: subject.to_owned(),
            reason,
        };
        let rest = subject
            .strip_prefix(self.prefix.as_str())
            .and_then(|r| r.strip_prefix('.'))
            .ok_or_else(|| malformed("it does not start with this account and topic"))?;
        let tokens: Vec<&str> = rest.split('.').collect();
        if tokens.len() < 3 {
            return Err(malformed("too few tokens"));
        }
        let (channel, run_id, tail) = (tokens[0], tokens[1], &tokens[2..]);
        validate_run_id(run_id)?;
        let token = |what, value: &str| validate_token(what, value).map(|()| value.to_owned());
        let kind = match (channel, tail) {
            ("notify", ["event"]) => SubjectKind::Event,
            ("notify", ["hops"]) => SubjectKind::Pin,
            ("notify", [call]) => SubjectKind::Result {
                call: token("call slug", call)?,
            },
            ("notify", [on, "done"]) => SubjectKind::Done {
                on: token("pipeline slug", on)?,
            },
            ("notify", [call, "wait"]) => SubjectKind::Wait {
                call: token("call slug", call)?,
            },
            ("notify", [call, "attempt", n]) => SubjectKind::Attempt {
                call: token("call slug", call)?,
                attempt: n
                    .parse()
                    .map_err(|_| malformed("an attempt number must be a whole number"))?,
            },
            ("notify", _) => {
                return Err(malformed(
                    "a notify subject has 5 tokens, 6 ending in .done or .wait, or 7 ending in .attempt.<n>",
                ));
            }
            ("request", [call, app, handler]) => SubjectKind::Request {
                call: token("call slug", call)?,
                app: token("app", app)?,
                handler: token("handler", handler)?,
            },
            ("request", _) => {
                return Err(malformed(
                    "a request subject has 7 tokens: request.<run>.<call>.<app>.<handler>",
                ));
            }
            _ => return Err(malformed("the channel must be notify or request")),
        };
        Ok(ParsedSubject {
            run_id: run_id.to_owned(),
            kind,
        })
    }
}

#[cfg(test)]
mod tests;
