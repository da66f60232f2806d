//! Scenario `jobs-500`: 500 jobs queued at once for one worker child process
//! with `--max-jobs 64` → all complete, at most 64 in flight, and memory
//! bounded by the slot limit rather than by the jobs: after a warm-up wave,
//! two more waves of 500 through the same worker must not raise its peak
//! RSS by more than 2 MiB, and a run with `--max-jobs 8` against the 64-slot
//! one gives what a slot costs.
//!
//! Each job is a small real release through CodePipeline (one PARALLEL
//! pipeline, one execution per job): an artifact with one unchanged function
//! (`AllAtOnce`), so a job is acknowledge → download → unpack → hash →
//! read Lambda → succeed, nothing published. In flight = acknowledged but
//! not yet answered, from the sim's request log in arrival order (a job's
//! AcknowledgeJob is logged before its answer can be sent). It knows nothing
//! about canary shifts.

use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_codepipeline::types::PipelineExecutionStatus;
use e2e::canary::function_zip;
use e2e::release::{CanaryFunction, ReleaseEnv, canary_artifact};

use crate::child::WorkerProcess;
use crate::log::LogView;
use crate::report::Row;

const MIB: f64 = 1024.0 * 1024.0;
const SCENARIO: &str = "jobs-500";
pub const PIPELINE: &str = "bench-jobs";
const FUNCTION: &str = "collect-one";

/// Waves of jobs put through one worker in the main run (default; at least
/// 3, `--waves N`): the first is the
/// 500-concurrent-jobs figure and warms the worker up (its blocking-thread
/// pool grows over the first waves, each thread with its stack), the growth
/// is measured from the second wave to the last.
pub const WAVES: usize = 4;

/// Allowed growth of the peak RSS from the second wave to the last: keeping
/// more than ~2 KiB per job over 1000 more jobs fails it.
const QUEUE_GROWTH_MAX_MIB: f64 = 2.0;

/// What one run measured.
#[derive(Debug, Clone)]
pub struct JobsRun {
    pub jobs: usize,
    pub slots: usize,
    pub succeeded: usize,
    pub failed: usize,
    /// Executions Succeeded per ListPipelineExecutions.
    pub executions_succeeded: usize,
    pub max_in_flight: usize,
    pub idle_rss: u64,
    pub peak_rss: u64,
    /// VmRSS 2 s after the last answer (what the worker kept).
    pub after_rss: u64,
    /// Most threads seen in the worker while the jobs ran.
    pub max_threads: u64,
    /// Job workspaces left in the worker's work directory after the wave.
    pub workspaces_left: usize,
    /// First StartPipelineExecution → last job result, real seconds.
    pub wall_s: f64,
    /// Time to create every execution, real seconds.
    pub create_s: f64,
    pub polls: usize,
    pub failure: Option<String>,
}

impl JobsRun {
    fn above_idle_mib(&self) -> f64 {
        self.peak_rss.saturating_sub(self.idle_rss) as f64 / MIB
    }
}

/// aws-sim with what every job of these scenarios releases (one unchanged
/// function, its artifact in the source bucket, one PARALLEL pipeline) and
/// a worker child process polling it with `--max-jobs slots`. The soak
/// scenario shares it.
pub struct JobsWorld {
    pub r: ReleaseEnv,
    pub log: LogView,
    pub worker: WorkerProcess,
    /// VmRSS 2 s after the worker's first poll.
    pub idle_rss: u64,
}

