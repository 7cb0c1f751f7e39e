//! The doctor on the demo database: each support scenario's own finding comes
//! first; the code check consumes nothing; resync fixes a skewed phone.

// Test helpers unwrap like the tests do (`allow-unwrap-in-tests` covers only
// the test functions themselves).
#![allow(clippy::unwrap_used)]

mod support;

use chrono::TimeDelta;
use factordesk::desk::Keyset;
use factordesk::desk::login::{LoginRequest, PasswordInput};
use factordesk::desk::readiness::{Format, ReadinessRow, Sort};
use factordesk::desk::views::VerifyResult;
use factordesk::desk::{Desk, DeskError};
use factordesk::domain::doctor::{Act, Fix, Kind, Part, Severity};
use factordesk::domain::{Action, FactorKind};

use support::{demo_desk, newest_code};

fn app_factor(desk: &Desk, email: &str) -> i64 {
    desk.factors(email)
        .unwrap()
        .into_iter()
        .find(|f| f.kind == FactorKind::Totp)
        .unwrap()
        .id
}

#[test]
fn every_scenario_user_gets_their_own_finding_first() {
    let mut desk = demo_desk();
    let cases = [
        ("alice@example.com", Kind::AllClear, Severity::Ok),
        ("bob@example.com", Kind::ClockSkew, Severity::Warning),
        ("carol@example.co.uk", Kind::SmsCountry, Severity::Blocking),
        ("dave@example.com", Kind::CodesUsedUp, Severity::Blocking),
        ("erin@example.com", Kind::Locked, Severity::Blocking),
        ("frank@example.com", Kind::GraceOver, Severity::Blocking),
        (
            "grace@example.com",
            Kind::PendingEnrolment,
            Severity::Blocking,
        ),
        ("heidi@example.com", Kind::Deliveries, Severity::Info),
        ("ivan@example.com", Kind::DeviceExpired, Severity::Info),
        ("judy@example.com", Kind::EveryLogin, Severity::Info),
        ("mallory@example.com", Kind::Replayed, Severity::Warning),
        ("oscar@example.com", Kind::Disabled, Severity::Blocking),
    ];
    for (email, kind, severity) in cases {
        let report = desk.doctor(email, None).unwrap();
        let first = &report.findings[0];
        assert_eq!(
            (first.kind, first.severity),
            (kind, severity),
            "{email}: {:#?}",
            report.findings
        );
        assert!(
            !first.explanation.is_empty() && !first.advice.is_empty(),
            "{email}"
        );
    }
}

#[test]
fn the_evidence_names_times_counts_and_addresses() {
    let mut desk = demo_desk();
    let erin = desk
        .doctor("erin@example.com", None)
        .unwrap()
        .findings
        .remove(0);
    assert!(
        erin.evidence[0]
            .starts_with("10 wrong codes in a row; releases by itself at 2026-11-21 09:1"),
        "{erin:?}"
    );
    assert_eq!(erin.fix, Fix::Unlock);
    assert_eq!(factordesk::tui::keys::fix_key(erin.fix), Some('u'));
    let mallory = desk
        .doctor("mallory@example.com", None)
        .unwrap()
        .findings
        .remove(0);
    assert!(
        mallory
            .evidence
            .iter()
            .any(|e| e.contains("from 198.51.100.50")),
        "{mallory:?}"
    );
    assert_eq!(mallory.fix, Fix::TreatAsCompromised);
    let bob = desk
        .doctor("bob@example.com", None)
        .unwrap()
        .findings
        .remove(0);
    assert!(bob.explanation.contains("about 90 s slow"), "{bob:?}");
    assert_eq!(
        bob.evidence[1], "At 08:38:12 UTC, 08:39:12 UTC and 08:40:12 UTC from 198.51.100.23.",
        "{bob:?}"
    );
    let judy = desk
        .doctor("judy@example.com", None)
        .unwrap()
        .findings
        .remove(0);
    assert_eq!(
        judy.evidence,
        ["On since 2026-11-16 09:00:12 UTC (5 days ago), set by demo."]
    );
    let heidi = desk
        .doctor("heidi@example.com", None)
        .unwrap()
        .findings
        .remove(0);
    // Her confirmation code at enrolment, and her last login's code.
    assert_eq!(
        heidi.evidence,
        ["Sent to h***i@example.com at 2026-10-12 09:00:00 UTC and 2026-11-19 09:00:00 UTC."]
    );
}

