//! Scenario `idle`: the worker child process with its default settings and
//! no job, for a configurable duration → peak RSS (`VmHWM`) and CPU % (CPU
//! time over wall time, one core = 100 %), plus PollForJobs per second. It
//! knows nothing about releases.

use std::time::{Duration, Instant};

use pipeline_canary::definition::ActionTypeDefinition;

use crate::child::WorkerProcess;
use crate::log::LogView;
use crate::report::Row;

const MB: f64 = 1024.0 * 1024.0;

pub async fn run(duration: Duration, out_dir: &std::path::Path) -> Result<Vec<Row>, String> {
    let env = e2e::worker::env_with(e2e::SimConfig {
        time_scale: 1.0,
        traffic_rate: 0.0,
        ..Default::default()
    })
    .await;
    let def = ActionTypeDefinition::embedded();
    env.register(&def).await;
    env.pipeline("bench-idle", &def, "prod", &[]).await;
    let log = LogView(env.sim.sim().clone());
    let mut worker = WorkerProcess::spawn(
        &env.sim.endpoint(),
        &["--stage", "prod"],
        &out_dir.join("worker-idle.log"),
    )?;
    // Measure from the first poll on (start-up is not idling).
    let ready = Instant::now() + Duration::from_secs(20);
    while log.count("PollForJobs", 0) == 0 {
        if Instant::now() > ready || !worker.running() {
            worker.stop(Duration::from_secs(5));
            return Err("the worker never polled (see target/bench/worker-idle.log)".into());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let since = log.seq();
    let cpu0 = worker.cpu_time().unwrap_or_default();
    let t0 = Instant::now();
    tokio::time::sleep(duration).await;
    let cpu1 = worker.cpu_time();
    let wall = t0.elapsed();
    let rss = worker.peak_rss();
    let parts: Vec<String> = ["VmRSS", "RssAnon", "RssFile", "RssShmem"]
        .iter()
        .filter_map(|f| {
            worker
                .status_bytes(f)
                .map(|b| format!("{f} {:.2}", b as f64 / MB))
        })
        .collect();
    let polls = log.count("PollForJobs", since);
    let alive = worker.running();
    worker.stop(Duration::from_secs(25));
    let (Some(cpu1), Some(rss)) = (cpu1, rss) else {
        return Err(format!(
            "/proc of the worker unreadable (worker running: {alive})"
        ));
    };
    let cpu_pct = (cpu1 - cpu0).as_secs_f64() / wall.as_secs_f64() * 100.0;
    let scenario = "idle";
    Ok(vec![
        Row::at_most(scenario, "peak RSS (VmHWM)", rss as f64 / MB, "MB", 15.0).note(format!(
            "MB = MiB; worker child process idle for {} s after its first poll; at the end: {} MiB",
            duration.as_secs(),
            parts.join(", ")
        )),
        Row::at_most(scenario, "CPU", cpu_pct, "%", 0.5).note(format!(
            "{:.2} s CPU (utime+stime) over {:.0} s wall, 100 % = one core",
            (cpu1 - cpu0).as_secs_f64(),
            wall.as_secs_f64()
        )),
        Row::report(
            scenario,
            "PollForJobs while idle",
            polls as f64 / wall.as_secs_f64(),
            "calls/s",
        ),
    ])
}