/// Sets up a [`JobsWorld`]; the worker's log goes to `out_dir/log_name`.
/// Returns once the worker has polled and idled 2 s.
pub async fn world(
    slots: usize,
    out_dir: &std::path::Path,
    log_name: &str,
) -> Result<JobsWorld, String> {
    let r = ReleaseEnv::new(e2e::SimConfig {
        time_scale: 1.0,
        traffic_rate: 0.0,
        ..Default::default()
    })
    .await;
    let zip = function_zip(None, "v1");
    r.create_function(FUNCTION, zip.clone(), Some("live")).await;
    r.upload_source(canary_artifact(
        "AllAtOnce",
        &[CanaryFunction {
            name: FUNCTION.into(),
            zip,
            alarms: vec![],
            config: None,
        }],
        None,
    ))
    .await;
    r.env.pipeline(PIPELINE, &r.def, "prod", &[]).await;
    let log = LogView(r.env.sim.sim().clone());
    let slots_arg = slots.to_string();
    let mut worker = WorkerProcess::spawn(
        &r.env.sim.endpoint(),
        &["--stage", "prod", "--max-jobs", &slots_arg],
        &out_dir.join(log_name),
    )?;
    let ready = Instant::now() + Duration::from_secs(20);
    while log.count("PollForJobs", 0) == 0 {
        if Instant::now() > ready || !worker.running() {
            worker.stop(Duration::from_secs(5));
            return Err(format!(
                "the worker never polled (see target/bench/{log_name})"
            ));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let Some(idle_rss) = worker.rss() else {
        worker.stop(Duration::from_secs(5));
        return Err("/proc of the worker unreadable".into());
    };
    Ok(JobsWorld {
        r,
        log,
        worker,
        idle_rss,
    })
}

/// One worker with `--max-jobs slots` and `waves` waves of `jobs`
/// executions started at once (each wave after the previous one is
/// answered): one [`JobsRun`] per wave, peaks cumulative (VmHWM).
pub async fn run_once(
    jobs: usize,
    slots: usize,
    waves: usize,
    out_dir: &std::path::Path,
) -> Result<Vec<JobsRun>, String> {
    let JobsWorld {
        r,
        log,
        mut worker,
        idle_rss,
    } = world(slots, out_dir, &format!("worker-jobs-{jobs}x{slots}.log")).await?;
    let result = async {
        let mut out: Vec<JobsRun> = Vec::new();
        let mut executions = 0;
        for _ in 0..waves {
            let mut w = wave(&r, &log, &mut worker, jobs, slots, idle_rss).await?;
            let total = count_succeeded(&r).await?;
            w.executions_succeeded = total - executions;
            executions = total;
            let stop = w.failure.is_some();
            out.push(w);
            if stop {
                break;
            }
        }
        Ok(out)
    }
    .await;
    worker.stop(Duration::from_secs(25));
    result
}

/// Starts `jobs` executions at once and waits for every answer.
async fn wave(
    r: &ReleaseEnv,
    log: &LogView,
    worker: &mut WorkerProcess,
    jobs: usize,
    slots: usize,
    idle_rss: u64,
) -> Result<JobsRun, String> {
    // Every execution at once (16 StartPipelineExecution calls in flight).
    let since = log.seq();
    let t0 = Instant::now();
    let gate = Arc::new(tokio::sync::Semaphore::new(16));
    let mut starts = tokio::task::JoinSet::new();
    for _ in 0..jobs {
        let cp = r.env.cp.clone();
        let gate = gate.clone();
        starts.spawn(async move {
            let _p = gate.acquire_owned().await;
            cp.start_pipeline_execution()
                .name(PIPELINE)
                .send()
                .await
                .map(|o| o.pipeline_execution_id().unwrap_or_default().to_string())
                .map_err(|e| format!("StartPipelineExecution: {e:?}"))
        });
    }
    let mut started = 0usize;
    while let Some(s) = starts.join_next().await {
        s.map_err(|e| e.to_string())??;
        started += 1;
    }
    let create_s = t0.elapsed().as_secs_f64();

    let answered =
        || log.count("PutJobSuccessResult", since) + log.count("PutJobFailureResult", since);
    let until = Instant::now() + Duration::from_secs(900);
    let mut shown = Instant::now();
    let mut failure = None;
    let mut max_threads = 0;
    while answered() < started {
        max_threads = max_threads.max(worker.status_value("Threads").unwrap_or(0));
        if Instant::now() > until {
            failure = Some(format!(
                "only {} of {started} jobs answered within 900 s",
                answered()
            ));
            break;
        }
        if !worker.running() {
            failure = Some("the worker exited (see target/bench/worker-jobs-*.log)".into());
            break;
        }
        if shown.elapsed() > Duration::from_secs(15) {
            crate::progress(&format!(
                "{SCENARIO}: {} of {started} jobs answered",
                answered()
            ));
            shown = Instant::now();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let peak_rss = worker.peak_rss().ok_or("/proc of the worker unreadable")?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after_rss = worker.rss().unwrap_or(0);
    let workspaces_left = std::fs::read_dir(worker.work_dir())
        .map(|d| d.flatten().count())
        .unwrap_or(0);

    // In flight over time: +1 per AcknowledgeJob, −1 per answer, in log order.
    let mut in_flight = 0i64;
    let mut max_in_flight = 0i64;
    let mut first_start = None;
    let mut last_answer = 0u64;
    let (mut succeeded, mut failed, mut polls) = (0, 0, 0);
    for rec in r.env.sim.sim().log.query(since, Some("codepipeline"), None) {
        let ok = rec.status < 300;
        match rec.operation.as_str() {
            "StartPipelineExecution" => {
                first_start.get_or_insert(rec.real_ms);
            }
            "PollForJobs" => polls += 1,
            "AcknowledgeJob" if ok => in_flight += 1,
            "PutJobSuccessResult" | "PutJobFailureResult" if ok => {
                in_flight -= 1;
                last_answer = rec.real_ms;
                if rec.operation == "PutJobSuccessResult" {
                    succeeded += 1;
                } else {
                    failed += 1;
                }
            }
            _ => {}
        }
        max_in_flight = max_in_flight.max(in_flight);
    }
    Ok(JobsRun {
        jobs,
        slots,
        succeeded,
        failed,
        executions_succeeded: 0,
        max_in_flight: max_in_flight.max(0) as usize,
        idle_rss,
        peak_rss,
        after_rss,
        max_threads,
        workspaces_left,
        wall_s: last_answer.saturating_sub(first_start.unwrap_or(last_answer)) as f64 / 1000.0,
        create_s,
        polls,
        failure,
    })
}

/// Executions of the pipeline that Succeeded (ListPipelineExecutions, all pages).
pub async fn count_succeeded(r: &ReleaseEnv) -> Result<usize, String> {
    let mut n = 0;
    let mut token: Option<String> = None;
    loop {
        let out = r
            .env
            .cp
            .list_pipeline_executions()
            .pipeline_name(PIPELINE)
            .max_results(100)
            .set_next_token(token.take())
            .send()
            .await
            .map_err(|e| format!("ListPipelineExecutions: {e:?}"))?;
        n += out
            .pipeline_execution_summaries()
            .iter()
            .filter(|s| s.status() == Some(&PipelineExecutionStatus::Succeeded))
            .count();
        match out.next_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_string()),
            _ => return Ok(n),
        }
    }
}

/// The scenario: `waves` waves of `jobs` at `slots` on one worker (the
/// first is the 500-concurrent-jobs figure; the later ones show whether
/// memory keeps growing with the jobs put through), then one wave at 8
/// slots for the cost of a slot.
pub async fn run(jobs: usize, slots: usize, waves: usize, out_dir: &std::path::Path) -> Vec<Row> {
    let wave_count = waves.max(3);
    let mut rows = Vec::new();
    crate::progress(&format!(
        "{SCENARIO}: {wave_count} waves of {jobs} jobs, --max-jobs {slots}"
    ));
    let waves = match run_once(jobs, slots, wave_count, out_dir).await {
        Ok(w) if !w.is_empty() => w,
        Ok(_) => return vec![Row::missing(SCENARIO, "run", "completes", "no wave").pass(false)],
        Err(e) => return vec![Row::missing(SCENARIO, "run", "completes", &e).pass(false)],
    };
    let few_slots = 8.min(slots);
    crate::progress(&format!(
        "{SCENARIO}: {jobs} jobs, --max-jobs {few_slots} (slot comparison)"
    ));
    let narrow = run_once(jobs, few_slots, 1, out_dir).await;

    let complete = |r: &JobsRun| {
        r.failure.is_none()
            && r.workspaces_left == 0
            && r.succeeded == r.jobs
            && r.failed == 0
            && r.executions_succeeded == r.jobs
    };
    let main = &waves[0];
    rows.push(
        Row::report(SCENARIO, "jobs succeeded", main.succeeded as f64, "jobs")
            .target(format!("= {jobs} (all complete)"))
            .pass(complete(main))
            .note(format!(
                "{} PutJobSuccessResult, {} PutJobFailureResult, {} executions Succeeded \
                 (ListPipelineExecutions), {} job workspaces left on disk; {jobs} executions created \
                 in {:.2} s, all answered {:.1} s after the first ({:.1} jobs/s); {} PollForJobs{}",
                main.succeeded,
                main.failed,
                main.executions_succeeded,
                main.workspaces_left,
                main.create_s,
                main.wall_s,
                main.succeeded as f64 / main.wall_s.max(0.001),
                main.polls,
                main.failure
                    .as_deref()
                    .map(|f| format!("; {f}"))
                    .unwrap_or_default()
            )),
    );
    let max_in_flight = waves.iter().map(|w| w.max_in_flight).max().unwrap_or(0);
    rows.push(
        Row::at_most(
            SCENARIO,
            &format!("max jobs in flight (--max-jobs {slots})"),
            max_in_flight as f64,
            "jobs",
            slots as f64,
        )
        .note(format!(
            "acknowledged and not yet answered, from the sim's request log; per wave {:?}",
            waves.iter().map(|w| w.max_in_flight).collect::<Vec<_>>()
        )),
    );
    rows.push(
        Row::report(
            SCENARIO,
            &format!("peak RSS, {jobs} jobs × {slots} slots"),
            waves.iter().map(|w| w.peak_rss).max().unwrap_or(0) as f64 / MIB,
            "MB",
        )
        .note(format!(
            "MB = MiB; VmHWM of the worker child after {} waves of {jobs} jobs; {:.1} MiB above its \
             idle VmRSS ({:.1} MiB); after the first wave alone {:.1} MiB ({:.1} above idle, up to {} threads)",
            waves.len(),
            waves.last().map(|w| w.above_idle_mib()).unwrap_or(0.0),
            main.idle_rss as f64 / MIB,
            main.peak_rss as f64 / MIB,
            main.above_idle_mib(),
            main.max_threads
        )),
    );
    if waves.len() == wave_count {
        let last = &waves[wave_count - 1];
        let growth = (last.peak_rss.saturating_sub(waves[1].peak_rss)) as f64 / MIB;
        let more = jobs * (wave_count - 2);
        let ok = waves.iter().all(complete) && growth <= QUEUE_GROWTH_MAX_MIB;
        rows.push(
            Row::at_most(
                SCENARIO,
                &format!("peak RSS growth over {more} more jobs after warm-up ({slots} slots)"),
                growth,
                "MB",
                QUEUE_GROWTH_MAX_MIB,
            )
            .target(format!(
                "≤ {QUEUE_GROWTH_MAX_MIB} MB (bounded by slots, not jobs)"
            ))
            .pass(ok)
            .note(format!(
                "MB = MiB; from wave 2 to wave {wave_count}; VmHWM after each wave of {jobs}: {} MiB; VmRSS \
                 2 s after each: {} MiB; most threads per wave: {:?}; succeeded per wave: {:?}; \
                 {:+.2} KiB per extra job",
                waves
                    .iter()
                    .map(|w| format!("{:.1}", w.peak_rss as f64 / MIB))
                    .collect::<Vec<_>>()
                    .join(" / "),
                waves
                    .iter()
                    .map(|w| format!("{:.1}", w.after_rss as f64 / MIB))
                    .collect::<Vec<_>>()
                    .join(" / "),
                waves.iter().map(|w| w.max_threads).collect::<Vec<_>>(),
                waves.iter().map(|w| w.succeeded).collect::<Vec<_>>(),
                growth * 1024.0 / more.max(1) as f64
            )),
        );
    } else {
        rows.push(
            Row::missing(
                SCENARIO,
                "peak RSS growth over later waves",
                &format!("≤ {QUEUE_GROWTH_MAX_MIB} MB"),
                &format!(
                    "only {} of {wave_count} waves ran: {}",
                    waves.len(),
                    waves
                        .last()
                        .and_then(|w| w.failure.clone())
                        .unwrap_or_default()
                ),
            )
            .pass(false),
        );
    }
    match narrow.as_ref().map(|w| w.first()) {
        Ok(Some(n)) => rows.push(
            Row::report(
                SCENARIO,
                &format!("peak RSS above idle, {} slots vs {slots}", n.slots),
                n.above_idle_mib(),
                "MB",
            )
            .note(format!(
                "MB = MiB; {:.1} MiB above idle with --max-jobs {} ({} of {} succeeded, max {} in flight, \
                 up to {} threads, {:.1} s) vs {:.1} MiB with --max-jobs {slots} (up to {} threads, {:.1} s): \
                 {:+.1} KiB per extra slot",
                n.above_idle_mib(),
                n.slots,
                n.succeeded,
                n.jobs,
                n.max_in_flight,
                n.max_threads,
                n.wall_s,
                main.above_idle_mib(),
                main.max_threads,
                main.wall_s,
                (main.above_idle_mib() - n.above_idle_mib()) * 1024.0
                    / slots.saturating_sub(n.slots).max(1) as f64
            )),
        ),
        Ok(None) => rows.push(Row::missing(SCENARIO, &format!("{few_slots} slots comparison"), "", "no wave")),
        Err(e) => rows.push(Row::missing(
            SCENARIO,
            &format!("{few_slots} slots comparison"),
            "",
            e,
        )),
    }
    rows
}
