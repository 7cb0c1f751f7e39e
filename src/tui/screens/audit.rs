//! Audit: every event, newest first, filtered by user and kind, scrolling
//! back through any number by pages.

use ratatui::buffer::Buffer;
use ratatui::crossterm::event::KeyCode;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget, Wrap};

use crate::desk::Keyset;
use crate::desk::records::RecordQuery;
use crate::desk::views::AuditView;
use crate::desk::{Desk, Result};
use crate::domain::stamp;
use crate::tui::keys::{Action, Binding, ch, named};
use crate::tui::pages::{Pages, Source};
use crate::tui::strings;
use crate::tui::theme::Theme;
use crate::tui::view::{Ctx, Effect, Screen, View};
use crate::tui::widgets::{cut, draw_row, panel};

pub const KEYS: &[Binding] = &[
    ch('u', Action::FilterUser, "only this user / everyone", true),
    ch('f', Action::CycleKind, "kind of event", true),
    named(KeyCode::Enter, None, Action::Open, "open user", true),
];

/// The kinds to cycle through: all, then each family.
pub const KINDS: &[Option<&str>] = &[
    None,
    Some("login."),
    Some("factor."),
    Some("user."),
    Some("codes."),
    Some("device."),
    Some("policy."),
    Some("doctor."),
];

#[derive(Debug, Default)]
pub struct AuditScreen {
    pages: Pages<AuditView>,
    user: Option<String>,
    kind: usize,
}

/// The audit trail (filtered) as a list to page through.
struct Trail<'a> {
    desk: &'a Desk,
    query: RecordQuery,
}

impl Source for Trail<'_> {
    type Row = AuditView;
    type Key = i64;

    fn key(row: &AuditView) -> i64 {
        row.id
    }

    fn fetch(&self, at: Keyset<i64>, limit: u32) -> Result<Vec<AuditView>> {
        self.desk.audit_page(
            &RecordQuery {
                limit,
                ..self.query.clone()
            },
            at,
        )
    }
}

impl AuditScreen {
    fn source<'a>(&self, desk: &'a Desk) -> Trail<'a> {
        Trail {
            desk,
            query: RecordQuery {
                user: self.user.clone(),
                kind: KINDS.get(self.kind).copied().flatten().map(str::to_owned),
                ..RecordQuery::default()
            },
        }
    }
}

impl View for AuditScreen {
    fn keys(&self) -> &'static [Binding] {
        KEYS
    }

    fn reload(&mut self, cx: &Ctx) -> Result<Effect> {
        let src = self.source(cx.desk);
        self.pages.reload(&src)?;
        Ok(Effect::None)
    }

    fn handle(&mut self, action: Action, cx: &Ctx) -> Effect {
        match action {
            Action::FilterUser => {
                self.user = match &self.user {
                    Some(_) => None,
                    None => self.pages.current().and_then(|r| r.user.clone()),
                };
                self.pages.clear();
                Effect::Refresh
            }
            Action::CycleKind => {
                self.kind = (self.kind + 1) % KINDS.len();
                self.pages.clear();
                Effect::Refresh
            }
            Action::Open => match self.pages.current().and_then(|r| r.user.clone()) {
                Some(email) => Effect::Open(Screen::User(email)),
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
}

/// The width of the AT column: a date with its year, and the time.
const AT_W: usize = 17;

fn render(s: &AuditScreen, theme: Theme, area: Rect, buf: &mut Buffer) {
    let [list, detail] = Layout::vertical([Constraint::Fill(1), Constraint::Length(5)]).areas(area);
    let kind = KINDS
        .get(s.kind)
        .copied()
        .flatten()
        .map_or("all kinds".to_owned(), |k| format!("{k}*"));
    let who = s.user.clone().unwrap_or_else(|| "everyone".to_owned());
    // The rows under the border and the column header.
    let shown = usize::from(list.height.saturating_sub(3));
    let block = panel(
        &format!("Audit: {who}, {kind} · {}", s.pages.position(shown)),
        theme,
        true,
    );
    let inner = block.inner(list);
    block.render(list, buf);
    if s.pages.rows.is_empty() {
        Paragraph::new(Span::styled(strings::NO_EVENTS, theme.dim())).render(inner, buf);
    } else {
        let [head, body] =
            Layout::vertical([Constraint::Length(1), Constraint::Fill(1)]).areas(inner);
        let w = usize::from(inner.width);
        let user_w = 22.min(w / 4);
        let detail_w = w.saturating_sub(AT_W + 8 + user_w + 17 + 1);
        buf.set_line(
            head.x,
            head.y,
            &Line::styled(
                format!(
                    " {:<AT_W$}{:<8}{:<user_w$}{:<17}{}",
                    "AT", "ACTOR", "USER", "KIND", "DETAIL"
                ),
                theme.dim(),
            ),
            head.width,
        );
        for (row, i) in s.pages.visible(usize::from(body.height)).enumerate() {
            let e = &s.pages.rows[i];
            let kind_style = if e.kind.contains("denied")
                || e.kind.contains("reset")
                || e.kind.contains("disable")
            {
                theme.warn()
            } else {
                theme.text()
            };
            let line = Line::from(vec![
                Span::styled(
                    format!(" {:<AT_W$}", e.at.format("%Y-%m-%d %H:%M")),
                    theme.dim(),
                ),
                Span::raw(format!("{:<8}", cut(&e.actor, 7))),
                Span::raw(format!(
                    "{:<user_w$}",
                    cut(e.user.as_deref().unwrap_or("-"), user_w - 1)
                )),
                Span::styled(format!("{:<17}", cut(&e.kind, 16)), kind_style),
                Span::raw(cut(&e.detail, detail_w)),
            ]);
            draw_row(buf, body, row, &line, i == s.pages.selected, theme);
        }
    }
    let block = panel("Event", theme, false);
    let inner = block.inner(detail);
    block.render(detail, buf);
    if let Some(e) = s.pages.rows.get(s.pages.selected) {
        let lines = vec![
            Line::styled(
                format!(
                    "#{} {} by {}{}{}",
                    e.id,
                    stamp(e.at),
                    e.actor,
                    e.user
                        .as_deref()
                        .map(|u| format!(" for {u}"))
                        .unwrap_or_default(),
                    e.ip.as_deref()
                        .map(|ip| format!(" from {ip}"))
                        .unwrap_or_default()
                ),
                theme.dim(),
            ),
            Line::from(format!("{}: {}", e.kind, e.detail)),
        ];
        Paragraph::new(lines)
            .wrap(Wrap { trim: true })
            .render(inner, buf);
    }
}
