//! Email addresses and E.164 phone numbers: validation, normalisation, the
//! country calling code of a number, and the masked forms shown in the outbox.

use std::fmt;

use thiserror::Error;
use unicode_normalization::UnicodeNormalization as _;
use unicode_normalization::char::is_combining_mark;

use super::text;

/// Why a contact detail was refused; each message shows the accepted form.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ContactError {
    #[error("`{0}` is not an email address: use the form name@example.com")]
    Email(String),
    #[error(
        "`{0}` is not a valid E.164 phone number: use a plus, the country code and a real number for that country, like +14155550123"
    )]
    Phone(String),
}

/// The longest address (RFC 5321), in bytes.
pub const EMAIL_MAX: usize = 254;

/// How much of a refused input an error message repeats.
const SHOWN: usize = 80;

/// An email address in its one canonical form: trimmed, Unicode NFC, lower
/// case (`İnci@Example.com` → `i̇nci@example.com`). Parsing the canonical
/// form again gives it back unchanged, so what is stored is always found.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Email(String);

/// The canonical spelling of an address (not checked): NFC, lower-cased,
/// NFC again (lower-casing can decompose, as `İ` → `i` + U+0307 does).
pub fn canonical_email(input: &str) -> String {
    // ASCII is its own NFC, and lowercases as ASCII: the common case skips
    // the Unicode tables (every lookup by address comes through here).
    if input.is_ascii() {
        return input.trim().to_ascii_lowercase();
    }
    canonical_unicode(input)
}

fn canonical_unicode(input: &str) -> String {
    let nfc: String = input.trim().nfc().collect();
    nfc.to_lowercase().nfc().collect()
}

impl Email {
    pub fn parse(input: &str) -> Result<Self, ContactError> {
        let text = input.trim();
        let bad = || ContactError::Email(text::excerpt(text, SHOWN));
        // Bytes first: a huge input is refused before any work on it.
        if text.len() > EMAIL_MAX * 4 {
            return Err(bad());
        }
        let text = canonical_email(text);
        let text = text.as_str();
        if text.len() > EMAIL_MAX
            || text
                .chars()
                .any(|c| c.is_whitespace() || text::is_forbidden(c))
        {
            return Err(bad());
        }
        let (local, domain) = text.split_once('@').ok_or_else(bad)?;
        // A combining mark belongs to the letter before it: never first.
        let starts_ok = |l: &str| l.chars().next().is_some_and(|c| !is_combining_mark(c));
        let label_ok = |l: &str| {
            starts_ok(l)
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars()
                    .all(|c| c.is_alphanumeric() || is_combining_mark(c) || c == '-')
        };
        let local_ok = starts_ok(local)
            && local.len() <= 64
            && !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..")
            && local.chars().all(|c| {
                c.is_alphanumeric() || is_combining_mark(c) || "!#$%&'*+-/=?^_`{|}~.".contains(c)
            });
        let domain_ok = domain.contains('.') && domain.split('.').all(label_ok);
        if !local_ok || !domain_ok {
            return Err(bad());
        }
        Ok(Self(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The UTS #39 skeleton: two addresses a reader cannot tell apart
    /// (Latin `a` and Cyrillic `а`) have the same one.
    pub fn skeleton(&self) -> String {
        unicode_security::skeleton(&self.0).collect()
    }

    /// Only ASCII: no other script to mistake a letter for.
    pub fn is_ascii(&self) -> bool {
        self.0.is_ascii()
    }

    /// `a***e@example.com`: enough for the user to recognise, not to harvest.
    pub fn masked(&self) -> String {
        let (local, domain) = self.0.split_once('@').unwrap_or((&self.0, ""));
        let mut chars = local.chars();
        let first = chars.next().unwrap_or('*');
        match chars.next_back() {
            Some(last) if local.chars().count() > 2 => format!("{first}***{last}@{domain}"),
            _ => format!("{first}***@{domain}"),
        }
    }

    /// Addresses under the reserved `.invalid` top-level domain (RFC 2606)
    /// never resolve: the simulated gateway fails them, as a real one would.
    pub fn is_undeliverable(&self) -> bool {
        self.0.ends_with(".invalid")
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An E.164 number, `+` and 8 to 15 digits, split into calling code and rest.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Phone {
    digits: String,
    code_len: usize,
}

impl Phone {
    /// A real number: the form is E.164 (the usual separators, as in
    /// `+1 (415) 555-0123`, and a leading `00` are allowed) and the number
    /// is valid in its country's numbering plan (libphonenumber's data), so
    /// `+44 1234567`, `+999 12345678` and `+1 011 555 0123` are refused.
    pub fn parse(input: &str) -> Result<Self, ContactError> {
        let text = input.trim();
        let bad = || ContactError::Phone(text::excerpt(text, SHOWN));
        let shape = Self::shape(text).ok_or_else(bad)?;
        let number = phonenumber::parse(None, shape.e164())
            .ok()
            .filter(phonenumber::is_valid)
            .ok_or_else(bad)?;
        let e164 = number.format().mode(phonenumber::Mode::E164).to_string();
        let digits = e164.strip_prefix('+').ok_or_else(bad)?;
        let code_len = number.code().value().to_string().len();
        if !(8..=15).contains(&digits.len()) || code_len >= digits.len() {
            return Err(bad());
        }
        Ok(Self {
            digits: digits.to_owned(),
            code_len,
        })
    }

    /// A number already stored (E.164), read back for display and the
    /// country rules: only its form is checked, so a number stored before
    /// the numbering-plan check still shows and masks.
    pub fn stored(e164: &str) -> Option<Self> {
        Self::shape(e164)
    }

    /// The form alone: `+` (or `00`), 8 to 15 digits not starting with 0,
    /// and the usual separators.
    fn shape(text: &str) -> Option<Self> {
        if text.len() > 64 {
            return None;
        }
        let compact: String = text
            .chars()
            .filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')'))
            .collect();
        let digits = compact
            .strip_prefix('+')
            .or_else(|| compact.strip_prefix("00"))?;
        if !(8..=15).contains(&digits.len())
            || !digits.bytes().all(|b| b.is_ascii_digit())
            || digits.starts_with('0')
        {
            return None;
        }
        Some(Self {
            digits: digits.to_owned(),
            code_len: calling_code_len(digits),
        })
    }

    /// The ITU country calling code: 1 for the US and Canada, 44 for the UK.
    pub fn calling_code(&self) -> u16 {
        self.digits[..self.code_len].parse().unwrap_or(0)
    }

    /// `+14155550123`
    pub fn e164(&self) -> String {
        format!("+{}", self.digits)
    }

    /// `+1 ••• ••• 0123` style: the calling code and the last four digits.
    pub fn masked(&self) -> String {
        let tail = &self.digits[self.digits.len() - 4..];
        let hidden = self.digits.len().saturating_sub(self.code_len + 4);
        format!(
            "+{} {}{tail}",
            &self.digits[..self.code_len],
            "*".repeat(hidden)
        )
    }
}

impl fmt::Display for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "+{}", self.digits)
    }
}

