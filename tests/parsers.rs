//! Every parser of typed input, under many random and adversarial inputs
//! from a seeded RNG: none panics, and each accepts or refuses consistently.

// `cargo test --test parsers` runs a quick round (well under 2 s); the long
// fuzz (1,000,000 inputs per parser, or `FUZZ_INPUTS`) is ignored by default:
// `cargo test --release --test parsers -- --ignored --nocapture`.

#![allow(clippy::unwrap_used)]

use factordesk::domain::backup;
use factordesk::domain::contact::{Email, Phone, canonical_email};
use factordesk::domain::otp::{self, Entered};
use factordesk::domain::text::{self, Field};
use factordesk::keyfile;
use factordesk::rng::Rng;
use unicode_normalization::UnicodeNormalization as _;

/// Pieces inputs are made of: the expected alphabet, its neighbours, and
/// the characters that have broken parsers elsewhere.
const PIECES: &[&str] = &[
    "0",
    "1",
    "5",
    "9",
    "00",
    "+",
    "+1",
    "+44",
    "+999",
    "555",
    "0123",
    " ",
    "-",
    ".",
    "(",
    ")",
    "@",
    "a",
    "Z",
    "é",
    "e\u{301}",
    "İ",
    "ı",
    "ß",
    "ẞ",
    "\u{307}",
    "K",
    "\u{212a}",
    "\u{430}",
    "\u{3b1}",
    "ᄀ",
    "ᅡ",
    "가",
    "😀",
    "\u{200d}",
    "\u{fe0f}",
    "\0",
    "\n",
    "\r",
    "\t",
    "\u{1b}",
    "\u{1b}[2J",
    "\u{7f}",
    "\u{85}",
    "\u{9b}",
    "\u{202e}",
    "\u{2066}",
    "\u{2069}",
    "\u{2028}",
    "\u{feff}",
    "\u{fffd}",
    "x",
    "o",
    "O",
    "I",
    "L",
    "-",
    "--",
    "..",
    "@@",
    "example",
    ".com",
    "alice",
    "ab",
    "cd",
    "ef",
    "ff",
    "#",
    "ext",
    "%",
    "\\",
    "\"",
    "'",
    "\u{10ffff}",
    "\u{e000}",
];

fn piece(rng: &mut Rng) -> &'static str {
    PIECES[rng.below(u32::try_from(PIECES.len()).unwrap()) as usize]
}

/// One input: mostly short mixes of pieces, sometimes a near-miss of a
/// valid value, sometimes raw random characters, sometimes very long.
fn input(rng: &mut Rng) -> String {
    match rng.below(10) {
        0 => {
            let n = rng.below(40) as usize;
            (0..n)
                .map(|_| char::from_u32(rng.below(0x11_0000)).unwrap_or('?'))
                .collect()
        }
        1 => piece(rng).repeat(1 + rng.below(3000) as usize),
        2 => format!("+1{}555{:04}", 200 + rng.below(800), rng.below(10_000)),
        3 => format!("+{}{}", 1 + rng.below(999), rng.below(u32::MAX)),
        4 => format!("{:06}", rng.below(1_000_000)),
        5 => mutate(rng, "alice@example.com"),
        6 => mutate(rng, "abcd-efgh-jkmn-pqrs"),
        7 => mutate(rng, &format!("{}\n", "0a".repeat(32))),
        _ => {
            let n = rng.below(12) as usize;
            (0..n).map(|_| piece(rng)).collect()
        }
    }
}

/// `valid` with a few characters replaced, inserted or removed.
fn mutate(rng: &mut Rng, valid: &str) -> String {
    let mut chars: Vec<String> = valid.chars().map(String::from).collect();
    for _ in 0..=rng.below(3) {
        let at = rng.below(u32::try_from(chars.len() + 1).unwrap()) as usize;
        match rng.below(3) {
            0 if at < chars.len() => piece(rng).clone_into(&mut chars[at]),
            1 => chars.insert(at, piece(rng).to_owned()),
            _ if at < chars.len() => {
                chars.remove(at);
            }
            _ => {}
        }
    }
    chars.concat()
}

/// What one parser accepted and refused.
#[derive(Debug, Default)]
struct Tally {
    accepted: u64,
    refused: u64,
}

impl Tally {
    fn add(&mut self, ok: bool) {
        if ok {
            self.accepted += 1;
        } else {
            self.refused += 1;
        }
    }
}

fn code_entry(s: &str) -> bool {
    match otp::parse_entry(s) {
        Ok(Entered::Digits(d)) => {
            assert!(
                d.len() == 6 && d.bytes().all(|b| b.is_ascii_digit()),
                "{s:?}"
            );
            assert_eq!(otp::parse_digits(s).unwrap(), d, "{s:?}");
            true
        }
        Ok(Entered::Backup(b)) => {
            assert_eq!(backup::normalize(s).as_deref(), Some(b.as_str()), "{s:?}");
            assert!(otp::parse_digits(s).is_err(), "{s:?}");
            true
        }
        Ok(Entered::Temp(t)) => {
            assert_eq!(
                factordesk::domain::temp_code::normalize(s).as_deref(),
                Some(t.as_str()),
                "{s:?}"
            );
            assert!(otp::parse_digits(s).is_err(), "{s:?}");
            true
        }
        Err(e) => {
            // The refusal quotes the input, but never at length.
            assert!(
                e.to_string().chars().count() < 400,
                "{:?}",
                text::excerpt(s, 80)
            );
            assert!(otp::parse_digits(s).is_err(), "{s:?}");
            false
        }
    }
}

