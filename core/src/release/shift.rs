//! Phase "shift" (record phase `Shifting`): every changed function moves
//! from its previous version to its new one through a shift strategy, and
//! the whole release rolls back if anything goes wrong. The strategy sits
//! behind [`ShiftStrategy`], so another one (steps the worker drives
//! itself) can be added without touching the phases; today's is
//! [`CodeDeploy`], the canary's `decide_shift` (one deployment per
//! function, waves capped by `MaxParallel`, the worker's own alarm watch,
//! all-or-nothing rollback).
//!
//! The shift's slots live in the record's function states: the strategy's
//! state is rebuilt from the record at the start of every job, and every
//! change is written back before the actions it announces are performed
//! (a `creating` slot is in the ledger before CreateDeployment is sent).
//! Before the first look, the output artifact is written (from the record)
//! and the job's workspace removed: a shift runs for minutes, and needs no
//! artifact.
//!
//! Pure.

use std::time::{Duration, SystemTime};

use super::record::{self, FunctionEntry, ReleaseRecord};
use super::{Action, Flow, ReleaseState, finish, internal, settle, watch, with_record, write};
use crate::canary::pace::Pace;
use crate::canary::shift::Slot;
use crate::canary::{
    self, CanaryAction, CanaryObservation, FunctionShift, FunctionTarget, ReleaseSettings,
    ShiftPlan, ShiftState,
};
use crate::engine::{Decision, EngineError};
use crate::job::JobInput;
use crate::report::FailureKind;

/// How a release's functions move to their new versions: decides from
/// what the adapters observed, keeps its per-function progress in
/// `state`'s slots (which the phase records), and rolls the whole release
/// back when anything goes wrong.
pub trait ShiftStrategy {
    /// Its name, for messages.
    fn name(&self) -> &'static str;

    /// The next step (call with no observations at the start of a job).
    fn decide(
        &self,
        plan: &ShiftPlan,
        state: &mut ShiftState,
        observed: Vec<CanaryObservation>,
        now: SystemTime,
    ) -> Decision<CanaryAction>;
}

/// Shifts with CodeDeploy: one deployment per function.
#[derive(Debug, Clone, Copy, Default)]
pub struct CodeDeploy;

impl ShiftStrategy for CodeDeploy {
    fn name(&self) -> &'static str {
        "CodeDeploy"
    }

    fn decide(
        &self,
        plan: &ShiftPlan,
        state: &mut ShiftState,
        observed: Vec<CanaryObservation>,
        now: SystemTime,
    ) -> Decision<CanaryAction> {
        canary::decide_shift(plan, state, observed, now)
    }
}

/// The release-wide canary settings the record holds, paced for the
/// functions that shift (a new version over a previous one).
pub fn release_settings(r: &ReleaseRecord, flow: &Flow) -> ReleaseSettings {
    let configs = r
        .functions
        .iter()
        .filter(|f| !f.code_only && f.previous_version.is_some() && f.previous_version != f.version)
        .filter_map(|f| f.config().ok());
    // A break-glass release deploys AllAtOnce, still within the quota.
    let pace = if r.settings.break_glass.is_some() {
        Pace::new([crate::canary::BREAK_GLASS_CONFIG], flow.codedeploy_rate)
    } else {
        Pace::new(configs, flow.codedeploy_rate)
    };
    ReleaseSettings {
        release_id: r.release_id.clone(),
        commit: r.commit.clone(),
        application: r.settings.application.clone(),
        service_role_arn: r.settings.service_role_arn.clone(),
        max_parallel: r.settings.max_parallel.unwrap_or(usize::MAX),
        break_glass: r.settings.break_glass.clone(),
        foreign_wait: flow.foreign_wait,
        pace,
        observe_every: Duration::from_secs_f64(
            (flow.watch_interval.as_secs_f64() * flow.time_scale).clamp(0.0, 1e9),
        ),
    }
}

/// What the canary needs of one recorded function.
pub fn target(f: &FunctionEntry) -> Result<FunctionTarget, EngineError> {
    Ok(FunctionTarget {
        function: f.name.clone(),
        alias: f.alias.clone(),
        config: f.config().map_err(|e| {
            EngineError::new(
                FailureKind::ConfigurationError,
                format!("the release record's deployment config of {}: {e}", f.name),
            )
        })?,
        alarms: f.alarms.clone(),
        hooks: f.hooks(),
        analysis: f.analysis,
    })
}

