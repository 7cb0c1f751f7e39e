//! The `factordesk` binary: parse arguments, install error reporting, dispatch.

use clap::Parser as _;

fn main() {
    // Panics (there should be none) get a readable report; errors are ours.
    let _ = color_eyre::install();
    let cli = match factordesk::cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => std::process::exit(factordesk::cli::usage_error(&e)),
    };
    std::process::exit(factordesk::cli::run(&cli));
}