#[test]
fn the_code_check_finds_the_skew_and_consumes_nothing() {
    let mut desk = demo_desk();
    let bob = "bob@example.com";
    let fid = app_factor(&desk, bob);
    let before = desk.user(bob).unwrap();
    let audit_before = desk.audit_count().unwrap();
    // What Bob's phone, 90 s slow, shows now.
    let slow = desk
        .authenticator_code(bob, fid, TimeDelta::seconds(-90))
        .unwrap();
    let report = desk.doctor(bob, Some(&slow)).unwrap();
    let check = report.code_check.unwrap();
    assert_eq!(check.offset_steps, Some(-3));
    assert_eq!(
        check.message,
        "This code was valid 90 s ago: the phone's clock is about 90 s slow."
    );
    // No failure counted, no step spent, exactly one audit event.
    let after = desk.user(bob).unwrap();
    assert_eq!(after.lock, before.lock);
    assert_eq!(after.factors, before.factors);
    assert_eq!(desk.audit_count().unwrap(), audit_before + 1);

    // A code checked while valid still logs in afterwards: it was not used up.
    let now_code = desk
        .authenticator_code(bob, fid, TimeDelta::zero())
        .unwrap();
    assert_eq!(
        desk.check_code(bob, &now_code).unwrap().offset_steps,
        Some(0)
    );
    let c = challenge(&mut desk, bob);
    assert_eq!(
        desk.verify(c, &now_code, None).unwrap().result,
        VerifyResult::Accepted
    );
}

#[test]
fn skew_checks_at_the_search_edges() {
    let mut desk = demo_desk();
    let alice = "alice@example.com";
    let fid = app_factor(&desk, alice);
    for (offset_s, want) in [
        (0, Some(0)),
        (30, Some(1)),
        (-30, Some(-1)),
        (600, Some(20)),
        (-600, Some(-20)),
    ] {
        let code = desk
            .authenticator_code(alice, fid, TimeDelta::seconds(offset_s))
            .unwrap();
        let check = desk.check_code(alice, &code).unwrap();
        assert_eq!(check.offset_steps, want, "{offset_s}");
        desk.advance_clock(TimeDelta::minutes(3));
    }
    let far = desk
        .authenticator_code(alice, fid, TimeDelta::seconds(630))
        .unwrap();
    assert_ne!(desk.check_code(alice, &far).unwrap().offset_steps, Some(21));
}

#[test]
fn code_checks_are_rate_limited_and_a_refusal_is_audited() {
    let mut desk = demo_desk();
    let alice = "alice@example.com";
    for _ in 0..5 {
        desk.check_code(alice, "000000").unwrap();
    }
    let before = desk.audit_count().unwrap();
    let err = desk.check_code(alice, "000000").unwrap_err();
    assert!(
        matches!(err, DeskError::Denied(_)) && err.to_string().contains("the next can be made at"),
        "{err}"
    );
    assert_eq!(err.exit_code(), 3);
    // The refusal is audited: one event.
    assert_eq!(desk.audit_count().unwrap(), before + 1);
    // The doctor still gives its findings, the refusal in the check's place.
    let report = desk.doctor(alice, Some("000000")).unwrap();
    assert_eq!(report.findings[0].kind, Kind::AllClear);
    let check = report.code_check.unwrap();
    assert!(
        check.refused
            && check.factor_id.is_none()
            && check.message.contains("the next can be made at"),
        "{check:?}"
    );
    assert_eq!(desk.audit_count().unwrap(), before + 2);
    // Refusals are not checks: ten minutes after the five, checks work again.
    desk.advance_clock(TimeDelta::minutes(10));
    assert!(!desk.check_code(alice, "000000").unwrap().refused);
    // Not a code at all is refused before anything is counted.
    assert!(matches!(
        desk.check_code(alice, "12ab56"),
        Err(DeskError::Code(_))
    ));
}

