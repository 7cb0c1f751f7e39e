//! The audit trail's chain: each event's HMAC over its fields, place and the MAC
//! before it, the head that seals its end, and the check that names a break.

use serde::Serialize;

use crate::crypto::{Key, same};

/// An HMAC-SHA256.
pub type Mac = [u8; 32];

/// What the first event is chained to.
pub const GENESIS: Mac = [0; 32];

/// The purposes the key's MACs are taken for (each length-prefixed by
/// [`Key::mac`], so neither can stand for the other).
const EVENT: &str = "audit-event-v1";
const HEAD: &str = "audit-head-v1";

/// One event's fields as its MAC covers them (times in Unix seconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fields<'a> {
    pub id: i64,
    pub at: i64,
    pub actor: &'a str,
    /// The operating-system account that wrote it (unknown before the chain).
    pub os_user: Option<&'a str>,
    pub user_id: Option<i64>,
    pub kind: &'a str,
    pub detail: &'a str,
    pub ip: Option<&'a str>,
    /// The real time it was written (unknown before the chain).
    pub written_at: Option<i64>,
    /// Whether the clock had been set (`--now`) or moved.
    pub clock_set: Option<bool>,
    /// Its typed facts, as JSON (see [`super::audit::Facts`]).
    pub facts: Option<&'a str>,
}

/// A stored event: its fields and its seal, as read back (either may have
/// been tampered with, so nothing is assumed of them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    pub id: i64,
    pub at: i64,
    pub actor: String,
    pub os_user: Option<String>,
    pub user_id: Option<i64>,
    pub kind: String,
    pub detail: String,
    pub ip: Option<String>,
    pub written_at: Option<i64>,
    pub clock_set: Option<bool>,
    pub facts: Option<String>,
    pub seq: Option<i64>,
    pub mac: Option<Vec<u8>>,
}

impl Sealed {
    pub fn fields(&self) -> Fields<'_> {
        Fields {
            id: self.id,
            at: self.at,
            actor: &self.actor,
            os_user: self.os_user.as_deref(),
            user_id: self.user_id,
            kind: &self.kind,
            detail: &self.detail,
            ip: self.ip.as_deref(),
            written_at: self.written_at,
            clock_set: self.clock_set,
            facts: self.facts.as_deref(),
        }
    }

    /// Whether this event is sealed as the `seq`th, chained to `prev`.
    fn sealed_as(&self, key: &Key, seq: i64, prev: &[u8]) -> bool {
        self.seq == Some(seq)
            && self
                .mac
                .as_deref()
                .is_some_and(|mac| same(mac, &seal(key, seq, prev, &self.fields())))
    }

    /// Whether this event is sealed at its own `seq`, chained to `prev`.
    fn follows(&self, key: &Key, prev: &[u8]) -> bool {
        self.seq.is_some_and(|seq| self.sealed_as(key, seq, prev))
    }
}

/// A byte string in which every value is typed and, where its length
/// varies, length-prefixed: no two different field lists encode alike.
struct Encoder(Vec<u8>);

impl Encoder {
    fn int(&mut self, v: i64) {
        self.0.push(b'i');
        self.0.extend_from_slice(&v.to_be_bytes());
    }

    fn bytes(&mut self, b: &[u8]) {
        self.0.push(b'b');
        self.0.extend_from_slice(&(b.len() as u64).to_be_bytes());
        self.0.extend_from_slice(b);
    }

    fn none(&mut self) {
        self.0.push(b'-');
    }

    fn opt_int(&mut self, v: Option<i64>) {
        match v {
            Some(v) => self.int(v),
            None => self.none(),
        }
    }

    fn opt_text(&mut self, v: Option<&str>) {
        match v {
            Some(v) => self.bytes(v.as_bytes()),
            None => self.none(),
        }
    }

    fn opt_bool(&mut self, v: Option<bool>) {
        self.0.push(match v {
            None => b'-',
            Some(false) => b'f',
            Some(true) => b't',
        });
    }
}

