//! Phase "pre-flight" (record phase `Planned`): the canary's pre-flight
//! (`canary::decide_preflight`) over the release's changed functions,
//! before a single version is published. When it holds, the record moves
//! to `Publishing` (written before anything is published); a refusal
//! fails the release with nothing mutated but CodeDeploy's own setup; a
//! foreign deployment in a group is waited for with hand-backs, its start
//! kept in the record.
//!
//! Pure.

use std::time::SystemTime;

use super::plan::Plan;
use super::record::Phase;
use super::{Action, Flow, ReleaseState, finish, internal, settle, shift, write};
use crate::canary::{self, AliasView, CanaryObservation, Preflight, PreflightPlan};
use crate::engine::Decision;
use crate::job::JobInput;

/// The aliases of the changed functions as Inspect read them (GetAlias;
/// `None` = no alias yet), for pre-flight.
pub fn known_aliases(plan: &Plan) -> Vec<(String, Option<AliasView>)> {
    plan.changed()
        .map(|f| {
            (
                f.function.name.clone(),
                f.current.as_ref().map(|a| AliasView {
                    version: a.version.clone(),
                    routing: a.routing.clone(),
                    revision_id: a.revision_id.clone(),
                }),
            )
        })
        .collect()
}

/// The next pre-flight step.
pub fn decide(
    job: &JobInput,
    state: &mut ReleaseState,
    plan: &Plan,
    observed: Vec<CanaryObservation>,
    flow: Flow,
    now: SystemTime,
) -> Decision<Action> {
    if let Some(e) = state.job.canary_error.take() {
        // Nothing is published yet: a pre-flight read that cannot be made
        // fails the release, naming the call.
        return settle::fail_before_shift(state, flow, e, now);
    }
    let Some(record) = &state.job.record else {
        return settle::fail_before_shift(
            state,
            flow,
            internal("pre-flight without a record"),
            now,
        );
    };
    let release = shift::release_settings(record, &flow);
    let mut functions = Vec::new();
    for f in record
        .functions
        .iter()
        .filter(|f| f.state == super::record::FunctionState::Planned && !f.code_only)
    {
        match shift::target(f) {
            Ok(t) => functions.push(t),
            Err(e) => return settle::fail_before_shift(state, flow, e, now),
        }
    }
    let pf = PreflightPlan { release, functions };
    if pf.functions.is_empty() {
        return ready(state, now);
    }
    if observed.is_empty() {
        // Inspect read every changed function's alias in this job.
        state
            .job
            .preflight_state
            .knowing_aliases(known_aliases(plan));
        state.job.preflight_state.foreign_since = record.foreign_wait_since;
    }
    match canary::decide_preflight(&pf, &mut state.job.preflight_state, observed, now) {
        Preflight::Ready(report) => {
            state.job.preflight = Some(report);
            ready(state, now)
        }
        Preflight::Next(Decision::Perform(a)) => Decision::Perform(vec![Action::Canary(a)]),
        Preflight::Next(Decision::Fail {
            kind,
            message,
            external_execution_id,
        }) => settle::refused(state, job, kind, message, external_execution_id, now),
        Preflight::Next(Decision::Wait { progress, .. } | Decision::Continue(progress)) => {
            // A foreign deployment is being waited for: come back later.
            let since = state.job.preflight_state.foreign_since;
            if let Some(r) = &mut state.job.record {
                r.foreign_wait_since = since;
            }
            let d = finish(state, Decision::Continue(progress));
            write(state, now, Some(d))
        }
        Preflight::Next(Decision::Abandon(r)) => Decision::Abandon(r),
        Preflight::Next(Decision::Succeed { .. }) => settle::fail_before_shift(
            state,
            flow,
            internal("pre-flight ended with a success"),
            now,
        ),
    }
}

/// Pre-flight holds: the record says `Publishing` before anything is published.
fn ready(state: &mut ReleaseState, now: SystemTime) -> Decision<Action> {
    if let Some(r) = &mut state.job.record {
        r.phase = Phase::Publishing;
        r.foreign_wait_since = None;
    }
    write(state, now, None)
}
