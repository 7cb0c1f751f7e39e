//! `audit verify` in words: whether the chain is whole, else the first event
//! that does not check out and what was done to it; and the head to keep.

use std::fmt::Write as _;

use crate::desk::trail::{HeadView, TrailCheck};
use crate::domain::chain::{Break, Tampering};
use crate::domain::stamp;

/// `#12`, or `-` for none.
fn id(event: Option<i64>) -> String {
    event.map_or_else(|| "-".to_owned(), |id| format!("#{id}"))
}

fn events(n: i64) -> String {
    if n == 1 {
        "1 event".to_owned()
    } else {
        format!("{n} events")
    }
}

/// What was done, in one sentence.
pub fn problem(b: &Break, head: &HeadView) -> String {
    let at = id(b.event);
    match b.kind {
        Tampering::Edited => format!(
            "event {at} was changed after it was written: its fields or its MAC no longer match"
        ),
        Tampering::Deleted => format!(
            "{} deleted just before event {at}{}",
            b.missing.map_or_else(|| "events were".to_owned(), |n| {
                if n == 1 {
                    "1 event was".to_owned()
                } else {
                    format!("{n} events were")
                }
            }),
            b.after
                .map_or_else(|| ", at the start of the trail".to_owned(), |a| {
                    format!(" (after #{a})")
                })
        ),
        Tampering::Inserted => format!(
            "event {at} was inserted: factordesk did not write it, and the chain runs on around it"
        ),
        Tampering::Reordered => format!(
            "event {at} was moved: it holds an event factordesk wrote for another place in the trail"
        ),
        Tampering::TailCut => format!(
            "the trail's end was cut off after {}: {} missing (the head records {} ending at {})",
            b.after.map_or_else(|| "its start".to_owned(), |a| format!("#{a}")),
            b.missing.map_or_else(|| "events".to_owned(), events),
            events(head.events),
            id(head.last_event)
        ),
        Tampering::HeadAltered => {
            "the chain's head was changed by hand: it no longer matches the trail's end, or its own MAC (such a change can hide a cut tail)".to_owned()
        }
    }
}

/// The human answer to `audit verify`.
pub fn trail_check(c: &TrailCheck) -> String {
    let mut out = String::new();
    match &c.problem {
        None => {
            let _ = writeln!(
                out,
                "The audit trail is whole: {}, each sealed to the one before, up to the head.",
                events(c.checked)
            );
        }
        Some(b) => {
            let _ = writeln!(
                out,
                "The audit trail is BROKEN at {}: {}.",
                b.event
                    .map_or_else(|| "its end".to_owned(), |e| format!("event #{e}")),
                problem(b, &c.head)
            );
            let _ = writeln!(
                out,
                "The {} before that check out{}.",
                events(c.checked),
                b.after
                    .map_or_else(String::new, |a| format!(", up to #{a}"))
            );
        }
    }
    let h = &c.head;
    if let Some(started) = h.started_at {
        if h.adopted > 0 {
            let _ = writeln!(
                out,
                "The chain began {} with the {} already here (up to {}): it shows those have not changed since then, not before. Later events are sealed as they are written.",
                stamp(started),
                events(h.adopted),
                id(h.adopted_through)
            );
        } else {
            let _ = writeln!(
                out,
                "The chain began {}; every event is sealed as it is written.",
                stamp(started)
            );
        }
    }
    let _ = writeln!(
        out,
        "Head: {}, last {}, MAC {}",
        events(h.events),
        id(h.last_event),
        h.mac.as_deref().unwrap_or("-")
    );
    out.push_str(
        "Keep that line somewhere else: a copy of an older head is the one thing that can hide a cut tail.\n",
    );
    out
}
