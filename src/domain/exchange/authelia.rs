//! Authelia's TOTP exports: the CSV of `authelia storage user totp export csv`
//! and the YAML of `authelia storage user totp export` (which it imports).

use std::fmt::Write as _;

use base64ct::Encoding as _;
use serde_norway::Value;
use zeroize::Zeroizing;

use super::{
    Exported, LineError, Problem, SecretRecord, base32_secret, number, one_line, record_line,
};
use crate::domain::oath::{Algorithm, ParamError, Params};
use crate::domain::text;

/// The header Authelia writes, and the columns of every row.
pub const CSV_HEADER: &str = "issuer,username,algorithm,digits,period,secret";
/// The schema Authelia names in the first line of its YAML exports.
pub const YAML_SCHEMA: &str =
    "https://www.authelia.com/schemas/latest/json-schema/exports.totp.json";

/// The rows of an Authelia CSV export; the secret is base32, as in a URI.
pub fn parse_csv(text: &str) -> Result<Vec<SecretRecord>, LineError> {
    super::quotes_closed(text)?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let header = reader
        .headers()
        .map_err(|e| csv_error(&e, 1))?
        .iter()
        .map(str::to_ascii_lowercase)
        .collect::<Vec<_>>()
        .join(",");
    if header != CSV_HEADER {
        return Err(LineError::at(
            1,
            Problem::Header {
                expected: CSV_HEADER.to_owned(),
            },
        ));
    }
    let mut records = Vec::new();
    for row in reader.records() {
        let row = row.map_err(|e| csv_error(&e, records.len() + 2))?;
        let line = record_line(text, &row, records.len() + 2);
        if row.iter().all(str::is_empty) {
            continue;
        }
        one_line(&row, line)?;
        let cells: Vec<&str> = row.iter().collect();
        let [issuer, username, algorithm, digits, period, secret] = cells[..] else {
            return Err(LineError::at(
                line,
                Problem::Columns {
                    expected: "6".to_owned(),
                    found: cells.len(),
                },
            ));
        };
        let record = entry(username, issuer, algorithm, digits, period, || {
            base32_secret(secret)
        })
        .map_err(|p| LineError::at(line, p))?;
        records.push(SecretRecord { line, ..record });
    }
    if records.is_empty() {
        return Err(LineError::at(1, Problem::Empty));
    }
    Ok(records)
}

fn line_of(p: &csv::Position) -> usize {
    usize::try_from(p.line()).unwrap_or(usize::MAX)
}

/// A CSV error as a problem on its line.
pub(crate) fn csv_error(e: &csv::Error, fallback: usize) -> LineError {
    let line = e.position().map_or(fallback, line_of);
    let what = match e.kind() {
        csv::ErrorKind::Utf8 { .. } => Problem::NotText,
        _ => Problem::Csv(format!("the CSV cannot be read ({e})")),
    };
    LineError::at(line, what)
}

/// One configuration, from its fields as text.
fn entry(
    username: &str,
    issuer: &str,
    algorithm: &str,
    digits: &str,
    period: &str,
    secret: impl FnOnce() -> Result<Zeroizing<Vec<u8>>, Problem>,
) -> Result<SecretRecord, Problem> {
    let username = username.trim();
    if username.is_empty() {
        return Err(Problem::NoAccount);
    }
    let algorithm = Algorithm::parse(algorithm)
        .ok_or_else(|| ParamError::Algorithm(text::excerpt(algorithm, 20)))?;
    let params = Params::new(
        algorithm,
        number("digits", digits)?,
        number("the period", period)?,
    )?;
    Ok(SecretRecord {
        line: 0,
        account: username.to_owned(),
        issuer: Some(issuer.trim().to_owned()).filter(|i| !i.is_empty()),
        secret: secret()?,
        params,
        counter: None,
        serial: None,
    })
}

