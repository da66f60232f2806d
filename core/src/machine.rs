//! The job state machine, sans-IO in the style of quinn-proto: it is handed
//! the job (with its continuation token), the observations of the last
//! actions, the time and whether the worker is stopping, and answers with the
//! next [`Step`]: perform actions, sleep, or report. It ends every job with
//! exactly one [`JobReport`].
//!
//! What it owns: decoding and checking the continuation token (a bad token is
//! a `ConfigurationError`), resuming the engine's state from it, turning the
//! engine's `Continue` into a token, and handing the job back with a token at
//! the first safe point once the worker is stopping. It performs no I/O and
//! reads no clock; the worker's runtime drives it.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::engine::{Decide, Decision, EngineError};
use crate::job::JobInput;
use crate::report::{FailureKind, JobReport, Progress};
use crate::token::{self, Envelope};

/// What the driver does next.
#[derive(Debug, PartialEq, Eq)]
pub enum Step<A> {
    /// Have the engine's adapters perform these, then call `next` with the observations.
    Perform(Vec<A>),
    /// Sleep this long (or until the worker stops), then call `next`.
    Sleep(Duration),
    /// Post this result; the machine is finished.
    Report(JobReport),
}

enum Phase<S> {
    Start,
    Running(Envelope<S>),
    Done,
}

/// One job's state machine.
pub struct JobMachine<E: Decide> {
    engine: Arc<E>,
    job: JobInput,
    phase: Phase<E::State>,
    /// The last progress the engine declared, reported on a hand-back.
    progress: Progress,
}

/// Summary prefix of a job handed back at shutdown.
pub const HANDED_BACK: &str = "Handed back: the worker is shutting down; another worker continues.";

impl<E: Decide> JobMachine<E> {
    pub fn new(engine: Arc<E>, job: JobInput) -> Self {
        JobMachine {
            engine,
            job,
            phase: Phase::Start,
            progress: Progress::default(),
        }
    }

    /// How many jobs of this action execution ended with a token before this one
    /// (known once the token is decoded).
    pub fn continuations(&self) -> Option<u32> {
        match &self.phase {
            Phase::Running(e) => Some(e.continuations),
            _ => None,
        }
    }

    /// The engine's current state (for tests and logs).
    pub fn state(&self) -> Option<&E::State> {
        match &self.phase {
            Phase::Running(e) => Some(&e.state),
            _ => None,
        }
    }

    /// The last progress the engine declared (shown while it waits).
    pub fn progress(&self) -> &Progress {
        &self.progress
    }

    pub fn is_done(&self) -> bool {
        matches!(self.phase, Phase::Done)
    }

    /// The next step. `observed` are the observations of the previous
    /// `Perform` (empty otherwise); `stopping` asks for a hand-back at this
    /// safe point unless the engine finishes right now (actions that only
    /// record what was done, [`Decide::records_only`], are performed first).
    pub fn next(
        &mut self,
        observed: Vec<E::Observation>,
        now: SystemTime,
        stopping: bool,
    ) -> Step<E::Action> {
        if let Phase::Start = self.phase {
            match self.resume(now) {
                Ok(env) => self.phase = Phase::Running(env),
                Err(report) => return self.finish(report),
            }
        }
        let Phase::Running(env) = &mut self.phase else {
            return Step::Report(JobReport::fail(
                FailureKind::JobFailed,
                "internal error: the job was already reported",
            ));
        };
        let decision = self.engine.decide(&self.job, &mut env.state, observed, now);
        self.apply(decision, stopping)
    }

