//! `audit`: the trail listed, searched and followed: a table, or JSON, JSON
//! lines or CSV streamed a page at a time; `--follow` until Ctrl-C.

use std::cell::Cell;
use std::io::{self, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use super::commands::open;
use super::{AuditArgs, AuditFormat, Cli, exit, out};
use crate::desk::readiness::field;
use crate::desk::search::{AuditQuery, parse_when};
use crate::desk::views::AuditView;
use crate::desk::{Desk, DeskError, Keyset, Result};
use crate::domain::Time;

/// A page of the table, by default.
const TABLE_LIMIT: u32 = 50;

/// How often `--follow` looks at the trail's head.
const POLL: Duration = Duration::from_secs(1);

/// The CSV header line.
const CSV_HEADER: &str = "id,at,actor,os_user,user,kind,detail,ip,written_at,clock_set\r\n";

fn when(flag: &str, text: Option<&str>, now: Time) -> Result<Option<Time>> {
    text.map(|t| {
        parse_when(t, now).ok_or_else(|| {
            DeskError::Usage(format!(
                "{flag} `{}` is not a time: write RFC 3339 (2026-11-21T09:00:00Z), a date (2026-11-21) or an age (90m, 24h, 7d)",
                crate::domain::text::escape(t)
            ))
        })
    })
    .transpose()
}

fn query(desk: &Desk, a: &AuditArgs) -> Result<AuditQuery> {
    let now = desk.now();
    Ok(AuditQuery {
        user: a.user.clone(),
        kind: a.kind.clone(),
        actor: a.by.clone(),
        since: when("--since", a.since.as_deref(), now)?,
        until: when("--until", a.until.as_deref(), now)?,
        text: a.search.clone(),
        limit: TABLE_LIMIT,
    })
}

/// `audit` with its filters (not `audit verify`).
pub(super) fn run(cli: &Cli, a: &AuditArgs) -> Result<i32> {
    let desk = open(cli)?;
    let mut q = query(&desk, a)?;
    if a.follow {
        return follow(&desk, &q, a.format);
    }
    let stream = match a.format {
        Some(AuditFormat::Json) => Some(Stream::Json),
        Some(AuditFormat::Jsonl) => Some(Stream::Lines),
        Some(AuditFormat::Csv) => Some(Stream::Csv),
        Some(AuditFormat::Table) | None => None,
    };
    if let Some(stream) = stream {
        let stdout = io::stdout();
        let mut w = io::BufWriter::new(stdout.lock());
        let gone = Cell::new(false);
        return match write_all(&desk, &q, a, stream, &mut w, &gone) {
            // The reader went away (`| head`): nothing more to say.
            Err(_) if gone.get() => Ok(exit::OK),
            other => other.map(|()| exit::OK),
        };
    }
    q.limit = a.limit.unwrap_or(TABLE_LIMIT);
    let mut list = Vec::new();
    let from = a.before.map_or(Keyset::First, Keyset::After);
    desk.each_audit(&q, from, Some(u64::from(q.limit)), |e| {
        list.push(e.clone());
        Ok(())
    })?;
    // `--json` alone is a page as an array, as before `--format`.
    if cli.json && a.format.is_none() {
        super::emit(&out::json(&list));
    } else {
        super::say(&out::audit(&list, ""));
    }
    Ok(exit::OK)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stream {
    Json,
    Lines,
    Csv,
}

/// Every event found (or `--limit` of them), streamed.
fn write_all(
    desk: &Desk,
    q: &AuditQuery,
    a: &AuditArgs,
    stream: Stream,
    w: &mut dyn Write,
    gone: &Cell<bool>,
) -> Result<()> {
    // A closed pipe is noted in `gone`, and ends the stream.
    let io = |e: io::Error| {
        if e.kind() == io::ErrorKind::BrokenPipe {
            gone.set(true);
        }
        DeskError::Refused(format!("cannot write the events: {e}"))
    };
    match stream {
        Stream::Json => w.write_all(b"[").map_err(io)?,
        Stream::Csv => w.write_all(CSV_HEADER.as_bytes()).map_err(io)?,
        Stream::Lines => {}
    }
    let mut first = true;
    let from = a.before.map_or(Keyset::First, Keyset::After);
    desk.each_audit(q, from, a.limit.map(u64::from), |e| match stream {
        Stream::Json => {
            let sep = if std::mem::take(&mut first) { "" } else { "," };
            write!(w, "{sep}\n  {}", one_json(e)).map_err(io)
        }
        Stream::Lines => writeln!(w, "{}", one_json(e)).map_err(io),
        Stream::Csv => w.write_all(csv_line(e).as_bytes()).map_err(io),
    })?;
    if stream == Stream::Json {
        w.write_all(if first { b"]\n" as &[u8] } else { b"\n]\n" })
            .map_err(io)?;
    }
    w.flush().map_err(io)
}

/// One event as compact JSON, with the same escapes as `--json`.
fn one_json(e: &AuditView) -> String {
    out::json_line(e)
}

/// One event as a CSV line (RFC 4180), safe to open in a spreadsheet.
fn csv_line(e: &AuditView) -> String {
    let mut line = [
        e.id.to_string(),
        rfc3339(e.at),
        field(&e.actor),
        field(e.os_user.as_deref().unwrap_or_default()),
        field(e.user.as_deref().unwrap_or_default()),
        field(&e.kind),
        field(&e.detail),
        field(e.ip.as_deref().unwrap_or_default()),
        e.written_at.map(rfc3339).unwrap_or_default(),
        e.clock_set.map(|s| s.to_string()).unwrap_or_default(),
    ]
    .join(",");
    line.push_str("\r\n");
    line
}

fn rfc3339(t: Time) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// One event as a line of `--follow`'s table.
fn follow_line(e: &AuditView) -> String {
    format!(
        "#{} {}{} {} {} {} {}",
        e.id,
        out::short(e.at),
        if e.time_set() { "*" } else { "" },
        e.actor,
        e.user.as_deref().unwrap_or("-"),
        e.kind,
        e.detail
    )
}

/// Print the events written from now on that `q` finds, as they come,
/// until Ctrl-C (or the reader of stdout goes away). The head is looked at
/// once a second; nothing else is read while nothing is written.
fn follow(desk: &Desk, q: &AuditQuery, format: Option<AuditFormat>) -> Result<i32> {
    let lines = match format {
        None | Some(AuditFormat::Table) => false,
        Some(AuditFormat::Jsonl) => true,
        Some(AuditFormat::Json | AuditFormat::Csv) => {
            return Err(DeskError::Usage(
                "--follow prints events as they come, one per line: use --format jsonl or table"
                    .to_owned(),
            ));
        }
    };
    let stop = Arc::new(AtomicBool::new(false));
    stop_on_signals(&stop);
    let mut after = desk.audit_last_id()?.unwrap_or(0);
    let stdout = io::stdout();
    loop {
        if stop.load(Ordering::Relaxed) {
            return Ok(exit::OK);
        }
        let head = desk.audit_last_id()?.unwrap_or(0);
        if head > after {
            let (found, next) = desk.audit_written_after(q, after)?;
            let mut w = stdout.lock();
            for e in &found {
                let line = if lines {
                    one_json(e)
                } else {
                    crate::domain::text::escape(&follow_line(e)).into_owned()
                };
                if writeln!(w, "{line}").is_err() {
                    return Ok(exit::OK);
                }
            }
            if w.flush().is_err() {
                return Ok(exit::OK);
            }
            after = next;
            continue;
        }
        if !wait(&stop) {
            return Ok(exit::OK);
        }
    }
}

/// Ctrl-C, SIGTERM and SIGHUP end `--follow` cleanly.
fn stop_on_signals(stop: &Arc<AtomicBool>) {
    #[cfg(unix)]
    for signal in [
        signal_hook::consts::SIGINT,
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGHUP,
    ] {
        let _ = signal_hook::flag::register(signal, Arc::clone(stop));
    }
    #[cfg(not(unix))]
    let _ = stop;
}

/// Sleep for a poll, in slices, so a signal is noticed at once; `false`
/// when stdout's reader has gone away meanwhile.
fn wait(stop: &AtomicBool) -> bool {
    let slice = POLL / 10;
    for _ in 0..10 {
        if stop.load(Ordering::Relaxed) {
            return true;
        }
        if stdout_gone() {
            return false;
        }
        std::thread::sleep(slice);
    }
    true
}

/// Whether stdout is a pipe or socket whose reader has closed it.
#[cfg(unix)]
fn stdout_gone() -> bool {
    use rustix::event::{PollFd, PollFlags, Timespec, poll};
    let stdout = io::stdout();
    let mut fds = [PollFd::new(&stdout, PollFlags::empty())];
    let now = Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    poll(&mut fds, Some(&now)).is_ok()
        && fds[0].revents().intersects(PollFlags::HUP | PollFlags::ERR)
}

#[cfg(not(unix))]
fn stdout_gone() -> bool {
    false
}
