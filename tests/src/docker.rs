//! A real Docker Engine for the docker runner's tests: whether one answers (and whether the
//! tests may skip without it), and a local test image built from this machine's own files
//! (there is no registry to pull from).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use serde_json::Value;

/// The repository our test images are tagged in; the tag is the content's hash.
pub const TEST_IMAGE_REPO: &str = "gwd-test-client";
/// The labels the host puts on its containers.
pub const LABEL_HOST: &str = "gst-wayland-display.host";
pub const LABEL_LOBBY: &str = "gst-wayland-display.lobby";

/// Whether a Docker Engine answers. Without one the docker tests are skipped with a loud
/// message, unless `GWD_REQUIRE_DOCKER=1` (CI sets it) makes that a failure.
pub fn available(test: &str) -> bool {
    let answers = Command::new("docker")
        .args(["version", "--format", "{{.Server.Version}}"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if answers {
        return true;
    }
    let required = std::env::var("GWD_REQUIRE_DOCKER").is_ok_and(|v| v == "1");
    assert!(
        !required,
        "{test}: no Docker Engine answers (`docker version` failed) and GWD_REQUIRE_DOCKER=1"
    );
    eprintln!(
        "\n*** SKIPPED {test}: no Docker Engine answers (`docker version` failed); \
         set GWD_REQUIRE_DOCKER=1 to make this a failure ***\n"
    );
    false
}

/// Runs `docker args…`; its stdout, or a panic with its stderr.
pub fn docker(args: &[&str]) -> String {
    let out = Command::new("docker")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|err| panic!("docker {args:?}: {err}"));
    assert!(
        out.status.success(),
        "docker {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Like [`docker`], but a failure is an answer (`None`), not a panic.
pub fn docker_try(args: &[&str]) -> Option<String> {
    let out = Command::new("docker")
        .args(args)
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Names of the containers (running or not) with all of `labels` (`key=value` or `key`).
pub fn containers_with(labels: &[&str]) -> Vec<String> {
    let filters: Vec<String> = labels.iter().map(|l| format!("label={l}")).collect();
    let mut args = vec!["ps", "-a", "--format", "{{.Names}}"];
    for filter in &filters {
        args.extend(["--filter", filter.as_str()]);
    }
    docker(&args)
        .lines()
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

/// How many containers, networks and volumes the engine has.
pub fn engine_counts() -> (usize, usize, usize) {
    let count = |args: &[&str]| docker(args).lines().filter(|l| !l.is_empty()).count();
    (
        count(&["ps", "-aq"]),
        count(&["network", "ls", "-q"]),
        count(&["volume", "ls", "-q"]),
    )
}

/// `docker inspect` of one container, or `None` if there is none by that name.
pub fn inspect(name: &str) -> Option<Value> {
    let text = docker_try(&["inspect", name])?;
    let all: Value = serde_json::from_str(&text).ok()?;
    all.get(0).cloned()
}

/// A container-free copy of `path` plus the libraries it links, under `root`.
fn copy_with_libraries(path: &Path, root: &Path, as_name: &str) {
    let copy = |from: &Path, to: &Path| {
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(from, to).unwrap_or_else(|e| panic!("copy {}: {e}", from.display()));
    };
    copy(path, &root.join(as_name.trim_start_matches('/')));
    let ldd = Command::new("ldd").arg(path).output().unwrap();
    for line in String::from_utf8_lossy(&ldd.stdout).lines() {
        // "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x…)" or "/lib64/ld-linux… (0x…)"
        let lib = line
            .split("=>")
            .last()
            .and_then(|rest| rest.split_whitespace().next())
            .filter(|p| p.starts_with('/'));
        if let Some(lib) = lib {
            let lib = Path::new(lib);
            copy(lib, &root.join(lib.strip_prefix("/").unwrap()));
        }
    }
}

/// The test image: the deterministic Wayland test client (`/wayland-test-client`, its
/// default command) and `/bin/sh`, with their libraries; built once per test binary from
/// this machine's files with `docker import`, tagged by a hash of its content. Older tags of
/// the same repository (earlier builds) are removed so they do not pile up.
pub fn test_image() -> String {
    static IMAGE: OnceLock<String> = OnceLock::new();
    IMAGE
        .get_or_init(|| {
            import_image(TEST_IMAGE_REPO, "/wayland-test-client", |root| {
                copy_with_libraries(&crate::host::client(), root, "/wayland-test-client");
            })
        })
        .clone()
}

/// The repository the audio test image is tagged in (apart from [`TEST_IMAGE_REPO`], whose
/// older tags each build removes).
pub const AUDIO_TEST_IMAGE_REPO: &str = "gwd-test-audio";

/// The audio test image: `/bin/sh`, `paplay` (with its libraries) and `/tone.wav`, two
/// seconds of a 440 Hz sine (48 kHz, 16-bit, stereo); built once per test binary like
/// [`test_image`].
pub fn audio_test_image() -> String {
    static IMAGE: OnceLock<String> = OnceLock::new();
    IMAGE
        .get_or_init(|| {
            import_image(AUDIO_TEST_IMAGE_REPO, "/bin/sh", |root| {
                copy_with_libraries(Path::new("/usr/bin/paplay"), root, "/usr/bin/paplay");
                std::fs::write(root.join("tone.wav"), sine_wav(440.0, 48_000, 2.0)).unwrap();
            })
        })
        .clone()
}

/// A 16-bit stereo PCM WAV file of a sine of `freq` Hz at half scale, `seconds` long.
pub fn sine_wav(freq: f64, rate: u32, seconds: f64) -> Vec<u8> {
    const CHANNELS: u16 = 2;
    const BYTES_PER_SAMPLE: u16 = 2;
    let frames = (f64::from(rate) * seconds) as u32;
    let block = u32::from(CHANNELS * BYTES_PER_SAMPLE);
    let data_len = frames * block;
    let mut wav = Vec::with_capacity(44 + data_len as usize);
    wav.extend_from_slice(b"RIFF");
    wav.extend_from_slice(&(36 + data_len).to_le_bytes());
    wav.extend_from_slice(b"WAVEfmt ");
    wav.extend_from_slice(&16u32.to_le_bytes()); // fmt chunk size
    wav.extend_from_slice(&1u16.to_le_bytes()); // PCM
    wav.extend_from_slice(&CHANNELS.to_le_bytes());
    wav.extend_from_slice(&rate.to_le_bytes());
    wav.extend_from_slice(&(rate * block).to_le_bytes()); // byte rate
    wav.extend_from_slice(&(CHANNELS * BYTES_PER_SAMPLE).to_le_bytes()); // block align
    wav.extend_from_slice(&(BYTES_PER_SAMPLE * 8).to_le_bytes()); // bits per sample
    wav.extend_from_slice(b"data");
    wav.extend_from_slice(&data_len.to_le_bytes());
    for i in 0..frames {
        let t = f64::from(i) / f64::from(rate);
        let v = (0.5 * f64::from(i16::MAX) * (2.0 * std::f64::consts::PI * freq * t).sin()) as i16;
        for _ in 0..CHANNELS {
            wav.extend_from_slice(&v.to_le_bytes());
        }
    }
    wav
}

/// Builds an image of `/bin/sh` (with its libraries), `/tmp` and what `fill` puts under the
/// root it is given, with `cmd` as its command, by `docker import`, tagged in `repo` by a
/// hash of its content; older tags of `repo` are removed.
fn import_image(repo: &str, cmd: &str, fill: impl FnOnce(&Path)) -> String {
    let root = tempfile::Builder::new()
        .prefix("gwd-image")
        .tempdir()
        .unwrap();
    fill(root.path());
    copy_with_libraries(Path::new("/bin/sh"), root.path(), "/bin/sh");
    std::fs::create_dir_all(root.path().join("tmp")).unwrap();
    let tar = root.path().with_extension("tar");
    let status = Command::new("tar")
        .arg("-C")
        .arg(root.path())
        .args(["--sort=name", "--mtime=@0", "--owner=0", "--group=0", "-cf"])
        .arg(&tar)
        .arg(".")
        .status()
        .unwrap();
    assert!(status.success(), "tar failed");
    let hash = Command::new("sha256sum").arg(&tar).output().unwrap();
    let hash = String::from_utf8_lossy(&hash.stdout)[..16].to_owned();
    let image = format!("{repo}:{hash}");
    if docker_try(&["image", "inspect", &image]).is_none() {
        for old in docker(&["images", "--format", "{{.Repository}}:{{.Tag}}", repo])
            .lines()
            .filter(|l| !l.is_empty() && *l != image)
        {
            let _ = docker_try(&["rmi", old]);
        }
        let tar_path: PathBuf = tar.clone();
        docker(&[
            "import",
            "--change",
            &format!("CMD [\"{cmd}\"]"),
            tar_path.to_str().unwrap(),
            &image,
        ]);
    }
    let _ = std::fs::remove_file(&tar);
    image
}
