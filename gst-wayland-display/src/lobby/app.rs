//! The lobby's application process. It runs in a process group of its own, so that it and
//! everything it starts can be stopped together; it dies with the worker (parent-death
//! signal) even when the worker is killed outright.

use std::os::fd::AsFd;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::Duration;

use rustix::process::{Pid, Signal, kill_process_group};

use super::protocol::AppSpec;
use super::runner::Sockets;
use crate::fd_limit;
use crate::time::Deadline;

#[derive(Debug, thiserror::Error)]
pub(crate) enum AppError {
    #[error("the runner command is empty")]
    Empty,
    #[error("runner command {0:?} not found in PATH")]
    NotFound(String),
    #[error("runner command {0} is not an executable file")]
    NotExecutable(PathBuf),
    #[error("could not start the runner command {command:?}: {source}")]
    Spawn {
        command: String,
        source: std::io::Error,
    },
}

pub(crate) struct AppProcess {
    child: Child,
    pgid: Pid,
    exited: Option<ExitStatus>,
}

impl AppProcess {
    /// Starts `spec.command` with `/bin/sh -c`, connected to the lobby's socket. The program
    /// is looked up first, so a typo is reported as such rather than as a shell exit code.
    pub(crate) fn spawn(spec: &AppSpec, sockets: &Sockets<'_>) -> Result<Self, AppError> {
        let program = first_word(&spec.command).ok_or(AppError::Empty)?;
        check_program(&program, spec)?;
        let mut command = Command::new("/bin/sh");
        command
            .arg("-c")
            .arg(&spec.command)
            .env("WAYLAND_DISPLAY", sockets.wayland_display)
            .env("XDG_RUNTIME_DIR", sockets.runtime_dir)
            .env_remove(fd_limit::ORIGINAL_SOFT_ENV);
        // Without an X display of the lobby's own, a DISPLAY inherited from whoever started
        // us would send X11 apps to some other screen.
        match sockets.x_display {
            Some(display) => command.env("DISPLAY", display),
            None => command.env_remove("DISPLAY"),
        };
        // The lobby's sink, never another lobby's a PULSE_SINK we inherited would name.
        match sockets.audio {
            Some(audio) => command
                .env("PULSE_SERVER", audio.server)
                .env("PULSE_SINK", audio.sink),
            None => command.env_remove("PULSE_SINK"),
        };
        command
            .envs(spec.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            // Our stdout is the channel to the host: the app writes to our stderr instead.
            .stdout(stderr_handle())
            .process_group(0);
        // SAFETY: only async-signal-safe system calls (prctl, getrlimit, setrlimit) and an
        // atomic load run between fork and exec.
        unsafe {
            command.pre_exec(|| {
                rustix::process::set_parent_process_death_signal(Some(Signal::KILL))
                    .map_err(std::io::Error::from)?;
                fd_limit::restore_in_child()
            });
        }
        let child = command.spawn().map_err(|source| AppError::Spawn {
            command: spec.command.clone(),
            source,
        })?;
        let pgid = pid_of(child.id()).ok_or_else(|| AppError::Spawn {
            command: spec.command.clone(),
            source: std::io::Error::other(format!("unusable process id {}", child.id())),
        })?;
        Ok(Self {
            child,
            pgid,
            exited: None,
        })
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The exit status, once the app has exited.
    pub(crate) fn exited(&mut self) -> Option<ExitStatus> {
        if self.exited.is_none() {
            self.exited = self.child.try_wait().ok().flatten();
        }
        self.exited
    }

    /// SIGTERM to the whole group, SIGKILL after `grace`, and reaps the leader.
    pub(crate) fn terminate(&mut self, grace: Duration) {
        let _ = kill_process_group(self.pgid, Signal::TERM);
        let deadline = Deadline::after(grace);
        while self.exited().is_none() && !deadline.passed() {
            std::thread::sleep(Duration::from_millis(20));
        }
        // Children of the app may outlive its leader: the group goes in any case.
        let _ = kill_process_group(self.pgid, Signal::KILL);
        if self.exited.is_none() {
            self.exited = self.child.wait().ok();
        }
        self.reap_orphans();
    }

    /// Reaps the group's other members. They are our children only when we are a child
    /// subreaper (the worker is; see [`become_subreaper`]); otherwise this finds none.
    fn reap_orphans(&self) {
        let deadline = Deadline::after(Duration::from_millis(500));
        loop {
            match rustix::process::waitpgid(self.pgid, rustix::process::WaitOptions::NOHANG) {
                Ok(Some(_)) => continue,
                // Some are still dying.
                Ok(None) if !deadline.passed() => std::thread::sleep(Duration::from_millis(5)),
                // Gone (ECHILD) or given up on.
                _ => return,
            }
        }
    }
}

impl Drop for AppProcess {
    fn drop(&mut self) {
        self.terminate(Duration::ZERO);
    }
}

/// Makes orphaned descendants of our apps our children, so that they are reaped here
/// instead of lingering as zombies under a container's init.
pub(crate) fn become_subreaper() {
    if let Err(err) = rustix::process::set_child_subreaper(Some(rustix::process::getpid())) {
        tracing::warn!(%err, "cannot become a child subreaper; orphans of the app go to init");
    }
}

fn stderr_handle() -> Stdio {
    std::io::stderr()
        .as_fd()
        .try_clone_to_owned()
        .map(Stdio::from)
        .unwrap_or_else(|_| Stdio::null())
}

/// The program of a command line, its quotes removed (`'my app' --x` gives `my app`).
fn first_word(command: &str) -> Option<String> {
    let command = command.trim_start();
    let mut chars = command.chars();
    match chars.next()? {
        quote @ ('\'' | '"') => Some(chars.take_while(|&c| c != quote).collect()),
        _ => command.split_whitespace().next().map(str::to_owned),
    }
}

fn check_program(program: &str, spec: &AppSpec) -> Result<(), AppError> {
    // Shell syntax (variables, redirections) cannot be checked without running the shell.
    if program.contains(['$', '=', '(', '<', '>', '{']) {
        return Ok(());
    }
    if program.contains('/') {
        let path = PathBuf::from(program);
        return if is_executable(&path) {
            Ok(())
        } else {
            Err(AppError::NotExecutable(path))
        };
    }
    // The PATH the app will have: its own, else ours.
    let search = spec
        .env
        .iter()
        .find(|(k, _)| k == "PATH")
        .map(|(_, v)| v.clone())
        .or_else(|| std::env::var("PATH").ok())
        .unwrap_or_default();
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
    match which::which_in(program, Some(search), cwd) {
        Ok(_) => Ok(()),
        // Shell builtins and keywords are commands too.
        Err(_) if is_shell_word(program) => Ok(()),
        Err(_) => Err(AppError::NotFound(program.to_owned())),
    }
}

fn is_executable(path: &Path) -> bool {
    rustix::fs::access(path, rustix::fs::Access::EXEC_OK).is_ok() && path.is_file()
}

/// The pid as the kernel's signed type; `None` for values no process can have.
pub(crate) fn pid_of(pid: u32) -> Option<Pid> {
    i32::try_from(pid).ok().and_then(Pid::from_raw)
}

fn is_shell_word(word: &str) -> bool {
    matches!(
        word,
        "exec"
            | "while"
            | "for"
            | "if"
            | "until"
            | "case"
            | "sleep"
            | "echo"
            | "true"
            | "false"
            | "cd"
            | "export"
            | "."
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(command: &str) -> AppSpec {
        AppSpec {
            command: command.to_owned(),
            env: Vec::new(),
        }
    }

    #[test]
    fn the_program_is_the_first_word_unquoted() {
        assert_eq!(
            first_word("  weston-terminal --x").as_deref(),
            Some("weston-terminal")
        );
        assert_eq!(first_word("'my app' --x").as_deref(), Some("my app"));
        assert_eq!(
            first_word("\"/opt/a b/run\"").as_deref(),
            Some("/opt/a b/run")
        );
        assert_eq!(first_word("   "), None);
    }

    #[test]
    fn missing_programs_are_named() {
        match AppProcess::spawn(
            &spec("no-such-program-xyz --flag"),
            &sockets("wayland-1", None),
        ) {
            Err(AppError::NotFound(name)) => assert_eq!(name, "no-such-program-xyz"),
            other => panic!("{:?}", other.map(|a| a.pid())),
        }
        let file = tempfile::NamedTempFile::new().unwrap();
        assert!(matches!(
            AppProcess::spawn(
                &spec(file.path().to_str().unwrap()),
                &sockets("wayland-1", None)
            ),
            Err(AppError::NotExecutable(_))
        ));
        assert!(matches!(
            AppProcess::spawn(&spec("  "), &sockets("w", None)),
            Err(AppError::Empty)
        ));
    }

    #[test]
    fn the_whole_group_is_terminated() {
        become_subreaper();
        // The shell starts a grandchild that would outlive a kill of the shell alone.
        let mut app = AppProcess::spawn(
            &spec("sleep 60 & sleep 60; wait"),
            &sockets("wayland-1", None),
        )
        .unwrap();
        let pgid = app.pgid;
        std::thread::sleep(Duration::from_millis(100));
        assert!(app.exited().is_none());
        app.terminate(Duration::from_millis(500));
        assert!(app.exited().is_some());
        // No process is left in the group, not even a zombie.
        assert!(kill_process_group(pgid, Signal::CONT).is_err());
    }

    #[test]
    fn the_app_sees_the_lobby_socket() {
        let mut app = AppSpec {
            command: "test \"$WAYLAND_DISPLAY\" = wayland-9 && test \"$XDG_RUNTIME_DIR\" = /tmp && test \"$EXTRA\" = 1".to_owned(),
            env: vec![("EXTRA".to_owned(), "1".to_owned())],
        };
        assert!(exits_successfully(&app, &sockets("wayland-9", None)));
        app.env.clear();
        assert!(!exits_successfully(&app, &sockets("wayland-9", None)));
    }

    #[test]
    fn the_app_plays_into_the_lobby_sink_or_none() {
        let app = spec("test \"$PULSE_SERVER\" = unix:/p/native && test \"$PULSE_SINK\" = s1");
        let with_audio = Sockets {
            audio: Some(crate::lobby::runner::AppAudio {
                server: "unix:/p/native",
                sink: "s1",
            }),
            ..sockets("wayland-9", None)
        };
        assert!(exits_successfully(&app, &with_audio));
        assert!(!exits_successfully(&app, &sockets("wayland-9", None)));
        let app = spec("test -z \"${PULSE_SINK+set}\"");
        assert!(exits_successfully(&app, &sockets("wayland-9", None)));
    }

    #[test]
    fn the_app_sees_the_lobby_x_display_or_none() {
        let app = spec("test \"$DISPLAY\" = :7");
        assert!(exits_successfully(&app, &sockets("wayland-9", Some(":7"))));
        // Not the display of whoever started the worker: with no X display of its own,
        // the app has none.
        let app = spec("test -z \"${DISPLAY+set}\"");
        assert!(exits_successfully(&app, &sockets("wayland-9", None)));
    }

    fn sockets(wayland_display: &'static str, x_display: Option<&'static str>) -> Sockets<'static> {
        Sockets {
            wayland_display,
            runtime_dir: Path::new("/tmp"),
            x_display,
            audio: None,
        }
    }

    /// Runs `app` to its end (at most 5 s) and says whether it exited with 0.
    fn exits_successfully(app: &AppSpec, sockets: &Sockets<'_>) -> bool {
        let mut process = AppProcess::spawn(app, sockets).unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while process.exited().is_none() && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        process.exited().is_some_and(|status| status.success())
    }
}
