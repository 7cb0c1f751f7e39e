//! Words the console shows, kept together so wording changes are one diff.

pub const APP: &str = "factordesk";
pub const TOO_SMALL: &str = "The terminal is too small";
pub const TOO_SMALL_FIX: &str =
    "factordesk needs at least 80×24: enlarge the window or make the font smaller.";
pub const HELP_TITLE: &str = "Keys";
pub const TYPING_HINT: &str = "Enter confirm  Esc cancel  ←/→ move";
pub const NO_ATTENTION: &str =
    "Nothing needs attention: no locks, no overdue enrolments, no failed messages.";
pub const NO_USERS: &str = "No users match. Esc clears the search; f changes the filter.";
pub const NO_MESSAGES: &str = "No messages yet. SMS and email codes appear here when sent.";
pub const NO_EVENTS: &str = "No events match.";
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
pub const SIM_CLOSED: &str = "Enter starts a new login.";
pub const NEW_DEVICE: &str = "a new computer";
pub const NEW_IP: &str = "203.0.113.9";
