//! Outbox: every simulated SMS and email, newest first, with status, failure
//! reason and user; filter to one user; pages back through any number.

use ratatui::buffer::Buffer;
use ratatui::crossterm::event::KeyCode;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget, Wrap};

use crate::desk::Keyset;
use crate::desk::records::RecordQuery;
use crate::desk::views::DeliveryView;
use crate::desk::{Desk, Result};
use crate::domain::vocab::{CodeState, DeliveryStatus};
use crate::domain::{Time, relative, stamp};
use crate::tui::keys::{Action, Binding, ch, named};
use crate::tui::pages::{Pages, Source};
use crate::tui::strings;
use crate::tui::theme::Theme;
use crate::tui::view::{Ctx, Effect, Screen, View};
use crate::tui::widgets::{cut, draw_row, panel, wrapped_rows};

pub const KEYS: &[Binding] = &[
    ch('u', Action::FilterUser, "only this user / everyone", true),
    named(KeyCode::Enter, None, Action::Open, "open user", true),
];

#[derive(Debug, Default)]
pub struct OutboxScreen {
    pages: Pages<DeliveryView>,
    user: Option<String>,
}

/// The outbox (one user's or everyone's) as a list to page through.
struct Outbox<'a> {
    desk: &'a Desk,
    query: RecordQuery,
}

impl Source for Outbox<'_> {
    type Row = DeliveryView;
    type Key = i64;

    fn key(row: &DeliveryView) -> i64 {
        row.id
    }

    fn fetch(&self, at: Keyset<i64>, limit: u32) -> Result<Vec<DeliveryView>> {
        self.desk.outbox_page(
            &RecordQuery {
                limit,
                ..self.query.clone()
            },
            at,
        )
    }
}

impl OutboxScreen {
    fn source<'a>(&self, desk: &'a Desk) -> Outbox<'a> {
        Outbox {
            desk,
            query: RecordQuery {
                user: self.user.clone(),
                ..RecordQuery::default()
            },
        }
    }
}

impl View for OutboxScreen {
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
                    None => self.pages.current().map(|r| r.user.clone()),
                };
                self.pages.clear();
                Effect::Refresh
            }
            Action::Open => match self.pages.current() {
                Some(r) => Effect::Open(Screen::User(r.user.clone())),
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
        render(self, cx.theme, cx.desk.now(), area, buf);
    }
}

