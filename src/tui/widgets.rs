//! Drawing helpers the screens share: panels, a window over a list, cutting,
//! countdowns, key hints, the QR code widget, and (in `profile`) a user's panel.

pub mod profile;

use std::ops::Range;

use chrono::TimeDelta;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Paragraph, Widget, Wrap};

use super::keys::Binding;
use super::theme::Theme;
use crate::qr::{Modules, half_block};

/// A bordered panel with a title; the focused one is highlighted.
pub fn panel(title: &str, theme: Theme, focused: bool) -> Block<'static> {
    Block::bordered()
        .border_type(BorderType::Rounded)
        .border_style(if focused {
            theme.border_focus()
        } else {
            theme.border()
        })
        .title(Span::styled(
            format!(" {title} "),
            if focused {
                theme.title()
            } else {
                theme.heading()
            },
        ))
}

/// The rows to draw so `selected` stays visible in `height` rows.
pub fn window(len: usize, selected: usize, height: usize) -> Range<usize> {
    if height == 0 || len == 0 {
        return 0..0;
    }
    let start = (selected + 1)
        .saturating_sub(height)
        .min(len.saturating_sub(height));
    start..(start + height).min(len)
}

/// On a panel's border (`area`: the panel's outer area), where its list
/// goes on past what it shows: `↑ more` on the top, `↓ more` on the bottom.
pub fn more_marks(buf: &mut Buffer, area: Rect, above: bool, below: bool, theme: Theme) {
    let mut mark = |y: u16, text: &str| {
        let width = u16::try_from(text.chars().count()).unwrap_or(0);
        let x = area.right().saturating_sub(width + 2);
        if x > area.x {
            buf.set_string(x, y, text, theme.key());
        }
    };
    if above {
        mark(area.y, " ↑ more ");
    }
    if below && area.height > 1 {
        mark(area.bottom() - 1, " ↓ more ");
    }
}

/// `rows 1–14 of 22` for the rows `shown` of a list of `len`, or `22 rows`
/// when all of them show.
pub fn rows_shown(shown: &Range<usize>, len: usize) -> String {
    if shown.start == 0 && shown.end >= len {
        format!("{len} rows")
    } else {
        format!("rows {}–{} of {len}", shown.start + 1, shown.end)
    }
}

/// `text` cut to `width` characters, ending in `…` when cut.
pub fn cut(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_owned();
    }
    if width == 0 {
        return String::new();
    }
    let mut out: String = text.chars().take(width - 1).collect();
    out.push('…');
    out
}

/// `text` cut to `width` as [`cut`] does and padded to it, in `style`, with
/// the characters at `found` (character positions) in `matched`.
pub fn marked(
    text: &str,
    width: usize,
    found: &[Range<usize>],
    style: Style,
    matched: Style,
) -> Vec<Span<'static>> {
    let shown = cut(text, width);
    let was_cut = shown != text;
    let count = shown.chars().count();
    let mut spans: Vec<Span<'static>> = Vec::new();
    let mut run = String::new();
    let mut run_matched = false;
    for (i, c) in shown.chars().enumerate() {
        let hit = !(was_cut && i + 1 == count) && found.iter().any(|r| r.contains(&i));
        if hit != run_matched && !run.is_empty() {
            let s = if run_matched { matched } else { style };
            spans.push(Span::styled(std::mem::take(&mut run), s));
        }
        run_matched = hit;
        run.push(c);
    }
    run.extend(std::iter::repeat_n(' ', width.saturating_sub(count)));
    if !run.is_empty() {
        // Padding after a match is not part of it.
        if run_matched {
            let text = run.trim_end().to_owned();
            let pad = run.len() - text.len();
            spans.push(Span::styled(text, matched));
            if pad > 0 {
                spans.push(Span::styled(" ".repeat(pad), style));
            }
        } else {
            spans.push(Span::styled(run, style));
        }
    }
    spans
}

/// `4:05`, or `-` when over.
pub fn mmss(d: TimeDelta) -> String {
    let s = d.num_seconds();
    if s <= 0 {
        return "0:00".to_owned();
    }
    if s >= 3_600 {
        return format!("{}:{:02}:{:02}", s / 3_600, s % 3_600 / 60, s % 60);
    }
    format!("{}:{:02}", s / 60, s % 60)
}

