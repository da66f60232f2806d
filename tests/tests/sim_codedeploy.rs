//! aws-sim's CodeDeploy for Lambda, end to end through the official Rust SDK
//! clients (aws-sdk-codedeploy, aws-sdk-lambda, aws-sdk-cloudwatch): real
//! deployments shifting a Lambda alias on the simulated clock, alarms that
//! stop them, rollbacks, hooks, custom configs and the API's limits.
//!
//! Most scenarios run at time scale 600 (a simulated minute is 100 ms), so
//! Linear10PercentEvery1Minute takes about a second. Setup failures name the
//! service that failed, so a missing Lambda or CloudWatch shows up as such.

use std::io::Write;
use std::time::{Duration, Instant};

use aws_sdk_cloudwatch as cw;
use aws_sdk_codedeploy as cd;
use aws_sdk_codedeploy::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_codedeploy::types::{
    Alarm, AlarmConfiguration, AppSpecContent, AutoRollbackConfiguration, AutoRollbackEvent,
    ComputePlatform, DeploymentCreator, DeploymentInfo, DeploymentOption, DeploymentStatus,
    DeploymentStyle, DeploymentType, ErrorCode, RevisionLocation, RevisionLocationType, StopStatus,
    TimeBasedCanary, TimeBasedLinear, TrafficRoutingConfig, TrafficRoutingType,
};
use aws_sdk_lambda as lambda;
use e2e::time::HANG;
use e2e::{SimConfig, SimHandle, sdk_config, start_sim};
use sha2::{Digest, Sha256};

const SERVICE_ROLE: &str = "arn:aws:iam::123456789012:role/CodeDeployServiceRole";
const LAMBDA_ROLE: &str = "arn:aws:iam::123456789012:role/lambda-exec";
const LINEAR_1: &str = "CodeDeployDefault.LambdaLinear10PercentEvery1Minute";
const ALL_AT_ONCE: &str = "CodeDeployDefault.LambdaAllAtOnce";

struct Env {
    sim: SimHandle,
    lambda: lambda::Client,
    cd: cd::Client,
    cw: cw::Client,
}

async fn env(time_scale: f64) -> Env {
    let sim = start_sim(SimConfig {
        time_scale,
        ..Default::default()
    })
    .await;
    let conf = sdk_config(&sim.endpoint());
    Env {
        lambda: lambda::Client::new(&conf),
        cd: cd::Client::new(&conf),
        cw: cw::Client::new(&conf),
        sim,
    }
}

fn code_of<E: ProvideErrorMetadata + std::fmt::Debug, R: std::fmt::Debug>(
    e: &SdkError<E, R>,
) -> String {
    e.code()
        .unwrap_or_else(|| panic!("error without an AWS code: {e:?}"))
        .to_string()
}

