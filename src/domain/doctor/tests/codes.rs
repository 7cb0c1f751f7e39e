//! Code findings: clock skew, wrong codes, replays, backup codes, the code check.

use super::*;

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
        (x.kind, x.severity, x.fix),
        (Kind::BackupReused, Severity::Warning, Fix::NewCodes)
    );
    assert!(x.evidence[1].contains("from 198.51.100.7"), "{x:?}");
    assert!(acts(&x).contains(&&Act::GenerateCodes), "{x:?}");
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
    assert_eq!((x.kind, x.fix), (Kind::ClockSkew, Fix::FixPhoneClock));
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
fn the_resync_names_the_factor() {
    let mut f = healthy();
    f.attempts = vec![attempt("totp", "invalid", 20, Some(-3))];
    let x = first(&f);
    assert_eq!(x.fix, Fix::FixPhoneClock);
    assert_eq!(acts(&x), [&Act::Resync { factor: Some(1) }]);
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
    assert_eq!((x.kind, x.fix), (Kind::Replayed, Fix::TreatAsCompromised));
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
    assert_eq!((x.kind, x.fix), (Kind::CodesUsedUp, Fix::Reenrol));
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
