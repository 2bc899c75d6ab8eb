//! HCL expression semantics of the evaluator.

use std::collections::HashMap;

use std::time::{Duration, Instant};

use hops_pipeline::expr::{EvalError, Evaluator, Scope, compile};
use hops_pipeline::functions::{Files, FnCtx};
use hops_pipeline::{EvalContext, EvalLimits};
use serde_json::{Map, Value, json};

fn eval_limited(src: &str, vars: Value, limits: EvalLimits) -> Result<Value, EvalError> {
    let parsed = hcl_edit::parser::parse_expr(src).unwrap();
    let expr = compile(&parsed);
    let files = Files::new();
    let env: HashMap<String, String> = HashMap::new();
    let eval = EvalContext::new(&env).with_limits(limits);
    let ctx = FnCtx::new(&files, Some(""), &eval, "test");
    let vars: Map<String, Value> = vars.as_object().cloned().unwrap_or_default();
    Evaluator::new(&ctx)
        .eval(&expr, &Scope::new(&vars))
        .map(|v| v.into_owned())
}

fn eval_in(src: &str, vars: Value) -> Result<Value, String> {
    eval_limited(src, vars, EvalLimits::default()).map_err(|e| e.message)
}

fn eval(src: &str) -> Value {
    eval_in(src, json!({"event": {"n": 3, "items": [{"name": "a", "tags": ["x"]}, {"name": "b", "tags": ["y", "z"]}], "branch": "fix/1", "flag": true}}))
        .unwrap_or_else(|e| panic!("{src}: {e}"))
}

#[test]
fn arithmetic_and_comparison() {
    assert_eq!(eval("1 + 2 * 3"), json!(7));
    assert_eq!(eval("7 / 2"), json!(3.5));
    assert_eq!(eval("6 / 2"), json!(3));
    assert_eq!(eval("7 % 3"), json!(1));
    assert_eq!(eval("-event.n"), json!(-3));
    assert_eq!(eval("\"2\" + 1"), json!(3));
    assert_eq!(eval("event.n >= 3 && event.n < 4"), json!(true));
    assert_eq!(eval("1 == 1.0"), json!(true));
    assert_eq!(eval("1 == \"1\""), json!(false));
    assert_eq!(eval("!event.flag"), json!(false));
    assert!(
        eval_in("1 / 0", json!({}))
            .unwrap_err()
            .contains("Divide by zero")
    );
    assert!(eval_in("1 + true", json!({})).is_err());
}

#[test]
fn conditionals_and_short_circuit() {
    assert_eq!(eval("event.flag ? \"yes\" : \"no\""), json!("yes"));
    assert_eq!(eval("true || event.missing"), json!(true));
    assert_eq!(eval("false && event.missing"), json!(false));
    assert!(eval_in("false || event.missing", json!({"event": {}})).is_err());
    assert!(
        eval_in("\"x\" ? 1 : 2", json!({}))
            .unwrap_err()
            .contains("condition")
    );
}

