//! A lobby's null sink: loaded with owner properties naming the host instance and the
//! lobby, unloaded by its owner's `Drop`, and swept by those properties when its owner
//! could not unload it (a killed worker, a crashed host).

use std::time::Duration;

use gst::prelude::*;

use super::client::{CONNECT_TIMEOUT, ListedSink, PulseClient, PulseError};
use super::{PROP_INSTANCE, PROP_LOBBY, PROP_MACHINE, PROP_PROCESS, RATE};
use crate::time::Deadline;

/// How long restarting a sink's clock waits for its monitor to be recorded.
const RECORDING_WAIT: Duration = Duration::from_secs(5);
/// The longest owner value: ids, instance names and `pid:start` are far shorter.
const MAX_OWNER_VALUE: usize = 64;
/// The keys a sweep reads of every sink.
const OWNER_KEYS: &[&str] = &[PROP_INSTANCE, PROP_LOBBY, PROP_MACHINE, PROP_PROCESS];

#[derive(Debug, thiserror::Error)]
pub(crate) enum SinkError {
    #[error(transparent)]
    Pulse(#[from] PulseError),
    #[error(
        "{field} {value:?} cannot name a sink (letters, digits, '-' and '_', at most {MAX_OWNER_VALUE})"
    )]
    BadOwner { field: &'static str, value: String },
    #[error("a lobby's audio has 1 to {max} channels, not {0}", max = super::MAX_CHANNELS)]
    Channels(u8),
    #[error("/proc does not tell this process's boot, pid namespace or start time")]
    NoProcessIdentity,
}

/// Who a sink belongs to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SinkOwner {
    /// The host instance, or `run`.
    pub(crate) instance: String,
    pub(crate) lobby: String,
    /// This machine (see [`super::PROP_MACHINE`]).
    pub(crate) machine: String,
    /// The process that loads it (see [`super::PROP_PROCESS`]).
    pub(crate) process: Process,
}

/// A process, as precisely as a later look at `/proc` can tell it from others.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Process {
    pub(crate) boot: String,
    pub(crate) pid_namespace: u64,
    pub(crate) pid: u32,
    pub(crate) started: u64,
}

impl Process {
    /// This process; `None` where `/proc` does not tell.
    fn this() -> Option<Self> {
        let pid = std::process::id();
        Some(Self {
            boot: boot_id()?,
            pid_namespace: pid_namespace()?,
            pid,
            started: crate::host::start_time(pid)?,
        })
    }

    fn parse(value: &str) -> Option<Self> {
        let mut parts = value.split('/');
        let process = Self {
            boot: parts.next().filter(|b| safe_value(b))?.to_owned(),
            pid_namespace: parts.next()?.parse().ok()?,
            pid: parts.next()?.parse().ok()?,
            started: parts.next()?.parse().ok()?,
        };
        parts.next().is_none().then_some(process)
    }

    /// Whether the process is gone: its boot is over, or its pid is free or another's.
    /// `None` when this process cannot tell (another pid namespace).
    fn ended(&self, here: &Self) -> Option<bool> {
        if self.boot != here.boot {
            return Some(true);
        }
        if self.pid_namespace != here.pid_namespace {
            return None;
        }
        Some(crate::host::start_time(self.pid) != Some(self.started))
    }
}

impl std::fmt::Display for Process {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}/{}/{}/{}",
            self.boot, self.pid_namespace, self.pid, self.started
        )
    }
}

/// This boot's id: pid start times count from it.
fn boot_id() -> Option<String> {
    let id = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").ok()?;
    let id = id.trim();
    safe_value(id).then(|| id.to_owned())
}

/// The inode of our pid namespace: pids mean something only within it.
fn pid_namespace() -> Option<u64> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self/ns/pid").ok().map(|m| m.ino())
}

/// This machine's id (`/etc/machine-id`), or its host name where there is none.
fn machine_id() -> String {
    let from_file = std::fs::read_to_string("/etc/machine-id")
        .ok()
        .map(|id| id.trim().to_owned());
    let name = from_file
        .filter(|id| safe_value(id))
        .or_else(|| {
            rustix::system::uname()
                .nodename()
                .to_str()
                .ok()
                .map(str::to_owned)
        })
        .unwrap_or_default();
    if safe_value(&name) {
        name
    } else {
        "unknown".to_owned()
    }
}