/// The shift's input: every recorded function, in record order.
pub fn shift_plan(r: &ReleaseRecord, flow: &Flow) -> Result<ShiftPlan, EngineError> {
    let mut functions = Vec::with_capacity(r.functions.len());
    for f in &r.functions {
        // A code-only function not published yet (its release rolls back
        // before it was): nothing to shift to; a rollback restores it.
        let version = match (&f.version, f.code_only) {
            (Some(v), _) => v.clone(),
            (None, true) => String::new(),
            (None, false) => {
                return Err(internal(&format!(
                    "the release record has no new version of {} although it is shifting",
                    f.name
                )));
            }
        };
        functions.push(FunctionShift {
            target: target(f)?,
            current_version: f.previous_version.clone(),
            target_version: version,
            serving_target: false,
            code_only: f.code_only,
        });
    }
    Ok(ShiftPlan {
        release: release_settings(r, flow),
        functions,
    })
}

/// The next step of the shift phase.
pub fn decide(
    job: &JobInput,
    state: &mut ReleaseState,
    observed: Vec<CanaryObservation>,
    flow: Flow,
    now: SystemTime,
) -> Decision<Action> {
    if state.job.record.is_none() {
        return Decision::Perform(vec![]);
    }
    // Code-only functions go live first, by the job that published the
    // others (it has their bundles); if it cannot, the release rolls back.
    match super::publish::code_only_requests(job, state) {
        Ok(None) => {}
        Ok(Some(requests)) => return Decision::Perform(vec![Action::Publish(requests)]),
        Err(why) => {
            if let Some(r) = &mut state.job.record
                && !r.shift.rolling_back
            {
                r.shift.rolling_back = true;
                r.shift.cause.get_or_insert(why);
                state.job.shift = None;
            }
        }
    }
    let Some(record) = &state.job.record else {
        return Decision::Perform(vec![]);
    };
    // The output artifact, once, from the record (any job of the release
    // can write it: it needs no artifact).
    if let Some(out) = job.output_artifacts.first()
        && !record.output_written
    {
        return Decision::Perform(vec![Action::WriteOutput {
            artifact: out.clone(),
            release_json: settle::release_json(record),
            kms_key_id: job.encryption_key_id.clone(),
        }]);
    }
    if state.job.prepared.is_some() && !state.job.discarded {
        return Decision::Perform(vec![Action::Discard]);
    }
    if let Some(e) = state.job.canary_error.take() {
        return paused(state, observed, e, flow, now);
    }
    let plan = match shift_plan(record, &flow) {
        Ok(p) => p,
        Err(e) => {
            // The record cannot drive a shift: nothing is changed; the
            // operator fixes the record (its message names the field).
            return Decision::Fail {
                kind: e.kind,
                message: e.message,
                external_execution_id: Some(record.release_id.clone()),
            };
        }
    };
    let strategy = CodeDeploy;
    let shift = state.job.shift.get_or_insert_with(|| {
        ShiftState::resume(
            &plan,
            record.functions.iter().map(FunctionEntry::slot).collect(),
            record.shift.discovered,
            record.shift.rolling_back,
            record.shift.cause.clone(),
        )
    });
    let looked = !observed.is_empty();
    let decision = strategy.decide(&plan, shift, observed, now);
    let pace_due = shift.pace_due();
    // The analysis verdicts go into the record when the release ends.
    let verdicts = if matches!(decision, Decision::Succeed { .. } | Decision::Fail { .. }) {
        shift.verdicts(&plan)
    } else {
        Vec::new()
    };
    let (slots, discovered, rolling_back, cause, due, stalled) = (
        shift.recorded_slots(),
        shift.discovered(),
        shift.is_rolling_back(),
        shift.cause().map(str::to_string),
        shift.due(),
        shift.stalled().map(str::to_string),
    );
    if let Some(r) = &mut state.job.record {
        for (f, slot) in r.functions.iter_mut().zip(&slots) {
            f.set_slot(slot);
        }
        for (i, v) in verdicts {
            if let Some(f) = r.functions.get_mut(i) {
                f.verdict = Some(v);
            }
        }
        r.shift.discovered = discovered;
        r.shift.rolling_back = rolling_back;
        r.shift.cause = cause;
        // The calls went through: not paused; stalled only if the
        // rollback's own calls failed.
        if looked {
            r.shift.paused_since = None;
            r.shift.stalled = stalled;
        }
    }
    // Deployment ids learned since the last write need no write of their
    // own: the record says `creating` for those functions, which a resumed
    // job resolves by looking (they go with the next write, the hand-back's
    // or the outcome's).
    let announced = state.job.claimed
        && matches!(
            (&state.job.stored, &state.job.record),
            (Some(stored), Some(r)) if record::only_deployment_ids_learned(stored, r)
        );
    match decision {
        Decision::Perform(a) if announced => Decision::Perform(vec![Action::Canary(a)]),
        Decision::Perform(a) => with_record(state, now, vec![Action::Canary(a)]),
        Decision::Continue(mut progress) | Decision::Wait { mut progress, .. } => {
            progress.summary = crate::canary::clip(
                &super::titled(state.job.record.as_ref(), &progress.summary),
                crate::report::SUMMARY_MAX,
            );
            state.job.last_percent = progress.percent_complete;
            let since = *state.job.watching_since.get_or_insert(now);
            let held = now.duration_since(since).unwrap_or_default();
            let d = if held < flow.hold_job
                || watch::keep_holding(now, due, flow.hold_job, flow.time_scale)
            {
                Decision::Wait {
                    delay: watch::watch_delay(now, due, flow.watch_interval, flow.time_scale)
                        .min(watch::pace_delay(now, pace_due, flow.time_scale)),
                    progress,
                }
            } else {
                finish(state, Decision::Continue(progress))
            };
            if announced && matches!(d, Decision::Wait { .. }) {
                d
            } else {
                write(state, now, Some(d))
            }
        }
        Decision::Succeed { progress, .. } => settle::succeed(job, state, flow, progress, now),
        Decision::Fail {
            kind,
            message,
            external_execution_id,
        } => settle::rolled_back(state, kind, message, external_execution_id, now),
        Decision::Abandon(r) => Decision::Abandon(r),
    }
}

