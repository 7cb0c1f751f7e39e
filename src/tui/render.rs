//! The console without a terminal, for `factordesk render` and tests: an app
//! on a screen, drawn as text or ANSI; the same state and clock, the same text.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier};
use ratatui::widgets::Widget;

use super::App;
use super::keys::{Action, Tab};
use super::theme::Theme;
use super::worker::Worker;
use crate::desk::{Desk, DeskError, Result};

pub use super::chrome::{MIN_HEIGHT, MIN_WIDTH};

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
            return Err(DeskError::NoUserNamed);
        }
        (ScreenName::User, Some(email)) => app
            .open_user(email)
            .map_err(|_| DeskError::UnknownUser(email.to_owned()))?,
        (ScreenName::Simulator, Some(email)) => {
            app.desk().user_summary(email)?;
            app.simulate(email);
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
