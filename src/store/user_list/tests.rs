//! The Users list's pages, searches and filters on each engine: every route
//! gives what a plain sort of the matching users gives, and both engines
//! give the same pages.

use super::*;
use crate::store::TxMode;
use crate::store::testing::{each_engine, plan};

fn ctx() -> FilterContext {
    FilterContext {
        now: crate::store::time(1_800_000_000),
        grace_cutoff: None,
        enforce_members: true,
        backup_low: 3,
    }
}

/// Add people (email, name, phone) in one transaction.
fn add(db: &Db, people: &[(String, &str, Option<&str>)]) {
    db.transaction(TxMode::Write, |db| {
        for (email, name, phone) in people {
            db.execute(
                "INSERT INTO users (email, name, role, status, phone, created_at, grace_from)
                 VALUES (?1, ?2, 'member', 'active', ?3, 0, 0)",
                &[email.as_str().into(), (*name).into(), (*phone).into()],
            )?;
        }
        Ok::<_, StoreError>(())
    })
    .unwrap();
}

/// 3,000 people: most `a…@x.org` named "Ann Bee", a scattered tenth
/// "Lee Smith", and 1,200 `z…@x.org` named "Zed Zoo" at the list's end.
fn crowd(db: &Db) {
    let people: Vec<(String, &str, Option<&str>)> = (0..3000)
        .map(|i| match i {
            0..1200 => (format!("z{i:04}@x.org"), "Zed Zoo", None),
            i if i % 10 == 0 => (format!("a{i:04}@x.org"), "Lee Smith", None),
            i => (format!("a{i:04}@x.org"), "Ann Bee", None),
        })
        .collect();
    add(db, &people);
}

fn emails(rows: &[UserRow]) -> Vec<String> {
    rows.iter().map(|u| u.email.clone()).collect()
}

/// Every user, in email order.
fn everyone(db: &Db) -> Vec<UserRow> {
    plain(db, None, None, Keyset::First, 10_000, &ctx()).unwrap()
}

/// The first, a middle, the last and the one before the last page of
/// `term` (and `filter`), each checked against `matching` (in email order);
/// returns them.
fn four_pages(
    db: &Db,
    term: &str,
    filter: Option<Filter>,
    ctx: &FilterContext,
    matching: &[&UserRow],
) -> Vec<Vec<String>> {
    let want =
        |rows: &[&UserRow]| -> Vec<String> { rows.iter().map(|u| u.email.clone()).collect() };
    let q = |limit| Query {
        search: Some(term),
        filter,
        after: None,
        limit,
    };
    let n = matching.len();
    let first = page(db, &q(61), Keyset::First, ctx).unwrap();
    assert_eq!(emails(&first), want(&matching[..n.min(61)]), "{term} first");
    let mut pages = vec![emails(&first)];
    if let Some(key) = first.get(30) {
        let after = page(db, &q(61), Keyset::After(&key.email), ctx).unwrap();
        assert_eq!(
            emails(&after),
            want(&matching[31..n.min(92)]),
            "{term} after"
        );
        pages.push(emails(&after));
    }
    let last = page(db, &q(61), Keyset::Last, ctx).unwrap();
    let k = n.saturating_sub(61);
    assert_eq!(emails(&last), want(&matching[k..]), "{term} last");
    pages.push(emails(&last));
    if let Some(key) = last.first() {
        let before = page(db, &q(20), Keyset::Before(&key.email), ctx).unwrap();
        assert_eq!(
            emails(&before),
            want(&matching[k.saturating_sub(20)..k]),
            "{term} before"
        );
        pages.push(emails(&before));
    }
    pages
}

/// If both engines ran, they saw the same.
fn same_on_both<T: PartialEq + std::fmt::Debug>(seen: &[T]) {
    if let [lite, pg] = seen {
        assert_eq!(lite, pg, "the same on SQLite and PostgreSQL");
    }
}

/// Every route gives the page a plain sort of the matching users gives.
#[test]
fn every_route_gives_the_same_pages_as_sorting_every_match() {
    let mut seen = Vec::new();
    each_engine("user_list_routes", |store| {
        let db = store.db();
        crowd(db);
        let all = everyone(db);
        let mut pages = Vec::new();
        // "bee" fills a page at once (tested one by one); "smith" has 180
        // candidates (read and sorted); "zoo" has 1,200 clustered at the end
        // (the email index walked past 1,800 others).
        for term in ["bee", "smith", "zoo", "ze", "sm", "@x.", "a12"] {
            let t = Term::parse(term).unwrap();
            let matching: Vec<&UserRow> = all
                .iter()
                .filter(|u| t.matches(&u.email, &u.name, u.phone.as_deref()))
                .collect();
            assert!(!matching.is_empty(), "{term}");
            pages.push(four_pages(db, term, None, &ctx(), &matching));
        }
        seen.push(pages);
    });
    same_on_both(&seen);
}

