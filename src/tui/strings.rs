//! Words the console shows, kept together so wording changes are one diff.

pub const APP: &str = "factordesk";
pub const TOO_SMALL: &str = "The terminal is too small";
pub const TOO_SMALL_FIX: &str = "factordesk needs at least 80×24: enlarge the window or make the font smaller. Until then keys do nothing but q, which quits.";
pub const HELP_TITLE: &str = "Keys";
pub const TYPING_HINT: &str = "Enter confirm  Esc cancel  ←/→ move";
pub const NO_ATTENTION: &str =
    "Nothing needs attention: no locks, no overdue enrolments, no failed messages.";
pub const NO_USERS_SEARCH: &str = "No users match. Esc clears the search; f changes the filter.";
pub const NO_USERS_FILTER: &str =
    "No users match this filter. f shows the next filter; Esc shows everyone.";
pub const NO_USERS_BOTH: &str =
    "No users match this search and filter. Esc clears both; f changes the filter.";
pub const NO_USERS: &str =
    "No users yet: add them from the command line (factordesk user add EMAIL).";
pub const CODES_LEGEND: &str = "CODES: backup codes left of the last batch; none: never generated.";
pub const NO_MESSAGES: &str = "No messages yet. SMS and email codes appear here when sent.";
pub const NO_EVENTS: &str = "No events match.";
/// After a time the clock was set to (`--now`, or moved), not read.
pub const TIME_SET_MARK: &str = "*";
pub const REASON_PROMPT: &str = "Reason (for the audit trail):";
pub const REASON_NEEDED: &str = "Type a reason first: it goes in the audit trail.";
pub const CODES_ONCE: &str =
    "Shown once: each works once. Save them now (w) or copy them somewhere safe.";
pub const QR_TOO_SMALL: &str =
    "A window of about 100×30 shows the QR code; type the secret instead:";
pub const SIM_NO_USER: &str =
    "Pick a user with u (or press l on a user's screen) to simulate a login.";
pub const SIM_START: &str = "Press Enter to start the login with these settings.";
pub const SIM_NO_CHALLENGE: &str = "No challenge open.";
pub const SIM_NO_OPEN_CHALLENGE: &str = "No open challenge: press Enter to start a login.";
pub const SIM_TITLE: &str = "Login simulator · a sandbox: nothing here changes real data";
pub const SIM_PREPARING: &str = "Preparing the sandbox (a copy of this user's real data)…";
pub const SIM_NOT_APP: &str =
    "y: not an app challenge; its code is in the phone/inbox. No attempt used.";
pub const SIM_FRESH: &str = "Fresh sandbox: a new copy of the real data, clock at now";
pub const SIM_CLOSED: &str = "Enter starts a new login.";
pub const NEW_DEVICE: &str = "a new computer";
pub const NEW_IP: &str = "203.0.113.9";

/// A desk message as the console says it. Desk errors end in the fix, and
/// the fix often names a CLI command or flag (`factordesk outbox --user …`,
/// `--out`, `--reason`): here each becomes the screen or key that does the
/// same in the console. The CLI's own wording is left as it is.
pub fn for_console(message: &str) -> String {
    let mut text = message.to_owned();
    for (cli, console) in FLAGS {
        text = text.replace(cli, console);
    }
    let mut from = 0;
    while let Some(start) = text[from..].find("`factordesk ").map(|i| from + i) {
        let Some(end) = text[start + 1..].find('`').map(|i| start + 1 + i + 1) else {
            break;
        };
        let words: Vec<String> = text[start + 1..end - 1]
            .split_whitespace()
            .skip(1)
            .map(str::to_owned)
            .collect();
        // The word before the command decides how the sentence reads.
        let before = text[..start].trim_end();
        let (connector, word) = ["with", "run", "in", "use", "("]
            .into_iter()
            .find(|w| before.ends_with(w))
            .map_or((start, ""), |w| (before.len() - w.len(), w));
        match console_fix(word, &words) {
            Some(Fix::Phrase(phrase)) => {
                text.replace_range(connector..end, &phrase);
                from = connector + phrase.len();
            }
            Some(Fix::Rest(phrase)) => {
                // The whole fix, from the colon that leads into it.
                let clause = text[..start].rfind(": ").map_or(connector, |i| i + 2);
                text.replace_range(clause.., &phrase);
                break;
            }
            None => from = end,
        }
    }
    text
}

/// Flags the console has no use for, and what to do instead.
const FLAGS: [(&str, &str); 3] = [
    (
        "pass --reason \"...\" (it goes in the audit trail)",
        "type a reason (it goes in the audit trail)",
    ),
    ("choose another --out file", "choose another file name"),
    (
        "choose a writable --out location",
        "choose a file in a folder you can write to",
    ),
];

enum Fix {
    /// In place of the connector word and the command.
    Phrase(String),
    /// In place of the whole fix (the rest of the message after its colon).
    Rest(String),
}

