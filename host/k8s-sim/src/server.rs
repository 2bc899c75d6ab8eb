//! The HTTP side of the simulator: the routes of the core/v1 API the runner uses.

use std::collections::{BTreeMap, HashMap};
use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use k8s_openapi::api::core::v1::{ConfigMap, Pod};
use serde_json::{Value, json};
use tokio_stream::StreamExt as _;
use tokio_stream::wrappers::ReceiverStream;

use crate::store::{Change, Kind, Store};

type Params = Query<HashMap<String, String>>;

pub(crate) fn router(store: Arc<Store>) -> Router {
    Router::new()
        .route("/version", get(version))
        .route("/api/v1/pods", get(list_all_pods))
        .route(
            "/api/v1/namespaces/{ns}/pods",
            get(list_pods).post(create_pod),
        )
        .route(
            "/api/v1/namespaces/{ns}/pods/{name}",
            get(get_pod).delete(delete_pod),
        )
        .route("/api/v1/namespaces/{ns}/pods/{name}/log", get(pod_log))
        .route(
            "/api/v1/namespaces/{ns}/configmaps",
            axum::routing::post(create_configmap),
        )
        .route(
            "/api/v1/namespaces/{ns}/configmaps/{name}",
            get(get_configmap).delete(delete_configmap),
        )
        .with_state(store)
}

async fn version() -> impl IntoResponse {
    axum::Json(json!({"major": "1", "minor": "33", "gitVersion": "v1.33.0-hops-sim"}))
}

/// A `metav1.Status` failure, as the API server answers errors.
fn status(code: StatusCode, reason: &str, message: String) -> Response {
    let body = json!({
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": message, "reason": reason, "code": code.as_u16(),
    });
    (code, axum::Json(body)).into_response()
}

fn not_found(what: &str, name: &str) -> Response {
    status(
        StatusCode::NOT_FOUND,
        "NotFound",
        format!("{what} \"{name}\" not found"),
    )
}

/// Parses `a=b,c` (equality and existence) label selectors and `metadata.name=x` field
/// selectors into a predicate.
struct Filter {
    labels: Vec<(String, Option<String>)>,
    name: Option<String>,
    namespace: Option<String>,
}

impl Filter {
    fn new(params: &HashMap<String, String>, namespace: Option<String>) -> Filter {
        let labels = params
            .get("labelSelector")
            .map(|s| {
                s.split(',')
                    .filter(|p| !p.is_empty())
                    .map(|p| match p.split_once('=') {
                        Some((k, v)) => (k.trim_end_matches('=').to_owned(), Some(v.to_owned())),
                        None => (p.to_owned(), None),
                    })
                    .collect()
            })
            .unwrap_or_default();
        let mut name = None;
        let mut ns = namespace;
        for field in params
            .get("fieldSelector")
            .map(|s| s.split(',').collect::<Vec<_>>())
            .unwrap_or_default()
        {
            match field.split_once('=') {
                Some(("metadata.name", v)) => name = Some(v.trim_start_matches('=').to_owned()),
                Some(("metadata.namespace", v)) => ns = Some(v.trim_start_matches('=').to_owned()),
                _ => {}
            }
        }
        Filter {
            labels,
            name,
            namespace: ns,
        }
    }

    fn matches(&self, namespace: &str, name: &str, labels: &BTreeMap<String, String>) -> bool {
        self.namespace.as_deref().is_none_or(|n| n == namespace)
            && self.name.as_deref().is_none_or(|n| n == name)
            && self.labels.iter().all(|(k, v)| match v {
                Some(v) => labels.get(k) == Some(v),
                None => labels.contains_key(k),
            })
    }
}

async fn list_all_pods(State(store): State<Arc<Store>>, Query(params): Params) -> Response {
    pods(store, None, params).await
}

async fn list_pods(
    State(store): State<Arc<Store>>,
    Path(ns): Path<String>,
    Query(params): Params,
) -> Response {
    pods(store, Some(ns), params).await
}

