//! What a user search matches: three or more characters anywhere in the email
//! or name, one or two the start of a word, case- and (for words) accent-blind.
//!
//! The store answers a search from the keys [`word_starts`] and [`trigrams`]
//! file each user under, from full-text indexes, or by walking users in
//! email order; every route keeps exactly the users [`Term::matches`]
//! accepts, so a page never depends on the route.

use std::collections::BTreeSet;

use super::recipient::PhoneQuery;

/// A search term, as typed in the Users list or `user list --search`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Term {
    /// Three or more characters: anywhere in the email or the name, any case.
    Anywhere(String),
    /// One or two characters with a letter or digit: the start of a word of
    /// the email (split at `.`, `@`, `-` …) or the name, any case or accent.
    WordStart(String),
    /// Punctuation alone (`@`, `.`): the start of the email.
    EmailStart(String),
    /// A phone number in any common spelling (`(415) 555-0123`): the
    /// user's phone, not the email or name.
    Phone(PhoneQuery),
}

/// Characters that make an anywhere-search (a trigram needs three).
pub const ANYWHERE_FROM: usize = 3;

impl Term {
    /// The term in `text`, trimmed; `None` when nothing is left.
    pub fn parse(text: &str) -> Option<Term> {
        let text = text.trim();
        if text.is_empty() {
            return None;
        }
        if let Some(number) = PhoneQuery::parse(text) {
            return Some(Term::Phone(number));
        }
        Some(if text.chars().count() >= ANYWHERE_FROM {
            Term::Anywhere(text.chars().map(fold_case).collect())
        } else if text.chars().any(char::is_alphanumeric) {
            Term::WordStart(text.chars().map(fold_word_char).collect())
        } else {
            Term::EmailStart(text.to_lowercase())
        })
    }

    /// Whether a user with this email, name and phone is one the term finds.
    pub fn matches(&self, email: &str, name: &str, phone: Option<&str>) -> bool {
        match self {
            Term::Phone(q) => phone.is_some_and(|p| q.matches(p)),
            Term::Anywhere(t) => contains_folded(email, t) || contains_folded(name, t),
            Term::WordStart(t) => has_word_starting(email, t) || has_word_starting(name, t),
            Term::EmailStart(t) => email.to_lowercase().starts_with(t.as_str()),
        }
    }
}

impl Term {
    /// Where the term is found in `text` (an email when `email`), as
    /// ranges of character positions, for the console to highlight.
    pub fn found_in(&self, text: &str, email: bool) -> Vec<std::ops::Range<usize>> {
        match self {
            Term::Anywhere(t) => {
                let hay: Vec<char> = text.chars().map(fold_case).collect();
                let needle: Vec<char> = t.chars().collect();
                let mut found = Vec::new();
                let mut i = 0;
                while !needle.is_empty() && i + needle.len() <= hay.len() {
                    if hay[i..i + needle.len()] == needle[..] {
                        found.push(i..i + needle.len());
                        i += needle.len();
                    } else {
                        i += 1;
                    }
                }
                found
            }
            Term::WordStart(t) => {
                let chars: Vec<char> = text.chars().collect();
                let len = t.chars().count();
                (0..chars.len())
                    .filter(|&i| {
                        (i == 0 || !chars[i - 1].is_alphanumeric())
                            && chars[i].is_alphanumeric()
                            && i + len <= chars.len()
                            && chars[i..i + len]
                                .iter()
                                .map(|c| fold_word_char(*c))
                                .eq(t.chars())
                    })
                    .map(|i| i..i + len)
                    .collect()
            }
            Term::EmailStart(t) if email && text.to_lowercase().starts_with(t.as_str()) => {
                std::iter::once(0..t.chars().count()).collect()
            }
            // A phone number is found in the phone, which the list does not show.
            Term::EmailStart(_) | Term::Phone(_) => Vec::new(),
        }
    }
}

/// `haystack`, case-folded, contains `folded`.
fn contains_folded(haystack: &str, folded: &str) -> bool {
    let hay: String = haystack.chars().map(fold_case).collect();
    hay.contains(folded)
}

/// Some word of `text` (a run of letters and digits), folded, starts with `folded`.
fn has_word_starting(text: &str, folded: &str) -> bool {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .any(|w| {
            let mut word = w.chars().map(fold_word_char);
            folded.chars().all(|c| word.next() == Some(c))
        })
}

