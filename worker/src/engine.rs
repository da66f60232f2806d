//! The seam between the runtime and the release: [`ReleaseEngine`]. An engine
//! has a pure half, [`ReleaseEngine::decide`] (job + engine state +
//! observations + now → a [`Decision`]), and an I/O half,
//! [`ReleaseEngine::perform`], the thin adapters that carry out the actions it
//! decided and report what they observed. The runtime owns everything else:
//! polling, acknowledging, continuation tokens, shutdown, results.
//!
//! Contract for engines:
//! - `decide` must not do I/O or read a clock; `now` is given.
//! - Everything `decide` needs to resume lives in `State`, which travels in
//!   the continuation token (≤ 2048 characters in total), so keep it to what
//!   cannot be re-read from AWS. Before emitting `Perform`, record in `State`
//!   what those actions are for: after a hand-back the next job calls `decide`
//!   with the same state and no observations, and must re-observe rather than
//!   redo (actions must be idempotent or guarded by AWS preconditions).
//! - Every boundary between decisions is a safe point: the runtime may hand
//!   the job back there when the worker shuts down.
//!
//! This module knows nothing about SDK clients except through [`JobContext`].

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::time::{Duration, SystemTime};

use serde::Serialize;
use serde::de::DeserializeOwned;

pub use crate::codepipeline::JobContext;
use crate::job::JobInput;
use crate::report::{FailureKind, Progress};

/// What an engine decides at one step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision<A> {
    /// Perform these actions, then call `decide` again with what they observed.
    Perform(Vec<A>),
    /// Nothing to do for `delay` (e.g. a canary bakes); then `decide` again.
    /// The job stays with this worker; `progress` is what a hand-back reports.
    Wait { delay: Duration, progress: Progress },
    /// End this job with a continuation token and come back in a new job
    /// (CodePipeline shows `progress` meanwhile).
    Continue(Progress),
    /// The action succeeded.
    Succeed {
        progress: Progress,
        output_variables: BTreeMap<String, String>,
    },
    /// The action failed.
    Fail {
        kind: FailureKind,
        message: String,
        external_execution_id: Option<String>,
    },
}

/// An action the adapters could not carry out (after their own retries).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind}: {message}")]
pub struct EngineError {
    pub kind: FailureKind,
    pub message: String,
}

impl EngineError {
    pub fn new(kind: FailureKind, message: impl Into<String>) -> Self {
        EngineError {
            kind,
            message: message.into(),
        }
    }
}

/// A release engine: the pure decider and the adapters that act for it.
pub trait ReleaseEngine: Send + Sync + 'static {
    /// What survives between jobs (serialized into the continuation token).
    type State: Serialize + DeserializeOwned + Default + fmt::Debug + Send + 'static;
    /// What `decide` asks the adapters to do.
    type Action: fmt::Debug + Send + 'static;
    /// What the adapters report back.
    type Observation: Send + 'static;

    /// Pure: the next step for `job` given its state, the observations of the
    /// last `Perform`, and the time.
    fn decide(
        &self,
        job: &JobInput,
        state: &mut Self::State,
        observed: Vec<Self::Observation>,
        now: SystemTime,
    ) -> Decision<Self::Action>;

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

impl ReleaseEngine for NoReleaseEngine {
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
