//! The worker as a child process (`pipeline-canary run`, the release
//! binary next to the bench binary) and the OS's accounting of it: peak RSS
//! (`VmHWM` in `/proc/<pid>/status`) and CPU time (`utime + stime` in
//! `/proc/<pid>/stat`, all threads). It knows no scenario and no AWS API.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The `pipeline-canary` binary the scenarios run: `PIPELINE_CANARY_BIN` if
/// set (e.g. the shipped `target/dist/pipeline-canary`, for the idle-RSS and
/// size figures), otherwise the release binary next to this executable
/// (`target/release/`).
pub fn worker_binary() -> Result<PathBuf, String> {
    if let Some(p) = std::env::var_os("PIPELINE_CANARY_BIN") {
        let p = PathBuf::from(p);
        return if p.is_file() {
            Ok(p)
        } else {
            Err(format!("PIPELINE_CANARY_BIN={} is not a file", p.display()))
        };
    }
    let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
    let dir = exe.parent().ok_or("the bench binary has no directory")?;
    let p = dir.join("pipeline-canary");
    if p.is_file() {
        Ok(p)
    } else {
        Err(format!(
            "{} not found: build it first with `cargo build --release -p pipeline-canary`",
            p.display()
        ))
    }
}

/// A running `pipeline-canary run`.
pub struct WorkerProcess {
    child: Child,
    pub pid: u32,
    /// The worker's work directory (removed by [`WorkerProcess::stop`]).
    work: PathBuf,
}

impl WorkerProcess {
    /// Starts `pipeline-canary run <args>` against `endpoint` with the
    /// account's static keys; its logs go to `log`.
    pub fn spawn(endpoint: &str, args: &[&str], log: &Path) -> Result<WorkerProcess, String> {
        let bin = worker_binary()?;
        let out = std::fs::File::create(log).map_err(|e| format!("{}: {e}", log.display()))?;
        let err = out.try_clone().map_err(|e| e.to_string())?;
        let work = std::env::temp_dir().join(format!("bench-worker-{}", std::process::id()));
        std::fs::create_dir_all(&work).map_err(|e| e.to_string())?;
        // The allocator's tuning (glibc `MALLOC_*`, `GLIBC_TUNABLES`) passes
        // through, for measuring its effect on the same binary.
        let tuning = std::env::vars_os().filter(|(k, _)| {
            k.to_str()
                .is_some_and(|k| k.starts_with("MALLOC_") || k == "GLIBC_TUNABLES")
        });
        let child = Command::new(&bin)
            .arg("run")
            .args(args)
            .env_clear()
            .envs(tuning)
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", std::env::temp_dir())
            .env("AWS_ENDPOINT_URL", endpoint)
            .env("AWS_ACCESS_KEY_ID", e2e::ACCOUNT_KEY)
            .env("AWS_SECRET_ACCESS_KEY", e2e::ACCOUNT_SECRET)
            .env("AWS_REGION", e2e::REGION)
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("PIPELINE_CANARY_WORK_DIR", &work)
            .env("PIPELINE_CANARY_LEDGER", e2e::worker::LEDGER)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .map_err(|e| format!("{}: {e}", bin.display()))?;
        Ok(WorkerProcess {
            pid: child.id(),
            child,
            work,
        })
    }

    /// The worker's work directory (`PIPELINE_CANARY_WORK_DIR`): job
    /// workspaces appear in it as `pipeline-canary-job-*`.
    pub fn work_dir(&self) -> &Path {
        &self.work
    }

    /// Current resident set size in bytes (`VmRSS`).
    pub fn rss(&self) -> Option<u64> {
        self.status_bytes("VmRSS")
    }

    /// Peak resident set size in bytes (`VmHWM`).
    pub fn peak_rss(&self) -> Option<u64> {
        self.status_bytes("VmHWM")
    }

    /// A `kB` field of `/proc/<pid>/status` in bytes, e.g. `RssAnon`.
    pub fn status_bytes(&self, field: &str) -> Option<u64> {
        let s = std::fs::read_to_string(format!("/proc/{}/status", self.pid)).ok()?;
        let line = s.lines().find(|l| l.split(':').next() == Some(field))?;
        let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kb * 1024)
    }

    /// A plain number field of `/proc/<pid>/status`, e.g. `Threads`.
    pub fn status_value(&self, field: &str) -> Option<u64> {
        let s = std::fs::read_to_string(format!("/proc/{}/status", self.pid)).ok()?;
        let line = s.lines().find(|l| l.split(':').next() == Some(field))?;
        line.split_whitespace().nth(1)?.parse().ok()
    }

    /// CPU time used so far (user + system, every thread).
    pub fn cpu_time(&self) -> Option<Duration> {
        let s = std::fs::read_to_string(format!("/proc/{}/stat", self.pid)).ok()?;
        // Fields after the command name (which may contain spaces) in parentheses.
        let rest = &s[s.rfind(')')? + 2..];
        let f: Vec<&str> = rest.split_whitespace().collect();
        // rest[0] is field 3 (state): utime is field 14, stime field 15.
        let utime: u64 = f.get(11)?.parse().ok()?;
        let stime: u64 = f.get(12)?.parse().ok()?;
        Some(Duration::from_secs_f64(
            (utime + stime) as f64 / clock_ticks_per_second(),
        ))
    }

    /// Whether the process is still running.
    pub fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// SIGTERM, then up to `grace` for it to exit (SIGKILL after).
    pub fn stop(mut self, grace: Duration) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.pid.to_string())
            .status();
        let until = Instant::now() + grace;
        while Instant::now() < until {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        if !matches!(self.child.try_wait(), Ok(Some(_))) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.work);
    }
}

/// `getconf CLK_TCK` (100 on Linux when it cannot be read).
fn clock_ticks_per_second() -> f64 {
    static TCK: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *TCK.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(100.0)
    })
}
