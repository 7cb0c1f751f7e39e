//! Drawing the simulator: the setup, the challenge, the authenticator app, the
//! phone and inbox, the sandbox's clock; sized from what each says, for 80×24.

use chrono::TimeDelta;
use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget, Wrap};

use super::Sandbox;
use super::decision;
use super::session::{Computer, LockWatch, Session};
use crate::desk::Desk;
use crate::desk::views::{AppCode, ChallengeView, DeliveryView, VerifyResult};
use crate::domain::doctor::SpentBy;
use crate::domain::vocab::{ChallengeState, DeliveryStatus};
use crate::domain::{FactorKind, Time, otp, relative, totp};
use crate::tui::strings;
use crate::tui::theme::Theme;
use crate::tui::widgets::{bar, mmss, panel, wrapped_rows};

/// The clock keys, in the order they move time.
const CLOCK_KEYS: [(&str, &str); 5] = [
    ("F5", "+30 s"),
    ("F6", "+5 min"),
    ("F7", "+1 day"),
    ("F8", "+14 days"),
    ("0", "reset"),
];

/// The simulator, on the sandbox's clock (`real_now` until it is ready).
pub(super) fn render(
    s: &Session,
    sandbox: &Sandbox,
    theme: Theme,
    real_now: Time,
    area: Rect,
    buf: &mut Buffer,
) {
    let now = sandbox.desk().map_or(real_now, Desk::now);
    let offset = sandbox
        .desk()
        .map_or_else(TimeDelta::zero, |d| d.clock().offset());
    let setup_lines = setup_lines(s, sandbox.preparing(), theme, area.width.saturating_sub(2));
    let setup_rows = wrapped_rows(&setup_lines, area.width.saturating_sub(2), false).max(2) + 2;
    let [setup, main, clock] = Layout::vertical([
        Constraint::Length(setup_rows),
        Constraint::Fill(1),
        Constraint::Length(1),
    ])
    .areas(area);
    // The sandbox's clock sits on the settings' lower border; the keys
    // that move it have the row under everything.
    let block =
        panel(strings::SIM_TITLE, theme, false).title_bottom(clock_line(now, offset, theme));
    let inner = block.inner(setup);
    block.render(setup, buf);
    Paragraph::new(setup_lines)
        .wrap(Wrap { trim: false })
        .render(inner, buf);

    let [left, right] =
        Layout::horizontal([Constraint::Percentage(58), Constraint::Percentage(42)]).areas(main);
    // The challenge panel takes the rows its lines wrap to (a lock message is
    // three), the decision and its log the rest, keeping three for themselves.
    let inner_w = left.width.saturating_sub(2);
    let lines = challenge_lines(s, theme, now, inner_w);
    let rows = wrapped_rows(&lines, inner_w, true) + 2;
    let [decision, challenge] = Layout::vertical([
        Constraint::Fill(1),
        Constraint::Length(rows.min(left.height.saturating_sub(5))),
    ])
    .areas(left);
    decision::render(s, sandbox.desk().is_some(), theme, now, decision, buf);
    render_challenge(s, lines, theme, challenge, buf);
    // The authenticator panel takes the rows it needs: one for "none". Its
    // code is read now, on the sandbox's clock: the one the phone shows.
    let shows = sandbox.desk().and_then(|desk| s.app_shows(desk));
    let app_lines = app_lines(s, shows.as_ref(), theme, right.width.saturating_sub(2));
    let app_rows = wrapped_rows(&app_lines, right.width.saturating_sub(2), true) + 2;
    let [app, phone] =
        Layout::vertical([Constraint::Length(app_rows), Constraint::Fill(1)]).areas(right);
    render_app(s, app_lines, theme, app, buf);
    render_phone(s, theme, now, phone, buf);
    // The clock keys act only on a sandbox: before one, the row says so.
    let clock_line = if sandbox.desk().is_some() {
        clock_keys(theme)
    } else {
        Line::styled(strings::SIM_CLOCK_LATER, theme.dim())
    };
    Paragraph::new(clock_line).render(clock, buf);
}

