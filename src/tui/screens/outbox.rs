//! Outbox: every simulated SMS and email, newest first, with status, failure
//! reason and user; one user's, or `/` words (matches marked); any number.

use ratatui::buffer::Buffer;
use ratatui::crossterm::event::KeyCode;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget, Wrap};

use crate::desk::Keyset;
use crate::desk::records::{OUTBOX_BUDGET, RecordQuery};
use crate::desk::views::DeliveryView;
use crate::desk::{Desk, Result};
use crate::domain::needle::Needle;
use crate::domain::vocab::{CodeState, DeliveryStatus};
use crate::domain::{Time, relative, stamp};
use crate::tui::keys::{Action, Binding, ch, named};
use crate::tui::pages::{Pages, Source, Stop};
use crate::tui::popups::form::{Form, Purpose};
use crate::tui::strings;
use crate::tui::theme::Theme;
use crate::tui::view::{Ctx, Effect, Screen, View};
use crate::tui::widgets::{draw_row, marked, panel, wrapped_rows};

pub const KEYS: &[Binding] = &[
    ch('u', Action::FilterUser, "only this user / everyone", true),
    named(KeyCode::Enter, None, Action::Open, "open user", true),
    ch('/', Action::Search, "filter", true),
];

#[derive(Debug, Default)]
pub struct OutboxScreen {
    pages: Pages<DeliveryView>,
    user: Option<String>,
    /// The words `/` asked for (trimmed; never empty).
    words: Option<String>,
    /// Where the last read down a filtered list stopped at its budget.
    stopped: Stop,
}

/// The outbox (one user's or everyone's, with the words or not) as a list
/// to page through.
struct Outbox<'a> {
    desk: &'a Desk,
    query: RecordQuery,
    words: Option<&'a str>,
    stopped: &'a Stop,
}

impl Source for Outbox<'_> {
    type Row = DeliveryView;
    type Key = i64;

    fn key(row: &DeliveryView) -> i64 {
        row.id
    }

    /// A filtered page is read along the index a budget at a time, and
    /// notes where it stopped, if it did.
    fn fetch(&self, at: Keyset<i64>, limit: u32) -> Result<Vec<DeliveryView>> {
        let q = RecordQuery {
            limit,
            ..self.query.clone()
        };
        match self.words {
            None => self.desk.outbox_page(&q, at),
            Some(words) => {
                let found = self.desk.search_outbox(&q, words, at, OUTBOX_BUDGET)?;
                Ok(self.stopped.note(at, found))
            }
        }
    }
}

impl OutboxScreen {
    fn query(&self) -> RecordQuery {
        RecordQuery {
            user: self.user.clone(),
            ..RecordQuery::default()
        }
    }

    fn restart(&mut self) {
        self.stopped.clear();
        self.pages.clear();
    }
}

