//! `?`: the keys of the screen under it, the keys that move through its
//! list, and those that work everywhere; it scrolls when taller than the window.

use std::cell::Cell;

use ratatui::buffer::Buffer;
use ratatui::crossterm::event::KeyCode;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use super::{centered, frame};
use crate::tui::keys::{Action, Binding, GLOBAL, ch, named};
use crate::tui::strings;
use crate::tui::theme::Theme;
use crate::tui::view::{Ctx, Effect, Popup};

/// The help's keys; without the first, when it fits, scrolling is not offered
/// (the keys still work, and do nothing).
const KEYS: &[Binding] = &[
    named(KeyCode::Up, Some("↑/↓"), Action::Up, "scroll", true),
    named(KeyCode::Up, None, Action::Up, "", false),
    named(KeyCode::Down, None, Action::Down, "", false),
    ch('k', Action::Up, "", false),
    ch('j', Action::Down, "", false),
    named(KeyCode::PageUp, None, Action::PageUp, "", false),
    named(KeyCode::PageDown, None, Action::PageDown, "", false),
    named(KeyCode::Home, None, Action::Top, "", false),
    named(KeyCode::End, None, Action::Bottom, "", false),
    named(KeyCode::Esc, None, Action::Cancel, "close", true),
];

#[derive(Debug)]
pub struct Help {
    /// The keys of the screen under it.
    under: &'static [Binding],
    /// That screen has a list to move through.
    lists: bool,
    scroll: u16,
    /// How far it can scroll, as last drawn.
    max_scroll: Cell<u16>,
}

impl Help {
    pub fn new(under: &'static [Binding], lists: bool) -> Help {
        Help {
            under,
            lists,
            scroll: 0,
            max_scroll: Cell::new(0),
        }
    }

    /// The help's sections: the keys of the screen under the popup; on
    /// screens with a list, the keys that move through it; and those that
    /// work everywhere. Only keys that do something here are listed.
    fn sections(&self, theme: Theme) -> [Vec<Line<'static>>; 3] {
        let here = described(self.under);
        let moves = if self.lists {
            described(GLOBAL.iter().filter(|b| {
                matches!(
                    b.action,
                    Action::Up
                        | Action::Down
                        | Action::PageUp
                        | Action::PageDown
                        | Action::Top
                        | Action::Bottom
                )
            }))
        } else {
            Vec::new()
        };
        // A key this screen binds itself does that here, not its global job.
        let mut everywhere = described(GLOBAL.iter().filter(|b| {
            matches!(
                b.action,
                Action::GoTo(_) | Action::NextTab | Action::PrevTab | Action::Help | Action::Quit
            ) && self.under.iter().all(|u| u.code != b.code)
        }));
        everywhere.push(("Ctrl-C".to_owned(), "quit from anywhere"));
        [
            section(theme, "This screen", &here),
            if moves.is_empty() {
                Vec::new()
            } else {
                section(theme, "In the list", &moves)
            },
            section(theme, "Everywhere", &everywhere),
        ]
    }
}

