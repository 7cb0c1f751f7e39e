//! The simulator's Decision panel: the decision and its reasons, how its
//! challenge ended, how long ago it was made, and the dated log under it.

use chrono::TimeDelta;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget, Wrap};

use super::session::{Event, Session};
use crate::desk::views::LoginStart;
use crate::domain::login::Outcome;
use crate::domain::vocab::ChallengeState;
use crate::domain::{Time, relative};
use crate::tui::strings;
use crate::tui::theme::Theme;
use crate::tui::widgets::{panel, wrapped_rows};

pub(super) fn render(
    s: &Session,
    ready: bool,
    theme: Theme,
    now: Time,
    area: Rect,
    buf: &mut Buffer,
) {
    // A decision made at another time than the clock shows now says so in
    // its title: its reasons speak of then.
    let title = s
        .decided_at
        .filter(|at| s.start.is_some() && (now - *at).abs() >= TimeDelta::minutes(1))
        .map_or_else(
            || "Decision".to_owned(),
            |at| {
                strings::sim_decided(
                    &relative(at, now),
                    usize::from(area.width.saturating_sub(4)),
                )
            },
        );
    let block = panel(&title, theme, false);
    let inner = block.inner(area);
    block.render(area, buf);
    let mut lines = Vec::new();
    match &s.start {
        None => lines.push(Line::styled(
            if ready { strings::SIM_START } else { "" },
            theme.dim(),
        )),
        Some(start) => lines.extend(decision_lines(s, start, theme)),
    }
    // The newest events that fit under a blank row and the heading, counted
    // in the rows they wrap to, so the latest one is never the one cut off.
    // The heading names the day of the first shown, and a row names each
    // new day after it.
    let used = wrapped_rows(&lines, inner.width, false);
    let mut room = inner.height.saturating_sub(used + 2);
    let mut recent: Vec<(&Event, Line<'static>)> = Vec::new();
    for e in s.events.iter().rev() {
        let line = Line::from(vec![
            Span::styled(format!("{} ", e.at.format("%H:%M:%S")), theme.dim()),
            Span::styled(e.text.clone(), theme.tone(e.tone)),
        ]);
        let mut rows = wrapped_rows(std::slice::from_ref(&line), inner.width, false);
        // A newer event on another day needs its day's row.
        if recent
            .last()
            .is_some_and(|(newer, _)| newer.at.date_naive() != e.at.date_naive())
        {
            rows += 1;
        }
        if rows > room {
            break;
        }
        room -= rows;
        recent.push((e, line));
    }
    recent.reverse();
    if let Some((first, _)) = recent.first() {
        lines.push(Line::default());
        lines.push(Line::from(vec![
            Span::styled("What happened", theme.heading()),
            Span::styled(format!(" · {}", first.at.format("%Y-%m-%d")), theme.dim()),
        ]));
        let mut day = first.at.date_naive();
        for (e, line) in recent {
            if e.at.date_naive() != day {
                day = e.at.date_naive();
                lines.push(Line::styled(
                    e.at.format("%Y-%m-%d").to_string(),
                    theme.dim(),
                ));
            }
            lines.push(line);
        }
    }
    Paragraph::new(lines)
        .wrap(Wrap { trim: false })
        .render(inner, buf);
}

/// The decision and its reasons; once its challenge has closed, the
/// decision it came to, and why when it was not the code accepted.
fn decision_lines(s: &Session, start: &LoginStart, theme: Theme) -> Vec<Line<'static>> {
    let ended = s
        .challenge
        .as_ref()
        .filter(|c| Some(c.id) == start.challenge_id)
        .and_then(|c| match c.state {
            ChallengeState::Open => None,
            // Its log says the code was accepted; the others say why not.
            ChallengeState::Accepted => Some((Outcome::Allowed, None)),
            ChallengeState::Failed => Some((Outcome::Denied, Some(strings::SIM_ENDED_FAILED))),
            ChallengeState::Cancelled => {
                Some((Outcome::Denied, Some(strings::SIM_ENDED_CANCELLED)))
            }
        });
    let outcome = ended.map_or(start.decision, |(o, _)| o);
    let style = match outcome {
        Outcome::Allowed => theme.ok(),
        Outcome::Challenge => theme.warn(),
        Outcome::Denied => theme.bad(),
    };
    let mut lines = vec![Line::from(vec![
        Span::styled(outcome.as_str().to_uppercase(), style),
        Span::styled(
            format!("  {} for {}", start.action, start.user),
            theme.dim(),
        ),
    ])];
    if let Some((_, Some(how))) = ended {
        lines.push(Line::styled(format!("• {how}"), style));
    }
    // Every simulated login assumes the password: saying so each
    // time costs a row the other reasons need at 80×24.
    for r in start
        .reasons
        .iter()
        .filter(|r| r.as_str() != crate::domain::login::PASSWORD_ASSUMED)
    {
        lines.push(Line::from(format!("• {r}")));
    }
    lines
}
