//! The profile panel at the top of a user's screen and of their doctor:
//! role, status, phone, where they stand on 2FA, the lock, and when.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget, Wrap};

use super::{field, panel, styled_field, wrapped_rows};
use crate::desk::views::UserDetail;
use crate::domain::contact::Phone;
use crate::domain::{Time, UserStatus, relative, short};
use crate::tui::theme::Theme;

/// Draw the profile at the top of `area`, as tall as its lines wrap to
/// (between 7 rows and [`PROFILE_MAX`]); returns the rest of `area`.
pub fn profile(d: &UserDetail, theme: Theme, now: Time, area: Rect, buf: &mut Buffer) -> Rect {
    // The profile takes the rows its lines wrap to, so the standing or a long
    // phone line does not push "last login" out of the panel.
    let lines = profile_lines(d, theme, now);
    let rows = wrapped_rows(&lines, area.width.saturating_sub(2), true);
    let [top, below] = Layout::vertical([
        Constraint::Length((rows + 2).clamp(7, PROFILE_MAX)),
        Constraint::Fill(1),
    ])
    .areas(area);
    render_profile(d, lines, theme, top, buf);
    below
}

fn when(t: Option<Time>, now: Time) -> String {
    t.map_or_else(
        || "never".to_owned(),
        |t| format!("{} ({})", short(t), relative(t, now)),
    )
}

/// The profile panel's height at most: the factor, device, code and activity
/// panels below need the rest.
const PROFILE_MAX: u16 = 9;

fn render_profile(
    d: &UserDetail,
    lines: Vec<Line<'static>>,
    theme: Theme,
    area: Rect,
    buf: &mut Buffer,
) {
    let p = &d.profile;
    let title = if p.name.is_empty() {
        p.email.clone()
    } else {
        format!("{} · {}", p.email, p.name)
    };
    Paragraph::new(lines)
        .block(panel(&title, theme, false))
        .wrap(Wrap { trim: true })
        .render(area, buf);
}

fn profile_lines(d: &UserDetail, theme: Theme, now: Time) -> Vec<Line<'static>> {
    let p = &d.profile;
    let status = if p.status == UserStatus::Disabled {
        theme.bad()
    } else {
        theme.ok()
    };
    let standing = if d.grace_over {
        theme.bad()
    } else if d.enrol_by.is_some() {
        theme.warn()
    } else {
        theme.text()
    };
    let lock = if d.lock.hard {
        Span::styled(
            format!(
                "LOCKED after {} failures in a row: only an admin can unlock (u)",
                d.lock.streak
            ),
            theme.bad(),
        )
    } else if d.lock.locked {
        Span::styled(
            format!(
                "LOCKED after {} failures, releases {}",
                d.lock.failures,
                d.lock
                    .locked_until
                    .map_or_else(String::new, |t| relative(t, now))
            ),
            theme.bad(),
        )
    } else {
        // The failures that count now, of the number that locks.
        let failures = d.lock.failures;
        let of = failures + d.lock.failures_left;
        let text = format!("not locked: {failures} of {of} failures towards a lock");
        if failures > 0 {
            Span::styled(text, theme.warn())
        } else {
            Span::raw(text)
        }
    };
    // Masked, as everywhere the help desk sees it (the factors, the outbox).
    let phone = p.phone.as_ref().map_or_else(
        || "none".to_owned(),
        |ph| {
            format!(
                "{} ({})",
                Phone::stored(ph).map_or_else(|| "(unreadable)".to_owned(), |p| p.masked()),
                if p.phone_verified {
                    "verified"
                } else {
                    "not verified"
                }
            )
        },
    );
    let mut lines = vec![
        Line::from(vec![
            Span::styled("role ", theme.dim()),
            Span::raw(p.role.as_str()),
            Span::styled("   status ", theme.dim()),
            Span::styled(p.status.as_str(), status),
            Span::styled("   ask on every login ", theme.dim()),
            Span::raw(if p.every_login { "yes" } else { "no" }),
            Span::styled("   phone ", theme.dim()),
            Span::raw(phone),
        ]),
        styled_field("2FA", d.standing.clone(), standing, theme),
        Line::from(vec![Span::styled("lock: ", theme.dim()), lock]),
        field("created", when(Some(p.created_at), now), theme),
        field("last login", when(p.last_login_at, now), theme),
    ];
    if p.password_change {
        lines.insert(
            3,
            styled_field(
                "password",
                "a new one is required at their next login (compromise response)".to_owned(),
                theme.warn(),
                theme,
            ),
        );
    }
    lines
}
