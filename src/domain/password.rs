//! Passwords: argon2id (OWASP: m=19456 KiB, t=2, p=1) in PHC string form, hashed
//! through one reused memory buffer so repeated logins do not grow the process.

use argon2::{Algorithm, Argon2, Block, Params, Version};
use base64ct::{Base64Unpadded, Encoding};
use thiserror::Error;

use crate::rng::Rng;

/// OWASP's argon2id recommendation.
pub const M_COST_KIB: u32 = 19_456;
pub const T_COST: u32 = 2;
pub const P_COST: u32 = 1;
const SALT_LEN: usize = 16;
const HASH_LEN: usize = 32;
/// The most memory a stored hash may ask for (64 MiB), so a crafted hash
/// cannot make a verify allocate without bound.
const MAX_M_COST_KIB: u32 = 65_536;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PasswordError {
    #[error("the password is too short: use at least {0} characters")]
    TooShort(usize),
    #[error("the password is too long: use at most {0} bytes")]
    TooLong(usize),
    #[error("the stored password hash is not an argon2id PHC string; set the password again")]
    BadHash,
}

pub const MIN_LEN: usize = 8;
pub const MAX_LEN: usize = 1_024;

/// Check a new password against the length rules (NIST SP 800-63B).
pub fn validate(password: &str) -> Result<(), PasswordError> {
    if password.chars().count() < MIN_LEN {
        return Err(PasswordError::TooShort(MIN_LEN));
    }
    if password.len() > MAX_LEN {
        return Err(PasswordError::TooLong(MAX_LEN));
    }
    Ok(())
}

/// Hashes and verifies, reusing one block buffer across calls.
#[derive(Default)]
pub struct Hasher {
    memory: Vec<Block>,
}

impl std::fmt::Debug for Hasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hasher")
            .field("memory_blocks", &self.memory.len())
            .finish()
    }
}

impl Hasher {
    pub fn new() -> Self {
        Self::default()
    }

    /// A PHC string: `$argon2id$v=19$m=19456,t=2,p=1$SALT$HASH`.
    pub fn hash(&mut self, password: &str, rng: &mut Rng) -> Result<String, PasswordError> {
        validate(password)?;
        let salt: [u8; SALT_LEN] = rng.bytes();
        let out = self.raw(password.as_bytes(), &salt, M_COST_KIB, T_COST, P_COST)?;
        Ok(format!(
            "$argon2id$v=19$m={M_COST_KIB},t={T_COST},p={P_COST}${}${}",
            Base64Unpadded::encode_string(&salt),
            Base64Unpadded::encode_string(&out)
        ))
    }

    /// Does `password` match the stored PHC string? Compared in constant time.
    pub fn verify(&mut self, password: &str, phc: &str) -> Result<bool, PasswordError> {
        let parsed = Phc::parse(phc).ok_or(PasswordError::BadHash)?;
        if password.len() > MAX_LEN {
            return Ok(false);
        }
        let out = self.raw(
            password.as_bytes(),
            &parsed.salt,
            parsed.m,
            parsed.t,
            parsed.p,
        )?;
        Ok(out.len() == parsed.hash.len()
            && out
                .iter()
                .zip(&parsed.hash)
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0)
    }

    fn raw(
        &mut self,
        pwd: &[u8],
        salt: &[u8],
        m: u32,
        t: u32,
        p: u32,
    ) -> Result<Vec<u8>, PasswordError> {
        let params = Params::new(m, t, p, Some(HASH_LEN)).map_err(|_| PasswordError::BadHash)?;
        let blocks = params.block_count();
        if self.memory.len() < blocks {
            self.memory.resize(blocks, Block::default());
        }
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let mut out = vec![0u8; HASH_LEN];
        argon
            .hash_password_into_with_memory(pwd, salt, &mut out, &mut self.memory[..blocks])
            .map_err(|_| PasswordError::BadHash)?;
        Ok(out)
    }
}

struct Phc {
    m: u32,
    t: u32,
    p: u32,
    salt: Vec<u8>,
    hash: Vec<u8>,
}

impl Phc {
    fn parse(phc: &str) -> Option<Phc> {
        let mut parts = phc.split('$');
        let (empty, alg, version, params, salt, hash) = (
            parts.next()?,
            parts.next()?,
            parts.next()?,
            parts.next()?,
            parts.next()?,
            parts.next()?,
        );
        if !empty.is_empty() || alg != "argon2id" || version != "v=19" || parts.next().is_some() {
            return None;
        }
        let (mut memory, mut time, mut lanes) = (None, None, None);
        for pair in params.split(',') {
            let (name, value) = pair.split_once('=')?;
            let value: u32 = value.parse().ok()?;
            match name {
                "m" => memory = Some(value),
                "t" => time = Some(value),
                "p" => lanes = Some(value),
                _ => return None,
            }
        }
        let hash = Base64Unpadded::decode_vec(hash).ok()?;
        (hash.len() == HASH_LEN).then_some(())?;
        Some(Phc {
            m: memory.filter(|m| *m <= MAX_M_COST_KIB)?,
            t: time.filter(|t| *t <= 16)?,
            p: lanes.filter(|p| *p <= 16)?,
            salt: Base64Unpadded::decode_vec(salt).ok()?,
            hash,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::{PasswordHash, PasswordVerifier};

    #[test]
    fn hashes_verify_and_are_standard_phc() {
        let mut h = Hasher::new();
        let mut rng = Rng::seeded(1);
        let phc = h.hash("correct horse battery staple", &mut rng).unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(h.verify("correct horse battery staple", &phc).unwrap());
        assert!(!h.verify("correct horse battery stapler", &phc).unwrap());
        // The argon2 crate's own verifier agrees: the string is standard.
        let parsed = PasswordHash::new(&phc).unwrap();
        Argon2::default()
            .verify_password(b"correct horse battery staple", &parsed)
            .unwrap();
        // A fresh salt each time.
        assert_ne!(
            phc,
            h.hash("correct horse battery staple", &mut rng).unwrap()
        );
    }

    #[test]
    fn length_rules() {
        assert_eq!(validate("1234567"), Err(PasswordError::TooShort(8)));
        assert_eq!(validate("12345678"), Ok(()));
        assert_eq!(
            validate(&"x".repeat(1_025)),
            Err(PasswordError::TooLong(1_024))
        );
    }

    #[test]
    fn foreign_or_hostile_hashes_are_refused() {
        let mut h = Hasher::new();
        for bad in [
            "",
            "plaintext",
            "$2b$12$abcdefghijklmnopqrstuv",
            "$argon2i$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaA",
            "$argon2id$v=19$m=999999999,t=2,p=1$c2FsdHNhbHRzYWx0$YWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXphYmNkZWY",
        ] {
            assert_eq!(
                h.verify("password", bad),
                Err(PasswordError::BadHash),
                "{bad}"
            );
        }
    }

    #[test]
    fn the_buffer_is_reused() {
        let mut h = Hasher::new();
        let mut rng = Rng::seeded(2);
        let phc = h.hash("password1", &mut rng).unwrap();
        let blocks = h.memory.len();
        assert_eq!(blocks, 19_456);
        for _ in 0..3 {
            h.verify("password1", &phc).unwrap();
        }
        assert_eq!(h.memory.len(), blocks);
        assert_eq!(h.memory.capacity(), blocks);
    }
}
