//! Deterministic tests of the release engine's pure `decide`: the order of
//! steps, validation before any mutation, the workspace discarded before
//! every result, unchanged functions skipped, outputs.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::*;
use crate::job::ActionConfiguration;
use crate::manifest::{DeploymentConfig, Hooks};
use plan::{Existence, ObservedAlias, PreparedFunction};

fn job(outputs: bool) -> JobInput {
    let config = BTreeMap::from([("FunctionPrefix".to_string(), "c-".to_string())]);
    JobInput {
        job_id: "j-1".into(),
        pipeline_name: "p".into(),
        stage_name: "Deploy".into(),
        action_name: "Canary".into(),
        pipeline_execution_id: "exec-1".into(),
        action_execution_id: "ae-1".into(),
        configuration: ActionConfiguration::new(config, Default::default()),
        input_artifacts: vec![Artifact {
            name: "App".into(),
            revision: Some("abc123".into()),
            bucket: "b".into(),
            key: "k".into(),
        }],
        output_artifacts: if outputs {
            vec![Artifact {
                name: "Out".into(),
                revision: None,
                bucket: "b".into(),
                key: "o".into(),
            }]
        } else {
            vec![]
        },
        artifact_credentials: None,
        continuation_token: None,
        encryption_key_id: Some("kms-1".into()),
    }
}

fn prepared(n: usize) -> PreparedRelease {
    PreparedRelease {
        source: "pipeline-canary.json".into(),
        functions: (0..n)
            .map(|i| PreparedFunction {
                name: format!("c-{i}"),
                alias: "live".into(),
                deployment_config: DeploymentConfig::AllAtOnce,
                alarms: vec![],
                hooks: Hooks::default(),
                bundle: PathBuf::from(format!("/w/c-{i}.zip")),
                code_sha256: format!("new-{i}"),
                zip_bytes: 10,
            })
            .collect(),
        break_glass: None,
    }
}

/// Every function exists; those in `changed` serve other code.
fn inspected(n: usize, changed: &[usize]) -> Observation {
    Observation::Inspected {
        functions: (0..n)
            .map(|i| ObservedFunction {
                name: format!("c-{i}"),
                exists: Existence::Exists,
                alias: Some(ObservedAlias {
                    version: format!("{}", 40 + i),
                    code_sha256: if changed.contains(&i) {
                        format!("old-{i}")
                    } else {
                        format!("new-{i}")
                    },
                    revision_id: None,
                    routing: None,
                    description: String::new(),
                }),
            })
            .collect(),
        hooks: vec![],
    }
}

fn actions(d: Decision<Action>) -> Vec<Action> {
    match d {
        Decision::Perform(a) => a,
        other => panic!("expected Perform, got {other:?}"),
    }
}

#[test]
fn sixty_functions_three_changed_publishes_exactly_three() {
    let j = job(false);
    let mut s = ReleaseState::default();
    assert_eq!(
        actions(decide(&j, &mut s, vec![], false)),
        [Action::Prepare]
    );
    let a = actions(decide(
        &j,
        &mut s,
        vec![Observation::Prepared(Ok(prepared(60)))],
        false,
    ));
    let [
        Action::Inspect {
            functions, hooks, ..
        },
    ] = a.as_slice()
    else {
        panic!("{a:?}")
    };
    assert_eq!(functions.len(), 60);
    assert!(hooks.is_empty());
    assert_eq!(s.phase, Phase::Start, "nothing mutated yet");
    let a = actions(decide(&j, &mut s, vec![inspected(60, &[3, 17, 59])], false));
    let [Action::Publish(reqs)] = a.as_slice() else {
        panic!("{a:?}")
    };
    let names: Vec<&str> = reqs.iter().map(|r| r.function.as_str()).collect();
    assert_eq!(names, ["c-3", "c-17", "c-59"]);
    let rid = release_id(&j);
    assert!(reqs[0].description.contains(&format!(
        "pipeline-canary release {rid} previous 43 commit abc123"
    )));
    assert_eq!(s.phase, Phase::Publishing);
    let published = reqs
        .iter()
        .map(|r| Published {
            function: r.function.clone(),
            version: "7".into(),
            updated: true,
            reused: false,
        })
        .collect();
    // The workspace is discarded before the result.
    assert_eq!(
        actions(decide(
            &j,
            &mut s,
            vec![Observation::Published(published)],
            false
        )),
        [Action::Discard]
    );
    assert_eq!(s.phase, Phase::Published);
    assert_eq!(s.functions.len(), 3);
    assert_eq!(s.functions[0], FunctionRecord::new(3, Some(43), 7));
    let Decision::Succeed {
        progress,
        output_variables,
    } = decide(&j, &mut s, vec![Observation::Discarded], false)
    else {
        panic!()
    };
    assert!(
        progress
            .summary
            .starts_with("Published 3 changed functions (57 unchanged, skipped)"),
        "{}",
        progress.summary
    );
    assert_eq!(
        progress.external_execution_id.as_deref(),
        Some(rid.as_str())
    );
    assert_eq!(output_variables["c-3"], "7");
    assert_eq!(
        output_variables["c-4"], "44",
        "unchanged: the version the alias serves"
    );
    assert_eq!(output_variables["ReleaseId"], rid);
    assert_eq!(output_variables["Commit"], "abc123");
    assert_eq!(output_variables.len(), 62);
    // The token after publishing fits easily.
    let t = crate::token::encode(&crate::token::Envelope {
        pipeline_execution_id: j.pipeline_execution_id.clone(),
        continuations: 1,
        started_ms: 0,
        state: &s,
    })
    .unwrap();
    assert!(t.len() < 300, "{}", t.len());
}

