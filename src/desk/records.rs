//! Read-only records: the outbox (the simulated phone and inbox, opened with
//! the key) and the audit trail, newest first with keyset paging.

use super::search::{Found, walk};
use super::views::{AuditView, DeliveryView};
use super::{Desk, Result, user_by_email};
use crate::crypto::same;
use crate::domain::needle::Needle;
use crate::domain::otp;
use crate::domain::recipient::Recipient;
use crate::domain::text::{self, Field};
use crate::domain::vocab::{ChallengeState, CodeState, DeliveryStatus};
use crate::store::deliveries::DeliveryRow;
use crate::store::{self, Db, Keyset, audit, deliveries};

/// The messages budget for one page of an outbox search: each is opened
/// (unsealed) to be tested, so fewer than the audit's.
pub const OUTBOX_BUDGET: u32 = 5_000;

/// One page of an outbox search.
pub type OutboxPage = Found<DeliveryView>;

/// The words of a message that a search looks in.
pub fn outbox_fields(m: &DeliveryView) -> impl Iterator<Item = &str> {
    [
        Some(m.user.as_str()),
        Some(m.channel.as_str()),
        Some(m.destination.as_str()),
        Some(m.status.as_str()),
        m.reason.as_deref(),
        Some(m.text.as_str()),
    ]
    .into_iter()
    .flatten()
}

pub(crate) fn audit_for(
    db: &Db,
    user_id: Option<i64>,
    kind: Option<&str>,
    before: Option<i64>,
    limit: u32,
) -> Result<Vec<AuditView>> {
    audit_page(
        db,
        user_id,
        kind,
        before.map_or(Keyset::First, Keyset::After),
        limit,
    )
}

fn audit_page(
    db: &Db,
    user_id: Option<i64>,
    kind: Option<&str>,
    at: Keyset<i64>,
    limit: u32,
) -> Result<Vec<AuditView>> {
    let rows = audit::page(
        db,
        &audit::Query {
            user_id,
            kind,
            limit,
            ..audit::Query::default()
        },
        at,
    )?;
    Ok(rows.into_iter().map(view).collect())
}

/// An event as the front ends show it.
pub(crate) fn view(r: audit::AuditRow) -> AuditView {
    AuditView {
        id: r.id,
        at: r.at,
        actor: r.actor,
        os_user: r.os_user,
        user: r.user_email,
        kind: r.kind,
        detail: r.detail,
        ip: r.ip,
        written_at: r.written_at,
        clock_set: r.clock_set,
    }
}

/// The id of the user a query is limited to, if any.
pub(crate) fn user_id(db: &Db, email: Option<&str>) -> Result<Option<i64>> {
    Ok(email
        .map(|e| user_by_email(db, e))
        .transpose()?
        .map(|u| u.id))
}

/// Which outbox messages or audit events to list.
#[derive(Debug, Clone, Default)]
pub struct RecordQuery {
    pub user: Option<String>,
    pub kind: Option<String>,
    /// Keyset paging: the smallest id of the previous page.
    pub before: Option<i64>,
    pub limit: u32,
}

impl Desk {
    /// The simulated SMS and email outbox, newest first.
    pub fn outbox(&self, q: &RecordQuery) -> Result<Vec<DeliveryView>> {
        self.outbox_page(q, q.before.map_or(Keyset::First, Keyset::After))
    }

    /// One page of the outbox, newest first, read at `at` instead of
    /// `q.before` (`After(id)`: older than message `id`).
    pub fn outbox_page(&self, q: &RecordQuery, at: Keyset<i64>) -> Result<Vec<DeliveryView>> {
        self.outbox_read(q, None, at)
    }

    /// The messages that went `to` an address or number, newest first:
    /// "check the SMS logs for this number" (seed 004).
    pub fn outbox_to(&self, q: &RecordQuery, to: &Recipient) -> Result<Vec<DeliveryView>> {
        self.outbox_to_page(q, to, q.before.map_or(Keyset::First, Keyset::After))
    }

