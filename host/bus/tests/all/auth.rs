//! Connecting with credentials, and connection errors that say what to check.

use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use hops_bus::{Auth, Bus, BusConfig, BusError, ConfigError};
use hops_testutil::NatsServer;

use crate::common::{config, run_id};

/// Connects, makes sure JetStream works through this connection, and publishes once.
async fn works(config: BusConfig) {
    let bus = Bus::connect(config).await.unwrap();
    bus.ensure_stream().await.unwrap();
    let subject = bus.subjects().event(&run_id()).unwrap();
    assert!(
        !bus.publish_once(&subject, Bytes::new())
            .await
            .unwrap()
            .duplicate
    );
}

fn refused(err: BusError) -> String {
    assert!(matches!(err, BusError::Connect { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains("refused the credentials"), "{msg}");
    assert!(
        msg.contains("check the user and password, token, nkey seed or creds file"),
        "{msg}"
    );
    msg
}

#[tokio::test]
async fn user_and_password() {
    hops_testutil::init_tracing();
    let server = NatsServer::with_user_password("hops", "s3cret").await;
    let auth = |password: &str| Auth::UserPassword {
        user: "hops".into(),
        password: password.into(),
    };
    works(config(&server).with_auth(auth("s3cret"))).await;
    let msg = refused(
        Bus::connect(config(&server).with_auth(auth("wrong")))
            .await
            .unwrap_err(),
    );
    assert!(!msg.contains("wrong"), "no secret in the message: {msg}");
    refused(Bus::connect(config(&server)).await.unwrap_err());
    // Credentials in the URL work too, and are not repeated in errors.
    let url = format!("nats://hops:s3cret@127.0.0.1:{}", server.port());
    works(BusConfig::new(url)).await;
    let url = format!("nats://hops:badpass@127.0.0.1:{}", server.port());
    let msg = refused(Bus::connect(BusConfig::new(url)).await.unwrap_err());
    assert!(!msg.contains("badpass"), "{msg}");
}

#[tokio::test]
async fn token() {
    let server = NatsServer::with_token("t0ken").await;
    works(config(&server).with_auth(Auth::Token("t0ken".into()))).await;
    refused(
        Bus::connect(config(&server).with_auth(Auth::Token("other".into())))
            .await
            .unwrap_err(),
    );
}

#[tokio::test]
async fn nkey_seed_and_seed_file() {
    let user = nkeys::KeyPair::new_user();
    let server = NatsServer::with_nkey(&user.public_key()).await;
    let seed = user.seed().unwrap();
    works(config(&server).with_auth(Auth::NKeySeed(seed.clone()))).await;

    let file = server.dir().join("user.nk");
    std::fs::write(&file, format!("{seed}\n")).unwrap();
    works(config(&server).with_auth(Auth::NKeySeedFile(file))).await;

    let stranger = nkeys::KeyPair::new_user().seed().unwrap();
    refused(
        Bus::connect(config(&server).with_auth(Auth::NKeySeed(stranger)))
            .await
            .unwrap_err(),
    );
    let err = Bus::connect(config(&server).with_auth(Auth::NKeySeed("SUbogus".into())))
        .await
        .unwrap_err();
    assert!(
        matches!(err, BusError::Config(ConfigError::InvalidNkeySeed { .. })),
        "{err:?}"
    );
    let err = Bus::connect(
        config(&server).with_auth(Auth::NKeySeedFile(server.dir().join("missing.nk"))),
    )
    .await
    .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("cannot read nkey seed file") && msg.contains("missing.nk"),
        "{msg}"
    );
}

/// A JWT signed by `signer`, the way nsc makes them.
fn jwt(claims: serde_json::Value, signer: &nkeys::KeyPair) -> String {
    let header = URL_SAFE_NO_PAD.encode(r#"{"typ":"JWT","alg":"ed25519-nkey"}"#);
    let body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).unwrap());
    let signature = signer.sign(format!("{header}.{body}").as_bytes()).unwrap();
    format!("{header}.{body}.{}", URL_SAFE_NO_PAD.encode(signature))
}

