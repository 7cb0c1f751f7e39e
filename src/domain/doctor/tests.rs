use chrono::{DateTime, TimeDelta};

use super::*;
use crate::domain::totp::{SEARCH_STEPS, code_at_step, find_offset, step_of};

fn now() -> Time {
    DateTime::parse_from_rfc3339("2026-11-21T09:00:00Z")
        .unwrap()
        .to_utc()
}

fn ago(d: TimeDelta) -> Time {
    now() - d
}

fn app(status: FactorStatus) -> FactorFact {
    FactorFact {
        id: 1,
        kind: FactorKind::Totp,
        status,
        label: "Authenticator app".into(),
        destination: None,
        drift: 0,
        created_at: ago(TimeDelta::days(30)),
        last_used_at: Some(ago(TimeDelta::days(1))),
        repointed: None,
        confirm_challenge: None,
        disabled: None,
    }
}

fn sms(phone: &str) -> FactorFact {
    FactorFact {
        id: 2,
        kind: FactorKind::Sms,
        status: FactorStatus::Active,
        label: "SMS".into(),
        destination: Some(phone.into()),
        drift: 0,
        created_at: ago(TimeDelta::days(30)),
        last_used_at: None,
        repointed: None,
        confirm_challenge: None,
        disabled: None,
    }
}

/// A healthy user with an authenticator and ten backup codes.
fn healthy() -> Facts {
    Facts {
        now: now(),
        email: "a@example.com".into(),
        status: UserStatus::Active,
        disabled: None,
        lock: Lock::default(),
        standing: Standing::Enrolled,
        every_login: false,
        every_login_set: None,
        phone: None,
        phone_verified: false,
        factors: vec![app(FactorStatus::Active)],
        codes_total: 10,
        codes_left: 10,
        codes_last_used: None,
        devices: Vec::new(),
        attempts: Vec::new(),
        unlocked_at: None,
        reset_at: None,
        deliveries: Vec::new(),
        last_login: None,
        password_ban: None,
        address_ban: None,
    }
}

fn attempt(kind: &str, outcome: &str, mins_ago: i64, offset: Option<i64>) -> AttemptFact {
    AttemptFact {
        at: ago(TimeDelta::minutes(mins_ago)),
        kind: kind.into(),
        outcome: outcome.into(),
        ip: "198.51.100.7".into(),
        matched_offset: offset,
        first_used_at: None,
        first_used_ip: None,
        first_used_by_resync: false,
    }
}

fn first(f: &Facts) -> Finding {
    diagnose(f, &Policy::default()).remove(0)
}

fn kinds(f: &Facts) -> Vec<Kind> {
    diagnose(f, &Policy::default())
        .iter()
        .map(|x| x.kind)
        .collect()
}

#[test]
fn a_healthy_user_gets_all_clear_saying_what_was_checked() {
    let x = first(&healthy());
    assert_eq!(x.kind, Kind::AllClear);
    assert_eq!(x.severity, Severity::Ok);
    assert_eq!(
        x.evidence,
        [
            "Checked: account active, 2FA not locked, a second factor enrolled.",
            "Factors: authenticator app; no phone.",
            "Codes in the last 24 hours: no wrong codes, no reused codes.",
            "Backup codes: 10 of 10 left; remembered computers: 0 trusted now; ask on every login: off.",
        ]
    );
}

