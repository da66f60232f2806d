//! The canary orchestration end to end against aws-sim through the real SDK
//! clients: pre-flight and the shift of a whole release, driven the way the
//! release engine will drive them (each `Continue` ends a job; the state
//! goes through JSON like a continuation token). Versions are prepared with
//! aws-sdk-lambda; the CodePipeline job flow comes with the engine.
//!
//! Simulated time is the test's: set-up runs at a time scale of 600 (a
//! simulated minute is 100 ms); pre-flight and the shift run on a frozen
//! clock moved 30 simulated seconds between jobs (`e2e::canary`), so a
//! Linear10PercentEvery1Minute shift is about 20 jobs whatever the
//! machine's speed, and a test that needs the shift still running when
//! something happens cannot lose that race.

use std::time::Duration;

use aws_sdk_cloudwatch as cw;
use aws_sdk_codedeploy as cd;
use e2e::SimConfig;
use e2e::canary::*;
use pipeline_canary::canary::{CanaryAdapters, Decision, ShiftState, release_id};
use pipeline_canary::manifest::DeploymentConfig;
use pipeline_canary::report::FailureKind;

const LINEAR_1: DeploymentConfig = DeploymentConfig::Linear {
    percent: 10,
    every_minutes: 1,
};

fn fast() -> SimConfig {
    SimConfig {
        time_scale: 600.0,
        ..Default::default()
    }
}

/// Real time: alarm states set by SetAlarmState hold until the next
/// evaluation a (real) minute later; Lambda updates settle in 10 ms.
fn real_time() -> SimConfig {
    SimConfig {
        lambda_update_delay: Duration::from_millis(10),
        ..Default::default()
    }
}

fn rid(n: &str) -> String {
    release_id("collect", "Prod", "Release", n)
}

/// Every deployment the sim holds for `group`, newest first.
async fn group_deployments(w: &World, group: &str) -> Vec<cd::types::DeploymentInfo> {
    let ids =
        w.cd.list_deployments()
            .application_name(APP)
            .deployment_group_name(group)
            .send()
            .await
            .unwrap()
            .deployments()
            .to_vec();
    if ids.is_empty() {
        return Vec::new();
    }
    w.cd.batch_get_deployments()
        .set_deployment_ids(Some(ids))
        .send()
        .await
        .unwrap()
        .deployments_info()
        .to_vec()
}

fn weights_in(summary: &str) -> f64 {
    let i = summary.find(" % of traffic").expect("traffic in summary");
    let start = summary[..i].rfind(' ').unwrap() + 1;
    summary[start..i].parse().unwrap()
}

