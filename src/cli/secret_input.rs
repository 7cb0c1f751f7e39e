//! Reading a secret (a password, a device token) from stdin: piped input as
//! is (one trailing newline dropped), or typed at a terminal without echo.

use std::io::{IsTerminal as _, Read as _};

use ratatui::crossterm::event::{self, Event, KeyCode, KeyEventKind, KeyModifiers};
use ratatui::crossterm::terminal;
use zeroize::Zeroizing;

/// The longest secret read from stdin, in bytes; one byte more is read to
/// tell a secret that is too long, and nothing past it.
pub const MAX_SECRET: usize = 1024;

/// Why a secret could not be read.
#[derive(Debug)]
pub enum SecretError {
    TooLong,
    NotText,
    Io(std::io::Error),
}

/// A password from stdin, as the CLI's handlers want it.
pub fn password(prompt: &str) -> crate::desk::Result<Zeroizing<String>> {
    secret(prompt, "password")
}

/// A secret from stdin (a password, a device token), refused past
/// [`MAX_SECRET`] bytes without reading further, with what to do.
pub fn secret(prompt: &str, what: &str) -> crate::desk::Result<Zeroizing<String>> {
    read_secret(prompt).map_err(|e| {
        crate::desk::DeskError::Refused(match e {
            SecretError::TooLong => {
                format!("the {what} on stdin is longer than {MAX_SECRET} bytes: use a shorter one")
            }
            SecretError::NotText => {
                format!("the {what} on stdin is not UTF-8 text: type it again, or fix the file")
            }
            SecretError::Io(e) => format!("cannot read the {what} from stdin: {e}"),
        })
    })
}

/// Read one secret from stdin: wiped from memory when dropped.
pub fn read_secret(prompt: &str) -> Result<Zeroizing<String>, SecretError> {
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        return read_piped(stdin.lock());
    }
    eprint!("{prompt}: ");
    terminal::enable_raw_mode().map_err(SecretError::Io)?;
    let typed = read_hidden();
    let _ = terminal::disable_raw_mode();
    eprintln!();
    typed
}

/// The first line of `input`, at most [`MAX_SECRET`] bytes (past that it is
/// refused without reading on), without its line ending.
pub fn read_piped(input: impl std::io::Read) -> Result<Zeroizing<String>, SecretError> {
    let mut bytes = Zeroizing::new(Vec::with_capacity(MAX_SECRET + 1));
    input
        .take(MAX_SECRET as u64 + 2)
        .read_to_end(&mut bytes)
        .map_err(SecretError::Io)?;
    // Only the first line counts; the limit applies to it.
    let line_len = bytes
        .iter()
        .position(|&b| b == b'\n')
        .unwrap_or(bytes.len());
    let mut line = &bytes[..line_len];
    if let Some(without) = line.strip_suffix(b"\r") {
        line = without;
    }
    if line.len() > MAX_SECRET {
        return Err(SecretError::TooLong);
    }
    let text = std::str::from_utf8(line).map_err(|_| SecretError::NotText)?;
    Ok(Zeroizing::new(text.to_owned()))
}

fn read_hidden() -> Result<Zeroizing<String>, SecretError> {
    let mut typed = Zeroizing::new(String::new());
    loop {
        if let Event::Key(key) = event::read().map_err(SecretError::Io)? {
            if key.kind != KeyEventKind::Press {
                continue;
            }
            match key.code {
                KeyCode::Enter => return Ok(typed),
                KeyCode::Char('c') if key.modifiers.contains(KeyModifiers::CONTROL) => {
                    return Err(SecretError::Io(std::io::Error::new(
                        std::io::ErrorKind::Interrupted,
                        "entry cancelled",
                    )));
                }
                KeyCode::Backspace => {
                    typed.pop();
                }
                KeyCode::Char(_) if typed.len() >= MAX_SECRET => {
                    return Err(SecretError::TooLong);
                }
                KeyCode::Char(c) => typed.push(c),
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn piped_secrets_stop_at_the_limit() {
        let at = "p".repeat(MAX_SECRET);
        assert_eq!(read_piped(at.as_bytes()).unwrap().as_str(), at);
        assert_eq!(
            read_piped(format!("{at}\r\nmore").as_bytes())
                .unwrap()
                .as_str(),
            at
        );
        let over = "p".repeat(MAX_SECRET + 1);
        assert!(matches!(
            read_piped(over.as_bytes()),
            Err(SecretError::TooLong)
        ));
        assert!(matches!(
            read_piped(&b"\xff\xfe\n"[..]),
            Err(SecretError::NotText)
        ));
        assert_eq!(read_piped(&b""[..]).unwrap().as_str(), "");
        // An endless input is read no further than the limit.
        let endless = std::io::repeat(b'x');
        assert!(matches!(read_piped(endless), Err(SecretError::TooLong)));
    }
}
