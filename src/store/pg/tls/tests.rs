//! `sslmode` and `sslrootcert` read from URLs, and each check against a stand-in
//! server on 127.0.0.1 that speaks TLS with certificates made here (no `PostgreSQL`).

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::Arc;
use std::thread::JoinHandle;

use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};

use super::super::PgUrl;
use super::*;
use crate::store::StoreError;

fn wanted(url: &str) -> (String, Wanted) {
    Wanted::take_from(url).unwrap()
}

#[test]
fn sslmode_and_sslrootcert_are_taken_out_and_the_rest_kept() {
    let (rest, w) = wanted(
        "postgresql://u:p@h:5/db?connect_timeout=3&sslmode=verify-full&sslrootcert=%2Fetc%2Fca%20x.pem&target_session_attrs=read-write",
    );
    assert_eq!(
        rest,
        "postgresql://u:p@h:5/db?connect_timeout=3&target_session_attrs=read-write"
    );
    assert_eq!(w.mode, Mode::VerifyFull);
    assert_eq!(w.roots, Some(Roots::File("/etc/ca x.pem".into())));

    let (rest, w) = wanted("postgresql://u@h/db?sslrootcert=system&sslmode=require");
    assert_eq!(rest, "postgresql://u@h/db");
    assert_eq!((w.mode, w.roots), (Mode::Require, Some(Roots::System)));

    // No query, or a `?` in the password: nothing taken, prefer.
    for url in ["postgresql://h/db", "postgresql://u:a%3Fb@h/db"] {
        let (rest, w) = wanted(url);
        assert_eq!((rest.as_str(), w.mode, w.roots), (url, Mode::Prefer, None));
    }
    // The last of each wins, as rust-postgres reads the others.
    let (_, w) = wanted("postgresql://h/db?sslmode=require&sslmode=disable");
    assert_eq!(w.mode, Mode::Disable);
}

#[test]
fn rust_postgres_is_given_the_mode_it_knows() {
    for (mode, expected) in [
        ("disable", postgres::config::SslMode::Disable),
        ("prefer", postgres::config::SslMode::Prefer),
        ("require", postgres::config::SslMode::Require),
        ("verify-full", postgres::config::SslMode::Require),
    ] {
        let url = PgUrl::parse(&format!("postgresql://u:pw@h/db?sslmode={mode}")).unwrap();
        assert_eq!(url.config.get_ssl_mode(), expected, "{mode}");
        assert_eq!(url.redacted(), "postgresql://u@h:5432/db");
    }
    let url = PgUrl::parse("postgresql://h/db?sslmode=verify-ca&sslrootcert=ca.pem").unwrap();
    assert_eq!(
        url.config.get_ssl_mode(),
        postgres::config::SslMode::Require
    );
    assert_eq!(url.tls.roots, Some(Roots::File("ca.pem".into())));
}

#[test]
fn tls_settings_that_cannot_work_are_refused_in_one_line() {
    for (url, says) in [
        ("postgresql://h/db?sslmode=allow", "none of disable"),
        ("postgresql://h/db?sslmode=VERIFY-FULL", "none of disable"),
        (
            "postgresql://h/db?sslmode=verify-ca",
            "needs sslrootcert=FILE",
        ),
        (
            "postgresql://h/db?sslmode=verify-ca&sslrootcert=system",
            "needs sslrootcert=FILE",
        ),
        ("postgresql://h/db?sslrootcert=", "names no file"),
        ("postgresql://h/db?sslcert=me.pem", "client certificates"),
        ("postgresql://h/db?sslkey=me.key", "client certificates"),
        ("postgresql://h/db?sslrootcert=%FF", "UTF-8"),
    ] {
        let err = PgUrl::parse(url).unwrap_err();
        assert!(matches!(err, EngineError::BadUrl(_)), "{url}: {err}");
        let text = err.to_string();
        assert!(text.contains(says), "{url}: {text}");
        assert_eq!(text.lines().count(), 1, "{text}");
    }
}

