//! The container image `scripts/image.sh` builds, checked from its exported filesystem (no
//! container can run here): a static `hops` that runs, a non-root user, and `hops start` from
//! the rootfs — chrooted as the image's user when this test runs as root — answering `/health`
//! and `/ready` and completing a run against a test nats-server, then stopping cleanly.
//!
//! The `-local` tag's nats-server is checked the same way.
//!
//! `HOPS_TEST_IMAGE` names an image already built (scripts/test.sh builds it first); without
//! it the test runs scripts/image.sh itself.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::up::{HOPS, Up};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn engine() -> &'static str {
    if Command::new("podman").arg("--version").output().is_ok() {
        "podman"
    } else {
        "docker"
    }
}

fn run(command: &mut Command) -> Vec<u8> {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("{command:?}: {e}"));
    assert!(
        output.status.success(),
        "{command:?}: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

/// The image to check: `HOPS_TEST_IMAGE`, or one built now by scripts/image.sh.
fn image() -> String {
    // Built once for every test of this file (they run in parallel).
    static TAG: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    TAG.get_or_init(|| {
        if let Ok(tag) = std::env::var("HOPS_TEST_IMAGE") {
            return tag;
        }
        run(Command::new("bash")
            .arg(repo().join("scripts/image.sh"))
            .current_dir(repo()));
        format!("hops:{}", env!("CARGO_PKG_VERSION"))
    })
    .clone()
}

/// The image's filesystem, from a created (never started) container.
fn export(tag: &str, into: &Path) {
    let tagged: String = tag
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let name = format!("hops-image-test-{}-{tagged}", std::process::id());
    let tar = into.with_extension("tar");
    run(Command::new(engine()).args(["create", "--no-healthcheck", "--name", &name, tag]));
    let exported = Command::new(engine())
        .args(["export", "--output"])
        .arg(&tar)
        .arg(&name)
        .output();
    let _ = Command::new(engine())
        .args(["rm", "--force", &name])
        .output();
    assert!(
        exported.unwrap().status.success(),
        "{} export failed",
        engine()
    );
    std::fs::create_dir_all(into).unwrap();
    run(Command::new("tar").arg("-xf").arg(&tar).arg("-C").arg(into));
}

/// Whether an ELF executable names a program interpreter (is dynamically linked).
fn has_interpreter(elf: &[u8]) -> bool {
    assert_eq!(&elf[..4], b"\x7fELF", "not an ELF file");
    assert_eq!(elf[4], 2, "not a 64-bit ELF file");
    let u16_at = |at: usize| usize::from(u16::from_le_bytes([elf[at], elf[at + 1]]));
    let phoff = usize::try_from(u64::from_le_bytes(elf[0x20..0x28].try_into().unwrap())).unwrap();
    let (size, count) = (u16_at(0x36), u16_at(0x38));
    (0..count).any(|i| {
        let at = phoff + i * size;
        u32::from_le_bytes(elf[at..at + 4].try_into().unwrap()) == 3 // PT_INTERP
    })
}

fn is_root() -> bool {
    String::from_utf8(run(Command::new("id").arg("-u")))
        .unwrap()
        .trim()
        == "0"
}

/// The image's `Config` (user, environment, entrypoint, health check).
fn config(tag: &str) -> Value {
    let text = run(Command::new(engine()).args(["image", "inspect", tag]));
    let inspected: Value = serde_json::from_slice(&text).unwrap();
    inspected[0].clone()
}

#[test]
fn the_image_is_static_non_root_and_serves_runs_from_its_filesystem() {
    let tag = image();
    let inspected = config(&tag);
    let config = &inspected["Config"];
    assert_eq!(
        config["Entrypoint"],
        serde_json::json!(["/usr/local/bin/hops", "start"]),
        "{inspected:#}"
    );
    let user = config["User"].as_str().unwrap().to_owned();
    assert_eq!(
        user, "10001:10001",
        "a numeric non-root user, for runAsNonRoot"
    );
    // Docker keeps it in the config, podman beside it.
    let health = if config["Healthcheck"].is_object() {
        &config["Healthcheck"]["Test"]
    } else {
        &inspected["Healthcheck"]["Test"]
    };
    assert_eq!(
        health,
        &serde_json::json!(["CMD", "/usr/local/bin/hops", "health", "--quiet"]),
        "{inspected:#}"
    );
    let env: Vec<(String, String)> = config["Env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let (k, v) = e.as_str().unwrap().split_once('=').unwrap();
            (k.to_owned(), v.to_owned())
        })
        .collect();

    let dir = tempfile::tempdir().unwrap();
    let rootfs = dir.path().join("rootfs");
    export(&tag, &rootfs);
    let binary = rootfs.join("usr/local/bin/hops");
    assert!(
        !has_interpreter(&std::fs::read(&binary).unwrap()),
        "hops is static"
    );
    let version = run(Command::new(&binary).arg("--version"));
    assert_eq!(
        String::from_utf8(version).unwrap().trim(),
        format!("hops {}", env!("CARGO_PKG_VERSION"))
    );
    let passwd = std::fs::read_to_string(rootfs.join("etc/passwd")).unwrap();
    assert!(
        passwd.lines().any(|l| l.starts_with("hops:x:10001:10001:")),
        "{passwd}"
    );
    assert!(rootfs.join("etc/ssl/certs/ca-certificates.crt").is_file());

    // A pipeline and an app, where the image's settings look for them.
    std::fs::write(
        rootfs.join("pipelines/main.hops"),
        "task hello {\n  param name {\n    default = \"world\"\n  }\n}\n\non task_hello {\n  call echo_echo {\n    name   = \"greet\"\n    inputs = { message = \"hello, ${event.name}\" }\n  }\n}\n",
    )
    .unwrap();
    std::fs::copy(hops_test_plugins::ECHO, rootfs.join("plugins/echo.wasm")).unwrap();

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let nats = runtime.block_on(hops_testutil::NatsServer::start());
    let mut command = if is_root() {
        // As the container would: inside its filesystem, as its user.
        let mut command = Command::new("chroot");
        command
            .arg(format!("--userspec={user}"))
            .arg(&rootfs)
            .arg("/usr/local/bin/hops")
            .arg("start");
        command.env_clear().envs(env.iter().cloned());
        command
    } else {
        // Without root there is no chroot: the same binary and settings, paths into the rootfs.
        eprintln!("not root: running the image's hops outside a chroot");
        let mut command = Command::new(&binary);
        command.arg("start").env_clear();
        for (key, value) in &env {
            let value = if value.starts_with('/') && key != "HOPS_API_ADDR" {
                rootfs
                    .join(value.trim_start_matches('/'))
                    .display()
                    .to_string()
            } else {
                value.clone()
            };
            command.env(key, value);
        }
        command
    };
    command
        .env("HOPS_NATS_URL", nats.url())
        .env("HOPS_NO_K8S", "true");
    let up = Up::spawn_command(command);
    assert_eq!(up.get("/health"), Some(200));
    assert_eq!(up.get("/ready"), Some(200));
    if is_root() {
        let status = std::fs::read_to_string(format!("/proc/{}/status", up.pid())).unwrap();
        let uid = status.lines().find(|l| l.starts_with("Uid:")).unwrap();
        assert!(
            uid.split_whitespace().skip(1).all(|id| id == "10001"),
            "{uid}"
        );
    }

    // The image's own health check command, pointed at this host's port.
    let check = Command::new(&binary)
        .args(["health", "--ready", "--api", &up.api])
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );

    let ran = Command::new(HOPS)
        .args(["run", "hello", "--param", "name=image", "--wait", "--json"])
        .env("HOPS_API", &up.api)
        .output()
        .unwrap();
    assert!(
        ran.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&ran.stdout),
        up.log()
    );
    let outcome: Value = serde_json::from_slice(&ran.stdout).unwrap();
    assert_eq!(outcome["status"], "completed", "{outcome:#}");
    let log = up.terminate();
    assert!(log.contains("stopped"), "{log}");
    drop(nats);
}

