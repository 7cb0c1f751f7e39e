//! Enrolment findings: grace, pending enrolments, SMS countries, changed numbers, disabled factors.

use super::*;

#[test]
fn grace_over_without_a_factor() {
    let f = Facts {
        factors: Vec::new(),
        codes_total: 0,
        codes_left: 0,
        standing: Standing::GraceOver {
            ended: ago(TimeDelta::days(23)),
        },
        ..healthy()
    };
    let x = first(&f);
    assert_eq!(
        (x.kind, x.severity, x.fix),
        (Kind::GraceOver, Severity::Blocking, Fix::EnrolApp)
    );
    // In grace nothing blocks yet, but they are told to enrol by when.
    let f = Facts {
        standing: Standing::InGrace {
            until: now() + TimeDelta::days(2),
        },
        ..f
    };
    let x = first(&f);
    assert_eq!(
        (x.kind, x.severity, x.fix),
        (Kind::NoFactorYet, Severity::Warning, Fix::EnrolApp)
    );
    assert!(
        x.explanation
            .contains("must enrol by 2026-11-23 09:00:00 UTC (in 2 days)"),
        "{x:?}"
    );
    assert_eq!(acts(&x), [&Act::AddTotp]);
    // Not when 2FA is not required of them.
    let f = Facts {
        standing: Standing::NotRequired,
        ..f
    };
    assert!(!kinds(&f).contains(&Kind::NoFactorYet));
}

#[test]
fn a_pending_enrolment_comes_before_grace_over() {
    let f = Facts {
        factors: vec![app(FactorStatus::Pending)],
        codes_total: 0,
        codes_left: 0,
        standing: Standing::GraceOver {
            ended: ago(TimeDelta::days(2)),
        },
        ..healthy()
    };
    let x = first(&f);
    assert_eq!(
        (x.kind, x.severity, x.fix),
        (
            Kind::PendingEnrolment,
            Severity::Blocking,
            Fix::ConfirmPending
        )
    );
    assert!(x.explanation.contains("login is refused"), "{x:?}");
    assert!(!kinds(&f).contains(&Kind::GraceOver));
    // With another active factor it is only a warning.
    let f = Facts {
        factors: vec![
            app(FactorStatus::Active),
            FactorFact {
                id: 3,
                ..app(FactorStatus::Pending)
            },
        ],
        standing: Standing::Enrolled,
        ..f
    };
    assert_eq!(first(&f).severity, Severity::Warning);
}

#[test]
fn an_sms_country_not_allowed() {
    let f = Facts {
        factors: vec![sms("+447700900123")],
        deliveries: vec![DeliveryFact {
            at: ago(TimeDelta::minutes(75)),
            channel: Channel::Sms,
            destination: "+44 ******0123".into(),
            failed: true,
            reason: Some("country calling code +44 is not allowed for SMS (allowed: +1)".into()),
            retry_at: None,
        }],
        ..healthy()
    };
    let x = first(&f);
    assert_eq!((x.kind, x.severity), (Kind::SmsCountry, Severity::Blocking));
    assert!(
        acts(&x).contains(&&Act::AllowCountries {
            codes: "1,44".into()
        }),
        "{x:?}"
    );
    assert!(x.evidence[1].contains("1 failed message"), "{x:?}");
    // Not repeated as a separate delivery failure.
    assert!(!kinds(&f).contains(&Kind::DeliveryFailed));
    // Allowed again: no finding.
    let mut p = Policy::default();
    p.set("sms_countries", "1,44").unwrap();
    assert!(diagnose(&f, &p).iter().all(|x| x.kind != Kind::SmsCountry));
}