#[test]
fn nothing_changed_means_no_publish_and_success() {
    let j = job(false);
    let mut s = ReleaseState::default();
    decide(&j, &mut s, vec![], false);
    decide(
        &j,
        &mut s,
        vec![Observation::Prepared(Ok(prepared(4)))],
        false,
    );
    assert_eq!(
        actions(decide(&j, &mut s, vec![inspected(4, &[])], false)),
        [Action::Discard]
    );
    let Decision::Succeed { progress, .. } =
        decide(&j, &mut s, vec![Observation::Discarded], false)
    else {
        panic!()
    };
    assert!(
        progress.summary.starts_with("Nothing to release"),
        "{}",
        progress.summary
    );
    assert_eq!(s.phase, Phase::Start);
}

#[test]
fn validation_failure_discards_then_fails_without_publishing() {
    let j = job(false);
    let mut s = ReleaseState::default();
    decide(&j, &mut s, vec![], false);
    decide(
        &j,
        &mut s,
        vec![Observation::Prepared(Ok(prepared(3)))],
        false,
    );
    let Observation::Inspected {
        mut functions,
        hooks,
    } = inspected(3, &[0, 1, 2])
    else {
        unreachable!()
    };
    functions[1].exists = Existence::Missing;
    functions[1].alias = None;
    let d = decide(
        &j,
        &mut s,
        vec![Observation::Inspected { functions, hooks }],
        false,
    );
    assert_eq!(actions(d), [Action::Discard]);
    let Decision::Fail { kind, message, .. } =
        decide(&j, &mut s, vec![Observation::Discarded], false)
    else {
        panic!()
    };
    assert_eq!(kind, FailureKind::ConfigurationError);
    assert!(
        message.contains("function `c-1` does not exist"),
        "{message}"
    );
    assert_eq!(s.phase, Phase::Start);
}

#[test]
fn prepare_failure_fails_at_once_and_output_artifact_is_written() {
    let j = job(true);
    let mut s = ReleaseState::default();
    decide(&j, &mut s, vec![], false);
    let e = EngineError::new(
        FailureKind::ConfigurationError,
        "pipeline-canary.json: 1 problem",
    );
    let d = decide(&j, &mut s, vec![Observation::Prepared(Err(e))], false);
    assert!(
        matches!(
            d,
            Decision::Fail {
                kind: FailureKind::ConfigurationError,
                ..
            }
        ),
        "{d:?}"
    );

    let mut s = ReleaseState::default();
    decide(&j, &mut s, vec![], false);
    decide(
        &j,
        &mut s,
        vec![Observation::Prepared(Ok(prepared(2)))],
        false,
    );
    decide(&j, &mut s, vec![inspected(2, &[1])], false);
    let a = actions(decide(
        &j,
        &mut s,
        vec![Observation::Published(vec![Published {
            function: "c-1".into(),
            version: "3".into(),
            updated: true,
            reused: false,
        }])],
        false,
    ));
    let [
        Action::WriteOutput {
            artifact,
            release_json,
            kms_key_id,
        },
    ] = a.as_slice()
    else {
        panic!("{a:?}")
    };
    assert_eq!(artifact.key, "o");
    assert_eq!(kms_key_id.as_deref(), Some("kms-1"));
    assert!(
        release_json.contains("\"version\": \"3\""),
        "{release_json}"
    );
    assert_eq!(
        actions(decide(&j, &mut s, vec![Observation::OutputWritten], false)),
        [Action::Discard]
    );
    assert!(matches!(
        decide(&j, &mut s, vec![Observation::Discarded], false),
        Decision::Succeed { .. }
    ));
}

