//! Audit: every event, newest first, filtered by user and kind (and `/`:
//! words, actor, time), scrolling back through any number by pages, matches
//! highlighted; the chain checked on the worker.

mod filter;

use ratatui::buffer::Buffer;
use ratatui::crossterm::event::KeyCode;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget, Wrap};

use crate::desk::Keyset;
use crate::desk::search::{AuditQuery, BUDGET};
use crate::desk::trail::{TrailCheck, TrailProgress, TrailStep};
use crate::desk::views::AuditView;
use crate::desk::{Desk, Result};
use crate::domain::needle::Needle;
use crate::domain::stamp;
use crate::tui::keys::{Action, Binding, ch, named};
use crate::tui::pages::{Pages, Source, Stop};
use crate::tui::popups::form::{Form, Purpose};
use crate::tui::strings;
use crate::tui::theme::Theme;
use crate::tui::theme::Tone;
use crate::tui::view::{Ctx, Effect, News, Screen, View};
use crate::tui::widgets::{draw_row, marked, panel, wrapped_rows};
use crate::tui::worker::{self, Done, Found, Job, Read, Reader};

pub use filter::Filter;

pub const KEYS: &[Binding] = &[
    ch('u', Action::FilterUser, "only this user / everyone", true),
    ch('f', Action::CycleKind, "kind of event", true),
    named(KeyCode::Enter, None, Action::Open, "open user", true),
    ch('v', Action::CheckTrail, "verify chain", true),
    ch('/', Action::Search, "filter", true),
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
    /// What `/` asked for.
    filter: Filter,
    /// Where the last read down the list stopped at its budget.
    stopped: Stop,
    check: Check,
}

/// The check of the trail's chain, run on the worker a slice at a time
/// when the screen is first shown, and again on `v`.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
enum Check {
    #[default]
    NotYet,
    /// Under way: the slice asked for last, and how far it has come.
    Running {
        ticket: u64,
        checked: i64,
    },
    Done(TrailCheck),
    Failed,
}

/// The audit trail (filtered) as a list to page through.
struct Trail<'a> {
    desk: &'a Desk,
    query: AuditQuery,
    stopped: &'a Stop,
}

impl Source for Trail<'_> {
    type Row = AuditView;
    type Key = i64;

    fn key(row: &AuditView) -> i64 {
        row.id
    }

    /// A page read down the list notes where it stopped, if it did.
    fn fetch(&self, at: Keyset<i64>, limit: u32) -> Result<Vec<AuditView>> {
        let page = self.desk.search_audit(
            &AuditQuery {
                limit,
                ..self.query.clone()
            },
            at,
            BUDGET,
        )?;
        Ok(self.stopped.note(at, page))
    }
}

impl AuditScreen {
    /// Ask the worker for the check's next slice.
    fn ask(&mut self, progress: TrailProgress) -> Effect {
        let checked = progress.checked();
        let ticket = worker::ticket();
        self.check = Check::Running { ticket, checked };
        Effect::Job(Job::Read {
            ticket,
            read: Read::CheckTrail(progress),
        })
    }

    /// A slice of the check came back: go on, or keep the verdict.
    fn checked(&mut self, found: std::result::Result<Found, String>) -> Effect {
        match found {
            Ok(Found::Trail(TrailStep::More(progress))) => self.ask(progress),
            Ok(Found::Trail(TrailStep::Done(check))) => {
                self.check = Check::Done(check);
                Effect::None
            }
            Ok(_) => Effect::None,
            Err(e) => {
                self.check = Check::Failed;
                Effect::Say(Tone::Error, e)
            }
        }
    }

    fn query(&self) -> AuditQuery {
        self.filter.query(
            self.user.clone(),
            KINDS.get(self.kind).copied().flatten().map(str::to_owned),
        )
    }
}

