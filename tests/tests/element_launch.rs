//! The element as users meet it first: `gst-inspect-1.0` and `gst-launch-1.0`, including
//! every start-up failure, each of which must be one clear bus error and a non-zero exit.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};
use std::time::Duration;

use gwd_tests::{ChildGuard, Output, gst_launch, plugin_dir, private_dir, run, target_dir};

const TIMEOUT: Duration = Duration::from_secs(60);
const HOLDER: &str = env!("CARGO_BIN_EXE_gwd-socket-holder");

fn assert_no_panic(out: &Output) {
    assert!(
        !out.all().contains("panicked"),
        "a panic was printed:\n{}",
        out.all()
    );
}

/// Checks a failed run: non-zero exit, an element error with all of `needles` in it.
fn assert_fails_with(out: &Output, needles: &[&str]) {
    assert!(!out.status.success(), "expected failure:\n{}", out.all());
    let all = out.all();
    assert!(
        all.contains("ERROR: from element /GstPipeline:pipeline0/GstWaylandDisplaySrc"),
        "{all}"
    );
    for needle in needles {
        assert!(all.contains(needle), "missing {needle:?} in:\n{all}");
    }
    assert_no_panic(out);
}

#[test]
fn gst_inspect_describes_the_element() {
    let mut cmd = Command::new("gst-inspect-1.0");
    cmd.arg("waylanddisplaysrc")
        .env("GST_PLUGIN_PATH", plugin_dir())
        .env("GST_REGISTRY", target_dir().join("gst-registry-tests.bin"));
    let out = run(cmd, TIMEOUT);
    assert!(out.status.success(), "{}", out.all());
    for needle in [
        "render-node",
        "socket-name",
        "mouse",
        "keyboard",
        "is-live",
        "video/x-raw",
        "BGRx",
        "RGBA",
    ] {
        assert!(
            out.stdout.contains(needle),
            "{needle} missing:\n{}",
            out.stdout
        );
    }
}

#[test]
fn gst_launch_streams_and_announces_the_socket() {
    let dir = private_dir("gwd-launch");
    let out = run(
        gst_launch(
            "waylanddisplaysrc render-node=software num-buffers=30 ! \
             video/x-raw,width=320,height=240,framerate=30/1 ! fakesink sync=true",
            Some(dir.path()),
        ),
        TIMEOUT,
    );
    assert!(out.status.success(), "{}", out.all());
    assert!(
        out.stdout
            .contains("wayland.src, WAYLAND_DISPLAY=(string)wayland-1"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("Got EOS"), "{}", out.stdout);
    assert_no_panic(&out);
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "socket left behind"
    );
}

#[test]
fn default_render_node_and_every_format_work() {
    let dir = private_dir("gwd-formats");
    for format in ["BGRx", "RGBx", "BGRA", "RGBA"] {
        let out = run(
            gst_launch(
                &format!(
                    "waylanddisplaysrc num-buffers=3 ! video/x-raw,format={format},width=64,height=48 ! \
                     fakesink"
                ),
                Some(dir.path()),
            ),
            TIMEOUT,
        );
        assert!(out.status.success(), "{format}: {}", out.all());
    }
}

#[test]
fn missing_runtime_dir_variable_is_a_bus_error() {
    let out = run(gst_launch("waylanddisplaysrc ! fakesink", None), TIMEOUT);
    assert_fails_with(&out, &["XDG_RUNTIME_DIR is not set"]);
}

#[test]
fn nonexistent_runtime_dir_is_a_bus_error() {
    let dir = private_dir("gwd-gone");
    let missing = dir.path().join("not-there");
    let out = run(
        gst_launch("waylanddisplaysrc ! fakesink", Some(&missing)),
        TIMEOUT,
    );
    assert_fails_with(&out, &[missing.to_str().unwrap()]);
}

