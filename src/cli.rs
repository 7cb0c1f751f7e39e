//! The command line: clap types for every use case, and the dispatch that
//! opens the desk, calls it, prints the result, and picks the exit code.

mod audit;
mod commands;
mod conventions;
mod demo;
mod doctor;
mod exchange;
mod migrate;
mod out;
mod progress;
mod secret_input;
mod verify;
mod words;

use std::path::PathBuf;

use chrono::{DateTime, Utc};

use crate::domain::recipient::Recipient;
use clap::{Args, Parser, Subcommand, ValueEnum};

pub use commands::run;
pub(crate) use commands::{
    check_actor, emit, key_source, location, name_operator, open_console_if_terminal, say,
};
pub use conventions::{command, default_db, parse, usage_error};
pub(crate) use out::json;
/// A desk error as the CLI says it, with the command that fixes it.
pub use words::desk_error as error_text;

/// Exit codes: 0 ok, 1 error, 2 usage, 3 denied (a login or code rejected).
pub mod exit {
    pub const OK: i32 = 0;
    pub const ERROR: i32 = 1;
    pub const USAGE: i32 = 2;
    pub const DENIED: i32 = 3;
}

/// A terminal help desk for two-factor authentication.
///
/// With no command it opens the console on --db.
#[derive(Debug, Parser)]
#[command(name = "factordesk", version, about, long_about = None)]
#[command(
    after_help = "Exit codes: 0 ok, 1 error, 2 usage, 3 denied (a login or code rejected). With --json an error is a JSON object on stderr: error, kind, exit_code."
)]
pub struct Cli {
    // The words are the option's help text, where backticks would show.
    #[allow(clippy::doc_markdown)]
    /// The database file [default: $XDG_DATA_HOME/factordesk/factordesk.db,
    /// that is ~/.local/share/factordesk/factordesk.db].
    #[arg(
        long,
        global = true,
        env = "FACTORDESK_DB",
        default_value_os_t = default_db(),
        hide_default_value = true
    )]
    pub db: PathBuf,

    /// The key file that seals the database's secrets [default: DB.key beside it].
    #[arg(long, global = true, env = "FACTORDESK_KEY_FILE")]
    pub key_file: Option<PathBuf>,

    /// A fixed clock for this command (RFC 3339, e.g. 2026-11-21T09:00:00Z).
    #[arg(long, global = true, value_parser = parse_now)]
    pub now: Option<DateTime<Utc>>,

    /// Who the audit trail names as doing this [default: your operating-system
    /// account, which it records beside any --actor].
    #[arg(long, global = true, env = "FACTORDESK_ACTOR")]
    pub actor: Option<String>,

    /// Print stable JSON instead of tables.
    #[arg(long, global = true)]
    pub json: bool,

    #[command(subcommand)]
    pub command: Option<Command>,
}

fn parse_recipient(text: &str) -> Result<Recipient, String> {
    Recipient::parse(text).ok_or_else(|| {
        "give an email address (ana@example.com) or a phone number of 7 to 15 digits (+1 415 555 0123, (415) 555-0123)".to_owned()
    })
}

fn parse_now(text: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(text.trim())
        .map(|t| t.to_utc())
        .map_err(|_| "expected an RFC 3339 time like 2026-11-21T09:00:00Z".to_owned())
}

/// `--valid`: how long a temporary access code works (5m to 7d).
fn parse_valid(text: &str) -> Result<chrono::TimeDelta, String> {
    crate::domain::temp_code::parse_valid(text).map_err(|e| e.to_string())
}

