//! Users: a table over any number of users with `/` search as you type (the
//! trigram index), filters, and keyset paging; Enter opens a user.

use ratatui::buffer::Buffer;
use ratatui::crossterm::event::KeyCode;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use crate::desk::users::ListQuery;
use crate::desk::views::UserSummary;
use crate::desk::{Desk, Keyset, Result};
use crate::domain::backup::{self, Stock};
use crate::domain::{UserStatus, short};
use crate::store::user_list::Filter;
use crate::tui::input::Input;
use crate::tui::keys::{Action, Binding, ch, named};
use crate::tui::pages::{Pages, Source};
use crate::tui::strings;
use crate::tui::theme::Theme;
use crate::tui::view::{Ctx, Effect, Screen, View};
use crate::tui::widgets::{cut, draw_row, panel};

pub const KEYS: &[Binding] = &[
    ch('/', Action::Search, "search", true),
    ch('f', Action::CycleFilter, "filter", true),
    named(KeyCode::Enter, None, Action::Open, "open user", true),
    named(
        KeyCode::PageDown,
        Some("PgDn/PgUp"),
        Action::PageDown,
        "a screen down/up",
        true,
    ),
    named(KeyCode::PageUp, None, Action::PageUp, "", false),
    named(
        KeyCode::Esc,
        None,
        Action::Back,
        "clear the search and the filter",
        false,
    ),
];

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
    pub pages: Pages<UserSummary>,
    pub search: Input,
    pub searching: bool,
    pub filter: Option<Filter>,
    /// The search changed and the list is not read for it yet: it is read
    /// once typing pauses, so a fast typist costs one query.
    pub stale: bool,
    /// The policy's low-stock level for backup codes (`backup_low`).
    backup_low: u32,
}

/// The users a search and filter match, by email, as a list to page through.
struct Matching<'a> {
    desk: &'a Desk,
    query: ListQuery,
}

impl Source for Matching<'_> {
    type Row = UserSummary;
    type Key = String;

    fn key(row: &UserSummary) -> String {
        row.email.clone()
    }

    fn fetch(&self, at: Keyset<String>, limit: u32) -> Result<Vec<UserSummary>> {
        self.desk.users_page(
            &ListQuery {
                limit,
                ..self.query.clone()
            },
            at.as_ref().map(String::as_str),
        )
    }
}

impl UsersScreen {
    fn source<'a>(&self, desk: &'a Desk) -> Matching<'a> {
        Matching {
            desk,
            query: ListQuery {
                search: Some(self.search.text().to_owned()).filter(|s| !s.trim().is_empty()),
                filter: self.filter,
                after: None,
                limit: 0,
            },
        }
    }

    fn restart(&mut self) {
        self.stale = false;
        self.pages.clear();
    }

    /// Keys while the search has the focus: the list is read once typing
    /// pauses (see [`View::settle`]).
    fn search_key(&mut self, action: Action) {
        if self.search.edit(action) {
            self.stale = true;
            return;
        }
        match action {
            Action::Submit | Action::Down => self.searching = false,
            Action::Cancel => {
                self.searching = false;
                self.search.clear();
                self.stale = true;
            }
            _ => {}
        }
    }
}

impl View for UsersScreen {
    fn keys(&self) -> &'static [Binding] {
        KEYS
    }

    fn typing(&self) -> bool {
        self.searching
    }

    fn reload(&mut self, cx: &Ctx) -> Result<Effect> {
        self.backup_low = cx.desk.policy()?.backup_low;
        let src = self.source(cx.desk);
        self.pages.reload(&src)?;
        Ok(Effect::None)
    }

    fn handle(&mut self, action: Action, cx: &Ctx) -> Effect {
        if self.searching {
            self.search_key(action);
            return Effect::None;
        }
        match action {
            // `/` starts a new search, as in less and vim.
            Action::Search => {
                self.searching = true;
                if self.search.is_empty() {
                    return Effect::None;
                }
                self.search.clear();
                self.restart();
                Effect::Refresh
            }
            Action::Back if !self.search.is_empty() || self.filter.is_some() => {
                self.search.clear();
                self.filter = None;
                self.restart();
                Effect::Refresh
            }
            Action::CycleFilter => {
                let i = FILTERS.iter().position(|f| *f == self.filter).unwrap_or(0);
                self.filter = FILTERS[(i + 1) % FILTERS.len()];
                self.restart();
                Effect::Refresh
            }
            Action::Open => match self.pages.current() {
                Some(u) => Effect::Open(Screen::User(u.email.clone())),
                None => Effect::None,
            },
            _ => {
                let src = self.source(cx.desk);
                match self.pages.step(action, &src) {
                    Ok(()) => Effect::None,
                    Err(e) => Effect::fail(&e),
                }
            }
        }
    }

    fn render(&self, cx: &Ctx, area: Rect, buf: &mut Buffer) {
        render(self, cx.theme, area, buf);
    }

    /// The search changed, or the screen has room for more rows than read.
    fn unsettled(&self) -> bool {
        self.stale || self.pages.short()
    }

    /// Read the list for the search typed so far, or the rest of a
    /// screenful taller than what was read.
    fn settle(&mut self, cx: &Ctx) -> Result<()> {
        if self.stale {
            self.restart();
        }
        let src = self.source(cx.desk);
        self.pages.reload(&src)
    }
}

