//! What a free-text search of the audit trail matches: the text anywhere in
//! an event's words, in any case; and where it matches, for highlighting.

use std::ops::Range;

/// A search term, folded to lower case; never empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Needle(String);

impl Needle {
    /// The term in `text`, trimmed; `None` when nothing is left.
    pub fn parse(text: &str) -> Option<Needle> {
        let text = text.trim();
        (!text.is_empty()).then(|| Needle(text.to_lowercase()))
    }

    /// The term as it is compared (lower case).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether any of `fields` holds the term, in any case.
    pub fn matches<'a>(&self, fields: impl IntoIterator<Item = &'a str>) -> bool {
        fields.into_iter().any(|f| !self.spans(f).is_empty())
    }

    /// Where in `text` the term occurs, in any case, as byte ranges of
    /// `text`, left to right and not overlapping.
    pub fn spans(&self, text: &str) -> Vec<Range<usize>> {
        let mut out = Vec::new();
        let starts: Vec<usize> = text.char_indices().map(|(i, _)| i).collect();
        let mut k = 0;
        while k < starts.len() {
            let start = starts[k];
            match self.match_at(&text[start..]) {
                Some(len) if len > 0 => {
                    out.push(start..start + len);
                    while k < starts.len() && starts[k] < start + len {
                        k += 1;
                    }
                }
                _ => k += 1,
            }
        }
        out
    }

    /// Where in `text` the term occurs, as character positions (what a
    /// screen marks, cell by cell).
    pub fn char_spans(&self, text: &str) -> Vec<Range<usize>> {
        let at = |byte: usize| text[..byte].chars().count();
        self.spans(text)
            .into_iter()
            .map(|r| at(r.start)..at(r.end))
            .collect()
    }

    /// The length in bytes of the prefix of `text` that folds to the term.
    fn match_at(&self, text: &str) -> Option<usize> {
        let mut want = self.0.chars().peekable();
        for (i, c) in text.char_indices() {
            for lower in c.to_lowercase() {
                if want.next() != Some(lower) {
                    return None;
                }
            }
            if want.peek().is_none() {
                return Some(i + c.len_utf8());
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_term_is_found_anywhere_in_any_case() {
        let n = Needle::parse("  Lost Phone ").unwrap();
        assert_eq!(n.as_str(), "lost phone");
        assert!(n.matches(["reset: LOST PHONE, ID checked"]));
        assert!(n.matches(["x", "lost phone"]));
        assert!(!n.matches(["lost  phone", "phone lost"]));
        assert!(Needle::parse("   ").is_none());
    }

    #[test]
    fn char_spans_count_characters_not_bytes() {
        let n = Needle::parse("é").unwrap();
        assert_eq!(n.char_spans("aÉé"), vec![1..2, 2..3]);
        assert_eq!(n.spans("aÉé"), vec![1..3, 3..5]);
        assert!(n.char_spans("abc").is_empty());
    }

    #[test]
    fn spans_are_byte_ranges_of_the_text_as_written() {
        let n = Needle::parse("ab").unwrap();
        assert_eq!(n.spans("xABaBab"), vec![1..3, 3..5, 5..7]);
        assert_eq!(n.spans("aab"), vec![1..3]);
        // A letter whose lower case is longer in bytes, before the match.
        let n = Needle::parse("inci").unwrap();
        let text = "İnci or INCI";
        assert_eq!(n.spans(text), vec![9..13]);
        let n = Needle::parse("i̇nci").unwrap();
        assert_eq!(n.spans(text), vec![0..5]);
        assert!(Needle::parse("zz").unwrap().spans("abc").is_empty());
    }
}
