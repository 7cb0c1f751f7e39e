//! Overview: 2FA coverage at a glance and the users who need attention now;
//! Enter opens the selected user.

use ratatui::buffer::Buffer;
use ratatui::crossterm::event::KeyCode;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use super::readiness::ReadinessView;
use crate::desk::overview::{Concern, Overview, Stamp};
use crate::desk::{Desk, Result};
use crate::tui::keys::{Action, Binding, ch, named};
use crate::tui::theme::Theme;
use crate::tui::widgets::{cut, draw_row, panel, window};
use crate::tui::{App, strings};

pub const KEYS: &[Binding] = &[
    named(KeyCode::Enter, None, Action::Open, "open user", true),
    ch('r', Action::Readiness, "recovery readiness", true),
];

#[derive(Debug, Default)]
pub struct OverviewScreen {
    pub data: Option<Overview>,
    pub selected: usize,
    /// The readiness report, while it is showing.
    pub readiness: Option<ReadinessView>,
    /// What the figures were read at: unchanged, they are not read again.
    stamp: Option<Stamp>,
}

impl OverviewScreen {
    pub fn reload(&mut self, desk: &Desk) -> Result<()> {
        let stamp = desk.stamp()?;
        if self.data.is_some() && self.stamp == Some(stamp) {
            return Ok(());
        }
        let data = desk.overview()?;
        self.selected = self.selected.min(data.attention.len().saturating_sub(1));
        self.data = Some(data);
        self.stamp = Some(stamp);
        Ok(())
    }
}

impl App {
    pub(crate) fn overview_action(&mut self, action: Action) {
        if self.overview.readiness.is_some() {
            return self.readiness_action(action);
        }
        if action == Action::Readiness {
            self.open_readiness();
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
    if let Some(r) = &s.readiness {
        return super::readiness::render(r, theme, area, buf);
    }
    let Some(d) = &s.data else { return };
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
