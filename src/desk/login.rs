//! The login flow: start (password, trust, decision, challenge issued),
//! resend, and challenge state; verifying a code is `verify`.

mod resend;
pub(crate) mod verify;

use std::fmt::Write as _;

use chrono::TimeDelta;

use super::account::{factor_of, standing};
use super::challenge::{Issue, issue, parse_ip};
use super::sealing::{device_mac, secret_of};
use super::views::{AppCode, ChallengeView, FactorBrief, LoginStart};
use super::{Ctx, Desk, DeskError, Result, regulation, user_by_email};
use crate::domain::login::{self, Candidate, Facts, Outcome, Password};
use crate::domain::otp;
use crate::domain::totp::{self};
use crate::domain::trust;
use crate::domain::vocab::{ChallengePurpose, ChallengeState};
use crate::domain::{Action, FactorKind, Time, relative, stamp};
use crate::store::challenges::{self};
use crate::store::devices;
use crate::store::factors::{self as factor_rows, FactorRow};
use crate::store::users::UserRow;
use crate::store::{self};

/// How the password step is answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasswordInput {
    /// Check this password (argon2id, here, before the transaction).
    Plain(String),
    /// Already checked elsewhere (the console's worker thread).
    Checked(bool),
    /// Skip it: the simulator, or `--assume-password`.
    Assume,
}

/// Which remembered computer the login comes from, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeviceRef {
    /// The token a browser keeps (from `login verify --remember`).
    Token(String),
    /// A known device by id (the simulator, `--device-id`).
    Id(i64),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginRequest {
    pub email: String,
    pub password: PasswordInput,
    pub device: Option<DeviceRef>,
    pub ip: Option<String>,
    pub action: Action,
    pub factor: Option<i64>,
}

fn factor_gone(challenge_id: i64) -> DeskError {
    DeskError::Refused(format!(
        "the factor challenge {challenge_id} was for has been removed: start a new login"
    ))
}

fn brief(f: &FactorRow) -> FactorBrief {
    FactorBrief {
        id: f.id,
        kind: f.kind,
        label: f.label.clone(),
    }
}

impl Desk {
    /// Start a login (or a step-up action): check the password, weigh trust,
    /// and allow, refuse, or open a challenge on the chosen factor.
    pub fn start_login(&mut self, req: &LoginRequest) -> Result<LoginStart> {
        let ip = parse_ip(req.ip.as_deref())?;
        let checks_password = req.password != PasswordInput::Assume;
        if checks_password && let Some(refused) = self.password_refused(&req.email, &ip)? {
            return self.refuse_password_check(req, &ip, &refused);
        }
        let password = match &req.password {
            PasswordInput::Assume => Password::Assumed,
            PasswordInput::Checked(true) => Password::Correct,
            PasswordInput::Checked(false) => Password::Wrong,
            PasswordInput::Plain(pw) => match self.check_password(&req.email, pw)? {
                None => Password::NotSet,
                Some(true) => Password::Correct,
                Some(false) => Password::Wrong,
            },
        };
        self.run(|cx| {
            let u = cx.user(&req.email)?;
            let device = match &req.device {
                None => None,
                Some(DeviceRef::Token(token)) => {
                    devices::by_token(cx.db, &device_mac(cx.key, token))?
                }
                Some(DeviceRef::Id(id)) => Some(
                    devices::by_id(cx.db, *id)?
                        .filter(|d| d.user_id == u.id)
                        .ok_or_else(|| DeskError::UnknownDevice {
                            email: u.email.clone(),
                            id: *id,
                        })?,
                ),
            };
            let known = match &device {
                Some(d) => devices::addresses(cx.db, d.id)?,
                None => Vec::new(),
            };
            let trust = trust::assess(
                device.as_ref().map(|d| d.as_domain(known)).as_ref(),
                u.id,
                &ip,
                cx.now,
            );
            let facts = Facts {
                status: u.status,
                password,
                lock: u.lock,
                every_login: u.every_login,
                standing: standing(cx.db, &cx.policy, &u, cx.now)?,
                trust,
                action: req.action,
                step_up: cx.policy.needs_step_up(req.action),
                new_password: u.password_change,
            };
            let mut decision = login::decide(&facts, cx.now);
            if checks_password && matches!(password, Password::Correct | Password::Wrong) {
                let banned =
                    regulation::password_checked(cx, &u, &ip, password == Password::Correct)?;
                decision.reasons.extend(banned);
            }
            let own_device = device.filter(|d| d.user_id == u.id);
            let mut start = LoginStart {
                user: u.email.clone(),
                action: req.action,
                decision: decision.outcome,
                reasons: decision.reasons,
                challenge_id: None,
                factor: None,
                expires_at: None,
                attempts_left: None,
                delivery: None,
            };
            match decision.outcome {
                Outcome::Allowed => {
                    if req.action == Action::Login {
                        store::users::set_last_login(cx.db, u.id, cx.now)?;
                    }
                    if let Some(d) = own_device.as_ref().filter(|_| facts.trust.is_trusted()) {
                        devices::touch(cx.db, d.id, &ip, cx.now)?;
                        devices::completed_from(cx.db, d.id, &ip, cx.now)?;
                    }
                }
                Outcome::Denied => {}
                Outcome::Challenge => {
                    let device_id = own_device.as_ref().map(|d| d.id);
                    challenge_login(cx, &u, req, device_id, &ip, &mut start)?;
                }
            }
            let kind = format!("login.{}", decision.outcome);
            let mut detail = format!("{} from {ip}: {}", req.action, start.reasons.join(" "));
            if let Some(id) = start.challenge_id {
                let _ = write!(detail, " (challenge {id})");
            }
            cx.audit(Some(u.id), &kind, &detail, Some(&ip))?;
            Ok(start)
        })
    }

