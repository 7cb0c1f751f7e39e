//! Drawing the whole console (`impl Widget for &App`) and rendering it without
//! a terminal: the same state and clock give the same text, for `render` and tests.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Color, Modifier};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget, Wrap};

use super::keys::Action;
use super::{App, Mode, Tab, Tone, popup, screens, strings};
use crate::desk::{Desk, DeskError, Result};
use crate::tui::theme::Theme;
use crate::tui::widgets::{self, hints};
use crate::tui::worker::Worker;

/// The smallest console that fits.
pub const MIN_WIDTH: u16 = 80;
pub const MIN_HEIGHT: u16 = 24;

impl Widget for &App {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let small = area.width < MIN_WIDTH || area.height < MIN_HEIGHT;
        self.too_small.set(small);
        if small {
            too_small(self.theme, area, buf);
            return;
        }
        let now = self.desk.now();
        let [tabs, body, status] = Layout::vertical([
            Constraint::Length(1),
            Constraint::Fill(1),
            Constraint::Length(1),
        ])
        .areas(area);
        self.render_tabs(tabs, buf);
        if let Some(u) = &self.user {
            screens::user::render(u, self.theme, now, body, buf);
        } else {
            match self.tab {
                Tab::Overview => screens::overview::render(&self.overview, self.theme, body, buf),
                Tab::Users => screens::users::render(&self.users, self.theme, body, buf),
                Tab::Simulator => {
                    screens::simulator::render(
                        &self.sim,
                        &self.sandbox,
                        self.theme,
                        now,
                        body,
                        buf,
                    );
                }
                Tab::Outbox => screens::outbox::render(&self.outbox, self.theme, now, body, buf),
                Tab::Audit => screens::audit::render(&self.audit, self.theme, body, buf),
                Tab::Policy => screens::policy::render(&self.policy, self.theme, body, buf),
            }
        }
        self.render_status(status, buf);
        if let Some(p) = &self.popup {
            popup::render(self, p, now, area, buf);
            if matches!(p, popup::Popup::Help { .. }) {
                // The help learns whether it scrolls as it is drawn, and
                // stays off the status bar: say so there in the same frame.
                self.render_status(status, buf);
            }
        }
        neutralise(area, buf);
    }
}

