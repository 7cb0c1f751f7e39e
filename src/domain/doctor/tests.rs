//! The doctor's rules, table by table: each finding at its edges, with the
//! helpers that build the facts; the findings of one kind are in `tests/`.

use chrono::{DateTime, TimeDelta};

use super::*;
use crate::domain::enforcement::Standing;
use crate::domain::lockout::Lock;
use crate::domain::policy::Policy;
use crate::domain::totp::{SEARCH_STEPS, code_at_step, find_offset, step_of};
use crate::domain::vocab::{AttemptKind, AttemptOutcome, Channel};
use crate::domain::{FactorKind, FactorStatus, Time, UserStatus};

mod account;
mod codes;
mod enrolment;
mod messages;

/// The actions a finding's advice names.
fn acts(x: &Finding) -> Vec<&Act> {
    x.advice
        .iter()
        .filter_map(|p| match p {
            Part::Act(a) => Some(a),
            _ => None,
        })
        .collect()
}

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
        reset: None,
        deliveries: Vec::new(),
        last_login: None,
        password_ban: None,
        address_ban: None,
        temp_code: None,
        password_change: false,
        secured: None,
    }
}

fn attempt(kind: &str, outcome: &str, mins_ago: i64, offset: Option<i64>) -> AttemptFact {
    AttemptFact {
        at: ago(TimeDelta::minutes(mins_ago)),
        kind: AttemptKind::parse(kind).unwrap(),
        outcome: AttemptOutcome::parse(outcome).unwrap(),
        ip: "198.51.100.7".into(),
        matched_offset: offset,
        first_used_at: None,
        first_used_ip: None,
        first_used_by_resync: false,
    }
}

fn message(channel: &str, mins_ago: i64, failed: bool) -> DeliveryFact {
    DeliveryFact {
        at: ago(TimeDelta::minutes(mins_ago)),
        channel: Channel::parse(channel).unwrap(),
        destination: "+44 ******0123".into(),
        failed,
        reason: failed.then(|| "country calling code +44 is not allowed for SMS".into()),
        retry_at: None,
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
        reset: Some((ago(TimeDelta::minutes(10)), Restart::Reset)),
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

fn device(until_days: i64, revoked: bool) -> DeviceFact {
    DeviceFact {
        label: "Chrome on Windows".into(),
        last_ip: "198.51.100.40".into(),
        addresses: vec!["198.51.100.40".into(), "192.0.2.8".into()],
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
    let x = first(&new_ip);
    assert_eq!(x.kind, Kind::NewIp);
    assert!(
        x.evidence.iter().any(|e| e
            == "This time from 203.0.113.9; it has completed a code only from 198.51.100.40 and 192.0.2.8."),
        "{x:?}"
    );
    // Back at an address it completed from before, though not the last one.
    let returning = Facts {
        last_login: Some(login(device(3, false), "192.0.2.8")),
        ..healthy()
    };
    assert_eq!(first(&returning).kind, Kind::AllClear);
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
fn each_fix_names_the_action_that_does_it() {
    for facts in every_kind_of_facts() {
        for x in diagnose(&facts, &Policy::default()) {
            let needs_action = !matches!(x.fix, Fix::Nothing | Fix::AllowCountry | Fix::Wait);
            assert!(!needs_action || !acts(&x).is_empty(), "no action: {x:?}");
            // A key is named beside words only for an action that follows.
            for (i, part) in x.advice.iter().enumerate() {
                if let Part::Key(act) = part {
                    assert!(x.advice[i..].contains(&Part::Act(act.clone())), "{x:?}");
                }
            }
        }
    }
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
fn findings_name_no_front_end_s_command_or_key() {
    // The words are for every front end: a fix is an `Act`, which the CLI
    // words as a command line and the console as a key.
    for facts in every_kind_of_facts() {
        for x in diagnose(&facts, &Policy::default()) {
            let texts = x.advice.iter().filter_map(|p| match p {
                Part::Text(t) => Some(t.as_str()),
                Part::Act(_) | Part::Key(_) => None,
            });
            for said in [x.title.as_str(), x.explanation.as_str()]
                .into_iter()
                .chain(x.evidence.iter().map(String::as_str))
                .chain(texts)
            {
                for word in ["factordesk ", " --", "(key", "[", "screen", "Enter", "Esc"] {
                    assert!(!said.contains(word), "{word:?} in {said:?}");
                }
            }
        }
    }
}
