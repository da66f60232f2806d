//! Scenarios `release-1`, `release-60`, `release-500` and `api-economy`: a canary release
//! (Linear10PercentEvery1Minute) through CodePipeline with the real worker
//! runtime and `LambdaReleaseEngine` running in-process (its decisions on
//! the sim's clock, as in the e2e tests; memory is not measured here). The
//! figure is release time − schedule time in real seconds: from
//! StartPipelineExecution to the job's last PutJobSuccessResult (sim request
//! log, real ms) minus the config's schedule (9 simulated minutes) divided by
//! the time scale. It knows nothing about child processes.

use std::time::Duration;

use aws_sdk_cloudwatch as cw;
use e2e::canary::{errors_alarm, function_zip};
use e2e::release::{CanaryFunction, PIPELINE, ReleaseEnv, canary_artifact};
use pipeline_canary::WorkerConfig;
use pipeline_canary::manifest::DeploymentConfig;
use pipeline_canary::release::{Clock, LambdaReleaseEngine, ReleaseOptions};

use crate::log::LogView;

/// Linear10PercentEvery1Minute.
pub const LINEAR: DeploymentConfig = DeploymentConfig::Linear {
    percent: 10,
    every_minutes: 1,
};

/// The worker's watch interval during the benchmark (real time): the
/// "poll interval" of the target "≤ 1 poll interval + 1 s".
pub const WATCH: Duration = Duration::from_secs(1);

/// What one release measured.
#[derive(Debug, Clone)]
pub struct ReleaseRun {
    pub functions: usize,
    pub time_scale: f64,
    pub succeeded: bool,
    pub status: String,
    /// Schedule in real seconds.
    pub schedule_s: f64,
    /// StartPipelineExecution → last PutJobSuccessResult, real seconds.
    pub release_s: f64,
    /// StartPipelineExecution → first CreateDeployment (pickup, fetch,
    /// publish, pre-flight), real seconds.
    pub to_first_deployment_s: f64,
    /// StartPipelineExecution → first AcknowledgeJob, real seconds.
    pub to_ack_s: f64,
    /// StartPipelineExecution → last PublishVersion, real seconds.
    pub to_published_s: f64,
    /// Last − first CreateDeployment, real seconds.
    pub create_spread_s: f64,
    pub jobs: usize,
    /// Successful PublishVersion / CreateDeployment calls of the release.
    pub publishes: usize,
    pub deployments: usize,
    /// Lambda calls of the release by operation (all statuses).
    pub lambda_calls: std::collections::BTreeMap<String, usize>,
    /// Per watch tick after the last CreateDeployment: (BatchGetDeployments,
    /// DescribeAlarms).
    pub ticks: Vec<(usize, usize)>,
    /// The longest continuation token a job of the release ended with.
    pub max_token_chars: usize,
    /// The release ledger's successful writes (PutObject) and reads
    /// (GetObject) during the release.
    pub ledger_writes: usize,
    pub ledger_reads: usize,
    /// CodeDeploy's Lambda calls refused by the quota (each retry counts):
    /// 0 means no deployment was retried, let alone failed, for throttling.
    pub codedeploy_throttled: u64,
    /// The worker's Lambda calls answered 429.
    pub worker_throttled: u64,
    /// Most deployments started within one simulated second (they step
    /// together for their whole life), and the calls each of their steps
    /// then asks of Lambda at once.
    pub peak_starts_per_second: usize,
    pub peak_step_load: f64,
    /// CodeDeploy's planned peak (the pace), requests per second.
    pub planned_peak_rate: f64,
    /// The lower bound on the release time (real seconds) from Lambda's
    /// quota and the schedule: the worker's control-plane calls to publish
    /// (GetAlias, UpdateFunctionCode, PublishVersion per changed function)
    /// at 15/s, then CodeDeploy's side (simulated): its start calls at 15/s
    /// and the schedule, or all its calls at 15/s, whichever is longer.
    pub bound_s: f64,
    /// The pace's own plan for the same release (real seconds): publishing
    /// at 15/s as in `bound_s`, then the schedule `plan` prints (the pace's
    /// share of the quota for CodeDeploy, its phase slots and cap).
    pub planned_s: f64,
}

impl ReleaseRun {
    pub fn overhead_s(&self) -> f64 {
        self.release_s - self.schedule_s
    }
}