#[test]
fn all_clear_says_what_it_saw_not_what_it_hoped() {
    // Two wrong codes, a reused backup code, a pending and a disabled
    // factor, a failed message since delivered, an unverified UK phone.
    let mut reused = attempt("backup", "replayed", 3, None);
    reused.first_used_at = Some(ago(TimeDelta::days(2)));
    reused.first_used_ip = Some("198.51.100.7".into());
    let mut pending = sms("+447700900123");
    pending.status = FactorStatus::Pending;
    let mut off = app(FactorStatus::Disabled);
    off.id = 3;
    let f = Facts {
        factors: vec![app(FactorStatus::Active), pending, off],
        phone: Some("+447700900123".into()),
        attempts: vec![
            attempt("totp", "invalid", 1, None),
            reused,
            attempt("totp", "invalid", 5, None),
        ],
        deliveries: vec![message("sms", 2, false), message("sms", 9, true)],
        codes_left: 7,
        every_login: true,
        ..healthy()
    };
    let all = diagnose(&f, &Policy::default());
    let clear = all.iter().find(|x| x.kind == Kind::AllClear);
    // The pending SMS factor is a warning, so there is no "all clear"…
    assert!(clear.is_none(), "{all:#?}");
    // …but without it, the list says what was found.
    let f = Facts {
        factors: vec![app(FactorStatus::Active), f.factors[2].clone()],
        ..f
    };
    let all = diagnose(&f, &Policy::default());
    let x = all.iter().find(|x| x.kind == Kind::AllClear).unwrap();
    assert_eq!(
        x.evidence,
        [
            "Checked: account active, 2FA not locked, a second factor enrolled.",
            "Factors: authenticator app, 1 disabled; phone +44 ******0123 not verified, SMS to +44 not allowed.",
            "Messages: 2 sent recently, none failing now.",
            "Codes in the last 24 hours: 2 wrong codes, 1 reused code.",
            "Backup codes: 7 of 10 left; remembered computers: 0 trusted now; ask on every login: on.",
        ],
        "{all:#?}"
    );
    // The two wrong codes and the reused backup code are findings of their own.
    let wrong = all.iter().find(|x| x.kind == Kind::WrongCodes).unwrap();
    assert_eq!(
        (wrong.severity, wrong.title.as_str(), wrong.fix),
        (Severity::Info, "Two wrong codes", Fix::CheckCode)
    );
    assert_eq!(
        wrong.evidence,
        ["At 08:55:00 UTC and 08:59:00 UTC from 198.51.100.7."]
    );
    let backup = all.iter().find(|x| x.kind == Kind::BackupReused).unwrap();
    assert_eq!(
        (backup.severity, backup.fix),
        (Severity::Info, Fix::Nothing)
    );
}

#[test]
fn a_used_backup_code_from_another_address_is_a_warning() {
    let mut r = attempt("backup", "replayed", 3, None);
    r.ip = "203.0.113.66".into();
    r.first_used_at = Some(ago(TimeDelta::days(2)));
    r.first_used_ip = Some("198.51.100.7".into());
    let f = Facts {
        attempts: vec![r],
        codes_left: 7,
        ..healthy()
    };
    let x = first(&f);
    assert_eq!(
        (x.kind, x.severity, x.fix, x.key),
        (
            Kind::BackupReused,
            Severity::Warning,
            Fix::NewCodes,
            Some('g')
        )
    );
    assert!(x.evidence[1].contains("from 198.51.100.7"), "{x:?}");
    assert!(x.action.contains("factordesk codes generate a@example.com"));
}

#[test]
fn disabled_comes_first_with_why() {
    let f = Facts {
        status: UserStatus::Disabled,
        disabled: Some((ago(TimeDelta::days(7)), "left the company".into())),
        lock: Lock {
            failures: 10,
            locked_until: Some(now() + TimeDelta::minutes(5)),
            streak: 10,
        },
        ..healthy()
    };
    let x = first(&f);
    assert_eq!(
        (x.kind, x.severity, x.fix),
        (Kind::Disabled, Severity::Blocking, Fix::EnableAccount)
    );
    assert!(x.evidence[0].contains("left the company"));
    assert_eq!(kinds(&f)[1], Kind::Locked);
}

