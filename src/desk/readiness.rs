//! Recovery readiness: which users would be stuck if they lost their phone
//! today (no factor, SMS only, no or few backup codes, a single factor).

use serde::Serialize;

use super::users::standing;
use super::{Desk, Result};
use crate::domain::{FactorKind, text_enum};
use crate::store;

text_enum!(
    /// How to order the report.
    Sort { Risk => "risk", Email => "email", Codes => "codes" }
);

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
    pub problems: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Readiness {
    pub users: u64,
    pub at_risk: usize,
    pub rows: Vec<ReadinessRow>,
}

/// The most rows a report returns.
pub const MAX_ROWS: u32 = 100_000;

impl Desk {
    pub fn readiness(&self, sort: Sort) -> Result<Readiness> {
        let conn = self.conn();
        let now = self.now();
        let policy = self.policy()?;
        let mut rows = Vec::new();
        for u in store::users::at_risk(conn, policy.backup_low, MAX_ROWS)? {
            let kinds: Vec<FactorKind> = u
                .factor_kinds
                .split(',')
                .filter_map(FactorKind::parse)
                .collect();
            let mut problems: Vec<(u32, String)> = Vec::new();
            if u.active_factors == 0 {
                let s = standing(conn, &policy, &u, now)?;
                if s.blocks_login() {
                    problems.push((
                        100,
                        "no second factor, grace over: cannot log in".to_owned(),
                    ));
                } else {
                    problems.push((60, "no second factor yet".to_owned()));
                }
            }
            if kinds == [FactorKind::Sms] {
                problems.push((
                    30,
                    "SMS only: a lost phone or SIM swap locks them out".to_owned(),
                ));
            }
            if u.active_factors == 1 && u.codes_left == 0 {
                problems.push((
                    50,
                    "a single factor and no backup code to fall back on".to_owned(),
                ));
            }
            if u.codes_total > 0 && u.codes_left == 0 {
                problems.push((40, format!("all {} backup codes used", u.codes_total)));
            } else if u.codes_total > 0 && u.codes_left <= policy.backup_low {
                problems.push((20, format!("only {} backup code(s) left", u.codes_left)));
            }
            if problems.is_empty() {
                continue;
            }
            problems.sort_by_key(|(score, _)| std::cmp::Reverse(*score));
            rows.push(ReadinessRow {
                email: u.email,
                name: u.name,
                factors: kinds,
                codes_left: u.codes_left,
                codes_total: u.codes_total,
                risk: problems.iter().map(|(s, _)| *s).max().unwrap_or(0),
                problems: problems.into_iter().map(|(_, p)| p).collect(),
            });
        }
        match sort {
            Sort::Risk => {
                rows.sort_by(|a, b| b.risk.cmp(&a.risk).then_with(|| a.email.cmp(&b.email)));
            }
            Sort::Email => rows.sort_by(|a, b| a.email.cmp(&b.email)),
            Sort::Codes => rows.sort_by(|a, b| {
                a.codes_left
                    .cmp(&b.codes_left)
                    .then_with(|| a.email.cmp(&b.email))
            }),
        }
        Ok(Readiness {
            users: store::users::counts(conn, now, policy.backup_low)?.total,
            at_risk: rows.len(),
            rows,
        })
    }
}

/// One CSV cell (RFC 4180: quoted where needed). A cell a spreadsheet would
/// read as a formula (it starts with `=`, `+`, `-`, `@`, a tab or a carriage
/// return) gets a leading `'`, as OWASP advises against CSV injection: names
/// are typed by whoever adds a user, and the report is opened by admins.
fn field(text: &str) -> String {
    let text = if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_owned()
    };
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

/// The report as CSV (RFC 4180), safe to open in a spreadsheet.
pub fn csv(r: &Readiness) -> String {
    let mut out = String::from("email,name,factors,codes_left,codes_total,risk,problems\r\n");
    for row in &r.rows {
        let factors: Vec<&str> = row.factors.iter().map(|k| k.as_str()).collect();
        out.push_str(
            &[
                field(&row.email),
                field(&row.name),
                field(&factors.join(" ")),
                row.codes_left.to_string(),
                row.codes_total.to_string(),
                row.risk.to_string(),
                field(&row.problems.join("; ")),
            ]
            .join(","),
        );
        out.push_str("\r\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let r = Readiness {
            users: 1,
            at_risk: 1,
            rows: vec![ReadinessRow {
                email: "x@example.com".into(),
                name: "=cmd|' /C calc'!A0".into(),
                factors: Vec::new(),
                codes_left: 0,
                codes_total: 0,
                risk: 100,
                problems: vec!["-".into()],
            }],
        };
        assert_eq!(
            csv(&r).lines().nth(1).unwrap(),
            "x@example.com,'=cmd|' /C calc'!A0,,0,0,100,'-"
        );
    }

    #[test]
    fn csv_quotes_what_needs_quoting() {
        let r = Readiness {
            users: 1,
            at_risk: 1,
            rows: vec![ReadinessRow {
                email: "a@example.com".into(),
                name: "Ng, \"Al\"".into(),
                factors: vec![FactorKind::Sms],
                codes_left: 0,
                codes_total: 10,
                risk: 50,
                problems: vec!["x".into(), "y".into()],
            }],
        };
        assert_eq!(
            csv(&r),
            "email,name,factors,codes_left,codes_total,risk,problems\r\na@example.com,\"Ng, \"\"Al\"\"\",sms,0,10,50,x; y\r\n"
        );
    }
}
