//! Errors as the CLI says them: the desk's facts, then what to do as a
//! command line or a flag. Only here do errors name `factordesk` commands.

use crate::desk::{DeskError, Remedy};
use crate::domain::FactorKind;
use crate::keyfile::KEY_ENV;
use crate::keyfile::KeyFileError;
use crate::location::LocationError;
use crate::store::StoreError;
use crate::store::engine::EngineError;

/// A desk error as one line: what went wrong, and the command or flag that
/// gets past it.
pub fn desk_error(e: &DeskError) -> String {
    match e {
        DeskError::ImportLine { line, why } => format!(
            "line {line}: {}; nothing was imported: {}",
            desk_error(why),
            remedy(&Remedy::FixLine)
        ),
        DeskError::Store(e) => store_error(e),
        DeskError::KeyFile(e) => key_file_error(e),
        DeskError::Location(e) => location_error(e),
        _ => match e.remedy() {
            Some(r @ Remedy::WritableExportPlace) => format!("{e}; {}", remedy(&r)),
            Some(r) => format!("{e}: {}", remedy(&r)),
            None => e.to_string(),
        },
    }
}

/// What to do, as the command line or flag that does it.
fn remedy(r: &Remedy) -> String {
    match r {
        Remedy::FindUser => {
            "check the spelling, or find them with `factordesk user list --search TERM`".to_owned()
        }
        Remedy::PickAnotherEmail => "pick another address, or edit that user".to_owned(),
        Remedy::ListFactors { email } => format!(
            "run `factordesk factor list {}` for the ids",
            email.as_deref().unwrap_or("EMAIL")
        ),
        Remedy::StartLogin => "start one with `factordesk login start EMAIL`".to_owned(),
        Remedy::ListDevices { email } => {
            format!("run `factordesk device list {email}` for the ids")
        }
        Remedy::GiveReason => "pass --reason \"...\" (it goes in the audit trail)".to_owned(),
        Remedy::NothingToChange { email } => {
            format!("nothing to change (see `factordesk user show {email}`)")
        }
        Remedy::NameAChange => "pass --name, --role, --phone or --every-login".to_owned(),
        Remedy::AllowKinds { kinds } => {
            format!("an admin can allow them with `factordesk policy set factors {kinds}`")
        }
        Remedy::AllowCountries { codes } => format!(
            "use an authenticator app or email, or an admin can run `factordesk policy set sms_countries {codes}`"
        ),
        Remedy::ChangePhone { email, factor } => format!(
            "change the number with `factordesk user edit {email} --phone NUMBER`, or remove factor {factor} first"
        ),
        Remedy::RemoveEmailFirst { factor, .. } => {
            format!("remove factor {factor} first to use another address")
        }
        Remedy::AddAgainToResend => "remove it and add it again to send a new one".to_owned(),
        Remedy::NothingToConfirm { email } => {
            format!("nothing to confirm (see `factordesk factor list {email}`)")
        }
        Remedy::ConfirmFactor { email, factor } => {
            format!("use `factordesk factor confirm {email} {factor} CODE`")
        }
        Remedy::ResendCode { challenge } => {
            format!("send another with `factordesk login resend {challenge}`")
        }
        Remedy::CheckOutbox { email } => {
            format!("check the newest message in `factordesk outbox --user {email}`")
        }
        Remedy::AddFactorAgain {
            kind,
            email,
            destination,
        } => format!(
            "add the factor again to send a new code (`{}`)",
            add_command(*kind, email, destination.as_deref())
        ),
        Remedy::PressToken => "press its button and type the code it shows, or enrol it again with its counter (--counter)".to_owned(),
        Remedy::OtherExportFile => {
            "choose another --out file; backup codes are never written over a file".to_owned()
        }
        Remedy::WritableExportPlace => "choose a writable --out location".to_owned(),
        Remedy::EarlierStart => "give a --since earlier than --until".to_owned(),
        Remedy::NameDomain => {
            "pass --domain example.com to read user names as addresses".to_owned()
        }
        Remedy::VerifyTrail => {
            "run `factordesk audit verify`, and restore the database from a backup".to_owned()
        }
        Remedy::NameUser => "pass --user EMAIL".to_owned(),
        Remedy::RightKey => {
            "use the key file that was created with it (--key-file or FACTORDESK_KEY_FILE)"
                .to_owned()
        }
        Remedy::OneScript { existing } => format!(
            "if that user is meant, use {existing}; otherwise spell the new address in one script"
        ),
        Remedy::FixLine => "fix that line and run the import again".to_owned(),
        Remedy::PolicyKeys => "run `factordesk policy show` for the keys".to_owned(),
    }
}

/// The command that adds a factor again, for [`Remedy::AddFactorAgain`].
fn add_command(kind: FactorKind, email: &str, destination: Option<&str>) -> String {
    let command = match kind {
        FactorKind::Sms => format!(
            "factordesk factor add-sms {email} {}",
            destination.unwrap_or("PHONE")
        ),
        _ => format!(
            "factordesk factor add-email {email} {}",
            destination.unwrap_or_default()
        ),
    };
    command.trim_end().to_owned()
}