#[test]
fn locked_says_when_it_releases_and_whether_codes_were_near() {
    let guesses: Vec<AttemptFact> = (0..10)
        .map(|i| attempt("totp", "invalid", 5 - i / 3, None))
        .collect();
    let f = Facts {
        lock: Lock {
            failures: 10,
            locked_until: Some(now() + TimeDelta::minutes(11)),
            streak: 10,
        },
        attempts: guesses,
        ..healthy()
    };
    let x = first(&f);
    assert_eq!(
        (x.kind, x.fix, x.fix.key()),
        (Kind::Locked, Fix::Unlock, Some('u'))
    );
    assert!(x.explanation.contains("releases in 11 min"), "{x:?}");
    assert!(x.evidence.iter().any(|e| e.contains("guessing")), "{x:?}");
    // A released lock is no finding.
    let released = Facts {
        lock: Lock {
            failures: 10,
            locked_until: Some(now()),
            streak: 10,
        },
        ..f
    };
    assert_ne!(first(&released).kind, Kind::Locked);
}

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
        (x.kind, x.severity, x.fix, x.key),
        (
            Kind::NoFactorYet,
            Severity::Warning,
            Fix::EnrolApp,
            Some('t')
        )
    );
    assert!(
        x.explanation
            .contains("must enrol by 2026-11-23 09:00:00 UTC (in 2 days)"),
        "{x:?}"
    );
    assert!(
        x.action
            .contains("factordesk factor add-totp a@example.com")
    );
    // Not when 2FA is not required of them.
    let f = Facts {
        standing: Standing::NotRequired,
        ..f
    };
    assert!(!kinds(&f).contains(&Kind::NoFactorYet));
}

fn accepted(mins_ago: i64) -> AttemptFact {
    attempt("totp", "accepted", mins_ago, None)
}

#[test]
fn attempts_before_a_success_are_history_not_findings() {
    // Three wrong codes, then they got in: no current finding about them.
    let mut attempts = vec![accepted(1)];
    attempts.extend((2..5).map(|i| attempt("totp", "invalid", i, None)));
    let f = Facts {
        attempts,
        ..healthy()
    };
    let all = diagnose(&f, &Policy::default());
    assert!(all.iter().all(|x| x.kind != Kind::WrongCodes), "{all:#?}");
    let h = all.iter().find(|x| x.kind == Kind::History).unwrap();
    assert_eq!((h.severity, h.fix), (Severity::Info, Fix::Nothing));
    assert_eq!(
        h.evidence[0],
        "3 wrong code(s) from 08:56:00 UTC to 08:58:00 UTC from 198.51.100.7."
    );
    assert!(
        h.explanation
            .starts_with("These came before their login with a code at 08:59:00 UTC"),
        "{h:?}"
    );
    assert_eq!(all.last().unwrap().kind, Kind::AllClear);
    // The same codes after the success are current.
    let mut attempts: Vec<AttemptFact> = (1..4)
        .map(|i| attempt("totp", "invalid", i, None))
        .collect();
    attempts.push(accepted(5));
    let f = Facts {
        attempts,
        ..healthy()
    };
    assert_eq!(first(&f).kind, Kind::WrongCodes);
    assert!(!kinds(&f).contains(&Kind::History));
}

#[test]
fn an_unlock_or_a_reset_settles_earlier_attempts() {
    let guesses: Vec<AttemptFact> = (0..10)
        .map(|i| attempt("totp", "invalid", 11 + i, None))
        .collect();
    // Unlocked 5 minutes ago: the ten guesses before it are history.
    let unlocked = Facts {
        attempts: guesses.clone(),
        unlocked_at: Some(ago(TimeDelta::minutes(5))),
        ..healthy()
    };
    let all = diagnose(&unlocked, &Policy::default());
    assert!(
        all.iter()
            .all(|x| x.kind != Kind::WrongCodes && x.kind != Kind::Locked),
        "{all:#?}"
    );
    let h = all.iter().find(|x| x.kind == Kind::History).unwrap();
    assert!(
        h.explanation.contains("before the unlock at 08:55:00 UTC")
            && h.evidence[0].starts_with("10 wrong code(s) from 08:40:00 UTC to 08:49:00 UTC"),
        "{h:?}"
    );
    // An attempt at the very instant of the unlock, or after, is current.
    let mut again = guesses.clone();
    again.insert(0, attempt("totp", "invalid", 0, None));
    again.insert(0, attempt("totp", "invalid", 0, None));
    again.insert(0, attempt("totp", "invalid", 0, None));
    let f = Facts {
        attempts: again,
        unlocked_at: Some(now()),
        ..healthy()
    };
    assert_eq!(first(&f).kind, Kind::WrongCodes);
    // A replay from elsewhere before a 2FA reset is no current finding.
    let mut r = attempt("totp", "replayed", 30, Some(0));
    r.ip = "203.0.113.66".into();
    r.first_used_ip = Some("198.51.100.50".into());
    let reset = Facts {
        attempts: vec![r],
        reset_at: Some(ago(TimeDelta::minutes(10))),
        factors: Vec::new(),
        codes_total: 0,
        codes_left: 0,
        standing: Standing::InGrace {
            until: now() + TimeDelta::days(7),
        },
        ..healthy()
    };
    let all = diagnose(&reset, &Policy::default());
    assert_eq!(all[0].kind, Kind::NoFactorYet, "{all:#?}");
    assert!(all.iter().all(|x| x.kind != Kind::Replayed), "{all:#?}");
    let h = all.iter().find(|x| x.kind == Kind::History).unwrap();
    assert!(
        h.evidence[0].ends_with("from 203.0.113.66 (first used from 198.51.100.50).")
            && h.explanation.contains("before the 2FA reset"),
        "{h:?}"
    );
}