impl View for AuditScreen {
    fn keys(&self) -> &'static [Binding] {
        KEYS
    }

    fn reload(&mut self, cx: &Ctx) -> Result<Effect> {
        let src = Trail {
            desk: cx.desk,
            query: self.query(),
            stopped: &self.stopped,
        };
        self.pages.reload(&src)?;
        // The chain is checked when the screen is first shown.
        Ok(if self.check == Check::NotYet {
            self.ask(TrailProgress::default())
        } else {
            Effect::None
        })
    }

    fn answer(&mut self, value: &str, cx: &Ctx) -> std::result::Result<Effect, String> {
        let filter = Filter::parse(value, cx.desk.now())?;
        let query = filter.query(None, None);
        // A search the desk would refuse is refused here, with the form open.
        cx.desk
            .search_audit(&AuditQuery { limit: 1, ..query }, Keyset::First, 1)
            .map_err(|e| strings::desk_error(&e))?;
        self.filter = filter;
        self.stopped.clear();
        self.pages.clear();
        Ok(Effect::None)
    }

    fn handle(&mut self, action: Action, cx: &Ctx) -> Effect {
        match action {
            Action::Search => Effect::Popup(Box::new(Form::new(
                strings::AUDIT_FILTER_TITLE,
                strings::audit_filter_lines(),
                &self.filter.typed,
                Purpose::Answer,
            ))),
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
                self.stopped.clear();
                self.pages.clear();
                Effect::Refresh
            }
            Action::Open => match self.pages.current().and_then(|r| r.user.clone()) {
                Some(email) => Effect::Open(Screen::User(email)),
                None => Effect::None,
            },
            Action::CheckTrail => self.ask(TrailProgress::default()),
            _ => {
                let query = self.query();
                let read_on = self.stopped.read_on(&mut self.pages, action, |at, limit| {
                    cx.desk
                        .search_audit(&AuditQuery { limit, ..query }, at, BUDGET)
                });
                if let Err(e) = read_on {
                    return Effect::fail(&e);
                }
                let src = Trail {
                    desk: cx.desk,
                    query: self.query(),
                    stopped: &self.stopped,
                };
                match self.pages.step(action, &src) {
                    Ok(()) => Effect::None,
                    Err(e) => Effect::fail(&e),
                }
            }
        }
    }

    /// The check's slices, when they are the ones still wanted.
    fn tell(&mut self, news: News, _: &Ctx) -> std::result::Result<Effect, News> {
        match news {
            News::Done(done) => match *done {
                Done::Read {
                    ticket,
                    reader: Reader::Trail,
                    result,
                } => Ok(match self.check {
                    Check::Running { ticket: t, .. } if t == ticket => self.checked(result),
                    _ => Effect::None,
                }),
                other => Err(News::Done(Box::new(other))),
            },
            other => Err(other),
        }
    }

    fn render(&self, cx: &Ctx, area: Rect, buf: &mut Buffer) {
        render(self, cx.theme, area, buf);
    }
}

/// The width of the AT column: a date with its year, the time, the mark
/// of a set clock, and a space.
const AT_W: usize = 18;

fn render(s: &AuditScreen, theme: Theme, area: Rect, buf: &mut Buffer) {
    let broken = match &s.check {
        Check::Done(TrailCheck {
            problem: Some(b), ..
        }) => Some(b),
        _ => None,
    };
    let warning = broken.map(|b| vec![Line::styled(strings::broken_chain(b), theme.bad())]);
    let warning_rows = warning
        .as_ref()
        .map_or(0, |w| wrapped_rows(w, area.width, true).min(3));
    let [top, list, detail] = Layout::vertical([
        Constraint::Length(warning_rows),
        Constraint::Fill(1),
        Constraint::Length(6),
    ])
    .areas(area);
    if let Some(lines) = warning {
        Paragraph::new(lines)
            .wrap(Wrap { trim: true })
            .render(top, buf);
    }
    render_list(s, theme, list, buf);
    let block = panel(&format!("Event{}", check_note(&s.check)), theme, false);
    let inner = block.inner(detail);
    block.render(detail, buf);
    if let Some(e) = s.pages.rows.get(s.pages.selected) {
        Paragraph::new(event_lines(e, theme))
            .wrap(Wrap { trim: true })
            .render(inner, buf);
    }
}

/// How the chain's check stands, for the Event panel's title.
fn check_note(check: &Check) -> String {
    match check {
        Check::NotYet => String::new(),
        Check::Running { checked: 0, .. } => " · checking the chain…".to_owned(),
        Check::Running { checked, .. } => {
            format!(" · checking the chain… {checked} events so far")
        }
        Check::Done(c) if c.whole => format!(" · chain whole: {} events checked", c.checked),
        Check::Done(_) => " · chain BROKEN".to_owned(),
        Check::Failed => " · chain not checked".to_owned(),
    }
}

