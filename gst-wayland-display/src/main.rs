//! `gst-wayland-display`: the lobby host (`serve`), its per-lobby worker (`lobby`), one
//! lobby in the foreground (`run`), and tools (`devices`, `sweep`).

// Values from clients, users and the OS meet arithmetic here: conversions are checked and
// sums cannot wrap or panic (clippy enforces it outside the tests).
#![cfg_attr(
    not(test),
    deny(
        clippy::arithmetic_side_effects,
        clippy::cast_possible_truncation,
        clippy::cast_possible_wrap,
        clippy::cast_sign_loss
    )
)]

mod audio;
mod cli;
mod docker;
mod encoder;
mod fd_limit;
mod host;
#[cfg(test)]
mod input_agreement;
mod input_queue;
mod lobby;
mod time;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "gst-wayland-display", version, about)]
struct Cli {
    /// Log filter (tracing's EnvFilter syntax), e.g. `info` or `gst_wayland_display=debug`.
    #[arg(long, global = true, env = "GWD_LOG", default_value = "info")]
    log: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// List the render devices and what `render-node=auto` picks.
    Devices(cli::devices::DevicesArgs),
    /// Remove stale Wayland sockets (never live ones) and print what was done.
    Sweep(cli::sweep::SweepArgs),
    /// Run the lobby host: the HTTP API on a Unix socket, one worker per lobby.
    Serve(host::ServeOptions),
    /// Run one lobby in the foreground: an app streamed to a file, with a screenshot.
    Run(cli::run::RunArgs),
    /// The per-lobby worker the host starts (spec on stdin, reports on stdout).
    #[command(hide = true)]
    Lobby(lobby::worker::LobbyArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(&cli.log);
    fd_limit::raise();
    let result = match cli.command {
        Command::Devices(args) => cli::devices::run(&args),
        Command::Sweep(args) => cli::sweep::run(&args),
        Command::Run(args) => cli::run::run(&args),
        Command::Serve(options) => host::run(options),
        Command::Lobby(args) => lobby::worker::run(&args),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging(filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_new(filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}