fn challenge(desk: &mut Desk, email: &str) -> i64 {
    desk.start_login(&LoginRequest {
        email: email.into(),
        password: PasswordInput::Assume,
        device: None,
        ip: Some("198.51.100.23".into()),
        action: Action::Login,
        factor: None,
    })
    .unwrap()
    .challenge_id
    .unwrap()
}

#[test]
fn resync_lets_the_slow_phone_log_in_and_spends_only_the_first_code() {
    let mut desk = demo_desk();
    let bob = "bob@example.com";
    let fid = app_factor(&desk, bob);
    let slow = |desk: &Desk, extra: i64| {
        desk.authenticator_code(bob, fid, TimeDelta::seconds(-90 + extra))
            .unwrap()
    };
    // Before: the slow phone's code is turned away.
    let c = challenge(&mut desk, bob);
    assert_eq!(
        desk.verify(c, &slow(&desk, 0), None).unwrap().result,
        VerifyResult::Invalid
    );
    // Two codes in a row, as a person reads them out: the one the phone
    // showed just before (now - 120 s) and the one it shows now (now - 90 s).
    let (a, b) = (slow(&desk, -30), slow(&desk, 0));
    let f = desk.resync(bob, fid, &a, &b).unwrap();
    assert_eq!(f.drift_steps, -3);
    // The doctor now sees his skew as allowed for.
    let first = desk.diagnose(bob).unwrap().findings.remove(0);
    assert_eq!(
        (first.kind, first.severity, first.title.as_str()),
        (
            Kind::ClockSkew,
            Severity::Info,
            "Phone clock off (resynced)"
        ),
        "{first:?}"
    );
    // The first, read out and past, cannot be replayed…
    let c = challenge(&mut desk, bob);
    assert_eq!(
        desk.verify(c, &a, None).unwrap().result,
        VerifyResult::Replayed
    );
    // …but the one his phone still shows is left for his login, at once.
    let c = challenge(&mut desk, bob);
    assert_eq!(
        desk.verify(c, &b, None).unwrap().result,
        VerifyResult::Accepted
    );
    // And the phone's next code works too.
    desk.advance_clock(TimeDelta::seconds(30));
    let c = challenge(&mut desk, bob);
    assert_eq!(
        desk.verify(c, &slow(&desk, 0), None).unwrap().result,
        VerifyResult::Accepted
    );
    // Codes that are not consecutive are refused with the how-to, and the
    // refusal is audited.
    let before = desk.audit_count().unwrap();
    let err = desk
        .resync(bob, fid, &slow(&desk, 0), &slow(&desk, 90))
        .unwrap_err();
    assert!(err.to_string().contains("two codes in a row"), "{err}");
    assert_eq!(err.exit_code(), 3);
    assert_eq!(desk.audit_count().unwrap(), before + 1);
    assert_eq!(desk.factors(bob).unwrap()[0].drift_steps, -3);
    // Clearing it is audited and puts it back to zero.
    assert_eq!(desk.clear_drift(bob, fid).unwrap().drift_steps, 0);
    assert!(desk.clear_drift(bob, fid).is_err());
}

/// The whole readiness report in `sort` order.
fn report(desk: &Desk, sort: Sort) -> Vec<ReadinessRow> {
    let mut rows = Vec::new();
    desk.readiness_each(sort, |r| {
        rows.push(r.clone());
        Ok(())
    })
    .unwrap();
    rows
}

