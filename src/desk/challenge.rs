//! A challenge's code: made, sealed and sent when the challenge is issued,
//! and judged when one sent by message comes back; where a login comes from.

use super::gateway::{self, Message};
use super::sealing::code_mac;
use super::views::DeliveryOutcome;
use super::{Ctx, DeskError, Result};
use crate::crypto::same;
use crate::domain::vocab::ChallengePurpose;
use crate::domain::{FactorKind, Time, otp};
use crate::store::challenges::{self, ChallengeRow, NewChallenge};
use crate::store::deliveries;
use crate::store::factors::FactorRow;
use crate::store::users::UserRow;

/// The address used when none is given.
pub const DEFAULT_IP: &str = "127.0.0.1";

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
    pub purpose: ChallengePurpose,
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
        cx.db,
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
    /// The sentence that tells the user why a code was turned away; another
    /// code is offered only while the challenge `can_resend`.
    pub(crate) fn refusal(&self, can_resend: bool) -> String {
        match self {
            SentCode::Current => String::new(),
            SentCode::NeverDelivered(reason) => format!(
                "That code was never delivered ({}): fix the number or address, then {}.",
                reason.as_deref().unwrap_or("the message failed"),
                if can_resend {
                    "request another code"
                } else {
                    "start a new login (no more codes can be sent for this one)"
                }
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
    Ok(match deliveries::fate_of_code(cx.db, c.id, &mac)? {
        Some((false, reason)) if current => SentCode::NeverDelivered(reason),
        _ if current => SentCode::Current,
        Some(_) => SentCode::Replaced,
        None => SentCode::Wrong,
    })
}

#[cfg(test)]
mod tests {
    use super::SentCode;

    #[test]
    fn another_code_is_offered_only_while_one_can_be_sent() {
        let lost = SentCode::NeverDelivered(Some("carrier rejected".to_owned()));
        assert!(lost.refusal(true).ends_with("then request another code."));
        let none_left = lost.refusal(false);
        assert!(!none_left.contains("request another code"), "{none_left}");
        assert!(none_left.contains("start a new login"), "{none_left}");
    }
}
