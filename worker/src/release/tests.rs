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
    let [Action::Inspect { functions, hooks }] = a.as_slice() else {
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
    assert!(
        reqs[0]
            .description
            .contains(&format!("pipeline-canary release {rid} commit abc123"))
    );
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
    assert_eq!(
        s.functions[0],
        FunctionRecord {
            index: 3,
            previous: Some(43),
            published: 7
        }
    );
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
        functions: vec![FunctionRecord {
            index: 1,
            previous: Some(41),
            published: 9,
        }],
        scratch: Default::default(),
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
            FunctionRecord {
                index: 1,
                previous: Some(41),
                published: 9
            },
            FunctionRecord {
                index: 2,
                previous: Some(42),
                published: 5
            },
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
