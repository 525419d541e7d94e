//! `run`: one lobby in the foreground — an application streamed to a file, with a
//! screenshot, progress on the terminal.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use waylanddisplaycore::{OutputScale, WindowMode};

use crate::audio::sink::RUN_INSTANCE;
use crate::audio::{self, SoundServer};
use crate::encoder;
use crate::lobby::driver::{self, Outcome, Policy, Report};
use crate::lobby::inbox::Inbox;
use crate::lobby::protocol::{
    AppSpec, AudioServer, AudioSpec, FromWorker, LobbySpec, ModeError, Runner, XwaylandMode,
    check_mode,
};
use crate::lobby::worker::forward_signals;
use crate::time::Seconds;

/// What the app gets after SIGTERM before SIGKILL when the run ends.
const STOP_GRACE: Duration = Duration::from_secs(3);

#[derive(clap::Args)]
pub(crate) struct RunArgs {
    #[arg(long, default_value_t = 1280)]
    width: u32,
    #[arg(long, default_value_t = 720)]
    height: u32,
    #[arg(long, default_value_t = 30)]
    fps: u32,
    #[arg(long, default_value = "auto")]
    render_node: String,
    /// Encoder element (e.g. `x264enc`) or a gst-launch fragment that encodes; default:
    /// the first of nvh264enc, vah264enc, qsvh264enc, x264enc present.
    #[arg(long)]
    encoder: Option<String>,
    /// Where the stream goes: `.mp4` or `.mkv` (muxed H.264); none: encoded and dropped.
    #[arg(long)]
    output: Option<PathBuf>,
    /// Seconds to stream; default: until the app exits or Ctrl-C.
    #[arg(long, allow_negative_numbers = true)]
    duration: Option<Seconds>,
    /// Write the last frame as PNG here.
    #[arg(long)]
    screenshot: Option<PathBuf>,
    /// How windows without a parent are shown: maximized or fullscreen.
    #[arg(long, default_value = "maximized")]
    window_mode: WindowMode,
    /// Scale a fullscreen window smaller than the output up to fit it (aspect kept).
    #[arg(long)]
    scale_to_fit: bool,
    /// The output's scale, 1 to 4: windows are laid out at the size divided by it (2: a
    /// 3840x2160 stream of a desktop at 1920x1080 sizes).
    #[arg(long, default_value = "1")]
    scale: OutputScale,
    /// Leave out the protocols that let a client act as the user: clipboard access
    /// without focus (data control), virtual keyboard, virtual pointer.
    #[arg(long)]
    no_privileged_protocols: bool,
    /// When the compositor starts Xwayland for X11 apps: on-demand (when the first one
    /// connects), on (at once) or off (no DISPLAY for the app).
    #[arg(long, default_value = "on-demand")]
    xwayland: XwaylandMode,
    /// Record no sound (by default the app gets a sink of its own, recorded as Opus into
    /// the output beside the video).
    #[arg(long)]
    no_audio: bool,
    /// Audio channels, 1 to 8.
    #[arg(long, default_value_t = 2)]
    audio_channels: u8,
    /// Seconds allowed until the compositor listens.
    #[arg(long, default_value = "10", allow_negative_numbers = true)]
    start_timeout: Seconds,
    /// The application and its arguments.
    #[arg(last = true)]
    app: Vec<String>,
}

struct Terminal;

impl Report for Terminal {
    fn report(&mut self, message: FromWorker) {
        match message {
            FromWorker::Socket {
                wayland_display,
                runtime_dir,
                render_node,
                x_display,
            } => println!(
                "compositor listening: WAYLAND_DISPLAY={wayland_display} XDG_RUNTIME_DIR={}{} (render-node={render_node})",
                runtime_dir.display(),
                x_display
                    .map(|d| format!(" DISPLAY={d}"))
                    .unwrap_or_default()
            ),
            FromWorker::Ready {
                app_pid, encoder, ..
            } => match app_pid {
                Some(pid) => println!("app started (pid {pid}); encoding with {encoder}"),
                None => println!("streaming without an app; encoding with {encoder}"),
            },
            FromWorker::Stats { frames, fps } => println!("{frames} frames, {fps:.1} fps"),
            FromWorker::Screenshot { error: Some(err) } => eprintln!("screenshot failed: {err}"),
            FromWorker::Screenshot { error: None } => {}
            // `run` asks for no clipboard.
            FromWorker::Clipboard { .. } => {}
            FromWorker::Audio {
                sink: Some(sink), ..
            } => println!("recording the app's sound from the sink {sink}"),
            FromWorker::Audio {
                error: Some(error), ..
            } => eprintln!("no audio: {error}"),
            FromWorker::Audio { .. } => {}
            FromWorker::Failed { error } => eprintln!("failed: {error}"),
            FromWorker::Stopped => println!("stopped"),
            FromWorker::InputTaken { .. } => {}
        }
    }
}

