//! The chain's encoding and its check: every way of tampering with a trail
//! is named at the first event it touches.

use super::*;

fn key() -> Key {
    Key::from_bytes([7; 32])
}

fn event(id: i64) -> Sealed {
    Sealed {
        id,
        at: 1_700_000_000 + id,
        actor: "admin".to_owned(),
        os_user: Some("judy".to_owned()),
        user_id: Some(id % 3),
        kind: "user.unlock".to_owned(),
        detail: format!("unlocked {id}"),
        ip: None,
        written_at: Some(1_700_000_000 + id),
        clock_set: Some(false),
        facts: (id % 2 == 0).then(|| format!("{{\"factor\":{id}}}")),
        seq: None,
        mac: None,
    }
}

/// Events with these ids, chained as the desk writes them, and the head.
fn chain(ids: &[i64]) -> (Vec<Sealed>, StoredHead) {
    let key = key();
    let mut head = Head::start(1_600_000_000);
    let mut rows = Vec::new();
    for &id in ids {
        let mut e = event(id);
        let seq = head.events + 1;
        let mac = seal(&key, seq, &head.last_mac, &e.fields());
        e.seq = Some(seq);
        e.mac = Some(mac.to_vec());
        head = head.after(id, mac);
        rows.push(e);
    }
    (rows, stored(&head))
}

fn stored(head: &Head) -> StoredHead {
    StoredHead {
        chained: true,
        events: head.events,
        last_id: head.last_id,
        last_mac: Some(head.last_mac.to_vec()),
        started_at: Some(head.started_at),
        adopted: head.adopted,
        adopted_last_id: head.adopted_last_id,
        mac: Some(head.mac(&key()).to_vec()),
    }
}

fn check(rows: Vec<Sealed>, head: &StoredHead) -> Verdict {
    let key = key();
    let mut v = Verifier::default();
    for row in rows {
        v.feed(&key, row);
    }
    v.finish(&key, head)
}

fn broken(rows: Vec<Sealed>, head: &StoredHead) -> Break {
    check(rows, head).broken.expect("a break")
}

fn ids(n: i64) -> Vec<i64> {
    (1..=n).collect()
}

#[test]
fn the_encoding_is_unambiguous() {
    let e = event(1);
    let f = e.fields();
    let base = encode(1, &GENESIS, &f);
    // Text moved from one field into its neighbour.
    let moved = Fields {
        kind: "user.unlockunlocked 1",
        detail: "",
        ..f
    };
    assert_ne!(encode(1, &GENESIS, &moved), base);
    let moved = Fields {
        actor: "admi",
        os_user: Some("njudy"),
        ..f
    };
    assert_ne!(encode(1, &GENESIS, &moved), base);
    // Absent is not empty, nor zero.
    let none = Fields { ip: None, ..f };
    let empty = Fields { ip: Some(""), ..f };
    assert_ne!(encode(1, &GENESIS, &none), encode(1, &GENESIS, &empty));
    let no_user = Fields { user_id: None, ..f };
    let user_0 = Fields {
        user_id: Some(0),
        ..f
    };
    assert_ne!(encode(1, &GENESIS, &no_user), encode(1, &GENESIS, &user_0));
    let unknown = Fields {
        clock_set: None,
        ..f
    };
    assert_ne!(encode(1, &GENESIS, &unknown), base);
    // The place and what it is chained to are covered too.
    assert_ne!(encode(2, &GENESIS, &f), base);
    assert_ne!(encode(1, &[1; 32], &f), base);
}

#[test]
fn the_seal_depends_on_every_field_and_the_key() {
    let e = event(5);
    let f = e.fields();
    let mac = seal(&key(), 5, &GENESIS, &f);
    assert_eq!(mac, seal(&key(), 5, &GENESIS, &f));
    assert_ne!(mac, seal(&Key::from_bytes([8; 32]), 5, &GENESIS, &f));
    for changed in [
        Fields { id: 6, ..f },
        Fields { at: 0, ..f },
        Fields {
            actor: "mallory",
            ..f
        },
        Fields { os_user: None, ..f },
        Fields {
            user_id: Some(9),
            ..f
        },
        Fields {
            kind: "user.reset_2fa",
            ..f
        },
        Fields { detail: "x", ..f },
        Fields {
            ip: Some("203.0.113.9"),
            ..f
        },
        Fields {
            written_at: Some(0),
            ..f
        },
        Fields {
            clock_set: Some(true),
            ..f
        },
    ] {
        assert_ne!(seal(&key(), 5, &GENESIS, &changed), mac, "{changed:?}");
    }
}

