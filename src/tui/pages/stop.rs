//! Where a search that tests rows stopped short of a page, and reading on
//! from there: shared by the lists that do (Audit, Outbox).

use std::cell::Cell;

use super::{PAGE, Pages};
use crate::desk::Keyset;
use crate::desk::search::Found;
use crate::domain::Time;
use crate::tui::keys::Action;

/// Where a search's read down its list stopped at its budget, short of a
/// page (the row read last, and its time): moving down past the last row
/// reads on from there. Shared by the lists that test rows (Audit, Outbox).
#[derive(Debug, Default)]
pub struct Stop(Cell<Option<(i64, Time)>>);

impl Stop {
    pub fn get(&self) -> Option<(i64, Time)> {
        self.0.get()
    }

    pub fn clear(&self) {
        self.0.set(None);
    }

    /// A page read at `at` stopped as `found` says (a read back up the
    /// list leaves the note as it was); its rows.
    pub fn note<T>(&self, at: Keyset<i64>, found: Found<T>) -> Vec<T> {
        if !at.backwards() {
            self.0.set(found.stopped_at);
        }
        found.rows
    }

    /// Down or `PgDn` at the last row of `pages`, when the read stopped
    /// short: read a page on from where it stopped (`read` takes where and
    /// how many), and add what it finds.
    pub fn read_on<T>(
        &self,
        pages: &mut Pages<T>,
        action: Action,
        read: impl FnOnce(Keyset<i64>, u32) -> crate::desk::Result<Found<T>>,
    ) -> crate::desk::Result<()> {
        let at_end = pages.selected + 1 >= pages.rows.len();
        let Some((id, _)) = self.get() else {
            return Ok(());
        };
        if !at_end || !matches!(action, Action::Down | Action::PageDown) {
            return Ok(());
        }
        let found = read(Keyset::After(id), u32::try_from(PAGE).unwrap_or(100))?;
        self.0.set(found.stopped_at);
        pages.rows.extend(found.rows);
        Ok(())
    }
}
