//! A real host on a real Unix socket, driven with curl: for the host's tests and the
//! lobby benchmark.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::ChildGuard;

pub const WAIT: Duration = Duration::from_secs(30);

/// The `gst-wayland-display` binary, built beside the program running this.
pub fn exe() -> PathBuf {
    let path = crate::target_dir().join("gst-wayland-display");
    assert!(
        path.exists(),
        "{} missing: run `cargo build --workspace` first",
        path.display()
    );
    path
}

/// The deterministic test client, built beside the program running this.
pub fn client() -> PathBuf {
    let path = crate::target_dir().join("wayland-test-client");
    assert!(
        path.exists(),
        "{} missing: run `cargo build --workspace` first",
        path.display()
    );
    path
}

pub struct TestHost {
    pub process: ChildGuard,
    pub root: PathBuf,
    pub runtime: PathBuf,
    pub state: PathBuf,
    pub api: Api,
    _dir: Option<tempfile::TempDir>,
}

/// Requests to a host's socket; shareable between threads.
pub struct Api {
    pub socket: PathBuf,
    pub state: PathBuf,
}

impl std::ops::Deref for TestHost {
    type Target = Api;
    fn deref(&self) -> &Api {
        &self.api
    }
}

impl TestHost {
    pub fn start(args: &[&str]) -> Self {
        let dir = tempfile::Builder::new()
            .prefix("gwd-host")
            .tempdir()
            .unwrap();
        let mut host = Self::start_in(dir.path(), args, &[]);
        host._dir = Some(dir);
        host
    }

    /// A host over an existing root (`rt/`, `state/`), as after a restart.
    pub fn start_in(root: &Path, args: &[&str], env: &[(&str, &str)]) -> Self {
        Self::start_under(root, &[], args, env)
    }

    /// A host started through `wrapper` (e.g. `prlimit --nofile=…`), which must exec it.
    pub fn start_under(root: &Path, wrapper: &[&str], args: &[&str], env: &[(&str, &str)]) -> Self {
        let runtime = root.join("rt");
        let state = root.join("state");
        std::fs::create_dir_all(&runtime).unwrap();
        // Private, as XDG_RUNTIME_DIR is (docker lobbies open their socket only then).
        std::fs::set_permissions(
            &runtime,
            std::os::unix::fs::PermissionsExt::from_mode(0o700),
        )
        .unwrap();
        let socket = runtime.join("api.sock");
        let mut cmd = match wrapper.split_first() {
            Some((program, rest)) => {
                let mut cmd = Command::new(program);
                cmd.args(rest).arg(exe());
                cmd
            }
            None => Command::new(exe()),
        };
        cmd.arg("serve")
            .arg("--runtime-dir")
            .arg(&runtime)
            .arg("--state-dir")
            .arg(&state)
            .arg("--socket")
            .arg(&socket)
            .args(["--start-timeout", "20", "--stop-grace", "2"])
            .args(args)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stderr(std::fs::File::create(root.join("host.log")).unwrap());
        let process = ChildGuard::spawn(cmd);
        process.expect_line(WAIT, "gst-wayland-display: serving on");
        Self {
            process,
            root: root.to_path_buf(),
            runtime,
            api: Api {
                socket,
                state: state.clone(),
            },
            state,
            _dir: None,
        }
    }

    pub fn pid(&self) -> u32 {
        self.process.child.id()
    }

    /// What the host has logged so far (its stderr).
    pub fn host_log(&self) -> String {
        std::fs::read_to_string(self.root.join("host.log")).unwrap_or_default()
    }

    /// The address of the TCP listener (`--listen-tcp`), from the line announcing it; call
    /// once.
    pub fn tcp_addr(&self) -> std::net::SocketAddr {
        let line = self
            .process
            .expect_line(WAIT, "gst-wayland-display: serving on http://");
        line.split("http://")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|addr| addr.parse().ok())
            .unwrap_or_else(|| panic!("no address in {line:?}"))
    }
}

/// One raw HTTP/1.1 exchange on `stream`: writes `request` as is and reads until the peer
/// closes or `timeout` passes. Returns the status of the first response (0 if none) and
/// everything read.
pub fn raw_exchange<S: std::io::Read + Write>(
    mut stream: S,
    request: &[u8],
    timeout: Duration,
    set_timeout: impl Fn(&S, Option<Duration>),
) -> (u16, String) {
    let deadline = Instant::now() + timeout;
    let _ = stream.write_all(request);
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        set_timeout(&stream, Some(left.max(Duration::from_millis(1))));
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
        }
    }
    let text = String::from_utf8_lossy(&got).into_owned();
    let status = text
        .strip_prefix("HTTP/1.1 ")
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse().ok())
        .unwrap_or(0);
    (status, text)
}

/// [`raw_exchange`] over a new connection to a Unix socket.
pub fn unix_exchange(socket: &Path, request: &[u8], timeout: Duration) -> (u16, String) {
    match std::os::unix::net::UnixStream::connect(socket) {
        Ok(stream) => raw_exchange(stream, request, timeout, |s, t| {
            let _ = s.set_read_timeout(t);
        }),
        Err(_) => (0, String::new()),
    }
}

