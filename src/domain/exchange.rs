//! Users and authenticator secrets moving in and out: the file formats other
//! systems read and write, parsed to records and written from them, with no I/O.

pub mod authelia;
pub mod oath_csv;
pub mod uri;
pub mod users;

use thiserror::Error;
use zeroize::Zeroizing;

use super::Time;
use super::oath::{self, ParamError, Params};

/// The largest file an import reads: about a million rows of any format.
pub const MAX_FILE: u64 = 256 * 1024 * 1024;

/// The secret formats factordesk reads and writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// One `otpauth://totp/…` or `otpauth://hotp/…` URI a line.
    Uri,
    /// `authelia storage user totp export csv`.
    AutheliaCsv,
    /// `authelia storage user totp export` (YAML).
    AutheliaYaml,
    /// privacyIDEA's OATH CSV seed file (`# version: 2`, with users).
    OathCsv,
}

impl Format {
    pub const ALL: [Format; 4] = [
        Format::Uri,
        Format::AutheliaCsv,
        Format::AutheliaYaml,
        Format::OathCsv,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Format::Uri => "uri",
            Format::AutheliaCsv => "authelia-csv",
            Format::AutheliaYaml => "authelia-yaml",
            Format::OathCsv => "oath-csv",
        }
    }

    /// What the format is, for people.
    pub fn title(self) -> &'static str {
        match self {
            Format::Uri => "otpauth:// URIs",
            Format::AutheliaCsv => "Authelia's CSV",
            Format::AutheliaYaml => "Authelia's YAML",
            Format::OathCsv => "privacyIDEA's OATH CSV",
        }
    }

    /// Whether the format can carry counter-based (HOTP) tokens.
    pub fn carries_hotp(self) -> bool {
        matches!(self, Format::Uri | Format::OathCsv)
    }

    /// Tell the format from the file's first lines; `None` when it is none
    /// of them.
    pub fn detect(text: &str) -> Option<Format> {
        let mut lines = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .peekable();
        let first = lines.peek().copied()?;
        if first
            .get(..10)
            .is_some_and(|p| p.eq_ignore_ascii_case("otpauth://"))
        {
            return Some(Format::Uri);
        }
        if first.starts_with("# version:") || first.starts_with("#version:") {
            return Some(Format::OathCsv);
        }
        let header: String = first.chars().filter(|c| !c.is_whitespace()).collect();
        if header.eq_ignore_ascii_case(authelia::CSV_HEADER) {
            return Some(Format::AutheliaCsv);
        }
        if text
            .lines()
            .any(|l| l.trim_start().starts_with("totp_configurations"))
        {
            return Some(Format::AutheliaYaml);
        }
        // An OATH CSV of version 1: serial, then a hexadecimal seed.
        let mut cells = first.split(',').map(str::trim);
        let seed = cells.nth(1).unwrap_or_default();
        if !seed.is_empty() && seed.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Some(Format::OathCsv);
        }
        None
    }

    /// Read every record of `text` in this format, or the first problem.
    pub fn parse(self, text: &str) -> Result<Vec<SecretRecord>, LineError> {
        match self {
            Format::Uri => uri::parse_file(text),
            Format::AutheliaCsv => authelia::parse_csv(text),
            Format::AutheliaYaml => authelia::parse_yaml(text),
            Format::OathCsv => oath_csv::parse(text),
        }
    }

    /// The whole file for `items`, and how many of them it leaves out
    /// because the format cannot carry them (each with why).
    pub fn write(self, items: &[Exported<'_>]) -> (Zeroizing<String>, Vec<LeftOut>) {
        let mut left = Vec::new();
        let kept: Vec<&Exported<'_>> = items
            .iter()
            .filter(|item| match self.cannot_carry(item) {
                Some(why) => {
                    left.push(LeftOut {
                        account: item.account.to_owned(),
                        factor_id: item.factor_id,
                        why,
                    });
                    false
                }
                None => true,
            })
            .collect();
        (self.write_kept(&kept), left)
    }

    /// What the file starts with, before any entry.
    pub fn head(self) -> Zeroizing<String> {
        self.write_kept(&[])
    }

    /// One entry of the file, after its head: an export writes them one at
    /// a time. `Err` says why the format cannot carry it.
    pub fn entry(self, item: &Exported<'_>) -> Result<Zeroizing<String>, Unfit> {
        if let Some(why) = self.cannot_carry(item) {
            return Err(why);
        }
        let whole = self.write_kept(&[item]);
        let head = self.head().len();
        Ok(Zeroizing::new(
            whole.get(head..).unwrap_or_default().to_owned(),
        ))
    }

    fn write_kept(self, kept: &[&Exported<'_>]) -> Zeroizing<String> {
        match self {
            Format::Uri => uri::write_file(kept),
            Format::AutheliaCsv => authelia::write_csv(kept),
            Format::AutheliaYaml => authelia::write_yaml(kept),
            Format::OathCsv => oath_csv::write(kept),
        }
    }

    fn cannot_carry(self, item: &Exported<'_>) -> Option<Unfit> {
        if item.counter.is_some() && !self.carries_hotp() {
            return Some(Unfit::Hotp);
        }
        if self == Format::OathCsv
            && oath_csv::algorithm_by_length(item.secret.len()) != item.params.algorithm
        {
            return Some(Unfit::SeedLength);
        }
        None
    }

    pub fn parse_name(text: &str) -> Option<Format> {
        Format::ALL
            .into_iter()
            .find(|f| f.as_str().eq_ignore_ascii_case(text.trim()))
    }
}

/// One secret as a file carries it.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretRecord {
    /// The line of the file it starts on (1 is the first).
    pub line: usize,
    /// Whom it belongs to, as the file names them: an email address, or a
    /// user name to be read with a domain.
    pub account: String,
    pub issuer: Option<String>,
    pub secret: Zeroizing<Vec<u8>>,
    pub params: Params,
    /// `Some` for a counter-based (HOTP) token: its next counter.
    pub counter: Option<u64>,
    /// A hardware token's serial number.
    pub serial: Option<String>,
}

