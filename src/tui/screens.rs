//! The screens, one file (or folder) each: its state, its keys, how it
//! reads the desk, answers actions and draws. None reaches into another.

pub mod audit;
pub mod doctor;
pub mod outbox;
pub mod overview;
pub mod policy;
pub mod readiness;
pub mod simulator;
pub mod user;
pub mod users;
