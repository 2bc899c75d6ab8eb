//! Test app `echo`: one handler per behaviour the host must cope with.
//!
//! | handler  | does |
//! |----------|------|
//! | `echo`   | returns its inputs as the result's JSON |
//! | `fail`   | fails with `inputs.message` (errored result) |
//! | `retry`  | asks for redelivery after `inputs.backoff_ms` |
//! | `sleep`  | sleeps `inputs.ms` (a blocking host call) then answers |
//! | `spin`   | busy-loops `inputs.ms` (forever without it): only the epoch deadline stops it |
//! | `trap`   | panics, which traps the instance |
//! | `hog`    | allocates until the memory limit stops it |
//! | `escape` | tries a file, an env var and an HTTP host it was not granted; reports each |
//! | `fetch`  | GETs `inputs.url` and returns an HTTP-shaped result |
//! | `config` | returns its config values |
//! | `emit`   | emits `inputs` as a source event (`inputs.times` times, default once) |
//! | `log`    | logs `inputs.message` and prints it to stdout and stderr |
//! | `count`  | bumps a static counter and grows a static heap buffer by 64 KiB; returns both, so a test sees whether a call starts from a fresh instance |
//! | `big`    | returns a text body of `inputs.bytes` bytes (a large result) and logs one line per run |
//! | `recurse`| recurses without end (a stack overflow) |

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use hops_sdk::http::{self, HttpError, Request};
use hops_sdk::{Call, Output, Result, SourceEvent, Worker, bail, config, events, log, route};
use serde::Deserialize;

struct Echo;

impl Worker for Echo {
    fn handle(call: Call) -> Result<Output> {
        route(
            call,
            &[
                ("echo", echo),
                ("fail", fail),
                ("retry", retry),
                ("sleep", sleep),
                ("spin", spin),
                ("trap", trap),
                ("hog", hog),
                ("escape", escape),
                ("fetch", fetch),
                ("config", config),
                ("emit", emit),
                ("log", log),
                ("count", count),
                ("big", big),
                ("recurse", recurse),
                ("leak", leak),
            ],
        )
    }
}

hops_sdk::export_worker!(Echo);

#[derive(Deserialize, Default)]
#[serde(default)]
struct Params {
    message: Option<String>,
    ms: Option<u64>,
    backoff_ms: Option<u64>,
    url: Option<String>,
    path: Option<String>,
    env: Option<String>,
    tcp: Option<String>,
    bytes: Option<usize>,
}

fn params(call: &Call) -> Result<Params> {
    Ok(call.inputs::<Option<Params>>()?.unwrap_or_default())
}

/// Calls this instance has seen (data segment) and bytes it has kept (heap).
static CALLS: AtomicU64 = AtomicU64::new(0);
static KEPT: Mutex<Vec<u8>> = Mutex::new(Vec::new());

fn count(_call: Call) -> Result<Output> {
    let calls = CALLS.fetch_add(1, Ordering::SeqCst) + 1;
    let kept = match KEPT.lock() {
        Ok(mut kept) => {
            kept.extend(std::iter::repeat_n(0xA5u8, 64 << 10));
            kept.len()
        }
        Err(_) => bail!("the kept buffer is poisoned"),
    };
    Output::json(&serde_json::json!({ "calls": calls, "kept": kept }))
}

fn echo(call: Call) -> Result<Output> {
    Output::json(&call.inputs_value())
}

fn fail(call: Call) -> Result<Output> {
    let message = params(&call)?
        .message
        .unwrap_or_else(|| "failed on purpose".into());
    bail!("{message}")
}

fn retry(call: Call) -> Result<Output> {
    let p = params(&call)?;
    Err(hops_sdk::retry(
        format!("attempt {} asked for a retry", call.attempt),
        p.backoff_ms.map(Duration::from_millis),
    ))
}

fn sleep(call: Call) -> Result<Output> {
    let ms = params(&call)?.ms.unwrap_or(100);
    std::thread::sleep(Duration::from_millis(ms));
    Output::json(&serde_json::json!({ "slept_ms": ms }))
}

fn spin(call: Call) -> Result<Output> {
    let limit = params(&call)?.ms.map(Duration::from_millis);
    let start = Instant::now();
    let mut n: u64 = 0;
    while limit.is_none_or(|limit| start.elapsed() < limit) {
        n = std::hint::black_box(n.wrapping_add(1));
    }
    Output::json(&serde_json::json!({ "spins": n }))
}

// A trap on purpose: that is what this handler tests.
#[allow(clippy::panic)]
fn trap(_call: Call) -> Result<Output> {
    panic!("trap requested");
}

fn hog(_call: Call) -> Result<Output> {
    let mut hoard: Vec<Vec<u8>> = Vec::new();
    loop {
        // Touch every page so the memory is really committed, not just reserved.
        hoard.push(std::hint::black_box(vec![1u8; 1 << 20]));
        if hoard.len() > 1 << 16 {
            bail!("allocated 64 GiB without hitting a limit");
        }
    }
}