    /// A challenge as the simulator shows it.
    pub fn challenge(&self, challenge_id: i64) -> Result<ChallengeView> {
        let now = self.now();
        let policy = self.policy()?;
        let c = challenges::by_id(self.db(), challenge_id)?
            .ok_or(DeskError::UnknownChallenge(challenge_id))?;
        let u = store::users::by_id(self.db(), c.user_id)?
            .ok_or(DeskError::UnknownChallenge(challenge_id))?;
        let f = c
            .factor_id
            .map(|id| factor_rows::by_id(self.db(), id))
            .transpose()?
            .flatten();
        let ready = c.last_sent_at + policy.resend_cooldown;
        let can_resend = f.as_ref().is_some_and(|f| f.kind != FactorKind::Totp)
            && c.resends < policy.resend_max
            && c.state == ChallengeState::Open;
        // A new code lives its factor's lifetime from when it was sent; a
        // code sent again (`keep`) still runs from when it was made.
        let ttl = f
            .as_ref()
            .map_or(policy.challenge_ttl, |f| policy.code_ttl(f.kind));
        let code_sent_at =
            (c.expires_at - ttl).clamp(c.created_at, c.last_sent_at.max(c.created_at));
        Ok(ChallengeView {
            id: c.id,
            user: u.email,
            purpose: c.purpose,
            factor: f.as_ref().map(brief),
            state: c.state,
            ip: c.ip,
            created_at: c.created_at,
            code_sent_at,
            expires_at: c.expires_at,
            expired: otp::is_expired(c.expires_at, now),
            attempts_left: otp::attempts_left(c.max_attempts, c.attempts),
            resends_left: policy.resend_max.saturating_sub(c.resends),
            // Never further off than one cooldown, whatever the clock says.
            resend_ready_at: (can_resend && now < ready)
                .then_some(ready.min(now + policy.resend_cooldown)),
        })
    }

    /// The latest code a user's authenticator shows now (for the simulator
    /// and the demo), from an active or pending TOTP factor.
    pub fn authenticator_code(
        &self,
        email: &str,
        factor_id: i64,
        offset: TimeDelta,
    ) -> Result<String> {
        Ok(self.app_shows(email, factor_id, offset)?.code)
    }

    /// What a user's authenticator app shows now on a phone whose clock is
    /// `skew` off (the simulator's phone): the code, how long until the
    /// next, and who already spent its time step.
    pub fn app_shows(&self, email: &str, factor_id: i64, skew: TimeDelta) -> Result<AppCode> {
        let u = user_by_email(self.db(), email)?;
        let f = factor_of(self.db(), &u, factor_id)?;
        if f.kind != FactorKind::Totp {
            return Err(DeskError::Refused(format!(
                "factor {factor_id} is not an authenticator app"
            )));
        }
        let secret = secret_of(self.key(), &f)?;
        // A hardware token shows the code of its next press, whatever the time.
        if let Some(next) = f.counter {
            return Ok(AppCode {
                factor_id,
                code: crate::domain::hotp::code_at(&secret, &f.params, next),
                changes_in: TimeDelta::zero(),
                spent: None,
            });
        }
        let phone_now = self.now() + skew;
        let step = f.params.step_of(phone_now);
        Ok(AppCode {
            factor_id,
            code: totp::code_with(&secret, &f.params, phone_now),
            changes_in: TimeDelta::seconds(f.params.seconds_left(phone_now)),
            spent: super::doctor::spent_by(&f, step),
        })
    }
}

