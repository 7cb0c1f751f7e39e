//! A stable name for each desk error (`unknown_user`, `store.missing`), for
//! scripts that read `--json` errors; the variants decide it, never the text.

use super::DeskError;
use crate::domain::contact::ContactError;
use crate::domain::login::ChoiceError;
use crate::domain::password::PasswordError;
use crate::domain::policy::PolicyError;
use crate::domain::text::TextError;
use crate::keyfile::KeyFileError;
use crate::location::LocationError;
use crate::store::StoreError;

impl DeskError {
    /// What went wrong, as a `snake_case` name that does not change with the
    /// wording: the variant, and for a wrapped error its own variant after
    /// a dot (`store.busy`, `key_file.exposed`).
    pub fn kind(&self) -> &'static str {
        match self {
            DeskError::UnknownUser(_) => "unknown_user",
            DeskError::DuplicateEmail(_) => "duplicate_email",
            DeskError::UnknownFactor { .. } => "unknown_factor",
            DeskError::UnknownChallenge(_) => "unknown_challenge",
            DeskError::UnknownDevice { .. } => "unknown_device",
            DeskError::ReasonRequired(_) => "reason_required",
            DeskError::AlreadyStatus { .. } => "already_status",
            DeskError::NothingToEdit(_) => "nothing_to_edit",
            DeskError::KindNotAllowed { .. } => "kind_not_allowed",
            DeskError::CountryNotAllowed { .. } => "country_not_allowed",
            DeskError::HasSms { .. } => "has_sms",
            DeskError::NotPending { .. } => "not_pending",
            DeskError::ConfirmsFactor { .. } => "confirms_factor",
            DeskError::ConfirmationExpired { .. } => "confirmation_expired",
            DeskError::WrongConfirmation { .. } => "wrong_confirmation",
            DeskError::ConfirmationsUsedUp { .. } => "confirmations_used_up",
            DeskError::ExportExists(_) => "export_exists",
            DeskError::ExportUnwritable { .. } => "export_unwritable",
            DeskError::ImportLine { .. } => "import_line",
            DeskError::NotNextTokenCode { .. } => "not_next_token_code",
            DeskError::HasEmail { .. } => "has_email",
            DeskError::NoConfirmationWaiting(_) => "no_confirmation_waiting",
            DeskError::RangeBackwards { .. } => "range_backwards",
            DeskError::NotAnAddress(_) => "not_an_address",
            DeskError::ChainHeadAltered => "chain_head_altered",
            DeskError::NoUserNamed => "no_user_named",
            DeskError::Refused(_) => "refused",
            DeskError::Denied(_) => "denied",
            DeskError::Contact(e) => match e {
                ContactError::Email(_) => "contact.email",
                ContactError::Phone(_) => "contact.phone",
            },
            DeskError::Policy(e) => match e {
                PolicyError::UnknownKey(_) => "policy.unknown_key",
                PolicyError::BadValue { .. } => "policy.bad_value",
            },
            DeskError::Password(e) => match e {
                PasswordError::TooShort(_) => "password.too_short",
                PasswordError::TooLong(_) => "password.too_long",
                PasswordError::BadHash => "password.bad_hash",
            },
            DeskError::Code(_) => "not_a_code",
            DeskError::Choice(e) => match e {
                ChoiceError::NotTheirs(_) => "factor_choice.not_theirs",
                ChoiceError::NotActive { .. } => "factor_choice.not_active",
                ChoiceError::NoneActive => "factor_choice.none_active",
            },
            DeskError::Store(e) => store_kind(e),
            DeskError::KeyFile(e) => key_file_kind(e),
            DeskError::Location(e) => match e {
                LocationError::Empty => "location.empty",
                LocationError::Scheme(_) => "location.scheme",
                LocationError::Url(e) => e.kind(),
                LocationError::NoKey => "location.no_key",
            },
            DeskError::Crypto(_) | DeskError::WrongKey => "wrong_key",
            DeskError::Text(e) => match e {
                TextError::TooLong { .. } => "text.too_long",
                TextError::Control { .. } => "text.control",
            },
            DeskError::LookAlike { .. } => "look_alike",
            DeskError::Usage(_) => "usage",
        }
    }
}

fn store_kind(e: &StoreError) -> &'static str {
    match e {
        StoreError::Missing(_) => "store.missing",
        StoreError::Foreign(_) => "store.foreign",
        StoreError::TooNew { .. } => "store.too_new",
        StoreError::Exists(_) => "store.exists",
        StoreError::Create(..) => "store.create",
        StoreError::Unreadable(..) => "store.unreadable",
        StoreError::Directory(_) => "store.directory",
        StoreError::NotRegular(..) => "store.not_regular",
        StoreError::ReadOnlyOld { .. } => "store.read_only_old",
        StoreError::Upgrade { .. } => "store.upgrade",
        StoreError::NoUser(_) => "store.no_user",
        StoreError::Busy => "store.busy",
        StoreError::ReadOnly => "store.read_only",
        StoreError::Sqlite(_) => "store.sqlite",
        StoreError::Engine(e) => e.kind(),
    }
}

fn key_file_kind(e: &KeyFileError) -> &'static str {
    match e {
        KeyFileError::Missing(_) => "key_file.missing",
        KeyFileError::Malformed(_) => "key_file.malformed",
        KeyFileError::MalformedEnv => "key_file.malformed_env",
        KeyFileError::Exists(_) => "key_file.exists",
        KeyFileError::Write(..) => "key_file.write",
        KeyFileError::Read(..) => "key_file.read",
        KeyFileError::NotRegular(..) => "key_file.not_regular",
        KeyFileError::Exposed { .. } => "key_file.exposed",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_snake_case_names_apart_from_the_wording() {
        let cases = [
            (DeskError::UnknownUser("a@b.c".into()), "unknown_user"),
            (DeskError::Store(StoreError::Busy), "store.busy"),
            (
                DeskError::KeyFile(KeyFileError::MalformedEnv),
                "key_file.malformed_env",
            ),
            (DeskError::Usage("x".into()), "usage"),
            (
                DeskError::Contact(ContactError::Phone("x".into())),
                "contact.phone",
            ),
        ];
        for (e, kind) in cases {
            assert_eq!(e.kind(), kind, "{e}");
            assert!(
                kind.chars()
                    .all(|c| c.is_ascii_lowercase() || c == '_' || c == '.'),
                "{kind}"
            );
        }
    }

    #[test]
    fn the_same_state_has_the_same_kind_on_either_engine() {
        use crate::store::engine::EngineError;
        let (database, server) = (String::from("fd"), String::from("h:5432"));
        let pairs = [
            (
                StoreError::Missing("fd.db".into()),
                EngineError::Uninitialised {
                    database: database.clone(),
                    server: server.clone(),
                },
            ),
            (
                StoreError::Exists("fd.db".into()),
                EngineError::Initialised {
                    database: database.clone(),
                    server: server.clone(),
                },
            ),
            (
                StoreError::Foreign("fd.db".into()),
                EngineError::Foreign { database, server },
            ),
        ];
        for (file, pg) in pairs {
            let pg = DeskError::Store(StoreError::Engine(pg));
            assert_eq!(DeskError::Store(file).kind(), pg.kind(), "{pg}");
        }
    }
}
