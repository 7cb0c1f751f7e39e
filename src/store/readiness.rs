//! Recovery readiness in SQL: which active users a lost phone would strand,
//! each problem a column, sorted and keyset-paged so no page holds them all.

use super::engine::{Db, Row};
use super::{Keyset, StoreError, Where, secs};
use crate::domain::Time;

/// How to order the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// Most at risk first, then by email.
    Risk,
    Email,
    /// Fewest backup codes left first, then by email.
    Codes,
}

/// What decides who is at risk.
#[derive(Debug, Clone, Copy)]
pub struct Rules {
    /// At or below this many codes left is low.
    pub backup_low: u32,
    /// Users without a factor whose grace began at or before this cannot
    /// log in (`None`: nobody is blocked yet).
    pub blocked_before: Option<Time>,
    /// Enforcement applies to members too (not only admins).
    pub enforce_members: bool,
}

/// One user at risk, with each problem as a fact (one column each).
#[derive(Debug, Clone, PartialEq, Eq)]
#[allow(clippy::struct_excessive_bools)]
pub struct AtRisk {
    pub email: String,
    pub name: String,
    /// `totp,sms`: the active factors' kinds.
    pub factor_kinds: String,
    pub codes_left: u32,
    pub codes_total: u32,
    pub risk: u32,
    pub no_factor: bool,
    /// No factor, and the grace period is over: cannot log in.
    pub blocked: bool,
    pub sms_only: bool,
    /// One factor and no backup code to fall back on.
    pub single_no_codes: bool,
    pub codes_out: bool,
    pub codes_low: bool,
}

/// The key of a row in any order: enough to page from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key {
    pub risk: u32,
    pub codes_left: u32,
    pub email: String,
}

impl AtRisk {
    pub fn key(&self) -> Key {
        Key {
            risk: self.risk,
            codes_left: self.codes_left,
            email: self.email.clone(),
        }
    }
}

/// The active users with a problem, found along the partial index of each
/// way onto the list, with the problem columns and the risk they add up to
/// (the worst one): 100 cannot log in, 60 no factor yet, 50 a single factor
/// and no backup code, 40 backup codes used up, 30 SMS only, 20 few left.
///
/// Written once for both engines: the problems are comparisons (0/1 on
/// `SQLite`, booleans on `PostgreSQL`, read back alike), tested with `CASE
/// WHEN`, never summed; the worst is the first that holds, in that order
/// (no two-argument `max`); the bound flag is compared (`?2 = 1`); each
/// subquery is named, as `PostgreSQL` 15 wants.
const RATED: &str = "
    SELECT email, name, factor_kinds, codes_left, codes_total,
           no_factor, blocked, sms_only, single_no_codes, codes_out, codes_low,
           CASE WHEN blocked THEN 100
                WHEN no_factor THEN 60
                WHEN single_no_codes THEN 50
                WHEN codes_out THEN 40
                WHEN sms_only THEN 30
                WHEN codes_low THEN 20
                ELSE 0 END AS risk
    FROM (SELECT email, name, factor_kinds, codes_left, codes_total,
                 active_factors = 0 AS no_factor,
                 coalesce(active_factors = 0 AND grace_from <= ?1
                     AND (?2 = 1 OR role = 'admin'), FALSE) AS blocked,
                 factor_kinds = 'sms' AS sms_only,
                 active_factors = 1 AND codes_left = 0 AS single_no_codes,
                 codes_total > 0 AND codes_left = 0 AS codes_out,
                 codes_total > 0 AND codes_left > 0 AND codes_left <= ?3 AS codes_low
          FROM users WHERE status = 'active' AND id IN (
              SELECT id FROM users WHERE active_factors = 0
              UNION ALL SELECT id FROM users WHERE factor_kinds = 'sms'
              UNION ALL SELECT id FROM users WHERE codes_total > 0 AND codes_left <= ?3
              UNION ALL SELECT id FROM users WHERE active_factors = 1 AND codes_left = 0)) AS problems";

fn from_row(r: &Row) -> Result<AtRisk, StoreError> {
    Ok(AtRisk {
        email: r.get(0)?,
        name: r.get(1)?,
        factor_kinds: r.get(2)?,
        codes_left: r.get(3)?,
        codes_total: r.get(4)?,
        no_factor: r.get(5)?,
        blocked: r.get(6)?,
        sms_only: r.get(7)?,
        single_no_codes: r.get(8)?,
        codes_out: r.get(9)?,
        codes_low: r.get(10)?,
        risk: r.get(11)?,
    })
}

