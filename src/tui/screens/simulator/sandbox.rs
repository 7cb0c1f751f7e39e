//! The simulator's sandbox: an in-memory copy of one user's data that only
//! the simulator writes to, on its own clock, so nothing it does reaches the
//! real data. It is made on the worker thread from a database file.

use super::SimScreen;
use crate::desk::{Desk, Result};
use crate::store::Store;
use crate::tui::command::Command;
use crate::tui::theme::Tone;
use crate::tui::view::{Ctx, Effect};
use crate::tui::worker::{self, Job};

/// The simulator's own copy of the database, which it alone writes to, on
/// its own clock (the real now plus however far it was moved).
#[derive(Debug, Default)]
pub enum Sandbox {
    /// No user picked yet.
    #[default]
    None,
    /// The copy asked for with `ticket` is being made.
    Preparing {
        ticket: u64,
    },
    Ready(Box<Desk>),
}

impl Sandbox {
    pub fn desk(&self) -> Option<&Desk> {
        match self {
            Sandbox::Ready(desk) => Some(desk),
            _ => None,
        }
    }

    pub(super) fn desk_mut(&mut self) -> Option<&mut Desk> {
        match self {
            Sandbox::Ready(desk) => Some(desk),
            _ => None,
        }
    }

    pub fn preparing(&self) -> bool {
        matches!(self, Sandbox::Preparing { .. })
    }

    /// Whether `ticket` asked for the copy still wanted.
    fn wants(&self, ticket: u64) -> bool {
        matches!(self, Sandbox::Preparing { ticket: t } if *t == ticket)
    }
}

impl SimScreen {
    /// The simulator's sandbox desk, once it is ready.
    pub fn sandbox(&self) -> Option<&Desk> {
        self.sandbox.desk()
    }

    /// Throw the sandbox away and copy the simulated user's data again, the
    /// clock at the real now. From a database file the copy is made on the
    /// worker thread (a few ms, however many users there are); from an
    /// in-memory one, or with the inline worker (tests, `render`), at once.
    pub(super) fn fresh_sandbox(&mut self, cx: &Ctx) -> Effect {
        self.sandbox = Sandbox::None;
        let Some(email) = self.sim.email.clone() else {
            return Effect::None;
        };
        let ticket = worker::ticket();
        self.sandbox = Sandbox::Preparing { ticket };
        match cx.desk.location() {
            Some(location) if cx.threaded => Effect::Job(Job::CopyDatabase {
                location,
                email,
                ticket,
            }),
            _ => Effect::Run(Command::Sandbox {
                ticket,
                email,
                copy: None,
            }),
        }
    }

    /// A copy made on the worker thread: made into the sandbox if it is the
    /// one still wanted.
    pub(super) fn copied(&mut self, ticket: u64, copy: Result<Store, String>) -> Effect {
        if !self.sandbox.wants(ticket) {
            return Effect::None;
        }
        match copy {
            Ok(store) => Effect::Run(Command::Sandbox {
                ticket,
                email: self.sim.email.clone().unwrap_or_default(),
                copy: Some(store),
            }),
            Err(e) => {
                self.sandbox = Sandbox::None;
                Effect::Say(
                    Tone::Error,
                    format!("cannot copy the data for the simulator: {e}"),
                )
            }
        }
    }

    /// The sandbox asked for with `ticket`, ready (or not): used if it is
    /// the one still wanted.
    pub(super) fn sandbox_made(&mut self, ticket: u64, desk: Result<Box<Desk>>) -> Effect {
        if !self.sandbox.wants(ticket) {
            return Effect::None;
        }
        self.sandbox = Sandbox::None;
        match desk {
            Ok(desk) => {
                let result = self.sim.reload(Some(&desk));
                self.sandbox = Sandbox::Ready(desk);
                result.map_or_else(|e| Effect::fail(&e), |()| Effect::None)
            }
            Err(e) => Effect::fail(&e),
        }
    }
}