/// The console's way to do what CLI command `words` (after `factordesk`)
/// does, read after `connector` (`with`, `run`, `in`, `use`, `(`).
fn console_fix(connector: &str, words: &[String]) -> Option<Fix> {
    let w: Vec<&str> = words.iter().map(String::as_str).collect();
    let phrase = |s: &str| Some(Fix::Phrase(s.to_owned()));
    match (connector, w.as_slice()) {
        ("in", ["outbox", ..]) => phrase("in the Outbox (4)"),
        ("with", ["policy", "set", key, value]) => phrase(&format!(
            "on the Policy screen (6), setting {key} to {value}"
        )),
        ("run", ["policy", "set", key, value]) => {
            phrase(&format!("set {key} to {value} on the Policy screen (6)"))
        }
        ("run", ["policy", "show"]) => phrase("see the Policy screen (6)"),
        ("with", ["user", "list", ..]) => phrase("on the Users screen (2, then / to search)"),
        ("with", ["user", "edit", ..]) => Some(Fix::Rest(
            "remove that SMS factor (x on their screen), then add the new number (s)".to_owned(),
        )),
        ("with", ["login", "resend", ..]) => {
            phrase("by removing the factor (x on their screen) and adding it again (s or m)")
        }
        ("with", ["login", "start", ..]) => phrase("in the Simulator (3)"),
        ("use", ["factor", "confirm", ..]) => phrase("confirm it with c on their screen"),
        ("(", ["factor", "add-sms", ..]) => phrase("(s on their screen"),
        ("(", ["factor", "add-email", ..]) => phrase("(m on their screen"),
        ("run", ["factor" | "device", "list", ..]) => Some(Fix::Rest(
            "their screen shows the ones there are now".to_owned(),
        )),
        _ => None,
    }
}

/// The line under an event whose time was set rather than read.
pub fn time_set(written_at: Option<&str>) -> String {
    format!(
        "{TIME_SET_MARK} time set by --now or a moved clock; really written {}",
        written_at.unwrap_or("at an unknown time")
    )
}

/// The warning over the Audit screen when the chain is broken.
pub fn broken_chain(b: &crate::domain::chain::Break) -> String {
    use crate::domain::chain::Tampering;
    let at = b.event.map_or_else(String::new, |e| format!("#{e}"));
    let what = match b.kind {
        Tampering::Edited => format!("event {at} was changed after it was written"),
        Tampering::Deleted => match b.missing {
            Some(1) => format!("an event just before {at} was deleted"),
            Some(n) => format!("{n} events just before {at} were deleted"),
            None => format!("events just before {at} were deleted"),
        },
        Tampering::Inserted => format!("event {at} was put in by hand"),
        Tampering::Reordered => format!("event {at} was moved from elsewhere in the trail"),
        Tampering::TailCut => match b.missing {
            Some(1) => "its last event was cut off".to_owned(),
            Some(n) => format!("its last {n} events were cut off"),
            None => "its last events were cut off".to_owned(),
        },
        Tampering::HeadAltered => "the chain's head was changed by hand".to_owned(),
    };
    format!(
        "⚠ The audit trail was tampered with: {what}. `factordesk audit verify` tells more; v checks again."
    )
}

#[cfg(test)]
mod tests {
    use super::for_console;

    #[test]
    fn cli_hints_become_console_ones() {
        for (desk, console) in [
            (
                "that is not the code sent to +1 ******0123 (4 attempt(s) left): check the newest message in `factordesk outbox --user alice@example.com`",
                "that is not the code sent to +1 ******0123 (4 attempt(s) left): check the newest message in the Outbox (4)",
            ),
            (
                "sms factors are not allowed by policy (factors=totp): an admin can allow them with `factordesk policy set factors totp,sms`",
                "sms factors are not allowed by policy (factors=totp): an admin can allow them on the Policy screen (6), setting factors to totp,sms",
            ),
            (
                "SMS cannot be sent to +44 numbers (allowed country calling codes: +1): use an authenticator app or email, or an admin can run `factordesk policy set sms_countries 1,44`",
                "SMS cannot be sent to +44 numbers (allowed country calling codes: +1): use an authenticator app or email, or an admin can set sms_countries to 1,44 on the Policy screen (6)",
            ),
            (
                "a@b.c already has an SMS factor (SMS to +1 ******0123): change the number with `factordesk user edit a@b.c --phone NUMBER`, or remove factor 3 first",
                "a@b.c already has an SMS factor (SMS to +1 ******0123): remove that SMS factor (x on their screen), then add the new number (s)",
            ),
            (
                "the confirmation code expired 3 min ago: send another with `factordesk login resend 7`",
                "the confirmation code expired 3 min ago: send another by removing the factor (x on their screen) and adding it again (s or m)",
            ),
            (
                "that code never reached +1 ******0123 (x), and that was the last of 5 attempts: add the factor again to send a new code (`factordesk factor add-sms a@b.c +14155550123`)",
                "that code never reached +1 ******0123 (x), and that was the last of 5 attempts: add the factor again to send a new code (s on their screen)",
            ),
            (
                "no user x@y.z: check the spelling, or find them with `factordesk user list --search TERM`",
                "no user x@y.z: check the spelling, or find them on the Users screen (2, then / to search)",
            ),
            (
                "a@b.c has no factor 9: run `factordesk factor list a@b.c` for the ids",
                "a@b.c has no factor 9: their screen shows the ones there are now",
            ),
            (
                "a reason is required to unlock: pass --reason \"...\" (it goes in the audit trail)",
                "a reason is required to unlock: type a reason (it goes in the audit trail)",
            ),
            (
                "codes.txt already exists: choose another --out file; backup codes are never written over a file",
                "codes.txt already exists: choose another file name; backup codes are never written over a file",
            ),
            ("nothing to say", "nothing to say"),
            // A command with no console counterpart is left as it is.
            ("try `factordesk frobnicate`", "try `factordesk frobnicate`"),
        ] {
            assert_eq!(for_console(desk), console);
        }
    }
}
