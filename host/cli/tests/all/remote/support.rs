//! A fake host per test and a way to run `hops` against it.

use std::io::Write as _;
use std::process::{Command, Stdio};

use hops_api::ApiConfig;
use hops_api::testing::{FakeServer, Recorded};
use serde_json::{Map, Value};

pub fn server() -> FakeServer {
    FakeServer::start(ApiConfig::default()).unwrap()
}

pub fn server_with(config: ApiConfig) -> FakeServer {
    FakeServer::start(config).unwrap()
}

/// `hops` pointed at `server` through `HOPS_API`, plain output, no token.
pub fn hops(server: &FakeServer) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hops"));
    cmd.env("NO_COLOR", "1")
        .env("HOPS_API", server.url())
        .env_remove("HOPS_API_TOKEN");
    cmd
}

#[derive(Debug)]
pub struct Out {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Out {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|err| panic!("stdout is not one JSON value ({err}): {self:?}"))
    }
}

pub fn output(cmd: &mut Command) -> Out {
    output_with_stdin(cmd, "")
}

pub fn output_with_stdin(cmd: &mut Command, stdin: &str) -> Out {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    Out {
        code: out.status.code().unwrap(),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

/// Params of every task run the host received.
pub fn task_runs(server: &FakeServer) -> Vec<(String, Map<String, Value>)> {
    server
        .host
        .recorded()
        .into_iter()
        .filter_map(|r| match r {
            Recorded::RunTask { task, params } => Some((task, params)),
            _ => None,
        })
        .collect()
}

/// A port nothing listens on.
pub fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}