fn csv(desk: &Desk, sort: Sort) -> String {
    let mut out = Vec::new();
    desk.write_readiness(sort, Format::Csv, &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

#[test]
fn the_readiness_report() {
    let desk = demo_desk();
    let rows = report(&desk, Sort::Risk);
    let (at_risk, users) = desk.readiness_count().unwrap();
    assert_eq!(users, 48);
    assert_eq!(at_risk, u64::try_from(rows.len()).unwrap());
    let emails: Vec<&str> = rows.iter().map(|x| x.email.as_str()).collect();
    assert_eq!(&emails[..2], &["frank@example.com", "grace@example.com"]);
    for who in ["carol@example.co.uk", "dave@example.com"] {
        assert!(emails.contains(&who), "{who}");
    }
    assert!(!emails.contains(&"alice@example.com"));
    assert!(
        !emails.contains(&"oscar@example.com"),
        "disabled accounts are not at risk"
    );
    let carol = rows
        .iter()
        .find(|x| x.email == "carol@example.co.uk")
        .unwrap();
    assert!(
        carol
            .problems
            .iter()
            .any(|p| p.to_string().starts_with("SMS only"))
    );
    let by_codes = report(&desk, Sort::Codes);
    assert!(
        by_codes
            .windows(2)
            .all(|w| w[0].codes_left <= w[1].codes_left)
    );
    let text = csv(&desk, Sort::Risk);
    assert!(text.starts_with(
        "email,name,factors,codes_left,codes_total,risk,problems\r\nfrank@example.com,"
    ));
    assert_eq!(text.lines().count(), rows.len() + 1);
}

#[test]
fn readiness_pages_join_up_in_every_order_and_either_direction() {
    let desk = demo_desk();
    for sort in [Sort::Risk, Sort::Email, Sort::Codes] {
        let all = report(&desk, sort);
        assert!(all.len() > 6, "{sort}: {}", all.len());
        // Forwards, three at a time, from the first row.
        let mut forwards = Vec::new();
        let mut at: Keyset<_> = Keyset::First;
        loop {
            let page = desk.readiness_page(sort, at.as_ref(), 3).unwrap();
            forwards.extend(page.iter().map(|r| r.email.clone()));
            match page.last() {
                Some(last) if page.len() == 3 => at = Keyset::After(last.key.clone()),
                _ => break,
            }
        }
        let emails: Vec<String> = all.iter().map(|r| r.email.clone()).collect();
        assert_eq!(forwards, emails, "{sort}");
        // Backwards, from the last row.
        let mut backwards = Vec::new();
        let mut at: Keyset<_> = Keyset::Last;
        loop {
            let page = desk.readiness_page(sort, at.as_ref(), 3).unwrap();
            let mut names: Vec<String> = page.iter().map(|r| r.email.clone()).collect();
            names.append(&mut backwards);
            backwards = names;
            match page.first() {
                Some(first) if page.len() == 3 => at = Keyset::Before(first.key.clone()),
                _ => break,
            }
        }
        assert_eq!(backwards, emails, "{sort} backwards");
        // Every row says why it is there, and its risk is its worst problem.
        for r in &all {
            assert!(!r.problems.is_empty(), "{r:?}");
            assert!((20..=100).contains(&r.risk), "{r:?}");
        }
    }
}

#[test]
fn codes_a_resync_spent_are_refused_honestly_and_are_no_compromise() {
    let mut desk = demo_desk();
    let alice = "alice@example.com";
    let fid = app_factor(&desk, alice);
    let phone = |desk: &Desk, offset: i64| {
        desk.authenticator_code(alice, fid, TimeDelta::seconds(offset))
            .unwrap()
    };
    // Her phone ran 90 s fast when she read out two codes in a row…
    let f = desk
        .resync(alice, fid, &phone(&desk, 60), &phone(&desk, 90))
        .unwrap();
    assert_eq!(f.drift_steps, 3);
    // …then she set its clock right and the drift was cleared.
    desk.clear_drift(alice, fid).unwrap();
    desk.advance_clock(TimeDelta::seconds(60));
    // Her correct code now is one the resync heard: still refused, and the
    // refusal says why instead of naming a login.
    let c = challenge(&mut desk, alice);
    let v = desk.verify(c, &phone(&desk, 0), None).unwrap();
    assert_eq!(v.result, VerifyResult::Replayed);
    assert!(
        v.message.starts_with(
            "That time step was spent by the help desk's resync at 2026-11-21 09:00:00"
        ) && v.message.contains("wait for the next code"),
        "{}",
        v.message
    );
    assert!(!v.message.contains("from the help desk"), "{}", v.message);
    // The doctor does not call it a replay from another address.
    let findings = desk.diagnose(alice).unwrap().findings;
    assert!(
        findings
            .iter()
            .all(|x| x.kind != Kind::Replayed && x.fix != Fix::TreatAsCompromised),
        "{findings:#?}"
    );
    let spent = findings
        .iter()
        .find(|x| x.kind == Kind::ResyncSpent)
        .unwrap();
    assert_eq!(spent.severity, Severity::Info);
    // The factor's last use is still her last login, not the resync.
    let f = desk
        .factors(alice)
        .unwrap()
        .into_iter()
        .find(|f| f.id == fid)
        .unwrap();
    assert_ne!(f.last_used_ip.as_deref(), Some("the help desk (resync)"));
    // Once past the steps it spent, her codes work.
    desk.advance_clock(TimeDelta::seconds(60));
    let c = challenge(&mut desk, alice);
    assert_eq!(
        desk.verify(c, &phone(&desk, 0), None).unwrap().result,
        VerifyResult::Accepted
    );
}

fn kinds(desk: &Desk, email: &str) -> Vec<(Kind, Severity)> {
    desk.diagnose(email)
        .unwrap()
        .findings
        .iter()
        .map(|x| (x.kind, x.severity))
        .collect()
}

#[test]
fn findings_go_once_the_fix_worked() {
    let mut desk = demo_desk();
    // Carol: the country allowed again and an SMS login through.
    let carol = "carol@example.co.uk";
    desk.set_policy("sms_countries", "1,44", "test").unwrap();
    desk.advance_clock(TimeDelta::minutes(1));
    let c = challenge(&mut desk, carol);
    let code = newest_code(&desk, carol);
    assert_eq!(
        desk.verify(c, &code, None).unwrap().result,
        VerifyResult::Accepted
    );
    let found = kinds(&desk, carol);
    assert!(
        found
            .iter()
            .all(|(k, s)| *k != Kind::DeliveryFailed && *s != Severity::Blocking),
        "{found:?}"
    );
    assert!(
        found.contains(&(Kind::History, Severity::Info)),
        "{found:?}"
    );

    // Erin: unlocked, then a good code.
    let erin = "erin@example.com";
    desk.unlock(erin, "caller verified").unwrap();
    let fid = app_factor(&desk, erin);
    let c = challenge(&mut desk, erin);
    let code = desk
        .authenticator_code(erin, fid, TimeDelta::zero())
        .unwrap();
    assert_eq!(
        desk.verify(c, &code, None).unwrap().result,
        VerifyResult::Accepted
    );
    let report = desk.diagnose(erin).unwrap();
    assert!(
        report
            .findings
            .iter()
            .all(|x| !matches!(x.kind, Kind::Locked | Kind::WrongCodes)
                && x.severity != Severity::Warning),
        "{:#?}",
        report.findings
    );
    let h = report
        .findings
        .iter()
        .find(|x| x.kind == Kind::History)
        .unwrap();
    assert!(h.evidence[0].starts_with("10 wrong code(s) from "), "{h:?}");

    // Mallory: 2FA reset after the replay from elsewhere.
    let mallory = "mallory@example.com";
    desk.reset_2fa(mallory, "code seen by someone else")
        .unwrap();
    let report = desk.diagnose(mallory).unwrap();
    let first = &report.findings[0];
    assert_eq!(
        (first.kind, first.severity, first.fix),
        (Kind::NoFactorYet, Severity::Warning, Fix::EnrolApp),
        "{:#?}",
        report.findings
    );
    assert!(
        first
            .explanation
            .contains("must enrol by 2026-11-28 09:01:00 UTC"),
        "{first:?}"
    );
    assert!(
        report
            .findings
            .iter()
            .all(|x| x.kind != Kind::Replayed && x.fix != Fix::TreatAsCompromised),
        "{:#?}",
        report.findings
    );
}

#[test]
fn all_clear_counts_the_wrong_code_it_saw() {
    let mut desk = demo_desk();
    let alice = "alice@example.com";
    let fid = app_factor(&desk, alice);
    // 17 h off: beyond any time zone (5 h would be read as one).
    let guess = desk
        .authenticator_code(alice, fid, TimeDelta::hours(17))
        .unwrap();
    let c = challenge(&mut desk, alice);
    assert_eq!(
        desk.verify(c, &guess, None).unwrap().result,
        VerifyResult::Invalid
    );
    let findings = desk.diagnose(alice).unwrap().findings;
    let wrong = &findings[0];
    assert_eq!(
        (wrong.kind, wrong.severity, wrong.title.as_str()),
        (Kind::WrongCodes, Severity::Info, "A wrong code"),
        "{findings:#?}"
    );
    assert_eq!(wrong.evidence, ["At 09:00:00 UTC from 198.51.100.23."]);
    let clear = findings.last().unwrap();
    assert_eq!(clear.kind, Kind::AllClear);
    assert!(
        clear
            .evidence
            .iter()
            .any(|e| e.contains("1 wrong code, no reused codes")),
        "{clear:?}"
    );
    assert!(
        clear.evidence.iter().all(|e| !e.contains("no wrong")),
        "{clear:?}"
    );
}

#[test]
fn a_changed_phone_number_is_diagnosed_as_such() {
    let mut desk = demo_desk();
    let carol = "carol@example.co.uk";
    desk.advance_clock(TimeDelta::minutes(5));
    desk.edit_user(
        carol,
        &factordesk::desk::users::Edit {
            phone: Some("+14155550123".into()),
            ..Default::default()
        },
    )
    .unwrap();
    let sms = desk
        .factors(carol)
        .unwrap()
        .into_iter()
        .find(|f| f.kind == FactorKind::Sms)
        .unwrap();
    let findings = desk.diagnose(carol).unwrap().findings;
    let first = &findings[0];
    assert_eq!(
        (first.kind, first.severity, first.title.as_str()),
        (
            Kind::PhoneUnverified,
            Severity::Blocking,
            "New phone number not confirmed"
        ),
        "{findings:#?}"
    );
    assert!(
        first.evidence[0]
            .starts_with("Changed to +1 ******0123 2026-11-21 09:05:00 UTC (just now) by admin"),
        "{first:?}"
    );
    assert!(
        first
            .advice
            .contains(&Part::Act(Act::ConfirmFactor { factor: sms.id })),
        "{first:?}"
    );
    // Nothing says it was never confirmed, and the +44 failures block nothing.
    assert!(
        findings.iter().all(|x| x.kind != Kind::PendingEnrolment
            && (x.severity != Severity::Blocking || x.kind == Kind::PhoneUnverified)),
        "{findings:#?}"
    );
    // The code sent to the new number confirms it; then nothing blocks.
    let code = newest_code(&desk, carol);
    desk.confirm_factor(carol, sms.id, &code).unwrap();
    let findings = desk.diagnose(carol).unwrap().findings;
    assert!(
        findings
            .iter()
            .all(|x| x.severity != Severity::Blocking && x.kind != Kind::PhoneUnverified),
        "{findings:#?}"
    );
}

/// The binary, on a demo database in `dir` at the demo's clock.
fn factordesk(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    let db = dir.join("d.db");
    support::cli::factordesk(dir)
        .arg("--db")
        .arg(&db)
        .args(["--now", support::T0])
        .args(args)
        .output()
        .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn the_cli_keeps_the_findings_when_a_code_check_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    assert!(
        factordesk(dir.path(), &["demo", "--no-open"])
            .status
            .success()
    );
    let doctor = |json: bool| {
        let mut args = vec!["doctor", "alice@example.com", "--code", "000000"];
        if json {
            args.insert(0, "--json");
        }
        factordesk(dir.path(), &args)
    };
    for _ in 0..5 {
        let out = doctor(false);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        assert!(text(&out.stdout).contains("Code check (factor "));
    }
    let out = doctor(false);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "{stdout}");
    assert!(
        stdout.contains("1. [OK] Nothing wrong found")
            && stdout.contains("\nCode check refused: 5 code checks for alice@example.com"),
        "{stdout}"
    );
    let out = doctor(true);
    assert_eq!(out.status.code(), Some(3));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["code_check"]["refused"], true);
    assert_eq!(v["findings"][0]["kind"], "all_clear");
    assert_eq!(v["findings"][0]["key"], "l");
    // Both refusals are in the audit trail.
    let audit = factordesk(
        dir.path(),
        &[
            "--json",
            "audit",
            "--user",
            "alice@example.com",
            "--kind",
            "doctor.check_code",
        ],
    );
    let v: serde_json::Value = serde_json::from_slice(&audit.stdout).unwrap();
    let refused = v
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["detail"].as_str().unwrap().starts_with("refused: "))
        .count();
    assert_eq!(refused, 2, "{v:#}");
}

