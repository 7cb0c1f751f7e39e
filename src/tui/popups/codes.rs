//! Backup codes just made: shown once, with `w` to save them to a new
//! 0600 text file (never over one: a taken name offers the next free one).

use ratatui::buffer::Buffer;
use ratatui::crossterm::event::KeyCode;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

use super::field_popup;
use crate::tui::input::Input;
use crate::tui::keys::{Action, Binding, ch, named};
use crate::tui::strings;
use crate::tui::theme::{Theme, Tone};
use crate::tui::view::{Ctx, Effect, Popup};

const KEYS: &[Binding] = &[
    ch('w', Action::SaveCodes, "save to a 0600 .txt file", true),
    named(KeyCode::Esc, None, Action::Cancel, "close", true),
];

#[derive(Debug)]
pub struct Codes {
    email: String,
    list: Vec<String>,
    /// The file name being typed, after `w`.
    path: Option<Input>,
    /// How the last save went: one message, the newest.
    outcome: Option<(Tone, String)>,
}

impl Codes {
    pub fn new(email: String, list: Vec<String>) -> Codes {
        Codes {
            email,
            list,
            path: None,
            outcome: None,
        }
    }

    /// Write the codes to the file typed (a new file, never over one).
    fn save(&mut self, cx: &Ctx) {
        let Some(p) = &mut self.path else { return };
        let file = std::path::PathBuf::from(p.text().trim());
        if file.exists() {
            // Never over a file: offer the next free name instead.
            let next = free_name(&file.to_string_lossy());
            self.outcome = Some((
                Tone::Error,
                format!(
                    "{} already exists, and backup codes are never written over a file: Enter saves to {next}, or type another name.",
                    file.display()
                ),
            ));
            *p = Input::new(&next);
            return;
        }
        let issuer = cx.desk.policy().map(|p| p.totp_issuer).unwrap_or_default();
        let text = crate::desk::codes::export_text(&issuer, &self.email, &self.list);
        self.outcome = Some(match crate::desk::codes::write_export(&file, &text) {
            Ok(()) => {
                self.path = None;
                (
                    Tone::Ok,
                    format!("Saved to {} (mode 0600).", file.display()),
                )
            }
            Err(e) => (Tone::Error, strings::desk_error(&e)),
        });
    }
}

impl Popup for Codes {
    fn keys(&self) -> &'static [Binding] {
        KEYS
    }

    fn typing(&self) -> bool {
        self.path.is_some()
    }

    fn handle(&mut self, action: Action, cx: &Ctx) -> Effect {
        let Some(p) = &mut self.path else {
            return match action {
                Action::SaveCodes => {
                    self.path = Some(Input::new(&free_name(&codes_file_name(&self.email))));
                    self.outcome = None;
                    Effect::None
                }
                Action::Cancel | Action::Submit | Action::Back => Effect::Back,
                _ => Effect::None,
            };
        };
        if p.edit(action) {
            return Effect::None;
        }
        match action {
            Action::Submit => self.save(cx),
            Action::Cancel => self.path = None,
            _ => {}
        }
        Effect::None
    }

    fn render(&self, cx: &Ctx, area: Rect, buf: &mut Buffer) {
        render_codes(self, cx.theme, area, buf);
    }
}

fn render_codes(c: &Codes, theme: Theme, area: Rect, buf: &mut Buffer) {
    let (email, codes, path, outcome) = (&c.email, &c.list, c.path.as_ref(), c.outcome.as_ref());
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
        body.push(Line::styled(text.clone(), theme.tone(*tone)));
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
