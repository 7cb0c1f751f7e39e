//! Searching the audit trail: by user, kind, actor, time and free text, a
//! page at a time along an index, each page reading a bounded stretch.
//!
//! Whatever an index answers (user, kind, actor alone, the time range) is
//! in the statement. What none does (free text, or an actor beside a user
//! or a kind) is tested here, on rows read along that index in chunks: a
//! page reads at most its budget of rows, and says where it stopped, so a
//! rare term costs a bounded time per page however long the trail is.

use chrono::DateTime;

use super::records::{user_id, view};
use super::views::AuditView;
use super::{Desk, DeskError, Result};
use crate::domain::Time;
use crate::domain::needle::Needle;
use crate::domain::text::{self, Field};
use crate::store::audit::{self, AuditRow};
use crate::store::{Db, Keyset, secs};

/// Which events to find. Every filter given must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditQuery {
    /// One user's events (by email).
    pub user: Option<String>,
    /// A kind (`login.verify`) or a family (`login`, `login.`).
    pub kind: Option<String>,
    /// Who acted, exactly as the trail names them.
    pub actor: Option<String>,
    /// At or after this time.
    pub since: Option<Time>,
    /// Before this time.
    pub until: Option<Time>,
    /// Words anywhere in the event (kind, actor, user, detail, address,
    /// operating-system account), in any case.
    pub text: Option<String>,
    /// The most events a page holds.
    pub limit: u32,
}

impl AuditQuery {
    /// Whether any filter is set.
    pub fn is_filtered(&self) -> bool {
        self.user.is_some()
            || self.kind.is_some()
            || self.actor.is_some()
            || self.since.is_some()
            || self.until.is_some()
            || self.text.is_some()
    }
}

/// One page of a search that tests rows read along an index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found<T> {
    /// The rows found, newest first.
    pub rows: Vec<T>,
    /// The page read its budget before it was full: the last row it read
    /// (to go on from, with `After` or `Before` as it was read), and that
    /// row's time. `None` when the list was read to its end.
    pub stopped_at: Option<(i64, Time)>,
}

impl<T> Default for Found<T> {
    fn default() -> Self {
        Found {
            rows: Vec::new(),
            stopped_at: None,
        }
    }
}

/// One page of an audit search.
pub type AuditPage = Found<AuditView>;

/// Rows read along the index per statement while testing rows here.
const CHUNK: u32 = 500;

/// How many rows one page of a search reads at most, by default: a few
/// milliseconds at any length of trail.
pub const BUDGET: u32 = 20_000;

/// A query checked, with the user's id found.
struct Resolved<'q> {
    user_id: Option<i64>,
    kind: Option<&'q str>,
    actor: Option<&'q str>,
    since: Option<i64>,
    until: Option<i64>,
    needle: Option<Needle>,
}

impl Resolved<'_> {
    /// What the index cannot answer and rows are tested for here.
    fn tests_rows(&self) -> bool {
        self.needle.is_some()
            || (self.actor.is_some() && (self.user_id.is_some() || self.kind.is_some()))
    }

    fn store_query(&self, limit: u32) -> audit::Query<'_> {
        audit::Query {
            user_id: self.user_id,
            kind: self.kind,
            actor: self.actor,
            since: self.since,
            until: self.until,
            before: None,
            limit,
        }
    }

    /// Whether a row read along the index is one the query wants (the
    /// filters the statement did not hold).
    fn keeps(&self, r: &AuditRow) -> bool {
        if let Some(actor) = self.actor
            && r.actor != actor
        {
            return false;
        }
        self.needle.as_ref().is_none_or(|n| {
            n.matches(
                [
                    Some(r.kind.as_str()),
                    Some(r.actor.as_str()),
                    r.user_email.as_deref(),
                    Some(r.detail.as_str()),
                    r.ip.as_deref(),
                    r.os_user.as_deref(),
                ]
                .into_iter()
                .flatten(),
            )
        })
    }

    /// Whether an event just written is one the query wants (`--follow`
    /// reads them in id order, so every filter is tested here).
    fn wants(&self, r: &AuditRow) -> bool {
        let t = secs(r.at);
        self.user_id.is_none_or(|u| r.user_id == Some(u))
            && self.kind.is_none_or(|k| kind_is(k, &r.kind))
            && self.since.is_none_or(|s| t >= s)
            && self.until.is_none_or(|u| t < u)
            && self.keeps(r)
    }
}

/// Whether `kind` is the kind or family `pattern` names.
fn kind_is(pattern: &str, kind: &str) -> bool {
    let pattern = pattern.trim().trim_end_matches('.');
    kind == pattern
        || kind
            .strip_prefix(pattern)
            .is_some_and(|rest| rest.starts_with('.'))
}

