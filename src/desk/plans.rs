//! Test only: every query on an interactive path reads along an index at any
//! size, checked with `EXPLAIN QUERY PLAN` on the statements the desk ran.
//!
//! The paths (Overview, Users list, a user, the doctor, audit and its searches, outbox and its words, a
//! login, the sandbox copy, the User screen's actions, readiness) are driven through the desk's own API
//! over a generated database, with the connection traced: each statement is
//! recorded with its bound values in. Each is explained with those values,
//! and as prepared, with placeholders: the store prepares under the
//! planner's stability guarantee, so that plan is the one that runs, for
//! every value. Both before and after `ANALYZE`, since statistics change
//! plans. Nothing is timed, so the test is deterministic.

mod rules;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, TimeDelta};
use rusqlite::Connection;
use rusqlite::trace::{TraceEvent, TraceEventCodes};

use self::rules::{READINESS, plan};
use super::Desk;
use super::devices::Which;
use super::login::{DeviceRef, LoginRequest, PasswordInput};
use super::readiness::Sort;
use super::records::RecordQuery;
use super::search::{AuditQuery, BUDGET};
use super::users::{ListQuery, Sort as UserSort, SortBy};
use crate::clock::Clock;
use crate::crypto::Key;
use crate::demo::{self, Crowd, Scenario};
use crate::domain::recipient::Recipient;
use crate::domain::{Action, FactorKind};
use crate::rng::Rng;
use crate::store::Keyset;
use crate::store::user_list::{FEW, Filter, PEEK};

/// Generated people beside the scenario's: more than a search tests one by
/// one and more than it sorts, so each of its routes is taken (a term
/// everyone matches, like `example.org`, walks the email index).
const PEOPLE: u32 = 1_500;
const _: () = assert!(PEOPLE > PEEK && PEOPLE as usize > FEW);

/// A page as the console reads it.
const PAGE: u32 = 20;