/// Calling codes are prefix-free: 1 and 7 are one digit, these are two,
/// and every other assigned code is three.
fn calling_code_len(digits: &str) -> usize {
    const TWO_DIGIT: &[&str] = &[
        "20", "27", "30", "31", "32", "33", "34", "36", "39", "40", "41", "43", "44", "45", "46",
        "47", "48", "49", "51", "52", "53", "54", "55", "56", "57", "58", "60", "61", "62", "63",
        "64", "65", "66", "81", "82", "84", "86", "90", "91", "92", "93", "94", "95", "98",
    ];
    if digits.starts_with('1') || digits.starts_with('7') {
        1
    } else if TWO_DIGIT.contains(&&digits[..2]) {
        2
    } else {
        3
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_accepted_and_normalised() {
        assert_eq!(
            Email::parse(" Alice@Example.COM ").unwrap().as_str(),
            "alice@example.com"
        );
        assert_eq!(
            Email::parse("ZOË@EXÄMPLE.COM").unwrap().as_str(),
            "zoë@exämple.com"
        );
        for ok in [
            "a@b.co",
            "first.last+tag@sub.example.org",
            "o'neil@example.ie",
        ] {
            assert!(Email::parse(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn emails_refused_with_the_form() {
        for bad in [
            "",
            "alice",
            "alice@",
            "@example.com",
            "alice@example",
            "al ice@example.com",
            "alice@@example.com",
            "alice@exa_mple.com",
            ".alice@example.com",
            "alice..x@example.com",
            "alice@-example.com",
        ] {
            let err = Email::parse(bad).unwrap_err();
            assert!(err.to_string().contains("name@example.com"), "{bad}: {err}");
        }
    }

    #[test]
    fn email_masking() {
        assert_eq!(
            Email::parse("heidi@example.com").unwrap().masked(),
            "h***i@example.com"
        );
        assert_eq!(
            Email::parse("al@example.com").unwrap().masked(),
            "a***@example.com"
        );
        assert!(
            Email::parse("x@mail.example.invalid")
                .unwrap()
                .is_undeliverable()
        );
    }

    #[test]
    fn phones_parse_to_e164_with_calling_code() {
        let us = Phone::parse("+1 (415) 555-0123").unwrap();
        assert_eq!(us.e164(), "+14155550123");
        assert_eq!(us.calling_code(), 1);
        assert_eq!(us.masked(), "+1 ******0123");
        let uk = Phone::parse("0044 7400 900123").unwrap();
        assert_eq!(uk.e164(), "+447400900123");
        assert_eq!(uk.calling_code(), 44);
        assert_eq!(
            Phone::parse("+353 85 123 4567").unwrap().calling_code(),
            353
        );
        assert_eq!(Phone::parse("+7 912 345 6789").unwrap().calling_code(), 7);
    }

    #[test]
    fn phones_refused_with_the_form() {
        for bad in [
            "4155550123",
            "+1 415 555 012",
            "+1415555012345",
            "+0 123 456 789",
            "+44 7700 9001x3",
            "+1234567",
            "+1234567890123456",
            "",
            "+",
            // The right shape, but no such number in its country's plan.
            "+44 1234567",
            "+999 12345678",
            "+1 011 555 0123",
            "+44 7700 900123",
            // Letters, extensions and other marks are not part of a number.
            "+1 800 FLOWERS",
            "+1 415 555 0123 ext 5",
            "+14155550123#",
            "++14155550123",
        ] {
            let err = Phone::parse(bad).unwrap_err();
            assert!(err.to_string().contains("+14155550123"), "{bad}: {err}");
        }
    }

    #[test]
    fn phones_are_stored_in_e164_and_stored_ones_read_back() {
        assert_eq!(
            Phone::parse("+44 (0) 20 7946 0958").unwrap().e164(),
            "+442079460958"
        );
        assert_eq!(
            Phone::parse("+1 (212) 555-0199").unwrap().e164(),
            "+12125550199"
        );
        // A number stored before the numbering-plan check still masks.
        let old = Phone::stored("+447700900123").unwrap();
        assert_eq!(
            (old.calling_code(), old.masked()),
            (44, "+44 ******0123".to_owned())
        );
        assert!(Phone::stored("not a number").is_none());
    }

    #[test]
    fn ascii_takes_a_short_cut_to_the_same_form() {
        // Every printable ASCII character and the whitespace trim() sees,
        // in many orders: the short cut agrees with the Unicode path.
        let alphabet: Vec<char> = (0x20u8..0x7f)
            .map(char::from)
            .chain(['\t', '\n', '\r'])
            .collect();
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        for _ in 0..20_000 {
            let len = usize::try_from(state % 24).unwrap();
            let text: String = (0..len)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    alphabet[usize::try_from(state % alphabet.len() as u64).unwrap()]
                })
                .collect();
            assert_eq!(canonical_email(&text), canonical_unicode(&text), "{text:?}");
        }
    }

    #[test]
    fn emails_round_trip_in_one_canonical_form() {
        let inci = Email::parse("İnci@Example.com").unwrap();
        assert_eq!(inci.as_str(), "i\u{307}nci@example.com");
        assert_eq!(Email::parse(inci.as_str()).unwrap(), inci);
        assert_eq!(canonical_email("İNCI@example.com"), inci.as_str());
        // Decomposed and precomposed spellings are one address.
        assert_eq!(
            Email::parse("zoe\u{308}@example.com").unwrap(),
            Email::parse("ZOË@example.com").unwrap()
        );
        // A mark cannot stand first.
        assert!(Email::parse("\u{307}a@example.com").is_err());
        assert!(Email::parse("a@\u{307}example.com").is_err());
    }

    #[test]
    fn a_cyrillic_look_alike_has_the_same_skeleton() {
        let latin = Email::parse("alice@example.com").unwrap();
        let cyrillic = Email::parse("\u{430}lice@example.com").unwrap();
        assert_ne!(latin, cyrillic);
        assert_eq!(latin.skeleton(), cyrillic.skeleton());
        assert!(latin.is_ascii() && !cyrillic.is_ascii());
        assert_ne!(
            latin.skeleton(),
            Email::parse("alicia@example.com").unwrap().skeleton()
        );
    }

    #[test]
    fn email_length_at_the_limit() {
        let local = "a".repeat(64);
        let domain = format!(
            "{}.{}.{}.com",
            "b".repeat(63),
            "c".repeat(63),
            "d".repeat(57)
        );
        let at = format!("{local}@{domain}");
        assert_eq!(at.len(), EMAIL_MAX);
        assert!(Email::parse(&at).is_ok());
        let over = format!(
            "{local}@{}.{}.{}.com",
            "b".repeat(63),
            "c".repeat(63),
            "d".repeat(58)
        );
        assert_eq!(over.len(), EMAIL_MAX + 1);
        assert!(Email::parse(&over).is_err());
        assert!(Email::parse(&format!("{}@example.com", "a".repeat(65))).is_err());
        // A huge input is refused, and the refusal quotes only its start.
        let err = Email::parse(&"x".repeat(100_000)).unwrap_err();
        assert!(err.to_string().len() < 200, "{err}");
    }
}
