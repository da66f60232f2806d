//! Unit tests of the pure canary decisions: naming, AppSpecs, pre-flight
//! and every shift transition (waves, partial failures, alarms, retries,
//! first releases, break-glass), and the size of the token state.

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::preflight::{PREFLIGHT_ROUNDS, wanted_group};
use super::shift::{self, Slot, scheduled_weight};
use super::*;
use crate::report::FailureKind;

const APP: &str = "shop";
const ROLE: &str = "arn:aws:iam::123456789012:role/cd";

fn t(s: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_800_000_000 + s)
}

fn settings() -> ReleaseSettings {
    ReleaseSettings {
        release_id: release_id("collect", "Prod", "Release", "exec-1"),
        commit: Some("0123456789abcdef".into()),
        application: APP.into(),
        service_role_arn: ROLE.into(),
        max_parallel: usize::MAX,
        break_glass: None,
        foreign_wait: Duration::from_secs(600),
        pace: crate::canary::pace::Pace::UNPACED,
        observe_every: Duration::ZERO,
    }
}

fn linear() -> DeploymentConfig {
    DeploymentConfig::Linear {
        percent: 10,
        every_minutes: 1,
    }
}

fn target(name: &str) -> FunctionTarget {
    FunctionTarget {
        function: name.into(),
        alias: "live".into(),
        config: linear(),
        alarms: vec![format!("{name}-errors"), "collect-5xx".into()],
        hooks: Hooks::default(),
        analysis: None,
    }
}

fn plan(n: usize) -> ShiftPlan {
    ShiftPlan {
        release: settings(),
        functions: (0..n)
            .map(|i| FunctionShift {
                target: target(&format!("f{i}")),
                current_version: Some("1".into()),
                target_version: "2".into(),
                serving_target: false,
                code_only: false,
            })
            .collect(),
    }
}

fn id(i: usize) -> String {
    format!("d-AAAAAA{i:03}")
}

fn dep(p: &ShiftPlan, i: usize, status: DeploymentStatus) -> DeploymentView {
    DeploymentView {
        id: id(i),
        application: APP.into(),
        group: p.functions[i].target.group(),
        status,
        error: None,
        description: deployment_description(&p.release),
        is_rollback: false,
        create_time: Some(t(0)),
        start_time: Some(t(0)),
        current_version: Some("1".into()),
        target_version: Some("2".into()),
        rollback_deployment_id: None,
    }
}

fn alarm(name: &str, state: AlarmState) -> AlarmView {
    AlarmView {
        name: name.into(),
        state,
        reason: "Threshold Crossed: 1 datapoint [3.0] > 0.0".into(),
    }
}

fn ticked(deps: Vec<DeploymentView>, alarms: Vec<AlarmView>) -> Vec<CanaryObservation> {
    vec![
        CanaryObservation::Deployments(deps),
        CanaryObservation::Alarms {
            asked: vec![],
            found: alarms,
        },
    ]
}

fn first_tick(deps: Vec<DeploymentView>) -> Vec<CanaryObservation> {
    let mut v = ticked(deps, vec![]);
    v.push(CanaryObservation::Discovered);
    v
}

/// The state after a hand-back: what the release record keeps.
fn reload(s: &ShiftState) -> ShiftState {
    s.persisted()
}

fn actions(d: Decision<CanaryAction>) -> Vec<CanaryAction> {
    match d {
        Decision::Perform(a) => a,
        other => panic!("expected Perform, got {other:?}"),
    }
}

fn creates(a: &[CanaryAction]) -> Vec<usize> {
    a.iter()
        .filter_map(|a| match a {
            CanaryAction::CreateDeployment { index, .. } => Some(*index),
            _ => None,
        })
        .collect()
}

/// Starts a release of `p` and records deployments for the created ones.
fn started(p: &ShiftPlan) -> (ShiftState, Vec<usize>) {
    let mut s = ShiftState::default();
    actions(decide_shift(p, &mut s, vec![], t(0)));
    let a = actions(decide_shift(p, &mut s, first_tick(vec![]), t(0)));
    let made = creates(&a);
    let obs = made
        .iter()
        .map(|&i| CanaryObservation::DeploymentCreated {
            index: i,
            deployment_id: id(i),
        })
        .collect();
    let d = decide_shift(p, &mut s, obs, t(0));
    assert!(matches!(d, Decision::Continue(_)), "{d:?}");
    (reload(&s), made)
}

// ---- naming and AppSpec ----

#[test]
fn release_id_is_deterministic_per_pipeline_execution() {
    let a = release_id("collect", "Prod", "Release", "exec-1");
    assert_eq!(a, release_id("collect", "Prod", "Release", "exec-1"));
    assert_ne!(a, release_id("collect", "Prod", "Release", "exec-2"));
    assert_ne!(a, release_id("collect", "Staging", "Release", "exec-1"));
    assert!(a.starts_with("r-") && a.len() == 18, "{a}");
}

#[test]
fn group_names_fit_codedeploy() {
    assert_eq!(deployment_group_name("collect-orders"), "collect-orders");
    assert_eq!(
        deployment_group_name("arn:aws:lambda:us-east-1:123456789012:function:orders:live"),
        "orders"
    );
    let long = "x".repeat(140);
    let g = deployment_group_name(&long);
    assert_eq!(g.len(), 100);
    assert_ne!(g, deployment_group_name(&"x".repeat(141)));
}

#[test]
fn description_marks_the_release_and_break_glass() {
    let mut r = settings();
    let d = deployment_description(&r);
    assert!(is_ours(&d, &r.release_id));
    assert!(!is_ours(&d, "r-0000000000000000"));
    assert!(d.contains("commit 0123456789abcdef"));
    r.break_glass = Some("hotfix INC-42".into());
    let d = deployment_description(&r);
    assert!(d.contains("BREAK-GLASS: hotfix INC-42"), "{d}");
    assert!(is_ours(&d, &r.release_id));
}

#[test]
fn appspec_round_trips_and_yaml_is_read() {
    let mut f = target("orders");
    f.hooks.before_allow_traffic = Some("pre".into());
    let a = appspec(&f, "41", "42");
    let v: serde_json::Value = serde_json::from_str(&a).unwrap();
    assert_eq!(v["Resources"][0]["orders"]["Properties"]["Alias"], "live");
    assert_eq!(v["Hooks"][0]["BeforeAllowTraffic"], "pre");
    assert_eq!(appspec_versions(&a), Some(("41".into(), "42".into())));
    let yaml = "version: 0.0\nResources:\n  - f:\n      Type: AWS::Lambda::Function\n      Properties:\n        Name: f\n        Alias: live\n        CurrentVersion: \"3\"\n        TargetVersion: '4'\n";
    assert_eq!(appspec_versions(yaml), Some(("3".into(), "4".into())));
}

#[test]
fn output_variables_name_each_function() {
    let p = plan(2);
    let o = p.output_variables();
    assert_eq!(o["ReleaseId"], p.release.release_id);
    assert_eq!(o["Commit"], "0123456789abcdef");
    assert_eq!(o["f0"], "2");
    assert_eq!(o.len(), 4);
}

// ---- pre-flight ----

fn pf_plan() -> PreflightPlan {
    let mut custom = target("quote");
    custom.config = DeploymentConfig::Canary {
        percent: 25,
        minutes: 2,
    };
    custom.hooks.before_allow_traffic = Some("smoke".into());
    PreflightPlan {
        release: settings(),
        functions: vec![target("orders"), custom],
    }
}

fn alias(version: &str) -> AliasView {
    AliasView {
        version: version.into(),
        routing: None,
        revision_id: Some("rev-1".into()),
    }
}

/// A complete, healthy observation of `p`'s world.
fn healthy(p: &PreflightPlan) -> Vec<CanaryObservation> {
    let mut v = vec![CanaryObservation::Application(Some("Lambda".into()))];
    for i in 0..p.functions.len() {
        let g = wanted_group(p, i);
        v.push(CanaryObservation::Group {
            name: g.name.clone(),
            spec: Some(g),
        });
        v.push(CanaryObservation::Alias {
            index: None,
            function: p.functions[i].function.clone(),
            alias: Some(alias("1")),
        });
    }
    v.push(CanaryObservation::DeploymentConfig {
        name: "PipelineCanary.Canary25Percent2Minutes".into(),
        routing: Some(TrafficRouting::Canary {
            percent: 25,
            minutes: 2,
        }),
    });
    v.push(CanaryObservation::Deployments(vec![]));
    let names = ["orders-errors", "collect-5xx", "quote-errors"];
    v.push(CanaryObservation::Alarms {
        asked: names.iter().map(|s| s.to_string()).collect(),
        found: names.iter().map(|n| alarm(n, AlarmState::Ok)).collect(),
    });
    v.push(CanaryObservation::HookFunction {
        name: "smoke".into(),
        exists: true,
    });
    v
}

fn replace(
    mut obs: Vec<CanaryObservation>,
    f: impl Fn(&CanaryObservation) -> bool,
    with: CanaryObservation,
) -> Vec<CanaryObservation> {
    let i = obs.iter().position(f).expect("observation to replace");
    obs[i] = with;
    obs
}

fn fail_message(p: Preflight) -> String {
    match p {
        Preflight::Next(Decision::Fail { kind, message, .. }) => {
            assert_eq!(kind, FailureKind::ConfigurationError);
            message
        }
        other => panic!("expected a failure, got {other:?}"),
    }
}

#[test]
fn preflight_observes_everything_once() {
    let p = pf_plan();
    let mut s = PreflightState::default();
    let Preflight::Next(Decision::Perform(a)) = decide_preflight(&p, &mut s, vec![], t(0)) else {
        panic!()
    };
    assert_eq!(
        a,
        vec![CanaryAction::ObservePreflight {
            application: APP.into(),
            groups: vec!["orders".into(), "quote".into()],
            aliases: vec![
                ("orders".into(), "live".into()),
                ("quote".into(), "live".into())
            ],
            configs: vec![DeploymentConfig::Canary {
                percent: 25,
                minutes: 2
            }],
            alarms: vec![
                "orders-errors".into(),
                "collect-5xx".into(),
                "quote-errors".into()
            ],
            hooks: vec!["smoke".into()],
        }]
    );
}

#[test]
fn preflight_healthy_world_is_ready_without_calls() {
    let p = pf_plan();
    let mut s = PreflightState::default();
    decide_preflight(&p, &mut s, vec![], t(0));
    let Preflight::Ready(r) = decide_preflight(&p, &mut s, healthy(&p), t(0)) else {
        panic!()
    };
    assert!(r.first_release.is_empty() && r.attach.is_empty() && r.ensured.is_empty());
    assert_eq!(r.aliases["orders"].version, "1");
}