/// Filters narrow every route alike: the filter's users that match, in
/// email order, the same on both engines.
#[test]
fn a_filtered_search_keeps_the_filter_s_users_on_every_route() {
    let mut seen = Vec::new();
    each_engine("user_list_filters", |store| {
        let db = store.db();
        crowd(db);
        for sql in [
            "UPDATE users SET locked_until = 1900000000 WHERE id % 7 = 0",
            "UPDATE users SET status = 'disabled' WHERE id % 11 = 0",
            "UPDATE users SET codes_total = 10, codes_left = id % 6 WHERE id % 3 = 0",
            "UPDATE users SET active_factors = 1 WHERE id % 2 = 0",
            "UPDATE users SET grace_from = 2000, role = 'admin' WHERE id % 4 = 1",
        ] {
            db.execute(sql, &[]).unwrap();
        }
        let cx = FilterContext {
            grace_cutoff: Some(crate::store::time(1500)),
            enforce_members: false,
            ..ctx()
        };
        let keeps = |f: Filter, u: &UserRow| match f {
            Filter::Locked => u.lock.locked_until.is_some_and(|t| t > cx.now),
            Filter::NoFactor => u.active_factors == 0,
            Filter::InGrace => {
                u.active_factors == 0
                    && Some(u.grace_from) > cx.grace_cutoff
                    && u.role == crate::domain::Role::Admin
            }
            Filter::LowCodes => u.codes_total > 0 && u.codes_left <= cx.backup_low,
            Filter::Disabled => u.status == crate::domain::UserStatus::Disabled,
        };
        let all = everyone(db);
        let mut pages = Vec::new();
        for filter in [
            Filter::Locked,
            Filter::NoFactor,
            Filter::InGrace,
            Filter::LowCodes,
            Filter::Disabled,
        ] {
            for term in ["bee", "smith", "zoo", "sm"] {
                let t = Term::parse(term).unwrap();
                let matching: Vec<&UserRow> = all
                    .iter()
                    .filter(|u| keeps(filter, u) && t.matches(&u.email, &u.name, None))
                    .collect();
                assert!(!matching.is_empty(), "{filter:?} {term}");
                pages.push(four_pages(db, term, Some(filter), &cx, &matching));
            }
        }
        // Nobody is in grace when grace is over for all.
        let q = Query {
            search: Some("smith"),
            filter: Some(Filter::InGrace),
            after: None,
            limit: 10,
        };
        assert!(page(db, &q, Keyset::First, &ctx()).unwrap().is_empty());
        seen.push(pages);
    });
    same_on_both(&seen);
}

/// People whose emails and names split into words in several ways, and
/// hold what `LIKE` and `FTS5` read as syntax.
const PEOPLE: [(&str, &str); 17] = [
    ("ann.marie@example.org", "Ann-Marie Smith"),
    ("bob_jones@example.org", "Bob Jones"),
    ("c.zoo+desk@mail.example.com", "Carl Zoo"),
    ("dmitri77@example.net", "Dmitri Ivanov 2nd"),
    ("mar.smithson@example.org", "Mar Smithson"),
    ("o'brien@example.ie", "Sean O'Brien"),
    ("x1y2@example.org", ""),
    ("lee@smith.example", "Lee  Smith-Jones"),
    ("ma@example.org", "M. A."),
    ("zzq@example.org", "Zed Q"),
    ("amar@example.in", "Amar Marathe"),
    ("team-lead@example.org", "Team Lead"),
    ("pct@example.org", "100% Sure"),
    ("a_b@example.org", "Under Score"),
    ("axb@example.org", "Ex Bee"),
    ("slash@example.org", "C:\\Temp Dir"),
    ("quote@example.org", "Say \"Hi\" Now"),
];

