//! A lobby's null sink: loaded with owner properties naming the host instance and the
//! lobby, unloaded by its owner's `Drop`, and swept by those properties when its owner
//! could not unload it (a killed worker, a crashed host).

use super::client::{CONNECT_TIMEOUT, ListedSink, PulseClient, PulseError};
use super::{PROP_INSTANCE, PROP_LOBBY, PROP_PROCESS, RATE};

/// The longest owner value: ids, instance names and `pid:start` are far shorter.
const MAX_OWNER_VALUE: usize = 64;
/// The keys a sweep reads of every sink.
const OWNER_KEYS: &[&str] = &[PROP_INSTANCE, PROP_LOBBY, PROP_PROCESS];

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
}

/// Who a sink belongs to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SinkOwner {
    /// The host instance, or `run`.
    pub(crate) instance: String,
    pub(crate) lobby: String,
    /// `PID:START` of the process that loads it (see [`super::PROP_PROCESS`]).
    pub(crate) process: String,
}

impl SinkOwner {
    /// The owner of a sink this process loads for `lobby` of `instance`.
    pub(crate) fn this_process(instance: &str, lobby: &str) -> Result<Self, SinkError> {
        let pid = std::process::id();
        let started = crate::host::start_time(pid).unwrap_or(0);
        let owner = Self {
            instance: instance.to_owned(),
            lobby: lobby.to_owned(),
            process: format!("{pid}:{started}"),
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
             {PROP_INSTANCE}={instance} {PROP_LOBBY}={lobby} {PROP_PROCESS}={process}'",
            name = self.sink_name(),
            lobby = self.lobby,
            instance = self.instance,
            process = self.process,
        )
    }

    /// Whether `sink` carries exactly this owner's instance and lobby.
    fn owns(&self, sink: &ListedSink) -> bool {
        sink.property(PROP_INSTANCE) == Some(self.instance.as_str())
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

    /// Restarts the sink's clock once its monitor is recorded, on a thread of its own (the
    /// server may be slow to answer; nothing waits for it). A null sink renders in blocks
    /// of the latency its clients asked for when the block began: the first one, begun
    /// before anyone listened, is 2 s long, and the recording would start only after it.
    /// Resuming a sink starts a block at the latency asked for now.
    pub(crate) fn restart_clock(&self) {
        let server = self.server.clone();
        let name = self.name.clone();
        let spawned = std::thread::Builder::new()
            .name("sink-clock".to_owned())
            .spawn(move || {
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
    let mut client = PulseClient::connect(server, CONNECT_TIMEOUT)?;
    unload_matching(&mut client, |sink| {
        sink.property(PROP_INSTANCE) == Some(instance)
            && lobby.is_none_or(|lobby| sink.property(PROP_LOBBY) == Some(lobby))
    })
}

/// Unloads the sinks of `run`s (instance `run`) whose process has ended: a `run` killed
/// while its app played into a shared server. Those of live processes are left.
pub(crate) fn sweep_dead_runs(server: &str) -> Result<Vec<String>, PulseError> {
    let mut client = PulseClient::connect(server, CONNECT_TIMEOUT)?;
    unload_matching(&mut client, |sink| {
        sink.property(PROP_INSTANCE) == Some(RUN_INSTANCE)
            && sink
                .property(PROP_PROCESS)
                .and_then(parse_process)
                .is_some_and(|(pid, started)| !same_live_process(pid, started))
    })
}

/// The instance `run` names its sinks with.
pub(crate) const RUN_INSTANCE: &str = "run";

fn parse_process(value: &str) -> Option<(u32, u64)> {
    let (pid, started) = value.split_once(':')?;
    Some((pid.parse().ok()?, started.parse().ok()?))
}

fn same_live_process(pid: u32, started: u64) -> bool {
    crate::host::start_time(pid).is_some_and(|now| now == started)
}

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

    fn owner(instance: &str, lobby: &str) -> SinkOwner {
        SinkOwner {
            instance: instance.into(),
            lobby: lobby.into(),
            process: "12:34".into(),
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
        assert!(arg.contains("gst-wayland-display.process=12:34"), "{arg}");
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
        assert!(o.owns(&sink(&[(PROP_INSTANCE, "i1"), (PROP_LOBBY, "l1")])));
        assert!(!o.owns(&sink(&[(PROP_INSTANCE, "i1")])));
        assert!(!o.owns(&sink(&[(PROP_INSTANCE, "i2"), (PROP_LOBBY, "l1")])));
        assert!(!o.owns(&sink(&[(PROP_INSTANCE, "i1"), (PROP_LOBBY, "l2")])));
        assert!(!o.owns(&sink(&[])));
    }

    #[test]
    fn process_values_are_read_strictly() {
        assert_eq!(parse_process("12:345"), Some((12, 345)));
        for bad in ["", "12", ":1", "1:", "a:1", "1:b", "-1:2", "1:2:3"] {
            assert_eq!(parse_process(bad), None, "{bad:?}");
        }
    }
}