/// Releases `n` functions, the first `changed` of them with new code, at
/// `time_scale`.
pub async fn release(n: usize, changed: usize, time_scale: f64) -> Result<ReleaseRun, String> {
    let r = ReleaseEnv::new(e2e::SimConfig {
        time_scale,
        traffic_rate: 0.0,
        ..Default::default()
    })
    .await;
    let cwc = cw::Client::new(&r.env.conf);
    let names: Vec<String> = (1..=n).map(|i| format!("collect-fn{i}")).collect();
    for name in &names {
        r.create_function(
            name,
            function_zip(None, &format!("{name}-v1")),
            Some("live"),
        )
        .await;
        errors_alarm(&cwc, &format!("{name}-errors"), name, "2").await;
    }
    let spec: Vec<CanaryFunction> = names
        .iter()
        .enumerate()
        .map(|(i, name)| CanaryFunction {
            name: name.clone(),
            zip: function_zip(
                None,
                &format!("{name}-{}", if i < changed { "v2" } else { "v1" }),
            ),
            alarms: vec![format!("{name}-errors")],
            config: None,
        })
        .collect();
    r.upload_source(canary_artifact(&LINEAR.short_name(), &spec, None))
        .await;
    r.pipeline(PIPELINE, false, None, &[]).await;

    // The worker: default runtime settings (poll interval 1 s), default
    // engine settings except the watch interval and the sim's clock.
    let sim = r.env.sim.sim().clone();
    let clock_sim = sim.clone();
    let options = ReleaseOptions {
        ledger: Some(pipeline_canary::ledger::Location::parse(e2e::worker::LEDGER).unwrap()),
        work_dir: r.work_dir.path().to_path_buf(),
        watch_interval: WATCH,
        clock: Some(Clock(std::sync::Arc::new(move || clock_sim.clock.now()))),
        ..Default::default()
    };
    // AWS's quotas from here on, counted from zero.
    sim.lambda
        .set_request_quota(Some(aws_sim::lambda::quota::RequestQuota::default()));
    let mut config = WorkerConfig::new(r.def.clone());
    config.stage = Some("prod".into());
    let engine = LambdaReleaseEngine::new(&r.env.conf, options);
    let worker = e2e::worker::RunningWorker::start(&r.env, config, engine);
    let log = LogView(sim.clone());
    let ready = tokio::time::Instant::now() + Duration::from_secs(10);
    while log.count("PollForJobs", 0) == 0 && tokio::time::Instant::now() < ready {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    let schedule_s = LINEAR.total_duration().as_secs_f64() / time_scale;
    let since = log.seq();
    let (id, status) = r
        // Publishing alone takes n × 3 calls at 15/s; waves of the pace's
        // cap add schedules.
        .run(
            PIPELINE,
            Duration::from_secs_f64(schedule_s * (3.0 + n as f64 / 60.0) + 60.0 + n as f64 * 0.4),
        )
        .await;
    let _ = worker.stop().await;
    let usage = sim.lambda.quota_report();
    let throttled = |clock: &str| -> u64 {
        usage
            .iter()
            .filter(|c| c.clock == clock)
            .map(|c| c.usage.throttled)
            .sum()
    };
    let (codedeploy_throttled, worker_throttled) = (throttled("simulated"), throttled("real"));
    let succeeded = status.as_str() == "Succeeded";
    let status = if succeeded {
        status.as_str().to_string()
    } else {
        format!("{status:?}: {:?}", r.action_outcome(PIPELINE, &id).await)
    };

    let start = first(&log.times_ms("codepipeline", "StartPipelineExecution", since))?;
    let done = log.ok_times_ms("codepipeline", "PutJobSuccessResult", since);
    let end = *done.last().ok_or("no PutJobSuccessResult")?;
    let creates = log.ok_times_ms("codedeploy", "CreateDeployment", since);
    let first_create = first(&creates)?;
    let last_create = *creates.last().unwrap_or(&first_create);
    let ticks = ticks(&sim, since, last_create);
    // Real ms since the first start, as simulated seconds (the sim's clock
    // runs `time_scale` times faster while it is not frozen).
    let starts_sim: Vec<f64> = creates
        .iter()
        .map(|t| (t - first_create) as f64 / 1000.0 * time_scale)
        .collect();
    let peak_starts_per_second = starts_sim
        .iter()
        .map(|a| {
            starts_sim
                .iter()
                .filter(|b| **b >= *a && **b < a + 1.0)
                .count()
        })
        .max()
        .unwrap_or(0);
    use pipeline_canary::canary::pace;
    let planned_peak_rate =
        pace::Pace::new([LINEAR], pace::DEFAULT_CODEDEPLOY_RATE).peak_rate([LINEAR]);
    // CodeDeploy's side, in simulated seconds: the starts at the whole
    // quota then the schedule, or every call of every deployment at the
    // whole quota, whichever is longer.
    let per_deployment = pace::READS_AT_START
        + pace::CALLS_PER_STEP * LINEAR.steps().len() as u32
        + pace::CALLS_AT_END;
    let starts_floor_sim =
        changed as f64 * f64::from(pace::calls_at_start(LINEAR)) / pace::CONTROL_PLANE_RATE;
    let calls_floor_sim = changed as f64 * f64::from(per_deployment) / pace::CONTROL_PLANE_RATE;
    let shift_floor_sim =
        (starts_floor_sim + LINEAR.total_duration().as_secs_f64()).max(calls_floor_sim);
    let publish_floor_s = changed as f64 * 3.0 / pace::CONTROL_PLANE_RATE;
    let bound_s = publish_floor_s + shift_floor_sim / time_scale;
    let configs: Vec<(String, DeploymentConfig)> = names[..changed]
        .iter()
        .map(|n| (n.clone(), LINEAR))
        .collect();
    let planned =
        pipeline_canary::release::plan::schedule_of(&configs, None, pace::DEFAULT_CODEDEPLOY_RATE);
    let planned_s = publish_floor_s + planned.end.as_secs_f64() / time_scale;
    let ack = first(&log.ok_times_ms("codepipeline", "AcknowledgeJob", since))?;
    let published = log
        .ok_times_ms("lambda", "PublishVersion", since)
        .last()
        .copied()
        .unwrap_or(ack);
    Ok(ReleaseRun {
        functions: n,
        time_scale,
        succeeded,
        status,
        schedule_s,
        release_s: (end - start) as f64 / 1000.0,
        to_first_deployment_s: (first_create - start) as f64 / 1000.0,
        to_ack_s: (ack - start) as f64 / 1000.0,
        to_published_s: (published - start) as f64 / 1000.0,
        create_spread_s: (last_create - first_create) as f64 / 1000.0,
        jobs: log
            .ok_times_ms("codepipeline", "AcknowledgeJob", since)
            .len(),
        publishes: log.ok_times_ms("lambda", "PublishVersion", since).len(),
        deployments: creates.len(),
        lambda_calls: sim.log.query(since, Some("lambda"), None).into_iter().fold(
            std::collections::BTreeMap::new(),
            |mut m, r| {
                *m.entry(r.operation).or_insert(0) += 1;
                m
            },
        ),
        ticks,
        max_token_chars: sim
            .codepipeline
            .reported_texts()
            .into_iter()
            .filter(|(at, _)| at.ends_with("continuation token"))
            .map(|(_, t)| t.len())
            .max()
            .unwrap_or(0),
        ledger_writes: ledger_calls(&sim, since, "PutObject"),
        ledger_reads: ledger_calls(&sim, since, "GetObject"),
        codedeploy_throttled,
        worker_throttled,
        peak_starts_per_second,
        peak_step_load: peak_starts_per_second as f64 * f64::from(pace::CALLS_PER_STEP),
        planned_peak_rate,
        bound_s,
        planned_s,
    })
}

/// Successful calls of `operation` on the ledger's bucket since `since`.
fn ledger_calls(sim: &aws_sim::Sim, since: u64, operation: &str) -> usize {
    let bucket = format!("/{}/", e2e::worker::LEDGER_BUCKET);
    sim.log
        .query(since, Some("s3"), Some(operation))
        .into_iter()
        .filter(|r| r.status == 200 && r.path.starts_with(&bucket))
        .count()
}

fn first(v: &[u64]) -> Result<u64, String> {
    v.first().copied().ok_or_else(|| "missing call".to_string())
}

/// Status calls after the last CreateDeployment, grouped into watch ticks
/// (calls closer than a quarter of the watch interval belong to one tick).
fn ticks(sim: &aws_sim::Sim, since: u64, after_ms: u64) -> Vec<(usize, usize)> {
    let gap = (WATCH.as_millis() / 4) as u64;
    let mut calls: Vec<(u64, bool)> = sim
        .log
        .query(since, None, None)
        .into_iter()
        .filter(|r| r.real_ms >= after_ms)
        .filter_map(|r| match (r.service.as_str(), r.operation.as_str()) {
            ("codedeploy", "BatchGetDeployments") => Some((r.real_ms, true)),
            ("monitoring", "DescribeAlarms") => Some((r.real_ms, false)),
            _ => None,
        })
        .collect();
    calls.sort_by_key(|c| c.0);
    let mut out: Vec<(usize, usize)> = Vec::new();
    let mut last: Option<u64> = None;
    for (t, batch) in calls {
        if last.is_none_or(|l| t - l > gap) {
            out.push((0, 0));
        }
        last = Some(t);
        let tick = out.last_mut().expect("pushed above");
        if batch {
            tick.0 += 1;
        } else {
            tick.1 += 1;
        }
    }
    out
}
