//! Phase "prepare and validate": everything a release needs from its
//! artifact, decided before anything is mutated. Fetch and prepare the
//! input artifact (`Prepare`), read every function, alias and hook in
//! Lambda (`Inspect`), validate and plan (`plan::validate`), then record
//! the release: create its record, or start a new attempt of an ended one
//! (a stage retry). An unfinished release still in `Planned` or
//! `Publishing` comes back here for its bundles, then goes on to
//! pre-flight or publishing; a shifting one never does.
//!
//! Pure: decisions over the job, the record and what the adapters saw.

use std::time::SystemTime;

use super::plan::{self, ObservedFunction, ObservedHook, Plan};
use super::record::{self, Holder, NewRecord, Phase, RecordSettings};
use super::{Action, Flow, ReleaseState, internal, preflight, publish, release_id, settle, write};
use crate::canary::CanaryObservation;
use crate::engine::{Decision, EngineError};
use crate::job::JobInput;
use crate::report::FailureKind;

/// The release-wide settings of `job`'s action properties, or the
/// ConfigurationError naming the property and the fix.
pub fn settings(job: &JobInput) -> Result<RecordSettings, EngineError> {
    let c = &job.configuration;
    let required = |name: &str, what: &str| {
        c.get(name)
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
            .ok_or_else(|| {
                EngineError::new(
                    FailureKind::ConfigurationError,
                    format!("the action's {name} property is empty: set it to {what}"),
                )
            })
    };
    required(
        "FunctionPrefix",
        "the prefix of the functions this pipeline may release",
    )?;
    let application = required(
        "CodeDeployApplication",
        "the CodeDeploy application to deploy with (created if missing)",
    )?;
    let service_role_arn = required(
        "CodeDeployServiceRoleArn",
        "the ARN of the role CodeDeploy assumes to shift aliases",
    )?;
    let max_parallel = match c
        .get("MaxParallel")
        .map(str::trim)
        .filter(|v| !v.is_empty())
    {
        None => None,
        Some(v) => match v.parse::<usize>() {
            Ok(n) if n >= 1 => Some(n),
            _ => {
                return Err(EngineError::new(
                    FailureKind::ConfigurationError,
                    format!(
                        "the action's MaxParallel property is `{v}`: give a whole number ≥ 1 (deployments in flight at once), or leave it empty for all"
                    ),
                ));
            }
        },
    };
    Ok(RecordSettings {
        application,
        service_role_arn,
        max_parallel,
        break_glass: None,
    })
}

/// The action's settings hold (checked before anything is read).
pub fn check_settings(job: &JobInput, _flow: Flow) -> Result<(), EngineError> {
    settings(job).map(|_| ())
}

/// Validates what Inspect saw against the prepared artifact: the plan, or
/// every problem at once.
pub fn inspected(
    state: &mut ReleaseState,
    functions: &[ObservedFunction],
    hooks: &[ObservedHook],
    flow: Flow,
) -> Result<(), EngineError> {
    let prepared = state
        .job
        .prepared
        .as_ref()
        .ok_or_else(|| internal("inspected before preparing"))?;
    state.job.plan = Some(plan::validate(prepared, functions, hooks, flow.staging)?);
    Ok(())
}