fn resolve<'q>(db: &Db, q: &'q AuditQuery) -> Result<Resolved<'q>> {
    if let (Some(since), Some(until)) = (q.since, q.until)
        && since >= until
    {
        return Err(DeskError::RangeBackwards {
            since: since.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            until: until.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        });
    }
    let needle = match q.text.as_deref() {
        Some(t) => Needle::parse(text::check(Field::Search, t)?),
        None => None,
    };
    let actor = match q.actor.as_deref() {
        Some(a) => Some(text::check(Field::Actor, a)?.trim()),
        None => None,
    };
    Ok(Resolved {
        user_id: user_id(db, q.user.as_deref())?,
        kind: q.kind.as_deref(),
        actor,
        since: q.since.map(secs),
        until: q.until.map(secs),
        needle,
    })
}

/// One page of the search, read at `at`, reading at most `budget` rows
/// when rows are tested here.
fn search(
    db: &Db,
    r: &Resolved<'_>,
    at: Keyset<i64>,
    limit: u32,
    budget: u32,
) -> Result<AuditPage> {
    let limit = limit.max(1);
    if !r.tests_rows() {
        let rows = audit::page(db, &r.store_query(limit), at)?;
        return Ok(AuditPage {
            rows: rows.into_iter().map(view).collect(),
            stopped_at: None,
        });
    }
    walk(
        at,
        limit,
        budget,
        |at, n| Ok(audit::page(db, &r.store_query(n), at)?),
        |row: &AuditRow| (row.id, row.at),
        |row| r.keeps(row).then(|| view(row.clone())),
    )
}

/// Rows read at `at` by `read` in chunks along an index, nearest `at`
/// first, kept as `pick` makes them, until `limit` are kept, the rows run
/// out, or `budget` rows were read (then the page says where it stopped:
/// `place` gives a row's id and time). Newest first, however it was read.
pub(super) fn walk<R, T>(
    at: Keyset<i64>,
    limit: u32,
    budget: u32,
    mut read: impl FnMut(Keyset<i64>, u32) -> Result<Vec<R>>,
    place: impl Fn(&R) -> (i64, Time),
    mut pick: impl FnMut(&R) -> Option<T>,
) -> Result<Found<T>> {
    let limit = limit.max(1) as usize;
    let backwards = at.backwards();
    let mut at = at;
    let mut found: Vec<T> = Vec::new();
    let mut read_rows: u32 = 0;
    let mut stopped_at = None;
    loop {
        let chunk = read(at, CHUNK)?;
        read_rows = read_rows.saturating_add(u32::try_from(chunk.len()).unwrap_or(u32::MAX));
        // The rows in the order they were read: nearest `at` first.
        let in_read_order: Box<dyn Iterator<Item = &R>> = if backwards {
            Box::new(chunk.iter().rev())
        } else {
            Box::new(chunk.iter())
        };
        let mut last = None;
        for row in in_read_order {
            last = Some(row);
            if let Some(kept) = pick(row) {
                found.push(kept);
                if found.len() >= limit {
                    break;
                }
            }
        }
        let Some(last) = last else { break };
        let (last_id, last_at) = place(last);
        if found.len() >= limit || chunk.len() < CHUNK as usize {
            break;
        }
        if read_rows >= budget {
            stopped_at = Some((last_id, last_at));
            break;
        }
        at = if backwards {
            Keyset::Before(last_id)
        } else {
            Keyset::After(last_id)
        };
    }
    if backwards {
        found.reverse();
    }
    Ok(Found {
        rows: found,
        stopped_at,
    })
}

impl Desk {
    /// One page of the events `q` finds, newest first, read at `at`; a
    /// page that tests rows reads at most `budget` of them (see
    /// [`AuditPage::stopped_at`]).
    pub fn search_audit(&self, q: &AuditQuery, at: Keyset<i64>, budget: u32) -> Result<AuditPage> {
        let r = resolve(self.db(), q)?;
        search(self.db(), &r, at, q.limit, budget)
    }

    /// Every event `q` finds, newest first, handed to `each` a page at a
    /// time from `from` (memory stays flat at any length), up to `max` events. Returns
    /// how many there were.
    pub fn each_audit(
        &self,
        q: &AuditQuery,
        from: Keyset<i64>,
        max: Option<u64>,
        mut each: impl FnMut(&AuditView) -> Result<()>,
    ) -> Result<u64> {
        let r = resolve(self.db(), q)?;
        let mut at = from;
        let mut n: u64 = 0;
        loop {
            let want = max.map_or(CHUNK, |m| {
                u32::try_from(m.saturating_sub(n)).map_or(CHUNK, |left| left.min(CHUNK))
            });
            if want == 0 {
                return Ok(n);
            }
            let page = search(self.db(), &r, at, want, BUDGET)?;
            for row in &page.rows {
                each(row)?;
                n += 1;
            }
            at = match (page.stopped_at, page.rows.last()) {
                (Some((id, _)), _) => Keyset::After(id),
                (None, Some(last)) if page.rows.len() == want as usize => Keyset::After(last.id),
                _ => return Ok(n),
            };
        }
    }