/// The entries of an Authelia YAML export. Its `secret` is the base32 text
/// of the secret, itself in base64 (`model.TOTPConfiguration.ToData`).
pub fn parse_yaml(text: &str) -> Result<Vec<SecretRecord>, LineError> {
    let doc: Value = serde_norway::from_str(text).map_err(|e| {
        let line = e.location().map_or(1, |l| l.line());
        LineError::at(
            line,
            Problem::Yaml(format!("the YAML cannot be read ({e})")),
        )
    })?;
    let starts = entry_lines(text);
    let list = doc
        .get("totp_configurations")
        .and_then(Value::as_sequence)
        .ok_or_else(|| {
            LineError::at(
                1,
                Problem::Yaml("there is no list `totp_configurations:`".to_owned()),
            )
        })?;
    if list.is_empty() {
        return Err(LineError::at(1, Problem::Empty));
    }
    let mut records = Vec::with_capacity(list.len());
    for (i, item) in list.iter().enumerate() {
        let line = starts.get(i).copied().unwrap_or(1);
        let field = |name: &str| -> String {
            match item.get(name) {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Number(n)) => n.to_string(),
                Some(Value::Bool(b)) => b.to_string(),
                _ => String::new(),
            }
        };
        let secret = Zeroizing::new(field("secret"));
        let record = entry(
            &field("username"),
            &field("issuer"),
            &field("algorithm"),
            &field("digits"),
            &field("period"),
            || {
                if secret.trim().is_empty() {
                    return Err(Problem::NoSecret);
                }
                let b32 = Zeroizing::new(
                    base64ct::Base64::decode_vec(secret.trim())
                        .map_err(|_| Problem::Yaml("the secret is not base64".to_owned()))?,
                );
                let b32 = std::str::from_utf8(&b32).map_err(|_| Problem::Base32)?;
                base32_secret(b32)
            },
        )
        .map_err(|p| LineError::at(line, p))?;
        records.push(SecretRecord { line, ..record });
    }
    Ok(records)
}

/// The line each item of `totp_configurations` starts on (block style, as
/// Authelia writes it); items that cannot be placed are said to be at line 1.
fn entry_lines(text: &str) -> Vec<usize> {
    let mut lines = text.lines().enumerate();
    if !lines
        .by_ref()
        .any(|(_, l)| l.trim_start().starts_with("totp_configurations"))
    {
        return Vec::new();
    }
    let mut indent = None;
    let mut starts = Vec::new();
    for (i, l) in lines {
        let trimmed = l.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let at = l.len() - trimmed.len();
        if trimmed == "-" || trimmed.starts_with("- ") {
            if indent.is_none_or(|d| d == at) {
                indent = Some(at);
                starts.push(i + 1);
            }
        } else if at == 0 {
            break;
        }
    }
    starts
}

/// Authelia's CSV: its header and one row a secret, base32 as in a URI.
pub(super) fn write_csv(items: &[&Exported<'_>]) -> Zeroizing<String> {
    let mut out = Zeroizing::new(String::new());
    out.push_str(CSV_HEADER);
    out.push('\n');
    for item in items {
        let secret = Zeroizing::new(crate::domain::totp::secret_base32(item.secret));
        let row = [
            item.issuer.to_owned(),
            item.account.to_owned(),
            item.params.algorithm.as_str().to_owned(),
            item.params.digits.to_string(),
            item.params.period.to_string(),
        ];
        for cell in &row {
            out.push_str(&csv_cell(cell));
            out.push(',');
        }
        out.push_str(&secret);
        out.push('\n');
    }
    out
}

/// A cell quoted when it must be (a comma, a quote or a line break in it).
pub(crate) fn csv_cell(cell: &str) -> String {
    if cell.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", cell.replace('"', "\"\""))
    } else {
        cell.to_owned()
    }
}

