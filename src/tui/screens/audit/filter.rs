//! The Audit screen's `/` filter, typed in one line: words to find, and
//! `kind:` `by:` `since:` `until:` terms; read into the desk's query.

use crate::desk::search::{AuditQuery, parse_when};
use crate::domain::Time;

/// The filter typed, as the screen keeps it (shown again when `/` is
/// pressed, so it can be edited).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    pub text: Option<String>,
    pub kind: Option<String>,
    pub by: Option<String>,
    pub since: Option<Time>,
    pub until: Option<Time>,
    /// As typed.
    pub typed: String,
}

impl Filter {
    /// Read a typed filter; an age (`7d`) counts back from `now`. Words
    /// without a `name:` are the text to find.
    pub fn parse(typed: &str, now: Time) -> Result<Filter, String> {
        let mut f = Filter {
            typed: typed.trim().to_owned(),
            ..Filter::default()
        };
        let mut words = Vec::new();
        for word in typed.split_whitespace() {
            let Some((name, value)) = word.split_once(':').filter(|(_, v)| !v.is_empty()) else {
                words.push(word);
                continue;
            };
            let when = |v: &str| {
                parse_when(v, now).ok_or_else(|| {
                    format!("`{v}` is not a time: write 2026-11-21, 2026-11-21T09:00:00Z or an age like 24h or 7d.")
                })
            };
            match name {
                "kind" => f.kind = Some(value.to_owned()),
                "by" => f.by = Some(value.to_owned()),
                "since" => f.since = Some(when(value)?),
                "until" => f.until = Some(when(value)?),
                _ => words.push(word),
            }
        }
        if let (Some(s), Some(u)) = (f.since, f.until)
            && s >= u
        {
            return Err("since: must be before until:.".to_owned());
        }
        f.text = Some(words.join(" ")).filter(|t| !t.is_empty());
        Ok(f)
    }

    /// The desk's query for this filter, beside the screen's own user and
    /// kind (a `kind:` typed wins over the kind cycled with `f`).
    pub fn query(&self, user: Option<String>, kind: Option<String>) -> AuditQuery {
        AuditQuery {
            user,
            kind: self.kind.clone().or(kind),
            actor: self.by.clone(),
            since: self.since,
            until: self.until,
            text: self.text.clone(),
            limit: 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{DateTime, TimeDelta};

    fn now() -> Time {
        DateTime::parse_from_rfc3339("2026-11-21T09:00:00Z")
            .unwrap()
            .to_utc()
    }

    #[test]
    fn words_and_terms_are_read_apart() {
        let f = Filter::parse(
            " lost  phone by:alice kind:user since:7d until:2026-11-21 ",
            now(),
        )
        .unwrap();
        assert_eq!(f.text.as_deref(), Some("lost phone"));
        assert_eq!(f.by.as_deref(), Some("alice"));
        assert_eq!(f.kind.as_deref(), Some("user"));
        assert_eq!(f.since, Some(now() - TimeDelta::days(7)));
        assert_eq!(f.until, Some(now() - TimeDelta::hours(9)));
        // A colon in a word that names nothing is text.
        let f = Filter::parse("10:30 note:x", now()).unwrap();
        assert_eq!(f.text.as_deref(), Some("10:30 note:x"));
        assert_eq!(Filter::parse("", now()).unwrap(), Filter::default());
    }

    #[test]
    fn bad_times_and_ranges_are_refused() {
        assert!(
            Filter::parse("since:tomorrow", now())
                .unwrap_err()
                .contains("not a time")
        );
        assert!(Filter::parse("since:1d until:2d", now()).is_err());
    }
}
