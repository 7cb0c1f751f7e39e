//! Words the console shows, kept together so wording changes are one diff,
//! desk errors among them: worded here as keys, where the CLI names commands.

mod errors;

pub use errors::desk_error;

pub const APP: &str = "factordesk";
/// Before the name of who is at the desk (the actor the audit trail
/// names), on the tab row: `as admin`.
pub const ACTOR: &str = "as";
pub const TOO_SMALL: &str = "The terminal is too small";
pub const TOO_SMALL_FIX: &str = "factordesk needs at least 80×24: enlarge the window or make the font smaller. Until then keys do nothing but q, which quits.";
pub const HELP_TITLE: &str = "Keys";
pub const TYPING_HINT: &str = "Enter confirm  Esc cancel  ←/→ move";
/// After [`TYPING_HINT`] where the clock keys act while typing.
pub const TYPING_CLOCK_HINT: &str = "  F5-F8 move the clock";
pub const NO_ATTENTION: &str =
    "Nothing needs attention: no locks, late enrolments or messages still failing.";
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
/// The user screen's `M`: a new mobile number in one step (seed 001).
pub const CHANGE_PHONE_TITLE: &str = "Change mobile number";

pub fn change_phone_lines(email: &str, now: Option<&str>) -> Vec<String> {
    vec![
        format!(
            "New mobile number for {email} (now {}), with its country code:",
            now.map_or_else(
                || "none".to_owned(),
                |n| crate::domain::contact::Phone::stored(n)
                    .map_or_else(|| "unreadable".to_owned(), |p| p.masked())
            )
        ),
        "An SMS to it confirms it; until then SMS codes do not sign them in.".to_owned(),
    ]
}

/// The user screen's `O`: the user turns 2FA off with their password
/// (seed 003).
pub const TURN_OFF_TITLE: &str = "Turn 2FA off";

pub fn turn_off_lines(email: &str) -> Vec<String> {
    vec![
        format!("{email} types their own password to turn 2FA off, as policy allows."),
        "Their factors and backup codes go; their codes stop working.".to_owned(),
        "Password:".to_owned(),
    ]
}

pub const NO_MESSAGES_MATCH: &str = "No message has those words.";

/// The Outbox screen's `/` filter.
pub const OUTBOX_FILTER_TITLE: &str = "Filter the outbox";

pub fn outbox_filter_lines() -> Vec<String> {
    vec![
        "Words to find (any case) in the user, number or address, status,".to_owned(),
        "why it failed, or the message. Enter with nothing clears the filter.".to_owned(),
    ]
}

/// The temporary access code popup.
pub const TEMP_CODE_TITLE: &str = "Temporary access code";
pub const TEMP_CODE_VALID: &str = "Works for (5m to 7d):";
pub const TEMP_CODE_KEYS: &str = "↑/↓ field · Enter issue · Esc cancel";
pub const TEMP_CODE_ONCE: &str =
    "Shown only now: read it to the user, then set up a new factor with them.";
pub const TEMP_CODE_REPLACED: &str = "The code issued before no longer works.";

pub fn temp_code_ask(email: &str) -> Vec<String> {
    vec![format!(
        "For {email} (a lost phone): typed once in place of a code from the app, SMS or email. It replaces any earlier one."
    )]
}

pub fn temp_code_until(until: &str) -> String {
    format!("It works once, until {until}.")
}

/// The Audit screen's `/` filter.
pub const AUDIT_FILTER_TITLE: &str = "Filter the audit trail";

pub fn audit_filter_lines() -> Vec<String> {
    vec![
        "Words to find (any case), and any of:".to_owned(),
        "  kind:login  by:ACTOR  since:7d  until:2026-11-20".to_owned(),
        "Enter with nothing clears the filter.".to_owned(),
    ]
}

/// The `/` filter in the Audit list's title: nothing when there is none.
pub fn audit_filter_note(f: &crate::tui::screens::audit::Filter) -> String {
    let mut parts = Vec::new();
    if let Some(t) = &f.text {
        parts.push(format!("\"{t}\""));
    }
    if let Some(by) = &f.by {
        parts.push(format!("by {by}"));
    }
    if let Some(s) = f.since {
        parts.push(format!("since {}", s.format("%Y-%m-%d %H:%M")));
    }
    if let Some(u) = f.until {
        parts.push(format!("until {}", u.format("%Y-%m-%d %H:%M")));
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!(", {}", parts.join(" "))
    }
}