pub(crate) fn run(args: &RunArgs) -> anyhow::Result<ExitCode> {
    check_mode(args.width, args.height, args.fps).map_err(|err| match err {
        ModeError::Size(..) => anyhow::anyhow!("--width/--height: {err}"),
        ModeError::Rate(_) => anyhow::anyhow!("--fps: {err}"),
    })?;
    gst::init().context("initialising GStreamer")?;
    gstwaylanddisplaysrc::plugin_register_static().context("registering waylanddisplaysrc")?;
    if args.no_audio && args.audio_channels != 2 {
        bail!("--audio-channels needs audio: leave out --no-audio");
    }
    if !(1..=audio::MAX_CHANNELS).contains(&args.audio_channels) {
        bail!("--audio-channels: 1 to {}", audio::MAX_CHANNELS);
    }
    let runtime_dir = PrivateRuntimeDir::ensure()?;
    // Dropped after the lobby (declared before the spec): its sink is unloaded first.
    let sound = (!args.no_audio).then(|| runtime_dir.path().and_then(|dir| sound_server(&dir)));
    let spec = LobbySpec {
        id: format!("{}", std::process::id()),
        name: "run".to_owned(),
        width: args.width,
        height: args.height,
        fps: args.fps,
        render_node: args.render_node.clone(),
        buffer_caps: None,
        encoder_pipeline: args
            .encoder
            .as_deref()
            .map(|e| encoder::pick(Some(e)).map(|e| e.fragment))
            .transpose()
            .map_err(|err| anyhow::anyhow!("--encoder: {err}"))?,
        sink_pipeline: sink(args.output.as_deref())?,
        audio: sound.as_ref().map(|server| AudioSpec {
            server: match server {
                Ok(server) => AudioServer::Address(server.address().to_owned()),
                Err(err) => AudioServer::Unavailable(err.clone()),
            },
            instance: RUN_INSTANCE.to_owned(),
            channels: args.audio_channels,
            pipeline: if args.output.is_some() {
                // The muxer of the video's sink.
                "mux.".to_owned()
            } else {
                audio::branch::DEFAULT_FRAGMENT.to_owned()
            },
        }),
        app: match args.app.as_slice() {
            [] => None,
            argv => Some(Runner::Process(AppSpec {
                command: shell_join(argv)?,
                env: Vec::new(),
            })),
        },
        start_timeout: args.start_timeout.duration(),
        stop_grace: STOP_GRACE,
        window_mode: args.window_mode,
        scale_to_fit: args.scale_to_fit,
        scale: args.scale.get(),
        xwayland: args.xwayland,
        privileged_protocols: !args.no_privileged_protocols,
    };
    let policy = Policy {
        app_exit_is_failure: false,
        duration: args.duration.map(Seconds::duration),
        screenshot_at_end: args.screenshot.clone(),
        finish_with_eos: true,
    };
    let (tx, rx) = driver::events();
    forward_signals(tx.clone())?;
    // `run` takes no input: its inbox stays empty.
    match driver::drive(&spec, &policy, (tx, rx), &Inbox::new(), &mut Terminal) {
        Outcome::Stopped => {
            if let Some(output) = &args.output {
                let size = std::fs::metadata(output).map(|m| m.len()).unwrap_or(0);
                println!("wrote {} ({size} bytes)", output.display());
            }
            if let Some(shot) = &args.screenshot {
                println!("wrote {}", shot.display());
            }
            Ok(ExitCode::SUCCESS)
        }
        Outcome::Failed(_) => Ok(ExitCode::FAILURE),
    }
}

