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

use crate::desk::Keyset;
use crate::desk::readiness::{Format, Key, ReadinessRow, Sort};
use crate::tui::keys::{Action, Binding, ch, named};
use crate::tui::popup::{Popup, Purpose};
use crate::tui::theme::Theme;
use crate::tui::widgets::{cut, draw_row, panel, window};
use crate::tui::worker::{Found, Job, Read};
use crate::tui::{App, Tone, strings};

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
    pub sort: Sort,
    pub rows: Vec<ReadinessRow>,
    pub selected: usize,
    /// The report goes on before / after the rows held.
    pub more_before: bool,
    pub more: bool,
    /// Users at risk, and users, once counted.
    pub counted: Option<(u64, u64)>,
    /// The page asked for last, not yet back: its ticket and where it goes.
    waiting: Option<(u64, Place)>,
    /// The count asked for last.
    counting: Option<u64>,
    /// Rows drawn last time: a screenful.
    pub view: std::cell::Cell<usize>,
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

impl App {
    /// Ask the worker for `read`; its answer comes back with the ticket.
    pub(super) fn ask(&mut self, read: Read) -> u64 {
        self.tickets += 1;
        let ticket = self.tickets;
        self.worker.submit(&self.desk, Job::Read { ticket, read });
        ticket
    }

    /// Ask for a page of the report at `at`, to go `into` the rows held.
    fn ask_page(&mut self, at: Keyset<Key>, into: Place) {
        let Some(sort) = self.overview.readiness.as_ref().map(|r| r.sort) else {
            return;
        };
        let ticket = self.ask(Read::ReadinessPage {
            sort,
            at,
            limit: PAGE + 1,
        });
        if let Some(r) = &mut self.overview.readiness {
            r.waiting = Some((ticket, into));
        }
    }

    /// Show the report, rated afresh from its first row.
    pub(crate) fn open_readiness(&mut self) {
        self.overview.readiness = Some(ReadinessView::default());
        self.reload_readiness();
    }

    /// Read the rows held again (and the count), keeping the place.
    pub(crate) fn reload_readiness(&mut self) {
        let Some(r) = &self.overview.readiness else {
            return;
        };
        let (at, select) = match r.rows.first() {
            Some(first) if r.more_before => {
                (Keyset::From(first.key.clone()), Select::Index(r.selected))
            }
            _ => (Keyset::First, Select::Index(r.selected)),
        };
        self.ask_page(at, Place::Replace { select });
        let ticket = self.ask(Read::ReadinessCount);
        if let Some(r) = &mut self.overview.readiness {
            r.counting = Some(ticket);
        }
    }

    /// A read came back: keep it if it is the one still wanted.
    pub(crate) fn readiness_found(&mut self, ticket: u64, found: Result<Found, String>) {
        let found = match found {
            Ok(f) => f,
            Err(e) => {
                if let Some(r) = &mut self.overview.readiness {
                    if r.waiting.is_some_and(|(t, _)| t == ticket) {
                        r.waiting = None;
                    }
                    if r.counting == Some(ticket) {
                        r.counting = None;
                    }
                }
                return self.say(Tone::Error, e);
            }
        };
        match found {
            Found::Exported { rows, path } => self.say(
                Tone::Ok,
                format!("Wrote {rows} users to {}.", path.display()),
            ),
            Found::ReadinessCount { at_risk, users } => {
                if let Some(r) = &mut self.overview.readiness
                    && r.counting == Some(ticket)
                {
                    r.counting = None;
                    r.counted = Some((at_risk, users));
                }
            }
            Found::ReadinessPage(page) => {
                if let Some(r) = &mut self.overview.readiness
                    && let Some((t, into)) = r.waiting
                    && t == ticket
                {
                    r.waiting = None;
                    take_page(r, page, into);
                }
            }
            // A slice of a check of the chain no longer wanted (`v` began
            // another).
            Found::Trail(_) => {}
        }
    }

    pub(crate) fn readiness_action(&mut self, action: Action) {
        let Some(r) = &mut self.overview.readiness else {
            return;
        };
        match action {
            Action::Back => self.overview.readiness = None,
            Action::CycleSort => {
                r.sort = match r.sort {
                    Sort::Risk => Sort::Email,
                    Sort::Email => Sort::Codes,
                    Sort::Codes => Sort::Risk,
                };
                r.rows.clear();
                r.selected = 0;
                r.more_before = false;
                self.ask_page(
                    Keyset::First,
                    Place::Replace {
                        select: Select::Index(0),
                    },
                );
            }
            Action::Export => {
                self.popup = Some(Popup::input(
                    "Export readiness",
                    vec![
                        "File to write (a new file; .json writes JSON, anything else CSV):"
                            .to_owned(),
                    ],
                    "readiness.csv",
                    Purpose::ExportReadiness,
                ));
            }
            Action::Open => {
                if let Some(email) = r.current().map(|x| x.email.clone()) {
                    self.open_user(&email);
                }
            }
            Action::Top => {
                if r.more_before {
                    self.ask_page(
                        Keyset::First,
                        Place::Replace {
                            select: Select::Index(0),
                        },
                    );
                } else {
                    r.selected = 0;
                }
            }
            Action::Bottom => {
                if r.more {
                    self.ask_page(
                        Keyset::Last,
                        Place::Replace {
                            select: Select::Last,
                        },
                    );
                } else {
                    r.selected = r.rows.len().saturating_sub(1);
                }
            }
            _ => {
                let screen = r.view.get().max(1);
                r.selected = super::step(r.selected, r.rows.len(), action, screen);
                self.read_ahead();
            }
        }
    }

    /// Near either end of the rows held, ask for the page beyond it.
    fn read_ahead(&mut self) {
        let Some(r) = &self.overview.readiness else {
            return;
        };
        if r.waiting.is_some() {
            return;
        }
        let screen = r.view.get().max(1);
        if r.more && r.selected + 2 * screen >= r.rows.len() {
            if let Some(last) = r.rows.last() {
                let at = Keyset::After(last.key.clone());
                self.ask_page(at, Place::After);
            }
        } else if r.more_before
            && r.selected < 2 * screen
            && let Some(first) = r.rows.first()
        {
            let at = Keyset::Before(first.key.clone());
            self.ask_page(at, Place::Before);
        }
    }

    /// Start writing the report to `value` (`.json`: JSON, else CSV).
    pub(crate) fn export_readiness(&mut self, value: &str) -> Result<(), String> {
        let path = std::path::PathBuf::from(value.trim());
        if path.as_os_str().is_empty() {
            return Err("Type a file name to write the report to.".to_owned());
        }
        let sort = self
            .overview
            .readiness
            .as_ref()
            .map(|r| r.sort)
            .ok_or("Nothing to export.")?;
        let format = if path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("json"))
        {
            Format::Json
        } else {
            Format::Csv
        };
        self.ask(Read::ExportReadiness { sort, format, path });
        if self.worker.busy() {
            self.say(Tone::Info, "Writing the report…");
        }
        Ok(())
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

pub fn render(r: &ReadinessView, theme: Theme, area: Rect, buf: &mut Buffer) {
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
