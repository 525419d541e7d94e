//! Sound for lobbies: a PulseAudio-protocol server to talk to (a shared one named by
//! `PULSE_SERVER`, or a private one started here), one null sink per lobby that its app
//! plays into and its pipeline records from, and the sweep that unloads the sinks a killed
//! worker or a crashed host left.
//!
//! A sink belongs to whoever its owner properties name: [`PROP_INSTANCE`] (the host
//! instance, or `run` for the command line) and [`PROP_LOBBY`]. Nothing here touches a
//! sink without them, so sinks that other programs loaded on a shared server stay.

pub(crate) mod branch;
pub(crate) mod client;
pub(crate) mod server;
pub(crate) mod sink;

pub(crate) use server::SoundServer;
pub(crate) use sink::{LobbySink, SinkOwner};

/// The owner property naming the host instance (or `run`) that loaded a sink.
pub(crate) const PROP_INSTANCE: &str = "gst-wayland-display.instance";
/// The owner property naming the lobby a sink was loaded for.
pub(crate) const PROP_LOBBY: &str = "gst-wayland-display.lobby";
/// The owner property naming the machine that loaded it (its `/etc/machine-id`): a shared
/// server may serve several machines, whose instances and pids mean nothing here.
pub(crate) const PROP_MACHINE: &str = "gst-wayland-display.machine";
/// The owner property naming the process that loaded it: `BOOT/PIDNS/PID/START` (the boot
/// id, the pid namespace, the pid and its start time), so that `run` can tell a sink of a
/// dead run from a live one's.
pub(crate) const PROP_PROCESS: &str = "gst-wayland-display.process";

/// The most channels a lobby's audio has (7.1, as Wolf's surround settings); Opus takes
/// up to 8 with its surround mapping.
pub(crate) const MAX_CHANNELS: u8 = 8;
/// The rate a lobby's audio is captured and encoded at (Opus's own).
pub(crate) const RATE: u32 = 48_000;
