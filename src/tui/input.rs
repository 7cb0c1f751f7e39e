//! The one text field every screen and popup uses: typing, cursor movement
//! and deletion, drawn with a visible cursor (or masked, for passwords).

use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};

use super::keys::Action;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Input {
    text: String,
    /// Cursor position in characters.
    cursor: usize,
}

/// The longest text a field takes, in characters.
pub const MAX_CHARS: usize = 256;

impl Input {
    pub fn new(text: &str) -> Self {
        let text: String = text.chars().take(MAX_CHARS).collect();
        Self {
            cursor: text.chars().count(),
            text,
        }
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }

    fn byte_at(&self, chars: usize) -> usize {
        self.text
            .char_indices()
            .nth(chars)
            .map_or(self.text.len(), |(i, _)| i)
    }

    pub fn insert(&mut self, c: char) {
        if c.is_control() || self.text.chars().count() >= MAX_CHARS {
            return;
        }
        let at = self.byte_at(self.cursor);
        self.text.insert(at, c);
        self.cursor += 1;
    }

    pub fn backspace(&mut self) {
        if self.cursor > 0 {
            self.cursor -= 1;
            let at = self.byte_at(self.cursor);
            self.text.remove(at);
        }
    }

    pub fn delete(&mut self) {
        if self.cursor < self.text.chars().count() {
            let at = self.byte_at(self.cursor);
            self.text.remove(at);
        }
    }

    pub fn left(&mut self) {
        self.cursor = self.cursor.saturating_sub(1);
    }

    pub fn right(&mut self) {
        self.cursor = (self.cursor + 1).min(self.text.chars().count());
    }

    pub fn home(&mut self) {
        self.cursor = 0;
    }

    pub fn end(&mut self) {
        self.cursor = self.text.chars().count();
    }

    /// Apply an editing action (typing, erasing, moving the cursor);
    /// `false` for any other action, which is left to the caller.
    pub fn edit(&mut self, action: Action) -> bool {
        match action {
            Action::Type(c) => self.insert(c),
            Action::Erase => self.backspace(),
            Action::EraseForward => self.delete(),
            Action::CursorLeft => self.left(),
            Action::CursorRight => self.right(),
            Action::CursorHome => self.home(),
            Action::CursorEnd => self.end(),
            _ => return false,
        }
        true
    }

    pub fn clear(&mut self) {
        self.text.clear();
        self.cursor = 0;
    }

    /// The field as a line, with the cursor shown as a reversed cell.
    pub fn line(&self, masked: bool, focused: bool) -> Line<'static> {
        let shown: Vec<char> = if masked {
            std::iter::repeat_n('•', self.text.chars().count()).collect()
        } else {
            self.text.chars().collect()
        };
        if !focused {
            return Line::from(shown.into_iter().collect::<String>());
        }
        let before: String = shown[..self.cursor.min(shown.len())].iter().collect();
        let at = shown
            .get(self.cursor)
            .map_or_else(|| " ".to_owned(), char::to_string);
        let after: String = shown
            .get(self.cursor + 1..)
            .map(|s| s.iter().collect())
            .unwrap_or_default();
        Line::from(vec![
            Span::raw(before),
            Span::styled(at, Style::new().add_modifier(Modifier::REVERSED)),
            Span::raw(after),
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_field_takes_long_text() {
        let mut i = Input::default();
        for c in "frank@example.com".chars() {
            i.insert(c);
        }
        assert_eq!(i.text(), "frank@example.com");
        for _ in 0..300 {
            i.insert('x');
        }
        assert_eq!(i.text().chars().count(), MAX_CHARS);
    }

    #[test]
    fn editing() {
        let mut i = Input::new("abc");
        i.left();
        i.insert('X');
        assert_eq!(i.text(), "abXc");
        i.home();
        i.delete();
        assert_eq!(i.text(), "bXc");
        i.end();
        i.backspace();
        assert_eq!(i.text(), "bX");
        i.insert('é');
        i.insert('\n');
        assert_eq!(i.text(), "bXé");
        i.left();
        i.backspace();
        assert_eq!(i.text(), "bé");
        i.clear();
        assert!(i.is_empty());
        i.backspace();
        i.delete();
        assert!(i.is_empty());
    }
}