impl Desk {
    /// Too many wrong passwords: no check is made at all, so the refusal
    /// says nothing about whether this one was right. Audited.
    fn refuse_password_check(
        &mut self,
        req: &LoginRequest,
        ip: &str,
        refused: &regulation::Refused,
    ) -> Result<LoginStart> {
        self.run(|cx| {
            let u = cx.user(&req.email)?;
            let reason = refused.sentence(cx.now);
            cx.audit(
                Some(u.id),
                "login.denied",
                &format!("{} from {ip}: password check refused: {reason}", req.action),
                Some(ip),
            )?;
            Ok(LoginStart {
                user: u.email.clone(),
                action: req.action,
                decision: Outcome::Denied,
                reasons: vec![capitalised(&reason)],
                challenge_id: None,
                factor: None,
                expires_at: None,
                attempts_left: None,
                delivery: None,
            })
        })
    }

    /// A ban in force on `email`'s password checks, or on `ip`'s: checked
    /// before a password is hashed.
    pub(crate) fn password_refused(
        &self,
        email: &str,
        ip: &str,
    ) -> Result<Option<regulation::Refused>> {
        let u = user_by_email(self.db(), email)?;
        regulation::password_gate(self.db(), u.id, ip, self.now())
    }
}

/// Why a code is not even checked: 2FA is locked, and when that ends.
fn locked_sentence(lock: &crate::domain::lockout::Lock, now: Time) -> String {
    match lock.releases(now) {
        Some(until) => format!(
            "2FA is locked after {} failed attempts; it releases {} ({}) or when an admin unlocks it.",
            lock.failures,
            relative(until, now),
            stamp(until)
        ),
        None => format!(
            "2FA is locked after {} failed codes in a row with no success between; only an admin can unlock it.",
            lock.streak
        ),
    }
}

/// A sentence as it starts a message.
fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map_or_else(String::new, |c| c.to_uppercase().chain(chars).collect())
}

/// Choose the factor, issue the challenge and fill in the start's details.
fn challenge_login(
    cx: &mut Ctx<'_>,
    u: &UserRow,
    req: &LoginRequest,
    device_id: Option<i64>,
    ip: &str,
    start: &mut LoginStart,
) -> Result<()> {
    let candidates: Vec<Candidate> = factor_rows::for_user(cx.db, u.id)?
        .iter()
        .map(|f| Candidate {
            id: f.id,
            kind: f.kind,
            status: f.status,
            recent_at: f.last_used_at.max(f.confirmed_at),
        })
        .collect();
    let chosen = login::choose(&candidates, req.factor)?.id;
    let f = factor_of(cx.db, u, chosen)?;
    let purpose = match req.action {
        Action::Login => ChallengePurpose::Login,
        Action::Export => ChallengePurpose::Export,
    };
    let superseded = challenges::cancel_open_for_purpose(cx.db, u.id, purpose, cx.now)?;
    let issued = issue(
        cx,
        &Issue {
            user_id: u.id,
            factor: &f,
            purpose,
            device_id,
            ip,
        },
    )?;
    let failed = issued
        .delivery
        .as_ref()
        .filter(|d| d.status == crate::domain::vocab::DeliveryStatus::Failed);
    start.reasons.push(match (f.kind, failed) {
        (FactorKind::Totp, _) if f.label.eq_ignore_ascii_case(f.kind.label()) => {
            format!("Asked for the code from the {}.", f.kind.label())
        }
        (FactorKind::Totp, _) => format!(
            "Asked for the code from the {} ({}).",
            f.kind.label(),
            f.label
        ),
        (_, Some(d)) => format!(
            "No code reached them: the message to {} failed ({}).",
            d.destination,
            d.reason.as_deref().unwrap_or("unknown reason")
        ),
        (_, None) => format!("A code was sent: {}.", f.label),
    });
    if superseded > 0 {
        start.reasons.push(format!(
            "An earlier {} challenge was closed: only this one's code works.",
            req.action
        ));
    }
    start.challenge_id = Some(issued.challenge_id);
    start.factor = Some(brief(&f));
    start.expires_at = Some(issued.expires_at);
    start.attempts_left = Some(cx.policy.code_attempts);
    start.delivery = issued.delivery;
    Ok(())
}