/// The next step of a release that still needs its artifact.
pub fn decide(
    job: &JobInput,
    state: &mut ReleaseState,
    observed: Vec<CanaryObservation>,
    flow: Flow,
    now: SystemTime,
) -> Decision<Action> {
    if state.job.discarded {
        // The workspace is gone (an action failed, or the release ended in
        // this job before a stage retry of it): prepare it again.
        state.job.discarded = false;
        state.job.prepared = None;
    }
    let Some(prepared) = &state.job.prepared else {
        return Decision::Perform(vec![Action::Prepare]);
    };
    let phase = state
        .job
        .record
        .as_ref()
        .filter(|r| !r.outcome.is_terminal())
        .map(|r| r.phase);
    let Some(plan) = &state.job.plan else {
        return Decision::Perform(vec![Action::Inspect {
            functions: prepared
                .functions
                .iter()
                .map(|f| (f.name.clone(), f.alias.clone(), f.code_sha256.clone()))
                .collect(),
            hooks: plan::hook_names(prepared),
            // Pre-flight checks the aliases: read them once, here.
            aliases: phase.is_none_or(|p| p == Phase::Planned),
        }]);
    };
    match phase {
        // A new release: first, is its pipeline execution a stage rollback?
        None if state.job.record.is_none() && state.job.rollback_of.is_none() => {
            Decision::Perform(vec![Action::GetPipelineExecution])
        }
        None => record_release(job, state, flow, now),
        Some(Phase::Planned)
            if state
                .job
                .record
                .as_ref()
                .is_some_and(|r| r.functions.is_empty()) =>
        {
            settle::succeed_unchanged(job, state, flow, now)
        }
        Some(Phase::Planned) => {
            let plan = plan.clone();
            preflight::decide(job, state, &plan, observed, flow, now)
        }
        Some(Phase::Publishing) => publish::decide(job, state, flow, now),
        Some(Phase::Shifting | Phase::Done) => settle::fail_before_shift(
            state,
            flow,
            internal("the artifact was prepared for a release that is already shifting"),
            now,
        ),
    }
}

/// Functions of `plan` an earlier attempt of release `release_id` shifted
/// (before a stage retry whose record was lost or predates the ledger):
/// the alias serves a version this release published, whose description
/// names a different previous version (a first release has none: its
/// alias is never rolled back). As (function, version served, previous).
pub fn shifted_earlier(plan: &Plan, release_id: &str) -> Vec<(String, String, Option<u32>)> {
    plan.functions
        .iter()
        .filter(|f| !f.is_changed())
        .filter_map(|f| {
            let c = f.current.as_ref()?;
            let previous = plan::previous_of(&c.description, release_id)??;
            (previous.to_string() != c.version)
                .then(|| (f.function.name.clone(), c.version.clone(), Some(previous)))
        })
        .collect()
}

/// Records the planned release: a new record, or a new attempt of the
/// ended one this job found (a stage retry). Then decides again.
fn record_release(
    job: &JobInput,
    state: &mut ReleaseState,
    flow: Flow,
    now: SystemTime,
) -> Decision<Action> {
    let rid = release_id(job);
    let Some(plan) = &state.job.plan else {
        return settle::fail_before_shift(state, flow, internal("recording without a plan"), now);
    };
    let mut settings = match settings(job) {
        Ok(s) => s,
        Err(e) => return settle::fail_before_shift(state, flow, e, now),
    };
    settings.break_glass = plan.break_glass.as_ref().map(|b| b.reason.clone());
    if let Err(e) = plan::check_limits(plan, &settings.application).and_then(|()| {
        plan::check_duration(
            plan,
            settings.max_parallel,
            flow.codedeploy_rate,
            flow.max_duration,
        )
    }) {
        return settle::fail_before_shift(state, flow, e, now);
    }
    let shifted = shifted_earlier(plan, &rid);
    let holder = Holder {
        job_id: job.job_id.clone(),
        lease: state.job.lease.clone().unwrap_or_default(),
        since: record::timestamp(now),
    };
    match &mut state.job.record {
        Some(r) => {
            record::new_attempt(r, plan, &shifted, now);
            r.holder = holder;
            r.settings = settings;
        }
        None => {
            let mut r = record::new_record(
                NewRecord {
                    release_id: &rid,
                    job,
                    settings,
                    holder,
                    now,
                },
                plan,
                &shifted,
            );
            r.rolls_back_to = state.job.rollback_of.clone().flatten();
            state.job.record = Some(r);
        }
    }
    write(state, now, None)
}
