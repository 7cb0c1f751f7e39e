//! What use cases return: plain, serialisable views. Their field names are
//! the CLI's `--json` contract, so they change only by adding fields.

use serde::Serialize;

use crate::domain::login::Outcome;
use crate::domain::vocab::{ChallengePurpose, ChallengeState, Channel, CodeState, DeliveryStatus};
use crate::domain::{Action, FactorKind, FactorStatus, Role, Time, UserStatus, text_enum};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserSummary {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub status: UserStatus,
    pub factor_kinds: Vec<FactorKind>,
    pub codes_left: u32,
    pub codes_total: u32,
    pub devices: u32,
    pub last_login_at: Option<Time>,
    /// Set while 2FA is locked.
    pub locked_until: Option<Time>,
}

impl UserSummary {
    /// `totp,sms`, or `none`.
    pub fn kinds_text(&self) -> String {
        if self.factor_kinds.is_empty() {
            return "none".to_owned();
        }
        self.factor_kinds
            .iter()
            .map(|k| k.as_str())
            .collect::<Vec<_>>()
            .join(",")
    }

    /// `7/10` backup codes left, or `-` when none were ever made.
    pub fn codes_text(&self) -> String {
        if self.codes_total == 0 {
            "-".to_owned()
        } else {
            format!("{}/{}", self.codes_left, self.codes_total)
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Profile {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub status: UserStatus,
    pub phone: Option<String>,
    pub phone_verified: bool,
    pub every_login: bool,
    pub created_at: Time,
    pub last_login_at: Option<Time>,
    /// The next login must set a new password (a compromise response).
    pub password_change: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LockView {
    pub locked: bool,
    /// When the lock releases by itself (`None` with `hard`).
    pub locked_until: Option<Time>,
    /// Locked after so many failures in a row that only an admin can unlock.
    pub hard: bool,
    /// Failed codes in a row with no success between.
    pub streak: u32,
    /// Consecutive failures in the current window.
    pub failures: u32,
    pub failures_left: u32,
    /// Password checks refused until then (an unlock lifts it too).
    pub password_banned_until: Option<Time>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FactorView {
    pub id: i64,
    pub kind: FactorKind,
    pub status: FactorStatus,
    pub label: String,
    /// Masked phone or address for SMS and email.
    pub destination: Option<String>,
    pub created_at: Time,
    pub confirmed_at: Option<Time>,
    pub last_used_at: Option<Time>,
    pub last_used_ip: Option<String>,
    /// Learned by resync: the phone runs this many steps (of its period) off.
    pub drift_steps: i64,
    /// How a secret's codes are made (TOTP and HOTP factors only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oath: Option<OathView>,
}

/// How an authenticator secret's codes are made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OathView {
    /// `totp` (time-based) or `hotp` (a counter, for hardware tokens).
    #[serde(rename = "type")]
    pub kind: OathKind,
    pub algorithm: crate::domain::oath::Algorithm,
    pub digits: u8,
    /// Seconds per code (TOTP only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub period: Option<u32>,
    /// The counter the token's next code is expected at (HOTP only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub counter: Option<u64>,
    /// A hardware token's serial number, from its seed file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub serial: Option<String>,
}

text_enum!(
    /// Time-based or counter-based one-time passwords.
    OathKind { Totp => "totp", Hotp => "hotp" }
);

impl OathView {
    /// `hotp, counter 12` or `totp, SHA256, 8 digits, 60 s`: for tables.
    pub fn describe(&self) -> String {
        let params = crate::domain::oath::Params {
            algorithm: self.algorithm,
            digits: self.digits,
            period: self.period.unwrap_or(30),
        };
        let mut parts = vec![self.kind.to_string()];
        let rest = params.describe(self.kind == OathKind::Totp);
        if !rest.is_empty() {
            parts.push(rest);
        }
        if let Some(c) = self.counter {
            parts.push(format!("counter {c}"));
        }
        parts.join(", ")
    }

    /// Seconds per step, for drift in seconds.
    pub fn step_secs(&self) -> i64 {
        i64::from(self.period.unwrap_or(30))
    }
}

text_enum!(
    /// Where a remembered device stands now.
    DeviceState { Trusted => "trusted", Expired => "expired", Revoked => "revoked" }
);

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeviceView {
    pub id: i64,
    pub label: String,
    pub state: DeviceState,
    pub last_ip: String,
    /// Every address it completed a second factor from in its trust
    /// period, newest first: logging in from any of them is not new.
    pub addresses: Vec<String>,
    pub first_seen_at: Time,
    pub last_seen_at: Time,
    pub trusted_until: Time,
    pub revoked_at: Option<Time>,
    pub revoked_reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CodeUse {
    pub position: u32,
    pub used_at: Option<Time>,
    pub used_ip: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CodeStatus {
    pub remaining: u32,
    pub total: u32,
    /// At or below the policy's warning level (and generated at all).
    pub low: bool,
    pub generated_at: Option<Time>,
    pub codes: Vec<CodeUse>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditView {
    pub id: i64,
    /// The event's time: the clock's, which `--now` may have set.
    pub at: Time,
    pub actor: String,
    /// The operating-system account that wrote it, beside the actor it
    /// named (unknown for events from before the chain).
    pub os_user: Option<String>,
    pub user: Option<String>,
    pub kind: String,
    pub detail: String,
    pub ip: Option<String>,
    /// The real time it was written (unknown before the chain).
    pub written_at: Option<Time>,
    /// Whether the clock had been set (`--now`) or moved, so that `at` is
    /// not when it happened (unknown before the chain).
    pub clock_set: Option<bool>,
}

impl AuditView {
    /// Whether `at` was set by hand rather than read from the real clock.
    pub fn time_set(&self) -> bool {
        self.clock_set == Some(true)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserDetail {
    pub profile: Profile,
    /// Where the user stands against enforcement, as a sentence.
    pub standing: String,
    /// When enrolment is due, while in grace.
    pub enrol_by: Option<Time>,
    pub grace_over: bool,
    /// Where they would stand with no active factor, as a sentence: said
    /// before the last one is disabled or removed.
    #[serde(skip)]
    pub without_factor: String,
    pub lock: LockView,
    pub factors: Vec<FactorView>,
    pub devices: Vec<DeviceView>,
    pub codes: CodeStatus,
    pub activity: Vec<AuditView>,
}

/// A hardware token (HOTP) enrolled: pending until a code from it confirms it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HotpEnrolment {
    pub factor_id: i64,
    pub label: String,
    /// Base32, no padding: the secret to program into the token (only when
    /// factordesk made it; a secret read from stdin is not shown again).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
    /// The counter its next code is expected at.
    pub counter: u64,
    pub account: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TotpEnrolment {
    pub factor_id: i64,
    pub label: String,
    /// Base32, no padding.
    pub secret: String,
    pub uri: String,
    pub issuer: String,
    pub account: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeliveryOutcome {
    pub delivery_id: i64,
    pub channel: Channel,
    pub destination: String,
    pub status: DeliveryStatus,
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ContactEnrolment {
    pub factor_id: i64,
    pub kind: FactorKind,
    pub destination: String,
    /// Resend with `login resend CHALLENGE_ID` if it does not arrive.
    pub challenge_id: i64,
    pub expires_at: Time,
    pub delivery: DeliveryOutcome,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FactorBrief {
    pub id: i64,
    pub kind: FactorKind,
    pub label: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LoginStart {
    pub user: String,
    pub action: Action,
    pub decision: Outcome,
    pub reasons: Vec<String>,
    pub challenge_id: Option<i64>,
    pub factor: Option<FactorBrief>,
    pub expires_at: Option<Time>,
    pub attempts_left: Option<u32>,
    pub delivery: Option<DeliveryOutcome>,
}

/// How the login simulator plays a user: their phone and where they are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Persona {
    /// How far their phone's clock is off (negative: slow).
    pub phone_skew: chrono::TimeDelta,
    /// The address they log in from now: their story's, else where they
    /// were last seen (`None`: nowhere yet).
    pub ip: Option<String>,
    /// A story told it (`demo`); else it is read from their data.
    pub from_story: bool,
}

/// What an authenticator app shows on a phone (the simulator's): the code,
/// how long until the next, and who already spent its time step, if anyone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppCode {
    pub factor_id: i64,
    pub code: String,
    /// Until the phone shows the next code.
    pub changes_in: chrono::TimeDelta,
    /// A login or the help desk's resync used this code's time step: it is
    /// refused as a replay.
    pub spent: Option<crate::domain::doctor::SpentBy>,
}

text_enum!(
    /// How a typed code went.
    VerifyResult {
        Accepted => "accepted",
        Invalid => "invalid",
        Expired => "expired",
        Replayed => "replayed",
        Locked => "locked",
    }
);

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifyOutcome {
    pub challenge_id: i64,
    pub result: VerifyResult,
    /// One sentence: why, and what now.
    pub message: String,
    pub attempts_left: u32,
    /// Which kind of code it was: `totp`, `sms`, `email` or `backup`.
    pub used: Option<String>,
    pub backup_codes_left: Option<u32>,
    /// The new "remember this computer" token, when asked for.
    pub device_token: Option<String>,
    pub trusted_until: Option<Time>,
    pub locked_until: Option<Time>,
}

text_enum!(
    /// How "Request another code" went.
    ResendResult { Sent => "sent", Cooldown => "cooldown", Limit => "limit" }
);

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ResendOutcome {
    pub challenge_id: i64,
    pub result: ResendResult,
    pub message: String,
    pub retry_after_s: Option<i64>,
    pub resends_left: u32,
    /// True when the same code was sent again (`keep` mode).
    pub same_code: bool,
    pub expires_at: Time,
    pub delivery: Option<DeliveryOutcome>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeliveryView {
    pub id: i64,
    pub at: Time,
    pub user: String,
    pub channel: Channel,
    pub destination: String,
    pub text: String,
    pub status: DeliveryStatus,
    pub reason: Option<String>,
    pub challenge_id: Option<i64>,
    /// This message holds the code that works right now.
    pub valid_now: bool,
    /// What became of its code (`None`: it carried none).
    pub code: Option<CodeState>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PolicyItem {
    pub key: &'static str,
    pub value: String,
    pub default: String,
    pub meaning: &'static str,
    pub form: &'static str,
    pub changed_at: Option<Time>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChallengeView {
    pub id: i64,
    pub user: String,
    pub purpose: ChallengePurpose,
    pub factor: Option<FactorBrief>,
    pub state: ChallengeState,
    pub ip: String,
    pub created_at: Time,
    /// When the code that works now was issued: the start, or the last
    /// resend that made a new one (a countdown runs from here).
    pub code_sent_at: Time,
    pub expires_at: Time,
    pub expired: bool,
    pub attempts_left: u32,
    pub resends_left: u32,
    /// When "Request another code" works again (`None`: now, or never).
    pub resend_ready_at: Option<Time>,
}
