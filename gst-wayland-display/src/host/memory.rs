//! `GET /api/v1/system/memory`, in the shape of Wolf's `SystemMemoryResponse` (what Helix
//! reads): the host's own memory, the machine's, each running lobby's processes, and GPU
//! memory where the driver reports it. Read from /proc and /sys on each request, off the
//! async threads; nothing here is sampled in the background.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;
use waylanddisplaycore::RenderTarget;
use waylanddisplaycore::device::DeviceRoots;

use super::records::{same_process_in, stat_field};
use super::registry::LobbyProcesses;

/// sysfs and /proc attribute files are small; anything longer is not what we read.
const MAX_FILE_BYTES: u64 = 64 * 1024;
const MIB: u64 = 1024 * 1024;

#[derive(Debug, Serialize)]
pub(crate) struct MemoryReport {
    success: bool,
    /// The host process's resident set (VmRSS), without its lobbies: they are processes of
    /// their own, listed under `lobbies`.
    process_rss_bytes: u64,
    /// Not measured: GStreamer does not account its buffers, and Wolf's figure for them
    /// has no counterpart here. Always 0 (Wolf's clients read an integer).
    gstreamer_buffer_bytes: u64,
    /// The machine's memory (`MemTotal` of /proc/meminfo).
    total_memory_bytes: u64,
    /// Ours: `MemAvailable` of /proc/meminfo.
    available_memory_bytes: u64,
    /// Moonlight apps: this host has none.
    apps: Vec<serde_json::Value>,
    lobbies: Vec<LobbyMemory>,
    /// Moonlight clients: this host has none.
    clients: Vec<serde_json::Value>,
    /// `None` (null) unless a lobby renders on a GPU whose driver reports its memory.
    gpu_stats: Option<GpuStats>,
    gstreamer_pipelines: Pipelines,
}

#[derive(Debug, Serialize, PartialEq, Eq)]
struct LobbyMemory {
    lobby_id: String,
    lobby_name: String,
    /// Moonlight clients watching: none, this host streams through each lobby's sink.
    client_count: u32,
    /// The resident memory of the lobby's worker and of its app, each summed over its
    /// process group (every process whose group is the worker's or the app's; a process
    /// that left its group, e.g. with `setsid`, is not counted). Pages shared between them
    /// (libraries, shm buffers the app draws into and the compositor reads) count once per
    /// process, as RSS does.
    memory_bytes: u64,
}

/// One pipeline per lobby runs from the compositor to the sink; it is counted as a producer.
/// There are no separate consumer pipelines (Wolf's are per Moonlight session).
#[derive(Debug, Serialize, PartialEq, Eq)]
struct Pipelines {
    producer_pipelines: usize,
    consumer_pipelines: usize,
    total_pipelines: usize,
}

/// Wolf's `gpu_stats` fields. Only what sysfs tells is filled in; the rest is 0 (or empty)
/// and not measured: the encoder figures, the temperature.
#[derive(Debug, Serialize, PartialEq)]
struct GpuStats {
    available: bool,
    /// The GPUs the lobbies render on, by model name, comma-separated.
    gpu_name: String,
    encoder_session_count: u32,
    encoder_average_fps: f64,
    encoder_average_latency_us: u32,
    encoder_utilization_percent: u32,
    /// amdgpu's `gpu_busy_percent`, the busiest GPU's.
    gpu_utilization_percent: u64,
    /// amdgpu's `mem_busy_percent`, the busiest GPU's.
    memory_utilization_percent: u64,
    /// VRAM in use and in all, summed over those GPUs (`mem_info_vram_used`/`_total`).
    memory_used_mb: u64,
    memory_total_mb: u64,
    temperature_celsius: u32,
    query_duration_ms: u64,
    error: String,
}

/// Where the report reads from: the real machine, or a fake tree in tests.
pub(crate) struct Sources {
    pub(crate) proc: PathBuf,
    pub(crate) devices: DeviceRoots,
    /// The host's own pid.
    pub(crate) own_pid: u32,
}

impl Default for Sources {
    fn default() -> Self {
        Self {
            proc: PathBuf::from("/proc"),
            devices: DeviceRoots::default(),
            own_pid: std::process::id(),
        }
    }
}

