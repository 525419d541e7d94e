//! A docker lobby's container as Wolf's clients describe it (`runner.type: "docker"`), and
//! the Engine API create request it becomes.
//!
//! Wolf's string forms are kept: mounts `"src:dst[:mode]"`, devices
//! `"host[:container[:permissions]]"`, ports `"host:container[:tcp|udp]"`; its
//! `base_create_json` is the root of the create request, with the image, exposed ports
//! and port bindings set over it and the environment, binds and devices appended to what it
//! lists, as Wolf merges them.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::lobby::protocol::local_display_number;
use crate::lobby::runner::AppAudio;

/// The container of one docker lobby.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub(crate) struct ContainerSpec {
    /// Wolf's `name`; the container is `<name>_<lobby id>`.
    pub(crate) name: String,
    pub(crate) image: String,
    pub(crate) mounts: Vec<Mount>,
    pub(crate) env: Vec<(String, String)>,
    pub(crate) devices: Vec<Device>,
    pub(crate) ports: Vec<Port>,
    /// `base_create_json`, an object (empty when not given).
    pub(crate) base: Map<String, Value>,
    /// The GPU the container gets (`video_settings.runner_render_node`, a `render-node`
    /// value); `None`: the lobby's own.
    #[serde(default)]
    pub(crate) render_node: Option<String>,
    /// The host instance that labels the container (see [`super::LABEL_HOST`]).
    pub(crate) instance: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct Mount {
    pub(crate) source: String,
    pub(crate) target: String,
    pub(crate) mode: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct Device {
    pub(crate) host: String,
    pub(crate) container: String,
    pub(crate) permissions: String,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct Port {
    pub(crate) host: u16,
    pub(crate) container: u16,
    pub(crate) udp: bool,
}

/// Splits on `:`; Wolf's forms have no escapes, and neither paths with `:` nor IPv6 host
/// addresses are expressible in them.
fn parts(value: &str) -> Vec<&str> {
    value.split(':').collect()
}

impl Mount {
    /// `"src:dst[:mode]"`; the mode defaults to `rw`.
    pub(crate) fn parse(value: &str) -> Result<Self, String> {
        let (source, target, mode) = match parts(value).as_slice() {
            [source, target] => (*source, *target, "rw"),
            [source, target, mode] => (*source, *target, *mode),
            _ => return Err(format!("{value:?} is not \"source:target[:mode]\"")),
        };
        if source.is_empty() {
            return Err(format!("{value:?} has no source"));
        }
        if !target.starts_with('/') {
            return Err(format!(
                "{value:?}: the target {target:?} is not an absolute path"
            ));
        }
        if mode.is_empty() || !mode.split(',').all(|m| BIND_MODES.contains(&m)) {
            return Err(format!(
                "{value:?}: {mode:?} is not a bind mode (one or more of {})",
                BIND_MODES.join(", ")
            ));
        }
        Ok(Self {
            source: source.to_owned(),
            target: target.to_owned(),
            mode: mode.to_owned(),
        })
    }

    fn bind(&self) -> String {
        format!("{}:{}:{}", self.source, self.target, self.mode)
    }
}

/// What the Engine takes after a bind's target.
const BIND_MODES: [&str; 12] = [
    "rw",
    "ro",
    "z",
    "Z",
    "shared",
    "rshared",
    "slave",
    "rslave",
    "private",
    "rprivate",
    "nocopy",
    "consistent",
];

impl Device {
    /// `"host[:container[:permissions]]"`; the container path defaults to the host's and the
    /// permissions to `mrw`, as Wolf's.
    pub(crate) fn parse(value: &str) -> Result<Self, String> {
        let (host, container, permissions) = match parts(value).as_slice() {
            [host] => (*host, *host, "mrw"),
            [host, container] => (*host, *container, "mrw"),
            [host, container, permissions] => (*host, *container, *permissions),
            _ => {
                return Err(format!(
                    "{value:?} is not \"host[:container[:permissions]]\""
                ));
            }
        };
        if !host.starts_with('/') || !container.starts_with('/') {
            return Err(format!("{value:?}: device paths must be absolute"));
        }
        if permissions.is_empty() || !permissions.chars().all(|c| matches!(c, 'r' | 'w' | 'm')) {
            return Err(format!(
                "{value:?}: {permissions:?} is not a cgroup permission (letters of \"rwm\")"
            ));
        }
        Ok(Self {
            host: host.to_owned(),
            container: container.to_owned(),
            permissions: permissions.to_owned(),
        })
    }

    /// A device passed with the same path inside.
    pub(crate) fn same_path(path: &Path) -> Self {
        let path = path.display().to_string();
        Self {
            host: path.clone(),
            container: path,
            permissions: "rwm".to_owned(),
        }
    }

    fn mapping(&self) -> Value {
        json!({
            "PathOnHost": self.host,
            "PathInContainer": self.container,
            "CgroupPermissions": self.permissions,
        })
    }
}

impl Port {
    /// `"host:container[:tcp|udp]"`.
    pub(crate) fn parse(value: &str) -> Result<Self, String> {
        let number = |text: &str| {
            text.parse::<u16>()
                .ok()
                .filter(|port| *port > 0)
                .ok_or_else(|| format!("{value:?}: {text:?} is not a port (1 to 65535)"))
        };
        let (host, container, udp) = match parts(value).as_slice() {
            [host, container] => (number(host)?, number(container)?, false),
            [host, container, "tcp"] => (number(host)?, number(container)?, false),
            [host, container, "udp"] => (number(host)?, number(container)?, true),
            _ => return Err(format!("{value:?} is not \"host:container[:tcp|udp]\"")),
        };
        Ok(Self {
            host,
            container,
            udp,
        })
    }

    fn key(&self) -> String {
        format!(
            "{}/{}",
            self.container,
            if self.udp { "udp" } else { "tcp" }
        )
    }
}

/// Where a lobby's sockets appear inside its container (Wolf's path, which the Games on
/// Whales images expect).
pub(crate) const CONTAINER_RUNTIME_DIR: &str = "/tmp/sockets";

/// What the lobby adds to the container: its socket, its mode and its GPU.
#[derive(Debug)]
pub(crate) struct LobbyParts<'a> {
    pub(crate) lobby_id: &'a str,
    pub(crate) wayland_socket: &'a Path,
    pub(crate) wayland_display: &'a str,
    /// The lobby's X display (`:N`), unless its Xwayland is off.
    pub(crate) x_display: Option<&'a str>,
    pub(crate) width: u32,
    pub(crate) height: u32,
    pub(crate) fps: u32,
    /// The lobby GPU's device files (`RenderChoice::container_devices`).
    pub(crate) gpu_devices: &'a [PathBuf],
    /// The GPU is NVIDIA's: its userspace comes from the NVIDIA container runtime.
    pub(crate) nvidia: bool,
    /// The lobby's sound server and sink, when it has audio.
    pub(crate) audio: Option<AppAudio<'a>>,
}

impl ContainerSpec {
    /// The container's name: `<name>_<lobby id>`, with what Docker does not take in a name
    /// replaced.
    pub(crate) fn container_name(&self, lobby_id: &str) -> String {
        let name: String = self
            .name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-') {
                    c
                } else {
                    '-'
                }
            })
            .collect();
        let name = name.trim_start_matches(['_', '.', '-']);
        if name.is_empty() {
            format!("lobby_{lobby_id}")
        } else {
            format!("{name}_{lobby_id}")
        }
    }

    /// The create request: `base_create_json` with the lobby's parts merged in as Wolf
    /// merges them, plus labels naming this host instance and the lobby.
    pub(crate) fn create_body(&self, lobby: &LobbyParts<'_>) -> Value {
        let mut body = self.base.clone();
        body.insert("Image".to_owned(), json!(self.image));
        let exposed: Map<String, Value> = self.ports.iter().map(|p| (p.key(), json!({}))).collect();
        body.insert("ExposedPorts".to_owned(), Value::Object(exposed));

        // Later entries win in Docker: the request's environment first, the lobby's last.
        let socket_in = format!("{CONTAINER_RUNTIME_DIR}/{}", lobby.wayland_display);
        let mut env: Vec<Value> = self
            .env
            .iter()
            .map(|(k, v)| json!(format!("{k}={v}")))
            .collect();
        let nvidia_runtime =
            lobby.nvidia && std::env::var_os("NVIDIA_DRIVER_VOLUME_NAME").is_none();
        if nvidia_runtime {
            // As Wolf: the driver's userspace through the NVIDIA container toolkit, unless
            // the request already chose.
            for (key, value) in [
                ("NVIDIA_VISIBLE_DEVICES", "all"),
                ("NVIDIA_DRIVER_CAPABILITIES", "all"),
            ] {
                if !self.env.iter().any(|(k, _)| k == key) {
                    env.push(json!(format!("{key}={value}")));
                }
            }
        }
        for (key, value) in [
            ("XDG_RUNTIME_DIR", CONTAINER_RUNTIME_DIR.to_owned()),
            ("WAYLAND_DISPLAY", lobby.wayland_display.to_owned()),
            ("GAMESCOPE_WIDTH", lobby.width.to_string()),
            ("GAMESCOPE_HEIGHT", lobby.height.to_string()),
            ("GAMESCOPE_REFRESH", lobby.fps.to_string()),
        ] {
            env.push(json!(format!("{key}={value}")));
        }
        let x_socket = lobby.x_display.and_then(x_socket_of);
        if let Some((display, _)) = &x_socket {
            env.push(json!(format!("DISPLAY={display}")));
        }
        // A local server's socket is mounted (the container cannot see the host's path);
        // any other address is passed on as it is.
        let pulse_socket = lobby
            .audio
            .and_then(|audio| crate::audio::server::local_socket(audio.server));
        if let Some(audio) = lobby.audio {
            let server = match &pulse_socket {
                Some(_) => format!("unix:{CONTAINER_PULSE_SOCKET}"),
                None => audio.server.to_owned(),
            };
            env.push(json!(format!("PULSE_SERVER={server}")));
            env.push(json!(format!("PULSE_SINK={}", audio.sink)));
        }
        append(&mut body, "Env", env);

        let mut labels = match body.remove("Labels") {
            Some(Value::Object(labels)) => labels,
            _ => Map::new(),
        };
        labels.insert(super::LABEL_HOST.to_owned(), json!(self.instance));
        labels.insert(super::LABEL_LOBBY.to_owned(), json!(lobby.lobby_id));
        body.insert("Labels".to_owned(), Value::Object(labels));

        let mut binds: Vec<Value> = self.mounts.iter().map(|m| json!(m.bind())).collect();
        binds.push(json!(format!(
            "{}:{socket_in}:rw",
            lobby.wayland_socket.display()
        )));
        if let Some(socket) = &pulse_socket {
            binds.push(json!(format!(
                "{}:{CONTAINER_PULSE_SOCKET}:rw",
                socket.display()
            )));
        }
        if let Some((_, socket)) = &x_socket {
            // X clients know only this path (the abstract socket of the same name stays in
            // the host's network namespace), so it is mounted where they look.
            binds.push(json!(format!("{socket}:{socket}:rw")));
        }
        let devices = self.all_devices(lobby.gpu_devices);
        let bindings: Map<String, Value> = self
            .ports
            .iter()
            .map(|p| (p.key(), json!([{ "HostPort": p.host.to_string() }])))
            .collect();
        let host_config = body
            .entry("HostConfig")
            .or_insert_with(|| Value::Object(Map::new()));
        if !host_config.is_object() {
            *host_config = Value::Object(Map::new());
        }
        if let Value::Object(host_config) = host_config {
            append(host_config, "Binds", binds);
            append(
                host_config,
                "Devices",
                devices.iter().map(Device::mapping).collect(),
            );
            host_config.insert("PortBindings".to_owned(), Value::Object(bindings));
            if nvidia_runtime && !host_config.contains_key("DeviceRequests") {
                host_config.insert(
                    "DeviceRequests".to_owned(),
                    json!([{"Driver": "nvidia", "DeviceIDs": ["all"],
                            "Capabilities": [["gpu"]]}]),
                );
            }
        }
        Value::Object(body)
    }

    /// The request's devices, the lobby GPU's and those `GOW_REQUIRED_DEVICES` asks for,
    /// each once.
    fn all_devices(&self, gpu_devices: &[PathBuf]) -> Vec<Device> {
        let mut devices = self.devices.clone();
        let mut add = |device: Device| {
            if !devices.iter().any(|d| d.container == device.container) {
                devices.push(device);
            }
        };
        for path in gpu_devices {
            add(Device::same_path(path));
        }
        if let Some((_, globs)) = self
            .env
            .iter()
            .rev()
            .find(|(k, _)| k == "GOW_REQUIRED_DEVICES")
        {
            for path in required_devices(globs, gpu_devices) {
                add(Device::same_path(&path));
            }
        }
        devices
    }
}

