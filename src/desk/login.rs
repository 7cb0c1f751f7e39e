//! The login flow: start (password, trust, decision, challenge issued),
//! verify (TOTP, SMS/email or backup code), resend, and challenge state.

use std::fmt::Write as _;

use chrono::TimeDelta;

use super::factors::{factor_of, secret_of};
use super::gateway::{self, Message};
use super::users::standing;
use super::views::{
    ChallengeView, DeliveryOutcome, FactorBrief, LoginStart, ResendOutcome, ResendResult,
    VerifyOutcome, VerifyResult,
};
use super::{Ctx, Desk, DeskError, Result, regulation, user_by_email};
use crate::crypto::{Key, same};
use crate::domain::login::{self, Candidate, Facts, Outcome, Password};
use crate::domain::otp::{self, Entered, Resend, ResendState};
use crate::domain::text::{self, Field};
use crate::domain::totp::{self, Check};
use crate::domain::trust;
use crate::domain::{Action, FactorKind, FactorStatus, Time, relative, span, stamp};
use crate::store::attempts::{self, AttemptKind, AttemptOutcome, FirstUse, NewAttempt};
use crate::store::challenges::{self, ChallengeRow, NewChallenge, Purpose, State};
use crate::store::devices::{self, DeviceRow};
use crate::store::factors::{self as factor_rows, FactorRow};
use crate::store::users::UserRow;
use crate::store::{self, codes, deliveries};

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

/// The address used when none is given.
pub const DEFAULT_IP: &str = "127.0.0.1";

/// A keyed hash of a one-time code, bound to its user.
pub(crate) fn code_mac(key: &Key, user_id: i64, code: &str) -> [u8; 32] {
    key.mac("otp", format!("{user_id}:{code}").as_bytes())
}

fn device_mac(key: &Key, token: &str) -> [u8; 32] {
    key.mac("device", token.trim().as_bytes())
}

fn backup_mac(key: &Key, canonical: &str) -> [u8; 32] {
    key.mac("backup", canonical.as_bytes())
}

pub(crate) fn backup_code_mac(key: &Key, canonical: &str) -> [u8; 32] {
    backup_mac(key, canonical)
}

/// `dev_` and 32 base32 characters (160 bits).
fn new_device_token(cx: &mut Ctx<'_>) -> String {
    let bytes: [u8; 20] = cx.rng.bytes();
    format!("dev_{}", totp::secret_base32(&bytes).to_lowercase())
}

pub(crate) fn parse_ip(ip: Option<&str>) -> Result<String> {
    let text = ip.map_or(DEFAULT_IP, str::trim);
    text.parse::<std::net::IpAddr>()
        .map(|ip| ip.to_string())
        .map_err(|_| {
            DeskError::Refused(format!(
                "`{text}` is not an IP address: use the form 203.0.113.9 or 2001:db8::1"
            ))
        })
}

pub(crate) struct Issue<'a> {
    pub user_id: i64,
    pub factor: &'a FactorRow,
    pub purpose: Purpose,
    pub device_id: Option<i64>,
    pub ip: &'a str,
}

pub(crate) struct Issued {
    pub challenge_id: i64,
    pub expires_at: Time,
    pub delivery: Option<DeliveryOutcome>,
}

