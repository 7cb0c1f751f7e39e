//! Recovery readiness: which users would be stuck if they lost their phone
//! today (no factor, SMS only, no or few backup codes, a single factor),
//! read a page at a time, or streamed whole as CSV or JSON at flat memory.

use std::io::Write;
use std::path::Path;

use serde::{Serialize, Serializer};

use super::{Desk, DeskError, Result};
use crate::domain::policy::Enforce;
use crate::domain::{FactorKind, text_enum};
use crate::store::readiness::{self as rows, AtRisk, Order, Rules};
use crate::store::{self, Keyset};

pub use crate::store::readiness::Key;

text_enum!(
    /// How to order the report.
    Sort { Risk => "risk", Email => "email", Codes => "codes" }
);

/// Why a user is on the list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Problem {
    /// No factor, and the grace period is over.
    CannotLogIn,
    NoFactorYet,
    SingleFactorNoCodes,
    CodesUsedUp {
        total: u32,
    },
    SmsOnly,
    FewCodesLeft {
        left: u32,
    },
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Problem::CannotLogIn => f.write_str("no second factor, grace over: cannot log in"),
            Problem::NoFactorYet => f.write_str("no second factor yet"),
            Problem::SingleFactorNoCodes => {
                f.write_str("a single factor and no backup code to fall back on")
            }
            Problem::CodesUsedUp { total } => write!(f, "all {total} backup codes used"),
            Problem::SmsOnly => f.write_str("SMS only: a lost phone or SIM swap locks them out"),
            Problem::FewCodesLeft { left } => write!(f, "only {left} backup code(s) left"),
        }
    }
}

impl Serialize for Problem {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReadinessRow {
    pub email: String,
    pub name: String,
    pub factors: Vec<FactorKind>,
    pub codes_left: u32,
    pub codes_total: u32,
    /// Higher is worse: 100 no factor past grace … 20 few codes left.
    pub risk: u32,
    /// Why they are on the list, most serious first.
    pub problems: Vec<Problem>,
    /// Where to page on from.
    #[serde(skip)]
    pub key: Key,
}

impl From<AtRisk> for ReadinessRow {
    fn from(r: AtRisk) -> Self {
        let key = r.key();
        let mut problems = Vec::new();
        if r.blocked {
            problems.push(Problem::CannotLogIn);
        } else if r.no_factor {
            problems.push(Problem::NoFactorYet);
        }
        if r.single_no_codes {
            problems.push(Problem::SingleFactorNoCodes);
        }
        if r.codes_out {
            problems.push(Problem::CodesUsedUp {
                total: r.codes_total,
            });
        }
        if r.sms_only {
            problems.push(Problem::SmsOnly);
        }
        if r.codes_low {
            problems.push(Problem::FewCodesLeft { left: r.codes_left });
        }
        ReadinessRow {
            factors: r
                .factor_kinds
                .split(',')
                .filter_map(FactorKind::parse)
                .collect(),
            email: r.email,
            name: r.name,
            codes_left: r.codes_left,
            codes_total: r.codes_total,
            risk: r.risk,
            problems,
            key,
        }
    }
}

/// Rows read per statement when the whole report is streamed: each read
/// rates everyone at risk, so few large reads, and memory stays this size.
const STREAM_PAGE: u32 = 10_000;

/// The formats the whole report streams in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Json,
}

impl Desk {
    fn readiness_rules(&self) -> Result<Rules> {
        let policy = self.policy()?;
        let now = self.now();
        let span = chrono::TimeDelta::days(i64::from(policy.grace_days));
        let changed = store::policy::changed_at(self.db(), "enforce")?;
        let blocked_before = match policy.enforce {
            Enforce::Off => None,
            // A recent change of enforcement gave everyone a fresh grace.
            _ if changed.is_some_and(|c| now < c + span) => None,
            _ => Some(now - span),
        };
        Ok(Rules {
            backup_low: policy.backup_low,
            blocked_before,
            enforce_members: policy.enforce == Enforce::All,
        })
    }

    /// One page of the users at risk, in `sort` order, read at `at`.
    pub fn readiness_page(
        &self,
        sort: Sort,
        at: Keyset<&Key>,
        limit: u32,
    ) -> Result<Vec<ReadinessRow>> {
        let rules = self.readiness_rules()?;
        Ok(rows::page(self.db(), &rules, order(sort), at, limit)?
            .into_iter()
            .map(ReadinessRow::from)
            .collect())
    }

    /// How many users are at risk, and how many users there are.
    pub fn readiness_count(&self) -> Result<(u64, u64)> {
        let rules = self.readiness_rules()?;
        let at_risk = rows::count(self.db(), &rules)?;
        let users = store::attention::counts(self.db(), self.now(), rules.backup_low)?.total;
        Ok((at_risk, users))
    }

    /// Call `each` with every user at risk, in `sort` order, a page at a
    /// time: memory stays flat however many there are. Returns how many.
    pub fn readiness_each(
        &self,
        sort: Sort,
        mut each: impl FnMut(&ReadinessRow) -> Result<()>,
    ) -> Result<u64> {
        let mut n = 0;
        let mut last: Option<Key> = None;
        loop {
            let at = last.as_ref().map_or(Keyset::First, Keyset::After);
            let page = self.readiness_page(sort, at, STREAM_PAGE)?;
            for row in &page {
                each(row)?;
                n += 1;
            }
            if page.len() < STREAM_PAGE as usize {
                return Ok(n);
            }
            last = page.last().map(|r| r.key.clone());
        }
    }

