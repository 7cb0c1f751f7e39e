//! Recovery readiness over the Overview: who a lost phone would strand, read
//! a page at a time on the worker (rating everyone is a pass over the table).
//!
//! The rows held are a window of the report, like any list here; pages come
//! back from the worker, and what was asked for last is what is kept.

use ratatui::buffer::Buffer;
use ratatui::crossterm::event::KeyCode;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use crate::desk::readiness::{Format, Key, ReadinessRow, Sort};
use crate::desk::{Keyset, Result};
use crate::tui::keys::{Action, Binding, ch, named};
use crate::tui::pages::step;
use crate::tui::popups::form::{Form, Purpose};
use crate::tui::strings;
use crate::tui::theme::{Theme, Tone};
use crate::tui::view::{Ctx, Effect, Screen, View};
use crate::tui::widgets::{cut, draw_row, panel, window};
use crate::tui::worker::{self, Found, Job, Read};

/// Keys while the readiness report is showing.
pub const KEYS: &[Binding] = &[
    named(KeyCode::Enter, None, Action::Open, "open user", true),
    ch('s', Action::CycleSort, "sort", true),
    ch('w', Action::Export, "export (.csv or .json)", true),
    named(KeyCode::Esc, None, Action::Back, "back", true),
];

/// Rows a page read asks for.
const PAGE: u32 = 200;
/// Rows held at most: reading on drops the far end.
const HELD: usize = 600;

/// Where a page that comes back goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    /// Instead of the rows held, the selection on the same row number.
    Replace {
        select: Select,
    },
    After,
    Before,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Select {
    Index(usize),
    Last,
}

#[derive(Debug)]
pub struct ReadinessView {
    sort: Sort,
    rows: Vec<ReadinessRow>,
    selected: usize,
    /// The report goes on before / after the rows held.
    more_before: bool,
    more: bool,
    /// Users at risk, and users, once counted.
    counted: Option<(u64, u64)>,
    /// The page asked for last, not yet back: its ticket and where it goes.
    waiting: Option<(u64, Place)>,
    /// The count asked for last.
    counting: Option<u64>,
    /// Rows drawn last time: a screenful.
    view: std::cell::Cell<usize>,
}

impl Default for ReadinessView {
    fn default() -> Self {
        ReadinessView {
            sort: Sort::Risk,
            rows: Vec::new(),
            selected: 0,
            more_before: false,
            more: false,
            counted: None,
            waiting: None,
            counting: None,
            view: std::cell::Cell::new(20),
        }
    }
}

impl ReadinessView {
    /// Something asked of the worker has not come back yet.
    pub fn loading(&self) -> bool {
        self.waiting.is_some() || self.counting.is_some()
    }

    pub fn current(&self) -> Option<&ReadinessRow> {
        self.rows.get(self.selected)
    }
}

impl ReadinessView {
    /// Ask the worker for `read`; its ticket tells its answer from older ones.
    fn ask(read: Read) -> (u64, Effect) {
        let ticket = worker::ticket();
        (ticket, Effect::Job(Job::Read { ticket, read }))
    }

    /// Ask for a page of the report at `at`, to go `into` the rows held.
    fn ask_page(&mut self, at: Keyset<Key>, into: Place) -> Effect {
        let (ticket, job) = ReadinessView::ask(Read::ReadinessPage {
            sort: self.sort,
            at,
            limit: PAGE + 1,
        });
        self.waiting = Some((ticket, into));
        job
    }

    /// A read came back: keep it if it is the one still wanted. The
    /// report's export is said whether or not the report still shows.
    pub fn found(
        readiness: Option<&mut ReadinessView>,
        ticket: u64,
        found: std::result::Result<Found, String>,
    ) -> Effect {
        let found = match found {
            Ok(f) => f,
            Err(e) => {
                if let Some(r) = readiness {
                    if r.waiting.is_some_and(|(t, _)| t == ticket) {
                        r.waiting = None;
                    }
                    if r.counting == Some(ticket) {
                        r.counting = None;
                    }
                }
                return Effect::Say(Tone::Error, e);
            }
        };
        match found {
            Found::Exported { rows, path } => {
                return Effect::Say(
                    Tone::Ok,
                    format!("Wrote {rows} users to {}.", path.display()),
                );
            }
            Found::ReadinessCount { at_risk, users } => {
                if let Some(r) = readiness
                    && r.counting == Some(ticket)
                {
                    r.counting = None;
                    r.counted = Some((at_risk, users));
                }
            }
            Found::ReadinessPage(page) => {
                if let Some(r) = readiness
                    && let Some((t, into)) = r.waiting
                    && t == ticket
                {
                    r.waiting = None;
                    take_page(r, page, into);
                }
            }
            // The Audit screen's: never routed here.
            Found::Trail(_) => {}
        }
        Effect::None
    }