/// Authelia's YAML, as `authelia storage user totp export` writes it.
pub(super) fn write_yaml(items: &[&Exported<'_>]) -> Zeroizing<String> {
    let mut out = Zeroizing::new(format!(
        "# yaml-language-server: $schema={YAML_SCHEMA}\n\ntotp_configurations:\n"
    ));
    for item in items {
        let b32 = Zeroizing::new(crate::domain::totp::secret_base32(item.secret));
        let secret = Zeroizing::new(base64ct::Base64::encode_string(b32.as_bytes()));
        let used = item.last_used_at.map_or_else(
            || "null".to_owned(),
            |t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        );
        let _ = write!(
            out,
            "    - created_at: {}\n      last_used_at: {used}\n      username: {}\n      issuer: {}\n      algorithm: {}\n      digits: {}\n      period: {}\n      secret: {}\n",
            item.created_at.format("%Y-%m-%dT%H:%M:%SZ"),
            scalar(item.account),
            scalar(item.issuer),
            item.params.algorithm,
            item.params.digits,
            item.params.period,
            *secret,
        );
    }
    out
}

/// A string as one YAML scalar, quoted when YAML would read it otherwise.
fn scalar(text: &str) -> String {
    serde_norway::to_string(text).map_or_else(
        |_| format!("'{}'", text.replace('\'', "''")),
        |s| s.trim_end().to_owned(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Time;

    const SEED: &[u8] = b"12345678901234567890";
    const B32: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";

    #[test]
    fn authelia_csv_reads() {
        let text = format!(
            "{CSV_HEADER}\nAuthelia,john,SHA1,6,30,{B32}\n\nExample Co,mary@example.com,SHA512,8,60,{B32}\n"
        );
        let r = parse_csv(&text).unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!((r[0].line, r[0].account.as_str()), (2, "john"));
        assert_eq!(&r[0].secret[..], SEED);
        assert_eq!((r[1].line, r[1].issuer.as_deref()), (4, Some("Example Co")));
        assert_eq!(r[1].params, Params::new(Algorithm::Sha512, 8, 60).unwrap());
        for (row, line, says) in [
            ("Authelia,mary,SHA1,6,45,X", 3, "30 or 60"),
            ("Authelia,mary,SHA1,9,30,X", 3, "6, 7 or 8"),
            ("Authelia,mary,MD5,6,30,X", 3, "MD5"),
            ("Authelia,mary,SHA1,6,30", 3, "expected 6 columns, found 5"),
            ("Authelia,mary,SHA1,6,30,!!", 3, "base32"),
            ("Authelia,,SHA1,6,30,AAAA", 3, "account name"),
        ] {
            let e = parse_csv(&format!("{CSV_HEADER}\nA,b,SHA1,6,30,{B32}\n{row}\n")).unwrap_err();
            assert_eq!(e.line, line, "{row}: {e}");
            assert!(e.to_string().contains(says), "{row}: {e}");
        }
        assert!(
            parse_csv("issuer,user\n")
                .unwrap_err()
                .to_string()
                .contains("header")
        );
        assert_eq!(
            parse_csv(&format!("{CSV_HEADER}\n")).unwrap_err().problem,
            Problem::Empty
        );
    }

    /// As Authelia's Go YAML encoder writes it (four-space indentation).
    #[test]
    fn authelia_yaml_reads() {
        let secret = base64ct::Base64::encode_string(B32.as_bytes());
        let text = format!(
            "# yaml-language-server: $schema=https://www.authelia.com/schemas/v4.39/json-schema/exports.totp.json\n\ntotp_configurations:\n    - created_at: 2024-03-01T10:20:30.123456789+10:00\n      last_used_at: null\n      username: john\n      issuer: Authelia\n      algorithm: SHA1\n      digits: 6\n      period: 30\n      secret: {secret}\n    - created_at: 2024-03-02T00:00:00Z\n      last_used_at: 2024-03-03T00:00:00Z\n      username: fred@example.com\n      issuer: Authelia\n      algorithm: SHA256\n      digits: 8\n      period: 60\n      secret: {secret}\n"
        );
        let r = parse_yaml(&text).unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!((r[0].line, r[0].account.as_str()), (4, "john"));
        assert_eq!(&r[0].secret[..], SEED);
        assert_eq!(r[1].line, 12);
        assert_eq!(r[1].params, Params::new(Algorithm::Sha256, 8, 60).unwrap());
        let bad = text.replace("period: 60", "period: 45");
        let e = parse_yaml(&bad).unwrap_err();
        assert_eq!(e.line, 12, "{e}");
        assert!(e.to_string().contains("30 or 60"), "{e}");
        let e = parse_yaml("totp_configurations:\n  - username: [a\n").unwrap_err();
        assert!(e.to_string().contains("YAML"), "{e}");
        let e = parse_yaml("users: []\n").unwrap_err();
        assert!(e.to_string().contains("totp_configurations"), "{e}");
        let e = parse_yaml(&text.replace(&secret, "bm90IGJhc2UzMg==")).unwrap_err();
        assert!(e.to_string().contains("base32"), "{e}");
    }

    #[test]
    fn written_exports_read_back() {
        let when = Time::default();
        let items = [
            Exported {
                factor_id: 1,
                account: "a@example.com",
                issuer: "Acme: East, \"HQ\"",
                secret: SEED,
                params: Params::DEFAULT,
                counter: None,
                serial: None,
                created_at: when,
                last_used_at: None,
            },
            Exported {
                factor_id: 2,
                account: "b@example.com",
                issuer: "factordesk",
                secret: b"0123456789012345678901234567890123456789",
                params: Params::new(Algorithm::Sha512, 8, 60).unwrap(),
                counter: None,
                serial: None,
                created_at: when,
                last_used_at: Some(when),
            },
        ];
        let refs: Vec<&Exported<'_>> = items.iter().collect();
        for back in [
            parse_csv(&write_csv(&refs)).unwrap(),
            parse_yaml(&write_yaml(&refs)).unwrap(),
        ] {
            assert_eq!(back.len(), 2);
            for (b, item) in back.iter().zip(&items) {
                assert_eq!(b.account, item.account);
                assert_eq!(b.issuer.as_deref(), Some(item.issuer));
                assert_eq!(&b.secret[..], item.secret);
                assert_eq!(b.params, item.params);
            }
        }
    }
}
