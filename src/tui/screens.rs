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
