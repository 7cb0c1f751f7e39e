//! The live console on a real pseudo-terminal: it draws, and when its
//! terminal goes away (the pane killed, ssh dropped) it exits at once.

#![cfg(unix)]
#![allow(clippy::unwrap_used)]

use std::io::Read as _;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use rustix::pty::{OpenptFlags, grantpt, openpt, ptsname, unlockpt};
use rustix::termios::{Winsize, tcsetwinsize};

mod support;

use support::T0;
use support::fd::Fd;

/// A demo database in a temporary directory, or on `PostgreSQL` (see
/// `support::fd`).
fn demo() -> Fd {
    let fd = Fd::empty_named("t.db");
    let out = fd
        .command(&[])
        .args(["--now", T0, "demo", "--no-open"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    fd
}

/// How the console is started on its terminal.
#[derive(Debug, Clone, Copy)]
enum Start {
    /// Plainly: closing the terminal makes its reads fail.
    Plain,
    /// As a login shell's child is (`setsid --ctty`): the terminal is its
    /// controlling terminal, so closing it sends SIGHUP and its reads see
    /// end of file, which crossterm alone would read forever.
    Session,
}

#[test]
fn the_console_exits_when_its_terminal_goes_away() {
    exits_when_the_terminal_goes(Start::Plain);
}

#[test]
fn the_console_exits_when_its_controlling_terminal_hangs_up() {
    if !std::path::Path::new("/usr/bin/setsid").exists() {
        eprintln!("skipped: no /usr/bin/setsid (util-linux) to give the console a session");
        return;
    }
    exits_when_the_terminal_goes(Start::Session);
}

fn exits_when_the_terminal_goes(start: Start) {
    let fd = demo();
    // CLOEXEC: the console must not hold its own terminal's other end open.
    let master = openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY | OpenptFlags::CLOEXEC).unwrap();
    grantpt(&master).unwrap();
    unlockpt(&master).unwrap();
    tcsetwinsize(
        &master,
        Winsize {
            ws_row: 30,
            ws_col: 100,
            ws_xpixel: 0,
            ws_ypixel: 0,
        },
    )
    .unwrap();
    let name = ptsname(&master, Vec::new()).unwrap();
    let slave = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(name.to_str().unwrap())
        .unwrap();
    let bin = env!("CARGO_BIN_EXE_factordesk");
    let mut command = match start {
        Start::Plain => Command::new(bin),
        Start::Session => {
            let mut c = Command::new("/usr/bin/setsid");
            c.args(["--ctty", "--wait", bin]);
            c
        }
    };
    let mut child = command
        .current_dir(fd.dir.path())
        .args(fd.db_args(&[]))
        .args(["--now", T0])
        .env("NO_COLOR", "1")
        .env("TERM", "xterm")
        .stdin(Stdio::from(slave.try_clone().unwrap()))
        .stdout(Stdio::from(slave.try_clone().unwrap()))
        .stderr(Stdio::from(slave))
        .spawn()
        .unwrap();

    // Read what the console draws until the Overview shows.
    let mut screen = std::fs::File::from(master);
    let (tx, rx) = mpsc::channel();
    let reader = std::thread::spawn({
        let mut screen = screen.try_clone().unwrap();
        move || {
            let mut seen = Vec::new();
            let mut buf = [0u8; 4096];
            while let Ok(n) = screen.read(&mut buf) {
                if n == 0 {
                    break;
                }
                seen.extend_from_slice(&buf[..n]);
                if String::from_utf8_lossy(&seen).contains("2FA coverage") {
                    let _ = tx.send(());
                    break;
                }
            }
        }
    });
    rx.recv_timeout(Duration::from_secs(20))
        .expect("the console drew its Overview");
    reader.join().unwrap();

    // The terminal goes away: every copy of the master side is closed.
    drop(std::mem::replace(
        &mut screen,
        std::fs::File::open("/dev/null").unwrap(),
    ));
    let gone = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if gone.elapsed() > Duration::from_secs(5) {
            let _ = child.kill();
            panic!("the console outlived its terminal by 5 s ({start:?})");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    // Hung up: 128 + SIGHUP.
    assert_eq!(status.code(), Some(129), "{start:?}: {status:?}");
}
