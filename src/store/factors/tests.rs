//! The factors table on both engines.

use super::*;
use crate::store::testing::{each_engine, user};

const SECRET: &[u8] = &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10];

fn app(db: &Db, user_id: i64, status: FactorStatus, at: i64) -> i64 {
    insert(
        db,
        &NewFactor {
            secret: Some(SECRET),
            created_at: time(at),
            ..NewFactor::new(user_id, FactorKind::Totp, status, "app")
        },
    )
    .unwrap()
}

#[test]
fn a_factor_is_read_back_whole_and_only_an_active_one_is_confirmed_at_its_start() {
    each_engine("factors_rows", |store| {
        let db = store.db();
        let u = user(db, "a@example.com");
        let token = insert(
            db,
            &NewFactor {
                secret: Some(SECRET),
                created_at: time(100),
                params: Params {
                    algorithm: Algorithm::Sha256,
                    digits: 8,
                    period: 60,
                },
                counter: Some(41),
                serial: Some("OATH0001"),
                ..NewFactor::new(u, FactorKind::Totp, FactorStatus::Active, "token")
            },
        )
        .unwrap();
        let sms = insert(
            db,
            &NewFactor {
                destination: Some("+14155550100"),
                created_at: time(200),
                ..NewFactor::new(u, FactorKind::Sms, FactorStatus::Pending, "phone")
            },
        )
        .unwrap();
        let row = by_id(db, token).unwrap().unwrap();
        assert_eq!(
            row,
            FactorRow {
                id: token,
                user_id: u,
                kind: FactorKind::Totp,
                status: FactorStatus::Active,
                label: "token".to_owned(),
                destination: None,
                secret: Some(SECRET.to_vec()),
                drift: 0,
                last_step: None,
                last_used_at: None,
                last_used_ip: None,
                created_at: time(100),
                confirmed_at: Some(time(100)),
                resync_step: None,
                resynced_at: None,
                params: Params {
                    algorithm: Algorithm::Sha256,
                    digits: 8,
                    period: 60,
                },
                counter: Some(41),
                serial: Some("OATH0001".to_owned()),
            }
        );
        assert!(row.is_hotp());
        let phone = by_id(db, sms).unwrap().unwrap();
        assert_eq!(
            (phone.confirmed_at, phone.params, phone.counter),
            (None, Params::DEFAULT, None)
        );
        assert_eq!(phone.destination.as_deref(), Some("+14155550100"));
        assert_eq!(by_id(db, sms + 1).unwrap(), None);
        let ids: Vec<_> = for_user(db, u).unwrap().iter().map(|f| f.id).collect();
        assert_eq!(ids, [token, sms]);
        assert_eq!(for_user(db, u + 1).unwrap(), []);
    });
}

#[test]
fn a_step_is_kept_unless_a_new_one_is_given_and_a_counter_only_moves_on_a_token() {
    each_engine("factors_updates", |store| {
        let db = store.db();
        let u = user(db, "a@example.com");
        let f = app(db, u, FactorStatus::Pending, 10);
        confirm(db, f, time(20), Some(900)).unwrap();
        let row = by_id(db, f).unwrap().unwrap();
        assert_eq!(
            (row.status, row.confirmed_at, row.last_step),
            (FactorStatus::Active, Some(time(20)), Some(900))
        );
        record_use(db, f, time(30), "192.0.2.1", None).unwrap();
        let row = by_id(db, f).unwrap().unwrap();
        assert_eq!(
            (row.last_used_at, row.last_used_ip.as_deref(), row.last_step),
            (Some(time(30)), Some("192.0.2.1"), Some(900))
        );
        record_use(db, f, time(40), "192.0.2.2", Some(901)).unwrap();
        assert_eq!(by_id(db, f).unwrap().unwrap().last_step, Some(901));
        confirm(db, f, time(50), None).unwrap();
        assert_eq!(by_id(db, f).unwrap().unwrap().last_step, Some(901));

        set_counter(db, f, 7).unwrap();
        assert_eq!(by_id(db, f).unwrap().unwrap().counter, None, "not a token");
        let token = insert(
            db,
            &NewFactor {
                counter: Some(0),
                ..NewFactor::new(u, FactorKind::Totp, FactorStatus::Active, "token")
            },
        )
        .unwrap();
        set_counter(db, token, 7).unwrap();
        mark_resynced(db, token, time(60)).unwrap();
        let row = by_id(db, token).unwrap().unwrap();
        assert_eq!((row.counter, row.resynced_at), (Some(7), Some(time(60))));

        set_drift(db, f, -2).unwrap();
        set_status(db, f, FactorStatus::Disabled).unwrap();
        let row = by_id(db, f).unwrap().unwrap();
        assert_eq!((row.drift, row.status), (-2, FactorStatus::Disabled));

        let sms = insert(
            db,
            &NewFactor {
                destination: Some("+14155550100"),
                ..NewFactor::new(u, FactorKind::Sms, FactorStatus::Active, "phone")
            },
        )
        .unwrap();
        set_destination(db, sms, "+14155550199", "new phone").unwrap();
        let row = by_id(db, sms).unwrap().unwrap();
        assert_eq!(
            (
                row.destination.as_deref(),
                row.label.as_str(),
                row.status,
                row.confirmed_at
            ),
            (
                Some("+14155550199"),
                "new phone",
                FactorStatus::Pending,
                None
            )
        );
    });
}

