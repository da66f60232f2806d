//! Phase "settle": the release's outcome goes into its record first, then
//! into the job's report (success with output variables, or failure with
//! its reason). Also the texts a finished release produces from its
//! record: output variables, `release.json`, and the report of a release
//! that ended in an earlier job. A ledger that cannot be reached ends a
//! job without an outcome: a release that may have shifted anything is
//! handed back (a continuation) and tried again, never failed for it.
//!
//! Pure.

use std::collections::BTreeMap;
use std::time::SystemTime;

use serde_json::json;

use super::record::{FunctionState, Outcome, Phase, ReleaseRecord};
use super::{Action, Flow, ReleaseState, fail, finish, progress, release_id, shift, titled, write};
use crate::engine::{Decision, EngineError};
use crate::job::JobInput;
use crate::report::{FailureKind, MESSAGE_MAX, Progress};

/// Output variables of a finished release: `<function>` → its version
/// (the new one, or what the alias serves for unchanged functions),
/// `ReleaseId`, `Commit`.
pub fn output_variables(r: &ReleaseRecord) -> BTreeMap<String, String> {
    let mut vars = BTreeMap::new();
    let key = |name: &str| -> String {
        name.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "@-_".contains(c) {
                    c
                } else {
                    '_'
                }
            })
            .collect()
    };
    for u in &r.unchanged {
        vars.insert(key(&u.name), u.version.clone());
    }
    for f in &r.functions {
        if let Some(v) = &f.version {
            vars.insert(key(&f.name), v.clone());
        }
    }
    vars.insert(
        crate::canary::OUTPUT_RELEASE_ID.into(),
        r.release_id.clone(),
    );
    if let Some(c) = &r.commit {
        vars.insert(crate::canary::OUTPUT_COMMIT.into(), c.clone());
    }
    vars
}

/// `release.json`: what the release does, for the output artifact.
pub fn release_json(r: &ReleaseRecord) -> String {
    let mut functions: Vec<serde_json::Value> = r
        .functions
        .iter()
        .map(|f| {
            json!({
                "name": f.name,
                "alias": f.alias,
                "status": if f.code_only { "code-only" } else if f.previous_version.is_some() { "published" } else { "published-new-alias" },
                "previousVersion": f.previous_version,
                "version": f.version,
                "codeSha256": f.code_sha256,
                "deploymentConfig": f.deployment_config,
            })
        })
        .collect();
    functions.extend(r.unchanged.iter().map(|u| {
        json!({
            "name": u.name,
            "alias": u.alias,
            "status": "unchanged",
            "previousVersion": u.version,
            "version": u.version,
        })
    }));
    let doc = json!({
        "releaseId": r.release_id,
        "commit": r.commit,
        "pipeline": r.pipeline,
        "executionId": r.execution_id,
        "functions": functions,
    });
    serde_json::to_string_pretty(&doc).unwrap_or_default()
}

/// The release succeeded: recorded, its functions pruned if asked, then reported.
pub fn succeed(
    job: &JobInput,
    state: &mut ReleaseState,
    flow: Flow,
    mut progress: Progress,
    now: SystemTime,
) -> Decision<Action> {
    let Some(r) = &mut state.job.record else {
        return Decision::Perform(vec![]);
    };
    let unchanged = r.unchanged.len();
    if unchanged > 0 {
        progress.summary = format!(
            "{} ({unchanged} unchanged, skipped)",
            progress.summary.trim_end_matches('.')
        );
    }
    progress.percent_complete = Some(100);
    progress.external_execution_id = Some(release_id(job));
    progress.summary = crate::canary::clip(
        &titled(Some(r), &progress.summary),
        crate::report::SUMMARY_MAX,
    );
    r.finish(Outcome::Succeeded, None, now);
    let d = Decision::Succeed {
        progress,
        output_variables: output_variables(r),
    };
    let functions: Vec<String> = r.functions.iter().map(|f| f.name.clone()).collect();
    let d = finish(state, d);
    let d = match flow.prune_keep {
        Some(keep) if !functions.is_empty() => {
            state.job.after_prune = Some(d);
            Decision::Perform(vec![Action::Prune { functions, keep }])
        }
        _ => d,
    };
    write(state, now, Some(d))
}

/// Nothing to release: every alias already serves its code.
pub fn succeed_unchanged(
    job: &JobInput,
    state: &mut ReleaseState,
    flow: Flow,
    now: SystemTime,
) -> Decision<Action> {
    let Some(r) = &state.job.record else {
        return Decision::Perform(vec![]);
    };
    let summary = format!(
        "Nothing to release: all {} functions unchanged (their aliases already serve this code).",
        r.unchanged.len()
    );
    succeed(
        job,
        state,
        flow,
        progress(summary, Some(100), &release_id(job)),
        now,
    )
}

/// The release rolled back as a whole (the shift's failure): recorded, then reported.
pub fn rolled_back(
    state: &mut ReleaseState,
    kind: FailureKind,
    message: String,
    external_execution_id: Option<String>,
    now: SystemTime,
) -> Decision<Action> {
    let Some(r) = &mut state.job.record else {
        return Decision::Perform(vec![]);
    };
    let id = r.release_id.clone();
    let message = titled(Some(r), &message);
    r.finish(
        Outcome::Failed,
        Some(crate::canary::clip(&message, MESSAGE_MAX)),
        now,
    );
    let d = Decision::Fail {
        kind,
        message,
        external_execution_id: external_execution_id.or(Some(id)),
    };
    let d = finish(state, d);
    write(state, now, Some(d))
}