    /// The newest event's id (cheap: one row), to follow the trail from.
    pub fn audit_last_id(&self) -> Result<Option<i64>> {
        Ok(audit::last_id(self.db())?)
    }

    /// The events `q` finds among those written after event `after`, in
    /// the order they were written, reading at most `CHUNK` events; and
    /// the id to go on after.
    pub fn audit_written_after(&self, q: &AuditQuery, after: i64) -> Result<(Vec<AuditView>, i64)> {
        let r = resolve(self.db(), q)?;
        let rows = audit::written_after(self.db(), after, CHUNK)?;
        let next = rows.last().map_or(after, |e| e.id);
        Ok((
            rows.into_iter().filter(|e| r.wants(e)).map(view).collect(),
            next,
        ))
    }
}

/// A time given as RFC 3339, a date (`2026-11-21`, midnight UTC), or an age
/// before `now` (`90m`, `24h`, `7d`).
pub fn parse_when(text: &str, now: Time) -> Option<Time> {
    let text = text.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t.to_utc());
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return d.and_hms_opt(0, 0, 0).map(|t| t.and_utc());
    }
    if text.ends_with(|c: char| c.is_ascii_alphabetic()) {
        let age = crate::domain::policy::parse_duration(text)?;
        return now.checked_sub_signed(age);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeDelta;

    /// 1,200 rows, ids 1..=1200, newest (highest) first; every 100th kept.
    fn rows(at: Keyset<i64>, n: u32) -> Vec<i64> {
        let (from, down) = match at {
            Keyset::First => (1200, true),
            Keyset::After(id) => (id - 1, true),
            Keyset::From(id) => (id, true),
            Keyset::Before(id) => (id + 1, false),
            Keyset::Last => (1, false),
        };
        let ids: Vec<i64> = if down {
            (1..=from).rev().take(n as usize).collect()
        } else {
            // Read nearest first, given newest first as pages are.
            let mut up: Vec<i64> = (from..=1200).take(n as usize).collect();
            up.reverse();
            up
        };
        ids
    }

    // `walk` hands its callbacks the rows it read by reference.
    #[allow(clippy::trivially_copy_pass_by_ref)]
    fn place(id: &i64) -> (i64, Time) {
        (*id, DateTime::UNIX_EPOCH + TimeDelta::seconds(*id))
    }

    #[allow(clippy::trivially_copy_pass_by_ref)]
    fn kept(id: &i64) -> Option<i64> {
        (id % 100 == 0).then_some(*id)
    }

    #[test]
    fn a_walk_stops_at_its_budget_and_says_where() {
        // The first chunk (1200..701) holds 5 kept rows; a budget of one
        // chunk stops there, short of the page, at row 701.
        let page = walk(
            Keyset::First,
            10,
            CHUNK,
            |at, n| Ok(rows(at, n)),
            place,
            kept,
        )
        .unwrap();
        assert_eq!(page.rows, vec![1200, 1100, 1000, 900, 800]);
        assert_eq!(page.stopped_at.map(|(id, _)| id), Some(701));
        // Going on from there finds the rest, to the end of the rows.
        let on = walk(
            Keyset::After(701),
            10,
            CHUNK * 3,
            |at, n| Ok(rows(at, n)),
            place,
            kept,
        )
        .unwrap();
        assert_eq!(on.rows, vec![700, 600, 500, 400, 300, 200, 100]);
        assert_eq!(on.stopped_at, None);
    }

    #[test]
    fn a_full_page_is_not_a_stop() {
        let page = walk(
            Keyset::First,
            5,
            CHUNK,
            |at, n| Ok(rows(at, n)),
            place,
            kept,
        )
        .unwrap();
        assert_eq!(page.rows, vec![1200, 1100, 1000, 900, 800]);
        assert_eq!(page.stopped_at, None);
        // Read back up the list, the page still comes newest first.
        let back = walk(
            Keyset::Before(650),
            2,
            CHUNK,
            |at, n| Ok(rows(at, n)),
            place,
            kept,
        )
        .unwrap();
        assert_eq!(back.rows, vec![800, 700]);
    }
}
