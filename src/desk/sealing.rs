//! What the use cases keep under the key: authenticator secrets sealed with
//! it, and the keyed hashes of one-time codes, backup codes, device tokens
//! and where messages went.

use super::{Ctx, DeskError, Result};
use crate::crypto::Key;
use crate::domain::contact::{Phone, canonical_email};
use crate::domain::recipient::Recipient;
use crate::domain::totp;
use crate::store::deliveries::To;
use crate::store::factors::FactorRow;

/// The AEAD context a user's TOTP secret is sealed under.
pub(crate) fn totp_context(user_id: i64) -> String {
    format!("totp:{user_id}")
}

/// Open a TOTP factor's secret; it is wiped from memory when dropped.
pub(crate) fn secret_of(key: &Key, f: &FactorRow) -> Result<zeroize::Zeroizing<Vec<u8>>> {
    let sealed = f.secret.as_deref().ok_or_else(|| {
        DeskError::Refused(format!(
            "factor {} has no secret; remove it and enrol again",
            f.id
        ))
    })?;
    Ok(key.open(&totp_context(f.user_id), sealed)?)
}

/// A keyed hash of a one-time code, bound to its user.
pub(crate) fn code_mac(key: &Key, user_id: i64, code: &str) -> [u8; 32] {
    key.mac("otp", format!("{user_id}:{code}").as_bytes())
}

/// A keyed hash of a device token.
pub(crate) fn device_mac(key: &Key, token: &str) -> [u8; 32] {
    key.mac("device", token.trim().as_bytes())
}

/// Where a message went, as keyed hashes the outbox can be searched by: an
/// address, or a number whole and without its calling code.
pub(crate) fn to_macs(key: &Key, to: &Recipient) -> To {
    let mac = |text: &str| Some(key.mac("recipient", text.as_bytes()));
    match to {
        Recipient::Address(address) => To {
            whole: mac(address),
            national: None,
        },
        Recipient::Number(n) => To {
            whole: n.e164.as_deref().and_then(mac),
            national: n.national.as_deref().and_then(mac),
        },
    }
}

/// The keyed hashes of a real destination (an E.164 number or an address),
/// filed with its message.
pub(crate) fn destination_macs(key: &Key, destination: &str) -> To {
    let mac = |text: &str| Some(key.mac("recipient", text.as_bytes()));
    match Phone::stored(destination) {
        Some(p) => To {
            whole: mac(&p.e164()),
            national: mac(p.national()),
        },
        None if destination.is_empty() => To::default(),
        None => To {
            whole: mac(&canonical_email(destination)),
            national: None,
        },
    }
}

/// A keyed hash of a backup code, as typed in its canonical form.
pub(crate) fn backup_code_mac(key: &Key, canonical: &str) -> [u8; 32] {
    key.mac("backup", canonical.as_bytes())
}

/// `dev_` and 32 base32 characters (160 bits).
pub(crate) fn new_device_token(cx: &mut Ctx<'_>) -> String {
    let bytes: [u8; 20] = cx.rng.bytes();
    format!("dev_{}", totp::secret_base32(&bytes).to_lowercase())
}
