//! Reading a password from stdin: piped input as is (one trailing newline
//! dropped), or typed at a terminal without echo.

use std::io::{BufRead as _, IsTerminal as _};

use ratatui::crossterm::event::{self, Event, KeyCode, KeyEventKind, KeyModifiers};
use ratatui::crossterm::terminal;

pub fn read_password(prompt: &str) -> std::io::Result<String> {
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        let mut line = String::new();
        stdin.lock().read_line(&mut line)?;
        if line.ends_with('\n') {
            line.pop();
            if line.ends_with('\r') {
                line.pop();
            }
        }
        return Ok(line);
    }
    eprint!("{prompt}: ");
    terminal::enable_raw_mode()?;
    let typed = read_hidden();
    let _ = terminal::disable_raw_mode();
    eprintln!();
    typed
}

fn read_hidden() -> std::io::Result<String> {
    let mut typed = String::new();
    loop {
        if let Event::Key(key) = event::read()? {
            if key.kind != KeyEventKind::Press {
                continue;
            }
            match key.code {
                KeyCode::Enter => return Ok(typed),
                KeyCode::Char('c') if key.modifiers.contains(KeyModifiers::CONTROL) => {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::Interrupted,
                        "password entry cancelled",
                    ));
                }
                KeyCode::Backspace => {
                    typed.pop();
                }
                KeyCode::Char(c) => typed.push(c),
                _ => {}
            }
        }
    }
}
