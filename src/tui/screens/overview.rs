//! Overview: 2FA coverage at a glance and the users who need attention now;
//! Enter opens the selected user.

use ratatui::buffer::Buffer;
use ratatui::crossterm::event::KeyCode;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use crate::desk::overview::{Concern, Overview};
use crate::desk::readiness::{Readiness, Sort};
use crate::desk::{Desk, Result};
use crate::tui::keys::{Action, Binding, ch, named};
use crate::tui::popup::{Popup, Purpose};
use crate::tui::theme::Theme;
use crate::tui::widgets::{cut, draw_row, panel, window};
use crate::tui::{App, strings};

pub const KEYS: &[Binding] = &[
    named(KeyCode::Enter, None, Action::Open, "open user", true),
    ch('r', Action::Readiness, "recovery readiness", true),
];

/// Keys while the readiness report is showing.
pub const READINESS_KEYS: &[Binding] = &[
    named(KeyCode::Enter, None, Action::Open, "open user", true),
    ch('s', Action::CycleSort, "sort", true),
    ch('w', Action::Export, "export (.csv or .json)", true),
    named(KeyCode::Esc, None, Action::Back, "back", true),
];

#[derive(Debug, Default)]
pub struct OverviewScreen {
    pub data: Option<Overview>,
    pub selected: usize,
    /// The readiness report, while it is showing.
    pub readiness: Option<(Sort, Readiness)>,
    pub row: usize,
}

impl OverviewScreen {
    pub fn reload(&mut self, desk: &Desk) -> Result<()> {
        if let Some((sort, r)) = &mut self.readiness {
            *r = desk.readiness(*sort)?;
            self.row = self.row.min(r.rows.len().saturating_sub(1));
        }
        let data = desk.overview()?;
        self.selected = self.selected.min(data.attention.len().saturating_sub(1));
        self.data = Some(data);
        Ok(())
    }
}

impl App {
    fn readiness_action(&mut self, action: Action) {
        let Some((sort, report)) = &mut self.overview.readiness else {
            return;
        };
        match action {
            Action::Back => self.overview.readiness = None,
            Action::CycleSort => {
                *sort = match sort {
                    Sort::Risk => Sort::Email,
                    Sort::Email => Sort::Codes,
                    Sort::Codes => Sort::Risk,
                };
                self.overview.row = 0;
                self.refresh();
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
                if let Some(email) = report.rows.get(self.overview.row).map(|r| r.email.clone()) {
                    self.open_user(&email);
                }
            }
            _ => self.overview.row = super::step(self.overview.row, report.rows.len(), action, 10),
        }
    }

    pub(crate) fn overview_action(&mut self, action: Action) {
        if self.overview.readiness.is_some() {
            return self.readiness_action(action);
        }
        if action == Action::Readiness {
            self.overview.readiness = Some((
                Sort::Risk,
                Readiness {
                    users: 0,
                    at_risk: 0,
                    rows: Vec::new(),
                },
            ));
            self.overview.row = 0;
            self.refresh();
            return;
        }
        let len = self.overview.data.as_ref().map_or(0, |d| d.attention.len());
        match action {
            Action::Open => {
                let email = self
                    .overview
                    .data
                    .as_ref()
                    .and_then(|d| d.attention.get(self.overview.selected))
                    .map(|a| a.email.clone());
                if let Some(email) = email {
                    self.open_user(&email);
                }
            }
            _ => self.overview.selected = super::step(self.overview.selected, len, action, 10),
        }
    }
}

fn concern_label(c: Concern) -> &'static str {
    match c {
        Concern::Locked => "locked",
        Concern::GraceOver => "no factor",
        Concern::Pending => "pending",
        Concern::FailedDelivery => "not delivered",
        Concern::CodesOut => "codes used up",
        Concern::CodesLow => "codes low",
    }
}

