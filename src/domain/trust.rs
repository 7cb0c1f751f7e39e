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
    /// Every address it completed a second factor from in its trust period.
    pub addresses: Vec<String>,
    pub trusted_until: Time,
    pub revoked_at: Option<Time>,
}

impl Device {
    /// Whether `ip` is one of its addresses: returning from it is not new.
    pub fn knows(&self, ip: &str) -> bool {
        self.addresses.iter().any(|a| a == ip)
    }
}

/// How a presented device stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trust {
    /// Remembered, unexpired, unrevoked, from an address it completed a
    /// second factor from in its trust period: no challenge needed.
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
    /// is (new IP, last IP) when it also comes from an address it never
    /// completed a second factor from.
    Expired {
        label: String,
        at: Time,
        moved: Option<(String, String)>,
    },
    /// A remembered device seen from an address it has not completed a
    /// second factor from in its trust period; `known` are those it has,
    /// newest first.
    NewIp {
        label: String,
        ip: String,
        known: Vec<String>,
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
            Trust::NewIp { label, ip, known } => format!(
                "Device \"{label}\" is logging in from new IP {ip} ({}), so a code is needed.",
                known_from(known)
            ),
        }
    }
}

/// `it has completed a code from 198.51.100.7 and 192.0.2.4`: the addresses
/// named, at most three, and how many more.
pub(crate) fn known_from(known: &[String]) -> String {
    const NAMED: usize = 3;
    let named: Vec<&str> = known.iter().take(NAMED).map(String::as_str).collect();
    let list = match named.as_slice() {
        [] => return "it has completed a code from no address yet".to_owned(),
        [one] => (*one).to_owned(),
        [rest @ .., last] if known.len() <= NAMED => format!("{} and {last}", rest.join(", ")),
        all => format!("{} and {} more", all.join(", "), known.len() - NAMED),
    };
    format!("it has completed a code only from {list}")
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
            moved: (!d.knows(ip)).then(|| (ip.to_owned(), d.last_ip.clone())),
        };
    }
    if !d.knows(ip) {
        return Trust::NewIp {
            label: d.label.clone(),
            ip: ip.to_owned(),
            known: d.addresses.clone(),
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
            addresses: vec!["198.51.100.7".into()],
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
            s.contains("new IP 203.0.113.9 (it has completed a code only from 198.51.100.7)"),
            "{s}"
        );
    }

    #[test]
    fn every_address_of_the_trust_period_is_known_not_only_the_last() {
        // Completed from the office, then from home: home is the last seen.
        let d = Device {
            last_ip: "192.0.2.4".into(),
            addresses: vec!["192.0.2.4".into(), "198.51.100.7".into()],
            ..laptop()
        };
        let now = t0() + TimeDelta::days(2);
        assert!(assess(Some(&d), 7, "198.51.100.7", now).is_trusted());
        assert!(assess(Some(&d), 7, "192.0.2.4", now).is_trusted());
        let s = assess(Some(&d), 7, "203.0.113.9", now).sentence(now);
        assert_eq!(
            s,
            "Device \"Firefox on macOS\" is logging in from new IP 203.0.113.9 (it has completed a code only from 192.0.2.4 and 198.51.100.7), so a code is needed."
        );
        // Expired, back at a known address: expired, and nothing "new" said.
        let end = t0() + TimeDelta::days(14);
        let s = assess(Some(&d), 7, "198.51.100.7", end).sentence(end);
        assert!(!s.contains("new IP"), "{s}");
        // The last seen address alone is not enough: it must be one completed from.
        let seen_only = Device {
            addresses: vec!["198.51.100.7".into()],
            ..d
        };
        assert!(matches!(
            assess(Some(&seen_only), 7, "192.0.2.4", now),
            Trust::NewIp { .. }
        ));
    }

    #[test]
    fn many_known_addresses_are_named_three_and_counted() {
        let many: Vec<String> = (1..=5).map(|i| format!("192.0.2.{i}")).collect();
        assert_eq!(
            known_from(&many),
            "it has completed a code only from 192.0.2.1, 192.0.2.2, 192.0.2.3 and 2 more"
        );
        assert_eq!(
            known_from(&many[..3]),
            "it has completed a code only from 192.0.2.1, 192.0.2.2 and 192.0.2.3"
        );
        assert_eq!(
            known_from(&[]),
            "it has completed a code from no address yet"
        );
    }
}
