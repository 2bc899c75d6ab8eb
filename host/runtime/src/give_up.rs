//! What a run or a call records when a message comes back after its last allowed delivery:
//! the host working on that delivery stopped (or died on it) before it could finish. The
//! consumers deliver without limit, so this is recorded instead of the message vanishing.

/// The run-level error when a runner step outlived its deliveries.
pub(crate) fn runner_gave_up(max_deliver: u64) -> String {
    format!(
        "the runner gave up on this run: a step was delivered {} without finishing (the host working on it stopped)",
        times(max_deliver)
    )
}

/// The call's errored result when it outlived its deliveries.
pub(crate) fn call_gave_up(app: &str, max_deliver: u64) -> String {
    format!(
        "app {app}: the call was delivered {} without finishing (the host running it stopped); giving up",
        times(max_deliver)
    )
}

fn times(n: u64) -> String {
    match n {
        1 => "once".to_owned(),
        2 => "twice".to_owned(),
        n => format!("{n} times"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_count_in_words() {
        assert!(call_gave_up("echo", 1).contains("delivered once without finishing"));
        assert!(runner_gave_up(2).contains("delivered twice without finishing"));
        assert!(call_gave_up("echo", 10).starts_with("app echo: the call was delivered 10 times"));
    }
}
