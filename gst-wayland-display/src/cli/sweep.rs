//! `sweep`: remove stale Wayland sockets and lock files from a runtime directory.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use waylanddisplaycore::socket::{self, SocketSpec};

#[derive(clap::Args)]
pub(crate) struct SweepArgs {
    /// Say what would be removed, remove nothing.
    #[arg(long)]
    dry_run: bool,
    /// The directory to sweep (default: $XDG_RUNTIME_DIR).
    dir: Option<PathBuf>,
}

pub(crate) fn run(args: &SweepArgs) -> anyhow::Result<ExitCode> {
    let dir = match &args.dir {
        Some(dir) => dir.clone(),
        None => socket::runtime_dir(&SocketSpec::auto()).context("no directory given")?,
    };
    let report = if args.dry_run {
        socket::sweep_dry_run(&dir)
    } else {
        socket::sweep(&dir)
    }
    .with_context(|| format!("sweeping {}", dir.display()))?;
    let verb = if args.dry_run {
        "would remove"
    } else {
        "removed"
    };
    for path in &report.removed {
        println!("{verb} {}", path.display());
    }
    for kept in &report.kept {
        println!("kept {} ({})", kept.path.display(), kept.reason);
    }
    println!(
        "{}: {} {verb}, {} kept",
        dir.display(),
        report.removed.len(),
        report.kept.len()
    );
    Ok(ExitCode::SUCCESS)
}
