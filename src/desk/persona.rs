//! How the login simulator plays a person: their phone's clock and the
//! address they log in from, as a story tells it or as their data shows.

use chrono::TimeDelta;

use super::challenge::parse_ip;
use super::views::Persona;
use super::{Desk, DeskError, Result, user_by_email};
use crate::domain::vocab::ChallengePurpose;
use crate::store::personas::{self, PersonaRow};
use crate::store::{Db, challenges, devices};

/// The furthest a simulated phone's clock may be off, either way (the
/// simulator's `<` `>` keys stop there too).
pub const PHONE_SKEW_LIMIT: TimeDelta = TimeDelta::minutes(15);

/// Where a user was last seen from: their newest login (or export), or a
/// remembered computer seen since; `None` before either.
fn last_seen_ip(db: &Db, user_id: i64) -> Result<Option<String>> {
    let login = challenges::recent_for_user(db, user_id, 10)?
        .into_iter()
        .find(|c| c.purpose != ChallengePurpose::Enrol)
        .map(|c| (c.created_at, c.ip));
    let device = devices::for_user(db, user_id)?
        .into_iter()
        .max_by_key(|d| (d.last_seen_at, d.id))
        .map(|d| (d.last_seen_at, d.last_ip));
    Ok(login.into_iter().chain(device).max().map(|(_, ip)| ip))
}

impl Desk {
    /// How the simulator plays `email`: their story's phone and address
    /// where one was told (`demo`), else a phone on time at the address
    /// they were last seen from (their newest login, or a remembered
    /// computer seen since), if any.
    pub fn persona(&self, email: &str) -> Result<Persona> {
        let u = user_by_email(self.db(), email)?;
        let story = personas::get(self.db(), u.id)?;
        let ip = match story.as_ref().and_then(|p| p.ip.clone()) {
            Some(told) => Some(told),
            None => last_seen_ip(self.db(), u.id)?,
        };
        Ok(Persona {
            phone_skew: TimeDelta::seconds(story.as_ref().map_or(0, |p| p.phone_skew)),
            ip,
            from_story: story.is_some(),
        })
    }

    /// Tell how the simulator plays `email` (the demo's stories): their
    /// phone's clock `phone_skew` off, logging in from `ip` (`None`: where
    /// they were last seen). Audited.
    pub fn set_persona(
        &mut self,
        email: &str,
        phone_skew: TimeDelta,
        ip: Option<&str>,
    ) -> Result<Persona> {
        if phone_skew.abs() > PHONE_SKEW_LIMIT {
            return Err(DeskError::Refused(format!(
                "a phone clock {} s off is beyond the simulator's ±{} s",
                phone_skew.num_seconds(),
                PHONE_SKEW_LIMIT.num_seconds()
            )));
        }
        let ip = ip.map(|ip| parse_ip(Some(ip))).transpose()?;
        self.run(|cx| {
            let u = cx.user(email)?;
            let row = PersonaRow {
                phone_skew: phone_skew.num_seconds(),
                ip: ip.clone(),
            };
            personas::set(cx.db, u.id, &row)?;
            let phone = match row.phone_skew {
                0 => "keeps time".to_owned(),
                s if s < 0 => format!("runs {} s slow", -s),
                s => format!("runs {s} s fast"),
            };
            cx.audit(
                Some(u.id),
                "user.persona",
                &format!(
                    "in the simulator their phone {phone} and they log in from {}",
                    ip.as_deref().unwrap_or("where they were last seen")
                ),
                None,
            )?;
            Ok(())
        })?;
        self.persona(email)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::Clock;
    use crate::desk::login::{LoginRequest, PasswordInput};
    use crate::desk::users::NewUser;
    use crate::domain::Action;
    use crate::rng::Rng;

    fn desk_with(email: &str) -> Desk {
        let at = chrono::DateTime::parse_from_rfc3339("2026-11-21T09:00:00Z")
            .unwrap()
            .to_utc();
        let mut desk = Desk::for_tests(Clock::fixed(at), Rng::seeded(1));
        desk.add_user(&NewUser {
            email: email.to_owned(),
            name: "A".to_owned(),
            ..NewUser::default()
        })
        .unwrap();
        // An email factor, so each login is challenged from where it came.
        let e = desk.add_email(email, None).unwrap();
        let sent = desk
            .outbox(&crate::desk::records::RecordQuery {
                user: Some(email.to_owned()),
                limit: 1,
                ..Default::default()
            })
            .unwrap();
        let code: String = sent[0]
            .text
            .chars()
            .filter(char::is_ascii_digit)
            .take(6)
            .collect();
        desk.confirm_factor(email, e.factor_id, &code).unwrap();
        desk
    }

    fn login_from(desk: &mut Desk, email: &str, ip: &str) {
        desk.start_login(&LoginRequest {
            email: email.to_owned(),
            password: PasswordInput::Assume,
            device: None,
            ip: Some(ip.to_owned()),
            action: Action::Login,
            factor: None,
        })
        .unwrap();
    }

    #[test]
    fn untold_people_keep_time_where_they_were_last_seen() {
        let a = "a@example.com";
        let mut desk = desk_with(a);
        let never = desk.persona(a).unwrap();
        assert_eq!(
            (never.phone_skew, never.ip, never.from_story),
            (TimeDelta::zero(), None, false)
        );
        login_from(&mut desk, a, "192.0.2.1");
        desk.advance_clock(TimeDelta::minutes(1));
        login_from(&mut desk, a, "192.0.2.2");
        assert_eq!(desk.persona(a).unwrap().ip.as_deref(), Some("192.0.2.2"));
    }

    #[test]
    fn a_story_is_told_checked_and_audited() {
        let a = "a@example.com";
        let mut desk = desk_with(a);
        login_from(&mut desk, a, "192.0.2.1");
        let told = desk
            .set_persona(a, TimeDelta::seconds(-90), Some(" 203.0.113.9 "))
            .unwrap();
        assert_eq!(told.phone_skew, TimeDelta::seconds(-90));
        assert_eq!(told.ip.as_deref(), Some("203.0.113.9"));
        assert!(told.from_story);
        // A phone told, no address: where they were last seen.
        let phone_only = desk.set_persona(a, TimeDelta::seconds(30), None).unwrap();
        assert_eq!(phone_only.ip.as_deref(), Some("192.0.2.1"));
        assert!(desk.set_persona(a, TimeDelta::minutes(16), None).is_err());
        assert!(
            desk.set_persona(a, TimeDelta::zero(), Some("nowhere"))
                .is_err()
        );
        assert!(
            desk.set_persona("b@example.com", TimeDelta::zero(), None)
                .is_err()
        );
        let trail = desk
            .audit(&crate::desk::records::RecordQuery {
                kind: Some("user.persona".to_owned()),
                limit: 10,
                ..Default::default()
            })
            .unwrap();
        assert_eq!(trail.len(), 2, "one event for each story told");
        assert!(trail.iter().any(|e| e.detail.contains("runs 90 s slow")));
    }
}
