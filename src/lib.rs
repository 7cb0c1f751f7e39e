//! factordesk: a terminal help desk for two-factor authentication.
//! The library holds every layer; `main.rs` only parses arguments and dispatches.

pub mod account;
pub mod cli;
pub mod clock;
pub mod crypto;
pub mod demo;
pub mod desk;
pub mod domain;
pub mod files;
pub mod keyfile;
pub mod location;
pub mod qr;
pub mod rng;
pub mod store;
pub mod tui;