    /// Near either end of the rows held, ask for the page beyond it.
    fn read_ahead(&mut self) -> Effect {
        if self.waiting.is_some() {
            return Effect::None;
        }
        let screen = self.view.get().max(1);
        if self.more && self.selected + 2 * screen >= self.rows.len() {
            if let Some(last) = self.rows.last() {
                let at = Keyset::After(last.key.clone());
                return self.ask_page(at, Place::After);
            }
        } else if self.more_before
            && self.selected < 2 * screen
            && let Some(first) = self.rows.first()
        {
            let at = Keyset::Before(first.key.clone());
            return self.ask_page(at, Place::Before);
        }
        Effect::None
    }
}

impl View for ReadinessView {
    fn keys(&self) -> &'static [Binding] {
        KEYS
    }

    /// Read the rows held again (and the count), keeping the place.
    fn reload(&mut self, _: &Ctx) -> Result<Effect> {
        let (at, select) = match self.rows.first() {
            Some(first) if self.more_before => (
                Keyset::From(first.key.clone()),
                Select::Index(self.selected),
            ),
            _ => (Keyset::First, Select::Index(self.selected)),
        };
        let page = self.ask_page(at, Place::Replace { select });
        let (ticket, count) = ReadinessView::ask(Read::ReadinessCount);
        self.counting = Some(ticket);
        Ok(Effect::Many(vec![page, count]))
    }

    fn handle(&mut self, action: Action, _: &Ctx) -> Effect {
        match action {
            Action::Back => Effect::Back,
            Action::CycleSort => {
                self.sort = match self.sort {
                    Sort::Risk => Sort::Email,
                    Sort::Email => Sort::Codes,
                    Sort::Codes => Sort::Risk,
                };
                self.rows.clear();
                self.selected = 0;
                self.more_before = false;
                self.ask_page(
                    Keyset::First,
                    Place::Replace {
                        select: Select::Index(0),
                    },
                )
            }
            Action::Export => Effect::Popup(Box::new(Form::new(
                "Export readiness",
                vec![
                    "File to write (a new file; .json writes JSON, anything else CSV):".to_owned(),
                ],
                "readiness.csv",
                Purpose::Answer,
            ))),
            Action::Open => match self.current() {
                Some(x) => Effect::Open(Screen::User(x.email.clone())),
                None => Effect::None,
            },
            Action::Top if self.more_before => self.ask_page(
                Keyset::First,
                Place::Replace {
                    select: Select::Index(0),
                },
            ),
            Action::Top => {
                self.selected = 0;
                Effect::None
            }
            Action::Bottom if self.more => self.ask_page(
                Keyset::Last,
                Place::Replace {
                    select: Select::Last,
                },
            ),
            Action::Bottom => {
                self.selected = self.rows.len().saturating_sub(1);
                Effect::None
            }
            _ => {
                let screen = self.view.get().max(1);
                self.selected = step(self.selected, self.rows.len(), action, screen);
                self.read_ahead()
            }
        }
    }

    /// The export's file name: start writing the report to it (`.json`:
    /// JSON, else CSV).
    fn answer(&mut self, value: &str, _: &Ctx) -> std::result::Result<Effect, String> {
        let path = std::path::PathBuf::from(value.trim());
        if path.as_os_str().is_empty() {
            return Err("Type a file name to write the report to.".to_owned());
        }
        let format = if path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("json"))
        {
            Format::Json
        } else {
            Format::Csv
        };
        let (_, job) = ReadinessView::ask(Read::ExportReadiness {
            sort: self.sort,
            format,
            path,
        });
        Ok(Effect::Many(vec![
            job,
            Effect::Say(Tone::Info, "Writing the report…".to_owned()),
        ]))
    }

    fn render(&self, cx: &Ctx, area: Rect, buf: &mut Buffer) {
        render(self, cx.theme, area, buf);
    }
}

