//! Trusted-device use cases: list a user's remembered computers with their
//! state, and revoke one or all (with a reason).

use super::views::{DeviceState, DeviceView};
use super::{Desk, DeskError, Result, reason, user_by_email};
use crate::domain::Time;
use crate::store::Db;
use crate::store::devices::{self, DeviceRow};

pub(crate) fn view(d: &DeviceRow, addresses: Vec<String>, now: Time) -> DeviceView {
    DeviceView {
        id: d.id,
        label: d.label.clone(),
        state: if d.revoked_at.is_some() {
            DeviceState::Revoked
        } else if now >= d.trusted_until {
            DeviceState::Expired
        } else {
            DeviceState::Trusted
        },
        last_ip: d.last_ip.clone(),
        addresses,
        first_seen_at: d.first_seen_at,
        last_seen_at: d.last_seen_at,
        trusted_until: d.trusted_until,
        revoked_at: d.revoked_at,
        revoked_reason: d.revoked_reason.clone(),
    }
}

pub(crate) fn views(db: &Db, user_id: i64, now: Time) -> Result<Vec<DeviceView>> {
    devices::for_user(db, user_id)?
        .iter()
        .map(|d| Ok(view(d, devices::addresses(db, d.id)?, now)))
        .collect()
}

/// One device, or all of a user's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Which {
    One(i64),
    All,
}

impl Desk {
    pub fn devices(&self, email: &str) -> Result<Vec<DeviceView>> {
        let u = user_by_email(self.db(), email)?;
        views(self.db(), u.id, self.now())
    }

    /// Revoke; the next login from that computer is challenged. Returns how
    /// many were revoked.
    pub fn revoke_devices(&mut self, email: &str, which: Which, why: &str) -> Result<usize> {
        let why = reason(why, "revoke a device")?;
        self.run(|cx| {
            let u = cx.user(email)?;
            let (n, detail) = match which {
                Which::One(id) => {
                    let d = devices::by_id(cx.db, id)?
                        .filter(|d| d.user_id == u.id)
                        .ok_or_else(|| DeskError::UnknownDevice {
                            email: u.email.clone(),
                            id,
                        })?;
                    if !devices::revoke(cx.db, id, cx.now, &why)? {
                        return Err(DeskError::Refused(format!(
                            "device {id} ({}) is already revoked: nothing to change (its next login is challenged)",
                            d.label
                        )));
                    }
                    (1, format!("revoked device {id} ({}): {why}", d.label))
                }
                Which::All => {
                    let n = devices::revoke_all(cx.db, u.id, cx.now, &why)?;
                    (n, format!("revoked all {n} device(s): {why}"))
                }
            };
            cx.audit(Some(u.id), "device.revoke", &detail, None)?;
            Ok(n)
        })
    }
}
