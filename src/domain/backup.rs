//! Backup codes: 10 per batch, 80 bits each in Crockford base32 shown as
//! `xxxx-xxxx-xxxx-xxxx`; forgiving input; stock levels.

use crate::rng::Rng;

/// Codes per batch.
pub const BATCH: usize = 10;
/// Characters per code: 16 × 5 bits = 80 bits.
pub const LEN: usize = 16;

/// Crockford's base32 (no I, L, O, U).
pub(crate) const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// A new batch, in display form.
pub fn generate(rng: &mut Rng) -> Vec<String> {
    (0..BATCH).map(|_| generate_one(rng)).collect()
}

fn generate_one(rng: &mut Rng) -> String {
    let bytes: [u8; 10] = rng.bytes();
    let mut bits: u128 = 0;
    for b in bytes {
        bits = (bits << 8) | u128::from(b);
    }
    let canonical: String = (0..LEN)
        .rev()
        .map(|i| char::from(ALPHABET[usize::try_from((bits >> (i * 5)) & 31).unwrap_or(0)]))
        .collect();
    display(&canonical)
}

/// `xxxx-xxxx-xxxx-xxxx` in lower case, from the canonical form.
pub fn display(canonical: &str) -> String {
    canonical
        .to_ascii_lowercase()
        .as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join("-")
}

/// The canonical form (16 upper-case Crockford characters) of what a person
/// typed: case, dashes and spaces are ignored, O reads as 0, I and L as 1.
pub fn normalize(input: &str) -> Option<String> {
    normalize_len(input, LEN)
}

/// As [`normalize`], for a code of `len` characters.
pub(crate) fn normalize_len(input: &str, len: usize) -> Option<String> {
    let mut out = String::with_capacity(len);
    for c in input.chars() {
        let c = match c.to_ascii_uppercase() {
            ' ' | '-' | '\t' => continue,
            'O' => '0',
            'I' | 'L' => '1',
            c if c.is_ascii() && ALPHABET.contains(&(c as u8)) => c,
            _ => return None,
        };
        out.push(c);
    }
    (out.len() == len).then_some(out)
}

/// How a user's stock of unused codes looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stock {
    /// Never generated.
    None,
    /// Every code has been used.
    Exhausted,
    /// At or below the warning level.
    Low(u32),
    Healthy(u32),
}

pub fn stock(remaining: u32, total: u32, low: u32) -> Stock {
    match (remaining, total) {
        (_, 0) => Stock::None,
        (0, _) => Stock::Exhausted,
        (n, _) if n <= low => Stock::Low(n),
        (n, _) => Stock::Healthy(n),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_is_ten_distinct_well_formed_codes() {
        let codes = generate(&mut Rng::seeded(42));
        assert_eq!(codes.len(), 10);
        for code in &codes {
            assert_eq!(code.len(), 19);
            let parts: Vec<_> = code.split('-').collect();
            assert_eq!(parts.len(), 4);
            assert!(parts.iter().all(|p| p.len() == 4));
            assert_eq!(
                normalize(code).map(|c| display(&c)).as_deref(),
                Some(code.as_str())
            );
        }
        let mut sorted = codes.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), 10);
        assert_eq!(codes, generate(&mut Rng::seeded(42)));
        assert_ne!(codes, generate(&mut Rng::seeded(43)));
    }

    #[test]
    fn input_is_forgiving() {
        let canonical = "0123456789ABCDEF";
        for typed in [
            "0123-4567-89ab-cdef",
            "0123 4567 89AB CDEF",
            "o123456789abcdef",
            " 0123-4567-89AB-CDEF ",
        ] {
            assert_eq!(normalize(typed).as_deref(), Some(canonical), "{typed}");
        }
        assert_eq!(
            normalize("I1L1-0000-0000-0000").as_deref(),
            Some("1111000000000000")
        );
    }

    #[test]
    fn input_that_is_not_a_code() {
        for typed in [
            "",
            "0123-4567-89ab-cde",
            "0123-4567-89ab-cdeff",
            "0123-4567-89ab-cdeu",
            "é123456789abcdef",
        ] {
            assert_eq!(normalize(typed), None, "{typed}");
        }
    }

    #[test]
    fn stock_levels_at_their_edges() {
        assert_eq!(stock(0, 0, 3), Stock::None);
        assert_eq!(stock(0, 10, 3), Stock::Exhausted);
        assert_eq!(stock(1, 10, 3), Stock::Low(1));
        assert_eq!(stock(3, 10, 3), Stock::Low(3));
        assert_eq!(stock(4, 10, 3), Stock::Healthy(4));
    }
}
