//! The trail's store functions: on both engines, and `SQLite`'s migration
//! of an older trail (step 4) and its AUTOINCREMENT sequence.

use rusqlite::Connection;

use super::super::{APPLICATION_ID, Store, steps};
use super::*;
use crate::store::engine::Value;
use crate::store::testing::{each_engine, user};

/// A database at schema step 3 holding three events, ids 1, 2 and 5.
fn at_step_3() -> Connection {
    let conn = Connection::open_in_memory().unwrap();
    conn.pragma_update(None, "application_id", APPLICATION_ID)
        .unwrap();
    for (i, step) in steps().iter().take(3).enumerate() {
        conn.execute_batch(step).unwrap();
        conn.pragma_update(None, "user_version", i + 1).unwrap();
    }
    conn.execute_batch(
        "INSERT INTO users (id, email, role, status, created_at, grace_from)
             VALUES (1, 'a@example.com', 'member', 'active', 0, 0);
         INSERT INTO audit (id, at, actor, user_id, kind, detail, ip) VALUES
             (1, 10, 'admin', 1, 'user.add', 'added', NULL),
             (2, 20, 'admin', 1, 'user.unlock', 'unlocked', '192.0.2.1'),
             (5, 30, 'admin', NULL, 'policy.set', 'x', NULL);",
    )
    .unwrap();
    conn
}

