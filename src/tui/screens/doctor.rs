//! The doctor on the user screen: a compact panel of findings, and the full
//! view with evidence, the fix for each (Enter does it), the code check and resync.

use ratatui::buffer::Buffer;
use ratatui::crossterm::event::KeyCode;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget, Wrap};

use crate::desk::doctor::DoctorReport;
use crate::domain::doctor::{Finding, Fix, Severity, SkewCheck};
use crate::domain::{FactorKind, FactorStatus};
use crate::tui::keys::{Action, Binding, ch, named};
use crate::tui::popup::{Pending, Popup, Purpose};
use crate::tui::theme::Theme;
use crate::tui::widgets::{cut, panel, wrap};
use crate::tui::{App, Tone};

/// Keys of the full doctor view.
pub const KEYS: &[Binding] = &[
    named(
        KeyCode::Enter,
        None,
        Action::Open,
        "do the selected fix",
        true,
    ),
    ch('v', Action::CheckSkew, "check a code they read out", true),
    ch('S', Action::Resync, "resync from two codes", true),
    ch('Z', Action::ClearDrift, "clear a learned drift", false),
    named(KeyCode::Esc, None, Action::Back, "back", true),
];

fn badge(s: Severity, theme: Theme) -> Span<'static> {
    let (text, style) = match s {
        Severity::Blocking => ("BLOCKING", theme.bad()),
        Severity::Warning => ("WARNING ", theme.warn()),
        Severity::Info => ("INFO    ", theme.text()),
        Severity::Ok => ("OK      ", theme.ok()),
    };
    Span::styled(text, style)
}

fn fix_hint(f: &Finding, theme: Theme) -> Vec<Span<'static>> {
    match f.key {
        Some(k) => vec![Span::raw("  "), Span::styled(format!("[{k}]"), theme.key())],
        None => Vec::new(),
    }
}

/// The compact panel: one line per finding, the first one explained.
pub fn render_panel(
    r: &DoctorReport,
    selected: usize,
    focused: bool,
    theme: Theme,
    area: Rect,
    buf: &mut Buffer,
) {
    let block = panel("Doctor: why can't they log in? (o opens)", theme, focused);
    let inner = block.inner(area);
    block.render(area, buf);
    let w = usize::from(inner.width);
    let mut lines = Vec::new();
    for (i, f) in r.findings.iter().enumerate() {
        let mut spans = vec![badge(f.severity, theme), Span::raw(" ")];
        let hint = fix_hint(f, theme);
        let hint_w: usize = hint.iter().map(Span::width).sum();
        spans.push(Span::styled(
            cut(&f.title, w.saturating_sub(10 + hint_w)),
            theme.heading(),
        ));
        spans.extend(hint);
        let style = if focused && i == selected {
            theme.selected()
        } else {
            Style::new()
        };
        lines.push(Line::from(spans).style(style));
        if i == selected {
            lines.push(Line::styled(f.explanation.clone(), theme.text()));
        }
    }
    Paragraph::new(lines)
        .wrap(Wrap { trim: true })
        .render(inner, buf);
}

/// The full view: every finding with its evidence and fix.
pub fn render_full(
    r: &DoctorReport,
    selected: usize,
    check: Option<&SkewCheck>,
    theme: Theme,
    area: Rect,
    buf: &mut Buffer,
) {
    let block = panel(&format!("Doctor for {}", r.email), theme, true);
    let inner = block.inner(area);
    block.render(area, buf);
    let mut lines = Vec::new();
    if let Some(c) = check {
        for l in wrap(
            &c.message,
            usize::from(inner.width),
            "Code check: ",
            "            ",
        ) {
            lines.push(Line::styled(l, theme.heading()));
        }
        lines.push(Line::default());
    }
    let width = usize::from(inner.width);
    let mut selected_row = 0;
    for (i, f) in r.findings.iter().enumerate() {
        if i == selected {
            selected_row = lines.len();
        }
        let marker = if i == selected { "▶ " } else { "  " };
        let mut head = vec![
            Span::raw(marker),
            badge(f.severity, theme),
            Span::raw(" "),
            Span::styled(f.title.clone(), theme.heading()),
        ];
        head.extend(fix_hint(f, theme));
        lines.push(Line::from(head));
        for l in wrap(&f.explanation, width, "    ", "    ") {
            lines.push(Line::from(l));
        }
        for e in &f.evidence {
            for l in wrap(e, width, "    · ", "      ") {
                lines.push(Line::styled(l, theme.dim()));
            }
        }
        let key = f.key.map(|k| format!("[{k}] ")).unwrap_or_default();
        for l in wrap(
            &format!("{key}{}", f.action),
            width,
            "    Fix: ",
            "         ",
        ) {
            lines.push(Line::from(l));
        }
        lines.push(Line::default());
    }
    // Keep the selected finding in view.
    let scroll =
        u16::try_from(selected_row.saturating_sub(usize::from(inner.height) / 3)).unwrap_or(0);
    Paragraph::new(lines).scroll((scroll, 0)).render(inner, buf);
}

