//! The live console's input: the next key or resize from the terminal, and
//! noticing at once when the terminal is gone (hung up, closed, erroring).
//!
//! crossterm, asked for an event on a terminal that has hung up, reads end of
//! file from it in a loop that never returns: the console would spin on a
//! core forever and never see SIGTERM. So the terminal is polled here first,
//! and crossterm is asked only when the terminal is still there.

use std::io;
use std::time::Duration;

use ratatui::crossterm::event::{self, Event};

/// The error that says the terminal is gone.
pub fn gone() -> io::Error {
    io::Error::new(io::ErrorKind::BrokenPipe, "the terminal is gone")
}

/// Whether `e` is [`gone`].
pub fn is_gone(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::BrokenPipe
}

/// Whether the terminal on stdin has hung up (or stdin is no terminal).
#[cfg(unix)]
pub fn is_hung_up() -> bool {
    use rustix::event::{PollFd, PollFlags, Timespec, poll};
    let stdin = io::stdin();
    let mut fds = [PollFd::new(&stdin, PollFlags::IN)];
    let now = Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    poll(&mut fds, Some(&now)).is_err()
        || fds[0]
            .revents()
            .intersects(PollFlags::HUP | PollFlags::ERR | PollFlags::NVAL)
}

#[cfg(not(unix))]
pub fn is_hung_up() -> bool {
    false
}

/// Wait up to `wait` for an event. `Err(gone())` when the terminal has hung
/// up or been closed; `Ok(None)` when nothing came in time.
#[cfg(unix)]
pub fn next_event(wait: Duration) -> io::Result<Option<Event>> {
    use rustix::event::{PollFd, PollFlags, Timespec, poll};
    let stdin = io::stdin();
    let mut fds = [PollFd::new(&stdin, PollFlags::IN)];
    let timeout = Timespec::try_from(wait).unwrap_or(Timespec {
        tv_sec: 0,
        tv_nsec: 200_000_000,
    });
    match poll(&mut fds, Some(&timeout)) {
        Ok(_) => {}
        Err(rustix::io::Errno::INTR) => return Ok(None),
        Err(e) => return Err(io::Error::from(e)),
    }
    let seen = fds[0].revents();
    if seen.intersects(PollFlags::HUP | PollFlags::ERR | PollFlags::NVAL) {
        return Err(gone());
    }
    // Keys waiting, or a resize crossterm noticed: take one without waiting.
    if event::poll(Duration::ZERO)? {
        event::read().map(Some)
    } else {
        Ok(None)
    }
}

/// Elsewhere, crossterm alone.
#[cfg(not(unix))]
pub fn next_event(wait: Duration) -> io::Result<Option<Event>> {
    if event::poll(wait)? {
        event::read().map(Some)
    } else {
        Ok(None)
    }
}