fn rules(w: &mut Where, rules: &Rules) {
    // The rated query's own placeholders come first, in order.
    w.bind(rules.blocked_before.map(secs));
    w.bind(rules.enforce_members);
    w.bind(i64::from(rules.backup_low));
}

/// One page of the users at risk, in `order`, read at `at`. Every page
/// rates everyone at risk (off the console's thread), but only a page is
/// sorted and held.
pub fn page(
    db: &Db,
    r: &Rules,
    order: Order,
    at: Keyset<&Key>,
    limit: u32,
) -> Result<Vec<AtRisk>, StoreError> {
    let mut w = Where::default();
    rules(&mut w, r);
    w.and("risk > 0");
    let back = at.backwards();
    // Each order as a tuple ascending: risk is negated to put the worst first.
    let (columns, dir) = match order {
        Order::Risk => ("(0 - risk, email)", "ASC"),
        Order::Email => ("(email)", "ASC"),
        Order::Codes => ("(codes_left, email)", "ASC"),
    };
    let key = |w: &mut Where, k: &Key| match order {
        Order::Risk => {
            let (r, e) = (w.bind(-i64::from(k.risk)), w.bind(k.email.clone()));
            format!("({r}, {e})")
        }
        Order::Email => {
            let e = w.bind(k.email.clone());
            format!("({e})")
        }
        Order::Codes => {
            let (c, e) = (w.bind(i64::from(k.codes_left)), w.bind(k.email.clone()));
            format!("({c}, {e})")
        }
    };
    match at {
        Keyset::First | Keyset::Last => {}
        Keyset::From(k) => {
            let k = key(&mut w, k);
            w.and(format!("{columns} >= {k}"));
        }
        Keyset::After(k) => {
            let k = key(&mut w, k);
            w.and(format!("{columns} > {k}"));
        }
        Keyset::Before(k) => {
            let k = key(&mut w, k);
            w.and(format!("{columns} < {k}"));
        }
    }
    let dir = if back { "DESC" } else { dir };
    let order_by = match order {
        Order::Risk => format!("risk {}, email {dir}", if back { "ASC" } else { "DESC" }),
        Order::Email => format!("email {dir}"),
        Order::Codes => format!("codes_left {dir}, email {dir}"),
    };
    let limit = w.bind(i64::from(limit));
    let sql = format!(
        "SELECT * FROM ({RATED}) AS rated WHERE {} ORDER BY {order_by} LIMIT {limit}",
        w.sql()
    );
    let mut rows = db
        .query(&sql, w.args())?
        .iter()
        .map(from_row)
        .collect::<Result<Vec<_>, _>>()?;
    if back {
        rows.reverse();
    }
    Ok(rows)
}