impl View for OutboxScreen {
    fn keys(&self) -> &'static [Binding] {
        KEYS
    }

    fn reload(&mut self, cx: &Ctx) -> Result<Effect> {
        let src = Outbox {
            desk: cx.desk,
            query: self.query(),
            words: self.words.as_deref(),
            stopped: &self.stopped,
        };
        self.pages.reload(&src)?;
        Ok(Effect::None)
    }

    /// The words typed after `/` (nothing clears them); a search the desk
    /// would refuse is refused here, with the form open.
    fn answer(&mut self, value: &str, cx: &Ctx) -> std::result::Result<Effect, String> {
        let words = Needle::parse(value).map(|_| value.trim().to_owned());
        if let Some(w) = &words {
            let q = RecordQuery {
                limit: 1,
                ..RecordQuery::default()
            };
            cx.desk
                .search_outbox(&q, w, Keyset::First, 1)
                .map_err(|e| strings::desk_error(&e))?;
        }
        self.words = words;
        self.restart();
        Ok(Effect::None)
    }

    fn handle(&mut self, action: Action, cx: &Ctx) -> Effect {
        match action {
            Action::Search => Effect::Popup(Box::new(Form::new(
                strings::OUTBOX_FILTER_TITLE,
                strings::outbox_filter_lines(),
                self.words.as_deref().unwrap_or_default(),
                Purpose::Answer,
            ))),
            Action::FilterUser => {
                self.user = match &self.user {
                    Some(_) => None,
                    None => self.pages.current().map(|r| r.user.clone()),
                };
                self.restart();
                Effect::Refresh
            }
            Action::Open => match self.pages.current() {
                Some(r) => Effect::Open(Screen::User(r.user.clone())),
                None => Effect::None,
            },
            _ => {
                let (query, words) = (self.query(), self.words.clone().unwrap_or_default());
                let read_on = self.stopped.read_on(&mut self.pages, action, |at, limit| {
                    cx.desk.search_outbox(
                        &RecordQuery { limit, ..query },
                        &words,
                        at,
                        OUTBOX_BUDGET,
                    )
                });
                if let Err(e) = read_on {
                    return Effect::fail(&e);
                }
                let src = Outbox {
                    desk: cx.desk,
                    query: self.query(),
                    words: self.words.as_deref(),
                    stopped: &self.stopped,
                };
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
    let words = s
        .words
        .as_deref()
        .map(|w| format!(", \"{w}\""))
        .unwrap_or_default();
    let title = match &s.user {
        Some(u) => format!("Outbox: {u}{words} · {}", s.pages.position(shown)),
        None => format!("Outbox{words} · {}", s.pages.position(shown)),
    };
    let block = panel(&title, theme, true);
    let inner = block.inner(list);
    block.render(list, buf);
    let stopped = s.stopped.get().map(|(_, at)| strings::searched_back_to(at));
    if s.pages.rows.is_empty() {
        let none = if s.words.is_some() {
            strings::NO_MESSAGES_MATCH
        } else {
            strings::NO_MESSAGES
        };
        let mut lines = vec![Line::styled(none, theme.dim())];
        lines.extend(stopped.map(|n| Line::styled(n, theme.dim())));
        Paragraph::new(lines).render(inner, buf);
    } else {
        let [rows, foot] = Layout::vertical([
            Constraint::Fill(1),
            Constraint::Length(u16::from(stopped.is_some())),
        ])
        .areas(inner);
        if let Some(note) = stopped {
            buf.set_line(foot.x, foot.y, &Line::styled(note, theme.dim()), foot.width);
        }
        render_list(s, theme, rows, buf);
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
    let needle = s.words.as_deref().and_then(Needle::parse);
    // A cell cut and padded to `width`, the words found in it marked.
    let cell = |text: &str, width: usize, style| {
        let found = needle
            .as_ref()
            .map_or_else(Vec::new, |n| n.char_spans(text));
        marked(text, width, &found, style, theme.matched())
    };
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
        let mut spans = vec![Span::styled(
            format!(" {:<SENT_W$}", m.at.format("%Y-%m-%d %H:%M")),
            theme.dim(),
        )];
        spans.extend(cell(&m.user, user_w - 1, theme.text()));
        spans.push(Span::raw(" "));
        if wide {
            spans.extend(cell(m.channel.as_str(), via_w - 1, theme.text()));
            spans.push(Span::raw(" "));
            spans.extend(cell(&m.destination, dest_w - 1, theme.text()));
            spans.push(Span::raw(" "));
        }
        spans.extend(cell(m.status.as_str(), status_w - 1, status_style));
        spans.push(Span::raw(" "));
        if let Some(reason) = &m.reason {
            // Why it failed takes the code's column too: it never went, so
            // its code never works, and at 80 columns the reason needs it.
            spans.extend(cell(&short_reason(reason), code_w + text_w, theme.bad()));
        } else {
            // What became of its code: the one that works now stands out.
            let style = match m.code {
                Some(CodeState::Valid) => theme.ok(),
                Some(CodeState::Used) => theme.text(),
                _ => theme.dim(),
            };
            let code = code_shown(m.code);
            spans.push(Span::styled(format!("{code:<code_w$}"), style));
            spans.extend(cell(&m.text, text_w, theme.text()));
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
