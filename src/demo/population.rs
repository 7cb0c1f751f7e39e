//! `demo --users N`: N ordinary users beside the scenarios, with a realistic
//! spread of factors, devices, backup codes and history, made by the real use cases.
//!
//! A plan is drawn first (who each person is, and the episodes of their life:
//! joining, enrolling, logging in, losing a laptop, fumbling codes), then every
//! episode of every person is played in time order through the desk, so ids
//! grow with time as they do in a real database. Everyone shares one password
//! hash: hashing 100,000 passwords would take an hour of argon2.

use std::collections::HashMap;

use chrono::TimeDelta;
use serde::Deserialize;

use crate::desk::devices::Which;
use crate::desk::login::{DeviceRef, LoginRequest, PasswordInput};
use crate::desk::records::RecordQuery;
use crate::desk::users::NewUser;
use crate::desk::views::FactorBrief;
use crate::desk::{Desk, DeskError, Result};
use crate::domain::{Action, FactorKind, Role, Time};
use crate::rng::Rng;

/// Names, browsers and reasons the generator draws from, embedded.
pub const NAMES: &str = include_str!("../../assets/population.json");

/// The most users `demo --users` makes.
pub const MAX_USERS: u32 = 10_000_000;

/// How far back the logins of the history go.
const HISTORY: TimeDelta = TimeDelta::days(90);
/// How far back people joined.
const OLDEST: TimeDelta = TimeDelta::days(730);

#[derive(Debug, Clone, Deserialize)]
struct Names {
    domain: String,
    #[serde(rename = "first_names")]
    first: Vec<String>,
    #[serde(rename = "last_names")]
    last: Vec<String>,
    browsers: Vec<String>,
    #[serde(rename = "devices_revoked_because")]
    revoke_reasons: Vec<String>,
}

/// One person of the plan.
#[derive(Debug, Clone)]
struct Person {
    email: String,
    name: String,
    role: Role,
    /// The factors they enrol, in order (none, one, or two).
    factors: Vec<FactorKind>,
    phone: String,
    codes: bool,
    home_ip: String,
    away_ip: String,
    browser: u16,
    /// Wrong codes they type come from a phone whose clock is slow.
    slow_phone: bool,
    /// Backup codes they keep for the logins they will answer with one.
    keeps_codes: usize,
}

/// One thing that happens to a person, at one time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Episode {
    Join,
    Enrol,
    /// Starts an authenticator enrolment and never confirms it.
    AbandonEnrolment,
    Login(Login),
    /// Revokes their remembered computers.
    Revoke,
    /// Ten wrong codes in a row: 2FA locks.
    Lockout,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(clippy::struct_excessive_bools)]
struct Login {
    /// From an address away from home (a café, a hotel).
    away: bool,
    /// Ticks "remember this computer".
    remember: bool,
    /// Types a wrong code first.
    wrong_first: bool,
    /// Answers with a backup code.
    backup: bool,
    /// Asks for another code before typing it.
    resend: bool,
}

/// What a person holds while their episodes are played.
#[derive(Debug, Default)]
struct Held {
    factors: Vec<i64>,
    /// Unused backup codes kept for later logins.
    codes: Vec<String>,
    device: Option<String>,
}

/// Everyone, and every episode in time order: (unix seconds, person, episode).
struct Plan {
    people: Vec<Person>,
    timeline: Vec<(i64, u32, Episode)>,
}

/// Progress: episodes played so far, and in all.
pub type Progress<'a> = &'a mut dyn FnMut(u64, u64);

/// Add `count` generated people to `desk`, all with `password`, ending with
/// its clock at `now`. The plan is drawn from `seed`; the same seed, count
/// and `now` give the same database.
pub fn generate(
    desk: &mut Desk,
    count: u32,
    seed: u64,
    now: Time,
    password: &str,
    progress: Progress<'_>,
) -> Result<usize> {
    let names: Names = serde_json::from_str(NAMES).map_err(|e| {
        DeskError::Refused(format!(
            "assets/population.json is not a valid name list: {e}"
        ))
    })?;
    let plan = draw(&names, count, seed, now);
    let hash = desk.hash_password(password)?;
    let mut held: Vec<Held> = plan.people.iter().map(|_| Held::default()).collect();
    let total = u64::try_from(plan.timeline.len()).unwrap_or(u64::MAX);
    let mut done = 0u64;
    progress(0, total);
    // One transaction: all of it lands, or none, and the indexes only the
    // console's lists read are built once at its end.
    desk.fill(|desk| {
        for &(at, who, episode) in &plan.timeline {
            let i = who as usize;
            let target = crate::store::time(at);
            desk.advance_clock(target - desk.now());
            let mut player = Player {
                desk: &mut *desk,
                person: &plan.people[i],
                held: &mut held[i],
                names: &names,
                hash: &hash,
            };
            player.episode(episode)?;
            done += 1;
            if done.is_multiple_of(1024) {
                progress(done, total);
            }
        }
        Ok(())
    })?;
    desk.advance_clock(now - desk.now());
    progress(total, total);
    Ok(plan.people.len())
}

