use super::*;

const RUN: &str = "6f1c2a3e-9d4b-5c6d-8e7f-0a1b2c3d4e5f";

fn subjects() -> Subjects {
    Subjects::new("hops", "default").unwrap()
}

#[test]
fn builders_follow_the_layout() {
    let s = subjects();
    assert_eq!(
        s.event(RUN).unwrap(),
        format!("hops.default.notify.{RUN}.event")
    );
    assert_eq!(
        s.pin(RUN).unwrap(),
        format!("hops.default.notify.{RUN}.hops")
    );
    assert_eq!(
        s.result(RUN, "deploy0-http_do0").unwrap(),
        format!("hops.default.notify.{RUN}.deploy0-http_do0")
    );
    assert_eq!(
        s.done(RUN, "deploy0").unwrap(),
        format!("hops.default.notify.{RUN}.deploy0.done")
    );
    assert_eq!(
        s.request(RUN, "deploy0-http_do0", "http", "do").unwrap(),
        format!("hops.default.request.{RUN}.deploy0-http_do0.http.do")
    );
    assert_eq!(
        s.run_filter(RUN, Channels::Notify).unwrap(),
        format!("hops.default.notify.{RUN}.>")
    );
    assert_eq!(
        s.run_filter(RUN, Channels::All).unwrap(),
        format!("hops.default.*.{RUN}.>")
    );
    assert_eq!(
        s.app_requests("http").unwrap(),
        "hops.default.request.*.*.http.*"
    );
    assert_eq!(s.all_notify(), "hops.default.notify.>");
    assert_eq!(s.runner_steps(), "hops.default.notify.*.*");
    assert_eq!(s.runner_waits(), "hops.default.notify.*.*.wait");
    assert_eq!(s.all_events(), "hops.default.notify.*.event");
    assert_eq!(s.account_filter(), "hops.>");
    assert_eq!((s.account(), s.topic()), ("hops", "default"));
}

#[test]
fn builders_reject_bad_tokens() {
    let s = subjects();
    for bad_run in ["", "a.b", "a b", "*", ">", "ünï", &"x".repeat(129)] {
        assert!(
            matches!(s.event(bad_run), Err(SubjectError::InvalidRunId { .. })),
            "{bad_run:?}"
        );
    }
    assert!(s.event("replay-1f0c9a2e-77b1-4c0a-9").is_ok());
    assert!(s.event("Run_42").is_ok());
    for bad in ["", "a.b", "a*", "x>", "a b", "a\tb"] {
        assert!(s.result(RUN, bad).is_err(), "{bad:?}");
        assert!(s.done(RUN, bad).is_err(), "{bad:?}");
        assert!(s.request(RUN, bad, "app", "h").is_err(), "{bad:?}");
        assert!(s.request(RUN, "c", bad, "h").is_err(), "{bad:?}");
        assert!(s.request(RUN, "c", "app", bad).is_err(), "{bad:?}");
        assert!(s.app_requests(bad).is_err(), "{bad:?}");
    }
    let err = s.result(RUN, "a.b").unwrap_err().to_string();
    assert!(err.contains("call slug") && err.contains("'.'"), "{err}");
}

#[test]
fn account_and_topic_are_validated() {
    assert!(Subjects::new("Hops", "default").is_err());
    assert!(Subjects::new("hops", "de.fault").is_err());
    assert!(Subjects::new("hops", "").is_err());
    assert!(Subjects::new("acme-prod", "local-1a2b3c4").is_ok());
}

#[test]
fn parse_round_trips_every_kind() {
    let s = subjects();
    let cases = [
        (s.event(RUN).unwrap(), SubjectKind::Event),
        (s.pin(RUN).unwrap(), SubjectKind::Pin),
        (
            s.result(RUN, "p0-http_do0").unwrap(),
            SubjectKind::Result {
                call: "p0-http_do0".into(),
            },
        ),
        (
            s.done(RUN, "p0").unwrap(),
            SubjectKind::Done { on: "p0".into() },
        ),
        (
            s.attempt(RUN, "p0-http_do0", 2).unwrap(),
            SubjectKind::Attempt {
                call: "p0-http_do0".into(),
                attempt: 2,
            },
        ),
        (
            s.wait(RUN, "p0-http_do0").unwrap(),
            SubjectKind::Wait {
                call: "p0-http_do0".into(),
            },
        ),
        (
            s.request(RUN, "p0-http_do0", "http", "do").unwrap(),
            SubjectKind::Request {
                call: "p0-http_do0".into(),
                app: "http".into(),
                handler: "do".into(),
            },
        ),
    ];
    for (subject, kind) in cases {
        let parsed = s.parse(&subject).unwrap();
        assert_eq!(s.render(&parsed), subject);
        assert_eq!(parsed.run_id, RUN);
        assert_eq!(
            parsed.is_notify(),
            !matches!(kind, SubjectKind::Request { .. })
        );
        assert_eq!(parsed.kind, kind, "{subject}");
    }
    // "done" alone as the fifth token is a result of a call named "done", like the original.
    assert_eq!(
        s.parse(&format!("hops.default.notify.{RUN}.done"))
            .unwrap()
            .kind,
        SubjectKind::Result {
            call: "done".into()
        }
    );
}

#[test]
fn parse_rejects_garbage_without_panicking() {
    let s = subjects();
    let garbage = [
        String::new(),
        ".".into(),
        "..........".into(),
        "hops".into(),
        "hops.default".into(),
        "hops.default.".into(),
        "hops.default.notify".into(),
        format!("hops.default.notify.{RUN}"),
        format!("hops.default.notify.{RUN}."),
        format!("hops.default.notify.{RUN}.a.b"),
        format!("hops.default.notify.{RUN}.a.done.x"),
        format!("hops.default.notify.{RUN}..done"),
        format!("hops.default.request.{RUN}.call.app"),
        format!("hops.default.request.{RUN}.call.app.h.extra"),
        format!("hops.default.request.{RUN}..app.h"),
        format!("hops.default.other.{RUN}.event"),
        format!("hops.other.notify.{RUN}.event"),
        format!("other.default.notify.{RUN}.event"),
        format!("hops.defaultx.notify.{RUN}.event"),
        "hops.default.notify.bad run.event".into(),
        "hops.default.notify.a*b.event".into(),
        "hops.default.notify.>.event".into(),
        "hops.default.notify.*.event".into(),
        "\u{0}\u{1}.\u{ff}".into(),
        "hops.default.notify.ü.event".into(),
    ];
    for subject in &garbage {
        assert!(s.parse(subject).is_err(), "{subject:?} parsed");
    }
    let err = s.parse("hops.default.x.r.event").unwrap_err().to_string();
    assert!(err.contains("notify or request"), "{err}");
}
