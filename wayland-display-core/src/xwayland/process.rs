//! The `Xwayland` process: spawned on an allocated display's sockets, connected to the
//! compositor by a Wayland socket pair and to the window manager by an X11 one, and
//! killed and reaped (with anything it started, such as `xkbcomp`) when dropped. It also
//! dies with the compositor's thread (`PR_SET_PDEATHSIG`), so a killed lobby worker does
//! not leave it running.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::io::{self, BufRead, BufReader};
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use rustix::io::{FdFlags, fcntl_setfd};
use rustix::pipe::{PipeFlags, pipe_with};
use rustix::process::{Pid, Signal, kill_process_group, set_parent_process_death_signal};

use super::XwaylandError;

/// What Xwayland said last on stderr, kept to explain a failed start.
const KEPT_LINES: usize = 8;

/// Environment passed through to Xwayland; everything else is the app's, not the
/// server's business.
const KEPT_ENV: [&str; 5] = [
    "PATH",
    "XDG_RUNTIME_DIR",
    "LD_LIBRARY_PATH",
    "XKB_CONFIG_ROOT",
    "HOME",
];

/// `Xwayland` on `PATH`.
pub(crate) fn find_program() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join("Xwayland"))
        .find(|candidate| {
            std::fs::metadata(candidate).is_ok_and(|m| {
                use std::os::unix::fs::PermissionsExt;
                m.is_file() && m.permissions().mode() & 0o111 != 0
            })
        })
}

/// A running Xwayland and the compositor's ends of its connections.
pub(crate) struct Spawned {
    pub(crate) process: XwaylandProcess,
    /// The window manager's X11 connection (`-wm`).
    pub(crate) wm: UnixStream,
    /// Xwayland's Wayland connection (`WAYLAND_SOCKET`), to insert as a client.
    pub(crate) wayland: UnixStream,
    /// Readable once Xwayland serves X11 clients (`-displayfd`).
    pub(crate) ready: ReadyPipe,
}

/// The process, killed and reaped on drop.
pub(crate) struct XwaylandProcess {
    child: Child,
    stderr: Option<JoinHandle<()>>,
    said: Arc<Mutex<VecDeque<String>>>,
}

impl XwaylandProcess {
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Its last words on stderr, for an error message.
    pub(crate) fn last_words(&self) -> String {
        match self.said.lock() {
            Ok(lines) => lines.iter().cloned().collect::<Vec<_>>().join(" | "),
            Err(_) => String::new(),
        }
    }

    /// Whether it has exited (and is reaped), with its status.
    pub(crate) fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }
}

impl Drop for XwaylandProcess {
    fn drop(&mut self) {
        // Its own process group: xkbcomp and any helper go with it.
        if let Ok(pid) = i32::try_from(self.child.id())
            && let Some(group) = Pid::from_raw(pid)
        {
            let _ = kill_process_group(group, Signal::KILL);
        }
        let _ = self.child.kill();
        match self.child.wait() {
            Ok(status) => tracing::debug!(%status, "Xwayland reaped"),
            Err(err) => tracing::warn!(%err, "could not reap Xwayland"),
        }
        if let Some(thread) = self.stderr.take() {
            let _ = thread.join();
        }
    }
}