/// For terms of every shape, the search index's candidates are the users
/// the term matches, read and sorted alike, on both engines.
#[test]
fn the_index_finds_what_the_term_matches_for_every_shape() {
    let mut seen = Vec::new();
    each_engine("user_list_terms", |store| {
        let db = store.db();
        let people: Vec<_> = PEOPLE
            .iter()
            .map(|(e, n)| ((*e).to_owned(), *n, None))
            .collect();
        add(db, &people);
        let all = everyone(db);
        let mut found = Vec::new();
        for term in [
            "m",
            "M",
            "ma",
            "sm",
            "j",
            "77",
            "2",
            "x1",
            "o",
            "br",
            "le",
            "z",
            "q",
            "de",
            "b",
            "hi",
            "mar",
            "MAR",
            "smith",
            "ith",
            "@ex",
            "ple.org",
            "o'b",
            "zzq",
            "n-m",
            "e s",
            "team-lead",
            "amar",
            "nobody",
            "0% s",
            "a_b",
            "_b@",
            "\\te",
            "\"hi\"",
            "% s",
            "a%b",
        ] {
            let t = Term::parse(term).unwrap();
            let search = Search::of(db.engine(), &t).unwrap();
            let matching: Vec<&UserRow> = all
                .iter()
                .filter(|u| t.matches(&u.email, &u.name, None))
                .collect();
            let mut ids: Vec<i64> = candidates(db, &search).unwrap().into_iter().collect();
            ids.sort_unstable();
            let mut want: Vec<i64> = matching.iter().map(|u| u.id).collect();
            want.sort_unstable();
            assert_eq!(ids, want, "{term:?} candidates");
            let rows = sorted(db, &search, None, Keyset::First, 100, &ctx()).unwrap();
            let want: Vec<String> = matching.iter().map(|u| u.email.clone()).collect();
            assert_eq!(emails(&rows), want, "{term:?} sorted");
            // The whole list's page (on SQLite, from the search keys).
            let q = Query {
                search: Some(term),
                filter: None,
                after: None,
                limit: 100,
            };
            let rows = page(db, &q, Keyset::First, &ctx()).unwrap();
            assert_eq!(emails(&rows), want, "{term:?} page");
            found.push(want);
        }
        seen.push(found);
    });
    same_on_both(&seen);
}

#[test]
fn the_routes_are_the_ones_their_density_calls_for() {
    each_engine("user_list_density", |store| {
        let db = store.db();
        crowd(db);
        let term = |t| Term::parse(t).unwrap();
        let q = Keyset::First;
        assert!(
            peek(db, &term("bee"), None, q, 61, &ctx())
                .unwrap()
                .is_some()
        );
        assert!(
            peek(db, &term("zoo"), None, q, 61, &ctx())
                .unwrap()
                .is_none()
        );
        let found = |t| candidates(db, &Search::of(db.engine(), &term(t)).unwrap()).unwrap();
        let zoo = found("zoo");
        assert_eq!(zoo.len(), 1200);
        assert!(zoo.len() > FEW, "walked, not sorted");
        let smith = found("smith");
        assert_eq!(smith.len(), 180);
        assert!(smith.len() <= FEW, "sorted, not walked");
        assert_eq!(found("ze").len(), 1200);
    });
}

/// On `PostgreSQL`, with statistics, a search for a rare term or a phone
/// number reads the search or phone indexes, not the whole table nor the
/// whole email index; a phone search as prepared for any number too (a
/// searched page is never kept prepared: `Db::query_planned`). A common
/// term walks the email order in `users_email_search` alone.
#[test]
fn a_search_reads_the_index_its_term_calls_for_on_postgresql() {
    each_engine("user_list_plans", |store| {
        let db = store.db();
        if db.engine() != Engine::Postgres {
            return;
        }
        crowd(db);
        let rare: Vec<_> = (0..5)
            .map(|i| {
                (
                    format!("quinn{i}@y.net"),
                    "Quinn Quay",
                    Some("+14155550123"),
                )
            })
            .collect();
        add(db, &rare);
        db.batch("VACUUM ANALYZE users").unwrap();
        let mut statements = Vec::new();
        // A filter's own index is as good a start (nobody is locked here).
        for (filter, its_index) in [
            (None, None),
            (Some(Filter::Locked), Some("users_locked_until")),
            (Some(Filter::NoFactor), Some("users_without_factor")),
        ] {
            for (term, index) in [("quinn", "users_email_trgm"), ("qu", "users_word_starts")] {
                let search = Search::of(Engine::Postgres, &Term::parse(term).unwrap()).unwrap();
                let (sql, w) = planned_sql(&search, filter, Keyset::First, 61, &ctx());
                let index = its_index.map_or(index.to_owned(), |f| format!("{index}|{f}"));
                statements.push((term, index, sql, w.args().to_vec(), false));
            }
            let Some(Term::Phone(number)) = Term::parse("(415) 555-0123") else {
                panic!("a phone number");
            };
            let at = Keyset::After("a@x.org");
            let (sql, w) = phone_sql(Engine::Postgres, &number, filter, at, 61, &ctx()).unwrap();
            let index = "users_phone".to_owned();
            statements.push((
                "phone",
                index.clone(),
                sql.clone(),
                w.args().to_vec(),
                false,
            ));
            statements.push(("phone", index, sql, w.args().to_vec(), true));
        }
        for (term, index, sql, args, generic) in &statements {
            let plan = plan(db, sql, args, *generic);
            let says = format!("{term} (generic: {generic}):\n{sql}\n{plan}");
            // The search (`users s`; a phone's has no alias): at this size
            // the page's rows may come by a scan of the whole small table.
            let search = if *term == "phone" {
                "users "
            } else {
                "users s"
            };
            assert!(!plan.contains(&format!("Seq Scan on {search}")), "{says}");
            assert!(!plan.contains("using users_email "), "{says}");
            assert!(!plan.contains("using users_email_search "), "{says}");
            assert!(index.split('|').any(|i| plan.contains(i)), "{says}");
        }
        // A filter's page, planned for its values, reads the filter's index
        // (nobody is locked or in grace here), never the email order.
        let grace = FilterContext {
            grace_cutoff: Some(crate::store::time(1_799_000_000)),
            ..ctx()
        };
        for (filter, index) in [
            (Filter::Locked, "users_locked_until"),
            (Filter::InGrace, "users_without_factor_grace"),
        ] {
            let (sql, w) = plain_sql(
                Engine::Postgres,
                Some(filter),
                None,
                Keyset::First,
                61,
                &grace,
            );
            let plan = plan(db, &sql, w.args(), false);
            let says = format!("{filter:?}:\n{sql}\n{plan}");
            assert!(plan.contains(index), "{says}");
            assert!(!plan.contains("using users_email"), "{says}");
        }
        // 1,620 of 3,005 are "Ann Bee": the page is a short walk in email
        // order (at this size through either email index; at 100,000 users
        // the server takes the one the walk reads alone).
        for term in ["bee", "an"] {
            let search = Search::of(Engine::Postgres, &Term::parse(term).unwrap()).unwrap();
            let (sql, w) = planned_sql(&search, None, Keyset::First, 61, &ctx());
            let plan = plan(db, &sql, w.args(), false);
            let says = format!("{term}:\n{sql}\n{plan}");
            assert!(
                plan.contains("Index Only Scan using users_email_search on users s")
                    || plan.contains("Index Scan using users_email on users s"),
                "{says}"
            );
            assert!(!plan.contains("Bitmap"), "{says}");
        }
    });
}

