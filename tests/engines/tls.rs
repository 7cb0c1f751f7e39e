//! TLS to the test cluster, which serves a certificate for `localhost` signed by the
//! CA in `FACTORDESK_TEST_PG_CA` (.ci/postgres): each `sslmode`, through the binary.

use std::path::Path;

use factordesk::store::engine::Db;
use factordesk::store::pg::{self, PgUrl};

use super::support::cli::{Out, factordesk, run};
use super::support::pg::{Scratch, pg_ca};

/// The scratch database's URL by `host` (`localhost`, the name in the
/// server's certificate, or `127.0.0.1`), with `query`.
fn url(scratch: &Scratch, host: &str, query: &str) -> String {
    let by_name = scratch.url.replacen("@127.0.0.1:", &format!("@{host}:"), 1);
    assert!(by_name.contains(&format!("@{host}:")), "{}", scratch.name);
    format!("{by_name}?{query}")
}

/// The scratch database and the test CA's certificate, or `None` (said
/// once) when the cluster serves no TLS.
fn setup(label: &str) -> Option<(Scratch, String)> {
    let scratch = Scratch::new(label)?;
    let ca = pg_ca()?;
    Some((scratch, ca))
}

/// `factordesk --db URL --key-file k.key ARGS…` in `dir`, `SSL_CERT_FILE`
/// set to `system` if given (the system's trusted CAs).
fn fd(dir: &Path, url: &str, args: &[&str], system: Option<&str>) -> Out {
    let mut cmd = factordesk(dir);
    cmd.arg("--db")
        .arg(url)
        .arg("--key-file")
        .arg(dir.join("k.key"))
        .args(args);
    if let Some(file) = system {
        cmd.env("SSL_CERT_FILE", file);
    }
    run(cmd, None)
}

/// Whether the connection `url` opens is encrypted, as the server sees it.
fn encrypted(url: &str) -> bool {
    let db = pg::connect(&PgUrl::parse(url).unwrap()).unwrap();
    let row = db
        .query_one(
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            &[],
        )
        .unwrap();
    row.get::<i64>(0).unwrap() == 1
}

fn tables(scratch: &Scratch) -> usize {
    Db::postgres(scratch.client())
        .query(
            "SELECT 1 FROM pg_tables WHERE schemaname = current_schema()",
            &[],
        )
        .unwrap()
        .len()
}

#[test]
fn verify_full_with_the_servers_ca_opens_the_desk_over_tls() {
    let Some((scratch, ca)) = setup("tls_verify_full") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let full = url(
        &scratch,
        "localhost",
        &format!("sslmode=verify-full&sslrootcert={ca}"),
    );
    fd(dir.path(), &full, &["init"], None).ok();
    fd(dir.path(), &full, &["user", "add", "ada@example.com"], None).ok();
    let out = fd(dir.path(), &full, &["user", "list"], None).ok();
    assert!(out.stdout.contains("ada@example.com"), "{out:?}");
    assert!(encrypted(&full));
}

#[test]
fn require_checks_the_certificate_against_sslrootcert_or_the_systems_cas() {
    let Some((scratch, ca)) = setup("tls_require") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let with_ca = url(
        &scratch,
        "localhost",
        &format!("sslmode=require&sslrootcert={ca}"),
    );
    fd(dir.path(), &with_ca, &["init"], None).ok();
    assert!(encrypted(&with_ca));
    // No sslrootcert: the system's CAs, which do not hold the test CA
    // unless SSL_CERT_FILE says they are it.
    let bare = url(&scratch, "localhost", "sslmode=require");
    let line = fd(
        dir.path(),
        &bare,
        &["user", "list"],
        Some("/nonexistent/none.pem"),
    )
    .refused(1)
    .to_owned();
    assert!(
        line.contains("cannot use this system's trusted CA certificates"),
        "{line}"
    );
    fd(dir.path(), &bare, &["user", "list"], Some(&ca)).ok();
    let other = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(other.path(), another_ca()).unwrap();
    let line = fd(
        dir.path(),
        &bare,
        &["user", "list"],
        Some(other.path().to_str().unwrap()),
    )
    .refused(1)
    .to_owned();
    assert!(
        line.contains("is not signed by this system's trusted CA certificates"),
        "{line}"
    );
}

/// The certificate of a CA that signed nothing the server has.
fn another_ca() -> String {
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    params.self_signed(&key).unwrap().pem()
}