/// The settings in two groups, who and how (user, action, factor) and
/// where from (computer, IP, remember), each setting kept whole and each
/// group flowed into the lines it fits in `width`.
fn setup_lines(s: &Session, preparing: bool, theme: Theme, width: u16) -> Vec<Line<'static>> {
    let Some(email) = &s.email else {
        return vec![Line::styled(strings::SIM_NO_USER, theme.warn())];
    };
    let user = Line::from(vec![
        Span::styled("user ", theme.dim()),
        Span::styled(email.clone(), theme.heading()),
    ]);
    if preparing {
        return vec![user, Line::styled(strings::SIM_PREPARING, theme.warn())];
    }
    let computer = match (s.computer, s.device()) {
        (Computer::Known(_), Some(d)) => format!("\"{}\" ({})", d.label, d.state),
        _ => strings::NEW_DEVICE.to_owned(),
    };
    let who = vec![
        user,
        Line::from(vec![
            Span::styled("action ", theme.dim()),
            Span::raw(s.action().as_str()),
        ]),
        Line::from(vec![
            Span::styled("factor ", theme.dim()),
            Span::raw(s.factor_label()),
        ]),
    ];
    let from = vec![
        Line::from(vec![
            Span::styled("from ", theme.dim()),
            Span::raw(computer),
            Span::styled(" at IP ", theme.dim()),
            Span::raw(s.ip.clone()),
        ]),
        Line::from(vec![
            Span::styled("remember ", theme.dim()),
            Span::raw(if s.remember { "[x]" } else { "[ ]" }),
        ]),
    ];
    let mut lines = flow(who, width);
    lines.extend(flow(from, width));
    lines
}

/// Join `lines` into as few lines as fit in `width`, three spaces apart,
/// never breaking one.
fn flow(lines: Vec<Line<'static>>, width: u16) -> Vec<Line<'static>> {
    const GAP: &str = "   ";
    let width = usize::from(width);
    let mut out: Vec<Line<'static>> = Vec::new();
    for line in lines {
        match out.last_mut() {
            Some(last) if last.width() + GAP.len() + line.width() <= width => {
                last.spans.push(Span::raw(GAP));
                last.spans.extend(line.spans);
            }
            _ => out.push(line),
        }
    }
    out
}

/// `Sandbox clock 2026-11-21 09:05:30 UTC (+5 min 30 s)`.
fn clock_line(now: Time, offset: TimeDelta, theme: Theme) -> Line<'static> {
    let offset_text = if offset.is_zero() {
        "not moved".to_owned()
    } else {
        format!(
            "{}{}",
            if offset > TimeDelta::zero() { "+" } else { "-" },
            crate::domain::exact_span(offset)
        )
    };
    Line::from(vec![
        Span::styled(" Sandbox clock ", theme.dim()),
        Span::styled(crate::domain::stamp(now), theme.heading()),
        Span::styled(format!(" ({offset_text}) "), theme.dim()),
    ])
}

/// The keys that move the sandbox's clock (55 columns: they fit at 80).
fn clock_keys(theme: Theme) -> Line<'static> {
    let mut spans = vec![Span::styled(" Move the clock:", theme.dim())];
    for (key, what) in CLOCK_KEYS {
        spans.push(Span::raw(" "));
        spans.push(Span::styled(key, theme.key()));
        spans.push(Span::raw(format!(" {what} ")));
    }
    Line::from(spans)
}

fn render_challenge(
    s: &Session,
    lines: Vec<Line<'static>>,
    theme: Theme,
    area: Rect,
    buf: &mut Buffer,
) {
    let title = s
        .challenge
        .as_ref()
        .map_or_else(|| "Challenge".to_owned(), |c| format!("Challenge {}", c.id));
    Paragraph::new(lines)
        .block(panel(&title, theme, s.entering))
        .wrap(Wrap { trim: true })
        .render(area, buf);
}

/// The challenge panel's lines for a panel `inner_width` wide.
fn challenge_lines(s: &Session, theme: Theme, now: Time, inner_width: u16) -> Vec<Line<'static>> {
    let Some(c) = &s.challenge else {
        let mut lines = vec![Line::styled(strings::SIM_NO_CHALLENGE, theme.dim())];
        lines.extend(lock_line(s.lock.as_ref(), theme, now));
        return lines;
    };
    let factor = c
        .factor
        .as_ref()
        .map_or_else(|| "-".to_owned(), |f| f.label.clone());
    let width = usize::from(inner_width).saturating_sub(30).clamp(5, 20);
    let mut code = vec![Span::styled("code: ", theme.dim())];
    if s.entering {
        code.extend(s.code.line(false, true).spans);
        code.push(Span::styled("  Enter verify · Esc stop", theme.dim()));
    } else {
        code.push(Span::styled("press c to type it", theme.dim()));
    }
    // The factor and the attempts left share a line where they fit.
    let mut lines = flow(
        vec![
            Line::from(vec![
                Span::styled("factor ", theme.dim()),
                Span::raw(factor),
            ]),
            Line::from(vec![
                Span::styled("attempts left ", theme.dim()),
                Span::styled(
                    c.attempts_left.to_string(),
                    if c.attempts_left <= 1 {
                        theme.bad()
                    } else {
                        theme.text()
                    },
                ),
            ]),
        ],
        inner_width,
    );
    lines.extend(lock_line(s.lock.as_ref(), theme, now));
    lines.push(expiry_line(c, theme, now, width));
    if c.state == ChallengeState::Open {
        lines.push(resend_line(c, theme, now));
        lines.push(Line::from(code));
    } else {
        // Neither another code nor typing one works on a closed challenge.
        lines.push(Line::styled(strings::SIM_CLOSED, theme.dim()));
    }
    if let Some(v) = &s.last_verify {
        let style = if v.result == VerifyResult::Accepted {
            theme.ok()
        } else {
            theme.bad()
        };
        lines.push(Line::styled(
            format!("{}: {}", v.result.as_str().to_uppercase(), v.message),
            style,
        ));
    }
    lines
}

