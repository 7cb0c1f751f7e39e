//! Account findings: disabled, locked, password bans, asked on every login.

use super::*;

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
    assert_eq!((x.kind, x.fix), (Kind::Locked, Fix::Unlock));
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
fn every_login_is_explained() {
    let x = first(&Facts {
        every_login: true,
        ..healthy()
    });
    assert_eq!(
        (x.kind, x.fix, acts(&x)),
        (
            Kind::EveryLogin,
            Fix::TurnOffEveryLogin,
            vec![&Act::EveryLoginOff]
        )
    );
}
