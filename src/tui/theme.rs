//! Colours and emphasis, and a note's tone; nothing in ANSI colour 8. Under
//! `NO_COLOR` only the QR code's black on white stays: bold, reverse, dim.

use ratatui::style::{Color, Modifier, Style};

/// How a note or a line of a log reads: information, success or failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    Info,
    Ok,
    Error,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Theme {
    pub color: bool,
}

impl Theme {
    /// Colour unless `NO_COLOR` is set to anything non-empty.
    pub fn from_env() -> Self {
        Self {
            color: std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
        }
    }

    pub fn colored() -> Self {
        Self { color: true }
    }

    fn fg(self, c: Color) -> Style {
        if self.color {
            Style::new().fg(c)
        } else {
            Style::new()
        }
    }

    pub fn text(self) -> Style {
        Style::new()
    }

    pub fn title(self) -> Style {
        self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
    }

    pub fn heading(self) -> Style {
        Style::new().add_modifier(Modifier::BOLD)
    }

    /// Less prominent text (labels, column heads, the clock), still
    /// readable on a dark and a light background alike: faint in the
    /// terminal's own colour, never ANSI colour 8 ("bright black"), which
    /// many dark themes draw as, or near, their background.
    pub fn dim(self) -> Style {
        Style::new().add_modifier(Modifier::DIM)
    }

    pub fn key(self) -> Style {
        self.fg(Color::Yellow).add_modifier(Modifier::BOLD)
    }

    pub fn ok(self) -> Style {
        self.fg(Color::Green)
    }

    pub fn warn(self) -> Style {
        self.fg(Color::Yellow)
    }

    pub fn bad(self) -> Style {
        self.fg(Color::Red).add_modifier(Modifier::BOLD)
    }

    /// A note's style by its tone.
    pub fn tone(self, tone: Tone) -> Style {
        match tone {
            Tone::Error => self.bad(),
            Tone::Ok => self.ok(),
            Tone::Info => self.text(),
        }
    }

    /// The part of a row a search or filter matched.
    pub fn matched(self) -> Style {
        self.fg(Color::Yellow)
            .add_modifier(Modifier::BOLD | Modifier::UNDERLINED)
    }

    pub fn selected(self) -> Style {
        Style::new().add_modifier(Modifier::REVERSED)
    }

    /// A tab not showing: in the terminal's own colour, as readable as text.
    pub fn tab(self) -> Style {
        Style::new()
    }

    pub fn tab_active(self) -> Style {
        Style::new().add_modifier(Modifier::REVERSED | Modifier::BOLD)
    }

    pub fn border(self) -> Style {
        self.dim()
    }

    pub fn border_focus(self) -> Style {
        self.fg(Color::Cyan)
    }

    pub fn bar(self) -> Style {
        if self.color {
            Style::new().bg(Color::Black).fg(Color::White)
        } else {
            Style::new()
        }
    }

    /// A QR module pair: dark ink on a light background, whatever the
    /// terminal's theme, and even under `NO_COLOR`: a code drawn in the
    /// terminal's own colours is light on dark on a dark theme, and scanners
    /// do not read that. It is the one thing `NO_COLOR` leaves coloured.
    pub fn qr(self) -> Style {
        Style::new().fg(Color::Black).bg(Color::White)
    }
}
