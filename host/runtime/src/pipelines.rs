//! The pipelines a host runs: the current set (hot-reloaded from a directory, a broken edit
//! keeping the last good version) and every pinned version runs may still need.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use anyhow::Context as _;
use async_trait::async_trait;
use hops_pipeline::{LoadOptions, PipelineSet};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

/// Where pipeline versions are kept so any replica can evaluate a run with the version that
/// started it (the JetStream object store in production).
#[async_trait]
pub trait VersionStore: Send + Sync + 'static {
    /// Stores the files of version `hash` (idempotent).
    async fn put(&self, hash: &str, files: &BTreeMap<String, Vec<u8>>) -> anyhow::Result<()>;
    /// Fetches the files of version `hash`; `Ok(None)` when no such version exists.
    async fn get(&self, hash: &str) -> anyhow::Result<Option<BTreeMap<String, Vec<u8>>>>;
}

/// How many pinned versions other than the current one stay in memory.
const PINNED_CACHE: usize = 16;

/// Called after every (re)load attempt with the set that was read, so the caller can print its
/// diagnostics; `applied` is false when errors kept the previous version.
pub type ReloadHook = Arc<dyn Fn(&PipelineSet, bool) + Send + Sync>;

/// Pinned versions by hash, with their insertion order for eviction.
type PinnedCache = (HashMap<String, Arc<PipelineSet>>, VecDeque<String>);

/// What the last read of the pipelines directory found.
#[derive(Debug, Clone)]
pub struct LoadReport {
    /// When it was read.
    pub at: chrono::DateTime<chrono::Utc>,
    /// False when errors kept the previous version.
    pub applied: bool,
    /// The hash of the set that was read.
    pub hash: String,
    /// Its errors and warnings.
    pub diagnostics: Vec<hops_pipeline::Diagnostic>,
}

/// The host's pipelines.
pub struct PipelineStore {
    dir: PathBuf,
    versions: Arc<dyn VersionStore>,
    current: RwLock<Option<Arc<PipelineSet>>>,
    pinned: Mutex<PinnedCache>,
    changed: watch::Sender<u64>,
    hook: ReloadHook,
    options: LoadOptions,
    last_load: RwLock<Option<LoadReport>>,
}

impl PipelineStore {
    /// Loads `dir` once with the default [`LoadOptions`]. A set with errors is not applied (the
    /// store starts empty and `current` is `None` until a good version loads); an unreadable
    /// directory is an error.
    pub async fn open(
        dir: &Path,
        versions: Arc<dyn VersionStore>,
        hook: ReloadHook,
    ) -> anyhow::Result<Arc<Self>> {
        Self::open_with(dir, versions, hook, LoadOptions::default()).await
    }

