//! Audit: every event, newest first, filtered by user and kind, scrolling
//! back through any number by pages.

use ratatui::buffer::Buffer;
use ratatui::crossterm::event::KeyCode;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget, Wrap};

use crate::desk::records::RecordQuery;
use crate::desk::views::AuditView;
use crate::desk::{Desk, Result};
use crate::domain::stamp;
use crate::tui::keys::{Action, Binding, ch, named};
use crate::tui::theme::Theme;
use crate::tui::widgets::{cut, draw_row, panel, window};
use crate::tui::{App, strings};

use super::Pages;

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
    pub pages: Pages<AuditView>,
    pub user: Option<String>,
    pub kind: usize,
}

impl AuditScreen {
    fn query(&self, before: Option<i64>, limit: u32) -> RecordQuery {
        RecordQuery {
            user: self.user.clone(),
            kind: KINDS.get(self.kind).copied().flatten().map(str::to_owned),
            before,
            limit,
        }
    }

    pub fn reload(&mut self, desk: &Desk) -> Result<()> {
        let q = self.query(None, 0);
        self.pages
            .reload(|before, limit| desk.audit(&RecordQuery { before, limit, ..q }))
    }
}

impl App {
    pub(crate) fn audit_action(&mut self, action: Action) {
        let s = &mut self.audit;
        match action {
            Action::FilterUser => {
                s.user = match &s.user {
                    Some(_) => None,
                    None => s.pages.current().and_then(|r| r.user.clone()),
                };
                s.pages.clear();
                self.refresh();
            }
            Action::CycleKind => {
                s.kind = (s.kind + 1) % KINDS.len();
                s.pages.clear();
                self.refresh();
            }
            Action::Open => {
                if let Some(email) = s.pages.current().and_then(|r| r.user.clone()) {
                    self.open_user(&email);
                }
            }
            _ => {
                let q = s.query(None, 0);
                let desk = &self.desk;
                let fetched = s.pages.step(
                    action,
                    |r| r.id,
                    |before, limit| desk.audit(&RecordQuery { before, limit, ..q }),
                );
                if let Err(e) = fetched {
                    self.fail(&e);
                }
            }
        }
    }
}

pub fn render(s: &AuditScreen, theme: Theme, area: Rect, buf: &mut Buffer) {
    let [list, detail] = Layout::vertical([Constraint::Fill(1), Constraint::Length(5)]).areas(area);
    let kind = KINDS
        .get(s.kind)
        .copied()
        .flatten()
        .map_or("all kinds".to_owned(), |k| format!("{k}*"));
    let who = s.user.clone().unwrap_or_else(|| "everyone".to_owned());
    let block = panel(
        &format!(
            "Audit: {who}, {kind} ({}{})",
            s.pages.rows.len(),
            if s.pages.more { "+" } else { "" }
        ),
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
        let detail_w = w.saturating_sub(12 + 8 + user_w + 17 + 1);
        buf.set_line(
            head.x,
            head.y,
            &Line::styled(
                format!(
                    " {:<12}{:<8}{:<user_w$}{:<17}{}",
                    "AT", "ACTOR", "USER", "KIND", "DETAIL"
                ),
                theme.dim(),
            ),
            head.width,
        );
        for (row, i) in window(
            s.pages.rows.len(),
            s.pages.selected,
            usize::from(body.height),
        )
        .enumerate()
        {
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
                Span::styled(format!(" {:<12}", e.at.format("%m-%d %H:%M")), theme.dim()),
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
