//! Users as a CSV file of `email,name,role,phone` (header required), read for
//! an import and written for an export, with no secrets in either.

use super::authelia::csv_error;
use super::{LineError, Problem, one_line, record_line};
use crate::domain::{Role, text};

/// The columns, in the order an export writes them.
pub const COLUMNS: [&str; 4] = ["email", "name", "role", "phone"];

/// One user as a file gives them; the desk checks each field as it checks
/// `user add`'s.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRecord {
    pub line: usize,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub phone: Option<String>,
}

/// The users of a CSV file whose first line names its columns: `email`
/// and any of `name`, `role` (admin or member; member if empty) and
/// `phone`, in any order.
pub fn parse(text: &str) -> Result<Vec<UserRecord>, LineError> {
    super::quotes_closed(text)?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| csv_error(&e, 1))?
        .iter()
        .map(str::to_ascii_lowercase)
        .collect();
    let expected = || Problem::Header {
        expected: format!(
            "{} (email required, the others optional, in any order)",
            COLUMNS.join(",")
        ),
    };
    if header.iter().any(|h| !COLUMNS.contains(&h.as_str()))
        || !header.iter().any(|h| h == "email")
        || (1..header.len()).any(|i| header[..i].contains(&header[i]))
    {
        return Err(LineError::at(1, expected()));
    }
    let at = |name: &str| header.iter().position(|h| h == name);
    let (email, name, role, phone) = (at("email"), at("name"), at("role"), at("phone"));
    let mut users = Vec::new();
    for row in reader.records() {
        let row = row.map_err(|e| csv_error(&e, users.len() + 2))?;
        let line = record_line(text, &row, users.len() + 2);
        if row.iter().all(str::is_empty) {
            continue;
        }
        one_line(&row, line)?;
        if row.len() != header.len() {
            return Err(LineError::at(
                line,
                Problem::Columns {
                    expected: header.len().to_string(),
                    found: row.len(),
                },
            ));
        }
        let cell = |i: Option<usize>| i.and_then(|i| row.get(i)).map_or("", unspreadsheet);
        let role_text = cell(role);
        let role = match role_text {
            "" => Role::Member,
            r => Role::parse(r)
                .ok_or_else(|| LineError::at(line, Problem::Role(text::excerpt(r, 20))))?,
        };
        users.push(UserRecord {
            line,
            email: cell(email).to_owned(),
            name: cell(name).to_owned(),
            role,
            phone: Some(cell(phone).to_owned()).filter(|p| !p.is_empty()),
        });
    }
    if users.is_empty() {
        return Err(LineError::at(1, Problem::Empty));
    }
    Ok(users)
}

/// A cell an export guarded against spreadsheets (`'+1415…`), as it was.
fn unspreadsheet(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if rest.starts_with(['=', '+', '-', '@', '\t', '\r']) => rest,
        _ => cell,
    }
}

/// One CSV cell (RFC 4180: quoted where needed). A cell a spreadsheet would
/// read as a formula (it starts with `=`, `+`, `-`, `@`, a tab or a carriage
/// return) gets a leading `'`, as OWASP advises against CSV injection; an
/// import takes it off again.
pub fn spreadsheet_cell(text: &str) -> String {
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

/// The header line of an export.
pub fn csv_header() -> String {
    format!("{}\r\n", COLUMNS.join(","))
}

/// One user as a CSV line.
pub fn csv_line(email: &str, name: &str, role: Role, phone: Option<&str>) -> String {
    format!(
        "{},{},{},{}\r\n",
        spreadsheet_cell(email),
        spreadsheet_cell(name),
        role,
        spreadsheet_cell(phone.unwrap_or_default())
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_read_in_any_column_order() {
        let text = "Email,Role,Name,Phone\nann@example.com,admin,Ann Lee,+14155550123\n\n\"bo@example.com\",,\"Bo, Jr.\",\n";
        let u = parse(text).unwrap();
        assert_eq!(u.len(), 2);
        assert_eq!(
            (u[0].line, u[0].role, u[0].phone.as_deref()),
            (2, Role::Admin, Some("+14155550123"))
        );
        assert_eq!(
            (u[1].line, u[1].name.as_str(), u[1].role, u[1].phone.clone()),
            (4, "Bo, Jr.", Role::Member, None)
        );
        assert_eq!(
            parse("email\nx@example.com\n").unwrap()[0].email,
            "x@example.com"
        );
    }

    #[test]
    fn bad_files_say_where() {
        for (text, line, says) in [
            ("name,phone\nAnn,\n", 1, "header"),
            ("email,nick\na@b.c,x\n", 1, "header"),
            ("email,email\na@b.c,a@b.c\n", 1, "header"),
            ("email,role\na@b.c,boss\n", 2, "admin or member"),
            (
                "email,name\na@b.c,Ann\nb@b.c\n",
                3,
                "expected 2 columns, found 1",
            ),
            ("email,name\na@b.c,\"Ann\n", 2, "CSV"),
            ("email,name\n", 1, "nothing to import"),
        ] {
            let e = parse(text).unwrap_err();
            assert_eq!(e.line, line, "{text:?}: {e}");
            assert!(e.to_string().contains(says), "{text:?}: {e}");
        }
    }

    #[test]
    fn exported_lines_read_back() {
        let mut text = csv_header();
        text.push_str(&csv_line(
            "a@example.com",
            "=cmd|' /C calc'!A0",
            Role::Admin,
            Some("+14155550123"),
        ));
        text.push_str(&csv_line("b@example.com", "Bo, \"Jr\"", Role::Member, None));
        let u = parse(&text).unwrap();
        assert!(text.contains("'=cmd") && text.contains("'+1415"), "{text}");
        assert_eq!(u[0].name, "=cmd|' /C calc'!A0");
        assert_eq!(u[0].phone.as_deref(), Some("+14155550123"));
        assert_eq!(u[1].name, "Bo, \"Jr\"");
    }
}
