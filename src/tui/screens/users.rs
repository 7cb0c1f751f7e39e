//! Users: a table over any number of users with `/` search as you type (the
//! trigram index), filters, and keyset paging; Enter opens a user.

use ratatui::buffer::Buffer;
use ratatui::crossterm::event::KeyCode;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use crate::desk::users::ListQuery;
use crate::desk::views::UserSummary;
use crate::desk::{Desk, Result};
use crate::domain::{UserStatus, short};
use crate::store::users::Filter;
use crate::tui::input::Input;
use crate::tui::keys::{Action, Binding, ch, named};
use crate::tui::theme::Theme;
use crate::tui::widgets::{cut, draw_row, panel, window};
use crate::tui::{App, strings};

pub const KEYS: &[Binding] = &[
    ch('/', Action::Search, "search", true),
    ch('f', Action::CycleFilter, "filter", true),
    named(KeyCode::Enter, None, Action::Open, "open user", true),
    named(
        KeyCode::PageDown,
        Some("PgDn/PgUp"),
        Action::PageDown,
        "next/previous page",
        true,
    ),
    named(KeyCode::PageUp, None, Action::PageUp, "", false),
];

/// Rows per page: the table keeps one page and pages by email.
pub const PAGE: u32 = 100;

const FILTERS: [Option<Filter>; 6] = [
    None,
    Some(Filter::Locked),
    Some(Filter::NoFactor),
    Some(Filter::InGrace),
    Some(Filter::LowCodes),
    Some(Filter::Disabled),
];

pub fn filter_name(f: Option<Filter>) -> &'static str {
    match f {
        None => "all",
        Some(Filter::Locked) => "locked",
        Some(Filter::NoFactor) => "no 2FA",
        Some(Filter::InGrace) => "in grace",
        Some(Filter::LowCodes) => "low codes",
        Some(Filter::Disabled) => "disabled",
    }
}

#[derive(Debug, Default)]
pub struct UsersScreen {
    pub rows: Vec<UserSummary>,
    pub selected: usize,
    pub search: Input,
    pub searching: bool,
    pub filter: Option<Filter>,
    /// Where each page so far began (`None`: the start).
    pub pages: Vec<Option<String>>,
    /// Another page follows this one.
    pub more: bool,
}

impl UsersScreen {
    pub fn typing(&self) -> bool {
        self.searching
    }

    pub fn reload(&mut self, desk: &Desk) -> Result<()> {
        if self.pages.is_empty() {
            self.pages.push(None);
        }
        let mut rows = desk.list_users(&ListQuery {
            search: Some(self.search.text().to_owned()).filter(|s| !s.trim().is_empty()),
            filter: self.filter,
            after: self.pages.last().cloned().flatten(),
            limit: PAGE + 1,
        })?;
        self.more = rows.len() > PAGE as usize;
        rows.truncate(PAGE as usize);
        self.rows = rows;
        self.selected = self.selected.min(self.rows.len().saturating_sub(1));
        Ok(())
    }

    fn restart(&mut self) {
        self.pages = vec![None];
        self.selected = 0;
    }
}

impl App {
    pub(crate) fn users_action(&mut self, action: Action) {
        let s = &mut self.users;
        if s.searching {
            match action {
                Action::Type(c) => s.search.insert(c),
                Action::Erase => s.search.backspace(),
                Action::EraseForward => s.search.delete(),
                Action::CursorLeft => s.search.left(),
                Action::CursorRight => s.search.right(),
                Action::CursorHome => s.search.home(),
                Action::CursorEnd => s.search.end(),
                Action::Submit | Action::Down => {
                    s.searching = false;
                    return;
                }
                Action::Cancel => {
                    s.searching = false;
                    s.search.clear();
                }
                _ => return,
            }
            s.restart();
            self.refresh();
            return;
        }
        match action {
            // `/` starts a new search, as in less and vim.
            Action::Search => {
                s.searching = true;
                if !s.search.is_empty() {
                    s.search.clear();
                    s.restart();
                    self.refresh();
                }
            }
            Action::Back if !s.search.is_empty() || s.filter.is_some() => {
                s.search.clear();
                s.filter = None;
                s.restart();
                self.refresh();
            }
            Action::CycleFilter => {
                let i = FILTERS.iter().position(|f| *f == s.filter).unwrap_or(0);
                s.filter = FILTERS[(i + 1) % FILTERS.len()];
                s.restart();
                self.refresh();
            }
            Action::Open => {
                if let Some(email) = s.rows.get(s.selected).map(|u| u.email.clone()) {
                    self.open_user(&email);
                }
            }
            Action::PageDown if s.more => {
                let last = s.rows.last().map(|u| u.email.clone());
                s.pages.push(last);
                s.selected = 0;
                self.refresh();
            }
            Action::Down if s.more && s.selected + 1 == s.rows.len() => {
                self.users_action(Action::PageDown);
            }
            Action::PageUp if s.pages.len() > 1 => {
                s.pages.pop();
                s.selected = PAGE as usize - 1;
                self.refresh();
            }
            Action::Up if s.selected == 0 && s.pages.len() > 1 => {
                self.users_action(Action::PageUp);
            }
            _ => s.selected = super::step(s.selected, s.rows.len(), action, 20),
        }
    }
}

