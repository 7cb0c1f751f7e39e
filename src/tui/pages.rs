//! A list read from the desk a page at a time by keyset ([`Pages`]), and
//! moving a selection through a list held whole ([`step`]).

use std::cell::Cell;
use std::ops::Range;

use super::keys::Action;
use crate::desk::Keyset;

/// Move a selection within `len` rows.
pub fn step(selected: usize, len: usize, action: Action, page: usize) -> usize {
    if len == 0 {
        return 0;
    }
    let last = len - 1;
    match action {
        Action::Up => selected.saturating_sub(1),
        Action::Down => (selected + 1).min(last),
        Action::PageUp => selected.saturating_sub(page),
        Action::PageDown => (selected + page).min(last),
        Action::HalfPageUp => selected.saturating_sub(half(page)),
        Action::HalfPageDown => (selected + half(page)).min(last),
        Action::Top => 0,
        Action::Bottom => last,
        _ => selected.min(last),
    }
}

/// Half of `page` rows, at least one.
fn half(page: usize) -> usize {
    page.div_ceil(2).max(1)
}

/// A list read from the desk a page at a time, by keyset.
pub trait Source {
    type Row;
    type Key;
    /// The row's key in the list's order.
    fn key(row: &Self::Row) -> Self::Key;
    /// Up to `limit` rows at `at`, in the list's order.
    fn fetch(&self, at: Keyset<Self::Key>, limit: u32) -> crate::desk::Result<Vec<Self::Row>>;
}

mod stop;

pub use stop::Stop;

/// How many rows a fetch reads.
pub const PAGE: usize = 100;

/// How many rows a fresh list reads: a screenful on a terminal up to 60
/// lines high (taller ones read the rest once drawn; see [`Pages::short`]).
const SCREEN: usize = 60;
/// How many rows are held at most: paging on drops the far end.
const HELD: usize = 3 * PAGE;

/// Where the rows held lie in the whole list. Nothing counts the list (at
/// a million rows that alone takes longer than a frame): after `End`, rows
/// are numbered from the end instead, until the start comes into view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anchor {
    /// `rows[0]` is this many rows after the list's first.
    Start(usize),
    /// This many rows follow the last row held.
    End(usize),
}

/// A window onto a list of any length (users by email, outbox and audit
/// newest first), read a page at a time: moving past either end of what is
/// held reads the page beyond it, `Home`/`End` read the first/last page, and
/// PgUp/PgDn move by what the screen showed last.
#[derive(Debug)]
pub struct Pages<T> {
    /// The rows held: a stretch of the whole list.
    pub rows: Vec<T>,
    pub selected: usize,
    /// The first row drawn.
    pub top: usize,
    /// Where the rows held are.
    pub anchor: Anchor,
    /// The list goes on before the first row held.
    pub more_before: bool,
    /// The list goes on after the last row held.
    pub more: bool,
    /// Rows drawn last time: a screenful for PgUp/PgDn.
    pub view: Cell<usize>,
    /// How many reads of the list this window has made.
    pub reads: u64,
}

impl<T> Default for Pages<T> {
    fn default() -> Self {
        Self {
            rows: Vec::new(),
            selected: 0,
            top: 0,
            anchor: Anchor::Start(0),
            more_before: false,
            more: false,
            view: Cell::new(20),
            reads: 0,
        }
    }
}

fn limit(rows: usize) -> u32 {
    u32::try_from(rows + 1).unwrap_or(u32::MAX)
}

impl<T> Pages<T> {
    /// Read the rows held again, from the same first row (the start of the
    /// list if that row has gone), as many as before and at least a page.
    pub fn reload<S: Source<Row = T>>(&mut self, src: &S) -> crate::desk::Result<()> {
        // A fresh list reads a screenful (a search as you type reads no
        // more than that); reading again keeps what was held.
        let want = self.rows.len().max(self.view.get()).max(SCREEN);
        if self.more_before
            && let Some(first) = self.rows.first()
        {
            let mut rows = self.fetch_from(src, Keyset::From(S::key(first)), limit(want))?;
            if !rows.is_empty() {
                self.more = rows.len() > want;
                rows.truncate(want);
                self.rows = rows;
                if let Anchor::End(tail) = &mut self.anchor
                    && !self.more
                {
                    *tail = 0;
                }
                self.settle();
                return Ok(());
            }
        }
        let mut rows = self.fetch_from(src, Keyset::First, limit(want))?;
        self.more = rows.len() > want;
        rows.truncate(want);
        self.rows = rows;
        self.anchor = Anchor::Start(0);
        self.more_before = false;
        self.settle();
        Ok(())
    }