    /// The adapters failed to perform the last actions: the engine decides
    /// what that means ([`Decide::on_error`]: by default the job fails with
    /// the error's type; a release that has shifted waits or hands back).
    pub fn failed(&mut self, err: EngineError, now: SystemTime, stopping: bool) -> Step<E::Action> {
        let Phase::Running(env) = &mut self.phase else {
            self.phase = Phase::Done;
            return Step::Report(JobReport::Fail {
                kind: err.kind,
                message: err.message,
                external_execution_id: self.progress.external_execution_id.clone(),
            });
        };
        let mut decision = self.engine.on_error(&self.job, &mut env.state, err, now);
        if let Decision::Fail {
            external_execution_id: id @ None,
            ..
        } = &mut decision
        {
            id.clone_from(&self.progress.external_execution_id);
        }
        self.apply(decision, stopping)
    }

    fn apply(&mut self, decision: Decision<E::Action>, stopping: bool) -> Step<E::Action> {
        match decision {
            Decision::Succeed {
                progress,
                output_variables,
            } => self.finish(JobReport::Succeed {
                progress,
                output_variables,
            }),
            Decision::Fail {
                kind,
                message,
                external_execution_id,
            } => self.finish(JobReport::Fail {
                kind,
                message,
                external_execution_id,
            }),
            Decision::Continue(progress) => {
                let report = self.continue_with(progress, false);
                self.finish(report)
            }
            Decision::Abandon(reason) => self.finish(JobReport::Abandon { reason }),
            Decision::Perform(actions)
                if stopping && actions.iter().all(|a| self.engine.records_only(a)) =>
            {
                // Bookkeeping first: the next job starts from what this one did.
                Step::Perform(actions)
            }
            Decision::Perform(_) | Decision::Wait { .. } if stopping => {
                let mut progress = self.progress.clone();
                progress.summary = if progress.summary.is_empty() {
                    HANDED_BACK.to_string()
                } else {
                    format!("{HANDED_BACK} {}", progress.summary)
                };
                let report = self.continue_with(progress, true);
                self.finish(report)
            }
            Decision::Perform(actions) => Step::Perform(actions),
            Decision::Wait { delay, progress } => {
                self.progress = progress;
                Step::Sleep(delay)
            }
        }
    }

    fn finish(&mut self, report: JobReport) -> Step<E::Action> {
        self.phase = Phase::Done;
        Step::Report(report)
    }

    fn resume(&self, now: SystemTime) -> Result<Envelope<E::State>, JobReport> {
        let Some(t) = &self.job.continuation_token else {
            return Ok(Envelope {
                pipeline_execution_id: self.job.pipeline_execution_id.clone(),
                continuations: 0,
                started_ms: now
                    .duration_since(UNIX_EPOCH)
                    .map(|d| d.as_millis() as u64)
                    .unwrap_or(0),
                state: E::State::default(),
            });
        };
        let env: Envelope<E::State> = token::decode(t)
            .map_err(|e| JobReport::fail(FailureKind::ConfigurationError, e.to_string()))?;
        if env.pipeline_execution_id != self.job.pipeline_execution_id {
            return Err(JobReport::fail(
                FailureKind::ConfigurationError,
                format!(
                    "the continuation token belongs to pipeline execution {}, but this job runs in {}",
                    env.pipeline_execution_id, self.job.pipeline_execution_id
                ),
            ));
        }
        Ok(env)
    }

