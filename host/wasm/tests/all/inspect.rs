//! `inspect`: worlds, imports, exports and what is wrong.

use hops_wasm::{FileKind, World, inspect, inspect_bytes};

#[test]
fn inspects_the_test_plugins() {
    let echo = inspect(hops_test_plugins::ECHO).unwrap();
    assert!(echo.fits, "{echo}");
    assert_eq!(echo.world, Some(World::Worker));
    assert!(
        echo.exports.iter().any(|e| e == "hops:app/worker@0.1.0"),
        "{echo}"
    );
    assert!(
        echo.imports
            .iter()
            .any(|i| i.starts_with("hops:app/config@0.1")),
        "{echo}"
    );
    assert!(
        echo.imports
            .iter()
            .any(|i| i.starts_with("wasi:http/outgoing-handler@0.2")),
        "{echo}"
    );
    let text = echo.to_string();
    assert!(
        text.lines().next().unwrap().starts_with("ok: ") && text.contains("runs as a worker app"),
        "{text}"
    );
    assert!(text.contains("  export hops:app/worker@0.1.0;"), "{text}");

    let hook = inspect(hops_test_plugins::HOOK).unwrap();
    assert_eq!(hook.world, Some(World::Listener));
    let json = serde_json::to_value(&hook).unwrap();
    assert_eq!(json["world"], "listener");
    assert_eq!(json["kind"], "component");
}

#[test]
fn explains_files_that_do_not_fit() {
    let module = inspect_bytes("x.wasm".as_ref(), b"\0asm\x01\0\0\0");
    assert_eq!(module.kind, FileKind::CoreModule);
    assert!(!module.fits);
    assert_eq!(
        module.problems,
        [
            "not a component: looks like a core wasm module; build for wasm32-wasip2 or run `wasm-tools component new`"
        ]
    );
    let empty = inspect_bytes("empty.wasm".as_ref(), b"\0asm\x0d\0\x01\0");
    assert_eq!(empty.kind, FileKind::Component);
    assert!(
        empty.problems[0].starts_with("exports nothing Hops can call"),
        "{empty}"
    );
    let junk = inspect_bytes("My_App.wasm".as_ref(), b"hello");
    assert_eq!(junk.kind, FileKind::NotWasm);
    assert_eq!(junk.problems.len(), 2, "{junk}");
    assert!(junk.problems[0].contains("not a valid app name"), "{junk}");
}

#[test]
fn a_wasi_command_is_told_how_to_become_an_app() {
    let command = wat::parse_str(
        r#"(component
            (core module $m (func (export "run") (result i32) i32.const 0))
            (core instance $i (instantiate $m))
            (func $run (result (result)) (canon lift (core func $i "run")))
            (instance $cli (export "run" (func $run)))
            (export "wasi:cli/run@0.2.0" (instance $cli)))"#,
    )
    .unwrap();
    let inspection = inspect_bytes("hello.wasm".as_ref(), &command);
    assert!(!inspection.fits);
    assert!(
        inspection.exports.iter().any(|e| e == "wasi:cli/run@0.2.0"),
        "{inspection}"
    );
    let text = inspection.to_string();
    let first = text.lines().next().unwrap();
    assert!(
        first.starts_with("cannot run: hello.wasm"),
        "verdict first: {text}"
    );
    assert!(text.contains("this is a WASI command"), "{text}");
    assert!(text.contains("hops new app NAME --lang rust"), "{text}");
}
