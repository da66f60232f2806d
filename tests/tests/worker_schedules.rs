//! Schedules the worker drives (`Steps…`: steps CodeDeploy has no config
//! for) and canary analysis, end to end through CodePipeline: the real
//! worker and `LambdaReleaseEngine` against aws-sim, the alias moved by the
//! worker's own UpdateAlias calls, per-version metrics from aws-sim's
//! simulated traffic read with GetMetricData.
//!
//! Simulated time is the test's: the clock is frozen once the first steps
//! are sent and moved 10 simulated seconds at a time, each time waiting for
//! the worker to look twice (a look and the decision after it), so every
//! step's time is measured to within one move however slowly the machine
//! runs.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use aws_sdk_cloudwatch as cw;
use aws_sdk_codepipeline::types::PipelineExecutionStatus;
use e2e::canary::function_zip;
use e2e::release::*;

const TICK: Duration = Duration::from_secs(10);

/// `names` on version 1 (`live` → 1), code with `behavior`.
async fn functions(r: &ReleaseEnv, names: &[&str], behavior: Option<&str>) {
    for name in names {
        r.create_function(
            name,
            function_zip(behavior, &format!("{name}-v1")),
            Some("live"),
        )
        .await;
    }
}

/// A whole-function `Errors` alarm (all versions) on `function:live`:
/// `threshold` errors a minute.
async fn whole_function_alarm(r: &ReleaseEnv, function: &str, threshold: f64) -> String {
    let c = cw::Client::new(&r.env.conf);
    let name = format!("{function}-errors");
    let dim = |n: &str, v: &str| cw::types::Dimension::builder().name(n).value(v).build();
    c.put_metric_alarm()
        .alarm_name(&name)
        .namespace("AWS/Lambda")
        .metric_name("Errors")
        .dimensions(dim("FunctionName", function))
        .dimensions(dim("Resource", &format!("{function}:live")))
        .statistic(cw::types::Statistic::Sum)
        .period(60)
        .evaluation_periods(1)
        .threshold(threshold)
        .comparison_operator(cw::types::ComparisonOperator::GreaterThanThreshold)
        .treat_missing_data("notBreaching")
        .send()
        .await
        .expect("PutMetricAlarm");
    name
}

/// A release artifact: each function `(name, deploymentConfig, behavior of
/// the new code)`, `analysis` for every function when given.
fn artifact(
    functions: &[(&str, serde_json::Value, Option<&str>)],
    analysis: Option<serde_json::Value>,
) -> Vec<u8> {
    let entries: Vec<serde_json::Value> = functions
        .iter()
        .map(|(n, config, _)| {
            serde_json::json!({
                "name": n,
                "package": format!("dist/{n}.zip"),
                "alarms": [format!("{n}-errors")],
                "deploymentConfig": config,
            })
        })
        .collect();
    let mut defaults = serde_json::json!({"alias": "live"});
    if let Some(a) = analysis {
        defaults["analysis"] = a;
    }
    let manifest = serde_json::json!({"version": 1, "defaults": defaults, "functions": entries});
    let bundles: Vec<(String, TestBundle)> = functions
        .iter()
        .map(|(n, _, b)| {
            (
                n.to_string(),
                TestBundle::Package(function_zip(*b, &format!("{n}-v2"))),
            )
        })
        .collect();
    artifact_with_manifest(&serde_json::to_string_pretty(&manifest).unwrap(), &bundles)
}

