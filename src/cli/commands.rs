//! The CLI handlers: open the desk, call one use case, print the result, and
//! return the exit code. Errors are one line on stderr.

use std::io::{IsTerminal as _, Write as _};

use super::out::{self, json};
use super::secret_input::{password, secret};
use super::{ActionArg, Cli, Command, LoginCommand, PolicyCommand, RoleArg, exit};
use crate::clock::Clock;
use crate::desk::login::{DeviceRef, LoginRequest, PasswordInput};
use crate::desk::records::RecordQuery;
use crate::desk::views::{ResendResult, VerifyResult};
use crate::desk::{Desk, DeskError, Result};
use crate::domain::login::Outcome;
use crate::domain::text::{self, Field};
use crate::domain::vocab::DeliveryStatus;
use crate::domain::{Action, Role};
use crate::keyfile::{self, KEY_ENV};
use crate::location::Location;
use crate::rng::Rng;

mod accounts;

use accounts::{codes, device, factor, user};

/// Run a parsed command line; returns the process exit code.
pub fn run(cli: &Cli) -> i32 {
    match dispatch(cli) {
        Ok(code) => code,
        // One line on stderr: words, or an object under --json.
        Err(e) => super::conventions::report(cli.json, &e),
    }
}

/// Answer with `value` as JSON under `--json`, else in words.
fn reply<T: serde::Serialize + ?Sized>(cli: &Cli, value: &T, human: impl FnOnce() -> String) {
    if cli.json {
        emit(&json(value));
    } else {
        say(&human());
    }
}

/// Print text for people: any control character or direction override in
/// it (from data stored before they were refused) is shown as `\u{…}`,
/// never sent to the terminal; only its own line breaks are kept.
pub(crate) fn say(text: &str) {
    emit(&text::escape_lines(text));
}

/// Print, ignoring a closed pipe (`factordesk user list | head`).
pub(crate) fn emit(text: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = stdout.write_all(text.as_bytes());
    if !text.ends_with('\n') {
        let _ = stdout.write_all(b"\n");
    }
    let _ = stdout.flush();
}

fn clock(cli: &Cli) -> Clock {
    cli.now.map_or_else(Clock::system, Clock::fixed)
}

/// Where `--db` points: a file, or a `PostgreSQL` URL.
pub(crate) fn location(cli: &Cli) -> Result<Location> {
    Ok(Location::parse(cli.db.as_os_str())?)
}

/// Where the key comes from for `location`: `FACTORDESK_KEY`, else
/// `--key-file`, else (for a file) the key file beside it.
pub(crate) fn key_source(cli: &Cli, location: &Location) -> Result<keyfile::Source> {
    Ok(crate::location::key_source(
        location,
        cli.key_file.clone(),
        std::env::var(KEY_ENV).ok(),
    )?)
}

fn os_rng() -> Result<Rng> {
    Rng::from_os().map_err(|e| {
        DeskError::Refused(format!("the operating system's random source failed: {e}"))
    })
}

pub(crate) fn open(cli: &Cli) -> Result<Desk> {
    check_actor(cli)?;
    let location = location(cli)?;
    let key = key_source(cli, &location)?;
    let mut desk = Desk::open_at(&location, &key, clock(cli), os_rng()?)?;
    name_operator(cli, &mut desk);
    Ok(desk)
}

/// The actor is written into every audit event: a line break or escape
/// would forge rows of the audit table.
pub(crate) fn check_actor(cli: &Cli) -> Result<()> {
    if let Some(actor) = cli.actor.as_deref() {
        text::check(Field::Actor, actor)?;
    }
    Ok(())
}

/// Who the audit trail names: `--actor`, by default the operating-system
/// account, which is recorded beside it either way.
pub(crate) fn name_operator(cli: &Cli, desk: &mut Desk) {
    let account = crate::account::current();
    desk.set_os_user(&account);
    desk.set_actor(cli.actor.as_deref().unwrap_or(&account));
}

fn role(r: RoleArg) -> Role {
    match r {
        RoleArg::Admin => Role::Admin,
        RoleArg::Member => Role::Member,
    }
}

