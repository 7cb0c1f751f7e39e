//! Desk errors as the console says them: the desk's facts, then what to do
//! as the key or screen that does it here, where the CLI names a command.

use crate::desk::{DeskError, Remedy};
use crate::domain::FactorKind;
use crate::store::StoreError;

/// A desk error as one line: what went wrong, and the key or screen that
/// gets past it.
pub fn desk_error(e: &DeskError) -> String {
    match e {
        DeskError::ImportLine { line, why } => format!(
            "line {line}: {}; nothing was imported: fix that line and import again",
            desk_error(why)
        ),
        DeskError::Store(StoreError::NoUser(_)) => format!("{e}: pick one from the Users list"),
        DeskError::Store(StoreError::ReadOnly) => {
            format!("{e}; fix the permissions, or copy it somewhere writable and open that")
        }
        _ => match e.remedy().and_then(|r| remedy(&r).map(|said| (r, said))) {
            Some((Remedy::WritableExportPlace, said)) => format!("{e}; {said}"),
            Some((_, said)) => format!("{e}: {said}"),
            None => e.to_string(),
        },
    }
}

/// What to do, as the key or screen that does it; `None` where the facts
/// say enough in the console.
fn remedy(r: &Remedy) -> Option<String> {
    let their_screen = "their screen shows the ones there are now";
    Some(match r {
        Remedy::FindUser => {
            "check the spelling, or find them on the Users screen (2, then / to search)".to_owned()
        }
        Remedy::PickAnotherEmail => "pick another address, or edit that user".to_owned(),
        Remedy::ListFactors { .. } | Remedy::ListDevices { .. } => their_screen.to_owned(),
        Remedy::StartLogin => "start one in the Simulator (3)".to_owned(),
        Remedy::GiveReason => "type a reason (it goes in the audit trail)".to_owned(),
        Remedy::NothingToChange { .. } => "nothing to change".to_owned(),
        Remedy::NameAChange => return None,
        Remedy::AllowKinds { kinds } => {
            format!("an admin can allow them on the Policy screen (6), setting factors to {kinds}")
        }
        Remedy::AllowCountries { codes } => format!(
            "use an authenticator app or email, or an admin can set sms_countries to {codes} on the Policy screen (6)"
        ),
        Remedy::ChangePhone { .. } => {
            "remove that SMS factor (x on their screen), then add the new number (s)".to_owned()
        }
        Remedy::RemoveEmailFirst { .. } => {
            "remove that email factor (x on their screen) first to use another address".to_owned()
        }
        Remedy::AddAgainToResend => {
            "remove it (x on their screen) and add it again (s or m) to send a new one".to_owned()
        }
        Remedy::NothingToConfirm { .. } => "nothing to confirm".to_owned(),
        Remedy::ConfirmFactor { .. } => "confirm it with c on their screen".to_owned(),
        Remedy::ResendCode { .. } => {
            "send another by removing the factor (x on their screen) and adding it again (s or m)"
                .to_owned()
        }
        Remedy::CheckOutbox { .. } => "check the newest message in the Outbox (4)".to_owned(),
        Remedy::AddFactorAgain { kind, .. } => format!(
            "add the factor again to send a new code ({} on their screen)",
            if *kind == FactorKind::Sms { 's' } else { 'm' }
        ),
        Remedy::PressToken => {
            "press its button and type the code it shows, or enrol it again with its counter"
                .to_owned()
        }
        Remedy::OtherExportFile => {
            "choose another file name; backup codes are never written over a file".to_owned()
        }
        Remedy::WritableExportPlace => "choose a file in a folder you can write to".to_owned(),
        Remedy::EarlierStart => "make the start earlier than the end".to_owned(),
        Remedy::NameDomain => "name the domain that makes user names addresses".to_owned(),
        Remedy::VerifyTrail => {
            "the Audit screen (5) shows where it breaks; restore the database from a backup"
                .to_owned()
        }
        Remedy::NameUser => "open one from the Users screen (2)".to_owned(),
        Remedy::RightKey => "use the key file that was created with it".to_owned(),
        Remedy::OneScript { existing } => format!(
            "if that user is meant, use {existing}; otherwise spell the new address in one script"
        ),
        Remedy::FixLine => "fix that line and import again".to_owned(),
        Remedy::PolicyKeys => "see the Policy screen (6) for the keys".to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::desk_error;
    use crate::desk::DeskError;
    use crate::domain::login::ChoiceError;
    use crate::domain::policy::PolicyError;
    use crate::domain::{FactorKind, FactorStatus, UserStatus};
    use crate::store::StoreError;

    /// Errors, and what the console says of each.
    #[allow(clippy::too_many_lines)] // a table, one row a variant
    fn cases() -> Vec<(DeskError, &'static str)> {
        let email = || "a@b.c".to_owned();
        vec![
            (
                DeskError::WrongConfirmation {
                    why: "that is not the code sent to +1 ******0123".to_owned(),
                    left: 4,
                    email: email(),
                },
                "that is not the code sent to +1 ******0123 (4 attempt(s) left): check the newest message in the Outbox (4)",
            ),
            (
                DeskError::KindNotAllowed {
                    kind: FactorKind::Sms,
                    allowed: "totp".to_owned(),
                },
                "SMS code factors are not allowed by policy (factors=totp): an admin can allow them on the Policy screen (6), setting factors to totp,sms",
            ),
            (
                DeskError::CountryNotAllowed {
                    code: 44,
                    allowed: "+1".to_owned(),
                    with: "1,44".to_owned(),
                },
                "SMS cannot be sent to +44 numbers (allowed country calling codes: +1): use an authenticator app or email, or an admin can set sms_countries to 1,44 on the Policy screen (6)",
            ),
            (
                DeskError::HasSms {
                    email: email(),
                    label: "SMS to +1 ******0123".to_owned(),
                    id: 3,
                },
                "a@b.c already has an SMS factor (SMS to +1 ******0123): remove that SMS factor (x on their screen), then add the new number (s)",
            ),
            (
                DeskError::ConfirmationExpired {
                    ago: "3 min ago".to_owned(),
                    challenge: 7,
                },
                "the confirmation code expired 3 min ago: send another by removing the factor (x on their screen) and adding it again (s or m)",
            ),
            (
                DeskError::ConfirmationsUsedUp {
                    why: "that code never reached +1 ******0123 (x)".to_owned(),
                    max: 5,
                    kind: FactorKind::Sms,
                    email: email(),
                    destination: Some("+14155550123".to_owned()),
                },
                "that code never reached +1 ******0123 (x), and that was the last of 5 attempts: add the factor again to send a new code (s on their screen)",
            ),
            (
                DeskError::UnknownUser("x@y.z".to_owned()),
                "no user x@y.z: check the spelling, or find them on the Users screen (2, then / to search)",
            ),
            (
                DeskError::UnknownFactor {
                    email: email(),
                    id: 9,
                },
                "a@b.c has no factor 9: their screen shows the ones there are now",
            ),
            (
                DeskError::ReasonRequired("unlock"),
                "a reason is required to unlock: type a reason (it goes in the audit trail)",
            ),
            (
                DeskError::ExportExists("codes.txt".into()),
                "codes.txt already exists: choose another file name; backup codes are never written over a file",
            ),
            (
                DeskError::AlreadyStatus {
                    email: email(),
                    status: UserStatus::Active,
                },
                "a@b.c is already active: nothing to change",
            ),
            (
                DeskError::NotPending {
                    email: email(),
                    id: 2,
                    status: FactorStatus::Active,
                },
                "factor 2 is already active, not pending: nothing to confirm",
            ),
            (
                DeskError::Policy(PolicyError::UnknownKey("nope".to_owned())),
                "unknown policy key `nope`: see the Policy screen (6) for the keys",
            ),
            (
                DeskError::Choice(ChoiceError::NotTheirs(9)),
                "factor 9 does not belong to this user: their screen shows the ones there are now",
            ),
            (
                DeskError::Refused("nothing to say".to_owned()),
                "nothing to say",
            ),
            (
                DeskError::NothingToEdit(email()),
                "nothing to change for a@b.c",
            ),
            (
                DeskError::ChainHeadAltered,
                "the audit trail's chain head was changed by hand, so no event can be added to it: the Audit screen (5) shows where it breaks; restore the database from a backup",
            ),
            (
                DeskError::WrongKey,
                "the key does not match this database; it was left untouched: use the key file that was created with it",
            ),
            (
                DeskError::ExportUnwritable {
                    path: "/x/codes.txt".into(),
                    why: "permission denied".to_owned(),
                },
                "cannot write /x/codes.txt: permission denied; choose a file in a folder you can write to",
            ),
            (
                DeskError::Store(StoreError::ReadOnly),
                "the database cannot be written: the file or its directory is read-only; fix the permissions, or copy it somewhere writable and open that",
            ),
            (
                DeskError::Store(StoreError::NoUser(email())),
                "there is no user a@b.c to simulate: pick one from the Users list",
            ),
            (
                DeskError::ImportLine {
                    line: 2,
                    why: Box::new(DeskError::UnknownUser("x@y.z".to_owned())),
                },
                "line 2: no user x@y.z: check the spelling, or find them on the Users screen (2, then / to search); nothing was imported: fix that line and import again",
            ),
        ]
    }

    #[test]
    fn desk_errors_name_the_console_s_keys_not_commands() {
        for (e, console) in cases() {
            assert_eq!(desk_error(&e), console);
            // The desk's facts first, then what to do here.
            // (An import line words the error inside it the same way.)
            if !matches!(e, DeskError::ImportLine { .. }) {
                assert!(console.starts_with(&e.to_string()), "{e} / {console}");
            }
            assert!(
                !console.contains("factordesk") && !console.contains("--"),
                "{console}"
            );
        }
    }
}