/// Operator mode without nsc: operator, account and user keys and JWTs made here.
#[tokio::test]
async fn creds_file() {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let operator = nkeys::KeyPair::new_operator();
    let account = nkeys::KeyPair::new_account();
    let user = nkeys::KeyPair::new_user();
    let system = nkeys::KeyPair::new_account();
    let operator_jwt = jwt(
        serde_json::json!({
            "jti": "OPERATOR", "iat": now, "iss": operator.public_key(), "name": "test-operator",
            "sub": operator.public_key(), "nats": {"type": "operator", "version": 2}
        }),
        &operator,
    );
    let account_jwt = jwt(
        serde_json::json!({
            "jti": "ACCOUNT", "iat": now, "iss": operator.public_key(), "name": "test-account",
            "sub": account.public_key(),
            "nats": {
                "limits": {"subs": -1, "data": -1, "payload": -1, "imports": -1, "exports": -1,
                           "wildcards": true, "conn": -1, "leaf": -1, "mem_storage": -1,
                           "disk_storage": -1, "streams": -1, "consumer": -1},
                "default_permissions": {"pub": {}, "sub": {}},
                "type": "account", "version": 2
            }
        }),
        &operator,
    );
    let system_jwt = jwt(
        serde_json::json!({
            "jti": "SYSTEM", "iat": now, "iss": operator.public_key(), "name": "SYS",
            "sub": system.public_key(),
            "nats": {"limits": {"subs": -1, "data": -1, "payload": -1, "imports": -1,
                                "exports": -1, "wildcards": true, "conn": -1, "leaf": -1},
                     "type": "account", "version": 2}
        }),
        &operator,
    );
    let user_jwt = jwt(
        serde_json::json!({
            "jti": "USER", "iat": now, "iss": account.public_key(), "name": "test-user",
            "sub": user.public_key(),
            "nats": {"pub": {}, "sub": {}, "subs": -1, "data": -1, "payload": -1,
                     "type": "user", "version": 2}
        }),
        &account,
    );
    let server = NatsServer::builder()
        .config(format!(
            "operator: {operator_jwt:?}\nsystem_account: {sys}\nresolver: MEMORY\n\
             resolver_preload: {{ {acc}: {account_jwt:?}, {sys}: {system_jwt:?} }}\n",
            acc = account.public_key(),
            sys = system.public_key(),
        ))
        .start()
        .await;
    let creds = format!(
        "-----BEGIN NATS USER JWT-----\n{user_jwt}\n------END NATS USER JWT------\n\n\
         -----BEGIN USER NKEY SEED-----\n{}\n------END USER NKEY SEED------\n",
        user.seed().unwrap()
    );
    let path = server.dir().join("user.creds");
    std::fs::write(&path, creds).unwrap();
    works(config(&server).with_auth(Auth::CredsFile(path))).await;

    refused(Bus::connect(config(&server)).await.unwrap_err());
    let err =
        Bus::connect(config(&server).with_auth(Auth::CredsFile(server.dir().join("nope.creds"))))
            .await
            .unwrap_err();
    assert!(err.to_string().contains("cannot read creds file"), "{err}");
}

#[tokio::test]
async fn nothing_listening_says_to_check_the_url() {
    let port = hops_testutil::free_port();
    let err = Bus::connect(BusConfig::new(format!("nats://127.0.0.1:{port}")))
        .await
        .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains(&format!(
            "failed to connect to nats at nats://127.0.0.1:{port}"
        )),
        "{msg}"
    );
    assert!(
        msg.contains("check the url and that nats-server is running"),
        "{msg}"
    );
    let err = Bus::connect(BusConfig::new("http://127.0.0.1:1"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, BusError::Config(ConfigError::InvalidUrl { .. })),
        "{err:?}"
    );
}

#[tokio::test]
async fn several_urls_use_the_one_that_answers() {
    let server = NatsServer::start().await;
    let dead = hops_testutil::free_port();
    let url = format!("nats://127.0.0.1:{dead},{}", server.url());
    works(BusConfig::new(url)).await;
}
