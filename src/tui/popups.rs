//! Popups, one file each (help, confirm-with-reason, forms, the QR enrolment,
//! new backup codes, the user picker, a temporary access code); here, how they are framed and placed.

pub mod codes;
pub mod confirm;
pub mod form;
pub mod help;
pub mod pick_user;
pub mod qr;
pub mod temp_code;

use ratatui::buffer::Buffer;
use ratatui::crossterm::event::KeyCode;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Clear, Paragraph, Widget, Wrap};

use super::keys::{Action, Binding, named};
use super::theme::Theme;
use super::widgets::{panel, wrapped_rows};

/// The keys of a popup that has nothing but its field, Enter and Esc.
const CLOSE_KEYS: &[Binding] = &[named(KeyCode::Esc, None, Action::Cancel, "close", true)];

/// A centred area `w`×`h`, clamped to `area`.
fn centered(area: Rect, w: u16, h: u16) -> Rect {
    area.centered(
        Constraint::Length(w.min(area.width)),
        Constraint::Length(h.min(area.height)),
    )
}

/// Clear `area`, draw a focused panel titled `title` on it, and return its inside.
fn frame(buf: &mut Buffer, area: Rect, title: &str, theme: Theme) -> Rect {
    Clear.render(area, buf);
    let block = panel(title, theme, true);
    let inner = block.inner(area);
    block.render(area, buf);
    inner
}

/// Rows `lines` take word-wrapped in `width` columns, as the popups draw them.
fn text_height(lines: &[Line<'_>], width: u16) -> u16 {
    wrapped_rows(lines, width.max(1), false)
}

/// Between the tab row and the status bar, so both stay in sight, where
/// the popup fits there; else over the whole screen rather than cut.
fn popup_region(area: Rect, h: u16) -> Rect {
    let body = Rect {
        y: area.y + 1,
        height: area.height.saturating_sub(2),
        ..area
    };
    if h <= body.height { body } else { area }
}

/// A popup of wrapped lines, up to 72 columns wide, as tall as they are.
fn field_popup(body: Vec<Line<'static>>, title: &str, theme: Theme, area: Rect, buf: &mut Buffer) {
    let w = 72.min(area.width.saturating_sub(4));
    let h = (text_height(&body, w - 2) + 2).min(area.height);
    let inner = frame(buf, centered(popup_region(area, h), w, h), title, theme);
    Paragraph::new(body)
        .wrap(Wrap { trim: false })
        .render(inner, buf);
}
