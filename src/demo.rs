//! The demo database: the support situations of `assets/demo.json`, each built
//! through the real use cases on a moving clock, deterministic for a seed and `now`.

pub mod population;

use chrono::TimeDelta;
use serde::{Deserialize, Serialize};

use crate::desk::login::{DeviceRef, LoginRequest, PasswordInput};
use crate::desk::records::RecordQuery;
use crate::desk::users::{Edit, NewUser};
use crate::desk::views::VerifyResult;
use crate::desk::{Desk, DeskError, Result};
use crate::domain::{Action, Role, Time, UserStatus};

/// The scenario file, embedded.
pub const SCENARIO: &str = include_str!("../assets/demo.json");

/// The reason the demo gives for the settings it starts with.
const DEMO_SETUP: &str = "demo setup";

#[derive(Debug, Clone, Deserialize)]
pub struct Scenario {
    pub password: String,
    pub issuer: String,
    pub users: Vec<ScenarioUser>,
    pub filler: Filler,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ScenarioUser {
    pub situation: Situation,
    pub email: String,
    pub name: String,
    #[serde(default)]
    pub role: Option<String>,
    pub summary: String,
    pub ip: String,
    #[serde(default)]
    pub new_ip: Option<String>,
    #[serde(default)]
    pub device: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub skew_seconds: Option<i64>,
    #[serde(default)]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Situation {
    Healthy,
    ClockSkew,
    SmsCountry,
    CodesExhausted,
    Locked,
    GraceOver,
    Pending,
    EmailCodes,
    TrustExpired,
    EveryLogin,
    Replay,
    Disabled,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Filler {
    pub count: usize,
    pub domain: String,
    pub first_names: Vec<String>,
    pub last_names: Vec<String>,
}

impl ScenarioUser {
    /// How far their phone's clock is off, as the story tells it (a clock
    /// skew story untold: 90 s slow).
    pub fn phone_skew(&self) -> TimeDelta {
        let untold = if self.situation == Situation::ClockSkew {
            -90
        } else {
            0
        };
        TimeDelta::seconds(self.skew_seconds.unwrap_or(untold))
    }

    /// The address the story has them log in from now: the new one they
    /// arrive from (Ivan), else their usual one. (Mallory's other address
    /// is whoever replayed her code, not her.)
    pub fn address_now(&self) -> &str {
        match (self.situation, self.new_ip.as_deref()) {
            (Situation::TrustExpired, Some(new_ip)) => new_ip,
            _ => &self.ip,
        }
    }
}

impl Scenario {
    pub fn embedded() -> Result<Scenario> {
        serde_json::from_str(SCENARIO).map_err(|e| {
            DeskError::Refused(format!("assets/demo.json is not a valid scenario: {e}"))
        })
    }
}

/// What was built, for the summary the `demo` command prints.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub now: Time,
    pub password: String,
    pub users: usize,
    pub scenarios: Vec<ScenarioLine>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ScenarioLine {
    pub email: String,
    pub situation: Situation,
    pub summary: String,
    /// A remembered device's token, for `login start --device`.
    pub device_token: Option<String>,
    /// The address that device was remembered from: a login with the token
    /// from any other `--ip` is challenged as a new IP.
    pub device_ip: Option<String>,
}

/// Builds on one desk, moving its clock to each moment it needs.
struct Builder<'a> {
    desk: &'a mut Desk,
    now: Time,
    password: String,
}

impl Builder<'_> {
    /// Move the clock to `now - ago`.
    fn at(&mut self, ago: TimeDelta) {
        let target = self.now - ago;
        let current = self.desk.now();
        self.desk.advance_clock(target - current);
    }

    fn add(&mut self, u: &ScenarioUser, ago: TimeDelta) -> Result<()> {
        self.at(ago);
        let hash = self.desk.hash_password(&self.password)?;
        self.desk.add_user(&NewUser {
            email: u.email.clone(),
            name: u.name.clone(),
            role: u.role.as_deref().and_then(Role::parse),
            phone: None,
            password_hash: Some(hash),
        })?;
        Ok(())
    }

    /// Enrol and confirm an authenticator app; returns the factor id.
    fn totp(&mut self, email: &str) -> Result<i64> {
        let e = self.desk.enrol_totp(email)?;
        self.at_plus(TimeDelta::seconds(40));
        let code = self
            .desk
            .authenticator_code(email, e.factor_id, TimeDelta::zero())?;
        self.desk.confirm_factor(email, e.factor_id, &code)?;
        Ok(e.factor_id)
    }

