//! What frames every screen: the tab row (the user shown, the clock), the
//! status bar (a note, or the keys), and the notice when the window is too small.

use ratatui::buffer::Buffer;
use ratatui::crossterm::event::KeyCode;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget, Wrap};

use super::keys::{Binding, GLOBAL, Mode, Tab};
use super::strings;
use super::theme::{Theme, Tone};
use super::widgets::{self, hints};
use crate::desk::Desk;

/// The smallest console that fits.
pub const MIN_WIDTH: u16 = 80;
pub const MIN_HEIGHT: u16 = 24;

/// The tabs, the one showing highlighted unless a screen is open over it
/// (then `crumb` says whose); on the right who is at the desk (the actor the
/// audit trail names) and, where there is room, the desk's clock; the
/// name of the app first when all of that leaves room for it.
pub fn tab_row(
    theme: Theme,
    tab: Tab,
    crumb: Option<&str>,
    desk: &Desk,
    area: Rect,
    buf: &mut Buffer,
) {
    let width = usize::from(area.width);
    let tab_spans = |short: bool| -> Vec<Span<'static>> {
        Tab::ALL
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let style = if *t == tab && crumb.is_none() {
                    theme.tab_active()
                } else {
                    theme.tab()
                };
                // Short, the tabs not showing keep only their number.
                if short && *t != tab {
                    Span::styled(format!(" {} ", i + 1), style)
                } else {
                    Span::styled(format!(" {} {} ", i + 1, t.title()), style)
                }
            })
            .collect()
    };
    let mut tabs = tab_spans(false);
    let actor = Line::from(vec![
        Span::styled(format!(" {} ", strings::ACTOR), theme.dim()),
        Span::styled(
            format!("{} ", widgets::cut(desk.actor(), ACTOR_SHOWN)),
            theme.heading(),
        ),
    ]);
    let offset = desk.clock().offset();
    // The clock in full, or (a long actor at 100 columns) the time alone.
    let clock = |format: &str| {
        Span::styled(
            format!(
                " {}{} ",
                desk.now().format(format),
                if offset.is_zero() {
                    String::new()
                } else {
                    format!(
                        " ({}{})",
                        if offset.num_seconds() > 0 { "+" } else { "-" },
                        crate::domain::exact_span(offset)
                    )
                }
            ),
            if offset.is_zero() {
                theme.dim()
            } else {
                theme.warn()
            },
        )
    };
    let name = Span::styled(format!(" {} ", strings::APP), theme.title());
    // What must show: a space, the tabs, and the actor.
    let mut used = 1 + Line::from(tabs.clone()).width() + actor.width();
    if let Some(crumb) = crumb {
        // A crumb cut short (an email at 80 columns) is worth more than
        // the names of the tabs not showing.
        if used + 4 + crumb.chars().count() > width {
            tabs = tab_spans(true);
            used = 1 + Line::from(tabs.clone()).width() + actor.width();
        }
        let room = width.saturating_sub(used + 4);
        tabs.push(Span::styled(
            format!(" › {} ", widgets::cut(crumb, room)),
            theme.tab_active(),
        ));
        used = 1 + Line::from(tabs.clone()).width() + actor.width();
    }
    let mut right = actor.spans;
    if let Some(clock) = [clock("%Y-%m-%d %H:%M:%S UTC"), clock("%H:%M:%S UTC")]
        .into_iter()
        .find(|c| used + c.width() <= width)
    {
        used += clock.width();
        right.push(clock);
    }
    let mut left = if used + name.width() - 1 <= width {
        vec![name]
    } else {
        vec![Span::raw(" ")]
    };
    left.extend(tabs);
    buf.set_line(area.x, area.y, &Line::from(left), area.width);
    let right = Line::from(right);
    let x = area
        .right()
        .saturating_sub(u16::try_from(right.width()).unwrap_or(u16::MAX));
    buf.set_line(x, area.y, &right, area.width);
}

/// The most of the actor's name the tab row shows.
const ACTOR_SHOWN: usize = 24;

/// The note, if there is one; else how to type, or the keys of what is on
/// top with `? help  q quit` on the right (not while a popup is open).
pub fn status_bar(
    theme: Theme,
    note: Option<(Tone, &str)>,
    mode: Mode,
    acting: &[Binding],
    popup: bool,
    area: Rect,
    buf: &mut Buffer,
) {
    buf.set_style(area, theme.bar());
    let line = if let Some((tone, text)) = note {
        Line::from(Span::styled(format!(" {text}"), theme.tone(tone)))
    } else if let Mode::Typing(keys) = mode {
        // The function keys that still act while typing are said too.
        let also = if keys.iter().any(|b| matches!(b.code, KeyCode::F(_))) {
            strings::TYPING_CLOCK_HINT
        } else {
            ""
        };
        Line::from(Span::styled(
            format!(" {}{also}", strings::TYPING_HINT),
            theme.dim(),
        ))
    } else {
        // The screen's keys, and `? keys  q quit` kept on the right.
        let right = if popup {
            Line::default()
        } else {
            // A key the screen binds itself (`q` closes the doctor) is
            // not also said as what it does elsewhere.
            let global: Vec<_> = GLOBAL
                .iter()
                .filter(|g| mode.bindings().iter().all(|b| b.code != g.code))
                .copied()
                .collect();
            Line::from(hints(&global, theme))
        };
        let room = area
            .width
            .saturating_sub(u16::try_from(right.width()).unwrap_or(0) + 1);
        // Whole hints only, as many as fit.
        let mut left = vec![Span::raw(" ")];
        let mut width = 1;
        for pair in hints(acting, theme).chunks(2) {
            let w: usize = pair.iter().map(Span::width).sum();
            if width + w > usize::from(room) {
                break;
            }
            width += w;
            left.extend(pair.iter().cloned());
        }
        buf.set_line(
            area.x,
            area.y,
            &Line::from(left).patch_style(theme.bar()),
            room,
        );
        let x = area
            .right()
            .saturating_sub(u16::try_from(right.width()).unwrap_or(0));
        buf.set_line(x, area.y, &right.patch_style(theme.bar()), area.width);
        return;
    };
    buf.set_line(area.x, area.y, &line.patch_style(theme.bar()), area.width);
}

/// In place of the console, while the terminal is smaller than it needs.
pub fn too_small(theme: Theme, area: Rect, buf: &mut Buffer) {
    let lines = vec![
        Line::styled(strings::TOO_SMALL, theme.bad()),
        Line::from(format!(
            "This one is {}×{}; {}",
            area.width,
            area.height,
            strings::TOO_SMALL_FIX
        )),
    ];
    let h = widgets::wrapped_rows(&lines, area.width, true).min(area.height);
    let y = area.y + area.height.saturating_sub(h) / 2;
    Paragraph::new(lines)
        .wrap(Wrap { trim: true })
        .centered()
        .render(
            Rect {
                y,
                height: h,
                ..area
            },
            buf,
        );
}

/// The last word on what reaches the terminal: ratatui drops control
/// characters, but a direction override (zero width) rides along with the
/// character before it. A cell holding one shows `�` instead, so text
/// stored before such characters were refused cannot reorder the screen.
pub fn neutralise(area: Rect, buf: &mut Buffer) {
    for y in area.top()..area.bottom() {
        for x in area.left()..area.right() {
            if let Some(cell) = buf
                .cell_mut((x, y))
                .filter(|c| c.symbol().chars().any(crate::domain::text::is_forbidden))
            {
                cell.set_symbol("\u{fffd}");
            }
        }
    }
}
