//! A progress bar on stderr for a long report written to a file: shown only
//! when stderr is a terminal and stdout is not (a pipe or CI sees nothing).

use std::io::{IsTerminal as _, Write};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Fewer rows than this are written before a bar could be read.
pub const WORTH_A_BAR: u64 = 5_000;

/// A bar counting the rows `total` says there are (asked only when a bar
/// would show), or one that draws nothing: when stdout is a terminal the
/// rows themselves show progress, when stderr is not nobody watches it, and
/// a short report is done before a bar could be read.
pub fn rows_bar<E>(what: &str, total: impl FnOnce() -> Result<u64, E>) -> Result<ProgressBar, E> {
    let watched = std::io::stderr().is_terminal() && !std::io::stdout().is_terminal();
    if !watched {
        return Ok(ProgressBar::hidden());
    }
    let total = total()?;
    if total < WORTH_A_BAR {
        return Ok(ProgressBar::hidden());
    }
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    let style = ProgressStyle::with_template("{prefix} [{bar:32}] {pos}/{len} rows ({eta} left)")
        .map_or_else(
            |_| ProgressStyle::default_bar(),
            |s| s.progress_chars("=> "),
        );
    bar.set_style(style);
    bar.set_prefix(what.to_owned());
    Ok(bar)
}

/// A writer that moves `bar` on by one for each line written: a report
/// that writes a row a line (CSV, the JSON report's rows) is counted as it
/// streams, with nothing held back.
pub struct Lines<W: Write> {
    inner: W,
    bar: ProgressBar,
}

impl<W: Write> Lines<W> {
    pub fn new(inner: W, bar: ProgressBar) -> Self {
        Self { inner, bar }
    }
}

impl<W: Write> Write for Lines<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        // A page of rows at a time: no need for a crate that counts faster.
        #[allow(clippy::naive_bytecount)]
        let lines = buf[..n].iter().filter(|b| **b == b'\n').count();
        self.bar.inc(u64::try_from(lines).unwrap_or(0));
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

impl<W: Write> Drop for Lines<W> {
    fn drop(&mut self) {
        self.bar.finish_and_clear();
    }
}

/// A bar for a long job on stderr with its percentage and time left, when
/// stdout and stderr are a terminal (`demo --users`, `migrate`); otherwise
/// one that draws nothing.
pub fn job_bar() -> ProgressBar {
    let on_terminal = std::io::stdout().is_terminal() && std::io::stderr().is_terminal();
    if !on_terminal {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
    let style =
        ProgressStyle::with_template("{prefix} [{bar:32}] {percent:>3}% {msg} ({eta} left)")
            .map_or_else(
                |_| ProgressStyle::default_bar(),
                |s| s.progress_chars("=> "),
            );
    bar.set_style(style);
    bar
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_pass_through_and_are_counted() {
        let bar = ProgressBar::hidden();
        let mut out = Lines::new(Vec::new(), bar.clone());
        out.write_all(b"a,b\n1,2\n3,").unwrap();
        out.write_all(b"4\n").unwrap();
        assert_eq!(bar.position(), 3);
        assert_eq!(out.inner, b"a,b\n1,2\n3,4\n");
    }
}
