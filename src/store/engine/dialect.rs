//! The one rewrite SQL needs between the engines: `SQLite`'s `?1` parameters
//! as `PostgreSQL`'s `$1`, never inside a literal, a quoted name or a comment.

use std::borrow::Cow;

/// `sql` as `PostgreSQL` reads it: each parameter outside string literals,
/// quoted identifiers, comments and dollar-quoted bodies becomes `$N`.
/// A numbered `?N` keeps its number; a bare `?` takes the number after the
/// largest one so far, as `SQLite` numbers it. Everything else is kept byte
/// for byte, so SQL without a parameter comes back borrowed. Malformed SQL
/// (an unterminated literal, `?0`) passes through for the server to refuse.
pub fn postgres(sql: &str) -> Cow<'_, str> {
    if !sql.contains('?') {
        return Cow::Borrowed(sql);
    }
    let bytes = sql.as_bytes();
    let mut out = String::with_capacity(sql.len() + 8);
    let mut copied = 0;
    let mut largest = 0u64;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\'' => {
                // An `E'…'` string reads backslash escapes; a plain one only `''`.
                let escapes = i > 0
                    && matches!(bytes[i - 1], b'E' | b'e')
                    && (i < 2 || !is_ident(bytes[i - 2]));
                i = skip_quoted(bytes, i, b'\'', escapes);
            }
            b'"' => i = skip_quoted(bytes, i, b'"', false),
            b'-' if bytes.get(i + 1) == Some(&b'-') => {
                i = bytes[i..]
                    .iter()
                    .position(|&b| b == b'\n')
                    .map_or(bytes.len(), |n| i + n + 1);
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => i = skip_block_comment(bytes, i),
            b'$' if i == 0 || !is_ident(bytes[i - 1]) => i = skip_dollar_quoted(bytes, i),
            b'?' => {
                let digits = bytes[i + 1..]
                    .iter()
                    .take_while(|b| b.is_ascii_digit())
                    .count();
                let number = if digits == 0 {
                    largest + 1
                } else {
                    sql[i + 1..=i + digits].parse().unwrap_or(u64::MAX)
                };
                largest = largest.max(number);
                out.push_str(&sql[copied..i]);
                out.push('$');
                if digits == 0 {
                    out.push_str(&number.to_string());
                } else {
                    // The digits as written (`?007` is `$007`, which both read as 7).
                    out.push_str(&sql[i + 1..=i + digits]);
                }
                i += 1 + digits;
                copied = i;
            }
            _ => i += 1,
        }
    }
    if copied == 0 {
        return Cow::Borrowed(sql);
    }
    out.push_str(&sql[copied..]);
    Cow::Owned(out)
}

fn is_ident(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80
}

/// The index after a literal or quoted name opened at `start`; a doubled
/// quote is part of it, and with `escapes` so is a backslash's next byte.
fn skip_quoted(bytes: &[u8], start: usize, quote: u8, escapes: bool) -> usize {
    let mut i = start + 1;
    while i < bytes.len() {
        if escapes && bytes[i] == b'\\' {
            i += 2;
        } else if bytes[i] == quote {
            if bytes.get(i + 1) == Some(&quote) {
                i += 2;
            } else {
                return i + 1;
            }
        } else {
            i += 1;
        }
    }
    bytes.len()
}

/// The index after a `/* … */` comment (`PostgreSQL`'s nest).
fn skip_block_comment(bytes: &[u8], start: usize) -> usize {
    let mut depth = 0usize;
    let mut i = start;
    while i + 1 < bytes.len() {
        match (bytes[i], bytes[i + 1]) {
            (b'/', b'*') => {
                depth += 1;
                i += 2;
            }
            (b'*', b'/') => {
                depth -= 1;
                i += 2;
                if depth == 0 {
                    return i;
                }
            }
            _ => i += 1,
        }
    }
    bytes.len()
}