/// Freezes simulated time once `n` UpdateAlias calls since `since` have
/// succeeded (every function's first step), moving it a second at a time
/// until then. Returns the simulated time of the freeze.
async fn freeze_once_stepped(r: &ReleaseEnv, since: u64, n: usize) -> SystemTime {
    let sim = r.env.sim.sim().clone();
    sim.clock.freeze();
    let started = std::time::Instant::now();
    let mut last = usize::MAX;
    loop {
        sim.tick();
        let made = r.ok_lambda_calls(since, "UpdateAlias");
        if made >= n {
            return sim.clock.now();
        }
        if made != last {
            last = made;
            tokio::time::sleep(Duration::from_millis(30)).await;
            continue;
        }
        assert!(
            started.elapsed() < e2e::time::HANG,
            "{made} of {n} first steps after {:?}",
            started.elapsed()
        );
        sim.clock.advance(Duration::from_secs(1));
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Moves frozen simulated time by `step`, then waits until the worker has
/// looked twice since (DescribeAlarms while shifting, BatchGetDeployments
/// while CodeDeploy deployments run or roll back: a look, and the decision
/// after the first is done) or execution `id` has ended. Returns whether
/// it still runs.
async fn advance(r: &ReleaseEnv, id: &str, step: Duration) -> bool {
    let sim = r.env.sim.sim().clone();
    let moved_at = r.seq();
    sim.clock.advance(step);
    sim.tick();
    let started = std::time::Instant::now();
    loop {
        if r.env.status(PIPELINE, id).await != PipelineExecutionStatus::InProgress {
            return false;
        }
        if r.ok_calls(moved_at, "monitoring", "DescribeAlarms")
            + r.ok_calls(moved_at, "codedeploy", "BatchGetDeployments")
            >= 2
        {
            return true;
        }
        assert!(
            started.elapsed() < e2e::time::HANG,
            "the worker never looked again after the move"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// The release record (the only one in the ledger).
async fn record(r: &ReleaseEnv) -> serde_json::Value {
    let s3 = &r.env.s3;
    let list = s3
        .list_objects_v2()
        .bucket(e2e::worker::LEDGER_BUCKET)
        .prefix("releases/releases/")
        .send()
        .await
        .expect("ListObjectsV2");
    let key = list.contents()[0].key().unwrap().to_string();
    let body = s3
        .get_object()
        .bucket(e2e::worker::LEDGER_BUCKET)
        .key(key)
        .send()
        .await
        .expect("the release record")
        .body
        .collect()
        .await
        .unwrap()
        .into_bytes();
    serde_json::from_slice(&body).unwrap()
}

/// When the record says `function`'s schedule began (its first step).
async fn stepping_since(r: &ReleaseEnv, function: &str) -> SystemTime {
    let rec = record(r).await;
    let f = rec["functions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == function)
        .expect("the function's entry");
    let ms = pipeline_canary::release::record::millis_of(
        f["steppingSince"].as_str().expect("steppingSince"),
    );
    SystemTime::UNIX_EPOCH + Duration::from_millis(ms)
}

/// Weight of the new version (2) on `function:live` per aws-sim.
fn weight(r: &ReleaseEnv, function: &str) -> f64 {
    let sim = r.env.sim.sim();
    let a = sim
        .lambda
        .get_alias(e2e::REGION, function, "live")
        .expect("alias");
    if a.function_version == "2" {
        1.0
    } else {
        a.additional_version.map(|(_, w)| w).unwrap_or(0.0)
    }
}

/// The first simulated time each weight of `function` was seen, in order,
/// in seconds since `t0`.
fn firsts(
    samples: &[(SystemTime, BTreeMap<String, f64>)],
    function: &str,
    t0: SystemTime,
) -> Vec<(f64, u32)> {
    let mut out: Vec<(f64, u32)> = Vec::new();
    for (t, w) in samples {
        let pct = (w[function] * 100.0).round() as u32;
        if out.last().is_none_or(|(_, p)| *p != pct) {
            out.push((t.duration_since(t0).unwrap().as_secs_f64(), pct));
        }
    }
    out
}

#[tokio::test]
async fn steps_1_5_25_50_100_come_on_time_across_a_worker_restart_then_bake() {
    let r = ReleaseEnv::new(driven_sim_config()).await;
    let names = ["collect-a", "collect-b"];
    functions(&r, &names, None).await;
    for n in names {
        whole_function_alarm(&r, n, 1000.0).await;
    }
    let config = serde_json::json!({"steps": [1, 5, 25, 50], "interval": "2m", "bake": "1m"});
    r.upload_source(artifact(
        &[
            (names[0], config.clone(), None),
            (
                names[1],
                serde_json::json!("Steps1-5-25-50Every2MinutesBake1Minute"),
                None,
            ),
        ],
        None,
    ))
    .await;
    r.pipeline(PIPELINE, false, None, &[]).await;
    let first = r.worker(r.canary_options(Duration::from_millis(40), Duration::from_secs(60)));
    let since = r.seq();
    let id = r.env.start(PIPELINE).await;
    let t0 = freeze_once_stepped(&r, since, 2).await;
    let sample = |r: &ReleaseEnv| {
        let sim = r.env.sim.sim();
        (
            sim.clock.now(),
            names
                .iter()
                .map(|n| (n.to_string(), weight(r, n)))
                .collect::<BTreeMap<_, _>>(),
        )
    };
    let mut samples = vec![sample(&r)];
    // Past the 25 % step (4 min), then the worker is stopped and another
    // takes over; the clock stands still meanwhile.
    while samples.last().unwrap().0 < t0 + Duration::from_secs(250) {
        assert!(advance(&r, &id, TICK).await);
        samples.push(sample(&r));
    }
    first.stop().await;
    let second = r.worker(r.canary_options(Duration::from_millis(40), Duration::from_millis(300)));
    while advance(&r, &id, TICK).await {
        samples.push(sample(&r));
    }
    let out = r.action_outcome(PIPELINE, &id).await;
    second.stop().await;
    assert_eq!(out.status, "Succeeded", "{out:?}");
    for n in names {
        let since = stepping_since(&r, n).await;
        assert!(
            since <= t0,
            "{n}: its first step was sent before the freeze"
        );
        let seen = firsts(&samples, n, since);
        let pcts: Vec<u32> = seen.iter().map(|s| s.1).collect();
        assert_eq!(pcts, [1, 5, 25, 50, 100], "{n}: {seen:?}");
        // Each step within one move (10 s) of its due time: 2, 4, 6, 8
        // min after the first.
        for (k, (at, _)) in seen.iter().enumerate().skip(1) {
            let due = 120.0 * k as f64;
            assert!(
                *at >= due && *at <= due + TICK.as_secs_f64(),
                "{n}: step {k} at {at} s, due at {due} s: {seen:?}"
            );
        }
        assert_eq!(r.alias_state(n).await, Some(("2".into(), None)), "{n}");
    }
    // Released after the bake (8 min + 1 min), within one move.
    let first_step = stepping_since(&r, names[0]).await;
    let end = r
        .env
        .sim
        .sim()
        .clock
        .now()
        .duration_since(first_step)
        .unwrap()
        .as_secs_f64();
    assert!(
        (540.0..=550.0).contains(&end),
        "ended at {end} s; steps at {:?}",
        firsts(&samples, names[0], first_step)
    );
    assert_eq!(
        r.ok_calls(since, "codedeploy", "CreateDeployment"),
        0,
        "no CodeDeploy deployment"
    );
}

/// A sim with enough traffic for analysis: 400 invocations per simulated
/// second on every alias. A canary at 10 % then gets 2,400 calls a minute:
/// 3 % against 0.5 % is z ≈ 3.8 after one minute (2.33 needed at 99 %), so
/// the regression is caught well before the next step whatever the draws.
fn busy_sim() -> e2e::SimConfig {
    e2e::SimConfig {
        traffic_rate: 400.0,
        ..driven_sim_config()
    }
}

#[tokio::test]
async fn analysis_catches_a_subtle_regression_the_whole_function_alarm_misses_and_rolls_back_the_release()
 {
    let r = ReleaseEnv::new(busy_sim()).await;
    let names = ["collect-a", "collect-b"];
    // The old code fails 0.5 % of its calls.
    functions(&r, &names, Some(r#"{"errorRate":0.005}"#)).await;
    // 24,000 calls a minute: 0.5 % is 120 errors, the regression at 10 %
    // adds 60; the alarm is at 480 (2 %), far above both.
    for n in names {
        whole_function_alarm(&r, n, 480.0).await;
    }
    let steps = serde_json::json!({"steps": [10, 50], "interval": "2m"});
    r.upload_source(artifact(
        &[
            (names[0], steps.clone(), Some(r#"{"errorRate":0.005}"#)),
            (names[1], steps, Some(r#"{"errorRate":0.03}"#)),
        ],
        Some(serde_json::json!({"maxErrorRateIncrease": 1.0, "minInvocations": 200, "confidence": 0.99})),
    ))
    .await;
    r.pipeline(PIPELINE, false, None, &[]).await;
    let worker = r.worker(r.canary_options(Duration::from_millis(40), Duration::from_millis(300)));
    let since = r.seq();
    let id = r.env.start(PIPELINE).await;
    let t0 = freeze_once_stepped(&r, since, 2).await;
    let mut at50 = false;
    while advance(&r, &id, TICK).await {
        at50 |= weight(&r, names[1]) >= 0.5;
    }
    let t = r.env.sim.sim().clock.now().duration_since(t0).unwrap();
    let out = r.action_outcome(PIPELINE, &id).await;
    worker.stop().await;
    assert_eq!(out.status, "Failed", "{out:?}");
    assert!(!at50, "caught at the 10 % step, before 50 %");
    assert!(
        t <= Duration::from_secs(130),
        "caught by the first step's due time: {t:?}"
    );
    let (_, message) = out.error.clone().expect("a failure message");
    assert!(
        message.contains("canary analysis: collect-b v2:"),
        "{message}"
    );
    assert!(message.contains("pp > 1.0 pp at 99 %"), "{message}");
    for n in names {
        assert_eq!(r.alias_state(n).await, Some(("1".into(), None)), "{n}");
    }
    // The whole-function alarm never fired.
    let c = cw::Client::new(&r.env.conf);
    let a = c
        .describe_alarms()
        .alarm_names("collect-b-errors")
        .send()
        .await
        .unwrap();
    assert_eq!(
        a.metric_alarms()[0].state_value(),
        Some(&cw::types::StateValue::Ok),
        "the whole-function alarm stayed OK"
    );
}

#[tokio::test]
async fn analysis_passes_a_healthy_canary_and_records_the_verdict() {
    let r = ReleaseEnv::new(busy_sim()).await;
    let names = ["collect-a"];
    functions(&r, &names, Some(r#"{"errorRate":0.005}"#)).await;
    whole_function_alarm(&r, names[0], 480.0).await;
    r.upload_source(artifact(
        &[(
            names[0],
            serde_json::json!({"steps": [10, 50], "interval": "2m"}),
            Some(r#"{"errorRate":0.005}"#),
        )],
        Some(serde_json::json!({"minInvocations": 200})),
    ))
    .await;
    r.pipeline(PIPELINE, false, None, &[]).await;
    let worker = r.worker(r.canary_options(Duration::from_millis(40), Duration::from_millis(300)));
    let since = r.seq();
    let id = r.env.start(PIPELINE).await;
    freeze_once_stepped(&r, since, 1).await;
    while advance(&r, &id, TICK).await {}
    let out = r.action_outcome(PIPELINE, &id).await;
    worker.stop().await;
    assert_eq!(out.status, "Succeeded", "{out:?}");
    assert_eq!(r.alias_state(names[0]).await, Some(("2".into(), None)));
    // The verdict is in the release record.
    let record = record(&r).await;
    let verdict = record["functions"][0]["verdict"]
        .as_str()
        .unwrap_or_default();
    assert!(
        verdict.starts_with("collect-a v2:") && verdict.contains("at 99 %"),
        "{record}"
    );
    assert!(r.ok_calls(since, "monitoring", "GetMetricData") >= 1);
}

#[tokio::test]
async fn a_mixed_release_rolls_back_codedeploy_and_worker_driven_functions_together() {
    let r = ReleaseEnv::new(driven_sim_config()).await;
    let names = ["collect-a", "collect-b"];
    functions(&r, &names, None).await;
    // collect-a (CodeDeploy) gets a faulty version: its per-version alarm.
    let c = cw::Client::new(&r.env.conf);
    e2e::canary::errors_alarm(&c, "collect-a-errors", "collect-a", "2").await;
    whole_function_alarm(&r, names[1], 1000.0).await;
    r.upload_source(artifact(
        &[
            (
                names[0],
                serde_json::json!("Linear10PercentEvery1Minute"),
                Some(r#"{"errorRate":0.5}"#),
            ),
            (names[1], serde_json::json!("Steps10-50Every2Minutes"), None),
        ],
        None,
    ))
    .await;
    r.pipeline(PIPELINE, false, None, &[]).await;
    let worker = r.worker(r.canary_options(Duration::from_millis(40), Duration::from_millis(300)));
    let since = r.seq();
    let id = r.env.start(PIPELINE).await;
    freeze_once_stepped(&r, since, 1).await;
    let mut b_shifted = false;
    while advance(&r, &id, TICK).await {
        b_shifted |= weight(&r, names[1]) > 0.0;
    }
    let out = r.action_outcome(PIPELINE, &id).await;
    worker.stop().await;
    assert_eq!(out.status, "Failed", "{out:?}");
    assert!(b_shifted, "collect-b had taken traffic before the rollback");
    let (_, message) = out.error.clone().expect("message");
    assert!(message.contains("collect-a-errors"), "{message}");
    for n in names {
        assert_eq!(r.alias_state(n).await, Some(("1".into(), None)), "{n}");
    }
    assert_eq!(r.ok_calls(since, "codedeploy", "CreateDeployment"), 1);
}

#[tokio::test]
async fn an_alarm_during_the_bake_rolls_the_release_back() {
    let r = ReleaseEnv::new(driven_sim_config()).await;
    let names = ["collect-a"];
    functions(&r, &names, None).await;
    let alarm = whole_function_alarm(&r, names[0], 1000.0).await;
    r.upload_source(artifact(
        &[(
            names[0],
            serde_json::json!("Steps50Every1MinuteBake5Minutes"),
            None,
        )],
        None,
    ))
    .await;
    r.pipeline(PIPELINE, false, None, &[]).await;
    let worker = r.worker(r.canary_options(Duration::from_millis(40), Duration::from_millis(300)));
    let since = r.seq();
    let id = r.env.start(PIPELINE).await;
    let t0 = freeze_once_stepped(&r, since, 1).await;
    // At 100 % after a minute; two minutes into the bake, the alarm.
    while r.env.sim.sim().clock.now() < t0 + Duration::from_secs(180) {
        assert!(advance(&r, &id, TICK).await);
    }
    assert_eq!(weight(&r, names[0]), 1.0, "baking at 100 %");
    let c = cw::Client::new(&r.env.conf);
    c.set_alarm_state()
        .alarm_name(&alarm)
        .state_value(cw::types::StateValue::Alarm)
        .state_reason("test: errors during the bake")
        .send()
        .await
        .unwrap();
    let st = r.wait(PIPELINE, &id, e2e::time::HANG).await;
    let out = r.action_outcome(PIPELINE, &id).await;
    worker.stop().await;
    assert_eq!(st.as_str(), "Failed", "{out:?}");
    assert!(out.error.as_ref().unwrap().1.contains(&alarm), "{out:?}");
    assert_eq!(r.alias_state(names[0]).await, Some(("1".into(), None)));
}

#[tokio::test]
async fn analysis_waits_for_min_invocations_then_fails_the_release_saying_so() {
    // 2 calls a simulated second: at 10 % the canary gets 0.2 a second, far
    // from 200 calls by the 50 % step's due time (2 min).
    let r = ReleaseEnv::new(e2e::SimConfig {
        traffic_rate: 2.0,
        ..driven_sim_config()
    })
    .await;
    let names = ["collect-a"];
    functions(&r, &names, None).await;
    whole_function_alarm(&r, names[0], 1000.0).await;
    r.upload_source(artifact(
        &[(names[0], serde_json::json!("Steps10-50Every2Minutes"), None)],
        Some(serde_json::json!({"minInvocations": 200})),
    ))
    .await;
    r.pipeline(PIPELINE, false, None, &[]).await;
    let worker = r.worker(r.canary_options(Duration::from_millis(40), Duration::from_millis(300)));
    let since = r.seq();
    let id = r.env.start(PIPELINE).await;
    freeze_once_stepped(&r, since, 1).await;
    let first_step = stepping_since(&r, names[0]).await;
    let mut held_past_due = false;
    while advance(&r, &id, TICK).await {
        let now = r.env.sim.sim().clock.now();
        if now >= first_step + Duration::from_secs(130) && weight(&r, names[0]) < 0.5 {
            held_past_due = true;
        }
        assert!(weight(&r, names[0]) < 0.5, "the step waits for data");
    }
    let end = r
        .env
        .sim
        .sim()
        .clock
        .now()
        .duration_since(first_step)
        .unwrap();
    let out = r.action_outcome(PIPELINE, &id).await;
    worker.stop().await;
    assert!(held_past_due, "the 50 % step was held past its due time");
    assert_eq!(out.status, "Failed", "{out:?}");
    let (_, message) = out.error.clone().unwrap();
    assert!(
        message.contains("waited 2 min past its due time"),
        "{message}"
    );
    assert!(message.contains("of 200 calls needed so far"), "{message}");
    // Due at 2 min, bound one interval later: failed by 4 min (+ a move).
    assert!(
        end >= Duration::from_secs(240) && end <= Duration::from_secs(250),
        "{end:?}"
    );
    assert_eq!(r.alias_state(names[0]).await, Some(("1".into(), None)));
}

#[tokio::test]
async fn analysis_rolls_back_a_codedeploy_shift_too() {
    let r = ReleaseEnv::new(busy_sim()).await;
    let names = ["collect-a"];
    functions(&r, &names, Some(r#"{"errorRate":0.005}"#)).await;
    whole_function_alarm(&r, names[0], 480.0).await;
    r.upload_source(artifact(
        &[(
            names[0],
            serde_json::json!("Linear10PercentEvery1Minute"),
            Some(r#"{"errorRate":0.03}"#),
        )],
        Some(serde_json::json!({})),
    ))
    .await;
    r.pipeline(PIPELINE, false, None, &[]).await;
    let worker = r.worker(r.canary_options(Duration::from_millis(40), Duration::from_millis(300)));
    let since = r.seq();
    let id = r.env.start(PIPELINE).await;
    r.freeze_once_deployed(since, 1).await;
    while advance(&r, &id, TICK).await {}
    let out = r.action_outcome(PIPELINE, &id).await;
    worker.stop().await;
    assert_eq!(out.status, "Failed", "{out:?}");
    let (_, message) = out.error.clone().unwrap();
    assert!(
        message.contains("canary analysis: collect-a v2:"),
        "{message}"
    );
    assert_eq!(r.alias_state(names[0]).await, Some(("1".into(), None)));
    assert_eq!(r.ok_calls(since, "codedeploy", "StopDeployment"), 1);
}
