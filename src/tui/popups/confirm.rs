//! Confirm a destructive change: what it does, and a reason for the audit
//! trail, required before Enter does it.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::Line;

use super::{CLOSE_KEYS, field_popup};
use crate::tui::command::{Change, Command};
use crate::tui::input::Input;
use crate::tui::keys::{Action, Binding};
use crate::tui::strings;
use crate::tui::view::{Ctx, Effect, Popup};

#[derive(Debug)]
pub struct Confirm {
    title: String,
    lines: Vec<String>,
    reason: Input,
    change: Change,
    error: Option<String>,
}

impl Confirm {
    pub fn new(title: &str, lines: Vec<String>, change: Change) -> Confirm {
        Confirm {
            title: title.to_owned(),
            lines,
            reason: Input::default(),
            change,
            error: None,
        }
    }
}

impl Popup for Confirm {
    fn keys(&self) -> &'static [Binding] {
        CLOSE_KEYS
    }

    fn handle(&mut self, action: Action, _: &Ctx) -> Effect {
        if self.reason.edit(action) {
            // "Type a reason first" no longer holds once one is typed.
            self.error = None;
            return Effect::None;
        }
        match action {
            Action::Submit if self.reason.text().trim().is_empty() => {
                self.error = Some(strings::REASON_NEEDED.to_owned());
                Effect::None
            }
            Action::Submit => Effect::Run(Command::Change {
                change: self.change.clone(),
                reason: self.reason.text().to_owned(),
            }),
            Action::Cancel => Effect::Back,
            _ => Effect::None,
        }
    }

    fn render(&self, cx: &Ctx, area: Rect, buf: &mut Buffer) {
        let theme = cx.theme;
        let mut body: Vec<Line> = self.lines.iter().map(|l| Line::from(l.clone())).collect();
        body.push(Line::default());
        body.push(Line::styled(strings::REASON_PROMPT, theme.dim()));
        body.push(self.reason.line(false, true));
        if let Some(e) = &self.error {
            body.push(Line::styled(e.clone(), theme.bad()));
        }
        body.push(Line::styled("Enter confirm · Esc cancel", theme.dim()));
        field_popup(body, &self.title, theme, area, buf);
    }
}