#[test]
fn empty_function_prefix_is_a_configuration_error() {
    let mut j = job(false);
    j.configuration = ActionConfiguration::default();
    let d = decide(&j, &mut ReleaseState::default(), vec![], false);
    assert!(
        matches!(d, Decision::Fail { kind: FailureKind::ConfigurationError, ref message, .. } if message.contains("FunctionPrefix")),
        "{d:?}"
    );
}

#[test]
fn a_job_resumed_from_a_token_publishes_only_what_is_not_recorded() {
    let j = job(false);
    // The token of an earlier job: c-1 published as version 9.
    let mut s = ReleaseState {
        phase: Phase::Publishing,
        functions: vec![FunctionRecord::new(1, Some(41), 9)],
        ..Default::default()
    };
    assert_eq!(
        actions(decide(&j, &mut s, vec![], false)),
        [Action::Prepare]
    );
    decide(
        &j,
        &mut s,
        vec![Observation::Prepared(Ok(prepared(3)))],
        false,
    );
    let a = actions(decide(&j, &mut s, vec![inspected(3, &[1, 2])], false));
    let [Action::Publish(reqs)] = a.as_slice() else {
        panic!("{a:?}")
    };
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].function, "c-2");
    let published = vec![Published {
        function: "c-2".into(),
        version: "5".into(),
        updated: true,
        reused: false,
    }];
    assert_eq!(
        actions(decide(
            &j,
            &mut s,
            vec![Observation::Published(published)],
            false
        )),
        [Action::Discard]
    );
    assert_eq!(
        s.functions,
        [
            FunctionRecord::new(1, Some(41), 9),
            FunctionRecord::new(2, Some(42), 5),
        ]
    );
    let Decision::Succeed {
        output_variables, ..
    } = decide(&j, &mut s, vec![Observation::Discarded], false)
    else {
        panic!()
    };
    assert_eq!(output_variables["c-0"], "40");
    assert_eq!(output_variables["c-1"], "9");
    assert_eq!(output_variables["c-2"], "5");
}

// ---- The orchestrated flow (canary embedded) ----

fn canary_job() -> JobInput {
    let mut j = job(false);
    j.configuration = ActionConfiguration::new(
        BTreeMap::from([
            ("FunctionPrefix".to_string(), "c-".to_string()),
            ("CodeDeployApplication".to_string(), "app".to_string()),
            (
                "CodeDeployServiceRoleArn".to_string(),
                "arn:aws:iam::1:role/cd".to_string(),
            ),
            ("MaxParallel".to_string(), "2".to_string()),
        ]),
        Default::default(),
    );
    j
}

fn flow(hold: Duration) -> Flow {
    Flow {
        staging: false,
        orchestrate: true,
        watch_interval: Duration::from_secs(5),
        hold_job: hold,
        foreign_wait: Duration::from_secs(60),
        time_scale: 1.0,
    }
}

fn t0() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_790_000_000)
}