#[test]
fn what_each_mode_checks() {
    let w = |mode, roots| Wanted { mode, roots };
    let file = || Some(Roots::File("ca.pem".into()));
    let chain = |c: &Check| matches!(c, Check::Chain(_));
    let full = |c: &Check, r: &Roots| matches!(c, Check::Full(x) if x == r);
    assert!(matches!(w(Mode::Disable, file()).check(), Check::Nothing));
    assert!(matches!(w(Mode::Prefer, None).check(), Check::Nothing));
    assert!(full(&w(Mode::Prefer, file()).check(), &file().unwrap()));
    assert!(full(&w(Mode::Require, None).check(), &Roots::System));
    assert!(full(&w(Mode::Require, file()).check(), &file().unwrap()));
    assert!(chain(&w(Mode::VerifyCa, file()).check()));
    assert!(full(&w(Mode::VerifyFull, None).check(), &Roots::System));
}

#[test]
fn presented_names_read_as_people_write_them() {
    assert_eq!(plain_name("DnsName(\"db.example\")"), "db.example");
    assert_eq!(plain_name("IpAddress(10.0.0.5)"), "10.0.0.5");
    assert_eq!(plain_name("DirectoryName"), "DirectoryName");
}

/// A throwaway CA, and a server certificate it signed.
struct Pki {
    ca_pem: String,
    chain: Vec<CertificateDer<'static>>,
    key: Vec<u8>,
}

fn ca() -> (CertificateParams, KeyPair) {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    (params, key)
}

/// A server certificate for `names`; `expired` puts its validity in 2001.
fn pki(names: &[&str], expired: bool) -> Pki {
    let (ca_params, ca_key) = ca();
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let issuer = rcgen::Issuer::new(ca_params, ca_key);
    let key = KeyPair::generate().unwrap();
    let mut params =
        CertificateParams::new(names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>()).unwrap();
    if expired {
        params.not_before = rcgen::date_time_ymd(2000, 1, 1);
        params.not_after = rcgen::date_time_ymd(2001, 1, 1);
    }
    let cert = params.signed_by(&key, &issuer).unwrap();
    Pki {
        ca_pem: ca_cert.pem(),
        chain: vec![cert.der().clone()],
        key: key.serialize_der(),
    }
}

/// How the stand-in server answers the client's request for TLS.
enum Answer {
    /// `S`, then a TLS handshake with this certificate.
    Tls(Vec<CertificateDer<'static>>, Vec<u8>),
    /// `N`: no TLS here.
    Plain,
}

/// What the stand-in server says once it has the client's startup message:
/// a login refusal, so a connection that got that far fails with it.
fn refusal_message(message: &str) -> Vec<u8> {
    let mut body = Vec::new();
    for (field, value) in [(b'S', "FATAL"), (b'C', "28000"), (b'M', message)] {
        body.push(field);
        body.extend_from_slice(value.as_bytes());
        body.push(0);
    }
    body.push(0);
    let mut out = vec![b'E'];
    out.extend_from_slice(&(u32::try_from(body.len()).unwrap() + 4).to_be_bytes());
    out.extend_from_slice(&body);
    out
}

/// Read the client's startup message and refuse it with `message`.
fn refuse_startup(stream: &mut (impl Read + Write), message: &str) {
    let mut len = [0u8; 4];
    if stream.read_exact(&mut len).is_err() {
        return;
    }
    let mut rest = vec![0u8; usize::try_from(u32::from_be_bytes(len)).unwrap() - 4];
    if stream.read_exact(&mut rest).is_err() {
        return;
    }
    let _ = stream.write_all(&refusal_message(message));
    let _ = stream.flush();
    // Until the client hangs up, so it reads all of it.
    let _ = stream.read_to_end(&mut Vec::new());
}

/// A stand-in server for one connection on 127.0.0.1, and its port.
fn serve(answer: Answer) -> (u16, JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let handle = std::thread::spawn(move || {
        let (mut socket, _) = listener.accept().unwrap();
        let mut request = [0u8; 8];
        socket.read_exact(&mut request).unwrap();
        assert_eq!(&request[4..], &80_877_103u32.to_be_bytes(), "an SSLRequest");
        match answer {
            Answer::Plain => {
                socket.write_all(b"N").unwrap();
                refuse_startup(&mut socket, "in the clear");
            }
            Answer::Tls(chain, key) => {
                socket.write_all(b"S").unwrap();
                let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key));
                let config = rustls::ServerConfig::builder_with_provider(Arc::new(
                    rustls::crypto::ring::default_provider(),
                ))
                .with_safe_default_protocol_versions()
                .unwrap()
                .with_no_client_auth()
                .with_single_cert(chain, key)
                .unwrap();
                let conn = rustls::ServerConnection::new(Arc::new(config)).unwrap();
                let mut tls = rustls::StreamOwned::new(conn, socket);
                refuse_startup(&mut tls, "past TLS");
            }
        }
    });
    (port, handle)
}

