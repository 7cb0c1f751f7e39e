//! A temporary access code: asked for (how long it works, and a reason for
//! the audit trail), then shown once, with when it stops working.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::Line;

use super::{CLOSE_KEYS, field_popup};
use crate::desk::temp_code::IssuedTempCode;
use crate::domain::stamp;
use crate::domain::temp_code::{DEFAULT_VALID_TEXT, parse_valid};
use crate::tui::command::{Command, TempCodeRequest};
use crate::tui::input::Input;
use crate::tui::keys::{Action, Binding};
use crate::tui::strings;
use crate::tui::view::{Ctx, Effect, Popup};

/// Asks how long the code works and why; Up/Down/Tab move between the two.
#[derive(Debug)]
pub struct Ask {
    email: String,
    valid: Input,
    reason: Input,
    /// The reason has the focus (else the validity).
    on_reason: bool,
    error: Option<String>,
}

impl Ask {
    pub fn new(email: &str) -> Ask {
        Ask {
            email: email.to_owned(),
            valid: Input::new(DEFAULT_VALID_TEXT),
            reason: Input::default(),
            on_reason: true,
            error: None,
        }
    }
}

impl Popup for Ask {
    fn keys(&self) -> &'static [Binding] {
        CLOSE_KEYS
    }

    fn handle(&mut self, action: Action, _: &Ctx) -> Effect {
        let field = if self.on_reason {
            &mut self.reason
        } else {
            &mut self.valid
        };
        if field.edit(action) {
            self.error = None;
            return Effect::None;
        }
        match action {
            Action::Up | Action::Down | Action::NextTab | Action::PrevTab => {
                self.on_reason = !self.on_reason;
                Effect::None
            }
            Action::Submit => {
                if let Err(e) = parse_valid(self.valid.text()) {
                    self.on_reason = false;
                    self.error = Some(e.to_string());
                    return Effect::None;
                }
                if self.reason.text().trim().is_empty() {
                    self.on_reason = true;
                    self.error = Some(strings::REASON_NEEDED.to_owned());
                    return Effect::None;
                }
                Effect::Run(Command::IssueTempCode(TempCodeRequest {
                    email: self.email.clone(),
                    valid: self.valid.text().to_owned(),
                    reason: self.reason.text().to_owned(),
                }))
            }
            Action::Cancel => Effect::Back,
            _ => Effect::None,
        }
    }

    fn failed(&mut self, why: String) -> bool {
        self.error = Some(why);
        true
    }

    fn render(&self, cx: &Ctx, area: Rect, buf: &mut Buffer) {
        let theme = cx.theme;
        let mut body: Vec<Line> = strings::temp_code_ask(&self.email)
            .into_iter()
            .map(Line::from)
            .collect();
        body.push(Line::styled(strings::TEMP_CODE_VALID, theme.dim()));
        body.push(self.valid.line(false, !self.on_reason));
        body.push(Line::styled(strings::REASON_PROMPT, theme.dim()));
        body.push(self.reason.line(false, self.on_reason));
        if let Some(e) = &self.error {
            body.push(Line::styled(e.clone(), theme.bad()));
        }
        body.push(Line::styled(strings::TEMP_CODE_KEYS, theme.dim()));
        field_popup(body, strings::TEMP_CODE_TITLE, theme, area, buf);
    }
}

/// The code just issued, shown this once.
#[derive(Debug)]
pub struct Shown {
    issued: IssuedTempCode,
}

impl Shown {
    pub fn new(issued: IssuedTempCode) -> Shown {
        Shown { issued }
    }
}

impl Popup for Shown {
    fn keys(&self) -> &'static [Binding] {
        CLOSE_KEYS
    }

    fn typing(&self) -> bool {
        false
    }

    fn handle(&mut self, action: Action, _: &Ctx) -> Effect {
        match action {
            Action::Cancel | Action::Submit => Effect::Back,
            _ => Effect::None,
        }
    }

    fn render(&self, cx: &Ctx, area: Rect, buf: &mut Buffer) {
        let theme = cx.theme;
        let i = &self.issued;
        let mut body = vec![
            Line::from(format!("Temporary access code for {}:", i.email)),
            Line::default(),
            Line::styled(format!("    {}", i.code), theme.heading()),
            Line::default(),
            Line::from(strings::temp_code_until(&stamp(i.valid_until))),
        ];
        if i.replaced_live {
            body.push(Line::styled(strings::TEMP_CODE_REPLACED, theme.warn()));
        }
        body.push(Line::styled(strings::TEMP_CODE_ONCE, theme.warn()));
        body.push(Line::styled("Enter or Esc close", theme.dim()));
        field_popup(body, strings::TEMP_CODE_TITLE, theme, area, buf);
    }
}
