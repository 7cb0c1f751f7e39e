//! Email addresses and E.164 phone numbers: validation, normalisation, the
//! country calling code of a number, and the masked forms shown in the outbox.

use std::fmt;

use thiserror::Error;

/// Why a contact detail was refused; each message shows the accepted form.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ContactError {
    #[error("`{0}` is not an email address: use the form name@example.com")]
    Email(String),
    #[error(
        "`{0}` is not an E.164 phone number: use a plus, the country code and the number, like +14155550123"
    )]
    Phone(String),
}

/// A syntactically valid email address, trimmed, with a lower-case domain.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Email(String);

impl Email {
    pub fn parse(input: &str) -> Result<Self, ContactError> {
        let text = input.trim();
        let bad = || ContactError::Email(text.to_owned());
        if text.len() > 254 || text.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(bad());
        }
        let (local, domain) = text.split_once('@').ok_or_else(bad)?;
        let label_ok = |l: &str| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_alphanumeric() || c == '-')
        };
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..")
            && local
                .chars()
                .all(|c| c.is_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c));
        let domain_ok = domain.contains('.') && domain.split('.').all(label_ok);
        if !local_ok || !domain_ok {
            return Err(bad());
        }
        // One spelling per address: two users may not differ only in case,
        // in any script (SQLite's NOCASE folds ASCII only).
        Ok(Self(text.to_lowercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
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
    /// Accepts the usual separators (`+1 (415) 555-0123`) and a leading `00`.
    pub fn parse(input: &str) -> Result<Self, ContactError> {
        let text = input.trim();
        let bad = || ContactError::Phone(text.to_owned());
        let compact: String = text
            .chars()
            .filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')'))
            .collect();
        let digits = compact
            .strip_prefix('+')
            .or_else(|| compact.strip_prefix("00"))
            .ok_or_else(bad)?;
        if !(8..=15).contains(&digits.len())
            || !digits.bytes().all(|b| b.is_ascii_digit())
            || digits.starts_with('0')
        {
            return Err(bad());
        }
        let code_len = calling_code_len(digits);
        // The North American plan is strict: a 10-digit national number.
        if code_len == 1 && digits.starts_with('1') && digits.len() != 11 {
            return Err(bad());
        }
        Ok(Self {
            digits: digits.to_owned(),
            code_len,
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
        let hidden = self.digits.len() - self.code_len - 4;
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
        let uk = Phone::parse("0044 7700 900123").unwrap();
        assert_eq!(uk.e164(), "+447700900123");
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
        ] {
            let err = Phone::parse(bad).unwrap_err();
            assert!(err.to_string().contains("+14155550123"), "{bad}: {err}");
        }
    }
}