/// How far their 2FA is from a lock (once a failure counts), or the lock
/// in force.
fn lock_line(w: Option<&LockWatch>, theme: Theme, now: Time) -> Option<Line<'static>> {
    let w = w?;
    let l = &w.lock;
    if l.locked {
        let releases = l.locked_until.map(|t| relative(t, now));
        return Some(Line::styled(
            strings::sim_locked(w.hard_stop, releases.as_deref()),
            theme.bad(),
        ));
    }
    if l.failures == 0 && l.streak == 0 {
        return None;
    }
    let text = strings::sim_lock_count(
        l.failures,
        w.threshold,
        &crate::domain::exact_span(w.duration),
        l.streak,
        w.hard_stop,
    );
    let style = if l.failures_left <= 2 {
        theme.bad()
    } else {
        theme.warn()
    };
    Some(Line::styled(text, style))
}

/// The countdown of the code that works now, over that code's own lifetime
/// (a resent code fills the bar again). Never more than that lifetime,
/// never less than nothing, whatever the clock says.
fn expiry_line(c: &ChallengeView, theme: Theme, now: Time, width: usize) -> Line<'static> {
    if c.state != ChallengeState::Open {
        let style = if c.state == ChallengeState::Accepted {
            theme.ok()
        } else {
            theme.bad()
        };
        return Line::styled(format!("closed: {}", c.state), style);
    }
    // Expired since it was read, as the clock runs on in the live console.
    if c.expired || otp::is_expired(c.expires_at, now) {
        return Line::styled(
            format!("EXPIRED {}", relative(c.expires_at, now)),
            theme.bad(),
        );
    }
    let total = (c.expires_at - c.code_sent_at).max(TimeDelta::seconds(1));
    let left = (c.expires_at - now).clamp(TimeDelta::zero(), total);
    let style = if left.num_seconds() < 60 {
        theme.warn()
    } else {
        theme.ok()
    };
    Line::from(vec![
        Span::styled("expires in ", theme.dim()),
        Span::styled(mmss(left), theme.heading()),
        Span::raw(" "),
        Span::styled(bar(left, total, width), style),
    ])
}

fn resend_line(c: &ChallengeView, theme: Theme, now: Time) -> Line<'static> {
    if c.factor
        .as_ref()
        .is_some_and(|f| f.kind == FactorKind::Totp)
    {
        return Line::styled("(app codes are not sent: nothing to resend)", theme.dim());
    }
    match c.resend_ready_at {
        _ if c.resends_left == 0 => Line::styled("r Request another code: none left", theme.bad()),
        Some(at) if at > now => Line::styled(
            format!(
                "r Request another code in {} s ({} left)",
                (at - now).num_seconds(),
                c.resends_left
            ),
            theme.dim(),
        ),
        _ => Line::from(vec![
            Span::styled("r", theme.key()),
            Span::raw(format!(" Request another code ({} left)", c.resends_left)),
        ]),
    }
}

fn render_app(s: &Session, lines: Vec<Line<'static>>, theme: Theme, area: Rect, buf: &mut Buffer) {
    let title = match s.phone_offset {
        0 => "Authenticator app".to_owned(),
        o => {
            let phone = format!(
                "(phone {} s {})",
                o.abs(),
                if o < 0 { "slow" } else { "fast" }
            );
            // The panel's border, a space each side of the title: at 80×24
            // "Authenticator app" gives way, so the phone's clock shows whole.
            let room = usize::from(area.width.saturating_sub(4));
            if "Authenticator app ".len() + phone.len() <= room {
                format!("Authenticator app {phone}")
            } else {
                format!("App {phone}")
            }
        }
    };
    Paragraph::new(lines)
        .block(panel(&title, theme, false))
        .wrap(Wrap { trim: true })
        .render(area, buf);
}

