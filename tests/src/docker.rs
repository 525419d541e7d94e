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
            let root = tempfile::Builder::new()
                .prefix("gwd-image")
                .tempdir()
                .unwrap();
            copy_with_libraries(&crate::host::client(), root.path(), "/wayland-test-client");
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
            let image = format!("{TEST_IMAGE_REPO}:{hash}");
            if docker_try(&["image", "inspect", &image]).is_none() {
                for old in docker(&[
                    "images",
                    "--format",
                    "{{.Repository}}:{{.Tag}}",
                    TEST_IMAGE_REPO,
                ])
                .lines()
                .filter(|l| !l.is_empty() && *l != image)
                {
                    let _ = docker_try(&["rmi", old]);
                }
                let tar_path: PathBuf = tar.clone();
                docker(&[
                    "import",
                    "--change",
                    "CMD [\"/wayland-test-client\"]",
                    tar_path.to_str().unwrap(),
                    &image,
                ]);
            }
            let _ = std::fs::remove_file(&tar);
            image
        })
        .clone()
}
