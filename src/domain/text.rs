//! Free text typed by people (names, labels, reasons, the actor, the issuer):
//! one-line checks with length limits, and escaping for terminal output.

use std::borrow::Cow;
use std::fmt::Write as _;

use thiserror::Error;

/// Each kind of free text, with its limit in characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Name,
    Reason,
    DeviceLabel,
    FactorLabel,
    Actor,
    Issuer,
    Search,
}

impl Field {
    pub const ALL: [Field; 7] = [
        Field::Name,
        Field::Reason,
        Field::DeviceLabel,
        Field::FactorLabel,
        Field::Actor,
        Field::Issuer,
        Field::Search,
    ];

    /// How the field is named in a refusal.
    pub fn what(self) -> &'static str {
        match self {
            Field::Name => "the name",
            Field::Reason => "the reason",
            Field::DeviceLabel => "the device label",
            Field::FactorLabel => "the factor label (--label)",
            Field::Actor => "the actor (--actor)",
            Field::Issuer => "the issuer",
            Field::Search => "the search",
        }
    }

    /// The most characters it takes.
    pub fn max(self) -> usize {
        match self {
            Field::Name | Field::Search => 100,
            Field::Reason => 500,
            Field::DeviceLabel => 80,
            Field::Actor | Field::Issuer | Field::FactorLabel => 64,
        }
    }
}

/// Why a piece of text was refused; each message says how to write it.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TextError {
    #[error("{what} is too long ({len} characters): use at most {max} characters")]
    TooLong {
        what: &'static str,
        len: usize,
        max: usize,
    },
    #[error(
        "{what} contains the control character {found} (a line break, tab, terminal escape or text-direction override): write it as one line of plain text"
    )]
    Control { what: &'static str, found: String },
}

/// Characters no stored text may hold, and that human output escapes: the
/// C0 and C1 controls (line breaks, tab and ESC among them), DEL, the
/// Unicode direction overrides, embeddings, isolates and marks, and the
/// line and paragraph separators. Any of them can move the cursor, clear
/// the screen, fake a line or reorder what a person reads.
pub fn is_forbidden(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{202A}'..='\u{202E}'
                | '\u{2066}'..='\u{2069}'
                | '\u{200E}'
                | '\u{200F}'
                | '\u{061C}'
                | '\u{2028}'
                | '\u{2029}'
        )
}

/// How a forbidden character is written out: `\u{1b}`.
fn escaped(c: char) -> String {
    format!("\\u{{{:x}}}", u32::from(c))
}

/// `text` trimmed, if it is one line of plain text within `field`'s limit.
pub fn check(field: Field, text: &str) -> Result<&str, TextError> {
    let text = text.trim_matches(|c: char| c.is_whitespace() && !is_forbidden(c));
    if let Some(c) = text.chars().find(|&c| is_forbidden(c)) {
        return Err(TextError::Control {
            what: field.what(),
            found: escaped(c),
        });
    }
    let len = text.chars().count();
    if len > field.max() {
        return Err(TextError::TooLong {
            what: field.what(),
            len,
            max: field.max(),
        });
    }
    Ok(text)
}

/// `text` with every forbidden character written as `\u{…}`, ready for a
/// terminal. Unchanged text is not copied.
pub fn escape(text: &str) -> Cow<'_, str> {
    escape_keeping(text, false)
}

/// As [`escape`], keeping line breaks (`\n`): for whole blocks of output
/// whose own lines are meant.
pub fn escape_lines(text: &str) -> Cow<'_, str> {
    escape_keeping(text, true)
}

fn escape_keeping(text: &str, newlines: bool) -> Cow<'_, str> {
    let keep = |c: char| newlines && c == '\n';
    if !text.chars().any(|c| is_forbidden(c) && !keep(c)) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if is_forbidden(c) && !keep(c) {
            let _ = write!(out, "{}", escaped(c));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// At most `max` characters (escaped as [`escape`] does) of `text` for an
/// error message, with `…` when cut: a refusal never echoes a megabyte back.
pub fn excerpt(text: &str, max: usize) -> String {
    let mut out = String::new();
    let mut shown = 0;
    for c in text.chars() {
        let piece = if is_forbidden(c) {
            escaped(c)
        } else {
            c.to_string()
        };
        let width = piece.chars().count();
        if shown + width > max {
            out.push('…');
            break;
        }
        out.push_str(&piece);
        shown += width;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_control_class_is_refused_with_its_spelling() {
        for (c, shown) in [
            ('\u{0}', "\\u{0}"),
            ('\n', "\\u{a}"),
            ('\t', "\\u{9}"),
            ('\u{1b}', "\\u{1b}"),
            ('\u{7f}', "\\u{7f}"),
            ('\u{85}', "\\u{85}"),
            ('\u{9b}', "\\u{9b}"),
            ('\u{202a}', "\\u{202a}"),
            ('\u{202e}', "\\u{202e}"),
            ('\u{2066}', "\\u{2066}"),
            ('\u{2069}', "\\u{2069}"),
        ] {
            let text = format!("lost{c}phone");
            let err = check(Field::Reason, &text).unwrap_err();
            assert_eq!(
                err,
                TextError::Control {
                    what: "the reason",
                    found: shown.to_owned()
                }
            );
            assert!(err.to_string().contains("one line of plain text"), "{err}");
            assert_eq!(escape(&text), format!("lost{shown}phone"));
        }
        // Neighbours of the ranges are ordinary text.
        assert!(check(Field::Reason, "a\u{2065}b").is_ok());
        assert!(check(Field::Reason, "a\u{206a}b").is_ok());
        assert!(check(Field::Reason, "a\u{2029}b").is_err());
        assert!(check(Field::Reason, "a\u{2029}b").is_err());
        assert!(check(Field::Reason, "a\u{2027}b").is_ok());
        assert!(check(Field::Reason, "naïve café — ok ✓").is_ok());
    }

    #[test]
    fn limits_hold_exactly_at_the_boundary() {
        for field in Field::ALL {
            let at = "é".repeat(field.max());
            assert_eq!(check(field, &at), Ok(at.as_str()), "{field:?}");
            let over = "é".repeat(field.max() + 1);
            let err = check(field, &over).unwrap_err();
            assert_eq!(
                err,
                TextError::TooLong {
                    what: field.what(),
                    len: field.max() + 1,
                    max: field.max()
                }
            );
            assert!(err.to_string().contains("at most"), "{err}");
        }
        assert_eq!(check(Field::Name, "  Ana  "), Ok("Ana"));
        // Surrounding whitespace that is itself a control is refused, not trimmed.
        assert!(check(Field::Name, "Ana\n").is_err());
    }

    #[test]
    fn escaping_keeps_plain_text_and_can_keep_lines() {
        assert!(matches!(escape("plain ✓"), Cow::Borrowed(_)));
        assert_eq!(escape_lines("a\nb\u{1b}[2J"), "a\nb\\u{1b}[2J");
        assert_eq!(escape("a\nb"), "a\\u{a}b");
        assert_eq!(excerpt(&"x".repeat(100), 5), "xxxxx…");
        assert_eq!(excerpt("a\u{1b}", 10), "a\\u{1b}");
        // The limit counts what is shown, escapes included.
        assert_eq!(excerpt("a\u{1b}", 5), "a…");
    }
}