fn render(s: &UsersScreen, theme: Theme, area: Rect, buf: &mut Buffer) {
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
    // The table's rows: under the bar, the border and the column header.
    let shown = usize::from(table.height.saturating_sub(3));
    spans.push(Span::styled(
        format!("   {}", s.pages.position(shown)),
        theme.dim(),
    ));
    Paragraph::new(Line::from(spans)).render(bar, buf);

    let block = panel("Users", theme, true);
    let inner = block.inner(table);
    block.render(table, buf);
    if s.pages.is_empty() {
        let why = match (s.search.is_empty(), s.filter.is_some()) {
            (false, false) => strings::NO_USERS_SEARCH,
            (true, true) => strings::NO_USERS_FILTER,
            (false, true) => strings::NO_USERS_BOTH,
            (true, false) => strings::NO_USERS,
        };
        Paragraph::new(Span::styled(why, theme.dim())).render(inner, buf);
        return;
    }
    let cols = Columns::for_width(usize::from(inner.width));
    let [head, body] = Layout::vertical([Constraint::Length(1), Constraint::Fill(1)]).areas(inner);
    buf.set_line(head.x, head.y, &cols.header(theme), head.width);
    for (row, i) in s.pages.visible(usize::from(body.height)).enumerate() {
        draw_row(
            buf,
            body,
            row,
            &cols.row(&s.pages.rows[i], s.backup_low, theme),
            i == s.pages.selected,
            theme,
        );
    }
}

/// Column widths for the space there is. Narrow, the last login loses its
/// time of day and the factor kinds are cut ("totp,sms…"), and the email
/// keeps most of what is left: it is what finds the user; a name still shows.
struct Columns {
    email: usize,
    name: usize,
    factors: usize,
    login: usize,
}

impl Columns {
    fn for_width(w: usize) -> Self {
        let (login, factors) = if w >= 96 { (17, 15) } else { (6, 10) };
        // role 6, status 8, codes 5, devices 3, plus gaps.
        let fixed = 1 + 7 + 9 + factors + 6 + 4;
        let rest = w.saturating_sub(fixed + login);
        // Wide, neither column grows past what an email or a name needs.
        let name = if w >= 96 {
            (rest * 2 / 5).min(32)
        } else {
            (rest / 3).max(10)
        };
        Columns {
            email: rest.saturating_sub(name).min(44),
            name,
            factors,
            login,
        }
    }

    fn header(&self, theme: Theme) -> Line<'static> {
        let name = if self.name > 0 { "NAME" } else { "" };
        let text = format!(
            " {:<e$}{name:<n$}{:<7}{:<9}{:<f$}{:<6}{:<4}{}",
            "EMAIL",
            "ROLE",
            "STATUS",
            "FACTORS",
            "CODES",
            "DEV",
            if self.login > 12 {
                "LAST LOGIN"
            } else {
                "LOGIN"
            },
            e = self.email,
            n = self.name,
            f = self.factors
        );
        Line::styled(text, theme.dim())
    }

    /// A user's row; codes used up or at `backup_low` or fewer stand out.
    fn row(&self, u: &UserSummary, backup_low: u32, theme: Theme) -> Line<'static> {
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
            "none".to_owned()
        } else {
            format!("{}/{}", u.codes_left, u.codes_total)
        };
        let codes_style = match backup::stock(u.codes_left, u.codes_total, backup_low) {
            Stock::Exhausted | Stock::Low(_) => theme.warn(),
            Stock::None | Stock::Healthy(_) => theme.text(),
        };
        let login = u.last_login_at.map_or_else(
            || "never".to_owned(),
            |t| {
                if self.login > 12 {
                    short(t)
                } else {
                    t.format("%m-%d").to_string()
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
                format!("{:<f$}", cut(&kinds, self.factors - 1), f = self.factors),
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
