//! The doctor: its panel on the user screen, and its own view over it with the
//! evidence and the fix for each (Enter does it there), the code check, resync.

use chrono::TimeDelta;
use ratatui::buffer::Buffer;
use ratatui::crossterm::event::KeyCode;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget, Wrap};

use crate::desk::doctor::DoctorReport;
use crate::desk::views::{FactorView, UserDetail};
use crate::desk::{Desk, Result};
use crate::domain::doctor::{Act, Finding, Part, Severity, SkewCheck};
use crate::domain::{FactorKind, FactorStatus};
use crate::tui::command::Change;
use crate::tui::keys::{Action, Binding, act_action, act_key, ch, fix_action, fix_key, named};
use crate::tui::pages::step;
use crate::tui::popups::confirm::Confirm;
use crate::tui::popups::form::{Form, Purpose};
use crate::tui::strings;
use crate::tui::theme::{Theme, Tone};
use crate::tui::view::{Ctx, Effect, News, Todo, View};
use crate::tui::widgets::profile::profile;
use crate::tui::widgets::{cut, panel, wrap};

/// Keys of the full doctor view: its own, and each key it names in `[k]`
/// or "press k", which leaves it and does that on the user's screen.
pub const KEYS: &[Binding] = &[
    named(
        KeyCode::Enter,
        None,
        Action::Open,
        "do the selected fix",
        true,
    ),
    // How to leave comes before what fits only wide (`q` no longer quits).
    named(KeyCode::Esc, None, Action::Back, "back", true),
    ch('q', Action::Back, "back", false),
    ch('v', Action::CheckSkew, "check a code they read out", true),
    ch('S', Action::Resync, "resync from two codes", true),
    ch('Z', Action::ClearDrift, "clear a learned drift", false),
    ch('D', Action::ToggleAccount, "enable the account", false),
    ch('u', Action::Unlock, "unlock 2FA", false),
    ch(
        'c',
        Action::ConfirmFactor,
        "confirm the pending factor",
        false,
    ),
    ch(
        'd',
        Action::ToggleFactor,
        "enable the disabled factor",
        false,
    ),
    ch('x', Action::RemoveFactor, "remove the factor named", false),
    ch('t', Action::EnrolTotp, "enrol an authenticator app", false),
    ch('b', Action::RegenerateCodes, "new backup codes", false),
    ch('N', Action::Reenrol, "replace a lost authenticator", false),
    ch(
        'C',
        Action::TreatAsCompromised,
        "treat as compromised",
        false,
    ),
    ch('X', Action::Reset2fa, "reset 2FA", false),
    ch('R', Action::RevokeAllDevices, "revoke all devices", false),
    ch(
        'e',
        Action::ToggleEveryLogin,
        "toggle \"ask on every login\"",
        false,
    ),
    ch('p', Action::SetPassword, "set a password", false),
    ch('M', Action::ChangePhone, "change the mobile number", false),
    ch('l', Action::Simulate, "simulate their login", false),
];

/// The doctor in full, over the user's screen: their profile, then every
/// finding. Leaving it hands the user screen the last code checked here
/// and what to do there: the selected fix (Enter), or a key it names.
#[derive(Debug)]
pub struct DoctorView {
    email: String,
    detail: UserDetail,
    report: DoctorReport,
    finding: usize,
    check: Option<SkewCheck>,
    /// The factor selected on the user's screen.
    selected: Option<i64>,
}

impl DoctorView {
    pub fn load(
        desk: &Desk,
        email: &str,
        check: Option<SkewCheck>,
        selected: Option<i64>,
    ) -> Result<DoctorView> {
        let detail = desk.user(email)?;
        let report = desk.diagnose(email)?;
        Ok(DoctorView {
            email: detail.profile.email.clone(),
            detail,
            report,
            finding: 0,
            check,
            selected,
        })
    }

    /// Leave, telling the user screen the last check and what to do.
    fn leave(&self, todo: Option<Todo>) -> Effect {
        Effect::Return(News::Doctor {
            check: self.check.clone(),
            todo,
        })
    }

