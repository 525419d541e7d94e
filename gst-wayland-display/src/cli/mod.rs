//! Subcommands that run once and print to the terminal.

pub(crate) mod devices;
pub(crate) mod run;
pub(crate) mod sweep;
