//! The wall: a desk error states facts; no front end's command line, flag or
//! key is in its message. Every variant is here, the match makes sure.

use super::*;
use crate::domain::otp::NotACode;

/// One of each error, with a wrapped error of each kind that names a way
/// out in some front end.
#[allow(clippy::too_many_lines)] // a table, one row a variant
fn every() -> Vec<DeskError> {
    let email = || "a@b.c".to_owned();
    vec![
        DeskError::UnknownUser(email()),
        DeskError::DuplicateEmail(email()),
        DeskError::UnknownFactor {
            email: email(),
            id: 3,
        },
        DeskError::UnknownChallenge(4),
        DeskError::UnknownDevice {
            email: email(),
            id: 5,
        },
        DeskError::ReasonRequired("unlock"),
        DeskError::AlreadyStatus {
            email: email(),
            status: UserStatus::Active,
        },
        DeskError::NothingToEdit(email()),
        DeskError::KindNotAllowed {
            kind: FactorKind::Sms,
            allowed: "totp".to_owned(),
        },
        DeskError::CountryNotAllowed {
            code: 44,
            allowed: "+1".to_owned(),
            with: "1,44".to_owned(),
        },
        DeskError::HasSms {
            email: email(),
            label: "SMS to +1 ******0123".to_owned(),
            id: 3,
        },
        DeskError::HasEmail {
            email: email(),
            label: "Email to a***@b.c".to_owned(),
            id: 3,
        },
        DeskError::NotPending {
            email: email(),
            id: 2,
            status: FactorStatus::Active,
        },
        DeskError::NoConfirmationWaiting(2),
        DeskError::ConfirmsFactor {
            challenge: 7,
            email: email(),
            factor: 2,
        },
        DeskError::ConfirmationExpired {
            ago: "3 min ago".to_owned(),
            challenge: 7,
        },
        DeskError::WrongConfirmation {
            why: "that is not the code sent".to_owned(),
            left: 4,
            email: email(),
        },
        DeskError::ConfirmationsUsedUp {
            why: "that is not the code sent".to_owned(),
            max: 5,
            kind: FactorKind::Sms,
            email: email(),
            destination: Some("+14155550123".to_owned()),
        },
        DeskError::NotNextTokenCode {
            look_ahead: 10,
            next: 4,
        },
        DeskError::ExportExists("codes.txt".into()),
        DeskError::ExportUnwritable {
            path: "/x/codes.txt".into(),
            why: "permission denied".to_owned(),
        },
        DeskError::RangeBackwards {
            since: "2026-11-23T00:00:00Z".to_owned(),
            until: "2026-11-22T00:00:00Z".to_owned(),
        },
        DeskError::NotAnAddress("ann".to_owned()),
        DeskError::ChainHeadAltered,
        DeskError::NoUserNamed,
        DeskError::Refused("challenge 4 was already completed: start a new login".to_owned()),
        DeskError::Denied("that code is wrong".to_owned()),
        DeskError::Contact(ContactError::Email("x".to_owned())),
        DeskError::Policy(PolicyError::UnknownKey("nope".to_owned())),
        DeskError::Password(PasswordError::TooShort(8)),
        DeskError::Code(NotACode("12".to_owned())),
        DeskError::Choice(ChoiceError::NotTheirs(9)),
        DeskError::Store(StoreError::Missing("x.db".into())),
        DeskError::Store(StoreError::Foreign("x.db".into())),
        DeskError::Store(StoreError::Exists("x.db".into())),
        DeskError::Store(StoreError::Create(
            "x.db".into(),
            std::io::Error::other("denied"),
        )),
        DeskError::Store(StoreError::Unreadable("x.db".into(), "denied".to_owned())),
        DeskError::Store(StoreError::Directory("x".into())),
        DeskError::Store(StoreError::NotRegular("x.db".into(), "a pipe")),
        DeskError::Store(StoreError::NoUser(email())),
        DeskError::Store(StoreError::ReadOnly),
        DeskError::KeyFile(KeyFileError::Missing("x.key".into())),
        DeskError::KeyFile(KeyFileError::Exists("x.key".into())),
        DeskError::KeyFile(KeyFileError::Write(
            "x.key".into(),
            std::io::Error::other("denied"),
        )),
        DeskError::KeyFile(KeyFileError::NotRegular("x.key".into(), "a directory")),
        DeskError::Location(crate::location::LocationError::NoKey),
        DeskError::Location(crate::location::LocationError::Scheme("mysql".to_owned())),
        DeskError::Crypto(CryptoError::WrongKey),
        DeskError::WrongKey,
        DeskError::Text(TextError::TooLong {
            what: "a reason",
            len: 900,
            max: 500,
        }),
        DeskError::LookAlike {
            email: email(),
            existing: "а@b.c".to_owned(),
        },
        DeskError::ImportLine {
            line: 2,
            why: Box::new(DeskError::NotAnAddress("ann".to_owned())),
        },
        DeskError::Usage("that validity is not allowed".to_owned()),
    ]
}