fn dispatch(cli: &Cli) -> Result<i32> {
    let Some(command) = &cli.command else {
        return open_console_if_terminal(cli);
    };
    match command {
        Command::Init => init(cli),
        Command::Demo(args) => super::demo::run(cli, args),
        Command::Completions { shell } => Ok(super::conventions::completions(*shell)),
        Command::Man => super::conventions::man(),
        Command::User(c) => user(cli, c),
        Command::Factor(c) => factor(cli, c),
        Command::Import(c) => super::exchange::import(cli, c),
        Command::Export(c) => super::exchange::export(cli, c),
        Command::Migrate(args) => super::migrate::run(cli, args),
        Command::Codes(c) => codes(cli, c),
        Command::Device(c) => device(cli, c),
        Command::Login(c) => login(cli, c),
        Command::Outbox(a) => outbox(cli, a),
        Command::Audit(super::AuditArgs {
            command: Some(super::AuditCommand::Verify),
            ..
        }) => {
            let check = open(cli)?.check_trail()?;
            reply(cli, &check, || super::verify::trail_check(&check));
            match &check.problem {
                None => Ok(exit::OK),
                // The report is on stdout; the error line says what to do.
                Some(b) => Err(DeskError::Refused(format!(
                    "the audit trail is not whole: {}; keep this database as evidence, and restore it from a backup",
                    super::verify::problem(b, &check.head)
                ))),
            }
        }
        Command::Audit(a) => super::audit::run(cli, a),
        Command::Policy(c) => policy(cli, c),
        Command::Render(args) => render(cli, args),
        Command::Doctor { email, code } => {
            let mut desk = open(cli)?;
            let report = desk.doctor(email, code.as_deref())?;
            reply(cli, &super::doctor::ReportJson::of(&report), || {
                super::doctor::text(&report)
            });
            // The findings are shown either way; a refused check is denied.
            Ok(if report.code_check.as_ref().is_some_and(|c| c.refused) {
                exit::DENIED
            } else {
                exit::OK
            })
        }
        Command::Report(super::ReportCommand::Readiness { sort, format }) => {
            use crate::desk::readiness::{Format, Sort};
            let desk = open(cli)?;
            let sort = match sort {
                super::SortArg::Risk => Sort::Risk,
                super::SortArg::Email => Sort::Email,
                super::SortArg::Codes => Sort::Codes,
            };
            // An explicit --format wins: `--json … --format csv` is CSV.
            let format = format.unwrap_or(if cli.json {
                super::FormatArg::Json
            } else {
                super::FormatArg::Table
            });
            // CSV and JSON stream a page at a time, at any size.
            // Into a file, from a terminal, a bar on stderr counts the rows.
            let stream = |f: Format| -> Result<i32> {
                let bar = super::progress::rows_bar("Writing the readiness report", || {
                    desk.readiness_count().map(|(at_risk, _)| at_risk)
                })?;
                let stdout = std::io::stdout();
                let buffered = std::io::BufWriter::new(stdout.lock());
                let mut out = super::progress::Lines::new(buffered, bar);
                desk.write_readiness(sort, f, &mut out)?;
                Ok(exit::OK)
            };
            match format {
                super::FormatArg::Json => stream(Format::Json),
                super::FormatArg::Csv => stream(Format::Csv),
                super::FormatArg::Table => {
                    let (at_risk, users) = desk.readiness_count()?;
                    let mut rows = Vec::new();
                    desk.readiness_each(sort, |row| {
                        rows.push(row.clone());
                        Ok(())
                    })?;
                    say(&out::readiness(&rows, at_risk, users));
                    Ok(exit::OK)
                }
            }
        }
    }
}

/// The console needs a terminal; without one, say so.
pub(crate) fn open_console_if_terminal(cli: &Cli) -> Result<i32> {
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        return Err(DeskError::Refused(
            "the console needs a terminal: run factordesk in one, or use a command (factordesk --help)".to_owned(),
        ));
    }
    crate::tui::run(open(cli)?)
}

fn render(cli: &Cli, args: &super::RenderArgs) -> Result<i32> {
    use crate::tui::render::{self as r, ScreenName};
    let screen = ScreenName::parse(&args.screen).ok_or_else(|| {
        DeskError::Refused(format!(
            "there is no `{}` screen: use one of {}",
            args.screen,
            ScreenName::NAMES
        ))
    })?;
    let theme = if args.ansi {
        crate::tui::theme::Theme::colored()
    } else {
        crate::tui::theme::Theme { color: false }
    };
    let app = r::app_on(open(cli)?, screen, args.user.as_deref(), theme)?;
    let (w, h) = args.size;
    let buf = r::buffer(&app, w, h);
    emit(&if args.ansi {
        r::ansi(&buf)
    } else {
        r::text(&buf)
    });
    Ok(exit::OK)
}

/// `outbox`: everyone's messages, one user's, or those to a number or address.
fn outbox(cli: &Cli, a: &super::OutboxArgs) -> Result<i32> {
    let desk = open(cli)?;
    let q = RecordQuery {
        user: a.user.clone(),
        kind: None,
        before: a.before,
        limit: a.limit,
    };
    let list = match &a.to {
        Some(to) => desk.outbox_to(&q, to)?,
        None => desk.outbox(&q)?,
    };
    reply(cli, &list, || out::outbox(&list));
    Ok(exit::OK)
}

