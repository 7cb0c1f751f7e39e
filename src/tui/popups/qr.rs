//! Enrolling an authenticator app: the QR code to scan (or, in a small
//! window, the secret as text), and the first code it shows to confirm it.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget, Wrap};

use super::{CLOSE_KEYS, centered, frame, text_height};
use crate::desk::views::TotpEnrolment;
use crate::domain::{Time, totp};
use crate::qr::Modules;
use crate::tui::command::Command;
use crate::tui::input::Input;
use crate::tui::keys::{Action, Binding};
use crate::tui::strings;
use crate::tui::theme::Theme;
use crate::tui::view::{Ctx, Effect, Popup};
use crate::tui::widgets::{QrView, bar};

#[derive(Debug)]
pub struct Qr {
    email: String,
    enrolment: TotpEnrolment,
    modules: Option<Modules>,
    code: Input,
    error: Option<String>,
}

impl Qr {
    pub fn new(email: &str, enrolment: TotpEnrolment) -> Qr {
        let modules = Modules::encode(&enrolment.uri);
        Qr {
            email: email.to_owned(),
            enrolment,
            modules,
            code: Input::default(),
            error: None,
        }
    }
}

impl Popup for Qr {
    fn keys(&self) -> &'static [Binding] {
        CLOSE_KEYS
    }

    fn handle(&mut self, action: Action, _: &Ctx) -> Effect {
        if self.code.edit(action) {
            return Effect::None;
        }
        match action {
            Action::Submit => Effect::Run(Command::ConfirmFactor {
                email: self.email.clone(),
                id: self.enrolment.factor_id,
                code: self.code.text().to_owned(),
            }),
            Action::Cancel => Effect::Back,
            _ => Effect::None,
        }
    }

    /// A wrong code: say so, and empty the field for the next.
    fn failed(&mut self, why: String) -> bool {
        self.error = Some(why);
        self.code.clear();
        true
    }

    fn render(&self, cx: &Ctx, area: Rect, buf: &mut Buffer) {
        render_qr(self, cx, area, buf);
    }

    /// The app's code counts down.
    fn ticking(&self) -> bool {
        true
    }
}

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

fn render_qr(q: &Qr, cx: &Ctx, area: Rect, buf: &mut Buffer) {
    let theme = cx.theme;
    let (enrolment, modules, code, error) = (
        &q.enrolment,
        q.modules.as_ref(),
        &q.code,
        q.error.as_deref(),
    );
    let now = cx.desk.now();
    // A trainer has no phone to scan with: show what the app would display.
    let app_code = cx
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