    /// Write the whole report to `out` as CSV, or as JSON (`users`,
    /// `at_risk` and `rows`), streamed a page at a time.
    pub fn write_readiness(&self, sort: Sort, format: Format, out: &mut dyn Write) -> Result<u64> {
        let io = |e: std::io::Error| DeskError::Refused(format!("cannot write the report: {e}"));
        match format {
            Format::Csv => out.write_all(CSV_HEADER.as_bytes()).map_err(io)?,
            Format::Json => {
                let (at_risk, users) = self.readiness_count()?;
                write!(
                    out,
                    "{{\n  \"users\": {users},\n  \"at_risk\": {at_risk},\n  \"rows\": ["
                )
                .map_err(io)?;
            }
        }
        let mut first = true;
        let n = self.readiness_each(sort, |row| match format {
            Format::Csv => out.write_all(csv_line(row).as_bytes()).map_err(io),
            Format::Json => {
                let text = serde_json::to_string(row)
                    .map_err(|e| DeskError::Refused(format!("cannot write the report: {e}")))?;
                let sep = if std::mem::take(&mut first) { "" } else { "," };
                write!(out, "{sep}\n    {text}").map_err(io)
            }
        })?;
        if format == Format::Json {
            let end = if first { "]\n}\n" } else { "\n  ]\n}\n" };
            out.write_all(end.as_bytes()).map_err(io)?;
        }
        out.flush().map_err(io)?;
        Ok(n)
    }
}

impl Desk {
    /// Write the whole report to a new file only its owner can read (0600),
    /// streamed; a file that could not be finished is removed.
    pub fn export_readiness(&self, sort: Sort, format: Format, path: &Path) -> Result<u64> {
        let file = crate::keyfile::create_private(path).map_err(|e| {
            DeskError::Refused(if e.kind() == std::io::ErrorKind::AlreadyExists {
                format!(
                    "{} already exists: choose another file name",
                    path.display()
                )
            } else {
                format!("cannot write {}: {e}; choose another place", path.display())
            })
        })?;
        let mut out = std::io::BufWriter::new(file);
        let written = self.write_readiness(sort, format, &mut out).and_then(|n| {
            let file = out
                .into_inner()
                .map_err(|e| DeskError::Refused(format!("cannot write {}: {e}", path.display())))?;
            file.sync_all()
                .map_err(|e| DeskError::Refused(format!("cannot write {}: {e}", path.display())))?;
            Ok(n)
        });
        if written.is_err() {
            let _ = std::fs::remove_file(path);
        }
        written
    }
}

fn order(sort: Sort) -> Order {
    match sort {
        Sort::Risk => Order::Risk,
        Sort::Email => Order::Email,
        Sort::Codes => Order::Codes,
    }
}

/// One CSV cell, quoted where needed and guarded against spreadsheet
/// formulas (names are typed by whoever adds a user, and the report is
/// opened by admins).
pub(crate) fn field(text: &str) -> String {
    crate::domain::exchange::users::spreadsheet_cell(text)
}

/// The CSV header line.
pub const CSV_HEADER: &str = "email,name,factors,codes_left,codes_total,risk,problems\r\n";

/// One row as a CSV line (RFC 4180), safe to open in a spreadsheet.
pub fn csv_line(row: &ReadinessRow) -> String {
    let factors: Vec<&str> = row.factors.iter().map(|k| k.as_str()).collect();
    let problems: Vec<String> = row.problems.iter().map(ToString::to_string).collect();
    let mut line = [
        field(&row.email),
        field(&row.name),
        field(&factors.join(" ")),
        row.codes_left.to_string(),
        row.codes_total.to_string(),
        row.risk.to_string(),
        field(&problems.join("; ")),
    ]
    .join(",");
    line.push_str("\r\n");
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(name: &str, problems: Vec<Problem>) -> ReadinessRow {
        ReadinessRow {
            email: "x@example.com".into(),
            name: name.into(),
            factors: Vec::new(),
            codes_left: 0,
            codes_total: 0,
            risk: 100,
            problems,
            key: Key {
                risk: 100,
                codes_left: 0,
                email: "x@example.com".into(),
            },
        }
    }

    #[test]
    fn cells_a_spreadsheet_would_run_are_neutralised() {
        for (cell, safe) in [
            (
                "=HYPERLINK(\"http://x\")",
                "\"'=HYPERLINK(\"\"http://x\"\")\"",
            ),
            ("+1+2", "'+1+2"),
            ("-2+3", "'-2+3"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("\tcmd", "'\tcmd"),
            ("\rcmd", "\"'\rcmd\""),
            ("=1,2", "\"'=1,2\""),
            // Only the first character matters.
            ("Ana =1", "Ana =1"),
            ("a-b@example.com", "a-b@example.com"),
            ("", ""),
        ] {
            assert_eq!(field(cell), safe, "{cell:?}");
        }
        assert_eq!(
            csv_line(&row("=cmd|' /C calc'!A0", vec![Problem::CannotLogIn])),
            "x@example.com,'=cmd|' /C calc'!A0,,0,0,100,no second factor, grace over: cannot log in\r\n"
                .replace("no second factor, grace over: cannot log in", "\"no second factor, grace over: cannot log in\"")
        );
    }

    #[test]
    fn csv_quotes_what_needs_quoting() {
        let mut r = row(
            "Ng, \"Al\"",
            vec![Problem::SmsOnly, Problem::CodesUsedUp { total: 10 }],
        );
        r.factors = vec![FactorKind::Sms];
        r.codes_total = 10;
        r.risk = 50;
        assert_eq!(
            csv_line(&r),
            "x@example.com,\"Ng, \"\"Al\"\"\",sms,0,10,50,SMS only: a lost phone or SIM swap locks them out; all 10 backup codes used\r\n"
        );
    }
}