/// The keys a user is found under for one- and two-character terms: the
/// first character and the first two of every word of the email and the
/// name, folded as [`Term::WordStart`] folds its term. A user has a word
/// start `t` exactly when `Term::WordStart(t)` matches them.
pub fn word_starts(email: &str, name: &str) -> BTreeSet<String> {
    let mut starts = BTreeSet::new();
    for text in [email, name] {
        for word in text.split(|c: char| !c.is_alphanumeric()) {
            let mut chars = word.chars().map(fold_word_char);
            let Some(first) = chars.next() else {
                continue;
            };
            starts.insert(first.to_string());
            if let Some(second) = chars.next() {
                starts.insert([first, second].iter().collect());
            }
        }
    }
    starts
}

/// The keys a user is found under for terms of three or more characters:
/// every three characters in a row of the email and of the name, folded as
/// [`Term::Anywhere`] folds its term. A term's own trigrams
/// ([`Term::trigrams`]) are all among a user's when the term matches them.
pub fn trigrams(email: &str, name: &str) -> BTreeSet<String> {
    let mut grams = BTreeSet::new();
    for text in [email, name] {
        let folded: Vec<char> = text.chars().map(fold_case).collect();
        grams.extend(folded.windows(3).map(|w| w.iter().collect::<String>()));
    }
    grams
}

impl Term {
    /// The trigrams of an anywhere-term (none for any other term).
    pub fn trigrams(&self) -> BTreeSet<String> {
        match self {
            Term::Anywhere(t) => trigrams(t, ""),
            _ => BTreeSet::new(),
        }
    }
}

/// A character without case, where that is one character (`Ö` → `ö`).
pub fn fold_case(c: char) -> char {
    let mut lower = c.to_lowercase();
    match (lower.next(), lower.next()) {
        (Some(l), None) => l,
        _ => c,
    }
}

/// A word character without case or accent (`Ö` → `o`, `Ł` → `l`).
pub fn fold_word_char(c: char) -> char {
    unaccent(fold_case(c))
}