/// Tries what an app without grants must not be able to do, and reports each attempt.
/// Fails (errored result) when everything was denied, listing the denials; answers with the
/// list of what got through otherwise, so a test sees exactly which capability leaked.
fn escape(call: Call) -> Result<Output> {
    let p = params(&call)?;
    let path = p.path.unwrap_or_else(|| "/etc/passwd".into());
    let env = p.env.unwrap_or_else(|| "HOME".into());
    let url = p.url.unwrap_or_else(|| "http://example.com/".into());
    let mut denied = Vec::new();
    let mut escaped = Vec::new();

    match std::fs::read_to_string(&path) {
        Ok(text) => escaped.push(format!("file {path} ({} bytes)", text.len())),
        Err(e) => denied.push(format!("file {path} ({e})")),
    }
    match std::env::var(&env) {
        Ok(_) => escaped.push(format!("env {env}")),
        Err(e) => denied.push(format!("env {env} ({e})")),
    }
    if std::env::vars().next().is_some() {
        escaped.push("env (some variables visible)".into());
    }
    if let Some(address) = &p.tcp {
        match std::net::TcpStream::connect(address.as_str()) {
            Ok(_) => escaped.push(format!("tcp {address}")),
            Err(e) => denied.push(format!("tcp {address} ({e})")),
        }
        match std::net::UdpSocket::bind("0.0.0.0:0") {
            Ok(_) => escaped.push("udp bind".into()),
            Err(e) => denied.push(format!("udp bind ({e})")),
        }
    }
    match http::send(&Request::get(url.as_str())) {
        Ok(response) => escaped.push(format!("http {url} (status {})", response.status)),
        Err(HttpError::Denied(_)) => denied.push(format!("http {url} (denied by host)")),
        Err(e) => denied.push(format!("http {url} ({e})")),
    }

    if escaped.is_empty() {
        bail!("denied: {}", denied.join("; "))
    }
    Output::json(&serde_json::json!({ "escaped": escaped, "denied": denied }))
}

fn fetch(call: Call) -> Result<Output> {
    let Some(url) = params(&call)?.url else {
        bail!("inputs.url is required");
    };
    let response = http::send(&Request::get(url.as_str()))?;
    let mut out = Output::text(response.text()).with_status(response.status);
    for (name, value) in response.headers {
        out = out.with_header(name, value);
    }
    out.url = Some(url);
    Ok(out)
}

fn config(_call: Call) -> Result<Output> {
    Output::json(&config::all())
}

#[derive(Deserialize)]
struct EmitInput {
    #[serde(default = "default_source")]
    source: String,
    event: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    payload: serde_json::Map<String, serde_json::Value>,
    dedup_key: Option<String>,
    #[serde(default = "once")]
    times: u32,
}

fn once() -> u32 {
    1
}

fn default_source() -> String {
    "echo".into()
}

fn emit(call: Call) -> Result<Output> {
    let input: EmitInput = call.inputs()?;
    let mut event =
        SourceEvent::new(input.source, input.event, input.action).with_payload(&input.payload)?;
    if let Some(key) = input.dedup_key {
        event = event.with_dedup_key(key);
    }
    let mut last = None;
    for _ in 0..input.times.max(1) {
        last = Some(events::emit(&event)?);
    }
    let Some(emitted) = last else {
        bail!("nothing was emitted");
    };
    Output::json(&serde_json::json!({ "run_id": emitted.run_id, "duplicate": emitted.duplicate }))
}

// Printing is the point here: the host must capture the guest's stdout and stderr.
#[allow(clippy::print_stdout, clippy::print_stderr)]
fn log(call: Call) -> Result<Output> {
    let message = params(&call)?.message.unwrap_or_else(|| "hello".into());
    log::info(&message);
    println!("stdout: {message}");
    eprintln!("stderr: {message}");
    Ok(Output::text(message))
}

fn big(call: Call) -> Result<Output> {
    let bytes = params(&call)?.bytes.unwrap_or(1 << 20);
    // One line per execution, so a test can count how often the call really ran.
    log::info(format!("big: producing {bytes} bytes for {}", call.call_id));
    Ok(Output::text("x".repeat(bytes)))
}

/// Recurses until the stack runs out; the frame is kept large and opaque to the optimizer.
#[allow(unconditional_recursion)]
fn depth(n: u64) -> u64 {
    let frame = std::hint::black_box([n; 32]);
    std::hint::black_box(depth(frame[0] + 1)) + frame[31]
}

fn recurse(_call: Call) -> Result<Output> {
    let reached = depth(0);
    Output::json(&serde_json::json!({ "reached": reached }))
}

/// Tries every way out for the app's settings, secrets included: a log line at every level,
/// stdout, stderr, an emitted event, then an error naming them all. The host must mask each
/// secret on each way (a test scans everything the host wrote or stored).
#[allow(clippy::print_stdout, clippy::print_stderr)]
fn leak(_call: Call) -> Result<Output> {
    let all = config::all()
        .into_iter()
        .map(|(key, value)| format!("{key}={value}"))
        .collect::<Vec<_>>()
        .join(" ");
    log::trace(format!("leak trace: {all}"));
    log::debug(format!("leak debug: {all}"));
    log::info(format!("leak info: {all}"));
    log::warn(format!("leak warn: {all}"));
    log::error(format!("leak error: {all}"));
    println!("leak stdout: {all}");
    eprintln!("leak stderr: {all}");
    let event = SourceEvent::new("echo", "leaked", "")
        .with_payload(&serde_json::json!({ "settings": all }))?;
    events::emit(&event)?;
    bail!("leak error result: {all}")
}