#[test]
fn a_resync_never_moves_the_spent_step_back() {
    each_engine("factors_resync", |store| {
        let db = store.db();
        let u = user(db, "a@example.com");
        let f = app(db, u, FactorStatus::Active, 0);
        let spent = |step, at| {
            spend_by_resync(db, f, step, time(at)).unwrap();
            let row = by_id(db, f).unwrap().unwrap();
            (row.resync_step, row.resynced_at)
        };
        assert_eq!(spent(10, 100), (Some(10), Some(time(100))), "from none");
        assert_eq!(spent(5, 200), (Some(10), Some(time(200))), "an older step");
        assert_eq!(spent(12, 300), (Some(12), Some(time(300))));
        assert_eq!(by_id(db, f).unwrap().unwrap().last_step, None);
    });
}

#[test]
fn pending_enrolments_come_oldest_first_and_deletes_count_what_went() {
    each_engine("factors_pending", |store| {
        let db = store.db();
        let u = user(db, "a@example.com");
        let other = user(db, "b@example.com");
        let late = app(db, u, FactorStatus::Pending, 30);
        let early = app(db, other, FactorStatus::Pending, 10);
        app(db, u, FactorStatus::Active, 5);
        let sms = insert(
            db,
            &NewFactor {
                created_at: time(20),
                ..NewFactor::new(u, FactorKind::Sms, FactorStatus::Pending, "phone")
            },
        )
        .unwrap();
        assert_eq!(
            pending(db, 10).unwrap(),
            [
                (other, early, FactorKind::Totp, time(10)),
                (u, sms, FactorKind::Sms, time(20)),
                (u, late, FactorKind::Totp, time(30)),
            ]
        );
        assert_eq!(pending(db, 1).unwrap().len(), 1);
        delete(db, late).unwrap();
        assert_eq!(by_id(db, late).unwrap(), None);
        assert_eq!(delete_for_user(db, u).unwrap(), 2);
        assert_eq!(delete_for_user(db, u).unwrap(), 0);
        assert_eq!(for_user(db, other).unwrap().len(), 1, "another user's stay");
    });
}

#[test]
fn an_export_walks_active_secrets_in_address_order_page_by_page() {
    each_engine("factors_secrets", |store| {
        let db = store.db();
        let c = user(db, "c@x.org");
        let a = user(db, "a@x.org");
        let b = user(db, "b@x.org");
        let c1 = app(db, c, FactorStatus::Active, 0);
        let a1 = app(db, a, FactorStatus::Active, 0);
        let a2 = app(db, a, FactorStatus::Active, 0);
        let a_pending = app(db, a, FactorStatus::Pending, 0);
        let b_off = app(db, b, FactorStatus::Disabled, 0);
        let a3 = app(db, a, FactorStatus::Active, 0);
        let c2 = app(db, c, FactorStatus::Active, 0);
        insert(
            db,
            &NewFactor::new(b, FactorKind::Sms, FactorStatus::Active, "phone"),
        )
        .unwrap();
        assert_eq!(count_active_secrets(db).unwrap(), 5);
        let ids: Vec<_> = secrets_for_user(db, a)
            .unwrap()
            .iter()
            .map(|f| f.id)
            .collect();
        assert_eq!(ids, [a1, a2, a_pending, a3]);
        assert_eq!(secrets_for_user(db, b).unwrap()[0].id, b_off);
        for page in [1, 2, 3, 500] {
            let mut seen = Vec::new();
            walk_active_secrets(db, page, |email, f| {
                // The store is free between rows, as an export's audit needs.
                assert_eq!(by_id(db, f.id)?.as_ref(), Some(&f));
                seen.push((email.to_owned(), f.id));
                Ok::<_, StoreError>(())
            })
            .unwrap();
            let a = "a@x.org".to_owned();
            let c = "c@x.org".to_owned();
            assert_eq!(
                seen,
                [
                    (a.clone(), a1),
                    (a.clone(), a2),
                    (a, a3),
                    (c.clone(), c1),
                    (c, c2)
                ],
                "pages of {page}"
            );
        }
        let mut all = 0;
        each_active_secret(db, |_, _| {
            all += 1;
            Ok::<_, StoreError>(())
        })
        .unwrap();
        assert_eq!(all, 5);
    });
}
