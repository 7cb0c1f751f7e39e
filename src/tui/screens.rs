//! One file per screen: its state, its keys, how it reacts and how it draws.

pub mod audit;
pub mod doctor;
pub mod outbox;
pub mod overview;
pub mod policy;
pub mod simulator;
pub mod user;
pub mod users;

/// Move a selection within `len` rows.
pub fn step(selected: usize, len: usize, action: crate::tui::keys::Action, page: usize) -> usize {
    use crate::tui::keys::Action;
    if len == 0 {
        return 0;
    }
    let last = len - 1;
    match action {
        Action::Up => selected.saturating_sub(1),
        Action::Down => (selected + 1).min(last),
        Action::PageUp => selected.saturating_sub(page),
        Action::PageDown => (selected + page).min(last),
        Action::Top => 0,
        Action::Bottom => last,
        _ => selected.min(last),
    }
}

/// Rows newest first, loaded a page at a time: a reload fetches as many as
/// are shown, and moving past the last fetches the next page.
#[derive(Debug)]
pub struct Pages<T> {
    pub rows: Vec<T>,
    pub selected: usize,
    /// Older rows exist beyond the last one.
    pub more: bool,
}

impl<T> Default for Pages<T> {
    fn default() -> Self {
        Self {
            rows: Vec::new(),
            selected: 0,
            more: false,
        }
    }
}

/// How many rows a page holds.
pub const PAGE: u32 = 200;

impl<T> Pages<T> {
    /// Fetch again as many rows as are loaded (at least a page):
    /// `fetch(before, limit)` with `before` = `None`.
    pub fn reload(
        &mut self,
        fetch: impl FnOnce(Option<i64>, u32) -> crate::desk::Result<Vec<T>>,
    ) -> crate::desk::Result<()> {
        let want = u32::try_from(self.rows.len()).unwrap_or(PAGE).max(PAGE);
        let mut rows = fetch(None, want + 1)?;
        self.more = rows.len() > want as usize;
        rows.truncate(want as usize);
        self.rows = rows;
        self.selected = self.selected.min(self.rows.len().saturating_sub(1));
        Ok(())
    }

    /// Start again from the newest (a filter changed).
    pub fn clear(&mut self) {
        self.rows.clear();
        self.selected = 0;
    }

    pub fn current(&self) -> Option<&T> {
        self.rows.get(self.selected)
    }

    /// Move the selection; past the last row, fetch the page after it.
    pub fn step(
        &mut self,
        action: crate::tui::keys::Action,
        id: impl Fn(&T) -> i64,
        fetch: impl FnOnce(Option<i64>, u32) -> crate::desk::Result<Vec<T>>,
    ) -> crate::desk::Result<()> {
        use crate::tui::keys::Action;
        self.selected = step(self.selected, self.rows.len(), action, 20);
        let at_end = self.more && self.selected + 1 >= self.rows.len();
        if !at_end || !matches!(action, Action::Down | Action::PageDown | Action::Bottom) {
            return Ok(());
        }
        let mut rows = fetch(self.rows.last().map(id), PAGE + 1)?;
        self.more = rows.len() > PAGE as usize;
        rows.truncate(PAGE as usize);
        self.rows.extend(rows);
        Ok(())
    }
}
