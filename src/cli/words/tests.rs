//! The CLI's sentences: the desk's facts with the command that fixes them,
//! word for word as the CLI has always said them.

use super::*;
use crate::domain::login::ChoiceError;
use crate::domain::policy::PolicyError;
use crate::domain::{FactorStatus, UserStatus};

fn email() -> String {
    "a@b.c".to_owned()
}

#[test]
#[allow(clippy::too_many_lines)] // a table, one row a variant
fn each_fix_is_a_command_line() {
    let cases = [
        (
            DeskError::UnknownUser("x@y.z".to_owned()),
            "no user x@y.z: check the spelling, or find them with `factordesk user list --search TERM`",
        ),
        (
            DeskError::DuplicateEmail(email()),
            "a user with email a@b.c already exists: pick another address, or edit that user",
        ),
        (
            DeskError::UnknownFactor {
                email: email(),
                id: 9,
            },
            "a@b.c has no factor 9: run `factordesk factor list a@b.c` for the ids",
        ),
        (
            DeskError::UnknownChallenge(4),
            "no challenge 4: start one with `factordesk login start EMAIL`",
        ),
        (
            DeskError::UnknownDevice {
                email: email(),
                id: 5,
            },
            "a@b.c has no device 5: run `factordesk device list a@b.c` for the ids",
        ),
        (
            DeskError::ReasonRequired("unlock"),
            "a reason is required to unlock: pass --reason \"...\" (it goes in the audit trail)",
        ),
        (
            DeskError::AlreadyStatus {
                email: email(),
                status: UserStatus::Disabled,
            },
            "a@b.c is already disabled: nothing to change (see `factordesk user show a@b.c`)",
        ),
        (
            DeskError::NothingToEdit(email()),
            "nothing to change for a@b.c: pass --name, --role, --phone or --every-login",
        ),
        (
            DeskError::KindNotAllowed {
                kind: FactorKind::Sms,
                allowed: "totp".to_owned(),
            },
            "SMS code factors are not allowed by policy (factors=totp): an admin can allow them with `factordesk policy set factors totp,sms`",
        ),
        (
            DeskError::CountryNotAllowed {
                code: 44,
                allowed: "+1".to_owned(),
                with: "1,44".to_owned(),
            },
            "SMS cannot be sent to +44 numbers (allowed country calling codes: +1): use an authenticator app or email, or an admin can run `factordesk policy set sms_countries 1,44`",
        ),
        (
            DeskError::HasSms {
                email: email(),
                label: "SMS to +1 ******0123".to_owned(),
                id: 3,
            },
            "a@b.c already has an SMS factor (SMS to +1 ******0123): change the number with `factordesk user edit a@b.c --phone NUMBER`, or remove factor 3 first",
        ),
        (
            DeskError::NotPending {
                email: email(),
                id: 2,
                status: FactorStatus::Active,
            },
            "factor 2 is already active, not pending: nothing to confirm (see `factordesk factor list a@b.c`)",
        ),
        (
            DeskError::HasEmail {
                email: email(),
                label: "Email to a***@b.c".to_owned(),
                id: 3,
            },
            "a@b.c already has an email factor (Email to a***@b.c): remove factor 3 first to use another address",
        ),
        (
            DeskError::NoConfirmationWaiting(2),
            "no confirmation code is waiting for factor 2: remove it and add it again to send a new one",
        ),
        (
            DeskError::ConfirmsFactor {
                challenge: 7,
                email: email(),
                factor: 2,
            },
            "challenge 7 confirms a new factor: use `factordesk factor confirm a@b.c 2 CODE`",
        ),
        (
            DeskError::ConfirmationExpired {
                ago: "3 min ago".to_owned(),
                challenge: 7,
            },
            "the confirmation code expired 3 min ago: send another with `factordesk login resend 7`",
        ),
        (
            DeskError::WrongConfirmation {
                why: "that is not the code sent to +1 ******0123".to_owned(),
                left: 4,
                email: email(),
            },
            "that is not the code sent to +1 ******0123 (4 attempt(s) left): check the newest message in `factordesk outbox --user a@b.c`",
        ),
        (
            DeskError::ConfirmationsUsedUp {
                why: "that is not the code".to_owned(),
                max: 5,
                kind: FactorKind::Sms,
                email: email(),
                destination: Some("+14155550123".to_owned()),
            },
            "that is not the code, and that was the last of 5 attempts: add the factor again to send a new code (`factordesk factor add-sms a@b.c +14155550123`)",
        ),
        (
            DeskError::ConfirmationsUsedUp {
                why: "that is not the code".to_owned(),
                max: 5,
                kind: FactorKind::Email,
                email: email(),
                destination: None,
            },
            "that is not the code, and that was the last of 5 attempts: add the factor again to send a new code (`factordesk factor add-email a@b.c`)",
        ),
        (
            DeskError::NotNextTokenCode {
                look_ahead: 10,
                next: 4,
            },
            "that code is not one of the token's next 10 (from counter 4): press its button and type the code it shows, or enrol it again with its counter (--counter)",
        ),
        (
            DeskError::ExportExists("codes.txt".into()),
            "codes.txt already exists: choose another --out file; backup codes are never written over a file",
        ),
        (
            DeskError::ExportUnwritable {
                path: "/x/codes.txt".into(),
                why: "permission denied".to_owned(),
            },
            "cannot write /x/codes.txt: permission denied; choose a writable --out location",
        ),
        (
            DeskError::RangeBackwards {
                since: "2026-11-23T00:00:00Z".to_owned(),
                until: "2026-11-22T00:00:00Z".to_owned(),
            },
            "the start of the range (2026-11-23T00:00:00Z) is not before its end (2026-11-22T00:00:00Z): give a --since earlier than --until",
        ),
        (
            DeskError::ImportLine {
                line: 2,
                why: Box::new(DeskError::NotAnAddress("ann".to_owned())),
            },
            "line 2: `ann` is not an email address: pass --domain example.com to read user names as addresses; nothing was imported: fix that line and run the import again",
        ),
        (
            DeskError::ChainHeadAltered,
            "the audit trail's chain head was changed by hand, so no event can be added to it: run `factordesk audit verify`, and restore the database from a backup",
        ),
        (
            DeskError::NoUserNamed,
            "the user screen needs a user: pass --user EMAIL",
        ),
        (
            DeskError::WrongKey,
            "the key does not match this database; it was left untouched: use the key file that was created with it (--key-file or FACTORDESK_KEY_FILE)",
        ),
        (
            DeskError::LookAlike {
                email: email(),
                existing: "а@b.c".to_owned(),
            },
            "a@b.c looks like the existing user а@b.c (a letter from another script): if that user is meant, use а@b.c; otherwise spell the new address in one script",
        ),
        (
            DeskError::Policy(PolicyError::UnknownKey("nope".to_owned())),
            "unknown policy key `nope`: run `factordesk policy show` for the keys",
        ),
        (
            DeskError::Choice(ChoiceError::NotTheirs(9)),
            "factor 9 does not belong to this user: run `factordesk factor list EMAIL` for the ids",
        ),
        (
            DeskError::Refused("challenge 4 was already completed: start a new login".to_owned()),
            "challenge 4 was already completed: start a new login",
        ),
    ];
    for (e, said) in cases {
        assert_eq!(desk_error(&e), said, "{e:?}");
    }
}