#[test]
fn templates_print_values_as_written() {
    assert_eq!(
        eval(r#""n=${event.n} half=${event.n / 2} ok=${event.flag}""#),
        json!("n=3 half=1.5 ok=true")
    );
    assert_eq!(
        eval(r#""${event.n}""#),
        json!(3),
        "a lone interpolation keeps its type"
    );
    assert_eq!(eval(r#""$${literal} %%{x}""#), json!("${literal} %{x}"));
    assert_eq!(
        eval(r#""%{ if event.flag }on%{ else }off%{ endif }""#),
        json!("on")
    );
    assert_eq!(
        eval(r#""%{ for i in event.items }${i.name},%{ endfor }""#),
        json!("a,b,")
    );
    assert_eq!(
        eval(r#""%{ for k, v in {x = 1, y = 2} }${k}=${v} %{ endfor }""#),
        json!("x=1 y=2 ")
    );
    assert_eq!(eval(r#""a   ${~ "b" ~}   c""#), json!("abc"));
    assert!(
        eval_in(r#""x ${event}""#, json!({"event": {}}))
            .unwrap_err()
            .contains("Invalid template interpolation value")
    );
}

#[test]
fn heredocs_are_dedented() {
    let src = "<<-EOT\n    line ${event.n}\n      indented\n    EOT";
    assert_eq!(eval(src), json!("line 3\n  indented\n"));
}

#[test]
fn for_expressions_and_splats() {
    assert_eq!(
        eval("[for i in event.items : upper(i.name)]"),
        json!(["A", "B"])
    );
    assert_eq!(
        eval("[for i, item in event.items : i if item.name == \"b\"]"),
        json!([1])
    );
    assert_eq!(
        eval("{for item in event.items : item.name => length(item.tags)}"),
        json!({"a": 1, "b": 2})
    );
    assert_eq!(
        eval("{for item in event.items : \"all\" => item.name...}"),
        json!({"all": ["a", "b"]})
    );
    assert!(
        eval_in("{for item in [1, 1] : item => item}", json!({}))
            .unwrap_err()
            .contains("Duplicate object key")
    );
    assert_eq!(eval("event.items[*].name"), json!(["a", "b"]));
    assert_eq!(eval("event.items.*.name"), json!(["a", "b"]));
    assert_eq!(eval("event.items[*].tags[0]"), json!(["x", "y"]));
    assert_eq!(eval("event.items[1].tags[1]"), json!("z"));
    assert_eq!(eval("event.items.0.name"), json!("a"));
    assert_eq!(eval("event[\"branch\"]"), json!("fix/1"));
    assert_eq!(
        eval_in("event.none[*]", json!({"event": {"none": null}})).unwrap(),
        json!([])
    );
    assert!(
        eval_in("event.items[5]", json!({"event": {"items": []}}))
            .unwrap_err()
            .contains("out of range")
    );
}

#[test]
fn try_and_can() {
    assert_eq!(eval("try(event.missing.deep, event.n, 0)"), json!(3));
    assert_eq!(eval("try(event.missing, \"default\")"), json!("default"));
    assert_eq!(eval("can(event.missing)"), json!(false));
    assert_eq!(eval("can(event.n)"), json!(true));
    assert!(
        eval_in("try(event.a, event.b)", json!({"event": {}}))
            .unwrap_err()
            .contains("no expression succeeded")
    );
}

#[test]
fn unknown_variables_and_functions_are_errors() {
    assert!(
        eval_in("nope", json!({}))
            .unwrap_err()
            .contains("There is no variable named \"nope\"")
    );
    assert!(
        eval_in("nope(1)", json!({}))
            .unwrap_err()
            .contains("There is no function named \"nope\"")
    );
    assert!(
        eval_in("upper()", json!({}))
            .unwrap_err()
            .contains("upper takes exactly 1 argument, got 0")
    );
}

#[test]
fn objects_and_expansion() {
    assert_eq!(
        eval(r#"{ "Content-Type" = "json", plain = 1, (event.branch) = 2 }"#),
        json!({"Content-Type": "json", "plain": 1, "fix/1": 2})
    );
    assert_eq!(eval("max([1, 9, 3]...)"), json!(9));
    assert_eq!(
        eval("{ a = 1, b = [true, null] }"),
        json!({"a": 1, "b": [true, null]})
    );
}

/// A list of `n` strings of `len` characters, as an event would carry it.
fn big_event(n: usize, len: usize) -> Value {
    let items: Vec<Value> = (0..n).map(|i| json!(format!("{i:0len$}"))).collect();
    json!({"event": {"items": items}})
}

#[test]
fn a_nested_for_over_a_big_list_runs_out_of_budget_quickly() {
    // 5,000 × 5,000 elements: 25 million values, gigabytes if it were built.
    let started = Instant::now();
    let err = eval_limited(
        "[for a in event.items: [for b in event.items: \"${a}${b}\"]]",
        big_event(5_000, 40),
        EvalLimits::default(),
    )
    .unwrap_err();
    assert!(err.over_budget, "{err:?}");
    assert!(
        err.message.contains("evaluation budget exceeded") && err.message.contains("--eval-max"),
        "{}",
        err.message
    );
    assert!(err.span.is_some(), "the error points at the expression");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
}

#[test]
fn try_and_can_do_not_swallow_a_spent_budget() {
    let vars = big_event(2_000, 8);
    let limits = EvalLimits {
        max_elements: 100_000,
        ..EvalLimits::default()
    };
    for src in [
        "try([for a in event.items: [for b in event.items: b]], \"fallback\")",
        "can([for a in event.items: [for b in event.items: b]])",
        "[for a in event.items: try([for b in event.items: b], [])]",
    ] {
        let err = eval_limited(src, vars.clone(), limits).unwrap_err();
        assert!(err.over_budget, "{src}: {err:?}");
    }
    // Ordinary errors are still swallowed.
    assert_eq!(
        eval_limited("try(event.missing, 1)", vars.clone(), limits).unwrap(),
        json!(1)
    );
}

#[test]
fn functions_that_multiply_their_input_charge_before_building() {
    let limits = EvalLimits {
        max_bytes: 1 << 20,
        ..EvalLimits::default()
    };
    let vars = json!({"event": {"s": "x".repeat(100_000)}});
    for src in [
        "replace(event.s, \"\", event.s)",
        "regexreplace(event.s, \"x\", \"$0$0$0$0$0$0$0$0$0$0$0$0$0$0$0$0\")",
        "indent(100000, replace(event.s, \"x\", \"\\n\"))",
        "join(event.s, split(\"\", event.s))",
        "setproduct(range(1000), range(1000), range(1000))",
        "format(\"%.99999999f\", 1)",
    ] {
        let err = eval_limited(src, vars.clone(), limits).unwrap_err();
        assert!(
            err.over_budget || err.message.contains("over the limit"),
            "{src}: {err:?}"
        );
    }
}

#[test]
fn set_functions_are_linear() {
    let items: Vec<Value> = (0..40_000).map(|i| json!(i % 20_000)).collect();
    let vars = json!({"event": {"a": items, "b": (10_000..50_000).collect::<Vec<_>>()}});
    let started = Instant::now();
    let set = eval_in("toset(event.a)", vars.clone()).unwrap();
    assert_eq!(set.as_array().unwrap().len(), 20_000);
    let union = eval_in("setunion(event.a, event.b)", vars.clone()).unwrap();
    assert_eq!(union.as_array().unwrap().len(), 50_000);
    let common = eval_in("setintersection(event.a, event.b)", vars).unwrap();
    assert_eq!(common.as_array().unwrap().len(), 10_000);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    // Numbers are compared by value, as `==` does.
    assert_eq!(eval("toset([1, 1.0, \"1\"])"), json!([1, "1"]));
}

#[test]
fn can_without_an_argument_names_its_arity() {
    let err = eval_in("can()", json!({})).unwrap_err();
    assert!(err.contains("can takes exactly 1 argument"), "{err}");
}
