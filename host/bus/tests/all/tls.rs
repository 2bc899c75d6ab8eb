//! TLS with a CA made in the test.

use std::net::{IpAddr, Ipv4Addr};

use hops_bus::{Bus, BusError, TlsOptions};
use hops_testutil::NatsServer;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, SanType};

use crate::common::config;

struct Pki {
    ca_pem: String,
    issuer: Issuer<'static, KeyPair>,
}

fn ca() -> Pki {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params
        .distinguished_name
        .push(DnType::CommonName, "hops test ca");
    let ca_pem = params.self_signed(&key).unwrap().pem();
    Pki {
        ca_pem,
        issuer: Issuer::new(params, key),
    }
}

/// A certificate signed by `pki` for 127.0.0.1 and localhost: (cert pem, key pem).
fn leaf(pki: &Pki, name: &str) -> (String, String) {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
    params
        .subject_alt_names
        .push(SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST)));
    params.distinguished_name.push(DnType::CommonName, name);
    let cert = params.signed_by(&key, &pki.issuer).unwrap();
    (cert.pem(), key.serialize_pem())
}

#[tokio::test]
async fn tls_with_the_ca_file_connects_and_fails_clearly_without_it() {
    hops_testutil::init_tracing();
    let pki = ca();
    let (cert, key) = leaf(&pki, "nats server");
    let server = NatsServer::with_tls(&cert, &key, None).await;
    let ca_file = server.dir().join("ca.pem");
    std::fs::write(&ca_file, &pki.ca_pem).unwrap();

    let tls = TlsOptions {
        ca_file: Some(ca_file),
        required: true,
        ..Default::default()
    };
    let bus = Bus::connect(config(&server).with_tls(tls)).await.unwrap();
    bus.ensure_stream().await.unwrap();

    let err = Bus::connect(config(&server)).await.unwrap_err();
    assert!(matches!(err, BusError::Connect { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains("tls handshake failed") && msg.contains("ca file"),
        "{msg}"
    );

    let err = Bus::connect(config(&server).with_tls(TlsOptions {
        ca_file: Some(server.dir().join("missing-ca.pem")),
        ..Default::default()
    }))
    .await
    .unwrap_err();
    assert!(err.to_string().contains("cannot read tls ca file"), "{err}");
}

#[tokio::test]
async fn mutual_tls_needs_the_client_certificate() {
    let pki = ca();
    let (cert, key) = leaf(&pki, "nats server");
    let server = NatsServer::with_tls(&cert, &key, Some(&pki.ca_pem)).await;
    let dir = server.dir();
    let (client_cert, client_key) = leaf(&pki, "hops client");
    std::fs::write(dir.join("ca.pem"), &pki.ca_pem).unwrap();
    std::fs::write(dir.join("client.pem"), client_cert).unwrap();
    std::fs::write(dir.join("client-key.pem"), client_key).unwrap();

    let with_cert = TlsOptions {
        ca_file: Some(dir.join("ca.pem")),
        client_cert: Some(dir.join("client.pem")),
        client_key: Some(dir.join("client-key.pem")),
        required: true,
    };
    let bus = Bus::connect(config(&server).with_tls(with_cert))
        .await
        .unwrap();
    bus.ensure_stream().await.unwrap();

    let without = TlsOptions {
        ca_file: Some(dir.join("ca.pem")),
        ..Default::default()
    };
    let err = Bus::connect(config(&server).with_tls(without))
        .await
        .unwrap_err();
    assert!(matches!(err, BusError::Connect { .. }), "{err:?}");
}