/// The index after a `$tag$ … $tag$` body starting at `start`, or the next
/// index if `$` does not open one there (a `$1` parameter, say).
fn skip_dollar_quoted(bytes: &[u8], start: usize) -> usize {
    let rest = &bytes[start + 1..];
    if rest.first().is_some_and(u8::is_ascii_digit) {
        return start + 1;
    }
    let name = rest.iter().take_while(|&&b| is_ident(b)).count();
    if rest.get(name) != Some(&b'$') {
        return start + 1;
    }
    let tag = &bytes[start..start + name + 2];
    let body = start + tag.len();
    bytes[body..]
        .windows(tag.len())
        .position(|w| w == tag)
        .map_or(bytes.len(), |n| body + n + tag.len())
}

#[cfg(test)]
mod tests {
    use super::postgres;

    #[test]
    fn numbered_parameters_keep_their_numbers() {
        assert_eq!(
            postgres("SELECT a FROM t WHERE b = ?1 AND c = ?2"),
            "SELECT a FROM t WHERE b = $1 AND c = $2"
        );
        assert_eq!(postgres("?2, ?1, ?2"), "$2, $1, $2");
    }

    #[test]
    fn ten_is_not_one_followed_by_zero() {
        assert_eq!(postgres("?10 + ?1"), "$10 + $1");
        assert_eq!(postgres("?1+?10"), "$1+$10");
        assert_eq!(postgres("x=?1;"), "x=$1;");
    }

    #[test]
    fn bare_parameters_number_on_from_the_largest_so_far() {
        assert_eq!(postgres("?, ?, ?"), "$1, $2, $3");
        // As SQLite numbers them: after ?5 a bare one is 6.
        assert_eq!(postgres("?5, ?, ?2, ?"), "$5, $6, $2, $7");
    }

    #[test]
    fn parameters_in_literals_names_and_comments_stay() {
        let sql = "SELECT '?1', 'it''s ?2', \"odd?3\" FROM t -- ?4 here\nWHERE a = ?1 /* ?5 */";
        assert_eq!(
            postgres(sql),
            "SELECT '?1', 'it''s ?2', \"odd?3\" FROM t -- ?4 here\nWHERE a = $1 /* ?5 */"
        );
        assert_eq!(postgres("/* a /* ?1 */ ?2 */ ?3"), "/* a /* ?1 */ ?2 */ $3");
        assert_eq!(postgres("'a''' = ?1"), "'a''' = $1");
    }

    #[test]
    fn escape_strings_read_backslashes_only_after_an_e() {
        assert_eq!(postgres(r"E'\'?1' = ?2"), r"E'\'?1' = $2");
        // `name'` is not an escape string: the quote ends at the backslash's quote.
        assert_eq!(postgres(r"'a\' = ?1"), r"'a\' = $1");
        assert_eq!(postgres(r"NAME'\' || ?1"), r"NAME'\' || $1");
    }

    #[test]
    fn dollar_quoted_bodies_stay() {
        let sql = "CREATE FUNCTION f() RETURNS int AS $$ SELECT ?1 $$; SELECT ?1";
        assert_eq!(
            postgres(sql),
            "CREATE FUNCTION f() RETURNS int AS $$ SELECT ?1 $$; SELECT $1"
        );
        assert_eq!(postgres("$fn$ '?1 $fn$ = ?2"), "$fn$ '?1 $fn$ = $2");
        // `$1` is a parameter, not a tag; `a$b` is a name.
        assert_eq!(postgres("$1 = ?2 AND a$b = ?1"), "$1 = $2 AND a$b = $1");
    }

    #[test]
    fn unterminated_text_passes_through() {
        assert_eq!(postgres("SELECT '?1"), "SELECT '?1");
        assert_eq!(postgres("SELECT ?1 /* ?2"), "SELECT $1 /* ?2");
        assert_eq!(postgres("?1 -- ?2"), "$1 -- ?2");
        assert_eq!(postgres("?"), "$1");
    }

    #[test]
    fn sql_without_parameters_is_borrowed() {
        assert!(matches!(
            postgres("SELECT 1"),
            std::borrow::Cow::Borrowed(_)
        ));
        assert!(matches!(
            postgres("SELECT '?'"),
            std::borrow::Cow::Borrowed(_)
        ));
        assert_eq!(postgres("SELECT 'é?', ?1"), "SELECT 'é?', $1");
    }
}
