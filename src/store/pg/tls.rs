//! TLS to `PostgreSQL`: libpq's `sslmode` and `sslrootcert` read from the URL,
//! the rustls connector that checks what they ask, and its failures as one line each.
//!
//! rust-postgres knows `sslmode` `disable`, `prefer` and `require` and no
//! `sslrootcert`, so [`Wanted::take_from`] takes both out of the URL before
//! it is parsed and hands the client the mode it understands; the checks
//! are this module's verifier. What each mode checks (README, "When one
//! machine is not enough"):
//!
//! | `sslmode` | TLS | certificate checked |
//! |---|---|---|
//! | `disable` | never | — |
//! | `prefer` (default) | when the server offers it | only with `sslrootcert`, as `verify-full` |
//! | `require` | always | as `verify-full` (libpq checks nothing) |
//! | `verify-ca` | always | chain to `sslrootcert` (a file) |
//! | `verify-full` | always | chain to `sslrootcert` (a file, or `system`: the default) and host name |
//!
//! `require` checks as much as `verify-full` does, unlike libpq's: a TLS
//! connection nobody checked hands the password and every row to whoever
//! sits on the path, and "require" reads as a promise it would not keep.
//! `sslrootcert=system` (also the default) is the machine's trust store
//! (`rustls-native-certs`: `/etc/ssl/certs`, or `SSL_CERT_FILE` /
//! `SSL_CERT_DIR`); as in libpq, it may not be used with `verify-ca`, since
//! any public site's certificate chains to it.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::server::ParsedCertificate;
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio_postgres_rustls::MakeRustlsConnect;

use super::super::engine::EngineError;

/// libpq's `sslmode`, all five that a factordesk URL may name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Disable,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl Mode {
    fn parse(text: &str) -> Result<Mode, EngineError> {
        Ok(match text {
            "disable" => Mode::Disable,
            "prefer" => Mode::Prefer,
            "require" => Mode::Require,
            "verify-ca" => Mode::VerifyCa,
            "verify-full" => Mode::VerifyFull,
            _ => {
                return Err(EngineError::BadUrl(format!(
                    "sslmode={text} is none of disable, prefer, require, verify-ca, verify-full"
                )));
            }
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Mode::Disable => "disable",
            Mode::Prefer => "prefer",
            Mode::Require => "require",
            Mode::VerifyCa => "verify-ca",
            Mode::VerifyFull => "verify-full",
        }
    }
}

/// Where the certificates of the CAs a server's chain must end at come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Roots {
    /// `sslrootcert=PATH`: a PEM file of one or more CA certificates.
    File(PathBuf),
    /// `sslrootcert=system`, or none given: the machine's trust store.
    System,
}

impl Roots {
    /// How messages name them.
    fn describe(&self) -> String {
        match self {
            Roots::File(path) => format!("the CA certificates in sslrootcert={}", path.display()),
            Roots::System => "this system's trusted CA certificates".to_owned(),
        }
    }

    /// The store of trust anchors, read now (each connection reads again:
    /// a renewed CA file is picked up without a restart).
    fn load(&self) -> Result<RootCertStore, EngineError> {
        let fail = |reason: String| EngineError::RootCert {
            roots: self.describe(),
            reason,
        };
        let certs: Vec<CertificateDer<'static>> = match self {
            Roots::File(path) => read_pem(path).map_err(fail)?,
            Roots::System => {
                let found = rustls_native_certs::load_native_certs();
                if found.certs.is_empty() {
                    let reason = found
                        .errors
                        .first()
                        .map_or_else(|| "none found".to_owned(), |e| format!("none found: {e}"));
                    return Err(fail(reason));
                }
                found.certs
            }
        };
        let mut store = RootCertStore::empty();
        let (added, _) = store.add_parsable_certificates(certs);
        if added == 0 {
            return Err(fail(
                "none of its certificates is a usable CA certificate".into(),
            ));
        }
        Ok(store)
    }
}

fn read_pem(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let words = |e: rustls::pki_types::pem::Error| match e {
        rustls::pki_types::pem::Error::Io(io) => io.to_string(),
        other => format!("it is not PEM: {other}"),
    };
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(words)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(words)?;
    if certs.is_empty() {
        return Err("it holds no PEM certificate (-----BEGIN CERTIFICATE-----)".into());
    }
    Ok(certs)
}

/// The TLS a URL asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wanted {
    pub mode: Mode,
    /// `sslrootcert`, when given.
    pub roots: Option<Roots>,
}

