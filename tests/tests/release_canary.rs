//! Canary releases end to end through CodePipeline: the real worker runs
//! in-process with the real `LambdaReleaseEngine` (publish + canary
//! orchestration), the real SDK talks to aws-sim at a time scale of 600 (a
//! simulated minute is 100 ms). Each test pushes a release artifact to the
//! pipeline's S3 source and watches what CodePipeline, Lambda, CodeDeploy and
//! CloudWatch end up with.
//!
//! A test that depends on the shift still running at some point (an alarm
//! fired mid-shift, a worker stopped mid-shift, every step of the schedule
//! observed) freezes the sim's clock once the deployments exist and moves
//! it a simulated minute at a time, each time waiting for the worker to
//! look (`ReleaseEnv::drive_shift`): the shift lasts its nine steps however
//! slowly the machine runs, so no assertion depends on winning a race.

use std::time::{Duration, SystemTime};

use aws_sdk_cloudwatch as cw;
use e2e::canary::{errors_alarm, function_zip};
use e2e::release::*;
use e2e::worker::SOURCE_BUCKET;

const LINEAR: &str = "Linear10PercentEvery1Minute";

fn names(n: usize) -> Vec<String> {
    (1..=n).map(|i| format!("collect-fn{i}")).collect()
}

/// `n` functions on version 1 (`live` → 1), each with an `Errors` alarm on
/// the version a release will publish (2).
async fn functions(r: &ReleaseEnv, n: usize) -> Vec<String> {
    let cw = cw::Client::new(&r.env.conf);
    let names = names(n);
    for name in &names {
        r.create_function(
            name,
            function_zip(None, &format!("{name}-v1")),
            Some("live"),
        )
        .await;
        errors_alarm(&cw, &format!("{name}-errors"), name, "2").await;
    }
    names
}

/// The functions of a release: `changed` ones get new code (with
/// `behavior` for the one named in `faulty`), the others their version 1
/// code; each is guarded by its `Errors` alarm.
fn spec(
    names: &[String],
    changed: &[&str],
    faulty: Option<(&str, &str)>,
    tag: &str,
) -> Vec<CanaryFunction> {
    names
        .iter()
        .map(|n| CanaryFunction {
            name: n.clone(),
            zip: if changed.contains(&n.as_str()) {
                let behavior = faulty.filter(|(f, _)| f == n).map(|(_, b)| b);
                function_zip(behavior, &format!("{n}-{tag}"))
            } else {
                function_zip(None, &format!("{n}-v1"))
            },
            alarms: vec![format!("{n}-errors")],
            config: None,
        })
        .collect()
}

fn release(names: &[String], changed: &[&str], faulty: Option<(&str, &str)>, tag: &str) -> Vec<u8> {
    canary_artifact(LINEAR, &spec(names, changed, faulty, tag), None)
}