/// A lower-case Latin letter without its accent (`é` → `e`, `ł` → `l`);
/// any other character as it is.
pub fn unaccent(c: char) -> char {
    match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' | 'ă' | 'ą' => 'a',
        'ç' | 'ć' | 'ĉ' | 'ċ' | 'č' => 'c',
        'ď' | 'đ' => 'd',
        'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ĕ' | 'ė' | 'ę' | 'ě' => 'e',
        'ĝ' | 'ğ' | 'ġ' | 'ģ' => 'g',
        'ĥ' | 'ħ' => 'h',
        'ì' | 'í' | 'î' | 'ï' | 'ĩ' | 'ī' | 'ĭ' | 'į' | 'ı' => 'i',
        'ĵ' => 'j',
        'ķ' => 'k',
        'ĺ' | 'ļ' | 'ľ' | 'ŀ' | 'ł' => 'l',
        'ñ' | 'ń' | 'ņ' | 'ň' => 'n',
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' | 'ŏ' | 'ő' => 'o',
        'ŕ' | 'ŗ' | 'ř' => 'r',
        'ś' | 'ŝ' | 'ş' | 'š' | 'ș' => 's',
        'ţ' | 'ť' | 'ŧ' | 'ț' => 't',
        'ù' | 'ú' | 'û' | 'ü' | 'ũ' | 'ū' | 'ŭ' | 'ů' | 'ű' | 'ų' => 'u',
        'ŵ' => 'w',
        'ý' | 'ÿ' | 'ŷ' => 'y',
        'ź' | 'ż' | 'ž' => 'z',
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One range, as a list of them.
    fn one(r: std::ops::Range<usize>) -> Vec<std::ops::Range<usize>> {
        std::iter::once(r).collect()
    }

    fn found(term: &str, text: &str, email: bool) -> Vec<std::ops::Range<usize>> {
        Term::parse(term).unwrap().found_in(text, email)
    }

    #[test]
    fn where_a_term_is_found_for_highlighting() {
        // Anywhere: every occurrence, any case, none overlapping.
        assert_eq!(found("ERI", "erin.eriksen@x.org", true), [0..3, 5..8]);
        assert_eq!(found("aaa", "aaaa", false), one(0..3));
        assert_eq!(found("zoë", "ZOË Berg", false), one(0..3));
        assert!(found("xyz", "alice", false).is_empty());
        // At the very end.
        assert_eq!(found("org", "a@x.org", true), one(4..7));
        // Word starts only, accents ignored.
        assert_eq!(found("lu", "Łukasz Lund", false), [0..2, 7..9]);
        assert!(found("ka", "Łukasz", false).is_empty());
        // Punctuation: the start of the email only.
        assert_eq!(found("@", "@x.org", true), one(0..1));
        assert!(found("@", "@x.org", false).is_empty());
        assert!(found(".", "a.b", true).is_empty());
    }

    fn finds(term: &str, email: &str, name: &str) -> bool {
        Term::parse(term).unwrap().matches(email, name, None)
    }

    #[test]
    fn three_or_more_characters_match_anywhere_in_any_case() {
        assert!(finds("NG@", "alice.ng@example.com", "Alice Ng"));
        assert!(finds("lice", "alice@example.com", ""));
        assert!(finds("zoë", "z@example.com", "ZOË Berg"));
        assert!(
            !finds("zoe", "z@example.com", "Zoë Berg"),
            "accents count here"
        );
        assert!(!finds("xyz", "alice@example.com", "Alice Ng"));
        assert_eq!(Term::parse("  abc "), Some(Term::Anywhere("abc".into())));
    }

    #[test]
    fn one_or_two_characters_match_the_start_of_a_word() {
        assert!(finds("ng", "alice.ng@example.com", "Alice Ng"));
        assert!(finds("Ng", "x@example.com", "Alice Ng"));
        assert!(finds("al", "alice@example.com", ""));
        assert!(finds("ex", "alice@example.com", ""), "after the @");
        assert!(
            !finds("li", "alice@example.com", "Alice"),
            "not inside a word"
        );
        assert!(finds("lu", "l@example.org", "Łukasz Nowak"), "accent-blind");
        assert!(finds("Ö", "x@example.org", "Øyvind Öberg"));
        assert!(finds("7", "7th.floor@example.org", ""));
        assert!(!finds("7", "user7@example.org", ""), "inside a word");
        assert!(!finds("a", "", ""));
    }

    #[test]
    fn a_users_keys_are_exactly_what_their_terms_match() {
        let (email, name) = ("Łukasz.nowak-7@Example.org", "Zoë  O'Brien");
        let starts = word_starts(email, name);
        let expected = [
            "l", "lu", "n", "no", "7", "e", "ex", "o", "or", "z", "zo", "b", "br",
        ];
        assert_eq!(starts, expected.iter().map(|s| (*s).to_owned()).collect());
        // Every one- and two-character term matches exactly when its key is there.
        for term in [
            "l", "lu", "LU", "ł", "uk", "7", "b", "br", "o", "zo", "ob", "x", "a.",
        ] {
            let t = Term::parse(term).unwrap();
            let Term::WordStart(key) = &t else {
                panic!("{term} is a word start");
            };
            assert_eq!(t.matches(email, name, None), starts.contains(key), "{term}");
        }
        let grams = trigrams(email, name);
        assert!(grams.contains("łuk") && grams.contains("zoë") && grams.contains("o'b"));
        assert!(!grams.contains("lnow"), "three characters each");
        assert!(
            !grams.contains("orz"),
            "never across the email and the name"
        );
        // A term that matches has every one of its trigrams among the user's.
        for term in ["ŁUKASZ", "nowak-7", "@example", "zoë", "o'brien", "org"] {
            let t = Term::parse(term).unwrap();
            assert!(t.matches(email, name, None), "{term}");
            assert!(t.trigrams().is_subset(&grams), "{term}");
        }
        // Exactly three characters: one trigram, the term itself.
        let t = Term::parse("Wak").unwrap();
        assert_eq!(t.trigrams(), ["wak".to_owned()].into());
        assert!(trigrams("ab", "").is_empty(), "too short for one");
        assert!(Term::parse("ab").unwrap().trigrams().is_empty());
    }

    #[test]
    fn punctuation_alone_is_the_start_of_the_email() {
        assert_eq!(Term::parse("@"), Some(Term::EmailStart("@".into())));
        assert!(!finds("@", "a@example.com", ""));
        assert!(finds(".", ".odd@example.com", ""));
        assert_eq!(Term::parse("   "), None);
    }

    #[test]
    fn a_phone_number_in_any_spelling_finds_the_phone_not_the_email() {
        for typed in ["+1 415 555 0123", "4155550123", "(415) 555-0123"] {
            let t = Term::parse(typed).unwrap();
            assert!(matches!(t, Term::Phone(_)), "{typed}");
            assert!(t.matches("a@x.org", "A", Some("+14155550123")), "{typed}");
            assert!(!t.matches("4155550123@x.org", "A", None), "{typed}");
        }
        // Six digits or fewer are part of an address or a name.
        assert!(matches!(Term::parse("555012"), Some(Term::Anywhere(_))));
    }
}
