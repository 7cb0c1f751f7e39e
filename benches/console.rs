//! `cargo bench`: the console's figures at 1k and 100k generated users, each
//! beside raw `SQLite` answering the same question on the same file, so the
//! README can give them as ratios (absolute times drift on shared machines).
//!
//! Once per run, the databases are generated in a temporary directory by the
//! same generator as `demo --users N`, on a fixed clock and seed, so every run
//! measures the same data. 100k users take about a minute to generate.
//! `FACTORDESK_BENCH_SIZES=1000 cargo bench` runs the small size only. With
//! `FACTORDESK_TEST_PG` naming a cluster, each size is also copied into a
//! `PostgreSQL` database (`migrate --to`) and measured there, as
//! `factordesk…_postgres`.
//!
//! After the timings, a fresh process (this one, run again) opens the console
//! on the largest database, visits every busy screen, the recovery readiness
//! view in each of its sorts included, and reports its resident memory.

use factordesk::store::pg::with_database;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeDelta, Utc};
use criterion::{BatchSize, BenchmarkId, Criterion, SamplingMode};
use factordesk::clock::Clock;
use factordesk::demo::{Crowd, Scenario, build_with};
use factordesk::desk::login::{LoginRequest, PasswordInput};
use factordesk::desk::readiness::Sort;
use factordesk::desk::users::ListQuery;
use factordesk::desk::views::VerifyResult;
use factordesk::desk::{Desk, Keyset, ORIGIN_DEMO};
use factordesk::domain::search::Term;
use factordesk::domain::{Action, FactorKind, FactorStatus, UserStatus};
use factordesk::keyfile;
use factordesk::rng::Rng;
use factordesk::store::pg::PgUrl;
use factordesk::tui::App;
use factordesk::tui::render::{ScreenName, app_on, buffer, text};
use factordesk::tui::theme::Theme;
use factordesk::tui::worker::Worker;
use ratatui::buffer::Buffer;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::layout::Rect;
use ratatui::style::Style;
use rusqlite::{Connection, TransactionBehavior, params};

/// The sizes to generate, unless `FACTORDESK_BENCH_SIZES` lists others.
const SIZES: [u32; 2] = [1_000, 100_000];
/// The console's size for every frame.
const WIDTH: u16 = 200;
const HEIGHT: u16 = 60;
/// A page of the Users list at that size: what the console reads first.
const PAGE: u32 = 61;
/// A `PostgreSQL` cluster's URL (as the tests take it): when set, every
/// size is also measured on a copy of its data there.
const PG_VAR: &str = "FACTORDESK_TEST_PG";
/// Set in the child process that measures memory: the database to open.
const MEMORY_CHILD: &str = "FACTORDESK_BENCH_MEMORY_DB";
/// The search terms typed: common word starts, common and less common
/// substrings, and one that matches nobody.
const TERMS: [&str; 5] = ["a", "ma", "mar", "smith", "zzq"];
/// A scenario user with a busy history: locked after ten wrong codes.
const SCENARIO_USER: &str = "erin@example.com";

/// Every run's fixed clock.
fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-21T09:00:00Z")
        .expect("a valid time")
        .to_utc()
}

fn theme() -> Theme {
    Theme { color: false }
}

fn key(code: KeyCode) -> KeyEvent {
    KeyEvent::new(code, KeyModifiers::NONE)
}

fn press(app: &mut App, c: char) {
    app.handle_key(key(KeyCode::Char(c)));
}

fn frame(app: &App) -> Buffer {
    buffer(app, WIDTH, HEIGHT)
}

/// One generated database, and the users the benchmarks look at.
struct Db {
    /// Generated users (the scenario's twelve come on top).
    users: u32,
    path: PathBuf,
    key: keyfile::Source,
    /// A typical generated user: active, with an authenticator app and a
    /// login history.
    typical: String,
    /// Another such user, and their authenticator, for `login verify`
    /// (whose writes then touch nobody the other benchmarks read).
    verifier: (String, i64),
    /// The same data copied into `PostgreSQL` (`migrate --to`): this is then
    /// that database, measured beside the file.
    url: Option<PgUrl>,
}

impl Db {
    fn open(&self) -> Desk {
        let desk = match &self.url {
            None => Desk::open(&self.path, &self.key, Clock::fixed(now()), Rng::seeded(1)),
            Some(url) => Desk::open_postgres(url, &self.key, Clock::fixed(now()), Rng::seeded(1)),
        };
        desk.expect("the benchmark database opens")
    }

    /// `what`, on `PostgreSQL` marked as such.
    fn label(&self, what: &str) -> String {
        match self.url {
            None => what.to_owned(),
            Some(_) => format!("{what}_postgres"),
        }
    }

    /// Whether raw `SQLite` can answer beside it (the file, not `PostgreSQL`).
    fn is_file(&self) -> bool {
        self.url.is_none()
    }