impl std::fmt::Debug for SecretRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretRecord")
            .field("line", &self.line)
            .field("account", &self.account)
            .field("issuer", &self.issuer)
            .field("secret", &"…")
            .field("params", &self.params)
            .field("counter", &self.counter)
            .field("serial", &self.serial)
            .finish()
    }
}

/// One secret to write out.
#[derive(Debug, Clone, Copy)]
pub struct Exported<'a> {
    pub factor_id: i64,
    /// The user's email address.
    pub account: &'a str,
    pub issuer: &'a str,
    pub secret: &'a [u8],
    pub params: Params,
    pub counter: Option<u64>,
    pub serial: Option<&'a str>,
    pub created_at: Time,
    pub last_used_at: Option<Time>,
}

impl Exported<'_> {
    /// The serial an OATH CSV names it by: its own, or one made from its id.
    pub fn serial_or_id(&self) -> String {
        self.serial
            .map_or_else(|| format!("FD{:08}", self.factor_id), str::to_owned)
    }
}

/// Why a format cannot carry a secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Unfit {
    /// Authelia has no counter-based tokens.
    Hotp,
    /// privacyIDEA reads the algorithm from the seed's length, and this
    /// seed's length names another one.
    SeedLength,
}

/// A secret an export left out, and why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LeftOut {
    pub account: String,
    pub factor_id: i64,
    pub why: Unfit,
}

/// What is wrong with one line of a file.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Problem {
    #[error("{0}")]
    Params(#[from] ParamError),
    #[error("the secret is not base32 (letters A-Z and digits 2-7)")]
    Base32,
    #[error("the seed is not hexadecimal (digits 0-9 and letters a-f)")]
    Hex,
    #[error("the secret is missing")]
    NoSecret,
    #[error("it is not an otpauth:// URI")]
    NotUri,
    #[error("`{0}` is not a type of one-time password: use totp or hotp")]
    OtpType(String),
    #[error("{what} is `{value}`, not a whole number")]
    Number { what: &'static str, value: String },
    #[error("the account name is missing")]
    NoAccount,
    #[error("an HOTP URI needs a counter (counter=0 for a new token)")]
    NoCounter,
    #[error("{0}")]
    Csv(String),
    #[error("{0}")]
    Yaml(String),
    #[error("expected {expected} columns, found {found}")]
    Columns { expected: String, found: usize },
    #[error("the header must be `{expected}`")]
    Header { expected: String },
    #[error("`{0}` tokens cannot be imported: only HOTP and TOTP")]
    TokenType(String),
    #[error(
        "the file names no user for token `{0}`: an OATH CSV that assigns tokens starts with `# version: 2` and gives user, resolver and realm before the serial"
    )]
    NoUser(String),
    #[error("`{0}` is not a role: use admin or member")]
    Role(String),
    #[error("there is nothing to import")]
    Empty,
    #[error("it is not UTF-8 text")]
    NotText,
    #[error("{0}")]
    Text(#[from] super::text::TextError),
}

