//! How the CLI prints: aligned tables and short detail blocks for people,
//! pretty JSON for scripts. Times are UTC.

use std::fmt::Write as _;

use serde::Serialize;

use crate::desk::views::{
    AuditView, ChallengeView, CodeStatus, ContactEnrolment, DeliveryView, DeviceView, FactorView,
    HotpEnrolment, LoginStart, PolicyItem, TotpEnrolment, UserDetail, UserSummary, VerifyOutcome,
};
use crate::domain::Time;

pub use crate::domain::short;

/// Stored text as one line: line breaks and other control characters
/// written as `\u{…}`.
pub(crate) fn one_line(text: &str) -> std::borrow::Cow<'_, str> {
    crate::domain::text::escape(text)
}

pub fn opt_short(t: Option<Time>) -> String {
    t.map_or_else(|| "-".to_owned(), short)
}

/// Pretty JSON. `serde_json` escapes only the C0 controls; DEL, the C1
/// controls and the direction overrides are written as `\uXXXX` too, so the
/// JSON means the same and cannot drive a terminal it is printed to.
pub fn json<T: Serialize + ?Sized>(value: &T) -> String {
    escape_json(
        serde_json::to_string_pretty(value).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}")),
    )
}

/// [`json`] on one line (an error object on stderr).
pub fn json_line<T: Serialize + ?Sized>(value: &T) -> String {
    escape_json(serde_json::to_string(value).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}")))
}

fn escape_json(text: String) -> String {
    if !text.chars().any(crate::domain::text::is_forbidden) {
        return text;
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        // Outside strings JSON has only ASCII structure and whitespace.
        if crate::domain::text::is_forbidden(c) && !matches!(c, '\n' | '\t' | '\r') {
            let _ = write!(out, "\\u{:04x}", u32::from(c));
        } else {
            out.push(c);
        }
    }
    out
}

/// Columns padded to their widest cell; the last column is not padded.
pub struct Table {
    headers: Vec<&'static str>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(headers: &[&'static str]) -> Self {
        Self {
            headers: headers.to_vec(),
            rows: Vec::new(),
        }
    }

    /// A row; a cell holding a line break or another control character
    /// (stored before they were refused) shows it as `\u{…}`, so it stays
    /// one cell on one line.
    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(
            cells
                .into_iter()
                .map(|c| one_line(&c).into_owned())
                .collect(),
        );
    }

    pub fn render(&self, indent: &str) -> String {
        let mut widths: Vec<usize> = self.headers.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (i, cell) in row.iter().enumerate() {
                if let Some(w) = widths.get_mut(i) {
                    *w = (*w).max(cell.chars().count());
                }
            }
        }
        let mut out = String::new();
        let line = |cells: Vec<&str>, out: &mut String| {
            let mut text = indent.to_owned();
            for (i, cell) in cells.iter().enumerate() {
                if i + 1 == cells.len() {
                    text.push_str(cell);
                } else {
                    let _ = write!(text, "{cell:<width$}  ", width = widths[i]);
                }
            }
            out.push_str(text.trim_end());
            out.push('\n');
        };
        line(self.headers.clone(), &mut out);
        for row in &self.rows {
            line(row.iter().map(String::as_str).collect(), &mut out);
        }
        out
    }
}

/// Users as a table; a full page ends with the `--after` for the next one.
pub fn users(list: &[UserSummary], limit: u32) -> String {
    if list.is_empty() {
        return "No users match.\n".to_owned();
    }
    let mut t = Table::new(&[
        "EMAIL",
        "NAME",
        "ROLE",
        "STATUS",
        "FACTORS",
        "CODES",
        "DEVICES",
        "LAST LOGIN",
    ]);
    for u in list {
        let status = if u.locked_until.is_some() {
            "locked".to_owned()
        } else {
            u.status.to_string()
        };
        let kinds = u.kinds_text();
        let codes = u.codes_text();
        t.row(vec![
            u.email.clone(),
            u.name.clone(),
            u.role.to_string(),
            status,
            kinds,
            codes,
            u.devices.to_string(),
            opt_short(u.last_login_at),
        ]);
    }
    let mut out = t.render("");
    if let Some(last) = list.last().filter(|_| list.len() >= limit as usize) {
        let _ = writeln!(out, "(next page: --after {})", last.email);
    }
    out
}

