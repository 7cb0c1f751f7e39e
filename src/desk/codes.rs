//! Backup-code use cases: generate a batch (shown once, the old batch dies),
//! export it to a 0600 text file, and report which are left.

use std::fmt::Write as _;
use std::path::Path;

use crate::store::Db;

use super::sealing::backup_code_mac;
use super::views::{CodeStatus, CodeUse};
use super::{Ctx, Desk, DeskError, Result, user_by_email};
use crate::domain::backup;
use crate::domain::policy::Policy;
use crate::store;

pub(crate) fn status_of(db: &Db, policy: &Policy, user_id: i64) -> Result<CodeStatus> {
    let rows = store::codes::for_user(db, user_id)?;
    let total = u32::try_from(rows.len()).unwrap_or(u32::MAX);
    let remaining = u32::try_from(rows.iter().filter(|r| r.used_at.is_none()).count()).unwrap_or(0);
    Ok(CodeStatus {
        remaining,
        total,
        low: total > 0 && remaining <= policy.backup_low,
        generated_at: rows.first().map(|r| r.created_at),
        codes: rows
            .into_iter()
            .map(|r| CodeUse {
                position: r.position,
                used_at: r.used_at,
                used_ip: r.used_ip,
            })
            .collect(),
    })
}

/// The text of an exported batch.
pub fn export_text(issuer: &str, email: &str, codes: &[String]) -> String {
    let mut text = format!(
        "{issuer} backup codes for {email}\n\nEach code works once. Keep them somewhere safe, like a password manager.\n\n"
    );
    for (i, code) in codes.iter().enumerate() {
        let _ = writeln!(text, "{:>2}. {code}", i + 1);
    }
    text
}

/// Write an exported batch to a new file only its owner can read (0600),
/// whole or not at all, never over an existing file.
pub fn write_export(path: &Path, text: &str) -> Result<()> {
    crate::files::write_new(path, text.as_bytes()).map_err(|e| export_error(path, &e))
}

fn export_error(path: &Path, e: &std::io::Error) -> DeskError {
    if e.kind() == std::io::ErrorKind::AlreadyExists {
        DeskError::ExportExists(path.to_owned())
    } else {
        DeskError::ExportUnwritable {
            path: path.to_owned(),
            why: e.to_string(),
        }
    }
}

/// Make a new batch for `email` in `cx`'s transaction; the old one dies
/// with it. Returns the account's address and the codes.
pub(crate) fn generate_in(
    cx: &mut Ctx<'_>,
    email: &str,
    why: &str,
) -> Result<(String, Vec<String>)> {
    let u = cx.user(email)?;
    let codes = backup::generate(cx.rng);
    let macs: Vec<[u8; 32]> = codes
        .iter()
        .filter_map(|c| backup::normalize(c))
        .map(|c| backup_code_mac(cx.key, &c))
        .collect();
    let replaced = store::codes::replace_batch(cx.db, u.id, &macs, cx.now)?;
    let detail = if replaced > 0 {
        format!(
            "generated {} backup codes; the previous {replaced} no longer work",
            codes.len()
        )
    } else {
        format!("generated {} backup codes", codes.len())
    };
    let detail = format!("{detail}{}", super::because(why));
    cx.audit(Some(u.id), "codes.generate", &detail, None)?;
    Ok((u.email, codes))
}

impl Desk {
    /// A new batch of ten; the old batch stops working. The codes are
    /// returned once and only their keyed hashes are kept.
    pub fn generate_codes(&mut self, email: &str) -> Result<Vec<String>> {
        self.generate_codes_because(email, "")
    }

    /// As [`Desk::generate_codes`], with a reason for the audit trail.
    pub fn generate_codes_because(&mut self, email: &str, why: &str) -> Result<Vec<String>> {
        let why = super::optional_reason(why)?;
        self.run(|cx| Ok(generate_in(cx, email, &why)?.1))
    }

    /// As [`Desk::generate_codes`], and the batch is written to a new file
    /// at `out` (0600; whole or not at all; never over a file) before it is
    /// committed. If the file cannot be written, nothing changes: the old
    /// codes keep working.
    pub fn generate_codes_to(&mut self, email: &str, out: &Path) -> Result<Vec<String>> {
        let issuer = self.policy()?.totp_issuer;
        let mut written = false;
        let made = self.run(|cx| {
            let (address, codes) = generate_in(cx, email, "")?;
            write_export(out, &export_text(&issuer, &address, &codes))?;
            written = true;
            Ok(codes)
        });
        // The commit itself failed: the file would name dead codes.
        if made.is_err() && written {
            let _ = std::fs::remove_file(out);
        }
        made
    }

    pub fn code_status(&self, email: &str) -> Result<CodeStatus> {
        let u = user_by_email(self.db(), email)?;
        status_of(self.db(), &self.policy()?, u.id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exports_are_private_and_never_overwrite() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("codes.txt");
        let text = export_text(
            "factordesk",
            "a@example.com",
            &["aaaa-bbbb-cccc-dddd".to_owned()],
        );
        write_export(&path, &text).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            assert_eq!(
                std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
        let err = write_export(&path, "other").unwrap_err();
        assert!(matches!(err, DeskError::ExportExists(_)), "{err}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
    }
}