pub fn render(s: &UsersScreen, theme: Theme, area: Rect, buf: &mut Buffer) {
    let [bar, table] = Layout::vertical([Constraint::Length(1), Constraint::Fill(1)]).areas(area);
    let mut spans = vec![Span::styled(" Search ", theme.dim())];
    if s.searching {
        spans.extend(s.search.line(false, true).spans);
    } else if s.search.is_empty() {
        spans.push(Span::styled("(press /)", theme.dim()));
    } else {
        spans.push(Span::styled(s.search.text().to_owned(), theme.heading()));
    }
    spans.push(Span::styled("   Filter ", theme.dim()));
    spans.push(Span::styled(
        filter_name(s.filter),
        if s.filter.is_some() {
            theme.warn()
        } else {
            theme.text()
        },
    ));
    let first = (s.pages.len().saturating_sub(1)) * PAGE as usize;
    let position = if s.rows.is_empty() {
        "   no rows".to_owned()
    } else {
        format!(
            "   rows {}–{}{}",
            first + 1,
            first + s.rows.len(),
            if s.more { "+" } else { "" }
        )
    };
    spans.push(Span::styled(position, theme.dim()));
    Paragraph::new(Line::from(spans)).render(bar, buf);

    let block = panel("Users", theme, true);
    let inner = block.inner(table);
    block.render(table, buf);
    if s.rows.is_empty() {
        Paragraph::new(Span::styled(strings::NO_USERS, theme.dim())).render(inner, buf);
        return;
    }
    let cols = Columns::for_width(usize::from(inner.width));
    let [head, body] = Layout::vertical([Constraint::Length(1), Constraint::Fill(1)]).areas(inner);
    buf.set_line(head.x, head.y, &cols.header(theme), head.width);
    for (row, i) in window(s.rows.len(), s.selected, usize::from(body.height)).enumerate() {
        draw_row(
            buf,
            body,
            row,
            &cols.row(&s.rows[i], theme),
            i == s.selected,
            theme,
        );
    }
}

/// Column widths for the space there is; the name goes first when narrow.
struct Columns {
    email: usize,
    name: usize,
    login: usize,
}

impl Columns {
    fn for_width(w: usize) -> Self {
        // role 6, status 8, factors 14, codes 5, devices 3, plus gaps.
        let fixed = 1 + 7 + 9 + 15 + 6 + 4;
        let login = if w >= 96 { 17 } else { 12 };
        let rest = w.saturating_sub(fixed + login);
        let name = if w >= 96 { rest * 2 / 5 } else { 0 };
        Columns {
            email: rest - name,
            name,
            login,
        }
    }

    fn header(&self, theme: Theme) -> Line<'static> {
        let name = if self.name > 0 { "NAME" } else { "" };
        let text = format!(
            " {:<e$}{name:<n$}{:<7}{:<9}{:<15}{:<6}{:<4}{}",
            "EMAIL",
            "ROLE",
            "STATUS",
            "FACTORS",
            "CODES",
            "DEV",
            "LAST LOGIN",
            e = self.email,
            n = self.name
        );
        Line::styled(text, theme.dim())
    }

    fn row(&self, u: &UserSummary, theme: Theme) -> Line<'static> {
        let (status, style) = if u.locked_until.is_some() {
            ("locked", theme.bad())
        } else if u.status == UserStatus::Disabled {
            ("disabled", theme.dim())
        } else {
            ("active", theme.text())
        };
        let kinds = if u.factor_kinds.is_empty() {
            "none".to_owned()
        } else {
            u.factor_kinds
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(",")
        };
        let codes = if u.codes_total == 0 {
            "-".to_owned()
        } else {
            format!("{}/{}", u.codes_left, u.codes_total)
        };
        let codes_style = if u.codes_total > 0 && u.codes_left <= 3 {
            theme.warn()
        } else {
            theme.text()
        };
        let login = u.last_login_at.map_or_else(
            || "never".to_owned(),
            |t| {
                if self.login > 12 {
                    short(t)
                } else {
                    t.format("%m-%d %H:%M").to_string()
                }
            },
        );
        let mut spans = vec![Span::raw(format!(
            " {:<e$}",
            cut(&u.email, self.email.saturating_sub(1)),
            e = self.email
        ))];
        if self.name > 0 {
            spans.push(Span::raw(format!(
                "{:<n$}",
                cut(&u.name, self.name.saturating_sub(1)),
                n = self.name
            )));
        }
        spans.extend([
            Span::raw(format!("{:<7}", u.role.as_str())),
            Span::styled(format!("{status:<9}"), style),
            Span::styled(
                format!("{:<15}", cut(&kinds, 14)),
                if u.factor_kinds.is_empty() {
                    theme.warn()
                } else {
                    theme.text()
                },
            ),
            Span::styled(format!("{codes:<6}"), codes_style),
            Span::raw(format!("{:<4}", u.devices)),
            Span::raw(login),
        ]);
        Line::from(spans)
    }
}