/// Draw everyone and their episodes.
#[allow(clippy::too_many_lines)]
fn draw(names: &Names, count: u32, seed: u64, now: Time) -> Plan {
    let mut rng = Rng::seeded(seed ^ 0x5eed_0f00_0000_0001);
    let mut taken: HashMap<String, u32> = HashMap::new();
    let mut people = Vec::with_capacity(count as usize);
    let mut timeline = Vec::with_capacity(count as usize * 6);
    let now_s = now.timestamp();
    for i in 0..count {
        let first = pick(&mut rng, &names.first).map_or("Sam", String::as_str);
        let last = pick(&mut rng, &names.last).map_or("Lee", String::as_str);
        let local = format!("{}.{}", ascii_fold(first), ascii_fold(last));
        let n = taken.entry(local.clone()).or_insert(0);
        *n += 1;
        let email = if *n == 1 {
            format!("{local}@{}", names.domain)
        } else {
            format!("{local}{n}@{}", names.domain)
        };
        let has_factor = chance(&mut rng, 85);
        let factors = if has_factor {
            let primary = match rng.below(100) {
                0..72 => FactorKind::Totp,
                72..87 => FactorKind::Sms,
                _ => FactorKind::Email,
            };
            let mut factors = vec![primary];
            if chance(&mut rng, 10) {
                factors.push(match primary {
                    FactorKind::Totp => FactorKind::Sms,
                    _ => FactorKind::Totp,
                });
            }
            factors
        } else {
            Vec::new()
        };
        let person = Person {
            email,
            name: format!("{first} {last}"),
            role: if chance(&mut rng, 3) {
                Role::Admin
            } else {
                Role::Member
            },
            phone: format!(
                "+1{}5550{:03}",
                pick(&mut rng, &AREA_CODES).unwrap_or(&415),
                100 + rng.below(100)
            ),
            codes: has_factor && chance(&mut rng, 95),
            home_ip: format!("10.{}.{}.{}", (i >> 16) & 255, (i >> 8) & 255, i & 255),
            away_ip: format!("203.0.113.{}", 1 + rng.below(254)),
            browser: u16::try_from(
                rng.below(u32::try_from(names.browsers.len().max(1)).unwrap_or(1)),
            )
            .unwrap_or_default(),
            slow_phone: chance(&mut rng, 50),
            keeps_codes: 2,
            factors,
        };
        let mut person = person;
        let mut at = |t: i64, e: Episode| timeline.push((t.min(now_s - 60), i, e));
        // Most joined long ago; some of those without a factor are new and
        // still within their grace period.
        let in_grace = !has_factor && chance(&mut rng, 30);
        let joined = if in_grace {
            now_s - between(&mut rng, 3_600, 6 * 86_400)
        } else {
            now_s - between(&mut rng, 86_400, OLDEST.num_seconds())
        };
        at(joined, Episode::Join);
        let mut active_from = joined + 600;
        if has_factor {
            let enrolled = (joined + between(&mut rng, 120, 2 * 86_400)).min(now_s - 7_200);
            at(enrolled, Episode::Enrol);
            active_from = enrolled + 3_600;
        } else if chance(&mut rng, 25) {
            at(
                (joined + between(&mut rng, 3_600, 3 * 86_400)).min(now_s - 3_600),
                Episode::AbandonEnrolment,
            );
        }
        let window = active_from.max(now_s - HISTORY.num_seconds());
        let last = now_s - 300;
        if window < last {
            for _ in 0..=rng.below(5) {
                let login = Login {
                    away: chance(&mut rng, 15),
                    remember: chance(&mut rng, 35),
                    wrong_first: chance(&mut rng, 8),
                    backup: person.codes && chance(&mut rng, 3),
                    resend: chance(&mut rng, 15),
                };
                at(between(&mut rng, window, last), Episode::Login(login));
            }
            if has_factor && chance(&mut rng, 4) {
                at(between(&mut rng, window, last), Episode::Revoke);
            }
            // A lost phone: a run of logins with backup codes, a day or
            // so apart, until the phone turns up or the codes run low.
            if person.codes && chance(&mut rng, 2) {
                person.keeps_codes = 10;
                let mut t = between(&mut rng, window, last);
                let backup = Login {
                    away: false,
                    remember: false,
                    wrong_first: false,
                    backup: true,
                    resend: false,
                };
                for _ in 0..6 + rng.below(5) {
                    at(t.min(last), Episode::Login(backup));
                    t += between(&mut rng, 3 * 3_600, 2 * 86_400);
                }
            }
            if has_factor {
                match rng.below(1000) {
                    // Locked right now.
                    0..4 => at(now_s - between(&mut rng, 120, 720), Episode::Lockout),
                    // Locked once, released since.
                    4..14 => at(between(&mut rng, window, last), Episode::Lockout),
                    _ => {}
                }
            }
        }
        people.push(person);
    }
    // Time order; within one second, the order people were drawn in.
    timeline.sort_by_key(|&(t, who, _)| (t, who));
    Plan { people, timeline }
}

