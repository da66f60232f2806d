//! Scenario `soak`: one worker child process with `--max-jobs 64` takes
//! 20,000 jobs (`--soak-jobs N`; `--quick`: 4,000) in one steady stream,
//! and its memory must not grow with them: after a warm-up (the first
//! 2,000 jobs, `--quick` 1,000) its peak RSS (VmHWM) stays within 2 MiB of
//! what it was at the end of the warm-up. After every 1,000 answered jobs
//! it records VmRSS, VmHWM, the thread count (at that moment and the most
//! seen since the previous sample) and the job rate; after the last job,
//! once the worker's blocking threads have outlived their keep-alive, what
//! the worker keeps at rest.
//!
//! The jobs are `jobs-500`'s ([`JobsWorld`]: one unchanged function, so a
//! job is acknowledge → download → unpack → hash → read Lambda → ledger →
//! succeed, nothing published). The stream keeps a backlog of started
//! executions ahead of the answers (at most 16 StartPipelineExecution calls
//! in flight), so every slot stays busy and no sample falls into a pause.
//! Answers and in-flight jobs come from the sim's request log, read
//! incrementally. It knows nothing about canary shifts.

use std::time::{Duration, Instant};

use crate::jobs::{self, JobsWorld, PIPELINE};
use crate::report::Row;

const MIB: f64 = 1024.0 * 1024.0;
const SCENARIO: &str = "soak";

/// Allowed growth of the peak RSS from the end of the warm-up to the last job.
const GROWTH_MAX_MIB: f64 = 2.0;

/// Started executions not yet answered, at most: several pollfuls ahead
/// of the worker's slots.
const BACKLOG: usize = 256;

/// StartPipelineExecution calls in flight, at most.
const STARTS_IN_FLIGHT: usize = 16;

/// After the last job: longer than the worker's blocking-thread keep-alive,
/// so what is left is what the worker keeps at rest.
const REST: Duration = Duration::from_secs(15);

/// No answer for this long ends the run as failed.
const STALL: Duration = Duration::from_secs(120);

/// What the soak runs.
#[derive(Debug, Clone, Copy)]
pub struct SoakOptions {
    pub jobs: usize,
    pub slots: usize,
    /// A sample after every this many answered jobs.
    pub every: usize,
    /// Jobs before the growth is measured from.
    pub warmup: usize,
}

impl SoakOptions {
    pub fn full() -> Self {
        SoakOptions {
            jobs: 20_000,
            slots: 64,
            every: 1_000,
            warmup: 2_000,
        }
    }

    pub fn quick() -> Self {
        SoakOptions {
            jobs: 4_000,
            warmup: 1_000,
            ..SoakOptions::full()
        }
    }
}

/// The worker as seen after `jobs` answered jobs.
#[derive(Debug, Clone, Copy)]
struct Sample {
    jobs: usize,
    /// Real seconds since the first execution was started.
    secs: f64,
    rss: u64,
    hwm: u64,
    /// VmRSS in anonymous memory (heap, stacks) and in file pages (the binary).
    anon: u64,
    file: u64,
    threads: u64,
    /// Most threads seen since the previous sample (read every 50 ms).
    max_threads: u64,
}

/// What the whole run measured.
#[derive(Debug)]
struct Soak {
    idle_rss: u64,
    samples: Vec<Sample>,
    succeeded: usize,
    failed: usize,
    executions_succeeded: usize,
    max_in_flight: i64,
    polls: usize,
    secs: f64,
    rest_rss: u64,
    rest_hwm: u64,
    rest_threads: u64,
    workspaces_left: usize,
    failure: Option<String>,
}

pub async fn run(o: SoakOptions, out_dir: &std::path::Path) -> Vec<Row> {
    crate::progress(&format!(
        "{SCENARIO}: {} jobs through one worker, --max-jobs {}, a sample every {}",
        o.jobs, o.slots, o.every
    ));
    match soak(o, out_dir).await {
        Ok(s) => rows(o, &s),
        Err(e) => vec![Row::missing(SCENARIO, "run", "completes", &e).pass(false)],
    }
}

