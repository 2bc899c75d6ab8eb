//! The simulator's objects, their resourceVersions, the event history watches replay, and
//! what was asked of the API.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};

use k8s_openapi::api::core::v1::{ConfigMap, Pod};
use serde_json::Value;
use tokio::sync::{broadcast, watch};

use crate::kubelet::PodScript;

/// Which kind of object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Kind {
    Pods,
}

/// One change, as a watch sends it.
#[derive(Debug, Clone)]
pub(crate) struct Change {
    pub rv: u64,
    pub kind: Kind,
    pub namespace: String,
    pub name: String,
    pub labels: BTreeMap<String, String>,
    /// `ADDED`, `MODIFIED` or `DELETED`.
    pub kind_of_change: &'static str,
    pub object: Value,
}

#[derive(Default)]
pub(crate) struct Objects {
    pub rv: u64,
    pub pods: BTreeMap<(String, String), Pod>,
    pub configmaps: BTreeMap<(String, String), ConfigMap>,
    /// Changes after `oldest` (exclusive), for watches that resume.
    pub history: Vec<Change>,
    /// Watches from a resourceVersion below this get 410 Gone.
    pub oldest: u64,
}

pub(crate) struct Store {
    pub objects: Mutex<Objects>,
    pub live: broadcast::Sender<Change>,
    /// Bumped to end every open watch.
    pub generation: watch::Sender<u64>,
    pub scripts: Mutex<HashMap<String, PodScript>>,
    pub created: Mutex<Vec<String>>,
    pub verbs: Mutex<BTreeSet<(String, String)>>,
    pub watches: Arc<std::sync::atomic::AtomicUsize>,
    /// Watches answered `410 Gone`.
    pub gone: std::sync::atomic::AtomicUsize,
    pub kubelets: Mutex<Vec<tokio::task::JoinHandle<()>>>,
}

impl Default for Store {
    fn default() -> Self {
        Store {
            objects: Mutex::new(Objects::default()),
            live: broadcast::channel(4096).0,
            generation: watch::channel(0).0,
            scripts: Mutex::new(HashMap::new()),
            created: Mutex::new(Vec::new()),
            verbs: Mutex::new(BTreeSet::new()),
            watches: Arc::default(),
            gone: std::sync::atomic::AtomicUsize::new(0),
            kubelets: Mutex::new(Vec::new()),
        }
    }
}

impl Store {
    pub(crate) fn saw(&self, resource: &str, verb: &str) {
        self.verbs
            .lock()
            .unwrap()
            .insert((resource.to_owned(), verb.to_owned()));
    }

    fn record(&self, objects: &mut Objects, change: Change) {
        objects.history.push(change.clone());
        let _ = self.live.send(change);
    }

