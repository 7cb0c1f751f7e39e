//! Recovery readiness in SQL: which active users a lost phone would strand,
//! each problem a column, sorted and keyset-paged so no page holds them all.

use rusqlite::{Connection, Row};

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
const RATED: &str = "
    SELECT email, name, factor_kinds, codes_left, codes_total,
           no_factor, blocked, sms_only, single_no_codes, codes_out, codes_low,
           max(CASE WHEN blocked THEN 100 WHEN no_factor THEN 60 ELSE 0 END,
               CASE WHEN single_no_codes THEN 50 ELSE 0 END,
               CASE WHEN codes_out THEN 40 ELSE 0 END,
               CASE WHEN sms_only THEN 30 ELSE 0 END,
               CASE WHEN codes_low THEN 20 ELSE 0 END) AS risk
    FROM (SELECT email, name, factor_kinds, codes_left, codes_total,
                 active_factors = 0 AS no_factor,
                 coalesce(active_factors = 0 AND grace_from <= ?1
                     AND (?2 OR role = 'admin'), 0) AS blocked,
                 factor_kinds = 'sms' AS sms_only,
                 active_factors = 1 AND codes_left = 0 AS single_no_codes,
                 codes_total > 0 AND codes_left = 0 AS codes_out,
                 codes_total > 0 AND codes_left > 0 AND codes_left <= ?3 AS codes_low
          FROM users WHERE status = 'active' AND id IN (
              SELECT id FROM users WHERE active_factors = 0
              UNION ALL SELECT id FROM users WHERE factor_kinds = 'sms'
              UNION ALL SELECT id FROM users WHERE codes_total > 0 AND codes_left <= ?3
              UNION ALL SELECT id FROM users WHERE active_factors = 1 AND codes_left = 0))";

fn from_row(r: &Row<'_>) -> rusqlite::Result<AtRisk> {
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
    conn: &Connection,
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
        "SELECT * FROM ({RATED}) WHERE {} ORDER BY {order_by} LIMIT {limit}",
        w.sql()
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(w.params(), from_row)?;
    let mut rows: Vec<AtRisk> = rows.collect::<Result<_, _>>()?;
    if back {
        rows.reverse();
    }
    Ok(rows)
}

/// How many active users are at risk.
pub fn count(conn: &Connection, r: &Rules) -> Result<u64, StoreError> {
    let mut w = Where::default();
    rules(&mut w, r);
    let sql = format!("SELECT count(*) FROM ({RATED}) WHERE risk > 0");
    Ok(conn
        .prepare_cached(&sql)?
        .query_row(w.params(), |row| row.get(0))?)
}