#[test]
fn a_phone_number_finds_its_users_in_any_spelling() {
    let mut seen = Vec::new();
    each_engine("user_list_phones", |store| {
        let db = store.db();
        let phones = [
            ("us@x.org", "+14155550123"),
            ("us2@x.org", "+14155550123"),
            ("uk@x.org", "+447400900123"),
            ("ie@x.org", "+353871234567"),
            ("ru@x.org", "+74951234567"),
        ];
        let mut people: Vec<_> = phones
            .iter()
            .map(|(e, p)| ((*e).to_owned(), "Phoned", Some(*p)))
            .collect();
        people.extend((0..400).map(|i| (format!("n{i:03}@x.org"), "No Phone", None)));
        add(db, &people);
        // The generated column agrees with the domain's reading of each number.
        for (_, phone) in phones {
            let national: String = db
                .query_one(
                    "SELECT phone_national FROM users WHERE phone = ?1",
                    &[phone.into()],
                )
                .unwrap()
                .get(0)
                .unwrap();
            let p = crate::domain::contact::Phone::stored(phone).unwrap();
            assert_eq!(national, p.national(), "{phone}");
        }
        let find = |term: &str, filter| {
            let q = Query {
                search: Some(term),
                filter,
                after: None,
                limit: 10,
            };
            emails(&page(db, &q, Keyset::First, &ctx()).unwrap())
        };
        let mut found = Vec::new();
        for term in [
            "+1 415 555 0123",
            "4155550123",
            "(415) 555-0123",
            "1-415-555-0123",
        ] {
            assert_eq!(find(term, None), ["us2@x.org", "us@x.org"], "{term}");
        }
        assert_eq!(find("07400 900123", None), ["uk@x.org"]);
        assert_eq!(find("+353 87 123 4567", None), ["ie@x.org"]);
        assert_eq!(find("495 123 4567", None), ["ru@x.org"]);
        assert!(find("+44 415 555 0123", None).is_empty());
        assert!(find("4155550123", Some(Filter::Disabled)).is_empty());
        for term in ["4155550123", "07400 900123", "+44 415 555 0123"] {
            found.push(find(term, None));
        }
        // Keyset: the page after the first of two.
        let q = Query {
            search: Some("4155550123"),
            filter: None,
            after: Some("us2@x.org"),
            limit: 10,
        };
        assert_eq!(emails(&list(db, &q, &ctx()).unwrap()), ["us@x.org"]);
        // An email's start (punctuation alone) reads the email index.
        let q = Query {
            search: Some("@"),
            ..q
        };
        assert!(list(db, &q, &ctx()).unwrap().is_empty());
        seen.push(found);
    });
    same_on_both(&seen);
}
