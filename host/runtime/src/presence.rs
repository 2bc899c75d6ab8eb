//! Whether anyone serves an app right now: this process's workers, or a worker consumer
//! somewhere on the bus that is pulling. The runner asks before it dispatches (a call to an app
//! nobody serves gets a bounded wait); run views ask to say why a call waits.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hops_bus::Bus;
use hops_core::Workers;

/// What this process knows of an app it does not serve: compiling it, or refused it
/// (`None` otherwise).
pub type AppLoading = Arc<dyn Fn(&str) -> Option<AppLoad> + Send + Sync>;

/// How far this process got with an app it does not serve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppLoad {
    /// Compiling it, for this long so far.
    Compiling(Duration),
    /// Its file is there but was refused, for this reason (e.g. it imports what the host does
    /// not provide).
    Refused(String),
}

/// An answer about the bus stays good this long: the runner may ask for every dispatch.
const FRESH_FOR: Duration = Duration::from_secs(1);

/// Whether an app's calls will be taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppPresence {
    /// Some worker serves it: its calls are pending.
    Served,
    /// Nobody serves it: its calls wait, for this reason.
    Missing(String),
}

/// Answers "who serves app X?", caching what the bus said.
pub(crate) struct Presence {
    bus: Arc<Bus>,
    /// The apps this process serves (empty without the workers role).
    local: Workers,
    loading: Option<AppLoading>,
    /// How to get an app served, for apps that are not a `.wasm` (the k8s runner).
    hints: BTreeMap<String, String>,
    cache: Mutex<HashMap<String, (AppPresence, Instant)>>,
}

impl Presence {
    pub(crate) fn new(bus: Arc<Bus>, local: Workers, loading: Option<AppLoading>) -> Presence {
        Presence {
            bus,
            local,
            loading,
            hints: BTreeMap::new(),
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// Says how to get these apps served instead of "add app.wasm".
    pub(crate) fn with_hints(mut self, hints: BTreeMap<String, String>) -> Presence {
        self.hints = hints;
        self
    }

    /// Whether `app`'s calls will be taken now.
    pub(crate) async fn served(&self, app: &str) -> bool {
        self.of(app).await == AppPresence::Served
    }

    /// Who serves `app`, and if nobody, why in words.
    pub(crate) async fn of(&self, app: &str) -> AppPresence {
        if self.local.get(app).is_some() {
            return AppPresence::Served;
        }
        let load = self.loading.as_ref().and_then(|loading| loading(app));
        if let Some(AppLoad::Compiling(took)) = &load {
            return AppPresence::Missing(format!(
                "loading {app}.wasm, compiling ({} so far)",
                humantime::format_duration(Duration::from_secs(took.as_secs()))
            ));
        }
        if let Some((answer, at)) = self.cache.lock().ok().and_then(|c| c.get(app).cloned())
            && at.elapsed() < FRESH_FOR
        {
            return answer;
        }
        let answer = match self.bus.worker_activity(app).await {
            Ok(None) => AppPresence::Missing(match (self.hints.get(app), &load) {
                (_, Some(AppLoad::Refused(why))) => format!(
                    "no worker serves app {app}: this host refused it ({why}); fix the file and it is loaded again"
                ),
                (Some(hint), _) => format!("no worker serves app {app}: {hint}"),
                (None, _) => format!(
                    "no worker serves app {app}: add {app}.wasm to a host's plugins directory"
                ),
            }),
            Ok(Some(activity)) if activity.waiting_pulls == 0 && activity.in_flight == 0 => {
                AppPresence::Missing(format!("no running host serves app {app} right now"))
            }
            // Unknown (the bus did not answer) counts as served: no false alarm, no watch.
            _ => AppPresence::Served,
        };
        if let Ok(mut cache) = self.cache.lock() {
            if cache.len() > 10_000 {
                cache.clear();
            }
            cache.insert(app.to_owned(), (answer.clone(), Instant::now()));
        }
        answer
    }
}