/// The report for these lobbies, read now.
pub(crate) fn report(lobbies: &[LobbyProcesses], sources: &Sources) -> MemoryReport {
    let own = read_small(
        &sources
            .proc
            .join(sources.own_pid.to_string())
            .join("status"),
    );
    let meminfo = read_small(&sources.proc.join("meminfo"));
    let kib_field = |text: &Option<String>, name: &str| {
        text.as_deref()
            .and_then(|t| status_field(t, name))
            .and_then(|kib| kib.checked_mul(1024))
            .unwrap_or(0)
    };

    // Only groups whose leader is still the process the lobby started: pids are reused.
    let leaders: HashSet<u32> = lobbies
        .iter()
        .flat_map(|l| [l.worker, l.app])
        .flatten()
        .filter(|(pid, started)| same_process_in(&sources.proc, *pid, *started))
        .map(|(pid, _)| pid)
        .collect();
    let by_group = group_rss(&sources.proc, &leaders);
    let memory = |process: Option<(u32, Option<u64>)>| {
        process
            .and_then(|(pid, _)| by_group.get(&pid).copied())
            .unwrap_or(0)
    };
    let lobby_memory = lobbies
        .iter()
        .map(|l| LobbyMemory {
            lobby_id: l.id.clone(),
            lobby_name: l.name.clone(),
            client_count: 0,
            memory_bytes: memory(l.worker).saturating_add(memory(l.app)),
        })
        .collect();
    let pipelines = lobbies.iter().filter(|l| l.has_pipeline).count();
    let nodes: BTreeSet<&str> = lobbies.iter().map(|l| l.render_node.as_str()).collect();
    MemoryReport {
        success: true,
        process_rss_bytes: kib_field(&own, "VmRSS:"),
        gstreamer_buffer_bytes: 0,
        total_memory_bytes: kib_field(&meminfo, "MemTotal:"),
        available_memory_bytes: kib_field(&meminfo, "MemAvailable:"),
        apps: Vec::new(),
        lobbies: lobby_memory,
        clients: Vec::new(),
        gpu_stats: gpu_stats(&sources.devices, nodes),
        gstreamer_pipelines: Pipelines {
            producer_pipelines: pipelines,
            consumer_pipelines: 0,
            total_pipelines: pipelines,
        },
    }
}

/// The threads of the host process (`Threads:` of /proc/self/status).
pub(crate) fn own_threads() -> Option<u64> {
    read_small(Path::new("/proc/self/status")).and_then(|s| status_field(&s, "Threads:"))
}

/// A small file's text; `None` if unreadable.
fn read_small(path: &Path) -> Option<String> {
    use std::io::Read;
    let mut text = String::new();
    fs::File::open(path)
        .ok()?
        .take(MAX_FILE_BYTES)
        .read_to_string(&mut text)
        .ok()?;
    Some(text)
}

/// The number after `name` on its line of a /proc status-like file (`VmRSS:   1234 kB`).
fn status_field(text: &str, name: &str) -> Option<u64> {
    text.lines()
        .find_map(|line| line.strip_prefix(name))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// The summed VmRSS of the processes in each of `groups` (process group ids), from one
/// pass over /proc.
fn group_rss(proc: &Path, groups: &HashSet<u32>) -> HashMap<u32, u64> {
    let mut sums: HashMap<u32, u64> = HashMap::new();
    if groups.is_empty() {
        return sums;
    }
    let Ok(entries) = fs::read_dir(proc) else {
        return sums;
    };
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let dir = proc.join(pid.to_string());
        let Some(group) = read_small(&dir.join("stat"))
            .and_then(|s| stat_field(&s, 2))
            .and_then(|g| u32::try_from(g).ok())
        else {
            continue;
        };
        if !groups.contains(&group) {
            continue;
        }
        // Zombies and kernel threads have no VmRSS: nothing to add.
        let rss = read_small(&dir.join("status"))
            .and_then(|s| status_field(&s, "VmRSS:"))
            .and_then(|kib| kib.checked_mul(1024))
            .unwrap_or(0);
        let sum = sums.entry(group).or_insert(0);
        *sum = sum.saturating_add(rss);
    }
    sums
}

