//! The pure half of the seam between the runtime and a release: what an
//! engine decides ([`Decision`]), how an action it asked for can fail
//! ([`EngineError`]), and the [`Decide`] trait (job + engine state +
//! observations + now → a decision). The worker crate adds the I/O half
//! (`ReleaseEngine::perform`, the adapters) on top of it.
//!
//! Contract for engines:
//! - `decide` must not do I/O or read a clock; `now` is given.
//! - Everything `decide` needs to resume lives in `State`, which travels in
//!   the continuation token (≤ 2048 characters in total), so keep it to a
//!   pointer at what is stored elsewhere. Before emitting `Perform`, record
//!   what those actions are for: after a hand-back the next job calls
//!   `decide` with the same state and no observations, and must re-observe
//!   rather than redo (actions must be idempotent or guarded by AWS
//!   preconditions).
//! - Every boundary between decisions is a safe point: the runtime may hand
//!   the job back there when the worker shuts down.
//!
//! This module knows no SDK, no tokio and no clock.

use std::collections::BTreeMap;
use std::fmt;
use std::time::{Duration, SystemTime};

use serde::Serialize;
use serde::de::DeserializeOwned;

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
    /// End this job without posting any result: another job now holds the
    /// release and will report it (this job was superseded, e.g. it was
    /// dispatched twice or a newer job of the release took over).
    Abandon(String),
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

/// The pure decider of a release engine.
pub trait Decide {
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

    /// The adapters could not perform the last actions (after their own
    /// retries): what now. The default fails the job with the error; an
    /// engine whose state forbids a failure at this point (a release that
    /// has shifted and is not at rest) decides otherwise: wait, hand back,
    /// or report how the release already ended.
    fn on_error(
        &self,
        _job: &JobInput,
        _state: &mut Self::State,
        err: EngineError,
        _now: SystemTime,
    ) -> Decision<Self::Action> {
        Decision::Fail {
            kind: err.kind,
            message: err.message,
            external_execution_id: None,
        }
    }

    /// Whether `action` only records what was already done (or tidies up
    /// locally), so that a job handed back at shutdown performs it first:
    /// the next job then knows what this one did instead of finding out
    /// again. Never true for an action that changes what AWS serves.
    fn records_only(&self, _action: &Self::Action) -> bool {
        false
    }
}