/// Starts `program` as the X server of display `number`, listening on `listeners`.
pub(crate) fn spawn(
    program: &Path,
    number: u32,
    listeners: &[OwnedFd],
) -> Result<Spawned, XwaylandError> {
    let io_err = XwaylandError::Spawn;
    let (wm_ours, wm_theirs) = UnixStream::pair().map_err(io_err)?;
    let (wl_ours, wl_theirs) = UnixStream::pair().map_err(io_err)?;
    let (ready_read, ready_write) =
        pipe_with(PipeFlags::CLOEXEC | PipeFlags::NONBLOCK).map_err(|e| io_err(e.into()))?;

    let mut command = Command::new(program);
    command
        .arg(format!(":{number}"))
        .arg("-rootless")
        .arg("-wm")
        .arg(wm_theirs.as_raw_fd().to_string())
        .arg("-displayfd")
        .arg(ready_write.as_raw_fd().to_string());
    for listener in listeners {
        command
            .arg("-listenfd")
            .arg(listener.as_raw_fd().to_string());
    }
    command.env_clear();
    for key in KEPT_ENV {
        if let Some(value) = std::env::var_os(key) {
            command.env(key, value);
        }
    }
    command
        .env(
            "WAYLAND_SOCKET",
            OsString::from(wl_theirs.as_raw_fd().to_string()),
        )
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .process_group(0);

    let mut inherited: Vec<RawFd> = vec![
        wm_theirs.as_raw_fd(),
        wl_theirs.as_raw_fd(),
        ready_write.as_raw_fd(),
    ];
    inherited.extend(listeners.iter().map(AsRawFd::as_raw_fd));
    // SAFETY: the closure runs in the forked child before exec and makes only
    // async-signal-safe system calls (fcntl, prctl), allocating nothing: `inherited` was
    // built before the fork.
    unsafe {
        command.pre_exec(move || {
            for &fd in &inherited {
                // SAFETY: every fd in `inherited` is open in the parent, hence in the
                // child, for the duration of this call (the parent holds them until spawn
                // returns).
                let fd = BorrowedFd::borrow_raw(fd);
                fcntl_setfd(fd, FdFlags::empty())?;
            }
            set_parent_process_death_signal(Some(Signal::KILL))?;
            Ok(())
        });
    }
    let mut child = command.spawn().map_err(io_err)?;
    // The child has its copies; ours would keep the connections open if it died.
    drop((wm_theirs, wl_theirs, ready_write));

    let said = Arc::new(Mutex::new(VecDeque::with_capacity(KEPT_LINES)));
    let stderr = child.stderr.take().and_then(|pipe| {
        let said = Arc::clone(&said);
        let dispatch = tracing::dispatcher::get_default(Clone::clone);
        std::thread::Builder::new()
            .name("xwayland-stderr".into())
            .spawn(move || {
                tracing::dispatcher::with_default(&dispatch, || relay_stderr(pipe, &said));
            })
            .ok()
    });
    tracing::info!(display = number, pid = child.id(), program = %program.display(), "Xwayland started");
    Ok(Spawned {
        process: XwaylandProcess {
            child,
            stderr,
            said,
        },
        wm: wm_ours,
        wayland: wl_ours,
        ready: ReadyPipe { fd: ready_read },
    })
}

fn relay_stderr(pipe: std::process::ChildStderr, said: &Mutex<VecDeque<String>>) {
    for line in BufReader::new(pipe).lines() {
        let Ok(line) = line else { break };
        tracing::debug!(target: "xwayland", "{line}");
        if let Ok(mut kept) = said.lock() {
            if kept.len() == KEPT_LINES {
                kept.pop_front();
            }
            kept.push_back(line);
        }
    }
}

/// The read end of `-displayfd`: Xwayland writes its display number and a newline there
/// once it serves clients.
pub(crate) struct ReadyPipe {
    fd: OwnedFd,
}

/// What the pipe says so far.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Readiness {
    Waiting,
    Ready,
    /// Closed before a newline: Xwayland exited.
    Gone,
}

impl std::os::fd::AsFd for ReadyPipe {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }
}

impl ReadyPipe {
    pub(crate) fn poll(&self) -> io::Result<Readiness> {
        let mut buf = [0u8; 32];
        loop {
            match rustix::io::read(&self.fd, &mut buf) {
                Ok(0) => return Ok(Readiness::Gone),
                Ok(n) => {
                    if buf.get(..n).unwrap_or_default().contains(&b'\n') {
                        return Ok(Readiness::Ready);
                    }
                }
                Err(rustix::io::Errno::AGAIN) => return Ok(Readiness::Waiting),
                Err(rustix::io::Errno::INTR) => {}
                Err(err) => return Err(err.into()),
            }
        }
    }
}