#[test]
fn preflight_creates_app_config_and_groups_in_order() {
    let p = pf_plan();
    let mut s = PreflightState::default();
    decide_preflight(&p, &mut s, vec![], t(0));
    let mut obs = replace(
        healthy(&p),
        |o| matches!(o, CanaryObservation::Application(_)),
        CanaryObservation::Application(None),
    );
    obs = replace(
        obs,
        |o| matches!(o, CanaryObservation::DeploymentConfig { .. }),
        CanaryObservation::DeploymentConfig {
            name: "PipelineCanary.Canary25Percent2Minutes".into(),
            routing: None,
        },
    );
    for g in ["orders", "quote"] {
        obs = replace(
            obs,
            |o| matches!(o, CanaryObservation::Group { name, .. } if name == g),
            CanaryObservation::Group {
                name: g.into(),
                spec: None,
            },
        );
    }
    // First release of quote: no alias.
    obs = replace(
        obs,
        |o| matches!(o, CanaryObservation::Alias { function, .. } if function == "quote"),
        CanaryObservation::Alias {
            index: None,
            function: "quote".into(),
            alias: None,
        },
    );
    let Preflight::Next(Decision::Perform(a)) = decide_preflight(&p, &mut s, obs, t(0)) else {
        panic!()
    };
    assert!(matches!(&a[0], CanaryAction::CreateApplication { application } if application == APP));
    assert!(
        matches!(&a[1], CanaryAction::CreateDeploymentConfig { config } if !config.is_predefined())
    );
    match &a[2] {
        CanaryAction::PutDeploymentGroup { spec, exists } => {
            assert!(!exists);
            assert_eq!(spec.name, "orders");
            assert_eq!(spec.service_role_arn, ROLE);
            assert_eq!(
                spec.deployment_config_name,
                "CodeDeployDefault.LambdaLinear10PercentEvery1Minute"
            );
            assert_eq!(spec.alarms, vec!["orders-errors", "collect-5xx"]);
            assert!(spec.managed_rollback_and_style);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(a.len(), 4);
    let done = a
        .iter()
        .map(|_| CanaryObservation::Ensured { what: "ok".into() })
        .collect();
    let Preflight::Ready(r) = decide_preflight(&p, &mut s, done, t(0)) else {
        panic!()
    };
    assert_eq!(r.first_release, vec!["quote".to_string()]);
    assert_eq!(r.ensured.len(), 4);
}

#[test]
fn preflight_updates_a_drifted_group() {
    let p = pf_plan();
    let mut s = PreflightState::default();
    decide_preflight(&p, &mut s, vec![], t(0));
    let mut drifted = wanted_group(&p, 0);
    drifted.alarms = vec!["old-alarm".into()];
    drifted.managed_rollback_and_style = false;
    assert_eq!(
        drifted.drift(&wanted_group(&p, 0)),
        vec![
            "alarmConfiguration",
            "autoRollbackConfiguration/deploymentStyle"
        ]
    );
    let obs = replace(
        healthy(&p),
        |o| matches!(o, CanaryObservation::Group { name, .. } if name == "orders"),
        CanaryObservation::Group {
            name: "orders".into(),
            spec: Some(drifted),
        },
    );
    let Preflight::Next(Decision::Perform(a)) = decide_preflight(&p, &mut s, obs, t(0)) else {
        panic!()
    };
    assert_eq!(
        a,
        vec![CanaryAction::PutDeploymentGroup {
            spec: wanted_group(&p, 0),
            exists: true
        }]
    );
    // The update fails: the fix is named.
    let r = decide_preflight(
        &p,
        &mut s,
        vec![CanaryObservation::CallFailed {
            what: "UpdateDeploymentGroup deployment group orders".into(),
            index: None,
            code: "InvalidRoleException".into(),
            message: "bad role".into(),
        }],
        t(0),
    );
    let m = fail_message(r);
    assert!(m.contains("CodeDeployServiceRoleArn"), "{m}");
}

#[test]
fn preflight_retries_an_ensure_call_that_failed_for_a_transient_reason_then_reports_an_outage() {
    let p = pf_plan();
    let mut s = PreflightState::default();
    let missing = |p: &PreflightPlan| {
        replace(
            healthy(p),
            |o| matches!(o, CanaryObservation::Group { name, .. } if name == "orders"),
            CanaryObservation::Group {
                name: "orders".into(),
                spec: None,
            },
        )
    };
    let unavailable = || {
        vec![CanaryObservation::CallFailed {
            what: "CreateDeploymentGroup deployment group orders".into(),
            index: None,
            code: "Transient".into(),
            message: "ServiceUnavailableException (HTTP 503): Service is unavailable".into(),
        }]
    };
    let create = CanaryAction::PutDeploymentGroup {
        spec: wanted_group(&p, 0),
        exists: false,
    };
    decide_preflight(&p, &mut s, vec![], t(0));
    for round in 1..=PREFLIGHT_ROUNDS {
        let Preflight::Next(Decision::Perform(a)) = decide_preflight(&p, &mut s, missing(&p), t(0))
        else {
            panic!("round {round}: the ensure round")
        };
        assert_eq!(a, vec![create.clone()], "round {round}");
        let r = decide_preflight(&p, &mut s, unavailable(), t(0));
        if round < PREFLIGHT_ROUNDS {
            // Not a configuration problem: pre-flight looks again.
            let Preflight::Next(Decision::Perform(a)) = r else {
                panic!("round {round}: {r:?}")
            };
            assert!(
                matches!(a.as_slice(), [CanaryAction::ObservePreflight { .. }]),
                "round {round}: {a:?}"
            );
            continue;
        }
        let Preflight::Next(Decision::Fail { kind, message, .. }) = r else {
            panic!("{r:?}")
        };
        assert_eq!(kind, FailureKind::SystemUnavailable, "{message}");
        assert!(
            message.contains("CreateDeploymentGroup deployment group orders")
                && message.contains("nothing was published or shifted")
                && message.contains("retry the stage")
                && !message.contains("fix the action configuration"),
            "{message}"
        );
    }
    // Once it goes through, pre-flight is ready.
    let mut s = PreflightState::default();
    decide_preflight(&p, &mut s, vec![], t(0));
    decide_preflight(&p, &mut s, missing(&p), t(0));
    decide_preflight(&p, &mut s, unavailable(), t(0));
    decide_preflight(&p, &mut s, missing(&p), t(0));
    let r = decide_preflight(
        &p,
        &mut s,
        vec![CanaryObservation::Ensured {
            what: "created deployment group orders".into(),
        }],
        t(0),
    );
    assert!(matches!(r, Preflight::Ready(_)), "{r:?}");
}

#[test]
fn preflight_reports_every_problem_at_once() {
    let p = pf_plan();
    let mut s = PreflightState::default();
    decide_preflight(&p, &mut s, vec![], t(0));
    let mut obs = healthy(&p);
    obs = replace(
        obs,
        |o| matches!(o, CanaryObservation::Alarms { .. }),
        CanaryObservation::Alarms {
            asked: vec![
                "orders-errors".into(),
                "collect-5xx".into(),
                "quote-errors".into(),
            ],
            found: vec![
                alarm("orders-errors", AlarmState::Alarm),
                alarm("collect-5xx", AlarmState::Ok),
            ],
        },
    );
    obs = replace(
        obs,
        |o| matches!(o, CanaryObservation::HookFunction { .. }),
        CanaryObservation::HookFunction {
            name: "smoke".into(),
            exists: false,
        },
    );
    obs = replace(
        obs,
        |o| matches!(o, CanaryObservation::Alias { function, .. } if function == "orders"),
        CanaryObservation::Alias {
            index: None,
            function: "orders".into(),
            alias: Some(AliasView {
                version: "1".into(),
                routing: Some(("2".into(), 0.3)),
                revision_id: None,
            }),
        },
    );
    obs = replace(
        obs,
        |o| matches!(o, CanaryObservation::DeploymentConfig { .. }),
        CanaryObservation::DeploymentConfig {
            name: "PipelineCanary.Canary25Percent2Minutes".into(),
            routing: Some(TrafficRouting::Canary {
                percent: 25,
                minutes: 5,
            }),
        },
    );
    obs = replace(
        obs,
        |o| matches!(o, CanaryObservation::Application(_)),
        CanaryObservation::Application(Some("Server".into())),
    );
    let m = fail_message(decide_preflight(&p, &mut s, obs, t(0)));
    for needle in [
        "6 problem(s)",
        "alarm `orders-errors` (guarding orders) is in ALARM",
        "alarm `quote-errors` (guarding quote) does not exist",
        "hook function `smoke` does not exist",
        "alias live of orders serves version 1 with 30 % routed to version 2",
        "`PipelineCanary.Canary25Percent2Minutes` exists with different traffic routing",
        "compute platform Server",
    ] {
        assert!(m.contains(needle), "missing {needle:?} in {m}");
    }
}

#[test]
fn preflight_break_glass_ignores_alarm_state() {
    let mut p = pf_plan();
    p.release.break_glass = Some("hotfix".into());
    let mut s = PreflightState::default();
    decide_preflight(&p, &mut s, vec![], t(0));
    let obs = replace(
        healthy(&p),
        |o| matches!(o, CanaryObservation::Alarms { .. }),
        CanaryObservation::Alarms {
            asked: vec![
                "orders-errors".into(),
                "collect-5xx".into(),
                "quote-errors".into(),
            ],
            found: ["orders-errors", "collect-5xx", "quote-errors"]
                .iter()
                .map(|n| alarm(n, AlarmState::Alarm))
                .collect(),
        },
    );
    assert!(matches!(
        decide_preflight(&p, &mut s, obs, t(0)),
        Preflight::Ready(_)
    ));
}

#[test]
fn preflight_refuses_break_glass_without_a_reason() {
    let mut p = pf_plan();
    p.release.break_glass = Some("  ".into());
    let mut s = PreflightState::default();
    decide_preflight(&p, &mut s, vec![], t(0));
    let m = fail_message(decide_preflight(&p, &mut s, healthy(&p), t(0)));
    assert!(m.contains("breakGlass needs a reason"), "{m}");
}

#[test]
fn preflight_waits_for_a_foreign_deployment_then_fails_naming_it() {
    let p = pf_plan();
    let foreign = DeploymentView {
        id: "d-FOREIGN01".into(),
        application: APP.into(),
        group: "orders".into(),
        status: DeploymentStatus::InProgress,
        error: None,
        description: "someone else".into(),
        is_rollback: false,
        create_time: None,
        start_time: None,
        current_version: None,
        target_version: None,
        rollback_deployment_id: None,
    };
    // The alias is mid-shift because of it: not reported as leftover.
    let with_foreign = |p: &PreflightPlan| {
        let obs = replace(
            healthy(p),
            |o| matches!(o, CanaryObservation::Deployments(_)),
            CanaryObservation::Deployments(vec![foreign.clone()]),
        );
        replace(
            obs,
            |o| matches!(o, CanaryObservation::Alias { function, .. } if function == "orders"),
            CanaryObservation::Alias {
                index: None,
                function: "orders".into(),
                alias: Some(AliasView {
                    version: "1".into(),
                    routing: Some(("7".into(), 0.5)),
                    revision_id: None,
                }),
            },
        )
    };
    let mut s = PreflightState::default();
    decide_preflight(&p, &mut s, vec![], t(0));
    match decide_preflight(&p, &mut s, with_foreign(&p), t(0)) {
        Preflight::Next(Decision::Continue(pr)) => {
            assert!(pr.summary.contains("d-FOREIGN01"), "{}", pr.summary);
            assert_eq!(pr.external_execution_id.as_deref(), Some("d-FOREIGN01"));
        }
        other => panic!("{other:?}"),
    }
    let mut s: PreflightState = serde_json::from_str(&serde_json::to_string(&s).unwrap()).unwrap();
    assert_eq!(s.foreign_since, Some(super::secs(t(0))));
    decide_preflight(&p, &mut s, vec![], t(300));
    assert!(matches!(
        decide_preflight(&p, &mut s, with_foreign(&p), t(300)),
        Preflight::Next(Decision::Continue(_))
    ));
    decide_preflight(&p, &mut s, vec![], t(601));
    let m = fail_message(decide_preflight(&p, &mut s, with_foreign(&p), t(601)));
    assert!(
        m.contains("d-FOREIGN01") && m.contains("stop-deployment"),
        "{m}"
    );
    // Once it is gone the wait resets.
    let mut s = PreflightState::default();
    s.foreign_since = Some(1);
    decide_preflight(&p, &mut s, vec![], t(700));
    assert!(matches!(
        decide_preflight(&p, &mut s, healthy(&p), t(700)),
        Preflight::Ready(_)
    ));
    assert_eq!(s.foreign_since, None);
}

#[test]
fn preflight_attaches_to_our_own_active_deployment() {
    let p = pf_plan();
    let ours = DeploymentView {
        id: "d-OURS00001".into(),
        application: APP.into(),
        group: "orders".into(),
        status: DeploymentStatus::InProgress,
        error: None,
        description: deployment_description(&p.release),
        is_rollback: false,
        create_time: None,
        start_time: None,
        current_version: Some("1".into()),
        target_version: Some("2".into()),
        rollback_deployment_id: None,
    };
    let mut s = PreflightState::default();
    decide_preflight(&p, &mut s, vec![], t(0));
    let obs = replace(
        healthy(&p),
        |o| matches!(o, CanaryObservation::Deployments(_)),
        CanaryObservation::Deployments(vec![ours]),
    );
    let obs = replace(
        obs,
        |o| matches!(o, CanaryObservation::Alias { function, .. } if function == "orders"),
        CanaryObservation::Alias {
            index: None,
            function: "orders".into(),
            alias: Some(AliasView {
                version: "1".into(),
                routing: Some(("2".into(), 0.4)),
                revision_id: None,
            }),
        },
    );
    let Preflight::Ready(r) = decide_preflight(&p, &mut s, obs, t(0)) else {
        panic!()
    };
    assert_eq!(
        r.attach,
        vec![("orders".to_string(), "d-OURS00001".to_string())]
    );
}

// ---- shift ----

#[test]
fn first_tick_discovers_then_starts_every_deployment() {
    let p = plan(3);
    let mut s = ShiftState::default();
    let a = actions(decide_shift(&p, &mut s, vec![], t(0)));
    assert_eq!(
        a,
        vec![CanaryAction::Observe {
            application: APP.into(),
            deployments: vec![],
            alarms: vec![
                "f0-errors".into(),
                "collect-5xx".into(),
                "f1-errors".into(),
                "f2-errors".into()
            ],
            discover: true,
            find_in_groups: vec![],
            read_aliases: vec![],
            metrics: vec![],
            until: t(0),
        }]
    );
    let a = actions(decide_shift(&p, &mut s, first_tick(vec![]), t(0)));
    assert_eq!(creates(&a), vec![0, 1, 2]);
    match &a[1] {
        CanaryAction::CreateDeployment {
            group,
            config_name,
            appspec,
            description,
            override_alarms,
            ..
        } => {
            assert_eq!(group, "f1");
            assert_eq!(
                config_name,
                "CodeDeployDefault.LambdaLinear10PercentEvery1Minute"
            );
            assert_eq!(appspec_versions(appspec), Some(("1".into(), "2".into())));
            assert!(is_ours(description, &p.release.release_id));
            assert!(!override_alarms);
        }
        other => panic!("{other:?}"),
    }
    assert!(s.slots().iter().all(|x| *x == Slot::Creating));
    let obs = (0..3)
        .map(|i| CanaryObservation::DeploymentCreated {
            index: i,
            deployment_id: id(i),
        })
        .collect();
    let Decision::Continue(pr) = decide_shift(&p, &mut s, obs, t(0)) else {
        panic!()
    };
    assert_eq!(pr.external_execution_id.as_deref(), Some("d-AAAAAA000"));
    assert!(pr.summary.contains("3 shifting"), "{}", pr.summary);
    // The next job re-observes the three ids, no discovery.
    let mut s = reload(&s);
    let a = actions(decide_shift(&p, &mut s, vec![], t(30)));
    match &a[0] {
        CanaryAction::Observe {
            deployments,
            discover,
            ..
        } => {
            assert_eq!(deployments, &vec![id(0), id(1), id(2)]);
            assert!(!discover);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn progress_follows_the_schedule_and_success_reports_outputs() {
    let p = plan(3);
    let (mut s, _) = started(&p);
    actions(decide_shift(&p, &mut s, vec![], t(180)));
    let obs = ticked(
        vec![
            dep(&p, 0, DeploymentStatus::InProgress),
            dep(&p, 1, DeploymentStatus::InProgress),
            dep(&p, 2, DeploymentStatus::Created),
        ],
        vec![alarm("f0-errors", AlarmState::Ok)],
    );
    let Decision::Continue(pr) = decide_shift(&p, &mut s, obs, t(180)) else {
        panic!()
    };
    // 40 %, 40 %, not started yet: 27 % on average; ETA 9 min for f2.
    assert!(
        pr.summary.contains("0 done, 3 shifting, 0 waiting"),
        "{}",
        pr.summary
    );
    assert!(pr.summary.contains("27 % of traffic"), "{}", pr.summary);
    assert!(pr.summary.contains("ETA 9 min"), "{}", pr.summary);
    assert!(pr.summary.contains("f0 40 %"), "{}", pr.summary);
    assert_eq!(pr.percent_complete, Some(22));
    let mut s = reload(&s);
    actions(decide_shift(&p, &mut s, vec![], t(600)));
    let obs = ticked(
        (0..3)
            .map(|i| dep(&p, i, DeploymentStatus::Succeeded))
            .collect(),
        vec![],
    );
    match decide_shift(&p, &mut s, obs, t(600)) {
        Decision::Succeed {
            progress,
            output_variables,
        } => {
            assert_eq!(progress.percent_complete, Some(100));
            assert!(progress.summary.contains("3 done"), "{}", progress.summary);
            assert_eq!(output_variables["f2"], "2");
            assert_eq!(output_variables["ReleaseId"], p.release.release_id);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn scheduled_weights() {
    let l = linear();
    assert_eq!(scheduled_weight(&l, Duration::ZERO), 0.1);
    assert_eq!(scheduled_weight(&l, Duration::from_secs(119)), 0.2);
    assert_eq!(scheduled_weight(&l, Duration::from_secs(540)), 1.0);
    assert_eq!(
        scheduled_weight(&DeploymentConfig::AllAtOnce, Duration::ZERO),
        1.0
    );
}

#[test]
fn waves_respect_max_parallel() {
    let mut p = plan(5);
    p.release.max_parallel = 2;
    let (mut s, made) = started(&p);
    assert_eq!(made, vec![0, 1]);
    // f0 done, f1 still shifting: one slot frees → f2 starts.
    actions(decide_shift(&p, &mut s, vec![], t(60)));
    let obs = ticked(
        vec![
            dep(&p, 0, DeploymentStatus::Succeeded),
            dep(&p, 1, DeploymentStatus::InProgress),
        ],
        vec![],
    );
    let a = actions(decide_shift(&p, &mut s, obs, t(60)));
    assert_eq!(creates(&a), vec![2]);
    let Decision::Continue(pr) = decide_shift(
        &p,
        &mut s,
        vec![CanaryObservation::DeploymentCreated {
            index: 2,
            deployment_id: id(2),
        }],
        t(60),
    ) else {
        panic!()
    };
    assert!(
        pr.summary.contains("1 done, 2 shifting, 2 waiting"),
        "{}",
        pr.summary
    );
    // ETA: f1 8 min left, f2 9 min; f3 follows f1 (17), f4 follows f2 (18).
    assert!(pr.summary.contains("ETA 18 min"), "{}", pr.summary);
    assert!(
        pr.summary.contains("(commit 0123456789ab)"),
        "{}",
        pr.summary
    );
}

#[test]
fn a_failure_in_a_later_wave_rolls_back_the_earlier_waves() {
    let mut p = plan(5);
    p.release.max_parallel = 2;
    let (mut s, _) = started(&p);
    // Wave 1 succeeded; f2 started and failed; f3, f4 never started.
    actions(decide_shift(&p, &mut s, vec![], t(600)));
    let a = actions(decide_shift(
        &p,
        &mut s,
        ticked(
            vec![
                dep(&p, 0, DeploymentStatus::Succeeded),
                dep(&p, 1, DeploymentStatus::Succeeded),
            ],
            vec![],
        ),
        t(600),
    ));
    assert_eq!(creates(&a), vec![2, 3]);
    decide_shift(
        &p,
        &mut s,
        vec![
            CanaryObservation::DeploymentCreated {
                index: 2,
                deployment_id: id(2),
            },
            CanaryObservation::CallFailed {
                what: "CreateDeployment in group f3".into(),
                index: Some(3),
                code: "DeploymentLimitExceededException".into(),
                message: "The Deployment Group 'f3' already has an active Deployment 'd-X'".into(),
            },
        ],
        t(600),
    );
    let mut s = reload(&s);
    assert!(s.is_rolling_back());
    assert!(
        s.cause()
            .unwrap()
            .contains("f3: CreateDeployment in group f3 failed: DeploymentLimitExceededException"),
        "{:?}",
        s.cause()
    );
    assert_eq!(s.slots()[3], Slot::Waiting);
    // Rollback: stop f2 (in flight), read aliases of f0 and f1 (succeeded).
    let a = actions(decide_shift(&p, &mut s, vec![], t(660)));
    match &a[0] {
        CanaryAction::Observe { alarms, .. } => assert!(alarms.is_empty()),
        other => panic!("{other:?}"),
    }
    let a = actions(decide_shift(
        &p,
        &mut s,
        ticked(
            vec![
                dep(&p, 0, DeploymentStatus::Succeeded),
                dep(&p, 1, DeploymentStatus::Succeeded),
                dep(&p, 2, DeploymentStatus::InProgress),
            ],
            vec![],
        ),
        t(660),
    ));
    assert_eq!(
        a,
        vec![
            CanaryAction::StopDeployment {
                deployment_id: id(2),
                rollback: true
            },
            CanaryAction::ReadAliases {
                aliases: vec![
                    (0, "f0".into(), "live".into()),
                    (1, "f1".into(), "live".into())
                ]
            }
        ]
    );
    let mut on2 = alias("2");
    on2.revision_id = Some("rev-9".into());
    let a = actions(decide_shift(
        &p,
        &mut s,
        vec![
            CanaryObservation::DeploymentStopped {
                deployment_id: id(2),
                status: "Pending".into(),
            },
            CanaryObservation::Alias {
                index: Some(0),
                function: "f0".into(),
                alias: Some(on2.clone()),
            },
            CanaryObservation::Alias {
                index: Some(1),
                function: "f1".into(),
                alias: Some(on2.clone()),
            },
        ],
        t(660),
    ));
    assert_eq!(
        a[0],
        CanaryAction::UpdateAlias {
            index: 0,
            function: "f0".into(),
            alias: "live".into(),
            version: "1".into(),
            revision_id: Some("rev-9".into()),
        }
    );
    assert_eq!(a.len(), 2);
    let d = decide_shift(
        &p,
        &mut s,
        vec![
            CanaryObservation::AliasUpdated {
                index: 0,
                alias: alias("1"),
            },
            CanaryObservation::AliasUpdated {
                index: 1,
                alias: alias("1"),
            },
        ],
        t(660),
    );
    // f2's stop is still in flight: hand back, ROLLING BACK shown.
    let Decision::Continue(pr) = d else {
        panic!("{d:?}")
    };
    assert!(pr.summary.contains("ROLLING BACK"), "{}", pr.summary);
    // Next job: f2 stopped, its CodeDeploy rollback succeeded; f0/f1 back.
    let mut s = reload(&s);
    actions(decide_shift(&p, &mut s, vec![], t(700)));
    let mut stopped = dep(&p, 2, DeploymentStatus::Stopped);
    stopped.error = Some("MANUAL_STOP: stopped".into());
    stopped.rollback_deployment_id = Some("d-RB0000002".into());
    let mut rb = dep(&p, 2, DeploymentStatus::Succeeded);
    rb.id = "d-RB0000002".into();
    rb.is_rollback = true;
    let a = actions(decide_shift(
        &p,
        &mut s,
        ticked(
            vec![
                dep(&p, 0, DeploymentStatus::Succeeded),
                dep(&p, 1, DeploymentStatus::Succeeded),
                stopped,
                rb,
            ],
            vec![],
        ),
        t(700),
    ));
    assert!(matches!(&a[0], CanaryAction::ReadAliases { aliases } if aliases.len() == 2));
    let d = decide_shift(
        &p,
        &mut s,
        (0..2)
            .map(|i| CanaryObservation::Alias {
                index: Some(i),
                function: format!("f{i}"),
                alias: Some(alias("1")),
            })
            .collect(),
        t(700),
    );
    match d {
        Decision::Fail {
            kind,
            message,
            external_execution_id,
        } => {
            assert_eq!(kind, FailureKind::JobFailed);
            assert_eq!(external_execution_id.as_deref(), Some("d-AAAAAA000"));
            for needle in [
                "rolled back: f3: CreateDeployment",
                "Rolled back (3)",
                "f0: back on version 1 (alias reset; deployment d-AAAAAA000 Succeeded)",
                "f2: back on version 1 (deployment d-AAAAAA002 Stopped, CodeDeploy rollback d-RB0000002)",
                "Not started: f3, f4",
            ] {
                assert!(message.contains(needle), "missing {needle:?} in {message}");
            }
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn an_alarm_mid_shift_stops_everything_and_resets_finished_functions() {
    let p = plan(2);
    let (mut s, _) = started(&p);
    actions(decide_shift(&p, &mut s, vec![], t(300)));
    let a = actions(decide_shift(
        &p,
        &mut s,
        ticked(
            vec![
                dep(&p, 0, DeploymentStatus::Succeeded),
                dep(&p, 1, DeploymentStatus::InProgress),
            ],
            vec![
                alarm("f1-errors", AlarmState::Alarm),
                alarm("f0-errors", AlarmState::Ok),
            ],
        ),
        t(300),
    ));
    assert!(s.is_rolling_back());
    assert!(
        s.cause()
            .unwrap()
            .starts_with("alarm f1-errors (guarding f1) went into ALARM"),
        "{:?}",
        s.cause()
    );
    assert_eq!(
        a,
        vec![
            CanaryAction::StopDeployment {
                deployment_id: id(1),
                rollback: true
            },
            CanaryAction::ReadAliases {
                aliases: vec![(0, "f0".into(), "live".into())]
            }
        ]
    );
}

#[test]
fn a_deployment_failed_by_codedeploy_triggers_the_rollback() {
    let p = plan(2);
    let (mut s, _) = started(&p);
    actions(decide_shift(&p, &mut s, vec![], t(30)));
    let mut failed = dep(&p, 0, DeploymentStatus::Stopped);
    failed.error = Some("ALARM_ACTIVE: alarm f0-errors".into());
    failed.rollback_deployment_id = Some("d-RB0000000".into());
    let a = actions(decide_shift(
        &p,
        &mut s,
        ticked(
            vec![failed, dep(&p, 1, DeploymentStatus::InProgress)],
            vec![],
        ),
        t(30),
    ));
    assert_eq!(
        s.cause(),
        Some("f0: deployment d-AAAAAA000 Stopped (ALARM_ACTIVE: alarm f0-errors)")
    );
    // The rollback deployment was not observed yet: only stop f1.
    assert_eq!(
        a,
        vec![CanaryAction::StopDeployment {
            deployment_id: id(1),
            rollback: true
        }]
    );
}

#[test]
fn an_alias_moved_by_someone_else_is_left_and_reported() {
    let p = plan(1);
    let (mut s, _) = started(&p);
    actions(decide_shift(&p, &mut s, vec![], t(30)));
    let mut failed = dep(&p, 0, DeploymentStatus::Failed);
    failed.error = Some("HOOK_EXECUTION_FAILURE: hook failed".into());
    let a = actions(decide_shift(
        &p,
        &mut s,
        ticked(vec![failed], vec![]),
        t(30),
    ));
    assert!(matches!(&a[0], CanaryAction::ReadAliases { .. }));
    let d = decide_shift(
        &p,
        &mut s,
        vec![CanaryObservation::Alias {
            index: Some(0),
            function: "f0".into(),
            alias: Some(alias("9")),
        }],
        t(30),
    );
    let Decision::Fail { message, .. } = d else {
        panic!("{d:?}")
    };
    assert!(message.contains("HOOK_EXECUTION_FAILURE"), "{message}");
    assert!(
        message
            .contains("f0: alias live serves version 9 (changed outside this release); left as is"),
        "{message}"
    );
}

#[test]
fn a_console_retry_attaches_to_its_running_deployments() {
    let p = plan(3);
    let mut s = ShiftState::default();
    actions(decide_shift(&p, &mut s, vec![], t(0)));
    let running = dep(&p, 1, DeploymentStatus::InProgress);
    let mut old = dep(&p, 0, DeploymentStatus::Stopped);
    old.id = "d-OLD000000".into();
    let mut foreign = dep(&p, 2, DeploymentStatus::InProgress);
    foreign.id = "d-FOREIGN00".into();
    foreign.description = "pipeline-canary release r-ffffffffffffffff".into();
    let a = actions(decide_shift(
        &p,
        &mut s,
        first_tick(vec![running, old, foreign]),
        t(0),
    ));
    assert_eq!(creates(&a), vec![0, 2]);
    assert_eq!(s.slots()[1], Slot::Deployment(id(1)));
}

#[test]
fn a_job_lost_after_create_re_finds_the_deployment() {
    let p = plan(2);
    let mut s = ShiftState::default();
    actions(decide_shift(&p, &mut s, vec![], t(0)));
    actions(decide_shift(&p, &mut s, first_tick(vec![]), t(0)));
    // The worker died before recording the answers: the record says
    // Creating, and this attempt's discovery already ran.
    let mut s = reload(&s);
    assert_eq!(s.slots(), &[Slot::Creating, Slot::Creating]);
    assert!(s.discovered());
    let a = actions(decide_shift(&p, &mut s, vec![], t(10)));
    match &a[0] {
        CanaryAction::Observe {
            find_in_groups,
            discover,
            ..
        } => {
            // The adapter lists the groups only when discovering: a
            // `creating` slot always makes the next look discover.
            assert!(discover, "a creating slot must be rediscovered");
            assert_eq!(find_in_groups, &vec![(0, "f0".into()), (1, "f1".into())]);
        }
        other => panic!("{other:?}"),
    }
    // Only f0's deployment exists; f1's create never reached CodeDeploy.
    let obs = first_tick(vec![dep(&p, 0, DeploymentStatus::InProgress)]);
    let a = actions(decide_shift(&p, &mut s, obs, t(10)));
    assert_eq!(s.slots()[0], Slot::Deployment(id(0)));
    assert_eq!(creates(&a), vec![1]);
}

#[test]
fn a_transient_create_failure_is_re_found_not_rolled_back() {
    let p = plan(1);
    let mut s = ShiftState::default();
    actions(decide_shift(&p, &mut s, vec![], t(0)));
    actions(decide_shift(&p, &mut s, first_tick(vec![]), t(0)));
    let d = decide_shift(
        &p,
        &mut s,
        vec![CanaryObservation::CallFailed {
            what: "CreateDeployment in group f0".into(),
            index: Some(0),
            code: "Transient".into(),
            message: "timeout".into(),
        }],
        t(0),
    );
    assert!(!s.is_rolling_back());
    assert!(
        matches!(d, Decision::Perform(ref a) if matches!(&a[0], CanaryAction::Observe { discover: true, find_in_groups, .. } if find_in_groups.len() == 1)),
        "{d:?}"
    );
}

#[test]
fn first_release_aliases_are_created_last() {
    let mut p = plan(2);
    p.functions[1].current_version = None;
    let (mut s, made) = started(&p);
    assert_eq!(made, vec![0]);
    actions(decide_shift(&p, &mut s, vec![], t(60)));
    let Decision::Continue(pr) = decide_shift(
        &p,
        &mut s,
        ticked(vec![dep(&p, 0, DeploymentStatus::InProgress)], vec![]),
        t(60),
    ) else {
        panic!()
    };
    assert!(
        pr.summary
            .contains("First release (alias created on the new version, no canary): f1"),
        "{}",
        pr.summary
    );
    let mut s = reload(&s);
    actions(decide_shift(&p, &mut s, vec![], t(600)));
    let a = actions(decide_shift(
        &p,
        &mut s,
        ticked(vec![dep(&p, 0, DeploymentStatus::Succeeded)], vec![]),
        t(600),
    ));
    assert_eq!(
        a,
        vec![CanaryAction::CreateAlias {
            index: 1,
            function: "f1".into(),
            alias: "live".into(),
            version: "2".into()
        }]
    );
    let d = decide_shift(
        &p,
        &mut s,
        vec![CanaryObservation::AliasCreated {
            index: 1,
            alias: alias("2"),
        }],
        t(600),
    );
    assert!(matches!(d, Decision::Succeed { .. }), "{d:?}");
}

#[test]
fn a_release_of_only_first_releases_creates_aliases_at_once() {
    let mut p = plan(2);
    for f in &mut p.functions {
        f.current_version = None;
    }
    let mut s = ShiftState::default();
    actions(decide_shift(&p, &mut s, vec![], t(0)));
    let a = actions(decide_shift(&p, &mut s, first_tick(vec![]), t(0)));
    assert_eq!(a.len(), 2);
    assert!(
        a.iter()
            .all(|x| matches!(x, CanaryAction::CreateAlias { .. }))
    );
    // Creating one fails: the other, created, is reported as left.
    let d = decide_shift(
        &p,
        &mut s,
        vec![
            CanaryObservation::AliasCreated {
                index: 0,
                alias: alias("2"),
            },
            CanaryObservation::CallFailed {
                what: "CreateAlias f1:live".into(),
                index: Some(1),
                code: "ResourceConflictException".into(),
                message: "the alias appeared meanwhile and serves version 5".into(),
            },
        ],
        t(0),
    );
    let Decision::Fail { message, .. } = d else {
        panic!("{d:?}")
    };
    assert!(
        message.contains("f0: first release, alias live left on version 2"),
        "{message}"
    );
}

#[test]
fn unchanged_functions_are_not_deployed() {
    let mut p = plan(2);
    p.functions[0].current_version = Some("2".into());
    let (_, made) = started(&p);
    assert_eq!(made, vec![1]);
}

#[test]
fn break_glass_deploys_all_at_once_without_alarms() {
    let mut p = plan(2);
    p.release.break_glass = Some("INC-42 payment outage".into());
    let mut s = ShiftState::default();
    match &actions(decide_shift(&p, &mut s, vec![], t(0)))[0] {
        CanaryAction::Observe { alarms, .. } => assert!(alarms.is_empty()),
        other => panic!("{other:?}"),
    }
    let a = actions(decide_shift(&p, &mut s, first_tick(vec![]), t(0)));
    match &a[0] {
        CanaryAction::CreateDeployment {
            config_name,
            description,
            override_alarms,
            ..
        } => {
            assert_eq!(config_name, "CodeDeployDefault.LambdaAllAtOnce");
            assert!(override_alarms);
            assert!(description.contains("BREAK-GLASS: INC-42 payment outage"));
        }
        other => panic!("{other:?}"),
    }
    let obs = (0..2)
        .map(|i| CanaryObservation::DeploymentCreated {
            index: i,
            deployment_id: id(i),
        })
        .collect();
    decide_shift(&p, &mut s, obs, t(0));
    let mut s = reload(&s);
    actions(decide_shift(&p, &mut s, vec![], t(5)));
    // An alarm in ALARM is not acted on under break-glass.
    let Decision::Continue(pr) = decide_shift(
        &p,
        &mut s,
        ticked(
            vec![
                dep(&p, 0, DeploymentStatus::InProgress),
                dep(&p, 1, DeploymentStatus::InProgress),
            ],
            vec![alarm("f0-errors", AlarmState::Alarm)],
        ),
        t(5),
    ) else {
        panic!()
    };
    assert!(!s.is_rolling_back());
    assert!(pr.summary.contains("BREAK-GLASS"), "{}", pr.summary);
    assert!(
        pr.summary.contains("INC-42 payment outage"),
        "{}",
        pr.summary
    );
}

#[test]
fn a_changed_plan_is_refused() {
    let p = plan(2);
    let (mut s, _) = started(&p);
    let d = decide_shift(&plan(3), &mut s, vec![], t(0));
    assert!(
        matches!(
            d,
            Decision::Fail {
                kind: FailureKind::JobFailed,
                ..
            }
        ),
        "{d:?}"
    );
}

#[test]
fn a_vanished_deployment_is_a_failure() {
    let p = plan(1);
    let (mut s, _) = started(&p);
    actions(decide_shift(&p, &mut s, vec![], t(30)));
    decide_shift(&p, &mut s, ticked(vec![], vec![]), t(30));
    assert!(
        s.cause().unwrap().contains("no longer exists"),
        "{:?}",
        s.cause()
    );
}

#[test]
fn a_failed_codedeploy_rollback_is_repaired_through_the_alias() {
    let p = plan(1);
    let (mut s, _) = started(&p);
    actions(decide_shift(&p, &mut s, vec![], t(120)));
    let mut stopped = dep(&p, 0, DeploymentStatus::Stopped);
    stopped.error = Some("ALARM_ACTIVE: f0-errors".into());
    stopped.rollback_deployment_id = Some("d-RB0000000".into());
    let mut rb = dep(&p, 0, DeploymentStatus::InProgress);
    rb.id = "d-RB0000000".into();
    rb.is_rollback = true;
    // The rollback deployment still runs: wait for it.
    let d = decide_shift(
        &p,
        &mut s,
        ticked(vec![stopped.clone(), rb.clone()], vec![]),
        t(120),
    );
    assert!(matches!(d, Decision::Continue(_)), "{d:?}");
    // It failed: the alias, left mid-shift, is put back by the worker.
    let mut s = reload(&s);
    actions(decide_shift(&p, &mut s, vec![], t(180)));
    rb.status = DeploymentStatus::Failed;
    let a = actions(decide_shift(
        &p,
        &mut s,
        ticked(vec![stopped, rb], vec![]),
        t(180),
    ));
    assert!(matches!(&a[0], CanaryAction::ReadAliases { .. }), "{a:?}");
    let a = actions(decide_shift(
        &p,
        &mut s,
        vec![CanaryObservation::Alias {
            index: Some(0),
            function: "f0".into(),
            alias: Some(AliasView {
                version: "1".into(),
                routing: Some(("2".into(), 0.3)),
                revision_id: Some("rev-3".into()),
            }),
        }],
        t(180),
    ));
    assert_eq!(
        a,
        vec![CanaryAction::UpdateAlias {
            index: 0,
            function: "f0".into(),
            alias: "live".into(),
            version: "1".into(),
            revision_id: Some("rev-3".into()),
        }]
    );
    let d = decide_shift(
        &p,
        &mut s,
        vec![CanaryObservation::AliasUpdated {
            index: 0,
            alias: alias("1"),
        }],
        t(180),
    );
    let Decision::Fail { message, .. } = d else {
        panic!("{d:?}")
    };
    assert!(
        message.contains("f0: back on version 1 (deployment d-AAAAAA000 Stopped)"),
        "{message}"
    );
}

#[test]
fn progress_of_all_at_once_and_first_tick() {
    let mut p = plan(2);
    p.functions[0].target.config = DeploymentConfig::AllAtOnce;
    let (s, _) = started(&p);
    let pr = progress_of(&p, &s, t(0));
    // Without this job's observations: both counted as starting.
    assert!(pr.summary.contains("2 shifting"), "{}", pr.summary);
    assert_eq!(pr.percent_complete, Some(0));
    assert_eq!(pr.external_execution_id.as_deref(), Some("d-AAAAAA000"));
}

// ---- one GetAlias per function and job; schedule due times ----

#[test]
fn preflight_reads_only_the_aliases_it_was_not_given() {
    let p = pf_plan();
    let mut s = PreflightState::default();
    s.knowing_aliases([
        ("orders".to_string(), Some(alias("1"))),
        ("nope".to_string(), None),
    ]);
    let Preflight::Next(Decision::Perform(a)) = decide_preflight(&p, &mut s, vec![], t(0)) else {
        panic!()
    };
    let [CanaryAction::ObservePreflight { aliases, .. }] = a.as_slice() else {
        panic!("{a:?}")
    };
    assert_eq!(aliases, &vec![("quote".to_string(), "live".to_string())]);
    // The world without an Alias observation for `orders`: the given one counts.
    let obs: Vec<CanaryObservation> = healthy(&p)
        .into_iter()
        .filter(|o| !matches!(o, CanaryObservation::Alias { function, .. } if function == "orders"))
        .collect();
    let Preflight::Ready(r) = decide_preflight(&p, &mut s, obs, t(0)) else {
        panic!()
    };
    assert_eq!(r.aliases["orders"].version, "1");
    assert!(r.first_release.is_empty(), "{:?}", r.first_release);

    // A given alias with leftover routing is a problem like a read one.
    let mut s = PreflightState::default();
    let mut routed = alias("1");
    routed.routing = Some(("2".into(), 0.1));
    s.knowing_aliases([("orders".to_string(), Some(routed))]);
    decide_preflight(&p, &mut s, vec![], t(0));
    let obs: Vec<CanaryObservation> = healthy(&p)
        .into_iter()
        .filter(|o| !matches!(o, CanaryObservation::Alias { function, .. } if function == "orders"))
        .collect();
    let m = fail_message(decide_preflight(&p, &mut s, obs, t(0)));
    assert!(
        m.contains("alias live of orders serves version 1 with 10 % routed to version 2"),
        "{m}"
    );
}

#[test]
fn shift_due_is_start_plus_schedule_of_running_deployments() {
    let p = plan(2);
    let (mut s, made) = started(&p);
    assert_eq!(made, vec![0, 1]);
    // No observation in this job yet.
    assert_eq!(s.due(), None);
    actions(decide_shift(&p, &mut s, vec![], t(60)));
    let mut late = dep(&p, 1, DeploymentStatus::InProgress);
    late.start_time = Some(t(30));
    let d = decide_shift(
        &p,
        &mut s,
        ticked(
            vec![dep(&p, 0, DeploymentStatus::InProgress), late.clone()],
            vec![],
        ),
        t(60),
    );
    assert!(matches!(d, Decision::Continue(_)), "{d:?}");
    // Linear10PercentEvery1Minute: 9 minutes after each start.
    assert_eq!(
        s.due(),
        Some(shift::ShiftDue {
            next: t(540),
            last: Some(t(570)),
        })
    );
    // One done: the other is next and last.
    actions(decide_shift(&p, &mut s, vec![], t(545)));
    decide_shift(
        &p,
        &mut s,
        ticked(
            vec![dep(&p, 0, DeploymentStatus::Succeeded), late.clone()],
            vec![],
        ),
        t(545),
    );
    assert_eq!(
        s.due(),
        Some(shift::ShiftDue {
            next: t(570),
            last: Some(t(570)),
        })
    );
    // Not started shifting yet (Created): no due time for it, and no last.
    actions(decide_shift(&p, &mut s, vec![], t(546)));
    let mut created = late;
    created.status = DeploymentStatus::Created;
    decide_shift(
        &p,
        &mut s,
        ticked(
            vec![dep(&p, 0, DeploymentStatus::InProgress), created],
            vec![],
        ),
        t(546),
    );
    assert_eq!(
        s.due(),
        Some(shift::ShiftDue {
            next: t(540),
            last: None,
        })
    );
}

#[test]
fn shift_due_has_no_last_while_a_wave_waits() {
    let mut p = plan(3);
    p.release.max_parallel = 2;
    let (mut s, made) = started(&p);
    assert_eq!(made, vec![0, 1]);
    actions(decide_shift(&p, &mut s, vec![], t(60)));
    decide_shift(
        &p,
        &mut s,
        ticked(
            vec![
                dep(&p, 0, DeploymentStatus::InProgress),
                dep(&p, 1, DeploymentStatus::InProgress),
            ],
            vec![],
        ),
        t(60),
    );
    assert_eq!(
        s.due(),
        Some(shift::ShiftDue {
            next: t(540),
            last: None,
        })
    );
}

/// A stage retry after an attempt that shifted f0 and then timed out: f0's
/// alias already serves the target (`serving_target`), so it gets no
/// deployment, counts as done, is recorded as `shifted`, and when f1's
/// deployment fails the worker puts f0's alias back on its previous
/// version too (chaos seed 7, trial 252 left such a release mixed).
#[test]
fn a_function_shifted_by_an_earlier_attempt_rolls_back_with_the_release() {
    let mut p = plan(2);
    p.functions[0].serving_target = true;
    let (mut s, made) = started(&p);
    assert_eq!(made, vec![1], "no deployment for the shifted function");
    assert_eq!(
        s.slots(),
        &[Slot::Shifted, Slot::Deployment("d-AAAAAA001".into())]
    );
    let pr = progress_of(&p, &s, t(0));
    assert!(
        pr.summary.contains("f0 100 % ✓ (an earlier attempt)"),
        "{}",
        pr.summary
    );
    actions(decide_shift(&p, &mut s, vec![], t(60)));
    let mut failed = dep(&p, 1, DeploymentStatus::Stopped);
    failed.error = Some("ALARM_ACTIVE: f1-errors".into());
    let mut rb = dep(&p, 1, DeploymentStatus::Succeeded);
    rb.id = "d-RB0000001".into();
    rb.is_rollback = true;
    failed.rollback_deployment_id = Some(rb.id.clone());
    let a = actions(decide_shift(
        &p,
        &mut s,
        ticked(vec![failed.clone(), rb.clone()], vec![]),
        t(60),
    ));
    assert_eq!(
        a,
        vec![CanaryAction::ReadAliases {
            aliases: vec![(0, "f0".into(), "live".into())]
        }]
    );
    let a = actions(decide_shift(
        &p,
        &mut s,
        vec![CanaryObservation::Alias {
            index: Some(0),
            function: "f0".into(),
            alias: Some(alias("2")),
        }],
        t(60),
    ));
    assert_eq!(
        a,
        vec![CanaryAction::UpdateAlias {
            index: 0,
            function: "f0".into(),
            alias: "live".into(),
            version: "1".into(),
            revision_id: Some("rev-1".into()),
        }]
    );
    let d = decide_shift(
        &p,
        &mut s,
        vec![CanaryObservation::AliasUpdated {
            index: 0,
            alias: alias("1"),
        }],
        t(60),
    );
    let Decision::Fail { message, .. } = d else {
        panic!("{d:?}")
    };
    assert!(
        message.contains(
            "f0: back on version 1 (alias reset; shifted by an earlier attempt of this release)"
        ),
        "{message}"
    );
    assert!(message.contains("f1: back on version 1"), "{message}");
}

// ---- the pace: Lambda's quota ----

/// `plan(n)` with the default pace (Linear 10 %/1 min at 10 requests/s:
/// two starts every second, at most 120 shifting) and looks every 15 s.
fn paced(n: usize) -> ShiftPlan {
    let mut p = plan(n);
    p.release.pace =
        crate::canary::pace::Pace::new([linear()], crate::canary::pace::DEFAULT_CODEDEPLOY_RATE);
    p.release.observe_every = Duration::from_secs(15);
    p
}

fn created(a: &[CanaryAction]) -> Vec<CanaryObservation> {
    creates(a)
        .into_iter()
        .map(|i| CanaryObservation::DeploymentCreated {
            index: i,
            deployment_id: id(i),
        })
        .collect()
}

#[test]
fn deployments_start_two_a_second_between_two_looks() {
    let p = paced(5);
    let mut s = ShiftState::default();
    actions(decide_shift(&p, &mut s, vec![], t(0)));
    let a = actions(decide_shift(&p, &mut s, first_tick(vec![]), t(0)));
    assert_eq!(creates(&a), [0, 1], "one batch: its 10 calls fit a second");
    let d = decide_shift(&p, &mut s, created(&a), t(0));
    assert!(matches!(d, Decision::Continue(_)), "{d:?}");
    assert_eq!(s.pace_due(), Some(t(1)), "the next batch a second later");
    // Woken early: nothing starts; it looks (a wake is no license).
    let early = t(0) + Duration::from_millis(500);
    assert!(matches!(
        &actions(decide_shift(&p, &mut s, vec![], early))[..],
        [CanaryAction::Observe { .. }]
    ));
    let d = decide_shift(
        &p,
        &mut s,
        ticked(
            vec![
                dep(&p, 0, DeploymentStatus::InProgress),
                dep(&p, 1, DeploymentStatus::InProgress),
            ],
            vec![],
        ),
        early,
    );
    assert!(matches!(d, Decision::Continue(_)), "{d:?}");
    assert_eq!(s.pace_due(), Some(t(1)));
    // On time, within the look's 15 s: the next batch without a new look.
    let a = actions(decide_shift(&p, &mut s, vec![], t(1)));
    assert_eq!(creates(&a), [2, 3]);
    decide_shift(&p, &mut s, created(&a), t(1));
    let a = actions(decide_shift(&p, &mut s, vec![], t(2)));
    assert_eq!(creates(&a), [4]);
    decide_shift(&p, &mut s, created(&a), t(2));
    assert_eq!(s.pace_due(), None, "every deployment started");
}

#[test]
fn one_record_write_announces_ten_batches_of_paced_starts() {
    let p = paced(30);
    let mut s = ShiftState::default();
    actions(decide_shift(&p, &mut s, vec![], t(0)));
    let a = actions(decide_shift(&p, &mut s, first_tick(vec![]), t(0)));
    assert_eq!(creates(&a), [0, 1]);
    let creating = |s: &ShiftState| {
        s.recorded_slots()
            .iter()
            .enumerate()
            .filter(|(_, x)| **x == Slot::Creating)
            .map(|(i, _)| i)
            .collect::<Vec<_>>()
    };
    // The record announces the first 20 starts; only 2 are sent.
    assert_eq!(creating(&s), (0..20).collect::<Vec<_>>());
    assert_eq!(
        s.slots().iter().filter(|x| **x == Slot::Creating).count(),
        2
    );
    decide_shift(&p, &mut s, created(&a), t(0));
    let mut recorded = s.recorded_slots();
    let mut writes = 0;
    let mut now = t(0);
    while let Some(due) = s.pace_due() {
        now = due;
        let a = actions(decide_shift(&p, &mut s, vec![], now));
        // A start needs a write only when the record does not say
        // `creating` for it yet.
        let before: Vec<bool> = creates(&a)
            .iter()
            .map(|&i| recorded[i] == Slot::Creating)
            .collect();
        if before.iter().any(|x| !x) {
            writes += 1;
        }
        decide_shift(&p, &mut s, created(&a), now);
        recorded = s.recorded_slots();
    }
    assert_eq!(
        writes, 1,
        "starts 2..20 were announced by the first write, 20..30 by one more at t+10 s"
    );
    assert_eq!(now, t(14), "30 starts at the pace: 2 a second");
    assert_eq!(creating(&s), Vec::<usize>::new());
    assert_eq!(s.deployment_ids().len(), 30);
}

#[test]
fn without_max_parallel_the_quota_caps_the_deployments_in_flight() {
    let p = paced(130);
    let mut s = ShiftState::default();
    actions(decide_shift(&p, &mut s, vec![], t(0)));
    let mut a = actions(decide_shift(&p, &mut s, first_tick(vec![]), t(0)));
    let mut total = 0;
    let mut now = t(0);
    for _ in 0..200 {
        total += creates(&a).len();
        decide_shift(&p, &mut s, created(&a), now);
        let Some(due) = s.pace_due() else { break };
        now = due;
        // A look every 15 s, starts from the last look in between.
        a = match decide_shift(&p, &mut s, vec![], now) {
            Decision::Perform(a) if matches!(a[..], [CanaryAction::Observe { .. }]) => {
                let running: Vec<DeploymentView> = (0..total)
                    .map(|i| dep(&p, i, DeploymentStatus::InProgress))
                    .collect();
                actions(decide_shift(&p, &mut s, ticked(running, vec![]), now))
            }
            d => actions(d),
        };
    }
    assert_eq!(total, 120, "60 s between steps / 0.5 s between starts");
    assert_eq!(now, t(59), "120 starts, two a second");
}

/// `dep(p, i, status)` started at `at`.
fn dep_at(p: &ShiftPlan, i: usize, status: DeploymentStatus, at: SystemTime) -> DeploymentView {
    DeploymentView {
        create_time: Some(at),
        start_time: Some(at),
        ..dep(p, i, status)
    }
}

#[test]
fn a_new_deployment_starts_only_in_a_phase_slot_where_fewer_than_a_batch_step() {
    // 124 functions: 120 start two a second from t+0 (phases 0 … 59.5 s
    // of the minute between steps); then the cap holds the rest.
    let p = paced(124);
    let mut s = ShiftState::default();
    let mut started_at: Vec<SystemTime> = Vec::new();
    let running = |started_at: &[SystemTime], now: SystemTime| -> Vec<DeploymentView> {
        started_at
            .iter()
            .enumerate()
            .map(|(i, at)| {
                // Linear 10 %/1 min takes its last step 9 minutes after
                // its start, and ends just after.
                let status = if *at + Duration::from_secs(540) < now {
                    DeploymentStatus::Succeeded
                } else {
                    DeploymentStatus::InProgress
                };
                dep_at(&p, i, status, *at)
            })
            .collect()
    };
    actions(decide_shift(&p, &mut s, vec![], t(0)));
    let mut a = actions(decide_shift(&p, &mut s, first_tick(vec![]), t(0)));
    let mut now = t(0);
    loop {
        started_at.extend(creates(&a).iter().map(|_| now));
        decide_shift(&p, &mut s, created(&a), now);
        if started_at.len() >= 120 {
            break;
        }
        now = s.pace_due().expect("paced");
        a = match decide_shift(&p, &mut s, vec![], now) {
            Decision::Perform(x) if matches!(x[..], [CanaryAction::Observe { .. }]) => actions(
                decide_shift(&p, &mut s, ticked(running(&started_at, now), vec![]), now),
            ),
            d => actions(d),
        };
    }
    assert_eq!(now, t(59), "120 started by t+59 s");
    assert_eq!(s.pace_due(), None, "the cap holds the other 4");
    // t+560 s: the 40 started in the first 20 s have ended; the two that
    // started at t+20 s take their last step now, in this slot. The next
    // deployment waits for a slot nobody steps in: t+600 s (phase 0).
    now = t(560);
    actions(decide_shift(&p, &mut s, vec![], now));
    let d = decide_shift(&p, &mut s, ticked(running(&started_at, now), vec![]), now);
    assert!(
        !matches!(&d, Decision::Perform(x) if !creates(x).is_empty()),
        "nothing starts in a full slot: {d:?}"
    );
    assert_eq!(s.pace_due(), Some(t(600)));
    now = t(600);
    let d = decide_shift(&p, &mut s, vec![], now);
    let a = match d {
        Decision::Perform(x) if matches!(x[..], [CanaryAction::Observe { .. }]) => actions(
            decide_shift(&p, &mut s, ticked(running(&started_at, now), vec![]), now),
        ),
        d => actions(d),
    };
    assert_eq!(creates(&a), [120, 121], "a batch in the freed slot 0");
}

#[test]
fn an_explicit_max_parallel_still_starts_at_the_pace() {
    let mut p = paced(6);
    p.release.max_parallel = 3;
    let mut s = ShiftState::default();
    actions(decide_shift(&p, &mut s, vec![], t(0)));
    let a = actions(decide_shift(&p, &mut s, first_tick(vec![]), t(0)));
    assert_eq!(creates(&a), [0, 1]);
    decide_shift(&p, &mut s, created(&a), t(0));
    let a = actions(decide_shift(&p, &mut s, vec![], t(1)));
    assert_eq!(creates(&a), [2], "MaxParallel 3");
    decide_shift(&p, &mut s, created(&a), t(1));
    assert_eq!(s.pace_due(), None, "the cap, not the pace, holds the rest");
}

#[test]
fn rollbacks_are_spaced_too() {
    let mut p = paced(5);
    p.release.pace = crate::canary::pace::Pace {
        batch: usize::MAX,
        start_gap: Duration::ZERO,
        stop_batch: 2,
        ..p.release.pace
    };
    let (mut s, made) = started(&p);
    assert_eq!(made.len(), 5);
    let running = |p: &ShiftPlan| {
        (0..5)
            .map(|i| dep(p, i, DeploymentStatus::InProgress))
            .collect::<Vec<_>>()
    };
    actions(decide_shift(&p, &mut s, vec![], t(30)));
    let a = actions(decide_shift(
        &p,
        &mut s,
        ticked(running(&p), vec![alarm("f3-errors", AlarmState::Alarm)]),
        t(30),
    ));
    let stops = |a: &[CanaryAction]| {
        a.iter()
            .filter_map(|x| match x {
                CanaryAction::StopDeployment { deployment_id, .. } => Some(deployment_id.clone()),
                _ => None,
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(stops(&a), [id(0), id(1)], "a burst of two");
    let stopped = |a: &[CanaryAction]| {
        stops(a)
            .into_iter()
            .map(|d| CanaryObservation::DeploymentStopped {
                deployment_id: d,
                status: "Pending".into(),
            })
            .collect::<Vec<_>>()
    };
    let d = decide_shift(&p, &mut s, stopped(&a), t(30));
    assert!(matches!(d, Decision::Continue(_)), "{d:?}");
    let next = t(30) + Duration::from_millis(800);
    assert_eq!(s.pace_due(), Some(next));
    let a = actions(decide_shift(&p, &mut s, vec![], next));
    assert_eq!(stops(&a), [id(2), id(3)]);
    decide_shift(&p, &mut s, stopped(&a), next);
    let last = next + Duration::from_millis(800);
    assert_eq!(s.pace_due(), Some(last));
    let a = actions(decide_shift(&p, &mut s, vec![], last));
    assert_eq!(stops(&a), [id(4)]);
}

/// A code-only function (f0) in a release whose other function (f1) fails:
/// it gets no deployment, and the rollback puts its previous code back
/// (`RestoreCode`), retried while it fails (STALLED, never reported done),
/// and ends once `$LATEST` runs that code again, or, when the previous
/// version is gone, ends saying its code was not put back.
#[test]
fn a_code_only_function_gets_its_previous_code_back_when_the_release_rolls_back() {
    let run = |last: CanaryObservation| -> Decision<CanaryAction> {
        let mut p = plan(2);
        p.functions[0].code_only = true;
        p.functions[0].target.alias = String::new();
        let (mut s, made) = started(&p);
        assert_eq!(made, vec![1], "no deployment for the code-only function");
        assert_eq!(s.slots()[0], Slot::CodeOnly);
        actions(decide_shift(&p, &mut s, vec![], t(60)));
        let mut failed = dep(&p, 1, DeploymentStatus::Stopped);
        failed.error = Some("ALARM_ACTIVE: f1-errors".into());
        let mut rb = dep(&p, 1, DeploymentStatus::Succeeded);
        rb.id = "d-RB0000001".into();
        rb.is_rollback = true;
        failed.rollback_deployment_id = Some(rb.id.clone());
        let a = actions(decide_shift(
            &p,
            &mut s,
            ticked(vec![failed.clone(), rb.clone()], vec![]),
            t(60),
        ));
        let restore = CanaryAction::RestoreCode {
            index: 0,
            function: "f0".into(),
            version: "1".into(),
            description: restore_description(&p.release.release_id, "1"),
        };
        assert_eq!(a, vec![restore.clone()]);
        // A failed restore: still rolling back, STALLED with the reason.
        let d = decide_shift(
            &p,
            &mut s,
            vec![CanaryObservation::CallFailed {
                what: "RestoreCode f0 version 1".into(),
                index: Some(0),
                code: "SystemUnavailable".into(),
                message: "downloading the code from http://h/p answered HTTP 503".into(),
            }],
            t(60),
        );
        let Decision::Continue(progress) = &d else {
            panic!("{d:?}")
        };
        assert!(progress.summary.contains("STALLED"), "{}", progress.summary);
        assert!(
            progress
                .summary
                .contains("putting its previous code back failed"),
            "{}",
            progress.summary
        );
        // The next tick tries again.
        let a = actions(decide_shift(&p, &mut s, vec![], t(61)));
        assert!(matches!(a[0], CanaryAction::Observe { .. }), "{a:?}");
        let a = actions(decide_shift(
            &p,
            &mut s,
            ticked(vec![failed, rb], vec![]),
            t(61),
        ));
        assert_eq!(a, vec![restore]);
        decide_shift(&p, &mut s, vec![last], t(61))
    };
    let d = run(CanaryObservation::CodeRestored {
        index: 0,
        version: "3".into(),
    });
    let Decision::Fail { message, .. } = d else {
        panic!("{d:?}")
    };
    assert!(
        message.contains(
            "f0: code only, back on the code of version 1 (published again as version 3)"
        ),
        "{message}"
    );
    assert!(message.contains("f1: back on version 1"), "{message}");
    let d = run(CanaryObservation::CodeNotRestorable {
        index: 0,
        why: "version 1 of `f0` no longer exists".into(),
    });
    let Decision::Fail { message, .. } = d else {
        panic!("{d:?}")
    };
    assert!(
        message.contains("f0: code only, NOT put back: version 1 of `f0` no longer exists"),
        "{message}"
    );
}

// ---- schedules the worker drives ----

fn steps_config(bake_minutes: u64) -> DeploymentConfig {
    DeploymentConfig::parse(&format!(
        "Steps1-5-25-50Every2Minutes{}",
        if bake_minutes > 0 {
            format!("Bake{bake_minutes}Minutes")
        } else {
            String::new()
        }
    ))
    .unwrap()
}

/// A plan of `n` functions on `config`.
fn stepped(n: usize, config: DeploymentConfig) -> ShiftPlan {
    let mut p = plan(n);
    for f in &mut p.functions {
        f.target.config = config;
    }
    p
}

/// Lambda's aliases as the adapters would keep them: answers reads and
/// applies StepAlias / UpdateAlias with their RevisionId precondition.
#[derive(Default)]
struct Aliases {
    at: HashMap<usize, AliasView>,
    revision: u32,
    /// (simulated seconds since t(0), function index, weight of the new version)
    moves: Vec<(u64, usize, f64)>,
}

impl Aliases {
    fn new(n: usize) -> Aliases {
        let mut a = Aliases::default();
        for i in 0..n {
            a.at.insert(
                i,
                AliasView {
                    version: "1".into(),
                    routing: None,
                    revision_id: Some("r0".into()),
                },
            );
        }
        a
    }

    fn weight(&self, i: usize) -> f64 {
        let a = &self.at[&i];
        if a.version == "2" {
            1.0
        } else {
            a.routing.as_ref().map_or(0.0, |r| r.1)
        }
    }

    /// Performs `actions` at `now`; the observations they produce.
    fn perform(
        &mut self,
        actions: &[CanaryAction],
        now: SystemTime,
        metrics: &HashMap<usize, (u64, u64, u64, u64)>,
    ) -> Vec<CanaryObservation> {
        let mut obs = Vec::new();
        for a in actions {
            match a {
                CanaryAction::Observe {
                    read_aliases,
                    metrics: windows,
                    ..
                } => {
                    obs.push(CanaryObservation::Deployments(vec![]));
                    obs.push(CanaryObservation::Alarms {
                        asked: vec![],
                        found: vec![],
                    });
                    obs.push(CanaryObservation::Discovered);
                    for (i, f, _) in read_aliases {
                        obs.push(CanaryObservation::Alias {
                            index: Some(*i),
                            function: f.clone(),
                            alias: self.at.get(i).cloned(),
                        });
                    }
                    if !windows.is_empty() {
                        obs.push(CanaryObservation::Metrics(
                            windows
                                .iter()
                                .map(|w| {
                                    let (ci, ce, bi, be) =
                                        metrics.get(&w.index).copied().unwrap_or_default();
                                    crate::canary::MetricCounts {
                                        index: w.index,
                                        canary: analysis::Counts {
                                            invocations: ci,
                                            errors: ce,
                                        },
                                        baseline: analysis::Counts {
                                            invocations: bi,
                                            errors: be,
                                        },
                                    }
                                })
                                .collect(),
                        ));
                    }
                }
                CanaryAction::StepAlias {
                    index,
                    previous,
                    target,
                    weight,
                    revision_id,
                    function,
                    ..
                } => {
                    let cur = self.at.get(index).unwrap();
                    if cur.revision_id != *revision_id {
                        obs.push(CanaryObservation::CallFailed {
                            what: format!("StepAlias {function}"),
                            index: Some(*index),
                            code: "PreconditionFailedException".into(),
                            message: "revision".into(),
                        });
                        continue;
                    }
                    self.revision += 1;
                    let next = if *weight >= 1.0 {
                        AliasView {
                            version: target.clone(),
                            routing: None,
                            revision_id: Some(format!("r{}", self.revision)),
                        }
                    } else {
                        AliasView {
                            version: previous.clone(),
                            routing: Some((target.clone(), *weight)),
                            revision_id: Some(format!("r{}", self.revision)),
                        }
                    };
                    self.at.insert(*index, next.clone());
                    self.moves
                        .push((now.duration_since(t(0)).unwrap().as_secs(), *index, *weight));
                    obs.push(CanaryObservation::AliasUpdated {
                        index: *index,
                        alias: next,
                    });
                }
                CanaryAction::UpdateAlias { index, version, .. } => {
                    self.revision += 1;
                    let next = AliasView {
                        version: version.clone(),
                        routing: None,
                        revision_id: Some(format!("r{}", self.revision)),
                    };
                    self.at.insert(*index, next.clone());
                    self.moves
                        .push((now.duration_since(t(0)).unwrap().as_secs(), *index, 0.0));
                    obs.push(CanaryObservation::AliasUpdated {
                        index: *index,
                        alias: next,
                    });
                }
                CanaryAction::ReadAliases { aliases } => {
                    for (i, f, _) in aliases {
                        obs.push(CanaryObservation::Alias {
                            index: Some(*i),
                            function: f.clone(),
                            alias: self.at.get(i).cloned(),
                        });
                    }
                }
                other => panic!("unexpected {other:?}"),
            }
        }
        obs
    }
}

/// Drives the shift from `now` until it ends or `until`: each job wakes
/// when the engine asks (its pace) or after `tick`, and performs every
/// action against `aliases`. Returns the final decision and the time.
fn drive_steps(
    p: &ShiftPlan,
    s: &mut ShiftState,
    aliases: &mut Aliases,
    metrics: &HashMap<usize, (u64, u64, u64, u64)>,
    mut now: SystemTime,
    until: SystemTime,
    tick: Duration,
) -> (Decision<CanaryAction>, SystemTime) {
    loop {
        let mut d = decide_shift(p, s, vec![], now);
        while let Decision::Perform(a) = &d {
            let obs = aliases.perform(a, now, metrics);
            d = decide_shift(p, s, obs, now);
        }
        if matches!(d, Decision::Succeed { .. } | Decision::Fail { .. }) || now >= until {
            return (d, now);
        }
        let next = s.pace_due().map_or(now + tick, |due| due.min(now + tick));
        now = next.max(now + Duration::from_millis(1));
    }
}

#[test]
fn a_worker_driven_schedule_steps_at_its_due_times_then_bakes() {
    let p = stepped(2, steps_config(5));
    let mut s = ShiftState::default();
    let mut aliases = Aliases::new(2);
    let (d, end) = drive_steps(
        &p,
        &mut s,
        &mut aliases,
        &HashMap::new(),
        t(0),
        t(3600),
        Duration::from_secs(15),
    );
    assert!(matches!(d, Decision::Succeed { .. }), "{d:?}");
    // Each function: 1 % at 0, 5 % at 2 min, 25 % at 4, 50 % at 6, 100 %
    // at 8, released after a 5-minute bake (13 min).
    let of = |i: usize| -> Vec<(u64, f64)> {
        aliases
            .moves
            .iter()
            .filter(|m| m.1 == i)
            .map(|m| (m.0, m.2))
            .collect()
    };
    let want = vec![(0, 0.01), (120, 0.05), (240, 0.25), (360, 0.5), (480, 1.0)];
    assert_eq!(of(0), want);
    assert_eq!(of(1), want);
    assert_eq!(end, t(780));
    assert_eq!(aliases.weight(0), 1.0);
}

#[test]
fn a_job_resumed_from_the_record_steps_on_time_and_resends_a_step_it_recorded_but_did_not_send() {
    let p = stepped(1, steps_config(0));
    let mut s = ShiftState::default();
    let mut aliases = Aliases::new(1);
    drive_steps(
        &p,
        &mut s,
        &mut aliases,
        &HashMap::new(),
        t(0),
        t(250),
        Duration::from_secs(15),
    );
    assert_eq!(aliases.weight(0), 0.25, "step 3 at t+4 min");
    // The job ends; another resumes from the record.
    let mut resumed = ShiftState::resume(&p, s.persisted().slots().to_vec(), true, false, None);
    drive_steps(
        &p,
        &mut resumed,
        &mut aliases,
        &HashMap::new(),
        t(300),
        t(3600),
        Duration::from_secs(15),
    );
    let times: Vec<u64> = aliases.moves.iter().map(|m| m.0).collect();
    assert_eq!(times, [0, 120, 240, 360, 480], "on time across the restart");
    // A record that says step 2 (25 %) while the alias still has 5 %: the
    // step is sent again at once.
    let mut aliases = Aliases::new(1);
    aliases.at.insert(
        0,
        AliasView {
            version: "1".into(),
            routing: Some(("2".into(), 0.05)),
            revision_id: Some("r7".into()),
        },
    );
    let mut s = ShiftState::resume(
        &p,
        vec![Slot::Stepping {
            step: 2,
            since: t(0),
        }],
        true,
        false,
        None,
    );
    drive_steps(
        &p,
        &mut s,
        &mut aliases,
        &HashMap::new(),
        t(250),
        t(251),
        Duration::from_secs(15),
    );
    assert_eq!(aliases.moves, [(250, 0, 0.25)]);
}

#[test]
fn an_alias_moved_outside_the_release_rolls_the_release_back() {
    let p = stepped(2, steps_config(0));
    let mut s = ShiftState::default();
    let mut aliases = Aliases::new(2);
    drive_steps(
        &p,
        &mut s,
        &mut aliases,
        &HashMap::new(),
        t(0),
        t(130),
        Duration::from_secs(15),
    );
    // Someone routes f1's traffic to version 9 by hand.
    aliases.at.insert(
        1,
        AliasView {
            version: "1".into(),
            routing: Some(("9".into(), 0.5)),
            revision_id: Some("rX".into()),
        },
    );
    s.alias_known_forget(1);
    let (d, _) = drive_steps(
        &p,
        &mut s,
        &mut aliases,
        &HashMap::new(),
        t(140),
        t(400),
        Duration::from_secs(15),
    );
    let Decision::Fail { message, .. } = d else {
        panic!("{d:?}")
    };
    assert!(
        message.contains("f1: alias live was changed outside this release"),
        "{message}"
    );
    assert_eq!(aliases.weight(0), 0.0, "f0 back on version 1 too");
    assert_eq!(
        aliases.at[&1].routing,
        Some(("9".into(), 0.5)),
        "not ours: left as is"
    );
}

fn with_analysis(mut p: ShiftPlan) -> ShiftPlan {
    for f in &mut p.functions {
        f.target.analysis = Some(analysis::AnalysisSettings::default());
    }
    p
}

#[test]
fn analysis_holds_a_step_until_both_versions_have_enough_calls_then_judges() {
    let p = with_analysis(stepped(1, steps_config(0)));
    // Healthy but thin: 50 canary calls.
    let thin: HashMap<usize, (u64, u64, u64, u64)> = [(0, (50, 0, 5000, 20))].into();
    let mut s = ShiftState::default();
    let mut aliases = Aliases::new(1);
    drive_steps(
        &p,
        &mut s,
        &mut aliases,
        &thin,
        t(0),
        t(200),
        Duration::from_secs(15),
    );
    assert_eq!(aliases.weight(0), 0.01, "the 5 % step waits for data");
    // Enough data and healthy: the step goes (late, at the next look).
    let healthy: HashMap<usize, (u64, u64, u64, u64)> = [(0, (1204, 6, 10877, 44))].into();
    let (d, _) = drive_steps(
        &p,
        &mut s,
        &mut aliases,
        &healthy,
        t(200),
        t(3600),
        Duration::from_secs(15),
    );
    assert!(matches!(d, Decision::Succeed { .. }), "{d:?}");
    assert_eq!(aliases.moves[1].0, 200);
}

#[test]
fn analysis_rolls_back_a_canary_worse_than_its_baseline_with_the_verdict() {
    let p = with_analysis(stepped(2, steps_config(0)));
    let regression: HashMap<usize, (u64, u64, u64, u64)> =
        [(0, (1204, 6, 10877, 44)), (1, (1204, 37, 10877, 44))].into();
    let mut s = ShiftState::default();
    let mut aliases = Aliases::new(2);
    let (d, end) = drive_steps(
        &p,
        &mut s,
        &mut aliases,
        &regression,
        t(0),
        t(3600),
        Duration::from_secs(15),
    );
    let Decision::Fail { message, .. } = d else {
        panic!("{d:?}")
    };
    assert!(
        message.contains(
            "f1 v2: 3.1 % errors in 1,204 calls vs v1 0.4 % in 10,877; +2.7 pp > 1.0 pp at 99 %"
        ),
        "{message}"
    );
    assert!(
        end < t(120),
        "caught at the first step, before 5 %: {end:?}"
    );
    assert_eq!(
        (aliases.weight(0), aliases.weight(1)),
        (0.0, 0.0),
        "both back"
    );
}

#[test]
fn analysis_that_never_gets_enough_calls_fails_the_release_saying_so() {
    let p = with_analysis(stepped(1, steps_config(0)));
    let thin: HashMap<usize, (u64, u64, u64, u64)> = [(0, (57, 0, 5000, 20))].into();
    let mut s = ShiftState::default();
    let mut aliases = Aliases::new(1);
    let (d, end) = drive_steps(
        &p,
        &mut s,
        &mut aliases,
        &thin,
        t(0),
        t(3600),
        Duration::from_secs(15),
    );
    let Decision::Fail { message, .. } = d else {
        panic!("{d:?}")
    };
    assert!(
        message.contains("waited 2m") || message.contains("waited 2 min"),
        "{message}"
    );
    assert!(message.contains("57 of 200 calls"), "{message}");
    assert!(end >= t(240) && end < t(270), "{end:?}");
    assert_eq!(aliases.weight(0), 0.0);
}

#[test]
fn a_mixed_release_rolls_back_codedeploy_and_worker_driven_functions_together() {
    let mut p = stepped(2, steps_config(0));
    p.functions[0].target.config = linear();
    let mut s = ShiftState::default();
    actions(decide_shift(&p, &mut s, vec![], t(0)));
    let mut aliases = Aliases::new(2);
    let first = vec![
        CanaryObservation::Deployments(vec![]),
        CanaryObservation::Alarms {
            asked: vec![],
            found: vec![],
        },
        CanaryObservation::Discovered,
        CanaryObservation::Alias {
            index: Some(1),
            function: "f1".into(),
            alias: aliases.at.get(&1).cloned(),
        },
    ];
    let a = actions(decide_shift(&p, &mut s, first, t(0)));
    assert_eq!(creates(&a), [0], "f0 through CodeDeploy");
    let stepped_now: Vec<&CanaryAction> = a
        .iter()
        .filter(|x| matches!(x, CanaryAction::StepAlias { .. }))
        .collect();
    assert_eq!(stepped_now.len(), 1, "f1 by the worker: {a:?}");
    let mut obs = aliases.perform(
        &a.iter()
            .filter(|x| matches!(x, CanaryAction::StepAlias { .. }))
            .cloned()
            .collect::<Vec<_>>(),
        t(0),
        &HashMap::new(),
    );
    obs.push(CanaryObservation::DeploymentCreated {
        index: 0,
        deployment_id: id(0),
    });
    decide_shift(&p, &mut s, obs, t(0));
    // f0's alarm at t+90 s: both roll back.
    actions(decide_shift(&p, &mut s, vec![], t(90)));
    let a = actions(decide_shift(
        &p,
        &mut s,
        ticked(
            vec![dep(&p, 0, DeploymentStatus::InProgress)],
            vec![alarm("f0-errors", AlarmState::Alarm)],
        ),
        t(90),
    ));
    assert!(
        a.iter()
            .any(|x| matches!(x, CanaryAction::StopDeployment { .. })),
        "{a:?}"
    );
    // f1's alias is read, then put back.
    let obs = aliases.perform(
        &a.iter()
            .filter(|x| {
                matches!(
                    x,
                    CanaryAction::ReadAliases { .. } | CanaryAction::UpdateAlias { .. }
                )
            })
            .cloned()
            .collect::<Vec<_>>(),
        t(90),
        &HashMap::new(),
    );
    let a = actions(decide_shift(&p, &mut s, obs, t(90)));
    let obs = aliases.perform(
        &a.iter()
            .filter(|x| {
                matches!(
                    x,
                    CanaryAction::ReadAliases { .. } | CanaryAction::UpdateAlias { .. }
                )
            })
            .cloned()
            .collect::<Vec<_>>(),
        t(90),
        &HashMap::new(),
    );
    assert!(!obs.is_empty(), "{a:?}");
    assert_eq!(
        aliases.weight(1),
        0.0,
        "the worker-driven one is back on version 1"
    );
}

#[test]
fn an_analysed_step_is_judged_on_counts_read_at_its_due_time_not_before() {
    let mut p = with_analysis(stepped(1, steps_config(0)));
    p.release.observe_every = Duration::from_secs(15);
    let healthy: HashMap<usize, (u64, u64, u64, u64)> = [(0, (1204, 6, 10877, 44))].into();
    let mut s = ShiftState::default();
    let mut aliases = Aliases::new(1);
    // Looks at 0 and 110 s (healthy counts), nothing sent at 110 s.
    drive_steps(
        &p,
        &mut s,
        &mut aliases,
        &healthy,
        t(0),
        t(110),
        Duration::from_secs(110),
    );
    assert_eq!(aliases.weight(0), 0.01);
    // The step's due time (120 s), 10 s after the last look: the engine
    // does not step on those counts; it wakes at once to look, then steps.
    let d = decide_shift(&p, &mut s, vec![], t(120));
    assert!(matches!(d, Decision::Continue(_)), "{d:?}");
    assert_eq!(s.pace_due(), Some(t(120)));
    assert_eq!(aliases.weight(0), 0.01);
    let a = actions(decide_shift(&p, &mut s, vec![], t(120)));
    assert!(
        matches!(&a[..], [CanaryAction::Observe { metrics, .. }] if !metrics.is_empty()),
        "{a:?}"
    );
    let obs = aliases.perform(&a, t(120), &healthy);
    let a = actions(decide_shift(&p, &mut s, obs, t(120)));
    assert!(
        matches!(&a[..], [CanaryAction::StepAlias { weight, .. }] if (*weight - 0.05).abs() < 1e-9),
        "{a:?}"
    );
}