    /// [`PipelineStore::open`] with `options` (the pipeline environment, the load-time budget),
    /// which apply to every version it loads, pinned ones included.
    pub async fn open_with(
        dir: &Path,
        versions: Arc<dyn VersionStore>,
        hook: ReloadHook,
        options: LoadOptions,
    ) -> anyhow::Result<Arc<Self>> {
        // Absolute, so watcher events (absolute paths) can be related to it.
        let dir = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_owned());
        let store = Arc::new(PipelineStore {
            dir,
            versions,
            current: RwLock::new(None),
            pinned: Mutex::new((HashMap::new(), VecDeque::new())),
            changed: watch::channel(0).0,
            hook,
            options,
            last_load: RwLock::new(None),
        });
        store.reload().await?;
        Ok(store)
    }

    /// The version new runs use, if a good one has loaded.
    pub fn current(&self) -> Option<Arc<PipelineSet>> {
        self.current.read().ok()?.clone()
    }

    /// What the last read of the directory found (`None` before the first).
    pub fn last_load(&self) -> Option<LoadReport> {
        self.last_load.read().ok()?.clone()
    }

    /// Changes whenever a new version is applied.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changed.subscribe()
    }

    /// Re-reads the directory; applies the new set when it has no errors.
    pub async fn reload(&self) -> anyhow::Result<()> {
        let dir = self.dir.clone();
        let options = self.options.clone();
        let set = tokio::task::spawn_blocking(move || PipelineSet::load_dir_with(&dir, &options))
            .await
            .context("pipeline loader panicked")??;
        let ok = !set.has_errors();
        (self.hook)(&set, ok);
        if let Ok(mut last) = self.last_load.write() {
            *last = Some(LoadReport {
                at: chrono::Utc::now(),
                applied: ok,
                hash: set.hash.clone(),
                diagnostics: set.diagnostics.clone(),
            });
        }
        if !ok {
            return Ok(());
        }
        if self.current().is_some_and(|c| c.hash == set.hash) {
            return Ok(());
        }
        let files: BTreeMap<String, Vec<u8>> = set
            .files
            .iter()
            .map(|(k, v)| (k.clone(), v.to_vec()))
            .collect();
        self.versions
            .put(&set.hash, &files)
            .await
            .with_context(|| format!("storing pipeline version {}", short(&set.hash)))?;
        info!(version = %short(&set.hash), pipelines = set.ons.len(), tasks = set.tasks.len(), schedules = set.schedules.len(), "pipelines loaded");
        if let Ok(mut current) = self.current.write() {
            if let Some(old) = current.take() {
                self.remember(old);
            }
            *current = Some(Arc::new(set));
        }
        self.changed.send_modify(|n| *n += 1);
        Ok(())
    }

    fn remember(&self, set: Arc<PipelineSet>) {
        if let Ok(mut guard) = self.pinned.lock() {
            let (map, order) = &mut *guard;
            if map.insert(set.hash.clone(), Arc::clone(&set)).is_none() {
                order.push_back(set.hash.clone());
            }
            while order.len() > PINNED_CACHE {
                if let Some(old) = order.pop_front() {
                    map.remove(&old);
                }
            }
        }
    }

    /// The version with hash `hash`: the current one, a cached one, or one fetched from the
    /// version store (checked against its hash).
    pub async fn by_hash(&self, hash: &str) -> anyhow::Result<Arc<PipelineSet>> {
        if let Some(current) = self.current().filter(|c| c.hash == hash) {
            return Ok(current);
        }
        if let Some(set) = self.pinned.lock().ok().and_then(|g| g.0.get(hash).cloned()) {
            return Ok(set);
        }
        let files = self.versions.get(hash).await?.with_context(|| {
            format!(
                "pipeline version {} is not in the version store",
                short(hash)
            )
        })?;
        let options = self.options.clone();
        let set =
            tokio::task::spawn_blocking(move || PipelineSet::from_files_with(files, &options))
                .await
                .context("pipeline loader panicked")?;
        anyhow::ensure!(
            set.hash == hash,
            "pipeline version {} is corrupted: its files hash to {}",
            short(hash),
            short(&set.hash)
        );
        let set = Arc::new(set);
        self.remember(Arc::clone(&set));
        Ok(set)
    }

    /// Watches the directory and reloads on changes (debounced) until `cancel`.
    pub fn watch(
        self: &Arc<Self>,
        cancel: CancellationToken,
    ) -> anyhow::Result<tokio::task::JoinHandle<()>> {
        use notify::{RecursiveMode, Watcher as _};
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let root = self.dir.clone();
        let mut watcher =
            notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
                if let Ok(event) = event
                    && !event.kind.is_access()
                    && event.paths.iter().any(|p| relevant(&root, p))
                {
                    let _ = tx.send(());
                }
            })
            .context("starting the pipelines file watcher")?;
        watcher
            .watch(&self.dir, RecursiveMode::Recursive)
            .with_context(|| format!("watching {}", self.dir.display()))?;
        let store = Arc::clone(self);
        Ok(tokio::spawn(async move {
            let _watcher = watcher;
            loop {
                tokio::select! {
                    () = cancel.cancelled() => return,
                    got = rx.recv() => if got.is_none() { return },
                }
                // Editors write files in several steps: wait until changes settle.
                loop {
                    tokio::select! {
                        () = tokio::time::sleep(Duration::from_millis(150)) => break,
                        got = rx.recv() => if got.is_none() { return },
                    }
                }
                if let Err(err) = store.reload().await {
                    warn!(error = %format!("{err:#}"), "reloading pipelines failed; keeping the previous version");
                }
            }
        }))
    }
}