/// Area codes of real US regions, for fictional 555-01XX numbers.
const AREA_CODES: [u16; 12] = [201, 212, 303, 312, 415, 503, 512, 617, 702, 808, 919, 971];

fn chance(rng: &mut Rng, percent: u32) -> bool {
    rng.below(100) < percent
}

/// A uniform number of seconds in `lo..hi` (`lo` when the range is empty).
fn between(rng: &mut Rng, lo: i64, hi: i64) -> i64 {
    let span = u32::try_from((hi - lo).clamp(1, i64::from(u32::MAX))).unwrap_or(1);
    lo + i64::from(rng.below(span))
}

/// One of `from`, uniformly (`None` from an empty list).
fn pick<'a, T>(rng: &mut Rng, from: &'a [T]) -> Option<&'a T> {
    let len = u32::try_from(from.len()).ok().filter(|&n| n > 0)?;
    from.get(rng.below(len) as usize)
}

/// A name as the ASCII letters of an email address: `Łukasz` → `lukasz`,
/// `O'Brien` → `obrien`, `van Dijk` → `vandijk`.
fn ascii_fold(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars().flat_map(char::to_lowercase) {
        let folded = match c {
            'á' | 'à' | 'â' | 'ä' | 'ã' | 'å' => "a",
            'ç' | 'č' | 'ć' => "c",
            'é' | 'è' | 'ê' | 'ë' | 'ę' => "e",
            'í' | 'ì' | 'î' | 'ï' | 'ı' => "i",
            'ł' => "l",
            'ñ' | 'ń' => "n",
            'ó' | 'ò' | 'ô' | 'ö' | 'õ' | 'ø' => "o",
            'ś' | 'š' | 'ş' => "s",
            'ú' | 'ù' | 'û' | 'ü' => "u",
            'ý' | 'ÿ' => "y",
            'ž' | 'ź' | 'ż' => "z",
            'ğ' => "g",
            'ß' => "ss",
            c if c.is_ascii_alphanumeric() => {
                out.push(c);
                continue;
            }
            _ => "",
        };
        out.push_str(folded);
    }
    if out.is_empty() {
        "user".to_owned()
    } else {
        out
    }
}

/// Plays one person's episodes through the desk.
struct Player<'a> {
    desk: &'a mut Desk,
    person: &'a Person,
    held: &'a mut Held,
    names: &'a Names,
    hash: &'a str,
}