/// A canary call failed after its retries while the release shifts or
/// rolls back (an AWS outage, a missing permission): the release is
/// paused, never failed. What the calls before the failure did is
/// recorded; the job looks again with backoff (the watch interval,
/// doubling per failure in a row, at most a minute) and is handed back
/// after `hold_job`; the record says since when and why, and every look
/// tries again. CodeDeploy keeps shifting what it started meanwhile: when
/// the calls go through, the worker sees what happened and rolls the whole
/// release back if anything went wrong.
pub(super) fn paused(
    state: &mut ReleaseState,
    observed: Vec<CanaryObservation>,
    e: EngineError,
    flow: Flow,
    now: SystemTime,
) -> Decision<Action> {
    let Some(r) = &mut state.job.record else {
        return Decision::Perform(vec![]);
    };
    for o in &observed {
        match o {
            CanaryObservation::DeploymentCreated {
                index,
                deployment_id,
            } => {
                if let Some(f) = r.functions.get_mut(*index) {
                    f.set_slot(&Slot::Deployment(deployment_id.clone()));
                }
            }
            CanaryObservation::AliasCreated { index, .. } => {
                if let Some(f) = r.functions.get_mut(*index) {
                    f.set_slot(&Slot::AliasCreated);
                }
            }
            _ => {}
        }
    }
    let since = r
        .shift
        .paused_since
        .get_or_insert_with(|| record::timestamp(now))
        .clone();
    r.shift.stalled = Some(canary::clip(&e.message, canary::shift::CAUSE_MAX));
    let paused_for = now
        .duration_since(
            std::time::UNIX_EPOCH + std::time::Duration::from_millis(record::millis_of(&since)),
        )
        .unwrap_or_default();
    let at = state
        .job
        .last_percent
        .map(|p| format!(" at {p} %"))
        .unwrap_or_default();
    let summary = if r.shift.rolling_back {
        format!(
            "Release {} is ROLLING BACK, paused for {}: {}. The worker resumes rolling back every function as soon as the call goes through.",
            r.release_id,
            canary::human(paused_for),
            e.message.trim_end_matches('.')
        )
    } else {
        format!(
            "Release {} paused{at} for {}: {}. CodeDeploy keeps shifting what it started; the worker resumes watching (and rolls the whole release back if anything went wrong meanwhile) as soon as the call goes through.",
            r.release_id,
            canary::human(paused_for),
            e.message.trim_end_matches('.')
        )
    };
    let p = super::progress(summary, state.job.last_percent, &r.release_id.clone());
    // Rebuilt from the record at the next look.
    state.job.shift = None;
    let failures = state.job.canary_failures.max(1);
    let delay = (flow.watch_interval * 2u32.saturating_pow(failures - 1).min(64))
        .min(std::time::Duration::from_secs(60))
        .max(flow.watch_interval);
    let since = *state.job.watching_since.get_or_insert(now);
    let held = now.duration_since(since).unwrap_or_default();
    let d = if held < flow.hold_job {
        Decision::Wait { delay, progress: p }
    } else {
        finish(state, Decision::Continue(p))
    };
    write(state, now, Some(d))
}
