//! Running the real binary: a `factordesk` command that sees none of the
//! caller's settings, and `Out`, what one run gave, with the checks on it.

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

/// What no run may print, whatever its exit code.
const NEVER: [&str; 4] = ["panicked", "backtrace", "RUST_BACKTRACE", "Location:"];

/// `factordesk` in `dir`, with no database, key or actor from the
/// environment, no colour, and its home (and default database) in `dir`.
pub fn factordesk(dir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_factordesk"));
    cmd.current_dir(dir)
        .env_remove("FACTORDESK_DB")
        .env_remove("FACTORDESK_KEY")
        .env_remove("FACTORDESK_KEY_FILE")
        .env_remove("FACTORDESK_ACTOR")
        // The system's trusted CAs for PostgreSQL TLS are the machine's.
        .env_remove("SSL_CERT_FILE")
        .env_remove("SSL_CERT_DIR")
        .env("NO_COLOR", "1")
        // The default database's home is this test's, never the real one.
        .env("HOME", dir.join("home"))
        .env("XDG_DATA_HOME", dir.join("data"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

/// Run `cmd` to its end, `stdin` written to it (or stdin closed).
pub fn run(mut cmd: Command, stdin: Option<&[u8]>) -> Out {
    if stdin.is_some() {
        cmd.stdin(Stdio::piped());
    }
    let mut child = cmd.spawn().expect("the binary runs");
    if let Some(bytes) = stdin {
        // The command may refuse before reading all of it.
        let _ = child.stdin.take().unwrap().write_all(bytes);
    }
    Out::of(child.wait_with_output().unwrap())
}

/// What one run of the binary gave.
#[derive(Debug)]
pub struct Out {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Out {
    /// The run's output, checked for what no run may print.
    pub fn of(output: Output) -> Out {
        let out = Out {
            code: output.status.code().expect("exited, not killed"),
            stdout: String::from_utf8(output.stdout).unwrap(),
            stderr: String::from_utf8(output.stderr).unwrap(),
        };
        let all = format!("{}{}", out.stdout, out.stderr);
        for bad in NEVER {
            assert!(!all.contains(bad), "`{bad}` in the output: {out:?}");
        }
        out
    }

    /// Exit 0.
    pub fn ok(self) -> Self {
        assert_eq!(self.code, 0, "expected success: {self:?}");
        self
    }

    /// Exit 0 with nothing on stderr.
    pub fn quiet(self) -> Self {
        assert_eq!(self.code, 0, "expected success: {self:?}");
        assert!(self.stderr.is_empty(), "stderr on success: {self:?}");
        self
    }

    /// Stdout as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {self:?}"))
    }

    /// Exit 1; the error as printed.
    pub fn error(&self) -> &str {
        assert_eq!(self.code, 1, "expected an error: {self:?}");
        self.stderr.trim_end()
    }

    /// Exit `code` with one clear `error: ` line; that line.
    pub fn refused(&self, code: i32) -> &str {
        assert_eq!(self.code, code, "expected exit {code}: {self:?}");
        assert!(self.stderr.starts_with("error: "), "{self:?}");
        assert_eq!(self.stderr.trim_end().lines().count(), 1, "{self:?}");
        self.stderr.trim_end()
    }

    /// Exit 1 with one clear `error: ` line; that line.
    pub fn error_line(self) -> String {
        self.refused(1).to_owned()
    }

    /// The one JSON error object on stderr (under `--json`), its exit code
    /// this run's.
    pub fn json_error(&self) -> Value {
        assert_eq!(
            self.stderr.trim_end().lines().count(),
            1,
            "one line: {self:?}"
        );
        let e: Value = serde_json::from_str(self.stderr.trim_end())
            .unwrap_or_else(|e| panic!("stderr is not JSON ({e}): {self:?}"));
        assert_eq!(e["exit_code"], self.code, "{e}");
        assert!(e["error"].as_str().is_some_and(|m| !m.is_empty()), "{e}");
        e
    }
}