/// How many active users are at risk.
pub fn count(db: &Db, r: &Rules) -> Result<u64, StoreError> {
    let mut w = Where::default();
    rules(&mut w, r);
    let sql = format!("SELECT count(*) FROM ({RATED}) AS rated WHERE risk > 0");
    let n: i64 = db.query_one(&sql, w.args())?.get(0)?;
    Ok(u64::try_from(n).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing::{each_engine, user};
    use crate::store::time;

    /// A user with these columns set (`SET` clauses).
    fn user_with(db: &Db, email: &str, set: &str) {
        let id = user(db, email);
        db.execute(
            &format!("UPDATE users SET {set} WHERE id = ?1"),
            &[id.into()],
        )
        .unwrap();
    }

    /// One user per problem, a user with none and a disabled one; emails
    /// sort otherwise than risk or codes do.
    fn everyone(db: &Db) {
        let factors = |n, kinds, total, left| {
            format!(
                "active_factors = {n}, factor_kinds = '{kinds}', codes_total = {total}, \
                 codes_left = {left}"
            )
        };
        user_with(db, "a-low@x", &factors(2, "hotp,totp", 10, 2));
        user_with(db, "b-sms@x", &factors(1, "sms", 10, 10));
        user_with(db, "c-single@x", &factors(1, "totp", 0, 0));
        user_with(db, "d-out@x", &factors(2, "sms,totp", 10, 0));
        user_with(db, "e-admin@x", "grace_from = 100, role = 'admin'");
        user_with(db, "f-member@x", "grace_from = 100");
        user_with(db, "g-fine@x", &factors(2, "hotp,totp", 10, 8));
        user_with(db, "h-off@x", "status = 'disabled'");
    }

    fn rules(blocked_before: Option<i64>, enforce_members: bool) -> Rules {
        Rules {
            backup_low: 3,
            blocked_before: blocked_before.map(time),
            enforce_members,
        }
    }

    fn read(db: &Db, r: &Rules, order: Order, at: Keyset<&Key>, limit: u32) -> Vec<String> {
        page(db, r, order, at, limit)
            .unwrap()
            .into_iter()
            .map(|row| row.email)
            .collect()
    }

    #[test]
    fn each_problem_is_a_fact_and_the_worst_is_the_risk() {
        each_engine("readiness_rated", |store| {
            let db = store.db();
            everyone(db);
            let admins = rules(Some(200), false);
            let rows = page(db, &admins, Order::Risk, Keyset::First, 10).unwrap();
            let risks: Vec<(&str, u32)> = rows.iter().map(|r| (r.email.as_str(), r.risk)).collect();
            assert_eq!(
                risks,
                [
                    ("e-admin@x", 100),
                    ("f-member@x", 60),
                    ("c-single@x", 50),
                    ("d-out@x", 40),
                    ("b-sms@x", 30),
                    ("a-low@x", 20),
                ],
                "the fine and the disabled left out"
            );
            assert_eq!(
                rows[3],
                AtRisk {
                    email: "d-out@x".to_owned(),
                    name: String::new(),
                    factor_kinds: "sms,totp".to_owned(),
                    codes_left: 0,
                    codes_total: 10,
                    risk: 40,
                    no_factor: false,
                    blocked: false,
                    sms_only: false,
                    single_no_codes: false,
                    codes_out: true,
                    codes_low: false,
                }
            );
            assert!(rows[0].blocked && rows[0].no_factor);
            assert!(
                !rows[1].blocked && rows[1].no_factor,
                "a member: not enforced"
            );
            assert!(rows[2].single_no_codes && rows[4].sms_only && rows[5].codes_low);
            assert_eq!(count(db, &admins).unwrap(), 6);
            // Enforced for members too: both blocked, the tie by email.
            let all = rules(Some(200), true);
            assert_eq!(
                read(db, &all, Order::Risk, Keyset::First, 2),
                ["e-admin@x", "f-member@x"]
            );
            assert!(page(db, &all, Order::Risk, Keyset::First, 2).unwrap()[1].blocked);
            // Nobody blocked yet: no factor is 60 for both.
            let none = page(db, &rules(None, true), Order::Risk, Keyset::First, 2).unwrap();
            assert_eq!(
                none.iter().map(|r| (r.risk, r.blocked)).collect::<Vec<_>>(),
                [(60, false), (60, false)]
            );
            // Grace begun after the cut-off: not blocked.
            assert!(
                !page(db, &rules(Some(99), true), Order::Risk, Keyset::First, 1).unwrap()[0]
                    .blocked
            );
        });
    }

    #[test]
    fn pages_go_both_ways_in_each_order() {
        each_engine("readiness_pages", |store| {
            let db = store.db();
            everyone(db);
            let r = rules(Some(200), false);
            let keys: Vec<Key> = page(db, &r, Order::Risk, Keyset::First, 10)
                .unwrap()
                .iter()
                .map(AtRisk::key)
                .collect();
            let key = |email: &str| keys.iter().find(|k| k.email == email).unwrap();
            let risk = |at| read(db, &r, Order::Risk, at, 2);
            assert_eq!(
                risk(Keyset::After(key("f-member@x"))),
                ["c-single@x", "d-out@x"]
            );
            assert_eq!(
                risk(Keyset::Before(key("c-single@x"))),
                ["e-admin@x", "f-member@x"]
            );
            assert_eq!(risk(Keyset::From(key("d-out@x"))), ["d-out@x", "b-sms@x"]);
            assert_eq!(risk(Keyset::Last), ["b-sms@x", "a-low@x"]);
            assert!(risk(Keyset::After(key("a-low@x"))).is_empty());
            let email = |at| read(db, &r, Order::Email, at, 2);
            assert_eq!(email(Keyset::First), ["a-low@x", "b-sms@x"]);
            assert_eq!(
                email(Keyset::After(key("c-single@x"))),
                ["d-out@x", "e-admin@x"]
            );
            assert_eq!(
                email(Keyset::Before(key("c-single@x"))),
                ["a-low@x", "b-sms@x"]
            );
            assert_eq!(email(Keyset::Last), ["e-admin@x", "f-member@x"]);
            let codes = |at| read(db, &r, Order::Codes, at, 2);
            assert_eq!(codes(Keyset::First), ["c-single@x", "d-out@x"]);
            assert_eq!(
                codes(Keyset::After(key("f-member@x"))),
                ["a-low@x", "b-sms@x"]
            );
            assert_eq!(
                codes(Keyset::Before(key("a-low@x"))),
                ["e-admin@x", "f-member@x"]
            );
            assert_eq!(
                codes(Keyset::From(key("e-admin@x"))),
                ["e-admin@x", "f-member@x"]
            );
        });
    }
}
