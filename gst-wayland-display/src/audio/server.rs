//! The sound server lobbies play into: the one `PULSE_SERVER` names (a shared server, as
//! on a streaming host; PipeWire's pulse server speaks the same protocol), or a private
//! `pulseaudio` of our own with its socket in our runtime directory, stopped with us.

use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use rustix::process::Signal;

use super::client::{CONNECT_TIMEOUT, PulseClient};
use crate::time::Deadline;

/// How long a private server may take to accept connections.
const START_TIMEOUT: Duration = Duration::from_secs(10);
/// What a private server gets after SIGTERM before SIGKILL.
const STOP_GRACE: Duration = Duration::from_secs(2);
/// The program started for a private server.
const PULSEAUDIO: &str = "pulseaudio";

#[derive(Debug, thiserror::Error)]
pub(crate) enum ServerError {
    #[error("cannot make the sound server's directory {dir}: {source}")]
    Dir {
        dir: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "cannot start the private sound server ({PULSEAUDIO}): {source} (install \
         pulseaudio, or set PULSE_SERVER to a running server)"
    )]
    Spawn { source: std::io::Error },
    #[error("the private sound server exited at start ({status}): {log}")]
    Exited {
        status: std::process::ExitStatus,
        log: String,
    },
    #[error("the private sound server did not accept connections within {0:?}: {1}")]
    NotReady(Duration, String),
}

/// Where lobbies' audio goes.
pub(crate) enum SoundServer {
    /// `PULSE_SERVER`: someone else's; only our own sinks on it are touched.
    Shared(String),
    Private(PrivateServer),
}

impl SoundServer {
    /// The shared server `PULSE_SERVER` names, else a private one for `tag` under
    /// `runtime_dir`. Call on a thread that lives as long as the server is needed (the
    /// main thread): the private server is told to end when that thread does.
    pub(crate) fn from_env_or_start(runtime_dir: &Path, tag: &str) -> Result<Self, ServerError> {
        match std::env::var("PULSE_SERVER") {
            Ok(address) if !address.trim().is_empty() => Ok(Self::Shared(address)),
            _ => PrivateServer::start(runtime_dir, tag).map(Self::Private),
        }
    }

    /// The server's address, as `PULSE_SERVER` and pulsesrc's `server` take it.
    pub(crate) fn address(&self) -> &str {
        match self {
            Self::Shared(address) => address,
            Self::Private(server) => &server.address,
        }
    }

    pub(crate) fn is_private(&self) -> bool {
        matches!(self, Self::Private(_))
    }
}

/// A `pulseaudio` of our own: no configuration file, one native-protocol socket in its
/// directory (which only we can enter), and a discard sink as the fallback, so that an app
/// that ignores `PULSE_SINK` plays into nothing rather than into another lobby's sink.
/// Dropping it stops the server and removes its directory.
pub(crate) struct PrivateServer {
    child: Child,
    dir: PathBuf,
    address: String,
    log: Option<std::thread::JoinHandle<()>>,
}

impl PrivateServer {
    pub(crate) fn start(runtime_dir: &Path, tag: &str) -> Result<Self, ServerError> {
        let dir = runtime_dir.join(format!("gst-wayland-display-pulse.{tag}"));
        fresh_private_dir(&dir)?;
        let socket = dir.join("native");
        let mut command = Command::new(PULSEAUDIO);
        command
            .args([
                "-n",
                "--daemonize=no",
                "--exit-idle-time=-1",
                "--use-pid-file=false",
                "--system=false",
                "--realtime=no",
                "--high-priority=no",
                "--log-target=stderr",
                "--log-level=notice",
            ])
            .arg(format!(
                "--load=module-native-protocol-unix socket={} auth-anonymous=1",
                socket.display()
            ))
            .arg(
                "--load=module-null-sink sink_name=gst-wayland-display.discard \
                 sink_properties=device.description=discard",
            )
            // Its state and runtime files stay in its directory, never the user's.
            .env("PULSE_RUNTIME_PATH", dir.join("runtime"))
            .env("PULSE_STATE_PATH", dir.join("state"))
            .env("HOME", &dir)
            .env("XDG_CONFIG_HOME", dir.join("config"))
            .env_remove("PULSE_SERVER")
            .env_remove("DBUS_SESSION_BUS_ADDRESS")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            // Its own group (a Ctrl-C meant for us is handled by us), and it ends with
            // this thread: a SIGKILLed host leaves no server behind.
            .process_group(0);
        // SAFETY: only async-signal-safe calls between fork and exec.
        unsafe {
            command.pre_exec(|| {
                rustix::process::set_parent_process_death_signal(Some(Signal::TERM))
                    .map_err(std::io::Error::from)
            });
        }
        let mut child = command
            .spawn()
            .map_err(|source| ServerError::Spawn { source })?;
        let (log, lines) = forward_log(&mut child);
        let mut server = Self {
            child,
            dir,
            address: format!("unix:{}", socket.display()),
            log,
        };
        server.wait_ready(&lines)?;
        tracing::info!(address = %server.address, "private sound server started");
        Ok(server)
    }