    /// A key the doctor names: on the factor the finding that names it
    /// acts on (the selected finding first).
    fn key(&self, action: Action) -> Todo {
        let names = |f: &&Finding| {
            fix_action(f.fix) == Some(action) || f.acts().any(|a| act_action(a) == Some(action))
        };
        let finding = self
            .report
            .findings
            .get(self.finding)
            .filter(names)
            .or_else(|| self.report.findings.iter().find(names));
        Todo::Key {
            action,
            factor: finding.and_then(|f| fix_factor(f, action)),
        }
    }
}

/// The factor a finding's action acts on, where it names one.
pub fn fix_factor(f: &Finding, action: Action) -> Option<i64> {
    f.acts()
        .filter(|a| act_action(a) == Some(action))
        .find_map(Act::factor)
}

impl View for DoctorView {
    fn keys(&self) -> &'static [Binding] {
        KEYS
    }

    fn reload(&mut self, cx: &Ctx) -> Result<Effect> {
        self.detail = cx.desk.user(&self.email)?;
        self.report = cx.desk.diagnose(&self.email)?;
        self.finding = self
            .finding
            .min(self.report.findings.len().saturating_sub(1));
        Ok(Effect::None)
    }

    fn handle(&mut self, action: Action, cx: &Ctx) -> Effect {
        match action {
            Action::Back => self.leave(None),
            Action::Open => match self.report.findings.get(self.finding) {
                Some(f) => self.leave(Some(Todo::Fix {
                    fix: f.fix,
                    factor: fix_action(f.fix).and_then(|a| fix_factor(f, a)),
                })),
                None => Effect::None,
            },
            a if a.moves() => {
                self.finding = step(self.finding, self.report.findings.len(), action, 3);
                Effect::None
            }
            other => {
                match doctor_key(other, &self.email, &self.detail.factors, self.selected, cx) {
                    Some(effect) => effect,
                    None if KEYS.iter().any(|b| b.action == other) => {
                        self.leave(Some(self.key(other)))
                    }
                    None => Effect::None,
                }
            }
        }
    }

    /// A code checked from here shows at the top.
    fn tell(&mut self, news: News, _: &Ctx) -> std::result::Result<Effect, News> {
        match news {
            News::Checked(check) => {
                self.check = Some(check);
                Ok(Effect::None)
            }
            other => Err(other),
        }
    }

    fn render(&self, cx: &Ctx, area: Rect, buf: &mut Buffer) {
        let below = profile(&self.detail, cx.theme, cx.desk.now(), area, buf);
        render_full(
            &self.report,
            self.finding,
            self.check.as_ref(),
            cx.theme,
            below,
            buf,
        );
    }

    /// A lock's release counts down.
    fn ticking(&self) -> bool {
        self.detail.lock.locked
    }

    fn crumb(&self) -> Option<&str> {
        Some(&self.email)
    }
}

/// The authenticator the doctor's actions apply to: the factor selected,
/// if it is one, else their first active one.
fn app_factor(factors: &[FactorView], selected: Option<i64>) -> Option<i64> {
    factors
        .iter()
        .find(|f| Some(f.id) == selected && f.kind == FactorKind::Totp)
        .or_else(|| {
            factors
                .iter()
                .find(|f| f.kind == FactorKind::Totp && f.status == FactorStatus::Active)
        })
        .map(|f| f.id)
}

