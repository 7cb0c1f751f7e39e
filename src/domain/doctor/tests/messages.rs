//! Message findings: failed, never sent, delivered, held back by the limit.

use super::*;

#[test]
fn a_failed_message_before_a_delivered_one_or_a_login_is_history() {
    let carol = || Facts {
        factors: vec![sms("+447700900123")],
        codes_total: 0,
        codes_left: 0,
        ..healthy()
    };
    let mut p = Policy::default();
    p.set("sms_countries", "1,44").unwrap();
    // Failed, failed: a current blocker.
    let failing = Facts {
        deliveries: vec![message("sms", 5, true), message("sms", 75, true)],
        ..carol()
    };
    let x = diagnose(&failing, &p).remove(0);
    assert_eq!(
        (x.kind, x.severity),
        (Kind::DeliveryFailed, Severity::Blocking)
    );
    // A later message went through: the failures are history.
    let fixed = Facts {
        deliveries: vec![
            message("sms", 1, false),
            message("sms", 5, true),
            message("sms", 75, true),
        ],
        ..carol()
    };
    let all = diagnose(&fixed, &p);
    assert!(
        all.iter()
            .all(|x| x.kind != Kind::DeliveryFailed && x.severity != Severity::Blocking),
        "{all:#?}"
    );
    let h = all.iter().find(|x| x.kind == Kind::History).unwrap();
    assert!(
        h.evidence[0].starts_with("2 failed message(s) from 07:45:00 UTC to 08:55:00 UTC"),
        "{h:?}"
    );
    // A success on another channel does not settle SMS failures…
    let other = Facts {
        deliveries: vec![message("email", 1, false), message("sms", 5, true)],
        ..carol()
    };
    let has = |f: &Facts, k: Kind| diagnose(f, &p).iter().any(|x| x.kind == k);
    assert!(has(&other, Kind::DeliveryFailed));
    // …but a login since does.
    let login = Facts {
        deliveries: vec![message("sms", 5, true)],
        attempts: vec![attempt("sms", "accepted", 2, None)],
        ..carol()
    };
    assert!(!has(&login, Kind::DeliveryFailed));
}

#[test]
fn failed_emails_and_none_sent() {
    let email = FactorFact {
        kind: FactorKind::Email,
        destination: Some("h@mail.example.invalid".into()),
        ..sms("")
    };
    let failed = Facts {
        factors: vec![email.clone()],
        deliveries: vec![DeliveryFact {
            at: ago(TimeDelta::minutes(3)),
            channel: Channel::Email,
            destination: "h***@mail.example.invalid".into(),
            failed: true,
            reason: Some("mailbox unreachable".into()),
            retry_at: None,
        }],
        ..healthy()
    };
    let x = first(&failed);
    assert_eq!(
        (x.kind, x.severity),
        (Kind::DeliveryFailed, Severity::Blocking)
    );
    let none = Facts {
        factors: vec![email],
        last_login: Some(LastLogin {
            at: ago(TimeDelta::minutes(2)),
            ip: "1.2.3.4".into(),
            device: None,
            completed: false,
        }),
        ..healthy()
    };
    assert_eq!(first(&none).kind, Kind::NoneSent);
}

#[test]
fn delivered_codes_are_reported_for_message_users() {
    let email = FactorFact {
        kind: FactorKind::Email,
        destination: Some("heidi@example.com".into()),
        ..sms("")
    };
    let f = Facts {
        factors: vec![email],
        deliveries: vec![DeliveryFact {
            at: ago(TimeDelta::days(2)),
            channel: Channel::Email,
            destination: "h***i@example.com".into(),
            failed: false,
            reason: None,
            retry_at: None,
        }],
        ..healthy()
    };
    let x = first(&f);
    assert_eq!((x.kind, x.severity), (Kind::Deliveries, Severity::Info));
    assert!(x.explanation.contains("h***i@example.com"), "{x:?}");
}

#[test]
fn messages_held_back_by_the_limit_say_when_the_next_can_go() {
    let held = DeliveryFact {
        at: ago(TimeDelta::minutes(2)),
        channel: Channel::Email,
        destination: "h***i@example.com".into(),
        failed: true,
        reason: Some("not sent: 10 codes already went to this user within 1 h".into()),
        retry_at: Some(now() + TimeDelta::minutes(20)),
    };
    let f = Facts {
        deliveries: vec![held.clone()],
        ..healthy()
    };
    let x = first(&f);
    assert_eq!((x.kind, x.fix), (Kind::MessageLimit, Fix::Wait));
    assert!(x.explanation.contains("in 20 min"), "{x:?}");
    // Once the next may go, it is no longer the finding.
    let later = Facts {
        deliveries: vec![DeliveryFact {
            retry_at: Some(now()),
            ..held
        }],
        ..healthy()
    };
    assert_ne!(first(&later).kind, Kind::MessageLimit);
}
