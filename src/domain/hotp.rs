//! RFC 4226 HOTP for hardware tokens: the counter each code is at, the
//! look-ahead window, replays of spent counters, and resync from two codes.

use super::oath::{Params, same_code};

/// How many counters from the expected one a code may be at: a token
/// pressed a few times without logging in still works.
pub const LOOK_AHEAD: u64 = 10;
/// How far back a code is recognised as spent, to say so.
pub const LOOK_BACK: u64 = 10;
/// How far ahead a resync searches for two codes in a row (privacyIDEA's
/// default sync window).
pub const RESYNC_WINDOW: u64 = 1000;

/// The code a token shows at `counter`.
pub fn code_at(secret: &[u8], params: &Params, counter: u64) -> String {
    params.code(secret, counter)
}

/// The outcome of checking one code against an HOTP token whose next code
/// is expected at counter `next`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// Valid at `counter`: the next code is expected at `counter + 1`.
    Accepted { counter: u64 },
    /// A code of a counter already spent (used, or skipped by a later one).
    Replayed { counter: u64 },
    /// No match in the window.
    Invalid,
}

/// Check `code` against the counters `next .. next + window`, then the
/// spent ones just before.
pub fn check(secret: &[u8], params: &Params, code: &str, next: u64, window: u64) -> Check {
    let ahead = next..next.saturating_add(window);
    if let Some(counter) = ahead
        .into_iter()
        .find(|&c| matches(secret, *params, code, c))
    {
        return Check::Accepted { counter };
    }
    let behind = next.saturating_sub(LOOK_BACK)..next;
    match behind.rev().find(|&c| matches(secret, *params, code, c)) {
        Some(counter) => Check::Replayed { counter },
        None => Check::Invalid,
    }
}

/// The counter of `second`, when `first` and `second` are the codes of two
/// counters in a row within `next .. next + range`: the token is there now,
/// and its next code is at the counter after it.
pub fn resync(
    secret: &[u8],
    params: &Params,
    first: &str,
    second: &str,
    next: u64,
    range: u64,
) -> Option<u64> {
    (next..next.saturating_add(range)).find_map(|c| {
        (matches(secret, *params, first, c) && matches(secret, *params, second, c + 1))
            .then_some(c + 1)
    })
}

fn matches(secret: &[u8], params: Params, code: &str, counter: u64) -> bool {
    same_code(&code_at(secret, &params, counter), code)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::oath::Algorithm;

    const SEED: &[u8] = b"12345678901234567890";
    /// RFC 4226 Appendix D, counters 0 to 9.
    const RFC4226: [&str; 10] = [
        "755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871",
        "520489",
    ];

    #[test]
    fn rfc4226_appendix_d_vectors() {
        for (counter, want) in RFC4226.iter().enumerate() {
            assert_eq!(
                code_at(SEED, &Params::DEFAULT, counter as u64),
                *want,
                "counter {counter}"
            );
        }
    }

    #[test]
    fn other_algorithms_and_lengths_have_their_own_codes() {
        let p = Params {
            algorithm: Algorithm::Sha256,
            digits: 8,
            period: 30,
        };
        let code = code_at(SEED, &p, 0);
        assert_eq!(code.len(), 8);
        assert_ne!(&code[2..], RFC4226[0]);
        let seven = Params {
            digits: 7,
            ..Params::DEFAULT
        };
        assert_eq!(code_at(SEED, &seven, 0).len(), 7);
    }

    #[test]
    fn the_window_looks_ten_ahead_and_a_spent_code_is_a_replay() {
        let p = Params::DEFAULT;
        assert_eq!(
            check(SEED, &p, RFC4226[0], 0, LOOK_AHEAD),
            Check::Accepted { counter: 0 }
        );
        assert_eq!(
            check(SEED, &p, RFC4226[9], 0, LOOK_AHEAD),
            Check::Accepted { counter: 9 }
        );
        // Eleven presses ahead is out of the window.
        let eleventh = code_at(SEED, &p, 10);
        assert_eq!(check(SEED, &p, &eleventh, 0, LOOK_AHEAD), Check::Invalid);
        // After counter 3 was used, 3 and anything before are spent.
        assert_eq!(
            check(SEED, &p, RFC4226[3], 4, LOOK_AHEAD),
            Check::Replayed { counter: 3 }
        );
        assert_eq!(
            check(SEED, &p, RFC4226[1], 4, LOOK_AHEAD),
            Check::Replayed { counter: 1 }
        );
        assert_eq!(check(SEED, &p, "000000", 4, LOOK_AHEAD), Check::Invalid);
        assert_eq!(check(SEED, &p, "12345", 0, LOOK_AHEAD), Check::Invalid);
    }

    #[test]
    fn resync_finds_two_codes_in_a_row() {
        let p = Params::DEFAULT;
        let (a, b) = (code_at(SEED, &p, 500), code_at(SEED, &p, 501));
        assert_eq!(resync(SEED, &p, &a, &b, 0, RESYNC_WINDOW), Some(501));
        // Out of order, or not adjacent.
        assert_eq!(resync(SEED, &p, &b, &a, 0, RESYNC_WINDOW), None);
        let c = code_at(SEED, &p, 503);
        assert_eq!(resync(SEED, &p, &a, &c, 0, RESYNC_WINDOW), None);
        // Behind the expected counter is not searched: those are spent.
        assert_eq!(resync(SEED, &p, &a, &b, 600, RESYNC_WINDOW), None);
        let far = code_at(SEED, &p, 1200);
        let far2 = code_at(SEED, &p, 1201);
        assert_eq!(resync(SEED, &p, &far, &far2, 0, RESYNC_WINDOW), None);
    }
}
