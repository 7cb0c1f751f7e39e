//! privacyIDEA's OATH CSV seed file, as its import reads it: `serial, seed,
//! type, digits, period|counter`, a hex seed, `# version: 2` naming users.

use std::fmt::Write as _;

use zeroize::Zeroizing;

use super::authelia::{csv_cell, csv_error};
use super::{
    Exported, LineError, Problem, SecretRecord, hex, hex_secret, number, one_line, record_line,
};
use crate::domain::oath::{Algorithm, ParamError, Params};
use crate::domain::text;

/// The hash privacyIDEA reads from a seed's length: 32 bytes SHA256, 64
/// bytes SHA512, anything else SHA1 (`TokenClass.get_import_csv`).
pub fn algorithm_by_length(bytes: usize) -> Algorithm {
    match bytes {
        32 => Algorithm::Sha256,
        64 => Algorithm::Sha512,
        _ => Algorithm::Sha1,
    }
}

/// The tokens of an OATH CSV. Version 2 (first line `# version: 2`) puts
/// user, resolver and realm before the serial; the user is the account.
/// Lines starting with `#` are comments. A sixth column `sha1|sha256|sha512`
/// (`LinOTP`'s) names the algorithm; without it, it follows the seed's length
/// as privacyIDEA reads it (28 or 48 bytes, SHA224 and SHA384, are refused).
pub fn parse(text: &str) -> Result<Vec<SecretRecord>, LineError> {
    let first = text.lines().next().unwrap_or_default();
    let version = first
        .trim()
        .strip_prefix('#')
        .and_then(|rest| rest.trim().strip_prefix("version:"))
        .map(str::trim);
    let with_user = version == Some("2");
    // Comments blanked rather than skipped, so each record keeps its line.
    let text = &text
        .split_inclusive('\n')
        .map(|l| {
            if l.trim_start().starts_with('#') {
                "\n"
            } else {
                l
            }
        })
        .collect::<String>();
    super::quotes_closed(text)?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let mut records = Vec::new();
    for row in reader.records() {
        let row = row.map_err(|e| csv_error(&e, records.len() + 1))?;
        let line = record_line(text, &row, records.len() + 1);
        one_line(&row, line)?;
        let mut cells: Vec<&str> = row.iter().collect();
        // Empty lines, as privacyIDEA skips them.
        if cells.len() <= 1 && cells.iter().all(|c| c.is_empty()) {
            continue;
        }
        let user = if with_user {
            if cells.len() < 4 {
                return Err(LineError::at(
                    line,
                    Problem::Columns {
                        expected: "user, resolver, realm, serial, seed and more".to_owned(),
                        found: cells.len(),
                    },
                ));
            }
            let user = cells[0].to_owned();
            cells.drain(..3);
            Some(user)
        } else {
            None
        };
        let record = token(&cells, user).map_err(|p| LineError::at(line, p))?;
        records.push(SecretRecord { line, ..record });
    }
    if records.is_empty() {
        return Err(LineError::at(1, Problem::Empty));
    }
    Ok(records)
}

/// One token from its cells after any user columns: serial, seed, type,
/// digits, then the period (TOTP) or counter (HOTP), then an algorithm.
fn token(cells: &[&str], user: Option<String>) -> Result<SecretRecord, Problem> {
    let cell = |i: usize| cells.get(i).copied().unwrap_or_default();
    let serial = cell(0);
    if serial.is_empty() || cells.len() < 2 {
        return Err(Problem::Columns {
            expected: "at least 2 (serial and seed)".to_owned(),
            found: cells.len(),
        });
    }
    let kind = match cell(2) {
        "" => "hotp".to_owned(),
        t => t.to_ascii_lowercase(),
    };
    let hotp = match kind.as_str() {
        "hotp" => true,
        "totp" => false,
        other => return Err(Problem::TokenType(text::excerpt(other, 20))),
    };
    let account = user
        .filter(|u| !u.is_empty())
        .ok_or_else(|| Problem::NoUser(text::excerpt(serial, 40)))?;
    let secret = hex_secret(cell(1))?;
    let digits = match cell(3) {
        "" => u64::from(Params::DEFAULT.digits),
        d => number("the OTP length", d)?,
    };
    let fifth = cell(4);
    let (period, counter) = if hotp {
        let counter = if fifth.is_empty() {
            0
        } else {
            number("the counter", fifth)?
        };
        (u64::from(Params::DEFAULT.period), Some(counter))
    } else if fifth.is_empty() {
        (u64::from(Params::DEFAULT.period), None)
    } else {
        (number("the time step", fifth)?, None)
    };
    let algorithm = match cell(5) {
        "" => match secret.len() {
            28 | 48 => {
                return Err(ParamError::Algorithm(
                    if secret.len() == 28 {
                        "sha224"
                    } else {
                        "sha384"
                    }
                    .to_owned(),
                )
                .into());
            }
            n => algorithm_by_length(n),
        },
        a => Algorithm::parse(a).ok_or_else(|| ParamError::Algorithm(text::excerpt(a, 20)))?,
    };
    Ok(SecretRecord {
        line: 0,
        account,
        issuer: None,
        secret,
        params: Params::new(algorithm, digits, period)?,
        counter,
        serial: Some(serial.to_owned()),
    })
}

