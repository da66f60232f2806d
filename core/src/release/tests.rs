//! Deterministic tests of the release engine's pure `decide`: the record
//! written before every mutation it announces, the phases in order, a
//! continuation job resuming from the record alone, lost races re-read and
//! superseded jobs abandoned, ledger outages never failing a shifting
//! release, the token a pointer of constant size.
//!
//! The ledger here is a map with S3's conditional-write answers (create
//! only if absent, replace only the version read), enough to drive the
//! engine; aws-sim's S3 is what the end-to-end tests use.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::plan::{Existence, ObservedAlias, PreparedFunction};
use super::record::{FunctionState, Outcome, Phase as RecordPhase, ReleaseRecord};
use super::*;
use crate::canary::shift::Slot;
use crate::canary::{AlarmState, AlarmView, AliasView, GroupSpec};
use crate::job::ActionConfiguration;
use crate::manifest::{DeploymentConfig, Hooks};

fn job(token: Option<&str>) -> JobInput {
    JobInput {
        job_id: if token.is_some() { "j-2" } else { "j-1" }.into(),
        pipeline_name: "p".into(),
        stage_name: "Deploy".into(),
        action_name: "Canary".into(),
        pipeline_execution_id: "exec-1".into(),
        action_execution_id: "ae-1".into(),
        configuration: ActionConfiguration::new(
            BTreeMap::from([
                ("FunctionPrefix".to_string(), "c-".to_string()),
                ("CodeDeployApplication".to_string(), "app".to_string()),
                (
                    "CodeDeployServiceRoleArn".to_string(),
                    "arn:aws:iam::1:role/cd".to_string(),
                ),
            ]),
            Default::default(),
        ),
        input_artifacts: vec![Artifact {
            name: "App".into(),
            revision: Some("abc123".into()),
            bucket: "b".into(),
            key: "k".into(),
        }],
        output_artifacts: vec![],
        artifact_credentials: None,
        continuation_token: token.map(str::to_string),
        encryption_key_id: None,
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
                alarms: if i == 2 {
                    vec!["c-2-errors".into()]
                } else {
                    vec![]
                },
                hooks: Hooks::default(),
                bundle: PathBuf::from(format!("/w/c-{i}.zip")),
                code_sha256: format!("new-{i}"),
                zip_bytes: 10,
                code_only: false,
                analysis: None,
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
                    revision_id: Some("rev".into()),
                    routing: None,
                    description: String::new(),
                    code_size: 10,
                }),
            })
            .collect(),
        hooks: vec![],
    }
}