pub fn factors(list: &[FactorView], indent: &str) -> String {
    if list.is_empty() {
        return format!("{indent}No factors.\n");
    }
    let mut t = Table::new(&[
        "ID",
        "KIND",
        "STATUS",
        "LABEL",
        "CODES",
        "DRIFT",
        "LAST USED",
    ]);
    for f in list {
        let used = match (&f.last_used_at, &f.last_used_ip) {
            (Some(at), Some(ip)) => format!("{} from {ip}", short(*at)),
            (Some(at), None) => short(*at),
            _ => "never".to_owned(),
        };
        let step = f
            .oath
            .as_ref()
            .map_or(30, crate::desk::views::OathView::step_secs);
        let drift = if f.drift_steps == 0 {
            "-".to_owned()
        } else {
            format!("{:+} s", f.drift_steps * step)
        };
        let codes = f
            .oath
            .as_ref()
            .map_or_else(|| "-".to_owned(), crate::desk::views::OathView::describe);
        t.row(vec![
            f.id.to_string(),
            f.kind.to_string(),
            f.status.to_string(),
            f.label.clone(),
            codes,
            drift,
            used,
        ]);
    }
    t.render(indent)
}

pub fn devices(list: &[DeviceView], indent: &str) -> String {
    if list.is_empty() {
        return format!("{indent}No remembered devices.\n");
    }
    let mut t = Table::new(&[
        "ID",
        "LABEL",
        "STATE",
        "LAST IP",
        "LAST SEEN",
        "TRUSTED UNTIL",
    ]);
    for d in list {
        let until = match (&d.revoked_at, &d.revoked_reason) {
            (Some(at), Some(why)) => format!("revoked {} ({why})", short(*at)),
            (Some(at), None) => format!("revoked {}", short(*at)),
            _ => short(d.trusted_until),
        };
        t.row(vec![
            d.id.to_string(),
            d.label.clone(),
            d.state.to_string(),
            d.last_ip.clone(),
            short(d.last_seen_at),
            until,
        ]);
    }
    t.render(indent)
}

pub fn codes(status: &CodeStatus, indent: &str) -> String {
    if status.total == 0 {
        return format!("{indent}No backup codes generated.\n");
    }
    let mut out = format!(
        "{indent}{} of {} left{}{}\n",
        status.remaining,
        status.total,
        if status.low {
            " (low: generate a new set)"
        } else {
            ""
        },
        status
            .generated_at
            .map(|t| format!(", generated {}", short(t)))
            .unwrap_or_default()
    );
    for c in status.codes.iter().filter(|c| c.used_at.is_some()) {
        let _ = writeln!(
            out,
            "{indent}  #{:<2} used {}{}",
            c.position,
            opt_short(c.used_at),
            c.used_ip
                .as_deref()
                .map(|ip| format!(" from {ip}"))
                .unwrap_or_default()
        );
    }
    out
}

/// Events as a table. A time set by `--now` (or a moved clock) is marked
/// `*`, and the real time it was written is shown beside it.
pub fn audit(list: &[AuditView], indent: &str) -> String {
    if list.is_empty() {
        return format!("{indent}No events.\n");
    }
    let any_set = list.iter().any(AuditView::time_set);
    let mut headers = vec!["ID", "AT"];
    if any_set {
        headers.push("WRITTEN");
    }
    headers.extend(["ACTOR", "OS USER", "USER", "KIND", "DETAIL"]);
    let mut t = Table::new(&headers);
    for e in list {
        let mut row = vec![e.id.to_string()];
        if any_set {
            row.push(format!(
                "{}{}",
                short(e.at),
                if e.time_set() { "*" } else { " " }
            ));
            row.push(if e.time_set() {
                opt_short(e.written_at)
            } else {
                String::new()
            });
        } else {
            row.push(short(e.at));
        }
        row.extend([
            e.actor.clone(),
            e.os_user.clone().unwrap_or_else(|| "-".to_owned()),
            e.user.clone().unwrap_or_else(|| "-".to_owned()),
            e.kind.clone(),
            e.detail.clone(),
        ]);
        t.row(row);
    }
    let mut out = t.render(indent);
    if any_set {
        let _ = writeln!(
            out,
            "{indent}* the clock was set (--now, or moved): AT is the time the event claims; WRITTEN is when it really was."
        );
    }
    out
}

