//! Popups: key help, messages, confirm-with-reason, one-field forms, the QR
//! enrolment, freshly generated backup codes, and the user picker. A popup
//! takes keys before the screen under it.

use std::cell::Cell;

use ratatui::buffer::Buffer;
use ratatui::crossterm::event::KeyCode;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Widget, Wrap};

use super::input::Input;
use super::keys::{Action, Binding, GLOBAL, ch, named};
use super::theme::Theme;
use super::widgets::{QrView, bar, cut, draw_row, panel, wrapped_rows};
use super::worker::{Done, Job};
use super::{App, Tone, strings};
use crate::desk::devices::Which;
use crate::desk::users::ListQuery;
use crate::desk::views::{TotpEnrolment, UserSummary};
use crate::domain::{Time, UserStatus, totp};
use crate::qr::Modules;

/// A destructive action waiting for its confirmation and reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pending {
    ToggleFactor {
        email: String,
        id: i64,
        enable: bool,
    },
    RemoveFactor {
        email: String,
        id: i64,
    },
    RevokeDevice {
        email: String,
        id: Option<i64>,
    },
    RegenerateCodes {
        email: String,
    },
    Unlock {
        email: String,
    },
    SetStatus {
        email: String,
        disable: bool,
    },
    Reset2fa {
        email: String,
    },
    ClearDrift {
        email: String,
        id: i64,
    },
}

/// What a one-field form is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Purpose {
    AddSms { email: String },
    AddEmail { email: String },
    ConfirmFactor { email: String, id: i64 },
    SetPassword { email: String },
    PolicyValue { key: String },
    SimIp,
    CheckCode { email: String },
    Resync { email: String, factor_id: i64 },
    ExportReadiness,
}

#[derive(Debug)]
pub enum Popup {
    /// The keys of the screen under it; scrolls when taller than the window.
    Help {
        scroll: u16,
        /// How far it can scroll, as last drawn.
        max_scroll: Cell<u16>,
    },
    Message {
        title: String,
        lines: Vec<String>,
        tone: Tone,
    },
    Confirm {
        title: String,
        lines: Vec<String>,
        reason: Input,
        then: Pending,
        error: Option<String>,
    },
    Input {
        title: String,
        lines: Vec<String>,
        input: Input,
        masked: bool,
        then: Purpose,
        error: Option<String>,
    },
    Qr {
        email: String,
        enrolment: TotpEnrolment,
        modules: Option<Modules>,
        code: Input,
        error: Option<String>,
    },
    Codes {
        email: String,
        codes: Vec<String>,
        path: Option<Input>,
        /// How the last save went: one message, the newest.
        outcome: Option<(Tone, String)>,
    },
    PickUser {
        query: Input,
        results: Vec<UserSummary>,
        selected: usize,
    },
}

const CLOSE_KEYS: &[Binding] = &[named(KeyCode::Esc, None, Action::Cancel, "close", true)];
/// The help's keys; without the first, when it fits, scrolling is not offered
/// (the keys still work, and do nothing).
const HELP_KEYS: &[Binding] = &[
    named(KeyCode::Up, Some("↑/↓"), Action::Up, "scroll", true),
    named(KeyCode::Up, None, Action::Up, "", false),
    named(KeyCode::Down, None, Action::Down, "", false),
    ch('k', Action::Up, "", false),
    ch('j', Action::Down, "", false),
    named(KeyCode::PageUp, None, Action::PageUp, "", false),
    named(KeyCode::PageDown, None, Action::PageDown, "", false),
    named(KeyCode::Home, None, Action::Top, "", false),
    named(KeyCode::End, None, Action::Bottom, "", false),
    named(KeyCode::Esc, None, Action::Cancel, "close", true),
];
const CODES_KEYS: &[Binding] = &[
    ch('w', Action::SaveCodes, "save to a 0600 .txt file", true),
    named(KeyCode::Esc, None, Action::Cancel, "close", true),
];

impl Popup {
    pub fn help() -> Popup {
        Popup::Help {
            scroll: 0,
            max_scroll: Cell::new(0),
        }
    }

    pub fn confirm(title: &str, lines: Vec<String>, then: Pending) -> Popup {
        Popup::Confirm {
            title: title.to_owned(),
            lines,
            reason: Input::default(),
            then,
            error: None,
        }
    }

    pub fn input(title: &str, lines: Vec<String>, value: &str, then: Purpose) -> Popup {
        Popup::Input {
            title: title.to_owned(),
            lines,
            input: Input::new(value),
            masked: false,
            then,
            error: None,
        }
    }

    pub fn secret(title: &str, lines: Vec<String>, then: Purpose) -> Popup {
        Popup::Input {
            title: title.to_owned(),
            lines,
            input: Input::default(),
            masked: true,
            then,
            error: None,
        }
    }

    pub fn qr(email: &str, enrolment: TotpEnrolment) -> Popup {
        let modules = Modules::encode(&enrolment.uri);
        Popup::Qr {
            email: email.to_owned(),
            enrolment,
            modules,
            code: Input::default(),
            error: None,
        }
    }

