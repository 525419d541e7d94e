//! A private PulseAudio server for tests and the benchmark: its own socket, `HOME` and
//! runtime directory in a temporary directory, killed when dropped.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// `pulseaudio -n` with only the native protocol, on a socket of its own.
pub struct PulseServer {
    child: Child,
    socket: PathBuf,
    _dir: tempfile::TempDir,
}

impl PulseServer {
    /// Starts the server and waits (at most 10 s) until `pactl info` answers.
    pub fn start() -> Result<Self, String> {
        let dir = crate::private_dir("gwd-pulse");
        let socket = dir.path().join("native");
        let (home, runtime) = (dir.path().join("home"), dir.path().join("runtime"));
        for d in [&home, &runtime] {
            std::fs::create_dir_all(d).map_err(|e| format!("{}: {e}", d.display()))?;
        }
        let log = std::fs::File::create(dir.path().join("pulseaudio.log"))
            .map_err(|e| format!("log: {e}"))?;
        let child = Command::new("pulseaudio")
            .args([
                "-n",
                "--daemonize=no",
                "--exit-idle-time=-1",
                "--use-pid-file=false",
            ])
            .arg("-L")
            .arg(format!(
                "module-native-protocol-unix socket={} auth-anonymous=1",
                socket.display()
            ))
            .env("HOME", &home)
            .env("PULSE_RUNTIME_PATH", &runtime)
            .env("XDG_RUNTIME_DIR", &runtime)
            .env_remove("PULSE_SERVER")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .map_err(|e| format!("cannot start pulseaudio: {e}"))?;
        let server = Self {
            child,
            socket,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while server.pactl(&["info"]).is_err() {
            if Instant::now() > deadline {
                return Err("pulseaudio did not answer within 10 s".to_owned());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(server)
    }

    /// `PULSE_SERVER` for clients of this server.
    pub fn server(&self) -> String {
        format!("unix:{}", self.socket.display())
    }

    /// The server's pid.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `pactl ARGS` against this server (at most 10 s); its stdout.
    pub fn pactl(&self, args: &[&str]) -> Result<String, String> {
        let mut cmd = Command::new("pactl");
        cmd.args(args).env("PULSE_SERVER", self.server());
        let out = crate::run(cmd, Duration::from_secs(10));
        if out.status.success() {
            Ok(out.stdout.trim().to_owned())
        } else {
            Err(format!("pactl {}: {}", args.join(" "), out.all().trim()))
        }
    }

    /// The names of the server's sinks.
    pub fn sink_names(&self) -> Vec<String> {
        self.listed("sinks")
            .iter()
            .filter_map(|l| l.split('\t').nth(1).map(str::to_owned))
            .collect()
    }

    /// The server's module and sink counts: what a leak grows.
    pub fn counts(&self) -> (usize, usize) {
        (self.listed("modules").len(), self.listed("sinks").len())
    }

    /// `pactl list short WHAT`, a line per entry.
    fn listed(&self, what: &str) -> Vec<String> {
        self.pactl(&["list", "short", what])
            .unwrap_or_else(|err| panic!("{err}"))
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(str::to_owned)
            .collect()
    }

    /// Loads a null sink called `name` (48 kHz stereo); its module index.
    pub fn null_sink(&self, name: &str) -> Result<String, String> {
        self.pactl(&[
            "load-module",
            "module-null-sink",
            &format!("sink_name={name}"),
            "rate=48000",
            "channels=2",
        ])
    }

    /// The server's CPU time so far, in seconds.
    pub fn cpu(&self) -> f64 {
        cpu_seconds(&format!("/proc/{}/stat", self.child.id()))
    }
}

impl Drop for PulseServer {
    fn drop(&mut self) {
        if let Some(pid) = i32::try_from(self.child.id())
            .ok()
            .and_then(rustix::process::Pid::from_raw)
        {
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::TERM);
        }
        let deadline = Instant::now() + Duration::from_secs(3);
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// utime + stime of a process from its `/proc/PID/stat` (`/proc/self/stat`: this one), in
/// seconds (USER_HZ is 100 on Linux); 0 when unreadable.
pub fn cpu_seconds(stat: &str) -> f64 {
    let Ok(text) = std::fs::read_to_string(stat) else {
        return 0.0;
    };
    // Fields after the command's closing parenthesis start at field 3 (state).
    let fields: Vec<&str> = text
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    let tick = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    (tick(11) + tick(12)) as f64 / 100.0
}