/// Below a list whose search stopped at its budget.
pub fn searched_back_to(at: crate::domain::Time) -> String {
    format!(
        "Searched back to {}: ↓ at the end searches further.",
        at.format("%Y-%m-%d %H:%M")
    )
}
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
pub const SIM_CLOCK_LATER: &str =
    " The clock keys (F5-F8) move the sandbox's clock once a user is picked.";
pub const SIM_FRESH: &str = "Fresh sandbox: a new copy of the real data, clock at now";
pub const SIM_CLOSED: &str = "Enter starts a new login.";
pub const FACTOR_FOCUS: &str = "Highlight a factor first: ←/→ to the Factors panel, then ↑/↓.";
pub const DEVICE_FOCUS: &str =
    "Highlight a device first: ←/→ to the Trusted devices panel, then ↑/↓.";
pub const CONFIRM_WHICH: &str =
    "Only a pending factor is confirmed: highlight one (↑/↓ in the Factors panel).";
pub const LAST_FACTOR: &str = "This is their only active factor. Without it:";
pub const NOTHING_TO_UNLOCK: &str =
    "Nothing to unlock: not locked, no failures counting, no password ban.";
pub const NOTHING_TO_REVOKE: &str = "Nothing to revoke: they have no remembered computer.";
pub const REENROL_WHAT: &str = "For a lost phone: scan the new app on their new phone and confirm its first code with them now (that brings new backup codes). No new grace period begins.";
pub const COMPROMISED_WHAT: &str = "Confirm the new app with them now (that brings new backup codes). Every login then needs its code, on any computer, and the next must set a new password; no login gets in on the password alone meanwhile.";
/// Said in the status bar: it fits 80 columns.
pub const NO_APP_TO_CHECK: &str =
    "No authenticator app: v checks an app's codes (texts and emails at login).";
pub const NEW_DEVICE: &str = "a new computer";

pub const SIM_APP_READ_OUT_Y: &str = "spent by the resync · y waits";
pub const SIM_APP_READ_OUT: &str = "spent by the resync";
pub const SIM_APP_USED: &str = "already used: wait for the next";

/// The decision panel's title when the decision was made at another time
/// than the sandbox's clock shows now (`when`: "14 days ago"): its reasons
/// speak of then. Within `room` columns.
pub fn sim_decided(when: &str, room: usize) -> String {
    let long = format!("Decision, {when}: Enter decides again");
    if long.chars().count() <= room {
        long
    } else {
        format!("Decision, {when}")
    }
}

/// How the challenge on screen ended, when not with the code accepted.
pub const SIM_ENDED_FAILED: &str = "Too many wrong codes closed the challenge.";
pub const SIM_ENDED_CANCELLED: &str = "The challenge was cancelled.";

/// The count towards the 2FA lock: `failures` of `threshold` lock it for
/// `lasts`; `streak` of `hard_stop` in a row lock it until an admin
/// unlocks it (said once the streak is a lock's worth or more).
pub fn sim_lock_count(
    failures: u32,
    threshold: u32,
    lasts: &str,
    streak: u32,
    hard_stop: u32,
) -> String {
    let count = format!("{failures} of {threshold} failures before a {lasts} lock");
    if streak >= threshold && streak > failures {
        format!("{count}; {streak} of {hard_stop} in a row before an admin must unlock")
    } else {
        count
    }
}

/// The 2FA lock in force: till when, or until an admin unlocks it.
pub fn sim_locked(hard_stop: u32, releases: Option<&str>) -> String {
    match releases {
        Some(when) => format!("2FA LOCKED: releases {when}"),
        None => format!("2FA LOCKED after {hard_stop} failures in a row: an admin must unlock it"),
    }
}

/// The resync popup's hint: the two codes the simulated phone, its clock
/// `skew` seconds off, showed just before and shows now.
pub fn resync_phone(skew: i64, before: &str, now: &str) -> String {
    let phone = match skew {
        0 => "The simulated phone".to_owned(),
        s => format!(
            "The simulated phone, {} s {},",
            s.abs(),
            if s < 0 { "slow" } else { "fast" }
        ),
    };
    format!("({phone} showed {before} just before and shows {now} now.)")
}

/// A story's phone, its clock `skew` seconds off (not 0), as the
/// simulator starts to play it.
pub fn sim_story_phone(skew: i64) -> String {
    format!(
        "As their story goes, their phone runs {} s {} (< > changes it).",
        skew.abs(),
        if skew < 0 { "slow" } else { "fast" }
    )
}

