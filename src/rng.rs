//! The one place that touches the OS random source. Everything else draws from
//! an [`Rng`] it is handed: seeded from the OS in production, from a number in tests.

use rand::rngs::ChaCha20Rng;
use rand::{Rng as _, SeedableRng, TryRng as _};

/// A cryptographically secure generator (`ChaCha20`), seeded once.
#[derive(Debug)]
pub struct Rng(ChaCha20Rng);

impl Rng {
    /// Seeded from the operating system: use this for real secrets.
    #[allow(clippy::disallowed_types)]
    pub fn from_os() -> Result<Self, rand::rngs::SysError> {
        let mut seed = [0u8; 32];
        rand::rngs::SysRng.try_fill_bytes(&mut seed)?;
        Ok(Self(ChaCha20Rng::from_seed(seed)))
    }

    /// Deterministic: the same seed gives the same secrets, codes and tokens.
    pub fn seeded(seed: u64) -> Self {
        Self(ChaCha20Rng::seed_from_u64(seed))
    }

    /// A new generator seeded from this one: as secure as this one, and as
    /// reproducible (a seeded desk gives its sandbox a seeded RNG).
    #[must_use]
    pub fn fork(&mut self) -> Self {
        Self(ChaCha20Rng::from_seed(self.bytes()))
    }

    pub fn fill(&mut self, out: &mut [u8]) {
        self.0.fill_bytes(out);
    }

    pub fn bytes<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0u8; N];
        self.fill(&mut out);
        out
    }

    /// A uniform integer in `0..bound` (rejection sampling, no modulo bias).
    pub fn below(&mut self, bound: u32) -> u32 {
        assert!(bound > 0, "bound must be positive");
        let zone = u32::MAX - (u32::MAX % bound);
        loop {
            let v = self.0.next_u32();
            if v < zone {
                return v % bound;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_is_deterministic() {
        let a: [u8; 16] = Rng::seeded(7).bytes();
        let b: [u8; 16] = Rng::seeded(7).bytes();
        let c: [u8; 16] = Rng::seeded(8).bytes();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn forks_are_reproducible_and_differ_from_the_parent() {
        let (mut a, mut b) = (Rng::seeded(7), Rng::seeded(7));
        let (mut fa, mut fb) = (a.fork(), b.fork());
        assert_eq!(fa.bytes::<16>(), fb.bytes::<16>());
        assert_ne!(a.fork().bytes::<16>(), Rng::seeded(7).bytes::<16>());
    }

    #[test]
    fn below_stays_in_range() {
        let mut rng = Rng::seeded(1);
        for bound in [1, 2, 10, 1_000_000] {
            for _ in 0..1000 {
                assert!(rng.below(bound) < bound);
            }
        }
    }

    #[test]
    fn os_seed_works() {
        let mut a = Rng::from_os().unwrap();
        let mut b = Rng::from_os().unwrap();
        assert_ne!(a.bytes::<16>(), b.bytes::<16>());
    }
}