fn message(channel: &str, mins_ago: i64, failed: bool) -> DeliveryFact {
    DeliveryFact {
        at: ago(TimeDelta::minutes(mins_ago)),
        channel: channel.into(),
        destination: "+44 ******0123".into(),
        failed,
        reason: failed.then(|| "country calling code +44 is not allowed for SMS".into()),
        retry_at: None,
    }
}

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
        (x.kind, x.severity, x.fix.key()),
        (Kind::PendingEnrolment, Severity::Blocking, Some('c'))
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
            channel: "sms".into(),
            destination: "+44 ******0123".into(),
            failed: true,
            reason: Some("country calling code +44 is not allowed for SMS (allowed: +1)".into()),
            retry_at: None,
        }],
        ..healthy()
    };
    let x = first(&f);
    assert_eq!((x.kind, x.severity), (Kind::SmsCountry, Severity::Blocking));
    assert!(x.action.contains("sms_countries 1,44"), "{x:?}");
    assert!(x.evidence[1].contains("1 failed message"), "{x:?}");
    // Not repeated as a separate delivery failure.
    assert!(!kinds(&f).contains(&Kind::DeliveryFailed));
    // Allowed again: no finding.
    let mut p = Policy::default();
    p.set("sms_countries", "1,44").unwrap();
    assert!(diagnose(&f, &p).iter().all(|x| x.kind != Kind::SmsCountry));
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
            channel: "email".into(),
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
            channel: "email".into(),
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
fn clock_skew_names_the_offset() {
    let f = Facts {
        attempts: vec![
            attempt("totp", "invalid", 20, Some(-3)),
            attempt("totp", "invalid", 21, Some(-3)),
            attempt("totp", "invalid", 22, Some(-2)),
        ],
        ..healthy()
    };
    let x = first(&f);
    assert_eq!(
        (x.kind, x.fix, x.fix.key()),
        (Kind::ClockSkew, Fix::FixPhoneClock, Some('S'))
    );
    assert!(x.explanation.contains("about 90 s slow"), "{x:?}");
    // After a resync that learned that offset, it is no longer a problem.
    let mut resynced = Facts {
        attempts: f.attempts.clone(),
        ..healthy()
    };
    resynced.factors[0].drift = -3;
    let x = first(&resynced);
    assert_eq!(
        (x.kind, x.severity, x.fix),
        (Kind::ClockSkew, Severity::Info, Fix::Nothing)
    );
    assert!(x.title.contains("resynced"), "{x:?}");
    let fast = Facts {
        attempts: vec![attempt("totp", "invalid", 1, Some(4))],
        ..healthy()
    };
    assert!(
        first(&fast).explanation.contains("about 2 min fast"),
        "{:?}",
        first(&fast)
    );
}

#[test]
fn wrong_codes_with_no_time_match() {
    let f = Facts {
        attempts: (0..3)
            .map(|i| attempt("totp", "invalid", i, None))
            .collect(),
        ..healthy()
    };
    assert_eq!(first(&f).kind, Kind::WrongCodes);
    let two = Facts {
        attempts: (0..2)
            .map(|i| attempt("totp", "invalid", i, None))
            .collect(),
        ..healthy()
    };
    // Below the warning mark: information, and the all-clear counts them.
    let x = first(&two);
    assert_eq!((x.kind, x.severity), (Kind::WrongCodes, Severity::Info));
    let clear = diagnose(&two, &Policy::default()).pop().unwrap();
    assert_eq!(clear.kind, Kind::AllClear);
    assert!(clear.evidence[2].contains("2 wrong codes"), "{clear:?}");
}