/// A function zip; `tag` makes each version's code (and CodeSha256) differ.
fn function_zip(behavior: Option<&str>, tag: &str) -> Vec<u8> {
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

/// Waits until the function's last create/update has settled.
async fn wait_settled(l: &lambda::Client, name: &str) {
    let start = Instant::now();
    loop {
        let c = l
            .get_function_configuration()
            .function_name(name)
            .send()
            .await
            .expect("Lambda GetFunctionConfiguration (is aws-sim's Lambda implemented?)");
        let active = c.state().is_none_or(|s| *s == lambda::types::State::Active);
        let settled = c
            .last_update_status()
            .is_none_or(|s| *s != lambda::types::LastUpdateStatus::InProgress);
        if active && settled {
            return;
        }
        assert!(start.elapsed() < HANG, "{name} never settled");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// A function whose code is `versions[0]`, published as version 1, then
/// each next behaviour published as 2, 3…; alias `live` → 1.
async fn function_with_versions(l: &lambda::Client, name: &str, versions: &[Option<&str>]) {
    for (i, behavior) in versions.iter().enumerate() {
        let zip = function_zip(*behavior, &format!("{name}-v{}", i + 1));
        if i == 0 {
            l.create_function()
                .function_name(name)
                .runtime(lambda::types::Runtime::Nodejs20x)
                .role(LAMBDA_ROLE)
                .handler("index.handler")
                .code(
                    lambda::types::FunctionCode::builder()
                        .zip_file(aws_smithy_types::Blob::new(zip))
                        .build(),
                )
                .send()
                .await
                .expect("Lambda CreateFunction (is aws-sim's Lambda implemented?)");
        } else {
            l.update_function_code()
                .function_name(name)
                .zip_file(aws_smithy_types::Blob::new(zip))
                .send()
                .await
                .expect("Lambda UpdateFunctionCode");
        }
        wait_settled(l, name).await;
        let v = l
            .publish_version()
            .function_name(name)
            .send()
            .await
            .expect("Lambda PublishVersion");
        assert_eq!(v.version(), Some((i + 1).to_string().as_str()));
    }
    l.create_alias()
        .function_name(name)
        .name("live")
        .function_version("1")
        .send()
        .await
        .expect("Lambda CreateAlias");
}

/// A hook function (no versions) whose `$LATEST` behaves as `behavior`.
async fn hook_function(l: &lambda::Client, name: &str, behavior: Option<&str>) {
    l.create_function()
        .function_name(name)
        .runtime(lambda::types::Runtime::Nodejs20x)
        .role(LAMBDA_ROLE)
        .handler("index.handler")
        .code(
            lambda::types::FunctionCode::builder()
                .zip_file(aws_smithy_types::Blob::new(function_zip(behavior, name)))
                .build(),
        )
        .send()
        .await
        .expect("Lambda CreateFunction (hook)");
    wait_settled(l, name).await;
}

/// `(version, additional version weight)` of alias `live`.
async fn alias_state(l: &lambda::Client, name: &str) -> (String, Option<f64>) {
    let a = l
        .get_alias()
        .function_name(name)
        .name("live")
        .send()
        .await
        .expect("Lambda GetAlias");
    let w = a
        .routing_config()
        .and_then(|r| r.additional_version_weights())
        .and_then(|m| m.values().next().copied());
    (a.function_version().unwrap_or_default().to_string(), w)
}

async fn application(c: &cd::Client, app: &str) {
    c.create_application()
        .application_name(app)
        .compute_platform(ComputePlatform::Lambda)
        .send()
        .await
        .expect("CreateApplication");
}

/// A Lambda deployment group with the given config, alarms and rollback events.
async fn group(
    c: &cd::Client,
    app: &str,
    group: &str,
    config: &str,
    alarms: &[&str],
    rollback: &[AutoRollbackEvent],
) {
    let mut req = c
        .create_deployment_group()
        .application_name(app)
        .deployment_group_name(group)
        .service_role_arn(SERVICE_ROLE)
        .deployment_config_name(config)
        .deployment_style(
            DeploymentStyle::builder()
                .deployment_type(DeploymentType::BlueGreen)
                .deployment_option(DeploymentOption::WithTrafficControl)
                .build(),
        );
    if !alarms.is_empty() {
        let mut a = AlarmConfiguration::builder().enabled(true);
        for n in alarms {
            a = a.alarms(Alarm::builder().name(*n).build());
        }
        req = req.alarm_configuration(a.build());
    }
    if !rollback.is_empty() {
        let mut r = AutoRollbackConfiguration::builder().enabled(true);
        for e in rollback {
            r = r.events(e.clone());
        }
        req = req.auto_rollback_configuration(r.build());
    }
    req.send().await.expect("CreateDeploymentGroup");
}

fn appspec(function: &str, current: &str, target: &str, hooks: &[(&str, &str)]) -> String {
    let mut s = format!(
        "version: 0.0\nResources:\n  - {function}:\n      Type: AWS::Lambda::Function\n      Properties:\n        Name: {function}\n        Alias: live\n        CurrentVersion: \"{current}\"\n        TargetVersion: \"{target}\"\n"
    );
    if !hooks.is_empty() {
        s.push_str("Hooks:\n");
        for (event, f) in hooks {
            s.push_str(&format!("  - {event}: {f}\n"));
        }
    }
    s
}

fn revision(content: &str) -> RevisionLocation {
    RevisionLocation::builder()
        .revision_type(RevisionLocationType::AppSpecContent)
        .app_spec_content(
            AppSpecContent::builder()
                .content(content)
                .sha256(hex::encode(Sha256::digest(content.as_bytes())))
                .build(),
        )
        .build()
}

async fn deploy(c: &cd::Client, app: &str, group: &str, content: &str) -> String {
    c.create_deployment()
        .application_name(app)
        .deployment_group_name(group)
        .revision(revision(content))
        .description("e2e")
        .send()
        .await
        .expect("CreateDeployment")
        .deployment_id()
        .expect("deploymentId")
        .to_string()
}

async fn deployment(c: &cd::Client, id: &str) -> DeploymentInfo {
    c.get_deployment()
        .deployment_id(id)
        .send()
        .await
        .expect("GetDeployment")
        .deployment_info()
        .expect("deploymentInfo")
        .clone()
}

fn terminal(s: &DeploymentStatus) -> bool {
    matches!(
        s,
        DeploymentStatus::Succeeded | DeploymentStatus::Failed | DeploymentStatus::Stopped
    )
}

/// Polls until the deployment is Succeeded, Failed or Stopped.
async fn finished(c: &cd::Client, id: &str, within: Duration) -> DeploymentInfo {
    let start = Instant::now();
    loop {
        let d = deployment(c, id).await;
        if d.status().is_some_and(terminal) {
            return d;
        }
        assert!(
            start.elapsed() < within,
            "deployment {id} still {:?} after {within:?}: {d:?}",
            d.status()
        );
        tokio::time::sleep(Duration::from_millis(3)).await;
    }
}

/// The live `targetVersionWeight` (None before the deployment started).
async fn target_weight(c: &cd::Client, id: &str, function: &str) -> Option<f64> {
    let t = c
        .get_deployment_target()
        .deployment_id(id)
        .target_id(format!("{function}:live"))
        .send()
        .await
        .ok()?;
    Some(
        t.deployment_target()?
            .lambda_target()?
            .lambda_function_info()?
            .target_version_weight(),
    )
}

/// Freezes the sim's clock and moves it `d` forward, running every timer
/// due by then: what happens to a deployment depends on simulated time
/// alone, never on how fast the test ran.
fn advance(e: &Env, d: Duration) {
    let sim = e.sim.sim();
    sim.clock.freeze();
    sim.clock.advance(d);
    sim.tick();
}

/// Polls until the deployment's target weight reaches `at_least`.
async fn wait_weight(c: &cd::Client, id: &str, function: &str, at_least: f64) -> f64 {
    let start = Instant::now();
    loop {
        if let Some(w) = target_weight(c, id, function).await
            && w >= at_least - 1e-9
        {
            return w;
        }
        assert!(start.elapsed() < HANG, "weight {at_least} never reached");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

fn push_distinct<T: PartialEq>(v: &mut Vec<T>, x: T) {
    if v.last() != Some(&x) {
        v.push(x);
    }
}

fn approx(a: &[f64], b: &[f64]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-9)
}

const TENTHS: [f64; 9] = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9];

/// True when `seen` is an increasing run of values from `allowed` (polling
/// under load may miss a step; the exact schedule is asserted separately).
fn increasing_subset(seen: &[f64], allowed: &[f64]) -> bool {
    seen.windows(2).all(|p| p[0] < p[1])
        && seen
            .iter()
            .all(|w| allowed.iter().any(|a| (a - w).abs() < 1e-9))
}

/// Every step observed exactly: the clock is (almost) frozen and moved by
/// explicit advances, one simulated minute at a time, then three at once.
#[tokio::test]
async fn linear_every_minute_weights_at_each_step() {
    let e = env(600.0).await;
    function_with_versions(&e.lambda, "orders", &[None, None]).await;
    application(&e.cd, "shop").await;
    group(&e.cd, "shop", "orders", LINEAR_1, &[], &[]).await;
    let clock = &e.sim.sim().clock;
    clock.set_scale(1e-6);
    let id = deploy(&e.cd, "shop", "orders", &appspec("orders", "1", "2", &[])).await;
    let at = |k: usize| TENTHS.get(k).copied().unwrap_or(1.0);
    let mut k = 0;
    while k < 10 {
        let w = target_weight(&e.cd, &id, "orders").await.expect("target");
        assert!((w - at(k)).abs() < 1e-9, "step {k}: target weight {w}");
        let (v, aw) = alias_state(&e.lambda, "orders").await;
        if k < 9 {
            assert_eq!(v, "1", "step {k}");
            assert!(
                (aw.expect("routing") - at(k)).abs() < 1e-9,
                "step {k}: alias weight {aw:?}"
            );
            assert_eq!(
                deployment(&e.cd, &id).await.status(),
                Some(&DeploymentStatus::InProgress)
            );
        } else {
            assert_eq!((v.as_str(), aw), ("2", None));
        }
        // Three minutes in one jump from 0.3: 0.4, 0.5 and 0.6 all happen.
        let minutes = if k == 2 { 3 } else { 1 };
        clock.advance(Duration::from_secs(60 * minutes as u64));
        k += minutes;
    }
    let info = deployment(&e.cd, &id).await;
    assert_eq!(
        info.status(),
        Some(&DeploymentStatus::Succeeded),
        "{info:?}"
    );
    let hist = e.sim.sim().codedeploy.traffic_history(&id);
    let weights: Vec<f64> = hist.iter().map(|(_, w)| *w).collect();
    let mut want = TENTHS.to_vec();
    want.push(1.0);
    assert!(approx(&weights, &want), "{weights:?}");
    for pair in hist.windows(2) {
        assert_eq!(
            pair[1].0.duration_since(pair[0].0).unwrap(),
            Duration::from_secs(60)
        );
    }
}

#[tokio::test]
async fn linear_every_minute_at_scale_600_runs_in_about_a_second() {
    let e = env(600.0).await;
    function_with_versions(&e.lambda, "orders", &[None, None]).await;
    application(&e.cd, "shop").await;
    group(&e.cd, "shop", "orders", LINEAR_1, &[], &[]).await;
    let id = deploy(&e.cd, "shop", "orders", &appspec("orders", "1", "2", &[])).await;

    let mut target_weights = Vec::new();
    let mut alias_states = Vec::new();
    let start = Instant::now();
    let info = loop {
        let d = deployment(&e.cd, &id).await;
        if let Some(w) = target_weight(&e.cd, &id, "orders").await {
            push_distinct(&mut target_weights, w);
        }
        push_distinct(&mut alias_states, alias_state(&e.lambda, "orders").await);
        if d.status().is_some_and(terminal) {
            break d;
        }
        // The time scale is what is under test here, so the test keeps a
        // bound, generous: a minute of real time, where ×600 needs about a
        // second and real time (×1) would need nine minutes.
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "deployment too slow: {d:?}"
        );
    };
    assert_eq!(
        info.status(),
        Some(&DeploymentStatus::Succeeded),
        "{info:?}"
    );
    // What the polls saw rose step by step (how many steps they caught
    // depends on the machine's speed; every step is checked below, from
    // the deployment's own history).
    let shifted: Vec<f64> = target_weights.into_iter().filter(|w| *w > 0.0).collect();
    let mut want = TENTHS.to_vec();
    want.push(1.0);
    assert!(
        increasing_subset(&shifted, &want) && shifted.last() == Some(&1.0),
        "GetDeploymentTarget weights {shifted:?}"
    );
    let alias_weights: Vec<f64> = alias_states.iter().filter_map(|(_, w)| *w).collect();
    assert!(
        increasing_subset(&alias_weights, &TENTHS),
        "GetAlias weights {alias_states:?}"
    );
    assert!(
        alias_states
            .iter()
            .filter(|(_, w)| w.is_some())
            .all(|(v, _)| v == "1")
    );
    assert_eq!(alias_states.last(), Some(&("2".to_string(), None)));

    // Each step exactly one simulated minute after the previous one.
    let hist = e.sim.sim().codedeploy.traffic_history(&id);
    assert_eq!(hist.len(), 10);
    for pair in hist.windows(2) {
        assert_eq!(
            pair[1].0.duration_since(pair[0].0).unwrap(),
            Duration::from_secs(60)
        );
    }
    let o = info.deployment_overview().expect("deploymentOverview");
    assert_eq!((o.succeeded(), o.failed(), o.in_progress()), (1, 0, 0));
    assert_eq!(info.creator(), Some(&DeploymentCreator::User));
    assert_eq!(info.description(), Some("e2e"));
    let took =
        info.complete_time().unwrap().as_secs_f64() - info.start_time().unwrap().as_secs_f64();
    assert!(
        (540.0..541.0).contains(&took),
        "took {took} simulated seconds"
    );
    let t =
        e.cd.get_deployment_target()
            .deployment_id(&id)
            .target_id("orders:live")
            .send()
            .await
            .unwrap();
    let lt = t.deployment_target().unwrap().lambda_target().unwrap();
    let events: Vec<(&str, &str)> = lt
        .lifecycle_events()
        .iter()
        .map(|e| {
            (
                e.lifecycle_event_name().unwrap(),
                e.status().unwrap().as_str(),
            )
        })
        .collect();
    assert_eq!(
        events,
        vec![
            ("BeforeAllowTraffic", "Skipped"),
            ("AllowTraffic", "Succeeded"),
            ("AfterAllowTraffic", "Skipped")
        ]
    );
    let fi = lt.lambda_function_info().unwrap();
    assert_eq!(
        (
            fi.function_name(),
            fi.function_alias(),
            fi.current_version(),
            fi.target_version()
        ),
        (Some("orders"), Some("live"), Some("1"), Some("2"))
    );
    let ids =
        e.cd.list_deployment_targets()
            .deployment_id(&id)
            .send()
            .await
            .unwrap();
    assert_eq!(ids.target_ids(), ["orders:live".to_string()]);
}

#[tokio::test]
async fn faulty_version_trips_errors_alarm_and_rolls_back() {
    let e = env(600.0).await;
    function_with_versions(&e.lambda, "payments", &[None, Some(r#"{"errorRate":0.5}"#)]).await;
    e.cw.put_metric_alarm()
        .alarm_name("payments-v2-errors")
        .namespace("AWS/Lambda")
        .metric_name("Errors")
        .dimensions(
            cw::types::Dimension::builder()
                .name("FunctionName")
                .value("payments")
                .build(),
        )
        .dimensions(
            cw::types::Dimension::builder()
                .name("Resource")
                .value("payments:live")
                .build(),
        )
        .dimensions(
            cw::types::Dimension::builder()
                .name("ExecutedVersion")
                .value("2")
                .build(),
        )
        .statistic(cw::types::Statistic::Sum)
        .period(60)
        .evaluation_periods(1)
        .threshold(0.0)
        .comparison_operator(cw::types::ComparisonOperator::GreaterThanThreshold)
        .treat_missing_data("notBreaching")
        .send()
        .await
        .expect("CloudWatch PutMetricAlarm (is aws-sim's CloudWatch implemented?)");
    application(&e.cd, "shop").await;
    group(
        &e.cd,
        "shop",
        "payments",
        LINEAR_1,
        &["payments-v2-errors"],
        &[
            AutoRollbackEvent::DeploymentFailure,
            AutoRollbackEvent::DeploymentStopOnAlarm,
        ],
    )
    .await;
    let id = deploy(
        &e.cd,
        "shop",
        "payments",
        &appspec("payments", "1", "2", &[]),
    )
    .await;
    // Simulated time moves 10 s at a time: traffic, the alarm's
    // evaluation and the deployment's steps and alarm polls interleave as
    // they would in real time, however slowly the test runs. The shift
    // lasts 9 minutes; the alarm stops it within its first two.
    let mut weights = Vec::new();
    let mut moved = Duration::ZERO;
    let info = loop {
        let d = deployment(&e.cd, &id).await;
        if let Some(w) = target_weight(&e.cd, &id, "payments").await {
            push_distinct(&mut weights, w);
        }
        if d.status().is_some_and(terminal) {
            break d;
        }
        assert!(
            moved < Duration::from_secs(15 * 60),
            "alarm never stopped {d:?}"
        );
        advance(&e, Duration::from_secs(10));
        moved += Duration::from_secs(10);
    };
    assert_eq!(info.status(), Some(&DeploymentStatus::Stopped), "{info:?}");
    let err = info.error_information().expect("errorInformation");
    assert_eq!(err.code(), Some(&ErrorCode::AlarmActive));
    assert!(err.message().unwrap_or("").contains("payments-v2-errors"));
    assert!(
        weights.iter().any(|w| *w >= 0.1),
        "no shift seen before the alarm: {weights:?}"
    );
    assert!(
        weights.iter().all(|w| *w < 1.0),
        "shift completed despite errors: {weights:?}"
    );

    let rb_id = info
        .rollback_info()
        .and_then(|r| r.rollback_deployment_id())
        .expect("rollbackInfo.rollbackDeploymentId")
        .to_string();
    let rb = finished(&e.cd, &rb_id, HANG).await;
    assert_eq!(rb.status(), Some(&DeploymentStatus::Succeeded), "{rb:?}");
    assert_eq!(rb.creator(), Some(&DeploymentCreator::CodeDeployRollback));
    assert_eq!(
        rb.rollback_info()
            .and_then(|r| r.rollback_triggering_deployment_id()),
        Some(id.as_str())
    );
    assert_eq!(
        alias_state(&e.lambda, "payments").await,
        ("1".to_string(), None)
    );
    let rbt =
        e.cd.get_deployment_target()
            .deployment_id(&rb_id)
            .target_id("payments:live")
            .send()
            .await
            .unwrap();
    let fi = rbt
        .deployment_target()
        .unwrap()
        .lambda_target()
        .unwrap()
        .lambda_function_info()
        .unwrap();
    assert_eq!(
        (fi.current_version(), fi.target_version()),
        (Some("2"), Some("1"))
    );
    assert_eq!(fi.target_version_weight(), 1.0);
    let listed =
        e.cd.list_deployments()
            .application_name("shop")
            .deployment_group_name("payments")
            .include_only_statuses(DeploymentStatus::Stopped)
            .send()
            .await
            .unwrap();
    assert_eq!(listed.deployments(), std::slice::from_ref(&id));
}

#[tokio::test]
async fn stop_deployment_with_and_without_rollback() {
    let e = env(600.0).await;
    function_with_versions(&e.lambda, "search", &[None, None]).await;
    application(&e.cd, "shop").await;
    group(&e.cd, "shop", "search", LINEAR_1, &[], &[]).await;

    // With rollback: Pending, a rollback deployment, alias back on 1. The
    // clock stands still but for the test's moves, so the deployment is
    // certainly mid-shift (20 %, a minute in) when it is stopped.
    e.sim.sim().clock.freeze();
    let id = deploy(&e.cd, "shop", "search", &appspec("search", "1", "2", &[])).await;
    advance(&e, Duration::from_secs(60));
    assert_eq!(wait_weight(&e.cd, &id, "search", 0.2).await, 0.2);
    let out =
        e.cd.stop_deployment()
            .deployment_id(&id)
            .auto_rollback_enabled(true)
            .send()
            .await
            .expect("StopDeployment");
    assert_eq!(out.status(), Some(&StopStatus::Pending));
    e.sim.sim().clock.set_scale(600.0);
    let d = deployment(&e.cd, &id).await;
    assert_eq!(d.status(), Some(&DeploymentStatus::Stopped));
    assert_eq!(
        d.error_information().and_then(|x| x.code()),
        Some(&ErrorCode::ManualStop)
    );
    let rb_id = d
        .rollback_info()
        .and_then(|r| r.rollback_deployment_id())
        .expect("rollback id")
        .to_string();
    let rb = finished(&e.cd, &rb_id, HANG).await;
    assert_eq!(rb.status(), Some(&DeploymentStatus::Succeeded));
    assert_eq!(
        alias_state(&e.lambda, "search").await,
        ("1".to_string(), None)
    );
    let again =
        e.cd.stop_deployment()
            .deployment_id(&id)
            .send()
            .await
            .unwrap_err();
    assert_eq!(code_of(&again), "DeploymentAlreadyCompletedException");

    // Without rollback: Succeeded, and the alias stays mid-shift.
    e.sim.sim().clock.freeze();
    let id2 = deploy(&e.cd, "shop", "search", &appspec("search", "1", "2", &[])).await;
    advance(&e, Duration::from_secs(60));
    let w = wait_weight(&e.cd, &id2, "search", 0.2).await;
    let out =
        e.cd.stop_deployment()
            .deployment_id(&id2)
            .auto_rollback_enabled(false)
            .send()
            .await
            .unwrap();
    assert_eq!(out.status(), Some(&StopStatus::Succeeded));
    let d2 = deployment(&e.cd, &id2).await;
    assert_eq!(d2.status(), Some(&DeploymentStatus::Stopped));
    assert!(d2.rollback_info().is_none());
    let (v, aw) = alias_state(&e.lambda, "search").await;
    assert_eq!(v, "1");
    let aw = aw.expect("routing left in place");
    assert!(
        aw >= w - 1e-9 && aw < 1.0,
        "alias weight {aw}, target weight {w}"
    );
    advance(&e, Duration::from_secs(150));
    assert_eq!(alias_state(&e.lambda, "search").await, (v, Some(aw)));
    e.sim.sim().clock.set_scale(600.0);

    // As in AWS, the next deployment fails while the alias still routes.
    let id3 = deploy(&e.cd, "shop", "search", &appspec("search", "1", "2", &[])).await;
    let d3 = finished(&e.cd, &id3, HANG).await;
    assert_eq!(d3.status(), Some(&DeploymentStatus::Failed));
    assert_eq!(
        d3.error_information().and_then(|x| x.code()),
        Some(&ErrorCode::InvalidLambdaConfiguration)
    );
}

#[tokio::test]
async fn second_deployment_in_a_group_is_refused_while_one_is_active() {
    let e = env(600.0).await;
    function_with_versions(&e.lambda, "cart", &[None, None]).await;
    application(&e.cd, "shop").await;
    group(
        &e.cd,
        "shop",
        "cart",
        "CodeDeployDefault.LambdaCanary10Percent30Minutes",
        &[],
        &[],
    )
    .await;
    let first = deploy(&e.cd, "shop", "cart", &appspec("cart", "1", "2", &[])).await;
    wait_weight(&e.cd, &first, "cart", 0.1).await;
    let err =
        e.cd.create_deployment()
            .application_name("shop")
            .deployment_group_name("cart")
            .revision(revision(&appspec("cart", "1", "2", &[])))
            .send()
            .await
            .unwrap_err();
    assert_eq!(code_of(&err), "DeploymentLimitExceededException");
    assert!(err.message().unwrap_or("").contains(&first), "{err:?}");
    let active =
        e.cd.list_deployments()
            .application_name("shop")
            .deployment_group_name("cart")
            .include_only_statuses(DeploymentStatus::InProgress)
            .send()
            .await
            .unwrap();
    assert_eq!(active.deployments(), std::slice::from_ref(&first));
    e.cd.stop_deployment()
        .deployment_id(&first)
        .auto_rollback_enabled(true)
        .send()
        .await
        .unwrap();
    let rb = deployment(&e.cd, &first)
        .await
        .rollback_info()
        .unwrap()
        .rollback_deployment_id()
        .unwrap()
        .to_string();
    finished(&e.cd, &rb, HANG).await;
    // Free again: a new deployment is accepted.
    deploy(&e.cd, "shop", "cart", &appspec("cart", "1", "2", &[])).await;
}

#[tokio::test]
async fn current_version_mismatch_and_bad_appspecs_fail_the_deployment() {
    let e = env(600.0).await;
    function_with_versions(&e.lambda, "users", &[None, None]).await;
    application(&e.cd, "shop").await;
    group(
        &e.cd,
        "shop",
        "users",
        ALL_AT_ONCE,
        &[],
        &[AutoRollbackEvent::DeploymentFailure],
    )
    .await;

    let id = deploy(&e.cd, "shop", "users", &appspec("users", "2", "1", &[])).await;
    let d = finished(&e.cd, &id, HANG).await;
    assert_eq!(d.status(), Some(&DeploymentStatus::Failed));
    assert_eq!(
        d.error_information().and_then(|x| x.code()),
        Some(&ErrorCode::InvalidLambdaConfiguration),
        "{d:?}"
    );
    assert!(
        d.rollback_info().is_none(),
        "nothing moved, nothing to roll back"
    );
    assert_eq!(
        alias_state(&e.lambda, "users").await,
        ("1".to_string(), None)
    );

    let id = deploy(&e.cd, "shop", "users", &appspec("users", "1", "9", &[])).await;
    let d = finished(&e.cd, &id, HANG).await;
    assert_eq!(
        d.error_information().and_then(|x| x.code()),
        Some(&ErrorCode::InvalidLambdaFunction)
    );

    let two = format!(
        "{}  - other:\n      Type: AWS::Lambda::Function\n      Properties: {{Name: other, Alias: live, CurrentVersion: '1', TargetVersion: '2'}}\n",
        appspec("users", "1", "2", &[])
    );
    let id = deploy(&e.cd, "shop", "users", &two).await;
    let d = finished(&e.cd, &id, HANG).await;
    assert_eq!(
        d.error_information().and_then(|x| x.code()),
        Some(&ErrorCode::InvalidRevision)
    );

    let bad_sha = RevisionLocation::builder()
        .revision_type(RevisionLocationType::AppSpecContent)
        .app_spec_content(
            AppSpecContent::builder()
                .content(appspec("users", "1", "2", &[]))
                .sha256("00".repeat(32))
                .build(),
        )
        .build();
    let err =
        e.cd.create_deployment()
            .application_name("shop")
            .deployment_group_name("users")
            .revision(bad_sha)
            .send()
            .await
            .unwrap_err();
    assert_eq!(code_of(&err), "InvalidRevisionException");

    // JSON AppSpecs work too.
    let json = r#"{"version": 0.0, "Resources": [{"users": {"Type": "AWS::Lambda::Function",
        "Properties": {"Name": "users", "Alias": "live", "CurrentVersion": "1", "TargetVersion": "2"}}}]}"#;
    let id = deploy(&e.cd, "shop", "users", json).await;
    let d = finished(&e.cd, &id, HANG).await;
    assert_eq!(d.status(), Some(&DeploymentStatus::Succeeded), "{d:?}");
    assert_eq!(
        alias_state(&e.lambda, "users").await,
        ("2".to_string(), None)
    );
}

#[tokio::test]
async fn alarm_already_in_alarm_fails_the_deployment_at_start() {
    let e = env(600.0).await;
    function_with_versions(&e.lambda, "stock", &[None, None]).await;
    // Real time from here: the alarm state set below holds until the next
    // evaluation, a simulated minute away.
    e.sim.sim().clock.set_scale(1.0);
    e.cw.put_metric_alarm()
        .alarm_name("stock-errors")
        .namespace("AWS/Lambda")
        .metric_name("Errors")
        .dimensions(
            cw::types::Dimension::builder()
                .name("FunctionName")
                .value("stock")
                .build(),
        )
        .statistic(cw::types::Statistic::Sum)
        .period(60)
        .evaluation_periods(1)
        .threshold(0.0)
        .comparison_operator(cw::types::ComparisonOperator::GreaterThanThreshold)
        .send()
        .await
        .expect("CloudWatch PutMetricAlarm (is aws-sim's CloudWatch implemented?)");
    e.cw.set_alarm_state()
        .alarm_name("stock-errors")
        .state_value(cw::types::StateValue::Alarm)
        .state_reason("e2e")
        .send()
        .await
        .expect("CloudWatch SetAlarmState");
    application(&e.cd, "shop").await;
    group(
        &e.cd,
        "shop",
        "stock",
        ALL_AT_ONCE,
        &["stock-errors"],
        &[
            AutoRollbackEvent::DeploymentFailure,
            AutoRollbackEvent::DeploymentStopOnAlarm,
        ],
    )
    .await;
    let id = deploy(&e.cd, "shop", "stock", &appspec("stock", "1", "2", &[])).await;
    let d = finished(&e.cd, &id, HANG).await;
    assert_eq!(d.status(), Some(&DeploymentStatus::Failed), "{d:?}");
    assert_eq!(
        d.error_information().and_then(|x| x.code()),
        Some(&ErrorCode::AlarmActive)
    );
    assert_eq!(
        alias_state(&e.lambda, "stock").await,
        ("1".to_string(), None)
    );

    // overrideAlarmConfiguration (disabled) lets the same revision through.
    let id =
        e.cd.create_deployment()
            .application_name("shop")
            .deployment_group_name("stock")
            .revision(revision(&appspec("stock", "1", "2", &[])))
            .override_alarm_configuration(AlarmConfiguration::builder().enabled(false).build())
            .send()
            .await
            .unwrap()
            .deployment_id()
            .unwrap()
            .to_string();
    let d = finished(&e.cd, &id, HANG).await;
    assert_eq!(d.status(), Some(&DeploymentStatus::Succeeded), "{d:?}");
    assert_eq!(
        alias_state(&e.lambda, "stock").await,
        ("2".to_string(), None)
    );
}

async fn hook_env(e: &Env, function: &str, pre: Option<&str>) {
    function_with_versions(&e.lambda, function, &[None, None]).await;
    hook_function(&e.lambda, "post_ok", Some(r#"{"hook":"succeed"}"#)).await;
    if let Some(b) = pre {
        hook_function(&e.lambda, "pre", Some(b)).await;
    } else {
        hook_function(&e.lambda, "pre", None).await;
    }
    application(&e.cd, "shop").await;
    group(
        &e.cd,
        "shop",
        function,
        ALL_AT_ONCE,
        &[],
        &[AutoRollbackEvent::DeploymentFailure],
    )
    .await;
}

fn hooks() -> Vec<(&'static str, &'static str)> {
    vec![
        ("BeforeAllowTraffic", "pre"),
        ("AfterAllowTraffic", "post_ok"),
    ]
}

async fn event_statuses(c: &cd::Client, id: &str, function: &str) -> Vec<String> {
    let t = c
        .get_deployment_target()
        .deployment_id(id)
        .target_id(format!("{function}:live"))
        .send()
        .await
        .unwrap();
    t.deployment_target()
        .unwrap()
        .lambda_target()
        .unwrap()
        .lifecycle_events()
        .iter()
        .map(|e| e.status().unwrap().as_str().to_string())
        .collect()
}

#[tokio::test]
async fn hooks_that_succeed_let_the_deployment_through() {
    let e = env(600.0).await;
    hook_env(&e, "mail", Some(r#"{"hook":"succeed"}"#)).await;
    let id = deploy(&e.cd, "shop", "mail", &appspec("mail", "1", "2", &hooks())).await;
    let d = finished(&e.cd, &id, HANG).await;
    assert_eq!(d.status(), Some(&DeploymentStatus::Succeeded), "{d:?}");
    assert_eq!(
        event_statuses(&e.cd, &id, "mail").await,
        ["Succeeded", "Succeeded", "Succeeded"]
    );
    assert_eq!(
        alias_state(&e.lambda, "mail").await,
        ("2".to_string(), None)
    );
}

#[tokio::test]
async fn a_failing_hook_fails_the_deployment_before_any_shift() {
    let e = env(600.0).await;
    hook_env(&e, "mail", Some(r#"{"hook":"fail"}"#)).await;
    let id = deploy(&e.cd, "shop", "mail", &appspec("mail", "1", "2", &hooks())).await;
    let d = finished(&e.cd, &id, HANG).await;
    assert_eq!(d.status(), Some(&DeploymentStatus::Failed), "{d:?}");
    assert_eq!(
        d.error_information().and_then(|x| x.code()),
        Some(&ErrorCode::HookExecutionFailure)
    );
    assert_eq!(
        event_statuses(&e.cd, &id, "mail").await,
        ["Failed", "Skipped", "Skipped"]
    );
    assert_eq!(
        alias_state(&e.lambda, "mail").await,
        ("1".to_string(), None)
    );
    // DEPLOYMENT_FAILURE rollback: a rollback deployment that keeps version 1.
    let rb = d
        .rollback_info()
        .and_then(|r| r.rollback_deployment_id())
        .expect("rollback")
        .to_string();
    assert_eq!(
        finished(&e.cd, &rb, HANG).await.status(),
        Some(&DeploymentStatus::Succeeded)
    );
    assert_eq!(
        alias_state(&e.lambda, "mail").await,
        ("1".to_string(), None)
    );
}

#[tokio::test]
async fn a_silent_hook_waits_for_put_lifecycle_event_hook_execution_status() {
    let e = env(600.0).await;
    hook_env(&e, "mail", None).await;
    e.sim.sim().clock.freeze();
    let id = deploy(&e.cd, "shop", "mail", &appspec("mail", "1", "2", &hooks())).await;
    let start = Instant::now();
    let exec = loop {
        let pending = e.sim.sim().codedeploy.pending_hooks();
        if let Some((_, x, f)) = pending.into_iter().find(|(d, _, _)| *d == id) {
            assert_eq!(f, "pre");
            break x;
        }
        assert!(start.elapsed() < HANG, "no pending hook");
        tokio::time::sleep(Duration::from_millis(2)).await;
    };
    // Waiting: still InProgress after 10 simulated minutes (the clock
    // moved by the test, far from the hour a hook has), nothing shifted.
    advance(&e, Duration::from_secs(600));
    assert_eq!(
        deployment(&e.cd, &id).await.status(),
        Some(&DeploymentStatus::InProgress)
    );
    assert_eq!(
        alias_state(&e.lambda, "mail").await,
        ("1".to_string(), None)
    );
    let bad =
        e.cd.put_lifecycle_event_hook_execution_status()
            .deployment_id(&id)
            .lifecycle_event_hook_execution_id(&exec)
            .status(cd::types::LifecycleEventStatus::Pending)
            .send()
            .await
            .unwrap_err();
    assert_eq!(
        code_of(&bad),
        "InvalidLifecycleEventHookExecutionStatusException"
    );
    let unknown =
        e.cd.put_lifecycle_event_hook_execution_status()
            .deployment_id(&id)
            .lifecycle_event_hook_execution_id("not-an-execution")
            .status(cd::types::LifecycleEventStatus::Succeeded)
            .send()
            .await
            .unwrap_err();
    assert_eq!(
        code_of(&unknown),
        "InvalidLifecycleEventHookExecutionIdException"
    );
    let ok =
        e.cd.put_lifecycle_event_hook_execution_status()
            .deployment_id(&id)
            .lifecycle_event_hook_execution_id(&exec)
            .status(cd::types::LifecycleEventStatus::Succeeded)
            .send()
            .await
            .expect("PutLifecycleEventHookExecutionStatus");
    assert_eq!(ok.lifecycle_event_hook_execution_id(), Some(exec.as_str()));
    e.sim.sim().clock.set_scale(600.0);
    let d = finished(&e.cd, &id, HANG).await;
    assert_eq!(d.status(), Some(&DeploymentStatus::Succeeded), "{d:?}");
    let again =
        e.cd.put_lifecycle_event_hook_execution_status()
            .deployment_id(&id)
            .lifecycle_event_hook_execution_id(&exec)
            .status(cd::types::LifecycleEventStatus::Failed)
            .send()
            .await
            .unwrap_err();
    assert_eq!(code_of(&again), "LifecycleEventAlreadyCompletedException");
}

#[tokio::test]
async fn a_hook_that_never_reports_fails_after_the_hook_timeout() {
    let e = env(600.0).await;
    hook_env(&e, "mail", Some(r#"{"hook":"timeout"}"#)).await;
    e.sim.sim().clock.freeze();
    let id = deploy(&e.cd, "shop", "mail", &appspec("mail", "1", "2", &hooks())).await;
    // Ten minutes in (the clock moved by the test): the hook has not
    // answered and its hour is not over.
    advance(&e, Duration::from_secs(600));
    assert_eq!(
        deployment(&e.cd, &id).await.status(),
        Some(&DeploymentStatus::InProgress)
    );
    advance(&e, Duration::from_secs(3600));
    e.sim.sim().clock.set_scale(600.0);
    let d = finished(&e.cd, &id, HANG).await;
    assert_eq!(d.status(), Some(&DeploymentStatus::Failed), "{d:?}");
    let err = d.error_information().unwrap();
    assert_eq!(err.code(), Some(&ErrorCode::HookExecutionFailure));
    assert!(err.message().unwrap().contains("3600"), "{err:?}");
    assert_eq!(
        alias_state(&e.lambda, "mail").await,
        ("1".to_string(), None)
    );
}

#[tokio::test]
async fn custom_deployment_configs_validate_and_drive_the_shift() {
    let e = env(600.0).await;
    let canary = |pct: i32, min: i32| {
        TrafficRoutingConfig::builder()
            .r#type(TrafficRoutingType::TimeBasedCanary)
            .time_based_canary(
                TimeBasedCanary::builder()
                    .canary_percentage(pct)
                    .canary_interval(min)
                    .build(),
            )
            .build()
    };
    e.cd.create_deployment_config()
        .deployment_config_name("Canary25Percent2Minutes")
        .compute_platform(ComputePlatform::Lambda)
        .traffic_routing_config(canary(25, 2))
        .send()
        .await
        .expect("CreateDeploymentConfig");
    e.cd.create_deployment_config()
        .deployment_config_name("Linear50PercentEvery1Minute")
        .compute_platform(ComputePlatform::Lambda)
        .traffic_routing_config(
            TrafficRoutingConfig::builder()
                .r#type(TrafficRoutingType::TimeBasedLinear)
                .time_based_linear(
                    TimeBasedLinear::builder()
                        .linear_percentage(50)
                        .linear_interval(1)
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    for (name, cfg) in [
        ("Bad0", canary(0, 1)),
        ("Bad100", canary(100, 1)),
        ("BadInterval", canary(10, 0)),
    ] {
        let err =
            e.cd.create_deployment_config()
                .deployment_config_name(name)
                .compute_platform(ComputePlatform::Lambda)
                .traffic_routing_config(cfg)
                .send()
                .await
                .unwrap_err();
        assert_eq!(
            code_of(&err),
            "InvalidTrafficRoutingConfigurationException",
            "{name}"
        );
    }
    for name in [
        "Canary25Percent2Minutes",
        "CodeDeployDefault.LambdaAllAtOnce",
    ] {
        let err =
            e.cd.create_deployment_config()
                .deployment_config_name(name)
                .compute_platform(ComputePlatform::Lambda)
                .traffic_routing_config(canary(10, 1))
                .send()
                .await
                .unwrap_err();
        assert_eq!(
            code_of(&err),
            "DeploymentConfigAlreadyExistsException",
            "{name}"
        );
    }
    let got =
        e.cd.get_deployment_config()
            .deployment_config_name("Canary25Percent2Minutes")
            .send()
            .await
            .unwrap();
    let info = got.deployment_config_info().unwrap();
    assert_eq!(info.compute_platform(), Some(&ComputePlatform::Lambda));
    let c = info
        .traffic_routing_config()
        .unwrap()
        .time_based_canary()
        .unwrap();
    assert_eq!((c.canary_percentage(), c.canary_interval()), (25, 2));
    let predefined =
        e.cd.get_deployment_config()
            .deployment_config_name(LINEAR_1)
            .send()
            .await
            .unwrap();
    let l = predefined
        .deployment_config_info()
        .unwrap()
        .traffic_routing_config()
        .unwrap()
        .time_based_linear()
        .unwrap();
    assert_eq!((l.linear_percentage(), l.linear_interval()), (10, 1));
    let missing =
        e.cd.get_deployment_config()
            .deployment_config_name("Nope")
            .send()
            .await
            .unwrap_err();
    assert_eq!(code_of(&missing), "DeploymentConfigDoesNotExistException");
    let list = e.cd.list_deployment_configs().send().await.unwrap();
    let names = list.deployment_configs_list();
    assert_eq!(
        names
            .iter()
            .filter(|n| n.starts_with("CodeDeployDefault.Lambda"))
            .count(),
        9
    );
    assert!(names.contains(&"Canary25Percent2Minutes".to_string()));
    assert!(names.contains(&"Linear50PercentEvery1Minute".to_string()));

    // The custom canary drives a deployment (config overridden per deployment).
    function_with_versions(&e.lambda, "ship", &[None, None]).await;
    application(&e.cd, "shop").await;
    group(&e.cd, "shop", "ship", ALL_AT_ONCE, &[], &[]).await;
    let id =
        e.cd.create_deployment()
            .application_name("shop")
            .deployment_group_name("ship")
            .deployment_config_name("Canary25Percent2Minutes")
            .revision(revision(&appspec("ship", "1", "2", &[])))
            .send()
            .await
            .unwrap()
            .deployment_id()
            .unwrap()
            .to_string();
    let mut weights = Vec::new();
    let start = Instant::now();
    loop {
        // Status first: a weight read after a terminal status is the final one.
        let d = deployment(&e.cd, &id).await;
        if let Some(w) = target_weight(&e.cd, &id, "ship").await {
            push_distinct(&mut weights, w);
        }
        if d.status().is_some_and(terminal) {
            assert_eq!(d.status(), Some(&DeploymentStatus::Succeeded));
            assert_eq!(d.deployment_config_name(), Some("Canary25Percent2Minutes"));
            break;
        }
        assert!(start.elapsed() < HANG, "the deployment never ended");
    }
    // Polls may miss the 25 % step (two simulated minutes are 200 ms of
    // real time); the deployment's history has every step.
    let shifted: Vec<f64> = weights.into_iter().filter(|w| *w > 0.0).collect();
    assert!(increasing_subset(&shifted, &[0.25, 1.0]), "{shifted:?}");
    let hist: Vec<f64> = e
        .sim
        .sim()
        .codedeploy
        .traffic_history(&id)
        .iter()
        .map(|(_, w)| *w)
        .collect();
    assert!(approx(&hist, &[0.25, 1.0]), "{hist:?}");
}

#[tokio::test]
async fn api_validation_and_limits() {
    let e = env(600.0).await;
    let c = &e.cd;
    application(c, "shop").await;
    let dup = c
        .create_application()
        .application_name("shop")
        .compute_platform(ComputePlatform::Lambda)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code_of(&dup), "ApplicationAlreadyExistsException");
    let app = c
        .get_application()
        .application_name("shop")
        .send()
        .await
        .unwrap();
    assert_eq!(
        app.application().unwrap().compute_platform(),
        Some(&ComputePlatform::Lambda)
    );
    let none = c
        .get_application()
        .application_name("nope")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code_of(&none), "ApplicationDoesNotExistException");

    let base = || {
        c.create_deployment_group()
            .application_name("shop")
            .deployment_group_name("g")
            .service_role_arn(SERVICE_ROLE)
            .deployment_config_name(LINEAR_1)
    };
    let bad_role = base()
        .service_role_arn("CodeDeployServiceRole")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code_of(&bad_role), "InvalidRoleException");
    let mut many = AlarmConfiguration::builder().enabled(true);
    for i in 0..11 {
        many = many.alarms(Alarm::builder().name(format!("a{i}")).build());
    }
    let too_many = base()
        .alarm_configuration(many.build())
        .send()
        .await
        .unwrap_err();
    assert_eq!(code_of(&too_many), "AlarmsLimitExceededException");
    let empty = base()
        .alarm_configuration(AlarmConfiguration::builder().enabled(true).build())
        .send()
        .await
        .unwrap_err();
    assert_eq!(code_of(&empty), "InvalidAlarmConfigException");
    let in_place = base()
        .deployment_style(
            DeploymentStyle::builder()
                .deployment_type(DeploymentType::InPlace)
                .deployment_option(DeploymentOption::WithoutTrafficControl)
                .build(),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(code_of(&in_place), "InvalidDeploymentStyleException");
    let no_events = base()
        .auto_rollback_configuration(AutoRollbackConfiguration::builder().enabled(true).build())
        .send()
        .await
        .unwrap_err();
    assert_eq!(code_of(&no_events), "InvalidAutoRollbackConfigException");
    let no_config = base()
        .deployment_config_name("Nope")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code_of(&no_config), "DeploymentConfigDoesNotExistException");
    let no_app = base().application_name("nope").send().await.unwrap_err();
    assert_eq!(code_of(&no_app), "ApplicationDoesNotExistException");
    base().send().await.expect("valid group");
    let dup = base().send().await.unwrap_err();
    assert_eq!(code_of(&dup), "DeploymentGroupAlreadyExistsException");

    c.update_deployment_group()
        .application_name("shop")
        .current_deployment_group_name("g")
        .deployment_config_name(ALL_AT_ONCE)
        .alarm_configuration(
            AlarmConfiguration::builder()
                .enabled(true)
                .alarms(Alarm::builder().name("g-errors").build())
                .build(),
        )
        .send()
        .await
        .expect("UpdateDeploymentGroup");
    let g = c
        .get_deployment_group()
        .application_name("shop")
        .deployment_group_name("g")
        .send()
        .await
        .unwrap();
    let info = g.deployment_group_info().unwrap();
    assert_eq!(info.deployment_config_name(), Some(ALL_AT_ONCE));
    assert_eq!(info.compute_platform(), Some(&ComputePlatform::Lambda));
    assert_eq!(
        info.alarm_configuration().unwrap().alarms()[0].name(),
        Some("g-errors")
    );
    let style = info.deployment_style().unwrap();
    assert_eq!(style.deployment_type(), Some(&DeploymentType::BlueGreen));
    let groups = c
        .list_deployment_groups()
        .application_name("shop")
        .send()
        .await
        .unwrap();
    assert_eq!(groups.deployment_groups(), ["g".to_string()]);
    let missing = c
        .get_deployment_group()
        .application_name("shop")
        .deployment_group_name("nope")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code_of(&missing), "DeploymentGroupDoesNotExistException");
    let no_group = c
        .create_deployment()
        .application_name("shop")
        .deployment_group_name("nope")
        .revision(revision(&appspec("f", "1", "2", &[])))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code_of(&no_group), "DeploymentGroupDoesNotExistException");

    let ids: Vec<String> = (0..26).map(|i| format!("d-AAAAAA{i:03}")).collect();
    let over = c
        .batch_get_deployments()
        .set_deployment_ids(Some(ids.clone()))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code_of(&over), "BatchLimitExceededException");
    let ok = c
        .batch_get_deployments()
        .set_deployment_ids(Some(ids[..25].to_vec()))
        .send()
        .await
        .expect("25 ids are allowed");
    assert!(ok.deployments_info().is_empty());
    let unknown = c
        .get_deployment()
        .deployment_id("d-AAAAAA000")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code_of(&unknown), "DeploymentDoesNotExistException");
    let malformed = c
        .get_deployment()
        .deployment_id("nope")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code_of(&malformed), "InvalidDeploymentIdException");

    c.delete_deployment_group()
        .application_name("shop")
        .deployment_group_name("g")
        .send()
        .await
        .unwrap();
    c.delete_application()
        .application_name("shop")
        .send()
        .await
        .unwrap();
    let apps = c.list_applications().send().await.unwrap();
    assert!(apps.applications().is_empty());
}

/// One unsigned awsJson1_1 CodeDeploy call over a raw connection (to send
/// values the SDK's types cannot hold): `(status, JSON body)`.
async fn raw_codedeploy(
    sim: &SimHandle,
    op: &str,
    input: &serde_json::Value,
) -> (u16, serde_json::Value) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let body = serde_json::to_vec(input).unwrap();
    let head = format!(
        "POST / HTTP/1.1\r\nHost: {}\r\nX-Amz-Target: CodeDeploy_20141006.{op}\r\nContent-Type: application/x-amz-json-1.1\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        sim.addr(),
        body.len()
    );
    let mut s = tokio::net::TcpStream::connect(sim.addr()).await.unwrap();
    s.write_all(head.as_bytes()).await.unwrap();
    s.write_all(&body).await.unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).await.unwrap();
    let text = String::from_utf8(raw).unwrap();
    let (headers, body) = text
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("no response (connection dropped?): {text:?}"));
    (
        headers[9..12].parse().unwrap(),
        serde_json::from_str(body).unwrap_or(serde_json::Value::Null),
    )
}