    fn at_plus(&mut self, by: TimeDelta) {
        self.desk.advance_clock(by);
    }

    /// The newest code in a user's outbox.
    fn latest_code(&self, email: &str) -> Result<String> {
        let messages = self.desk.outbox(&RecordQuery {
            user: Some(email.to_owned()),
            kind: None,
            before: None,
            limit: 1,
        })?;
        messages
            .first()
            .and_then(|m| six_digits(&m.text))
            .ok_or_else(|| DeskError::Refused(format!("no code in {email}'s outbox")))
    }

    fn start(&mut self, email: &str, ip: &str, device: Option<DeviceRef>) -> Result<Option<i64>> {
        let s = self.desk.start_login(&LoginRequest {
            email: email.to_owned(),
            password: PasswordInput::Checked(true),
            device,
            ip: Some(ip.to_owned()),
            action: Action::Login,
            factor: None,
        })?;
        Ok(s.challenge_id)
    }

    /// A login answered with the authenticator's current code (shifted by
    /// `skew`), remembering the computer if `remember` names it.
    fn totp_login(
        &mut self,
        email: &str,
        factor: i64,
        ip: &str,
        device: Option<DeviceRef>,
        remember: Option<&str>,
        skew: TimeDelta,
    ) -> Result<(VerifyResult, Option<String>)> {
        let Some(challenge) = self.start(email, ip, device)? else {
            return Ok((VerifyResult::Accepted, None));
        };
        self.at_plus(TimeDelta::seconds(12));
        let code = self.desk.authenticator_code(email, factor, skew)?;
        let v = self.desk.verify(challenge, &code, remember)?;
        Ok((v.result, v.device_token))
    }
}

fn six_digits(text: &str) -> Option<String> {
    text.split(|c: char| !c.is_ascii_digit())
        .find(|run| run.len() == 6)
        .map(str::to_owned)
}

fn days(n: i64) -> TimeDelta {
    TimeDelta::days(n)
}

fn minutes(n: i64) -> TimeDelta {
    TimeDelta::minutes(n)
}

/// Who, beside the scenario's own users, fills the lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Crowd {
    /// The scenario's few ordinary colleagues.
    Colleagues,
    /// `demo --users N`: that many generated people, drawn from a seed.
    Generated { users: u32, seed: u64 },
}

/// Build the scenario into an empty desk whose clock reads `now`.
pub fn build(desk: &mut Desk, scenario: &Scenario) -> Result<Report> {
    build_with(desk, scenario, Crowd::Colleagues, &mut |_, _| {})
}

/// Build the scenario, and `crowd` beside it, into an empty desk whose
/// clock reads `now`.
pub fn build_with(
    desk: &mut Desk,
    scenario: &Scenario,
    crowd: Crowd,
    progress: population::Progress<'_>,
) -> Result<Report> {
    let now = desk.now();
    desk.set_actor("demo");
    let mut b = Builder {
        desk,
        now,
        password: scenario.password.clone(),
    };
    b.at(days(400));
    b.desk
        .set_policy("totp_issuer", &scenario.issuer, DEMO_SETUP)?;
    // SMS to the UK was allowed once; the demo narrows it later (Carol).
    b.desk.set_policy("sms_countries", "1,44", DEMO_SETUP)?;
    let mut lines = Vec::new();
    for u in &scenario.users {
        let token = build_one(&mut b, u)?;
        lines.push(ScenarioLine {
            email: u.email.clone(),
            situation: u.situation,
            summary: u.summary.clone(),
            device_ip: token.as_ref().map(|_| u.ip.clone()),
            device_token: token,
        });
    }
    // The simulator plays them as their story goes: told only where the
    // story differs from their data (a phone off time, an address other
    // than the one they were last seen at).
    for u in &scenario.users {
        let untold = b.desk.persona(&u.email)?;
        if u.phone_skew() != untold.phone_skew || untold.ip.as_deref() != Some(u.address_now()) {
            b.desk
                .set_persona(&u.email, u.phone_skew(), Some(u.address_now()))?;
        }
    }
    let others = match crowd {
        Crowd::Colleagues => {
            filler(&mut b, &scenario.filler)?;
            scenario.filler.count
        }
        Crowd::Generated { users, seed } => {
            let password = b.password.clone();
            population::generate(b.desk, users, seed, now, &password, progress)?
        }
    };
    b.at(TimeDelta::zero());
    b.desk.set_actor("admin");
    Ok(Report {
        now,
        password: scenario.password.clone(),
        users: scenario.users.len() + others,
        scenarios: lines,
    })
}