impl App {
    /// Do what a finding's fix says, as its key on the user screen would.
    pub(crate) fn doctor_fix(&mut self, fix: Fix) {
        let Some(u) = &mut self.user else { return };
        u.full_doctor = false;
        // Select the first factor in `status`, for the fix that acts on it.
        let mut select = |status: FactorStatus| {
            if let Some(i) = u.detail.factors.iter().position(|f| f.status == status) {
                u.focus = super::user::Focus::Factors;
                u.factor = i;
            }
        };
        let action = match fix {
            Fix::ConfirmPending => {
                select(FactorStatus::Pending);
                Action::ConfirmFactor
            }
            Fix::EnableFactor => {
                select(FactorStatus::Disabled);
                Action::ToggleFactor
            }
            Fix::AllowCountry => {
                self.user = None;
                self.tab = crate::tui::Tab::Policy;
                self.refresh();
                if let Some(i) = self
                    .policy
                    .items
                    .iter()
                    .position(|p| p.key == "sms_countries")
                {
                    self.policy.selected = i;
                }
                self.update(Action::Edit);
                return;
            }
            Fix::Nothing => {
                self.say(
                    Tone::Info,
                    "Nothing to change here: this is expected behaviour.",
                );
                return;
            }
            other => match other.key().and_then(|k| {
                super::user::KEYS
                    .iter()
                    .find(|b| b.code == KeyCode::Char(k))
            }) {
                Some(b) => b.action,
                None => return,
            },
        };
        self.user_action(action);
    }

    /// The authenticator factor the doctor's actions apply to.
    pub(crate) fn doctor_app_factor(&self) -> Option<i64> {
        let u = self.user.as_ref()?;
        let selected = u
            .detail
            .factors
            .get(u.factor)
            .filter(|f| f.kind == FactorKind::Totp);
        selected
            .or_else(|| {
                u.detail
                    .factors
                    .iter()
                    .find(|f| f.kind == FactorKind::Totp && f.status == FactorStatus::Active)
            })
            .map(|f| f.id)
    }

    pub(crate) fn doctor_action(&mut self, action: Action) -> bool {
        let Some(u) = &self.user else { return false };
        let email = u.email.clone();
        match action {
            Action::CheckSkew => {
                self.popup = Some(Popup::input(
                    "Check a code",
                    vec![
                        "Ask them to read the code their authenticator app shows now.".to_owned(),
                        "It is compared with every time within 10 minutes, and not used up:"
                            .to_owned(),
                    ],
                    "",
                    Purpose::CheckCode { email },
                ));
            }
            Action::Resync => match self.doctor_app_factor() {
                Some(id) => {
                    let mut lines = vec![
                        "Have them read the code their app shows, wait for the next one, and read that too.".to_owned(),
                    ];
                    // The simulated phone (with its clock offset) stands in for theirs.
                    let offset = if self.sim.email.as_deref() == Some(email.as_str()) {
                        self.sim.phone_offset
                    } else {
                        0
                    };
                    let read = |extra: i64| {
                        self.desk
                            .authenticator_code(
                                &email,
                                id,
                                chrono::TimeDelta::seconds(offset + extra),
                            )
                            .unwrap_or_default()
                    };
                    lines.push(format!(
                        "(The simulated phone showed {} just before and shows {} now.)",
                        read(-30),
                        read(0)
                    ));
                    lines.push("Type both, separated by a space:".to_owned());
                    self.popup = Some(Popup::input(
                        "Resync authenticator",
                        lines,
                        "",
                        Purpose::Resync {
                            email,
                            factor_id: id,
                        },
                    ));
                }
                None => self.say(Tone::Info, "They have no authenticator app to resync."),
            },
            Action::ClearDrift => match self.doctor_app_factor() {
                Some(id) => {
                    self.popup = Some(Popup::confirm(
                        "Clear drift",
                        vec![format!(
                            "Forget the clock drift learned for factor {id} of {email}?"
                        )],
                        Pending::ClearDrift { email, id },
                    ));
                }
                None => self.say(Tone::Info, "They have no authenticator app."),
            },
            _ => return false,
        }
        true
    }
}
