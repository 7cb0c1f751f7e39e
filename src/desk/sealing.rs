//! What the use cases keep under the key: authenticator secrets sealed with
//! it, and the keyed hashes of one-time codes, backup codes and device tokens.

use super::{Ctx, DeskError, Result};
use crate::crypto::Key;
use crate::domain::totp;
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

/// A keyed hash of a backup code, as typed in its canonical form.
pub(crate) fn backup_code_mac(key: &Key, canonical: &str) -> [u8; 32] {
    key.mac("backup", canonical.as_bytes())
}

/// `dev_` and 32 base32 characters (160 bits).
pub(crate) fn new_device_token(cx: &mut Ctx<'_>) -> String {
    let bytes: [u8; 20] = cx.rng.bytes();
    format!("dev_{}", totp::secret_base32(&bytes).to_lowercase())
}