/// What pre-flight observes for c-1 and c-2 when everything holds; with
/// `alarm_firing`, c-2's alarm is in ALARM.
fn preflight_world(alarm_firing: bool) -> Vec<CanaryObservation> {
    use crate::canary::{AlarmState, AlarmView, AliasView, GroupSpec};
    let mut v = vec![CanaryObservation::Application(Some("Lambda".into()))];
    for i in [1, 2] {
        v.push(CanaryObservation::Group {
            name: format!("c-{i}"),
            spec: Some(GroupSpec {
                application: "app".into(),
                name: format!("c-{i}"),
                service_role_arn: "arn:aws:iam::1:role/cd".into(),
                deployment_config_name: "CodeDeployDefault.LambdaAllAtOnce".into(),
                alarms: vec![],
                managed_rollback_and_style: true,
            }),
        });
        v.push(CanaryObservation::Alias {
            index: None,
            function: format!("c-{i}"),
            alias: Some(AliasView {
                version: format!("{}", 40 + i),
                routing: None,
                revision_id: Some("rev".into()),
            }),
        });
    }
    v.push(CanaryObservation::Deployments(vec![]));
    if alarm_firing {
        v.push(CanaryObservation::Alarms {
            asked: vec!["c-2-errors".into()],
            found: vec![AlarmView {
                name: "c-2-errors".into(),
                state: AlarmState::Alarm,
                reason: "errors".into(),
            }],
        });
    }
    v
}

/// Runs a fresh orchestrated job up to pre-flight's first reads.
fn to_preflight(j: &JobInput, s: &mut ReleaseState, alarm: bool) -> Decision<Action> {
    let f = flow(Duration::from_secs(60));
    assert_eq!(
        actions(decide_with(j, s, vec![], f, t0())),
        [Action::Prepare]
    );
    let mut p = prepared(3);
    if alarm {
        p.functions[2].alarms = vec!["c-2-errors".into()];
    }
    actions(decide_with(
        j,
        s,
        vec![Observation::Prepared(Ok(p))],
        f,
        t0(),
    ));
    decide_with(j, s, vec![inspected(3, &[1, 2])], f, t0())
}

#[test]
fn orchestrated_preflight_comes_before_publishing_and_an_alarm_fails_first() {
    let j = canary_job();
    let mut s = ReleaseState::default();
    let a = actions(to_preflight(&j, &mut s, true));
    let [Action::Canary(c)] = a.as_slice() else {
        panic!("{a:?}")
    };
    let [CanaryAction::ObservePreflight { groups, .. }] = c.as_slice() else {
        panic!("{c:?}")
    };
    assert_eq!(groups, &["c-1", "c-2"], "only the changed functions");
    // c-2's alarm is in ALARM: discard, then fail; nothing was published.
    let d = decide_with(
        &j,
        &mut s,
        vec![Observation::Canary(preflight_world(true))],
        flow(Duration::from_secs(60)),
        t0(),
    );
    assert_eq!(actions(d), [Action::Discard]);
    let Decision::Fail { kind, message, .. } = decide_with(
        &j,
        &mut s,
        vec![Observation::Discarded],
        flow(Duration::from_secs(60)),
        t0(),
    ) else {
        panic!()
    };
    assert_eq!(kind, FailureKind::ConfigurationError);
    assert!(message.contains("c-2-errors"), "{message}");
    assert_eq!(s.phase, Phase::Start);
    assert!(s.functions.is_empty());
}