    /// A `Continue` report carrying the current state, or a failure when the
    /// state does not fit in a token.
    fn continue_with(&self, progress: Progress, handed_back: bool) -> JobReport {
        let Phase::Running(env) = &self.phase else {
            unreachable!("continue_with is only called while running")
        };
        let next = Envelope {
            pipeline_execution_id: env.pipeline_execution_id.clone(),
            continuations: env.continuations + 1,
            started_ms: env.started_ms,
            state: &env.state,
        };
        match token::encode(&next) {
            Ok(token) => JobReport::Continue {
                token,
                progress,
                handed_back,
            },
            Err(e) if handed_back => JobReport::fail(
                FailureKind::SystemUnavailable,
                format!("the worker is shutting down and cannot hand the job back: {e}"),
            ),
            Err(e) => JobReport::fail(
                FailureKind::JobFailed,
                format!("cannot continue the release: {e}"),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde::{Deserialize, Serialize};

    use super::*;
    use crate::job::ActionConfiguration;

    /// A deterministic engine: publishes `steps` functions one action at a
    /// time, waits after each, continues after every `per_job` steps, then
    /// succeeds. It counts what it publishes so tests can see redone work.
    #[derive(Default)]
    struct Steps {
        steps: u32,
        per_job: u32,
    }

    #[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
    struct St {
        published: u32,
        in_this_job: u32,
    }

    impl Decide for Steps {
        type State = St;
        type Action = u32;
        type Observation = u32;

        fn decide(
            &self,
            _: &JobInput,
            s: &mut St,
            observed: Vec<u32>,
            _: SystemTime,
        ) -> Decision<u32> {
            for o in observed {
                s.published = o;
                s.in_this_job += 1;
            }
            if s.published == self.steps {
                return Decision::Succeed {
                    progress: Progress {
                        summary: format!("released {} functions", s.published),
                        percent_complete: Some(100),
                        external_execution_id: Some("d-1".into()),
                    },
                    output_variables: BTreeMap::new(),
                };
            }
            if s.in_this_job == self.per_job {
                s.in_this_job = 0;
                return Decision::Continue(Progress {
                    summary: format!("{} of {}", s.published, self.steps),
                    percent_complete: Some((s.published * 100 / self.steps) as i32),
                    external_execution_id: None,
                });
            }
            if s.in_this_job % 2 == 1 {
                // wait once between publications
                s.in_this_job += 1;
                return Decision::Wait {
                    delay: Duration::from_secs(60),
                    progress: Progress {
                        summary: format!("baking {}", s.published),
                        ..Default::default()
                    },
                };
            }
            Decision::Perform(vec![s.published + 1])
        }
    }

    fn job(token: Option<String>) -> JobInput {
        JobInput {
            job_id: "11111111-1111-4111-8111-111111111111".into(),
            pipeline_name: "p".into(),
            stage_name: "Deploy".into(),
            action_name: "Canary".into(),
            pipeline_execution_id: "exec-1".into(),
            action_execution_id: "ae-1".into(),
            configuration: ActionConfiguration::default(),
            input_artifacts: vec![],
            output_artifacts: vec![],
            artifact_credentials: None,
            continuation_token: token,
            encryption_key_id: None,
        }
    }

    /// Runs a machine to its report, performing actions synchronously;
    /// returns the report and every action performed.
    fn run(engine: &Arc<Steps>, j: JobInput, stop_after: Option<usize>) -> (JobReport, Vec<u32>) {
        let mut m = JobMachine::new(engine.clone(), j);
        let mut obs = vec![];
        let mut done = vec![];
        let t = UNIX_EPOCH + Duration::from_secs(1_000);
        for i in 0.. {
            let stopping = stop_after.is_some_and(|n| i >= n);
            match m.next(std::mem::take(&mut obs), t, stopping) {
                Step::Report(r) => {
                    assert!(m.is_done());
                    return (r, done);
                }
                Step::Perform(a) => {
                    done.extend(a.iter().copied());
                    obs = a;
                }
                Step::Sleep(d) => assert_eq!(d, Duration::from_secs(60)),
            }
        }
        unreachable!()
    }

    #[test]
    fn continues_and_resumes_without_redoing_steps() {
        let engine = Arc::new(Steps {
            steps: 6,
            per_job: 4,
        });
        let mut token = None;
        let mut all = vec![];
        let mut jobs = 0;
        let final_report = loop {
            jobs += 1;
            let (r, done) = run(&engine, job(token.clone()), None);
            all.extend(done);
            match r {
                JobReport::Continue {
                    token: t,
                    handed_back,
                    progress,
                } => {
                    assert!(!handed_back);
                    assert!(progress.summary.contains(" of 6"));
                    token = Some(t);
                }
                other => break other,
            }
        };
        assert_eq!(all, [1, 2, 3, 4, 5, 6], "each step exactly once");
        assert!(jobs >= 3, "{jobs}");
        let JobReport::Succeed { progress, .. } = final_report else {
            panic!("{final_report:?}")
        };
        assert_eq!(progress.summary, "released 6 functions");
    }

    #[test]
    fn shutdown_hands_back_at_a_safe_point_and_the_next_job_resumes() {
        let engine = Arc::new(Steps {
            steps: 4,
            per_job: 100,
        });
        // Stop after three steps: the job is handed back, not failed.
        let (r, first) = run(&engine, job(None), Some(3));
        let JobReport::Continue {
            token,
            handed_back,
            progress,
        } = r
        else {
            panic!("{r:?}")
        };
        assert!(handed_back);
        assert!(
            progress.summary.starts_with(HANDED_BACK),
            "{}",
            progress.summary
        );
        let env: Envelope<St> = token::decode(&token).unwrap();
        assert_eq!(env.continuations, 1);
        assert_eq!(env.state.published as usize, first.len());
        let (r, second) = run(&engine, job(Some(token)), None);
        assert!(matches!(r, JobReport::Succeed { .. }), "{r:?}");
        let mut all = first;
        all.extend(second);
        assert_eq!(all, [1, 2, 3, 4]);
    }

    #[test]
    fn stopping_on_the_first_step_hands_back_an_unstarted_job() {
        let engine = Arc::new(Steps {
            steps: 2,
            per_job: 100,
        });
        let (r, done) = run(&engine, job(None), Some(0));
        assert!(done.is_empty());
        assert!(
            matches!(
                r,
                JobReport::Continue {
                    handed_back: true,
                    ..
                }
            ),
            "{r:?}"
        );
    }

    #[test]
    fn bad_tokens_are_configuration_errors() {
        let engine = Arc::new(Steps {
            steps: 2,
            per_job: 100,
        });
        for (t, needle) in [
            ("garbage", "not written by pipeline-canary"),
            ("pc9.abc.def", "newer pipeline-canary"),
            ("pc1.eyJ4IjoiZSJ9.AAAAAAAAAAA", "corrupted"),
        ] {
            let (r, done) = run(&engine, job(Some(t.into())), None);
            assert!(done.is_empty());
            match r {
                JobReport::Fail { kind, message, .. } => {
                    assert_eq!(kind, FailureKind::ConfigurationError);
                    assert!(message.contains(needle), "{message}");
                }
                other => panic!("{other:?}"),
            }
        }
        // A valid token from another pipeline execution.
        let foreign = token::encode(&Envelope {
            pipeline_execution_id: "exec-OTHER".into(),
            continuations: 1,
            started_ms: 0,
            state: St::default(),
        })
        .unwrap();
        let (r, _) = run(&engine, job(Some(foreign)), None);
        assert!(
            matches!(&r, JobReport::Fail { kind: FailureKind::ConfigurationError, message, .. } if message.contains("exec-OTHER")),
            "{r:?}"
        );
    }

    #[test]
    fn adapter_errors_fail_with_their_type() {
        let engine = Arc::new(Steps {
            steps: 2,
            per_job: 100,
        });
        let mut m = JobMachine::new(engine, job(None));
        assert!(matches!(
            m.next(vec![], UNIX_EPOCH, false),
            Step::Perform(_)
        ));
        let r = m.failed(
            EngineError::new(
                FailureKind::PermissionError,
                "AccessDenied on lambda:PublishVersion",
            ),
            UNIX_EPOCH,
            false,
        );
        assert_eq!(
            r,
            Step::Report(JobReport::Fail {
                kind: FailureKind::PermissionError,
                message: "AccessDenied on lambda:PublishVersion".into(),
                external_execution_id: None
            })
        );
        assert!(m.is_done());
        // A finished machine never produces a second result-worthy step silently.
        assert!(matches!(
            m.next(vec![], UNIX_EPOCH, false),
            Step::Report(JobReport::Fail { .. })
        ));
    }
}