#[tokio::test]
async fn hostile_numbers_get_codedeploy_errors_and_the_sim_keeps_answering() {
    let e = env(1.0).await;
    // Review P1-3: linearInterval 2^31 overflowed u32 in the ticker once a
    // deployment used it, panicking every later request of every service.
    for interval in [2881u64, 2_147_483_648, u64::from(u32::MAX)] {
        let (status, body) = raw_codedeploy(
            &e.sim,
            "CreateDeploymentConfig",
            &serde_json::json!({"deploymentConfigName": format!("Huge{interval}"), "computePlatform": "Lambda",
                "trafficRoutingConfig": {"type": "TimeBasedLinear",
                    "timeBasedLinear": {"linearPercentage": 1, "linearInterval": interval}}}),
        )
        .await;
        assert_eq!(
            (status, body["__type"].as_str()),
            (400, Some("InvalidTrafficRoutingConfigurationException")),
            "{interval}: {body}"
        );
    }
    let (status, _) = raw_codedeploy(
        &e.sim,
        "CreateDeploymentConfig",
        &serde_json::json!({"deploymentConfigName": "TwoDays", "computePlatform": "Lambda",
            "trafficRoutingConfig": {"type": "TimeBasedLinear",
                "timeBasedLinear": {"linearPercentage": 1, "linearInterval": 2880}}}),
    )
    .await;
    assert_eq!(status, 200);

    // Review P1-4: createTimeRange.start = 1e30 panicked in Duration::from_secs_f64.
    let (status, body) = raw_codedeploy(
        &e.sim,
        "ListDeployments",
        &serde_json::json!({"createTimeRange": {"start": 1e30}}),
    )
    .await;
    assert_eq!(
        (status, body["__type"].as_str()),
        (400, Some("SerializationException")),
        "{body}"
    );
    let (status, body) = raw_codedeploy(
        &e.sim,
        "ListDeployments",
        &serde_json::json!({"createTimeRange": {"start": 1.0e9, "end": 2.0e9}}),
    )
    .await;
    assert_eq!(
        (status, &body["deployments"]),
        (200, &serde_json::json!([]))
    );

    e.cd.list_applications()
        .send()
        .await
        .expect("ListApplications");
    e.lambda
        .list_functions()
        .send()
        .await
        .expect("ListFunctions");
}
