//! The simulated SMS gateway and mail server: composes the message, decides
//! how delivery goes (country rules, unreachable domains) and files it in the outbox.

use chrono::TimeDelta;

use super::views::DeliveryOutcome;
use super::{Ctx, Result, regulation};
use crate::domain::contact::{Email, Phone};
use crate::domain::vocab::{ChallengePurpose, Channel, DeliveryStatus};
use crate::domain::{FactorKind, relative, span, stamp};
use crate::store::deliveries::{self, NewDelivery};
use crate::store::factors::FactorRow;

/// A message to send to a factor's destination.
pub(crate) struct Message<'a> {
    pub user_id: i64,
    pub factor: &'a FactorRow,
    pub challenge_id: i64,
    pub purpose: ChallengePurpose,
    pub code: &'a str,
    pub code_mac: &'a [u8],
    pub ttl: TimeDelta,
}

/// The masked form of a factor's destination, for lists and the outbox.
pub(crate) fn masked(kind: FactorKind, destination: &str) -> String {
    match kind {
        FactorKind::Sms => {
            Phone::stored(destination).map_or_else(|| destination.to_owned(), |p| p.masked())
        }
        FactorKind::Email => {
            Email::parse(destination).map_or_else(|_| destination.to_owned(), |e| e.masked())
        }
        FactorKind::Totp => String::new(),
    }
}

fn text(
    issuer: &str,
    channel: Channel,
    purpose: ChallengePurpose,
    code: &str,
    ttl: TimeDelta,
) -> String {
    let ttl = human_ttl(ttl);
    match (channel, purpose) {
        (Channel::Sms, ChallengePurpose::Enrol) => {
            format!(
                "{issuer}: {code} is your code to confirm this phone number. It expires in {ttl}."
            )
        }
        (Channel::Sms, ChallengePurpose::Export) => {
            format!(
                "{issuer}: {code} is your code to approve a data export. It expires in {ttl}. Do not share it."
            )
        }
        (Channel::Sms, ChallengePurpose::Login) => {
            format!("{issuer}: {code} is your sign-in code. It expires in {ttl}. Do not share it.")
        }
        (Channel::Email, ChallengePurpose::Enrol) => {
            format!("Your {issuer} code to confirm this address is {code}. It expires in {ttl}.")
        }
        (Channel::Email, ChallengePurpose::Export) => format!(
            "Your {issuer} code to approve a data export is {code}. It expires in {ttl}. If this was not you, change your password."
        ),
        (Channel::Email, ChallengePurpose::Login) => format!(
            "Your {issuer} sign-in code is {code}. It expires in {ttl}. If this was not you, change your password."
        ),
    }
}

fn human_ttl(ttl: TimeDelta) -> String {
    let s = ttl.num_seconds();
    let plural = |n: i64, unit: &str| format!("{n} {unit}{}", if n == 1 { "" } else { "s" });
    match (s / 60, s % 60) {
        (0, secs) => plural(secs, "second"),
        (mins, 0) => plural(mins, "minute"),
        (mins, secs) => format!("{} {}", plural(mins, "minute"), plural(secs, "second")),
    }
}

/// Send, and file the message (sealed) with how it went. Past the message
/// limit nothing goes out: the message is filed as failed, saying when the
/// next may go.
pub(crate) fn send(cx: &mut Ctx<'_>, m: &Message<'_>) -> Result<DeliveryOutcome> {
    let destination = m.factor.destination.clone().unwrap_or_default();
    let limited = regulation::message_slot(cx.db, &cx.policy.limits, m.user_id, cx.now)?.err();
    let (channel, status, reason) = match m.factor.kind {
        _ if limited.is_some() => {
            let next = limited.unwrap_or(cx.now);
            let limits = &cx.policy.limits;
            (
                match m.factor.kind {
                    FactorKind::Sms => Channel::Sms,
                    _ => Channel::Email,
                },
                DeliveryStatus::Failed,
                Some(format!(
                    "not sent: {} codes already went to this user within {}; the next can go at {} ({})",
                    limits.message_limit,
                    span(limits.message_window),
                    stamp(next),
                    relative(next, cx.now)
                )),
            )
        }
        FactorKind::Sms => {
            let (status, reason) = match Phone::parse(&destination) {
                Ok(p) if cx.policy.allows_country(p.calling_code()) => {
                    (DeliveryStatus::Delivered, None)
                }
                Ok(p) => (
                    DeliveryStatus::Failed,
                    Some(format!(
                        "country calling code +{} is not allowed for SMS (allowed: {})",
                        p.calling_code(),
                        cx.policy.countries_text()
                    )),
                ),
                Err(_) => (
                    DeliveryStatus::Failed,
                    Some(
                        "the phone number is not a valid number: change the user's phone number"
                            .to_owned(),
                    ),
                ),
            };
            (Channel::Sms, status, reason)
        }
        FactorKind::Email | FactorKind::Totp => {
            let (status, reason) = match Email::parse(&destination) {
                Ok(e) if e.is_undeliverable() => (
                    DeliveryStatus::Failed,
                    Some(format!(
                        "mailbox unreachable: the domain {} does not resolve",
                        e.as_str().split('@').nth(1).unwrap_or_default()
                    )),
                ),
                Ok(_) => (DeliveryStatus::Sent, None),
                Err(_) => (
                    DeliveryStatus::Failed,
                    Some("the address is not valid".to_owned()),
                ),
            };
            (Channel::Email, status, reason)
        }
    };
    let body = text(&cx.policy.totp_issuer, channel, m.purpose, m.code, m.ttl);
    let sealed = cx.key.seal(cx.rng, "outbox", body.as_bytes());
    let masked = masked(m.factor.kind, &destination);
    let id = deliveries::insert(
        cx.db,
        &NewDelivery {
            user_id: m.user_id,
            challenge_id: Some(m.challenge_id),
            factor_id: Some(m.factor.id),
            channel,
            destination: &masked,
            body: &sealed,
            code_mac: Some(m.code_mac),
            status,
            reason: reason.as_deref(),
            at: cx.now,
            retry_at: limited,
            to: super::sealing::destination_macs(cx.key, &destination),
        },
    )?;
    Ok(DeliveryOutcome {
        delivery_id: id,
        channel,
        destination: masked,
        status,
        reason,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_texts_name_the_code_and_its_lifetime() {
        let t = text(
            "factordesk",
            Channel::Sms,
            ChallengePurpose::Login,
            "123456",
            TimeDelta::minutes(5),
        );
        assert_eq!(
            t,
            "factordesk: 123456 is your sign-in code. It expires in 5 minutes. Do not share it."
        );
        let t = text(
            "Acme",
            Channel::Email,
            ChallengePurpose::Enrol,
            "654321",
            TimeDelta::seconds(90),
        );
        assert_eq!(
            t,
            "Your Acme code to confirm this address is 654321. It expires in 1 minute 30 seconds."
        );
    }
}
