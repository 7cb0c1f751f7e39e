//! Policy use cases: show every setting with its value, default and meaning;
//! set one for a reason (validated, audited; enforcement restarts grace).

use std::fmt::Write as _;

use super::views::PolicyItem;
use super::{Desk, Result, because, reason};
use crate::domain::policy::{Policy, settings};
use crate::store;

impl Desk {
    pub fn policy_items(&self) -> Result<Vec<PolicyItem>> {
        let policy = self.policy()?;
        let defaults = Policy::default();
        settings()
            .map(|s| {
                Ok(PolicyItem {
                    key: s.key,
                    value: policy.get(s.key).unwrap_or_default(),
                    default: defaults.get(s.key).unwrap_or_default(),
                    meaning: s.meaning,
                    form: s.form,
                    changed_at: store::policy::changed_at(self.db(), s.key)?,
                })
            })
            .collect()
    }

    /// Set one policy value, for a reason (required: a policy change can
    /// turn 2FA off for everyone, so it is audited like any destructive
    /// action); returns the item as it now stands.
    pub fn set_policy(&mut self, key: &str, value: &str, why: &str) -> Result<PolicyItem> {
        let key = key.trim().to_ascii_lowercase();
        let why = reason(why, "change a policy setting")?;
        self.run(|cx| {
            let before = cx.policy.get(&key).unwrap_or_default();
            let mut next = cx.policy.clone();
            next.set(&key, value)?;
            let normalized = next.get(&key).unwrap_or_default();
            // Only a change is stored: its time is when grace restarts, so
            // setting a value it already has must not move it.
            let changed = normalized != before;
            if changed {
                store::policy::set(cx.db, &key, &normalized, cx.now)?;
                // The rest of a batch reads it from here.
                cx.policy = next.clone();
            }
            let mut detail = format!("{key}: {before} -> {normalized}");
            if !changed {
                detail.push_str(" (unchanged)");
            }
            if key == "enforce" && before != normalized {
                let _ = write!(
                    detail,
                    " (users without a factor have {} day(s) from now to enrol)",
                    next.grace_days
                );
            }
            detail.push_str(&because(&why));
            cx.audit(None, "policy.set", &detail, None)?;
            let setting = Policy::setting(&key).map_or(("", ""), |s| (s.meaning, s.form));
            Ok(PolicyItem {
                key: Policy::setting(&key).map_or("", |s| s.key),
                value: normalized,
                default: Policy::default().get(&key).unwrap_or_default(),
                meaning: setting.0,
                form: setting.1,
                changed_at: store::policy::changed_at(cx.db, &key)?,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use chrono::DateTime;

    use crate::clock::Clock;
    use crate::desk::Desk;
    use crate::rng::Rng;

    fn desk() -> Desk {
        let now = DateTime::parse_from_rfc3339("2026-11-21T09:00:00Z")
            .unwrap()
            .to_utc();
        Desk::for_tests(Clock::fixed(now), Rng::seeded(1))
    }

    /// A batch keeps the policy between its use cases: a change made by
    /// one is what the next reads, and a rolled-back one is forgotten.
    #[test]
    fn inside_a_batch_the_next_use_case_reads_a_changed_policy() {
        let mut desk = desk();
        let before = desk.policy().unwrap().backup_low;
        let seen = desk
            .batch(|d| {
                let first = d.run(|cx| Ok(cx.policy.backup_low))?;
                d.set_policy("backup_low", &(before + 2).to_string(), "test")?;
                let second = d.run(|cx| Ok(cx.policy.backup_low))?;
                Ok((first, second))
            })
            .unwrap();
        assert_eq!(seen, (before, before + 2));
        assert_eq!(desk.policy().unwrap().backup_low, before + 2);
        let failed: crate::desk::Result<()> = desk.batch(|d| {
            d.set_policy("backup_low", &(before + 3).to_string(), "test")?;
            Err(crate::desk::DeskError::Refused("rolled back".to_owned()))
        });
        assert!(failed.is_err());
        assert_eq!(desk.policy().unwrap().backup_low, before + 2);
        let after = desk
            .batch(|d| d.run(|cx| Ok(cx.policy.backup_low)))
            .unwrap();
        assert_eq!(after, before + 2);
    }
}