    /// This database's data copied into a fresh `PostgreSQL` database on the
    /// cluster at `admin` (a URL whose user may create databases).
    fn on_postgres(&self, admin: &str) -> Db {
        let name = format!("fd_bench_{}_{}", self.users, std::process::id());
        let mut client =
            postgres::Client::connect(admin, postgres::NoTls).expect("the PostgreSQL cluster");
        client
            .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .expect("an old bench database dropped");
        client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .expect("a bench database");
        let url = PgUrl::parse(&with_database(admin, &name)).expect("its URL");
        let started = Instant::now();
        let moved = self
            .open()
            .copy_to_postgres(&url, &mut |_| {})
            .expect("the copy into PostgreSQL");
        eprintln!(
            "  {} generated users copied into PostgreSQL ({name}) in {:.1?}: {moved:?}",
            self.users,
            started.elapsed()
        );
        Db {
            users: self.users,
            path: self.path.clone(),
            key: self.key.clone(),
            typical: self.typical.clone(),
            verifier: self.verifier.clone(),
            url: Some(url),
        }
    }

    /// A plain rusqlite connection on the same file, with the pragmas any
    /// careful program would set.
    fn raw(&self) -> Connection {
        let conn = Connection::open(&self.path).expect("the database opens");
        conn.execute_batch("PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;")
            .expect("pragmas");
        conn
    }
}

fn sizes() -> Vec<u32> {
    let listed: Vec<u32> = std::env::var("FACTORDESK_BENCH_SIZES")
        .unwrap_or_default()
        .split(',')
        .filter_map(|s| s.trim().replace('_', "").parse().ok())
        .collect();
    if listed.is_empty() {
        SIZES.to_vec()
    } else {
        listed
    }
}

/// Generate `users` people beside the scenarios, as `demo --users` does.
fn generate(dir: &Path, users: u32) -> Db {
    let path = dir.join(format!("bench-{users}.db"));
    let key = keyfile::Source::File(dir.join(format!("bench-{users}.db.key")));
    let started = Instant::now();
    let mut desk = Desk::create(
        &path,
        &key,
        Clock::fixed(now()),
        Rng::seeded(1),
        ORIGIN_DEMO,
    )
    .expect("a new database");
    let mut shown = 0;
    build_with(
        &mut desk,
        &Scenario::embedded().expect("the embedded scenario"),
        Crowd::Generated { users, seed: 1 },
        &mut |done, total| {
            let tenth = (done * 10).checked_div(total).unwrap_or(10);
            if tenth > shown {
                shown = tenth;
                eprintln!(
                    "  {users} users: {}% of {total} episodes ({:.0?})",
                    tenth * 10,
                    started.elapsed()
                );
            }
        },
    )
    .expect("the generator runs");
    desk.optimize().expect("statistics for the planner");
    let (typical, verifier) = pick_users(&desk);
    drop(desk);
    let db = Db {
        users,
        path,
        key,
        typical,
        verifier,
        url: None,
    };
    describe(&db, started.elapsed());
    db
}

/// The first two generated users from "m" on who are active, not locked,
/// have logged in, and use an authenticator app.
fn pick_users(desk: &Desk) -> (String, (String, i64)) {
    let page = desk
        .users_page(
            &ListQuery {
                search: None,
                filter: None,
                after: None,
                limit: 500,
            },
            Keyset::From("m"),
        )
        .expect("a page of users");
    let mut picked = page
        .into_iter()
        .filter(|u| {
            u.status == UserStatus::Active
                && u.locked_until.is_none()
                && u.last_login_at.is_some()
                && u.factor_kinds.contains(&FactorKind::Totp)
        })
        .map(|u| u.email);
    let typical = picked.next().expect("a typical user");
    let verifier = picked.next().expect("a second typical user");
    let factor = desk
        .factors(&verifier)
        .expect("their factors")
        .into_iter()
        .find(|f| f.kind == FactorKind::Totp && f.status == FactorStatus::Active)
        .expect("an active authenticator")
        .id;
    (typical, (verifier, factor))
}

/// What was made, on stderr.
fn describe(db: &Db, took: Duration) {
    let conn = db.raw();
    let count = |table: &str| -> i64 {
        conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
            .expect("a count")
    };
    let bytes = std::fs::metadata(&db.path).map_or(0, |m| m.len());
    eprintln!(
        "  {} generated users in {took:.1?}: {} users, {} factors, {} devices, {} backup codes, \
         {} challenges, {} attempts, {} messages, {} audit events, {} MiB; typical user {}",
        db.users,
        count("users"),
        count("factors"),
        count("devices"),
        count("backup_codes"),
        count("challenges"),
        count("attempts"),
        count("deliveries"),
        count("audit"),
        bytes >> 20,
        db.typical,
    );
}

// ------------------------------------------------------------ raw SQLite