#[tokio::test]
async fn six_functions_shift_together_linear_and_succeed() {
    let w = world(fast()).await;
    let names: Vec<String> = (1..=6).map(|i| format!("collect-fn{i}")).collect();
    for n in &names {
        function(&w.lambda, n, &[None, None], Some("1")).await;
        errors_alarm(&w.cw, &format!("{n}-errors"), n, "2").await;
    }
    let alarm_names: Vec<String> = names.iter().map(|n| format!("{n}-errors")).collect();
    let plan = shift_plan(
        settings(&rid("six")),
        names
            .iter()
            .zip(&alarm_names)
            .map(|(n, a)| (target(n, LINEAR_1, &[a.as_str()]), Some("1"), "2"))
            .collect(),
    );
    let report = run_preflight(&w, &preflight_plan(&plan))
        .await
        .expect("pre-flight");
    assert!(report.first_release.is_empty());
    assert_eq!(report.ensured.len(), 7, "{:?}", report.ensured);
    let g =
        w.cd.get_deployment_group()
            .application_name(APP)
            .deployment_group_name("collect-fn3")
            .send()
            .await
            .unwrap();
    let g = g.deployment_group_info().unwrap();
    assert_eq!(g.service_role_arn(), Some(SERVICE_ROLE));
    assert_eq!(
        g.alarm_configuration().unwrap().alarms()[0].name(),
        Some("collect-fn3-errors")
    );
    assert_eq!(g.auto_rollback_configuration().unwrap().events().len(), 3);

    let run = run_shift(&w, &plan, ShiftState::default(), 1000).await;
    let Decision::Succeed {
        progress,
        output_variables,
    } = &run.decision
    else {
        panic!("{:?}", run.decision)
    };
    assert_eq!(progress.percent_complete, Some(100));
    assert_eq!(output_variables["collect-fn4"], "2");
    assert_eq!(output_variables["ReleaseId"], plan.release.release_id);
    assert_eq!(output_variables["Commit"], "4f2a9c1e0b7d");
    for n in &names {
        assert_eq!(
            alias_state(&w.lambda, n).await,
            Some(("2".into(), None)),
            "{n}"
        );
        // One deployment each, described with the release, weights rising
        // 10 % per simulated minute.
        let d = group_deployments(&w, n).await;
        assert_eq!(d.len(), 1, "{n}");
        let desc = d[0].description().unwrap();
        assert!(
            desc.contains(&plan.release.release_id) && desc.contains("4f2a9c1e0b7d"),
            "{desc}"
        );
        let hist = w
            .sim
            .sim()
            .codedeploy
            .traffic_history(d[0].deployment_id().unwrap());
        let weights: Vec<f64> = hist.iter().map(|(_, w)| *w).collect();
        let want: Vec<f64> = (1..=10).map(|k| k as f64 / 10.0).collect();
        assert!(
            weights.len() == 10 && weights.iter().zip(&want).all(|(a, b)| (a - b).abs() < 1e-9),
            "{n}: {weights:?}"
        );
        for p in hist.windows(2) {
            assert_eq!(
                p[1].0.duration_since(p[0].0).unwrap(),
                Duration::from_secs(60)
            );
        }
    }
    // The summary's traffic weight rose tick after tick, the ETA with it.
    let seen: Vec<f64> = run
        .ticks
        .iter()
        .filter_map(|t| t.progress.as_ref())
        .map(|p| weights_in(&p.summary))
        .collect();
    assert!(seen.windows(2).all(|p| p[0] <= p[1] + 1e-9), "{seen:?}");
    assert!(seen.iter().any(|w| *w > 20.0 && *w < 90.0), "{seen:?}");
    let mid = run.ticks[run.ticks.len() / 2].progress.clone().unwrap();
    assert!(mid.summary.contains("6 shifting"), "{}", mid.summary);
    assert!(mid.summary.contains("ETA"), "{}", mid.summary);
    assert!(mid.external_execution_id.unwrap().starts_with("d-"));
    // API economy: each job reads all 6 deployments with ONE
    // BatchGetDeployments and all 6 alarms with ONE DescribeAlarms.
    assert!(run.ticks.len() >= 5, "{} ticks", run.ticks.len());
    assert_eq!(run.ticks[0].describe_alarms, 1);
    for t in &run.ticks[1..] {
        assert_eq!(
            (t.batch_get_deployments, t.describe_alarms),
            (1, 1),
            "{t:?}"
        );
    }
    assert_eq!(run.ticks[0].create_deployment, 6);
    assert_eq!(
        run.ticks.iter().map(|t| t.create_deployment).sum::<usize>(),
        6
    );
    assert_eq!(
        run.ticks[0].list_deployments, 1,
        "discovery is one account-wide call"
    );
    assert!(run.ticks[1..].iter().all(|t| t.list_deployments == 0));
}