/// The last word on what reaches the terminal: ratatui drops control
/// characters, but a direction override (zero width) rides along with the
/// character before it. A cell holding one shows `�` instead, so text
/// stored before such characters were refused cannot reorder the screen.
fn neutralise(area: Rect, buf: &mut Buffer) {
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

impl App {
    fn render_tabs(&self, area: Rect, buf: &mut Buffer) {
        let theme = self.theme;
        // The name goes first when there is room for it and the breadcrumb.
        let room_for_name = area.width >= 100 || self.user.is_none();
        let mut spans = if room_for_name {
            vec![Span::styled(format!(" {} ", strings::APP), theme.title())]
        } else {
            vec![Span::raw(" ")]
        };
        for (i, tab) in Tab::ALL.iter().enumerate() {
            let style = if *tab == self.tab && self.user.is_none() {
                theme.tab_active()
            } else {
                theme.tab()
            };
            spans.push(Span::styled(format!(" {} {} ", i + 1, tab.title()), style));
        }
        if let Some(u) = &self.user {
            let used = Line::from(spans.clone()).width();
            let room = usize::from(area.width).saturating_sub(used + 4);
            spans.push(Span::styled(
                format!(" › {} ", widgets::cut(&u.email, room)),
                theme.tab_active(),
            ));
        }
        let tabs = Line::from(spans);
        let used = u16::try_from(tabs.width()).unwrap_or(u16::MAX);
        buf.set_line(area.x, area.y, &tabs, area.width);
        let offset = self.desk.clock().offset();
        let clock = format!(
            "{}{} ",
            self.desk.now().format("%Y-%m-%d %H:%M:%S UTC"),
            if offset.is_zero() {
                String::new()
            } else {
                format!(
                    " ({}{})",
                    if offset.num_seconds() > 0 { "+" } else { "-" },
                    crate::domain::exact_span(offset)
                )
            }
        );
        let width = u16::try_from(clock.chars().count()).unwrap_or(0);
        if used.saturating_add(width) < area.width {
            buf.set_string(
                area.right() - width,
                area.y,
                clock,
                if offset.is_zero() {
                    theme.dim()
                } else {
                    theme.warn()
                },
            );
        }
    }

    fn render_status(&self, area: Rect, buf: &mut Buffer) {
        let theme = self.theme;
        buf.set_style(area, theme.bar());
        let line = if let Some(note) = &self.note {
            let style = match note.tone {
                Tone::Error => theme.bad(),
                Tone::Ok => theme.ok(),
                Tone::Info => theme.text(),
            };
            Line::from(Span::styled(format!(" {}", note.text), style))
        } else if matches!(self.mode(), Mode::Typing) {
            Line::from(Span::styled(
                format!(" {}", strings::TYPING_HINT),
                theme.dim(),
            ))
        } else {
            // The screen's keys, and `? keys  q quit` kept on the right.
            let right = if self.popup.is_none() {
                Line::from(hints(super::keys::GLOBAL, theme))
            } else {
                Line::default()
            };
            let room = area
                .width
                .saturating_sub(u16::try_from(right.width()).unwrap_or(0) + 1);
            // Whole hints only, as many as fit.
            let mut left = vec![Span::raw(" ")];
            let mut width = 1;
            for pair in hints(self.bindings(), theme).chunks(2) {
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

    /// Whether the screen under any popup has a list the arrows, PgUp/PgDn
    /// and Home/End move through (for `?`: only keys that work are listed).
    pub(crate) fn moves_through_a_list(&self) -> bool {
        self.user.is_some() || self.tab != Tab::Simulator
    }

    /// The bindings of the screen under any popup (for `?`).
    pub(crate) fn bindings_under_popup(&self) -> &'static [super::keys::Binding] {
        if let Some(u) = &self.user {
            return if u.full_doctor {
                screens::doctor::KEYS
            } else {
                screens::user::KEYS
            };
        }
        match self.tab {
            Tab::Overview if self.overview.readiness.is_some() => screens::readiness::KEYS,
            Tab::Overview => screens::overview::KEYS,
            Tab::Users => screens::users::KEYS,
            Tab::Simulator => screens::simulator::KEYS,
            Tab::Outbox => screens::outbox::KEYS,
            Tab::Audit => screens::audit::KEYS,
            Tab::Policy => screens::policy::KEYS,
        }
    }
}

fn too_small(theme: Theme, area: Rect, buf: &mut Buffer) {
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

/// The screens `render` can draw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScreenName {
    Overview,
    Users,
    User,
    Simulator,
    Outbox,
    Audit,
    Policy,
}

impl ScreenName {
    pub const NAMES: &'static str = "overview, users, user, simulator, outbox, audit, policy";

    pub fn parse(text: &str) -> Option<ScreenName> {
        Some(match text.trim().to_ascii_lowercase().as_str() {
            "overview" => ScreenName::Overview,
            "users" => ScreenName::Users,
            "user" => ScreenName::User,
            "simulator" | "sim" | "login" => ScreenName::Simulator,
            "outbox" => ScreenName::Outbox,
            "audit" => ScreenName::Audit,
            "policy" => ScreenName::Policy,
            _ => return None,
        })
    }
}

/// An app on `desk` showing `screen` (for `user` and `simulator`, about `user`).
/// It is driven through the same actions as the live console.
pub fn app_on(desk: Desk, screen: ScreenName, user: Option<&str>, theme: Theme) -> Result<App> {
    let mut app = App::new(desk, theme, Worker::inline(0));
    let tab = match screen {
        ScreenName::Overview | ScreenName::User => Tab::Overview,
        ScreenName::Users => Tab::Users,
        ScreenName::Simulator => Tab::Simulator,
        ScreenName::Outbox => Tab::Outbox,
        ScreenName::Audit => Tab::Audit,
        ScreenName::Policy => Tab::Policy,
    };
    app.update(Action::GoTo(tab));
    // What the screen asked of the (inline) worker, such as the Audit
    // screen's check of the chain, is in.
    app.poll_worker();
    match (screen, user) {
        (ScreenName::User, None) => {
            return Err(DeskError::Refused(
                "the user screen needs --user EMAIL".to_owned(),
            ));
        }
        (ScreenName::User, Some(email)) => {
            app.open_user(email);
            if app.user.is_none() {
                return Err(DeskError::UnknownUser(email.to_owned()));
            }
        }
        (ScreenName::Simulator, Some(email)) => {
            app.desk.user_summary(email)?;
            app.simulate(email);
            app.refresh();
        }
        _ => {}
    }
    Ok(app)
}

/// Draw `app` into a fresh buffer of `width`×`height`.
pub fn buffer(app: &App, width: u16, height: u16) -> Buffer {
    let area = Rect::new(0, 0, width, height);
    let mut buf = Buffer::empty(area);
    app.render(area, &mut buf);
    buf
}

/// The buffer as plain text: one line per row, trailing spaces removed.
pub fn text(buf: &Buffer) -> String {
    let width = usize::from(buf.area.width);
    let mut out = String::new();
    for row in buf.content().chunks(width.max(1)) {
        let mut line = String::new();
        let mut skip = 0;
        for cell in row {
            if skip > 0 {
                skip -= 1;
                continue;
            }
            let symbol = cell.symbol();
            line.push_str(symbol);
            skip = unicode_width(symbol).saturating_sub(1);
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

fn unicode_width(symbol: &str) -> usize {
    ratatui::text::Span::raw(symbol).width().max(1)
}

/// The buffer with ANSI colours and emphasis (SGR), for `render --ansi`.
pub fn ansi(buf: &Buffer) -> String {
    let width = usize::from(buf.area.width);
    let mut out = String::new();
    for row in buf.content().chunks(width.max(1)) {
        let mut current = String::new();
        let mut skip = 0;
        for cell in row {
            if skip > 0 {
                skip -= 1;
                continue;
            }
            let sgr = sgr(cell.fg, cell.bg, cell.modifier);
            if sgr != current {
                out.push_str("\x1b[0m");
                out.push_str(&sgr);
                current = sgr;
            }
            out.push_str(cell.symbol());
            skip = unicode_width(cell.symbol()).saturating_sub(1);
        }
        out.push_str("\x1b[0m\n");
    }
    out
}

fn sgr(fg: Color, bg: Color, m: Modifier) -> String {
    let mut codes: Vec<String> = Vec::new();
    if m.contains(Modifier::BOLD) {
        codes.push("1".into());
    }
    if m.contains(Modifier::DIM) {
        codes.push("2".into());
    }
    if m.contains(Modifier::REVERSED) {
        codes.push("7".into());
    }
    if let Some(c) = color(fg, false) {
        codes.push(c);
    }
    if let Some(c) = color(bg, true) {
        codes.push(c);
    }
    if codes.is_empty() {
        String::new()
    } else {
        format!("\x1b[{}m", codes.join(";"))
    }
}

fn color(c: Color, bg: bool) -> Option<String> {
    let base = if bg { 40 } else { 30 };
    let n = match c {
        Color::Reset => return None,
        Color::Black => 0,
        Color::Red => 1,
        Color::Green => 2,
        Color::Yellow => 3,
        Color::Blue => 4,
        Color::Magenta => 5,
        Color::Cyan => 6,
        Color::Gray => 7,
        Color::DarkGray => return Some(format!("{}", base + 60)),
        Color::White => return Some(format!("{}", base + 67)),
        Color::LightRed => return Some(format!("{}", base + 61)),
        Color::LightGreen => return Some(format!("{}", base + 62)),
        Color::LightYellow => return Some(format!("{}", base + 63)),
        Color::LightBlue => return Some(format!("{}", base + 64)),
        Color::LightMagenta => return Some(format!("{}", base + 65)),
        Color::LightCyan => return Some(format!("{}", base + 66)),
        Color::Indexed(i) => return Some(format!("{};5;{i}", base + 8)),
        Color::Rgb(r, g, b) => return Some(format!("{};2;{r};{g};{b}", base + 8)),
    };
    Some(format!("{}", base + n))
}