/// What an event's MAC is taken over.
pub fn encode(seq: i64, prev: &[u8], f: &Fields<'_>) -> Vec<u8> {
    let mut e = Encoder(Vec::with_capacity(
        128 + f.actor.len() + f.kind.len() + f.detail.len(),
    ));
    e.int(seq);
    e.bytes(prev);
    e.int(f.id);
    e.int(f.at);
    e.bytes(f.actor.as_bytes());
    e.opt_text(f.os_user);
    e.opt_int(f.user_id);
    e.bytes(f.kind.as_bytes());
    e.bytes(f.detail.as_bytes());
    e.opt_text(f.ip);
    e.opt_int(f.written_at);
    e.opt_bool(f.clock_set);
    // Only when present: an event without facts encodes as it did before
    // step 7, so chains sealed then still verify.
    if f.facts.is_some() {
        e.opt_text(f.facts);
    }
    e.0
}

/// The MAC of the `seq`th event, chained to `prev`.
pub fn seal(key: &Key, seq: i64, prev: &[u8], f: &Fields<'_>) -> Mac {
    key.mac(EVENT, &encode(seq, prev, f))
}

/// The chain's end: how many events, the last one's id and MAC, and when
/// the chain began with how many events already there ("adopted": vouched
/// for from then on, not from when they were written).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Head {
    pub events: i64,
    pub last_id: Option<i64>,
    pub last_mac: Mac,
    pub started_at: i64,
    pub adopted: i64,
    pub adopted_last_id: Option<i64>,
}

impl Head {
    /// An empty chain begun at `started_at`.
    pub fn start(started_at: i64) -> Head {
        Head {
            events: 0,
            last_id: None,
            last_mac: GENESIS,
            started_at,
            adopted: 0,
            adopted_last_id: None,
        }
    }

    /// The head once event `id` is added with `mac`.
    #[must_use]
    pub fn after(&self, id: i64, mac: Mac) -> Head {
        Head {
            events: self.events + 1,
            last_id: Some(id),
            last_mac: mac,
            ..*self
        }
    }

    /// The head's own MAC: a head cannot be rolled back to an earlier
    /// count by hand, as its MAC for that count was never stored.
    pub fn mac(&self, key: &Key) -> Mac {
        let mut e = Encoder(Vec::with_capacity(96));
        e.int(self.events);
        e.opt_int(self.last_id);
        e.bytes(&self.last_mac);
        e.int(self.started_at);
        e.int(self.adopted);
        e.opt_int(self.adopted_last_id);
        key.mac(HEAD, &e.0)
    }
}

/// The head as stored: its fields, whose MAC may not match, and its MAC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredHead {
    /// False until the events a database held before it had a chain are
    /// chained (and, later, only if the head was reset by hand).
    pub chained: bool,
    pub events: i64,
    pub last_id: Option<i64>,
    pub last_mac: Option<Vec<u8>>,
    pub started_at: Option<i64>,
    pub adopted: i64,
    pub adopted_last_id: Option<i64>,
    pub mac: Option<Vec<u8>>,
}

impl StoredHead {
    /// The head, when it is chained and its own MAC is right.
    pub fn verified(&self, key: &Key) -> Option<Head> {
        let head = Head {
            events: self.events,
            last_id: self.last_id,
            last_mac: self.last_mac.as_deref()?.try_into().ok()?,
            started_at: self.started_at?,
            adopted: self.adopted,
            adopted_last_id: self.adopted_last_id,
        };
        (self.chained && self.mac.as_deref().is_some_and(|m| same(m, &head.mac(key))))
            .then_some(head)
    }
}

/// How a chain was found broken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Tampering {
    /// The event's fields (or its MAC) changed after it was written.
    Edited,
    /// Events are missing just before this one.
    Deleted,
    /// This event was not written by factordesk: the chain runs on around it.
    Inserted,
    /// This event was written by factordesk, but for another place.
    Reordered,
    /// The trail stops short of the end the head records.
    TailCut,
    /// The head itself was changed by hand (rolled back, forged or reset).
    HeadAltered,
}

/// The first place a chain is broken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Break {
    pub kind: Tampering,
    /// The first event that does not check out; none when no event is
    /// wrong but the end is (a cut tail, an altered head).
    pub event: Option<i64>,
    /// The last event that checked out, if any.
    pub after: Option<i64>,
    /// How many events are gone, where that is known (deleted, cut).
    pub missing: Option<i64>,
}

/// What comes after a suspect event.
enum Next<'a> {
    Event(&'a Sealed),
    Head(&'a StoredHead),
}

/// Checks a trail fed to it in id order, a row at a time, so that memory
/// stays flat at any length; it can be kept between reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verifier {
    /// The MAC of the last event that checked out.
    prev: Mac,
    /// How many events checked out.
    checked: i64,
    last_id: Option<i64>,
    /// The first event that failed, held until the one after it (or the
    /// head) tells what happened to it.
    suspect: Option<Box<Sealed>>,
    broken: Option<Break>,
}