#[test]
fn a_replay_from_another_ip_points_at_compromise() {
    let mut r = attempt("totp", "replayed", 12, Some(0));
    r.ip = "203.0.113.66".into();
    r.first_used_at = Some(ago(TimeDelta::seconds(735)));
    r.first_used_ip = Some("198.51.100.50".into());
    let f = Facts {
        attempts: vec![r.clone()],
        ..healthy()
    };
    let x = first(&f);
    assert_eq!((x.kind, x.fix), (Kind::Replayed, Fix::Reset2fa));
    assert!(x.evidence[1].contains("from 198.51.100.50"), "{x:?}");
    r.ip = "198.51.100.50".into();
    let same = Facts {
        attempts: vec![r],
        ..healthy()
    };
    assert_eq!(first(&same).fix, Fix::Nothing);
}

#[test]
fn a_code_spent_by_a_resync_is_no_replay_from_elsewhere() {
    let mut r = attempt("totp", "replayed", 1, Some(0));
    r.ip = "203.0.113.66".into();
    r.first_used_at = Some(ago(TimeDelta::seconds(60)));
    r.first_used_by_resync = true;
    let f = Facts {
        attempts: vec![r.clone()],
        ..healthy()
    };
    let all = diagnose(&f, &Policy::default());
    let x = &all[0];
    assert_eq!(
        (x.kind, x.severity, x.fix),
        (Kind::ResyncSpent, Severity::Info, Fix::Nothing)
    );
    assert!(
        x.evidence[1].contains("resync at 2026-11-21 08:59"),
        "{x:?}"
    );
    assert!(all.iter().all(|x| x.kind != Kind::Replayed), "{all:?}");
    assert!(
        all.iter()
            .flat_map(|x| &x.evidence)
            .all(|e| !e.contains("addresses differ")),
        "{all:?}"
    );
    // A real replay from elsewhere next to it is still reported as one.
    let mut other = attempt("totp", "replayed", 5, Some(0));
    other.ip = "203.0.113.66".into();
    other.first_used_at = Some(ago(TimeDelta::minutes(6)));
    other.first_used_ip = Some("198.51.100.50".into());
    let both = Facts {
        attempts: vec![r, other],
        ..healthy()
    };
    assert_eq!(first(&both).kind, Kind::Replayed);
    assert!(kinds(&both).contains(&Kind::ResyncSpent));
}

#[test]
fn backup_codes_at_their_edges() {
    let out = Facts {
        codes_left: 0,
        codes_last_used: Some(ago(TimeDelta::days(6))),
        attempts: vec![attempt("backup", "replayed", 29, None)],
        ..healthy()
    };
    let x = first(&out);
    assert_eq!((x.kind, x.fix), (Kind::CodesUsedUp, Fix::Reset2fa));
    assert!(x.evidence[1].contains("tried again"), "{x:?}");
    assert_eq!(
        first(&Facts {
            codes_left: 1,
            ..healthy()
        })
        .kind,
        Kind::CodesLow
    );
    assert_eq!(
        first(&Facts {
            codes_left: 3,
            ..healthy()
        })
        .kind,
        Kind::CodesLow
    );
    assert_eq!(
        first(&Facts {
            codes_left: 4,
            ..healthy()
        })
        .kind,
        Kind::AllClear
    );
    assert_eq!(
        kinds(&Facts {
            codes_left: 0,
            codes_total: 0,
            ..healthy()
        })[0],
        Kind::NoCodes
    );
}

fn device(until_days: i64, revoked: bool) -> DeviceFact {
    DeviceFact {
        label: "Chrome on Windows".into(),
        last_ip: "198.51.100.40".into(),
        last_seen_at: ago(TimeDelta::days(15)),
        trusted_until: now() + TimeDelta::days(until_days),
        revoked_at: revoked.then(|| ago(TimeDelta::days(1))),
        revoked_reason: revoked.then(|| "stolen".into()),
    }
}