/// What pre-flight observes for c-1 and c-2; with `alarm_firing`, c-2's
/// alarm is in ALARM.
fn preflight_world(alarm_firing: bool) -> Vec<CanaryObservation> {
    let mut v = vec![CanaryObservation::Application(Some("Lambda".into()))];
    for i in [1, 2] {
        v.push(CanaryObservation::Group {
            name: format!("c-{i}"),
            spec: Some(GroupSpec {
                application: "app".into(),
                name: format!("c-{i}"),
                service_role_arn: "arn:aws:iam::1:role/cd".into(),
                deployment_config_name: "CodeDeployDefault.LambdaAllAtOnce".into(),
                alarms: if i == 2 {
                    vec!["c-2-errors".into()]
                } else {
                    vec![]
                },
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
    v.push(CanaryObservation::Alarms {
        asked: vec!["c-2-errors".into()],
        found: vec![AlarmView {
            name: "c-2-errors".into(),
            state: if alarm_firing {
                AlarmState::Alarm
            } else {
                AlarmState::Ok
            },
            reason: "errors".into(),
        }],
    });
    v
}

fn flow() -> Flow {
    Flow {
        watch_interval: Duration::from_secs(5),
        hold_job: Duration::from_secs(60),
        foreign_wait: Duration::from_secs(60),
        // Every deployment at once; the pace has its own tests.
        codedeploy_rate: f64::INFINITY,
        ..Flow::default()
    }
}

fn t0() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_790_000_000)
}

fn actions(d: Decision<Action>) -> Vec<Action> {
    match d {
        Decision::Perform(a) => a,
        other => panic!("expected Perform, got {other:?}"),
    }
}

/// A ledger with S3's conditional writes.
#[derive(Default)]
struct Ledger {
    objects: BTreeMap<String, (Vec<u8>, String)>,
    writes: usize,
}

impl Ledger {
    fn answer(&mut self, a: &Action, lease: &str) -> Observation {
        match a {
            Action::ReadRecord { key } => Observation::RecordRead {
                found: self.objects.get(key).cloned(),
                at: format!("s3://ledger/{key}"),
                lease: lease.into(),
            },
            Action::WriteRecord {
                key,
                body,
                etag,
                index,
            } => {
                let current = self.objects.get(key).map(|(_, e)| e.clone());
                let ok = match etag {
                    None => current.is_none(),
                    Some(e) => current.as_ref() == Some(e),
                };
                if !ok {
                    return Observation::RecordConflict;
                }
                self.writes += 1;
                let etag = format!("\"e{}\"", self.writes);
                self.objects
                    .insert(key.clone(), (body.as_bytes().to_vec(), etag.clone()));
                for i in index {
                    self.objects.entry(i.clone()).or_default();
                }
                Observation::RecordWritten { etag }
            }
            // An ordinary pipeline execution (no stage rollback).
            Action::GetPipelineExecution => Observation::PipelineExecution(None),
            other => panic!("not a ledger action: {other:?}"),
        }
    }

    fn record(&self, rid: &str) -> ReleaseRecord {
        let (body, _) = &self.objects[&ledger::record_key(rid)];
        ReleaseRecord::parse(body, "k").unwrap()
    }

    /// Replaces the record behind the engine's back (another writer).
    fn overwrite(&mut self, r: &ReleaseRecord) {
        self.writes += 1;
        self.objects.insert(
            ledger::record_key(&r.release_id),
            (r.to_json().into_bytes(), format!("\"e{}\"", self.writes)),
        );
    }
}

/// Answers every ledger action of `d` (others must not be there); returns
/// what the ledger observed, for the next `decide`.
fn ledger_only(l: &mut Ledger, d: Decision<Action>, lease: &str) -> Vec<Observation> {
    actions(d).iter().map(|a| l.answer(a, lease)).collect()
}

/// Drives a fresh job of a 3-function release (c-1 and c-2 changed) to the
/// first pre-flight observation; returns its `ObservePreflight` actions.
fn to_preflight(l: &mut Ledger, s: &mut ReleaseState, j: &JobInput) -> Vec<Action> {
    let d = decide(j, s, vec![], flow(), t0());
    let obs = ledger_only(l, d, "L1");
    assert_eq!(actions(decide(j, s, obs, flow(), t0())), [Action::Prepare]);
    let a = actions(decide(
        j,
        s,
        vec![Observation::Prepared(Ok(prepared(3)))],
        flow(),
        t0(),
    ));
    assert!(
        matches!(&a[..], [Action::Inspect { aliases: true, .. }]),
        "{a:?}"
    );
    // A new release asks whether its execution is a stage rollback.
    let mut a = actions(decide(j, s, vec![inspected(3, &[1, 2])], flow(), t0()));
    if s.job.record.is_none() {
        assert_eq!(a, [Action::GetPipelineExecution]);
        a = actions(decide(
            j,
            s,
            vec![Observation::PipelineExecution(None)],
            flow(),
            t0(),
        ));
    }
    // The record is created before anything is mutated.
    let [Action::WriteRecord { etag, index, .. }] = &a[..] else {
        panic!("{a:?}")
    };
    // A new record is created (with its index keys); a retry updates it.
    assert_eq!(etag.is_none(), l.objects.is_empty(), "{a:?}");
    assert_eq!(index.len(), if etag.is_none() { 2 } else { 0 });
    let obs = vec![l.answer(&a[0], "L1")];
    actions(decide(j, s, obs, flow(), t0()))
}

/// The publish-and-shift path of the release `to_preflight` began, up to
/// the shift's first observation.
fn to_shift(l: &mut Ledger, s: &mut ReleaseState, j: &JobInput) {
    let a = to_preflight(l, s, j);
    assert!(
        matches!(&a[..], [Action::Canary(c)] if matches!(c[0], CanaryAction::ObservePreflight { .. }))
    );
    // Pre-flight holds: `Publishing` is recorded before anything is published.
    let d = decide(
        j,
        s,
        vec![Observation::Canary(preflight_world(false))],
        flow(),
        t0(),
    );
    let a = actions(d);
    assert!(
        matches!(&a[..], [Action::WriteRecord { etag: Some(_), .. }]),
        "{a:?}"
    );
    let rid = release_id(j);
    let obs = vec![l.answer(&a[0], "L1")];
    assert_eq!(l.record(&rid).phase, RecordPhase::Publishing);
    let a = actions(decide(j, s, obs, flow(), t0()));
    let [Action::Publish(reqs)] = &a[..] else {
        panic!("{a:?}")
    };
    let names: Vec<&str> = reqs.iter().map(|r| r.function.as_str()).collect();
    assert_eq!(names, ["c-1", "c-2"]);
    assert!(
        reqs[0]
            .description
            .contains(&format!("release {rid} previous 41"))
    );
    let published = reqs
        .iter()
        .map(|r| Published {
            function: r.function.clone(),
            version: "50".into(),
            updated: true,
            reused: false,
        })
        .collect();
    // The versions and `Shifting` are recorded before any alias moves.
    let a = actions(decide(
        j,
        s,
        vec![Observation::Published(published)],
        flow(),
        t0(),
    ));
    let obs = vec![l.answer(&a[0], "L1")];
    let r = l.record(&rid);
    assert_eq!(r.phase, RecordPhase::Shifting);
    assert_eq!(r.functions[0].version.as_deref(), Some("50"));
    assert_eq!(actions(decide(j, s, obs, flow(), t0())), [Action::Discard]);
    let a = actions(decide(j, s, vec![Observation::Discarded], flow(), t0()));
    assert!(
        matches!(&a[..], [Action::Canary(c)] if matches!(c[0], CanaryAction::Observe { discover: true, .. })),
        "{a:?}"
    );
}

#[test]
fn a_release_is_recorded_before_anything_is_mutated_and_lists_only_changed_functions() {
    let j = job(None);
    let mut l = Ledger::default();
    let mut s = ReleaseState::default();
    let a = to_preflight(&mut l, &mut s, &j);
    let [Action::Canary(c)] = &a[..] else {
        panic!("{a:?}")
    };
    let [CanaryAction::ObservePreflight { groups, .. }] = &c[..] else {
        panic!("{c:?}")
    };
    assert_eq!(groups, &["c-1", "c-2"], "only the changed functions");
    let r = l.record(&release_id(&j));
    assert_eq!(r.outcome, Outcome::InProgress);
    assert_eq!(r.phase, RecordPhase::Planned);
    assert_eq!(r.holder.job_id, "j-1");
    assert_eq!(r.holder.lease, "L1");
    let names: Vec<&str> = r.functions.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["c-1", "c-2"]);
    assert_eq!(r.functions[1].previous_version.as_deref(), Some("42"));
    assert_eq!(r.functions[1].alarms, ["c-2-errors"]);
    assert_eq!(r.unchanged.len(), 1);
    assert_eq!(r.unchanged[0].version, "40");
    assert_eq!(r.commit.as_deref(), Some("abc123"));
    assert_eq!(r.artifact.key, "k");
}

#[test]
fn a_preflight_refusal_is_recorded_then_the_workspace_goes_then_the_job_fails() {
    let j = job(None);
    let mut l = Ledger::default();
    let mut s = ReleaseState::default();
    to_preflight(&mut l, &mut s, &j);
    let d = decide(
        &j,
        &mut s,
        vec![Observation::Canary(preflight_world(true))],
        flow(),
        t0(),
    );
    let obs = ledger_only(&mut l, d, "L1");
    let r = l.record(&release_id(&j));
    assert_eq!(r.outcome, Outcome::Failed);
    assert!(
        r.reason.as_deref().unwrap().contains("c-2-errors"),
        "{:?}",
        r.reason
    );
    assert!(
        r.functions
            .iter()
            .all(|f| f.state == FunctionState::NotStarted)
    );
    assert_eq!(
        actions(decide(&j, &mut s, obs, flow(), t0())),
        [Action::Discard]
    );
    let Decision::Fail { kind, message, .. } =
        decide(&j, &mut s, vec![Observation::Discarded], flow(), t0())
    else {
        panic!()
    };
    assert_eq!(kind, FailureKind::ConfigurationError);
    assert!(message.contains("c-2-errors"), "{message}");
}

#[test]
fn publishing_and_shifting_are_recorded_ahead_and_deployments_are_announced_as_creating() {
    let j = job(None);
    let mut l = Ledger::default();
    let mut s = ReleaseState::default();
    to_shift(&mut l, &mut s, &j);
    // First tick: nothing running; the wave starts. The `creating` slots
    // are written in the same batch, before the CreateDeployments.
    let a = actions(decide(
        &j,
        &mut s,
        vec![Observation::Canary(vec![
            CanaryObservation::Deployments(vec![]),
            CanaryObservation::Alarms {
                asked: vec!["c-2-errors".into()],
                found: vec![],
            },
            CanaryObservation::Discovered,
        ])],
        flow(),
        t0(),
    ));
    let [Action::WriteRecord { body, .. }, Action::Canary(c)] = &a[..] else {
        panic!("{a:?}")
    };
    assert!(
        c.iter()
            .all(|x| matches!(x, CanaryAction::CreateDeployment { .. }))
    );
    let written = ReleaseRecord::parse(body.as_bytes(), "k").unwrap();
    assert!(
        written
            .functions
            .iter()
            .all(|f| f.state == FunctionState::Creating)
    );
    assert!(written.shift.discovered);
    let rid = release_id(&j);
    let obs = vec![
        l.answer(&a[0], "L1"),
        Observation::Canary(vec![
            CanaryObservation::DeploymentCreated {
                index: 0,
                deployment_id: "d-AAAAAAAA1".into(),
            },
            CanaryObservation::DeploymentCreated {
                index: 1,
                deployment_id: "d-AAAAAAAA2".into(),
            },
        ]),
    ];
    // The ids need no write of their own: the record already says
    // `creating` for both, which a job resuming from it resolves by
    // looking for their deployments. The job waits at once.
    let d = decide(&j, &mut s, obs, flow(), t0());
    assert!(matches!(d, Decision::Wait { .. }), "{d:?}");
    let r = l.record(&rid);
    assert_eq!(r.functions[0].state, FunctionState::Creating);
    assert!(r.functions[1].deployment_ids.is_empty());
    // They go with the hand-back's write, when the job has held the
    // release for `hold_job`.
    let late = t0() + Duration::from_secs(61);
    let a = actions(decide(&j, &mut s, vec![], flow(), late));
    assert!(
        matches!(&a[..], [Action::Canary(c)] if matches!(c[..], [CanaryAction::Observe { .. }])),
        "{a:?}"
    );
    let running = |i: usize| crate::canary::DeploymentView {
        id: format!("d-AAAAAAAA{}", i + 1),
        application: "app".into(),
        group: String::new(),
        status: crate::canary::DeploymentStatus::InProgress,
        error: None,
        description: String::new(),
        is_rollback: false,
        create_time: Some(t0()),
        start_time: Some(t0()),
        current_version: None,
        target_version: None,
        rollback_deployment_id: None,
    };
    let mut d = decide(
        &j,
        &mut s,
        vec![Observation::Canary(vec![
            CanaryObservation::Deployments(vec![running(0), running(1)]),
            CanaryObservation::Alarms {
                asked: vec!["c-2-errors".into()],
                found: vec![],
            },
        ])],
        flow(),
        late,
    );
    let mut wrote = false;
    while let Decision::Perform(a) = &d {
        let obs: Vec<Observation> = a
            .iter()
            .map(|x| match x {
                Action::WriteRecord { .. } => {
                    wrote = true;
                    l.answer(x, "L1")
                }
                Action::Discard => Observation::Discarded,
                other => panic!("{other:?}"),
            })
            .collect();
        d = decide(&j, &mut s, obs, flow(), late);
    }
    assert!(wrote);
    assert!(matches!(d, Decision::Continue(_)), "{d:?}");
    let r = l.record(&rid);
    assert_eq!(r.functions[0].state, FunctionState::Deployed);
    assert_eq!(r.functions[1].deployment_ids, ["d-AAAAAAAA2"]);
    // The token is a pointer: the release, the record, the ETag.
    let token = crate::token::encode(&crate::token::Envelope {
        pipeline_execution_id: "exec-1".into(),
        continuations: 1,
        started_ms: 0,
        state: &s,
    })
    .unwrap();
    assert!(token.len() < 200, "{} characters", token.len());
    let back: crate::token::Envelope<ReleaseState> = crate::token::decode(&token).unwrap();
    assert_eq!(back.state.key, ledger::record_key(&rid));
    assert_eq!(back.state.etag, s.etag);
}

/// A continuation job: reads the record, claims it, and goes on shifting
/// without the artifact.
#[test]
fn a_continuation_job_resumes_from_the_record_alone() {
    let first = job(None);
    let mut l = Ledger::default();
    let mut s = ReleaseState::default();
    to_shift(&mut l, &mut s, &first);
    let j = job(Some("token"));
    let mut s = ReleaseState {
        release_id: s.release_id.clone(),
        key: s.key.clone(),
        etag: s.etag.clone(),
        ..Default::default()
    };
    let d = decide(&j, &mut s, vec![], flow(), t0());
    let obs = ledger_only(&mut l, d, "L2");
    // The claim: this job now holds the record; not a new attempt.
    let d = decide(&j, &mut s, obs, flow(), t0());
    let obs = ledger_only(&mut l, d, "L2");
    let r = l.record(&release_id(&j));
    assert_eq!(
        (r.holder.job_id.as_str(), r.holder.lease.as_str()),
        ("j-2", "L2")
    );
    assert_eq!(r.attempt, 1);
    let a = actions(decide(&j, &mut s, obs, flow(), t0()));
    assert!(
        matches!(&a[..], [Action::Canary(c)] if matches!(c[0], CanaryAction::Observe { .. })),
        "no Prepare, no Inspect: {a:?}"
    );
}

#[test]
fn a_job_whose_record_was_taken_over_abandons_without_a_result() {
    let j = job(None);
    let mut l = Ledger::default();
    let mut s = ReleaseState::default();
    to_shift(&mut l, &mut s, &j);
    // A newer job (a stage retry) claims the record meanwhile.
    let rid = release_id(&j);
    let mut r = l.record(&rid);
    r.holder.job_id = "j-9".into();
    r.holder.lease = "L9".into();
    l.overwrite(&r);
    let a = actions(decide(
        &j,
        &mut s,
        vec![Observation::Canary(vec![
            CanaryObservation::Deployments(vec![]),
            CanaryObservation::Alarms {
                asked: vec![],
                found: vec![],
            },
            CanaryObservation::Discovered,
        ])],
        flow(),
        t0(),
    ));
    // The write-ahead loses: the CreateDeployments after it are not sent.
    assert!(l.answer(&a[0], "L1").is_conflict());
    let d = decide(&j, &mut s, vec![Observation::RecordConflict], flow(), t0());
    let obs = ledger_only(&mut l, d, "L1");
    let Decision::Abandon(why) = decide(&j, &mut s, obs, flow(), t0()) else {
        panic!()
    };
    assert!(why.contains("j-9"), "{why}");
}

#[test]
fn two_runs_of_one_job_racing_to_create_the_record_end_with_one() {
    let j = job(None);
    let mut l = Ledger::default();
    let (mut a, mut b) = (ReleaseState::default(), ReleaseState::default());
    for (s, lease) in [(&mut a, "LA"), (&mut b, "LB")] {
        let d = decide(&j, s, vec![], flow(), t0());
        let obs = ledger_only(&mut l, d, lease);
        decide(&j, s, obs, flow(), t0());
        decide(
            &j,
            s,
            vec![Observation::Prepared(Ok(prepared(3)))],
            flow(),
            t0(),
        );
    }
    let create = |s: &mut ReleaseState| {
        let a = actions(decide(&j, s, vec![inspected(3, &[1])], flow(), t0()));
        assert_eq!(a, [Action::GetPipelineExecution]);
        actions(decide(
            &j,
            s,
            vec![Observation::PipelineExecution(None)],
            flow(),
            t0(),
        ))
    };
    let wa = create(&mut a);
    let wb = create(&mut b);
    assert!(matches!(
        l.answer(&wa[0], "LA"),
        Observation::RecordWritten { .. }
    ));
    assert!(
        l.answer(&wb[0], "LB").is_conflict(),
        "the second create loses"
    );
    let d = decide(&j, &mut b, vec![Observation::RecordConflict], flow(), t0());
    let obs = ledger_only(&mut l, d, "LB");
    assert_eq!(
        actions(decide(&j, &mut b, obs, flow(), t0())),
        [Action::Discard]
    );
    assert!(matches!(
        decide(&j, &mut b, vec![Observation::Discarded], flow(), t0()),
        Decision::Abandon(_)
    ));
    assert_eq!(l.record(&release_id(&j)).holder.lease, "LA");
}

#[test]
fn a_ledger_outage_hands_a_shifting_release_back_and_fails_one_that_has_not_shifted() {
    // Shifting: the write-ahead of the first wave fails → hand back.
    let j = job(None);
    let mut l = Ledger::default();
    let mut s = ReleaseState::default();
    to_shift(&mut l, &mut s, &j);
    let down = Observation::LedgerUnavailable("PutObject failed: SlowDown (HTTP 503)".into());
    let Decision::Continue(p) = decide(&j, &mut s, vec![down], flow(), t0()) else {
        panic!()
    };
    assert!(
        p.summary.contains("paused") && p.summary.contains("SlowDown"),
        "{}",
        p.summary
    );
    // Nothing shifted yet (first read of a first job): the job fails.
    let mut s = ReleaseState::default();
    let down =
        Observation::LedgerUnavailable("GetObject failed: no answer within the timeout".into());
    let Decision::Fail { kind, message, .. } = decide(&j, &mut s, vec![down], flow(), t0()) else {
        panic!()
    };
    assert_eq!(kind, FailureKind::SystemUnavailable);
    assert!(message.contains("nothing was changed"), "{message}");
}

#[test]
fn a_corrupt_or_newer_record_fails_naming_its_key_before_anything_happens() {
    let j = job(None);
    let mut s = ReleaseState::default();
    let Decision::Perform(a) = decide(&j, &mut s, vec![], flow(), t0()) else {
        panic!()
    };
    let [Action::ReadRecord { key }] = &a[..] else {
        panic!()
    };
    let obs = vec![Observation::RecordRead {
        found: Some((br#"{"schema": 7}"#.to_vec(), "\"e\"".into())),
        at: format!("s3://ledger/{key}"),
        lease: "L".into(),
    }];
    let Decision::Fail { kind, message, .. } = decide(&j, &mut s, obs, flow(), t0()) else {
        panic!()
    };
    assert_eq!(kind, FailureKind::ConfigurationError);
    assert!(
        message.contains(key.as_str()) && message.contains("schema 7"),
        "{message}"
    );
}

#[test]
fn nothing_changed_is_recorded_as_a_success() {
    let j = job(None);
    let mut l = Ledger::default();
    let mut s = ReleaseState::default();
    let d = decide(&j, &mut s, vec![], flow(), t0());
    let obs = ledger_only(&mut l, d, "L1");
    decide(&j, &mut s, obs, flow(), t0());
    decide(
        &j,
        &mut s,
        vec![Observation::Prepared(Ok(prepared(2)))],
        flow(),
        t0(),
    );
    let d = decide(&j, &mut s, vec![inspected(2, &[])], flow(), t0());
    let obs = ledger_only(&mut l, d, "L1"); // GetPipelineExecution
    let d = decide(&j, &mut s, obs, flow(), t0());
    let obs = ledger_only(&mut l, d, "L1");
    let d = decide(&j, &mut s, obs, flow(), t0());
    let obs = ledger_only(&mut l, d, "L1");
    assert_eq!(
        actions(decide(&j, &mut s, obs, flow(), t0())),
        [Action::Discard]
    );
    let Decision::Succeed {
        progress,
        output_variables,
    } = decide(&j, &mut s, vec![Observation::Discarded], flow(), t0())
    else {
        panic!()
    };
    assert!(
        progress.summary.starts_with("Nothing to release"),
        "{}",
        progress.summary
    );
    assert_eq!(output_variables["c-1"], "41");
    let r = l.record(&release_id(&j));
    assert_eq!(r.outcome, Outcome::Succeeded);
    assert!(r.ended_at.is_some());
}

#[test]
fn a_stage_retry_of_a_failed_release_is_a_new_attempt_of_the_same_record() {
    let j = job(None);
    let mut l = Ledger::default();
    let mut s = ReleaseState::default();
    to_preflight(&mut l, &mut s, &j);
    let d = decide(
        &j,
        &mut s,
        vec![Observation::Canary(preflight_world(true))],
        flow(),
        t0(),
    );
    ledger_only(&mut l, d, "L1");
    // The retry: a new job of the same execution, no token.
    let mut retry = job(None);
    retry.job_id = "j-3".into();
    let mut s = ReleaseState::default();
    let a = to_preflight(&mut l, &mut s, &retry);
    assert!(matches!(&a[..], [Action::Canary(_)]));
    let r = l.record(&release_id(&retry));
    assert_eq!(r.attempt, 2);
    assert_eq!(r.outcome, Outcome::InProgress);
    assert_eq!(r.reason, None);
    assert_eq!(r.holder.job_id, "j-3");
    assert_eq!(r.functions.len(), 2);
}

#[test]
fn a_token_of_another_release_is_refused() {
    let j = job(Some("t"));
    let mut s = ReleaseState {
        release_id: "r-0000000000000000".into(),
        ..Default::default()
    };
    let Decision::Fail { kind, message, .. } = decide(&j, &mut s, vec![], flow(), t0()) else {
        panic!()
    };
    assert_eq!(kind, FailureKind::ConfigurationError);
    assert!(message.contains("r-0000000000000000"), "{message}");
}

#[test]
fn the_record_keeps_the_slots_the_shift_resumes_from() {
    let mut r = ReleaseRecord::parse(
        br#"{"schema":1,"releaseId":"r-1","pipeline":"p","stage":"s","action":"a","executionId":"e",
            "artifact":{"name":"A","key":"k"},"startedAt":"2026-01-01T00:00:00.000Z","updatedAt":"x",
            "outcome":"InProgress","phase":"shifting","attempt":1,
            "holder":{"jobId":"j","lease":"l","since":"x"},
            "settings":{"application":"app","serviceRoleArn":"arn"},
            "functions":[
              {"name":"c-1","alias":"live","previousVersion":"1","version":"2","codeSha256":"S",
               "deploymentConfig":"AllAtOnce","deploymentIds":["d-AAAAAAAA1"],"state":"deployed"},
              {"name":"c-2","alias":"live","previousVersion":null,"version":"1","codeSha256":"S",
               "deploymentConfig":"AllAtOnce","state":"published"}]}"#,
        "k",
    )
    .unwrap();
    let plan = shift::shift_plan(
        &r,
        &Flow {
            foreign_wait: Duration::ZERO,
            ..Flow::default()
        },
    )
    .unwrap();
    assert_eq!(plan.functions[1].current_version, None, "a first release");
    let slots: Vec<Slot> = r.functions.iter().map(|f| f.slot()).collect();
    assert_eq!(
        slots,
        [Slot::Deployment("d-AAAAAAAA1".into()), Slot::Waiting]
    );
    r.functions[1].set_slot(&Slot::AliasCreated);
    r.finish(Outcome::Failed, Some("alarm".into()), t0());
    assert_eq!(r.functions[0].state, FunctionState::RolledBack);
    assert_eq!(r.functions[1].state, FunctionState::AliasCreated);
}

impl Observation {
    fn is_conflict(&self) -> bool {
        matches!(self, Observation::RecordConflict)
    }
}

/// A canary read that fails after its retries while the release shifts
/// pauses it: the job waits with backoff, then hands back, the record says
/// since when and why; never a failure. The first successful look clears it.
#[test]
fn a_failing_read_while_shifting_pauses_the_release_and_never_fails_it() {
    let j = job(None);
    let mut l = Ledger::default();
    let mut s = ReleaseState::default();
    to_shift(&mut l, &mut s, &j);
    let down = || {
        Observation::CanaryFailed(
            vec![],
            EngineError::new(
                FailureKind::SystemUnavailable,
                "CodeDeploy BatchGetDeployments failed: ServiceUnavailableException (HTTP 503)",
            ),
        )
    };
    let d = decide(&j, &mut s, vec![down()], flow(), t0());
    let obs = ledger_only(&mut l, d, "L1");
    let r = l.record(&release_id(&j));
    assert!(r.shift.paused_since.is_some());
    assert!(
        r.shift
            .stalled
            .as_deref()
            .unwrap()
            .contains("BatchGetDeployments")
    );
    let Decision::Wait { delay, progress } = decide(&j, &mut s, obs, flow(), t0()) else {
        panic!()
    };
    assert_eq!(delay, Duration::from_secs(5), "the watch interval first");
    assert!(progress.summary.contains("paused"), "{}", progress.summary);
    assert!(
        progress.summary.contains("ServiceUnavailableException"),
        "{}",
        progress.summary
    );
    // Again and again: the delay doubles; past hold_job, a hand-back.
    let d = decide(&j, &mut s, vec![], flow(), t0());
    assert!(
        matches!(&d, Decision::Perform(a) if matches!(&a[0], Action::Canary(_))),
        "{d:?}"
    );
    let Decision::Wait { delay, .. } = decide(&j, &mut s, vec![down()], flow(), t0()) else {
        panic!()
    };
    assert_eq!(delay, Duration::from_secs(10));
    decide(&j, &mut s, vec![], flow(), t0());
    let late = t0() + Duration::from_secs(120);
    let Decision::Continue(p) = decide(&j, &mut s, vec![down()], flow(), late) else {
        panic!()
    };
    assert!(
        p.summary.contains("paused") && p.summary.contains("2 min"),
        "{}",
        p.summary
    );
}

#[test]
fn an_action_failing_while_shifting_pauses_the_release_and_never_fails_it() {
    let j = job(None);
    let mut l = Ledger::default();
    let mut s = ReleaseState::default();
    to_shift(&mut l, &mut s, &j);
    // e.g. the output artifact cannot be written, or the workspace is gone.
    let e = EngineError::new(
        FailureKind::SystemUnavailable,
        "the job's workspace is gone (internal error); retry the action",
    );
    let d = on_error(&j, &mut s, e, flow(), t0());
    let obs = ledger_only(&mut l, d, "L1");
    let r = l.record(&release_id(&j));
    assert_eq!(r.outcome, Outcome::InProgress);
    assert!(r.shift.paused_since.is_some());
    assert!(r.shift.stalled.as_deref().unwrap().contains("workspace"));
    let Decision::Wait { progress, .. } = decide(&j, &mut s, obs, flow(), t0()) else {
        panic!()
    };
    assert!(progress.summary.contains("paused"), "{}", progress.summary);
    // The next look observes the shift again.
    let d = decide(&j, &mut s, vec![], flow(), t0());
    assert!(
        matches!(&d, Decision::Perform(a) if matches!(&a[0], Action::Canary(_))),
        "{d:?}"
    );
}

#[test]
fn an_action_failing_before_anything_shifted_fails_the_release_naming_it() {
    let j = job(None);
    let mut l = Ledger::default();
    let mut s = ReleaseState::default();
    to_preflight(&mut l, &mut s, &j);
    let e = EngineError::new(
        FailureKind::PermissionError,
        "Lambda PublishVersion was denied: grant lambda:PublishVersion",
    );
    let d = on_error(&j, &mut s, e, flow(), t0());
    let obs = ledger_only(&mut l, d, "L1");
    let r = l.record(&release_id(&j));
    assert_eq!(r.outcome, Outcome::Failed);
    let Decision::Fail { kind, message, .. } = decide(&j, &mut s, obs, flow(), t0()) else {
        panic!()
    };
    assert_eq!(kind, FailureKind::PermissionError);
    assert!(message.contains("PublishVersion"), "{message}");
}

/// The write that ended the release went through but its answer was lost:
/// the re-read finds the release ended by this very job, which reports how
/// it ended instead of planning a second attempt.
#[test]
fn a_release_this_job_ended_is_reported_never_attempted_again() {
    let j = job(None);
    let mut l = Ledger::default();
    let mut s = ReleaseState::default();
    to_shift(&mut l, &mut s, &j);
    let rid = release_id(&j);
    let mut r = l.record(&rid);
    r.finish(Outcome::Succeeded, None, t0());
    l.overwrite(&r);
    // The job re-reads (a conflict) and finds its own ending.
    let d = decide(&j, &mut s, vec![Observation::RecordConflict], flow(), t0());
    let obs = ledger_only(&mut l, d, "L1");
    let d = decide(&j, &mut s, obs, flow(), t0());
    assert!(matches!(d, Decision::Succeed { .. }), "{d:?}");
    assert_eq!(l.record(&rid).attempt, 1);
}

/// A stage rollback (RollbackStage, or `onFailure` ROLLBACK): the record
/// names the release it puts back, and the console says so first.
#[test]
fn a_stage_rollback_is_recorded_as_one_and_titled_so() {
    let j = job(None);
    let mut l = Ledger::default();
    let mut s = ReleaseState::default();
    let d = decide(&j, &mut s, vec![], flow(), t0());
    let obs = ledger_only(&mut l, d, "L1");
    decide(&j, &mut s, obs, flow(), t0());
    decide(
        &j,
        &mut s,
        vec![Observation::Prepared(Ok(prepared(3)))],
        flow(),
        t0(),
    );
    let a = actions(decide(
        &j,
        &mut s,
        vec![inspected(3, &[1, 2])],
        flow(),
        t0(),
    ));
    assert_eq!(a, [Action::GetPipelineExecution]);
    let to = RollsBackTo {
        trigger: "ManualRollback".into(),
        execution_id: "e-A".into(),
        release_id: "r-00000000000000aa".into(),
        commit: Some("abc1234def".into()),
    };
    let d = decide(
        &j,
        &mut s,
        vec![Observation::PipelineExecution(Some(to.clone()))],
        flow(),
        t0(),
    );
    ledger_only(&mut l, d, "L1");
    let r = l.record(&release_id(&j));
    assert_eq!(r.rolls_back_to, Some(to));
    assert_eq!(
        super::titled(Some(&r), "Release r-1 succeeded."),
        "Rollback to release r-00000000000000aa (commit abc1234): release r-1 succeeded."
    );
}
