//! Outbox: every simulated SMS and email, newest first, with status, failure
//! reason and user; filter to one user; pages back through any number.

use ratatui::buffer::Buffer;
use ratatui::crossterm::event::KeyCode;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget, Wrap};

use crate::desk::records::RecordQuery;
use crate::desk::views::DeliveryView;
use crate::desk::{Desk, Result};
use crate::domain::{Time, relative, stamp};
use crate::store::deliveries::Status;
use crate::tui::keys::{Action, Binding, ch, named};
use crate::tui::theme::Theme;
use crate::tui::widgets::{cut, draw_row, panel, window, wrapped_rows};
use crate::tui::{App, strings};

pub const KEYS: &[Binding] = &[
    ch('u', Action::FilterUser, "only this user / everyone", true),
    named(KeyCode::Enter, None, Action::Open, "open user", true),
];

const PAGE: u32 = 200;

#[derive(Debug, Default)]
pub struct OutboxScreen {
    pub rows: Vec<DeliveryView>,
    pub selected: usize,
    pub user: Option<String>,
    pub more: bool,
}

impl OutboxScreen {
    pub fn reload(&mut self, desk: &Desk) -> Result<()> {
        let want = u32::try_from(self.rows.len()).unwrap_or(PAGE).max(PAGE);
        let mut rows = desk.outbox(&RecordQuery {
            user: self.user.clone(),
            kind: None,
            before: None,
            limit: want + 1,
        })?;
        self.more = rows.len() > want as usize;
        rows.truncate(want as usize);
        self.rows = rows;
        self.selected = self.selected.min(self.rows.len().saturating_sub(1));
        Ok(())
    }

    /// The next page, added below.
    fn more(&mut self, desk: &Desk) -> Result<()> {
        let before = self.rows.last().map(|r| r.id);
        let mut rows = desk.outbox(&RecordQuery {
            user: self.user.clone(),
            kind: None,
            before,
            limit: PAGE + 1,
        })?;
        self.more = rows.len() > PAGE as usize;
        rows.truncate(PAGE as usize);
        self.rows.extend(rows);
        Ok(())
    }
}

impl App {
    pub(crate) fn outbox_action(&mut self, action: Action) {
        let s = &mut self.outbox;
        match action {
            Action::FilterUser => {
                s.user = match &s.user {
                    Some(_) => None,
                    None => s.rows.get(s.selected).map(|r| r.user.clone()),
                };
                s.rows.clear();
                s.selected = 0;
                self.refresh();
            }
            Action::Open => {
                if let Some(email) = s.rows.get(s.selected).map(|r| r.user.clone()) {
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

pub fn render(s: &OutboxScreen, theme: Theme, now: Time, area: Rect, buf: &mut Buffer) {
    // The message panel grows to its wrapped text (at 80x24 the reason a
    // message was not delivered would otherwise be cut), up to half the screen.
    let message = s.rows.get(s.selected).map(|m| message_lines(m, theme, now));
    let rows = message.as_ref().map_or(0, |lines| {
        wrapped_rows(lines, area.width.saturating_sub(2), true)
    });
    let height = (rows + 2).clamp(6, (area.height / 2).max(6));
    let [list, detail] =
        Layout::vertical([Constraint::Fill(1), Constraint::Length(height)]).areas(area);
    let title = match &s.user {
        Some(u) => format!(
            "Outbox: {u} ({}{})",
            s.rows.len(),
            if s.more { "+" } else { "" }
        ),
        None => format!("Outbox ({}{})", s.rows.len(), if s.more { "+" } else { "" }),
    };
    let block = panel(&title, theme, true);
    let inner = block.inner(list);
    block.render(list, buf);
    if s.rows.is_empty() {
        Paragraph::new(Span::styled(strings::NO_MESSAGES, theme.dim())).render(inner, buf);
    } else {
        let [head, body] =
            Layout::vertical([Constraint::Length(1), Constraint::Fill(1)]).areas(inner);
        let w = usize::from(inner.width);
        let user_w = 24.min(w / 4);
        let dest_w = 20;
        // After the status, two cells for the "valid now" mark, then the text.
        let text_w = w.saturating_sub(1 + 12 + user_w + 6 + dest_w + 10 + 2);
        buf.set_line(
            head.x,
            head.y,
            &Line::styled(
                format!(
                    " {:<12}{:<user_w$}{:<6}{:<dest_w$}{:<10}  {}",
                    "SENT", "USER", "VIA", "TO", "STATUS", "TEXT"
                ),
                theme.dim(),
            ),
            head.width,
        );
        for (row, i) in window(s.rows.len(), s.selected, usize::from(body.height)).enumerate() {
            let m = &s.rows[i];
            let status_style = match m.status {
                Status::Failed => theme.bad(),
                Status::Queued => theme.warn(),
                Status::Sent | Status::Delivered => theme.text(),
            };
            let line = Line::from(vec![
                Span::styled(format!(" {:<12}", m.at.format("%m-%d %H:%M")), theme.dim()),
                Span::raw(format!("{:<user_w$}", cut(&m.user, user_w - 1))),
                Span::raw(format!("{:<6}", m.channel.as_str())),
                Span::raw(format!("{:<dest_w$}", cut(&m.destination, dest_w - 1))),
                Span::styled(format!("{:<10}", m.status.as_str()), status_style),
                Span::styled(if m.valid_now { "◀ " } else { "  " }, theme.ok()),
                Span::raw(cut(&m.text, text_w)),
            ]);
            draw_row(buf, body, row, &line, i == s.selected, theme);
        }
    }
    let block = panel("Message", theme, false);
    let inner = block.inner(detail);
    block.render(detail, buf);
    if let Some(lines) = message {
        Paragraph::new(lines)
            .wrap(Wrap { trim: true })
            .render(inner, buf);
    }
}

/// The selected message in full: who, when, the text, and why it failed.
fn message_lines(m: &DeliveryView, theme: Theme, now: Time) -> Vec<Line<'static>> {
    let mut lines = vec![
        Line::from(vec![
            Span::styled(
                format!(
                    "{} to {} for {}, {} ({})",
                    m.channel,
                    m.destination,
                    m.user,
                    stamp(m.at),
                    relative(m.at, now)
                ),
                theme.dim(),
            ),
            Span::styled(
                if m.valid_now {
                    "  holds the code that works now"
                } else {
                    ""
                },
                theme.ok(),
            ),
        ]),
        Line::from(m.text.clone()),
    ];
    if let Some(reason) = &m.reason {
        lines.push(Line::styled(
            format!("Not delivered: {reason}"),
            theme.bad(),
        ));
    }
    lines
}