/// A problem and the line it is on.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("line {line}: {problem}")]
pub struct LineError {
    pub line: usize,
    pub problem: Problem,
}

impl LineError {
    pub fn at(line: usize, problem: impl Into<Problem>) -> Self {
        LineError {
            line,
            problem: problem.into(),
        }
    }
}

/// A base32 secret as people and files write it: any case, with or without
/// padding, spaces or dashes between groups. Refused unless it is a whole
/// number of bits of base32 and of a length factordesk takes.
pub fn base32_secret(text: &str) -> Result<Zeroizing<Vec<u8>>, Problem> {
    let compact: Zeroizing<String> = Zeroizing::new(
        text.chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .map(|c| c.to_ascii_uppercase())
            .collect(),
    );
    let bare = compact.trim_end_matches('=');
    if bare.is_empty() {
        return Err(Problem::NoSecret);
    }
    let valid = bare
        .bytes()
        .all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b));
    if !valid || matches!(bare.len() % 8, 1 | 3 | 6) {
        return Err(Problem::Base32);
    }
    let secret = Zeroizing::new(
        base32::decode(base32::Alphabet::Rfc4648 { padding: false }, bare)
            .ok_or(Problem::Base32)?,
    );
    oath::check_secret(&secret)?;
    Ok(secret)
}

/// A hexadecimal seed (OATH CSV), any case.
pub fn hex_secret(text: &str) -> Result<Zeroizing<Vec<u8>>, Problem> {
    let text = text.trim();
    if text.is_empty() {
        return Err(Problem::NoSecret);
    }
    if !text.len().is_multiple_of(2) || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(Problem::Hex);
    }
    let secret: Zeroizing<Vec<u8>> = Zeroizing::new(
        text.as_bytes()
            .chunks(2)
            .filter_map(|pair| {
                let pair = std::str::from_utf8(pair).ok()?;
                u8::from_str_radix(pair, 16).ok()
            })
            .collect(),
    );
    oath::check_secret(&secret)?;
    Ok(secret)
}