fn sink(output: Option<&Path>) -> anyhow::Result<String> {
    let Some(path) = output else {
        return Ok("fakesink sync=false".to_owned());
    };
    let muxer = match path.extension().and_then(|e| e.to_str()) {
        Some("mp4") | Some("m4v") => "mp4mux",
        Some("mkv") => "matroskamux",
        _ => bail!("--output {}: use a .mp4 or .mkv file", path.display()),
    };
    let location = path.to_str().context("--output must be UTF-8")?;
    if location.contains('"') {
        bail!("--output must not contain a double quote");
    }
    Ok(format!(
        "{muxer} name=mux ! filesink location=\"{location}\""
    ))
}

/// The sound server `run` records from: `PULSE_SERVER`'s (where sinks a killed `run` left
/// are unloaded first) or a private one. An error leaves the recording without audio.
fn sound_server(runtime_dir: &Path) -> Result<SoundServer, String> {
    let server =
        SoundServer::from_env_or_start(runtime_dir, &format!("run-{}", std::process::id()))
            .map_err(|err| err.to_string())?;
    if !server.is_private() {
        match audio::sink::sweep_dead_runs(server.address()) {
            Ok(swept) if !swept.is_empty() => {
                println!("unloaded sinks of ended runs: {}", swept.join(", "));
            }
            Ok(_) => {}
            Err(err) => return Err(err.to_string()),
        }
    }
    Ok(server)
}

/// The app's argv as one `sh -c` command line, each argument quoted.
fn shell_join(argv: &[String]) -> anyhow::Result<String> {
    shlex::try_join(argv.iter().map(String::as_str))
        .context("an argument of the app contains a NUL byte")
}

/// `XDG_RUNTIME_DIR` for the run: the user's, or a private one made (and removed) here.
struct PrivateRuntimeDir(Option<PathBuf>);

impl PrivateRuntimeDir {
    /// The directory in use.
    fn path(&self) -> Result<PathBuf, String> {
        match &self.0 {
            Some(dir) => Ok(dir.clone()),
            None => std::env::var_os("XDG_RUNTIME_DIR")
                .map(PathBuf::from)
                .ok_or_else(|| "XDG_RUNTIME_DIR went away".to_owned()),
        }
    }

    fn ensure() -> anyhow::Result<Self> {
        if std::env::var_os("XDG_RUNTIME_DIR").is_some_and(|d| !d.is_empty()) {
            return Ok(Self(None));
        }
        let dir =
            std::env::temp_dir().join(format!("gst-wayland-display-run-{}", std::process::id()));
        std::fs::create_dir(&dir).with_context(|| format!("creating {}", dir.display()))?;
        std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o700))?;
        println!("XDG_RUNTIME_DIR is not set; using {}", dir.display());
        // SAFETY: set before any thread is started; GStreamer and the compositor read it
        // later on this same thread or on threads started after.
        unsafe { std::env::set_var("XDG_RUNTIME_DIR", &dir) };
        Ok(Self(Some(dir)))
    }
}

impl Drop for PrivateRuntimeDir {
    fn drop(&mut self) {
        if let Some(dir) = &self.0 {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn app_arguments_survive_the_shell() {
        let argv = ["echo".to_owned(), "it's".to_owned(), "a b".to_owned()];
        let out = std::process::Command::new("/bin/sh")
            .arg("-c")
            .arg(shell_join(&argv).unwrap())
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout), "it's a b\n");
    }

    #[test]
    fn outputs_pick_a_muxer() {
        assert!(
            sink(Some(Path::new("/tmp/a.mp4")))
                .unwrap()
                .starts_with("mp4mux")
        );
        assert!(
            sink(Some(Path::new("/tmp/a.mkv")))
                .unwrap()
                .starts_with("matroskamux")
        );
        assert!(sink(Some(Path::new("/tmp/a.avi"))).is_err());
        assert_eq!(sink(None).unwrap(), "fakesink sync=false");
        gst::init().unwrap();
        assert_eq!(
            encoder::pick(Some("x264enc")).unwrap().fragment,
            "video/x-raw,format=I420 ! x264enc ! h264parse"
        );
    }
}
