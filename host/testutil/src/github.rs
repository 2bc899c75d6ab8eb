//! Signing test webhooks the way GitHub does.

use sha2::{Digest as _, Sha256};

/// The `X-Hub-Signature-256` GitHub sends for `body` under webhook secret `secret`:
/// `sha256=` and the hex HMAC-SHA256 (RFC 2104, written out so the test does not share the
/// app's own HMAC code). Secrets longer than one 64-byte block are not supported.
pub fn github_signature(secret: &[u8], body: &[u8]) -> String {
    assert!(secret.len() <= 64, "test secrets fit one HMAC block");
    let mut key = [0u8; 64];
    key[..secret.len()].copy_from_slice(secret);
    let pad = |byte: u8| key.iter().map(|k| k ^ byte).collect::<Vec<u8>>();
    let inner = Sha256::new()
        .chain_update(pad(0x36))
        .chain_update(body)
        .finalize();
    let outer = Sha256::new()
        .chain_update(pad(0x5c))
        .chain_update(inner)
        .finalize();
    format!("sha256={}", hex::encode(outer))
}