fn backup_code(s: &str) -> bool {
    let Some(c) = backup::normalize(s) else {
        return false;
    };
    assert_eq!(c.len(), backup::LEN, "{s:?}");
    assert!(
        c.bytes()
            .all(|b| b"0123456789ABCDEFGHJKMNPQRSTVWXYZ".contains(&b)),
        "{s:?}"
    );
    // The shown form reads back as the same code.
    assert_eq!(
        backup::normalize(&backup::display(&c)),
        Some(c.clone()),
        "{s:?}"
    );
    true
}

fn phone(s: &str) -> bool {
    let Ok(p) = Phone::parse(s) else {
        return false;
    };
    let e164 = p.e164();
    let digits = e164.strip_prefix('+').unwrap();
    assert!((8..=15).contains(&digits.len()), "{s:?} → {e164}");
    assert!(digits.bytes().all(|b| b.is_ascii_digit()), "{s:?} → {e164}");
    // Stored, it parses to itself, and reads back with the same country.
    assert_eq!(Phone::parse(&e164).unwrap(), p, "{s:?}");
    let stored = Phone::stored(&e164).unwrap();
    assert_eq!(stored.calling_code(), p.calling_code(), "{s:?}");
    assert!(stored.masked().ends_with(&digits[digits.len() - 4..]));
    true
}

fn email(s: &str) -> bool {
    let Ok(e) = Email::parse(s) else {
        return false;
    };
    let stored = e.as_str();
    // The canonical form is its own canonical form, and parses to itself.
    assert_eq!(canonical_email(stored), stored, "{s:?}");
    assert_eq!(Email::parse(stored).unwrap(), e, "{s:?}");
    assert_eq!(stored.nfc().collect::<String>(), stored, "{s:?}");
    assert_eq!(stored.to_lowercase(), stored, "{s:?}");
    assert!(stored.len() <= 254 && !stored.chars().any(text::is_forbidden));
    assert!(!e.skeleton().is_empty());
    let _ = e.masked();
    true
}

fn key_file(s: &str) -> bool {
    let digits = s
        .strip_suffix("\r\n")
        .or_else(|| s.strip_suffix('\n'))
        .unwrap_or(s);
    let expected = digits.len() == 64 && digits.bytes().all(|b| b.is_ascii_hexdigit());
    let got = keyfile::parse(s);
    assert_eq!(got.is_some(), expected, "{s:?}");
    if let Some(k) = got {
        let again = keyfile::parse(&digits.to_lowercase()).unwrap();
        assert_eq!(k.check_value(), again.check_value(), "{s:?}");
    }
    expected
}

fn free_text(s: &str) -> bool {
    let escaped = text::escape(s);
    assert!(!escaped.chars().any(text::is_forbidden), "{s:?}");
    // What escaping gives is always one line of plain text.
    assert!(!matches!(
        text::check(Field::Reason, &escaped),
        Err(text::TextError::Control { .. })
    ));
    let mut ok = true;
    for field in Field::ALL {
        match text::check(field, s) {
            Ok(t) => {
                assert!(!t.chars().any(text::is_forbidden), "{s:?}");
                assert!(t.chars().count() <= field.max(), "{s:?}");
                assert_eq!(text::check(field, t), Ok(t), "{s:?}");
            }
            Err(_) => ok = false,
        }
    }
    ok
}

type Parser = (&'static str, fn(&str) -> bool);

const PARSERS: &[Parser] = &[
    ("6-digit or backup code", code_entry),
    ("backup code", backup_code),
    ("phone", phone),
    ("email", email),
    ("key file", key_file),
    ("free text", free_text),
];

fn run(seed: u64, per_parser: u64) -> Vec<(&'static str, Tally)> {
    PARSERS
        .iter()
        .enumerate()
        .map(|(i, (name, parse))| {
            let mut rng = Rng::seeded(seed + i as u64);
            let mut tally = Tally::default();
            for _ in 0..per_parser {
                let s = input(&mut rng);
                tally.add(parse(&s));
            }
            (*name, tally)
        })
        .collect()
}

#[test]
fn parsers_never_panic_and_agree_with_themselves() {
    let results = run(1, 3_000);
    for (name, t) in &results {
        // Each parser saw both kinds, or the inputs are not reaching it.
        assert!(t.refused > 0 && t.accepted > 0, "{name}: {t:?}");
    }
}

#[test]
fn the_known_cases_still_hold() {
    assert!(phone("+1 (415) 555-0123"));
    for bad in ["+44 1234567", "+999 12345678", "+1 011 555 0123"] {
        assert!(!phone(bad), "{bad}");
    }
    assert!(email("İnci@example.com"));
    assert!(key_file(&format!("{}\n", "0f".repeat(32))));
    assert!(backup_code("abcd-efgh-jkmn-pqrs"));
    assert!(code_entry("123 456"));
}

/// The long run: `FUZZ_INPUTS` (default 1,000,000) inputs per parser.
#[test]
#[ignore = "long: run with --ignored (release recommended)"]
fn fuzz_every_parser() {
    let n = std::env::var("FUZZ_INPUTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    for (name, t) in run(20_261_201, n) {
        println!(
            "{name}: {} inputs, {} accepted, {} refused, no panic",
            t.accepted + t.refused,
            t.accepted,
            t.refused
        );
    }
}