fn render(s: &OutboxScreen, theme: Theme, now: Time, area: Rect, buf: &mut Buffer) {
    // The message panel grows to its wrapped text (at 80x24 the reason a
    // message was not delivered would otherwise be cut), up to half the screen.
    let message = s
        .pages
        .rows
        .get(s.pages.selected)
        .map(|m| message_lines(m, theme, now));
    let rows = message.as_ref().map_or(0, |lines| {
        wrapped_rows(lines, area.width.saturating_sub(2), true)
    });
    let height = (rows + 2).clamp(6, (area.height / 2).max(6));
    let [list, detail] =
        Layout::vertical([Constraint::Fill(1), Constraint::Length(height)]).areas(area);
    // The rows under the border and the column header.
    let shown = usize::from(list.height.saturating_sub(3));
    let title = match &s.user {
        Some(u) => format!("Outbox: {u} · {}", s.pages.position(shown)),
        None => format!("Outbox · {}", s.pages.position(shown)),
    };
    let block = panel(&title, theme, true);
    let inner = block.inner(list);
    block.render(list, buf);
    if s.pages.rows.is_empty() {
        Paragraph::new(Span::styled(strings::NO_MESSAGES, theme.dim())).render(inner, buf);
    } else {
        render_list(s, theme, inner, buf);
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

/// The width of the SENT column: a date with its year, and the time.
const SENT_W: usize = 17;

/// The messages, one a row: when, who, (wide: how and where), status,
/// what became of its code, and the text or why it failed.
fn render_list(s: &OutboxScreen, theme: Theme, inner: Rect, buf: &mut Buffer) {
    let [head, body] = Layout::vertical([Constraint::Length(1), Constraint::Fill(1)]).areas(inner);
    let w = usize::from(inner.width);
    let rows = &s.pages.rows;
    let longest =
        |f: fn(&DeliveryView) -> &str| rows.iter().map(|m| f(m).chars().count()).max().unwrap_or(0);
    let user_w = (longest(|m| &m.user) + 1).clamp(6, 24.min(w / 4 + 2));
    // Narrow, the channel and the masked destination go (the message
    // panel shows them) so the text, or why it failed, keeps its room.
    let wide = w >= 118;
    let dest_w = if wide {
        (longest(|m| &m.destination) + 1).clamp(4, 22)
    } else {
        0
    };
    let via_w = if wide { 6 } else { 0 };
    // The status and code columns as wide as their longest entry read.
    let status_w = (longest(|m| m.status.as_str()) + 1).max("STATUS ".len());
    let code_w = rows
        .iter()
        .filter(|m| m.reason.is_none())
        .map(|m| code_shown(m.code).len() + 1)
        .max()
        .unwrap_or(0)
        .max("CODE ".len());
    let text_w = w.saturating_sub(1 + SENT_W + user_w + via_w + dest_w + status_w + code_w);
    buf.set_line(
        head.x,
        head.y,
        &Line::styled(
            format!(
                " {:<SENT_W$}{:<user_w$}{:<via_w$}{:<dest_w$}{:<status_w$}{:<code_w$}{}",
                "SENT",
                "USER",
                if wide { "VIA" } else { "" },
                if wide { "TO" } else { "" },
                "STATUS",
                "CODE",
                "TEXT, OR WHY IT FAILED"
            ),
            theme.dim(),
        ),
        head.width,
    );
    for (row, i) in s.pages.visible(usize::from(body.height)).enumerate() {
        let m = &rows[i];
        let status_style = match m.status {
            DeliveryStatus::Failed => theme.bad(),
            DeliveryStatus::Queued => theme.warn(),
            DeliveryStatus::Sent | DeliveryStatus::Delivered => theme.text(),
        };
        let mut spans = vec![
            Span::styled(
                format!(" {:<SENT_W$}", m.at.format("%Y-%m-%d %H:%M")),
                theme.dim(),
            ),
            Span::raw(format!("{:<user_w$}", cut(&m.user, user_w - 1))),
        ];
        if wide {
            spans.push(Span::raw(format!("{:<via_w$}", m.channel.as_str())));
            spans.push(Span::raw(format!(
                "{:<dest_w$}",
                cut(&m.destination, dest_w - 1)
            )));
        }
        spans.push(Span::styled(
            format!("{:<status_w$}", m.status.as_str()),
            status_style,
        ));
        if let Some(reason) = &m.reason {
            // Why it failed takes the code's column too: it never went, so
            // its code never works, and at 80 columns the reason needs it.
            spans.push(Span::styled(
                cut(&short_reason(reason), code_w + text_w),
                theme.bad(),
            ));
        } else {
            // What became of its code: the one that works now stands out.
            let style = match m.code {
                Some(CodeState::Valid) => theme.ok(),
                Some(CodeState::Used) => theme.text(),
                _ => theme.dim(),
            };
            let code = code_shown(m.code);
            spans.push(Span::styled(format!("{code:<code_w$}"), style));
            spans.push(Span::raw(cut(&m.text, text_w)));
        }
        draw_row(
            buf,
            body,
            row,
            &Line::from(spans),
            i == s.pages.selected,
            theme,
        );
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
                m.code.map_or("", strings::code_state),
                if m.valid_now { theme.ok() } else { theme.dim() },
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

/// A failure reason for the list: without the parenthesis that adds detail
/// (`… is not allowed for SMS (allowed: +1)`), which the message panel keeps.
/// A message's code in the CODE column (`-`: it carried none).
fn code_shown(code: Option<CodeState>) -> &'static str {
    match code {
        None => "-",
        Some(state) => state.as_str(),
    }
}

fn short_reason(reason: &str) -> String {
    reason
        .split_once(" (")
        .map_or(reason, |(short, _)| short)
        .to_owned()
}