/// `--users`: a whole number from 1 to [`MAX_USERS`](crate::demo::population::MAX_USERS).
fn parse_users(text: &str) -> Result<u32, String> {
    let max = crate::demo::population::MAX_USERS;
    let wrong = || format!("expected a whole number of users from 1 to {max}, like 100000");
    let n: i128 = text.trim().replace('_', "").parse().map_err(|_| wrong())?;
    match u32::try_from(n) {
        Ok(n) if (1..=max).contains(&n) => Ok(n),
        _ => Err(wrong()),
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create an empty database and its key file.
    Init,
    /// Create the demo database (deterministic for a --seed and --now) and open it.
    Demo(DemoArgs),
    /// Add, find, show and manage users.
    #[command(subcommand)]
    User(UserCommand),
    /// Enrol, confirm and manage second factors.
    #[command(subcommand)]
    Factor(FactorCommand),
    /// Backup codes.
    #[command(subcommand)]
    Codes(CodesCommand),
    /// Trusted devices ("remember this computer").
    #[command(subcommand)]
    Device(DeviceCommand),
    /// Simulate a login: start, verify a code, request another code.
    #[command(subcommand)]
    Login(LoginCommand),
    /// The simulated SMS and email outbox, newest first.
    Outbox(OutboxArgs),
    /// The audit trail, newest first; `audit verify` checks its chain.
    Audit(AuditArgs),
    /// Show or change the 2FA policy.
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// Print a console screen as text (the same database and --now give the same bytes).
    Render(RenderArgs),
    /// Why can't this user log in? Findings with evidence and the fix.
    Doctor {
        email: String,
        /// A code the user reads from their app: which time it belongs to
        /// (nothing is used up; rate-limited and audited).
        #[arg(long)]
        code: Option<String>,
    },
    /// Reports over all users.
    #[command(subcommand)]
    Report(ReportCommand),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions {
        /// The shell to complete in.
        shell: clap_complete::Shell,
    },
    /// Print factordesk's manual page (roff): `factordesk man | man -l -`.
    Man,
    /// Bring users or authenticator secrets in from a file (all or nothing).
    #[command(subcommand)]
    Import(exchange::ImportCommand),
    /// Write users, or authenticator secrets (audited, 0600), to a file.
    #[command(subcommand)]
    Export(exchange::ExportCommand),
    // The words are the command's help text, where backticks would show.
    #[allow(clippy::doc_markdown)]
    /// Copy the whole database between --db (a file) and PostgreSQL, checked.
    Migrate(MigrateArgs),
}

#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// Who would be stuck if they lost their phone today.
    Readiness {
        #[arg(long, value_enum, default_value = "risk")]
        sort: SortArg,
        /// table, csv or json [default: table, or json with --json]; a
        /// --format given wins over --json.
        #[arg(long, value_enum)]
        format: Option<FormatArg>,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum SortArg {
    Risk,
    Email,
    Codes,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum FormatArg {
    Table,
    Csv,
    Json,
}

#[derive(Debug, Args)]
pub struct RenderArgs {
    /// overview, users, user, simulator, outbox, audit or policy.
    pub screen: String,
    /// The user for the user and simulator screens.
    #[arg(long)]
    pub user: Option<String>,
    /// Width×height in cells.
    #[arg(long, default_value = "100x30", value_parser = parse_size)]
    pub size: (u16, u16),
    /// Keep colours and emphasis as ANSI escape codes.
    #[arg(long)]
    pub ansi: bool,
}

fn parse_size(text: &str) -> Result<(u16, u16), String> {
    let bad = || "expected WIDTHxHEIGHT, like 100x30 (each 1-1000)".to_owned();
    let (w, h) = text.trim().split_once(['x', 'X', '×']).ok_or_else(bad)?;
    let w: u16 = w.trim().parse().map_err(|_| bad())?;
    let h: u16 = h.trim().parse().map_err(|_| bad())?;
    if !(1..=1000).contains(&w) || !(1..=1000).contains(&h) {
        return Err(bad());
    }
    Ok((w, h))
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Seed for secrets, codes and tokens: the same seed and --now give the same database.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Also generate this many ordinary users with 90 days of history (up to 10,000,000).
    #[arg(long, value_name = "N", value_parser = parse_users, allow_hyphen_values = true)]
    pub users: Option<u32>,
    /// Only create the database; do not open the console.
    #[arg(long)]
    pub no_open: bool,
}

// The words are the options' help text, where backticks would show.
#[allow(clippy::doc_markdown)]
#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("way").required(true).args(["to", "from"]))]
pub struct MigrateArgs {
    /// Copy --db into this empty PostgreSQL database
    /// (postgresql://USER:PASSWORD@HOST:5432/DATABASE).
    #[arg(long, value_name = "URL")]
    pub to: Option<String>,
    /// Copy this PostgreSQL database into a new file at --db (never over a
    /// file), with its key file beside it from --key-file or FACTORDESK_KEY.
    #[arg(long, value_name = "URL")]
    pub from: Option<String>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum RoleArg {
    Admin,
    Member,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum FilterArg {
    Locked,
    #[value(name = "no-2fa")]
    No2fa,
    Grace,
    LowCodes,
    Disabled,
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add a user.
    Add {
        email: String,
        #[arg(long, default_value = "")]
        name: String,
        #[arg(long, value_enum, default_value = "member")]
        role: RoleArg,
        /// E.164 phone number, e.g. +14155550123.
        #[arg(long)]
        phone: Option<String>,
        /// Read the password from stdin (never from the command line).
        #[arg(long)]
        password_stdin: bool,
    },
    /// List users, ordered by email (keyset paging with --after).
    List {
        /// Part of an email or name (three or more characters match anywhere;
        /// one or two match the start of a word: `ng` finds "Alice Ng"), or
        /// a phone number in any spelling (`(415) 555-0123`).
        #[arg(long)]
        search: Option<String>,
        #[arg(long, value_enum)]
        filter: Option<FilterArg>,
        /// How many rows (1 to 10000).
        #[arg(long, default_value_t = 50, value_parser = limit_range())]
        limit: u32,
        /// Start after this email (the last one of the previous page).
        #[arg(long)]
        after: Option<String>,
    },
    /// Everything about one user.
    Show { email: String },
    /// Change name, role, phone or the "ask on every login" flag.
    Edit {
        email: String,
        #[arg(long)]
        name: Option<String>,
        #[arg(long, value_enum)]
        role: Option<RoleArg>,
        /// A new phone: unverified until a code sent to it is confirmed.
        #[arg(long)]
        phone: Option<String>,
        /// Ask for a second factor on every login, even on a trusted device.
        #[arg(long, value_name = "true|false", action = clap::ArgAction::Set)]
        every_login: Option<bool>,
    },
    /// Set the password (read from stdin).
    Password {
        email: String,
        #[arg(long, required = true)]
        password_stdin: bool,
    },
    /// Disable an account.
    Disable {
        email: String,
        #[arg(long)]
        reason: String,
    },
    /// Enable a disabled account.
    Enable {
        email: String,
        #[arg(long)]
        reason: String,
    },
    /// Issue a temporary access code (lost phone): it works once as a second
    /// factor until it expires, and replaces any earlier one. Shown once.
    #[command(name = "temp-code")]
    TempCode {
        email: String,
        /// How long it works: 5m to 7d.
        #[arg(long, default_value = "24h", value_parser = parse_valid)]
        valid: chrono::TimeDelta,
        /// Why, for the audit trail (required).
        #[arg(long)]
        reason: String,
    },
    /// Release a 2FA lockout now.
    Unlock {
        email: String,
        #[arg(long)]
        reason: String,
    },
    /// The user turns their own 2FA off with their password (when policy allows).
    #[command(name = "turn-off-2fa")]
    TurnOff2fa {
        email: String,
        /// Read the user's password from stdin.
        #[arg(long, required = true)]
        password_stdin: bool,
        /// The address the request comes from (wrong passwords are counted
        /// for it too).
        #[arg(long)]
        ip: Option<String>,
    },
    /// Remove all factors and backup codes and revoke all devices.
    #[command(name = "reset-2fa")]
    Reset2fa {
        email: String,
        #[arg(long)]
        reason: String,
    },
    /// A lost phone: remove all factors and backup codes and start a new
    /// authenticator app now (no new grace period); its first code brings
    /// new backup codes.
    Reenrol {
        email: String,
        #[arg(long)]
        reason: String,
    },
    /// A suspected compromise: revoke all devices, cancel open logins,
    /// replace every factor with a new authenticator app (confirmed before
    /// it works; its first code brings new backup codes), and require a new
    /// password at the next login. No login on the password alone meanwhile.
    Compromised {
        email: String,
        #[arg(long)]
        reason: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum FactorCommand {
    /// Start an authenticator-app enrolment: prints the secret, URI and QR code.
    AddTotp {
        email: String,
        /// What to call it ("work phone").
        #[arg(long)]
        label: Option<String>,
    },
    /// Add an SMS factor: a code is sent to PHONE to confirm it.
    AddSms {
        email: String,
        phone: String,
        /// What to call it ("work phone").
        #[arg(long)]
        label: Option<String>,
    },
    /// Add an email factor: a code is sent to ADDRESS (default: the account's).
    AddEmail {
        email: String,
        address: Option<String>,
        /// What to call it ("personal mail").
        #[arg(long)]
        label: Option<String>,
    },
    /// Enrol a hardware token (HOTP, RFC 4226): prints the secret to program
    /// into it; confirm it with a code from it.
    AddHotp {
        email: String,
        /// The counter of the token's next code.
        #[arg(long, default_value_t = 0)]
        counter: u64,
        /// What to call it (a `YubiKey 5`).
        #[arg(long)]
        label: Option<String>,
    },
    /// Confirm a pending factor with its first code.
    Confirm {
        email: String,
        factor_id: i64,
        code: String,
    },
    /// List a user's factors.
    List { email: String },
    /// Disable a factor (kept, but not usable).
    Disable {
        email: String,
        factor_id: i64,
        /// Why, for the audit trail (required).
        #[arg(long)]
        reason: String,
    },
    /// Enable a disabled factor.
    Enable {
        email: String,
        factor_id: i64,
        #[arg(long, default_value = "")]
        reason: String,
    },
    /// Learn an authenticator's clock drift, or a hardware token's counter,
    /// from two codes in a row (or --clear the drift).
    Resync {
        email: String,
        factor_id: i64,
        #[arg(required_unless_present = "clear")]
        first: Option<String>,
        #[arg(required_unless_present = "clear")]
        second: Option<String>,
        /// Forget the learned drift instead.
        #[arg(long, conflicts_with_all = ["first", "second"])]
        clear: bool,
    },
    /// Remove a factor for good.
    Remove {
        email: String,
        factor_id: i64,
        /// Why, for the audit trail (required).
        #[arg(long)]
        reason: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum CodesCommand {
    /// Generate 10 backup codes (shown once; the old batch stops working).
    Generate {
        email: String,
        /// Also write them to this new file (mode 0600).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// How many backup codes are left, and when each was used.
    Status { email: String },
}

#[derive(Debug, Subcommand)]
pub enum DeviceCommand {
    /// A user's remembered computers.
    List { email: String },
    /// Revoke one remembered computer, or all of them.
    Revoke {
        email: String,
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        device_id: Option<i64>,
        #[arg(long)]
        all: bool,
        #[arg(long)]
        reason: String,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ActionArg {
    Login,
    Export,
}

#[derive(Debug, Subcommand)]
pub enum LoginCommand {
    /// Start a login: password, then allowed, challenged or denied, with reasons.
    #[command(group = clap::ArgGroup::new("password").required(true).args(["password_stdin", "assume_password"]))]
    Start {
        email: String,
        /// Read the password from stdin.
        #[arg(long)]
        password_stdin: bool,
        /// Skip the password step (simulation).
        #[arg(long)]
        assume_password: bool,
        /// The device token a browser kept from `login verify --remember`.
        #[arg(long)]
        device: Option<String>,
        /// A known device by id (from `device list`), instead of its token.
        #[arg(long, conflicts_with = "device")]
        device_id: Option<i64>,
        /// The address the login comes from [default: 127.0.0.1].
        #[arg(long)]
        ip: Option<String>,
        #[arg(long, value_enum, default_value = "login")]
        action: ActionArg,
        /// Challenge this factor instead of the default one.
        #[arg(long)]
        factor: Option<i64>,
    },
    /// Enter a code (from the app, the SMS/email, or a backup code).
    Verify {
        challenge_id: i64,
        code: String,
        /// Remember this computer (prints a device token for `login start --device`).
        #[arg(long)]
        remember: bool,
        /// What to call the remembered computer.
        #[arg(long, requires = "remember", default_value = "Unnamed browser")]
        device_label: String,
    },
    /// "Request another code".
    Resend { challenge_id: i64 },
    /// A challenge's state: expiry, attempts and resends left.
    Show { challenge_id: i64 },
}

/// The most rows one `--limit` asks for: a page is read into memory whole.
pub const MAX_LIMIT: u32 = 10_000;

/// `--limit`: 1 to [`MAX_LIMIT`] rows (page on with --after or --before).
fn limit_range() -> clap::builder::RangedI64ValueParser<u32> {
    clap::value_parser!(u32).range(1..=i64::from(MAX_LIMIT))
}

#[derive(Debug, Args)]
pub struct OutboxArgs {
    #[arg(long)]
    pub user: Option<String>,
    /// Only messages to this address or phone number, in any spelling
    /// (`+1 415 555 0123`, `4155550123`, `(415) 555-0123`).
    #[arg(long, value_name = "NUMBER|ADDRESS", value_parser = parse_recipient)]
    pub to: Option<Recipient>,
    /// How many rows (1 to 10000).
    #[arg(long, default_value_t = 20, value_parser = limit_range())]
    pub limit: u32,
    /// Older than this message id (paging).
    #[arg(long)]
    pub before: Option<i64>,
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct AuditArgs {
    #[command(subcommand)]
    pub command: Option<AuditCommand>,
    #[arg(long)]
    pub user: Option<String>,
    /// An event kind (`login.verify`) or a family of them (`login`).
    #[arg(long)]
    pub kind: Option<String>,
    /// Only what this actor did, exactly as the trail names them
    /// (`--actor` is who acts: it names you).
    #[arg(long, value_name = "ACTOR")]
    pub by: Option<String>,
    /// Events at or after this time: RFC 3339, a date (2026-11-21, UTC), or
    /// an age (90m, 24h, 7d).
    #[arg(long, value_name = "WHEN")]
    pub since: Option<String>,
    /// Events before this time (as --since).
    #[arg(long, value_name = "WHEN")]
    pub until: Option<String>,
    /// Words anywhere in an event (kind, actor, user, detail, address), any case.
    #[arg(long, value_name = "TEXT")]
    pub search: Option<String>,
    /// table (the default), json, jsonl or csv. json, jsonl and csv stream
    /// every event found (or --limit of them) at any size; it wins over --json.
    #[arg(long, value_enum)]
    pub format: Option<AuditFormat>,
    /// Print events as they are written, until Ctrl-C (table or jsonl).
    #[arg(long, conflicts_with_all = ["before", "limit"])]
    pub follow: bool,
    /// How many rows (1 to 10000) [default: 50; json, jsonl and csv: all].
    #[arg(long, value_parser = limit_range())]
    pub limit: Option<u32>,
    /// Older than this event id (paging).
    #[arg(long)]
    pub before: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AuditFormat {
    Table,
    Json,
    Jsonl,
    Csv,
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check the trail's chain of MACs: exit 0 when it is whole, 1 when an
    /// event was edited, deleted, inserted or moved, or the tail was cut.
    Verify,
}

#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Every setting with its value, default and meaning.
    Show,
    /// Change one setting, for a reason (audited).
    Set {
        key: String,
        value: String,
        /// Why, for the audit trail (required: a setting can turn 2FA off for everyone).
        #[arg(long)]
        reason: String,
    },
}
