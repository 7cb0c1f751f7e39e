//! Drawing a user's screen: the profile, the factors and trusted devices
//! (side by side when wide), the backup codes, and the doctor or activity.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};

use super::{Focus, UserScreen};
use crate::desk::views::{DeviceState, DeviceView, OathView, UserDetail};
use crate::domain::{FactorStatus, Time, relative, totp};
use crate::tui::keys::{Action, user_key};
use crate::tui::screens::doctor;
use crate::tui::theme::Theme;
use crate::tui::widgets::profile::profile;
use crate::tui::widgets::{cut, draw_row, panel, window};

/// From this width the factor and device lists sit side by side, each still
/// as wide as the lists stacked in an 80-column terminal; narrower, each
/// takes the whole width, so a masked destination or a device's address
/// and times are not cut.
const SIDE_BY_SIDE: u16 = 160;

/// Rows the code and doctor/activity panels keep at least under the lists.
const BOTTOM_MIN: u16 = 7;

/// The profile, the factors and devices, the backup codes, and the doctor
/// panel (or the activity).
pub(super) fn render(s: &UserScreen, theme: Theme, now: Time, area: Rect, buf: &mut Buffer) {
    let d = &s.detail;
    let below = profile(d, theme, now, area, buf);
    // Each list takes the rows it needs (an empty one says so in two), as
    // far as the code and doctor panels keep their least.
    let need = |n: usize, empty: usize| {
        u16::try_from(if n == 0 { empty } else { n } + 2).unwrap_or(u16::MAX)
    };
    let (factors_h, devices_h) = (need(d.factors.len(), 2), need(d.devices.len(), 1));
    let (factors, devices, bottom) = if area.width >= SIDE_BY_SIDE {
        let room = below.height.saturating_sub(BOTTOM_MIN).max(4);
        let [middle, bottom] = Layout::vertical([
            Constraint::Length(factors_h.max(devices_h).min(room)),
            Constraint::Fill(1),
        ])
        .areas(below);
        let [factors, devices] =
            Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)])
                .areas(middle);
        (factors, devices, bottom)
    } else {
        // Stacked: share what the bottom panels leave, neither list less
        // than three rows (one item) while the other could give some up.
        let room = below.height.saturating_sub(BOTTOM_MIN).max(6);
        let (mut f, mut dv) = (factors_h, devices_h);
        while f + dv > room && (f > 3 || dv > 3) {
            if f >= dv { f -= 1 } else { dv -= 1 }
        }
        let [factors, devices, bottom] = Layout::vertical([
            Constraint::Length(f),
            Constraint::Length(dv),
            Constraint::Fill(1),
        ])
        .areas(below);
        (factors, devices, bottom)
    };
    render_factors(s, theme, factors, buf);
    render_devices(s, theme, now, devices, buf);
    let [codes, activity] =
        Layout::horizontal([Constraint::Length(30), Constraint::Fill(1)]).areas(bottom);
    render_codes(d, theme, now, codes, buf);
    if s.show_doctor {
        let focused = s.focus == Focus::Bottom;
        doctor::render_panel(&s.doctor, s.finding, focused, theme, activity, buf);
    } else {
        render_activity(s, theme, activity, buf);
    }
}

/// The widest of `texts`, in characters.
fn widest<'a>(texts: impl IntoIterator<Item = &'a String>) -> usize {
    texts
        .into_iter()
        .map(|t| t.chars().count())
        .max()
        .unwrap_or(0)
}