#[test]
fn the_health_check_fails_when_nothing_answers_and_quiet_prints_nothing() {
    let url = format!("http://127.0.0.1:{}", hops_testutil::free_port());
    let out = Command::new(HOPS)
        .args(["health", "--api", &url])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("not answering"), "{stderr}");
    let quiet = Command::new(HOPS)
        .args(["health", "--ready", "--quiet", "--api", &url])
        .output()
        .unwrap();
    assert_eq!(quiet.status.code(), Some(1));
    assert!(quiet.stdout.is_empty() && quiet.stderr.is_empty());
}

#[test]
fn the_local_image_adds_a_nats_server_that_runs_for_hops_up() {
    let tag = format!("{}-local", image());
    let inspected = config(&tag);
    let config = &inspected["Config"];
    assert_eq!(
        config["Entrypoint"],
        serde_json::json!(["/usr/local/bin/hops", "up"]),
        "{inspected:#}"
    );
    let env: Vec<&str> = config["Env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap())
        .collect();
    assert!(
        env.contains(&"HOPS_NATS_SERVER=/usr/local/bin/nats-server"),
        "{env:?}"
    );
    assert!(env.contains(&"HOPS_PIPELINES=/project"), "{env:?}");
    let dir = tempfile::tempdir().unwrap();
    let rootfs = dir.path().join("rootfs");
    export(&tag, &rootfs);
    assert!(rootfs.join("usr/local/bin/nats-server").is_file());
    assert!(rootfs.join("project").is_dir());
    if is_root() {
        // Whatever the nats-server at hand was linked against came along with it.
        let version = run(Command::new("chroot")
            .arg("--userspec=10001:10001")
            .arg(&rootfs)
            .args(["/usr/local/bin/nats-server", "--version"]));
        assert!(String::from_utf8_lossy(&version).contains("nats-server"));
    }
}
