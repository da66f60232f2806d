//! Phase "publish" (record phase `Publishing`): update and publish every
//! changed function the record still has as `planned`, with the bundles of
//! this job's artifact; versions this release already published are
//! reused by the adapter (their description names the release), never
//! published twice. Once every function with an alias has its version, the
//! record moves to `Shifting` (written before any alias moves). Code-only
//! functions are published after that write, by the same job (see
//! [`code_only_requests`]): updating their code puts it live at once, so
//! it must happen where a failure rolls the whole release back.
//!
//! Pure.

use std::path::PathBuf;
use std::time::SystemTime;

use super::plan;
use super::plan::Plan;
use super::record::{FunctionState, Phase, ReleaseRecord};
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
    let requests = match requests(job, record, plan, &rid, false) {
        Ok(r) => r,
        Err(name) => {
            return settle::fail_before_shift(
                state,
                flow,
                internal(&format!(
                    "the release recorded {name}, which the artifact no longer has; retry the stage"
                )),
                now,
            );
        }
    };
    if !requests.is_empty() {
        return Decision::Perform(vec![Action::Publish(requests)]);
    }
    if let Some(r) = &mut state.job.record {
        r.phase = Phase::Shifting;
    }
    write(state, now, None)
}

/// The publish requests of the record's `planned` functions, code-only
/// ones (`code_only`) or the others; `Err` names a recorded function the
/// artifact no longer has.
fn requests(
    job: &JobInput,
    record: &ReleaseRecord,
    plan: &Plan,
    rid: &str,
    code_only: bool,
) -> Result<Vec<PublishRequest>, String> {
    let mut requests = Vec::new();
    for e in record
        .functions
        .iter()
        .filter(|e| e.state == FunctionState::Planned && e.code_only == code_only)
    {
        let Some(f) = plan.functions.iter().find(|f| f.function.name == e.name) else {
            return Err(e.name.clone());
        };
        requests.push(PublishRequest {
            function: e.name.clone(),
            code_sha256: f.function.code_sha256.clone(),
            bundle: f.function.bundle.clone(),
            zip_bytes: f.function.zip_bytes,
            description: plan::version_description(
                rid,
                &job.pipeline_execution_id,
                job.revision(),
                e.previous_version.as_deref(),
            ),
            release_id: rid.to_string(),
            reuse_earlier: record.rolls_back_to.is_some(),
        });
    }
    Ok(requests)
}

/// The code-only functions still to publish once the record says
/// `Shifting`: `Ok(None)` when there are none, `Ok(Some)` the requests
/// when this job has the artifact's bundles, `Err` why it cannot publish
/// them (the job was handed back since, or an update failed): the release
/// then rolls back.
pub fn code_only_requests(
    job: &JobInput,
    state: &ReleaseState,
) -> Result<Option<Vec<PublishRequest>>, String> {
    let Some(record) = &state.job.record else {
        return Ok(None);
    };
    let pending: Vec<&str> = record
        .functions
        .iter()
        .filter(|e| e.code_only && e.state == FunctionState::Planned)
        .map(|e| e.name.as_str())
        .collect();
    if pending.is_empty() {
        return Ok(None);
    }
    let why = || {
        format!(
            "the code-only function(s) {} could not be updated (an update failed after its retries, or the job that published the release was handed back before it updated them); nothing had shifted yet: retry the stage",
            pending.join(", ")
        )
    };
    match &state.job.plan {
        Some(plan) if state.job.prepared.is_some() && !state.job.discarded => {
            requests(job, record, plan, &release_id(job), true)
                .map(Some)
                .map_err(|_| why())
        }
        _ => Err(why()),
    }
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