#[test]
fn orchestrated_release_publishes_discards_then_shifts_with_waits_then_continues() {
    let j = canary_job();
    let mut s = ReleaseState::default();
    let f = flow(Duration::from_secs(60));
    to_preflight(&j, &mut s, false);
    let a = actions(decide_with(
        &j,
        &mut s,
        vec![Observation::Canary(preflight_world(false))],
        f,
        t0(),
    ));
    let [Action::Publish(reqs)] = a.as_slice() else {
        panic!("{a:?}")
    };
    assert_eq!(reqs.len(), 2);
    let published = vec![
        Published {
            function: "c-1".into(),
            version: "7".into(),
            updated: true,
            reused: false,
        },
        Published {
            function: "c-2".into(),
            version: "8".into(),
            updated: true,
            reused: false,
        },
    ];
    // The workspace goes before the shift begins.
    assert_eq!(
        actions(decide_with(
            &j,
            &mut s,
            vec![Observation::Published(published)],
            f,
            t0()
        )),
        [Action::Discard]
    );
    assert_eq!(
        s.functions,
        [
            FunctionRecord::new(1, Some(41), 7),
            FunctionRecord::new(2, Some(42), 8)
        ]
    );
    let a = actions(decide_with(
        &j,
        &mut s,
        vec![Observation::Discarded],
        f,
        t0(),
    ));
    let [Action::Canary(c)] = a.as_slice() else {
        panic!("{a:?}")
    };
    assert!(matches!(c[0], CanaryAction::Observe { discover: true, .. }));
    // Discovery finds nothing: both deployments start (MaxParallel 2),
    // current = recorded previous, target = published.
    let a = actions(decide_with(
        &j,
        &mut s,
        vec![Observation::Canary(vec![
            CanaryObservation::Discovered,
            CanaryObservation::Deployments(vec![]),
        ])],
        f,
        t0(),
    ));
    let [Action::Canary(c)] = a.as_slice() else {
        panic!("{a:?}")
    };
    assert_eq!(c.len(), 2);
    let CanaryAction::CreateDeployment {
        appspec,
        description,
        ..
    } = &c[1]
    else {
        panic!("{c:?}")
    };
    assert_eq!(
        crate::canary::appspec_versions(appspec),
        Some(("42".into(), "8".into()))
    );
    assert!(description.contains(&release_id(&j)), "{description}");
    let d = decide_with(
        &j,
        &mut s,
        vec![Observation::Canary(vec![
            CanaryObservation::DeploymentCreated {
                index: 0,
                deployment_id: "d-AAAAAAAA1".into(),
            },
            CanaryObservation::DeploymentCreated {
                index: 1,
                deployment_id: "d-AAAAAAAA2".into(),
            },
        ])],
        f,
        t0(),
    );
    let views = |status| {
        Observation::Canary(vec![CanaryObservation::Deployments(
            (1..=2)
                .map(|i| crate::canary::DeploymentView {
                    id: format!("d-AAAAAAAA{i}"),
                    application: "app".into(),
                    group: format!("c-{i}"),
                    status,
                    error: None,
                    description: crate::canary::deployment_description(
                        &release_settings(&j, None, Duration::ZERO).unwrap(),
                    ),
                    is_rollback: false,
                    create_time: Some(t0()),
                    start_time: Some(t0()),
                    current_version: Some(format!("{}", 40 + i)),
                    target_version: Some(format!("{}", 6 + i)),
                    rollback_deployment_id: None,
                })
                .collect(),
        )])
    };
    // Watching: a Wait inside the job while `hold_job` lasts…
    let Decision::Wait { delay, .. } = d else {
        panic!("{d:?}")
    };
    assert_eq!(delay, Duration::from_secs(5));
    // …and the token drops what the deployments' AppSpecs record.
    assert!(s.functions.iter().all(|r| r.appspec == InAppSpec::Previous));
    assert_eq!(s.functions[1].published(), Some(8));
    // After a Wait: re-observe (no observations), then hand back once held long enough.
    let a = actions(decide_with(
        &j,
        &mut s,
        vec![],
        f,
        t0() + Duration::from_secs(61),
    ));
    assert!(matches!(a[0], Action::Canary(_)));
    let d = decide_with(
        &j,
        &mut s,
        vec![views(crate::canary::DeploymentStatus::InProgress)],
        f,
        t0() + Duration::from_secs(61),
    );
    assert!(matches!(d, Decision::Continue(_)), "{d:?}");
    // The next job resumes from the token: no pre-flight, no publish.
    let mut next: ReleaseState = serde_json::from_str(&serde_json::to_string(&s).unwrap()).unwrap();
    assert_eq!(next.phase, Phase::Published);
    assert_eq!(next.shift.deployment_ids(), ["d-AAAAAAAA1", "d-AAAAAAAA2"]);
    decide_with(&j, &mut next, vec![], f, t0());
    decide_with(
        &j,
        &mut next,
        vec![Observation::Prepared(Ok(prepared(3)))],
        f,
        t0(),
    );
    // The aliases moved meanwhile (c-1 already serves 7): it does not matter.
    let a = actions(decide_with(
        &j,
        &mut next,
        vec![inspected(3, &[2])],
        f,
        t0(),
    ));
    assert_eq!(a, [Action::Discard]);
    let a = actions(decide_with(
        &j,
        &mut next,
        vec![Observation::Discarded],
        f,
        t0(),
    ));
    assert!(matches!(a[0], Action::Canary(_)));
    let d = decide_with(
        &j,
        &mut next,
        vec![views(crate::canary::DeploymentStatus::Succeeded)],
        f,
        t0() + Duration::from_secs(120),
    );
    let Decision::Succeed {
        output_variables, ..
    } = d
    else {
        panic!("{d:?}")
    };
    assert_eq!(output_variables["ReleaseId"], release_id(&j));
    assert_eq!(output_variables["Commit"], "abc123");
    assert_eq!(
        output_variables["c-0"], "40",
        "unchanged: what its alias serves"
    );
    assert_eq!(output_variables["c-1"], "7");
    assert_eq!(output_variables["c-2"], "8");
}