/// Connect to a stand-in server answering `answer` as `host` (at
/// 127.0.0.1 whatever the name: one address, so rust-postgres reports its
/// failure and tries no other), with `query`.
fn connect_to(answer: Answer, host: &str, query: &str) -> Result<(), EngineError> {
    let (port, server) = serve(answer);
    let url = PgUrl::parse(&format!(
        "postgresql://desk:pw@{host}:{port}/fd?hostaddr=127.0.0.1&{query}"
    ))
    .unwrap();
    let result = super::super::connect(&url);
    server.join().unwrap();
    match result {
        Ok(_) => panic!("the stand-in server never lets a login through"),
        Err(StoreError::Engine(e)) => Err(e),
        Err(other) => panic!("{other}"),
    }
}

/// The refusal the stand-in server sends once the connection got past TLS
/// (or went on without it), as the client reports it.
fn got_through(result: Result<(), EngineError>) -> String {
    match result {
        Err(EngineError::BadLogin { reason, .. }) => reason,
        other => panic!("expected the server's refusal, got {other:?}"),
    }
}

fn ca_file(dir: &Path, pem: &str) -> String {
    let path = dir.join("ca.pem");
    std::fs::write(&path, pem).unwrap();
    path.to_str().unwrap().to_owned()
}

#[test]
fn verify_full_connects_to_a_server_its_ca_signed_for_that_name() {
    let dir = tempfile::tempdir().unwrap();
    let pki = pki(&["localhost"], false);
    let ca = ca_file(dir.path(), &pki.ca_pem);
    for mode in ["verify-full", "require", "prefer"] {
        let result = connect_to(
            Answer::Tls(pki.chain.clone(), pki.key.clone()),
            "localhost",
            &format!("sslmode={mode}&sslrootcert={ca}"),
        );
        assert_eq!(got_through(result), "past TLS", "{mode}");
    }
}

#[test]
fn a_certificate_another_ca_signed_is_refused_naming_the_ca_file() {
    let dir = tempfile::tempdir().unwrap();
    let ours = pki(&["localhost"], false);
    let theirs = pki(&["localhost"], false);
    let ca = ca_file(dir.path(), &ours.ca_pem);
    for mode in ["verify-full", "verify-ca", "require", "prefer"] {
        let err = connect_to(
            Answer::Tls(theirs.chain.clone(), theirs.key.clone()),
            "localhost",
            &format!("sslmode={mode}&sslrootcert={ca}"),
        )
        .unwrap_err();
        assert!(
            matches!(err, EngineError::Untrusted { .. }),
            "{mode}: {err}"
        );
        let text = err.to_string();
        assert!(
            text.contains(&format!(
                "is not signed by the CA certificates in sslrootcert={ca}"
            )),
            "{text}"
        );
        assert_eq!(text.lines().count(), 1);
    }
}

#[test]
fn verify_full_refuses_a_host_the_certificate_does_not_name_and_verify_ca_does_not_ask() {
    let dir = tempfile::tempdir().unwrap();
    let pki = pki(&["localhost"], false);
    let ca = ca_file(dir.path(), &pki.ca_pem);
    let err = connect_to(
        Answer::Tls(pki.chain.clone(), pki.key.clone()),
        "127.0.0.1",
        &format!("sslmode=verify-full&sslrootcert={ca}"),
    )
    .unwrap_err();
    assert!(matches!(err, EngineError::WrongHost { .. }), "{err}");
    assert!(
        err.to_string().contains("at 127.0.0.1:")
            && err
                .to_string()
                .ends_with(" is not for that host (it is for localhost)"),
        "{err}"
    );
    let result = connect_to(
        Answer::Tls(pki.chain, pki.key),
        "127.0.0.1",
        &format!("sslmode=verify-ca&sslrootcert={ca}"),
    );
    assert_eq!(got_through(result), "past TLS");
}