    /// Stores `pod` with a new resourceVersion (a new uid if it has none) and tells watches.
    pub(crate) fn insert_pod(&self, mut pod: Pod, created: bool) -> Pod {
        let mut objects = self.objects.lock().unwrap();
        objects.rv += 1;
        let rv = objects.rv;
        let meta = &mut pod.metadata;
        let namespace = meta.namespace.clone().unwrap_or_else(|| "default".into());
        meta.namespace = Some(namespace.clone());
        meta.resource_version = Some(rv.to_string());
        if meta.uid.is_none() {
            meta.uid = Some(format!("uid-{rv}"));
        }
        if meta.creation_timestamp.is_none() {
            meta.creation_timestamp = Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
                k8s_openapi::jiff::Timestamp::now(),
            ));
        }
        let name = meta.name.clone().unwrap_or_default();
        let key = (namespace.clone(), name.clone());
        let existed = objects.pods.insert(key, pod.clone()).is_some();
        let change = Change {
            rv,
            kind: Kind::Pods,
            namespace: namespace.clone(),
            name: name.clone(),
            labels: pod.metadata.labels.clone().unwrap_or_default(),
            kind_of_change: if existed { "MODIFIED" } else { "ADDED" },
            object: serde_json::to_value(&pod).unwrap(),
        };
        self.record(&mut objects, change);
        if created {
            self.created
                .lock()
                .unwrap()
                .push(format!("{namespace}/{name}"));
        }
        pod
    }

    /// Changes a pod's status (the kubelet), if the pod still exists.
    pub(crate) fn update_pod(&self, namespace: &str, name: &str, edit: impl FnOnce(&mut Pod)) {
        let pod = {
            let objects = self.objects.lock().unwrap();
            objects
                .pods
                .get(&(namespace.to_owned(), name.to_owned()))
                .cloned()
        };
        if let Some(mut pod) = pod {
            edit(&mut pod);
            self.insert_pod(pod, false);
        }
    }

    pub(crate) fn pod(&self, namespace: &str, name: &str) -> Option<Pod> {
        self.objects
            .lock()
            .unwrap()
            .pods
            .get(&(namespace.to_owned(), name.to_owned()))
            .cloned()
    }

    pub(crate) fn all_pods(&self) -> Vec<Pod> {
        self.objects
            .lock()
            .unwrap()
            .pods
            .values()
            .cloned()
            .collect()
    }

    /// Deletes a pod and, like the garbage collector, the configmaps it owns.
    pub(crate) fn delete_pod(&self, namespace: &str, name: &str) -> bool {
        let mut objects = self.objects.lock().unwrap();
        let Some(pod) = objects
            .pods
            .remove(&(namespace.to_owned(), name.to_owned()))
        else {
            return false;
        };
        objects.rv += 1;
        let rv = objects.rv;
        let mut gone = pod.clone();
        gone.metadata.resource_version = Some(rv.to_string());
        let change = Change {
            rv,
            kind: Kind::Pods,
            namespace: namespace.to_owned(),
            name: name.to_owned(),
            labels: gone.metadata.labels.clone().unwrap_or_default(),
            kind_of_change: "DELETED",
            object: serde_json::to_value(&gone).unwrap(),
        };
        self.record(&mut objects, change);
        let uid = pod.metadata.uid.clone();
        let owned: Vec<(String, String)> = objects
            .configmaps
            .iter()
            .filter(|(_, cm)| {
                cm.metadata
                    .owner_references
                    .iter()
                    .flatten()
                    .any(|o| Some(&o.uid) == uid.as_ref())
            })
            .map(|(k, _)| k.clone())
            .collect();
        for key in owned {
            objects.configmaps.remove(&key);
        }
        true
    }

    pub(crate) fn insert_configmap(&self, mut cm: ConfigMap) -> Result<ConfigMap, ()> {
        let mut objects = self.objects.lock().unwrap();
        let namespace = cm
            .metadata
            .namespace
            .clone()
            .unwrap_or_else(|| "default".into());
        let name = cm.metadata.name.clone().unwrap_or_default();
        let key = (namespace.clone(), name);
        if objects.configmaps.contains_key(&key) {
            return Err(());
        }
        objects.rv += 1;
        cm.metadata.namespace = Some(namespace);
        cm.metadata.resource_version = Some(objects.rv.to_string());
        cm.metadata.uid = Some(format!("uid-{}", objects.rv));
        objects.configmaps.insert(key, cm.clone());
        Ok(cm)
    }

    pub(crate) fn configmap(&self, namespace: &str, name: &str) -> Option<ConfigMap> {
        self.objects
            .lock()
            .unwrap()
            .configmaps
            .get(&(namespace.to_owned(), name.to_owned()))
            .cloned()
    }

    pub(crate) fn delete_configmap(&self, namespace: &str, name: &str) -> bool {
        self.objects
            .lock()
            .unwrap()
            .configmaps
            .remove(&(namespace.to_owned(), name.to_owned()))
            .is_some()
    }

    pub(crate) fn drop_watches(&self) {
        self.generation.send_modify(|g| *g += 1);
    }

    /// As etcd compaction after other objects changed: versions move on, and every version
    /// a watch knew is too old.
    pub(crate) fn expire_history(&self) {
        let mut objects = self.objects.lock().unwrap();
        objects.history.clear();
        objects.rv += 1;
        objects.oldest = objects.rv;
    }

    pub(crate) fn open_watches(&self) -> usize {
        self.watches.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// The script of the Pod's (first) container image.
    pub(crate) fn script_for(&self, pod: &Pod) -> PodScript {
        let image = pod
            .spec
            .as_ref()
            .and_then(|s| s.containers.first())
            .and_then(|c| c.image.as_deref())
            .unwrap_or_default();
        self.scripts
            .lock()
            .unwrap()
            .get(image)
            .cloned()
            .unwrap_or_default()
    }

    pub(crate) fn shutdown(&self) {
        for task in self.kubelets.lock().unwrap().drain(..) {
            task.abort();
        }
        self.drop_watches();
    }
}
