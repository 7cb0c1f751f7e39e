//! Policy: every setting with its value, default and meaning; Enter edits the
//! selected one (validated, and audited by the desk).

use ratatui::buffer::Buffer;
use ratatui::crossterm::event::KeyCode;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget, Wrap};

use crate::desk::Result;
use crate::desk::views::PolicyItem;
use crate::domain::stamp;
use crate::tui::keys::{Action, Binding, ch, named};
use crate::tui::pages::step;
use crate::tui::popups::form::{Form, Purpose};
use crate::tui::theme::Theme;
use crate::tui::view::{Ctx, Effect, News, View};
use crate::tui::widgets::{cut, draw_row, more_marks, panel, rows_shown, window};

pub const KEYS: &[Binding] = &[
    named(
        KeyCode::Enter,
        None,
        Action::Edit,
        "change the selected setting",
        true,
    ),
    ch('e', Action::Edit, "change the selected setting", false),
];

#[derive(Debug, Default)]
pub struct PolicyScreen {
    items: Vec<PolicyItem>,
    selected: usize,
}

impl PolicyScreen {
    /// The selected setting's editor.
    fn edit(&self) -> Effect {
        let Some(item) = self.items.get(self.selected) else {
            return Effect::None;
        };
        Effect::Popup(Box::new(Form::new(
            &format!("Policy: {}", item.key),
            vec![
                format!("{}.", capitalise(item.meaning)),
                format!("Accepted: {}. Default: {}.", item.form, item.default),
            ],
            &item.value.clone(),
            Purpose::PolicyValue {
                key: item.key.to_owned(),
            },
        )))
    }
}

impl View for PolicyScreen {
    fn keys(&self) -> &'static [Binding] {
        KEYS
    }

    fn reload(&mut self, cx: &Ctx) -> Result<Effect> {
        self.items = cx.desk.policy_items()?;
        self.selected = self.selected.min(self.items.len().saturating_sub(1));
        Ok(Effect::None)
    }

    fn handle(&mut self, action: Action, _: &Ctx) -> Effect {
        match action {
            Action::Edit | Action::Open => self.edit(),
            _ => {
                self.selected = step(self.selected, self.items.len(), action, 10);
                Effect::None
            }
        }
    }

    /// Another screen's fix asks for a setting's editor (the doctor's
    /// "allow the country").
    fn tell(&mut self, news: News, _: &Ctx) -> std::result::Result<Effect, News> {
        match news {
            News::EditSetting(key) => {
                if let Some(i) = self.items.iter().position(|p| p.key == key) {
                    self.selected = i;
                }
                Ok(self.edit())
            }
            other => Err(other),
        }
    }

    fn render(&self, cx: &Ctx, area: Rect, buf: &mut Buffer) {
        render(self, cx.theme, area, buf);
    }
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().collect::<String>() + chars.as_str())
        .unwrap_or_default()
}

fn render(s: &PolicyScreen, theme: Theme, area: Rect, buf: &mut Buffer) {
    let [list, detail] = Layout::vertical([Constraint::Fill(1), Constraint::Length(5)]).areas(area);
    // The rows under the border and the column header.
    let height = usize::from(list.height.saturating_sub(3));
    let shown = window(s.items.len(), s.selected, height);
    let block = panel(
        &format!("Policy · {}", rows_shown(&shown, s.items.len())),
        theme,
        true,
    );
    let inner = block.inner(list);
    block.render(list, buf);
    // At 80×24 not every setting fits: the border says where more are.
    more_marks(buf, list, shown.start > 0, shown.end < s.items.len(), theme);
    let [head, body] = Layout::vertical([Constraint::Length(1), Constraint::Fill(1)]).areas(inner);
    let w = usize::from(inner.width);
    // Each column as wide as its longest entry and two spaces, so a value
    // never runs into its meaning; a very long value is cut (the panel
    // below shows it whole).
    let key_w = s
        .items
        .iter()
        .map(|p| p.key.len())
        .max()
        .unwrap_or(0)
        .max(7)
        + 2;
    let value_w = s
        .items
        .iter()
        .map(|p| p.value.chars().count())
        .max()
        .unwrap_or(0)
        .clamp(5, (w / 4).max(8))
        + 2;
    let meaning_w = w.saturating_sub(1 + key_w + value_w);
    buf.set_line(
        head.x,
        head.y,
        &Line::styled(
            format!(" {:<key_w$}{:<value_w$}{}", "SETTING", "VALUE", "MEANING"),
            theme.dim(),
        ),
        head.width,
    );
    for (row, i) in shown.enumerate() {
        let p = &s.items[i];
        let changed = p.value != p.default;
        let line = Line::from(vec![
            Span::raw(format!(" {:<key_w$}", p.key)),
            Span::styled(
                format!("{:<value_w$}", cut(&p.value, value_w - 2)),
                if changed { theme.warn() } else { theme.text() },
            ),
            Span::styled(cut(p.meaning, meaning_w), theme.dim()),
        ]);
        draw_row(buf, body, row, &line, i == s.selected, theme);
    }
    let block = panel("Setting", theme, false);
    let inner = block.inner(detail);
    block.render(detail, buf);
    if let Some(p) = s.items.get(s.selected) {
        let lines = vec![
            Line::from(vec![
                Span::styled(format!("{} = ", p.key), theme.dim()),
                Span::styled(p.value.clone(), theme.heading()),
            ]),
            Line::styled(
                format!(
                    "{}. Accepted: {}. Default: {}.{}",
                    capitalise(p.meaning),
                    p.form,
                    p.default,
                    p.changed_at
                        .map(|t| format!(" Changed {}.", stamp(t)))
                        .unwrap_or_default()
                ),
                theme.dim(),
            ),
        ];
        Paragraph::new(lines)
            .wrap(Wrap { trim: true })
            .render(inner, buf);
    }
}
