//! Where a message went, or whose phone it is, as someone types it to look
//! it up: an address, or a phone number in any common spelling.
//!
//! `+1 415 555 0123`, `4155550123`, `(415) 555-0123` and `1-415-555-0123`
//! all find `+14155550123`: a number typed with its country calling code is
//! compared whole, one typed without is compared with the stored numbers
//! taken without theirs (schema step 10's `phone_national` columns).

use super::contact::{Phone, canonical_email};

/// Fewer digits than this are part of a name or address, not a number.
pub const MIN_DIGITS: usize = 7;
/// E.164 allows no more.
pub const MAX_DIGITS: usize = 15;

/// A phone number typed to find it with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhoneQuery {
    /// The whole number (E.164) it may be: `+14155550123`.
    pub e164: Option<String>,
    /// The number without a calling code, when it was typed without one
    /// (a national trunk `0` dropped): `4155550123`.
    pub national: Option<String>,
}

impl PhoneQuery {
    /// `text` as a phone number: digits with the usual separators (spaces,
    /// `-`, `.`, brackets), a leading `+` or `00` for an international
    /// number, and 7 to 15 digits. `None` for anything else.
    pub fn parse(text: &str) -> Option<PhoneQuery> {
        let text = text.trim();
        if text.len() > 64
            || !text
                .chars()
                .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '-' | '.' | '(' | ')' | '+'))
            || text.chars().skip(1).any(|c| c == '+')
        {
            return None;
        }
        let digits: String = text.chars().filter(char::is_ascii_digit).collect();
        if !(MIN_DIGITS..=MAX_DIGITS).contains(&digits.len()) {
            return None;
        }
        if text.starts_with('+') || digits.starts_with("00") {
            let whole = digits.strip_prefix("00").unwrap_or(&digits);
            return (!whole.starts_with('0')).then(|| PhoneQuery {
                e164: Some(format!("+{whole}")),
                national: None,
            });
        }
        let national = digits.trim_start_matches('0');
        if national.len() < MIN_DIGITS {
            return None;
        }
        // Typed with the calling code but no plus (`1 415 555 0123`), or
        // without the calling code (`415 555 0123`, `07700 900123`).
        let e164 = (!digits.starts_with('0')).then(|| format!("+{digits}"));
        Some(PhoneQuery {
            e164,
            national: Some(national.to_owned()),
        })
    }

    /// Whether the stored number `e164` is one this query finds.
    pub fn matches(&self, e164: &str) -> bool {
        self.e164.as_deref() == Some(e164)
            || self
                .national
                .as_deref()
                .is_some_and(|n| Phone::stored(e164).is_some_and(|p| p.national() == n))
    }
}

/// An outbox recipient to filter by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recipient {
    /// An email address, in its canonical form.
    Address(String),
    Number(PhoneQuery),
}

impl Recipient {
    /// An address (it has an `@`) or a phone number; `None` for neither.
    pub fn parse(text: &str) -> Option<Recipient> {
        if text.contains('@') {
            let address = canonical_email(text);
            return (!address.is_empty()).then_some(Recipient::Address(address));
        }
        PhoneQuery::parse(text).map(Recipient::Number)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STORED: &str = "+14155550123";

    #[test]
    fn every_common_spelling_finds_the_number() {
        for typed in [
            "+1 415 555 0123",
            "+14155550123",
            "4155550123",
            "(415) 555-0123",
            "415.555.0123",
            "1-415-555-0123",
            "0014155550123",
            " 415 555 0123 ",
        ] {
            let q = PhoneQuery::parse(typed).unwrap_or_else(|| panic!("{typed}"));
            assert!(q.matches(STORED), "{typed}: {q:?}");
        }
        // A UK number typed the British way, with its trunk 0.
        let q = PhoneQuery::parse("07400 900123").unwrap();
        assert!(q.matches("+447400900123"), "{q:?}");
        assert_eq!(q.national.as_deref(), Some("7400900123"));
    }

    #[test]
    fn other_numbers_and_other_text_are_not_it() {
        for typed in ["+44 415 555 0123", "415 555 0124", "+1 415 555 012"] {
            let q = PhoneQuery::parse(typed).unwrap();
            assert!(!q.matches(STORED), "{typed}: {q:?}");
        }
        // Too few or too many digits, letters, a plus inside: not a number.
        for typed in [
            "555 012",
            "0000000 1",
            "1234567890123456",
            "ana 4155550123",
            "415+5550123",
            "",
            "+",
        ] {
            assert_eq!(PhoneQuery::parse(typed), None, "{typed}");
        }
        // Exactly at the edges.
        assert!(PhoneQuery::parse("5550123").is_some());
        assert!(PhoneQuery::parse("123456789012345").is_some());
    }

    #[test]
    fn a_recipient_is_an_address_or_a_number() {
        assert_eq!(
            Recipient::parse(" Ana@Example.COM "),
            Some(Recipient::Address("ana@example.com".into()))
        );
        assert!(matches!(
            Recipient::parse("(415) 555-0123"),
            Some(Recipient::Number(_))
        ));
        assert_eq!(Recipient::parse("ana"), None);
    }
}