    pub fn message(title: &str, lines: Vec<String>, tone: Tone) -> Popup {
        Popup::Message {
            title: title.to_owned(),
            lines,
            tone,
        }
    }

    /// Does a text field have the keys?
    pub fn typing(&self) -> bool {
        match self {
            Popup::Help { .. } | Popup::Message { .. } => false,
            Popup::Codes { path, .. } => path.is_some(),
            Popup::Confirm { .. }
            | Popup::Input { .. }
            | Popup::Qr { .. }
            | Popup::PickUser { .. } => true,
        }
    }

    pub fn bindings(&self) -> &'static [Binding] {
        match self {
            Popup::Codes { .. } => CODES_KEYS,
            Popup::Help { max_scroll, .. } if max_scroll.get() > 0 => HELP_KEYS,
            Popup::Help { .. } => &HELP_KEYS[1..],
            _ => CLOSE_KEYS,
        }
    }

    /// Shows a countdown (the authenticator's code).
    pub fn ticking(&self) -> bool {
        matches!(self, Popup::Qr { .. })
    }
}

fn edit(input: &mut Input, action: Action) -> bool {
    match action {
        Action::Type(c) => input.insert(c),
        Action::Erase => input.backspace(),
        Action::EraseForward => input.delete(),
        Action::CursorLeft => input.left(),
        Action::CursorRight => input.right(),
        Action::CursorHome => input.home(),
        Action::CursorEnd => input.end(),
        _ => return false,
    }
    true
}

impl App {
    pub(crate) fn popup_action(&mut self, action: Action) {
        let Some(mut popup) = self.popup.take() else {
            return;
        };
        let keep = match &mut popup {
            Popup::Help { scroll, max_scroll } => {
                let page = 10;
                *scroll = match action {
                    Action::Up => scroll.saturating_sub(1),
                    Action::Down => *scroll + 1,
                    Action::PageUp => scroll.saturating_sub(page),
                    Action::PageDown => *scroll + page,
                    Action::Top => 0,
                    Action::Bottom => max_scroll.get(),
                    _ => *scroll,
                }
                .min(max_scroll.get());
                !matches!(
                    action,
                    Action::Cancel | Action::Submit | Action::Back | Action::Quit | Action::Help
                )
            }
            Popup::Message { .. } => !matches!(
                action,
                Action::Cancel | Action::Submit | Action::Back | Action::Quit | Action::Help
            ),
            Popup::Confirm {
                reason,
                then,
                error,
                ..
            } => self.confirm_key(action, reason, then, error),
            Popup::Input {
                input, then, error, ..
            } => self.input_key(action, input, then, error),
            Popup::Qr {
                email,
                enrolment,
                code,
                error,
                ..
            } => self.qr_key(action, email, enrolment.factor_id, code, error),
            Popup::Codes {
                email,
                codes,
                path,
                outcome,
            } => self.codes_key(action, email, codes, path, outcome),
            Popup::PickUser {
                query,
                results,
                selected,
            } => self.pick_key(action, query, results, selected),
        };
        // A handler may have opened the next popup in this one's place.
        if keep && self.popup.is_none() {
            self.popup = Some(popup);
        }
        // A popup that closed may have changed data even when cancelled (an
        // enrolment started, codes made): show the screen under it as it is.
        if !keep {
            self.refresh();
        }
    }

    fn confirm_key(
        &mut self,
        action: Action,
        reason: &mut Input,
        then: &Pending,
        error: &mut Option<String>,
    ) -> bool {
        if edit(reason, action) {
            // "Type a reason first" no longer holds once one is typed.
            *error = None;
            return true;
        }
        match action {
            Action::Submit if reason.text().trim().is_empty() => {
                *error = Some(strings::REASON_NEEDED.to_owned());
                true
            }
            Action::Submit => {
                self.run_pending(then, reason.text());
                false
            }
            _ => action != Action::Cancel,
        }
    }

    fn input_key(
        &mut self,
        action: Action,
        input: &mut Input,
        then: &Purpose,
        error: &mut Option<String>,
    ) -> bool {
        if edit(input, action) {
            return true;
        }
        if action != Action::Submit {
            return action != Action::Cancel;
        }
        match self.run_purpose(then, input.text()) {
            Ok(()) => false,
            Err(e) => {
                *error = Some(strings::for_console(&e));
                true
            }
        }
    }

    fn qr_key(
        &mut self,
        action: Action,
        email: &str,
        factor_id: i64,
        code: &mut Input,
        error: &mut Option<String>,
    ) -> bool {
        if edit(code, action) {
            return true;
        }
        if action != Action::Submit {
            return action != Action::Cancel;
        }
        match self.desk.confirm_factor(email, factor_id, code.text()) {
            Ok(f) => {
                self.say(Tone::Ok, format!("{} confirmed for {email}.", f.label));
                self.after_enrolment(email);
                self.refresh();
                false
            }
            Err(e) => {
                *error = Some(strings::for_console(&e.to_string()));
                code.clear();
                true
            }
        }
    }