#[tokio::test]
async fn a_faulty_function_trips_its_alarm_and_the_whole_release_rolls_back() {
    // CodeDeploy's own alarm poll is slow here: the worker's watch acts.
    let w = world(SimConfig {
        alarm_poll: Duration::from_secs(3600),
        ..fast()
    })
    .await;
    // fast1, fast2 reach 100 % at once; slow shifts; bad errors half the time.
    function(&w.lambda, "c-fast1", &[None, None], Some("1")).await;
    function(&w.lambda, "c-fast2", &[None, None], Some("1")).await;
    function(&w.lambda, "c-slow", &[None, None], Some("1")).await;
    function(
        &w.lambda,
        "c-bad",
        &[None, Some(r#"{"errorRate":0.5}"#)],
        Some("1"),
    )
    .await;
    errors_alarm(&w.cw, "c-bad-errors", "c-bad", "2").await;
    errors_alarm(&w.cw, "c-slow-errors", "c-slow", "2").await;
    let plan = shift_plan(
        settings(&rid("faulty")),
        vec![
            (
                target("c-fast1", DeploymentConfig::AllAtOnce, &[]),
                Some("1"),
                "2",
            ),
            (
                target("c-fast2", DeploymentConfig::AllAtOnce, &[]),
                Some("1"),
                "2",
            ),
            (
                target("c-slow", LINEAR_1, &["c-slow-errors"]),
                Some("1"),
                "2",
            ),
            (target("c-bad", LINEAR_1, &["c-bad-errors"]), Some("1"), "2"),
        ],
    );
    run_preflight(&w, &preflight_plan(&plan))
        .await
        .expect("pre-flight");
    let run = run_shift(&w, &plan, ShiftState::default(), 1000).await;
    let Decision::Fail {
        kind,
        message,
        external_execution_id,
    } = &run.decision
    else {
        panic!("{:?}", run.decision)
    };
    assert_eq!(*kind, FailureKind::JobFailed);
    assert!(external_execution_id.as_deref().unwrap().starts_with("d-"));
    assert!(
        message.contains("alarm c-bad-errors (guarding c-bad) went into ALARM"),
        "{message}"
    );
    for needle in [
        "c-fast1: back on version 1 (alias reset; deployment",
        "c-fast2: back on version 1 (alias reset;",
        "c-slow: back on version 1",
        "c-bad: back on version 1",
    ] {
        assert!(message.contains(needle), "missing {needle:?} in {message}");
    }
    for f in ["c-fast1", "c-fast2", "c-slow", "c-bad"] {
        assert_eq!(
            alias_state(&w.lambda, f).await,
            Some(("1".into(), None)),
            "{f}"
        );
    }
    // The in-flight ones were stopped by the worker, with CodeDeploy rollback.
    for f in ["c-slow", "c-bad"] {
        let ds = group_deployments(&w, f).await;
        let ours = ds
            .iter()
            .find(|d| d.creator() == Some(&cd::types::DeploymentCreator::User))
            .unwrap();
        assert_eq!(
            ours.status(),
            Some(&cd::types::DeploymentStatus::Stopped),
            "{f}"
        );
        assert_eq!(
            ours.error_information().and_then(|e| e.code()),
            Some(&cd::types::ErrorCode::ManualStop),
            "{f}: stopped by the worker"
        );
        assert!(
            ds.iter().any(|d| d.creator()
                == Some(&cd::types::DeploymentCreator::CodeDeployRollback)
                && d.status() == Some(&cd::types::DeploymentStatus::Succeeded)),
            "{f}: rollback deployment"
        );
    }
    // The fast ones really were at 100 % before the rollback.
    let fast = group_deployments(&w, "c-fast1").await;
    assert_eq!(
        fast[0].status(),
        Some(&cd::types::DeploymentStatus::Succeeded)
    );
    let rollback_ticks = run
        .ticks
        .iter()
        .filter(|t| {
            t.progress
                .as_ref()
                .is_some_and(|p| p.summary.contains("ROLLING BACK"))
        })
        .count();
    assert!(rollback_ticks >= 1);
}

#[tokio::test]
async fn first_release_creates_the_alias_without_a_canary() {
    let w = world(fast()).await;
    function(&w.lambda, "c-new", &[None], None).await;
    function(&w.lambda, "c-old", &[None, None], Some("1")).await;
    let plan = shift_plan(
        settings(&rid("first")),
        vec![
            (target("c-new", LINEAR_1, &[]), None, "1"),
            (
                target("c-old", DeploymentConfig::AllAtOnce, &[]),
                Some("1"),
                "2",
            ),
        ],
    );
    let r = run_preflight(&w, &preflight_plan(&plan))
        .await
        .expect("pre-flight");
    assert_eq!(r.first_release, vec!["c-new".to_string()]);
    let run = run_shift(&w, &plan, ShiftState::default(), 1000).await;
    let Decision::Succeed { progress, .. } = &run.decision else {
        panic!("{:?}", run.decision)
    };
    assert!(
        progress
            .summary
            .contains("First release (alias created on the new version, no canary): c-new"),
        "{}",
        progress.summary
    );
    assert_eq!(
        alias_state(&w.lambda, "c-new").await,
        Some(("1".into(), None))
    );
    assert_eq!(
        alias_state(&w.lambda, "c-old").await,
        Some(("2".into(), None))
    );
    assert!(
        group_deployments(&w, "c-new").await.is_empty(),
        "no deployment for a first release"
    );
}

#[tokio::test]
async fn an_alarm_already_in_alarm_fails_preflight_before_anything() {
    let w = world(real_time()).await;
    function(&w.lambda, "c-pay", &[None, None], Some("1")).await;
    errors_alarm(&w.cw, "c-pay-errors", "c-pay", "2").await;
    w.cw.set_alarm_state()
        .alarm_name("c-pay-errors")
        .state_value(cw::types::StateValue::Alarm)
        .state_reason("errors in production")
        .send()
        .await
        .unwrap();
    let plan = shift_plan(
        settings(&rid("alarm")),
        vec![(
            target("c-pay", LINEAR_1, &["c-pay-errors", "c-missing"]),
            Some("1"),
            "2",
        )],
    );
    let (kind, msg) = run_preflight(&w, &preflight_plan(&plan)).await.unwrap_err();
    assert_eq!(kind, FailureKind::ConfigurationError);
    assert!(
        msg.contains("alarm `c-pay-errors` (guarding c-pay) is in ALARM (errors in production)"),
        "{msg}"
    );
    assert!(
        msg.contains("alarm `c-missing` (guarding c-pay) does not exist"),
        "{msg}"
    );
    assert!(msg.contains("nothing was published"), "{msg}");
    // Nothing was created either.
    assert_eq!(
        w.sim
            .sim()
            .log
            .query(0, Some("codedeploy"), Some("CreateDeploymentGroup"))
            .len(),
        0
    );
    assert_eq!(
        w.sim
            .sim()
            .log
            .query(0, Some("codedeploy"), Some("CreateDeployment"))
            .len(),
        0
    );
}

#[tokio::test]
async fn a_foreign_deployment_is_waited_for_then_named() {
    let w = world(fast()).await;
    function(&w.lambda, "c-busy", &[None, None, None], Some("1")).await;
    let mut release = settings(&rid("busy"));
    release.foreign_wait = Duration::from_secs(120);
    let plan = shift_plan(
        release,
        vec![(target("c-busy", LINEAR_1, &[]), Some("1"), "3")],
    );
    run_preflight(&w, &preflight_plan(&plan))
        .await
        .expect("first pre-flight creates the group");
    // Someone else shifts the alias slowly in our group.
    let content = r#"{"version":0.0,"Resources":[{"c-busy":{"Type":"AWS::Lambda::Function","Properties":{"Name":"c-busy","Alias":"live","CurrentVersion":"1","TargetVersion":"2"}}}]}"#;
    let foreign =
        w.cd.create_deployment()
            .application_name(APP)
            .deployment_group_name("c-busy")
            .deployment_config_name("CodeDeployDefault.LambdaLinear10PercentEvery10Minutes")
            .description("manual hotfix by ops")
            .revision(
                cd::types::RevisionLocation::builder()
                    .revision_type(cd::types::RevisionLocationType::AppSpecContent)
                    .app_spec_content(
                        cd::types::AppSpecContent::builder()
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
    let before = w
        .sim
        .sim()
        .log
        .query(0, Some("codedeploy"), Some("ListDeployments"))
        .len();
    let (kind, msg) = run_preflight(&w, &preflight_plan(&plan)).await.unwrap_err();
    assert_eq!(kind, FailureKind::ConfigurationError);
    assert!(
        msg.contains(&format!("active deployment {foreign}")),
        "{msg}"
    );
    assert!(msg.contains("stop-deployment"), "{msg}");
    let polls = w
        .sim
        .sim()
        .log
        .query(0, Some("codedeploy"), Some("ListDeployments"))
        .len()
        - before;
    assert!(polls >= 2, "waited over several jobs: {polls}");
}

#[tokio::test]
async fn a_console_retry_attaches_to_the_running_deployments() {
    let w = world(fast()).await;
    for n in ["c-a", "c-b", "c-c"] {
        function(&w.lambda, n, &[None, None], Some("1")).await;
    }
    let plan = shift_plan(
        settings(&rid("retry")),
        ["c-a", "c-b", "c-c"]
            .iter()
            .map(|n| (target(n, LINEAR_1, &[]), Some("1"), "2"))
            .collect(),
    );
    run_preflight(&w, &preflight_plan(&plan))
        .await
        .expect("pre-flight");
    // The first job sequence shifts for two jobs, then is lost (job failed
    // or timed out without a token). The deployments are still running when
    // the retry comes: simulated time moves only between jobs.
    let first = run_shift(&w, &plan, ShiftState::default(), 2).await;
    assert!(
        matches!(first.decision, Decision::Continue(_)),
        "{:?}",
        first.decision
    );
    assert_eq!(first.state.deployment_ids().len(), 3);
    // Console retry: a new job, same pipeline execution, no token.
    let r = run_preflight(&w, &preflight_plan(&plan))
        .await
        .expect("pre-flight on retry");
    assert_eq!(r.attach.len(), 3, "{:?}", r.attach);
    let again = run_shift(&w, &plan, ShiftState::default(), 1000).await;
    assert!(
        matches!(again.decision, Decision::Succeed { .. }),
        "{:?}",
        again.decision
    );
    assert_eq!(again.state.deployment_ids(), first.state.deployment_ids());
    assert_eq!(
        again
            .ticks
            .iter()
            .map(|t| t.create_deployment)
            .sum::<usize>(),
        0
    );
    for n in ["c-a", "c-b", "c-c"] {
        assert_eq!(
            group_deployments(&w, n).await.len(),
            1,
            "{n}: not duplicated"
        );
        assert_eq!(alias_state(&w.lambda, n).await, Some(("2".into(), None)));
    }
}

#[tokio::test]
async fn sixty_functions_with_max_parallel_20_shift_in_waves() {
    let w = world(fast()).await;
    let names: Vec<String> = (0..60).map(|i| format!("collect-f{i:02}")).collect();
    let mut setup = tokio::task::JoinSet::new();
    for n in names.clone() {
        let (l, c) = (w.lambda.clone(), w.cw.clone());
        setup.spawn(async move {
            function(&l, &n, &[None, None], Some("1")).await;
            errors_alarm(&c, &format!("{n}-errors"), &n, "2").await;
        });
    }
    while let Some(r) = setup.join_next().await {
        r.expect("setup task");
    }
    errors_alarm(&w.cw, "collect-5xx", "collect-f00", "1").await;
    let mut release = settings(&rid("sixty"));
    release.max_parallel = 20;
    // A custom config: pre-flight creates `PipelineCanary.Canary10Percent1Minute`.
    let canary = DeploymentConfig::Canary {
        percent: 10,
        minutes: 1,
    };
    let alarm_names: Vec<String> = names.iter().map(|n| format!("{n}-errors")).collect();
    let plan = shift_plan(
        release,
        names
            .iter()
            .zip(&alarm_names)
            .map(|(n, a)| {
                (
                    target(n, canary, &[a.as_str(), "collect-5xx"]),
                    Some("1"),
                    "2",
                )
            })
            .collect(),
    );
    let r = run_preflight(&w, &preflight_plan(&plan))
        .await
        .expect("pre-flight");
    assert!(
        r.ensured
            .iter()
            .any(|e| e == "created deployment config PipelineCanary.Canary10Percent1Minute"),
        "{:?}",
        r.ensured
    );
    let run = run_shift(&w, &plan, ShiftState::default(), 1000).await;
    assert!(
        matches!(run.decision, Decision::Succeed { .. }),
        "{:?}",
        run.decision
    );
    let max_active = run.ticks.iter().map(|t| t.active_after).max().unwrap();
    // Never more than MaxParallel in flight. A create the sim throttles is
    // not retried within its tick (the canary's clients make each
    // CreateDeployment at most once per decision), so a wave may start
    // smaller and fill up at the next tick.
    assert!(
        (1..=20).contains(&max_active),
        "never more than MaxParallel in flight: {max_active}"
    );
    assert!(
        (1..=20).contains(&run.ticks[0].create_deployment),
        "first wave: {}",
        run.ticks[0].create_deployment
    );
    assert_eq!(
        run.ticks.iter().map(|t| t.create_deployment).sum::<usize>(),
        60
    );
    // Each job: ≤ 3 BatchGetDeployments (≤ 25 ids each) and 1 DescribeAlarms
    // for 61 alarms.
    for t in &run.ticks {
        assert!(t.batch_get_deployments <= 3, "{t:?}");
        assert_eq!(t.describe_alarms, 1, "{t:?}");
    }
    assert_eq!(run.ticks.last().unwrap().batch_get_deployments, 3);
    for n in [&names[0], &names[59]] {
        assert_eq!(alias_state(&w.lambda, n).await, Some(("2".into(), None)));
    }
    // Waves: the last function started after the first ones finished.
    let first = &group_deployments(&w, &names[0]).await[0];
    let last = &group_deployments(&w, &names[59]).await[0];
    assert!(
        last.create_time().unwrap().as_secs_f64() >= first.complete_time().unwrap().as_secs_f64()
    );
    assert_eq!(run.state.deployment_ids().len(), 60);
}

#[tokio::test]
async fn break_glass_releases_all_at_once_despite_a_firing_alarm() {
    let w = world(real_time()).await;
    function(&w.lambda, "c-hot", &[None, None], Some("1")).await;
    errors_alarm(&w.cw, "c-hot-errors", "c-hot", "1").await;
    w.cw.set_alarm_state()
        .alarm_name("c-hot-errors")
        .state_value(cw::types::StateValue::Alarm)
        .state_reason("the bug being hotfixed")
        .send()
        .await
        .unwrap();
    let mut release = settings(&rid("glass"));
    release.break_glass = Some("INC-1234 checkout down".to_string());
    let plan = shift_plan(
        release,
        vec![(target("c-hot", LINEAR_1, &["c-hot-errors"]), Some("1"), "2")],
    );
    run_preflight(&w, &preflight_plan(&plan))
        .await
        .expect("pre-flight passes under break-glass");
    let run = run_shift(&w, &plan, ShiftState::default(), 1000).await;
    let Decision::Succeed { progress, .. } = &run.decision else {
        panic!("{:?}", run.decision)
    };
    assert!(
        progress.summary.contains("BREAK-GLASS"),
        "{}",
        progress.summary
    );
    assert!(progress.summary.contains("INC-1234 checkout down"));
    let d = &group_deployments(&w, "c-hot").await[0];
    assert_eq!(
        d.deployment_config_name(),
        Some("CodeDeployDefault.LambdaAllAtOnce")
    );
    assert!(
        d.description()
            .unwrap()
            .contains("BREAK-GLASS: INC-1234 checkout down")
    );
    assert_eq!(
        d.override_alarm_configuration().map(|a| a.enabled()),
        Some(false)
    );
    assert_eq!(
        alias_state(&w.lambda, "c-hot").await,
        Some(("2".into(), None))
    );
    // No alarm was read during the shift.
    assert!(run.ticks.iter().all(|t| t.describe_alarms == 0));
}

#[tokio::test]
async fn hooks_run_before_traffic_shifts() {
    let w = world(fast()).await;
    function(&w.lambda, "c-hooked", &[None, None], Some("1")).await;
    function(&w.lambda, "c-pre", &[Some(r#"{"hook":"succeed"}"#)], None).await;
    let mut t = target("c-hooked", LINEAR_1, &[]);
    t.hooks.before_allow_traffic = Some("c-pre".to_string());
    let plan = shift_plan(settings(&rid("hooks")), vec![(t, Some("1"), "2")]);
    run_preflight(&w, &preflight_plan(&plan))
        .await
        .expect("pre-flight");
    let run = run_shift(&w, &plan, ShiftState::default(), 1000).await;
    assert!(
        matches!(run.decision, Decision::Succeed { .. }),
        "{:?}",
        run.decision
    );
    let id = run.state.deployment_ids()[0].clone();
    let dt =
        w.cd.get_deployment_target()
            .deployment_id(&id)
            .target_id("c-hooked:live")
            .send()
            .await
            .unwrap();
    let events: Vec<(String, String)> = dt
        .deployment_target()
        .unwrap()
        .lambda_target()
        .unwrap()
        .lifecycle_events()
        .iter()
        .map(|e| {
            (
                e.lifecycle_event_name().unwrap().to_string(),
                e.status().unwrap().as_str().to_string(),
            )
        })
        .collect();
    assert_eq!(
        events[0],
        ("BeforeAllowTraffic".to_string(), "Succeeded".to_string())
    );
    // A missing hook function is caught before anything shifts.
    let mut t = target("c-hooked", LINEAR_1, &[]);
    t.hooks.after_allow_traffic = Some("c-nope".to_string());
    let plan = shift_plan(settings(&rid("hooks2")), vec![(t, Some("2"), "1")]);
    let (_, msg) = run_preflight(&w, &preflight_plan(&plan)).await.unwrap_err();
    assert!(
        msg.contains("hook function `c-nope` does not exist"),
        "{msg}"
    );
}

/// A worker restart mid-shift (the state survives only as its token), an
/// alarm that fires for a moment (the worker's own watch rolls everything
/// back), then a console retry once it is OK again: the release completes.
#[tokio::test]
async fn restart_mid_shift_then_alarm_rollback_then_retry_succeeds() {
    let w = world(SimConfig {
        alarm_poll: Duration::from_secs(3600),
        ..fast()
    })
    .await;
    let names = ["c-x", "c-y", "c-z"];
    for n in names {
        function(&w.lambda, n, &[None, None], Some("1")).await;
    }
    // A guard with no data: OK until someone sets it.
    errors_alarm(&w.cw, "collect-5xx", "c-nothing", "1").await;
    let plan = shift_plan(
        settings(&rid("restart")),
        names
            .iter()
            .map(|n| (target(n, LINEAR_1, &["collect-5xx"]), Some("1"), "2"))
            .collect(),
    );
    run_preflight(&w, &preflight_plan(&plan))
        .await
        .expect("pre-flight");
    // The shift must still run when the alarm fires: simulated time moves
    // only when the test (or the harness, between jobs) moves it, so the
    // 9-minute schedule cannot end within the jobs below, whatever the
    // machine's load.
    let clock = &w.sim.sim().clock;
    let first = run_shift(&w, &plan, ShiftState::default(), 2).await;
    assert!(matches!(first.decision, Decision::Continue(_)));
    // Two minutes into the shift: 30 % on the new version.
    clock.advance(Duration::from_secs(90));
    w.sim.sim().tick();
    for n in names {
        let (version, weight) = alias_state(&w.lambda, n).await.unwrap();
        assert_eq!(version, "1", "{n}");
        assert!(
            weight.is_some_and(|w| (w - 0.3).abs() < 1e-9),
            "{n}: mid-shift, {weight:?}"
        );
    }
    // The worker dies; another one resumes from what the release record
    // keeps alone, with new clients.
    let other = CanaryAdapters::new(&e2e::sdk_config(&w.sim.endpoint()));
    let resumed = first.state.persisted();
    let second = run_shift_with(&w, &other, &plan, resumed, 3).await;
    assert!(matches!(second.decision, Decision::Continue(_)));
    assert_eq!(second.state.deployment_ids(), first.state.deployment_ids());
    assert_eq!(
        second
            .ticks
            .iter()
            .map(|t| t.create_deployment)
            .sum::<usize>(),
        0
    );
    // The alarm fires for a moment: until its next evaluation, at the next
    // simulated minute. Simulated time still stands still until the worker
    // has looked once (it sees the alarm and starts rolling back), so the
    // moment cannot slip by between two looks.
    w.cw.set_alarm_state()
        .alarm_name("collect-5xx")
        .state_value(cw::types::StateValue::Alarm)
        .state_reason("5xx spike")
        .send()
        .await
        .unwrap();
    let seen = run_shift(&w, &plan, second.state, 1).await;
    assert!(seen.state.is_rolling_back(), "{:?}", seen.decision);
    let third = run_shift(&w, &plan, seen.state, 1000).await;
    let Decision::Fail { message, .. } = &third.decision else {
        panic!("{:?}", third.decision)
    };
    assert!(
        message.contains("alarm collect-5xx (guarding c-x, c-y, c-z) went into ALARM: 5xx spike"),
        "{message}"
    );
    for n in names {
        assert_eq!(
            alias_state(&w.lambda, n).await,
            Some(("1".into(), None)),
            "{n}"
        );
    }
    // Once the alarm is OK again (its next evaluation, within a simulated
    // minute, finds no data: not breaching), the console retry releases
    // everything.
    clock.advance(Duration::from_secs(60));
    w.sim.sim().tick();
    let a =
        w.cw.describe_alarms()
            .alarm_names("collect-5xx")
            .send()
            .await
            .unwrap();
    assert_eq!(
        a.metric_alarms()[0].state_value(),
        Some(&cw::types::StateValue::Ok),
        "the alarm recovered at its next evaluation"
    );
    let r = run_preflight(&w, &preflight_plan(&plan))
        .await
        .expect("pre-flight of the retry");
    assert!(
        r.attach.is_empty(),
        "stopped deployments are not attached to"
    );
    let retry = run_shift(&w, &plan, ShiftState::default(), 1000).await;
    assert!(
        matches!(retry.decision, Decision::Succeed { .. }),
        "{:?}",
        retry.decision
    );
    for n in names {
        assert_eq!(
            alias_state(&w.lambda, n).await,
            Some(("2".into(), None)),
            "{n}"
        );
        let users = group_deployments(&w, n)
            .await
            .into_iter()
            .filter(|d| d.creator() == Some(&cd::types::DeploymentCreator::User))
            .count();
        assert_eq!(users, 2, "{n}: the stopped one and the retry's");
    }
}
