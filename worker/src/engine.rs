//! The seam between the runtime and the release: [`ReleaseEngine`], the
//! core's pure [`Decide`] (job + engine state + observations + now → a
//! [`Decision`]) plus [`ReleaseEngine::perform`], the thin adapters that
//! carry out the actions it decided and report what they observed. The
//! runtime owns everything else: polling, acknowledging, continuation
//! tokens, shutdown, results. The contract for `decide` is the core's
//! (`pipeline_canary_core::engine`).
//!
//! This module knows nothing about SDK clients except through [`JobContext`].

use std::future::Future;
use std::time::SystemTime;

pub use crate::codepipeline::JobContext;
use crate::job::JobInput;
use crate::report::FailureKind;
pub use pipeline_canary_core::engine::{Decide, Decision, EngineError};

/// A release engine: the pure decider ([`Decide`]) and the adapters that
/// act for it.
pub trait ReleaseEngine: Decide + Send + Sync + 'static {
    /// Carries out `actions` (AWS calls with their own retries) and reports
    /// what was observed. An `Err` fails the job with its failure type.
    fn perform(
        &self,
        ctx: &JobContext,
        actions: Vec<Self::Action>,
    ) -> impl Future<Output = Result<Vec<Self::Observation>, EngineError>> + Send;
}

/// The engine of this release of the worker: there are no release steps yet,
/// so every job fails with `ConfigurationError: no release engine`.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoReleaseEngine;

/// An action that cannot exist.
#[derive(Debug)]
pub enum Never {}

impl Decide for NoReleaseEngine {
    type State = ();
    type Action = Never;
    type Observation = Never;

    fn decide(&self, _: &JobInput, _: &mut (), _: Vec<Never>, _: SystemTime) -> Decision<Never> {
        Decision::Fail {
            kind: FailureKind::ConfigurationError,
            message: "no release engine: this pipeline-canary build cannot release yet".into(),
            external_execution_id: None,
        }
    }
}

impl ReleaseEngine for NoReleaseEngine {
    async fn perform(
        &self,
        _: &JobContext,
        actions: Vec<Never>,
    ) -> Result<Vec<Never>, EngineError> {
        match actions.into_iter().next() {
            None => Ok(Vec::new()),
            Some(n) => match n {},
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::UNIX_EPOCH;

    use pipeline_canary_core::machine::{JobMachine, Step};
    use pipeline_canary_core::report::JobReport;

    use super::*;
    use crate::job::ActionConfiguration;

    #[test]
    fn the_default_engine_reports_no_release_engine() {
        let job = JobInput {
            job_id: "j".into(),
            pipeline_name: "p".into(),
            stage_name: "Deploy".into(),
            action_name: "Canary".into(),
            pipeline_execution_id: "e".into(),
            action_execution_id: "a".into(),
            configuration: ActionConfiguration::default(),
            input_artifacts: vec![],
            output_artifacts: vec![],
            artifact_credentials: None,
            continuation_token: None,
            encryption_key_id: None,
        };
        let mut m = JobMachine::new(Arc::new(NoReleaseEngine), job);
        match m.next(vec![], UNIX_EPOCH, false) {
            Step::Report(JobReport::Fail { kind, message, .. }) => {
                assert_eq!(kind, FailureKind::ConfigurationError);
                assert!(message.starts_with("no release engine"));
            }
            other => panic!("{other:?}"),
        }
    }
}