#[test]
fn trusted_devices_expired_revoked_and_new_ip() {
    let login = |d: DeviceFact, ip: &str| LastLogin {
        at: ago(TimeDelta::minutes(10)),
        ip: ip.into(),
        device: Some(d),
        completed: false,
    };
    let expired = Facts {
        last_login: Some(login(device(-1, false), "203.0.113.9")),
        devices: vec![device(-1, false)],
        ..healthy()
    };
    let x = first(&expired);
    assert_eq!(x.kind, Kind::DeviceExpired);
    assert!(
        x.explanation.contains("ran out 24 h ago")
            && x.explanation.contains("new address (203.0.113.9)"),
        "{x:?}"
    );
    let new_ip = Facts {
        last_login: Some(login(device(3, false), "203.0.113.9")),
        ..healthy()
    };
    assert_eq!(first(&new_ip).kind, Kind::NewIp);
    let revoked = Facts {
        last_login: Some(login(device(3, true), "198.51.100.40")),
        ..healthy()
    };
    assert_eq!(first(&revoked).kind, Kind::DeviceRevoked);
    let fine = Facts {
        last_login: Some(login(device(3, false), "198.51.100.40")),
        ..healthy()
    };
    assert_eq!(first(&fine).kind, Kind::AllClear);
}

#[test]
fn every_login_is_explained() {
    let x = first(&Facts {
        every_login: true,
        ..healthy()
    });
    assert_eq!((x.kind, x.fix.key()), (Kind::EveryLogin, Some('e')));
}

#[test]
fn skew_search_at_its_boundaries() {
    let secret = b"12345678901234567890";
    let at = now();
    let s = step_of(at);
    for d in [0, 1, -1, 3, -3, 20, -20] {
        let code = code_at_step(secret, s + d);
        assert_eq!(find_offset(secret, &code, at, SEARCH_STEPS), Some(d), "{d}");
    }
    assert_eq!(
        skew_message(Some(-3)),
        "This code was valid 90 s ago: the phone's clock is about 90 s slow."
    );
    assert_eq!(
        skew_message(Some(3)),
        "This code becomes valid in 90 s: the phone's clock is about 90 s fast."
    );
    assert_eq!(
        skew_message(Some(-20)),
        "This code was valid 10 min ago: the phone's clock is about 10 min slow."
    );
    assert!(skew_message(Some(0)).contains("valid right now"));
    assert!(skew_message(None).contains("matches no time within 10 minutes"));
}

/// Every finding the other tests build, for checks that hold for all.
fn every_kind_of_facts() -> Vec<Facts> {
    let mut skewed = healthy();
    skewed.attempts = vec![attempt("totp", "invalid", 20, Some(-3))];
    let mut resynced = skewed.clone();
    resynced.factors[0].drift = -3;
    let mut replay = attempt("totp", "replayed", 12, Some(0));
    replay.first_used_at = Some(ago(TimeDelta::minutes(13)));
    replay.first_used_ip = Some("198.51.100.50".into());
    let device = |until_days, revoked, ip: &str| LastLogin {
        at: ago(TimeDelta::minutes(10)),
        ip: ip.into(),
        device: Some(self::device(until_days, revoked)),
        completed: false,
    };
    vec![
        healthy(),
        Facts {
            status: UserStatus::Disabled,
            disabled: Some((ago(TimeDelta::days(7)), "left".into())),
            lock: Lock {
                failures: 10,
                locked_until: Some(now() + TimeDelta::minutes(5)),
                streak: 10,
            },
            ..healthy()
        },
        Facts {
            factors: vec![app(FactorStatus::Pending)],
            standing: Standing::GraceOver {
                ended: ago(TimeDelta::days(2)),
            },
            ..healthy()
        },
        Facts {
            factors: Vec::new(),
            codes_total: 0,
            codes_left: 0,
            standing: Standing::GraceOver {
                ended: ago(TimeDelta::days(2)),
            },
            ..healthy()
        },
        Facts {
            factors: vec![sms("+447700900123")],
            ..healthy()
        },
        skewed,
        resynced,
        Facts {
            attempts: (0..3)
                .map(|i| attempt("totp", "invalid", i, None))
                .collect(),
            ..healthy()
        },
        Facts {
            attempts: vec![replay],
            ..healthy()
        },
        Facts {
            codes_left: 0,
            ..healthy()
        },
        Facts {
            codes_left: 2,
            ..healthy()
        },
        Facts {
            codes_left: 0,
            codes_total: 0,
            ..healthy()
        },
        Facts {
            last_login: Some(device(-1, false, "203.0.113.9")),
            ..healthy()
        },
        Facts {
            last_login: Some(device(3, true, "198.51.100.40")),
            ..healthy()
        },
        Facts {
            every_login: true,
            ..healthy()
        },
    ]
}

