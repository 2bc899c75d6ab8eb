//! Watching the plugins directory: file events, debounced, become per-app reloads.

use std::collections::BTreeSet;

use anyhow::Context;
use notify::{EventKind, RecursiveMode, Watcher};
use tokio::sync::mpsc;

use crate::registry::{AppRegistry, app_name_of};

/// Keeps the directory watched; dropping it stops watching.
pub struct WatchHandle {
    _watcher: notify::RecommendedWatcher,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for WatchHandle {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// What the watcher thread tells the reload task.
enum Change {
    App(String),
    /// The OS dropped events (queue overflow): rescan everything.
    Rescan,
}

impl AppRegistry {
    /// Starts watching the plugins directory: adding, replacing or removing `<name>.wasm` or
    /// `<name>.toml` reloads that app after the debounce. Must be called inside a tokio
    /// runtime. Call [`AppRegistry::load_all`] first for the initial load.
    ///
    /// # Errors
    ///
    /// When the directory cannot be watched (missing, or out of inotify watches).
    pub fn watch(&self) -> anyhow::Result<WatchHandle> {
        let (tx, mut rx) = mpsc::unbounded_channel::<Change>();
        let mut watcher =
            notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
                let event = match event {
                    Ok(event) => event,
                    Err(err) => {
                        tracing::warn!(%err, "plugins directory watch error; rescanning");
                        let _ = tx.send(Change::Rescan);
                        return;
                    }
                };
                if event.need_rescan() {
                    let _ = tx.send(Change::Rescan);
                    return;
                }
                if matches!(event.kind, EventKind::Access(_)) && !is_close_write(&event.kind) {
                    return;
                }
                for path in &event.paths {
                    if let Some(name) = app_name_of(path) {
                        let _ = tx.send(Change::App(name));
                    }
                }
            })
            .context("creating the plugins directory watcher")?;
        watcher
            .watch(self.dir(), RecursiveMode::NonRecursive)
            .with_context(|| format!("watching the plugins directory {:?}", self.dir()))?;

        let registry = self.clone();
        let debounce = self.inner_debounce();
        let task = tokio::spawn(async move {
            while let Some(first) = rx.recv().await {
                // Let a burst (copy = create + writes + close; editors write twice) settle.
                tokio::time::sleep(debounce).await;
                let mut names = BTreeSet::new();
                let mut rescan = false;
                let mut next = Some(first);
                while let Some(change) = next {
                    match change {
                        Change::App(name) => {
                            names.insert(name);
                        }
                        Change::Rescan => rescan = true,
                    }
                    next = rx.try_recv().ok();
                }
                if rescan {
                    if let Err(err) = registry.load_all().await {
                        tracing::warn!(error = %format!("{err:#}"), "rescanning the plugins directory failed");
                    }
                    continue;
                }
                for name in names {
                    registry.reload(&name).await;
                }
            }
        });
        Ok(WatchHandle {
            _watcher: watcher,
            task,
        })
    }
}

fn is_close_write(kind: &EventKind) -> bool {
    matches!(
        kind,
        EventKind::Access(notify::event::AccessKind::Close(
            notify::event::AccessMode::Write
        ))
    )
}
