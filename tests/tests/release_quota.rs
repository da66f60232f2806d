//! A release of many functions inside Lambda's real request quota, end to
//! end: aws-sim's CodeDeploy spends the account's 15 control-plane requests
//! per second on every deployment's start and steps, as AWS's does, and
//! the worker starts its deployments at the pace that quota allows. The
//! same release started the old way, every deployment at once, is
//! throttled and rolled back: the test that shows the model bites.
//!
//! Simulated time is the test's: it stands still while the worker acts and
//! moves half a second at a time once the worker's deployment calls have
//! settled, so deployments the worker starts together start at the same
//! simulated instant (as they would on AWS), however slowly this machine
//! sends them.

use std::time::{Duration, Instant};

use aws_sdk_codepipeline::types::{PipelineExecutionStatus, StageRetryMode};
use aws_sim::lambda::quota::RequestQuota;
use e2e::canary::function_zip;
use e2e::release::*;
use pipeline_canary::release::ReleaseOptions;
use pipeline_canary::release::limiter::LimiterConfig;

const N: usize = 150;
/// How far simulated time moves at a time: half the pace's gap between
/// two AllAtOnce starts, so each start is due at a step.
const STEP: Duration = Duration::from_millis(300);

/// CodeDeploy's use of the quota since it was last set: (calls, throttled).
fn codedeploy_usage(r: &ReleaseEnv) -> (u64, u64) {
    r.env
        .sim
        .sim()
        .lambda
        .quota_report()
        .into_iter()
        .find(|c| c.caller == "CodeDeploy")
        .map(|c| (c.usage.calls, c.usage.throttled))
        .unwrap_or((0, 0))
}

/// The worker's options: the sim's clock, and the limiters of Lambda calls
/// as shipped (the test harness's are fast; here the quota is the subject).
fn worker_options(r: &ReleaseEnv) -> ReleaseOptions {
    ReleaseOptions {
        control: LimiterConfig::control_plane(),
        reads: LimiterConfig::reads(),
        ..r.canary_options(Duration::from_millis(40), Duration::from_secs(3600))
    }
}

/// Drives execution `id` to its end on the test's clock: waits until the
/// worker's CodeDeploy calls have stopped coming for a moment, then moves
/// simulated time a [`STEP`]. Returns the final status and the
/// simulated time moved.
async fn drive(r: &ReleaseEnv, id: &str) -> (PipelineExecutionStatus, Duration) {
    let sim = r.env.sim.sim().clone();
    sim.clock.freeze();
    let started = Instant::now();
    let mut moved = Duration::ZERO;
    loop {
        // Settled: no deployment started or stopped for 30 ms.
        let mut last = (usize::MAX, usize::MAX);
        loop {
            let now = (
                r.ok_calls(0, "codedeploy", "CreateDeployment"),
                r.ok_calls(0, "codedeploy", "StopDeployment"),
            );
            if now == last {
                break;
            }
            last = now;
            tokio::time::sleep(Duration::from_millis(30)).await;
        }
        let st = r.env.status(PIPELINE, id).await;
        if st != PipelineExecutionStatus::InProgress {
            return (st, moved);
        }
        assert!(
            started.elapsed() < e2e::time::HANG,
            "the release did not end within {:?} (simulated {moved:?})",
            e2e::time::HANG
        );
        sim.clock.advance(STEP);
        sim.tick();
        moved += STEP;
    }
}