/// Every statement seen: its text with the values in, the text as
/// prepared, and the paths that ran it.
#[derive(Debug, Default)]
struct Seen {
    statements: BTreeMap<String, (String, BTreeSet<&'static str>)>,
}

type Log = Arc<Mutex<Vec<(String, String)>>>;

impl Seen {
    /// Run `f` with the desk's connection traced, noting each statement it
    /// runs as run by `path`.
    fn record<T>(
        &mut self,
        desk: &mut Desk,
        path: &'static str,
        f: impl FnOnce(&mut Desk) -> T,
    ) -> T {
        let log: Log = Arc::default();
        let sink = Arc::clone(&log);
        let trace = move |event: TraceEvent<'_>| {
            if let TraceEvent::Stmt(stmt, sql) = event {
                // A trigger's statements come as `-- TRIGGER name`: its plan
                // is not the use case's. Transactions have no plan.
                if rules::queries(sql) {
                    let expanded = stmt.expanded_sql().unwrap_or_else(|| sql.to_owned());
                    sink.lock().unwrap().push((sql.to_owned(), expanded));
                }
            }
        };
        let conn = desk.store.conn_mut();
        conn.trace_v2(TraceEventCodes::SQLITE_TRACE_STMT, Some(trace))
            .unwrap();
        let out = f(desk);
        desk.store
            .conn_mut()
            .trace_v2(TraceEventCodes::empty(), None::<fn(TraceEvent<'_>)>)
            .unwrap();
        for (sql, expanded) in log.lock().unwrap().drain(..) {
            self.statements
                .entry(expanded)
                .or_insert_with(|| (sql, BTreeSet::new()))
                .1
                .insert(path);
        }
        out
    }

    fn extend(&mut self, other: Seen) {
        for (expanded, (sql, paths)) in other.statements {
            self.statements
                .entry(expanded)
                .or_insert_with(|| (sql, BTreeSet::new()))
                .1
                .extend(paths);
        }
    }

    fn any(&self, needle: &str) -> bool {
        self.statements
            .values()
            .any(|(sql, _)| sql.contains(needle))
    }
}

/// Every fault of the statements in `seen`, labelled with `when`: each
/// explained with its values, and each text as prepared (on the paths of
/// all its runs).
fn faults(conn: &Connection, seen: &Seen, when: &str) -> Vec<String> {
    let partial = rules::partial_indexes(conn);
    let mut prepared: BTreeMap<&str, BTreeSet<&'static str>> = BTreeMap::new();
    for (sql, paths) in seen.statements.values() {
        prepared.entry(sql).or_default().extend(paths);
    }
    let valued = seen
        .statements
        .iter()
        .map(|(expanded, (_, paths))| ("with its values", expanded.as_str(), paths));
    let placeholders = prepared
        .iter()
        .filter(|(sql, _)| !seen.statements.contains_key(**sql))
        .map(|(sql, paths)| ("as prepared", *sql, paths));
    let mut out = Vec::new();
    for (form, text, paths) in valued.chain(placeholders) {
        let plan = plan(conn, text);
        if let Some(why) = rules::fault(text, &plan, &partial, paths) {
            out.push(format!(
                "{when}, {form}, on {paths:?}: {why}\n  {}\n plan:\n  {}",
                text.split_whitespace().collect::<Vec<_>>().join(" "),
                plan.join("\n  ")
            ));
        }
    }
    out
}

fn empty() -> Desk {
    let now = DateTime::parse_from_rfc3339("2026-11-21T09:00:00Z")
        .unwrap()
        .to_utc();
    Desk::in_memory(Key::from_bytes([7; 32]), Clock::fixed(now), Rng::seeded(1)).unwrap()
}

/// The demo's scenario with `PEOPLE` generated people, on a fixed clock.
fn generated() -> Desk {
    let mut desk = empty();
    let crowd = Crowd::Generated {
        users: PEOPLE,
        seed: 1,
    };
    demo::build_with(
        &mut desk,
        &Scenario::embedded().unwrap(),
        crowd,
        &mut |_, _| {},
    )
    .unwrap();
    desk
}

/// The first, last and middle rows of a list read at its ends, and the
/// pages around each (`key` names a row), as the console pages.
fn keyset_pages<K: Clone, T>(mut page: impl FnMut(Keyset<K>) -> Vec<T>, key: impl Fn(&T) -> K) {
    let first = page(Keyset::First);
    let last = page(Keyset::Last);
    let marks = [first.first(), first.get(first.len() / 2), last.first()];
    for mark in marks.into_iter().flatten().map(&key) {
        page(Keyset::After(mark.clone()));
        page(Keyset::Before(mark.clone()));
        page(Keyset::From(mark));
    }
}

const FILTERS: [Option<Filter>; 6] = [
    None,
    Some(Filter::Locked),
    Some(Filter::NoFactor),
    Some(Filter::InGrace),
    Some(Filter::LowCodes),
    Some(Filter::Disabled),
];

/// Search as you type: nothing, word starts, anywhere-terms common and
/// rare (the full-text routes), an email start; with each filter.
const SEARCHES: [Option<&str>; 14] = [
    None,
    // A phone number, in each spelling: by the phone indexes.
    Some("+1 415 555 0123"),
    Some("4155550123"),
    Some("(415) 555-0123"),
    Some("07400 900123"),
    Some("a"),
    Some("ma"),
    Some("mar"),
    Some("smith"),
    Some("chen"),
    Some("zzq"),
    Some("zq"),
    Some("@"),
    Some("example.com"),
];

/// Pages of the Users list for each search and filter; the first email
/// of each unsearched page.
fn users_list(desk: &mut Desk, seen: &mut Seen) -> Vec<String> {
    let mut emails = Vec::new();
    seen.record(desk, "users", |d| {
        for search in SEARCHES {
            for filter in FILTERS {
                let q = ListQuery {
                    search: search.map(str::to_owned),
                    filter,
                    after: None,
                    limit: PAGE,
                };
                keyset_pages(
                    |at| {
                        let page = d.users_page(&q, at.as_ref().map(String::as_str)).unwrap();
                        if search.is_none() {
                            emails.extend(page.first().map(|u| u.email.clone()));
                        }
                        page
                    },
                    |u| u.email.clone(),
                );
            }
        }
    });
    // Warned at 10 codes left, most people have few: a rare term within
    // that filter outlasts the walk and takes the full-text route with the
    // filter on, as any filter can with 100,000 people.
    desk.set_policy("backup_low", "10", "plan test").unwrap();
    seen.record(desk, "users", |d| {
        for search in ["smith", "zzq", "zq"] {
            let q = ListQuery {
                search: Some(search.to_owned()),
                filter: Some(Filter::LowCodes),
                after: None,
                limit: PAGE,
            };
            keyset_pages(
                |at| d.users_page(&q, at.as_ref().map(String::as_str)).unwrap(),
                |u| u.email.clone(),
            );
        }
    });
    desk.set_policy("backup_low", "3", "plan test").unwrap();
    // Sorted by a column, each way, in every keyset place (an email key
    // is looked up, then the page read along the column's index).
    seen.record(desk, "users", |d| {
        for by in [SortBy::Email, SortBy::Name, SortBy::LastLogin] {
            for descending in [false, true] {
                let sort = UserSort { by, descending };
                keyset_pages(
                    |at| {
                        d.users_sorted_page(sort, at.as_ref().map(String::as_str), PAGE)
                            .unwrap()
                    },
                    |u| u.email.clone(),
                );
            }
        }
    });
    emails.sort();
    emails.dedup();
    emails
}

const KINDS: [Option<&str>; 6] = [
    None,
    Some("login"),
    Some("login."),
    Some("login.challenge"),
    Some("user.unlock"),
    Some("no.such.kind"),
];

/// Everyone's audit trail and outbox, or one user's, in every keyset place.
fn records(desk: &mut Desk, seen: &mut Seen, user: Option<&str>) {
    seen.record(desk, "audit", |d| {
        for kind in KINDS {
            let q = RecordQuery {
                user: user.map(str::to_owned),
                kind: kind.map(str::to_owned),
                before: None,
                limit: PAGE,
            };
            keyset_pages(|at| d.audit_page(&q, at).unwrap(), |e| e.id);
        }
    });
    seen.record(desk, "outbox", |d| {
        let q = RecordQuery {
            user: user.map(str::to_owned),
            kind: None,
            before: None,
            limit: PAGE,
        };
        keyset_pages(|at| d.outbox_page(&q, at).unwrap(), |m| m.id);
        // By where the messages went, in each spelling.
        for to in [
            "+1 415 555 0123",
            "4155550123",
            "1 (415) 555-0123",
            "07400 900123",
            "carol@example.com",
        ] {
            let to = Recipient::parse(to).unwrap();
            keyset_pages(|at| d.outbox_to_page(&q, &to, at).unwrap(), |m| m.id);
        }
        // The Outbox screen's `/` words, common and rare: a bounded walk
        // along the time (or the user's) index per page.
        for words in ["code", "failed", "zzq"] {
            keyset_pages(
                |at| {
                    d.search_outbox(&q, words, at, super::records::OUTBOX_BUDGET)
                        .unwrap()
                        .rows
                },
                |m| m.id,
            );
        }
    });
}

/// The Audit screen's filters and `audit`'s: an actor alone (its index) or
/// beside a user or a kind (rows tested along their index), a time range,
/// free text common and rare (a bounded walk per page), and `--follow`.
fn searches(desk: &mut Desk, seen: &mut Seen, user: Option<&str>) {
    let actor = desk
        .audit(&RecordQuery {
            limit: 1,
            ..RecordQuery::default()
        })
        .unwrap()[0]
        .actor
        .clone();
    let now = desk.now();
    let ranges = [
        (None, None),
        (Some(now - TimeDelta::days(30)), None),
        (None, Some(now - TimeDelta::days(7))),
        (
            Some(now - TimeDelta::days(60)),
            Some(now - TimeDelta::days(7)),
        ),
    ];
    seen.record(desk, "audit", |d| {
        for kind in [None, Some("login"), Some("user.unlock")] {
            for by in [None, Some(actor.as_str()), Some("nobody")] {
                for text in [None, Some("accepted"), Some("zzq")] {
                    for (since, until) in ranges {
                        let q = AuditQuery {
                            user: user.map(str::to_owned),
                            kind: kind.map(str::to_owned),
                            actor: by.map(str::to_owned),
                            since,
                            until,
                            text: text.map(str::to_owned),
                            limit: PAGE,
                        };
                        keyset_pages(|at| d.search_audit(&q, at, BUDGET).unwrap().rows, |e| e.id);
                    }
                }
            }
        }
        let last = d.audit_last_id().unwrap().unwrap();
        d.audit_written_after(&AuditQuery::default(), last - 600)
            .unwrap();
    });
}

/// Opening a user: the screen, its panels, the doctor, their records and
/// the simulator's copy of them.
fn open_user(desk: &mut Desk, seen: &mut Seen, email: &str) {
    seen.record(desk, "user", |d| {
        d.user(email).unwrap();
        d.user_summary(email).unwrap();
        d.devices(email).unwrap();
        d.factors(email).unwrap();
        d.code_status(email).unwrap();
    });
    seen.record(desk, "doctor", |d| d.diagnose(email).unwrap());
    records(desk, seen, Some(email));
    searches(desk, seen, Some(email));
    seen.record(desk, "sandbox", |d| d.sandbox(email).unwrap());
}

fn login(email: &str, ip: &str) -> LoginRequest {
    LoginRequest {
        email: email.to_owned(),
        password: PasswordInput::Assume,
        device: None,
        ip: Some(ip.to_owned()),
        action: Action::Login,
        factor: None,
    }
}

/// The code in a user's newest message.
fn newest_code(desk: &Desk, email: &str) -> String {
    let q = RecordQuery {
        user: Some(email.to_owned()),
        kind: None,
        before: None,
        limit: 1,
    };
    let text = &desk.outbox(&q).unwrap()[0].text;
    text.split(|c: char| !c.is_ascii_digit())
        .find(|run| run.len() == 6)
        .unwrap()
        .to_owned()
}

/// Logins as the simulator and `login` run them: an emailed code (wrong,
/// resent, right, remembered), an authenticator code, a backup code, a
/// locked account, an SMS, and a step-up from a remembered computer.
fn logins(desk: &mut Desk, seen: &mut Seen, sms_user: &str) {
    seen.record(desk, "login", |d| {
        let start = d
            .start_login(&login("heidi@example.com", "198.51.100.7"))
            .unwrap();
        let id = start.challenge_id.unwrap();
        d.challenge(id).unwrap();
        d.verify(id, "000000", None).unwrap();
        d.resend(id).unwrap();
        d.advance_clock(TimeDelta::seconds(31));
        d.resend(id).unwrap();
        let code = newest_code(d, "heidi@example.com");
        let token = d
            .verify(id, &code, Some("Firefox on Linux"))
            .unwrap()
            .device_token
            .unwrap();
        let again = LoginRequest {
            device: Some(DeviceRef::Token(token)),
            action: Action::Export,
            ..login("heidi@example.com", "198.51.100.7")
        };
        d.start_login(&again).unwrap();

        let alice = "alice@example.com";
        let start = d.start_login(&login(alice, "203.0.113.50")).unwrap();
        if let (Some(id), Some(f)) = (start.challenge_id, start.factor) {
            let code = d
                .authenticator_code(alice, f.id, TimeDelta::zero())
                .unwrap();
            d.verify(id, &code, None).unwrap();
        }
        for email in ["dave@example.com", "erin@example.com", sms_user] {
            if let Some(id) = d
                .start_login(&login(email, "203.0.113.51"))
                .unwrap()
                .challenge_id
            {
                d.verify(id, "aaaa-bbbb-cccc-dddd", None).unwrap();
                d.verify(id, "123456", None).unwrap();
            }
        }
    });
}

/// What the help desk does from the User screen: unlock, revoke devices,
/// new backup codes, a 2FA reset, a lost phone replaced, a compromise
/// response and its new app confirmed.
fn actions(desk: &mut Desk, seen: &mut Seen, reset: &str) {
    seen.record(desk, "actions", |d| {
        d.unlock("erin@example.com", "verified by phone").unwrap();
        d.revoke_devices("ivan@example.com", Which::All, "laptop stolen")
            .unwrap();
        d.generate_codes("dave@example.com").unwrap();
        d.reset_2fa(reset, "lost phone, ID checked").unwrap();
        d.reenrol("bob@example.com", "lost phone, ID checked")
            .unwrap();
        let mallory = "mallory@example.com";
        let r = d.treat_as_compromised(mallory, "code replayed").unwrap();
        let code = d
            .authenticator_code(mallory, r.enrolment.factor_id, TimeDelta::zero())
            .unwrap();
        d.confirm_enrolment(mallory, r.enrolment.factor_id, &code)
            .unwrap();
    });
}

fn readiness(desk: &mut Desk, seen: &mut Seen) {
    seen.record(desk, READINESS, |d| {
        d.readiness_count().unwrap();
        for sort in [Sort::Risk, Sort::Email, Sort::Codes] {
            keyset_pages(
                |at| d.readiness_page(sort, at.as_ref(), PAGE).unwrap(),
                |r| r.key.clone(),
            );
        }
    });
}

/// Every interactive path once, on the desk as it is.
fn drive(desk: &mut Desk) -> Seen {
    let mut seen = Seen::default();
    seen.record(desk, "overview", |d| {
        d.stamp().unwrap();
        d.overview().unwrap();
    });
    let listed = users_list(desk, &mut seen);
    let mut people: Vec<String> = [
        "alice@example.com",
        "bob@example.com",
        "carol@example.co.uk",
        "dave@example.com",
        "erin@example.com",
        "grace@example.com",
        "ivan@example.com",
        "mallory@example.com",
    ]
    .map(str::to_owned)
    .to_vec();
    people.extend(
        listed
            .into_iter()
            .filter(|e| e.ends_with("@example.org"))
            .take(8),
    );
    for email in &people {
        open_user(desk, &mut seen, email);
    }
    seen.record(desk, "doctor", |d| {
        d.doctor("bob@example.com", Some("123456")).unwrap();
    });
    records(desk, &mut seen, None);
    searches(desk, &mut seen, None);
    let sms_user = seen.record(desk, "users", |d| {
        let q = ListQuery {
            search: Some("example.org".to_owned()),
            limit: 200,
            ..ListQuery::default()
        };
        d.users_page(&q, Keyset::First)
            .unwrap()
            .into_iter()
            .find(|u| u.factor_kinds.contains(&FactorKind::Sms))
            .unwrap()
            .email
    });
    logins(desk, &mut seen, &sms_user);
    actions(desk, &mut seen, &people[people.len() - 1]);
    readiness(desk, &mut seen);
    seen
}

#[test]
fn interactive_queries_read_along_indexes() {
    let mut desk = generated();
    let mut seen = drive(&mut desk);
    // Searches of the whole list read the search keys; filtered rare terms
    // really took the full-text routes.
    assert!(
        seen.any("FROM users_search_starts AS k") && seen.any("FROM users_search_trigrams AS k")
    );
    assert!(seen.any("users_fts MATCH") && seen.any("users_words MATCH"));
    assert!(seen.any("codes_left <= ?1 AND id IN (SELECT rowid FROM users_fts"));
    assert!(
        seen.any("INDEXED BY users_phone WHERE") && seen.any("INDEXED BY users_phone_national")
    );
    assert!(seen.any("d.to_national_mac = ?") && seen.any("d.to_mac = ?"));
    let mut found = faults(desk.conn().unwrap(), &seen, "without statistics");
    desk.optimize().unwrap();
    desk.advance_clock(TimeDelta::hours(1));
    seen.extend(drive(&mut desk));
    found.extend(faults(desk.conn().unwrap(), &seen, "after ANALYZE"));
    assert!(
        found.is_empty(),
        "{} statements scan a table that grows:\n\n{}",
        found.len(),
        found.join("\n\n")
    );
}

/// The generator fills a database with the listing indexes put off to its
/// end (see `store::Upkeep`): none of its statements may need one.
#[test]
fn the_generator_reads_along_indexes_with_the_listing_indexes_put_off() {
    let mut desk = empty();
    let mut seen = Seen::default();
    seen.record(&mut desk, "generator", |d| {
        let crowd = Crowd::Generated {
            users: 300,
            seed: 1,
        };
        demo::build_with(d, &Scenario::embedded().unwrap(), crowd, &mut |_, _| {}).unwrap();
    });
    assert!(seen.any("INSERT INTO audit") && seen.any("INSERT INTO attempts"));
    desk.store
        .begin_batch(crate::store::Upkeep::SearchAndListings)
        .unwrap();
    let found = faults(desk.conn().unwrap(), &seen, "listing indexes put off");
    desk.store.end_batch(false).unwrap();
    assert!(
        found.is_empty(),
        "{} of the generator's statements scan a table that grows:\n\n{}",
        found.len(),
        found.join("\n\n")
    );
}

#[test]
fn the_check_refuses_scans_and_walks_that_test_rows() {
    let desk = empty();
    let partial = rules::partial_indexes(desk.conn().unwrap());
    let users = BTreeSet::from(["users"]);
    let check = |sql: &str| rules::fault(sql, &plan(desk.conn().unwrap(), sql), &partial, &users);
    for scan in [
        "SELECT * FROM audit WHERE detail = 'x'",
        "SELECT count(*) FROM factors",
        "SELECT * FROM attempts AS t WHERE ?1 IS NULL OR t.user_id = ?1",
        "SELECT a.id FROM audit a WHERE a.detail LIKE '%x%' ORDER BY a.at DESC LIMIT 5",
        "SELECT * FROM users WHERE codes_total = 3",
        "SELECT count(*) FROM users",
        "SELECT * FROM users INDEXED BY sqlite_autoindex_users_1
         WHERE locked_until > 5 AND email > 'a' ORDER BY email LIMIT 20",
    ] {
        assert!(check(scan).is_some(), "{scan}");
    }
    for search in [
        "SELECT * FROM audit WHERE user_id = 3 ORDER BY at DESC LIMIT 5",
        "SELECT d.id FROM deliveries d JOIN users u ON u.id = d.user_id WHERE d.user_id = 1",
        "SELECT * FROM audit a WHERE 1 ORDER BY a.at DESC, a.id DESC LIMIT 20",
        "SELECT * FROM audit a WHERE a.id > 5 ORDER BY a.id LIMIT 20",
        "SELECT * FROM audit a WHERE a.actor = 'x' AND a.at >= 5 ORDER BY a.at DESC LIMIT 20",
        "SELECT * FROM factors WHERE status = 'pending' ORDER BY created_at LIMIT 5",
        "SELECT * FROM users WHERE email > 'a' ORDER BY email LIMIT 20",
        // The Users list sorted by a column: a range of its index.
        "SELECT * FROM users WHERE (name, email) > ('a', 'b') ORDER BY name, email LIMIT 20",
        "SELECT * FROM users WHERE last_login_at IS NULL AND email < 'b'
         ORDER BY last_login_at DESC, email DESC LIMIT 20",
    ] {
        assert_eq!(check(search), None, "{search}");
    }
    let readiness = BTreeSet::from([READINESS]);
    let sql = "SELECT email FROM users WHERE name <> ''";
    let plan = plan(desk.conn().unwrap(), sql);
    assert!(rules::fault(sql, &plan, &partial, &users).is_some());
    assert_eq!(rules::fault(sql, &plan, &partial, &readiness), None);
}
