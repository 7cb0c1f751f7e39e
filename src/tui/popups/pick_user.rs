//! Pick the user to simulate: search as you type, ↑/↓, Enter.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use super::{CLOSE_KEYS, centered, frame};
use crate::desk::Desk;
use crate::desk::users::ListQuery;
use crate::desk::views::UserSummary;
use crate::tui::input::Input;
use crate::tui::keys::{Action, Binding};
use crate::tui::theme::Theme;
use crate::tui::view::{Ctx, Effect, News, Popup};
use crate::tui::widgets::{cut, draw_row, window};

#[derive(Debug)]
pub struct PickUser {
    query: Input,
    results: Vec<UserSummary>,
    selected: usize,
}

impl PickUser {
    /// The first users, before anything is typed.
    pub fn new(desk: &Desk) -> PickUser {
        PickUser {
            query: Input::default(),
            results: matching(desk, None),
            selected: 0,
        }
    }
}

/// Up to 50 users the search matches.
fn matching(desk: &Desk, search: Option<&str>) -> Vec<UserSummary> {
    let q = ListQuery {
        search: search.map(str::to_owned),
        limit: 50,
        ..ListQuery::default()
    };
    desk.list_users(&q).unwrap_or_default()
}

impl Popup for PickUser {
    fn keys(&self) -> &'static [Binding] {
        CLOSE_KEYS
    }

    fn handle(&mut self, action: Action, cx: &Ctx) -> Effect {
        if self.query.edit(action) {
            self.results = matching(cx.desk, Some(self.query.text()));
            self.selected = 0;
            return Effect::None;
        }
        match action {
            Action::Up => self.selected = self.selected.saturating_sub(1),
            Action::Down => {
                self.selected = (self.selected + 1).min(self.results.len().saturating_sub(1));
            }
            Action::Submit => {
                return match self.results.get(self.selected) {
                    Some(u) => Effect::Tell(News::Simulate(u.email.clone())),
                    None => Effect::Back,
                };
            }
            Action::Cancel => return Effect::Back,
            _ => {}
        }
        Effect::None
    }

    fn render(&self, cx: &Ctx, area: Rect, buf: &mut Buffer) {
        render_pick(self, cx.theme, area, buf);
    }
}

fn render_pick(p: &PickUser, theme: Theme, area: Rect, buf: &mut Buffer) {
    let (query, results, selected) = (&p.query, &p.results, p.selected);
    let rect = centered(area, 60, 16);
    let inner = frame(buf, rect, "Pick a user", theme);
    let [q, list] = Layout::vertical([Constraint::Length(2), Constraint::Fill(1)]).areas(inner);
    let mut line = vec![Span::styled("Search: ", theme.dim())];
    line.extend(query.line(false, true).spans);
    line.push(Span::styled("   ↑/↓ choose · Enter pick", theme.dim()));
    Paragraph::new(Line::from(line)).render(q, buf);
    let shown = window(results.len(), selected, usize::from(list.height));
    // The names in one column, after the longest email shown.
    let email_w = shown
        .clone()
        .map(|i| results[i].email.chars().count())
        .max()
        .unwrap_or(0)
        .min(34);
    for (row, i) in shown.enumerate() {
        let u = &results[i];
        let text = format!(" {:<email_w$} {}", cut(&u.email, 34), cut(&u.name, 20));
        draw_row(buf, list, row, &Line::from(text), i == selected, theme);
    }
}