#[allow(clippy::too_many_lines)]
fn build_one(b: &mut Builder<'_>, u: &ScenarioUser) -> Result<Option<String>> {
    let email = u.email.as_str();
    let ip = u.ip.as_str();
    let new_ip = u.new_ip.as_deref().unwrap_or("203.0.113.200");
    let label = u.device.as_deref().unwrap_or("Firefox on Linux");
    let none = TimeDelta::zero();
    let mut token = None;
    match u.situation {
        Situation::Healthy => {
            b.add(u, days(120))?;
            let f = b.totp(email)?;
            b.desk.generate_codes(email)?;
            b.at(days(3));
            token = b.totp_login(email, f, ip, None, Some(label), none)?.1;
            b.at(days(1));
            b.start(email, ip, token.clone().map(DeviceRef::Token))?;
        }
        Situation::ClockSkew => {
            b.add(u, days(90))?;
            let f = b.totp(email)?;
            b.desk.generate_codes(email)?;
            b.at(days(10));
            b.totp_login(email, f, ip, None, None, none)?;
            let skew = u.phone_skew();
            for ago in [22, 21, 20] {
                b.at(minutes(ago));
                b.totp_login(email, f, ip, None, None, skew)?;
            }
        }
        Situation::SmsCountry => {
            b.add(u, days(100))?;
            let phone = u.phone.as_deref().unwrap_or("+447400900123");
            let e = b.desk.add_sms(email, phone)?;
            b.at_plus(TimeDelta::seconds(50));
            let code = b.latest_code(email)?;
            b.desk.confirm_factor(email, e.factor_id, &code)?;
            b.at(days(60));
            if let Some(c) = b.start(email, ip, None)? {
                b.at_plus(TimeDelta::seconds(35));
                let code = b.latest_code(email)?;
                b.desk.verify(c, &code, None)?;
            }
            b.at(days(30));
            b.desk
                .set_policy("sms_countries", "1", "SMS to the US and Canada only")?;
            b.at(minutes(75));
            if let Some(c) = b.start(email, ip, None)? {
                b.at(minutes(73));
                b.desk.resend(c)?;
            }
        }
        Situation::CodesExhausted => {
            b.add(u, days(150))?;
            b.totp(email)?;
            let codes = b.desk.generate_codes(email)?;
            for (i, code) in codes.iter().enumerate() {
                let i = i64::try_from(i).unwrap_or_default();
                b.at(days(60 - i * 6));
                if let Some(c) = b.start(email, ip, None)? {
                    b.at_plus(TimeDelta::seconds(20));
                    b.desk.verify(c, code, None)?;
                }
            }
            b.at(minutes(30));
            if let Some(c) = b.start(email, ip, None)? {
                b.at(minutes(29));
                b.desk.verify(c, &codes[0], None)?;
            }
        }
        Situation::Locked => {
            b.add(u, days(80))?;
            let f = b.totp(email)?;
            b.desk.generate_codes(email)?;
            b.at(days(2));
            b.totp_login(email, f, ip, None, None, none)?;
            for round in 0..2 {
                b.at(minutes(6 - round * 2));
                let Some(c) = b.start(email, ip, None)? else {
                    break;
                };
                for _ in 0..5 {
                    b.at_plus(TimeDelta::seconds(9));
                    // Guesses: codes the app shows at no time near now, nor a
                    // time zone away (17 h is beyond every zone).
                    let guess = b.desk.authenticator_code(email, f, TimeDelta::hours(17))?;
                    b.desk.verify(c, &guess, None)?;
                }
            }
        }
        Situation::GraceOver => {
            b.add(u, days(30))?;
            b.at(minutes(45));
            b.start(email, ip, None)?;
        }
        Situation::Pending => {
            b.add(u, days(9))?;
            b.at(days(8));
            b.desk.enrol_totp(email)?;
            b.at(minutes(15));
            b.start(email, ip, None)?;
        }
        Situation::EmailCodes => {
            b.add(u, days(40))?;
            let e = b.desk.add_email(email, None)?;
            b.at_plus(TimeDelta::seconds(70));
            let code = b.latest_code(email)?;
            b.desk.confirm_factor(email, e.factor_id, &code)?;
            b.desk.generate_codes(email)?;
            b.at(days(2));
            if let Some(c) = b.start(email, ip, None)? {
                b.at_plus(TimeDelta::seconds(95));
                let code = b.latest_code(email)?;
                b.desk.verify(c, &code, None)?;
            }
        }
        Situation::TrustExpired => {
            b.add(u, days(100))?;
            let f = b.totp(email)?;
            b.desk.generate_codes(email)?;
            b.at(days(15));
            let t = b.totp_login(email, f, ip, None, Some(label), none)?.1;
            b.at(minutes(10));
            b.start(email, new_ip, t.clone().map(DeviceRef::Token))?;
            token = t;
        }
        Situation::EveryLogin => {
            b.add(u, days(200))?;
            let f = b.totp(email)?;
            b.desk.generate_codes(email)?;
            b.at(days(5));
            token = b.totp_login(email, f, ip, None, Some(label), none)?.1;
            b.desk.edit_user(
                email,
                &Edit {
                    every_login: Some(true),
                    ..Edit::default()
                },
            )?;
            b.at(days(1));
            b.totp_login(
                email,
                f,
                ip,
                token.clone().map(DeviceRef::Token),
                None,
                none,
            )?;
        }
        Situation::Replay => {
            b.add(u, days(70))?;
            let f = b.totp(email)?;
            b.desk.generate_codes(email)?;
            // Both logins inside one 30-second step, so the code is the same.
            b.at(minutes(12));
            let step_start =
                b.desk.now() - TimeDelta::seconds(b.desk.now().timestamp().rem_euclid(30));
            b.desk.advance_clock(step_start - b.desk.now());
            if let Some(c) = b.start(email, ip, None)? {
                b.at_plus(TimeDelta::seconds(5));
                let code = b.desk.authenticator_code(email, f, none)?;
                b.desk.verify(c, &code, None)?;
                b.at_plus(TimeDelta::seconds(10));
                if let Some(c2) = b.start(email, new_ip, None)? {
                    b.at_plus(TimeDelta::seconds(8));
                    b.desk.verify(c2, &code, None)?;
                }
            }
        }
        Situation::Disabled => {
            b.add(u, days(300))?;
            let f = b.totp(email)?;
            b.desk.generate_codes(email)?;
            b.at(days(9));
            b.totp_login(email, f, ip, None, None, none)?;
            b.at(days(7));
            b.desk.set_user_status(
                email,
                UserStatus::Disabled,
                u.reason.as_deref().unwrap_or("left the company"),
            )?;
            b.at(hours_ago(3));
            b.start(email, ip, None)?;
        }
    }
    Ok(token)
}