#[test]
fn a_changed_phone_number_is_not_an_enrolment_never_confirmed() {
    let mut x = sms("+14155550123");
    x.status = FactorStatus::Pending;
    x.created_at = ago(TimeDelta::days(100));
    x.repointed = Some(Change {
        at: ago(TimeDelta::minutes(10)),
        by: "admin".into(),
        why: None,
    });
    x.confirm_challenge = Some(9);
    let new_number = DeliveryFact {
        destination: "+1 ******0123".into(),
        ..message("sms", 10, false)
    };
    let f = Facts {
        factors: vec![x],
        codes_total: 0,
        codes_left: 0,
        phone: Some("+14155550123".into()),
        standing: Standing::GraceOver {
            ended: ago(TimeDelta::days(93)),
        },
        deliveries: vec![
            new_number,
            message("sms", 73, true),
            message("sms", 75, true),
        ],
        ..healthy()
    };
    let all = diagnose(&f, &Policy::default());
    let x = &all[0];
    assert_eq!(
        (x.kind, x.severity, x.title.as_str(), x.fix),
        (
            Kind::PhoneUnverified,
            Severity::Blocking,
            "New phone number not confirmed",
            Fix::ConfirmPending,
        ),
        "{all:#?}"
    );
    assert!(x.explanation.contains("changed 10 min ago"), "{x:?}");
    assert_eq!(
        x.evidence[..2],
        [
            "Changed to +1 ******0123 2026-11-21 08:50:00 UTC (10 min ago) by admin.",
            "Code sent to +1 ******0123 at 08:50:00 UTC: reached the gateway.",
        ]
    );
    assert_eq!(
        x.advice[1..],
        [
            Part::Act(Act::ConfirmFactor { factor: 2 }),
            say(" (if it expired, send another: "),
            Part::Act(Act::ResendCode { challenge: 9 }),
            say(")."),
        ],
        "{x:?}"
    );
    // Not "never confirmed", and the old number's failures are no blocker.
    let found = kinds(&f);
    assert!(
        !found.contains(&Kind::PendingEnrolment)
            && !found.contains(&Kind::DeliveryFailed)
            && !found.contains(&Kind::GraceOver),
        "{all:#?}"
    );
    assert_eq!(
        all.iter()
            .filter(|x| x.severity == Severity::Blocking)
            .count(),
        1
    );
    let h = all.iter().find(|x| x.kind == Kind::History).unwrap();
    assert!(
        h.evidence[0].ends_with("the number was changed since."),
        "{h:?}"
    );
    // With an authenticator app too, it is only a warning.
    let both = Facts {
        factors: vec![app(FactorStatus::Active), f.factors[0].clone()],
        standing: Standing::Enrolled,
        ..f
    };
    assert_eq!(first(&both).severity, Severity::Warning);
    assert_eq!(first(&both).kind, Kind::PhoneUnverified);
}

#[test]
fn a_disabled_factor_is_named_with_the_way_to_enable_it() {
    let mut off = app(FactorStatus::Disabled);
    off.disabled = Some(Change {
        at: ago(TimeDelta::hours(2)),
        by: "sam".into(),
        why: Some("phone at the repair shop".into()),
    });
    let f = Facts {
        factors: vec![off.clone()],
        standing: Standing::GraceOver {
            ended: ago(TimeDelta::days(100)),
        },
        ..healthy()
    };
    let all = diagnose(&f, &Policy::default());
    let x = &all[0];
    assert_eq!(
        (x.kind, x.severity, x.fix),
        (Kind::FactorDisabled, Severity::Blocking, Fix::EnableFactor),
        "{all:#?}"
    );
    assert_eq!(
        x.evidence[0],
        "Authenticator app (factor 1) disabled 2026-11-21 07:00:00 UTC (2 h ago) by sam: phone at the repair shop."
    );
    assert_eq!(acts(x), [&Act::EnableFactor { factor: 1 }], "{x:?}");
    // Not "no second factor, grace over: enrol an app".
    assert!(!kinds(&f).contains(&Kind::GraceOver), "{all:#?}");
    // In grace it is a warning; with another factor active, information.
    let in_grace = Facts {
        standing: Standing::InGrace {
            until: now() + TimeDelta::days(3),
        },
        ..f.clone()
    };
    assert_eq!(
        (first(&in_grace).kind, first(&in_grace).severity),
        (Kind::FactorDisabled, Severity::Warning)
    );
    assert!(!kinds(&in_grace).contains(&Kind::NoFactorYet));
    let mut sms_on = sms("+14155550123");
    sms_on.id = 2;
    let other = Facts {
        factors: vec![sms_on, off],
        standing: Standing::Enrolled,
        ..f
    };
    let x = diagnose(&other, &Policy::default())
        .into_iter()
        .find(|x| x.kind == Kind::FactorDisabled)
        .unwrap();
    assert_eq!(x.severity, Severity::Info);
}