    /// Waits until the server takes a connection; fails with its log if it exits first.
    fn wait_ready(&mut self, lines: &std::sync::mpsc::Receiver<String>) -> Result<(), ServerError> {
        let deadline = Deadline::after(START_TIMEOUT);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                let log: Vec<String> = lines.try_iter().collect();
                return Err(ServerError::Exited {
                    status,
                    log: log.join("; "),
                });
            }
            match PulseClient::connect(&self.address, CONNECT_TIMEOUT) {
                Ok(_) => return Ok(()),
                Err(err) if deadline.passed() => {
                    return Err(ServerError::NotReady(START_TIMEOUT, err.to_string()));
                }
                Err(_) => {}
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for PrivateServer {
    fn drop(&mut self) {
        let pid = rustix::process::Pid::from_child(&self.child);
        let _ = rustix::process::kill_process(pid, Signal::TERM);
        let deadline = Deadline::after(STOP_GRACE);
        let exited = loop {
            match self.child.try_wait() {
                Ok(Some(_)) | Err(_) => break true,
                Ok(None) if deadline.passed() => break false,
                Ok(None) => std::thread::sleep(Duration::from_millis(10)),
            }
        };
        if !exited {
            tracing::warn!("the private sound server did not stop in time; killing it");
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        if let Some(log) = self.log.take() {
            let _ = log.join();
        }
        if let Err(err) = std::fs::remove_dir_all(&self.dir) {
            tracing::warn!(dir = %self.dir.display(), %err, "cannot remove the sound server's directory");
        }
    }
}

/// Makes `dir` afresh, private to us. One left by an earlier run of the same tag (killed
/// with its server) is ours by its name: it is removed first.
fn fresh_private_dir(dir: &Path) -> Result<(), ServerError> {
    use std::os::unix::fs::DirBuilderExt;
    let failed = |source| ServerError::Dir {
        dir: dir.to_path_buf(),
        source,
    };
    match std::fs::symlink_metadata(dir) {
        Ok(meta) if meta.is_dir() => std::fs::remove_dir_all(dir).map_err(failed)?,
        Ok(_) => std::fs::remove_file(dir).map_err(failed)?,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
        Err(err) => return Err(failed(err)),
    }
    std::fs::DirBuilder::new()
        .mode(0o700)
        .create(dir)
        .map_err(failed)
}

/// Sends the server's log lines to ours (at debug: it warns about running as root on every
/// start), keeping the latest for an error at start-up.
fn forward_log(
    child: &mut Child,
) -> (
    Option<std::thread::JoinHandle<()>>,
    std::sync::mpsc::Receiver<String>,
) {
    let (tx, rx) = std::sync::mpsc::sync_channel(32);
    let Some(stderr) = child.stderr.take() else {
        return (None, rx);
    };
    let thread = std::thread::Builder::new()
        .name("pulseaudio-log".to_owned())
        .spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                tracing::debug!(target: "pulseaudio", "{line}");
                let _ = tx.try_send(line);
            }
        })
        .ok();
    (thread, rx)
}

/// The path of a local socket that a server address names, for mounting it into a
/// container: `unix:/path` or `/path`, the first of a space-separated list that is one.
pub(crate) fn local_socket(address: &str) -> Option<PathBuf> {
    address.split_whitespace().find_map(|entry| {
        // A `{machine-id}` prefix limits an entry to one machine; ours is that machine.
        let entry = match entry.strip_prefix('{') {
            Some(rest) => rest.split_once('}').map(|(_, e)| e)?,
            None => entry,
        };
        let path = entry.strip_prefix("unix:").unwrap_or(entry);
        path.starts_with('/').then(|| PathBuf::from(path))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_sockets_are_found_in_addresses() {
        let cases = [
            (
                "unix:/run/user/0/pulse/native",
                Some("/run/user/0/pulse/native"),
            ),
            ("/tmp/p/native", Some("/tmp/p/native")),
            ("tcp:localhost:4713 unix:/a/b", Some("/a/b")),
            ("{abc}unix:/x/native", Some("/x/native")),
            ("tcp:10.0.0.1", None),
            ("localhost", None),
            ("unix:relative", None),
            ("{unterminated", None),
            ("", None),
        ];
        for (address, want) in cases {
            assert_eq!(local_socket(address), want.map(PathBuf::from), "{address}");
        }
    }

    mod fuzz {
        use proptest::prelude::*;

        use super::super::*;

        proptest! {
            #![proptest_config(ProptestConfig { cases: 4096, failure_persistence: None, ..ProptestConfig::default() })]

            /// Any `PULSE_SERVER` value: a socket found is an absolute path the value names.
            #[test]
            fn addresses_name_sockets_or_none(address in ".{0,60}") {
                if let Some(path) = local_socket(&address) {
                    let path = path.to_string_lossy().into_owned();
                    prop_assert!(path.starts_with('/'));
                    prop_assert!(address.contains(&path));
                }
            }
        }
    }
}
