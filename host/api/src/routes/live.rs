//! `GET /api/runs/{id}/live`: a run's timeline as Server-Sent Events, for pages that follow a
//! run as it happens (the console) and for `curl -N`.
//!
//! Each `run` event carries the whole [`RunView`](crate::RunView), sent when the stream opens
//! and again whenever it changes; after the one that shows the run finished, an `end` event
//! closes the stream. The host is asked every [`EVERY`]: a view is cheap (a few direct gets),
//! and polling keeps the API independent of how the host stores runs.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::Stream;

use crate::ApiError;
use crate::router::AppState;

/// How often the run is looked at.
const EVERY: Duration = Duration::from_millis(200);

/// Follows run `id` until it ends; 404 when there is no such run.
#[utoipa::path(get, path = "/api/runs/{id}/live", tag = "runs",
    params(("id" = String, Path, description = "The run id")),
    responses(
        (status = 200, description = "`run` events, each a RunView (JSON), sent when the run changes; an `end` event once it finished", content_type = "text/event-stream", body = crate::openapi::LiveEvent),
        (status = 401, description = "Missing or wrong token", body = crate::ErrorBody),
        (status = 404, description = "No such run", body = crate::ErrorBody),
    ),
    security(("bearer" = [])))]
pub(crate) async fn follow(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let first = state.api.run(&id).await?;
    let follow = Follow {
        state,
        id,
        phase: Phase::Send(Box::new(first)),
        last: String::new(),
    };
    let stream = futures::stream::unfold(follow, Follow::next);
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

/// Where a followed run's stream is.
enum Phase {
    /// A view to send (if it changed).
    Send(Box<crate::RunView>),
    /// Look again after [`EVERY`].
    Poll,
    /// Send `end` with this text, then close.
    End(String),
    /// Closed.
    Closed,
}

struct Follow {
    state: AppState,
    id: String,
    phase: Phase,
    /// The JSON of the last view sent.
    last: String,
}

impl Follow {
    async fn next(mut self) -> Option<(Result<Event, Infallible>, Follow)> {
        loop {
            match std::mem::replace(&mut self.phase, Phase::Closed) {
                Phase::Closed => return None,
                Phase::End(why) => {
                    return Some((Ok(Event::default().event("end").data(why)), self));
                }
                Phase::Poll => {
                    tokio::time::sleep(EVERY).await;
                    self.phase = match self.state.api.run(&self.id).await {
                        Ok(view) => Phase::Send(Box::new(view)),
                        // A run purged while followed, or a host that cannot read it now.
                        Err(err) => Phase::End(err.to_string()),
                    };
                }
                Phase::Send(view) => {
                    let json = serde_json::to_string(&view).unwrap_or_default();
                    self.phase = if view.status.is_finished() {
                        Phase::End(format!("run {}", view.status.as_str()))
                    } else {
                        Phase::Poll
                    };
                    if json != self.last {
                        self.last.clone_from(&json);
                        return Some((Ok(Event::default().event("run").data(json)), self));
                    }
                }
            }
        }
    }
}