/// The columns the Users list shows, with each user's trusted devices.
/// The columns of a raw Users row, `u` the user.
macro_rules! raw_columns {
    () => {
        "SELECT u.id, u.email, u.name, u.role, u.status, u.factor_kinds, \
         u.codes_left, u.codes_total, u.last_login_at, u.locked_until, \
         (SELECT count(*) FROM devices d WHERE d.user_id = u.id AND d.trusted_until > ?1 \
          AND d.revoked_at IS NULL)"
    };
}
const RAW_LIST: &str = concat!(raw_columns!(), " FROM users u");

type RawUser = (
    i64,
    String,
    String,
    String,
    String,
    String,
    i64,
    i64,
    Option<i64>,
    Option<i64>,
    i64,
);

fn raw_user(r: &rusqlite::Row<'_>) -> rusqlite::Result<RawUser> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
        r.get(7)?,
        r.get(8)?,
        r.get(9)?,
        r.get(10)?,
    ))
}

fn raw_rows(conn: &Connection, sql: &str, p: impl rusqlite::Params) -> Vec<RawUser> {
    let mut stmt = conn.prepare_cached(sql).expect("a statement");
    stmt.query_map(p, raw_user)
        .expect("a query")
        .collect::<rusqlite::Result<_>>()
        .expect("rows")
}

/// The first page of users by email.
fn raw_first_page(conn: &Connection) -> Vec<RawUser> {
    raw_rows(
        conn,
        &format!("{RAW_LIST} ORDER BY u.email LIMIT ?2"),
        params![now().timestamp(), PAGE],
    )
}

/// The overview's figures and short lists, each from the counters or an index.
fn raw_overview(conn: &Connection) -> usize {
    let now = now().timestamp();
    let day_ago = now - 86_400;
    let cutoff = now - 7 * 86_400;
    let mut n = 0;
    let mut stmt = conn
        .prepare_cached("SELECT name, value FROM counters")
        .expect("a statement");
    let counters: Vec<(String, i64)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .expect("a query")
        .collect::<rusqlite::Result<_>>()
        .expect("rows");
    n += counters.len();
    for (sql, at) in [
        ("SELECT count(*) FROM users WHERE locked_until > ?1", now),
        (
            "SELECT count(*) FROM users WHERE active_factors = 0 AND status = 'active' \
             AND grace_from > ?1",
            cutoff,
        ),
        (
            "SELECT count(*) FROM deliveries WHERE status = 'failed' AND created_at >= ?1",
            day_ago,
        ),
    ] {
        let c: i64 = conn
            .prepare_cached(sql)
            .expect("a statement")
            .query_row([at], |r| r.get(0))
            .expect("a count");
        n += usize::try_from(c).unwrap_or(0);
    }
    // ?1 is now (for the trusted devices each row counts), ?2 a bound or a limit.
    let lists = [
        (
            format!("{RAW_LIST} WHERE u.locked_until > ?1 ORDER BY u.locked_until LIMIT ?2"),
            25,
        ),
        (
            format!(
                "{RAW_LIST} WHERE u.active_factors = 0 AND u.status = 'active' \
                 AND u.grace_from <= ?2 ORDER BY u.grace_from LIMIT 25"
            ),
            cutoff,
        ),
        (
            format!(
                "{RAW_LIST} WHERE u.id IN (SELECT user_id FROM factors WHERE status = 'pending' \
                 ORDER BY created_at LIMIT ?2)"
            ),
            25,
        ),
        (
            format!(
                "{RAW_LIST} WHERE u.id IN (SELECT user_id FROM deliveries WHERE status = 'failed' \
                 AND created_at >= ?2 ORDER BY created_at DESC LIMIT 25)"
            ),
            day_ago,
        ),
        (
            format!(
                "{RAW_LIST} WHERE u.codes_total > 0 AND u.codes_left <= 3 \
                 ORDER BY u.codes_left, u.email LIMIT ?2"
            ),
            25,
        ),
    ];
    for (sql, at) in lists {
        n += raw_rows(conn, &sql, params![now, at]).len();
    }
    n
}

/// A search page: every user whose email or name matches, by email. `LIKE`
/// walks the email index and tests each user; for one or two characters it
/// looks for the start of a word, as the console does.
fn raw_search_like(conn: &Connection, term: &str) -> Vec<RawUser> {
    let sql = if term.chars().count() >= 3 {
        format!(
            "{RAW_LIST} WHERE u.email LIKE '%' || ?3 || '%' OR u.name LIKE '%' || ?3 || '%' \
             ORDER BY u.email LIMIT ?2"
        )
    } else {
        format!(
            "{RAW_LIST} WHERE u.email LIKE ?3 || '%' OR u.email LIKE '%.' || ?3 || '%' \
             OR u.email LIKE '%@' || ?3 || '%' OR u.name LIKE ?3 || '%' \
             OR u.name LIKE '% ' || ?3 || '%' ORDER BY u.email LIMIT ?2"
        )
    };
    raw_rows(conn, &sql, params![now().timestamp(), PAGE, term])
}