    fn codes_key(
        &mut self,
        action: Action,
        email: &str,
        codes: &[String],
        path: &mut Option<Input>,
        outcome: &mut Option<(Tone, String)>,
    ) -> bool {
        let Some(p) = path else {
            if action == Action::SaveCodes {
                *path = Some(Input::new(&free_name(&codes_file_name(email))));
                *outcome = None;
                return true;
            }
            return !matches!(action, Action::Cancel | Action::Submit | Action::Back);
        };
        if edit(p, action) {
            return true;
        }
        match action {
            Action::Submit => {
                let file = std::path::PathBuf::from(p.text().trim());
                if file.exists() {
                    // Never over a file: offer the next free name instead.
                    let next = free_name(&file.to_string_lossy());
                    *outcome = Some((
                        Tone::Error,
                        format!(
                            "{} already exists, and backup codes are never written over a file: Enter saves to {next}, or type another name.",
                            file.display()
                        ),
                    ));
                    *p = Input::new(&next);
                    return true;
                }
                let issuer = self
                    .desk
                    .policy()
                    .map(|p| p.totp_issuer)
                    .unwrap_or_default();
                let text = crate::desk::codes::export_text(&issuer, email, codes);
                *outcome = Some(match crate::desk::codes::write_export(&file, &text) {
                    Ok(()) => {
                        *path = None;
                        (
                            Tone::Ok,
                            format!("Saved to {} (mode 0600).", file.display()),
                        )
                    }
                    Err(e) => (Tone::Error, strings::for_console(&e.to_string())),
                });
            }
            Action::Cancel => *path = None,
            _ => {}
        }
        true
    }

    fn pick_key(
        &mut self,
        action: Action,
        query: &mut Input,
        results: &mut Vec<UserSummary>,
        selected: &mut usize,
    ) -> bool {
        if edit(query, action) {
            let q = ListQuery {
                search: Some(query.text().to_owned()),
                limit: 50,
                ..ListQuery::default()
            };
            *results = self.desk.list_users(&q).unwrap_or_default();
            *selected = 0;
            return true;
        }
        match action {
            Action::Up => *selected = selected.saturating_sub(1),
            Action::Down => *selected = (*selected + 1).min(results.len().saturating_sub(1)),
            Action::Submit => {
                if let Some(email) = results.get(*selected).map(|u| u.email.clone()) {
                    self.simulate(&email);
                    self.refresh();
                }
                return false;
            }
            _ => return action != Action::Cancel,
        }
        true
    }

    /// A new authenticator is confirmed: if the user has no backup codes,
    /// make them now and show them once.
    fn after_enrolment(&mut self, email: &str) {
        let has_codes = self.desk.code_status(email).is_ok_and(|s| s.total > 0);
        if !has_codes {
            self.run_pending(
                &Pending::RegenerateCodes {
                    email: email.to_owned(),
                },
                "",
            );
        }
    }

    /// Carry out a confirmed destructive action.
    pub(crate) fn run_pending(&mut self, pending: &Pending, why: &str) {
        let result = match pending {
            Pending::ToggleFactor { email, id, enable } => self
                .desk
                .set_factor_enabled(email, *id, *enable, why)
                .map(|f| format!("{} is now {}.", f.label, f.status)),
            Pending::RemoveFactor { email, id } => self
                .desk
                .remove_factor(email, *id, why)
                .map(|f| format!("Removed {}.", f.label)),
            Pending::RevokeDevice { email, id } => self
                .desk
                .revoke_devices(email, id.map_or(Which::All, Which::One), why)
                .map(|n| format!("Revoked {n} device(s); the next login from them is challenged.")),
            Pending::RegenerateCodes { email } => {
                match self.desk.generate_codes_because(email, why) {
                    Ok(codes) => {
                        self.popup = Some(Popup::Codes {
                            email: email.clone(),
                            codes,
                            path: None,
                            outcome: None,
                        });
                        self.refresh();
                        return;
                    }
                    Err(e) => Err(e),
                }
            }
            Pending::Unlock { email } => self
                .desk
                .unlock(email, why)
                .map(|_| format!("2FA unlocked for {email}.")),
            Pending::SetStatus { email, disable } => {
                let status = if *disable {
                    UserStatus::Disabled
                } else {
                    UserStatus::Active
                };
                self.desk
                    .set_user_status(email, status, why)
                    .map(|u| format!("{} is now {}.", u.email, u.status))
            }
            Pending::ClearDrift { email, id } => self
                .desk
                .clear_drift(email, *id)
                .map(|f| format!("{}: drift cleared.", f.label)),
            Pending::Reset2fa { email } => self.desk.reset_2fa(email, why).map(|r| {
                format!(
                    "2FA reset: {} factor(s) and {} code(s) removed, {} device(s) revoked.",
                    r.factors_removed, r.codes_removed, r.devices_revoked
                )
            }),
        };
        match result {
            Ok(text) => self.say(Tone::Ok, text),
            Err(e) => self.fail(&e),
        }
        self.refresh();
    }

