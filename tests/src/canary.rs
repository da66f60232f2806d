//! Harness for the canary orchestration scenarios (`tests/tests/canary.rs`):
//! Lambda functions with published versions and aliases, CloudWatch alarms
//! on them, and a small driver that runs the canary's pure decisions with
//! its adapters the way the release engine will — each `Continue` ends a
//! "job": the state goes through JSON (as in the continuation token) and the
//! next job starts with no observations. Simulated time is the test's:
//! frozen while a job runs, moved [`BETWEEN_JOBS`] between two jobs. It
//! knows no scenario.

use std::io::Write;
use std::time::{Duration, Instant, SystemTime};

use aws_sdk_cloudwatch as cw;
use aws_sdk_codedeploy as cd;
use aws_sdk_lambda as lambda;
use pipeline_canary::canary::{
    CanaryAdapters, Decision, FunctionShift, FunctionTarget, Preflight, PreflightPlan,
    PreflightReport, PreflightState, ReleaseSettings, ShiftPlan, ShiftState, decide_preflight,
    decide_shift,
};
use pipeline_canary::manifest::{DeploymentConfig, Hooks};
use pipeline_canary::report::{FailureKind, Progress};

use crate::logscan::LeakScan;
use crate::{SimConfig, SimHandle, sdk_config, start_sim};

pub const SERVICE_ROLE: &str = "arn:aws:iam::123456789012:role/CodeDeployServiceRole";
pub const LAMBDA_ROLE: &str = "arn:aws:iam::123456789012:role/lambda-exec";
pub const APP: &str = "collect";

/// A sim with the SDK clients and the canary's adapters. When it drops, its
/// [`LeakScan`] scans the captured log for the account's secret key.
pub struct World {
    pub sim: SimHandle,
    pub lambda: lambda::Client,
    pub cd: cd::Client,
    pub cw: cw::Client,
    pub adapters: CanaryAdapters,
    pub leak_scan: LeakScan,
}

pub async fn world(config: SimConfig) -> World {
    let sim = start_sim(config).await;
    let conf = sdk_config(&sim.endpoint());
    World {
        lambda: lambda::Client::new(&conf),
        cd: cd::Client::new(&conf),
        cw: cw::Client::new(&conf),
        adapters: CanaryAdapters::new(&conf),
        leak_scan: LeakScan::new(sim.sim()),
        sim,
    }
}

/// A function zip; `tag` makes each version's code differ.
pub fn function_zip(behavior: Option<&str>, tag: &str) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default();
    w.start_file("index.js", opts).unwrap();
    write!(w, "exports.handler = async () => '{tag}';").unwrap();
    if let Some(b) = behavior {
        w.start_file(".sim/behavior.json", opts).unwrap();
        w.write_all(b.as_bytes()).unwrap();
    }
    w.finish().unwrap().into_inner()
}

