//! Work too slow for the UI thread runs here: argon2id password hashing
//! (15–40 ms), the simulator's sandbox copy of one user's data, and reads
//! over a whole table (recovery readiness, the audit chain's check) on a
//! desk of its own over the same file. Tests use the inline worker.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};

use crate::desk::readiness::{Format, Key, ReadinessRow, Sort};
use crate::desk::trail::{TrailProgress, TrailStep};
use crate::desk::{Desk, Keyset};
use crate::domain::password::Hasher;
use crate::location::Location;
use crate::rng::Rng;
use crate::store::Store;

/// A number no job was asked with before: what comes back with it is told
/// from what comes back for older asks, which is no longer wanted.
pub fn ticket() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// A read too slow for the UI thread.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Read {
    /// A page of the readiness report.
    ReadinessPage {
        sort: Sort,
        at: Keyset<Key>,
        limit: u32,
    },
    /// How many users are at risk, of how many.
    ReadinessCount,
    /// The whole report, streamed to a new file.
    ExportReadiness {
        sort: Sort,
        format: Format,
        path: PathBuf,
    },
    /// The next slice of the audit chain's check: a slice at a time, so
    /// that other work asked for meanwhile is not kept waiting.
    CheckTrail(TrailProgress),
}

impl Read {
    /// Whose read it is: the screen that asked takes what comes back.
    pub fn reader(&self) -> Reader {
        match self {
            Read::CheckTrail(_) => Reader::Trail,
            _ => Reader::Readiness,
        }
    }
}

/// The screen a read is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reader {
    /// The readiness report over the Overview.
    Readiness,
    /// The Audit screen's check of the chain.
    Trail,
}

/// Events the chain's check reads per slice (about a tenth of a second).
pub const TRAIL_SLICE: u32 = 50_000;

/// What a [`Read`] found.
#[derive(Debug)]
pub enum Found {
    ReadinessPage(Vec<ReadinessRow>),
    ReadinessCount { at_risk: u64, users: u64 },
    Exported { rows: u64, path: PathBuf },
    Trail(TrailStep),
}

fn read(desk: &Desk, read: Read) -> Result<Found, String> {
    let found = match read {
        Read::ReadinessPage { sort, at, limit } => desk
            .readiness_page(sort, at.as_ref(), limit)
            .map(Found::ReadinessPage),
        Read::ReadinessCount => desk
            .readiness_count()
            .map(|(at_risk, users)| Found::ReadinessCount { at_risk, users }),
        Read::ExportReadiness { sort, format, path } => desk
            .export_readiness(sort, format, &path)
            .map(|rows| Found::Exported { rows, path }),
        Read::CheckTrail(progress) => desk
            .check_trail_step(progress, TRAIL_SLICE)
            .map(Found::Trail),
    };
    found.map_err(|e| super::strings::desk_error(&e))
}

#[derive(Debug)]
pub enum Job {
    HashPassword {
        email: String,
        password: String,
    },
    /// The simulator's sandbox: `email`'s rows of the database file at
    /// `path`, in memory; `ticket` tells a copy still wanted from one asked
    /// for before it.
    CopyDatabase {
        location: Location,
        email: String,
        ticket: u64,
    },
    /// A read on the worker's own desk; `ticket` tells a result still
    /// wanted from one asked for before it.
    Read {
        ticket: u64,
        read: Read,
    },
}

#[derive(Debug)]
pub enum Done {
    Hashed {
        email: String,
        result: Result<String, String>,
    },
    Copied {
        ticket: u64,
        result: Result<Store, String>,
    },
    Read {
        ticket: u64,
        reader: Reader,
        result: Result<Found, String>,
    },
}

fn work(hasher: &mut Hasher, rng: &mut Rng, reader: Option<&Desk>, job: Job) -> Done {
    match job {
        Job::Read { ticket, read: r } => Done::Read {
            ticket,
            reader: r.reader(),
            result: reader.map_or_else(
                || Err("this database cannot be read from a second connection".to_owned()),
                |desk| read(desk, r),
            ),
        },
        Job::HashPassword { email, password } => Done::Hashed {
            email,
            result: hasher.hash(&password, rng).map_err(|e| e.to_string()),
        },
        Job::CopyDatabase {
            location,
            email,
            ticket,
        } => Done::Copied {
            ticket,
            result: Store::copy_user_at(&location, &email)
                .map_err(|e| super::strings::desk_error(&e.into())),
        },
    }
}

/// A background thread with its own hasher (one reused buffer), or, in
/// tests, the same work done at once.
pub struct Worker {
    tx: Option<Sender<Job>>,
    rx: Receiver<Done>,
    inline: Option<(Hasher, Rng, Sender<Done>)>,
    pending: usize,
}

impl std::fmt::Debug for Worker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Worker")
            .field("pending", &self.pending)
            .finish_non_exhaustive()
    }
}

impl Worker {
    /// A thread that reads through `reader`, a desk of its own over the
    /// console's database (see [`Desk::reader`]).
    pub fn spawn(reader: Option<Desk>) -> Worker {
        let (job_tx, job_rx) = mpsc::channel::<Job>();
        let (done_tx, done_rx) = mpsc::channel::<Done>();
        std::thread::spawn(move || {
            let mut hasher = Hasher::new();
            let Ok(mut rng) = Rng::from_os() else { return };
            while let Ok(job) = job_rx.recv() {
                let done = work(&mut hasher, &mut rng, reader.as_ref(), job);
                if done_tx.send(done).is_err() {
                    return;
                }
            }
        });
        Worker {
            tx: Some(job_tx),
            rx: done_rx,
            inline: None,
            pending: 0,
        }
    }

    /// Deterministic: the job runs when submitted, with a seeded RNG.
    pub fn inline(seed: u64) -> Worker {
        let (done_tx, done_rx) = mpsc::channel::<Done>();
        Worker {
            tx: None,
            rx: done_rx,
            inline: Some((Hasher::new(), Rng::seeded(seed), done_tx)),
            pending: 0,
        }
    }

    /// Whether jobs run on another thread (the live console), rather than
    /// at once on this one (tests and `render`).
    pub fn threaded(&self) -> bool {
        self.inline.is_none()
    }

    /// Run `job`: on the thread, or at once here. Run here, a read uses
    /// `desk`, the console's own.
    pub fn submit(&mut self, desk: &Desk, job: Job) {
        self.pending += 1;
        if let Some((hasher, rng, tx)) = &mut self.inline {
            let _ = tx.send(work(hasher, rng, Some(desk), job));
        } else if let Some(tx) = &self.tx {
            let _ = tx.send(job);
        }
    }

    pub fn busy(&self) -> bool {
        self.pending > 0
    }

    pub fn try_recv(&mut self) -> Option<Done> {
        let done = self.rx.try_recv().ok()?;
        self.pending = self.pending.saturating_sub(1);
        Some(done)
    }
}