pub fn outbox(list: &[DeliveryView]) -> String {
    if list.is_empty() {
        return "The outbox is empty.\n".to_owned();
    }
    let mut out = String::new();
    for d in list {
        let _ = writeln!(
            out,
            "#{} {} {} to {} ({}) for {}{}",
            d.id,
            short(d.at),
            d.channel,
            d.destination,
            d.status,
            d.user,
            if d.valid_now { "  <- valid code" } else { "" }
        );
        if let Some(reason) = &d.reason {
            let _ = writeln!(out, "    failed: {}", one_line(reason));
        }
        let _ = writeln!(out, "    {}", one_line(&d.text));
    }
    out
}

pub fn policy(items: &[PolicyItem]) -> String {
    let mut t = Table::new(&["KEY", "VALUE", "DEFAULT", "MEANING"]);
    for p in items {
        t.row(vec![
            p.key.to_owned(),
            p.value.clone(),
            if p.value == p.default {
                "=".to_owned()
            } else {
                p.default.clone()
            },
            p.meaning.to_owned(),
        ]);
    }
    t.render("")
}

pub fn user(d: &UserDetail) -> String {
    let p = &d.profile;
    let mut out = String::new();
    let name = if p.name.is_empty() {
        String::new()
    } else {
        format!("{}, ", one_line(&p.name))
    };
    let _ = writeln!(out, "{} ({name}{}, {})", p.email, p.role, p.status);
    let _ = writeln!(
        out,
        "  created {} UTC, last login {}",
        short(p.created_at),
        p.last_login_at
            .map_or_else(|| "never".to_owned(), |t| format!("{} UTC", short(t)))
    );
    if let Some(phone) = &p.phone {
        let _ = writeln!(
            out,
            "  phone {phone} ({})",
            if p.phone_verified {
                "verified"
            } else {
                "not verified"
            }
        );
    }
    let _ = writeln!(out, "  2FA: {}", d.standing);
    let lock = if d.lock.hard {
        format!(
            "LOCKED after {} failures in a row: only an admin can unlock it",
            d.lock.streak
        )
    } else if d.lock.locked {
        format!(
            "LOCKED after {} failures, releases {} UTC",
            d.lock.failures,
            opt_short(d.lock.locked_until)
        )
    } else {
        format!(
            "not locked ({} failure(s) before a lock)",
            d.lock.failures_left
        )
    };
    let _ = writeln!(out, "  lock: {lock}");
    let _ = writeln!(
        out,
        "  ask on every login: {}",
        if p.every_login { "yes" } else { "no" }
    );
    let _ = writeln!(out, "\nFactors");
    out.push_str(&factors(&d.factors, "  "));
    let _ = writeln!(out, "\nTrusted devices");
    out.push_str(&devices(&d.devices, "  "));
    let _ = writeln!(out, "\nBackup codes");
    out.push_str(&codes(&d.codes, "  "));
    let _ = writeln!(out, "\nRecent activity");
    out.push_str(&audit(&d.activity, "  "));
    out
}

/// Printed as it is (its QR code may carry colour escapes): the stored
/// text in it is escaped here.
pub fn totp_enrolment(e: &TotpEnrolment, qr: &str) -> String {
    use crate::domain::text::escape;
    let mut text = format!(
        "Authenticator enrolment for {}: {} (factor {}, pending).\n\nScan this QR code with the authenticator app:\n\n{qr}",
        escape(&e.account),
        escape(&e.label),
        e.factor_id
    );
    let _ = write!(
        text,
        "\nOr type the secret: {}\nURI: {}\n\nThen confirm with the code it shows:\n  factordesk factor confirm {} {} CODE\n",
        crate::domain::totp::grouped(&e.secret),
        escape(&e.uri),
        escape(&e.account),
        e.factor_id
    );
    text
}

pub fn hotp_enrolment(e: &HotpEnrolment) -> String {
    use crate::domain::text::escape;
    let mut text = format!(
        "Hardware token for {}: {} (factor {}, HOTP, counter {}, pending).\n",
        escape(&e.account),
        escape(&e.label),
        e.factor_id,
        e.counter
    );
    if let (Some(secret), Some(uri)) = (&e.secret, &e.uri) {
        let _ = write!(
            text,
            "Program this secret into the token: {}\nURI: {}\n",
            crate::domain::totp::grouped(secret),
            escape(uri)
        );
    }
    let _ = write!(
        text,
        "Then press its button and confirm with the code it shows:\n  factordesk factor confirm {} {} CODE\n",
        escape(&e.account),
        e.factor_id
    );
    text
}