/// A database that cannot be opened or written: the fact, and the `--db`
/// (or command) that gets past it.
fn store_error(e: &StoreError) -> String {
    let another = "pass --db with a factordesk database";
    match e {
        StoreError::Missing(_) => {
            format!("{e}: create one with `factordesk init` or `factordesk demo`, or pass --db")
        }
        StoreError::Foreign(_) | StoreError::NotRegular(..) => format!("{e}: {another}"),
        StoreError::Exists(_) => format!("{e}: pass another --db, or remove it first"),
        StoreError::Create(..) => format!("{e}; choose a writable --db location"),
        StoreError::Unreadable(..) => format!("{e}; check its permissions, or pass another --db"),
        StoreError::Directory(dir) => format!(
            "{e}: pass --db with the database file, e.g. {}/factordesk.db",
            dir.display()
        ),
        StoreError::NoUser(_) => format!("{e}: {}", remedy(&Remedy::FindUser)),
        StoreError::ReadOnly => {
            format!("{e}; fix the permissions, or copy it somewhere writable and pass that --db")
        }
        StoreError::TooNew { .. }
        | StoreError::ReadOnlyOld { .. }
        | StoreError::Upgrade { .. }
        | StoreError::Busy
        | StoreError::Sqlite(_) => e.to_string(),
        StoreError::Engine(e) => engine_error(e, "--db"),
    }
}

/// A `PostgreSQL` database that cannot be reached or used: the fact, and
/// what to change in the URL given as `flag` (`--db`, or `migrate`'s
/// `--to` / `--from`).
pub(crate) fn engine_error(e: &EngineError, flag: &str) -> String {
    match e {
        EngineError::BadUrl(_) => {
            format!("{e}: write {flag} as postgresql://USER:PASSWORD@HOST:5432/DATABASE")
        }
        EngineError::Unreachable { .. } => {
            format!("{e}: check that it is running and that the host and port in {flag} are right")
        }
        EngineError::BadLogin { .. } => format!("{e}: check the user and password in {flag}"),
        EngineError::NoDatabase { database, .. } => {
            format!("{e}: create it (createdb {database}) or fix its name in {flag}")
        }
        EngineError::Connect { .. } => format!("{e}: check {flag}"),
        EngineError::NoTls { .. } => {
            format!("{e}: turn TLS on at the server (ssl = on, with a certificate)")
        }
        EngineError::Untrusted { .. } => {
            format!("{e}: name the CA that signed it with sslrootcert=FILE in {flag}")
        }
        EngineError::WrongHost { .. } => {
            format!(
                "{e}: name a host it holds in {flag}, or give the server a certificate for this one"
            )
        }
        EngineError::Tls { .. } => {
            format!("{e}: check the server's certificate and sslmode in {flag}")
        }
        EngineError::RootCert { .. } => format!(
            "{e}: name a readable PEM file of CA certificates with sslrootcert=FILE in {flag}"
        ),
        EngineError::Foreign { .. } => {
            format!("{e}: pass {flag} with a factordesk database or an empty one")
        }
        EngineError::Uninitialised { .. } => format!(
            "{e}: make it factordesk's with `factordesk init`, `factordesk demo` or `factordesk migrate --to`"
        ),
        EngineError::Initialised { .. } => {
            format!("{e}: open it without init, or pass {flag} with an empty database")
        }
        EngineError::Server { .. }
        | EngineError::Lost(_)
        | EngineError::Client(_)
        | EngineError::Column { .. }
        | EngineError::NoRow
        | EngineError::Reentrant
        | EngineError::Unported
        | EngineError::TooNew { .. }
        | EngineError::Upgrade { .. } => e.to_string(),
    }
}

/// A `--db` that names no database factordesk can open, or a key that
/// cannot be found for it: the fact, and the flag that gets past it.
fn location_error(e: &LocationError) -> String {
    match e {
        LocationError::Empty | LocationError::Scheme(_) => {
            format!("{e}: pass --db with a database file, or a postgresql:// URL")
        }
        LocationError::NoKey => {
            format!("{e}: pass --key-file with its key file, or set {KEY_ENV} to the key")
        }
        LocationError::Url(e) => engine_error(e, "--db"),
    }
}

/// A key file that cannot be used: the fact, and the `--key-file` that gets
/// past it.
fn key_file_error(e: &KeyFileError) -> String {
    match e {
        KeyFileError::Missing(_) => {
            format!("{e}; pass --key-file (or FACTORDESK_KEY_FILE) pointing at it")
        }
        KeyFileError::Exists(_) => {
            format!("{e}: keep it with its database, or pass another --key-file")
        }
        KeyFileError::Write(..) => format!("{e}; choose a writable --key-file location"),
        KeyFileError::NotRegular(..) => {
            format!("{e}: pass --key-file with the key file itself")
        }
        KeyFileError::Malformed(_)
        | KeyFileError::MalformedEnv
        | KeyFileError::Read(..)
        | KeyFileError::Exposed { .. } => e.to_string(),
    }
}

#[cfg(test)]
#[path = "words/tests.rs"]
mod tests;