#[test]
fn orchestrated_settings_are_checked_before_the_artifact_is_fetched() {
    let mut j = canary_job();
    j.configuration = ActionConfiguration::new(
        BTreeMap::from([
            ("FunctionPrefix".to_string(), "c-".to_string()),
            ("CodeDeployApplication".to_string(), "app".to_string()),
            (
                "CodeDeployServiceRoleArn".to_string(),
                "arn:aws:iam::1:role/cd".to_string(),
            ),
            ("MaxParallel".to_string(), "zero".to_string()),
        ]),
        Default::default(),
    );
    let d = decide_with(
        &j,
        &mut ReleaseState::default(),
        vec![],
        flow(Duration::ZERO),
        t0(),
    );
    let Decision::Fail { kind, message, .. } = d else {
        panic!("{d:?}")
    };
    assert_eq!(kind, FailureKind::ConfigurationError);
    assert!(message.contains("MaxParallel"), "{message}");
    let mut j = canary_job();
    j.configuration = ActionConfiguration::new(
        BTreeMap::from([("FunctionPrefix".to_string(), "c-".to_string())]),
        Default::default(),
    );
    let Decision::Fail { message, .. } = decide_with(
        &j,
        &mut ReleaseState::default(),
        vec![],
        flow(Duration::ZERO),
        t0(),
    ) else {
        panic!()
    };
    assert!(message.contains("CodeDeployApplication"), "{message}");
}

#[test]
fn aliases_are_read_once_per_job_and_not_after_publishing() {
    let j = canary_job();
    let mut s = ReleaseState::default();
    let f = flow(Duration::from_secs(60));
    decide_with(&j, &mut s, vec![], f, t0());
    let a = actions(decide_with(
        &j,
        &mut s,
        vec![Observation::Prepared(Ok(prepared(3)))],
        f,
        t0(),
    ));
    let [Action::Inspect { aliases: true, .. }] = a.as_slice() else {
        panic!("a first job reads the changed functions' aliases: {a:?}")
    };
    // Pre-flight takes them from Inspect: it reads no alias again.
    let a = actions(decide_with(
        &j,
        &mut s,
        vec![inspected(3, &[1, 2])],
        f,
        t0(),
    ));
    let [Action::Canary(c)] = a.as_slice() else {
        panic!("{a:?}")
    };
    let [CanaryAction::ObservePreflight { aliases, .. }] = c.as_slice() else {
        panic!("{c:?}")
    };
    assert!(aliases.is_empty(), "{aliases:?}");
    // A later job of a release that published: no GetAlias at all.
    let mut next = ReleaseState {
        phase: Phase::Published,
        functions: vec![FunctionRecord::new(1, Some(41), 7)],
        ..Default::default()
    };
    decide_with(&j, &mut next, vec![], f, t0());
    let a = actions(decide_with(
        &j,
        &mut next,
        vec![Observation::Prepared(Ok(prepared(3)))],
        f,
        t0(),
    ));
    let [Action::Inspect { aliases: false, .. }] = a.as_slice() else {
        panic!("{a:?}")
    };
}

#[test]
fn the_watch_looks_when_the_schedule_ends_and_holds_a_job_that_ends_soon() {
    use crate::canary::shift::ShiftDue;
    let hold = Duration::from_secs(60);
    // Two simulated seconds per real one; due in 6 s simulated = 3 s real,
    // watch interval 5 s: look at the due time, not 5 s later.
    let due = Some(ShiftDue {
        next: t0() + Duration::from_secs(6),
        last: Some(t0() + Duration::from_secs(6)),
    });
    assert_eq!(
        watch::watch_delay(t0(), due, Duration::from_secs(5), 2.0),
        Duration::from_secs(3) + watch::DUE_MARGIN
    );
    assert!(watch::keep_holding(t0(), due, hold, 2.0));
}