/// Where the app in a container finds the lobby's sound server's socket.
const CONTAINER_PULSE_SOCKET: &str = "/tmp/gst-wayland-display-pulse/native";

/// Where X clients find display `:N`'s socket, on the host and in a container alike.
const X11_SOCKET_DIR: &str = "/tmp/.X11-unix";

/// The lobby's `DISPLAY` and the socket to mount for it, for a local display `:N`; any
/// other form names nothing a container could reach, so the container gets no display.
fn x_socket_of(x_display: &str) -> Option<(String, String)> {
    match local_display_number(x_display) {
        Some(number) => Some((format!(":{number}"), format!("{X11_SOCKET_DIR}/X{number}"))),
        None => {
            tracing::warn!(
                x_display,
                "the lobby's X display is not a local \":N\"; the container gets none"
            );
            None
        }
    }
}

/// Appends `items` to the array at `key`, making it one if it is missing or not an array.
fn append(object: &mut Map<String, Value>, key: &str, items: Vec<Value>) {
    match object.get_mut(key) {
        Some(Value::Array(existing)) => existing.extend(items),
        _ => {
            object.insert(key.to_owned(), Value::Array(items));
        }
    }
}

/// The device files `GOW_REQUIRED_DEVICES` names (space-separated globs such as
/// `/dev/input/* /dev/dri/* /dev/nvidia*`), as this host can grant them to one lobby:
/// character devices only; DRM and NVIDIA nodes only those of the lobby's own GPU (another
/// lobby may own the others); never the host's `/dev/input` devices, which are its own
/// keyboards and mice — a lobby's input arrives through its Wayland seat.
pub(crate) fn required_devices(globs: &str, gpu_devices: &[PathBuf]) -> Vec<PathBuf> {
    use std::os::unix::fs::FileTypeExt;
    let mut found = Vec::new();
    for pattern in globs.split_whitespace() {
        let Ok(paths) = glob::glob(pattern) else {
            tracing::warn!(pattern, "GOW_REQUIRED_DEVICES: not a glob pattern; ignored");
            continue;
        };
        for path in paths.flatten() {
            let is_char = std::fs::metadata(&path).is_ok_and(|m| m.file_type().is_char_device());
            if !is_char || !path.starts_with("/dev") || path.starts_with("/dev/input") {
                continue;
            }
            let gpu_node = path.starts_with("/dev/dri")
                || path
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with("nvidia"));
            if gpu_node && !gpu_devices.contains(&path) {
                continue;
            }
            if !found.contains(&path) {
                found.push(path);
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(base: Value) -> ContainerSpec {
        ContainerSpec {
            name: "Helix Sway!".into(),
            image: "gwd-test:latest".into(),
            mounts: vec![Mount::parse("/srv/data:/data:ro").unwrap()],
            env: vec![
                ("RUN_SWAY".into(), "1".into()),
                ("WAYLAND_DISPLAY".into(), "wrong".into()),
            ],
            devices: vec![Device::parse("/dev/fuse").unwrap()],
            ports: vec![
                Port::parse("8080:80").unwrap(),
                Port::parse("9:9:udp").unwrap(),
            ],
            base: match base {
                Value::Object(map) => map,
                _ => Map::new(),
            },
            instance: "inst".into(),
            render_node: None,
        }
    }

    fn lobby() -> LobbyParts<'static> {
        LobbyParts {
            lobby_id: "abc",
            wayland_socket: Path::new("/run/gwd/wayland-3"),
            wayland_display: "wayland-3",
            x_display: None,
            width: 1280,
            height: 720,
            fps: 30,
            gpu_devices: &[],
            nvidia: false,
            audio: None,
        }
    }

    #[test]
    fn a_lobby_with_audio_gets_its_server_and_sink() {
        let request = spec(json!({}));
        let binds = |body: &Value| body["HostConfig"]["Binds"].to_string();
        let env = |body: &Value| body["Env"].to_string();
        // A local server: its socket is mounted, and the app is pointed at the mount.
        let local = LobbyParts {
            audio: Some(AppAudio {
                server: "unix:/run/gwd/gst-wayland-display-pulse.x/native",
                sink: "gst-wayland-display.x.abc",
            }),
            ..lobby()
        };
        let body = request.create_body(&local);
        assert!(
            binds(&body).contains(&format!(
                "/run/gwd/gst-wayland-display-pulse.x/native:{CONTAINER_PULSE_SOCKET}:rw"
            )),
            "{body}"
        );
        assert!(env(&body).contains(&format!("PULSE_SERVER=unix:{CONTAINER_PULSE_SOCKET}")));
        assert!(env(&body).contains("PULSE_SINK=gst-wayland-display.x.abc"));
        // A network server is passed on; nothing is mounted.
        let remote = LobbyParts {
            audio: Some(AppAudio {
                server: "tcp:10.0.0.2:4713",
                sink: "s",
            }),
            ..lobby()
        };
        let body = request.create_body(&remote);
        assert!(!binds(&body).contains(CONTAINER_PULSE_SOCKET));
        assert!(env(&body).contains("PULSE_SERVER=tcp:10.0.0.2:4713"));
        // Without audio, nothing of it.
        let body = request.create_body(&lobby());
        assert!(!env(&body).contains("PULSE_"), "{body}");
    }

    #[test]
    fn wolf_strings_parse_as_wolf_reads_them() {
        assert_eq!(
            Mount::parse("/a:/b").unwrap(),
            Mount {
                source: "/a".into(),
                target: "/b".into(),
                mode: "rw".into()
            }
        );
        assert_eq!(Mount::parse("vol:/b:ro,z").unwrap().mode, "ro,z");
        for bad in ["/a", "/a:b", ":/b", "/a:/b:rx", "/a:/b:ro:x"] {
            assert!(Mount::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(Device::parse("/dev/a:/dev/b").unwrap().permissions, "mrw");
        assert_eq!(
            Device::parse("/dev/a:/dev/b:r").unwrap().container,
            "/dev/b"
        );
        for bad in ["dev/a", "/dev/a:/dev/b:rx", "/dev/a:/b:r:x", "/dev/a:/b:"] {
            assert!(Device::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            Port::parse("8080:80:udp").unwrap(),
            Port {
                host: 8080,
                container: 80,
                udp: true
            }
        );
        for bad in ["80", "0:80", "80:70000", "80:80:sctp", "a:80"] {
            assert!(Port::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_create_body_merges_like_wolf() {
        let base = json!({
            "Env": ["FROM_BASE=1"],
            "Labels": {"team": "x"},
            "HostConfig": {"IpcMode": "host", "Binds": ["/base:/base:rw"],
                           "CapAdd": ["SYS_NICE"], "PortBindings": {"1/tcp": []}}
        });
        let body = spec(base).create_body(&lobby());
        assert_eq!(body["Image"], "gwd-test:latest");
        let env: Vec<&str> = body["Env"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert_eq!(env[0], "FROM_BASE=1");
        assert_eq!(env[1], "RUN_SWAY=1");
        // The lobby's own values come last, so they win over the request's.
        let last_display = env
            .iter()
            .rev()
            .find(|e| e.starts_with("WAYLAND_DISPLAY="))
            .unwrap();
        assert_eq!(*last_display, "WAYLAND_DISPLAY=wayland-3");
        assert!(env.contains(&"XDG_RUNTIME_DIR=/tmp/sockets"));
        assert!(env.contains(&"GAMESCOPE_WIDTH=1280"));
        let host = &body["HostConfig"];
        assert_eq!(host["IpcMode"], "host");
        assert_eq!(host["CapAdd"], json!(["SYS_NICE"]));
        assert_eq!(
            host["Binds"],
            json!([
                "/base:/base:rw",
                "/srv/data:/data:ro",
                "/run/gwd/wayland-3:/tmp/sockets/wayland-3:rw"
            ])
        );
        assert_eq!(host["Devices"][0]["PathOnHost"], "/dev/fuse");
        assert_eq!(
            host["PortBindings"],
            json!({"80/tcp": [{"HostPort": "8080"}], "9/udp": [{"HostPort": "9"}]})
        );
        assert_eq!(body["ExposedPorts"], json!({"80/tcp": {}, "9/udp": {}}));
        assert_eq!(
            body["Labels"],
            json!({"team": "x", "gst-wayland-display.host": "inst",
                   "gst-wayland-display.lobby": "abc"})
        );
        // And bollard's model reads it.
        let typed: bollard::models::ContainerCreateBody = serde_json::from_value(body).unwrap();
        assert_eq!(typed.image.as_deref(), Some("gwd-test:latest"));
        assert_eq!(
            typed.host_config.and_then(|h| h.ipc_mode).as_deref(),
            Some("host")
        );
    }

    #[test]
    fn an_x_display_is_mounted_at_its_own_path_and_named_last() {
        let with_x = LobbyParts {
            x_display: Some(":3"),
            ..lobby()
        };
        let mut request = spec(json!({"Env": ["DISPLAY=:0"]}));
        request.env.push(("DISPLAY".into(), ":1".into()));
        let body = request.create_body(&with_x);
        let env = body["Env"].as_array().unwrap();
        let displays: Vec<&Value> = env
            .iter()
            .filter(|e| e.as_str().is_some_and(|e| e.starts_with("DISPLAY=")))
            .collect();
        // The request's own come first; the lobby's, last, is the one Docker keeps.
        assert_eq!(
            displays,
            [
                &json!("DISPLAY=:0"),
                &json!("DISPLAY=:1"),
                &json!("DISPLAY=:3")
            ]
        );
        assert_eq!(env.last(), Some(&json!("DISPLAY=:3")));
        let binds = body["HostConfig"]["Binds"].as_array().unwrap();
        assert_eq!(
            &binds[binds.len() - 2..],
            [
                json!("/run/gwd/wayland-3:/tmp/sockets/wayland-3:rw"),
                json!("/tmp/.X11-unix/X3:/tmp/.X11-unix/X3:rw"),
            ]
        );
        let typed: bollard::models::ContainerCreateBody = serde_json::from_value(body).unwrap();
        assert!(typed.env.unwrap().contains(&"DISPLAY=:3".to_owned()));
    }

    #[test]
    fn without_a_local_x_display_the_container_gets_none() {
        for x_display in [None, Some("host:3"), Some(":3.0"), Some(":")] {
            let parts = LobbyParts {
                x_display,
                ..lobby()
            };
            let body = spec(json!({})).create_body(&parts);
            assert!(
                !body["Env"].to_string().contains("DISPLAY=:"),
                "{x_display:?}"
            );
            assert!(
                !body["HostConfig"]["Binds"]
                    .to_string()
                    .contains(".X11-unix"),
                "{x_display:?}"
            );
        }
    }

    #[test]
    fn nvidia_gpus_come_through_the_nvidia_runtime_unless_the_request_chose() {
        let nvidia = LobbyParts {
            nvidia: true,
            audio: None,
            ..lobby()
        };
        let body = spec(json!({})).create_body(&nvidia);
        assert_eq!(
            body["HostConfig"]["DeviceRequests"],
            json!([{"Driver": "nvidia", "DeviceIDs": ["all"], "Capabilities": [["gpu"]]}])
        );
        assert!(
            body["Env"]
                .to_string()
                .contains("NVIDIA_DRIVER_CAPABILITIES=all")
        );
        let own = json!({"HostConfig": {"DeviceRequests": []}});
        let body = spec(own).create_body(&nvidia);
        assert_eq!(body["HostConfig"]["DeviceRequests"], json!([]));
        let body = spec(json!({})).create_body(&lobby());
        assert!(body["HostConfig"].get("DeviceRequests").is_none());
        assert!(!body["Env"].to_string().contains("NVIDIA"));
    }

    #[test]
    fn names_are_what_docker_takes() {
        let mut s = spec(json!({}));
        assert_eq!(s.container_name("abc"), "Helix-Sway-_abc");
        s.name = "--".into();
        assert_eq!(s.container_name("abc"), "lobby_abc");
    }

    #[test]
    fn required_devices_never_include_host_input_or_other_gpus() {
        let found = required_devices("/dev/input/* /dev/null /dev/dri/* /nonexistent/*", &[]);
        assert_eq!(found, vec![PathBuf::from("/dev/null")]);
        // A not-a-pattern is skipped, not fatal.
        assert!(required_devices("/dev/[", &[]).is_empty());
    }
}

/// Property tests of the docker runner's strings and of the create request
/// (docs/RELIABILITY.md): any string is a value or an error, never a panic; what parses
/// reads back as written; any `base_create_json` object merges without losing what the
/// lobby needs, and the result is what the Engine's model reads or an error.
#[cfg(test)]
mod props {
    use proptest::prelude::*;

    use super::*;

    fn config() -> ProptestConfig {
        ProptestConfig {
            cases: 4096,
            failure_persistence: None,
            ..ProptestConfig::default()
        }
    }

    /// Strings built mostly of the parsers' own punctuation.
    fn wolfish() -> impl Strategy<Value = String> {
        "[/:a-z0-9,rwmudptc\\-]{0,24}"
    }

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            ".{0,8}".prop_map(Value::String),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map(
                    prop_oneof![
                        Just("HostConfig".to_owned()),
                        Just("Env".to_owned()),
                        Just("Binds".to_owned()),
                        Just("Devices".to_owned()),
                        Just("Labels".to_owned()),
                        Just("Image".to_owned()),
                        "[A-Za-z]{0,8}",
                    ],
                    inner,
                    0..4
                )
                .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #![proptest_config(config())]

        #[test]
        fn any_string_is_a_value_or_an_error(text in prop_oneof![wolfish(), ".{0,24}"]) {
            if let Ok(mount) = Mount::parse(&text) {
                prop_assert_eq!(Mount::parse(&mount.bind()), Ok(mount));
            }
            if let Ok(device) = Device::parse(&text) {
                let again = format!("{}:{}:{}", device.host, device.container, device.permissions);
                prop_assert_eq!(Device::parse(&again), Ok(device));
            }
            if let Ok(port) = Port::parse(&text) {
                let again = format!(
                    "{}:{}:{}",
                    port.host,
                    port.container,
                    if port.udp { "udp" } else { "tcp" }
                );
                prop_assert_eq!(Port::parse(&again), Ok(port));
            }
        }

        #[test]
        fn any_base_keeps_what_the_lobby_needs(
            base in prop::collection::btree_map(
                prop_oneof![Just("HostConfig".to_owned()), Just("Env".to_owned()),
                            Just("Labels".to_owned()), "[A-Za-z]{1,8}"],
                json_value(),
                0..5,
            ),
            name in ".{0,12}",
        ) {
            let spec = ContainerSpec {
                name,
                image: "img".into(),
                mounts: Vec::new(),
                env: vec![("A".into(), "1".into())],
                devices: Vec::new(),
                ports: vec![Port { host: 1, container: 2, udp: false }],
                base: base.into_iter().collect(),
                instance: "inst".into(),
                render_node: None,
            };
            let lobby = LobbyParts {
                lobby_id: "abc",
                wayland_socket: Path::new("/rt/wayland-1"),
                wayland_display: "wayland-1",
                x_display: None,
                width: 1,
                height: 2,
                fps: 3,
                gpu_devices: &[],
                nvidia: false,
                audio: None,
            };
            let body = spec.create_body(&lobby);
            prop_assert_eq!(&body["Image"], "img");
            prop_assert_eq!(&body["Labels"][super::super::LABEL_HOST], "inst");
            prop_assert_eq!(&body["Labels"][super::super::LABEL_LOBBY], "abc");
            let env = body["Env"].as_array().cloned().unwrap_or_default();
            prop_assert_eq!(env.last(), Some(&json!("GAMESCOPE_REFRESH=3")));
            prop_assert!(
                body["HostConfig"]["Binds"]
                    .as_array()
                    .is_some_and(|b| b.last() == Some(&json!("/rt/wayland-1:/tmp/sockets/wayland-1:rw")))
            );
            let name = spec.container_name("abc");
            prop_assert!(name.ends_with("_abc"));
            prop_assert!(name.chars().all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c)));
            prop_assert!(name.starts_with(|c: char| c.is_ascii_alphanumeric()));
            // The Engine's model reads it or says why; never a panic.
            let _ = serde_json::from_value::<bollard::models::ContainerCreateBody>(body);
        }
    }
}