/// [`raw_exchange`] over a new TCP connection.
pub fn tcp_exchange(
    addr: std::net::SocketAddr,
    request: &[u8],
    timeout: Duration,
) -> (u16, String) {
    match std::net::TcpStream::connect_timeout(&addr, timeout) {
        Ok(stream) => raw_exchange(stream, request, timeout, |s, t| {
            let _ = s.set_read_timeout(t);
        }),
        Err(_) => (0, String::new()),
    }
}

/// A health request that closes its connection, with `headers` (each ending in CRLF).
pub fn health_request(headers: &str) -> Vec<u8> {
    format!("GET /api/v1/system/health HTTP/1.1\r\nHost: gwd\r\nConnection: close\r\n{headers}\r\n")
        .into_bytes()
}

/// Raises this process's soft open-file limit to its hard limit (tests that open many
/// connections), returning the new soft limit.
pub fn raise_own_nofile() -> u64 {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    let target = limit.maximum.unwrap_or(1 << 20);
    let _ = setrlimit(
        Resource::Nofile,
        Rlimit {
            current: Some(target),
            maximum: limit.maximum,
        },
    );
    getrlimit(Resource::Nofile).current.unwrap_or(target)
}

impl Api {
    /// (status, JSON body) of one request.
    pub fn api(&self, method: &str, path: &str, body: Option<&str>) -> (u16, Value) {
        let (status, text) = self.api_raw(method, path, body.map(str::as_bytes), &[]);
        let json = serde_json::from_slice(&text)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&text).into()));
        (status, json)
    }

    pub fn api_raw(
        &self,
        method: &str,
        path: &str,
        body: Option<&[u8]>,
        headers: &[&str],
    ) -> (u16, Vec<u8>) {
        let mut cmd = Command::new("curl");
        cmd.args([
            "-s",
            "-S",
            "--max-time",
            "30",
            "-o",
            "-",
            "-w",
            "\n%{http_code}",
            "-X",
            method,
        ])
        .arg("--unix-socket")
        .arg(&self.socket);
        for header in headers {
            cmd.args(["-H", header]);
        }
        if body.is_some() {
            cmd.args([
                "-H",
                "Content-Type: application/json",
                "--data-binary",
                "@-",
            ]);
        }
        cmd.arg(format!("http://localhost{path}"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("curl is needed for the host tests");
        if let Some(body) = body {
            child.stdin.take().unwrap().write_all(body).unwrap();
        }
        drop(child.stdin.take());
        let out = child.wait_with_output().unwrap();
        let mut bytes = out.stdout;
        let split = bytes
            .iter()
            .rposition(|&b| b == b'\n')
            .expect("curl printed no status");
        let status = String::from_utf8_lossy(&bytes[split + 1..])
            .trim()
            .parse()
            .unwrap_or(0);
        bytes.truncate(split);
        (status, bytes)
    }

    /// Creates a lobby and waits, as the host does by default, until it is ready; fails
    /// the test if it is not.
    pub fn create(&self, body: Value) -> String {
        let (status, reply) = self.api("POST", "/api/v1/lobbies/create", Some(&body.to_string()));
        assert_eq!(status, 200, "{reply}");
        assert_eq!(reply["success"], true, "{reply}");
        assert_eq!(reply["state"], "ready", "{reply}");
        reply["lobby_id"]
            .as_str()
            .expect("lobby_id is a string")
            .to_owned()
    }

    /// Creates a lobby with `?wait=false`: the answer comes at once, the lobby `starting`.
    pub fn create_nowait(&self, body: Value) -> String {
        let (status, reply) = self.api(
            "POST",
            "/api/v1/lobbies/create?wait=false",
            Some(&body.to_string()),
        );
        assert_eq!(status, 200, "{reply}");
        assert_eq!(reply["success"], true, "{reply}");
        assert_eq!(reply["state"], "starting", "{reply}");
        reply["lobby_id"]
            .as_str()
            .expect("lobby_id is a string")
            .to_owned()
    }

    pub fn lobby(&self, id: &str) -> Value {
        let (status, reply) = self.api("GET", &format!("/api/v1/lobbies/{id}"), None);
        assert_eq!(status, 200, "{reply}");
        reply["lobby"].clone()
    }

    /// Polls until the lobby reaches `state` (failing the test on an unexpected end).
    pub fn wait_state(&self, id: &str, state: &str) -> Value {
        let deadline = Instant::now() + WAIT;
        loop {
            let lobby = self.lobby(id);
            if lobby["state"] == state {
                return lobby;
            }
            let ended = lobby["state"] == "failed" || lobby["state"] == "stopped";
            assert!(
                !ended,
                "lobby {id} ended as {} instead of {state}: {lobby}",
                lobby["state"]
            );
            assert!(
                Instant::now() < deadline,
                "lobby {id} not {state} within {WAIT:?}: {lobby}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Polls until the lobby has ended, whatever the way.
    pub fn wait_end(&self, id: &str) -> Value {
        let deadline = Instant::now() + WAIT;
        loop {
            let lobby = self.lobby(id);
            if lobby["state"] == "failed" || lobby["state"] == "stopped" {
                return lobby;
            }
            assert!(Instant::now() < deadline, "lobby {id} did not end: {lobby}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn stop(&self, id: &str) {
        let (status, reply) = self.api(
            "POST",
            "/api/v1/lobbies/stop",
            Some(&format!("{{\"lobby_id\": \"{id}\"}}")),
        );
        assert_eq!(status, 200, "{reply}");
    }

    pub fn log(&self, id: &str) -> String {
        std::fs::read_to_string(self.state.join("logs").join(format!("{id}.log")))
            .unwrap_or_default()
    }

    /// Waits until the lobby's log (its app's output) contains `needle`.
    pub fn wait_log(&self, id: &str, needle: &str) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            let log = self.log(id);
            if log.contains(needle) {
                return log;
            }
            assert!(
                Instant::now() < deadline,
                "{needle:?} not in lobby {id}'s log:\n{log}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Checks a lobby running the test client at 320x240: its quadrants in the screenshot,
    /// and pointer and key input reaching it (it logs them to the lobby's log).
    pub fn check_test_client(&self, id: &str) {
        let (status, png) = self.api_raw(
            "GET",
            &format!("/api/v1/lobbies/{id}/screenshot"),
            None,
            &[],
        );
        assert_eq!(status, 200);
        assert_eq!(&png[1..4], b"PNG");
        assert_eq!(png_pixel(&png, 10, 10), (255, 0, 0));
        assert_eq!(png_pixel(&png, 300, 10), (0, 255, 0));
        assert_eq!(png_pixel(&png, 10, 230), (0, 0, 255));
        assert_eq!(png_pixel(&png, 300, 230), (255, 255, 255));

        let input = serde_json::json!({"lobby_id": id, "events": [
            {"type": "MouseMoveAbsolute", "pointer_x": 100, "pointer_y": 50},
            {"type": "KeyboardKey", "key": 30, "pressed": true},
            {"type": "KeyboardKey", "key": 30, "pressed": false}
        ]});
        let (status, reply) = self.api("POST", "/api/v1/lobbies/input", Some(&input.to_string()));
        assert_eq!(status, 200, "{reply}");
        self.wait_log(id, "pointer enter 100.0 50.0");
        self.wait_log(id, "key 30 released");
    }

    /// The event stream, read by curl, once subscribed.
    pub fn events(&self) -> ChildGuard {
        let mut cmd = Command::new("curl");
        cmd.args(["-sN", "--max-time", "120", "--unix-socket"])
            .arg(&self.socket)
            .arg("http://localhost/api/v1/events")
            .stderr(Stdio::null());
        let events = ChildGuard::spawn(cmd);
        events.expect_line(WAIT, ": connected");
        events
    }
}

/// A Wolf-shaped create request.
pub fn lobby_request(name: &str, run_cmd: &str) -> Value {
    serde_json::json!({
        "profile_id": "test-profile",
        "name": name,
        "multi_user": true,
        "stop_when_everyone_leaves": false,
        "video_settings": {
            "width": 320, "height": 240, "refresh_rate": 30,
            "wayland_render_node": "software",
            "runner_render_node": "/dev/dri/renderD128",
            "video_producer_buffer_caps": "video/x-raw"
        },
        "audio_settings": {"channel_count": 2},
        "runner": {"type": "process", "run_cmd": run_cmd, "env": ["GWD_TEST=1"]}
    })
}

pub fn alive(pid: u64) -> bool {
    // A zombie is as good as gone: it holds nothing but its exit status.
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|stat| {
            stat.rsplit_once(')')
                .is_some_and(|(_, rest)| !rest.trim_start().starts_with('Z'))
        })
        .unwrap_or(false)
}

/// Processes whose parent is `pid`.
/// The processes a host's lobbies run (its workers): its children but its private sound
/// server, which lives as long as the host.
pub fn lobby_children(pid: u32) -> Vec<u32> {
    children(pid)
        .into_iter()
        .filter(|child| {
            std::fs::read_to_string(format!("/proc/{child}/comm"))
                .map(|comm| comm.trim() != "pulseaudio")
                .unwrap_or(true)
        })
        .collect()
}

pub fn children(pid: u32) -> Vec<u32> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(child) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{child}/stat")) else {
            continue;
        };
        let Some((_, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        let fields: Vec<&str> = rest.split_whitespace().collect();
        if fields.get(1).and_then(|p| p.parse::<u32>().ok()) == Some(pid)
            && fields.first() != Some(&"Z")
        {
            found.push(child);
        }
    }
    found
}

/// (R, G, B) of a PNG's pixel, decoded with GStreamer.
pub fn png_pixel(png: &[u8], x: usize, y: usize) -> (u8, u8, u8) {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), png).unwrap();
    crate::decode_rgb(file.path()).pixel(x, y)
}