impl Popup for Help {
    fn keys(&self) -> &'static [Binding] {
        if self.max_scroll.get() > 0 {
            KEYS
        } else {
            &KEYS[1..]
        }
    }

    fn typing(&self) -> bool {
        false
    }

    fn handle(&mut self, action: Action, _: &Ctx) -> Effect {
        let page = 10;
        let scroll = self.scroll;
        self.scroll = match action {
            Action::Up => scroll.saturating_sub(1),
            Action::Down => scroll + 1,
            Action::PageUp => scroll.saturating_sub(page),
            Action::PageDown => scroll + page,
            Action::Top => 0,
            Action::Bottom => self.max_scroll.get(),
            _ => scroll,
        }
        .min(self.max_scroll.get());
        if matches!(
            action,
            Action::Cancel | Action::Submit | Action::Back | Action::Quit | Action::Help
        ) {
            Effect::Back
        } else {
            Effect::None
        }
    }

    /// Over the body (the tab row and the status bar stay in sight): one
    /// column, or two side by side, or one that scrolls.
    fn render(&self, cx: &Ctx, area: Rect, buf: &mut Buffer) {
        let theme = cx.theme;
        let body = Rect {
            y: area.y + 1,
            height: area.height.saturating_sub(2),
            ..area
        };
        let [here, moves, everywhere] = self.sections(theme);
        let rows = |lines: &[Line<'_>]| u16::try_from(lines.len()).unwrap_or(u16::MAX);
        let widest = |lines: &[Line<'_>]| {
            u16::try_from(lines.iter().map(Line::width).max().unwrap_or(0)).unwrap_or(u16::MAX)
        };
        let all = stacked(&[here.clone(), moves.clone(), everywhere.clone()]);
        self.max_scroll.set(0);
        if rows(&all) + 2 <= body.height {
            let w = (widest(&all) + 2).min(body.width);
            let inner = frame(
                buf,
                centered(body, w, rows(&all) + 2),
                strings::HELP_TITLE,
                theme,
            );
            Paragraph::new(all).render(inner, buf);
            return;
        }
        // The screen's keys on the left, moving and the global keys on the right.
        let right = stacked(&[moves, everywhere]);
        let (lw, rw) = (widest(&here), widest(&right));
        let two_columns = lw + 2 + rw + 2;
        let h = rows(&here).max(rows(&right)) + 2;
        if h <= body.height && two_columns <= body.width {
            let inner = frame(
                buf,
                centered(body, two_columns, h),
                strings::HELP_TITLE,
                theme,
            );
            let [l, _, r] = Layout::horizontal([
                Constraint::Length(lw),
                Constraint::Length(2),
                Constraint::Fill(1),
            ])
            .areas(inner);
            Paragraph::new(here).render(l, buf);
            Paragraph::new(right).render(r, buf);
            return;
        }
        // Taller than the window: one column that scrolls, saying so.
        let w = (widest(&all) + 2).min(body.width);
        let inner = frame(
            buf,
            centered(body, w, body.height),
            &format!("{} (↑/↓ scroll)", strings::HELP_TITLE),
            theme,
        );
        let max = rows(&all).saturating_sub(inner.height);
        self.max_scroll.set(max);
        let scroll = self.scroll.min(max);
        Paragraph::new(all).scroll((scroll, 0)).render(inner, buf);
        // Where the text goes on past the frame, the frame says so.
        let mut mark = |y: u16, text: &str| {
            let x = inner
                .right()
                .saturating_sub(u16::try_from(text.chars().count()).unwrap_or(0) + 1);
            buf.set_string(x, y, text, theme.key());
        };
        if scroll > 0 {
            mark(inner.y.saturating_sub(1), " ↑ more ");
        }
        if scroll < max {
            mark(inner.bottom(), " ↓ more ");
        }
    }

    fn status_after(&self) -> bool {
        true
    }
}

fn section(theme: Theme, title: &'static str, entries: &[(String, &str)]) -> Vec<Line<'static>> {
    let mut lines = vec![Line::styled(title, theme.heading())];
    for (key, help) in entries {
        lines.push(Line::from(vec![
            Span::styled(format!("  {key:<10}"), theme.key()),
            Span::raw((*help).to_owned()),
        ]));
    }
    lines
}

/// What bindings say in help: the keys that have a description, two keys
/// that do the same (`F5` and `+`, `Enter` and `e`) on one line.
fn described<'a>(list: impl IntoIterator<Item = &'a Binding>) -> Vec<(String, &'static str)> {
    let mut entries: Vec<(String, &'static str)> = Vec::new();
    for b in list.into_iter().filter(|b| !b.help.is_empty()) {
        match entries.iter_mut().find(|(_, help)| *help == b.help) {
            Some((key, _)) => {
                key.push(' ');
                key.push_str(&b.key());
            }
            None => entries.push((b.key(), b.help)),
        }
    }
    entries
}

/// Sections one under another, a blank line between.
fn stacked(sections: &[Vec<Line<'static>>]) -> Vec<Line<'static>> {
    let mut lines: Vec<Line<'static>> = Vec::new();
    for section in sections.iter().filter(|s| !s.is_empty()) {
        if !lines.is_empty() {
            lines.push(Line::default());
        }
        lines.extend(section.iter().cloned());
    }
    lines
}