impl Default for Verifier {
    fn default() -> Self {
        Verifier {
            prev: GENESIS,
            checked: 0,
            last_id: None,
            suspect: None,
            broken: None,
        }
    }
}

/// What a whole check found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verdict {
    /// Events that checked out, in id order, before any break.
    pub checked: i64,
    pub broken: Option<Break>,
    /// The head, when its own MAC is right.
    pub head: Option<Head>,
}

impl Verifier {
    /// Events that checked out so far.
    pub fn checked(&self) -> i64 {
        self.checked
    }

    /// Whether a break was found (more rows change nothing).
    pub fn done(&self) -> bool {
        self.broken.is_some()
    }

    /// The next event in id order.
    pub fn feed(&mut self, key: &Key, event: Sealed) {
        if self.broken.is_some() {
            return;
        }
        if let Some(suspect) = self.suspect.take() {
            self.broken = Some(self.classify(key, &suspect, &Next::Event(&event)));
            return;
        }
        let prev = self.prev;
        if event.sealed_as(key, self.checked + 1, &prev) {
            self.checked += 1;
            self.last_id = Some(event.id);
            self.prev = event
                .mac
                .as_deref()
                .and_then(|m| m.try_into().ok())
                .unwrap_or(GENESIS);
        } else {
            self.suspect = Some(Box::new(event));
        }
    }

    /// The verdict, once every event was fed, against the stored head.
    pub fn finish(mut self, key: &Key, head: &StoredHead) -> Verdict {
        let verified = head.verified(key);
        if let Some(suspect) = self.suspect.take() {
            self.broken = Some(self.classify(key, &suspect, &Next::Head(head)));
        }
        if self.broken.is_none() {
            let at_end = |kind, missing| Break {
                kind,
                event: None,
                after: self.last_id,
                missing,
            };
            self.broken = match verified {
                None => Some(at_end(Tampering::HeadAltered, None)),
                Some(h) if h.events > self.checked => {
                    Some(at_end(Tampering::TailCut, Some(h.events - self.checked)))
                }
                Some(h)
                    if h.events != self.checked
                        || h.last_id != self.last_id
                        || !same(&h.last_mac, &self.prev) =>
                {
                    Some(at_end(Tampering::HeadAltered, None))
                }
                Some(_) => None,
            };
        }
        Verdict {
            checked: self.checked,
            broken: self.broken,
            head: verified,
        }
    }

    /// What happened to `suspect`, the first event that did not check out,
    /// judged by what follows it.
    fn classify(&self, key: &Key, suspect: &Sealed, next: &Next<'_>) -> Break {
        let expected = self.checked + 1;
        // The chain runs on from the event before the suspect, as if the
        // suspect were not there.
        let skips = match next {
            Next::Event(n) => n.sealed_as(key, expected, &self.prev),
            Next::Head(h) => {
                h.events == self.checked
                    && h.last_mac.as_deref().is_some_and(|m| same(m, &self.prev))
            }
        };
        // What follows was chained to the suspect's MAC as it stands.
        let followed = suspect.mac.as_deref().is_some_and(|mac| match next {
            Next::Event(n) => n.follows(key, mac),
            Next::Head(h) => h.last_mac.as_deref().is_some_and(|m| same(m, mac)),
        });
        // The last event cannot have been swapped with a later one, nor
        // with an earlier one (which would have failed first).
        let last = matches!(next, Next::Head(_));
        let (kind, missing) = match suspect.seq {
            _ if skips => (Tampering::Inserted, None),
            // Sealed for a later place, and followed as sealed (or last):
            // the events between the last good one and it are gone.
            Some(seq) if seq > expected && (followed || last) => {
                (Tampering::Deleted, Some(seq - expected))
            }
            // Last, and sealed for an earlier place: a copy.
            Some(seq) if seq < expected && last => (Tampering::Inserted, None),
            // Sealed for another place: moved here.
            Some(seq) if seq != expected => (Tampering::Reordered, None),
            // In its place (or its seal wiped): changed.
            _ => (Tampering::Edited, None),
        };
        Break {
            kind,
            event: Some(suspect.id),
            after: self.last_id,
            missing,
        }
    }
}

#[cfg(test)]
mod tests;
