//! The one text field every screen and popup uses: typing, cursor and word
//! moves, a shell's line-editing keys, drawn with a cursor (or masked).

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

    /// The cursor's place after the word before it: back over spaces and
    /// punctuation, then over letters and digits (readline's `M-b`).
    fn word_start(&self) -> usize {
        let chars: Vec<char> = self.text.chars().collect();
        let mut at = self.cursor.min(chars.len());
        while at > 0 && !chars[at - 1].is_alphanumeric() {
            at -= 1;
        }
        while at > 0 && chars[at - 1].is_alphanumeric() {
            at -= 1;
        }
        at
    }

    /// The end of the word after the cursor (readline's `M-f`).
    fn word_end(&self) -> usize {
        let chars: Vec<char> = self.text.chars().collect();
        let mut at = self.cursor.min(chars.len());
        while at < chars.len() && !chars[at].is_alphanumeric() {
            at += 1;
        }
        while at < chars.len() && chars[at].is_alphanumeric() {
            at += 1;
        }
        at
    }

    /// Remove the characters `from..to` and leave the cursor at `from`.
    fn remove(&mut self, from: usize, to: usize) {
        let (a, b) = (self.byte_at(from), self.byte_at(to));
        self.text.replace_range(a..b, "");
        self.cursor = from;
    }

    pub fn word_left(&mut self) {
        self.cursor = self.word_start();
    }

    pub fn word_right(&mut self) {
        self.cursor = self.word_end();
    }

    /// Ctrl-U: erase everything before the cursor.
    pub fn kill_to_start(&mut self) {
        self.remove(0, self.cursor);
    }

    /// Ctrl-K: erase everything from the cursor on.
    pub fn kill_to_end(&mut self) {
        self.remove(self.cursor, self.text.chars().count());
    }

    /// Alt-Backspace: erase the word before the cursor.
    pub fn kill_word_back(&mut self) {
        self.remove(self.word_start(), self.cursor);
    }

    /// Alt-D: erase the word after the cursor.
    pub fn kill_word_forward(&mut self) {
        self.remove(self.cursor, self.word_end());
    }

    /// Ctrl-W: erase back to the space before the cursor, as a shell does
    /// (an email address goes whole).
    pub fn kill_big_word_back(&mut self) {
        let chars: Vec<char> = self.text.chars().collect();
        let mut at = self.cursor.min(chars.len());
        while at > 0 && chars[at - 1].is_whitespace() {
            at -= 1;
        }
        while at > 0 && !chars[at - 1].is_whitespace() {
            at -= 1;
        }
        self.remove(at, self.cursor);
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
            Action::WordLeft => self.word_left(),
            Action::WordRight => self.word_right(),
            Action::KillToStart => self.kill_to_start(),
            Action::KillToEnd => self.kill_to_end(),
            Action::KillWordBack => self.kill_word_back(),
            Action::KillWordForward => self.kill_word_forward(),
            Action::KillBigWordBack => self.kill_big_word_back(),
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

    /// The field after `actions` on `text` with the cursor at its end, and
    /// the cursor (`|`) in it.
    fn after(text: &str, actions: &[Action]) -> String {
        let mut i = Input::new(text);
        for a in actions {
            assert!(i.edit(*a), "{a:?} edits");
        }
        let mut shown: Vec<char> = i.text().chars().collect();
        shown.insert(i.cursor, '|');
        shown.into_iter().collect()
    }

    #[test]
    fn line_editing_keys() {
        use Action::*;
        let t = "ana.lópez@example.com  ID checked";
        assert_eq!(after(t, &[CursorHome]), format!("|{t}"));
        assert_eq!(after(t, &[CursorHome, CursorEnd]), format!("{t}|"));
        // Words are runs of letters and digits, accents included.
        assert_eq!(after(t, &[WordLeft]), "ana.lópez@example.com  ID |checked");
        assert_eq!(
            after(t, &[WordLeft, WordLeft, WordLeft]),
            "ana.lópez@example.|com  ID checked"
        );
        assert_eq!(
            after(t, &[CursorHome, WordRight]),
            "ana|.lópez@example.com  ID checked"
        );
        assert_eq!(
            after(t, &[CursorHome, WordRight, WordRight]),
            "ana.lópez|@example.com  ID checked"
        );
        assert_eq!(after(t, &[KillWordBack]), "ana.lópez@example.com  ID |");
        assert_eq!(
            after(t, &[KillWordBack, KillWordBack]),
            "ana.lópez@example.com  |"
        );
        assert_eq!(
            after(t, &[CursorHome, KillWordForward]),
            "|.lópez@example.com  ID checked"
        );
        // Ctrl-W goes back to a space: an address goes whole.
        assert_eq!(after(t, &[KillBigWordBack]), "ana.lópez@example.com  ID |");
        assert_eq!(
            after(t, &[KillBigWordBack, KillBigWordBack, KillBigWordBack]),
            "|"
        );
        assert_eq!(after(t, &[WordLeft, KillToStart]), "|checked");
        assert_eq!(
            after(t, &[WordLeft, KillToEnd]),
            "ana.lópez@example.com  ID |"
        );
        // At either end, nothing to erase or move over is no error.
        assert_eq!(
            after(
                "",
                &[KillToStart, KillToEnd, KillWordBack, WordLeft, WordRight]
            ),
            "|"
        );
        assert_eq!(
            after("abc", &[CursorHome, KillToStart, KillWordBack, WordLeft]),
            "|abc"
        );
        assert_eq!(
            after("abc", &[KillToEnd, KillWordForward, WordRight]),
            "abc|"
        );
        // What is not an edit is left to the caller.
        assert!(!Input::default().edit(Submit));
    }
}