impl Player<'_> {
    fn email(&self) -> &str {
        &self.person.email
    }

    fn wait(&mut self, seconds: i64) {
        self.desk.advance_clock(TimeDelta::seconds(seconds));
    }

    fn episode(&mut self, episode: Episode) -> Result<()> {
        match episode {
            Episode::Join => {
                self.desk.add_user(&NewUser {
                    email: self.person.email.clone(),
                    name: self.person.name.clone(),
                    role: Some(self.person.role),
                    phone: None,
                    password_hash: Some(self.hash.to_owned()),
                })?;
            }
            Episode::Enrol => self.enrol()?,
            Episode::AbandonEnrolment => {
                self.desk.enrol_totp(&self.person.email)?;
            }
            Episode::Login(login) => self.login(login)?,
            Episode::Revoke => {
                if self.held.device.take().is_some() {
                    let why = pick_reason(self.names, self.person.browser);
                    self.desk
                        .revoke_devices(&self.person.email, Which::All, why)?;
                }
            }
            Episode::Lockout => self.lockout()?,
        }
        Ok(())
    }

    fn enrol(&mut self) -> Result<()> {
        let email = self.person.email.clone();
        for kind in self.person.factors.clone() {
            let id = match kind {
                FactorKind::Totp => {
                    let e = self.desk.enrol_totp(&email)?;
                    self.wait(25);
                    let code =
                        self.desk
                            .authenticator_code(&email, e.factor_id, TimeDelta::zero())?;
                    self.desk.confirm_factor(&email, e.factor_id, &code)?;
                    e.factor_id
                }
                FactorKind::Sms | FactorKind::Email => {
                    let e = if kind == FactorKind::Sms {
                        self.desk.add_sms(&email, &self.person.phone)?
                    } else {
                        self.desk.add_email(&email, None)?
                    };
                    self.wait(40);
                    let code = self.latest_code()?;
                    self.desk.confirm_factor(&email, e.factor_id, &code)?;
                    e.factor_id
                }
            };
            self.held.factors.push(id);
            self.wait(20);
        }
        if self.person.codes {
            // Kept for the backup logins of the plan: a few, or all ten
            // for someone who will lose their phone.
            let mut codes = self.desk.generate_codes(&email)?;
            codes.truncate(self.person.keeps_codes);
            self.held.codes = codes;
        }
        Ok(())
    }

    fn login(&mut self, l: Login) -> Result<()> {
        let ip = if l.away {
            &self.person.away_ip
        } else {
            &self.person.home_ip
        };
        let start = self.desk.start_login(&LoginRequest {
            email: self.person.email.clone(),
            password: PasswordInput::Checked(true),
            device: self.held.device.clone().map(DeviceRef::Token),
            ip: Some(ip.clone()),
            action: Action::Login,
            factor: None,
        })?;
        let (Some(challenge), Some(factor)) = (start.challenge_id, start.factor) else {
            return Ok(());
        };
        if start
            .delivery
            .is_some_and(|d| d.status == crate::domain::vocab::DeliveryStatus::Failed)
        {
            return Ok(());
        }
        if l.resend && factor.kind != FactorKind::Totp {
            self.wait(35);
            self.desk.resend(challenge)?;
        }
        self.wait(15);
        if l.wrong_first {
            let wrong = self.wrong_code(&factor)?;
            self.desk.verify(challenge, &wrong, None)?;
            self.wait(12);
        }
        let code = match self.held.codes.pop() {
            Some(code) if l.backup => code,
            other => {
                self.held.codes.extend(other);
                self.right_code(&factor)?
            }
        };
        let browser = &self.names.browsers[usize::from(self.person.browser)];
        let out = self
            .desk
            .verify(challenge, &code, l.remember.then_some(browser.as_str()))?;
        if let Some(token) = out.device_token {
            self.held.device = Some(token);
        }
        Ok(())
    }

    /// Ten wrong codes over two logins from away: 2FA locks.
    fn lockout(&mut self) -> Result<()> {
        for _ in 0..2 {
            let start = self.desk.start_login(&LoginRequest {
                email: self.person.email.clone(),
                password: PasswordInput::Checked(true),
                device: None,
                ip: Some(self.person.away_ip.clone()),
                action: Action::Login,
                factor: None,
            })?;
            let (Some(challenge), Some(factor)) = (start.challenge_id, start.factor) else {
                return Ok(());
            };
            for _ in 0..5 {
                self.wait(9);
                let wrong = self.wrong_code(&factor)?;
                self.desk.verify(challenge, &wrong, None)?;
            }
            self.wait(40);
        }
        Ok(())
    }

    fn right_code(&self, factor: &FactorBrief) -> Result<String> {
        match factor.kind {
            FactorKind::Totp => {
                self.desk
                    .authenticator_code(self.email(), factor.id, TimeDelta::zero())
            }
            FactorKind::Sms | FactorKind::Email => self.latest_code(),
        }
    }

    /// A code that is not the right one: from a slow phone (the doctor sees
    /// the skew), or the right one mistyped.
    fn wrong_code(&self, factor: &FactorBrief) -> Result<String> {
        if factor.kind == FactorKind::Totp && self.person.slow_phone {
            return self
                .desk
                .authenticator_code(self.email(), factor.id, TimeDelta::seconds(-90));
        }
        let right: u32 = self.right_code(factor)?.parse().unwrap_or_default();
        Ok(format!("{:06}", (right + 1) % 1_000_000))
    }

    /// The code in the newest message to this person.
    fn latest_code(&self) -> Result<String> {
        let messages = self.desk.outbox(&RecordQuery {
            user: Some(self.person.email.clone()),
            kind: None,
            before: None,
            limit: 1,
        })?;
        messages
            .first()
            .and_then(|m| super::six_digits(&m.text))
            .ok_or_else(|| DeskError::Refused(format!("no code in {}'s outbox", self.person.email)))
    }
}