/// The user-created deployments of `group` (application `collect`), as
/// (status, description).
async fn user_deployments(r: &ReleaseEnv, group: &str) -> Vec<(String, String)> {
    let cd = aws_sdk_codedeploy::Client::new(&r.env.conf);
    let ids = match cd
        .list_deployments()
        .application_name("collect")
        .deployment_group_name(group)
        .send()
        .await
    {
        Ok(o) => o.deployments().to_vec(),
        Err(_) => return Vec::new(),
    };
    if ids.is_empty() {
        return Vec::new();
    }
    cd.batch_get_deployments()
        .set_deployment_ids(Some(ids))
        .send()
        .await
        .unwrap()
        .deployments_info()
        .iter()
        .filter(|d| d.creator() == Some(&aws_sdk_codedeploy::types::DeploymentCreator::User))
        .map(|d| {
            (
                d.status()
                    .map(|s| s.as_str().to_string())
                    .unwrap_or_default(),
                d.description().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

/// Moves simulated time (frozen, 10 s at a time) until `alarm` is in
/// `state`; alarms are evaluated every simulated minute, so two minutes
/// are enough. The clock then runs at the sim's time scale again.
async fn alarm_reaches(r: &ReleaseEnv, alarm: &str, state: cw::types::StateValue) {
    let c = cw::Client::new(&r.env.conf);
    let sim = r.env.sim.sim().clone();
    sim.clock.freeze();
    for _ in 0..=12 {
        sim.tick();
        let a = c.describe_alarms().alarm_names(alarm).send().await.unwrap();
        if a.metric_alarms().first().and_then(|m| m.state_value()) == Some(&state) {
            sim.clock.set_scale(sim.config.time_scale);
            return;
        }
        sim.clock.advance(Duration::from_secs(10));
    }
    panic!("{alarm} never reached {state:?} within two simulated minutes");
}

fn secs(a: SystemTime, b: SystemTime) -> f64 {
    b.duration_since(a).unwrap_or_default().as_secs_f64()
}

#[tokio::test]
async fn six_functions_shift_linear_through_codepipeline_and_succeed() {
    let r = ReleaseEnv::new(driven_sim_config()).await;
    let names = functions(&r, 6).await;
    let all: Vec<&str> = names.iter().map(String::as_str).collect();
    r.upload_source(release(&names, &all, None, "v2")).await;
    r.pipeline(PIPELINE, false, None, &[]).await;
    let worker = r.worker(r.canary_options(Duration::from_millis(40), Duration::from_millis(300)));
    let since = r.seq();
    let started = std::time::Instant::now();
    let id = r.env.start(PIPELINE).await;
    // From the deployments' first step on, the test moves simulated time a
    // minute at a time and reads collect-fn3's alias after each move.
    r.freeze_once_deployed(since, 6).await;
    let sim = r.env.sim.sim().clone();
    let sample = || {
        sim.tick();
        sim.lambda
            .get_alias(e2e::REGION, "collect-fn3", "live")
            .map(|a| {
                (
                    sim.clock.now(),
                    a.function_version,
                    a.additional_version.map(|(_, w)| w),
                )
            })
    };
    let mut samples: Vec<AliasSample> = sample().into_iter().collect();
    let status = r
        .drive_shift(PIPELINE, &id, Duration::from_secs(60), || {
            samples.extend(sample())
        })
        .await;
    let took = started.elapsed();
    let out = r.action_outcome(PIPELINE, &id).await;
    assert_eq!(status.as_str(), "Succeeded", "{out:?}");
    assert_eq!(out.status, "Succeeded");

    // Output variables: the release id, the commit, every function's version.
    let commit = out.variables.get("Commit").cloned().expect("Commit");
    assert!(out.variables["ReleaseId"].starts_with("r-"), "{out:?}");
    assert_eq!(
        out.external_id.as_deref(),
        Some(out.variables["ReleaseId"].as_str())
    );
    for n in &names {
        assert_eq!(out.variables[n], "2", "{n}");
        assert_eq!(r.alias_state(n).await, Some(("2".into(), None)), "{n}");
    }
    assert_eq!(
        r.current_revision(PIPELINE).await.as_deref(),
        Some(commit.as_str())
    );
    assert!(out.summary.contains("6"), "{}", out.summary);

    // The weight of version 2 rose 10 % per simulated minute: every step
    // 10 %…90 % was seen, in order, a minute apart.
    let steps: Vec<(SystemTime, f64)> = samples
        .iter()
        .filter_map(|(t, v, w)| match (v.as_str(), w) {
            ("1", Some(w)) => Some((*t, *w)),
            _ => None,
        })
        .collect();
    let mut firsts: Vec<(SystemTime, u32)> = Vec::new();
    for (t, w) in &steps {
        let pct = (w * 100.0).round() as u32;
        assert_eq!(pct % 10, 0, "weight {w}");
        if firsts.last().is_none_or(|(_, p)| *p != pct) {
            assert!(
                firsts.last().is_none_or(|(_, p)| *p < pct),
                "weights fell: {firsts:?}"
            );
            firsts.push((*t, pct));
        }
    }
    let seen: Vec<u32> = firsts.iter().map(|(_, p)| *p).collect();
    assert_eq!(
        seen,
        (1..=9).map(|k| k * 10).collect::<Vec<u32>>(),
        "weights seen"
    );
    for w in firsts.windows(2) {
        assert_eq!(secs(w[0].0, w[1].0), 60.0, "{firsts:?}");
    }
    let per_step = secs(firsts[0].0, firsts.last().unwrap().0) / 8.0;

    // Calls: one CreateDeployment per function; each watch tick is one
    // BatchGetDeployments (6 ids) and one DescribeAlarms (6 names).
    let creates = r.ok_calls(since, "codedeploy", "CreateDeployment");
    let batch = r.ok_calls(since, "codedeploy", "BatchGetDeployments");
    let alarms = r.ok_calls(since, "monitoring", "DescribeAlarms");
    let jobs = r.ok_calls(since, "codepipeline", "PutJobSuccessResult");
    let publish = r.ok_lambda_calls(since, "PublishVersion");
    let get_function = r.ok_lambda_calls(since, "GetFunction");
    eprintln!(
        "reference release: {took:?} real; {jobs} jobs; CreateDeployment {creates}, \
         BatchGetDeployments {batch}, DescribeAlarms {alarms} (pre-flight 1), \
         PublishVersion {publish}, GetFunction {get_function}; weights seen {seen:?}, \
         {per_step:.1} s per step"
    );
    assert_eq!(creates, 6);
    assert_eq!(publish, 6);
    assert!(
        jobs >= 2,
        "the job was handed back with a continuation at least once"
    );
    assert!(batch >= 5, "{batch}");
    assert!(
        batch.abs_diff(alarms) <= jobs + 1,
        "one BatchGetDeployments and one DescribeAlarms per tick: {batch} vs {alarms}"
    );
    assert!(
        r.workspace_entries().is_empty(),
        "{:?}",
        r.workspace_entries()
    );
    let _ = SOURCE_BUCKET;
    worker.stop().await;
}

#[tokio::test]
async fn a_faulty_version_trips_its_alarm_and_the_whole_release_rolls_back() {
    let r = ReleaseEnv::new(driven_sim_config()).await;
    let names = functions(&r, 6).await;
    let all: Vec<&str> = names.iter().map(String::as_str).collect();
    // fn1 and fn2 go AllAtOnce (at 100 % within seconds); fn4 errors half
    // the time on its new version.
    let mut fns = spec(
        &names,
        &all,
        Some(("collect-fn4", r#"{"errorRate":0.5}"#)),
        "v2",
    );
    fns[0].config = Some("AllAtOnce".into());
    fns[1].config = Some("AllAtOnce".into());
    r.upload_source(canary_artifact(LINEAR, &fns, None)).await;
    r.pipeline(PIPELINE, false, None, &[]).await;
    let worker = r.worker(r.canary_options(Duration::from_millis(40), Duration::from_millis(300)));
    let since = r.seq();
    let id = r.env.start(PIPELINE).await;
    // fn4's shift lasts its nine simulated minutes whatever the machine's
    // speed: the worker sees the alarm while fn4 is still shifting.
    r.freeze_once_deployed(since, 6).await;
    let status = r
        .drive_shift(PIPELINE, &id, Duration::from_secs(60), || {})
        .await;
    let out = r.action_outcome(PIPELINE, &id).await;
    worker.stop().await;
    assert_eq!(status.as_str(), "Failed", "{out:?}");
    let (code, message) = out.error.clone().expect("error details");
    eprintln!("rollback message: {message}");
    assert_eq!(code, "JobFailed");
    assert!(
        message.contains("alarm collect-fn4-errors (guarding collect-fn4) went into ALARM"),
        "{message}"
    );
    // Every function of the release is back on version 1, with no routing,
    // including the two that had already reached 100 %.
    for n in &names {
        assert_eq!(r.alias_state(n).await, Some(("1".into(), None)), "{n}");
        assert!(
            message.contains(&format!("{n}: back on version 1")),
            "{n}: {message}"
        );
    }
    for n in ["collect-fn1", "collect-fn2"] {
        let ds = user_deployments(&r, n).await;
        assert_eq!(ds.len(), 1, "{n}: {ds:?}");
        assert_eq!(ds[0].0, "Succeeded", "{n} was at 100 % before the rollback");
    }
    let fn4 = user_deployments(&r, "collect-fn4").await;
    assert_eq!(fn4[0].0, "Stopped", "{fn4:?}");
    assert!(fn4[0].1.contains("pipeline-canary release r-"), "{fn4:?}");
    // The put-back of the finished ones used a RevisionId precondition.
    assert!(r.ok_lambda_calls(since, "UpdateAlias") >= 2);
    assert!(r.workspace_entries().is_empty());
}

#[tokio::test]
async fn unchanged_functions_get_no_deployment() {
    let r = ReleaseEnv::new(canary_sim_config()).await;
    let names = functions(&r, 6).await;
    r.upload_source(release(&names, &["collect-fn2", "collect-fn5"], None, "v2"))
        .await;
    r.pipeline(PIPELINE, false, None, &[]).await;
    let worker = r.worker(r.canary_options(Duration::from_millis(40), Duration::from_millis(300)));
    let since = r.seq();
    let (id, status) = r.run(PIPELINE, Duration::from_secs(20)).await;
    let out = r.action_outcome(PIPELINE, &id).await;
    worker.stop().await;
    assert_eq!(status.as_str(), "Succeeded", "{out:?}");
    assert_eq!(r.ok_calls(since, "codedeploy", "CreateDeployment"), 2);
    assert_eq!(r.ok_lambda_calls(since, "PublishVersion"), 2);
    assert_eq!(r.ok_lambda_calls(since, "UpdateFunctionCode"), 2);
    for n in &names {
        let changed = n == "collect-fn2" || n == "collect-fn5";
        let want = if changed { "2" } else { "1" };
        assert_eq!(out.variables[n], want, "{n}");
        assert_eq!(r.alias_state(n).await, Some((want.into(), None)), "{n}");
        assert_eq!(
            user_deployments(&r, n).await.len(),
            usize::from(changed),
            "{n}: a deployment only for changed functions"
        );
    }
    assert!(out.summary.contains("4 unchanged"), "{}", out.summary);
}

#[tokio::test]
async fn an_alarm_already_in_alarm_fails_before_anything_is_published() {
    let r = ReleaseEnv::new(canary_sim_config()).await;
    let names = names(3);
    let cw = cw::Client::new(&r.env.conf);
    for n in &names {
        // fn2's serving version already errors: its alarm (on version 1) fires.
        let behavior = (n == "collect-fn2").then_some(r#"{"errorRate":0.5}"#);
        r.create_function(n, function_zip(behavior, &format!("{n}-v1")), Some("live"))
            .await;
        errors_alarm(&cw, &format!("{n}-errors"), n, "1").await;
    }
    alarm_reaches(&r, "collect-fn2-errors", cw::types::StateValue::Alarm).await;
    let all: Vec<&str> = names.iter().map(String::as_str).collect();
    r.upload_source(release(&names, &all, None, "v2")).await;
    r.pipeline(PIPELINE, false, None, &[]).await;
    let worker = r.worker(r.canary_options(Duration::from_millis(40), Duration::from_millis(300)));
    let since = r.seq();
    let (id, status) = r.run(PIPELINE, Duration::from_secs(20)).await;
    let out = r.action_outcome(PIPELINE, &id).await;
    worker.stop().await;
    assert_eq!(status.as_str(), "Failed", "{out:?}");
    let (code, message) = out.error.clone().unwrap();
    assert_eq!(code, "ConfigurationError");
    assert!(
        message.contains("alarm `collect-fn2-errors` (guarding collect-fn2) is in ALARM"),
        "{message}"
    );
    assert_eq!(r.ok_lambda_calls(since, "UpdateFunctionCode"), 0);
    assert_eq!(
        r.lambda_calls(since, "PublishVersion").len(),
        0,
        "nothing published"
    );
    assert_eq!(r.ok_calls(since, "codedeploy", "CreateDeployment"), 0);
    for n in &names {
        assert_eq!(r.alias_state(n).await, Some(("1".into(), None)), "{n}");
    }
    assert!(r.workspace_entries().is_empty());
}

#[tokio::test]
async fn a_guard_alarm_rolls_back_then_the_console_retry_succeeds() {
    let r = ReleaseEnv::new(driven_sim_config()).await;
    let names = functions(&r, 3).await;
    let cw = cw::Client::new(&r.env.conf);
    // A release-wide guard with no data: OK until someone sets it.
    errors_alarm(&cw, "collect-5xx", "collect-nothing", "1").await;
    let fns: Vec<CanaryFunction> = spec(
        &names,
        &names.iter().map(String::as_str).collect::<Vec<_>>(),
        None,
        "v2",
    )
    .into_iter()
    .map(|mut f| {
        f.alarms.push("collect-5xx".into());
        f
    })
    .collect();
    r.upload_source(canary_artifact(LINEAR, &fns, None)).await;
    r.pipeline(PIPELINE, false, None, &[]).await;
    let worker = r.worker(r.canary_options(Duration::from_millis(40), Duration::from_millis(300)));
    let since = r.seq();
    let id = r.env.start(PIPELINE).await;
    // A minute into the shift (20 %), the guard fires. Simulated time
    // stands still from then on, so the alarm holds (its next evaluation
    // would reset it) and the shift cannot end before the worker acts.
    r.freeze_once_deployed(since, 3).await;
    assert!(
        r.step_shift(PIPELINE, &id, Duration::from_secs(60)).await,
        "mid-shift"
    );
    let (v, w) = r.alias_state("collect-fn1").await.unwrap();
    assert!(
        v == "1" && w.is_some_and(|w| (w - 0.2).abs() < 1e-9),
        "mid-shift: {v} {w:?}"
    );
    let fired_at = r.seq();
    cw.set_alarm_state()
        .alarm_name("collect-5xx")
        .state_value(cw::types::StateValue::Alarm)
        .state_reason("5xx spike")
        .send()
        .await
        .unwrap();
    // The worker sees it at its next look and stops the deployments; then
    // the rollback runs on (the test's) simulated time.
    e2e::time::until("the worker stopped the deployments", || {
        r.ok_calls(fired_at, "codedeploy", "StopDeployment") >= 3
    })
    .await;
    let st = r
        .drive_shift(PIPELINE, &id, Duration::from_secs(60), || {})
        .await;
    let out = r.action_outcome(PIPELINE, &id).await;
    assert_eq!(st.as_str(), "Failed", "{out:?}");
    let message = out.error.clone().unwrap().1;
    assert!(message.contains("alarm collect-5xx"), "{message}");
    for n in &names {
        assert_eq!(r.alias_state(n).await, Some(("1".into(), None)), "{n}");
    }
    // The alarm recovers; the console retry (same execution, same release
    // id) reuses the published versions and shifts again.
    alarm_reaches(&r, "collect-5xx", cw::types::StateValue::Ok).await;
    let since = r.seq();
    r.env
        .cp
        .retry_stage_execution()
        .pipeline_name(PIPELINE)
        .stage_name("Deploy")
        .pipeline_execution_id(&id)
        .retry_mode(aws_sdk_codepipeline::types::StageRetryMode::FailedActions)
        .send()
        .await
        .expect("RetryStageExecution");
    let st = r.wait(PIPELINE, &id, Duration::from_secs(20)).await;
    let out = r.action_outcome(PIPELINE, &id).await;
    worker.stop().await;
    assert_eq!(st.as_str(), "Succeeded", "{out:?}");
    assert_eq!(
        r.ok_lambda_calls(since, "PublishVersion"),
        0,
        "versions reused"
    );
    assert_eq!(r.ok_calls(since, "codedeploy", "CreateDeployment"), 3);
    for n in &names {
        assert_eq!(out.variables[n], "2");
        assert_eq!(r.alias_state(n).await, Some(("2".into(), None)), "{n}");
        let ds = user_deployments(&r, n).await;
        assert_eq!(ds.len(), 2, "{n}: the stopped one and the retry's: {ds:?}");
    }
}

/// A worker died after fn1's deployment had finished; its job timed out
/// (CodePipeline's 24 h) and the operator retried the stage. The retried
/// attempt sees fn1 already on this release's version — unchanged code —
/// yet fn1 belongs to the release: when fn3 trips its alarm, fn1 rolls back
/// too (chaos seed 7, trial 252 once left fn1 and fn2 on the new code and
/// fn3 on the old).
#[tokio::test]
async fn a_stage_retry_rolls_back_functions_an_earlier_attempt_shifted() {
    let r = ReleaseEnv::new(canary_sim_config()).await;
    let names = functions(&r, 3).await;
    let all: Vec<&str> = names.iter().map(String::as_str).collect();
    let fns = spec(
        &names,
        &all,
        Some(("collect-fn3", r#"{"errorRate":0.5}"#)),
        "v2",
    );
    r.upload_source(canary_artifact(LINEAR, &fns, None)).await;
    r.pipeline(PIPELINE, false, None, &[]).await;
    let id = r.env.start(PIPELINE).await;
    // What the first attempt left: fn1 shifted to the version it published
    // (its description names the release and the previous version), and a
    // job nobody will answer.
    let rid = pipeline_canary::canary::release_id(PIPELINE, "Deploy", "Canary", &id);
    r.lambda
        .update_function_code()
        .function_name("collect-fn1")
        .zip_file(aws_sdk_lambda::primitives::Blob::new(fns[0].zip.clone()))
        .send()
        .await
        .unwrap();
    r.settle();
    let v = r
        .lambda
        .publish_version()
        .function_name("collect-fn1")
        .description(pipeline_canary::release::plan::version_description(
            &rid,
            &id,
            Some("x"),
            Some("1"),
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(v.version(), Some("2"));
    r.lambda
        .update_alias()
        .function_name("collect-fn1")
        .name("live")
        .function_version("2")
        .send()
        .await
        .unwrap();
    let sim = r.env.sim.sim().clone();
    let start = std::time::Instant::now();
    while sim.codepipeline.job_ids(e2e::REGION).is_empty() {
        assert!(start.elapsed() < Duration::from_secs(10), "no job");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    sim.clock.advance(Duration::from_secs(25 * 3600));
    sim.tick();
    let st = r.wait(PIPELINE, &id, Duration::from_secs(5)).await;
    assert_eq!(st.as_str(), "Failed", "the first attempt timed out");

    let worker = r.worker(r.canary_options(Duration::from_millis(40), Duration::from_millis(300)));
    let since = r.seq();
    r.env
        .cp
        .retry_stage_execution()
        .pipeline_name(PIPELINE)
        .stage_name("Deploy")
        .pipeline_execution_id(&id)
        .retry_mode(aws_sdk_codepipeline::types::StageRetryMode::FailedActions)
        .send()
        .await
        .expect("RetryStageExecution");
    let st = r.wait(PIPELINE, &id, Duration::from_secs(20)).await;
    let out = r.action_outcome(PIPELINE, &id).await;
    worker.stop().await;
    assert_eq!(st.as_str(), "Failed", "{out:?}");
    let message = out.error.clone().expect("error details").1;
    assert!(
        message.contains("alarm collect-fn3-errors (guarding collect-fn3) went into ALARM"),
        "{message}"
    );
    assert!(
        message.contains(
            "collect-fn1: back on version 1 (alias reset; shifted by an earlier attempt of this release)"
        ),
        "{message}"
    );
    for n in &names {
        assert_eq!(r.alias_state(n).await, Some(("1".into(), None)), "{n}");
    }
    // fn1 was put back through its alias: no deployment, nothing published.
    assert!(user_deployments(&r, "collect-fn1").await.is_empty());
    assert_eq!(r.ok_calls(since, "codedeploy", "CreateDeployment"), 2);
    assert_eq!(r.ok_lambda_calls(since, "PublishVersion"), 2);
    assert!(r.workspace_entries().is_empty());
}

#[tokio::test]
async fn a_worker_stopped_mid_shift_hands_back_and_another_completes() {
    let r = ReleaseEnv::new(driven_sim_config()).await;
    let names = functions(&r, 4).await;
    let all: Vec<&str> = names.iter().map(String::as_str).collect();
    r.upload_source(release(&names, &all, None, "v2")).await;
    r.pipeline(PIPELINE, false, None, &[]).await;
    // The first worker holds its job for long: it is stopped while watching.
    let first = r.worker(r.canary_options(Duration::from_millis(40), Duration::from_secs(60)));
    let since = r.seq();
    let id = r.env.start(PIPELINE).await;
    // Two simulated minutes into the shift (30 %), each seen by the worker;
    // the clock stands still while it is stopped.
    r.freeze_once_deployed(since, 4).await;
    for _ in 0..2 {
        assert!(r.step_shift(PIPELINE, &id, Duration::from_secs(60)).await);
    }
    let summary = first.stop().await;
    eprintln!("first worker: {summary:?}");
    let weight = r.alias_state("collect-fn1").await.unwrap();
    assert_eq!(weight.0, "1");
    assert!(
        weight.1.is_some_and(|w| (w - 0.3).abs() < 1e-9),
        "stopped mid-shift: {weight:?}"
    );
    let since = r.seq();
    let second = r.worker(r.canary_options(Duration::from_millis(40), Duration::from_millis(300)));
    let sim = r.env.sim.sim().clone();
    sim.clock.set_scale(sim.config.time_scale);
    let st = r.wait(PIPELINE, &id, Duration::from_secs(20)).await;
    let out = r.action_outcome(PIPELINE, &id).await;
    second.stop().await;
    assert_eq!(st.as_str(), "Succeeded", "{out:?}");
    assert_eq!(
        r.ok_calls(since, "codedeploy", "CreateDeployment"),
        0,
        "attached, not redone"
    );
    assert_eq!(r.ok_lambda_calls(since, "PublishVersion"), 0);
    for n in &names {
        assert_eq!(out.variables[n], "2");
        assert_eq!(r.alias_state(n).await, Some(("2".into(), None)), "{n}");
        assert_eq!(user_deployments(&r, n).await.len(), 1, "{n}");
    }
    assert!(r.workspace_entries().is_empty());
}

#[tokio::test]
async fn a_first_release_creates_the_alias_without_a_canary() {
    let r = ReleaseEnv::new(canary_sim_config()).await;
    let names = functions(&r, 2).await;
    // collect-new has a version but no alias yet.
    r.create_function("collect-new", function_zip(None, "collect-new-v1"), None)
        .await;
    let mut fns = spec(&names, &["collect-fn1", "collect-fn2"], None, "v2");
    fns.push(CanaryFunction {
        name: "collect-new".into(),
        zip: function_zip(None, "collect-new-v2"),
        alarms: vec![],
        config: None,
    });
    r.upload_source(canary_artifact(LINEAR, &fns, None)).await;
    r.pipeline(PIPELINE, false, None, &[]).await;
    let worker = r.worker(r.canary_options(Duration::from_millis(40), Duration::from_millis(300)));
    let since = r.seq();
    let (id, status) = r.run(PIPELINE, Duration::from_secs(20)).await;
    let out = r.action_outcome(PIPELINE, &id).await;
    worker.stop().await;
    assert_eq!(status.as_str(), "Succeeded", "{out:?}");
    assert_eq!(r.alias_state("collect-new").await, Some(("2".into(), None)));
    assert_eq!(out.variables["collect-new"], "2");
    assert!(user_deployments(&r, "collect-new").await.is_empty());
    assert_eq!(r.ok_calls(since, "codedeploy", "CreateDeployment"), 2);
    assert_eq!(r.ok_lambda_calls(since, "CreateAlias"), 1);
    for n in &names {
        assert_eq!(r.alias_state(n).await, Some(("2".into(), None)), "{n}");
    }
    assert!(out.summary.contains("collect-new"), "{}", out.summary);
}

/// The one-shot options for `artifact` against this env's functions.
fn one_shot(
    artifact: std::path::PathBuf,
    execution: &str,
) -> pipeline_canary::release::oneshot::OneShotOptions {
    pipeline_canary::release::oneshot::OneShotOptions {
        artifact,
        function_prefix: "collect-".into(),
        application: "collect".into(),
        service_role_arn: "arn:aws:iam::123456789012:role/codedeploy".into(),
        execution_id: execution.into(),
        commit: Some("4f2a9c1e0b7d".into()),
        ..Default::default()
    }
}

#[tokio::test]
async fn one_shot_release_from_a_directory_shifts_with_live_progress() {
    let r = ReleaseEnv::new(driven_sim_config()).await;
    let names = functions(&r, 3).await;
    let all: Vec<&str> = names.iter().map(String::as_str).collect();
    let dir = tempfile::tempdir().unwrap();
    write_artifact_dir(&release(&names, &all, None, "v2"), dir.path());
    let since = r.seq();
    let mut lines: Vec<(Option<i32>, String)> = Vec::new();
    let done = std::sync::atomic::AtomicBool::new(false);
    let release = async {
        let released = pipeline_canary::release::oneshot::release(
            &r.env.conf,
            r.canary_options(Duration::from_millis(40), Duration::ZERO),
            &one_shot(dir.path().to_path_buf(), "build-1"),
            |p| lines.push((p.percent_complete, p.summary.clone())),
        )
        .await;
        done.store(true, std::sync::atomic::Ordering::SeqCst);
        released
    };
    // Simulated time, moved by the test: a second at a time until the
    // deployments exist, then a minute at a time, each minute seen by the
    // release (a BatchGetDeployments after the move) before the next.
    let drive = async {
        let sim = r.env.sim.sim().clone();
        let over = || done.load(std::sync::atomic::Ordering::SeqCst);
        e2e::time::advance_until(
            &sim,
            Duration::from_secs(1),
            Duration::from_millis(5),
            "the one-shot release's deployments",
            || over() || r.ok_calls(since, "codedeploy", "CreateDeployment") >= 3,
        )
        .await;
        while !over() {
            let moved_at = r.seq();
            sim.clock.advance(Duration::from_secs(60));
            sim.tick();
            e2e::time::until("the release looked at its shift", || {
                over() || r.ok_calls(moved_at, "codedeploy", "BatchGetDeployments") > 0
            })
            .await;
        }
    };
    let (released, ()) = tokio::join!(release, drive);
    let released = released.expect("released");
    for n in &names {
        assert_eq!(released.output_variables[n], "2");
        assert_eq!(r.alias_state(n).await, Some(("2".into(), None)), "{n}");
    }
    assert_eq!(released.output_variables["Commit"], "4f2a9c1e0b7d");
    assert_eq!(r.ok_calls(since, "codedeploy", "CreateDeployment"), 3);
    // Live progress: the percentage rose through the shift to 100.
    let pcts: Vec<i32> = lines.iter().filter_map(|(p, _)| *p).collect();
    assert!(pcts.windows(2).all(|w| w[0] <= w[1]), "{pcts:?}");
    assert_eq!(pcts.last(), Some(&100));
    assert!(pcts.iter().any(|p| (20..90).contains(p)), "{pcts:?}");
    assert!(lines.len() >= 5, "{}", lines.len());
    assert!(
        dir.path().join("pipeline-canary.json").exists(),
        "the artifact dir is left alone"
    );
    assert!(r.workspace_entries().is_empty());
}

#[tokio::test]
async fn one_shot_release_rolls_back_and_fails_naming_the_alarm() {
    let r = ReleaseEnv::new(canary_sim_config()).await;
    let names = functions(&r, 3).await;
    let all: Vec<&str> = names.iter().map(String::as_str).collect();
    let zip_dir = tempfile::tempdir().unwrap();
    let zip = zip_dir.path().join("release.zip");
    std::fs::write(
        &zip,
        release(
            &names,
            &all,
            Some(("collect-fn2", r#"{"errorRate":0.5}"#)),
            "v2",
        ),
    )
    .unwrap();
    let err = pipeline_canary::release::oneshot::release(
        &r.env.conf,
        r.canary_options(Duration::from_millis(40), Duration::ZERO),
        &one_shot(zip.clone(), "build-2"),
        |_| {},
    )
    .await
    .expect_err("rolled back");
    assert_eq!(err.kind, pipeline_canary::report::FailureKind::JobFailed);
    assert!(
        err.message
            .contains("alarm collect-fn2-errors (guarding collect-fn2) went into ALARM"),
        "{}",
        err.message
    );
    for n in &names {
        assert_eq!(r.alias_state(n).await, Some(("1".into(), None)), "{n}");
    }
    assert!(zip.exists(), "the artifact zip is left alone");
    assert!(r.workspace_entries().is_empty());
}

#[tokio::test]
async fn sixty_functions_with_max_parallel_20_shift_in_waves_through_continuations() {
    let r = ReleaseEnv::new(canary_sim_config()).await;
    let names = functions(&r, 60).await;
    let all: Vec<&str> = names.iter().map(String::as_str).collect();
    let fns = spec(&names, &all, None, "v2");
    r.upload_source(canary_artifact("Linear50PercentEvery1Minute", &fns, None))
        .await;
    r.pipeline(PIPELINE, false, None, &[("MaxParallel", "20")])
        .await;
    let worker = r.worker(r.canary_options(Duration::from_millis(20), Duration::from_millis(50)));
    let since = r.seq();
    let started = std::time::Instant::now();
    let (id, status) = r.run(PIPELINE, Duration::from_secs(30)).await;
    let took = started.elapsed();
    let out = r.action_outcome(PIPELINE, &id).await;
    worker.stop().await;
    assert_eq!(status.as_str(), "Succeeded", "{out:?}");
    for n in &names {
        assert_eq!(out.variables[n], "2", "{n}");
    }
    assert_eq!(
        r.alias_state("collect-fn60").await,
        Some(("2".into(), None))
    );
    // Waves: never more than 20 deployments in flight.
    let cd = aws_sdk_codedeploy::Client::new(&r.env.conf);
    let mut spans = Vec::new();
    for n in &names {
        let ids = cd
            .list_deployments()
            .application_name("collect")
            .deployment_group_name(n)
            .send()
            .await
            .unwrap()
            .deployments()
            .to_vec();
        assert_eq!(ids.len(), 1, "{n}");
        let d = cd
            .get_deployment()
            .deployment_id(&ids[0])
            .send()
            .await
            .unwrap();
        let d = d.deployment_info().unwrap();
        spans.push((
            d.create_time().unwrap().as_secs_f64(),
            d.complete_time().unwrap().as_secs_f64(),
        ));
    }
    let max_in_flight = spans
        .iter()
        .map(|(t, _)| spans.iter().filter(|(c, e)| c <= t && t < e).count())
        .max()
        .unwrap();
    let waves = {
        let mut starts: Vec<f64> = spans.iter().map(|s| s.0).collect();
        starts.sort_by(f64::total_cmp);
        1 + starts.windows(2).filter(|w| w[1] - w[0] > 30.0).count()
    };
    let jobs = r.ok_calls(since, "codepipeline", "PutJobSuccessResult");
    let batch = r.ok_calls(since, "codedeploy", "BatchGetDeployments");
    let alarms = r.ok_calls(since, "monitoring", "DescribeAlarms");
    eprintln!(
        "60 functions, MaxParallel 20: {took:?} real, {jobs} jobs (every token fit), \
         {waves} waves, at most {max_in_flight} in flight; BatchGetDeployments {batch}, \
         DescribeAlarms {alarms}"
    );
    assert!(max_in_flight <= 20, "{max_in_flight}");
    assert!(waves >= 3, "{waves} waves");
    assert!(
        jobs >= 3,
        "handed back with a continuation token several times"
    );
    // Per tick: one BatchGetDeployments per 25 ids started so far (1–3),
    // one DescribeAlarms for the 60 alarms (plus one in pre-flight).
    assert!(batch > alarms && batch <= 3 * alarms, "{batch} vs {alarms}");
}

#[tokio::test]
async fn break_glass_releases_all_at_once_despite_a_firing_alarm() {
    let r = ReleaseEnv::new(canary_sim_config()).await;
    let names = names(2);
    let cw = cw::Client::new(&r.env.conf);
    for n in &names {
        let behavior = (n == "collect-fn1").then_some(r#"{"errorRate":0.5}"#);
        r.create_function(n, function_zip(behavior, &format!("{n}-v1")), Some("live"))
            .await;
        errors_alarm(&cw, &format!("{n}-errors"), n, "1").await;
    }
    alarm_reaches(&r, "collect-fn1-errors", cw::types::StateValue::Alarm).await;
    let all: Vec<&str> = names.iter().map(String::as_str).collect();
    let fns = spec(&names, &all, None, "fix");
    r.upload_source(canary_artifact(LINEAR, &fns, Some("INC-7: checkout down")))
        .await;
    r.pipeline(PIPELINE, false, None, &[]).await;
    let worker = r.worker(r.canary_options(Duration::from_millis(40), Duration::from_millis(300)));
    let (id, status) = r.run(PIPELINE, Duration::from_secs(20)).await;
    let out = r.action_outcome(PIPELINE, &id).await;
    worker.stop().await;
    assert_eq!(status.as_str(), "Succeeded", "{out:?}");
    for n in &names {
        assert_eq!(r.alias_state(n).await, Some(("2".into(), None)), "{n}");
        let ds = user_deployments(&r, n).await;
        assert_eq!(ds.len(), 1);
        assert!(
            ds[0].1.contains("BREAK-GLASS: INC-7: checkout down"),
            "{ds:?}"
        );
    }
    assert!(out.summary.contains("INC-7"), "{}", out.summary);
}

#[tokio::test]
async fn a_foreign_deployment_is_waited_for_then_named_before_publishing() {
    let r = ReleaseEnv::new(driven_sim_config()).await;
    let names = functions(&r, 2).await;
    let all: Vec<&str> = names.iter().map(String::as_str).collect();
    r.upload_source(release(&names, &all, None, "v2")).await;
    r.pipeline(PIPELINE, false, None, &[]).await;
    let worker = r.worker(r.canary_options(Duration::from_millis(40), Duration::from_millis(300)));
    let (_, status) = r.run(PIPELINE, Duration::from_secs(20)).await;
    assert_eq!(status.as_str(), "Succeeded");
    // From here on simulated time moves only when the test moves it.
    let sim = r.env.sim.sim().clone();
    sim.clock.freeze();
    // Someone shifts collect-fn1 back by hand, slowly, in our group.
    let cd = aws_sdk_codedeploy::Client::new(&r.env.conf);
    let content = r#"{"version":0.0,"Resources":[{"collect-fn1":{"Type":"AWS::Lambda::Function","Properties":{"Name":"collect-fn1","Alias":"live","CurrentVersion":"2","TargetVersion":"1"}}}]}"#;
    let foreign = cd
        .create_deployment()
        .application_name("collect")
        .deployment_group_name("collect-fn1")
        .deployment_config_name("CodeDeployDefault.LambdaLinear10PercentEvery10Minutes")
        .description("manual rollback by ops")
        .revision(
            aws_sdk_codedeploy::types::RevisionLocation::builder()
                .revision_type(aws_sdk_codedeploy::types::RevisionLocationType::AppSpecContent)
                .app_spec_content(
                    aws_sdk_codedeploy::types::AppSpecContent::builder()
                        .content(content)
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap()
        .deployment_id()
        .unwrap()
        .to_string();
    r.upload_source(release(&names, &all, None, "v3")).await;
    let since = r.seq();
    // The foreign deployment lasts 90 simulated minutes, the worker waits
    // for it 60 s (foreign_wait): simulated time moves 2 s at a time, so
    // the foreign deployment is still running when the wait ends.
    let id = r.env.start(PIPELINE).await;
    let started = std::time::Instant::now();
    while r.env.status(PIPELINE, &id).await
        == aws_sdk_codepipeline::types::PipelineExecutionStatus::InProgress
    {
        assert!(
            started.elapsed() < e2e::time::HANG,
            "the release never ended"
        );
        sim.clock.advance(Duration::from_secs(2));
        sim.tick();
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let status = r.env.status(PIPELINE, &id).await;
    let out = r.action_outcome(PIPELINE, &id).await;
    worker.stop().await;
    assert_eq!(status.as_str(), "Failed", "{out:?}");
    let (code, message) = out.error.unwrap();
    assert_eq!(code, "ConfigurationError", "{message}");
    assert!(
        message.contains(&format!("active deployment {foreign}")),
        "{message}"
    );
    assert!(message.contains("stop-deployment"), "{message}");
    assert_eq!(
        r.lambda_calls(since, "PublishVersion").len(),
        0,
        "nothing published"
    );
    assert_eq!(r.ok_calls(since, "codedeploy", "CreateDeployment"), 0);
    assert!(
        r.ok_calls(since, "codepipeline", "PutJobSuccessResult") >= 1,
        "waited over several jobs (continuation tokens)"
    );
}

/// The defaults the action definition, the README and `--help` document
/// hold: a manifest naming no alias and no deployment config, under an
/// action with no `Alias` and no `DeploymentConfig` property, releases on
/// `live` with Linear10PercentEvery1Minute (and no `MaxParallel`: all at
/// once).
#[tokio::test]
async fn documented_defaults_hold_when_neither_manifest_nor_action_name_them() {
    let r = ReleaseEnv::new(canary_sim_config()).await;
    let names = functions(&r, 2).await;
    let manifest = serde_json::json!({
        "version": 1,
        "functions": names
            .iter()
            .map(|n| serde_json::json!({"name": n, "package": format!("dist/{n}.zip")}))
            .collect::<Vec<_>>(),
    });
    let bundles: Vec<(String, TestBundle)> = names
        .iter()
        .map(|n| {
            (
                n.clone(),
                TestBundle::Package(function_zip(None, &format!("{n}-v2"))),
            )
        })
        .collect();
    r.upload_source(artifact_with_manifest(&manifest.to_string(), &bundles))
        .await;
    // The harness's pipeline sets no Alias, DeploymentConfig or MaxParallel.
    r.pipeline(PIPELINE, false, None, &[]).await;
    let w = r.worker(r.options());
    let (id, status) = r.run(PIPELINE, Duration::from_secs(30)).await;
    let out = r.action_outcome(PIPELINE, &id).await;
    w.stop().await;
    assert_eq!(status.as_str(), "Succeeded", "{out:?}");
    let cd = aws_sdk_codedeploy::Client::new(&r.env.conf);
    for n in &names {
        assert_eq!(r.alias_state(n).await, Some(("2".into(), None)), "{n}");
        let ids = cd
            .list_deployments()
            .application_name("collect")
            .deployment_group_name(n)
            .send()
            .await
            .unwrap();
        let d = cd
            .get_deployment()
            .deployment_id(&ids.deployments()[0])
            .send()
            .await
            .unwrap();
        assert_eq!(
            d.deployment_info().unwrap().deployment_config_name(),
            Some("CodeDeployDefault.LambdaLinear10PercentEvery1Minute"),
            "{n}"
        );
    }
}

/// A release whose shift cannot end within the action's time limit is
/// refused before anything is published, naming the figures and the fix.
#[tokio::test]
async fn a_release_longer_than_the_action_may_run_is_refused_before_publishing() {
    let r = ReleaseEnv::new(canary_sim_config()).await;
    let names = functions(&r, 3).await;
    let all: Vec<&str> = names.iter().map(String::as_str).collect();
    r.upload_source(canary_artifact(
        "Linear10PercentEvery10Minutes",
        &spec(&names, &all, None, "v2"),
        None,
    ))
    .await;
    r.pipeline(PIPELINE, false, None, &[("MaxParallel", "1")])
        .await;
    let mut options = r.options();
    // 3 × 90 minutes one after another: 4 h 30 min, over a 4-hour limit.
    options.max_release_duration = Duration::from_secs(4 * 3600);
    let since = r.seq();
    let w = r.worker(options);
    let (id, status) = r.run(PIPELINE, Duration::from_secs(30)).await;
    let out = r.action_outcome(PIPELINE, &id).await;
    w.stop().await;
    assert_eq!(status.as_str(), "Failed", "{out:?}");
    let (code, message) = out.error.unwrap();
    assert_eq!(code, "ConfigurationError", "{message}");
    assert!(
        message.contains(
            "would shift for 4 h 30 min (3 changed functions, at most 1 shifting at a time)"
        ),
        "{message}"
    );
    assert!(message.contains("after 4 h 0 min"), "{message}");
    assert_eq!(r.lambda_calls(since, "UpdateFunctionCode").len(), 0);
    assert_eq!(r.lambda_calls(since, "PublishVersion").len(), 0);
    assert_eq!(r.ok_calls(since, "codedeploy", "CreateDeployment"), 0);
}