async fn soak(o: SoakOptions, out_dir: &std::path::Path) -> Result<Soak, String> {
    let JobsWorld {
        r,
        log,
        mut worker,
        idle_rss,
    } = jobs::world(o.slots, out_dir, "worker-soak.log").await?;
    let result = async {
        let sim = r.env.sim.sim().clone();
        let mut cursor = log.seq();
        let t0 = Instant::now();
        let mut starts = tokio::task::JoinSet::new();
        let mut started = 0usize;
        let (mut succeeded, mut failed, mut polls) = (0usize, 0usize, 0usize);
        let (mut in_flight, mut max_in_flight) = (0i64, 0i64);
        let mut samples: Vec<Sample> = Vec::new();
        let mut max_threads = 0u64;
        let mut last_answer = Instant::now();
        let mut failure = None;
        loop {
            let answered = succeeded + failed;
            while started + starts.len() < o.jobs
                && started + starts.len() - answered < BACKLOG
                && starts.len() < STARTS_IN_FLIGHT
            {
                let cp = r.env.cp.clone();
                starts.spawn(async move {
                    cp.start_pipeline_execution()
                        .name(PIPELINE)
                        .send()
                        .await
                        .map(|_| ())
                        .map_err(|e| format!("StartPipelineExecution: {e:?}"))
                });
            }
            while let Some(s) = starts.try_join_next() {
                s.map_err(|e| e.to_string())??;
                started += 1;
            }
            // The log since the last look (records still arriving are
            // left for the next one).
            let end = sim.log.len();
            for rec in sim.log.query(cursor, Some("codepipeline"), None) {
                if rec.seq >= end {
                    break;
                }
                let ok = rec.status < 300;
                match rec.operation.as_str() {
                    "PollForJobs" => polls += 1,
                    "AcknowledgeJob" if ok => in_flight += 1,
                    "PutJobSuccessResult" if ok => {
                        in_flight -= 1;
                        succeeded += 1;
                    }
                    "PutJobFailureResult" if ok => {
                        in_flight -= 1;
                        failed += 1;
                    }
                    _ => {}
                }
                max_in_flight = max_in_flight.max(in_flight);
            }
            cursor = end;
            max_threads = max_threads.max(worker.status_value("Threads").unwrap_or(0));
            let now_answered = succeeded + failed;
            if now_answered > answered {
                last_answer = Instant::now();
            }
            let next_mark = (samples.len() + 1) * o.every;
            if now_answered >= next_mark.min(o.jobs) {
                let s = Sample {
                    jobs: now_answered,
                    secs: t0.elapsed().as_secs_f64(),
                    rss: worker.rss().unwrap_or(0),
                    hwm: worker.peak_rss().unwrap_or(0),
                    anon: worker.status_bytes("RssAnon").unwrap_or(0),
                    file: worker.status_bytes("RssFile").unwrap_or(0),
                    threads: worker.status_value("Threads").unwrap_or(0),
                    max_threads,
                };
                let rate = match samples.last() {
                    Some(p) => (s.jobs - p.jobs) as f64 / (s.secs - p.secs).max(0.001),
                    None => s.jobs as f64 / s.secs.max(0.001),
                };
                crate::progress(&format!(
                    "{SCENARIO}: {} jobs in {:.0} s: VmRSS {:.2} MiB (anon {:.2}, file {:.2}), \
                     VmHWM {:.2} MiB, {} threads (most {}), {rate:.0} jobs/s",
                    s.jobs,
                    s.secs,
                    s.rss as f64 / MIB,
                    s.anon as f64 / MIB,
                    s.file as f64 / MIB,
                    s.hwm as f64 / MIB,
                    s.threads,
                    s.max_threads
                ));
                samples.push(s);
                max_threads = 0;
            }
            if now_answered >= o.jobs {
                break;
            }
            if !worker.running() {
                failure = Some("the worker exited (see target/bench/worker-soak.log)".into());
                break;
            }
            if last_answer.elapsed() > STALL {
                failure = Some(format!(
                    "no job answered for {} s after {now_answered} of {}",
                    STALL.as_secs(),
                    o.jobs
                ));
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let secs = t0.elapsed().as_secs_f64();
        tokio::time::sleep(REST).await;
        let rest_rss = worker.rss().unwrap_or(0);
        let rest_hwm = worker.peak_rss().unwrap_or(0);
        let rest_threads = worker.status_value("Threads").unwrap_or(0);
        let workspaces_left = std::fs::read_dir(worker.work_dir())
            .map(|d| d.flatten().count())
            .unwrap_or(0);
        let executions_succeeded = jobs::count_succeeded(&r).await?;
        Ok(Soak {
            idle_rss,
            samples,
            succeeded,
            failed,
            executions_succeeded,
            max_in_flight,
            polls,
            secs,
            rest_rss,
            rest_hwm,
            rest_threads,
            workspaces_left,
            failure,
        })
    }
    .await;
    worker.stop(Duration::from_secs(25));
    result
}

/// The least-squares slope of `y` over `x` (`None` with fewer than three
/// points or no spread in `x`).
fn slope(points: &[(f64, f64)]) -> Option<f64> {
    if points.len() < 3 {
        return None;
    }
    let n = points.len() as f64;
    let mx = points.iter().map(|p| p.0).sum::<f64>() / n;
    let my = points.iter().map(|p| p.1).sum::<f64>() / n;
    let sxx: f64 = points.iter().map(|p| (p.0 - mx) * (p.0 - mx)).sum();
    let sxy: f64 = points.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    (sxx > 0.0).then(|| sxy / sxx)
}

fn mib(b: u64) -> String {
    format!("{:.2}", b as f64 / MIB)
}

fn rows(o: SoakOptions, s: &Soak) -> Vec<Row> {
    let mut rows = Vec::new();
    let complete = s.failure.is_none()
        && s.succeeded == o.jobs
        && s.failed == 0
        && s.executions_succeeded == o.jobs
        && s.workspaces_left == 0;
    rows.push(
        Row::report(SCENARIO, "jobs succeeded", s.succeeded as f64, "jobs")
            .target(format!("= {} (all complete)", o.jobs))
            .pass(complete)
            .note(format!(
                "{} PutJobSuccessResult, {} PutJobFailureResult, {} executions Succeeded \
                 (ListPipelineExecutions), {} job workspaces left on disk, at most {} in flight \
                 (--max-jobs {}); {} PollForJobs{}",
                s.succeeded,
                s.failed,
                s.executions_succeeded,
                s.workspaces_left,
                s.max_in_flight,
                o.slots,
                s.polls,
                s.failure
                    .as_deref()
                    .map(|f| format!("; {f}"))
                    .unwrap_or_default()
            )),
    );
    rows.push(Row::report(SCENARIO, "duration", s.secs, "s").note(format!(
            "first StartPipelineExecution → last answer, {:.1} jobs/s; jobs/s per {}: {}",
            (s.succeeded + s.failed) as f64 / s.secs.max(0.001),
            o.every,
            s.samples
                .iter()
                .scan((0usize, 0.0f64), |prev, x| {
                    let rate = (x.jobs - prev.0) as f64 / (x.secs - prev.1).max(0.001);
                    *prev = (x.jobs, x.secs);
                    Some(format!("{rate:.0}"))
                })
                .collect::<Vec<_>>()
                .join(" ")
        )));
    let warm = s.samples.iter().find(|x| x.jobs >= o.warmup);
    let last = s.samples.last();
    match (warm, last) {
        (Some(w), Some(l)) if l.jobs > w.jobs => {
            let growth = l.hwm.saturating_sub(w.hwm) as f64 / MIB;
            let after: Vec<&Sample> = s.samples.iter().filter(|x| x.jobs >= w.jobs).collect();
            let rss_min = after.iter().map(|x| x.rss).min().unwrap_or(0);
            let rss_max = after.iter().map(|x| x.rss).max().unwrap_or(0);
            // Threads follow how many jobs wait on blocking work at once
            // (more when the machine is loaded), and the peak with them.
            let threads = |xs: &mut dyn Iterator<Item = &Sample>| {
                xs.map(|x| x.max_threads).max().unwrap_or(0)
            };
            let warm_threads = threads(&mut s.samples.iter().filter(|x| x.jobs <= w.jobs));
            let later_threads = threads(&mut s.samples.iter().filter(|x| x.jobs > w.jobs));
            rows.push(
                Row::at_most(
                    SCENARIO,
                    &format!(
                        "peak RSS growth over {} jobs after {} of warm-up",
                        l.jobs - w.jobs,
                        w.jobs
                    ),
                    growth,
                    "MB",
                    GROWTH_MAX_MIB,
                )
                .pass(complete && growth <= GROWTH_MAX_MIB)
                .note(format!(
                    "MB = MiB; VmHWM {} MiB after {} jobs → {} MiB after {} ({:+.3} KiB per job, \
                     {:+.1} KiB per 1,000); VmRSS after warm-up between {} and {} MiB \
                     (spread {:.2} MiB); most threads {} during the warm-up, {} after \
                     (a rise means more jobs waiting on blocking work at once, not more \
                     jobs done); idle before the first job {} MiB",
                    mib(w.hwm),
                    w.jobs,
                    mib(l.hwm),
                    l.jobs,
                    growth * 1024.0 / (l.jobs - w.jobs) as f64,
                    growth * 1024.0 * 1000.0 / (l.jobs - w.jobs) as f64,
                    mib(rss_min),
                    mib(rss_max),
                    (rss_max - rss_min) as f64 / MIB,
                    warm_threads,
                    later_threads,
                    mib(s.idle_rss)
                )),
            );
        }
        _ => rows.push(
            Row::missing(
                SCENARIO,
                "peak RSS growth after warm-up",
                &format!("≤ {GROWTH_MAX_MIB} MB"),
                &format!(
                    "{} samples, none after the warm-up of {} jobs",
                    s.samples.len(),
                    o.warmup
                ),
            )
            .pass(false),
        ),
    }
    // The trend after the warm-up, robust to one high sample: the
    // least-squares slope of VmRSS (and of its anonymous part, the heap and
    // stacks) over the samples, per 1,000 jobs.
    if let Some(w) = warm {
        let after: Vec<&Sample> = s.samples.iter().filter(|x| x.jobs >= w.jobs).collect();
        let per_1000 = |f: fn(&Sample) -> u64| {
            slope(
                &after
                    .iter()
                    .map(|x| (x.jobs as f64 / 1000.0, f(x) as f64 / 1024.0))
                    .collect::<Vec<_>>(),
            )
        };
        if let (Some(rss), Some(anon), Some(l)) = (per_1000(|x| x.rss), per_1000(|x| x.anon), last)
        {
            let span = (l.jobs - w.jobs) as f64 / 1000.0;
            rows.push(
                Row::report(SCENARIO, "VmRSS trend after warm-up", rss, "KiB per 1,000 jobs")
                    .note(format!(
                        "least-squares slope over the {} samples from {} jobs on: VmRSS {rss:+.1}                          KiB per 1,000 jobs ({:+.2} MiB over the {} jobs after the warm-up), its                          anonymous part {anon:+.1} KiB per 1,000 ({:+.2} MiB)",
                        after.len(),
                        w.jobs,
                        rss * span / 1024.0,
                        l.jobs - w.jobs,
                        anon * span / 1024.0
                    )),
            );
        }
    }
    if let Some(l) = last {
        rows.push(
            Row::report(
                SCENARIO,
                &format!("VmRSS per {} jobs", o.every),
                l.rss as f64 / MIB,
                "MB",
            )
            .note(format!(
                "MB = MiB; the last sample; VmRSS / VmHWM after each {}: {}",
                o.every,
                s.samples
                    .iter()
                    .map(|x| format!("{} / {}", mib(x.rss), mib(x.hwm)))
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        );
        rows.push(
            Row::report(
                SCENARIO,
                &format!("threads per {} jobs (most)", o.every),
                s.samples.iter().map(|x| x.max_threads).max().unwrap_or(0) as f64,
                "threads",
            )
            .note(format!(
                "threads at each sample (most since the previous one): {}",
                s.samples
                    .iter()
                    .map(|x| format!("{} ({})", x.threads, x.max_threads))
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        );
    }
    rows.push(
        Row::report(
            SCENARIO,
            "VmRSS at rest after the last job",
            s.rest_rss as f64 / MIB,
            "MB",
        )
        .note(format!(
            "MB = MiB; {} s after the last answer: {} threads, VmHWM {} MiB; idle before the \
                 first job {} MiB",
            REST.as_secs(),
            s.rest_threads,
            mib(s.rest_hwm),
            mib(s.idle_rss)
        )),
    );
    rows
}