fn pick_reason(names: &Names, n: u16) -> &str {
    let reasons = &names.revoke_reasons;
    reasons
        .get(usize::from(n) % reasons.len().max(1))
        .map_or("device replaced", String::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> Names {
        serde_json::from_str(NAMES).unwrap()
    }

    fn now() -> Time {
        chrono::DateTime::parse_from_rfc3339("2026-11-21T09:00:00Z")
            .unwrap()
            .to_utc()
    }

    #[test]
    fn names_fold_to_ascii_addresses() {
        assert_eq!(ascii_fold("Łukasz"), "lukasz");
        assert_eq!(ascii_fold("O'Brien"), "obrien");
        assert_eq!(ascii_fold("van Dijk"), "vandijk");
        assert_eq!(ascii_fold("Zoë"), "zoe");
        assert_eq!(ascii_fold("Søren"), "soren");
        assert_eq!(ascii_fold("陈"), "user");
        for n in names().first.iter().chain(&names().last) {
            let f = ascii_fold(n);
            assert!(f.bytes().all(|b| b.is_ascii_alphanumeric()), "{n} -> {f}");
        }
    }

    #[test]
    fn a_plan_is_deterministic_and_emails_are_unique() {
        let a = draw(&names(), 3000, 9, now());
        let b = draw(&names(), 3000, 9, now());
        let c = draw(&names(), 3000, 10, now());
        let emails = |p: &Plan| p.people.iter().map(|x| x.email.clone()).collect::<Vec<_>>();
        assert_eq!(emails(&a), emails(&b));
        assert_eq!(a.timeline, b.timeline);
        assert_ne!(emails(&a), emails(&c));
        let mut unique = emails(&a);
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), 3000);
    }

    #[test]
    fn a_plan_has_the_spread_it_promises() {
        let plan = draw(&names(), 10_000, 1, now());
        let share = |f: &dyn Fn(&Person) -> bool| {
            plan.people.iter().filter(|p| f(p)).count() * 100 / plan.people.len()
        };
        let with_factor = share(&|p| !p.factors.is_empty());
        assert!((82..=88).contains(&with_factor), "{with_factor}%");
        let totp = share(&|p| p.factors.first() == Some(&FactorKind::Totp));
        assert!(totp > 55, "mostly authenticator apps: {totp}%");
        assert!(share(&|p| p.factors.len() == 2) >= 5);
        let now_s = now().timestamp();
        let sorted = plan.timeline.windows(2).all(|w| w[0].0 <= w[1].0);
        assert!(sorted, "time order");
        assert!(plan.timeline.iter().all(|&(t, _, _)| t < now_s));
        let locked_now = plan
            .timeline
            .iter()
            .filter(|&&(t, _, e)| e == Episode::Lockout && t > now_s - 900)
            .count();
        assert!(locked_now > 0, "a few are locked right now");
        let logins = plan
            .timeline
            .iter()
            .filter(|&&(t, _, e)| {
                matches!(e, Episode::Login(_)) && t >= now_s - HISTORY.num_seconds()
            })
            .count();
        assert!((25_000..=35_000).contains(&logins), "{logins} logins");
        // Every number the generator can draw is a real one (+1 NXX 555-01XX).
        for (area, n) in AREA_CODES
            .iter()
            .flat_map(|a| (100..200).map(move |n| (a, n)))
        {
            let e164 = format!("+1{area}5550{n:03}");
            let parsed = crate::domain::contact::Phone::parse(&e164).map(|p| p.e164());
            assert_eq!(parsed.as_deref(), Ok(e164.as_str()));
        }
    }
}