/// The same page from the full-text index alone: its candidates, sorted.
fn raw_search_fts(conn: &Connection, term: &str) -> Vec<RawUser> {
    let (index, phrase) = if term.chars().count() >= 3 {
        ("users_fts", format!("\"{term}\""))
    } else {
        ("users_words", format!("\"{term}\"*"))
    };
    raw_rows(
        conn,
        &format!(
            "{RAW_LIST} WHERE u.id IN (SELECT rowid FROM {index} WHERE {index} MATCH ?3) \
             ORDER BY u.email LIMIT ?2"
        ),
        params![now().timestamp(), PAGE, phrase],
    )
}

/// The same page from the search keys (schema step 17), as factordesk
/// reads it: a word start's users in email order; for a longer term, the
/// users of its rarest trigram in email order, tested with `LIKE`. `CROSS
/// JOIN` keeps the keys the outer loop, as factordesk's statement does
/// (with the generator's statistics `SQLite` would rather walk `users`).
fn raw_search_keys(conn: &Connection, term: &str) -> Vec<RawUser> {
    if term.chars().count() < 3 {
        return raw_rows(
            conn,
            &format!(
                "{} FROM users_search_starts k CROSS JOIN users u ON u.email = k.email \
                 WHERE k.start = ?3 ORDER BY k.email LIMIT ?2",
                raw_columns!()
            ),
            params![now().timestamp(), PAGE, term],
        );
    }
    let grams = Term::parse(term).map(|t| t.trigrams()).unwrap_or_default();
    let json = serde_json::Value::from(grams.into_iter().collect::<Vec<_>>()).to_string();
    let rarest: Option<String> = conn
        .prepare_cached(
            "SELECT gram FROM users_search_counts WHERE gram IN (SELECT value FROM json_each(?1)) \
             ORDER BY users LIMIT 1",
        )
        .expect("a statement")
        .query_row([json], |r| r.get(0))
        .ok();
    let Some(gram) = rarest else {
        return Vec::new();
    };
    raw_rows(
        conn,
        &format!(
            "{} FROM users_search_trigrams k CROSS JOIN users u ON u.email = k.email \
             WHERE k.gram = ?4 AND (u.email LIKE '%' || ?3 || '%' OR u.name LIKE '%' || ?3 || '%') \
             ORDER BY k.email LIMIT ?2",
            raw_columns!()
        ),
        params![now().timestamp(), PAGE, term, gram],
    )
}

/// Count the rows of `sql` for `p`, reading every column as a value.
fn raw_count(conn: &Connection, sql: &str, p: impl rusqlite::Params) -> usize {
    let mut stmt = conn.prepare_cached(sql).expect("a statement");
    let width = stmt.column_count();
    let mut rows = stmt.query(p).expect("a query");
    let mut n = 0;
    while let Some(row) = rows.next().expect("a row") {
        for i in 0..width {
            black_box(row.get_ref(i).expect("a value"));
        }
        n += 1;
    }
    n
}

/// What the doctor reads: the user, their factors, devices and backup codes,
/// the last day's attempts, their last messages, and the last disable,
/// unlock and 2FA reset.
fn raw_doctor(conn: &Connection, email: &str) -> (i64, usize) {
    let (id, failures_after): (i64, i64) = conn
        .prepare_cached(
            "SELECT id, failures_after, email, name, role, status, phone, phone_verified, \
             every_login, failures, locked_until, created_at, last_login_at, grace_from, \
             active_factors, codes_total, codes_left FROM users WHERE email = ?1",
        )
        .expect("a statement")
        .query_row([email], |r| Ok((r.get(0)?, r.get(1)?)))
        .expect("the user");
    let since = now().timestamp() - 86_400;
    let mut n = 0;
    n += raw_count(
        conn,
        "SELECT * FROM factors WHERE user_id = ?1 ORDER BY id",
        [id],
    );
    n += raw_count(
        conn,
        "SELECT * FROM devices WHERE user_id = ?1 ORDER BY id",
        [id],
    );
    n += raw_count(
        conn,
        "SELECT position, created_at, used_at, used_ip FROM backup_codes WHERE user_id = ?1",
        [id],
    );
    n += raw_count(
        conn,
        "SELECT * FROM attempts WHERE user_id = ?1 AND at >= ?2 ORDER BY at DESC LIMIT 100",
        [id, since],
    );
    n += raw_count(
        conn,
        "SELECT id, created_at, channel, destination, status, reason FROM deliveries \
         WHERE user_id = ?1 ORDER BY created_at DESC LIMIT 10",
        [id],
    );
    for kind in ["user.disable", "user.unlock", "user.reset_2fa"] {
        n += raw_count(
            conn,
            "SELECT at, detail FROM audit WHERE user_id = ?1 AND kind = ?2 \
             ORDER BY at DESC LIMIT 1",
            params![id, kind],
        );
    }
    (id, n + usize::try_from(failures_after).unwrap_or(0))
}