/// What the user's authenticator app shows, in a panel `width` wide.
fn app_lines(s: &Session, shows: Option<&AppCode>, theme: Theme, width: u16) -> Vec<Line<'static>> {
    let Some(shows) = shows else {
        return vec![Line::styled("No authenticator app enrolled.", theme.dim())];
    };
    let left = shows.changes_in;
    let code = format!("{} {}", &shows.code[..3], &shows.code[3..]);
    let changes = format!("   changes in {:>2} s ", left.num_seconds());
    // The countdown bar gets what the code and its words leave, up to
    // ten cells (at 80x24 the panel is 32 wide).
    let room = usize::from(width).saturating_sub(code.len() + changes.len());
    // `y` types it only at a challenge for this app.
    let asks = s
        .open_challenge()
        .and_then(|c| c.factor.as_ref())
        .is_some_and(|f| f.id == shows.factor_id);
    let hint = match (&shows.spent, asks) {
        (Some(SpentBy::Resync { .. }), true) => strings::SIM_APP_READ_OUT_Y,
        (Some(SpentBy::Resync { .. }), false) => strings::SIM_APP_READ_OUT,
        (Some(SpentBy::Login { .. }), _) => strings::SIM_APP_USED,
        (None, true) => "y types it · < > phone clock",
        (None, false) => "< > shift the phone's clock",
    };
    vec![
        Line::from(vec![
            Span::styled(code, theme.title()),
            Span::styled(changes, theme.dim()),
            Span::styled(
                bar(left, TimeDelta::seconds(totp::STEP), room.min(10)),
                theme.ok(),
            ),
        ]),
        Line::styled(hint, theme.dim()),
    ]
}

/// The messages, newest first, each whole: a heading (channel, where to,
/// when, and whether it holds the code the challenge on screen takes), then
/// its text wrapped. Only the messages that fit whole are drawn.
fn render_phone(s: &Session, theme: Theme, now: Time, area: Rect, buf: &mut Buffer) {
    let block = panel("Phone and inbox", theme, false);
    let inner = block.inner(area);
    block.render(area, buf);
    if s.messages.is_empty() {
        Paragraph::new(Line::styled("No messages.", theme.dim())).render(inner, buf);
        return;
    }
    let mut lines = Vec::new();
    let mut room = inner.height;
    for m in &s.messages {
        let valid = valid_for_challenge(s, m);
        let message = message_lines(m, valid, theme, now, inner.width);
        let rows = wrapped_rows(&message, inner.width, true);
        if rows > room && !lines.is_empty() {
            break;
        }
        room = room.saturating_sub(rows);
        lines.extend(message);
    }
    Paragraph::new(lines)
        .wrap(Wrap { trim: true })
        .render(inner, buf);
}

/// Whether `m` holds the code that works for the challenge on screen: its
/// own challenge is the one shown, and its code is that challenge's current
/// one (an export's code is no use at a login).
fn valid_for_challenge(s: &Session, m: &DeliveryView) -> bool {
    m.valid_now
        && s.open_challenge()
            .is_some_and(|c| m.challenge_id == Some(c.id))
}

/// A message's heading on one row (its address left out when that does not
/// fit), and its whole text.
fn message_lines(
    m: &DeliveryView,
    valid: bool,
    theme: Theme,
    now: Time,
    width: u16,
) -> Vec<Line<'static>> {
    let (mark, style) = if valid {
        ("◀ valid now", theme.ok())
    } else if m.status == DeliveryStatus::Failed {
        ("not delivered", theme.bad())
    } else {
        ("", theme.dim())
    };
    let when = relative(m.at, now);
    let mut head = vec![Span::styled(
        format!("{} {} {when} ", m.channel, m.destination),
        theme.dim(),
    )];
    if Line::from(head.clone()).width() + mark.chars().count() > usize::from(width) {
        head = vec![Span::styled(format!("{} {when} ", m.channel), theme.dim())];
    }
    head.push(Span::styled(mark, style));
    vec![
        Line::from(head),
        Line::styled(
            m.text.clone(),
            if valid { theme.text() } else { theme.dim() },
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_flow_whole_into_the_width() {
        let items = vec![
            Line::from("user alice@example.com"),
            Line::from("action login"),
            Line::from("factor auto"),
        ];
        let flowed = flow(items.clone(), 40);
        assert_eq!(flowed.len(), 2);
        assert_eq!(
            flowed[0].to_string(),
            "user alice@example.com   action login"
        );
        assert_eq!(flow(items, 200).len(), 1);
    }
}