impl Wanted {
    /// Take `sslmode` and `sslrootcert` out of the query of `url` (the last
    /// of each wins, as rust-postgres reads parameters): the URL without
    /// them, and what they ask for. Nothing is read from disk here.
    pub fn take_from(url: &str) -> Result<(String, Wanted), EngineError> {
        let mut wanted = Wanted {
            mode: Mode::Prefer,
            roots: None,
        };
        // The query starts at the first `?` past the credentials, as
        // rust-postgres finds it.
        let authority = url.find("://").map_or(0, |i| i + 3);
        let after_credentials = url[authority..]
            .find('@')
            .map_or(authority, |i| authority + i + 1);
        let Some(query) = url[after_credentials..]
            .find('?')
            .map(|i| after_credentials + i)
        else {
            return Ok((url.to_owned(), wanted));
        };
        let mut kept = Vec::new();
        for pair in url[query + 1..].split('&') {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            match decode(key)?.as_str() {
                "sslmode" => wanted.mode = Mode::parse(&decode(value)?)?,
                "sslrootcert" => {
                    let value = decode(value)?;
                    wanted.roots = Some(match value.as_str() {
                        "" => return Err(EngineError::BadUrl("sslrootcert= names no file".into())),
                        "system" => Roots::System,
                        _ => Roots::File(PathBuf::from(value)),
                    });
                }
                name @ ("sslcert" | "sslkey" | "sslpassword") => {
                    return Err(EngineError::BadUrl(format!(
                        "{name}=: factordesk does not present client certificates; log in with a password"
                    )));
                }
                _ => kept.push(pair),
            }
        }
        if wanted.mode == Mode::VerifyCa
            && wanted.roots.as_ref().is_none_or(|r| *r == Roots::System)
        {
            return Err(EngineError::BadUrl(
                "sslmode=verify-ca needs sslrootcert=FILE, the CA that signs the server's certificate: any public site's certificate chains to this system's CAs (use verify-full for those)".into(),
            ));
        }
        let mut rest = url[..query].to_owned();
        if !kept.is_empty() {
            rest.push('?');
            rest.push_str(&kept.join("&"));
        }
        Ok((rest, wanted))
    }

    /// The mode rust-postgres is given: whether to ask for TLS, and whether
    /// to go on without it.
    pub fn ssl_mode(&self) -> postgres::config::SslMode {
        match self.mode {
            Mode::Disable => postgres::config::SslMode::Disable,
            Mode::Prefer => postgres::config::SslMode::Prefer,
            Mode::Require | Mode::VerifyCa | Mode::VerifyFull => postgres::config::SslMode::Require,
        }
    }

    /// What a server's certificate is checked against: nothing, a chain to
    /// the roots, or a chain and the host name.
    fn check(&self) -> Check {
        match (self.mode, &self.roots) {
            (Mode::Disable, _) | (Mode::Prefer, None) => Check::Nothing,
            (Mode::VerifyCa, Some(roots)) => Check::Chain(roots.clone()),
            (Mode::VerifyCa, None) => Check::Chain(Roots::System),
            (Mode::Prefer | Mode::Require | Mode::VerifyFull, roots) => {
                Check::Full(roots.clone().unwrap_or(Roots::System))
            }
        }
    }

    /// The connector for one connection (the roots are read now), and
    /// where it notes a certificate it refused.
    pub fn connector(&self) -> Result<(MakeRustlsConnect, Refused), EngineError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let (roots, host_name) = match self.check() {
            Check::Nothing => (None, false),
            Check::Chain(roots) => (Some(Arc::new(roots.load()?)), false),
            Check::Full(roots) => (Some(Arc::new(roots.load()?)), true),
        };
        let refused = Refused::default();
        let verifier = Verifier {
            roots,
            host_name,
            provider: Arc::clone(&provider),
            refused: refused.clone(),
        };
        let mut config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| EngineError::Client(e.to_string()))?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier))
            .with_no_client_auth();
        // What libpq 17 sends, and what a server taking TLS directly
        // (`sslnegotiation=direct`) requires.
        config.alpn_protocols = vec![b"postgresql".to_vec()];
        Ok((MakeRustlsConnect::new(config), refused))
    }

    /// How a message names the roots a certificate was checked against.
    fn roots_named(&self) -> String {
        match self.check() {
            Check::Nothing => "nothing".to_owned(),
            Check::Chain(roots) | Check::Full(roots) => roots.describe(),
        }
    }
}

