//! `otpauth://` key URIs (the Key Uri Format of Google Authenticator, which
//! Authelia, Keycloak and authenticator apps share), one a line.

use std::fmt::Write as _;

use zeroize::Zeroizing;

use super::{Exported, LineError, Problem, SecretRecord, base32_secret, number};
use crate::domain::oath::{Algorithm, ParamError, Params};
use crate::domain::text;

/// Every URI of a file: one a line; blank lines and `#` comments are skipped.
pub fn parse_file(text: &str) -> Result<Vec<SecretRecord>, LineError> {
    let mut records = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line_no = i + 1;
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let record = parse(line).map_err(|p| LineError::at(line_no, p))?;
        records.push(SecretRecord {
            line: line_no,
            ..record
        });
    }
    if records.is_empty() {
        return Err(LineError::at(1, Problem::Empty));
    }
    Ok(records)
}

/// One URI: `otpauth://TYPE/[ISSUER:]ACCOUNT?secret=…[&issuer=…][&algorithm=…]
/// [&digits=…][&period=…][&counter=…]`. The record's line is left at 0.
pub fn parse(uri: &str) -> Result<SecretRecord, Problem> {
    let rest = uri
        .get(..10)
        .filter(|p| p.eq_ignore_ascii_case("otpauth://"))
        .and_then(|_| uri.get(10..))
        .ok_or(Problem::NotUri)?;
    let (kind, rest) = rest.split_once('/').ok_or(Problem::NotUri)?;
    let hotp = match kind.to_ascii_lowercase().as_str() {
        "totp" => false,
        "hotp" => true,
        _ => return Err(Problem::OtpType(text::excerpt(kind, 20))),
    };
    let (label, query) = rest.split_once('?').unwrap_or((rest, ""));
    let label = decode(label, false)?;
    // Neither part may hold a colon, but an issuer sometimes does: the
    // account is what follows the last one.
    let (label_issuer, account) = match label.rsplit_once(':') {
        Some((issuer, account)) => (Some(issuer.trim().to_owned()), account.trim()),
        None => (None, label.trim()),
    };
    if account.is_empty() {
        return Err(Problem::NoAccount);
    }
    let mut secret = None;
    let mut issuer = None;
    let mut algorithm = Algorithm::Sha1;
    let mut digits = u64::from(Params::DEFAULT.digits);
    let mut period = u64::from(Params::DEFAULT.period);
    let mut counter = None;
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let value = Zeroizing::new(decode(value, true)?);
        match key.to_ascii_lowercase().as_str() {
            "secret" => secret = Some(base32_secret(&value)?),
            "issuer" => issuer = Some(value.trim().to_owned()),
            "algorithm" => {
                algorithm = Algorithm::parse(&value)
                    .ok_or_else(|| ParamError::Algorithm(text::excerpt(&value, 20)))?;
            }
            "digits" => digits = number("digits", &value)?,
            "period" => period = number("the period", &value)?,
            "counter" => counter = Some(number("the counter", &value)?),
            _ => {}
        }
    }
    let secret = secret.ok_or(Problem::NoSecret)?;
    // An HOTP token has no period: any given is not looked at.
    let params = Params::new(
        algorithm,
        digits,
        if hotp {
            u64::from(Params::DEFAULT.period)
        } else {
            period
        },
    )?;
    if hotp && counter.is_none() {
        return Err(Problem::NoCounter);
    }
    Ok(SecretRecord {
        line: 0,
        account: account.to_owned(),
        issuer: issuer.or(label_issuer).filter(|i: &String| !i.is_empty()),
        secret,
        params,
        counter: if hotp { counter } else { None },
        serial: None,
    })
}

/// `%XX` escapes decoded (and `+` as a space in a query value, as HTML forms
/// and Go's `url.Values` write one); the result must be UTF-8.
fn decode(text: &str, plus_is_space: bool) -> Result<String, Problem> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'%' => {
                let hex = bytes.get(i + 1..i + 3).ok_or(Problem::NotUri)?;
                let hex = std::str::from_utf8(hex).map_err(|_| Problem::NotUri)?;
                out.push(u8::from_str_radix(hex, 16).map_err(|_| Problem::NotUri)?);
                i += 3;
            }
            b'+' if plus_is_space => {
                out.push(b' ');
                i += 1;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).map_err(|_| Problem::NotText)
}