/// Lower-case hex of a seed.
pub fn hex(secret: &[u8]) -> Zeroizing<String> {
    use std::fmt::Write as _;
    let mut out = Zeroizing::new(String::with_capacity(secret.len() * 2));
    for b in secret {
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// A whole number from a file's cell.
pub(crate) fn number(what: &'static str, text: &str) -> Result<u64, Problem> {
    let text = text.trim();
    text.parse::<u64>().map_err(|_| Problem::Number {
        what,
        value: super::text::excerpt(text, 20),
    })
}

/// The text of a file: UTF-8, without a byte-order mark.
pub fn text_of(bytes: &[u8]) -> Result<&str, LineError> {
    let bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    std::str::from_utf8(bytes).map_err(|e| {
        let before = bytes.get(..e.valid_up_to()).unwrap_or_default();
        let line = 1 + newlines(before);
        LineError::at(line, Problem::NotText)
    })
}

/// The line (1 is the first) a CSV record starts on, from its byte offset:
/// the csv crate's own line count leaves out the blank lines it skips.
pub(crate) fn record_line(text: &str, row: &csv::StringRecord, fallback: usize) -> usize {
    row.position().map_or(fallback, |p| line_at(text, p.byte()))
}

/// The line (1 is the first) that byte `offset` of `text` is on; a record
/// read after blank lines starts past them.
pub(crate) fn line_at(text: &str, offset: u64) -> usize {
    let offset = usize::try_from(offset)
        .unwrap_or(usize::MAX)
        .min(text.len());
    let before = text.as_bytes().get(..offset).unwrap_or_default();
    let rest = text.as_bytes().get(offset..).unwrap_or_default();
    let blank = rest
        .iter()
        .take_while(|b| matches!(b, b'\n' | b'\r' | b' ' | b'\t'))
        .filter(|&&b| b == b'\n')
        .count();
    1 + newlines(before) + blank
}

/// A row whose quoted cell runs past its line: an unclosed quote swallows
/// the rest of the file, which no file of these formats means.
pub(crate) fn one_line(row: &csv::StringRecord, line: usize) -> Result<(), LineError> {
    if row.iter().any(|c| c.contains(['\n', '\r'])) {
        return Err(LineError::at(
            line,
            Problem::Csv("a quoted cell runs past the end of its line: close its quote".to_owned()),
        ));
    }
    Ok(())
}

/// Refuse a CSV text with a quote left open: the csv crate would read the
/// rest of the file into one cell. Says the line the open quote is on.
pub(crate) fn quotes_closed(text: &str) -> Result<(), LineError> {
    let (mut open, mut line, mut opened_at) = (false, 1, 1);
    for b in text.bytes() {
        match b {
            b'"' => {
                open = !open;
                if open {
                    opened_at = line;
                }
            }
            b'\n' => line += 1,
            _ => {}
        }
    }
    if open {
        return Err(LineError::at(
            opened_at,
            Problem::Csv(
                "the CSV has a quote opened and never closed: close it or remove it".to_owned(),
            ),
        ));
    }
    Ok(())
}

/// How many line feeds `bytes` holds.
fn newlines(bytes: &[u8]) -> usize {
    bytes.split(|&b| b == b'\n').count() - 1
}

/// The address an account name stands for: itself when it is an address,
/// else `name@domain` when a domain is given.
pub fn address_of(account: &str, domain: Option<&str>) -> Option<String> {
    let account = account.trim();
    if account.contains('@') {
        return Some(account.to_owned());
    }
    let domain = domain?.trim().trim_start_matches('@');
    (!account.is_empty() && !domain.is_empty()).then(|| format!("{account}@{domain}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base32_secrets_are_read_strictly() {
        let s = base32_secret("GEZD GNBV-GY3T QOJQ gezdgnbvgy3tqojq").unwrap();
        assert_eq!(&s[..], b"12345678901234567890");
        assert_eq!(
            &base32_secret("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ====").unwrap()[..],
            b"12345678901234567890"
        );
        for bad in [
            "",
            "====",
            "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJ1",
            "GEZDGNBVGY3TQOJQG",
        ] {
            assert!(base32_secret(bad).is_err(), "{bad}");
        }
        // Too short: 5 bytes.
        assert!(matches!(
            base32_secret("GEZDGNBV"),
            Err(Problem::Params(ParamError::SecretLength(5)))
        ));
    }

    #[test]
    fn hex_seeds_and_text() {
        let s = hex_secret("3132333435363738393031323334353637383930").unwrap();
        assert_eq!(&s[..], b"12345678901234567890");
        assert_eq!(*hex(&s), "3132333435363738393031323334353637383930");
        assert_eq!(hex_secret("313"), Err(Problem::Hex));
        assert_eq!(hex_secret("zz"), Err(Problem::Hex));
        assert_eq!(text_of(b"\xef\xbb\xbfa,b").unwrap(), "a,b");
        assert_eq!(text_of(b"a\nb\n\xff").unwrap_err().line, 3);
        assert_eq!(
            address_of("john", Some("@example.com")).unwrap(),
            "john@example.com"
        );
        assert_eq!(address_of("a@b.c", None).unwrap(), "a@b.c");
        assert_eq!(address_of("john", None), None);
    }

    #[test]
    fn formats_are_told_apart() {
        assert_eq!(
            Format::detect("\n otpauth://totp/x?secret=A"),
            Some(Format::Uri)
        );
        assert_eq!(
            Format::detect("issuer,username,algorithm,digits,period,secret\n"),
            Some(Format::AutheliaCsv)
        );
        assert_eq!(
            Format::detect("# yaml-language-server: $schema=x\n\ntotp_configurations:\n"),
            Some(Format::AutheliaYaml)
        );
        assert_eq!(
            Format::detect("# version: 2\nu,r,m,s,00,totp"),
            Some(Format::OathCsv)
        );
        assert_eq!(Format::detect("T1, 3132, totp"), Some(Format::OathCsv));
        assert_eq!(Format::detect("email,name\n"), None);
        assert_eq!(Format::detect(""), None);
        assert_eq!(Format::parse_name("OATH-CSV"), Some(Format::OathCsv));
    }
}