fn hours_ago(n: i64) -> TimeDelta {
    TimeDelta::hours(n)
}

/// Ordinary, healthy colleagues, so the lists have something to page through.
fn filler(b: &mut Builder<'_>, f: &Filler) -> Result<()> {
    let firsts = f.first_names.len().max(1);
    let lasts = f.last_names.len().max(1);
    for i in 0..f.count {
        let first = f.first_names.get(i % firsts).map_or("user", String::as_str);
        let last = f
            .last_names
            .get((i * 7 + 3) % lasts)
            .map_or("demo", String::as_str);
        let email = format!(
            "{}.{}@{}",
            first.to_lowercase(),
            last.to_lowercase(),
            f.domain
        );
        let n = i64::try_from(i).unwrap_or_default();
        b.at(days(250 - n * 6));
        let hash = b.desk.hash_password(&b.password.clone())?;
        b.desk.add_user(&NewUser {
            email: email.clone(),
            name: format!("{first} {last}"),
            role: Some(if i % 9 == 0 {
                Role::Admin
            } else {
                Role::Member
            }),
            phone: None,
            password_hash: Some(hash),
        })?;
        let f = b.totp(&email)?;
        if i % 4 != 3 {
            b.desk.generate_codes(&email)?;
        }
        b.at(days(n % 11) + minutes(n * 37 % 600));
        b.totp_login(
            &email,
            f,
            &format!("198.51.100.{}", 100 + i),
            None,
            None,
            TimeDelta::zero(),
        )?;
    }
    Ok(())
}