async fn wait_settled(l: &lambda::Client, name: &str) {
    let start = Instant::now();
    loop {
        let c = l
            .get_function_configuration()
            .function_name(name)
            .send()
            .await
            .expect("GetFunctionConfiguration");
        let settled = c
            .last_update_status()
            .is_none_or(|s| *s != lambda::types::LastUpdateStatus::InProgress);
        let active = c.state().is_none_or(|s| *s == lambda::types::State::Active);
        if settled && active {
            return;
        }
        // Bounds a hang, times nothing.
        assert!(start.elapsed() < crate::time::HANG, "{name} never settled");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// Creates `name` and publishes one version per behaviour (1, 2, …); with
/// `alias_on`, alias `live` points at that version.
pub async fn function(
    l: &lambda::Client,
    name: &str,
    versions: &[Option<&str>],
    alias_on: Option<&str>,
) {
    for (i, behavior) in versions.iter().enumerate() {
        let zip =
            aws_smithy_types::Blob::new(function_zip(*behavior, &format!("{name}-v{}", i + 1)));
        if i == 0 {
            l.create_function()
                .function_name(name)
                .runtime(lambda::types::Runtime::Nodejs20x)
                .role(LAMBDA_ROLE)
                .handler("index.handler")
                .code(lambda::types::FunctionCode::builder().zip_file(zip).build())
                .send()
                .await
                .expect("CreateFunction");
        } else {
            l.update_function_code()
                .function_name(name)
                .zip_file(zip)
                .send()
                .await
                .expect("UpdateFunctionCode");
        }
        wait_settled(l, name).await;
        l.publish_version()
            .function_name(name)
            .send()
            .await
            .expect("PublishVersion");
    }
    if let Some(v) = alias_on {
        l.create_alias()
            .function_name(name)
            .name("live")
            .function_version(v)
            .send()
            .await
            .expect("CreateAlias");
    }
}

/// An `Errors` alarm on `function:live` executing `version` (> 0 in a minute).
pub async fn errors_alarm(c: &cw::Client, name: &str, function: &str, version: &str) {
    let dim = |n: &str, v: &str| cw::types::Dimension::builder().name(n).value(v).build();
    c.put_metric_alarm()
        .alarm_name(name)
        .namespace("AWS/Lambda")
        .metric_name("Errors")
        .dimensions(dim("FunctionName", function))
        .dimensions(dim("Resource", &format!("{function}:live")))
        .dimensions(dim("ExecutedVersion", version))
        .statistic(cw::types::Statistic::Sum)
        .period(60)
        .evaluation_periods(1)
        .threshold(0.0)
        .comparison_operator(cw::types::ComparisonOperator::GreaterThanThreshold)
        .treat_missing_data("notBreaching")
        .send()
        .await
        .expect("PutMetricAlarm");
}

/// `(version, additional weight)` of `function:live`, or None without alias.
pub async fn alias_state(l: &lambda::Client, function: &str) -> Option<(String, Option<f64>)> {
    let a = l
        .get_alias()
        .function_name(function)
        .name("live")
        .send()
        .await
        .ok()?;
    let w = a
        .routing_config()
        .and_then(|r| r.additional_version_weights())
        .and_then(|m| m.values().next().copied());
    Some((a.function_version().unwrap_or_default().to_string(), w))
}

pub fn settings(release_id: &str) -> ReleaseSettings {
    ReleaseSettings {
        release_id: release_id.to_string(),
        commit: Some("4f2a9c1e0b7d".to_string()),
        application: APP.to_string(),
        service_role_arn: SERVICE_ROLE.to_string(),
        max_parallel: usize::MAX,
        break_glass: None,
        foreign_wait: Duration::from_secs(600),
        pace: pipeline_canary::canary::pace::Pace::UNPACED,
        observe_every: Duration::ZERO,
    }
}

pub fn target(name: &str, config: DeploymentConfig, alarms: &[&str]) -> FunctionTarget {
    FunctionTarget {
        function: name.to_string(),
        alias: "live".to_string(),
        config,
        alarms: alarms.iter().map(|s| s.to_string()).collect(),
        hooks: Hooks::default(),
        analysis: None,
    }
}

pub fn shift_plan(
    release: ReleaseSettings,
    functions: Vec<(FunctionTarget, Option<&str>, &str)>,
) -> ShiftPlan {
    ShiftPlan {
        release,
        functions: functions
            .into_iter()
            .map(|(target, current, to)| FunctionShift {
                target,
                current_version: current.map(str::to_string),
                target_version: to.to_string(),
                serving_target: false,
                code_only: false,
            })
            .collect(),
    }
}

pub fn preflight_plan(plan: &ShiftPlan) -> PreflightPlan {
    PreflightPlan {
        release: plan.release.clone(),
        functions: plan.functions.iter().map(|f| f.target.clone()).collect(),
    }
}

/// Simulated time between two jobs (the continuation delay and the watch
/// interval together). The drivers below freeze aws-sim's clock and move it
/// this much between jobs, so what a job sees depends on how many jobs ran,
/// never on how fast the machine ran them: a 10-minute shift is 20 jobs,
/// and every one of them sees it in progress.
pub const BETWEEN_JOBS: Duration = Duration::from_secs(30);

/// Ends the job: simulated time moves [`BETWEEN_JOBS`] (the clock frozen)
/// and everything due by then happens before the next job looks.
fn between_jobs(w: &World) {
    let sim = w.sim.sim();
    sim.clock.freeze();
    sim.clock.advance(BETWEEN_JOBS);
    sim.tick();
}

/// Runs pre-flight to its end, on the test's clock (see [`BETWEEN_JOBS`]).
pub async fn run_preflight(
    w: &World,
    plan: &PreflightPlan,
) -> Result<PreflightReport, (FailureKind, String)> {
    w.sim.sim().clock.freeze();
    let mut state = PreflightState::default();
    let mut observed = Vec::new();
    let start = Instant::now();
    loop {
        let now = w.sim.sim().clock.now();
        match decide_preflight(plan, &mut state, observed, now) {
            Preflight::Ready(r) => return Ok(r),
            Preflight::Next(Decision::Perform(a)) => {
                observed = w
                    .adapters
                    .perform(a)
                    .await
                    .map_err(|e| (e.kind, e.message))?;
            }
            Preflight::Next(Decision::Continue(_)) => {
                state = serde_json::from_str(&serde_json::to_string(&state).unwrap()).unwrap();
                observed = Vec::new();
                between_jobs(w);
            }
            Preflight::Next(Decision::Fail { kind, message, .. }) => return Err((kind, message)),
            Preflight::Next(other) => panic!("unexpected pre-flight decision {other:?}"),
        }
        // Bounds a hang (a decision loop that never ends), times nothing.
        assert!(
            start.elapsed() < crate::time::HANG,
            "pre-flight never ended"
        );
    }
}

/// One job of the shift: its progress and the API calls it made.
#[derive(Debug, Clone)]
pub struct Tick {
    pub progress: Option<Progress>,
    pub at: SystemTime,
    pub batch_get_deployments: usize,
    pub describe_alarms: usize,
    pub create_deployment: usize,
    pub list_deployments: usize,
    /// Active deployments of the application right after the job.
    pub active_after: usize,
}

/// How a shift ended.
#[derive(Debug)]
pub struct ShiftRun {
    pub decision: Decision<pipeline_canary::canary::CanaryAction>,
    pub ticks: Vec<Tick>,
    pub state: ShiftState,
}

fn count(w: &World, since: u64, service: &str, op: &str) -> usize {
    w.sim.sim().log.query(since, Some(service), Some(op)).len()
}

/// Runs the shift from `state` for at most `max_jobs` jobs (or to its end),
/// on the test's clock: frozen during a job, [`BETWEEN_JOBS`] later for the
/// next one.
pub async fn run_shift(
    w: &World,
    plan: &ShiftPlan,
    state: ShiftState,
    max_jobs: usize,
) -> ShiftRun {
    run_shift_with(w, &w.adapters, plan, state, max_jobs).await
}

/// [`run_shift`] performed by other adapters (another worker process).
pub async fn run_shift_with(
    w: &World,
    adapters: &CanaryAdapters,
    plan: &ShiftPlan,
    state: ShiftState,
    max_jobs: usize,
) -> ShiftRun {
    w.sim.sim().clock.freeze();
    let mut state = state;
    let mut ticks = Vec::new();
    let start = Instant::now();
    loop {
        let since = w.sim.sim().log.len();
        let mut observed = Vec::new();
        let decision = loop {
            let now = w.sim.sim().clock.now();
            match decide_shift(plan, &mut state, observed, now) {
                Decision::Perform(a) => {
                    observed = adapters.perform(a).await.expect("adapters");
                }
                other => break other,
            }
        };
        let batch_get_deployments = count(w, since, "codedeploy", "BatchGetDeployments");
        let describe_alarms = count(w, since, "monitoring", "DescribeAlarms");
        let create_deployment = count(w, since, "codedeploy", "CreateDeployment");
        let list_deployments = count(w, since, "codedeploy", "ListDeployments");
        let active_after =
            w.cd.list_deployments()
                .set_include_only_statuses(Some(
                    ["Created", "Queued", "InProgress", "Baking", "Ready"]
                        .into_iter()
                        .map(cd::types::DeploymentStatus::from)
                        .collect(),
                ))
                .send()
                .await
                .expect("ListDeployments")
                .deployments()
                .len();
        ticks.push(Tick {
            progress: match &decision {
                Decision::Continue(p) => Some(p.clone()),
                Decision::Succeed { progress, .. } => Some(progress.clone()),
                _ => None,
            },
            at: w.sim.sim().clock.now(),
            batch_get_deployments,
            describe_alarms,
            create_deployment,
            list_deployments,
            active_after,
        });
        match decision {
            Decision::Continue(_) if ticks.len() < max_jobs => {
                // What the release record keeps between jobs, then the next job.
                state = state.persisted();
                between_jobs(w);
            }
            decision => {
                return ShiftRun {
                    decision,
                    ticks,
                    state,
                };
            }
        }
        // Bounds a hang (a shift that never ends), times nothing.
        assert!(start.elapsed() < crate::time::HANG, "shift never ended");
    }
}
