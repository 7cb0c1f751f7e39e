//! The `factordesk` binary: parse arguments, install error reporting, dispatch.

fn main() {}