/// Every variant is in [`every`]: a new one fails to compile here until it
/// is added there.
fn variant(e: &DeskError) -> &'static str {
    match e {
        DeskError::UnknownUser(_) => "UnknownUser",
        DeskError::DuplicateEmail(_) => "DuplicateEmail",
        DeskError::UnknownFactor { .. } => "UnknownFactor",
        DeskError::UnknownChallenge(_) => "UnknownChallenge",
        DeskError::UnknownDevice { .. } => "UnknownDevice",
        DeskError::ReasonRequired(_) => "ReasonRequired",
        DeskError::AlreadyStatus { .. } => "AlreadyStatus",
        DeskError::NothingToEdit(_) => "NothingToEdit",
        DeskError::KindNotAllowed { .. } => "KindNotAllowed",
        DeskError::CountryNotAllowed { .. } => "CountryNotAllowed",
        DeskError::HasSms { .. } => "HasSms",
        DeskError::NotPending { .. } => "NotPending",
        DeskError::HasEmail { .. } => "HasEmail",
        DeskError::NoConfirmationWaiting(_) => "NoConfirmationWaiting",
        DeskError::ConfirmsFactor { .. } => "ConfirmsFactor",
        DeskError::ConfirmationExpired { .. } => "ConfirmationExpired",
        DeskError::WrongConfirmation { .. } => "WrongConfirmation",
        DeskError::ConfirmationsUsedUp { .. } => "ConfirmationsUsedUp",
        DeskError::NotNextTokenCode { .. } => "NotNextTokenCode",
        DeskError::ExportExists(_) => "ExportExists",
        DeskError::ExportUnwritable { .. } => "ExportUnwritable",
        DeskError::RangeBackwards { .. } => "RangeBackwards",
        DeskError::NotAnAddress(_) => "NotAnAddress",
        DeskError::ChainHeadAltered => "ChainHeadAltered",
        DeskError::NoUserNamed => "NoUserNamed",
        DeskError::Refused(_) => "Refused",
        DeskError::Denied(_) => "Denied",
        DeskError::Contact(_) => "Contact",
        DeskError::Policy(_) => "Policy",
        DeskError::Password(_) => "Password",
        DeskError::Code(_) => "Code",
        DeskError::Choice(_) => "Choice",
        DeskError::Store(_) => "Store",
        DeskError::KeyFile(_) => "KeyFile",
        DeskError::Location(_) => "Location",
        DeskError::Crypto(_) => "Crypto",
        DeskError::WrongKey => "WrongKey",
        DeskError::Text(_) => "Text",
        DeskError::LookAlike { .. } => "LookAlike",
        DeskError::ImportLine { .. } => "ImportLine",
        DeskError::Usage(_) => "Usage",
    }
}

#[test]
fn every_variant_is_checked() {
    let mut seen: Vec<&str> = every().iter().map(variant).collect();
    seen.sort_unstable();
    seen.dedup();
    assert_eq!(seen.len(), 41, "{seen:?}");
}

/// The CLI's commands, as a command line would start.
const COMMANDS: [&str; 18] = [
    "init",
    "demo",
    "user",
    "factor",
    "codes",
    "device",
    "login",
    "doctor",
    "outbox",
    "audit",
    "policy",
    "render",
    "report",
    "export",
    "import",
    "records",
    "completions",
    "man",
];

#[test]
fn no_desk_error_names_a_command_line_a_flag_or_a_key() {
    for e in every() {
        let said = e.to_string();
        assert!(!said.contains("`factordesk"), "a command line in {said:?}");
        for command in COMMANDS {
            let line = format!("factordesk {command}");
            assert!(!said.contains(&line), "a command line in {said:?}");
        }
        assert!(!said.contains(" --"), "a flag in {said:?}");
        for key in [
            "their screen",
            "screen (",
            "(key",
            "press ",
            "(x ",
            "Esc",
            "Enter",
        ] {
            assert!(!said.contains(key), "a console key in {said:?}");
        }
        assert!(!said.ends_with(':') && !said.is_empty(), "{said:?}");
    }
}

#[test]
fn exit_codes_follow_the_facts() {
    for e in every() {
        let code = e.exit_code();
        let expected = match variant(&e) {
            "Denied"
            | "ConfirmationExpired"
            | "WrongConfirmation"
            | "ConfirmationsUsedUp"
            | "NotNextTokenCode" => 3,
            "Usage" | "RangeBackwards" | "Location" => 2,
            _ => 1,
        };
        assert_eq!(code, expected, "{e:?}");
    }
}

#[test]
fn each_refusal_that_has_a_way_out_names_it_typed() {
    let with: Vec<&str> = every()
        .iter()
        .filter(|e| e.remedy().is_some())
        .map(variant)
        .collect();
    for v in [
        "UnknownUser",
        "ConfirmationsUsedUp",
        "ChainHeadAltered",
        "Choice",
        "Policy",
    ] {
        assert!(with.contains(&v), "{v}");
    }
    assert_eq!(
        DeskError::KindNotAllowed {
            kind: FactorKind::Sms,
            allowed: "totp".to_owned()
        }
        .remedy(),
        Some(Remedy::AllowKinds {
            kinds: "totp,sms".to_owned()
        })
    );
    assert_eq!(DeskError::Refused("x".to_owned()).remedy(), None);
}