fn init(cli: &Cli) -> Result<i32> {
    let location = location(cli)?;
    if let Some(file) = location.file() {
        super::conventions::make_home_for(file)?;
    }
    let key = key_source(cli, &location)?;
    // A key file with no database beside it (an init stopped half way, or
    // one made on purpose) is taken up rather than refused.
    let adopted = key.file_exists();
    let desk = Desk::create_at(
        &location,
        &key,
        clock(cli),
        os_rng()?,
        crate::desk::ORIGIN_INIT,
    )?;
    drop(desk);
    let key_note = match key.path() {
        Some(p) if adopted => format!(
            "key file {}, which was already there: keep it with the database, and back it up apart from it",
            p.display()
        ),
        Some(p) => format!(
            "key file {} (mode 0600): keep it with the database, and back it up apart from it",
            p.display()
        ),
        None => format!("key from {KEY_ENV}"),
    };
    if cli.json {
        emit(&json(&serde_json::json!({
            "db": location.to_string(),
            "key_file": key.path().map(|p| p.display().to_string()),
        })));
    } else {
        let made = match &location {
            Location::File(path) => format!("Created {} (mode 0600)", path.display()),
            Location::Postgres(url) => format!("Made {url} factordesk's"),
        };
        say(&format!("{made}\nand its {key_note}."));
    }
    Ok(exit::OK)
}

fn login(cli: &Cli, c: &LoginCommand) -> Result<i32> {
    let mut desk = open(cli)?;
    match c {
        LoginCommand::Start {
            email,
            password_stdin,
            device,
            device_id,
            ip,
            action,
            factor,
            ..
        } => {
            // `--device -` reads the token from stdin, so it never shows in
            // the process list; stdin holds one secret at a time.
            let token_stdin = device.as_deref() == Some("-");
            if token_stdin && *password_stdin {
                return Err(DeskError::Usage(
                    "--device - and --password-stdin both read stdin, which holds one of them: pass the password with --password-stdin and the token as --device TOKEN, or use --assume-password with --device -".to_owned(),
                ));
            }
            let password = if *password_stdin {
                PasswordInput::Plain(password("Password")?.to_string())
            } else {
                PasswordInput::Assume
            };
            let token = if token_stdin {
                Some(secret("Device token", "device token")?.trim().to_owned())
            } else {
                device.clone()
            };
            let mut request = LoginRequest {
                email: email.clone(),
                password,
                device: token.map(DeviceRef::Token).or(device_id.map(DeviceRef::Id)),
                ip: ip.clone(),
                action: match action {
                    ActionArg::Login => Action::Login,
                    ActionArg::Export => Action::Export,
                },
                factor: *factor,
            };
            let started = desk.start_login(&request);
            // The password and token are wiped from memory once checked.
            if let PasswordInput::Plain(typed) = &mut request.password {
                zeroize::Zeroize::zeroize(typed);
            }
            if let Some(DeviceRef::Token(token)) = &mut request.device {
                zeroize::Zeroize::zeroize(token);
            }
            let s = started?;
            reply(cli, &s, || out::login_start(&s));
            // A challenge whose code could not go (the message limit, a
            // country not allowed) is refused for now, as a refused resend
            // is: a script must not wait for a code that never comes.
            let unsent = s
                .delivery
                .as_ref()
                .is_some_and(|d| d.status == DeliveryStatus::Failed);
            Ok(if s.decision == Outcome::Denied || unsent {
                exit::DENIED
            } else {
                exit::OK
            })
        }
        LoginCommand::Verify {
            challenge_id,
            code,
            remember,
            device_label,
        } => {
            let v = desk.verify(
                *challenge_id,
                code,
                remember.then_some(device_label.as_str()),
            )?;
            reply(cli, &v, || out::verify(&v));
            Ok(if v.result == VerifyResult::Accepted {
                exit::OK
            } else {
                exit::DENIED
            })
        }
        LoginCommand::Resend { challenge_id } => {
            let r = desk.resend(*challenge_id)?;
            reply(cli, &r, || {
                format!("{}: {}", r.result.as_str().to_uppercase(), r.message)
            });
            Ok(if r.result == ResendResult::Sent {
                exit::OK
            } else {
                exit::DENIED
            })
        }
        LoginCommand::Show { challenge_id } => {
            let v = desk.challenge(*challenge_id)?;
            reply(cli, &v, || out::challenge(&v));
            Ok(exit::OK)
        }
    }
}

fn policy(cli: &Cli, c: &PolicyCommand) -> Result<i32> {
    let mut desk = open(cli)?;
    match c {
        PolicyCommand::Show => {
            let items = desk.policy_items()?;
            reply(cli, &items, || out::policy(&items));
        }
        PolicyCommand::Set { key, value, reason } => {
            let item = desk.set_policy(key, value, reason)?;
            reply(cli, &item, || format!("{} = {}", item.key, item.value));
        }
    }
    Ok(exit::OK)
}