#[test]
fn prefer_without_sslrootcert_takes_any_certificate_and_no_tls() {
    let pki = pki(&["elsewhere.example"], true);
    let result = connect_to(
        Answer::Tls(pki.chain, pki.key),
        "127.0.0.1",
        "sslmode=prefer",
    );
    assert_eq!(got_through(result), "past TLS");
    let result = connect_to(Answer::Plain, "127.0.0.1", "sslmode=prefer");
    assert_eq!(got_through(result), "in the clear");
}

#[test]
fn a_server_without_tls_is_refused_when_it_is_required() {
    let dir = tempfile::tempdir().unwrap();
    let ca = ca_file(dir.path(), &pki(&["localhost"], false).ca_pem);
    for mode in ["require", "verify-ca", "verify-full"] {
        let err = connect_to(
            Answer::Plain,
            "localhost",
            &format!("sslmode={mode}&sslrootcert={ca}"),
        )
        .unwrap_err();
        assert!(matches!(err, EngineError::NoTls { .. }), "{mode}: {err}");
        assert!(
            err.to_string().contains(&format!(
                "does not offer TLS, which sslmode={mode} requires"
            )),
            "{err}"
        );
    }
}

#[test]
fn an_expired_certificate_is_refused_saying_so() {
    let dir = tempfile::tempdir().unwrap();
    let pki = pki(&["localhost"], true);
    let ca = ca_file(dir.path(), &pki.ca_pem);
    let err = connect_to(
        Answer::Tls(pki.chain, pki.key),
        "localhost",
        &format!("sslmode=verify-full&sslrootcert={ca}"),
    )
    .unwrap_err();
    assert!(matches!(err, EngineError::Tls { .. }), "{err}");
    assert!(err.to_string().contains("expired"), "{err}");
}

#[test]
fn a_root_file_that_cannot_be_used_is_named_before_any_connection() {
    let dir = tempfile::tempdir().unwrap();
    let garbage = dir.path().join("garbage.pem");
    std::fs::write(&garbage, "not a certificate\n").unwrap();
    let missing = dir.path().join("missing.pem");
    for (path, says) in [
        (&garbage, "holds no PEM certificate"),
        (&missing, "No such file"),
    ] {
        let url = PgUrl::parse(&format!(
            "postgresql://desk:pw@127.0.0.1:1/fd?sslmode=verify-full&sslrootcert={}",
            path.display()
        ))
        .unwrap();
        let Err(StoreError::Engine(err)) = super::super::connect(&url) else {
            panic!("connected");
        };
        assert!(matches!(err, EngineError::RootCert { .. }), "{err}");
        let text = err.to_string();
        assert!(
            text.starts_with(&format!(
                "cannot use the CA certificates in sslrootcert={}",
                path.display()
            )) && text.contains(says),
            "{text}"
        );
    }
}

#[test]
fn a_refused_certificate_is_reported_over_a_later_host_that_did_not_answer() {
    let dir = tempfile::tempdir().unwrap();
    let ours = pki(&["localhost"], false);
    let theirs = pki(&["localhost"], false);
    let ca = ca_file(dir.path(), &ours.ca_pem);
    let (port, server) = serve(Answer::Tls(theirs.chain, theirs.key));
    // The second host is port 1, where nothing listens: rust-postgres
    // reports its failure last.
    let url = PgUrl::parse(&format!(
        "postgresql://desk:pw@localhost:{port},localhost:1/fd?hostaddr=127.0.0.1,127.0.0.1&sslmode=verify-full&sslrootcert={ca}"
    ))
    .unwrap();
    let Err(StoreError::Engine(err)) = super::super::connect(&url) else {
        panic!("connected");
    };
    server.join().unwrap();
    assert!(matches!(err, EngineError::Untrusted { .. }), "{err}");
}