/// The user screen: the doctor's reads, the failures that count towards a
/// lock, and the last ten audit events.
fn raw_open_user(conn: &Connection, email: &str) -> usize {
    let (id, n) = raw_doctor(conn, email);
    n + raw_count(
        conn,
        "SELECT at FROM attempts WHERE user_id = ?1 AND outcome IN ('invalid', 'replayed') \
         AND at >= ?2 ORDER BY id DESC LIMIT 10",
        [id, now().timestamp() - 900],
    ) + raw_count(
        conn,
        "SELECT * FROM audit WHERE user_id = ?1 ORDER BY at DESC LIMIT 10",
        [id],
    )
}

/// Recovery readiness's first page: every active user rated, the worst 60.
fn raw_readiness(conn: &Connection) -> usize {
    let cutoff = now().timestamp() - 7 * 86_400;
    raw_count(
        conn,
        "SELECT email, name, factor_kinds, codes_left, codes_total, risk FROM (
           SELECT email, name, factor_kinds, codes_left, codes_total,
             CASE WHEN active_factors = 0 AND grace_from <= ?1 THEN 100
                  WHEN active_factors = 0 THEN 60
                  WHEN active_factors = 1 AND codes_left = 0 THEN 50
                  WHEN codes_total > 0 AND codes_left = 0 THEN 40
                  WHEN factor_kinds = 'sms' THEN 30
                  WHEN codes_total > 0 AND codes_left <= 3 THEN 20 ELSE 0 END AS risk
           FROM users WHERE status = 'active')
         WHERE risk > 0 ORDER BY risk DESC, email LIMIT 60",
        [cutoff],
    )
}