/// Put a page that came back where it was asked to go.
fn take_page(r: &mut ReadinessView, mut page: Vec<ReadinessRow>, into: Place) {
    let full = page.len() > PAGE as usize;
    page.truncate(PAGE as usize);
    match into {
        Place::Replace { select } => {
            r.rows = page;
            r.more = full;
            r.selected = match select {
                Select::Index(i) => i.min(r.rows.len().saturating_sub(1)),
                Select::Last => r.rows.len().saturating_sub(1),
            };
            if select == Select::Last {
                // Read backwards from the end: the page is the list's last.
                r.more_before = full;
                r.more = false;
            }
        }
        Place::After => {
            r.more = full;
            r.rows.extend(page);
            let drop = r.rows.len().saturating_sub(HELD);
            if drop > 0 {
                r.rows.drain(..drop);
                r.selected = r.selected.saturating_sub(drop);
                r.more_before = true;
            }
        }
        Place::Before => {
            r.more_before = full;
            let added = page.len();
            page.append(&mut r.rows);
            r.rows = page;
            r.selected += added;
            if r.rows.len() > HELD {
                r.rows.truncate(HELD);
                r.more = true;
            }
        }
    }
}

fn problems(row: &ReadinessRow) -> String {
    row.problems
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

fn render(r: &ReadinessView, theme: Theme, area: Rect, buf: &mut Buffer) {
    let count = match r.counted {
        Some((at_risk, users)) => format!("{at_risk} of {users} users at risk"),
        None => "counting users at risk…".to_owned(),
    };
    let title = format!("Recovery readiness: {count} (sorted by {})", r.sort);
    let block = panel(&title, theme, true);
    let inner = block.inner(area);
    block.render(area, buf);
    if r.rows.is_empty() {
        let (text, style) = if r.loading() {
            ("Rating every user…", theme.dim())
        } else {
            (
                "Nobody: every user has a working factor and backup codes.",
                theme.ok(),
            )
        };
        Paragraph::new(Span::styled(text, style)).render(inner, buf);
        return;
    }
    let [head, body, why, legend] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Fill(1),
        Constraint::Length(2),
        Constraint::Length(1),
    ])
    .areas(inner);
    let mut legend_text = format!(" {}", strings::CODES_LEGEND);
    if r.waiting.is_some() {
        legend_text.push_str("   reading more…");
    }
    Paragraph::new(Line::styled(legend_text, theme.dim())).render(legend, buf);
    let w = usize::from(inner.width);
    let email_w = 28.min(w / 3);
    let problems_w = w.saturating_sub(email_w + 10 + 7 + 6 + 1);
    // The whole of why the selected user is here, which the column cuts.
    if let Some(x) = r.current() {
        let text = format!("{}: {}.", x.email, problems(x));
        let lines: Vec<Line> = crate::tui::widgets::wrap(&text, w, " ", " ")
            .into_iter()
            .map(|l| Line::styled(l, theme.dim()))
            .collect();
        Paragraph::new(lines).render(why, buf);
    }
    let header = format!(
        " {:<email_w$}{:<10}{:<7}{:<6}{}",
        "EMAIL", "FACTORS", "CODES", "RISK", "WHY"
    );
    buf.set_line(
        head.x,
        head.y,
        &Line::styled(header, theme.dim()),
        head.width,
    );
    r.view.set(usize::from(body.height).max(1));
    for (row, i) in window(r.rows.len(), r.selected, usize::from(body.height)).enumerate() {
        let x = &r.rows[i];
        let factors = if x.factors.is_empty() {
            "none".to_owned()
        } else {
            x.factors
                .iter()
                .map(|k| k.as_str())
                .collect::<Vec<_>>()
                .join(",")
        };
        let codes = if x.codes_total == 0 {
            "none".to_owned()
        } else {
            format!("{}/{}", x.codes_left, x.codes_total)
        };
        let style = if x.risk >= 50 {
            theme.bad()
        } else {
            theme.warn()
        };
        let line = Line::from(vec![
            Span::raw(format!(" {:<email_w$}", cut(&x.email, email_w - 1))),
            Span::raw(format!("{:<10}", cut(&factors, 9))),
            Span::raw(format!("{codes:<7}")),
            Span::styled(format!("{:<6}", x.risk), style),
            Span::raw(cut(&problems(x), problems_w)),
        ]);
        draw_row(buf, body, row, &line, i == r.selected, theme);
    }
}