/// Percent-encodes everything but RFC 3986 unreserved characters and `@`.
fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~@".contains(&b) {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// The URI of one secret, with every parameter spelled out.
pub fn write(item: &Exported<'_>) -> Zeroizing<String> {
    let issuer = encode(item.issuer);
    let secret = Zeroizing::new(super::super::totp::secret_base32(item.secret));
    let kind = if item.counter.is_some() {
        "hotp"
    } else {
        "totp"
    };
    let mut uri = Zeroizing::new(format!(
        "otpauth://{kind}/{issuer}:{}?secret={}&issuer={issuer}&algorithm={}&digits={}",
        encode(item.account),
        *secret,
        item.params.algorithm,
        item.params.digits,
    ));
    match item.counter {
        Some(c) => {
            let _ = write!(uri, "&counter={c}");
        }
        None => {
            let _ = write!(uri, "&period={}", item.params.period);
        }
    }
    uri
}

pub(super) fn write_file(items: &[&Exported<'_>]) -> Zeroizing<String> {
    let mut out = Zeroizing::new(String::new());
    for item in items {
        out.push_str(&write(item));
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Time;

    const SEED: &[u8] = b"12345678901234567890";

    #[test]
    fn a_full_uri_reads_back() {
        let r = parse("otpauth://totp/ACME%20Co:john.doe@email.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=ACME+Co&algorithm=SHA256&digits=8&period=60").unwrap();
        assert_eq!(r.account, "john.doe@email.com");
        assert_eq!(r.issuer.as_deref(), Some("ACME Co"));
        assert_eq!(&r.secret[..], SEED);
        assert_eq!(r.params, Params::new(Algorithm::Sha256, 8, 60).unwrap());
        assert_eq!(r.counter, None);
        // The defaults, a label without an issuer, and a spaced label.
        let r =
            parse("otpauth://totp/Example:%20alice@google.com?secret=JBSWY3DPEHPK3PXP").unwrap();
        assert_eq!(
            (r.account.as_str(), r.issuer.as_deref()),
            ("alice@google.com", Some("Example"))
        );
        assert_eq!(r.secret.len(), 10);
        let r = parse("OTPAUTH://TOTP/alice@example.com?secret=gezdgnbvgy3tqojqgezdgnbvgy3tqojq")
            .unwrap();
        assert_eq!(
            (r.account.as_str(), r.issuer, r.params),
            ("alice@example.com", None, Params::DEFAULT)
        );
        let h = parse(
            "otpauth://hotp/T:bob@example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&counter=42",
        )
        .unwrap();
        assert_eq!(h.counter, Some(42));
    }

    #[test]
    fn bad_uris_say_what_is_wrong() {
        let cases = [
            ("https://example.com", "not an otpauth"),
            (
                "otpauth://motp/a?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ",
                "totp or hotp",
            ),
            ("otpauth://totp/a", "secret is missing"),
            (
                "otpauth://totp/?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ",
                "account name",
            ),
            (
                "otpauth://totp/a?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&digits=9",
                "6, 7 or 8",
            ),
            (
                "otpauth://totp/a?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&period=45",
                "30 or 60",
            ),
            (
                "otpauth://totp/a?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&algorithm=MD5",
                "SHA1, SHA256 or SHA512",
            ),
            ("otpauth://totp/a?secret=not-base32!", "base32"),
            (
                "otpauth://hotp/a?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ",
                "counter",
            ),
            (
                "otpauth://totp/a%zz?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ",
                "not an otpauth",
            ),
            (
                "otpauth://totp/a?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&digits=six",
                "whole number",
            ),
        ];
        for (uri, says) in cases {
            let e = parse(uri).unwrap_err().to_string();
            assert!(e.contains(says), "{uri}: {e}");
        }
        let e = parse_file(
            "\n# mine\notpauth://totp/a?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\nnope\n",
        )
        .unwrap_err();
        assert_eq!(e.line, 4);
        assert_eq!(parse_file("\n\n").unwrap_err().problem, Problem::Empty);
        let r = parse_file(
            "\n# mine\notpauth://totp/a@b.c?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\n\notpauth://totp/c@d.e?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\n",
        )
        .unwrap();
        assert_eq!((r[0].line, r[1].line), (3, 5));
    }

    #[test]
    fn written_uris_read_back() {
        for (params, counter) in [
            (Params::DEFAULT, None),
            (Params::new(Algorithm::Sha512, 8, 60).unwrap(), None),
            (Params::new(Algorithm::Sha256, 7, 30).unwrap(), Some(9)),
        ] {
            let item = Exported {
                factor_id: 3,
                account: "a+b@example.com",
                issuer: "Acme Co:East",
                secret: SEED,
                params,
                counter,
                serial: None,
                created_at: Time::default(),
                last_used_at: None,
            };
            let uri = write(&item);
            let back = parse(&uri).unwrap();
            assert_eq!(back.account, "a+b@example.com", "{}", *uri);
            assert_eq!(back.issuer.as_deref(), Some("Acme Co:East"));
            assert_eq!(&back.secret[..], SEED);
            assert_eq!((back.params, back.counter), (params, counter));
        }
    }
}
