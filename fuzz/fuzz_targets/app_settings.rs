//! Any text as an app's settings file (`<app>.toml` beside its component): parsing either names
//! what is wrong or yields settings whose summary, grants and declared handlers can be read
//! without panicking.
#![no_main]

use hops_core::app_settings::{AppSettings, Defaults, declared_handlers};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return;
    };
    let _ = declared_handlers(text);
    let env = |name: &str| (name == "HOPS_FUZZ_SECRET").then(|| "s3cret".to_owned());
    if let Ok(settings) = AppSettings::parse(text, &Defaults::default(), env) {
        let _ = settings.summary();
        for host in ["api.github.com", "api.github.com:443", "127.0.0.1:8080", "[::1]:80", ""] {
            let _ = settings.allows_host(host, 443);
        }
    }
});