    /// Carry out a one-field form; an error keeps the form open.
    fn run_purpose(&mut self, purpose: &Purpose, value: &str) -> Result<(), String> {
        match purpose.clone() {
            Purpose::AddSms { email } => {
                let added = self.desk.add_sms(&email, value);
                self.ask_first_code(&email, added, "SMS to")
            }
            Purpose::AddEmail { email } => {
                let address = Some(value).filter(|v| !v.trim().is_empty());
                let added = self.desk.add_email(&email, address);
                self.ask_first_code(&email, added, "Email to")
            }
            Purpose::ConfirmFactor { email, id } => {
                let f = self
                    .desk
                    .confirm_factor(&email, id, value)
                    .map_err(|e| e.to_string())?;
                self.say(Tone::Ok, format!("{} confirmed.", f.label));
                self.refresh();
                Ok(())
            }
            Purpose::SetPassword { email } => {
                crate::domain::password::validate(value).map_err(|e| e.to_string())?;
                self.worker.submit(
                    &self.desk,
                    Job::HashPassword {
                        email,
                        password: value.to_owned(),
                    },
                );
                self.say(Tone::Info, "Hashing the password…");
                Ok(())
            }
            Purpose::PolicyValue { key } => {
                let item = self
                    .desk
                    .set_policy(&key, value)
                    .map_err(|e| e.to_string())?;
                self.say(Tone::Ok, format!("{} = {}", item.key, item.value));
                self.refresh();
                Ok(())
            }
            Purpose::CheckCode { email } => {
                let check = self
                    .desk
                    .check_code(&email, value)
                    .map_err(|e| e.to_string())?;
                self.say(Tone::Info, check.message.clone());
                if let Some(u) = &mut self.user {
                    u.check = Some(check);
                    u.full_doctor = true;
                }
                self.refresh();
                Ok(())
            }
            Purpose::Resync { email, factor_id } => {
                let mut codes = value.split_whitespace();
                let (Some(first), Some(second), None) = (codes.next(), codes.next(), codes.next())
                else {
                    return Err(
                        "Type two codes separated by a space, like 123456 654321.".to_owned()
                    );
                };
                let f = self
                    .desk
                    .resync(&email, factor_id, first, second)
                    .map_err(|e| e.to_string())?;
                self.say(
                    Tone::Ok,
                    format!(
                        "{}: its clock runs {:+} s; later codes are checked with that drift.",
                        f.label,
                        f.drift_steps * 30
                    ),
                );
                self.refresh();
                Ok(())
            }
            Purpose::ExportReadiness => self.export_readiness(value),
            Purpose::SimIp => {
                self.sim.set_ip(value).map_err(|e| e.clone())?;
                self.refresh();
                Ok(())
            }
        }
    }

    /// A factor was added (or refused): on to the popup that takes the code
    /// just sent to it.
    fn ask_first_code(
        &mut self,
        email: &str,
        added: crate::desk::Result<crate::desk::views::ContactEnrolment>,
        label: &str,
    ) -> Result<(), String> {
        let e = added.map_err(|e| e.to_string())?;
        self.refresh();
        let label = format!("{label} {}", e.destination);
        self.popup = Some(self.confirm_popup(email, e.factor_id, e.kind, &label));
        Ok(())
    }

    pub(crate) fn worker_done(&mut self, done: Done) {
        match done {
            Done::Hashed {
                email,
                result: Ok(hash),
            } => match self.desk.set_password(&email, &hash) {
                Ok(()) => self.say(Tone::Ok, format!("Password set for {email}.")),
                Err(e) => self.fail(&e),
            },
            Done::Hashed { result: Err(e), .. } => self.say(Tone::Error, e),
            Done::Copied { ticket, result } => self.sandbox_copied(ticket, result),
            Done::Read { ticket, result } if self.audit.checking(ticket) => {
                return self.trail_checked(result);
            }
            Done::Read { ticket, result } => return self.readiness_found(ticket, result),
        }
        self.refresh();
    }
}

/// A centred area `w`×`h`, clamped to `area`.
fn centered(area: Rect, w: u16, h: u16) -> Rect {
    area.centered(
        Constraint::Length(w.min(area.width)),
        Constraint::Length(h.min(area.height)),
    )
}

fn frame(buf: &mut Buffer, area: Rect, title: &str, theme: Theme) -> Rect {
    Clear.render(area, buf);
    let block = panel(title, theme, true);
    let inner = block.inner(area);
    block.render(area, buf);
    inner
}