pub fn contact_enrolment(email: &str, e: &ContactEnrolment) -> String {
    let mut text = format!(
        "{} factor {} for {email} is pending: a code was sent to {} ({}).\n",
        e.kind, e.factor_id, e.destination, e.delivery.status
    );
    if let Some(reason) = &e.delivery.reason {
        let _ = writeln!(text, "The message failed: {reason}.");
    }
    let _ = write!(
        text,
        "Read it with `factordesk outbox --user {email}`, then confirm:\n  factordesk factor confirm {email} {} CODE\nNot arrived? `factordesk login resend {}`\n",
        e.factor_id, e.challenge_id
    );
    text
}

pub fn generated_codes(
    email: &str,
    codes: &[String],
    replaced: bool,
    file: Option<&std::path::Path>,
) -> String {
    let mut text = format!(
        "Backup codes for {email} (shown once; each works once{}):\n\n",
        if replaced {
            "; the previous set no longer works"
        } else {
            ""
        }
    );
    for (i, code) in codes.iter().enumerate() {
        let _ = writeln!(text, "  {:>2}. {code}", i + 1);
    }
    if let Some(path) = file {
        let _ = writeln!(text, "\nSaved to {} (mode 0600).", path.display());
    }
    text
}

pub fn login_start(s: &LoginStart) -> String {
    let mut text = format!("{}: {}\n", s.action, s.decision.as_str().to_uppercase());
    for r in &s.reasons {
        let _ = writeln!(text, "  - {r}");
    }
    if let (Some(id), Some(exp)) = (s.challenge_id, s.expires_at) {
        let _ = write!(
            text,
            "Challenge {id}: expires {} UTC, {} attempt(s). Enter the code with:\n  factordesk login verify {id} CODE\n",
            short(exp),
            s.attempts_left.unwrap_or_default()
        );
    }
    text
}

pub fn verify(v: &VerifyOutcome) -> String {
    let mut text = format!("{}: {}\n", v.result.as_str().to_uppercase(), v.message);
    if let Some(token) = &v.device_token {
        let _ = writeln!(
            text,
            "Device token (pass to `login start --device`): {token}"
        );
    }
    text
}

pub fn challenge(v: &ChallengeView) -> String {
    let factor = v
        .factor
        .as_ref()
        .map_or_else(|| "-".to_owned(), |f| format!("{} ({})", f.label, f.kind));
    let mut text = format!(
        "Challenge {} for {} ({} from {}): {}\n  factor: {factor}\n  expires {} UTC{}\n  {} attempt(s) left, {} resend(s) left",
        v.id,
        v.user,
        v.purpose,
        v.ip,
        v.state,
        short(v.expires_at),
        if v.expired { " (expired)" } else { "" },
        v.attempts_left,
        v.resends_left,
    );
    if let Some(t) = v.resend_ready_at {
        let _ = write!(text, "; next resend at {} UTC", short(t));
    }
    text.push('\n');
    text
}

pub fn readiness(
    rows: &[crate::desk::readiness::ReadinessRow],
    at_risk: u64,
    users: u64,
) -> String {
    let mut t = Table::new(&["EMAIL", "FACTORS", "CODES", "RISK", "PROBLEMS"]);
    for row in rows {
        let factors = if row.factors.is_empty() {
            "none".to_owned()
        } else {
            row.factors
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(",")
        };
        let codes = if row.codes_total == 0 {
            "-".to_owned()
        } else {
            format!("{}/{}", row.codes_left, row.codes_total)
        };
        t.row(vec![
            row.email.clone(),
            factors,
            codes,
            row.risk.to_string(),
            row.problems
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; "),
        ]);
    }
    let mut out =
        format!("{at_risk} of {users} users would be stuck, or nearly, without their phone:\n\n");
    if rows.is_empty() {
        out.push_str("Nobody: every user has a working factor and backup codes.\n");
    } else {
        out.push_str(&t.render(""));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_and_trim() {
        let mut t = Table::new(&["A", "LONGER", "C"]);
        t.row(vec!["xyz".into(), "1".into(), "last".into()]);
        t.row(vec!["q".into(), String::new(), String::new()]);
        assert_eq!(t.render(""), "A    LONGER  C\nxyz  1       last\nq\n");
    }
}