fn names(conn: &Connection, kind: &str) -> Vec<String> {
    let mut stmt = conn
        .prepare(
            "SELECT name FROM sqlite_schema WHERE type = ?1 AND tbl_name = 'audit'
             AND name NOT LIKE 'sqlite_%' ORDER BY name",
        )
        .unwrap();
    stmt.query_map([kind], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

#[test]
fn step_4_rebuilds_the_trail_with_its_events_indexes_and_triggers() {
    let conn = at_step_3();
    let (indexes, triggers) = (names(&conn, "index"), names(&conn, "trigger"));
    let mut store = Store::from_connection(conn).unwrap();
    store.migrate().unwrap();
    let (conn, db) = (store.conn().unwrap(), store.db());
    let kept: Vec<(i64, i64, String, Option<i64>)> = conn
        .prepare("SELECT id, at, kind, seq FROM audit ORDER BY id")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        kept,
        vec![
            (1, 10, "user.add".to_owned(), None),
            (2, 20, "user.unlock".to_owned(), None),
            (5, 30, "policy.set".to_owned(), None),
        ]
    );
    // Step 10 adds the actor's index; the rest are rebuilt as they were.
    let mut want = indexes;
    want.push("audit_actor".to_owned());
    want.sort();
    assert_eq!(names(conn, "index"), want);
    // All kept, but the event counter, which step 8 retires for the
    // chain head's count.
    let kept: Vec<String> = triggers
        .into_iter()
        .filter(|t| t != "counters_audit_insert")
        .collect();
    assert_eq!(names(conn, "trigger"), kept);
    let sql: String = conn
        .query_row(
            "SELECT sql FROM sqlite_schema WHERE name = 'audit'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(sql.contains("AUTOINCREMENT"), "{sql}");
    // Unchained until the desk seals them, and counted as before.
    let (head, next) = tip(db).unwrap();
    assert!(!head.chained);
    assert_eq!((head.events, next), (0, 6));
    assert_eq!(count(db).unwrap(), 3);
}

#[test]
fn the_trail_is_append_only_but_for_sealing_old_events_once() {
    let mut store = Store::from_connection(at_step_3()).unwrap();
    store.migrate().unwrap();
    let (conn, db) = (store.conn().unwrap(), store.db());
    let refused = |sql: &str| {
        let e = conn.execute(sql, []).unwrap_err();
        assert!(e.to_string().contains("append-only"), "{sql}: {e}");
    };
    refused("UPDATE audit SET detail = 'x' WHERE id = 1");
    refused("UPDATE audit SET seq = 1, mac = x'01', detail = 'x' WHERE id = 1");
    refused("UPDATE audit SET id = 9 WHERE id = 5");
    refused("DELETE FROM audit WHERE id = 1");
    refused("DELETE FROM audit_head");
    // Sealing: once, while the head is unchained.
    set_seal(db, 1, 1, &[1; 32]).unwrap();
    refused("UPDATE audit SET mac = x'02' WHERE id = 1");
    let head = Head::start(0);
    start_chain(db, &head, &[0; 32]).unwrap();
    let e = set_seal(db, 2, 2, &[2; 32]).unwrap_err();
    assert!(e.to_string().contains("append-only"), "{e}");
    refused("UPDATE audit_head SET chained = 0");
}

#[test]
fn a_deleted_event_s_id_is_not_given_again() {
    let mut store = Store::from_connection(at_step_3()).unwrap();
    store.migrate().unwrap();
    let (conn, db) = (store.conn().unwrap(), store.db());
    conn.execute_batch(
        "DROP TRIGGER audit_append_only_delete;
         DELETE FROM audit WHERE id = 5;",
    )
    .unwrap();
    assert_eq!(tip(db).unwrap().1, 6);
    // Nor one the table gave out and lost some other way.
    conn.execute(
        "UPDATE sqlite_sequence SET seq = 40 WHERE name = 'audit'",
        [],
    )
    .unwrap();
    assert_eq!(tip(db).unwrap().1, 41);
}

#[test]
fn the_chain_reads_in_id_order_a_page_at_a_time() {
    let mut store = Store::from_connection(at_step_3()).unwrap();
    store.migrate().unwrap();
    let db = store.db();
    let first = chain_page(db, i64::MIN, 2).unwrap();
    assert_eq!(first.iter().map(|e| e.id).collect::<Vec<_>>(), [1, 2]);
    assert_eq!(first[1].ip.as_deref(), Some("192.0.2.1"));
    let rest = chain_page(db, 2, 2).unwrap();
    assert_eq!(rest.iter().map(|e| e.id).collect::<Vec<_>>(), [5]);
    assert!(chain_page(db, 5, 2).unwrap().is_empty());
}

// On both engines.

/// An event's fields, at `at`, by `actor`, about `user_id`.
fn fields<'a>(id: i64, at: i64, actor: &'a str, user_id: Option<i64>, kind: &'a str) -> Fields<'a> {
    Fields {
        id,
        at,
        actor,
        os_user: None,
        user_id,
        kind,
        detail: "done",
        ip: None,
        written_at: None,
        clock_set: None,
        facts: None,
    }
}

/// Events as the desk writes them, with a seal of no meaning (`seq` = id).
fn write(db: &Db, events: &[Fields<'_>]) {
    for f in events {
        insert(db, f, f.id, &[7; 32]).unwrap();
    }
}

fn ids(rows: &[AuditRow]) -> Vec<i64> {
    rows.iter().map(|r| r.id).collect()
}

#[test]
fn an_event_comes_back_whole_with_its_user_s_address() {
    each_engine("audit_row", |store| {
        let db = store.db();
        let a = user(db, "a@example.com");
        let f = Fields {
            os_user: Some("judy"),
            detail: "unlocked: on the phone",
            ip: Some("192.0.2.7"),
            written_at: Some(95),
            clock_set: Some(true),
            facts: Some(r#"{"reason":"phone"}"#),
            ..fields(1, 90, "mallory", Some(a), "user.unlock")
        };
        write(db, &[f, fields(2, 91, "admin", None, "policy.set")]);
        let rows = list(
            db,
            &Query {
                limit: 10,
                ..Query::default()
            },
        )
        .unwrap();
        assert_eq!(ids(&rows), [2, 1], "newest first");
        assert_eq!(
            rows[1],
            AuditRow {
                id: 1,
                at: time(90),
                actor: "mallory".to_owned(),
                user_id: Some(a),
                user_email: Some("a@example.com".to_owned()),
                kind: "user.unlock".to_owned(),
                detail: "unlocked: on the phone".to_owned(),
                ip: Some("192.0.2.7".to_owned()),
                os_user: Some("judy".to_owned()),
                written_at: Some(time(95)),
                clock_set: Some(true),
                facts: Some(r#"{"reason":"phone"}"#.to_owned()),
            }
        );
        assert_eq!(
            (rows[0].user_email.as_deref(), rows[0].clock_set),
            (None, None)
        );
        let sealed = chain_page(db, i64::MIN, 10).unwrap();
        assert_eq!(sealed[0].fields(), f, "the chain reads what was sealed");
        assert_eq!(
            (sealed[0].seq, sealed[0].mac.as_deref()),
            (Some(1), Some(&[7; 32][..]))
        );
        assert_eq!(
            ids(&written_after(db, 0, 10).unwrap()),
            [1, 2],
            "in id order"
        );
        assert_eq!(ids(&written_after(db, 1, 10).unwrap()), [2]);
    });
}

#[test]
fn pages_keep_to_a_user_a_kind_or_family_an_actor_and_a_time_range() {
    each_engine("audit_pages", |store| {
        let db = store.db();
        let (a, b) = (user(db, "a@example.com"), user(db, "b@example.com"));
        write(
            db,
            &[
                fields(1, 10, "admin", Some(a), "login.start"),
                fields(2, 20, "admin", Some(b), "login.verify"),
                // Not of the `login` family, though it sorts among it.
                fields(3, 20, "bob", Some(a), "login-x"),
                fields(4, 30, "bob", Some(a), "login"),
                fields(5, 40, "admin", None, "policy.set"),
                fields(6, 40, "admin", Some(a), "login.verify"),
            ],
        );
        let read = |q: Query<'_>, at| ids(&page(db, &Query { limit: 10, ..q }, at).unwrap());
        let all = Query::default;
        assert_eq!(read(all(), Keyset::First), [6, 5, 4, 3, 2, 1]);
        assert_eq!(
            ids(&page(db, &Query { limit: 2, ..all() }, Keyset::After(5)).unwrap()),
            [4, 3]
        );
        assert_eq!(read(all(), Keyset::Before(3)), [6, 5, 4], "in list order");
        assert_eq!(read(all(), Keyset::From(3)), [3, 2, 1]);
        assert!(read(all(), Keyset::After(99)).is_empty(), "a key row gone");
        let user_a = || Query {
            user_id: Some(a),
            ..all()
        };
        assert_eq!(read(user_a(), Keyset::First), [6, 4, 3, 1]);
        let kind = |k| Query {
            kind: Some(k),
            ..all()
        };
        assert_eq!(read(kind("login.verify"), Keyset::First), [6, 2]);
        for family in ["login", "login.", " login. "] {
            assert_eq!(
                read(kind(family), Keyset::First),
                [6, 4, 2, 1],
                "{family:?}"
            );
        }
        assert_eq!(read(kind("login"), Keyset::After(4)), [2, 1]);
        assert_eq!(
            read(kind("login"), Keyset::Before(2)),
            [6, 4],
            "merged, in list order"
        );
        assert_eq!(
            read(
                Query {
                    user_id: Some(a),
                    ..kind("login")
                },
                Keyset::First
            ),
            [6, 4, 1]
        );
        assert!(read(kind("nothing"), Keyset::First).is_empty());
        let actor = |name| Query {
            actor: Some(name),
            ..all()
        };
        assert_eq!(read(actor("bob"), Keyset::First), [4, 3]);
        assert_eq!(
            read(
                Query {
                    since: Some(20),
                    until: Some(40),
                    ..all()
                },
                Keyset::First
            ),
            [4, 3, 2],
            "since inclusive, until not"
        );
        assert_eq!(
            ids(&list(
                db,
                &Query {
                    before: Some(3),
                    limit: 9,
                    ..all()
                }
            )
            .unwrap()),
            [2, 1]
        );
    });
}

#[test]
fn the_next_id_is_past_every_id_given_batches_included() {
    each_engine("audit_tip", |store| {
        let db = store.db();
        let (head, next) = tip(db).unwrap();
        assert_eq!((head.chained, head.events, next), (false, 0, 1));
        assert_eq!((last_id(db).unwrap(), count(db).unwrap()), (None, 0));
        write(db, &[fields(1, 10, "admin", None, "policy.set")]);
        let next = tip(db).unwrap().1;
        assert_eq!(next, 2);
        // A batch reads the next id once and counts on from it.
        write(
            db,
            &[
                fields(next, 20, "admin", None, "policy.set"),
                fields(next + 1, 20, "admin", None, "policy.set"),
            ],
        );
        assert_eq!(tip(db).unwrap().1, 4);
        assert_eq!(
            count(db).unwrap(),
            3,
            "counted while the head is not chained"
        );
        let head = Head::start(5).after(3, [3; 32]);
        start_chain(db, &head, &[9; 32]).unwrap();
        set_head(db, &head.after(4, [4; 32]), &[8; 32]).unwrap();
        let stored = super::head(db).unwrap();
        assert!(stored.chained);
        assert_eq!(
            (stored.events, stored.last_id, stored.started_at),
            (2, Some(4), Some(5))
        );
        assert_eq!(
            (stored.last_mac, stored.mac),
            (Some(vec![4; 32]), Some(vec![8; 32]))
        );
        assert_eq!(last_id(db).unwrap(), Some(4), "from the head");
        assert_eq!(count(db).unwrap(), 2, "the head's count, once chained");
    });
}

#[test]
fn old_events_are_sealed_once_and_nothing_else_in_the_trail_changes() {
    each_engine("audit_append_only", |store| {
        let db = store.db();
        for id in [1, 2, 5] {
            db.execute(
                "INSERT INTO audit (id, at, actor, kind, detail) VALUES (?1, ?1, 'admin', 'policy.set', 'x')",
                &[id.into()],
            )
            .unwrap();
        }
        assert!(!any_sealed(db).unwrap());
        let refused = |sql: &str, args: &[Value]| {
            let e = db.execute(sql, args).unwrap_err();
            assert!(e.to_string().contains("append-only"), "{sql}: {e}");
        };
        refused("UPDATE audit SET detail = 'y' WHERE id = 1", &[]);
        refused(
            "UPDATE audit SET seq = 1, mac = ?1, detail = 'y' WHERE id = 1",
            &[vec![1u8].into()],
        );
        refused("UPDATE audit SET id = 9 WHERE id = 5", &[]);
        refused("DELETE FROM audit WHERE id = 1", &[]);
        refused("DELETE FROM audit_head", &[]);
        // Sealing: once, while the head is unchained.
        set_seal(db, 1, 1, &[1; 32]).unwrap();
        assert!(any_sealed(db).unwrap());
        refused(
            "UPDATE audit SET mac = ?1 WHERE id = 1",
            &[vec![2u8].into()],
        );
        start_chain(db, &Head::start(0), &[0; 32]).unwrap();
        let e = set_seal(db, 2, 2, &[2; 32]).unwrap_err();
        assert!(e.to_string().contains("append-only"), "{e}");
        refused("UPDATE audit_head SET chained = 0", &[]);
        let sealed = chain_page(db, i64::MIN, 9).unwrap();
        assert_eq!(
            sealed.iter().map(|e| (e.id, e.seq)).collect::<Vec<_>>(),
            [(1, Some(1)), (2, None), (5, None)]
        );
        assert_eq!(chain_page(db, 1, 1).unwrap()[0].id, 2, "a page at a time");
    });
}

/// On `PostgreSQL`, with statistics, the kinds a family names are found by
/// steps along the kind index, a kind the trail holds none of included, as
/// planned for the values and as prepared for any (a kept statement's
/// generic plan once scanned the whole trail for an absent kind).
#[test]
fn kinds_are_found_along_the_kind_index_even_by_a_generic_plan() {
    each_engine("audit_kind_plans", |store| {
        let db = store.db();
        if db.engine() != crate::store::engine::Engine::Postgres {
            return;
        }
        db.batch(
            "INSERT INTO audit (at, actor, kind, detail)
             SELECT g, 'admin', CASE WHEN g % 3 = 0 THEN 'login.verify' ELSE 'user.add' END, 'x'
             FROM generate_series(1, 6000) g;
             ANALYZE audit",
        )
        .unwrap();
        for (sql, args) in [
            (
                "SELECT kind FROM audit WHERE kind >= ?1 ORDER BY kind LIMIT 1",
                vec![Value::from("device.revoke")],
            ),
            (
                "SELECT kind FROM audit WHERE kind > ?1 AND kind < ?2 ORDER BY kind LIMIT 1",
                vec![Value::from("device."), Value::from("device/")],
            ),
        ] {
            for generic in [false, true] {
                let plan = crate::store::testing::plan(db, sql, &args, generic);
                assert!(
                    !plan.contains("Seq Scan"),
                    "{sql} (generic {generic}):\n{plan}"
                );
                assert!(
                    plan.contains("audit_kind"),
                    "{sql} (generic {generic}):\n{plan}"
                );
            }
        }
        assert!(kinds_named(db, "device").unwrap().is_empty());
        assert_eq!(kinds_named(db, "login").unwrap(), ["login.verify"]);
    });
}