/// Open a challenge on a factor; for SMS and email, make and send a code.
pub(crate) fn issue(cx: &mut Ctx<'_>, i: &Issue<'_>) -> Result<Issued> {
    let ttl = cx.policy.code_ttl(i.factor.kind);
    let expires_at = cx.now + ttl;
    let code = match i.factor.kind {
        FactorKind::Totp => None,
        FactorKind::Sms | FactorKind::Email => Some(otp::new_code(cx.rng)),
    };
    let mac = code.as_deref().map(|c| code_mac(cx.key, i.user_id, c));
    let sealed = code
        .as_deref()
        .map(|c| cx.key.seal(cx.rng, "code", c.as_bytes()));
    let challenge_id = challenges::insert(
        cx.conn,
        &NewChallenge {
            user_id: i.user_id,
            factor_id: i.factor.id,
            purpose: i.purpose,
            device_id: i.device_id,
            ip: i.ip,
            code_mac: mac.as_ref().map(<[u8; 32]>::as_slice),
            code_sealed: sealed.as_deref(),
            expires_at,
            max_attempts: cx.policy.code_attempts,
            at: cx.now,
        },
    )?;
    let delivery = match (&code, &mac) {
        (Some(code), Some(mac)) => Some(gateway::send(
            cx,
            &Message {
                user_id: i.user_id,
                factor: i.factor,
                challenge_id,
                purpose: i.purpose,
                code,
                code_mac: mac,
                ttl,
            },
        )?),
        _ => None,
    };
    Ok(Issued {
        challenge_id,
        expires_at,
        delivery,
    })
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
                    devices::by_token(cx.conn, &device_mac(cx.key, token))?
                }
                Some(DeviceRef::Id(id)) => Some(
                    devices::by_id(cx.conn, *id)?
                        .filter(|d| d.user_id == u.id)
                        .ok_or_else(|| DeskError::UnknownDevice {
                            email: u.email.clone(),
                            id: *id,
                        })?,
                ),
            };
            let trust = trust::assess(
                device.as_ref().map(DeviceRow::as_domain).as_ref(),
                u.id,
                &ip,
                cx.now,
            );
            let facts = Facts {
                status: u.status,
                password,
                lock: u.lock,
                every_login: u.every_login,
                standing: standing(cx.conn, &cx.policy, &u, cx.now)?,
                trust,
                action: req.action,
                step_up: cx.policy.needs_step_up(req.action),
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
                        store::users::set_last_login(cx.conn, u.id, cx.now)?;
                    }
                    if let Some(d) = own_device.as_ref().filter(|_| facts.trust.is_trusted()) {
                        devices::touch(cx.conn, d.id, &ip, cx.now)?;
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

    /// Check a code typed at a challenge: a TOTP, SMS or email code, or a
    /// backup code. Rejections are results (exit 3), not errors.
    pub fn verify(
        &mut self,
        challenge_id: i64,
        input: &str,
        remember: Option<&str>,
    ) -> Result<VerifyOutcome> {
        let entered = otp::parse_entry(input)?;
        // The label comes from the browser and is shown to the help desk:
        // one line of plain text within its limit, or it is refused.
        let remember = remember
            .map(|l| text::check(Field::DeviceLabel, l))
            .transpose()?
            .map(|l| if l.is_empty() { "Unnamed browser" } else { l }.to_owned());
        self.run(|cx| {
            let c = challenges::by_id(cx.conn, challenge_id)?.ok_or(DeskError::UnknownChallenge(challenge_id))?;
            let u = super::users::by_id(cx, c.user_id)?;
            match c.state {
                State::Open => {}
                State::Accepted => {
                    return Err(DeskError::Refused(format!(
                        "challenge {challenge_id} was already completed: start a new login"
                    )));
                }
                State::Cancelled => {
                    return Err(DeskError::Refused(format!(
                        "challenge {challenge_id} was cancelled (by a newer login, a removed factor, a 2FA reset or a disabled account): start a new login"
                    )));
                }
                State::Failed => {
                    let out = outcome(c.id, VerifyResult::Invalid, 0, format!(
                        "This challenge closed after {} wrong codes: start a new login.", c.max_attempts
                    ));
                    cx.audit(Some(u.id), "login.verify", &format!("challenge {}: refused, closed after too many wrong codes", c.id), Some(&c.ip))?;
                    return Ok(out);
                }
            }
            if c.purpose == Purpose::Enrol {
                return Err(DeskError::Refused(format!(
                    "challenge {challenge_id} confirms a new factor: use `factordesk factor confirm {} {} CODE`",
                    u.email,
                    c.factor_id.unwrap_or_default()
                )));
            }
            let f = c
                .factor_id
                .map(|id| factor_of(cx.conn, &u, id))
                .transpose()?
                .ok_or_else(|| factor_gone(challenge_id))?;
            if f.status != FactorStatus::Active {
                return Err(DeskError::Refused(format!(
                    "{} is {} now, so this challenge cannot complete: start a new login",
                    f.label, f.status
                )));
            }
            let kind = match &entered {
                Entered::Backup(_) => AttemptKind::Backup,
                Entered::Digits(_) => match f.kind {
                    FactorKind::Totp => AttemptKind::Totp,
                    FactorKind::Sms => AttemptKind::Sms,
                    FactorKind::Email => AttemptKind::Email,
                },
            };
            let left_now = otp::attempts_left(c.max_attempts, c.attempts);
            if u.lock.is_locked(cx.now) {
                let until = u.lock.locked_until.unwrap_or(cx.now);
                record(cx, &u, &c, kind, AttemptOutcome::Locked, None, None)?;
                let mut out = outcome(c.id, VerifyResult::Locked, left_now, locked_sentence(&u.lock, cx.now));
                out.locked_until = Some(until);
                cx.audit(Some(u.id), "login.verify", &format!("challenge {}: refused, 2FA locked", c.id), Some(&c.ip))?;
                return Ok(out);
            }
            if otp::is_expired(c.expires_at, cx.now) {
                record(cx, &u, &c, kind, AttemptOutcome::Expired, None, None)?;
                let what = match f.kind {
                    FactorKind::Totp => "This login".to_owned(),
                    _ => "The code".to_owned(),
                };
                let then = match f.kind {
                    FactorKind::Totp => "start a new login",
                    _ => "request another code",
                };
                let out = outcome(c.id, VerifyResult::Expired, left_now, format!(
                    "{what} expired {}: {then}.", relative(c.expires_at, cx.now)
                ));
                cx.audit(Some(u.id), "login.verify", &format!("challenge {}: expired {}", c.id, relative(c.expires_at, cx.now)), Some(&c.ip))?;
                return Ok(out);
            }
            let judged = judge(cx, &u, &c, &f, &entered)?;
            let out = match judged {
                Judged::Accepted { step, backup } => accept(cx, &u, &c, &f, kind, step, backup, remember.as_deref())?,
                Judged::Rejected { result, message, offset, first_used } => {
                    reject(cx, &u, &c, kind, result, &message, offset, first_used.as_ref())?
                }
            };
            Ok(out)
        })
    }

    /// "Request another code": within the cooldown and the resend limit,
    /// send a new code (`replace`) or the same one again (`keep`).
    pub fn resend(&mut self, challenge_id: i64) -> Result<ResendOutcome> {
        self.run(|cx| {
            let c = challenges::by_id(cx.conn, challenge_id)?.ok_or(DeskError::UnknownChallenge(challenge_id))?;
            let u = super::users::by_id(cx, c.user_id)?;
            if c.state != State::Open {
                return Err(DeskError::Refused(format!(
                    "challenge {challenge_id} is {}, so no code can be sent for it: {}",
                    c.state,
                    if c.purpose == Purpose::Enrol {
                        "add the factor again to send a new confirmation code"
                    } else {
                        "start a new login"
                    }
                )));
            }
            let f = c
                .factor_id
                .map(|id| factor_of(cx.conn, &u, id))
                .transpose()?
                .ok_or_else(|| factor_gone(challenge_id))?;
            if f.kind == FactorKind::Totp {
                return Err(DeskError::Refused(
                    "authenticator codes come from the app, so there is nothing to resend: type the code the app shows now".to_owned(),
                ));
            }
            // Like `verify`: a login or export challenge completes only on an
            // active factor, so no code goes out through a disabled one.
            if c.purpose != Purpose::Enrol && f.status != FactorStatus::Active {
                return Err(DeskError::Refused(format!(
                    "{} is {} now, so no code can be sent for this challenge: start a new login",
                    f.label, f.status
                )));
            }
            let ttl = cx.policy.code_ttl(f.kind);
            let state = ResendState { resends: c.resends, last_sent_at: c.last_sent_at, expires_at: c.expires_at };
            let decision = otp::resend(state, &cx.policy, ttl, cx.now);
            let resend_max = cx.policy.resend_max;
            let left_after = |resends: u32| resend_max.saturating_sub(resends);
            let mut out = ResendOutcome {
                challenge_id,
                result: ResendResult::Sent,
                message: String::new(),
                retry_after_s: None,
                resends_left: left_after(c.resends),
                same_code: false,
                expires_at: c.expires_at,
                delivery: None,
            };
            match decision {
                Resend::Cooldown { retry_after } => {
                    out.result = ResendResult::Cooldown;
                    out.retry_after_s = Some(retry_after.num_seconds());
                    out.message = format!("Too soon: another code can be requested in {}.", span(retry_after));
                }
                Resend::Limit => {
                    out.result = ResendResult::Limit;
                    out.message = format!(
                        "No more codes for this login ({} resends used): start a new login.",
                        cx.policy.resend_max
                    );
                }
                Resend::NewCode { expires_at } => {
                    let code = otp::new_code(cx.rng);
                    let mac = code_mac(cx.key, u.id, &code);
                    let sealed = cx.key.seal(cx.rng, "code", code.as_bytes());
                    challenges::resent(cx.conn, c.id, Some((&mac, &sealed, expires_at)), cx.now)?;
                    let sent = gateway::send(cx, &Message { user_id: u.id, factor: &f, challenge_id, purpose: c.purpose, code: &code, code_mac: &mac, ttl })?;
                    out.expires_at = expires_at;
                    out.resends_left = left_after(c.resends + 1);
                    out.message = format!(
                        "A new code was sent to {} ({}); the previous code no longer works.",
                        sent.destination, sent.status
                    );
                    out.delivery = Some(sent);
                }
                Resend::SameCode => {
                    let code = c
                        .code_sealed
                        .as_deref()
                        .map(|s| cx.key.open("code", s))
                        .transpose()?
                        .and_then(|b| std::str::from_utf8(&b).ok().map(str::to_owned))
                        .ok_or_else(|| DeskError::Refused("the current code cannot be recovered: start a new login".to_owned()))?;
                    let mac = code_mac(cx.key, u.id, &code);
                    challenges::resent(cx.conn, c.id, None, cx.now)?;
                    let remaining = c.expires_at - cx.now;
                    let sent = gateway::send(cx, &Message { user_id: u.id, factor: &f, challenge_id, purpose: c.purpose, code: &code, code_mac: &mac, ttl: remaining })?;
                    out.same_code = true;
                    out.resends_left = left_after(c.resends + 1);
                    out.message = format!(
                        "The same code was sent again to {} ({}); it still expires {}.",
                        sent.destination,
                        sent.status,
                        relative(c.expires_at, cx.now)
                    );
                    out.delivery = Some(sent);
                }
            }
            cx.audit(Some(u.id), "login.resend", &format!("challenge {challenge_id}: {} ({})", out.result, out.message), Some(&c.ip))?;
            Ok(out)
        })
    }

    /// A challenge as the simulator shows it.
    pub fn challenge(&self, challenge_id: i64) -> Result<ChallengeView> {
        let conn = self.conn();
        let now = self.now();
        let policy = self.policy()?;
        let c = challenges::by_id(conn, challenge_id)?
            .ok_or(DeskError::UnknownChallenge(challenge_id))?;
        let u = store::users::by_id(conn, c.user_id)?
            .ok_or(DeskError::UnknownChallenge(challenge_id))?;
        let f = c
            .factor_id
            .map(|id| factor_rows::by_id(conn, id))
            .transpose()?
            .flatten();
        let ready = c.last_sent_at + policy.resend_cooldown;
        let can_resend = f.as_ref().is_some_and(|f| f.kind != FactorKind::Totp)
            && c.resends < policy.resend_max
            && c.state == State::Open;
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
            purpose: c.purpose.to_string(),
            factor: f.as_ref().map(brief),
            state: c.state.to_string(),
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
        let u = user_by_email(self.conn(), email)?;
        let f = factor_of(self.conn(), &u, factor_id)?;
        if f.kind != FactorKind::Totp {
            return Err(DeskError::Refused(format!(
                "factor {factor_id} is not an authenticator app"
            )));
        }
        let secret = secret_of(self.key(), &f)?;
        Ok(totp::code_at(&secret, self.now() + offset))
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
        let u = user_by_email(self.conn(), email)?;
        regulation::password_gate(self.conn(), u.id, ip, self.now())
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
    let candidates: Vec<Candidate> = factor_rows::for_user(cx.conn, u.id)?
        .iter()
        .map(|f| Candidate {
            id: f.id,
            kind: f.kind,
            status: f.status,
            recent_at: f.last_used_at.max(f.confirmed_at),
        })
        .collect();
    let chosen = login::choose(&candidates, req.factor)?.id;
    let f = factor_of(cx.conn, u, chosen)?;
    let purpose = match req.action {
        Action::Login => Purpose::Login,
        Action::Export => Purpose::Export,
    };
    let superseded = challenges::cancel_open_for_purpose(cx.conn, u.id, purpose, cx.now)?;
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
        .filter(|d| d.status == deliveries::Status::Failed);
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

enum Judged {
    Accepted {
        step: Option<i64>,
        backup: Option<i64>,
    },
    Rejected {
        result: VerifyResult,
        message: String,
        offset: Option<i64>,
        first_used: Option<FirstUse>,
    },
}

/// Decide whether the typed code is right, without changing anything.
fn judge(
    cx: &mut Ctx<'_>,
    u: &UserRow,
    c: &ChallengeRow,
    f: &FactorRow,
    entered: &Entered,
) -> Result<Judged> {
    match (entered, f.kind) {
        (Entered::Backup(canonical), _) => judge_backup(cx, u, canonical),
        (Entered::Digits(code), FactorKind::Totp) => judge_totp(cx, f, code),
        (Entered::Digits(code), FactorKind::Sms | FactorKind::Email) => {
            judge_sent_code(cx, u, c, code)
        }
    }
}

fn rejected(result: VerifyResult, message: String) -> Judged {
    Judged::Rejected {
        result,
        message,
        offset: None,
        first_used: None,
    }
}

fn judge_backup(cx: &Ctx<'_>, u: &UserRow, canonical: &str) -> Result<Judged> {
    Ok(
        match codes::find(cx.conn, u.id, &backup_mac(cx.key, canonical))? {
            Some(codes::Match::Unused(id)) => Judged::Accepted {
                step: None,
                backup: Some(id),
            },
            Some(codes::Match::Used { at, ip }) => Judged::Rejected {
                result: VerifyResult::Replayed,
                message: format!(
                    "That backup code was already used {} ({}){}; each works once.",
                    relative(at, cx.now),
                    stamp(at),
                    ip.as_deref()
                        .map(|ip| format!(" from {ip}"))
                        .unwrap_or_default()
                ),
                offset: None,
                first_used: Some(FirstUse::Login { at, ip }),
            },
            None => rejected(
                VerifyResult::Invalid,
                "That is not one of this user's backup codes.".to_owned(),
            ),
        },
    )
}

fn judge_totp(cx: &Ctx<'_>, f: &FactorRow, code: &str) -> Result<Judged> {
    let secret = secret_of(cx.key, f)?;
    Ok(
        match totp::check(&secret, code, cx.now, cx.policy.totp_skew, f.state()) {
            Check::Accepted { step } => Judged::Accepted {
                step: Some(step),
                backup: None,
            },
            Check::Replayed {
                step,
                by_resync: true,
            } => Judged::Rejected {
                result: VerifyResult::Replayed,
                message: resync_spent(f, step, cx.now),
                offset: Some(step - totp::step_of(cx.now)),
                first_used: f.resynced_at.map(|at| FirstUse::Resync { at }),
            },
            Check::Replayed { step, .. } => Judged::Rejected {
                result: VerifyResult::Replayed,
                message: format!(
                    "{}{}{}: wait for the app to show the next one.",
                    if f.last_step.is_some_and(|last| step < last) {
                        // Before the last step used: perhaps never used
                        // itself, but each code must be newer than the last.
                        "That code is older than the last one used"
                    } else {
                        "That code was already used"
                    },
                    f.last_used_at
                        .map(|t| format!(" {}", relative(t, cx.now)))
                        .unwrap_or_default(),
                    f.last_used_ip
                        .as_deref()
                        .map(|ip| format!(" from {ip}"))
                        .unwrap_or_default()
                ),
                offset: Some(step - totp::step_of(cx.now)),
                first_used: f.last_used_at.map(|at| FirstUse::Login {
                    at,
                    ip: f.last_used_ip.clone(),
                }),
            },
            Check::Invalid { offset } => Judged::Rejected {
                result: VerifyResult::Invalid,
                message: skew_hint(offset),
                offset,
                first_used: None,
            },
        },
    )
}

/// A code refused only because a resync spent its step: say so, and when
/// the phone's codes are usable again.
fn resync_spent(f: &FactorRow, step: i64, now: Time) -> String {
    let at = f
        .resynced_at
        .map(|t| format!(" at {}", stamp(t)))
        .unwrap_or_default();
    // The phone shows `step` now; the first usable code is the step after
    // the last one the resync spent.
    let spent = f.resync_step.unwrap_or(step);
    let wait = (spent - step) * totp::STEP + totp::seconds_left(now);
    format!(
        "That time step was spent by the help desk's resync{at}: wait for the next code (in about {}).",
        span(TimeDelta::seconds(wait))
    )
}

/// What a wrong TOTP code says about the phone's clock.
fn skew_hint(offset: Option<i64>) -> String {
    match offset {
        Some(o) if o < 0 => {
            let off = span(totp::offset_span(-o));
            format!(
                "That code is not valid now; it was valid {off} ago, so the phone's clock looks about {off} slow."
            )
        }
        Some(o) if o > 0 => {
            let off = span(totp::offset_span(o));
            format!(
                "That code is not valid yet; it becomes valid in {off}, so the phone's clock looks about {off} fast."
            )
        }
        _ => "That code is not valid.".to_owned(),
    }
}

/// What a code typed at an SMS or email challenge is.
pub(crate) enum SentCode {
    /// The challenge's code, and a message carrying it reached the gateway.
    Current,
    /// The challenge's code, but every message carrying it failed: the user
    /// cannot have read it, so it does not count.
    NeverDelivered(Option<String>),
    /// An earlier code of this challenge, replaced by a resend.
    Replaced,
    Wrong,
}

impl SentCode {
    /// The sentence that tells the user why a code was turned away.
    pub(crate) fn refusal(&self) -> String {
        match self {
            SentCode::Current => String::new(),
            SentCode::NeverDelivered(reason) => format!(
                "That code was never delivered ({}): fix the number or address, then request another code.",
                reason.as_deref().unwrap_or("the message failed")
            ),
            SentCode::Replaced => {
                "That code was replaced when another was requested: use the newest message."
                    .to_owned()
            }
            SentCode::Wrong => "That is not the code that was sent.".to_owned(),
        }
    }
}

/// Which code of challenge `c` the typed `code` is, if any.
pub(crate) fn sent_code(
    cx: &Ctx<'_>,
    u: &UserRow,
    c: &ChallengeRow,
    code: &str,
) -> Result<SentCode> {
    let mac = code_mac(cx.key, u.id, code);
    let current = c.code_mac.as_deref().is_some_and(|m| same(m, &mac));
    Ok(match deliveries::fate_of_code(cx.conn, c.id, &mac)? {
        Some((false, reason)) if current => SentCode::NeverDelivered(reason),
        _ if current => SentCode::Current,
        Some(_) => SentCode::Replaced,
        None => SentCode::Wrong,
    })
}

fn judge_sent_code(cx: &Ctx<'_>, u: &UserRow, c: &ChallengeRow, code: &str) -> Result<Judged> {
    Ok(match sent_code(cx, u, c, code)? {
        SentCode::Current => Judged::Accepted {
            step: None,
            backup: None,
        },
        other => rejected(VerifyResult::Invalid, other.refusal()),
    })
}

fn outcome(
    challenge_id: i64,
    result: VerifyResult,
    attempts_left: u32,
    message: String,
) -> VerifyOutcome {
    VerifyOutcome {
        challenge_id,
        result,
        message,
        attempts_left,
        used: None,
        backup_codes_left: None,
        device_token: None,
        trusted_until: None,
        locked_until: None,
    }
}

fn record(
    cx: &Ctx<'_>,
    u: &UserRow,
    c: &ChallengeRow,
    kind: AttemptKind,
    result: AttemptOutcome,
    offset: Option<i64>,
    first_used: Option<&FirstUse>,
) -> Result<()> {
    attempts::insert(
        cx.conn,
        &NewAttempt {
            user_id: u.id,
            challenge_id: Some(c.id),
            factor_id: c.factor_id,
            kind,
            outcome: result,
            ip: &c.ip,
            at: cx.now,
            matched_offset: offset,
            first_used,
        },
    )?;
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn accept(
    cx: &mut Ctx<'_>,
    u: &UserRow,
    c: &ChallengeRow,
    f: &FactorRow,
    kind: AttemptKind,
    step: Option<i64>,
    backup: Option<i64>,
    remember: Option<&str>,
) -> Result<VerifyOutcome> {
    // Only wrong codes use up the challenge's tries.
    challenges::close(cx.conn, c.id, State::Accepted, cx.now)?;
    super::users::clear_lock(cx, u.id)?;
    let mut out = outcome(
        c.id,
        VerifyResult::Accepted,
        otp::attempts_left(c.max_attempts, c.attempts),
        String::new(),
    );
    out.used = Some(kind.to_string());
    if let Some(id) = backup {
        codes::mark_used(cx.conn, id, cx.now, &c.ip)?;
        out.backup_codes_left = Some(super::users::by_id(cx, u.id)?.codes_left);
    } else {
        factor_rows::record_use(cx.conn, f.id, cx.now, &c.ip, step)?;
    }
    if c.purpose == Purpose::Login {
        store::users::set_last_login(cx.conn, u.id, cx.now)?;
    }
    let known = c
        .device_id
        .map(|id| devices::by_id(cx.conn, id))
        .transpose()?
        .flatten();
    if let Some(label) = remember {
        let token = new_device_token(cx);
        let mac = device_mac(cx.key, &token);
        let until = trust::trusted_until(cx.now, cx.policy.trust_span());
        match known.as_ref().filter(|d| d.revoked_at.is_none()) {
            Some(d) => {
                devices::rotate(cx.conn, d.id, &mac, until)?;
                devices::touch(cx.conn, d.id, &c.ip, cx.now)?;
            }
            None => {
                devices::insert(cx.conn, u.id, &mac, label, &c.ip, cx.now, until)?;
            }
        }
        out.device_token = Some(token);
        out.trusted_until = Some(until);
    } else if let Some(d) = known {
        devices::touch(cx.conn, d.id, &c.ip, cx.now)?;
    }
    let what = match c.purpose {
        Purpose::Export => "export approved",
        _ => "signed in",
    };
    out.message = match (backup, out.backup_codes_left) {
        (Some(_), Some(left)) if left <= cx.policy.backup_low => format!(
            "Backup code accepted: {what}. Only {left} backup code(s) left: generate a new set soon."
        ),
        (Some(_), Some(left)) => {
            format!("Backup code accepted: {what}. {left} backup code(s) left.")
        }
        _ => format!("Code accepted: {what}."),
    };
    if let Some(until) = out.trusted_until {
        let _ = write!(
            out.message,
            " This computer is remembered until {}.",
            stamp(until)
        );
    }
    record(
        cx,
        u,
        c,
        kind,
        AttemptOutcome::Accepted,
        step.map(|s| s - totp::step_of(cx.now)),
        None,
    )?;
    let trust_note = if out.trusted_until.is_some() {
        ", device remembered"
    } else {
        ""
    };
    cx.audit(
        Some(u.id),
        "login.verify",
        &format!("challenge {}: accepted {} code{trust_note}", c.id, kind),
        Some(&c.ip),
    )?;
    Ok(out)
}

#[allow(clippy::too_many_arguments)]
fn reject(
    cx: &mut Ctx<'_>,
    u: &UserRow,
    c: &ChallengeRow,
    kind: AttemptKind,
    result: VerifyResult,
    message: &str,
    offset: Option<i64>,
    first_used: Option<&FirstUse>,
) -> Result<VerifyOutcome> {
    let attempts = c.attempts + 1;
    challenges::record_attempt(cx.conn, c.id, attempts)?;
    let left = otp::attempts_left(c.max_attempts, attempts);
    if left == 0 {
        challenges::close(cx.conn, c.id, State::Failed, cx.now)?;
    }
    let earlier = super::users::recent_failures(cx.conn, &cx.policy, u, cx.now)?;
    let lock = u.lock.fail(&earlier, &cx.policy, cx.now);
    store::users::set_lock(cx.conn, u.id, &lock)?;
    let attempt_outcome = match result {
        VerifyResult::Replayed => AttemptOutcome::Replayed,
        _ => AttemptOutcome::Invalid,
    };
    record(cx, u, c, kind, attempt_outcome, offset, first_used)?;
    let mut out = outcome(c.id, result, left, message.to_owned());
    if lock.is_locked(cx.now) {
        // The failures that locked it are spent: after the lock, count afresh.
        super::users::restart_failures(cx, u.id)?;
        let until = lock.locked_until.unwrap_or(cx.now);
        out.result = VerifyResult::Locked;
        out.locked_until = Some(until);
        out.message = if lock.is_hard() {
            format!(
                "{message} That was failed code {} in a row with no success between: 2FA is now locked until an admin unlocks it.",
                lock.streak
            )
        } else {
            format!(
                "{message} That was failed attempt {} in a row: 2FA is now locked until {} ({}).",
                lock.failures,
                stamp(until),
                relative(until, cx.now)
            )
        };
    } else if left == 0 {
        out.message = format!("{message} No attempts left on this challenge: start a new login.");
    } else {
        out.message = format!("{message} {left} attempt(s) left.");
    }
    cx.audit(
        Some(u.id),
        "login.verify",
        &match out.locked_until {
            Some(_) if lock.is_hard() => format!(
                "challenge {}: {} {kind} code, failure {} in a row with no success: 2FA locked until an admin unlocks it",
                c.id, result, lock.streak
            ),
            Some(until) => format!(
                "challenge {}: {} {kind} code, failure {} in a row: 2FA locked until {}",
                c.id,
                result,
                lock.failures,
                crate::domain::stamp(until)
            ),
            None => format!(
                "challenge {}: {} {kind} code ({} failure(s) in a row)",
                c.id, out.result, lock.failures
            ),
        },
        Some(&c.ip),
    )?;
    Ok(out)
}
