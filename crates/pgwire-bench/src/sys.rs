//! What the process costs, read from `/proc` (Linux only, no libc).

use std::collections::HashMap;
use std::fs;

/// CPU time used so far by each live thread of this process, in ns.
///
/// `/proc/self/task/<tid>/schedstat` has nanosecond resolution, unlike
/// `/proc/self/stat` (clock ticks, 10 ms) which would blur a one-second
/// sample. Per thread so that [`CpuClock::since`] can also count threads that
/// appear in between.
#[derive(Debug, Clone, Default)]
pub struct CpuClock {
    per_thread: HashMap<u32, u64>,
    /// Fallback when schedstat is missing: utime+stime of the process in ns.
    coarse: Option<u64>,
}

impl CpuClock {
    /// Reads the clock now.
    pub fn now() -> Self {
        let mut per_thread = HashMap::new();
        if let Ok(dir) = fs::read_dir("/proc/self/task") {
            for entry in dir.flatten() {
                let Some(tid) = entry.file_name().to_str().and_then(|s| s.parse().ok()) else {
                    continue;
                };
                let path = entry.path().join("schedstat");
                if let Some(ns) = fs::read_to_string(path)
                    .ok()
                    .and_then(|s| s.split_whitespace().next().and_then(|f| f.parse().ok()))
                {
                    per_thread.insert(tid, ns);
                }
            }
        }
        let coarse = if per_thread.is_empty() {
            process_stat_cpu_ns()
        } else {
            None
        };
        CpuClock { per_thread, coarse }
    }

    /// CPU ns used by the process between `earlier` and now. Threads that
    /// ended in between are missed (none do during a sample: runtime worker
    /// threads live as long as the process).
    pub fn since(earlier: &CpuClock) -> u64 {
        let now = CpuClock::now();
        if let (Some(a), Some(b)) = (earlier.coarse, now.coarse) {
            return b.saturating_sub(a);
        }
        now.per_thread
            .iter()
            .map(|(tid, ns)| ns.saturating_sub(earlier.per_thread.get(tid).copied().unwrap_or(0)))
            .sum()
    }
}

/// utime + stime of the process from `/proc/self/stat`, in ns (assuming
/// the usual USER_HZ of 100).
fn process_stat_cpu_ns() -> Option<u64> {
    let stat = fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name, which is in parentheses and may hold
    // spaces: state is field 3, utime 14, stime 15.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(ticks * 10_000_000)
}

/// A `kB` field of `/proc/self/status` (`VmHWM`: peak resident set size;
/// `VmRSS`: current), in KiB.
pub fn status_kib(field: &str) -> Option<u64> {
    let status = fs::read_to_string("/proc/self/status").ok()?;
    status.lines().find_map(|line| {
        let value = line.strip_prefix(field)?.strip_prefix(':')?;
        value.trim().trim_end_matches("kB").trim().parse().ok()
    })
}

/// The CPU model from `/proc/cpuinfo`.
pub fn cpu_model() -> String {
    fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".to_string())
}

/// The number of CPUs this process may use.
pub fn nproc() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}