/// Changes inside hidden directories (the local `.hops/` data dir) or the plugins directory
/// never affect pipelines.
fn relevant(root: &Path, path: &Path) -> bool {
    let inside = path.strip_prefix(root).unwrap_or(path);
    !inside.components().any(|c| {
        let s = c.as_os_str().to_string_lossy();
        s.starts_with('.') || s == "plugins"
    })
}

/// The first 12 characters of a version hash, for messages.
pub fn short(hash: &str) -> &str {
    hash.get(..12).unwrap_or(hash)
}

/// A version store in memory, for tests and single-process tools.
#[derive(Default)]
pub struct MemoryVersions(Mutex<HashMap<String, BTreeMap<String, Vec<u8>>>>);

#[async_trait]
impl VersionStore for MemoryVersions {
    async fn put(&self, hash: &str, files: &BTreeMap<String, Vec<u8>>) -> anyhow::Result<()> {
        if let Ok(mut map) = self.0.lock() {
            map.insert(hash.to_owned(), files.clone());
        }
        Ok(())
    }

    async fn get(&self, hash: &str) -> anyhow::Result<Option<BTreeMap<String, Vec<u8>>>> {
        Ok(self.0.lock().ok().and_then(|m| m.get(hash).cloned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test]
    async fn broken_edits_keep_the_last_good_version() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("a")).unwrap();
        std::fs::write(dir.path().join("a/main.hops"), "on foo {}\n").unwrap();
        let rejected = Arc::new(AtomicUsize::new(0));
        let seen = Arc::clone(&rejected);
        let hook: ReloadHook = Arc::new(move |_, ok| {
            if !ok {
                seen.fetch_add(1, Ordering::SeqCst);
            }
        });
        let versions = Arc::new(MemoryVersions::default());
        let store = PipelineStore::open(dir.path(), versions.clone(), hook)
            .await
            .unwrap();
        let first = store.current().unwrap();
        assert!(
            versions.get(&first.hash).await.unwrap().is_some(),
            "stored for other replicas"
        );

        let cancel = CancellationToken::new();
        let task = store.watch(cancel.clone()).unwrap();
        let mut changes = store.subscribe();
        std::fs::write(dir.path().join("a/main.hops"), "on foo {\n  bad = 1\n}\n").unwrap();
        tokio::time::timeout(Duration::from_secs(5), async {
            while rejected.load(Ordering::SeqCst) == 0 {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await
        .unwrap();
        assert_eq!(store.current().unwrap().hash, first.hash);

        std::fs::write(dir.path().join("a/main.hops"), "on bar {}\n").unwrap();
        tokio::time::timeout(Duration::from_secs(5), changes.changed())
            .await
            .unwrap()
            .unwrap();
        let second = store.current().unwrap();
        assert_eq!(second.ons[0].label, "bar");
        // The old version stays reachable for runs pinned to it.
        assert_eq!(
            store.by_hash(&first.hash).await.unwrap().ons[0].label,
            "foo"
        );
        cancel.cancel();
        task.await.unwrap();
    }

    #[tokio::test]
    async fn fetches_pinned_versions_from_the_store_and_checks_them() {
        let versions = Arc::new(MemoryVersions::default());
        let files: BTreeMap<String, Vec<u8>> =
            [("x/main.hops".to_owned(), b"on old {}".to_vec())].into();
        let hash = hops_core::pipeline_set_hash(&files);
        versions.put(&hash, &files).await.unwrap();
        versions.put("bogus", &files).await.unwrap();
        let dir = tempfile::tempdir().unwrap();
        let store = PipelineStore::open(dir.path(), versions, Arc::new(|_, _| {}))
            .await
            .unwrap();
        assert_eq!(store.by_hash(&hash).await.unwrap().ons[0].label, "old");
        assert!(
            store
                .by_hash("bogus")
                .await
                .unwrap_err()
                .to_string()
                .contains("corrupted")
        );
        assert!(
            store
                .by_hash("missing")
                .await
                .unwrap_err()
                .to_string()
                .contains("not in the version store")
        );
    }
}