/// Rows `lines` take word-wrapped in `width` columns, as the popups draw them.
fn text_height(lines: &[Line<'_>], width: u16) -> u16 {
    wrapped_rows(lines, width.max(1), false)
}

/// Draw the popup over `area` (the whole screen).
pub fn render(app: &App, popup: &Popup, now: Time, area: Rect, buf: &mut Buffer) {
    let theme = app.theme;
    match popup {
        Popup::Help { scroll, max_scroll } => render_help(app, *scroll, max_scroll, area, buf),
        Popup::Message { title, lines, tone } => {
            let style = match tone {
                Tone::Error => theme.bad(),
                Tone::Ok => theme.ok(),
                Tone::Info => theme.text(),
            };
            let body: Vec<Line> = lines
                .iter()
                .map(|l| Line::styled(l.clone(), style))
                .collect();
            let w = 70.min(area.width.saturating_sub(4));
            let h = text_height(&body, w - 2) + 3;
            let inner = frame(buf, centered(popup_region(area, h), w, h), title, theme);
            Paragraph::new(body)
                .wrap(Wrap { trim: false })
                .render(inner, buf);
        }
        Popup::Confirm {
            title,
            lines,
            reason,
            error,
            ..
        } => {
            let mut body: Vec<Line> = lines.iter().map(|l| Line::from(l.clone())).collect();
            body.push(Line::default());
            body.push(Line::styled(strings::REASON_PROMPT, theme.dim()));
            body.push(reason.line(false, true));
            if let Some(e) = error {
                body.push(Line::styled(e.clone(), theme.bad()));
            }
            body.push(Line::styled("Enter confirm · Esc cancel", theme.dim()));
            field_popup(body, title, theme, area, buf);
        }
        Popup::Input {
            title,
            lines,
            input,
            masked,
            error,
            ..
        } => {
            let mut body: Vec<Line> = lines.iter().map(|l| Line::from(l.clone())).collect();
            body.push(input.line(*masked, true));
            if let Some(e) = error {
                body.push(Line::styled(e.clone(), theme.bad()));
            }
            body.push(Line::styled("Enter confirm · Esc cancel", theme.dim()));
            field_popup(body, title, theme, area, buf);
        }
        Popup::Qr {
            enrolment,
            modules,
            code,
            error,
            ..
        } => render_qr(
            app,
            enrolment,
            modules.as_ref(),
            code,
            error.as_deref(),
            now,
            area,
            buf,
        ),
        Popup::Codes {
            email,
            codes,
            path,
            outcome,
        } => render_codes(
            theme,
            email,
            codes,
            path.as_ref(),
            outcome.as_ref(),
            area,
            buf,
        ),
        Popup::PickUser {
            query,
            results,
            selected,
        } => render_pick(theme, query, results, *selected, area, buf),
    }
}

fn render_codes(
    theme: Theme,
    email: &str,
    codes: &[String],
    path: Option<&Input>,
    outcome: Option<&(Tone, String)>,
    area: Rect,
    buf: &mut Buffer,
) {
    let mut body = vec![
        Line::from(format!("Backup codes for {email}:")),
        Line::default(),
    ];
    for (i, c) in codes.iter().enumerate() {
        body.push(Line::from(vec![
            Span::styled(format!("  {:>2}. ", i + 1), theme.dim()),
            Span::styled(c.clone(), theme.heading()),
        ]));
    }
    body.push(Line::default());
    body.push(Line::styled(strings::CODES_ONCE, theme.warn()));
    if let Some(p) = path {
        body.push(Line::styled(
            "Save to file (Enter saves, Esc leaves it):",
            theme.dim(),
        ));
        body.push(p.line(false, true));
    }
    if let Some((tone, text)) = outcome {
        let style = if *tone == Tone::Ok {
            theme.ok()
        } else {
            theme.bad()
        };
        body.push(Line::styled(text.clone(), style));
    }
    field_popup(body, "New backup codes", theme, area, buf);
}

/// `backup-codes-alice.txt` for alice@example.com.
fn codes_file_name(email: &str) -> String {
    let local = email.split('@').next().unwrap_or("user");
    format!("backup-codes-{local}.txt")
}

/// `name` if no such file exists, else the first free `name-2.txt`,
/// `name-3.txt`, … (the suffix goes before the extension).
fn free_name(name: &str) -> String {
    let path = std::path::Path::new(name);
    if !path.exists() {
        return name.to_owned();
    }
    let stem = path
        .file_stem()
        .map_or_else(String::new, |s| s.to_string_lossy().into_owned());
    // `codes-2.txt` goes on to `codes-3.txt`, not `codes-2-2.txt`.
    let stem = match stem.rsplit_once('-') {
        Some((base, n)) if n.len() < 4 && n.parse::<u32>().is_ok() => base.to_owned(),
        _ => stem,
    };
    let ext = path
        .extension()
        .map_or_else(String::new, |e| format!(".{}", e.to_string_lossy()));
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty());
    (2..10_000)
        .map(|n| {
            let file = format!("{stem}-{n}{ext}");
            dir.map_or_else(
                || file.clone(),
                |d| d.join(&file).to_string_lossy().into_owned(),
            )
        })
        .find(|candidate| !std::path::Path::new(candidate).exists())
        .unwrap_or_else(|| name.to_owned())
}