#[test]
fn a_whole_chain_checks_out_and_so_does_an_empty_one() {
    let (rows, head) = chain(&ids(10));
    let v = check(rows, &head);
    assert_eq!(v.broken, None);
    assert_eq!(v.checked, 10);
    assert_eq!(v.head.map(|h| h.events), Some(10));
    let (rows, head) = chain(&[]);
    assert_eq!(check(rows, &head).broken, None);
}

#[test]
fn ids_need_not_be_consecutive() {
    let (rows, head) = chain(&[3, 4, 9, 200]);
    assert_eq!(check(rows, &head).broken, None);
}

#[test]
fn a_check_can_be_resumed_between_reads() {
    let (rows, head) = chain(&ids(10));
    let key = key();
    let mut v = Verifier::default();
    for row in rows[..4].iter().cloned() {
        v.feed(&key, row);
    }
    let mut resumed = v.clone();
    for row in rows[4..].iter().cloned() {
        resumed.feed(&key, row);
    }
    assert_eq!(resumed.finish(&key, &head).broken, None);
}

#[test]
fn an_edited_event_is_named() {
    let (mut rows, head) = chain(&ids(10));
    rows[4].detail = "nothing to see".to_owned();
    let b = broken(rows, &head);
    assert_eq!(
        b,
        Break {
            kind: Tampering::Edited,
            event: Some(5),
            after: Some(4),
            missing: None
        }
    );
}

#[test]
fn an_event_with_its_mac_changed_or_wiped_is_edited() {
    let (mut rows, head) = chain(&ids(5));
    rows[2].mac = Some(vec![0; 32]);
    assert_eq!(broken(rows, &head).kind, Tampering::Edited);
    let (mut rows, head) = chain(&ids(5));
    rows[2].mac = None;
    rows[2].seq = None;
    let b = broken(rows, &head);
    assert_eq!((b.kind, b.event), (Tampering::Edited, Some(3)));
}

#[test]
fn an_event_whose_facts_were_changed_added_or_wiped_is_edited() {
    for change in [Some("{\"factor\":99}".to_owned()), None] {
        let (mut rows, head) = chain(&ids(6));
        // Event 4 has facts; event 3 has none.
        rows[3].facts = change.clone();
        let b = broken(rows, &head);
        assert_eq!(
            (b.kind, b.event),
            (Tampering::Edited, Some(4)),
            "{change:?}"
        );
    }
    let (mut rows, head) = chain(&ids(6));
    rows[2].facts = Some("{\"reason\":\"x\"}".to_owned());
    assert_eq!(broken(rows, &head).event, Some(3));
}

#[test]
fn the_last_event_edited() {
    let (mut rows, head) = chain(&ids(5));
    rows[4].actor = "nobody".to_owned();
    let b = broken(rows, &head);
    assert_eq!((b.kind, b.event), (Tampering::Edited, Some(5)));
}

#[test]
fn deleted_events_are_named_by_the_one_after_the_gap() {
    let (mut rows, head) = chain(&ids(10));
    rows.remove(4);
    assert_eq!(
        broken(rows, &head),
        Break {
            kind: Tampering::Deleted,
            event: Some(6),
            after: Some(4),
            missing: Some(1)
        }
    );
    let (mut rows, head) = chain(&ids(10));
    rows.drain(3..6);
    let b = broken(rows, &head);
    assert_eq!(
        (b.kind, b.event, b.missing),
        (Tampering::Deleted, Some(7), Some(3))
    );
    // The very first, and all but the last.
    let (mut rows, head) = chain(&ids(3));
    rows.remove(0);
    let b = broken(rows, &head);
    assert_eq!(
        (b.kind, b.event, b.after),
        (Tampering::Deleted, Some(2), None)
    );
    let (mut rows, head) = chain(&ids(3));
    rows.drain(..2);
    let b = broken(rows, &head);
    assert_eq!(
        (b.kind, b.event, b.missing),
        (Tampering::Deleted, Some(3), Some(2))
    );
}

#[test]
fn a_deletion_with_the_tail_cut_too_is_a_deletion() {
    let (mut rows, head) = chain(&ids(6));
    rows.truncate(4);
    rows.remove(2);
    let b = broken(rows, &head);
    assert_eq!(
        (b.kind, b.event, b.after, b.missing),
        (Tampering::Deleted, Some(4), Some(2), Some(1))
    );
}

