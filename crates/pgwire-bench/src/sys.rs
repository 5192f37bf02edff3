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
    /// The server side's clock, read at the same moment.
    server: Option<ServerClock>,
}

impl CpuClock {
    /// Reads the clock now, and the server's.
    pub fn now() -> Self {
        CpuClock {
            server: ServerClock::now(),
            ..CpuClock::threads()
        }
    }

    fn threads() -> Self {
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
        CpuClock {
            per_thread,
            coarse,
            server: None,
        }
    }

    /// CPU ns used by the process between `earlier` and now. Threads that
    /// ended in between are missed (none do during a sample: runtime worker
    /// threads live as long as the process).
    pub fn since(earlier: &CpuClock) -> u64 {
        let now = CpuClock::threads();
        if let (Some(a), Some(b)) = (earlier.coarse, now.coarse) {
            return b.saturating_sub(a);
        }
        now.per_thread
            .iter()
            .map(|(tid, ns)| ns.saturating_sub(earlier.per_thread.get(tid).copied().unwrap_or(0)))
            .sum()
    }

    /// What the server side used since this reading (see [`ServerClock`]).
    pub fn server_since(&self) -> Option<ServerCpu> {
        ServerClock::since(self.server.as_ref()?)
    }
}

/// utime + stime of the process from `/proc/self/stat`, in ns (assuming
/// the usual USER_HZ of 100).
fn process_stat_cpu_ns() -> Option<u64> {
    stat_of("self").map(|(_, ticks)| ticks * 10_000_000)
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

/// CPU used so far by the server side of the test cluster: the postmaster's
/// children (backends and their helpers) and the PgBouncers, per process.
///
/// Read where the cluster runs on this machine (`PGWIRE_TEST_CLUSTER_DIR`,
/// which `cargo xtask bench` sets): it shows whether a case is bound by the
/// server, the one thing a client's figures cannot tell. Only this cluster's
/// processes count: other clusters on the machine are not children of its
/// postmaster.
#[derive(Debug, Clone)]
pub struct ServerClock {
    per_process: HashMap<u32, u64>,
    at: std::time::Instant,
}

/// What the server side used between two [`ServerClock`] readings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ServerCpu {
    /// CPU of all the cluster's processes, in ns.
    pub total_ns: u64,
    /// The busiest single process's CPU as a share of the wall time in
    /// between (1.0: a whole core): near 1.0 means one backend (or
    /// PgBouncer, which is single-threaded) was the limit.
    pub busiest_share: f64,
}

impl ServerClock {
    /// Reads the cluster's processes now; `None` when the cluster is not on
    /// this machine or `/proc` cannot say.
    pub fn now() -> Option<Self> {
        let dir = std::path::PathBuf::from(std::env::var_os("PGWIRE_TEST_CLUSTER_DIR")?);
        let mut roots = Vec::new();
        let postmaster = fs::read_to_string(dir.join("data/postmaster.pid")).ok()?;
        roots.push(postmaster.lines().next()?.trim().parse::<u32>().ok()?);
        for name in ["transaction.pid", "session.pid"] {
            let pid = fs::read_to_string(dir.join("pgbouncer").join(name)).ok();
            if let Some(pid) = pid.and_then(|p| p.trim().parse().ok()) {
                roots.push(pid);
            }
        }
        let mut per_process = HashMap::new();
        for entry in fs::read_dir("/proc").ok()?.flatten() {
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|s| s.parse::<u32>().ok())
            else {
                continue;
            };
            let Some((ppid, ticks)) = stat_of(&pid.to_string()) else {
                continue;
            };
            // The postmaster itself is idle; its children do the work.
            if roots[1..].contains(&pid) || ppid == roots[0] {
                // schedstat in ns where it exists: a COPY sample lasts
                // about 50 ms, five of stat's 10 ms ticks.
                let ns = fs::read_to_string(format!("/proc/{pid}/schedstat"))
                    .ok()
                    .and_then(|s| s.split_whitespace().next().and_then(|f| f.parse().ok()));
                per_process.insert(pid, ns.unwrap_or(ticks * 10_000_000));
            }
        }
        Some(ServerClock {
            per_process,
            at: std::time::Instant::now(),
        })
    }

    /// What the cluster used since `earlier`. A process that started in
    /// between counts from zero; one that ended in between is missed (a
    /// sample's connections are open across it).
    pub fn since(earlier: &ServerClock) -> Option<ServerCpu> {
        Some(ServerClock::now()?.used_since(earlier))
    }

    fn used_since(&self, earlier: &ServerClock) -> ServerCpu {
        let now = self;
        let wall_ns = now.at.duration_since(earlier.at).as_nanos() as f64;
        let deltas = now
            .per_process
            .iter()
            .map(|(pid, ns)| ns.saturating_sub(earlier.per_process.get(pid).copied().unwrap_or(0)));
        let (mut total_ns, mut busiest) = (0u64, 0u64);
        for d in deltas {
            total_ns += d;
            busiest = busiest.max(d);
        }
        ServerCpu {
            total_ns,
            busiest_share: if wall_ns > 0.0 {
                busiest as f64 / wall_ns
            } else {
                0.0
            },
        }
    }
}

/// The parent pid and utime + stime (clock ticks) of a process (`which`:
/// its pid, or `self`).
fn stat_of(which: &str) -> Option<(u32, u64)> {
    let stat = fs::read_to_string(format!("/proc/{which}/stat")).ok()?;
    // Fields after the command name, which is in parentheses and may hold
    // spaces: ppid is field 4, utime 14, stime 15.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ppid = fields.get(1)?.parse().ok()?;
    let ticks = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some((ppid, ticks))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn clock(per_process: &[(u32, u64)], at: std::time::Instant) -> ServerClock {
        ServerClock {
            per_process: per_process.iter().copied().collect(),
            at,
        }
    }

    #[test]
    fn server_cpu_sums_the_processes_and_finds_the_busiest() {
        let start = std::time::Instant::now();
        let earlier = clock(&[(1, 100), (2, 1_000)], start);
        // Process 3 started in between: all of its CPU is in the span.
        let later = clock(
            &[(1, 300), (2, 1_600), (3, 50)],
            start + std::time::Duration::from_nanos(1_000),
        );
        let used = later.used_since(&earlier);
        assert_eq!(used.total_ns, 200 + 600 + 50);
        assert!((used.busiest_share - 0.6).abs() < 1e-9, "{used:?}");
    }

    #[test]
    fn the_test_cluster_is_found_where_it_runs() {
        // `cargo xtask test` runs this with the cluster up; by hand, without
        // one, there is nothing to find and `now` must say so.
        match std::env::var_os("PGWIRE_TEST_CLUSTER_DIR") {
            Some(_) => {
                let clock = ServerClock::now().expect("the cluster's postmaster.pid");
                assert!(
                    !clock.per_process.is_empty(),
                    "no children of the postmaster"
                );
            }
            None => assert!(ServerClock::now().is_none()),
        }
    }
}