fn render_list(s: &AuditScreen, theme: Theme, list: Rect, buf: &mut Buffer) {
    let kind = KINDS
        .get(s.kind)
        .copied()
        .flatten()
        .map_or("all kinds".to_owned(), |k| format!("{k}*"));
    let kind = s.filter.kind.as_ref().map_or(kind, |k| format!("{k}*"));
    let who = s.user.clone().unwrap_or_else(|| "everyone".to_owned());
    // The rows under the border and the column header.
    let shown = usize::from(list.height.saturating_sub(3));
    let block = panel(
        &format!(
            "Audit: {who}, {kind}{} · {}",
            strings::audit_filter_note(&s.filter),
            s.pages.position(shown)
        ),
        theme,
        true,
    );
    let inner = block.inner(list);
    block.render(list, buf);
    let stopped = s.stopped.get().map(|(_, at)| strings::searched_back_to(at));
    if s.pages.rows.is_empty() {
        let mut lines = vec![Line::styled(strings::NO_EVENTS, theme.dim())];
        lines.extend(stopped.map(|n| Line::styled(n, theme.dim())));
        Paragraph::new(lines).render(inner, buf);
        return;
    }
    let [head, body, foot] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Fill(1),
        Constraint::Length(u16::from(stopped.is_some())),
    ])
    .areas(inner);
    if let Some(note) = stopped {
        buf.set_line(foot.x, foot.y, &Line::styled(note, theme.dim()), foot.width);
    }
    let needle = s.filter.text.as_deref().and_then(Needle::parse);
    let w = usize::from(inner.width);
    let user_w = user_width(&s.pages.rows, w);
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
        let line = event_row(&s.pages.rows[i], user_w, detail_w, needle.as_ref(), theme);
        draw_row(buf, body, row, &line, i == s.pages.selected, theme);
    }
}

/// One event as a row, the filter's words marked in each cell.
fn event_row(
    e: &AuditView,
    user_w: usize,
    detail_w: usize,
    needle: Option<&Needle>,
    theme: Theme,
) -> Line<'static> {
    let kind_style =
        if e.kind.contains("denied") || e.kind.contains("reset") || e.kind.contains("disable") {
            theme.warn()
        } else {
            theme.text()
        };
    let mark = if e.time_set() {
        strings::TIME_SET_MARK
    } else {
        " "
    };
    let mut line = Line::from(vec![Span::styled(
        format!(" {}{mark} ", e.at.format("%Y-%m-%d %H:%M")),
        theme.dim(),
    )]);
    let found = |text: &str| needle.map_or_else(Vec::new, |n| n.char_spans(text));
    let user = e.user.as_deref().unwrap_or("-");
    let cells = [
        (e.actor.as_str(), 8, theme.text()),
        (user, user_w, theme.text()),
        (e.kind.as_str(), 17, kind_style),
    ];
    for (text, width, style) in cells {
        line.spans.extend(marked(
            text,
            width - 1,
            &found(text),
            style,
            theme.matched(),
        ));
        line.spans.push(Span::raw(" "));
    }
    line.spans.extend(marked(
        &e.detail,
        detail_w,
        &found(&e.detail),
        theme.text(),
        theme.matched(),
    ));
    line
}

/// The USER column's width in a list `w` wide: wide, it grows to the
/// longest address held (up to 34) rather than cutting them while the
/// detail has room to spare.
fn user_width(rows: &[AuditView], w: usize) -> usize {
    if w >= 120 {
        let longest = rows.iter().filter_map(|e| e.user.as_deref());
        (longest.map(|u| u.chars().count()).max().unwrap_or(0) + 1).clamp(22, 34)
    } else {
        22.min(w / 4)
    }
}

/// The selected event in full: when (both times, if the clock was set),
/// who (and the account that really ran it), for whom, and what.
fn event_lines(e: &AuditView, theme: Theme) -> Vec<Line<'static>> {
    let by = match e.os_user.as_deref() {
        Some(account) if account != e.actor => format!("{} (OS user {account})", e.actor),
        _ => e.actor.clone(),
    };
    let mut lines = vec![Line::styled(
        format!(
            "#{} {}{} by {by}{}{}",
            e.id,
            stamp(e.at),
            if e.time_set() {
                strings::TIME_SET_MARK
            } else {
                ""
            },
            e.user
                .as_deref()
                .map(|u| format!(" for {u}"))
                .unwrap_or_default(),
            e.ip.as_deref()
                .map(|ip| format!(" from {ip}"))
                .unwrap_or_default()
        ),
        theme.dim(),
    )];
    if e.time_set() {
        lines.push(Line::styled(
            strings::time_set(e.written_at.map(stamp).as_deref()),
            theme.warn(),
        ));
    }
    lines.push(Line::from(format!("{}: {}", e.kind, e.detail)));
    lines
}