/// Pre-flight refused the release: nothing was published.
pub fn refused(
    state: &mut ReleaseState,
    job: &JobInput,
    kind: FailureKind,
    message: String,
    external_execution_id: Option<String>,
    now: SystemTime,
) -> Decision<Action> {
    let ext = external_execution_id.or_else(|| Some(release_id(job)));
    rolled_back(state, kind, message, ext, now)
}

/// A failure before anything shifted: the record (if the release has one
/// and it is still open) says so, then the job fails.
///
/// Once the record says `Shifting`, aliases may be moving: the release is
/// paused instead (see [`shift::paused`]), never failed; a job that does not
/// hold the record hands back for the next one to claim it.
pub fn fail_before_shift(
    state: &mut ReleaseState,
    flow: Flow,
    e: EngineError,
    now: SystemTime,
) -> Decision<Action> {
    let id = state.release_id.clone();
    let d = fail(e.clone(), &id);
    if let Some(r) = &state.job.record
        && !r.outcome.is_terminal()
        && r.phase == Phase::Shifting
    {
        if state.job.claimed {
            state.job.canary_failures += 1;
            return shift::paused(state, Vec::new(), e, flow, now);
        }
        let p = progress(
            format!(
                "Release {id} is shifting; this job could not take it over ({}). The next job continues it.",
                e.message.trim_end_matches('.')
            ),
            state.job.last_percent,
            &id,
        );
        return finish(state, Decision::Continue(p));
    }
    match &mut state.job.record {
        Some(r) if !r.outcome.is_terminal() && r.phase != Phase::Shifting && state.job.claimed => {
            r.finish(
                Outcome::Failed,
                Some(crate::canary::clip(&e.message, MESSAGE_MAX)),
                now,
            );
            let d = finish(state, d);
            write(state, now, Some(d))
        }
        _ => finish(state, d),
    }
}

/// The adapters could not perform an action after their own retries (the
/// workspace is gone with it). A release this job ended reports how it
/// ended; one that is shifting or rolling back pauses; before anything
/// shifted the job fails, naming the error.
pub fn failed(
    job: &JobInput,
    state: &mut ReleaseState,
    e: EngineError,
    flow: Flow,
    now: SystemTime,
) -> Decision<Action> {
    state.job.discarded = true;
    state.job.pending = None;
    state.job.after_write = None;
    state.job.after_prune = None;
    // What the ledger holds is what happened (write-ahead): changes not
    // yet written announced nothing.
    state.job.record.clone_from(&state.job.stored);
    match &state.job.record {
        Some(r)
            if r.outcome.is_terminal() && state.job.claimed && r.holder.job_id == job.job_id =>
        {
            report_ended(state, job)
        }
        _ => fail_before_shift(state, flow, e, now),
    }
}

/// Ends the job with `d` without touching the record.
pub fn end_without_record(state: &mut ReleaseState, d: Decision<Action>) -> Decision<Action> {
    finish(state, d)
}

/// The ledger could not be read or written. Before anything may have
/// shifted the job fails (nothing of the release is in flight); after, it
/// is handed back and the next job tries again.
pub fn ledger_down(
    state: &mut ReleaseState,
    job: &JobInput,
    why: &str,
    _flow: Flow,
    _now: SystemTime,
) -> Decision<Action> {
    state.job.ledger_error = None;
    let rid = release_id(job);
    // What the ledger last held decides: once it said `Shifting`, aliases
    // may be moving.
    let shifting = state
        .job
        .stored
        .as_ref()
        .is_some_and(|r| r.phase == Phase::Shifting && !r.outcome.is_terminal())
        || job.continuation_token.is_some();
    if shifting {
        let p = progress(
            format!(
                "Release {rid} paused: its record in the release ledger cannot be reached ({why}). Nothing is lost: the shift goes on in CodeDeploy, and the next job resumes watching it as soon as the ledger answers."
            ),
            None,
            &rid,
        );
        return finish(state, Decision::Continue(p));
    }
    let d = fail(
        EngineError::new(
            FailureKind::SystemUnavailable,
            format!(
                "the release ledger cannot be reached ({why}); nothing was changed: retry the stage once it answers"
            ),
        ),
        &rid,
    );
    finish(state, d)
}

/// The report of a release that ended in an earlier job (whose report was
/// lost): its recorded outcome, again.
pub fn report_ended(state: &mut ReleaseState, job: &JobInput) -> Decision<Action> {
    let rid = release_id(job);
    let Some(r) = &state.job.record else {
        return Decision::Perform(vec![]);
    };
    let d = match r.outcome {
        Outcome::Succeeded => Decision::Succeed {
            progress: progress(
                format!(
                    "Release {rid} succeeded: {} function(s) on their new versions.",
                    r.functions
                        .iter()
                        .filter(|f| f.state == FunctionState::Released)
                        .count()
                ),
                Some(100),
                &rid,
            ),
            output_variables: output_variables(r),
        },
        Outcome::InProgress | Outcome::Failed | Outcome::RolledBack => Decision::Fail {
            kind: FailureKind::JobFailed,
            message: format!(
                "Release {rid} {}: {}",
                if r.outcome == Outcome::RolledBack {
                    "was rolled back"
                } else {
                    "failed"
                },
                r.rollback
                    .as_ref()
                    .map(|m| m.reason.clone())
                    .or_else(|| r.reason.clone())
                    .unwrap_or_else(|| "no reason recorded".into())
            ),
            external_execution_id: Some(rid.clone()),
        },
    };
    finish(state, d)
}