fn render_factors(s: &UserScreen, theme: Theme, area: Rect, buf: &mut Buffer) {
    let focused = s.focus == Focus::Factors;
    let block = panel(
        &format!("Factors ({})", s.detail.factors.len()),
        theme,
        focused,
    );
    let inner = block.inner(area);
    block.render(area, buf);
    let factors = &s.detail.factors;
    if factors.is_empty() {
        Paragraph::new(vec![
            Line::styled("No second factor.", theme.warn()),
            Line::styled("t authenticator app · s SMS · m email", theme.dim()),
        ])
        .render(inner, buf);
        return;
    }
    let w = usize::from(inner.width);
    let drifts: Vec<String> = factors
        .iter()
        .map(|f| {
            // A hardware token counts presses: where its counter is.
            if let Some(counter) = f.oath.as_ref().and_then(|o| o.counter) {
                return format!(" token #{counter}");
            }
            let step = f.oath.as_ref().map_or(totp::STEP, OathView::step_secs);
            if f.drift_steps == 0 {
                String::new()
            } else {
                format!(" drift {:+}s", f.drift_steps * step)
            }
        })
        .collect();
    // The whole label (the masked number or address) matters most: the last
    // use gives up the word "used", then the time of day, before it is cut.
    let formats: [fn(Option<Time>) -> String; 3] = [
        |t| {
            t.map_or_else(
                || "never used".to_owned(),
                |t| format!("used {}", t.format("%m-%d %H:%M")),
            )
        },
        |t| {
            t.map_or_else(
                || "unused".to_owned(),
                |t| t.format("%m-%d %H:%M").to_string(),
            )
        },
        |t| t.map_or_else(|| "unused".to_owned(), |t| t.format("%m-%d").to_string()),
    ];
    let label_need = widest(factors.iter().map(|f| &f.label));
    let drift_w = widest(&drifts);
    let used: Vec<String> = formats
        .iter()
        .map(|format| {
            factors
                .iter()
                .map(|f| format(f.last_used_at))
                .collect::<Vec<_>>()
        })
        .find(|used| 1 + 9 + label_need + 2 + widest(used) + drift_w <= w)
        .unwrap_or_else(|| factors.iter().map(|f| formats[2](f.last_used_at)).collect());
    let used_w = widest(&used);
    let label_w = label_need.min(w.saturating_sub(1 + 9 + 2 + used_w + drift_w));
    for (row, i) in window(factors.len(), s.factor, usize::from(inner.height)).enumerate() {
        let f = &factors[i];
        let style = match f.status {
            FactorStatus::Active => theme.ok(),
            FactorStatus::Pending => theme.warn(),
            FactorStatus::Disabled => theme.dim(),
        };
        let line = Line::from(vec![
            Span::styled(format!(" {:<9}", f.status.as_str()), style),
            Span::raw(format!("{:<label_w$}  ", cut(&f.label, label_w))),
            Span::styled(format!("{:<used_w$}", used[i]), theme.dim()),
            Span::styled(drifts[i].clone(), theme.warn()),
        ]);
        draw_row(buf, inner, row, &line, focused && i == s.factor, theme);
    }
}

/// A device's trust: when it runs out, ran out, or was revoked; long, then
/// short.
fn trust_texts(d: &DeviceView, now: Time) -> [String; 2] {
    match d.state {
        DeviceState::Trusted => [
            format!("trusted until {}", d.trusted_until.format("%m-%d")),
            format!("until {}", d.trusted_until.format("%m-%d")),
        ],
        DeviceState::Expired => [
            format!("expired {}", relative(d.trusted_until, now)),
            format!("expired {}", d.trusted_until.format("%m-%d")),
        ],
        DeviceState::Revoked => [
            d.revoked_at.map_or_else(
                || "revoked".to_owned(),
                |t| format!("revoked {}", t.format("%m-%d")),
            ),
            "revoked".to_owned(),
        ],
    }
}

