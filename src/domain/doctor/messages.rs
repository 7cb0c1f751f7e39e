//! Findings about messages: codes not delivered, held back by the message
//! limit, never sent, or arriving as they should.

use super::{Act, Builder, DeliveryFact, Finding, Fix, Kind, Part, Severity, say, times};
use crate::domain::vocab::Channel;
use crate::domain::{FactorKind, Time, relative, span, stamp};

/// Failed messages other than those the SMS country rule explains.
pub(super) fn failed_messages(b: &mut Builder<'_>) {
    let f = b.facts;
    // Other failed messages (an email domain that does not resolve, …).
    let failed: Vec<&DeliveryFact> = f
        .deliveries
        .iter()
        .filter(|d| {
            f.failure_is_current(d)
                && !(d.channel == Channel::Sms
                    && b.findings.iter().any(|x| x.kind == Kind::SmsCountry))
        })
        .collect();
    if let Some(retry) = failed
        .first()
        .and_then(|d| d.retry_at)
        .filter(|t| f.now < *t)
    {
        return message_limit(b, retry, &failed);
    }
    if let Some(last) = failed.first() {
        let kinds: Vec<FactorKind> = f.active().map(|x| x.kind).collect();
        let only_messages = kinds.iter().all(|k| *k != FactorKind::Totp);
        b.add(
            Finding::new(
                Kind::DeliveryFailed,
                if only_messages {
                    Severity::Blocking
                } else {
                    Severity::Warning
                },
                "Messages not delivered",
                format!(
                    "Their codes are not arriving: the last {} to {} failed.",
                    last.channel, last.destination
                ),
            )
            .evidence(
                failed
                    .iter()
                    .take(3)
                    .map(|d| {
                        format!(
                            "{} {} to {}: {}.",
                            stamp(d.at),
                            d.channel,
                            d.destination,
                            d.reason.as_deref().unwrap_or("failed")
                        )
                    })
                    .collect(),
            )
            .fix(
                Fix::AddAnotherFactor,
                vec![
                    say("Fix the number ("),
                    Part::Act(Act::EditPhone),
                    say(") or address, or set them up with an authenticator app: "),
                    Part::Act(Act::AddTotp),
                ],
            ),
        );
    }
}

/// Messages held back by the message limit: nothing is wrong with the number
/// or address; the next code can go at `retry`.
fn message_limit(b: &mut Builder<'_>, retry: Time, held: &[&DeliveryFact]) {
    let f = b.facts;
    let held_now = held.iter().filter(|d| d.retry_at.is_some()).count();
    b.add(
        Finding::new(
            Kind::MessageLimit,
            Severity::Blocking,
            "Message limit reached",
            format!(
                "So many codes were sent to them lately that no more go out until {} (in {}): the limit keeps SMS pumping from costing money.",
                stamp(retry),
                span(retry - f.now)
            ),
        )
        .evidence(vec![format!(
            "{held_now} recent message(s) were held back; the last at {}. Many logins started in a short time can be someone else trying the account.",
            held.first().map_or_else(String::new, |d| stamp(d.at))
        )])
        .fix(
            Fix::Wait,
            vec![
                say(format!(
                    "Wait until {}; meanwhile an authenticator app or a backup code still works (",
                    stamp(retry)
                )),
                Part::Act(Act::AddTotp),
                say(")"),
            ],
        ),
    );
}

/// A message channel never used though they tried to log in, or working.
pub(super) fn message_channels(b: &mut Builder<'_>) {
    let f = b.facts;
    // A message channel with no message ever sent, though they tried to log in.
    for x in f.active().filter(|x| x.kind != FactorKind::Totp) {
        let channel = if x.kind == FactorKind::Sms {
            Channel::Sms
        } else {
            Channel::Email
        };
        let sent: Vec<&DeliveryFact> = f
            .deliveries
            .iter()
            .filter(|d| d.channel == channel)
            .collect();
        let delivered = sent.iter().filter(|d| !d.failed).map(|d| d.at);
        match sent.first() {
            None if f.last_login.is_some() => b.add(
                Finding::new(
                    Kind::NoneSent,
                    Severity::Warning,
                    "No message sent",
                    format!(
                        "No {} code has been sent to them recently, though they tried to log in.",
                        x.kind.label()
                    ),
                )
                .evidence(vec![format!("{} ({})", x.label, x.kind)])
                .fix(
                    Fix::Simulate,
                    vec![
                        say("Start a login to send a code ("),
                        Part::Act(Act::LoginStart),
                        say("), then check the outbox: "),
                        Part::Act(Act::Outbox),
                    ],
                ),
            ),
            Some(last) if !last.failed => b.add(
                Finding::new(
                    Kind::Deliveries,
                    Severity::Info,
                    "Codes are being delivered",
                    format!(
                        "Their {}s go to {}; the last was sent {} and reached the gateway.",
                        x.kind.label(),
                        last.destination,
                        relative(last.at, f.now)
                    ),
                )
                .evidence(vec![format!(
                    "Sent to {} at {}.",
                    last.destination,
                    times(delivered, f.now)
                )])
                .fix(
                    Fix::Nothing,
                    vec![
                        say("If a code still does not arrive, ask them to check spam (email) or signal (SMS), then request another code; the outbox shows each message: "),
                        Part::Act(Act::Outbox),
                    ],
                ),
            ),
            _ => {}
        }
    }
}