/// A bar of `width` cells, filled in proportion to `left` of `total`.
pub fn bar(left: TimeDelta, total: TimeDelta, width: usize) -> String {
    let total = total.num_seconds().max(1);
    let left = left.num_seconds().clamp(0, total);
    let filled = usize::try_from(left * i64::try_from(width).unwrap_or(0) / total).unwrap_or(0);
    format!(
        "{}{}",
        "█".repeat(filled),
        "░".repeat(width.saturating_sub(filled))
    )
}

/// Rows `lines` take in `width` columns, word-wrapped as a `Paragraph` with
/// `Wrap { trim }` wraps them. Measured by drawing each line, so a panel or
/// popup sized with it is never a row short of what it then draws.
pub fn wrapped_rows(lines: &[Line<'_>], width: u16, trim: bool) -> u16 {
    if width == 0 {
        return 0;
    }
    let mut rows: u16 = 0;
    for line in lines {
        // Two rows hold more than `width` characters between them, or a row
        // would not have been broken: this bounds the rows one line takes.
        let cells = line.width().div_ceil(usize::from(width));
        let bound = u16::try_from(2 * cells + 1).unwrap_or(u16::MAX);
        let area = Rect::new(0, 0, width, bound);
        let mut buf = Buffer::empty(area);
        Paragraph::new(line.clone())
            .wrap(Wrap { trim })
            .render(area, &mut buf);
        let used = (0..bound)
            .rev()
            .find(|&y| (0..width).any(|x| buf[(x, y)].symbol() != " "))
            .map_or(1, |y| y + 1);
        rows = rows.saturating_add(used);
    }
    rows
}

/// `t enrol TOTP  s add SMS  …`: the bar-worthy keys of a screen.
pub fn hints(bindings: &[Binding], theme: Theme) -> Vec<Span<'static>> {
    let mut spans = Vec::new();
    for b in bindings.iter().filter(|b| b.bar) {
        spans.push(Span::styled(b.key(), theme.key()));
        spans.push(Span::raw(format!(" {}  ", b.help)));
    }
    spans
}

/// A line of `label: value` with the label dimmed.
pub fn field(label: &str, value: impl Into<String>, theme: Theme) -> Line<'static> {
    Line::from(vec![
        Span::styled(format!("{label}: "), theme.dim()),
        Span::raw(value.into()),
    ])
}

pub fn styled_field(
    label: &str,
    value: impl Into<String>,
    style: Style,
    theme: Theme,
) -> Line<'static> {
    Line::from(vec![
        Span::styled(format!("{label}: "), theme.dim()),
        Span::styled(value.into(), style),
    ])
}

/// The QR code drawn with half blocks in its own explicit colours.
pub struct QrView<'a> {
    pub modules: &'a Modules,
    pub theme: Theme,
}

impl Widget for &QrView<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let (w, h) = self.modules.cells();
        let style = self.theme.qr();
        for row in 0..h.min(usize::from(area.height)) {
            for col in 0..w.min(usize::from(area.width)) {
                let glyph = half_block(
                    self.modules.is_dark(col, row * 2),
                    self.modules.is_dark(col, row * 2 + 1),
                );
                let (x, y) = (
                    area.x + u16::try_from(col).unwrap_or(0),
                    area.y + u16::try_from(row).unwrap_or(0),
                );
                if let Some(cell) = buf.cell_mut((x, y)) {
                    cell.set_char(glyph).set_style(style);
                }
            }
        }
    }
}

/// Draw `line` as row `row` of `area`; a selected row is highlighted edge to edge.
pub fn draw_row(
    buf: &mut Buffer,
    area: Rect,
    row: usize,
    line: &Line<'_>,
    selected: bool,
    theme: Theme,
) {
    let Ok(offset) = u16::try_from(row) else {
        return;
    };
    if offset >= area.height {
        return;
    }
    let y = area.y + offset;
    buf.set_line(area.x, y, line, area.width);
    if selected {
        buf.set_style(
            Rect {
                x: area.x,
                y,
                width: area.width,
                height: 1,
            },
            theme.selected(),
        );
    }
}

