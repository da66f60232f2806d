//! Scenario `pickup`: the worker child process with its default settings
//! (`pipeline-canary run --stage prod`, poll interval 1 s) against aws-sim
//! at time scale 1. First an idle window (PollForJobs per second), then jobs
//! arriving at random (exponential inter-arrival times, seeded) →
//! p50 / p99 from job creation to AcknowledgeJob. Both ends come from the
//! sim's request log (real milliseconds): a job is created inside
//! StartPipelineExecution (the S3 source action passes through at once) and
//! the queue is FIFO, so the k-th acknowledgement belongs to the k-th job.
//! It knows nothing about releases.

use std::time::Duration;

use pipeline_canary::definition::ActionTypeDefinition;
use rand::{Rng, SeedableRng};

use crate::child::WorkerProcess;
use crate::log::LogView;
use crate::report::Row;

pub struct PickupOptions {
    pub jobs: usize,
    /// Mean real time over which the jobs arrive.
    pub arrival_window: Duration,
    pub idle_window: Duration,
}

const PIPELINE: &str = "bench-pickup";

pub async fn run(o: &PickupOptions, out_dir: &std::path::Path) -> Result<Vec<Row>, String> {
    let env = e2e::worker::env_with(e2e::SimConfig {
        time_scale: 1.0,
        traffic_rate: 0.0,
        ..Default::default()
    })
    .await;
    let def = ActionTypeDefinition::embedded();
    env.register(&def).await;
    env.pipeline(PIPELINE, &def, "prod", &[]).await;
    let log = LogView(env.sim.sim().clone());
    let worker = WorkerProcess::spawn(
        &env.sim.endpoint(),
        &["--stage", "prod"],
        &out_dir.join("worker-pickup.log"),
    )?;
    let result = measure(o, &env, &log).await;
    worker.stop(Duration::from_secs(25));
    result
}

async fn measure(
    o: &PickupOptions,
    env: &e2e::worker::Env,
    log: &LogView,
) -> Result<Vec<Row>, String> {
    // Ready: the first poll arrived.
    let ready = tokio::time::Instant::now() + Duration::from_secs(20);
    while log.count("PollForJobs", 0) == 0 {
        if tokio::time::Instant::now() > ready {
            return Err("the worker never polled (see target/bench/worker-pickup.log)".into());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Idle window: polls per second with no job in the queue.
    let idle_from = log.seq();
    let t0 = log.real_ms();
    tokio::time::sleep(o.idle_window).await;
    let polls = log.count("PollForJobs", idle_from);
    let idle_rate = polls as f64 / ((log.real_ms() - t0) as f64 / 1000.0);

    // Jobs arriving at random.
    let since = log.seq();
    let mut rng = rand::rngs::StdRng::seed_from_u64(8);
    let mean = o.arrival_window.as_secs_f64() / o.jobs as f64;
    for _ in 0..o.jobs {
        let u: f64 = rng.random_range(f64::EPSILON..1.0);
        tokio::time::sleep(Duration::from_secs_f64(-u.ln() * mean)).await;
        env.start(PIPELINE).await;
    }
    let until = tokio::time::Instant::now() + Duration::from_secs(60);
    while log.count("AcknowledgeJob", since) < o.jobs {
        if tokio::time::Instant::now() > until {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let created = log.times_ms("codepipeline", "StartPipelineExecution", since);
    let acked = log.ok_times_ms("codepipeline", "AcknowledgeJob", since);
    let n = created.len().min(acked.len());
    let mut lat: Vec<f64> = created
        .iter()
        .zip(&acked)
        .map(|(c, a)| (*a as f64 - *c as f64) / 1000.0)
        .collect();
    lat.sort_by(f64::total_cmp);
    let pct = |p: f64| -> f64 {
        if lat.is_empty() {
            return f64::NAN;
        }
        let i = ((p / 100.0) * lat.len() as f64).ceil() as usize;
        lat[i.clamp(1, lat.len()) - 1]
    };
    let scenario = "pickup";
    let note = format!(
        "{n} of {} jobs acknowledged; arrivals exponential over ~{} s real, time scale 1",
        o.jobs,
        o.arrival_window.as_secs()
    );
    let mut rows = vec![
        Row::at_most(
            scenario,
            "p50 creation → AcknowledgeJob",
            pct(50.0),
            "s",
            1.0,
        )
        .note(note),
        Row::report(scenario, "p99 creation → AcknowledgeJob", pct(99.0), "s"),
        Row::report(scenario, "max creation → AcknowledgeJob", pct(100.0), "s"),
        Row::at_most(
            scenario,
            "PollForJobs while idle",
            idle_rate,
            "calls/s",
            1.0,
        )
        .note(format!(
            "{polls} polls in {} s idle",
            o.idle_window.as_secs()
        )),
    ];
    if n < o.jobs {
        rows.push(
            Row::missing(scenario, "jobs acknowledged", "all", "")
                .note(format!("only {n} of {} within 60 s", o.jobs))
                .pass(false),
        );
    }
    Ok(rows)
}
