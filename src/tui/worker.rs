//! Work too slow for the UI thread runs here: argon2id password hashing
//! (15–40 ms) and the simulator's sandbox copy of one user's data (a few ms
//! from the file). Tests use the inline worker, which is deterministic.

use std::path::PathBuf;
use std::sync::mpsc::{self, Receiver, Sender};

use crate::domain::password::Hasher;
use crate::rng::Rng;
use crate::store::Store;

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
        path: PathBuf,
        email: String,
        ticket: u64,
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
}

fn work(hasher: &mut Hasher, rng: &mut Rng, job: Job) -> Done {
    match job {
        Job::HashPassword { email, password } => Done::Hashed {
            email,
            result: hasher.hash(&password, rng).map_err(|e| e.to_string()),
        },
        Job::CopyDatabase {
            path,
            email,
            ticket,
        } => Done::Copied {
            ticket,
            result: Store::copy_user_from_file(&path, &email).map_err(|e| e.to_string()),
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
    pub fn spawn() -> Worker {
        let (job_tx, job_rx) = mpsc::channel::<Job>();
        let (done_tx, done_rx) = mpsc::channel::<Done>();
        std::thread::spawn(move || {
            let mut hasher = Hasher::new();
            let Ok(mut rng) = Rng::from_os() else { return };
            while let Ok(job) = job_rx.recv() {
                if done_tx.send(work(&mut hasher, &mut rng, job)).is_err() {
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

    pub fn submit(&mut self, job: Job) {
        self.pending += 1;
        if let Some((hasher, rng, tx)) = &mut self.inline {
            let _ = tx.send(work(hasher, rng, job));
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