fn render_devices(s: &UserScreen, theme: Theme, now: Time, area: Rect, buf: &mut Buffer) {
    let focused = s.focus == Focus::Devices;
    let block = panel(
        &format!("Trusted devices ({})", s.detail.devices.len()),
        theme,
        focused,
    );
    let inner = block.inner(area);
    block.render(area, buf);
    let devices = &s.detail.devices;
    if devices.is_empty() {
        Paragraph::new(Line::styled("No remembered computers.", theme.dim())).render(inner, buf);
        return;
    }
    let w = usize::from(inner.width);
    // Label, last IP, last seen and trust, in columns. Where they do not fit,
    // the times shorten first (no time of day, shorter trust words), then
    // the label is cut, never the address.
    let seen_formats: [fn(Time) -> String; 3] = [
        |t| format!("seen {}", t.format("%m-%d %H:%M")),
        |t| format!("seen {}", t.format("%m-%d")),
        |t| t.format("%m-%d").to_string(),
    ];
    let trust: Vec<[String; 2]> = devices.iter().map(|d| trust_texts(d, now)).collect();
    let label_need = widest(devices.iter().map(|d| &d.label)).min(24);
    let ip_w = widest(devices.iter().map(|d| &d.last_ip));
    let fits =
        |seen_w: usize, trust_w: usize| 1 + label_need + 2 + ip_w + 2 + seen_w + 2 + trust_w <= w;
    let mut choice = (2, 1);
    'find: for (si, format) in seen_formats.iter().enumerate() {
        let seen_w = widest(
            &devices
                .iter()
                .map(|d| format(d.last_seen_at))
                .collect::<Vec<_>>(),
        );
        for ti in 0..2 {
            if fits(seen_w, widest(trust.iter().map(|t| &t[ti]))) {
                choice = (si, ti);
                break 'find;
            }
        }
    }
    let seen: Vec<String> = devices
        .iter()
        .map(|d| seen_formats[choice.0](d.last_seen_at))
        .collect();
    let (seen_w, trust_w) = (widest(&seen), widest(trust.iter().map(|t| &t[choice.1])));
    let label_w = widest(devices.iter().map(|d| &d.label))
        .min(w.saturating_sub(1 + 2 + ip_w + 2 + seen_w + 2 + trust_w));
    for (row, i) in window(devices.len(), s.device, usize::from(inner.height)).enumerate() {
        let d = &devices[i];
        let style = match d.state {
            DeviceState::Trusted => theme.ok(),
            DeviceState::Expired => theme.warn(),
            DeviceState::Revoked => theme.dim(),
        };
        let line = Line::from(vec![
            Span::raw(format!(" {:<label_w$}  ", cut(&d.label, label_w))),
            Span::raw(format!("{:<ip_w$}  ", d.last_ip)),
            Span::styled(format!("{:<seen_w$}  ", seen[i]), theme.dim()),
            Span::styled(trust[i][choice.1].clone(), style),
        ]);
        draw_row(buf, inner, row, &line, focused && i == s.device, theme);
    }
}

fn render_codes(d: &UserDetail, theme: Theme, now: Time, area: Rect, buf: &mut Buffer) {
    let block = panel("Backup codes", theme, false);
    let inner = block.inner(area);
    block.render(area, buf);
    let c = &d.codes;
    let mut lines = Vec::new();
    if c.total == 0 {
        let key = user_key(Action::RegenerateCodes).unwrap_or('?');
        lines.push(Line::styled(
            format!("None generated ({key})."),
            theme.warn(),
        ));
    } else {
        let style = if c.remaining == 0 {
            theme.bad()
        } else if c.low {
            theme.warn()
        } else {
            theme.ok()
        };
        lines.push(Line::styled(
            format!("{} of {} left", c.remaining, c.total),
            style,
        ));
        let mut used: Vec<_> = c
            .codes
            .iter()
            .filter_map(|u| u.used_at.map(|t| (t, u)))
            .collect();
        used.sort_by_key(|(t, _)| std::cmp::Reverse(*t));
        for (t, u) in used {
            lines.push(Line::styled(
                format!("#{:<2} used {}", u.position, relative(t, now)),
                theme.dim(),
            ));
        }
    }
    Paragraph::new(lines).render(inner, buf);
}

fn render_activity(s: &UserScreen, theme: Theme, area: Rect, buf: &mut Buffer) {
    let focused = s.focus == Focus::Bottom;
    let block = panel("Recent activity", theme, focused);
    let inner = block.inner(area);
    block.render(area, buf);
    let w = usize::from(inner.width);
    for (row, i) in window(
        s.detail.activity.len(),
        s.activity,
        usize::from(inner.height),
    )
    .enumerate()
    {
        let e = &s.detail.activity[i];
        let kind = cut(&e.kind, 16);
        let detail_w = w.saturating_sub(12 + 17 + 1);
        let line = Line::from(vec![
            Span::styled(format!(" {} ", e.at.format("%m-%d %H:%M")), theme.dim()),
            Span::raw(format!("{kind:<17}")),
            Span::raw(cut(&e.detail, detail_w)),
        ]);
        draw_row(buf, inner, row, &line, focused && i == s.activity, theme);
    }
}