fn render_pick(
    theme: Theme,
    query: &Input,
    results: &[UserSummary],
    selected: usize,
    area: Rect,
    buf: &mut Buffer,
) {
    let rect = centered(area, 60, 16);
    let inner = frame(buf, rect, "Pick a user", theme);
    let [q, list] = Layout::vertical([Constraint::Length(2), Constraint::Fill(1)]).areas(inner);
    let mut line = vec![Span::styled("Search: ", theme.dim())];
    line.extend(query.line(false, true).spans);
    line.push(Span::styled("   ↑/↓ choose · Enter pick", theme.dim()));
    Paragraph::new(Line::from(line)).render(q, buf);
    for (row, i) in
        super::widgets::window(results.len(), selected, usize::from(list.height)).enumerate()
    {
        let u = &results[i];
        let text = format!(" {} {}", cut(&u.email, 34), cut(&u.name, 20));
        draw_row(buf, list, row, &Line::from(text), i == selected, theme);
    }
}

/// Between the tab row and the status bar, so both stay in sight, where
/// the popup fits there; else over the whole screen rather than cut.
fn popup_region(area: Rect, h: u16) -> Rect {
    let body = Rect {
        y: area.y + 1,
        height: area.height.saturating_sub(2),
        ..area
    };
    if h <= body.height { body } else { area }
}

fn field_popup(body: Vec<Line<'static>>, title: &str, theme: Theme, area: Rect, buf: &mut Buffer) {
    let w = 72.min(area.width.saturating_sub(4));
    let h = (text_height(&body, w - 2) + 2).min(area.height);
    let inner = frame(buf, centered(popup_region(area, h), w, h), title, theme);
    Paragraph::new(body)
        .wrap(Wrap { trim: false })
        .render(inner, buf);
}

fn help_section(
    theme: Theme,
    title: &'static str,
    entries: &[(String, &str)],
) -> Vec<Line<'static>> {
    let mut lines = vec![Line::styled(title, theme.heading())];
    for (key, help) in entries {
        lines.push(Line::from(vec![
            Span::styled(format!("  {key:<10}"), theme.key()),
            Span::raw((*help).to_owned()),
        ]));
    }
    lines
}

