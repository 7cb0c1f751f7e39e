//! The `factordesk` binary: parse arguments, install error reporting, dispatch.

use clap::Parser as _;

fn main() {
    // Panics (there should be none) get a readable report; errors are ours.
    let _ = color_eyre::install();
    let cli = factordesk::cli::Cli::parse();
    std::process::exit(factordesk::cli::run(&cli));
}
