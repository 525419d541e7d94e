//! `gwd-socket-holder DIR COUNT [NAME]`: binds COUNT automatic Wayland sockets in DIR (or
//! the one explicit NAME), prints each name, then `ready`, and holds them, locked and
//! listening, until its stdin closes. Tests use it as "another process that is alive".

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use waylanddisplaycore::socket::{SocketSpec, allocate};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(dir), Some(count)) = (
        args.first(),
        args.get(1).and_then(|c| c.parse::<u32>().ok()),
    ) else {
        eprintln!("usage: gwd-socket-holder DIR COUNT [NAME]");
        return ExitCode::from(2);
    };
    let spec = match args.get(2) {
        Some(name) => SocketSpec::named(name.clone()),
        None => SocketSpec::auto(),
    }
    .in_dir(PathBuf::from(dir));
    let mut held = Vec::new();
    let mut out = std::io::stdout().lock();
    for _ in 0..count {
        match allocate(&spec) {
            Ok(socket) => {
                let _ = writeln!(out, "{}", socket.display_name());
                held.push(socket);
            }
            Err(err) => {
                eprintln!("gwd-socket-holder: {err}");
                return ExitCode::FAILURE;
            }
        }
    }
    let _ = writeln!(out, "ready");
    let _ = out.flush();
    drop(out);
    // Hold until the test closes our stdin (or dies, which closes it too).
    for _ in std::io::stdin().lock().lines() {}
    drop(held);
    ExitCode::SUCCESS
}