/// What bindings say in help: the keys that have a description, two keys
/// that do the same (`F5` and `+`, `Enter` and `e`) on one line.
fn described<'a>(list: impl IntoIterator<Item = &'a Binding>) -> Vec<(String, &'static str)> {
    let mut entries: Vec<(String, &'static str)> = Vec::new();
    for b in list.into_iter().filter(|b| !b.help.is_empty()) {
        match entries.iter_mut().find(|(_, help)| *help == b.help) {
            Some((key, _)) => {
                key.push(' ');
                key.push_str(&b.key());
            }
            None => entries.push((b.key(), b.help)),
        }
    }
    entries
}

/// The help's sections: the keys of the screen under the popup; on
/// screens with a list, the keys that move through it; and those that work
/// everywhere. Only keys that do something here are listed.
fn help_sections(app: &App) -> [Vec<Line<'static>>; 3] {
    let theme = app.theme;
    let here = described(app.bindings_under_popup());
    let moves = if app.moves_through_a_list() {
        described(GLOBAL.iter().filter(|b| {
            matches!(
                b.action,
                Action::Up
                    | Action::Down
                    | Action::PageUp
                    | Action::PageDown
                    | Action::Top
                    | Action::Bottom
            )
        }))
    } else {
        Vec::new()
    };
    let mut everywhere = described(GLOBAL.iter().filter(|b| {
        matches!(
            b.action,
            Action::GoTo(_) | Action::NextTab | Action::PrevTab | Action::Help | Action::Quit
        )
    }));
    everywhere.push(("Ctrl-C".to_owned(), "quit from anywhere"));
    [
        help_section(theme, "This screen", &here),
        if moves.is_empty() {
            Vec::new()
        } else {
            help_section(theme, "In the list", &moves)
        },
        help_section(theme, "Everywhere", &everywhere),
    ]
}

/// Sections one under another, a blank line between.
fn stacked(sections: &[Vec<Line<'static>>]) -> Vec<Line<'static>> {
    let mut lines: Vec<Line<'static>> = Vec::new();
    for section in sections.iter().filter(|s| !s.is_empty()) {
        if !lines.is_empty() {
            lines.push(Line::default());
        }
        lines.extend(section.iter().cloned());
    }
    lines
}

/// The help popup over the body (the tab row and the status bar stay in
/// sight): one column, or two side by side, or one that scrolls.
fn render_help(app: &App, scroll: u16, max_scroll: &Cell<u16>, area: Rect, buf: &mut Buffer) {
    let theme = app.theme;
    let body = Rect {
        y: area.y + 1,
        height: area.height.saturating_sub(2),
        ..area
    };
    let [here, moves, everywhere] = help_sections(app);
    let rows = |lines: &[Line<'_>]| u16::try_from(lines.len()).unwrap_or(u16::MAX);
    let widest = |lines: &[Line<'_>]| {
        u16::try_from(lines.iter().map(Line::width).max().unwrap_or(0)).unwrap_or(u16::MAX)
    };
    let all = stacked(&[here.clone(), moves.clone(), everywhere.clone()]);
    max_scroll.set(0);
    if rows(&all) + 2 <= body.height {
        let w = (widest(&all) + 2).min(body.width);
        let inner = frame(
            buf,
            centered(body, w, rows(&all) + 2),
            strings::HELP_TITLE,
            theme,
        );
        Paragraph::new(all).render(inner, buf);
        return;
    }
    // The screen's keys on the left, moving and the global keys on the right.
    let right = stacked(&[moves, everywhere]);
    let (lw, rw) = (widest(&here), widest(&right));
    let two_columns = lw + 2 + rw + 2;
    let h = rows(&here).max(rows(&right)) + 2;
    if h <= body.height && two_columns <= body.width {
        let inner = frame(
            buf,
            centered(body, two_columns, h),
            strings::HELP_TITLE,
            theme,
        );
        let [l, _, r] = Layout::horizontal([
            Constraint::Length(lw),
            Constraint::Length(2),
            Constraint::Fill(1),
        ])
        .areas(inner);
        Paragraph::new(here).render(l, buf);
        Paragraph::new(right).render(r, buf);
        return;
    }
    // Taller than the window: one column that scrolls, saying so.
    let w = (widest(&all) + 2).min(body.width);
    let inner = frame(
        buf,
        centered(body, w, body.height),
        &format!("{} (↑/↓ scroll)", strings::HELP_TITLE),
        theme,
    );
    let max = rows(&all).saturating_sub(inner.height);
    max_scroll.set(max);
    let scroll = scroll.min(max);
    Paragraph::new(all).scroll((scroll, 0)).render(inner, buf);
    // Where the text goes on past the frame, the frame says so.
    let mut mark = |y: u16, text: &str| {
        let x = inner
            .right()
            .saturating_sub(u16::try_from(text.chars().count()).unwrap_or(0) + 1);
        buf.set_string(x, y, text, theme.key());
    };
    if scroll > 0 {
        mark(inner.y.saturating_sub(1), " ↑ more ");
    }
    if scroll < max {
        mark(inner.bottom(), " ↓ more ");
    }
}

/// The secret in groups of four after its label, in rows of at most `width`
/// columns, as even as they come: continued rows line up under the first
/// group, so the secret is never broken inside a group or wrapped back under
/// its label.
fn secret_lines(theme: Theme, secret: &str, width: u16) -> Vec<Line<'static>> {
    const LABEL: &str = "Secret  ";
    let grouped = totp::grouped(secret);
    let groups: Vec<&str> = grouped.split(' ').collect();
    // A group and the space after it take five columns.
    let fit = ((usize::from(width).saturating_sub(LABEL.len()) + 1) / 5).max(1);
    let rows = groups.len().div_ceil(fit).max(1);
    let per_row = groups.len().div_ceil(rows).max(1);
    groups
        .chunks(per_row)
        .enumerate()
        .map(|(i, row)| {
            let label = if i == 0 { LABEL } else { "        " };
            Line::from(vec![
                Span::styled(label, theme.dim()),
                Span::styled(row.join(" "), theme.heading()),
            ])
        })
        .collect()
}

/// The lines under the QR code, in a column `width` wide: the secret, the
/// account, the code field.
fn qr_lines(
    theme: Theme,
    e: &TotpEnrolment,
    code: &Input,
    error: Option<&str>,
    now: Time,
    width: u16,
) -> Vec<Line<'static>> {
    let mut lines = secret_lines(theme, &e.secret, width);
    lines.push(Line::from(vec![
        Span::styled("Account ", theme.dim()),
        Span::raw(format!("{} ({})", e.account, e.issuer)),
    ]));
    let mut entry = vec![Span::styled("First code: ", theme.dim())];
    entry.extend(code.line(false, true).spans);
    lines.push(Line::from(entry));
    if let Some(err) = error {
        lines.push(Line::styled(err.to_owned(), theme.bad()));
    }
    let left = totp::seconds_left(now);
    let step = chrono::TimeDelta::seconds(totp::STEP);
    lines.push(Line::styled(
        format!(
            "The app's code changes in {left} s {}",
            bar(chrono::TimeDelta::seconds(left), step, 10)
        ),
        theme.dim(),
    ));
    lines.push(Line::styled(
        "Enter confirm · Esc cancel (the enrolment stays pending)",
        theme.dim(),
    ));
    lines
}

/// Where the QR code goes: beside the text, above it, or nowhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum QrPlace {
    Beside,
    Above,
    None,
}

/// Text column width beside the code.
const QR_TEXT_W: u16 = 44;

fn qr_place(modules: Option<&Modules>, area: Rect, text_rows: u16) -> (QrPlace, u16, u16) {
    let Some((w, h)) = modules.map(Modules::cells) else {
        return (QrPlace::None, 0, 0);
    };
    let (Ok(w), Ok(h)) = (u16::try_from(w), u16::try_from(h)) else {
        return (QrPlace::None, 0, 0);
    };
    if w + QR_TEXT_W + 3 <= area.width && h + 2 <= area.height {
        (QrPlace::Beside, w, h)
    } else if w + 2 <= area.width && h + text_rows + 3 <= area.height {
        (QrPlace::Above, w, h)
    } else {
        (QrPlace::None, w, h)
    }
}

#[allow(clippy::too_many_arguments)]
fn render_qr(
    app: &App,
    enrolment: &TotpEnrolment,
    modules: Option<&Modules>,
    code: &Input,
    error: Option<&str>,
    now: Time,
    area: Rect,
    buf: &mut Buffer,
) {
    let theme = app.theme;
    // A trainer has no phone to scan with: show what the app would display.
    let app_code = app
        .desk
        .authenticator_code(
            &enrolment.account,
            enrolment.factor_id,
            chrono::TimeDelta::zero(),
        )
        .ok();
    let with_code = |width| {
        let mut lines = qr_lines(theme, enrolment, code, error, now, width);
        if let Some(c) = &app_code {
            // Above the last line, "Enter confirm · Esc cancel".
            let at = lines.len().saturating_sub(1);
            let text = format!("(The simulated app shows {} {} now.)", &c[..3], &c[3..]);
            lines.insert(at, Line::styled(text, theme.dim()));
        }
        lines
    };
    let tail = with_code(70);
    let tail_rows = text_height(&tail, 70);
    let (place, qw, qh) = qr_place(modules, area, tail_rows);
    // Beside the code the text has a narrower column of its own.
    let tail = if place == QrPlace::Beside {
        with_code(QR_TEXT_W)
    } else {
        tail
    };
    let mut lines: Vec<Line> = Vec::new();
    if place == QrPlace::None {
        lines.push(Line::styled(strings::QR_TOO_SMALL, theme.warn()));
        lines.push(Line::from(format!("URI {}", enrolment.uri)));
    } else {
        lines.push(Line::from(
            "Scan the code with the authenticator app, then type the first code it shows.",
        ));
    }
    lines.extend(tail);
    let title = "Enrol authenticator app";
    let (qr_area, text_area) = match place {
        QrPlace::Beside => {
            let height = qh.max(text_height(&lines, QR_TEXT_W)) + 2;
            let inner = frame(
                buf,
                centered(area, qw + QR_TEXT_W + 3, height),
                title,
                theme,
            );
            let [qr, _, text] = Layout::horizontal([
                Constraint::Length(qw),
                Constraint::Length(1),
                Constraint::Fill(1),
            ])
            .areas(inner);
            (Some(qr), text)
        }
        QrPlace::Above => {
            let width = qw.max(60) + 2;
            let height = qh + 1 + text_height(&lines, width - 2) + 2;
            let inner = frame(buf, centered(area, width, height), title, theme);
            let [qr, text] =
                Layout::vertical([Constraint::Length(qh + 1), Constraint::Fill(1)]).areas(inner);
            let x = qr.x + qr.width.saturating_sub(qw) / 2;
            (Some(Rect { x, width: qw, ..qr }), text)
        }
        QrPlace::None => {
            let width = 72.min(area.width.saturating_sub(2));
            let height = text_height(&lines, width - 2) + 2;
            (
                None,
                frame(buf, centered(area, width, height), title, theme),
            )
        }
    };
    if let (Some(area), Some(modules)) = (qr_area, modules) {
        (&QrView { modules, theme }).render(area, buf);
    }
    Paragraph::new(lines)
        .wrap(Wrap { trim: false })
        .render(text_area, buf);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_names_count_up_before_the_extension() {
        let dir = tempfile::tempdir().unwrap();
        let at = |name: &str| dir.path().join(name).to_string_lossy().into_owned();
        assert_eq!(free_name(&at("codes.txt")), at("codes.txt"));
        std::fs::write(at("codes.txt"), "").unwrap();
        assert_eq!(free_name(&at("codes.txt")), at("codes-2.txt"));
        std::fs::write(at("codes-2.txt"), "").unwrap();
        assert_eq!(free_name(&at("codes.txt")), at("codes-3.txt"));
        assert_eq!(free_name(&at("codes-2.txt")), at("codes-3.txt"));
        std::fs::write(at("report-2024.txt"), "").unwrap();
        assert_eq!(free_name(&at("report-2024.txt")), at("report-2024-2.txt"));
        assert_eq!(
            codes_file_name("alice@example.com"),
            "backup-codes-alice.txt"
        );
    }
}