/// A TOTP login's writes: read the challenge, user and factor, spend the
/// step, close the challenge, record the attempt and the login, audit it.
fn raw_verify(conn: &mut Connection, challenge: i64, at: i64) {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .expect("a transaction");
    let (user, factor, ip): (i64, i64, String) = tx
        .prepare_cached(
            "SELECT user_id, factor_id, ip, state, expires_at, attempts FROM challenges \
             WHERE id = ?1",
        )
        .expect("a statement")
        .query_row([challenge], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .expect("the challenge");
    let failures_after: i64 = tx
        .prepare_cached("SELECT failures_after, status, locked_until FROM users WHERE id = ?1")
        .expect("a statement")
        .query_row([user], |r| r.get(0))
        .expect("the user");
    let secret: Vec<u8> = tx
        .prepare_cached("SELECT secret, last_step, drift_steps, status FROM factors WHERE id = ?1")
        .expect("a statement")
        .query_row([factor], |r| r.get(0))
        .expect("the factor");
    black_box(secret);
    tx.prepare_cached(
        "UPDATE factors SET last_step = ?2, last_used_at = ?3, last_used_ip = ?4 WHERE id = ?1",
    )
    .expect("a statement")
    .execute(params![factor, at / 30, at, ip])
    .expect("spend the step");
    tx.prepare_cached("UPDATE challenges SET state = 'accepted', closed_at = ?2 WHERE id = ?1")
        .expect("a statement")
        .execute(params![challenge, at])
        .expect("close the challenge");
    tx.prepare_cached(
        "INSERT INTO attempts (user_id, challenge_id, factor_id, kind, outcome, ip, at) \
         VALUES (?1, ?2, ?3, 'totp', 'accepted', ?4, ?5)",
    )
    .expect("a statement")
    .execute(params![user, challenge, factor, ip, at])
    .expect("the attempt");
    tx.prepare_cached("UPDATE users SET last_login_at = ?2, failures_after = ?3 WHERE id = ?1")
        .expect("a statement")
        .execute(params![
            user,
            at,
            failures_after.max(tx.last_insert_rowid())
        ])
        .expect("the login");
    tx.prepare_cached(
        "INSERT INTO audit (at, actor, user_id, kind, detail, ip) \
         VALUES (?1, 'admin', ?2, 'login.verify', ?3, ?4)",
    )
    .expect("a statement")
    .execute(params![
        at,
        user,
        format!("challenge {challenge}: accepted (authenticator app)"),
        ip
    ])
    .expect("the audit event");
    tx.commit().expect("commit");
}

// ------------------------------------------------------------ benchmarks

/// Open the file, build the console, switch to Users ('2'), draw one frame.
fn startup(c: &mut Criterion, dbs: &[Db]) {
    let mut g = c.benchmark_group("startup_to_users_frame");
    g.sampling_mode(SamplingMode::Flat);
    for db in dbs {
        g.bench_function(BenchmarkId::new(db.label("factordesk"), db.users), |b| {
            b.iter_with_large_drop(|| {
                let mut app = App::new(db.open(), theme(), Worker::inline(0));
                app.handle_key(key(KeyCode::Char('2')));
                let buf = frame(&app);
                (app, buf)
            });
        });
        if db.is_file() {
            g.bench_function(BenchmarkId::new("raw_sqlite", db.users), |b| {
                b.iter_with_large_drop(|| {
                    let conn = db.raw();
                    let page = raw_first_page(&conn);
                    (page, conn)
                });
            });
        }
    }
    g.finish();
}

/// The console's first screen on a desk already open.
fn overview(c: &mut Criterion, dbs: &[Db]) {
    let mut g = c.benchmark_group("overview_first_frame");
    g.sampling_mode(SamplingMode::Flat);
    for db in dbs {
        g.bench_function(BenchmarkId::new(db.label("factordesk"), db.users), |b| {
            b.iter_batched(
                || db.open(),
                |desk| {
                    let app = App::new(desk, theme(), Worker::inline(0));
                    let buf = frame(&app);
                    (app, buf)
                },
                BatchSize::PerIteration,
            );
        });
        if db.is_file() {
            g.bench_function(BenchmarkId::new("raw_sqlite", db.users), |b| {
                b.iter_batched(
                    || db.raw(),
                    |conn| {
                        let n = raw_overview(&conn);
                        (n, conn)
                    },
                    BatchSize::PerIteration,
                );
            });
        }
    }
    g.finish();
}

/// One keystroke in the Users search field that makes the term `term`:
/// the key, the list read for it, and a frame. Between keystrokes (not
/// timed) Backspace puts the field back.
fn search(c: &mut Criterion, dbs: &[Db]) {
    let mut apps: Vec<App> = dbs
        .iter()
        .map(|db| {
            let mut app = App::new(db.open(), theme(), Worker::inline(0));
            app.set_debounce(false);
            press(&mut app, '2');
            black_box(frame(&app));
            press(&mut app, '/');
            app
        })
        .collect();
    let raws: Vec<Connection> = dbs.iter().map(Db::raw).collect();
    for term in TERMS {
        let mut g = c.benchmark_group(format!("search_keystroke_{term}"));
        let (head, last) = term.split_at(term.len() - 1);
        let last = last.chars().next().expect("a last character");
        for ((db, app), conn) in dbs.iter().zip(&mut apps).zip(&raws) {
            for _ in 0..8 {
                app.handle_key(key(KeyCode::Backspace));
            }
            for ch in head.chars() {
                press(app, ch);
            }
            g.bench_function(BenchmarkId::new(db.label("factordesk"), db.users), |b| {
                b.iter_custom(|iters| {
                    let mut spent = Duration::ZERO;
                    for _ in 0..iters {
                        let t = Instant::now();
                        press(app, last);
                        black_box(frame(app));
                        spent += t.elapsed();
                        app.handle_key(key(KeyCode::Backspace));
                    }
                    spent
                });
            });
            if db.is_file() {
                g.bench_function(BenchmarkId::new("raw_sqlite_like", db.users), |b| {
                    b.iter(|| raw_search_like(conn, term));
                });
            }
            if db.is_file() {
                g.bench_function(BenchmarkId::new("raw_sqlite_fts", db.users), |b| {
                    b.iter(|| raw_search_fts(conn, term));
                });
                g.bench_function(BenchmarkId::new("raw_sqlite_keys", db.users), |b| {
                    b.iter(|| raw_search_keys(conn, term));
                });
            }
        }
        g.finish();
    }
}

/// A user's screen loads their details and the doctor's findings.
fn open_user(c: &mut Criterion, dbs: &[Db], desks: &[Desk], raws: &[Connection]) {
    let mut g = c.benchmark_group("open_user");
    for ((db, desk), conn) in dbs.iter().zip(desks).zip(raws) {
        for (who, email) in [("typical", db.typical.as_str()), ("erin", SCENARIO_USER)] {
            g.bench_function(
                BenchmarkId::new(db.label(&format!("factordesk_{who}")), db.users),
                |b| {
                    b.iter(|| {
                        (
                            desk.user(email).expect("the user"),
                            desk.diagnose(email).expect("the doctor"),
                        )
                    });
                },
            );
            if db.is_file() {
                g.bench_function(
                    BenchmarkId::new(format!("raw_sqlite_{who}"), db.users),
                    |b| {
                        b.iter(|| raw_open_user(conn, email));
                    },
                );
            }
        }
    }
    g.finish();
    let mut g = c.benchmark_group("doctor");
    for ((db, desk), conn) in dbs.iter().zip(desks).zip(raws) {
        for (who, email) in [("typical", db.typical.as_str()), ("erin", SCENARIO_USER)] {
            g.bench_function(
                BenchmarkId::new(db.label(&format!("factordesk_{who}")), db.users),
                |b| {
                    b.iter(|| desk.diagnose(email).expect("the doctor"));
                },
            );
            if db.is_file() {
                g.bench_function(
                    BenchmarkId::new(format!("raw_sqlite_{who}"), db.users),
                    |b| {
                        b.iter(|| raw_doctor(conn, email));
                    },
                );
            }
        }
    }
    g.finish();
}

/// A full 200×60 frame of busy screens, beside ratatui putting the same
/// text into a buffer line by line (the least a frame of it can cost).
fn frames(c: &mut Criterion, dbs: &[Db]) {
    let mut g = c.benchmark_group("frame_200x60");
    for db in dbs {
        let mut users = App::new(db.open(), theme(), Worker::inline(0));
        press(&mut users, '2');
        black_box(frame(&users));
        users.settle();
        let screens = [
            ("users_list", users),
            (
                "user_typical",
                app_on(db.open(), ScreenName::User, Some(&db.typical), theme())
                    .expect("the user screen"),
            ),
            (
                "user_erin",
                app_on(db.open(), ScreenName::User, Some(SCENARIO_USER), theme())
                    .expect("the user screen"),
            ),
        ];
        for (name, app) in &screens {
            g.bench_function(
                BenchmarkId::new(db.label(&format!("factordesk_{name}")), db.users),
                |b| {
                    b.iter(|| frame(app));
                },
            );
        }
        let shown = text(&frame(&screens[0].1));
        if db.is_file() {
            g.bench_function(BenchmarkId::new("ratatui_set_lines", db.users), |b| {
                let area = Rect::new(0, 0, WIDTH, HEIGHT);
                b.iter(|| {
                    let mut buf = Buffer::empty(area);
                    for (y, line) in (0..HEIGHT).zip(shown.lines()) {
                        buf.set_string(0, y, line, Style::default());
                    }
                    buf
                });
            });
        }
    }
    g.finish();
}

/// The first page of recovery readiness, worst first (the console reads it
/// on its worker thread).
fn readiness(c: &mut Criterion, dbs: &[Db], desks: &[Desk], raws: &[Connection]) {
    let mut g = c.benchmark_group("readiness_first_page");
    g.sampling_mode(SamplingMode::Flat);
    for ((db, desk), conn) in dbs.iter().zip(desks).zip(raws) {
        g.bench_function(BenchmarkId::new(db.label("factordesk"), db.users), |b| {
            b.iter(|| {
                desk.readiness_page(Sort::Risk, Keyset::First, 60)
                    .expect("a page")
            });
        });
        if db.is_file() {
            g.bench_function(BenchmarkId::new("raw_sqlite", db.users), |b| {
                b.iter(|| raw_readiness(conn));
            });
        }
    }
    g.finish();
}

/// `login verify` of an authenticator code: its checks, its writes and its
/// audit event, committed. Each code is fresh: before each (not timed) the
/// clock moves on a 30 s step and a new login is started. Runs last, since
/// it writes.
fn verify(c: &mut Criterion, dbs: &[Db]) {
    let mut g = c.benchmark_group("login_verify");
    g.sampling_mode(SamplingMode::Flat);
    for db in dbs {
        let (email, factor) = (db.verifier.0.clone(), db.verifier.1);
        let mut desk = db.open();
        let request = LoginRequest {
            email: email.clone(),
            password: PasswordInput::Assume,
            device: None,
            ip: Some("203.0.113.9".to_owned()),
            action: Action::Login,
            factor: Some(factor),
        };
        g.bench_function(BenchmarkId::new(db.label("factordesk"), db.users), |b| {
            b.iter_custom(|iters| {
                let mut spent = Duration::ZERO;
                for _ in 0..iters {
                    desk.advance_clock(TimeDelta::seconds(30));
                    let start = desk.start_login(&request).expect("a login");
                    let challenge = start.challenge_id.expect("a challenge");
                    let code = desk
                        .authenticator_code(&email, factor, TimeDelta::zero())
                        .expect("the app's code");
                    let t = Instant::now();
                    let v = desk.verify(challenge, &code, None).expect("a verdict");
                    spent += t.elapsed();
                    assert_eq!(v.result, VerifyResult::Accepted, "{v:?}");
                }
                spent
            });
        });
        let mut conn = db.raw();
        // The newest challenge on an authenticator: the raw writes close it
        // again and again, as nothing here checks its state.
        let challenge: i64 = conn
            .query_row(
                "SELECT max(id) FROM challenges WHERE factor_id IS NOT NULL",
                [],
                |r| r.get(0),
            )
            .expect("a challenge");
        let mut at = desk.now().timestamp();
        if db.is_file() {
            g.bench_function(BenchmarkId::new("raw_sqlite", db.users), |b| {
                b.iter(|| {
                    at += 30;
                    raw_verify(&mut conn, challenge, at);
                });
            });
        }
    }
    g.finish();
}

// ------------------------------------------------------------ memory

/// Resident memory now and at its peak, in MiB, from `/proc/self/status`.
fn resident() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            .map_or(f64::NAN, |kib| kib / 1024.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// In a fresh process: the console as `factordesk` runs it (a worker thread
/// with its own connection), on a 200×60 terminal, through every busy
/// screen. Prints one line per screen.
fn memory_child(db: &Path) {
    let source = keyfile::Source::File(keyfile::default_path(db));
    let desk = Desk::open(db, &source, Clock::fixed(now()), Rng::seeded(1)).expect("the database");
    let reader = desk.reader().expect("a reader");
    let mut app = App::new(desk, theme(), Worker::spawn(reader));
    let mut terminal = ratatui::Terminal::new(ratatui::backend::TestBackend::new(WIDTH, HEIGHT))
        .expect("a terminal");
    let mut draw = |app: &mut App, until: &dyn Fn(&str) -> bool| -> String {
        let started = Instant::now();
        loop {
            app.poll_worker();
            app.settle();
            terminal
                .draw(|f| f.render_widget(&*app, f.area()))
                .expect("a frame");
            let shown = text(terminal.backend().buffer());
            if until(&shown) || started.elapsed() > Duration::from_secs(120) {
                return shown;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    };
    let report = |screen: &str| {
        let (rss, peak) = resident();
        println!("memory {screen:<32} VmRSS {rss:6.1} MiB   VmHWM {peak:6.1} MiB");
    };
    let any = |_: &str| true;
    draw(&mut app, &any);
    report("overview");
    press(&mut app, '2');
    draw(&mut app, &any);
    report("users list");
    press(&mut app, '/');
    for ch in "mar".chars() {
        press(&mut app, ch);
    }
    draw(&mut app, &any);
    report("users list, searching \"mar\"");
    app.handle_key(key(KeyCode::Enter));
    app.handle_key(key(KeyCode::Enter));
    draw(&mut app, &any);
    report("a user and the doctor");
    // The simulator's sandbox: that user's rows copied into memory.
    press(&mut app, 'l');
    draw(&mut app, &|shown: &str| {
        shown.contains("Login simulator") && !shown.contains("Preparing the sandbox")
    });
    report("login simulator (sandbox)");
    for (tab, name) in [('4', "outbox"), ('5', "audit"), ('6', "policy")] {
        press(&mut app, tab);
        draw(&mut app, &any);
        report(name);
    }
    press(&mut app, '1');
    press(&mut app, 'r');
    for sort in ["risk", "email", "codes"] {
        if sort != "risk" {
            press(&mut app, 's');
        }
        let title = format!("(sorted by {sort})");
        let shown = draw(&mut app, &|shown: &str| {
            shown.contains(&title)
                && shown.contains("users at risk (")
                && !shown.contains("Rating every user")
                && !shown.contains("reading more")
        });
        let line = shown
            .lines()
            .find(|l| l.contains("Recovery readiness"))
            .unwrap_or_default()
            .trim_matches(|c: char| !c.is_alphanumeric());
        report(&format!("readiness sorted by {sort}"));
        println!("       ({line})");
    }
}

/// Run the memory measurement in a fresh process on `db`.
fn memory(db: &Db) {
    let exe = std::env::current_exe().expect("this benchmark's path");
    let out = std::process::Command::new(exe)
        .env(MEMORY_CHILD, &db.path)
        .output()
        .expect("the memory probe runs");
    println!(
        "\nconsole memory at {} generated users (a fresh process, 200×60):",
        db.users
    );
    print!("{}", String::from_utf8_lossy(&out.stdout));
    eprint!("{}", String::from_utf8_lossy(&out.stderr));
}

fn main() {
    if let Some(db) = std::env::var_os(MEMORY_CHILD) {
        memory_child(Path::new(&db));
        return;
    }
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args();
    let dir = tempfile::TempDir::new().expect("a temporary directory");
    eprintln!(
        "generating the benchmark databases in {}",
        dir.path().display()
    );
    let mut dbs: Vec<Db> = sizes()
        .into_iter()
        .map(|n| generate(dir.path(), n))
        .collect();
    // With a PostgreSQL cluster, each size again on it, beside the file.
    if let Ok(admin) = std::env::var(PG_VAR) {
        let copies: Vec<Db> = dbs.iter().map(|db| db.on_postgres(&admin)).collect();
        dbs.extend(copies);
    }
    startup(&mut c, &dbs);
    overview(&mut c, &dbs);
    search(&mut c, &dbs);
    let desks: Vec<Desk> = dbs.iter().map(Db::open).collect();
    let raws: Vec<Connection> = dbs.iter().map(Db::raw).collect();
    open_user(&mut c, &dbs, &desks, &raws);
    readiness(&mut c, &dbs, &desks, &raws);
    frames(&mut c, &dbs);
    verify(&mut c, &dbs);
    c.final_summary();
    // The PostgreSQL copies go with the run, as the files do.
    if let Ok(admin) = std::env::var(PG_VAR) {
        let copies: Vec<&Db> = dbs.iter().filter(|d| !d.is_file()).collect();
        drop(desks);
        if let Ok(mut client) = postgres::Client::connect(&admin, postgres::NoTls) {
            for db in copies {
                let name = db.url.as_ref().map(|u| u.database().to_owned());
                if let Some(name) = name {
                    let _ = client
                        .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
                }
            }
        }
    }
    if let Some(largest) = dbs.iter().filter(|d| d.is_file()).max_by_key(|d| d.users) {
        memory(largest);
    }
}