    /// One page of [`Desk::outbox_to`], read at `at`.
    pub fn outbox_to_page(
        &self,
        q: &RecordQuery,
        to: &Recipient,
        at: Keyset<i64>,
    ) -> Result<Vec<DeliveryView>> {
        self.outbox_read(q, Some(to), at)
    }

    fn outbox_read(
        &self,
        q: &RecordQuery,
        to: Option<&Recipient>,
        at: Keyset<i64>,
    ) -> Result<Vec<DeliveryView>> {
        let now = self.now();
        let user_id = user_id(self.db(), q.user.as_deref())?;
        let to = to.map(|t| super::sealing::to_macs(self.key(), t));
        let rows = deliveries::page(self.db(), user_id, to.as_ref(), at, q.limit.max(1))?;
        Ok(rows.iter().map(|d| self.delivery(d, now)).collect())
    }

    /// One page of the messages with `text` in them (in any case: in the
    /// user, channel, masked destination, status, failure reason or the
    /// message itself), one user's or everyone's, newest first, read at
    /// `at`. The text is sealed, so rows are opened and tested here, read
    /// along the time (or the user's) index a chunk at a time: a page reads
    /// at most `budget` messages and says where it stopped.
    pub fn search_outbox(
        &self,
        q: &RecordQuery,
        text: &str,
        at: Keyset<i64>,
        budget: u32,
    ) -> Result<OutboxPage> {
        let now = self.now();
        let Some(needle) = Needle::parse(text::check(Field::Search, text)?) else {
            let rows = self.outbox_page(q, at)?;
            return Ok(OutboxPage {
                rows,
                stopped_at: None,
            });
        };
        let user_id = user_id(self.db(), q.user.as_deref())?;
        walk(
            at,
            q.limit,
            budget,
            |at, n| Ok(deliveries::page(self.db(), user_id, None, at, n)?),
            |d: &DeliveryRow| (d.id, d.created_at),
            |d| {
                let m = self.delivery(d, now);
                needle.matches(outbox_fields(&m)).then_some(m)
            },
        )
    }

    /// A message as the front ends show it: its text opened, and what
    /// became of its code.
    fn delivery(&self, d: &DeliveryRow, now: crate::domain::Time) -> DeliveryView {
        let text = self
            .key()
            .open("outbox", &d.body)
            .ok()
            .and_then(|b| std::str::from_utf8(&b).ok().map(str::to_owned))
            .unwrap_or_else(|| "(sealed with another key)".to_owned());
        let code = d.code_mac.as_ref().map(|mine| {
            let (current, expired, state) = match &d.live {
                Some((current, expires, state)) => (
                    current.as_ref().is_some_and(|c| same(mine, c)),
                    otp::is_expired(*expires, now),
                    ChallengeState::parse(state),
                ),
                None => (false, false, None),
            };
            CodeState::of(d.status == DeliveryStatus::Failed, state, current, expired)
        });
        DeliveryView {
            id: d.id,
            at: d.created_at,
            user: d.user_email.clone(),
            channel: d.channel,
            destination: d.destination.clone(),
            text,
            status: d.status,
            reason: d.reason.clone(),
            challenge_id: d.challenge_id,
            valid_now: code == Some(CodeState::Valid),
            code,
        }
    }

    /// The audit trail, newest first; `kind` may be a prefix ending in `.`.
    pub fn audit(&self, q: &RecordQuery) -> Result<Vec<AuditView>> {
        let user_id = user_id(self.db(), q.user.as_deref())?;
        audit_for(
            self.db(),
            user_id,
            q.kind.as_deref(),
            q.before,
            q.limit.max(1),
        )
    }

    /// One page of the audit trail, newest first, read at `at` instead of
    /// `q.before` (`After(id)`: older than event `id`).
    pub fn audit_page(&self, q: &RecordQuery, at: Keyset<i64>) -> Result<Vec<AuditView>> {
        let user_id = user_id(self.db(), q.user.as_deref())?;
        audit_page(self.db(), user_id, q.kind.as_deref(), at, q.limit.max(1))
    }

    pub fn audit_count(&self) -> Result<u64> {
        Ok(store::audit::count(self.db())?)
    }
}