pub fn render(s: &OverviewScreen, theme: Theme, area: Rect, buf: &mut Buffer) {
    let Some(d) = &s.data else { return };
    if let Some((sort, r)) = &s.readiness {
        return render_readiness(*sort, r, s.row, theme, area, buf);
    }
    let [top, list] = Layout::vertical([Constraint::Length(6), Constraint::Fill(1)]).areas(area);
    let block = panel("2FA coverage", theme, false);
    let inner = block.inner(top);
    block.render(top, buf);
    let width = usize::from(inner.width).saturating_sub(36).clamp(10, 40);
    let filled = usize::try_from(d.coverage_pct).unwrap_or(0) * width / 100;
    let number =
        |n: u64, style| Span::styled(n.to_string(), if n > 0 { style } else { theme.ok() });
    let lines = vec![
        Line::from(format!(
            "{} users: {} active, {} disabled",
            d.users, d.active, d.disabled
        )),
        Line::from(vec![
            Span::raw(format!("With a second factor {:>6}  ", d.with_factor)),
            Span::styled("█".repeat(filled), theme.ok()),
            Span::styled("░".repeat(width - filled), theme.dim()),
            Span::raw(format!(" {}%", d.coverage_pct)),
        ]),
        Line::from(vec![
            Span::raw("Locked now "),
            number(d.locked, theme.bad()),
            Span::raw("   Past grace, no factor "),
            number(d.grace_over, theme.bad()),
            Span::raw("   Pending enrolments "),
            number(d.pending, theme.warn()),
        ]),
        Line::from(vec![
            Span::raw("Low backup codes "),
            number(d.low_codes, theme.warn()),
            Span::raw("   Failed messages (24 h) "),
            number(d.failed_deliveries_24h, theme.bad()),
            Span::styled(format!("   Audit events {}", d.audit_events), theme.dim()),
        ]),
    ];
    Paragraph::new(lines).render(inner, buf);

    let block = panel(
        &format!("Needs attention ({})", d.attention.len()),
        theme,
        true,
    );
    let inner = block.inner(list);
    block.render(list, buf);
    if d.attention.is_empty() {
        Paragraph::new(Span::styled(strings::NO_ATTENTION, theme.ok())).render(inner, buf);
        return;
    }
    let w = usize::from(inner.width);
    // As wide as the longest email shown, so the detail keeps the rest.
    let longest = d
        .attention
        .iter()
        .map(|a| a.email.chars().count())
        .max()
        .unwrap_or(0);
    let email_w = longest.clamp(10, 28.min(w / 3));
    let label_w = 13;
    for (row, i) in window(d.attention.len(), s.selected, usize::from(inner.height)).enumerate() {
        let a = &d.attention[i];
        let style = match a.concern {
            Concern::Locked | Concern::GraceOver | Concern::FailedDelivery | Concern::CodesOut => {
                theme.bad()
            }
            Concern::Pending | Concern::CodesLow => theme.warn(),
        };
        let detail_w = w.saturating_sub(email_w + label_w + 4);
        let line = Line::from(vec![
            Span::styled(format!(" {:<label_w$}", concern_label(a.concern)), style),
            Span::raw(format!(" {:<email_w$} ", cut(&a.email, email_w))),
            Span::raw(cut(&a.detail, detail_w)),
        ]);
        draw_row(buf, inner, row, &line, i == s.selected, theme);
    }
}

fn render_readiness(
    sort: Sort,
    r: &Readiness,
    selected: usize,
    theme: Theme,
    area: Rect,
    buf: &mut Buffer,
) {
    let title = format!(
        "Recovery readiness: {} of {} users at risk (sorted by {sort})",
        r.at_risk, r.users
    );
    let block = panel(&title, theme, true);
    let inner = block.inner(area);
    block.render(area, buf);
    if r.rows.is_empty() {
        Paragraph::new(Span::styled(
            "Nobody: every user has a working factor and backup codes.",
            theme.ok(),
        ))
        .render(inner, buf);
        return;
    }
    let [head, body, why, legend] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Fill(1),
        Constraint::Length(2),
        Constraint::Length(1),
    ])
    .areas(inner);
    Paragraph::new(Line::styled(
        format!(" {}", strings::CODES_LEGEND),
        theme.dim(),
    ))
    .render(legend, buf);
    let w = usize::from(inner.width);
    let email_w = 28.min(w / 3);
    let problems_w = w.saturating_sub(email_w + 10 + 7 + 6 + 1);
    // The whole of why the selected user is here, which the column cuts.
    if let Some(x) = r.rows.get(selected) {
        let text = format!("{}: {}.", x.email, x.problems.join("; "));
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
    for (row, i) in window(r.rows.len(), selected, usize::from(body.height)).enumerate() {
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
            Span::raw(cut(&x.problems.join("; "), problems_w)),
        ]);
        draw_row(buf, body, row, &line, i == selected, theme);
    }
}