#[test]
fn an_inserted_event_is_named_wherever_it_lands() {
    // Between two events (ids leave room here), and after the last.
    let (mut rows, head) = chain(&[10, 20, 30, 40]);
    let mut forged = event(25);
    forged.seq = Some(3);
    forged.mac = Some(vec![9; 32]);
    rows.insert(2, forged.clone());
    assert_eq!(
        broken(rows, &head),
        Break {
            kind: Tampering::Inserted,
            event: Some(25),
            after: Some(20),
            missing: None
        }
    );
    let (mut rows, head) = chain(&ids(4));
    forged.id = 5;
    forged.seq = None;
    forged.mac = None;
    rows.push(forged);
    let b = broken(rows, &head);
    assert_eq!(
        (b.kind, b.event, b.after),
        (Tampering::Inserted, Some(5), Some(4))
    );
}

#[test]
fn a_copy_of_an_earlier_event_inserted_is_inserted() {
    let (mut rows, head) = chain(&ids(4));
    let mut copy = rows[1].clone();
    copy.id = 5;
    rows.push(copy.clone());
    assert_eq!(broken(rows, &head).kind, Tampering::Inserted);
    // Even where the head no longer matches the event before it.
    let (mut rows, head) = chain(&ids(4));
    rows.truncate(3);
    copy.id = 4;
    rows.push(copy);
    let b = broken(rows, &head);
    assert_eq!((b.kind, b.event), (Tampering::Inserted, Some(4)));
}

/// Swap everything but the ids of the events at `a` and `b`.
fn swap(rows: &mut [Sealed], a: usize, b: usize) {
    let (ia, ib) = (rows[a].id, rows[b].id);
    rows.swap(a, b);
    rows[a].id = ia;
    rows[b].id = ib;
}

#[test]
fn swapped_events_are_reordered() {
    let (mut rows, head) = chain(&ids(10));
    swap(&mut rows, 2, 7);
    assert_eq!(
        broken(rows, &head),
        Break {
            kind: Tampering::Reordered,
            event: Some(3),
            after: Some(2),
            missing: None
        }
    );
    let (mut rows, head) = chain(&ids(10));
    swap(&mut rows, 5, 6);
    let b = broken(rows, &head);
    assert_eq!((b.kind, b.event), (Tampering::Reordered, Some(6)));
    // The last two.
    let (mut rows, head) = chain(&ids(4));
    swap(&mut rows, 2, 3);
    let b = broken(rows, &head);
    assert_eq!((b.kind, b.event), (Tampering::Reordered, Some(3)));
}

#[test]
fn a_cut_tail_is_told_by_the_head() {
    let (mut rows, head) = chain(&ids(10));
    rows.truncate(7);
    assert_eq!(
        broken(rows, &head),
        Break {
            kind: Tampering::TailCut,
            event: None,
            after: Some(7),
            missing: Some(3)
        }
    );
    let (_, head) = chain(&ids(2));
    let b = broken(Vec::new(), &head);
    assert_eq!(
        (b.kind, b.after, b.missing),
        (Tampering::TailCut, None, Some(2))
    );
}

#[test]
fn a_head_changed_by_hand_is_altered() {
    // Cut the tail and set the head to match what is left: its MAC gives it away.
    let (mut rows, mut head) = chain(&ids(10));
    rows.truncate(7);
    head.events = 7;
    head.last_id = Some(7);
    head.last_mac.clone_from(&rows[6].mac);
    assert_eq!(
        broken(rows, &head),
        Break {
            kind: Tampering::HeadAltered,
            event: None,
            after: Some(7),
            missing: None
        }
    );
    // Reset to "not chained yet".
    let (rows, mut head) = chain(&ids(3));
    head.chained = false;
    assert_eq!(broken(rows, &head).kind, Tampering::HeadAltered);
    // Wiped.
    let (rows, mut head) = chain(&ids(3));
    head.mac = None;
    assert_eq!(broken(rows, &head).kind, Tampering::HeadAltered);
}

#[test]
fn a_head_kept_from_earlier_hides_a_cut_tail() {
    // The limit of a chain kept in the same file: a copy of the head as it
    // was (here, after 7 events) makes the first 7 a whole trail. Keep the
    // head that `audit verify` prints somewhere else to catch this.
    let (rows, _) = chain(&ids(10));
    let (_, earlier) = chain(&ids(7));
    assert_eq!(check(rows[..7].to_vec(), &earlier).broken, None);
}

#[test]
fn adopted_events_are_part_of_the_head_s_mac() {
    let mut head = Head::start(5);
    let plain = head.mac(&key());
    head.adopted = 3;
    assert_ne!(head.mac(&key()), plain);
    head.adopted_last_id = Some(3);
    let adopted = head.mac(&key());
    head.started_at = 6;
    assert_ne!(head.mac(&key()), adopted);
}