#[test]
fn the_database_and_key_file_are_named_by_their_flags() {
    let cases = [
        (
            StoreError::Missing("x.db".into()),
            "no database at x.db: create one with `factordesk init` or `factordesk demo`, or pass --db",
        ),
        (
            StoreError::Foreign("x.db".into()),
            "x.db is not a factordesk database; it was left untouched: pass --db with a factordesk database",
        ),
        (
            StoreError::Exists("x.db".into()),
            "a file already exists at x.db: pass another --db, or remove it first",
        ),
        (
            StoreError::Unreadable("x.db".into(), "denied".to_owned()),
            "cannot read x.db: denied; check its permissions, or pass another --db",
        ),
        (
            StoreError::Directory("dir".into()),
            "dir is a directory: pass --db with the database file, e.g. dir/factordesk.db",
        ),
        (
            StoreError::NotRegular("x.db".into(), "a pipe"),
            "x.db is a pipe, not a database file; it was left untouched: pass --db with a factordesk database",
        ),
        (
            StoreError::ReadOnly,
            "the database cannot be written: the file or its directory is read-only; fix the permissions, or copy it somewhere writable and pass that --db",
        ),
    ];
    for (e, said) in cases {
        assert_eq!(desk_error(&DeskError::Store(e)), said);
    }
    let cases = [
        (
            KeyFileError::Missing("x.key".into()),
            "no key file at x.key: the database's secrets are sealed with it; pass --key-file (or FACTORDESK_KEY_FILE) pointing at it",
        ),
        (
            KeyFileError::Exists("x.key".into()),
            "a key file already exists at x.key: keep it with its database, or pass another --key-file",
        ),
        (
            KeyFileError::NotRegular("x.key".into(), "a directory"),
            "the key file x.key is a directory, not a regular file: pass --key-file with the key file itself",
        ),
    ];
    for (e, said) in cases {
        assert_eq!(desk_error(&DeskError::KeyFile(e)), said);
    }
}
