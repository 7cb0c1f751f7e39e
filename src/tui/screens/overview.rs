//! Overview: 2FA coverage at a glance and the users who need attention now;
//! Enter opens the selected user.

use ratatui::buffer::Buffer;
use ratatui::crossterm::event::KeyCode;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use super::readiness::ReadinessView;
use crate::desk::Result;
use crate::desk::overview::{Concern, Overview, Stamp};
use crate::tui::keys::{Action, Binding, ch, named};
use crate::tui::pages::step;
use crate::tui::strings;
use crate::tui::theme::Theme;
use crate::tui::view::{Ctx, Effect, News, Screen, View};
use crate::tui::widgets::{cut, draw_row, panel, window};
use crate::tui::worker::{Done, Reader};

pub const KEYS: &[Binding] = &[
    named(KeyCode::Enter, None, Action::Open, "open user", true),
    ch('r', Action::Readiness, "recovery readiness", true),
];

#[derive(Debug, Default)]
pub struct OverviewScreen {
    data: Option<Overview>,
    selected: usize,
    /// The readiness report, while it is showing.
    readiness: Option<ReadinessView>,
    /// What the figures were read at: unchanged, they are not read again.
    stamp: Option<Stamp>,
}

impl View for OverviewScreen {
    fn keys(&self) -> &'static [Binding] {
        match &self.readiness {
            Some(r) => r.keys(),
            None => KEYS,
        }
    }

    fn reload(&mut self, cx: &Ctx) -> Result<Effect> {
        if let Some(r) = &mut self.readiness {
            return r.reload(cx);
        }
        let stamp = cx.desk.stamp()?;
        if self.data.is_some() && self.stamp == Some(stamp) {
            return Ok(Effect::None);
        }
        let data = cx.desk.overview()?;
        self.selected = self.selected.min(data.attention.len().saturating_sub(1));
        self.data = Some(data);
        self.stamp = Some(stamp);
        Ok(Effect::None)
    }

    fn handle(&mut self, action: Action, cx: &Ctx) -> Effect {
        if let Some(r) = &mut self.readiness {
            return match r.handle(action, cx) {
                Effect::Back => {
                    self.readiness = None;
                    Effect::None
                }
                other => other,
            };
        }
        match action {
            // Rated afresh, from its first row.
            Action::Readiness => {
                let r = self.readiness.insert(ReadinessView::default());
                Effect::or_fail(r.reload(cx))
            }
            Action::Open => match self
                .data
                .as_ref()
                .and_then(|d| d.attention.get(self.selected))
            {
                Some(a) => Effect::Open(Screen::User(a.email.clone())),
                None => Effect::None,
            },
            _ => {
                let len = self.data.as_ref().map_or(0, |d| d.attention.len());
                self.selected = step(self.selected, len, action, 10);
                Effect::None
            }
        }
    }

    fn answer(&mut self, value: &str, cx: &Ctx) -> std::result::Result<Effect, String> {
        match &mut self.readiness {
            Some(r) => r.answer(value, cx),
            None => Ok(Effect::None),
        }
    }

    /// The readiness report's reads, and its export, which is said even
    /// when the report was closed meanwhile.
    fn tell(&mut self, news: News, _: &Ctx) -> std::result::Result<Effect, News> {
        match news {
            News::Done(done) => match *done {
                Done::Read {
                    ticket,
                    reader: Reader::Readiness,
                    result,
                } => Ok(ReadinessView::found(
                    self.readiness.as_mut(),
                    ticket,
                    result,
                )),
                other => Err(News::Done(Box::new(other))),
            },
            other => Err(other),
        }
    }

    fn render(&self, cx: &Ctx, area: Rect, buf: &mut Buffer) {
        match &self.readiness {
            Some(r) => r.render(cx, area, buf),
            None => render(self, cx.theme, area, buf),
        }
    }
}

fn concern_label(c: Concern) -> &'static str {
    match c {
        Concern::Locked => "locked",
        Concern::GraceOver => "no factor",
        Concern::Replayed => "code reused",
        Concern::Pending => "pending",
        Concern::FailedDelivery => "not delivered",
        Concern::CodesOut => "codes used up",
        Concern::CodesLow => "codes low",
    }
}

fn render(s: &OverviewScreen, theme: Theme, area: Rect, buf: &mut Buffer) {
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
    // As wide as the longest email shown, so the detail keeps the rest: on
    // a narrow terminal at most 28 columns, on a wide one a third of it.
    let longest = d
        .attention
        .iter()
        .map(|a| a.email.chars().count())
        .max()
        .unwrap_or(0);
    let cap = if w >= 120 { w / 3 } else { 28.min(w / 3) };
    let email_w = longest.clamp(10, cap.max(10));
    let label_w = 13;
    for (row, i) in window(d.attention.len(), s.selected, usize::from(inner.height)).enumerate() {
        let a = &d.attention[i];
        let style = match a.concern {
            Concern::Locked
            | Concern::GraceOver
            | Concern::Replayed
            | Concern::FailedDelivery
            | Concern::CodesOut => theme.bad(),
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
