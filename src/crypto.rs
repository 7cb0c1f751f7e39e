//! Secrets at rest: XChaCha20-Poly1305 sealing and HMAC-SHA256 keyed hashes,
//! both under one 256-bit key that lives outside the database. Pure: no I/O.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq as _;
use thiserror::Error;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::rng::Rng;

const VERSION: u8 = 1;
const NONCE_LEN: usize = 24;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum CryptoError {
    #[error(
        "a sealed secret does not open with this key: use the key file that was created with this database"
    )]
    WrongKey,
}

/// The master key. Sealing and hashing use subkeys derived from it, so one
/// use can never be confused with another. Wiped from memory when dropped.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct Key {
    seal: [u8; 32],
    mac: [u8; 32],
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Key(..)")
    }
}

fn hmac(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    for part in parts {
        mac.update(&(part.len() as u64).to_be_bytes());
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

impl Key {
    pub fn from_bytes(master: [u8; 32]) -> Self {
        Self {
            seal: hmac(&master, &[b"factordesk seal v1"]),
            mac: hmac(&master, &[b"factordesk mac v1"]),
        }
    }

    /// Seal `plaintext`; `context` (e.g. `totp`) must be given again to open it.
    pub fn seal(&self, rng: &mut Rng, context: &str, plaintext: &[u8]) -> Vec<u8> {
        let nonce: [u8; NONCE_LEN] = rng.bytes();
        let cipher = XChaCha20Poly1305::new(&self.seal.into());
        let sealed = cipher
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: plaintext,
                    aad: context.as_bytes(),
                },
            )
            .expect("XChaCha20-Poly1305 encrypts any message that fits in memory");
        let mut out = Vec::with_capacity(1 + NONCE_LEN + sealed.len());
        out.push(VERSION);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        out
    }

    /// The plaintext, wiped from memory when dropped.
    pub fn open(&self, context: &str, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        if sealed.len() < 1 + NONCE_LEN || sealed[0] != VERSION {
            return Err(CryptoError::WrongKey);
        }
        let nonce: [u8; NONCE_LEN] = sealed[1..=NONCE_LEN]
            .try_into()
            .map_err(|_| CryptoError::WrongKey)?;
        XChaCha20Poly1305::new(&self.seal.into())
            .decrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: &sealed[1 + NONCE_LEN..],
                    aad: context.as_bytes(),
                },
            )
            .map(Zeroizing::new)
            .map_err(|_| CryptoError::WrongKey)
    }

    /// A keyed hash of `data` for `purpose` (e.g. `backup`, `otp`, `device`).
    pub fn mac(&self, purpose: &str, data: &[u8]) -> [u8; 32] {
        hmac(&self.mac, &[purpose.as_bytes(), data])
    }

    /// A value stored in the database at creation; a different key gives a
    /// different check, so a wrong key file is caught at open.
    pub fn check_value(&self) -> String {
        hex(&self.mac("key-check", b"factordesk")[..8])
    }
}

/// Compare in constant time (the length is not secret).
pub fn same(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

pub fn unhex(text: &str) -> Option<Vec<u8>> {
    let text = text.trim();
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_round_trips_and_binds_its_context() {
        let key = Key::from_bytes([7; 32]);
        let mut rng = Rng::seeded(1);
        let sealed = key.seal(&mut rng, "totp", b"secret");
        assert_eq!(key.open("totp", &sealed).unwrap().as_slice(), b"secret");
        assert_eq!(key.open("outbox", &sealed), Err(CryptoError::WrongKey));
        let other = Key::from_bytes([8; 32]);
        assert_eq!(other.open("totp", &sealed), Err(CryptoError::WrongKey));
        assert_eq!(key.open("totp", &sealed[..10]), Err(CryptoError::WrongKey));
        // A fresh nonce each time.
        assert_ne!(sealed, key.seal(&mut rng, "totp", b"secret"));
    }

    #[test]
    fn macs_depend_on_key_purpose_and_data() {
        let key = Key::from_bytes([7; 32]);
        let a = key.mac("backup", b"ABC");
        assert_eq!(a, key.mac("backup", b"ABC"));
        assert_ne!(a, key.mac("otp", b"ABC"));
        assert_ne!(a, key.mac("backup", b"ABD"));
        assert_ne!(a, Key::from_bytes([8; 32]).mac("backup", b"ABC"));
        // Length-prefixing keeps purpose and data apart.
        assert_ne!(key.mac("ab", b"c"), key.mac("a", b"bc"));
        assert_ne!(key.check_value(), Key::from_bytes([8; 32]).check_value());
    }

    #[test]
    fn hex_round_trips() {
        assert_eq!(hex(&[0, 255, 16]), "00ff10");
        assert_eq!(unhex("00ff10"), Some(vec![0, 255, 16]));
        assert_eq!(unhex("0g"), None);
        assert_eq!(unhex("abc"), None);
        assert!(same(b"abc", b"abc"));
        assert!(!same(b"abc", b"abd"));
        assert!(!same(b"abc", b"ab"));
    }
}