async fn pods(store: Arc<Store>, ns: Option<String>, params: HashMap<String, String>) -> Response {
    let filter = Filter::new(&params, ns);
    if params.get("watch").is_some_and(|w| w == "true" || w == "1") {
        store.saw("pods", "watch");
        return watch(store, filter, params);
    }
    store.saw("pods", "list");
    let objects = store.objects.lock().unwrap();
    let items: Vec<Value> = objects
        .pods
        .iter()
        .filter(|((n, name), pod)| {
            filter.matches(
                n,
                name,
                pod.metadata.labels.as_ref().unwrap_or(&BTreeMap::new()),
            )
        })
        .map(|(_, pod)| serde_json::to_value(pod).unwrap())
        .collect();
    axum::Json(json!({
        "apiVersion": "v1", "kind": "PodList",
        "metadata": {"resourceVersion": objects.rv.to_string()},
        "items": items,
    }))
    .into_response()
}

fn event_line(kind: &str, object: &Value) -> Bytes {
    let mut line = serde_json::to_vec(&json!({"type": kind, "object": object})).unwrap();
    line.push(b'\n');
    Bytes::from(line)
}

/// Counts an open watch while it lives.
struct Open(Arc<std::sync::atomic::AtomicUsize>);

impl Drop for Open {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

fn watch(store: Arc<Store>, filter: Filter, params: HashMap<String, String>) -> Response {
    let from: Option<u64> = params.get("resourceVersion").and_then(|v| v.parse().ok());
    let bookmarks = params
        .get("allowWatchBookmarks")
        .is_some_and(|b| b == "true");
    let timeout = params
        .get("timeoutSeconds")
        .and_then(|t| t.parse().ok())
        .map_or(Duration::from_secs(300), Duration::from_secs);
    let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(256);
    let mut live = store.live.subscribe();
    let mut generation = store.generation.subscribe();
    generation.mark_unchanged();
    store.watches.fetch_add(1, Ordering::SeqCst);
    let open = Open(Arc::clone(&store.watches));
    let matches =
        move |c: &Change| c.kind == Kind::Pods && filter.matches(&c.namespace, &c.name, &c.labels);
    // What happened since `from`, or 410 Gone when that is no longer known.
    let backlog: Result<(Vec<Bytes>, u64), ()> = {
        let objects = store.objects.lock().unwrap();
        match from {
            Some(rv) if rv > 0 && rv < objects.oldest => Err(()),
            Some(rv) if rv > 0 => Ok((
                objects
                    .history
                    .iter()
                    .filter(|c| c.rv > rv && matches(c))
                    .map(|c| event_line(c.kind_of_change, &c.object))
                    .collect(),
                objects.rv,
            )),
            // No version: the current objects, as ADDED, then what follows.
            _ => Ok((
                objects
                    .pods
                    .iter()
                    .filter(|((n, name), pod)| {
                        matches(&Change {
                            rv: 0,
                            kind: Kind::Pods,
                            namespace: n.clone(),
                            name: name.clone(),
                            labels: pod.metadata.labels.clone().unwrap_or_default(),
                            kind_of_change: "ADDED",
                            object: Value::Null,
                        })
                    })
                    .map(|(_, pod)| event_line("ADDED", &serde_json::to_value(pod).unwrap()))
                    .collect(),
                objects.rv,
            )),
        }
    };
    tokio::spawn(async move {
        let _open = open;
        let (backlog, mut seen) = match backlog {
            Ok(b) => b,
            Err(()) => {
                store.gone.fetch_add(1, Ordering::SeqCst);
                let gone = json!({
                    "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                    "message": "too old resource version", "reason": "Expired", "code": 410,
                });
                let _ = tx.send(event_line("ERROR", &gone)).await;
                return;
            }
        };
        for line in backlog {
            if tx.send(line).await.is_err() {
                return;
            }
        }
        let deadline = tokio::time::Instant::now() + timeout;
        let mut tick = tokio::time::interval(Duration::from_millis(500));
        loop {
            tokio::select! {
                () = tokio::time::sleep_until(deadline) => return,
                _ = generation.changed() => return,
                _ = tick.tick(), if bookmarks => {
                    let bookmark = json!({"kind": "Pod", "apiVersion": "v1",
                        "metadata": {"resourceVersion": seen.to_string()}});
                    if tx.send(event_line("BOOKMARK", &bookmark)).await.is_err() {
                        return;
                    }
                }
                change = live.recv() => match change {
                    Ok(change) => {
                        if change.rv <= seen {
                            continue;
                        }
                        seen = change.rv;
                        if matches(&change)
                            && tx.send(event_line(change.kind_of_change, &change.object)).await.is_err()
                        {
                            return;
                        }
                    }
                    Err(_) => return,
                },
            }
        }
    });
    let body = Body::from_stream(ReceiverStream::new(rx).map(Ok::<Bytes, Infallible>));
    Response::builder()
        .header("content-type", "application/json")
        .body(body)
        .unwrap()
}

async fn create_pod(
    State(store): State<Arc<Store>>,
    Path(ns): Path<String>,
    axum::Json(mut pod): axum::Json<Pod>,
) -> Response {
    store.saw("pods", "create");
    let name = pod.metadata.name.clone().unwrap_or_default();
    if store.pod(&ns, &name).is_some() {
        return status(
            StatusCode::CONFLICT,
            "AlreadyExists",
            format!("pods \"{name}\" already exists"),
        );
    }
    pod.metadata.namespace = Some(ns);
    pod.status = None;
    let stored = store.insert_pod(pod, true);
    crate::kubelet::start(&store, &stored);
    (StatusCode::CREATED, axum::Json(stored)).into_response()
}

async fn get_pod(
    State(store): State<Arc<Store>>,
    Path((ns, name)): Path<(String, String)>,
) -> Response {
    store.saw("pods", "get");
    match store.pod(&ns, &name) {
        Some(pod) => axum::Json(pod).into_response(),
        None => not_found("pods", &name),
    }
}

async fn delete_pod(
    State(store): State<Arc<Store>>,
    Path((ns, name)): Path<(String, String)>,
) -> Response {
    store.saw("pods", "delete");
    let pod = store.pod(&ns, &name);
    if store.delete_pod(&ns, &name) {
        axum::Json(pod).into_response()
    } else {
        not_found("pods", &name)
    }
}

async fn pod_log(
    State(store): State<Arc<Store>>,
    Path((ns, name)): Path<(String, String)>,
    Query(params): Params,
) -> Response {
    store.saw("pods/log", "get");
    let Some(pod) = store.pod(&ns, &name) else {
        return not_found("pods", &name);
    };
    let mut lines = store.script_for(&pod).logs;
    if let Some(n) = params
        .get("tailLines")
        .and_then(|n| n.parse::<usize>().ok())
    {
        let skip = lines.len().saturating_sub(n);
        lines.drain(..skip);
    }
    let mut text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    if let Some(limit) = params
        .get("limitBytes")
        .and_then(|n| n.parse::<usize>().ok())
        && text.len() > limit
    {
        // The API server keeps the first `limitBytes`.
        let mut cut = limit;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
    }
    (StatusCode::OK, text).into_response()
}

async fn create_configmap(
    State(store): State<Arc<Store>>,
    Path(ns): Path<String>,
    axum::Json(mut cm): axum::Json<ConfigMap>,
) -> Response {
    store.saw("configmaps", "create");
    cm.metadata.namespace = Some(ns);
    let name = cm.metadata.name.clone().unwrap_or_default();
    match store.insert_configmap(cm) {
        Ok(cm) => (StatusCode::CREATED, axum::Json(cm)).into_response(),
        Err(()) => status(
            StatusCode::CONFLICT,
            "AlreadyExists",
            format!("configmaps \"{name}\" already exists"),
        ),
    }
}

async fn get_configmap(
    State(store): State<Arc<Store>>,
    Path((ns, name)): Path<(String, String)>,
) -> Response {
    store.saw("configmaps", "get");
    match store.configmap(&ns, &name) {
        Some(cm) => axum::Json(cm).into_response(),
        None => not_found("configmaps", &name),
    }
}

async fn delete_configmap(
    State(store): State<Arc<Store>>,
    Path((ns, name)): Path<(String, String)>,
) -> Response {
    store.saw("configmaps", "delete");
    let cm = store.configmap(&ns, &name);
    if store.delete_configmap(&ns, &name) {
        axum::Json(cm).into_response()
    } else {
        not_found("configmaps", &name)
    }
}
