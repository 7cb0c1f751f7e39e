//! What a use case can refuse with, as typed facts: what went wrong, its
//! data, and a typed [`Remedy`]. No front end's words: `cli` and `tui` word them.

use std::path::PathBuf;

use thiserror::Error;

use crate::crypto::CryptoError;
use crate::domain::contact::ContactError;
use crate::domain::login::ChoiceError;
use crate::domain::otp::NotACode;
use crate::domain::password::PasswordError;
use crate::domain::policy::PolicyError;
use crate::domain::text::TextError;
use crate::domain::{FactorKind, FactorStatus, UserStatus};
use crate::keyfile::KeyFileError;
use crate::store::{self, StoreError};

/// Everything a use case can refuse with: what went wrong, with its data.
/// The message (`Display`) states the facts only, and is what the audit
/// trail records of a refusal; [`DeskError::remedy`] says what to do, which
/// the CLI words as a command line (`cli::words`) and the console as its
/// keys (`tui::strings::desk_error`). `exit_code` is what the CLI returns.
#[derive(Debug, Error)]
pub enum DeskError {
    #[error("no user {0}")]
    UnknownUser(String),
    #[error("a user with email {0} already exists")]
    DuplicateEmail(String),
    #[error("{email} has no factor {id}")]
    UnknownFactor { email: String, id: i64 },
    #[error("no challenge {0}")]
    UnknownChallenge(i64),
    #[error("{email} has no device {id}")]
    UnknownDevice { email: String, id: i64 },
    #[error("a reason is required to {0}")]
    ReasonRequired(&'static str),
    #[error("{email} is already {status}")]
    AlreadyStatus { email: String, status: UserStatus },
    #[error("nothing to change for {0}")]
    NothingToEdit(String),
    #[error("{} factors are not allowed by policy (factors={allowed})", .kind.label())]
    KindNotAllowed { kind: FactorKind, allowed: String },
    /// SMS to a country calling code the policy does not allow; `allowed`
    /// says which are, `with` is the list with this one added.
    #[error("SMS cannot be sent to +{code} numbers (allowed country calling codes: {allowed})")]
    CountryNotAllowed {
        code: u16,
        allowed: String,
        with: String,
    },
    #[error("{email} already has an SMS factor ({label})")]
    HasSms {
        email: String,
        label: String,
        id: i64,
    },
    #[error("{email} already has an email factor ({label})")]
    HasEmail {
        email: String,
        label: String,
        id: i64,
    },
    #[error("factor {id} is already {status}, not pending")]
    NotPending {
        email: String,
        id: i64,
        status: FactorStatus,
    },
    /// A login's code was sent to the challenge that confirms a new factor.
    #[error("challenge {challenge} confirms a new factor")]
    ConfirmsFactor {
        challenge: i64,
        email: String,
        factor: i64,
    },
    /// A pending SMS or email factor with no code on its way to confirm it.
    #[error("no confirmation code is waiting for factor {0}")]
    NoConfirmationWaiting(i64),
    /// A new factor's confirmation code expired (exit code 3).
    #[error("the confirmation code expired {ago}")]
    ConfirmationExpired { ago: String, challenge: i64 },
    /// A wrong confirmation code, `why`, with attempts left (exit code 3).
    #[error("{why} ({left} attempt(s) left)")]
    WrongConfirmation {
        why: String,
        left: u32,
        email: String,
    },
    /// A wrong confirmation code, `why`, and the last attempt (exit code 3):
    /// the factor must be added again.
    #[error("{why}, and that was the last of {max} attempts")]
    ConfirmationsUsedUp {
        why: String,
        max: u32,
        kind: FactorKind,
        email: String,
        destination: Option<String>,
    },
    /// A code that is not one of a hardware token's next ones (exit code 3).
    #[error("that code is not one of the token's next {look_ahead} (from counter {next})")]
    NotNextTokenCode { look_ahead: u64, next: u64 },
    /// Backup codes are never written over a file.
    #[error("{} already exists", .0.display())]
    ExportExists(PathBuf),
    #[error("cannot write {}: {why}", .path.display())]
    ExportUnwritable { path: PathBuf, why: String },
    /// An audit search whose start is not before its end (exit code 2).
    #[error("the start of the range ({since}) is not before its end ({until})")]
    RangeBackwards { since: String, until: String },
    /// An imported account that is a bare name, with no domain to make it
    /// an address.
    #[error("`{0}` is not an email address")]
    NotAnAddress(String),
    /// The chain's head no longer matches its events: nothing can be added.
    #[error("the audit trail's chain head was changed by hand, so no event can be added to it")]
    ChainHeadAltered,
    /// A screen that shows one user was asked for with none named.
    #[error("the user screen needs a user")]
    NoUserNamed,
    /// A request that cannot be done as asked; the text says what to do.
    #[error("{0}")]
    Refused(String),
    /// A code or login was rejected (exit code 3).
    #[error("{0}")]
    Denied(String),
    #[error(transparent)]
    Contact(#[from] ContactError),
    #[error(transparent)]
    Policy(#[from] PolicyError),
    #[error(transparent)]
    Password(#[from] PasswordError),
    #[error(transparent)]
    Code(#[from] NotACode),
    #[error(transparent)]
    Choice(#[from] ChoiceError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    KeyFile(#[from] KeyFileError),
    #[error(transparent)]
    Location(#[from] crate::location::LocationError),
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    #[error("the key does not match this database; it was left untouched")]
    WrongKey,
    #[error(transparent)]
    Text(#[from] TextError),
    #[error("{email} looks like the existing user {existing} (a letter from another script)")]
    LookAlike { email: String, existing: String },
    /// An import refused at one line of its file; nothing was imported.
    #[error("line {line}: {why}; nothing was imported")]
    ImportLine { line: usize, why: Box<DeskError> },
    /// A command line that cannot be run as given (exit code 2).
    #[error("{0}")]
    Usage(String),
}

/// What to do about an error, with its data: each front end words it, the
/// CLI as a command line or flag, the console as a key or screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Remedy {
    /// Check the spelling, or search the users.
    FindUser,
    /// Pick another address, or edit the user who has it.
    PickAnotherEmail,
    /// See the user's factors for their ids (`None`: the user is not known here).
    ListFactors { email: Option<String> },
    /// Start a login.
    StartLogin,
    /// See the user's devices for their ids.
    ListDevices { email: String },
    /// Give a reason, which goes in the audit trail.
    GiveReason,
    /// Nothing to change; the user's record shows how they stand.
    NothingToChange { email: String },
    /// Name what to change (name, role, phone, ask on every login).
    NameAChange,
    /// An admin can allow these factor kinds (the list with the refused one added).
    AllowKinds { kinds: String },
    /// Use an app or email, or an admin can allow SMS to these calling codes.
    AllowCountries { codes: String },
    /// Change the number on the user, or remove the SMS factor first.
    ChangePhone { email: String, factor: i64 },
    /// Remove their email factor first to use another address.
    RemoveEmailFirst { email: String, factor: i64 },
    /// Remove the pending factor and add it again, which sends a new code.
    AddAgainToResend,
    /// Nothing to confirm; the user's factors show how they stand.
    NothingToConfirm { email: String },
    /// Confirm the new factor with its code.
    ConfirmFactor { email: String, factor: i64 },
    /// Send the confirmation code again.
    ResendCode { challenge: i64 },
    /// Read the newest message sent to the user.
    CheckOutbox { email: String },
    /// Add the factor again, which sends a new code.
    AddFactorAgain {
        kind: FactorKind,
        email: String,
        destination: Option<String>,
    },
    /// Press the token's button and type its code, or enrol it again with
    /// its counter.
    PressToken,
    /// Choose another file: backup codes are never written over one.
    OtherExportFile,
    /// Choose a place that can be written.
    WritableExportPlace,
    /// Put the start of the range before its end.
    EarlierStart,
    /// Name the domain that makes bare user names addresses.
    NameDomain,
    /// Look at the break in the trail, and restore the database from a backup.
    VerifyTrail,
    /// Name the user to show.
    NameUser,
    /// Use the key file that was created with the database.
    RightKey,
    /// Use the existing user, or spell the new address in one script.
    OneScript { existing: String },
    /// Fix the refused line and import again.
    FixLine,
    /// See the policy's keys.
    PolicyKeys,
}

impl From<rusqlite::Error> for DeskError {
    fn from(e: rusqlite::Error) -> Self {
        DeskError::Store(store::classify(e))
    }
}

impl DeskError {
    /// 3 when a login or code was rejected, 2 for a command line that
    /// cannot be run, 1 for every other error.
    pub fn exit_code(&self) -> i32 {
        match self {
            DeskError::Denied(_)
            | DeskError::ConfirmationExpired { .. }
            | DeskError::WrongConfirmation { .. }
            | DeskError::ConfirmationsUsedUp { .. }
            | DeskError::NotNextTokenCode { .. } => 3,
            DeskError::Usage(_) | DeskError::RangeBackwards { .. } | DeskError::Location(_) => 2,
            _ => 1,
        }
    }

    /// What to do about it, where the error names a way out. The wrapped
    /// store and key-file errors have none here: their way out is a
    /// command-line flag, which the CLI words from their variant.
    pub fn remedy(&self) -> Option<Remedy> {
        Some(match self {
            DeskError::UnknownUser(_) => Remedy::FindUser,
            DeskError::DuplicateEmail(_) => Remedy::PickAnotherEmail,
            DeskError::UnknownFactor { email: e, .. } => Remedy::ListFactors {
                email: Some(e.clone()),
            },
            DeskError::UnknownChallenge(_) => Remedy::StartLogin,
            DeskError::UnknownDevice { email: e, .. } => Remedy::ListDevices { email: e.clone() },
            DeskError::ReasonRequired(_) => Remedy::GiveReason,
            DeskError::AlreadyStatus { email: e, .. } => {
                Remedy::NothingToChange { email: e.clone() }
            }
            DeskError::NothingToEdit(_) => Remedy::NameAChange,
            DeskError::KindNotAllowed { kind, allowed } => Remedy::AllowKinds {
                kinds: format!("{allowed},{kind}"),
            },
            DeskError::CountryNotAllowed { with, .. } => Remedy::AllowCountries {
                codes: with.clone(),
            },
            DeskError::HasSms { email: e, id, .. } => Remedy::ChangePhone {
                email: e.clone(),
                factor: *id,
            },
            DeskError::HasEmail { email: e, id, .. } => Remedy::RemoveEmailFirst {
                email: e.clone(),
                factor: *id,
            },
            DeskError::NoConfirmationWaiting(_) => Remedy::AddAgainToResend,
            DeskError::NotPending { email: e, .. } => Remedy::NothingToConfirm { email: e.clone() },
            DeskError::ConfirmsFactor {
                email: e, factor, ..
            } => Remedy::ConfirmFactor {
                email: e.clone(),
                factor: *factor,
            },
            DeskError::ConfirmationExpired { challenge, .. } => Remedy::ResendCode {
                challenge: *challenge,
            },
            DeskError::WrongConfirmation { email: e, .. } => {
                Remedy::CheckOutbox { email: e.clone() }
            }
            DeskError::ConfirmationsUsedUp {
                kind,
                email: e,
                destination,
                ..
            } => Remedy::AddFactorAgain {
                kind: *kind,
                email: e.clone(),
                destination: destination.clone(),
            },
            DeskError::NotNextTokenCode { .. } => Remedy::PressToken,
            DeskError::ExportExists(_) => Remedy::OtherExportFile,
            DeskError::ExportUnwritable { .. } => Remedy::WritableExportPlace,
            DeskError::RangeBackwards { .. } => Remedy::EarlierStart,
            DeskError::NotAnAddress(_) => Remedy::NameDomain,
            DeskError::ChainHeadAltered => Remedy::VerifyTrail,
            DeskError::NoUserNamed => Remedy::NameUser,
            DeskError::WrongKey => Remedy::RightKey,
            DeskError::LookAlike { existing, .. } => Remedy::OneScript {
                existing: existing.clone(),
            },
            DeskError::ImportLine { .. } => Remedy::FixLine,
            DeskError::Policy(PolicyError::UnknownKey(_)) => Remedy::PolicyKeys,
            DeskError::Choice(ChoiceError::NotTheirs(_)) => Remedy::ListFactors { email: None },
            DeskError::Refused(_)
            | DeskError::Denied(_)
            | DeskError::Contact(_)
            | DeskError::Policy(_)
            | DeskError::Password(_)
            | DeskError::Code(_)
            | DeskError::Choice(_)
            | DeskError::Store(_)
            | DeskError::KeyFile(_)
            | DeskError::Location(_)
            | DeskError::Crypto(_)
            | DeskError::Text(_)
            | DeskError::Usage(_) => return None,
        })
    }
}

#[cfg(test)]
#[path = "error/tests.rs"]
mod tests;