/// A value that needs no quoting in a property list: letters, digits, '-', '_' and '.'.
fn safe_value(value: &str) -> bool {
    !value.is_empty()
        && value.len() <= MAX_OWNER_VALUE
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

impl SinkOwner {
    /// The owner of a sink this process loads for `lobby` of `instance`.
    pub(crate) fn this_process(instance: &str, lobby: &str) -> Result<Self, SinkError> {
        let owner = Self {
            instance: instance.to_owned(),
            lobby: lobby.to_owned(),
            machine: machine_id(),
            process: Process::this().ok_or(SinkError::NoProcessIdentity)?,
        };
        owner.check()?;
        Ok(owner)
    }

    fn check(&self) -> Result<(), SinkError> {
        for (field, value) in [("instance", &self.instance), ("lobby id", &self.lobby)] {
            let fits = !value.is_empty()
                && value.len() <= MAX_OWNER_VALUE
                && value
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            if !fits {
                return Err(SinkError::BadOwner {
                    field,
                    value: value.clone(),
                });
            }
        }
        Ok(())
    }

    /// The sink's name: unique per instance and lobby, and telling whose it is.
    pub(crate) fn sink_name(&self) -> String {
        format!("gst-wayland-display.{}.{}", self.instance, self.lobby)
    }

    /// module-null-sink's argument. Every value was checked to need no quoting but the
    /// description, which is quoted.
    fn module_argument(&self, channels: u8) -> String {
        format!(
            "sink_name={name} rate={RATE} channels={channels} sink_properties='\
             device.description=\"gst-wayland-display lobby {lobby}\" \
             {PROP_INSTANCE}={instance} {PROP_LOBBY}={lobby} {PROP_MACHINE}={machine} \
             {PROP_PROCESS}={process}'",
            name = self.sink_name(),
            lobby = self.lobby,
            instance = self.instance,
            machine = self.machine,
            process = self.process,
        )
    }

    /// Whether `sink` carries exactly this owner's machine, instance and lobby.
    fn owns(&self, sink: &ListedSink) -> bool {
        sink.property(PROP_MACHINE) == Some(self.machine.as_str())
            && sink.property(PROP_INSTANCE) == Some(self.instance.as_str())
            && sink.property(PROP_LOBBY) == Some(self.lobby.as_str())
    }
}

/// A loaded null sink; dropping it unloads it.
pub(crate) struct LobbySink {
    server: String,
    owner: SinkOwner,
    name: String,
}

impl LobbySink {
    /// Loads a null sink for `owner` with `channels` channels at 48 kHz. One that an
    /// earlier attempt for the same owner left is unloaded first.
    pub(crate) fn load(server: &str, owner: SinkOwner, channels: u8) -> Result<Self, SinkError> {
        owner.check()?;
        if channels == 0 || channels > super::MAX_CHANNELS {
            return Err(SinkError::Channels(channels));
        }
        let mut client = PulseClient::connect(server, CONNECT_TIMEOUT)?;
        unload_matching(&mut client, |sink| owner.owns(sink))?;
        client.load_module("module-null-sink", &owner.module_argument(channels))?;
        let name = owner.sink_name();
        tracing::info!(sink = %name, server, "lobby sink loaded");
        Ok(Self {
            server: server.to_owned(),
            owner,
            name,
        })
    }

    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// Restarts the sink's clock once `source` records its monitor, on a thread of its own
    /// (the stream is made in the source's streaming thread, and the server may be slow to
    /// answer; nothing waits for either). A null sink renders in blocks of the latency its
    /// clients asked for when the block began: the first one, begun before anyone
    /// listened, is 2 s long, and the recording would start only after it. Resuming a
    /// sink starts a block at the latency asked for now.
    pub(crate) fn restart_clock(&self, source: gst::Element) {
        let server = self.server.clone();
        let name = self.name.clone();
        let spawned = std::thread::Builder::new()
            .name("sink-clock".to_owned())
            .spawn(move || {
                let deadline = Deadline::after(RECORDING_WAIT);
                // pulsesrc's property reads -1 (as an unsigned) until its stream exists.
                while source.property::<u32>("source-output-index") == u32::MAX {
                    if deadline.passed() {
                        tracing::warn!(sink = %name, "the sink's monitor is not recorded yet; its recording may start late");
                        return;
                    }
                    std::thread::sleep(Duration::from_millis(10));
                }
                let restarted = PulseClient::connect(&server, CONNECT_TIMEOUT).and_then(|mut c| {
                    c.suspend_sink(&name, true)?;
                    c.suspend_sink(&name, false)
                });
                if let Err(err) = restarted {
                    tracing::warn!(sink = %name, %err, "cannot restart the sink's clock; its recording may start late");
                }
            });
        if let Err(err) = spawned {
            tracing::warn!(%err, "cannot restart the sink's clock");
        }
    }

    /// The monitor source the pipeline records.
    pub(crate) fn monitor(&self) -> String {
        format!("{}.monitor", self.name)
    }

    pub(crate) fn server(&self) -> &str {
        &self.server
    }
}

impl Drop for LobbySink {
    fn drop(&mut self) {
        // By owner, not by the module index kept from loading: after a server restart that
        // index may be another program's module.
        match sweep(&self.server, &self.owner.instance, Some(&self.owner.lobby)) {
            Ok(_) => tracing::info!(sink = %self.name, "lobby sink unloaded"),
            Err(err) => tracing::warn!(sink = %self.name, %err, "cannot unload the lobby sink"),
        }
    }
}

/// Unloads the sinks of `instance` (of its `lobby` only, when given) on `server`; answers
/// their names. Sinks without our owner properties are never touched.
pub(crate) fn sweep(
    server: &str,
    instance: &str,
    lobby: Option<&str>,
) -> Result<Vec<String>, PulseError> {
    let machine = machine_id();
    let mut client = PulseClient::connect(server, CONNECT_TIMEOUT)?;
    unload_matching(&mut client, |sink| {
        sink.property(PROP_MACHINE) == Some(machine.as_str())
            && sink.property(PROP_INSTANCE) == Some(instance)
            && lobby.is_none_or(|lobby| sink.property(PROP_LOBBY) == Some(lobby))
    })
}

/// Unloads the sinks of `run`s (instance `run`) whose process has ended: a `run` killed
/// while its app played into a shared server. Those of live processes are left.
pub(crate) fn sweep_dead_runs(server: &str) -> Result<Vec<String>, PulseError> {
    let (machine, Some(here)) = (machine_id(), Process::this()) else {
        return Ok(Vec::new());
    };
    let mut client = PulseClient::connect(server, CONNECT_TIMEOUT)?;
    unload_matching(&mut client, |sink| {
        sink.property(PROP_MACHINE) == Some(machine.as_str())
            && sink.property(PROP_INSTANCE) == Some(RUN_INSTANCE)
            && sink
                .property(PROP_PROCESS)
                .and_then(Process::parse)
                .and_then(|process| process.ended(&here))
                .unwrap_or(false)
    })
}

/// The instance `run` names its sinks with.
pub(crate) const RUN_INSTANCE: &str = "run";

fn unload_matching(
    client: &mut PulseClient,
    ours: impl Fn(&ListedSink) -> bool,
) -> Result<Vec<String>, PulseError> {
    let mut unloaded = Vec::new();
    for sink in client.sinks(OWNER_KEYS)? {
        if !ours(&sink) {
            continue;
        }
        let Some(module) = sink.owner_module else {
            continue;
        };
        client.unload_module(module)?;
        unloaded.push(sink.name);
    }
    Ok(unloaded)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn process() -> Process {
        Process {
            boot: "b00t-1d".into(),
            pid_namespace: 4026531836,
            pid: 12,
            started: 34,
        }
    }

    fn owner(instance: &str, lobby: &str) -> SinkOwner {
        SinkOwner {
            instance: instance.into(),
            lobby: lobby.into(),
            machine: "m1".into(),
            process: process(),
        }
    }

    #[test]
    fn owners_name_their_sinks_and_quote_nothing_else() {
        let o = owner("ab12", "cd34");
        assert_eq!(o.sink_name(), "gst-wayland-display.ab12.cd34");
        let arg = o.module_argument(2);
        assert!(arg.starts_with("sink_name=gst-wayland-display.ab12.cd34 rate=48000 channels=2 "));
        assert!(arg.contains("gst-wayland-display.instance=ab12"), "{arg}");
        assert!(arg.contains("gst-wayland-display.lobby=cd34"), "{arg}");
        assert!(arg.contains("gst-wayland-display.machine=m1"), "{arg}");
        assert!(
            arg.contains("gst-wayland-display.process=b00t-1d/4026531836/12/34"),
            "{arg}"
        );
        for bad in ["", "a b", "a'b", "a\"b", "a=b", "a.b", &"x".repeat(65), "é"] {
            assert!(owner(bad, "l").check().is_err(), "{bad:?}");
            assert!(owner("i", bad).check().is_err(), "{bad:?}");
        }
        assert!(owner("run", "1234").check().is_ok());
    }

    #[test]
    fn only_sinks_with_both_owner_properties_are_ours() {
        let o = owner("i1", "l1");
        let sink = |props: &[(&str, &str)]| ListedSink {
            name: "s".into(),
            owner_module: Some(3),
            properties: props
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        };
        let m = (PROP_MACHINE, "m1");
        assert!(o.owns(&sink(&[m, (PROP_INSTANCE, "i1"), (PROP_LOBBY, "l1")])));
        assert!(!o.owns(&sink(&[(PROP_INSTANCE, "i1"), (PROP_LOBBY, "l1")])));
        assert!(!o.owns(&sink(&[
            (PROP_MACHINE, "m2"),
            (PROP_INSTANCE, "i1"),
            (PROP_LOBBY, "l1")
        ])));
        assert!(!o.owns(&sink(&[m, (PROP_INSTANCE, "i1")])));
        assert!(!o.owns(&sink(&[(PROP_INSTANCE, "i2"), (PROP_LOBBY, "l1")])));
        assert!(!o.owns(&sink(&[(PROP_INSTANCE, "i1"), (PROP_LOBBY, "l2")])));
        assert!(!o.owns(&sink(&[])));
    }

    #[test]
    fn process_values_are_read_strictly() {
        let p = process();
        assert_eq!(Process::parse(&p.to_string()), Some(p));
        for bad in [
            "",
            "b/1/2",
            "b/1/2/3/4",
            "/1/2/3",
            "b/x/2/3",
            "b/1/-2/3",
            "b/1/2/3 ",
            "b c/1/2/3",
            "b'/1/2/3",
        ] {
            assert_eq!(Process::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn only_ended_processes_of_this_machine_count_as_ended() {
        let here = Process::this().unwrap();
        assert_eq!(here.ended(&here), Some(false));
        // Another boot: whatever it ran is over.
        let rebooted = Process {
            boot: "earlier".into(),
            ..here.clone()
        };
        assert_eq!(rebooted.ended(&here), Some(true));
        // Another pid namespace: not ours to judge.
        let elsewhere = Process {
            pid_namespace: here.pid_namespace + 1,
            ..here.clone()
        };
        assert_eq!(elsewhere.ended(&here), None);
        // Our pid with another start time: that process is gone.
        let earlier = Process {
            started: here.started.wrapping_sub(1),
            ..here.clone()
        };
        assert_eq!(earlier.ended(&here), Some(true));
    }

    mod fuzz {
        use proptest::prelude::*;

        use super::super::*;

        proptest! {
            #![proptest_config(ProptestConfig { cases: 4096, failure_persistence: None, ..ProptestConfig::default() })]

            /// Whatever a shared server's sinks carry, reading it never panics, and what is
            /// read back writes out as it was read.
            #[test]
            fn process_values_parse_or_not(value in ".{0,80}", pid in any::<u32>(), started in any::<u64>(), ns in any::<u64>()) {
                if let Some(process) = Process::parse(&value) {
                    prop_assert_eq!(process.to_string(), value);
                }
                let process = Process { boot: "b-1".into(), pid_namespace: ns, pid, started };
                prop_assert_eq!(Process::parse(&process.to_string()), Some(process));
            }

            /// Only values that need no quoting in a module argument become owners.
            #[test]
            fn owners_need_no_quoting(instance in ".{0,70}", lobby in ".{0,70}") {
                let owner = SinkOwner {
                    instance: instance.clone(),
                    lobby: lobby.clone(),
                    machine: "m".into(),
                    process: Process { boot: "b".into(), pid_namespace: 1, pid: 2, started: 3 },
                };
                if owner.check().is_ok() {
                    for value in [&instance, &lobby] {
                        prop_assert!(value.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
                    }
                    let argument = owner.module_argument(2);
                    prop_assert_eq!(argument.matches('\'').count(), 2);
                }
            }
        }
    }
}