    /// Start again from the first row (a filter changed).
    pub fn clear(&mut self) {
        *self = Pages {
            view: Cell::new(self.view.get()),
            reads: self.reads,
            ..Pages::default()
        };
    }

    pub fn current(&self) -> Option<&T> {
        self.rows.get(self.selected)
    }

    /// The whole list's length, when both its ends have been read.
    pub fn len(&self) -> Option<usize> {
        match self.anchor {
            Anchor::Start(base) => (!self.more).then_some(base + self.rows.len()),
            Anchor::End(tail) => (!self.more_before).then_some(tail + self.rows.len()),
        }
    }

    fn fetch_from<S: Source<Row = T>>(
        &mut self,
        src: &S,
        at: Keyset<S::Key>,
        limit: u32,
    ) -> crate::desk::Result<Vec<T>> {
        self.reads += 1;
        src.fetch(at, limit)
    }

    /// The screen shows fewer rows than it has room for, and more exist.
    pub fn short(&self) -> bool {
        self.more && self.rows.len() < self.view.get()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Move the selection, reading the pages it moves onto.
    pub fn step<S: Source<Row = T>>(&mut self, action: Action, src: &S) -> crate::desk::Result<()> {
        let screen = self.view.get().max(1);
        let selected = self.selected.cast_signed();
        let by = screen.cast_signed();
        match action {
            Action::Up => self.selected = self.reach(src, selected - 1)?,
            Action::Down => self.selected = self.reach(src, selected + 1)?,
            // Read the rows of the screenful the move shows first (reading may
            // shift the indices), then move the selection and the screen.
            Action::PageUp => {
                self.reach(src, self.top.cast_signed() - by)?;
                self.top = self.top.saturating_sub(screen);
                self.selected = self.reach(src, self.selected.cast_signed() - by)?;
            }
            Action::PageDown => {
                self.reach(src, (self.top + 2 * screen).cast_signed() - 1)?;
                self.top += screen;
                self.selected = self.reach(src, self.selected.cast_signed() + by)?;
            }
            // The screen and the selection move together by half a screen.
            Action::HalfPageUp => {
                let by = half(screen);
                self.reach(src, self.top.cast_signed() - by.cast_signed())?;
                self.top = self.top.saturating_sub(by);
                self.selected = self.reach(src, self.selected.cast_signed() - by.cast_signed())?;
            }
            Action::HalfPageDown => {
                let by = half(screen);
                self.reach(src, (self.top + screen + by).cast_signed() - 1)?;
                self.top += by;
                self.selected = self.reach(src, self.selected.cast_signed() + by.cast_signed())?;
            }
            Action::Top if !self.more_before => {
                self.selected = 0;
                self.top = 0;
            }
            Action::Top => {
                self.rows.clear();
                self.more_before = false;
                self.reload(src)?;
                self.selected = 0;
                self.top = 0;
            }
            Action::Bottom if !self.more => self.selected = self.rows.len().saturating_sub(1),
            Action::Bottom => {
                let mut rows = self.fetch_from(src, Keyset::Last, limit(PAGE))?;
                self.more_before = rows.len() > PAGE;
                if self.more_before {
                    rows.remove(0);
                }
                self.anchor = Anchor::End(0);
                self.more = false;
                self.rows = rows;
                self.selected = self.rows.len().saturating_sub(1);
                self.top = self.selected;
            }
            _ => {}
        }
        self.settle();
        Ok(())
    }

    /// The index `target` (which may lie beyond either end of the rows held)
    /// once the pages it falls on are read, clamped to the list.
    fn reach<S: Source<Row = T>>(
        &mut self,
        src: &S,
        mut target: isize,
    ) -> crate::desk::Result<usize> {
        while target >= self.rows.len().cast_signed() && self.more {
            target -= self.read_after(src)?.cast_signed();
        }
        while target < 0 && self.more_before {
            target += self.read_before(src)?.cast_signed();
        }
        let last = self.rows.len().saturating_sub(1).cast_signed();
        Ok(target.clamp(0, last.max(0)).cast_unsigned())
    }

    /// Read the page after the last row held; returns how many rows were
    /// dropped from the front to stay within `HELD`.
    fn read_after<S: Source<Row = T>>(&mut self, src: &S) -> crate::desk::Result<usize> {
        let Some(last) = self.rows.last() else {
            self.more = false;
            return Ok(0);
        };
        let mut rows = self.fetch_from(src, Keyset::After(S::key(last)), limit(PAGE))?;
        self.more = rows.len() > PAGE;
        rows.truncate(PAGE);
        if let Anchor::End(tail) = &mut self.anchor {
            *tail = if self.more {
                tail.saturating_sub(rows.len()).max(1)
            } else {
                0
            };
        }
        self.rows.extend(rows);
        let drop = self.rows.len().saturating_sub(HELD);
        if drop > 0 {
            self.rows.drain(..drop);
            if let Anchor::Start(base) = &mut self.anchor {
                *base += drop;
            }
            self.more_before = true;
            self.selected = self.selected.saturating_sub(drop);
            self.top = self.top.saturating_sub(drop);
        }
        Ok(drop)
    }

    /// Read the page before the first row held; returns how many rows it
    /// put in front.
    fn read_before<S: Source<Row = T>>(&mut self, src: &S) -> crate::desk::Result<usize> {
        let Some(first) = self.rows.first() else {
            self.more_before = false;
            return Ok(0);
        };
        let mut rows = self.fetch_from(src, Keyset::Before(S::key(first)), limit(PAGE))?;
        self.more_before = rows.len() > PAGE;
        if self.more_before {
            rows.drain(..rows.len() - PAGE);
        }
        let added = rows.len();
        if let Anchor::Start(base) = &mut self.anchor {
            *base = if self.more_before {
                base.saturating_sub(added).max(1)
            } else {
                0
            };
        }
        rows.append(&mut self.rows);
        self.rows = rows;
        self.selected += added;
        self.top += added;
        if self.rows.len() > HELD {
            if let Anchor::End(tail) = &mut self.anchor {
                *tail += self.rows.len() - HELD;
            }
            self.rows.truncate(HELD);
            self.more = true;
        }
        Ok(added)
    }

    /// Keep the selection and the first row drawn within the rows held;
    /// once the list's start is held, number rows from it again.
    fn settle(&mut self) {
        if !self.more_before {
            self.anchor = Anchor::Start(0);
        }
        self.selected = self.selected.min(self.rows.len().saturating_sub(1));
        self.top = scroll(self.top, self.selected, self.view.get(), self.rows.len());
    }

    /// The rows to draw in `height` rows (remembered as the screenful).
    pub fn visible(&self, height: usize) -> Range<usize> {
        self.view.set(height.max(1));
        let top = scroll(self.top, self.selected, height, self.rows.len());
        top..(top + height).min(self.rows.len())
    }

    /// `rows 101–124 of 230`, `rows 1–24, more below` (not yet read),
    /// `6 rows` (all drawn), `no rows`; after `End`, `the last 24 rows` and
    /// `rows 25–48 from the end`: for the rows `visible(height)` draws.
    pub fn position(&self, height: usize) -> String {
        if self.rows.is_empty() {
            return "no rows".to_owned();
        }
        let top = scroll(self.top, self.selected, height, self.rows.len());
        let last = (top + height).min(self.rows.len());
        match (self.anchor, self.len()) {
            (_, Some(1)) => "1 row".to_owned(),
            (Anchor::End(tail), None) => {
                let (near, far) = (
                    tail + self.rows.len() - last + 1,
                    tail + self.rows.len() - top,
                );
                match (near, far) {
                    (1, 1) => "the last row".to_owned(),
                    (1, far) => format!("the last {far} rows"),
                    (near, far) => format!("rows {near}–{far} from the end"),
                }
            }
            (anchor, len) => {
                let base = match anchor {
                    Anchor::Start(base) => base,
                    Anchor::End(_) => 0,
                };
                let (first, last) = (base + top + 1, base + last);
                match len {
                    Some(n) if first == 1 && last == n => format!("{n} rows"),
                    Some(n) => format!("rows {first}–{last} of {n}"),
                    None => format!("rows {first}–{last}, more below"),
                }
            }
        }
    }
}

/// The first row to draw in `height` rows from `top` on so `selected` shows
/// and no rows stay blank below the last while some are above the first.
pub fn scroll(top: usize, selected: usize, height: usize, len: usize) -> usize {
    let height = height.max(1);
    let top = top.min(selected).max((selected + 1).saturating_sub(height));
    top.min(len.saturating_sub(height))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The numbers `0..n`, as a keyset-paged list.
    struct Numbers(i64);

    impl Source for Numbers {
        type Row = i64;
        type Key = i64;

        fn key(row: &i64) -> i64 {
            *row
        }

        fn fetch(&self, at: Keyset<i64>, limit: u32) -> crate::desk::Result<Vec<i64>> {
            let limit = i64::from(limit);
            let n = self.0;
            let range = match at {
                Keyset::First => 0..limit.min(n),
                Keyset::From(k) => k..(k + limit).min(n),
                Keyset::After(k) => (k + 1)..(k + 1 + limit).min(n),
                Keyset::Before(k) => (k - limit).max(0)..k,
                Keyset::Last => (n - limit).max(0)..n,
            };
            Ok(range.collect())
        }
    }

    /// A list of `n` with `view` rows on screen.
    fn pages(n: i64, view: usize) -> (Pages<i64>, Numbers) {
        let src = Numbers(n);
        let mut p = Pages::default();
        p.reload(&src).unwrap();
        p.visible(view);
        (p, src)
    }

    /// The numbers drawn, and the one selected.
    fn shown(p: &Pages<i64>, view: usize) -> (Vec<i64>, i64) {
        let rows = p.visible(view).map(|i| p.rows[i]).collect();
        (rows, *p.current().unwrap())
    }

    #[test]
    fn page_down_shows_every_row_once_through_the_whole_list() {
        let (mut p, src) = pages(230, 24);
        let mut seen: Vec<i64> = Vec::new();
        loop {
            let (rows, selected) = shown(&p, 24);
            assert!(rows.contains(&selected));
            // Each screenful starts where the last one ended.
            if let Some(last) = seen.last() {
                // The last screenful is the last 24 rows.
                let expected: i64 = (last + 1).min(206);
                assert_eq!(rows[0], expected, "after {last}");
            }
            seen.extend(rows);
            if selected == 229 {
                break;
            }
            p.step(Action::PageDown, &src).unwrap();
        }
        // Only the last screenful, which ends at the last row, overlaps.
        seen.sort_unstable();
        seen.dedup();
        assert_eq!(seen, (0..230).collect::<Vec<_>>());
        assert!(p.rows.len() <= HELD);
        assert_eq!(p.position(24), "rows 207–230 of 230");
        // And back up, a screenful at a time, to the first row.
        for _ in 0..20 {
            p.step(Action::PageUp, &src).unwrap();
        }
        assert_eq!(shown(&p, 24), ((0..24).collect(), 0));
        assert_eq!(p.position(24), "rows 1–24 of 230");
    }

    #[test]
    fn the_first_page_down_moves_a_screenful() {
        let (mut p, src) = pages(230, 24);
        assert_eq!(p.position(24), "rows 1–24, more below");
        p.step(Action::PageDown, &src).unwrap();
        assert_eq!(shown(&p, 24), ((24..48).collect(), 24));
        assert_eq!(p.position(24), "rows 25–48, more below");
    }

    #[test]
    fn end_and_home_reach_the_true_ends() {
        let (mut p, src) = pages(230, 24);
        p.step(Action::Bottom, &src).unwrap();
        assert_eq!(shown(&p, 24), ((206..230).collect(), 229));
        // Nothing counted the list: rows are numbered from its end.
        assert_eq!(p.position(24), "the last 24 rows");
        p.step(Action::PageUp, &src).unwrap();
        assert_eq!(p.position(24), "rows 25–48 from the end");
        // Up past the rows read at the end reads the page before them.
        for _ in 0..96 {
            p.step(Action::Up, &src).unwrap();
        }
        assert_eq!(*p.current().unwrap(), 109);
        // Once the first row is held, rows are numbered from the start.
        for _ in 0..9 {
            p.step(Action::PageUp, &src).unwrap();
        }
        assert_eq!(p.position(24), "rows 1–24 of 230");
        p.step(Action::Bottom, &src).unwrap();
        p.step(Action::Top, &src).unwrap();
        assert_eq!(shown(&p, 24), ((0..24).collect(), 0));
        assert!(!p.more_before);
        // Down past the first page reads the next.
        for _ in 0..150 {
            p.step(Action::Down, &src).unwrap();
        }
        assert_eq!(*p.current().unwrap(), 150);
        assert_eq!(shown(&p, 24).0, (127..151).collect::<Vec<_>>());
    }

    #[test]
    fn a_reload_keeps_the_place() {
        let (mut p, src) = pages(230, 24);
        p.step(Action::Bottom, &src).unwrap();
        p.step(Action::Up, &src).unwrap();
        p.reload(&src).unwrap();
        assert_eq!(*p.current().unwrap(), 228);
        assert_eq!(p.position(24), "the last 24 rows");
    }

    #[test]
    fn far_from_the_end_rows_count_from_the_end_until_the_start_is_held() {
        let (mut p, src) = pages(5000, 24);
        p.step(Action::Bottom, &src).unwrap();
        for _ in 0..40 {
            p.step(Action::PageUp, &src).unwrap();
        }
        assert_eq!(p.position(24), "rows 961–984 from the end");
        assert_eq!(shown(&p, 24).0, (4016..4040).collect::<Vec<_>>());
        assert!(p.rows.len() <= HELD);
        // And down again, reading the pages dropped on the way up.
        for _ in 0..40 {
            p.step(Action::PageDown, &src).unwrap();
        }
        assert_eq!(p.position(24), "the last 24 rows");
        assert_eq!(shown(&p, 24), ((4976..5000).collect(), 4999));
        p.step(Action::Top, &src).unwrap();
        assert_eq!(p.position(24), "rows 1–24, more below");
    }

    #[test]
    fn half_a_page_moves_the_screen_and_the_selection_together() {
        let (mut p, src) = pages(230, 24);
        p.step(Action::HalfPageDown, &src).unwrap();
        assert_eq!(shown(&p, 24), ((12..36).collect(), 12));
        for _ in 0..20 {
            p.step(Action::HalfPageDown, &src).unwrap();
        }
        // Past the rows first read, and on to the last.
        assert_eq!(shown(&p, 24), ((206..230).collect(), 229));
        p.step(Action::HalfPageUp, &src).unwrap();
        assert_eq!(shown(&p, 24), ((194..218).collect(), 217));
        for _ in 0..20 {
            p.step(Action::HalfPageUp, &src).unwrap();
        }
        assert_eq!(shown(&p, 24), ((0..24).collect(), 0));
        assert_eq!(step(10, 100, Action::HalfPageDown, 10), 15);
        assert_eq!(step(3, 100, Action::HalfPageUp, 10), 0);
        assert_eq!(step(98, 100, Action::HalfPageDown, 10), 99);
    }

    #[test]
    fn short_and_empty_lists() {
        let (mut p, src) = pages(5, 24);
        p.step(Action::PageDown, &src).unwrap();
        assert_eq!(shown(&p, 24), ((0..5).collect(), 4));
        p.step(Action::Bottom, &src).unwrap();
        assert_eq!(p.position(24), "5 rows");
        let (mut p, src) = pages(0, 24);
        p.step(Action::PageDown, &src).unwrap();
        p.step(Action::Bottom, &src).unwrap();
        assert!(p.current().is_none());
        assert_eq!(p.position(24), "no rows");
    }

    #[test]
    fn scrolling_keeps_the_selection_in_view() {
        assert_eq!(scroll(0, 0, 10, 100), 0);
        assert_eq!(scroll(0, 10, 10, 100), 1);
        assert_eq!(scroll(50, 10, 10, 100), 10);
        assert_eq!(scroll(95, 99, 10, 100), 90);
        assert_eq!(scroll(3, 4, 10, 5), 0);
    }
}