#[test]
fn checking_a_code_already_used_says_so() {
    let mut desk = demo_desk();
    let alice = "alice@example.com";
    let fid = app_factor(&desk, alice);
    let code = desk
        .authenticator_code(alice, fid, TimeDelta::zero())
        .unwrap();
    let c = challenge(&mut desk, alice);
    assert_eq!(
        desk.verify(c, &code, None).unwrap().result,
        VerifyResult::Accepted
    );
    desk.advance_clock(TimeDelta::seconds(10));
    let check = desk.check_code(alice, &code).unwrap();
    assert_eq!(check.offset_steps, Some(0));
    assert!(check.already_used, "{check:?}");
    assert!(
        check.message.starts_with(
            "This code was already used to log in 10 s ago (2026-11-21 09:00:00 UTC) from 198.51.100.23"
        ) && check.message.contains("they need a new one"),
        "{}",
        check.message
    );
    // The next code is not used: it says what it always did.
    let next = desk
        .authenticator_code(alice, fid, TimeDelta::seconds(30))
        .unwrap();
    let check = desk.check_code(alice, &next).unwrap();
    assert!(
        !check.already_used && check.offset_steps == Some(1),
        "{check:?}"
    );
}

#[test]
fn the_readiness_format_given_wins_over_json() {
    let dir = tempfile::tempdir().unwrap();
    assert!(
        factordesk(dir.path(), &["demo", "--no-open"])
            .status
            .success()
    );
    let csv = factordesk(
        dir.path(),
        &["--json", "report", "readiness", "--format", "csv"],
    );
    assert_eq!(csv.status.code(), Some(0));
    assert!(
        text(&csv.stdout)
            .starts_with("email,name,factors,codes_left,codes_total,risk,problems\r\n"),
        "{}",
        text(&csv.stdout)
    );
    let json = factordesk(dir.path(), &["--json", "report", "readiness"]);
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(v["users"], 48);
    let table = factordesk(dir.path(), &["report", "readiness"]);
    assert!(
        text(&table.stdout).contains("EMAIL"),
        "{}",
        text(&table.stdout)
    );
    let json = factordesk(dir.path(), &["report", "readiness", "--format", "json"]);
    assert!(serde_json::from_slice::<serde_json::Value>(&json.stdout).is_ok());
}

#[test]
fn the_readiness_csv_is_safe_to_open_in_a_spreadsheet() {
    let mut desk = demo_desk();
    desk.add_user(&factordesk::desk::users::NewUser {
        email: "mal@example.com".into(),
        name: "=HYPERLINK(\"http://evil.example\",\"x\")".into(),
        ..Default::default()
    })
    .unwrap();
    let text = csv(&desk, Sort::Email);
    let row = text
        .lines()
        .find(|l| l.starts_with("mal@example.com,"))
        .unwrap();
    assert!(row.starts_with("mal@example.com,\"'=HYPERLINK("), "{row}");
}