/// [`Wanted::check`].
enum Check {
    Nothing,
    Chain(Roots),
    Full(Roots),
}

fn decode(text: &str) -> Result<String, EngineError> {
    percent_encoding::percent_decode_str(text)
        .decode_utf8()
        .map(std::borrow::Cow::into_owned)
        .map_err(|_| EngineError::BadUrl(format!("{text:?} is not UTF-8 once decoded")))
}

/// The server certificate check for one [`Check`]: the handshake's
/// signatures are always checked; the chain when there are roots, the
/// host name when `host_name`.
#[derive(Debug)]
struct Verifier {
    roots: Option<Arc<RootCertStore>>,
    host_name: bool,
    provider: Arc<CryptoProvider>,
    refused: Refused,
}

/// The last certificate a connection's verifier refused. rust-postgres
/// reports the last address's failure: when a host name has several
/// addresses (`localhost`: `::1` and 127.0.0.1), a refused certificate
/// would otherwise hide behind another address's "connection refused".
#[derive(Debug, Clone, Default)]
pub struct Refused(Arc<Mutex<Option<rustls::Error>>>);

impl Refused {
    fn note(&self, e: &rustls::Error) {
        if let Ok(mut last) = self.0.lock() {
            *last = Some(e.clone());
        }
    }

    fn last(&self) -> Option<rustls::Error> {
        self.0.lock().ok().and_then(|last| last.clone())
    }
}

impl Verifier {
    fn check(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        now: UnixTime,
    ) -> Result<(), rustls::Error> {
        if let Some(roots) = &self.roots {
            let cert = ParsedCertificate::try_from(end_entity)?;
            rustls::client::verify_server_cert_signed_by_trust_anchor(
                &cert,
                roots,
                intermediates,
                now,
                self.provider.signature_verification_algorithms.all,
            )?;
            if self.host_name {
                rustls::client::verify_server_name(&cert, server_name)?;
            }
        }
        Ok(())
    }
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.check(end_entity, intermediates, server_name, now)
            .inspect_err(|e| self.refused.note(e))?;
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// What a failed connection says about TLS, if it failed there: the server
/// would not speak it, or its certificate (at this address or an earlier
/// one, noted in `refused`) did not pass.
pub fn refusal(
    wanted: &Wanted,
    server: &str,
    e: &postgres::Error,
    refused: &Refused,
) -> Option<EngineError> {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = source {
        // rust-postgres says so in these words (src/connect_tls.rs); the
        // unit tests hold it to them.
        if s.source().is_none() && s.to_string() == "server does not support TLS" {
            return Some(EngineError::NoTls {
                server: server.to_owned(),
                mode: wanted.mode.name(),
            });
        }
        if let Some(tls) = s
            .downcast_ref::<io::Error>()
            .and_then(io::Error::get_ref)
            .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        {
            return Some(certificate_refusal(wanted, server, tls));
        }
        source = s.source();
    }
    refused
        .last()
        .map(|tls| certificate_refusal(wanted, server, &tls))
}

fn certificate_refusal(wanted: &Wanted, server: &str, e: &rustls::Error) -> EngineError {
    let server = server.to_owned();
    match e {
        rustls::Error::InvalidCertificate(
            CertificateError::UnknownIssuer | CertificateError::BadSignature,
        ) => EngineError::Untrusted {
            server,
            roots: wanted.roots_named(),
        },
        rustls::Error::InvalidCertificate(CertificateError::NotValidForNameContext {
            presented,
            ..
        }) => EngineError::WrongHost {
            server,
            names: if presented.is_empty() {
                "no host name".to_owned()
            } else {
                presented
                    .iter()
                    .map(|name| plain_name(name))
                    .collect::<Vec<_>>()
                    .join(", ")
            },
        },
        rustls::Error::InvalidCertificate(CertificateError::NotValidForName) => {
            EngineError::WrongHost {
                server,
                names: "other names".to_owned(),
            }
        }
        other => EngineError::Tls {
            server,
            reason: other.to_string(),
        },
    }
}

/// A name as webpki presents it (`DnsName("db.example")`,
/// `IpAddress(10.0.0.5)`) as people write it.
fn plain_name(presented: &str) -> &str {
    presented
        .strip_prefix("DnsName(\"")
        .and_then(|rest| rest.strip_suffix("\")"))
        .or_else(|| {
            presented
                .strip_prefix("IpAddress(")
                .and_then(|rest| rest.strip_suffix(')'))
        })
        .unwrap_or(presented)
}

#[cfg(test)]
mod tests;