/// The doctor's own keys, here and on the user screen: check a code read
/// out, resync the authenticator (the one `selected`, else their first
/// active one), clear its drift. `None` for any other action.
pub fn doctor_key(
    action: Action,
    email: &str,
    factors: &[FactorView],
    selected: Option<i64>,
    cx: &Ctx,
) -> Option<Effect> {
    let email = email.to_owned();
    let app = app_factor(factors, selected);
    Some(match action {
        // A code read out is checked against their authenticator apps.
        Action::CheckSkew
            if !factors
                .iter()
                .any(|f| f.kind == FactorKind::Totp && f.status != FactorStatus::Disabled) =>
        {
            Effect::Say(Tone::Info, strings::NO_APP_TO_CHECK.to_owned())
        }
        Action::CheckSkew => Effect::Popup(Box::new(Form::new(
            "Check a code",
            vec![
                "Ask them to read the code their authenticator app shows now.".to_owned(),
                "It is compared with every time within 10 minutes, and not used up:".to_owned(),
            ],
            "",
            Purpose::CheckCode { email },
        ))),
        Action::Resync => match app {
            Some(id) => {
                let mut lines = vec![
                    "Have them read the code their app shows, wait for the next one, and read that too.".to_owned(),
                ];
                // Their phone as the simulator plays it: as it is in the
                // simulator now, else as the desk says (Bob's runs 90 s slow).
                let offset = match cx.phone {
                    Some((whose, offset)) if whose == email => offset,
                    _ => cx
                        .desk
                        .persona(&email)
                        .map_or(0, |p| p.phone_skew.num_seconds()),
                };
                let read = |extra: i64| {
                    cx.desk
                        .authenticator_code(&email, id, TimeDelta::seconds(offset + extra))
                        .unwrap_or_default()
                };
                lines.push(strings::resync_phone(offset, &read(-30), &read(0)));
                lines.push("Type both, separated by a space:".to_owned());
                Effect::Popup(Box::new(Form::new(
                    "Resync authenticator",
                    lines,
                    "",
                    Purpose::Resync {
                        email,
                        factor_id: id,
                    },
                )))
            }
            None => Effect::Say(
                Tone::Info,
                "They have no authenticator app to resync.".to_owned(),
            ),
        },
        Action::ClearDrift => match app {
            Some(id) => Effect::Popup(Box::new(Confirm::new(
                "Clear drift",
                vec![format!(
                    "Forget the clock drift learned for factor {id} of {email}?"
                )],
                Change::ClearDrift { email, id },
            ))),
            None => Effect::Say(Tone::Info, "They have no authenticator app.".to_owned()),
        },
        _ => return None,
    })
}

/// What to do, as the console says it: each action as the key or screen
/// that does it. The fix's own key, shown in front, is not said again
/// where the words lead up to it.
fn advice(f: &Finding) -> String {
    let main = fix_key(f.fix);
    let mut out = String::new();
    for (i, part) in f.advice.iter().enumerate() {
        match part {
            Part::Text(text) => out.push_str(text),
            // The action's words below name its key.
            Part::Key(_) => {}
            Part::Act(act) => {
                let key = act_key(act);
                // "Unlock now: [the command]" reads "Unlock now." here.
                if key.is_some() && key == main && out.ends_with(": ") {
                    out.truncate(out.len() - 2);
                    if i + 1 == f.advice.len() {
                        out.push('.');
                    }
                } else {
                    out.push_str(&phrase(act, key));
                }
            }
        }
    }
    out
}

/// Where the CLI names a command, the console's key or screen for it.
fn phrase(act: &Act, key: Option<char>) -> String {
    if let Some(k) = key {
        return format!("press {k}");
    }
    match act {
        Act::AllowCountries { codes } => {
            format!("set sms_countries to {codes} on the Policy screen (6)")
        }
        Act::ResendCode { .. } => "remove the factor (x) and add it again (s or m)".to_owned(),
        Act::Outbox => "the Outbox (4)".to_owned(),
        _ => String::new(),
    }
}

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
    match fix_key(f.fix) {
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
fn render_full(
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
        let key = fix_key(f.fix)
            .map(|k| format!("[{k}] "))
            .unwrap_or_default();
        for l in wrap(
            &format!("{key}{}", advice(f)),
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

#[cfg(test)]
mod tests {
    use super::KEYS;
    use crate::tui::keys::user_key;
    use ratatui::crossterm::event::KeyCode;

    /// A key the doctor view binds to an action of the user screen is that
    /// action's key there too, so "press k" means one thing in both.
    #[test]
    fn its_keys_are_the_user_screen_s() {
        for b in KEYS {
            let (KeyCode::Char(c), Some(key)) = (b.code, user_key(b.action)) else {
                continue;
            };
            assert_eq!(c, key, "{:?}", b.action);
        }
    }
}