/// GPU memory of the GPUs behind these render nodes, where the driver tells it (amdgpu:
/// `mem_info_vram_used` and `mem_info_vram_total` beside the node in sysfs). Nodes such as
/// `auto` are resolved as a worker resolves them. `None` if no node leads to such a GPU.
fn gpu_stats<'a>(
    roots: &DeviceRoots,
    nodes: impl IntoIterator<Item = &'a str>,
) -> Option<GpuStats> {
    let started = Instant::now();
    let mut seen = HashSet::new();
    let mut names = Vec::new();
    let (mut used, mut total, mut busy, mut mem_busy) = (0u64, 0u64, 0u64, 0u64);
    for node in nodes {
        let Some(device) = node
            .parse::<RenderTarget>()
            .ok()
            .and_then(|target| target.resolve_in(roots).ok())
            .and_then(|choice| choice.device)
        else {
            continue;
        };
        let Some(node_name) = device.render_node.file_name() else {
            continue;
        };
        let dir = roots.drm_class_dir().join(node_name).join("device");
        // Two nodes of one GPU (or `auto` and its path) count once.
        if !seen.insert(fs::canonicalize(&dir).unwrap_or_else(|_| dir.clone())) {
            continue;
        }
        let read = |file: &str| {
            read_small(&dir.join(file)).and_then(|text| text.trim().parse::<u64>().ok())
        };
        let (Some(vram_used), Some(vram_total)) =
            (read("mem_info_vram_used"), read("mem_info_vram_total"))
        else {
            continue;
        };
        used = used.saturating_add(vram_used);
        total = total.saturating_add(vram_total);
        busy = busy.max(read("gpu_busy_percent").unwrap_or(0));
        mem_busy = mem_busy.max(read("mem_busy_percent").unwrap_or(0));
        names.push(device.model());
    }
    if names.is_empty() {
        return None;
    }
    Some(GpuStats {
        available: true,
        gpu_name: names.join(", "),
        encoder_session_count: 0,
        encoder_average_fps: 0.0,
        encoder_average_latency_us: 0,
        encoder_utilization_percent: 0,
        gpu_utilization_percent: busy,
        memory_utilization_percent: mem_busy,
        memory_used_mb: used / MIB,
        memory_total_mb: total / MIB,
        temperature_celsius: 0,
        query_duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        error: String::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(path: &Path, text: &str) {
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }

    /// A process in a fake /proc: `stat` with its group and start time, `status` with RSS.
    fn process(proc: &Path, pid: u32, group: u32, started: u64, rss_kib: Option<u64>) {
        // Fields after the name: state ppid pgrp session tty tpgid flags minflt cminflt
        // majflt cmajflt utime stime cutime cstime priority nice threads itrealvalue
        // starttime.
        write(
            &proc.join(format!("{pid}/stat")),
            &format!(
                "{pid} (a (b) c) S 1 {group} {group} 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 {started} 0 0"
            ),
        );
        let rss = rss_kib.map_or(String::new(), |kib| format!("VmRSS:\t{kib} kB\n"));
        write(
            &proc.join(format!("{pid}/status")),
            &format!("Name:\tx\nThreads:\t3\n{rss}"),
        );
    }

    fn lobby(id: &str, worker: u32, app: Option<u32>, node: &str) -> LobbyProcesses {
        LobbyProcesses {
            id: id.into(),
            name: format!("{id}-name"),
            render_node: node.into(),
            has_pipeline: true,
            worker: Some((worker, Some(100))),
            app: app.map(|pid| (pid, Some(100))),
        }
    }

    #[test]
    fn lobbies_count_their_process_groups_and_the_machine_its_memory() {
        let root = tempfile::tempdir().unwrap();
        let proc = root.path().join("proc");
        write(
            &proc.join("meminfo"),
            "MemTotal:       16000000 kB\nMemFree: 1 kB\nMemAvailable:    8000000 kB\n",
        );
        process(&proc, 1, 1, 1, Some(500)); // the host
        process(&proc, 10, 10, 100, Some(1000)); // worker
        process(&proc, 20, 20, 100, Some(2000)); // app leader
        process(&proc, 21, 20, 100, Some(300)); // the app's child
        process(&proc, 22, 20, 100, None); // a zombie of the app's
        process(&proc, 30, 30, 999, Some(4000)); // a reused pid: not lobby b's worker
        let sources = Sources {
            proc,
            devices: DeviceRoots::under(root.path()),
            own_pid: 1,
        };
        let report = report(
            &[
                lobby("a", 10, Some(20), "software"),
                lobby("b", 30, None, "software"),
            ],
            &sources,
        );
        assert_eq!(report.process_rss_bytes, 500 * 1024);
        assert_eq!(report.total_memory_bytes, 16_000_000 * 1024);
        assert_eq!(report.available_memory_bytes, 8_000_000 * 1024);
        assert_eq!(report.lobbies[0].memory_bytes, (1000 + 2000 + 300) * 1024);
        assert_eq!(report.lobbies[1].memory_bytes, 0);
        assert_eq!(report.gstreamer_pipelines.total_pipelines, 2);
        assert!(report.gpu_stats.is_none());
    }

    #[test]
    fn amdgpu_reports_its_vram_and_other_gpus_nothing() {
        let root = tempfile::tempdir().unwrap();
        let drm = root.path().join("sys/class/drm");
        for (node, vendor, vram) in [
            ("renderD128", "0x1002", Some(("1073741824", "8589934592"))),
            ("renderD129", "0x10de", None),
        ] {
            let device = drm.join(node).join("device");
            write(&device.join("vendor"), vendor);
            write(&device.join("device"), "0x73bf");
            if let Some((used, total)) = vram {
                write(&device.join("mem_info_vram_used"), used);
                write(&device.join("mem_info_vram_total"), total);
                write(&device.join("gpu_busy_percent"), "42\n");
            }
            write(&root.path().join("dev/dri").join(node), "");
        }
        let roots = DeviceRoots::under(root.path());
        let dri = root.path().join("dev/dri");
        let amd = dri.join("renderD128").display().to_string();
        let nvidia = dri.join("renderD129").display().to_string();
        let stats = gpu_stats(&roots, [amd.as_str(), amd.as_str()]).unwrap();
        assert!(stats.available);
        assert_eq!(stats.memory_used_mb, 1024);
        assert_eq!(stats.memory_total_mb, 8192);
        assert_eq!(stats.gpu_utilization_percent, 42);
        assert!(gpu_stats(&roots, [nvidia.as_str(), "software", "nonsense"]).is_none());
    }

    #[test]
    fn status_fields_are_read_by_name() {
        let status = "Name:\tx\nThreads:\t17\nVmRSS:\t  2048 kB\n";
        assert_eq!(status_field(status, "Threads:"), Some(17));
        assert_eq!(status_field(status, "VmRSS:"), Some(2048));
        assert_eq!(status_field(status, "VmSwap:"), None);
        assert!(own_threads().is_some_and(|n| n >= 1));
    }
}