#[test]
fn unwritable_runtime_dir_is_a_bus_error() {
    // Root writes everywhere, so run gst-launch as nobody, against a directory owned by
    // root. The plugin and registry go where nobody can read them.
    let shared = private_dir("gwd-nobody");
    std::fs::set_permissions(shared.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let so = shared.path().join("libgstwaylanddisplaysrc.so");
    std::fs::copy(plugin_dir().join("libgstwaylanddisplaysrc.so"), &so).unwrap();
    std::fs::set_permissions(&so, std::fs::Permissions::from_mode(0o755)).unwrap();
    let runtime = shared.path().join("runtime");
    std::fs::create_dir(&runtime).unwrap();
    std::fs::set_permissions(&runtime, std::fs::Permissions::from_mode(0o755)).unwrap();

    let mut cmd = Command::new("setpriv");
    cmd.args([
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
        "gst-launch-1.0",
        "waylanddisplaysrc",
        "!",
        "fakesink",
    ])
    .env("GST_PLUGIN_PATH", shared.path())
    .env("GST_REGISTRY", shared.path().join("registry.bin"))
    .env("HOME", shared.path())
    .env("XDG_RUNTIME_DIR", &runtime);
    let out = run(cmd, TIMEOUT);
    assert_fails_with(&out, &["not writable", runtime.to_str().unwrap()]);
}

#[test]
fn live_explicit_socket_name_is_a_bus_error() {
    let dir = private_dir("gwd-busy");
    let mut cmd = Command::new(HOLDER);
    cmd.arg(dir.path())
        .args(["1", "wayland-lobby-42"])
        .stdin(Stdio::piped());
    let holder = ChildGuard::spawn(cmd);
    holder.expect_line(Duration::from_secs(20), "ready");
    let out = run(
        gst_launch(
            "waylanddisplaysrc socket-name=wayland-lobby-42 ! fakesink",
            Some(dir.path()),
        ),
        TIMEOUT,
    );
    assert_fails_with(&out, &["wayland-lobby-42", "running compositor"]);
    assert!(
        dir.path().join("wayland-lobby-42").exists(),
        "the live socket was touched"
    );
}

#[test]
fn auto_renders_in_software_here_and_says_so() {
    let dir = private_dir("gwd-auto");
    let out = run(
        gst_launch(
            "waylanddisplaysrc render-node=auto num-buffers=3 ! video/x-raw,width=64,height=48 ! fakesink",
            Some(dir.path()),
        ),
        TIMEOUT,
    );
    assert!(out.status.success(), "{}", out.all());
    // An INFO message on the bus says what was picked and why.
    assert!(
        out.stdout.contains("(info): GstMessageInfo"),
        "{}",
        out.stdout
    );
    assert!(
        out.all().contains("no DRM render nodes found"),
        "{}",
        out.all()
    );
    assert!(out.all().contains("rendering in software"), "{}", out.all());
}

#[test]
fn absent_default_node_of_the_old_element_is_a_bus_error() {
    let dir = private_dir("gwd-d128");
    let out = run(
        gst_launch(
            "waylanddisplaysrc render-node=/dev/dri/renderD128 ! fakesink",
            Some(dir.path()),
        ),
        TIMEOUT,
    );
    assert_fails_with(
        &out,
        &[
            "/dev/dri/renderD128",
            "does not exist",
            "render-node=software",
        ],
    );
}

#[test]
fn missing_render_node_is_a_bus_error() {
    let dir = private_dir("gwd-node");
    let out = run(
        gst_launch(
            "waylanddisplaysrc render-node=/dev/dri/does-not-exist ! fakesink",
            Some(dir.path()),
        ),
        TIMEOUT,
    );
    assert_fails_with(
        &out,
        &[
            "/dev/dri/does-not-exist",
            "does not exist",
            "render-node=software",
        ],
    );
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn unknown_render_node_value_is_a_bus_error() {
    let dir = private_dir("gwd-node");
    let out = run(
        gst_launch(
            "waylanddisplaysrc render-node=gpu0 ! fakesink",
            Some(dir.path()),
        ),
        TIMEOUT,
    );
    assert_fails_with(&out, &["gpu0", "software"]);
}

#[test]
fn failing_downstream_ends_cleanly() {
    let dir = private_dir("gwd-downstream");
    let out = run(
        gst_launch(
            "waylanddisplaysrc ! video/x-raw,width=64,height=48,framerate=30/1 ! identity error-after=3 ! fakesink",
            Some(dir.path()),
        ),
        TIMEOUT,
    );
    assert!(!out.status.success());
    assert!(out.all().contains("GstIdentity"), "{}", out.all());
    assert_no_panic(&out);
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "socket left behind"
    );
}
