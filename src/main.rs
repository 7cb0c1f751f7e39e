//! The `factordesk` binary: parse arguments, install error reporting, dispatch.

fn main() {
    // Panics (there should be none) get a readable report; errors are ours.
    let _ = color_eyre::install();
    let cli = match factordesk::cli::parse() {
        Ok(cli) => cli,
        Err(code) => std::process::exit(code),
    };
    std::process::exit(factordesk::cli::run(&cli));
}