/// A version 2 file: the user is the address, resolver and realm are left
/// empty for the importing side to fill in; the algorithm is written as a
/// sixth column as well, which privacyIDEA passes over.
pub(super) fn write(items: &[&Exported<'_>]) -> Zeroizing<String> {
    let mut out = Zeroizing::new("# version: 2\n".to_owned());
    for item in items {
        let seed = hex(item.secret);
        let (kind, last) = match item.counter {
            Some(c) => ("hotp", c.to_string()),
            None => ("totp", item.params.period.to_string()),
        };
        let _ = writeln!(
            out,
            "{},,,{},{},{kind},{},{last},{}",
            csv_cell(item.account),
            csv_cell(&item.serial_or_id()),
            *seed,
            item.params.digits,
            item.params.algorithm.lower(),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Time;

    const SEED_HEX: &str = "3132333435363738393031323334353637383930";

    #[test]
    fn the_documented_rows_read() {
        let text = format!(
            "# version: 2\n# a comment\nann@example.com, resolver1, realm1, OATH0001, {SEED_HEX}, TOTP, 8, 60\nbob, r, m, OATH0002, {SEED_HEX}, HOTP, 6, 17\n\ncy@example.com,,,OATH0003,{SEED_HEX}\n"
        );
        let r = parse(&text).unwrap();
        assert_eq!(r.len(), 3);
        assert_eq!((r[0].line, r[0].account.as_str()), (3, "ann@example.com"));
        assert_eq!(r[0].serial.as_deref(), Some("OATH0001"));
        assert_eq!(r[0].params, Params::new(Algorithm::Sha1, 8, 60).unwrap());
        assert_eq!(r[0].counter, None);
        assert_eq!((r[1].counter, r[1].params.digits), (Some(17), 6));
        // Type left out: HOTP at counter 0, 6 digits.
        assert_eq!((r[2].line, r[2].counter), (6, Some(0)));
        assert_eq!(&r[2].secret[..], b"12345678901234567890");
    }

    #[test]
    fn the_algorithm_follows_the_seed_or_the_sixth_column() {
        let seed32 = "00".repeat(32);
        let seed64 = "00".repeat(64);
        let r = parse(&format!("# version: 2\nu@x.org,,,S1,{seed32},totp,6,30\nu@x.org,,,S2,{seed64},hotp,8,0\nu@x.org,,,S3,{seed32},totp,6,30,sha1\n")).unwrap();
        assert_eq!(r[0].params.algorithm, Algorithm::Sha256);
        assert_eq!(r[1].params.algorithm, Algorithm::Sha512);
        assert_eq!(r[2].params.algorithm, Algorithm::Sha1);
        let e = parse(&format!(
            "# version: 2\nu@x.org,,,S1,{},totp\n",
            "00".repeat(28)
        ))
        .unwrap_err();
        assert!(e.to_string().contains("sha224"), "{e}");
    }

    #[test]
    fn bad_rows_are_refused_with_their_line() {
        for (row, says) in [
            (
                format!("u,,,S,{SEED_HEX},ocra,OCRA-1:HOTP-SHA1-6:QN08"),
                "ocra",
            ),
            (format!("u,,,S,{SEED_HEX},totp,9,30"), "6, 7 or 8"),
            (format!("u,,,S,{SEED_HEX},totp,6,45"), "30 or 60"),
            ("u,,,S,xyz,totp".to_owned(), "hexadecimal"),
            (format!("u,,,S,{SEED_HEX},hotp,6,-1"), "whole number"),
            ("u,,".to_owned(), "columns"),
        ] {
            let e = parse(&format!("# version: 2\n\n{row}\n")).unwrap_err();
            assert_eq!(e.line, 3, "{row}: {e}");
            assert!(e.to_string().contains(says), "{row}: {e}");
        }
        let e = parse(&format!("OATH0001,{SEED_HEX},totp,6,30\n")).unwrap_err();
        assert!(e.to_string().contains("# version: 2"), "{e}");
    }

    #[test]
    fn written_files_read_back() {
        let items = [
            Exported {
                factor_id: 7,
                account: "a@example.com",
                issuer: "factordesk",
                secret: b"12345678901234567890",
                params: Params::new(Algorithm::Sha1, 8, 60).unwrap(),
                counter: None,
                serial: None,
                created_at: Time::default(),
                last_used_at: None,
            },
            Exported {
                factor_id: 8,
                account: "b@example.com",
                issuer: "factordesk",
                secret: &[9; 32],
                params: Params::new(Algorithm::Sha256, 6, 30).unwrap(),
                counter: Some(33),
                serial: Some("YK-1"),
                created_at: Time::default(),
                last_used_at: None,
            },
        ];
        let refs: Vec<&Exported<'_>> = items.iter().collect();
        let back = parse(&write(&refs)).unwrap();
        assert_eq!(back[0].serial.as_deref(), Some("FD00000007"));
        assert_eq!((back[0].params, back[0].counter), (items[0].params, None));
        assert_eq!(back[1].serial.as_deref(), Some("YK-1"));
        assert_eq!(
            (back[1].params, back[1].counter),
            (items[1].params, Some(33))
        );
        assert_eq!(&back[1].secret[..], &[9; 32]);
    }
}