/// `y` when the app showed a code read out for a resync: they waited.
pub fn sim_waited_for_code(
    waited: chrono::TimeDelta,
    spent: &crate::domain::doctor::SpentBy,
) -> String {
    let why = match spent {
        crate::domain::doctor::SpentBy::Resync { .. } => "was read out for the resync",
        crate::domain::doctor::SpentBy::Login { .. } => "was already used to sign in",
    };
    format!(
        "Waited {} for the app's next code: the one it showed {why}, so it is used up.",
        crate::domain::exact_span(waited)
    )
}

/// `y` when the phone would show only spent codes for longer than the
/// simulator waits.
pub fn sim_all_spent(next_in: chrono::TimeDelta) -> String {
    format!(
        "y: the app shows a code already used; its next code comes in {} (F5 moves the clock).",
        crate::domain::exact_span(next_in)
    )
}

pub const NEW_IP: &str = "203.0.113.9";
pub const POLICY_CONFIRM_TITLE: &str = "Change policy";

/// `s` or `S` on the Users list while a search or filter is on.
pub const SORT_WHOLE_LIST: &str =
    "Sorting is for the whole list: Esc clears the search and filter, then s sorts";

/// The Users list's sort, on its bar: `email a–z`, `last login newest`.
pub fn user_sort(by: crate::desk::users::SortBy, descending: bool) -> &'static str {
    use crate::desk::users::SortBy;
    match (by, descending) {
        (SortBy::Email, false) => "email a–z",
        (SortBy::Email, true) => "email z–a",
        (SortBy::Name, false) => "name a–z",
        (SortBy::Name, true) => "name z–a",
        (SortBy::LastLogin, false) => "last login, oldest first",
        (SortBy::LastLogin, true) => "last login, newest first",
    }
}

/// What became of a message's code, after the message's line.
pub fn code_state(state: crate::domain::vocab::CodeState) -> &'static str {
    use crate::domain::vocab::CodeState;
    match state {
        CodeState::Valid => "  holds the code that works now",
        CodeState::Used => "  its code was used",
        CodeState::Expired => "  its code expired",
        CodeState::Replaced => "  a newer code replaced its code",
        CodeState::Closed => "  its login closed before its code was used",
        CodeState::Unsent => "  not sent, so its code never works",
    }
}

/// The question a policy change asks before its reason.
pub fn policy_change(key: &str, before: &str, after: &str) -> String {
    format!("Change {key} from {before} to {after}? It applies to everyone at once.")
}

/// What an enforcement change does: to whom it applies, and the grace
/// period it restarts.
pub fn policy_enforce(after: &str, grace_days: u32) -> String {
    match after {
        "off" => {
            "No one will have to enrol a second factor; those who have one keep it.".to_owned()
        }
        _ => format!(
            "Those it applies to who have no second factor get {grace_days} day(s) from now to enrol."
        ),
    }
}

/// A policy value typed as it already is.
pub fn policy_unchanged(key: &str, value: &str) -> String {
    format!("{key} is already {value}: type another value, or Esc to leave it.")
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
    use super::{sim_decided, sim_lock_count, sim_locked};

    #[test]
    fn the_lock_count_names_the_hard_stop_from_a_locks_worth_in_a_row() {
        assert_eq!(
            sim_lock_count(3, 10, "15 min", 3, 100),
            "3 of 10 failures before a 15 min lock"
        );
        // Failures in a row beyond the window, but short of a lock's worth.
        assert_eq!(
            sim_lock_count(1, 10, "15 min", 9, 100),
            "1 of 10 failures before a 15 min lock"
        );
        assert_eq!(
            sim_lock_count(0, 10, "15 min", 10, 100),
            "0 of 10 failures before a 15 min lock; 10 of 100 in a row before an admin must unlock"
        );
        assert_eq!(
            sim_locked(100, Some("in 12 min")),
            "2FA LOCKED: releases in 12 min"
        );
        assert!(sim_locked(100, None).contains("100 failures in a row: an admin must unlock"));
    }

    #[test]
    fn the_decision_title_keeps_what_fits() {
        assert_eq!(
            sim_decided("14 days ago", 42),
            "Decision, 14 days ago: Enter decides again"
        );
        assert_eq!(sim_decided("14 days ago", 41), "Decision, 14 days ago");
    }
}