#[test]
fn each_fix_gives_its_key_once_and_the_command() {
    for facts in every_kind_of_facts() {
        for x in diagnose(&facts, &Policy::default()) {
            assert_eq!(x.key, x.fix.key(), "{x:?}");
            if let Some(k) = x.key {
                // The console prints the key beside the action: not again in it.
                assert!(
                    !x.action.contains(&format!("({k})"))
                        && !x.action.contains(&format!("key {k}")),
                    "{x:?}"
                );
            }
            let needs_command = !matches!(x.fix, Fix::Nothing | Fix::AllowCountry);
            assert!(
                !needs_command || x.action.contains("factordesk "),
                "no command: {x:?}"
            );
        }
    }
}

#[test]
fn the_key_is_in_the_json() {
    let mut f = healthy();
    f.attempts = vec![attempt("totp", "invalid", 20, Some(-3))];
    let x = first(&f);
    let json = serde_json::to_value(&x).unwrap();
    assert_eq!(json["fix"], "fix_phone_clock");
    assert_eq!(json["key"], "S");
    assert!(
        x.action
            .contains("factordesk factor resync a@example.com 1 CODE1 CODE2"),
        "{x:?}"
    );
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
        (x.kind, x.severity, x.title.as_str(), x.fix, x.key),
        (
            Kind::PhoneUnverified,
            Severity::Blocking,
            "New phone number not confirmed",
            Fix::ConfirmPending,
            Some('c')
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
    assert!(
        x.action.ends_with(
            "factordesk factor confirm a@example.com 2 CODE (if it expired, send another: factordesk login resend 9)."
        ),
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
        (x.kind, x.severity, x.fix, x.key),
        (
            Kind::FactorDisabled,
            Severity::Blocking,
            Fix::EnableFactor,
            Some('d')
        ),
        "{all:#?}"
    );
    assert_eq!(
        x.evidence[0],
        "Authenticator app (factor 1) disabled 2026-11-21 07:00:00 UTC (2 h ago) by sam: phone at the repair shop."
    );
    assert!(
        x.action
            .ends_with("enable it: factordesk factor enable a@example.com 1"),
        "{x:?}"
    );
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

#[test]
fn evidence_cites_times_and_sources() {
    // Bob: which attempts matched, when and from where.
    let mut other_ip = attempt("totp", "invalid", 21, Some(-3));
    other_ip.ip = "203.0.113.5".into();
    let f = Facts {
        attempts: vec![
            attempt("totp", "invalid", 20, Some(-3)),
            other_ip,
            attempt("totp", "invalid", 22, Some(-3)),
        ],
        ..healthy()
    };
    let x = first(&f);
    assert_eq!(x.kind, Kind::ClockSkew);
    assert_eq!(
        x.evidence[1],
        "At 08:38:00 UTC, 08:39:00 UTC and 08:40:00 UTC from 198.51.100.7, 203.0.113.5."
    );
    // Many are counted, not all listed.
    let f = Facts {
        attempts: (1..=6)
            .map(|i| attempt("totp", "invalid", i, Some(2)))
            .collect(),
        ..healthy()
    };
    assert_eq!(
        first(&f).evidence[1],
        "At 08:56:00 UTC, 08:57:00 UTC, 08:58:00 UTC and 08:59:00 UTC (2 earlier) from 198.51.100.7."
    );
    // Judy: since when, and who set it.
    let judy = Facts {
        every_login: true,
        every_login_set: Some(Change {
            at: ago(TimeDelta::days(5)),
            by: "demo".into(),
            why: None,
        }),
        ..healthy()
    };
    assert_eq!(
        first(&judy).evidence,
        ["On since 2026-11-16 09:00:00 UTC (5 days ago), set by demo."]
    );
    // Heidi: when her messages went.
    let heidi = Facts {
        factors: vec![FactorFact {
            kind: FactorKind::Email,
            destination: Some("heidi@example.com".into()),
            ..sms("")
        }],
        deliveries: vec![
            DeliveryFact {
                destination: "h***i@example.com".into(),
                ..message("email", 60 * 48 - 2, false)
            },
            DeliveryFact {
                destination: "h***i@example.com".into(),
                ..message("email", 60 * 48, false)
            },
        ],
        ..healthy()
    };
    assert_eq!(
        first(&heidi).evidence,
        ["Sent to h***i@example.com at 2026-11-19 09:00:00 UTC and 2026-11-19 09:02:00 UTC."]
    );
}

#[test]
fn a_code_already_used_needs_a_new_one_not_better_timing() {
    let login = SpentBy::Login {
        at: Some(ago(TimeDelta::seconds(40))),
        ip: Some("198.51.100.23".into()),
    };
    assert_eq!(
        used_message(0, &login, now()),
        "This code was already used to log in 40 s ago (2026-11-21 08:59:20 UTC) from 198.51.100.23: each code works once, so they need a new one (the next code the app shows)."
    );
    let m = used_message(-3, &SpentBy::Resync { at: Some(now()) }, now());
    assert!(
        m.starts_with("This code was already spent by the help desk's resync just now")
            && m.ends_with("It was valid 90 s ago: the phone's clock is about 90 s slow."),
        "{m}"
    );
    assert!(
        !m.contains("valid right now") && !m.contains("in time"),
        "{m}"
    );
    let fast = used_message(1, &SpentBy::Login { at: None, ip: None }, now());
    assert!(
        fast.starts_with("This code was already used to log in: ")
            && fast.ends_with("It becomes valid in 30 s: the phone's clock is about 30 s fast."),
        "{fast}"
    );
}

#[test]
fn the_hard_stop_says_only_an_admin_unlocks_it() {
    let f = Facts {
        lock: Lock {
            failures: 9,
            locked_until: Some(crate::domain::lockout::until_unlocked()),
            streak: 100,
        },
        ..healthy()
    };
    let x = first(&f);
    assert_eq!(
        (x.kind, x.severity, x.fix),
        (Kind::Locked, Severity::Blocking, Fix::Unlock)
    );
    assert_eq!(x.title, "2FA locked until unlocked");
    assert!(x.explanation.contains("100 wrong codes in a row"), "{x:?}");
    assert!(
        x.explanation.contains("will not release by itself"),
        "{x:?}"
    );
}

#[test]
fn a_password_ban_says_until_when_and_how_to_lift_it() {
    let f = Facts {
        password_ban: Some((now() + TimeDelta::minutes(12), 2)),
        ..healthy()
    };
    let x = first(&f);
    assert_eq!((x.kind, x.fix), (Kind::PasswordBanned, Fix::Unlock));
    assert!(x.explanation.contains("refused until"), "{x:?}");
    assert!(x.evidence[0].contains("ban 2 in a row"), "{x:?}");
    // An ended ban is no finding.
    let ended = Facts {
        password_ban: Some((now(), 2)),
        ..healthy()
    };
    assert_ne!(first(&ended).kind, Kind::PasswordBanned);
    let address = Facts {
        address_ban: Some(("203.0.113.9".into(), now() + TimeDelta::minutes(3))),
        ..healthy()
    };
    let x = first(&address);
    assert_eq!((x.kind, x.fix), (Kind::AddressBanned, Fix::Wait));
    assert!(x.explanation.contains("203.0.113.9"), "{x:?}");
}

#[test]
fn messages_held_back_by_the_limit_say_when_the_next_can_go() {
    let held = DeliveryFact {
        at: ago(TimeDelta::minutes(2)),
        channel: "email".into(),
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
