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

const PAGE: u32 = 200;

#[derive(Debug, Default)]
pub struct AuditScreen {
    pub rows: Vec<AuditView>,
    pub selected: usize,
    pub user: Option<String>,
    pub kind: usize,
    pub more: bool,
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
        let want = u32::try_from(self.rows.len()).unwrap_or(PAGE).max(PAGE);
        let mut rows = desk.audit(&self.query(None, want + 1))?;
        self.more = rows.len() > want as usize;
        rows.truncate(want as usize);
        self.rows = rows;
        self.selected = self.selected.min(self.rows.len().saturating_sub(1));
        Ok(())
    }

    fn more(&mut self, desk: &Desk) -> Result<()> {
        let before = self.rows.last().map(|r| r.id);
        let mut rows = desk.audit(&self.query(before, PAGE + 1))?;
        self.more = rows.len() > PAGE as usize;
        rows.truncate(PAGE as usize);
        self.rows.extend(rows);
        Ok(())
    }
}

impl App {
    pub(crate) fn audit_action(&mut self, action: Action) {
        let s = &mut self.audit;
        match action {
            Action::FilterUser => {
                s.user = match &s.user {
                    Some(_) => None,
                    None => s.rows.get(s.selected).and_then(|r| r.user.clone()),
                };
                s.rows.clear();
                s.selected = 0;
                self.refresh();
            }
            Action::CycleKind => {
                s.kind = (s.kind + 1) % KINDS.len();
                s.rows.clear();
                s.selected = 0;
                self.refresh();
            }
            Action::Open => {
                if let Some(email) = s.rows.get(s.selected).and_then(|r| r.user.clone()) {
                    self.open_user(&email);
                }
            }
            _ => {
                s.selected = super::step(s.selected, s.rows.len(), action, 20);
                let at_end = s.more && s.selected + 1 >= s.rows.len();
                if at_end
                    && matches!(action, Action::Down | Action::PageDown | Action::Bottom)
                    && let Err(e) = s.more(&self.desk)
                {
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
            s.rows.len(),
            if s.more { "+" } else { "" }
        ),
        theme,
        true,
    );
    let inner = block.inner(list);
    block.render(list, buf);
    if s.rows.is_empty() {
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
        for (row, i) in window(s.rows.len(), s.selected, usize::from(body.height)).enumerate() {
            let e = &s.rows[i];
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
            draw_row(buf, body, row, &line, i == s.selected, theme);
        }
    }
    let block = panel("Event", theme, false);
    let inner = block.inner(detail);
    block.render(detail, buf);
    if let Some(e) = s.rows.get(s.selected) {
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