/// 150 functions, every one changed, AllAtOnce (its six Lambda calls per
/// deployment come at once: the heaviest start). Started the old way,
/// every deployment at once, CodeDeploy is throttled past its retries,
/// deployments fail THROTTLED and the release rolls back whole. The
/// console retry of the same release, started at the pace, succeeds with
/// no CodeDeploy call throttled even once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_150_function_release_at_the_pace_is_never_throttled_where_starting_all_at_once_fails() {
    let r = ReleaseEnv::new(e2e::SimConfig {
        time_scale: 60.0,
        lambda_update_delay: Duration::ZERO,
        continuation_delay: Duration::ZERO,
        traffic_rate: 0.0,
        alarm_poll: Duration::from_secs(3600),
        ..Default::default()
    })
    .await;
    let sim = r.env.sim.sim().clone();
    let setup = Instant::now();
    // Setting up 150 functions is not the subject: no quota for it.
    sim.lambda.set_request_quota(None);
    let names: Vec<String> = (0..N).map(|i| format!("collect-q{i:03}")).collect();
    // Four at a time (no quota yet: only the machine's speed limits it).
    let create = |part: std::ops::Range<usize>| {
        let (r, names) = (&r, &names);
        async move {
            for n in &names[part] {
                r.create_function(n, function_zip(None, &format!("{n}-v1")), Some("live"))
                    .await;
            }
        }
    };
    let q = N.div_ceil(4);
    tokio::join!(
        create(0..q),
        create(q..2 * q),
        create(2 * q..3 * q),
        create(3 * q..N)
    );
    let spec: Vec<CanaryFunction> = names
        .iter()
        .map(|n| CanaryFunction {
            name: n.clone(),
            zip: function_zip(None, &format!("{n}-v2")),
            alarms: vec![],
            config: None,
        })
        .collect();
    r.upload_source(canary_artifact("AllAtOnce", &spec, None))
        .await;
    r.pipeline(PIPELINE, false, None, &[]).await;
    eprintln!("setup: {:.1} s", setup.elapsed().as_secs_f64());
    // From here on, AWS's figures for every caller, CodeDeploy included.
    sim.lambda.set_request_quota(Some(RequestQuota::default()));

    // The old start: every deployment at once.
    let mut at_once = worker_options(&r);
    at_once.codedeploy_rate = f64::INFINITY;
    let w = r.worker(at_once);
    let id = r.env.start(PIPELINE).await;
    let t0 = Instant::now();
    let (st, _) = drive(&r, &id).await;
    w.stop().await;
    eprintln!(
        "all at once: ended after {:.1} s",
        t0.elapsed().as_secs_f64()
    );
    let out = r.action_outcome(PIPELINE, &id).await;
    assert_eq!(st, PipelineExecutionStatus::Failed, "{out:?}");
    let message = out.error.clone().unwrap().1;
    assert!(
        message.contains("THROTTLED") || message.contains("request limit for AWSLambda"),
        "the failure names the throttling: {message}"
    );
    let (calls, throttled) = codedeploy_usage(&r);
    assert!(throttled > 0, "{calls} calls, {throttled} throttled");
    // The test's own reads are not the subject either.
    sim.lambda.set_request_quota(None);
    for n in &names {
        assert_eq!(r.alias_state(n).await, Some(("1".into(), None)), "{n}");
    }
    eprintln!("all at once: {calls} CodeDeploy calls to Lambda, {throttled} throttled");

    // The same release, retried from the console, at the pace.
    sim.lambda.set_request_quota(Some(RequestQuota::default()));
    let since = r.seq();
    let w = r.worker(worker_options(&r));
    r.env
        .cp
        .retry_stage_execution()
        .pipeline_name(PIPELINE)
        .stage_name("Deploy")
        .pipeline_execution_id(&id)
        .retry_mode(StageRetryMode::FailedActions)
        .send()
        .await
        .expect("RetryStageExecution");
    let t0 = Instant::now();
    let (st, moved) = drive(&r, &id).await;
    w.stop().await;
    eprintln!(
        "at the pace: ended after {:.1} s",
        t0.elapsed().as_secs_f64()
    );
    for c in r.env.sim.sim().lambda.quota_report() {
        eprintln!(
            "at the pace: {} made {} Lambda calls, {} throttled",
            c.caller, c.usage.calls, c.usage.throttled
        );
    }
    let out = r.action_outcome(PIPELINE, &id).await;
    assert_eq!(st, PipelineExecutionStatus::Succeeded, "{out:?}");
    let (calls, throttled) = codedeploy_usage(&r);
    assert_eq!(
        throttled, 0,
        "no CodeDeploy call to Lambda was throttled ({calls} calls)"
    );
    sim.lambda.set_request_quota(None);
    assert_eq!(r.ok_calls(since, "codedeploy", "CreateDeployment"), N);
    for n in &names {
        assert_eq!(out.variables[n], "2");
        assert_eq!(r.alias_state(n).await, Some(("2".into(), None)), "{n}");
    }
    // One start every 0.6 s (AllAtOnce: 6 calls at 10 requests/s).
    assert!(
        moved >= Duration::from_millis(600) * (N as u32 - 1),
        "paced over {moved:?}"
    );
    eprintln!(
        "at the pace: {calls} CodeDeploy calls to Lambda, 0 throttled; the starts took {:.0} simulated s",
        moved.as_secs_f64()
    );
}
