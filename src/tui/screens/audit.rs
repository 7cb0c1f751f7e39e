//! Audit: every event, newest first, filtered by user and kind, scrolling
//! back through any number by pages; the chain checked on the worker.

use ratatui::buffer::Buffer;
use ratatui::crossterm::event::KeyCode;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget, Wrap};

use crate::desk::records::RecordQuery;
use crate::desk::trail::{TrailCheck, TrailProgress, TrailStep};
use crate::desk::views::AuditView;
use crate::desk::{Desk, Result};
use crate::domain::stamp;
use crate::tui::keys::{Action, Binding, ch, named};
use crate::tui::theme::Theme;
use crate::tui::widgets::{cut, draw_row, panel, wrapped_rows};
use crate::tui::worker::{Found, Read};
use crate::tui::{App, Tone, strings};

use super::{Pages, Source};
use crate::desk::Keyset;

pub const KEYS: &[Binding] = &[
    ch('u', Action::FilterUser, "only this user / everyone", true),
    ch('f', Action::CycleKind, "kind of event", true),
    named(KeyCode::Enter, None, Action::Open, "open user", true),
    ch('v', Action::CheckTrail, "verify chain", true),
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
    pub check: Check,
}

/// The check of the trail's chain, run on the worker a slice at a time
/// when the screen is first shown, and again on `v`.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub enum Check {
    #[default]
    NotYet,
    /// Under way: the slice asked for last, and how far it has come.
    Running {
        ticket: u64,
        checked: i64,
    },
    Done(TrailCheck),
    Failed(String),
}

impl AuditScreen {
    /// Whether `ticket` is the chain's check, still wanted.
    pub fn checking(&self, ticket: u64) -> bool {
        matches!(self.check, Check::Running { ticket: t, .. } if t == ticket)
    }

    /// Whether the chain was checked (or is being checked) already.
    pub fn checked_once(&self) -> bool {
        self.check != Check::NotYet
    }
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

    pub fn reload(&mut self, desk: &Desk) -> Result<()> {
        let src = self.source(desk);
        self.pages.reload(&src)
    }
}

impl App {
    /// Check the chain afresh, on the worker.
    pub(crate) fn check_trail(&mut self) {
        self.ask_trail(TrailProgress::default(), 0);
    }

    fn ask_trail(&mut self, progress: TrailProgress, checked: i64) {
        let ticket = self.ask(Read::CheckTrail(progress));
        self.audit.check = Check::Running { ticket, checked };
    }

    /// A slice of the check came back: go on, or keep the verdict.
    pub(crate) fn trail_checked(&mut self, found: std::result::Result<Found, String>) {
        match found {
            Ok(Found::Trail(TrailStep::More(progress))) => {
                let checked = progress.checked();
                self.ask_trail(progress, checked);
            }
            Ok(Found::Trail(TrailStep::Done(check))) => self.audit.check = Check::Done(check),
            Ok(_) => {}
            Err(e) => {
                self.say(Tone::Error, strings::for_console(&e));
                self.audit.check = Check::Failed(e);
            }
        }
    }

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
            Action::CheckTrail => self.check_trail(),
            _ => {
                let src = s.source(&self.desk);
                if let Err(e) = s.pages.step(action, &src) {
                    self.fail(&e);
                }
            }
        }
    }
}

pub fn render(s: &AuditScreen, theme: Theme, area: Rect, buf: &mut Buffer) {
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
        Check::Failed(_) => " · chain not checked".to_owned(),
    }
}

fn render_list(s: &AuditScreen, theme: Theme, list: Rect, buf: &mut Buffer) {
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
        return;
    }
    let [head, body] = Layout::vertical([Constraint::Length(1), Constraint::Fill(1)]).areas(inner);
    let w = usize::from(inner.width);
    let user_w = 22.min(w / 4);
    let detail_w = w.saturating_sub(13 + 8 + user_w + 17 + 1);
    buf.set_line(
        head.x,
        head.y,
        &Line::styled(
            format!(
                " {:<13}{:<8}{:<user_w$}{:<17}{}",
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
                format!(
                    " {}{} ",
                    e.at.format("%m-%d %H:%M"),
                    if e.time_set() {
                        strings::TIME_SET_MARK
                    } else {
                        " "
                    }
                ),
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
