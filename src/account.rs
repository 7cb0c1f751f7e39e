//! The operating-system account running factordesk, which the audit trail
//! records beside `--actor`: the name of the process's user id, else $USER.

/// The account's name: the user id's name in `/etc/passwd`, then `$USER`,
/// then `$LOGNAME`, then `uid N`. The user id comes first because the
/// kernel vouches for it, while anyone can set `USER=alice`.
pub fn current() -> String {
    let uid = uid();
    let from_passwd = uid.and_then(|uid| {
        let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
        name_in_passwd(&passwd, uid)
    });
    from_passwd
        .or_else(|| env_name("USER"))
        .or_else(|| env_name("LOGNAME"))
        .unwrap_or_else(|| uid.map_or_else(|| "unknown".to_owned(), |uid| format!("uid {uid}")))
}

#[cfg(unix)]
#[allow(clippy::unnecessary_wraps)] // None elsewhere
fn uid() -> Option<u32> {
    Some(rustix::process::getuid().as_raw())
}

#[cfg(not(unix))]
fn uid() -> Option<u32> {
    None
}

fn env_name(var: &str) -> Option<String> {
    std::env::var(var).ok().and_then(|v| usable(&v))
}

/// A name fit for the audit trail: trimmed, not empty, one line.
fn usable(name: &str) -> Option<String> {
    let name = name.trim();
    (!name.is_empty() && !name.chars().any(char::is_control)).then(|| name.to_owned())
}

/// The name of `uid` in the text of `/etc/passwd` (`name:x:uid:gid:…`).
fn name_in_passwd(passwd: &str, uid: u32) -> Option<String> {
    passwd
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .find_map(|line| {
            let mut fields = line.split(':');
            let name = fields.next()?;
            let id: u32 = fields.nth(1)?.trim().parse().ok()?;
            (id == uid).then(|| usable(name)).flatten()
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_uid_is_named_from_passwd() {
        let passwd = "# comment\nroot:x:0:0:root:/root:/bin/sh\njudy:x:1000:1000:Judy:/home/judy:/bin/sh\nbad\n";
        assert_eq!(name_in_passwd(passwd, 1000).as_deref(), Some("judy"));
        assert_eq!(name_in_passwd(passwd, 0).as_deref(), Some("root"));
        assert_eq!(name_in_passwd(passwd, 7), None);
        assert_eq!(name_in_passwd("x\u{1b}y:x:5:5::/:/bin/sh", 5), None);
    }

    #[test]
    fn the_current_account_has_a_name() {
        let name = current();
        assert!(usable(&name).is_some(), "{name:?}");
    }
}
