//! Trusted devices ("remember this computer"): whether a presented device
//! lets a login skip the challenge, and if not, why not.

use chrono::TimeDelta;

use super::{Time, relative, stamp};

/// What the trust decision needs to know about a remembered device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    pub id: i64,
    pub user_id: i64,
    pub label: String,
    pub last_ip: String,
    pub trusted_until: Time,
    pub revoked_at: Option<Time>,
}

/// How a presented device stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trust {
    /// Remembered, unexpired, unrevoked, same IP: no challenge needed.
    Trusted {
        label: String,
        until: Time,
    },
    /// No device token was presented: a computer we have not seen.
    NewDevice,
    /// A token we do not know, or one that belongs to someone else.
    UnknownDevice,
    Revoked {
        label: String,
        at: Time,
    },
    /// Trust ran out at `at` (it ends exactly at `trusted_until`); `moved`
    /// is (new IP, last IP) when it also comes from a new address.
    Expired {
        label: String,
        at: Time,
        moved: Option<(String, String)>,
    },
    /// A remembered device seen from an address it has not used before.
    NewIp {
        label: String,
        ip: String,
        last_ip: String,
    },
}

impl Trust {
    pub fn is_trusted(&self) -> bool {
        matches!(self, Trust::Trusted { .. })
    }

    /// The reason, as a sentence a support agent can read out.
    pub fn sentence(&self, now: Time) -> String {
        match self {
            Trust::Trusted { label, until } => format!(
                "Trusted device \"{label}\" is remembered until {} ({}).",
                stamp(*until),
                relative(*until, now)
            ),
            Trust::NewDevice => "This computer is not remembered, so a code is needed.".to_owned(),
            Trust::UnknownDevice => {
                "The device token is not one this user's devices carry, so a code is needed."
                    .to_owned()
            }
            Trust::Revoked { label, at } => format!(
                "Device \"{label}\" was revoked {} ({}), so a code is needed.",
                relative(*at, now),
                stamp(*at)
            ),
            Trust::Expired { label, at, moved } => format!(
                "Device trust for \"{label}\" expired {} ({}){}, so a code is needed.",
                relative(*at, now),
                stamp(*at),
                moved
                    .as_ref()
                    .map(|(ip, last)| format!(", and it is on new IP {ip} (last seen from {last})"))
                    .unwrap_or_default()
            ),
            Trust::NewIp { label, ip, last_ip } => format!(
                "Device \"{label}\" is logging in from new IP {ip} (last seen from {last_ip}), so a code is needed."
            ),
        }
    }
}

/// Judge `device` (if any was presented) for `user_id` logging in from `ip`.
pub fn assess(device: Option<&Device>, user_id: i64, ip: &str, now: Time) -> Trust {
    let Some(d) = device else {
        return Trust::NewDevice;
    };
    if d.user_id != user_id {
        return Trust::UnknownDevice;
    }
    if let Some(at) = d.revoked_at {
        return Trust::Revoked {
            label: d.label.clone(),
            at,
        };
    }
    if now >= d.trusted_until {
        return Trust::Expired {
            label: d.label.clone(),
            at: d.trusted_until,
            moved: (d.last_ip != ip).then(|| (ip.to_owned(), d.last_ip.clone())),
        };
    }
    if d.last_ip != ip {
        return Trust::NewIp {
            label: d.label.clone(),
            ip: ip.to_owned(),
            last_ip: d.last_ip.clone(),
        };
    }
    Trust::Trusted {
        label: d.label.clone(),
        until: d.trusted_until,
    }
}

/// When trust granted at `now` runs out.
pub fn trusted_until(now: Time, span: TimeDelta) -> Time {
    now + span
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::DateTime;

    fn t0() -> Time {
        DateTime::parse_from_rfc3339("2026-11-01T09:00:00Z")
            .unwrap()
            .to_utc()
    }

    fn laptop() -> Device {
        Device {
            id: 1,
            user_id: 7,
            label: "Firefox on macOS".into(),
            last_ip: "198.51.100.7".into(),
            trusted_until: trusted_until(t0(), TimeDelta::days(14)),
            revoked_at: None,
        }
    }

    #[test]
    fn trusted_for_fourteen_days_to_the_second() {
        let d = laptop();
        let last = t0() + TimeDelta::days(14) - TimeDelta::seconds(1);
        assert!(assess(Some(&d), 7, "198.51.100.7", last).is_trusted());
        let thirteen = t0() + TimeDelta::days(13);
        assert!(assess(Some(&d), 7, "198.51.100.7", thirteen).is_trusted());
        let end = t0() + TimeDelta::days(14);
        assert_eq!(
            assess(Some(&d), 7, "198.51.100.7", end),
            Trust::Expired {
                label: d.label.clone(),
                at: end,
                moved: None
            }
        );
        // Expired and on a new address: both are said.
        let s = assess(Some(&d), 7, "203.0.113.9", end).sentence(end);
        assert!(
            s.contains("expired") && s.contains("new IP 203.0.113.9 (last seen from 198.51.100.7)"),
            "{s}"
        );
    }

    #[test]
    fn a_new_ip_revocation_or_stranger_is_challenged() {
        let d = laptop();
        let now = t0() + TimeDelta::days(1);
        assert!(matches!(
            assess(Some(&d), 7, "203.0.113.9", now),
            Trust::NewIp { .. }
        ));
        assert_eq!(
            assess(Some(&d), 8, "198.51.100.7", now),
            Trust::UnknownDevice
        );
        assert_eq!(assess(None, 7, "198.51.100.7", now), Trust::NewDevice);
        let revoked = Device {
            revoked_at: Some(now),
            ..laptop()
        };
        assert!(matches!(
            assess(Some(&revoked), 7, "198.51.100.7", now),
            Trust::Revoked { .. }
        ));
    }

    #[test]
    fn sentences_carry_the_evidence() {
        let now = t0() + TimeDelta::days(16);
        let s = assess(Some(&laptop()), 7, "198.51.100.7", now).sentence(now);
        assert_eq!(
            s,
            "Device trust for \"Firefox on macOS\" expired 2 days ago (2026-11-15 09:00:00 UTC), so a code is needed."
        );
        let s = assess(Some(&laptop()), 7, "203.0.113.9", t0()).sentence(t0());
        assert!(
            s.contains("new IP 203.0.113.9 (last seen from 198.51.100.7)"),
            "{s}"
        );
    }
}