#[test]
fn a_ca_that_did_not_sign_the_servers_certificate_is_refused_in_one_line() {
    let Some((scratch, _)) = setup("tls_wrong_ca") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let wrong = dir.path().join("wrong-ca.pem");
    std::fs::write(&wrong, another_ca()).unwrap();
    let wrong = wrong.to_str().unwrap();
    for mode in ["verify-full", "verify-ca", "require"] {
        let bad = url(
            &scratch,
            "localhost",
            &format!("sslmode={mode}&sslrootcert={wrong}"),
        );
        for args in [&["init"][..], &["user", "list"]] {
            let out = fd(dir.path(), &bad, args, None);
            let line = out.refused(1);
            assert!(
                line.contains(&format!(
                    "is not signed by the CA certificates in sslrootcert={wrong}: name the CA that signed it with sslrootcert=FILE in --db"
                )),
                "{mode}: {line}"
            );
            assert!(!line.contains(&password(&scratch)), "{line}");
        }
    }
    assert_eq!(tables(&scratch), 0, "nothing written");
    assert!(!dir.path().join("k.key").exists(), "no key file made");
}

fn password(scratch: &Scratch) -> String {
    let at = scratch.url.rfind('@').unwrap();
    let colon = scratch.url[..at].rfind(':').unwrap();
    scratch.url[colon + 1..at].to_owned()
}

#[test]
fn verify_full_refuses_a_host_name_the_certificate_does_not_hold() {
    let Some((scratch, ca)) = setup("tls_wrong_host") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let by_address = url(
        &scratch,
        "127.0.0.1",
        &format!("sslmode=verify-full&sslrootcert={ca}"),
    );
    let line = fd(dir.path(), &by_address, &["init"], None)
        .refused(1)
        .to_owned();
    assert!(
        line.contains("is not for that host (it is for localhost): name a host it holds in --db"),
        "{line}"
    );
    assert_eq!(tables(&scratch), 0, "nothing written");
    // verify-ca checks the chain only: the same address passes.
    let chain_only = url(
        &scratch,
        "127.0.0.1",
        &format!("sslmode=verify-ca&sslrootcert={ca}"),
    );
    fd(dir.path(), &chain_only, &["init"], None).ok();
    assert!(encrypted(&chain_only));
}

#[test]
fn disable_speaks_in_the_clear_and_prefer_takes_tls_when_offered() {
    let Some((scratch, ca)) = setup("tls_disable") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let plain = url(&scratch, "127.0.0.1", "sslmode=disable");
    fd(dir.path(), &plain, &["init"], None).ok();
    fd(dir.path(), &plain, &["user", "list"], None).ok();
    assert!(!encrypted(&plain));
    // The URL as CI gives it (no sslmode: prefer), and prefer checked
    // against sslrootcert as verify-full is.
    assert!(encrypted(&scratch.url));
    let line = fd(
        dir.path(),
        &url(&scratch, "127.0.0.1", &format!("sslrootcert={ca}")),
        &["user", "list"],
        None,
    )
    .refused(1)
    .to_owned();
    assert!(line.contains("is not for that host"), "{line}");
}

#[test]
fn migrate_connects_as_the_url_asks_and_names_its_flag() {
    let Some((scratch, ca)) = setup("tls_migrate") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = factordesk(dir.path());
    cmd.args(["--db", "f.db", "init"]);
    run(cmd, None).ok();
    let wrong = url(
        &scratch,
        "127.0.0.1",
        &format!("sslmode=verify-full&sslrootcert={ca}"),
    );
    let mut cmd = factordesk(dir.path());
    cmd.args(["--db", "f.db", "migrate", "--to", &wrong]);
    let line = run(cmd, None).refused(1).to_owned();
    assert!(
        line.contains("is not for that host") && line.contains("--to"),
        "{line}"
    );
    assert_eq!(tables(&scratch), 0, "nothing written");
    let full = url(
        &scratch,
        "localhost",
        &format!("sslmode=verify-full&sslrootcert={ca}"),
    );
    let mut cmd = factordesk(dir.path());
    cmd.args(["--db", "f.db", "migrate", "--to", &full]);
    run(cmd, None).ok();
    let mut cmd = factordesk(dir.path());
    cmd.args(["--db", &full, "--key-file", "f.db.key", "user", "list"]);
    run(cmd, None).ok();
}
