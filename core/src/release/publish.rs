//! Phase "publish" (record phase `Publishing`): update and publish every
//! changed function the record still has as `planned`, with the bundles of
//! this job's artifact; versions this release already published are
//! reused by the adapter (their description names the release), never
//! published twice. Once every function has its version, the record moves
//! to `Shifting` (written before any alias moves).
//!
//! Pure.

use std::path::PathBuf;
use std::time::SystemTime;

use super::plan;
use super::record::{FunctionState, Phase};
use super::{Action, Flow, ReleaseState, internal, release_id, settle, write};
use crate::engine::Decision;
use crate::job::JobInput;

/// What to publish for one changed function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishRequest {
    pub function: String,
    pub code_sha256: String,
    pub bundle: PathBuf,
    pub zip_bytes: u64,
    /// The version description (release, previous version, commit, execution).
    pub description: String,
    /// Versions whose description names this release id are this release's.
    pub release_id: String,
    /// Look for an earlier version with this code and the function's
    /// current settings before publishing (a stage rollback: the older
    /// code has versions already). Costs one ListVersionsByFunction, so
    /// ordinary releases do not (a version of this release is always
    /// looked for when `$LATEST` already holds the code).
    pub reuse_earlier: bool,
}

/// How one function ended up with its version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    pub function: String,
    pub version: String,
    /// Whether this call uploaded the code (UpdateFunctionCode).
    pub updated: bool,
    /// Whether an existing version of this release was reused (no PublishVersion).
    pub reused: bool,
}

/// The next publishing step.
pub fn decide(
    job: &JobInput,
    state: &mut ReleaseState,
    flow: Flow,
    now: SystemTime,
) -> Decision<Action> {
    let rid = release_id(job);
    let (Some(record), Some(plan)) = (&state.job.record, &state.job.plan) else {
        return settle::fail_before_shift(state, flow, internal("publishing without a plan"), now);
    };
    let mut requests = Vec::new();
    for e in record
        .functions
        .iter()
        .filter(|e| e.state == FunctionState::Planned)
    {
        let Some(f) = plan.functions.iter().find(|f| f.function.name == e.name) else {
            return settle::fail_before_shift(
                state,
                flow,
                internal(&format!(
                    "the release recorded {}, which the artifact no longer has; retry the stage",
                    e.name
                )),
                now,
            );
        };
        requests.push(PublishRequest {
            function: e.name.clone(),
            code_sha256: f.function.code_sha256.clone(),
            bundle: f.function.bundle.clone(),
            zip_bytes: f.function.zip_bytes,
            description: plan::version_description(
                &rid,
                &job.pipeline_execution_id,
                job.revision(),
                e.previous_version.as_deref(),
            ),
            release_id: rid.clone(),
            reuse_earlier: record.rolls_back_to.is_some(),
        });
    }
    if !requests.is_empty() {
        return Decision::Perform(vec![Action::Publish(requests)]);
    }
    if let Some(r) = &mut state.job.record {
        r.phase = Phase::Shifting;
    }
    write(state, now, None)
}

/// Records what the adapters published.
pub fn published(state: &mut ReleaseState, list: Vec<Published>, _now: SystemTime) {
    let Some(r) = &mut state.job.record else {
        return;
    };
    for p in list {
        if let Some(e) = r.functions.iter_mut().find(|e| e.name == p.function) {
            e.version = Some(p.version);
            if e.state == FunctionState::Planned {
                e.state = FunctionState::Published;
            }
        }
    }
}