/// `text` broken at spaces into lines of at most `width` characters, the
/// first starting with `first`, the rest with `rest` (a hanging indent).
pub fn wrap(text: &str, width: usize, first: &str, rest: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = first.to_owned();
    let mut empty = true;
    for word in text.split_whitespace() {
        let room = width.saturating_sub(line.chars().count() + usize::from(!empty));
        if !empty && word.chars().count() > room {
            lines.push(std::mem::replace(&mut line, rest.to_owned()));
            empty = true;
        }
        if !empty {
            line.push(' ');
        }
        line.push_str(word);
        empty = false;
    }
    lines.push(line);
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(clippy::single_range_in_vec_init)] // a list of one range, meant
    fn marked_highlights_what_was_found_and_pads() {
        use ratatui::style::Modifier;
        let hl = Style::new().add_modifier(Modifier::BOLD);
        let parts = |spans: Vec<Span>| {
            spans
                .into_iter()
                .map(|s| (s.content.into_owned(), s.style == hl))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            parts(marked("erin@x", 8, &[0..3], Style::new(), hl)),
            [("eri".into(), true), ("n@x  ".into(), false)]
        );
        // A match at the end: the padding is not part of it.
        assert_eq!(
            parts(marked("a@x", 5, &[2..3], Style::new(), hl)),
            [
                ("a@".into(), false),
                ("x".into(), true),
                ("  ".into(), false)
            ]
        );
        // Cut: the ellipsis is never marked, nor what it hides.
        assert_eq!(
            parts(marked("abcdef", 4, &[2..6], Style::new(), hl)),
            [
                ("ab".into(), false),
                ("c".into(), true),
                ("…".into(), false)
            ]
        );
        assert!(marked("", 0, &[], Style::new(), hl).is_empty());
    }

    #[test]
    fn wrapping_keeps_a_hanging_indent() {
        assert_eq!(
            wrap("one two three four", 12, "  - ", "    "),
            vec!["  - one two", "    three", "    four"]
        );
        assert_eq!(wrap("", 10, "> ", "  "), vec!["> "]);
        assert_eq!(
            wrap("averyveryverylongword", 8, "", ""),
            vec!["averyveryverylongword"]
        );
    }

    #[test]
    fn window_keeps_the_selection_visible() {
        assert_eq!(window(100, 0, 10), 0..10);
        assert_eq!(window(100, 9, 10), 0..10);
        assert_eq!(window(100, 10, 10), 1..11);
        assert_eq!(window(100, 99, 10), 90..100);
        assert_eq!(window(5, 4, 10), 0..5);
        assert_eq!(window(0, 0, 10), 0..0);
    }

    #[test]
    fn wrapped_rows_count_what_word_wrapping_draws() {
        let lines = [
            Line::from("URI otpauth://totp/a-very-long-token-that-cannot-break"),
            Line::default(),
            Line::from("short"),
        ];
        // "URI" alone, then the token broken over two rows; the empty line
        // and the short one take a row each.
        assert_eq!(wrapped_rows(&lines[..1], 30, false), 3);
        assert_eq!(wrapped_rows(&lines, 30, false), 5);
        assert_eq!(wrapped_rows(&lines, 100, false), 3);
        assert_eq!(wrapped_rows(&lines, 0, false), 0);
    }

    #[test]
    fn cutting_and_clocks() {
        assert_eq!(cut("alice@example.com", 8), "alice@e…");
        assert_eq!(cut("short", 8), "short");
        assert_eq!(mmss(TimeDelta::seconds(245)), "4:05");
        assert_eq!(mmss(TimeDelta::seconds(-3)), "0:00");
        assert_eq!(mmss(TimeDelta::seconds(3_725)), "1:02:05");
        assert_eq!(
            bar(TimeDelta::seconds(150), TimeDelta::seconds(300), 10),
            "█████░░░░░"
        );
        assert_eq!(
            bar(TimeDelta::seconds(0), TimeDelta::seconds(300), 4),
            "░░░░"
        );
    }
}
