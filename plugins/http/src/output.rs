//! Shaping a response into the call's result.

use hops_sdk::{Header, Output};

use crate::client::Done;

/// `{status_code, headers, body, json, url}`: `json` holds the parsed body when the
/// response's media type is JSON (`application/json` or any `application/*+json`) and the
/// body parses; repeated headers are joined with `", "`.
pub fn output(done: &Done) -> Output {
    let response = &done.response;
    let mut headers: Vec<Header> = Vec::new();
    for (name, value) in &response.headers {
        match headers
            .iter_mut()
            .find(|h| h.name.eq_ignore_ascii_case(name))
        {
            Some(h) => {
                h.value.push_str(", ");
                h.value.push_str(value);
            }
            None => headers.push(Header {
                name: name.to_ascii_lowercase(),
                value: value.clone(),
            }),
        }
    }
    let is_json = headers
        .iter()
        .find(|h| h.name == "content-type")
        .is_some_and(|h| is_json_media_type(&h.value));
    let json = is_json
        .then(|| serde_json::from_slice::<serde_json::Value>(&response.body).ok())
        .flatten()
        .map(|v| v.to_string());
    Output {
        json,
        body: response.text(),
        status_code: Some(response.status),
        headers,
        url: Some(done.url.to_string()),
    }
}

/// `application/json` or `application/<anything>+json`, ignoring parameters and case.
fn is_json_media_type(content_type: &str) -> bool {
    let media = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    media == "application/json"
        || media
            .strip_prefix("application/")
            .is_some_and(|sub| sub.ends_with("+json"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_media_types() {
        assert!(is_json_media_type("application/json"));
        assert!(is_json_media_type("Application/JSON; charset=utf-8"));
        assert!(is_json_media_type("application/problem+json"));
        assert!(!is_json_media_type("text/json+x"));
        assert!(!is_json_media_type("text/plain"));
        assert!(!is_json_media_type(""));
    }
}
