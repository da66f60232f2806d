//! The release engine's decisions (pure): one explicit state machine over
//! the release's record in the ledger. Every job of a release reads the
//! record first and claims it; then the record's phase says what comes
//! next, each phase in its own file:
//!
//! ```text
//! read + claim ─► prepare (artifact) ─► validate (Lambda, plan) ─► record
//!      │             only while nothing shifts                      │
//!      │                                                            ▼
//!      │            preflight (Planned) ─► publish (Publishing) ─► shift (Shifting)
//!      └── a continuation job of a shifting release ──────────────► shift
//!                                                                    │
//!                                                  settle: Succeeded, or Failed after
//!                                                  the whole release rolled back (Done)
//! ```
//!
//! - [`prepare`]: fetch the input artifact and prepare its bundles, read
//!   every function, alias and hook in Lambda, validate and plan; create
//!   the record (or start a new attempt of an ended one) before anything
//!   is mutated.
//! - [`preflight`]: the canary's pre-flight, before any version exists.
//! - [`publish`]: update and publish the changed functions (write-ahead:
//!   the record says `Publishing` first).
//! - [`shift`]: the shift strategy behind a seam ([`shift::ShiftStrategy`];
//!   today CodeDeploy), its slots kept in the record's function states.
//! - [`settle`]: the outcome written to the record, then the job's report.
//!
//! Writes are conditional (create only if absent, replace only the
//! version read) and precede the mutations they announce (a deployment's
//! `creating` state is recorded before CreateDeployment is sent), so a job
//! that loses a race re-reads and decides again, and one that finds
//! another job holding the record abandons its job without a result. The
//! continuation token is a pointer (release id, record key, ETag): its
//! size does not depend on the number of functions, and continuation jobs
//! of a shifting release never fetch the artifact again. Once anything has
//! shifted, a ledger outage costs time, never the release: the job is
//! handed back and tried again.
//!
//! Also: `plan` (pure planning and texts), `bundle` (manifest → bundles),
//! `watch` (when a job watching a shift looks again), `record` (the
//! record's schema). No I/O, no clock, no SDK.

pub mod bundle;
pub mod plan;
pub mod preflight;
pub mod prepare;
pub mod publish;
pub mod record;
pub mod settle;
pub mod shift;
pub mod watch;

#[cfg(test)]
#[cfg(test)]
mod tests;

use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use crate::canary::{CanaryAction, CanaryObservation, PreflightReport, PreflightState, ShiftState};
use crate::engine::{Decision, EngineError};
use crate::job::{Artifact, JobInput};
use crate::ledger;
use crate::report::{FailureKind, Progress};

use plan::{ObservedFunction, ObservedHook, Plan, PreparedRelease};
pub use publish::{PublishRequest, Published};
pub use record::RollsBackTo;
use record::{Holder, ReleaseRecord};

/// Name of the file in the output artifact.
pub const RELEASE_JSON: &str = "release.json";

/// What the continuation token carries: a pointer at the release's record.
/// Everything else is read from the record (and from AWS).
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct ReleaseState {
    /// The release (a token of another release is refused).
    #[serde(rename = "r", default, skip_serializing_if = "String::is_empty")]
    pub release_id: String,
    /// The record's key in the ledger (relative to its prefix).
    #[serde(rename = "k", default, skip_serializing_if = "String::is_empty")]
    pub key: String,
    /// The record's ETag as this release's last job left it.
    #[serde(rename = "e", default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    /// Within one job only.
    #[serde(skip)]
    pub job: JobScratch,
}

/// What `decide` remembers between the steps of one job.
#[derive(Debug, Default)]
pub struct JobScratch {
    /// The record was read in this job (`record` is what was found).
    pub read: bool,
    /// This job's run, as written into the record's holder.
    pub lease: Option<String>,
    /// The record as last read or written, and its ETag.
    pub record: Option<ReleaseRecord>,
    pub etag: Option<String>,
    /// The record as the ledger holds it (to tell when to write).
    pub stored: Option<ReleaseRecord>,
    /// The record names this job's run as its holder.
    pub claimed: bool,
    /// This job's run held the record at some point (a later lost race
    /// means it was superseded).
    pub held: bool,
    /// A conditional write of this job lost (412/409): after the re-read,
    /// another holder means this job was superseded.
    pub lost_race: bool,
    /// The ledger could not be read or written (after retries).
    pub ledger_error: Option<String>,
    /// The artifact has been fetched and prepared (a per-job workspace exists).
    pub prepared: Option<PreparedRelease>,
    /// The validated plan.
    pub plan: Option<Plan>,
    /// The canary pre-flight passed in this job (what it found).
    pub preflight: Option<PreflightReport>,
    /// The pre-flight's state within this job.
    pub preflight_state: PreflightState,
    /// The shift's state within this job (rebuilt from the record).
    pub shift: Option<ShiftState>,
    /// The decision to return once the workspace's removal is done.
    pub pending: Option<Decision<Action>>,
    /// The decision to return once the pending record write is done.
    pub after_write: Option<Decision<Action>>,
    /// Whether the workspace was discarded.
    pub discarded: bool,
    /// When this job began watching the shift (`now` as `decide` got it):
    /// the job is held with `Wait`s until `hold_job`, then handed back.
    pub watching_since: Option<SystemTime>,
    /// The decision to return once pruning is done.
    pub after_prune: Option<Decision<Action>>,
    /// The last canary call that failed after its retries (this decision).
    pub canary_error: Option<EngineError>,
    /// Canary calls that failed in a row in this job (the pause's backoff).
    pub canary_failures: u32,
    /// The shift's last progress in this job (percent), for a pause's summary.
    pub last_percent: Option<i32>,
    /// What this job's pipeline execution rolls back to (`Some(None)`: it
    /// is no rollback), looked up once before a new record is created.
    pub rollback_of: Option<Option<RollsBackTo>>,
}

/// What [`decide`] needs of the engine's options.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Flow {
    /// Bundles over 50 MB can be uploaded (a staging bucket exists).
    pub staging: bool,
    pub watch_interval: Duration,
    pub hold_job: Duration,
    pub foreign_wait: Duration,
    /// Seconds of `now`'s clock per real second (1 for the system clock):
    /// converts the schedule's due times into real delays.
    pub time_scale: f64,
    /// After a release succeeds, prune its functions' versions, keeping
    /// those of the last this-many releases (`run --prune-keep N`).
    pub prune_keep: Option<usize>,
    /// How long CodePipeline lets the action run ([`plan::check_duration`]).
    pub max_duration: Duration,
    /// Lambda requests per second the release plans CodeDeploy's traffic
    /// shifts into ([`crate::canary::pace`]; not finite: no pacing).
    pub codedeploy_rate: f64,
}

impl Default for Flow {
    fn default() -> Self {
        Flow {
            staging: false,
            watch_interval: Duration::from_secs(15),
            hold_job: Duration::from_secs(5 * 60),
            foreign_wait: crate::canary::DEFAULT_FOREIGN_WAIT,
            time_scale: 1.0,
            prune_keep: None,
            max_duration: plan::DEFAULT_MAX_RELEASE_DURATION,
            codedeploy_rate: crate::canary::pace::DEFAULT_CODEDEPLOY_RATE,
        }
    }
}

/// What the engine asks its adapters to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Read the release's record (its key relative to the ledger's
    /// prefix); the adapter also names this job's run with a random lease.
    ReadRecord { key: String },
    /// Write the record: create it only if absent (`etag` `None`, then also
    /// the empty `index` objects), or replace only the version `etag` names.
    WriteRecord {
        key: String,
        body: String,
        etag: Option<String>,
        index: Vec<String>,
    },
    /// Download and unpack the input artifact, read the manifest, prepare bundles.
    Prepare,
    /// Read `(function, alias, new CodeSha256)` and hook functions in Lambda;
    /// the aliases themselves (GetAlias) only with `aliases` (pre-flight
    /// needs them).
    Inspect {
        functions: Vec<(String, String, String)>,
        hooks: Vec<String>,
        aliases: bool,
    },
    /// Update and publish these functions.
    Publish(Vec<PublishRequest>),
    /// Upload `release.json`, zipped, as this output artifact.
    WriteOutput {
        artifact: Artifact,
        release_json: String,
        kms_key_id: Option<String>,
    },
    /// Remove the job's workspace.
    Discard,
    /// CodeDeploy / CloudWatch / Lambda actions of the canary.
    Canary(Vec<CanaryAction>),
    /// Delete versions of `functions` that no alias and none of the last
    /// `keep` releases need (after a release succeeded; best effort).
    Prune { functions: Vec<String>, keep: usize },
    /// Whether the job's pipeline execution is a stage rollback
    /// (GetPipelineExecution: trigger `ManualRollback` or
    /// `AutomatedRollback`, `rollbackMetadata`) and, if so, the record of
    /// the release it rolls back to (its commit). Best effort: a lookup
    /// that fails is an ordinary release.
    GetPipelineExecution,
}

/// What the adapters observed.
#[derive(Debug)]
pub enum Observation {
    /// The record as read (`None`: there is none) with its ETag, where it
    /// is (`s3://bucket/key`, for messages), and this job's lease.
    RecordRead {
        found: Option<(Vec<u8>, String)>,
        at: String,
        lease: String,
    },
    /// The write went through; the record's new ETag.
    RecordWritten {
        etag: String,
    },
    /// The write lost a race (412 PreconditionFailed, 409
    /// ConditionalRequestConflict): read again and decide again.
    RecordConflict,
    /// The ledger could not be read or written (after retries); the
    /// sentence says why.
    LedgerUnavailable(String),
    Prepared(Result<PreparedRelease, EngineError>),
    Inspected {
        functions: Vec<ObservedFunction>,
        hooks: Vec<ObservedHook>,
    },
    Published(Vec<Published>),
    OutputWritten,
    Discarded,
    Canary(Vec<CanaryObservation>),
    /// A canary call could not be carried out after its retries: what was
    /// observed before it, and the error. Before anything shifted this
    /// fails the release; after, it pauses it (never a failure).
    CanaryFailed(Vec<CanaryObservation>, EngineError),
    /// Prune ran (how many versions it deleted; failures are only logged).
    Pruned(usize),
    /// What the pipeline execution rolls back to (`None`: no rollback, or
    /// the lookup failed).
    PipelineExecution(Option<RollsBackTo>),
}

/// The release's id: the canary's [`crate::canary::release_id`] (pipeline,
/// stage, action, pipeline execution — stable under console retries,
/// which rerun the action in the same execution).
pub fn release_id(job: &JobInput) -> String {
    crate::canary::release_id(
        &job.pipeline_name,
        &job.stage_name,
        &job.action_name,
        &job.pipeline_execution_id,
    )
}

/// The adapters could not perform the last actions (see [`settle::failed`]):
/// a release that has shifted and is not at rest is never failed.
pub fn on_error(
    job: &JobInput,
    state: &mut ReleaseState,
    e: EngineError,
    flow: Flow,
    now: SystemTime,
) -> Decision<Action> {
    if state.release_id.is_empty() {
        state.release_id = release_id(job);
    }
    settle::failed(job, state, e, flow, now)
}

/// The pure decision of the release engine (see the module doc).
pub fn decide(
    job: &JobInput,
    state: &mut ReleaseState,
    observed: Vec<Observation>,
    flow: Flow,
    now: SystemTime,
) -> Decision<Action> {
    let rid = release_id(job);
    if !state.release_id.is_empty() && state.release_id != rid {
        return Decision::Fail {
            kind: FailureKind::ConfigurationError,
            message: format!(
                "the continuation token points at release {}, but this job belongs to release {rid}: retry the stage",
                state.release_id
            ),
            external_execution_id: Some(rid),
        };
    }
    state.release_id = rid.clone();
    let key = ledger::record_key(&rid);
    let mut canary_observed = Vec::new();
    for o in observed {
        match o {
            Observation::RecordRead { found, at, lease } => {
                let s = &mut state.job;
                s.read = true;
                s.lease.get_or_insert(lease);
                s.ledger_error = None;
                match found {
                    None => {
                        s.record = None;
                        s.stored = None;
                        s.etag = None;
                    }
                    Some((body, etag)) => match ReleaseRecord::parse(&body, &at) {
                        Ok(r) => {
                            s.stored = Some(r.clone());
                            s.record = Some(r);
                            s.etag = Some(etag.clone());
                            state.etag = Some(etag);
                        }
                        Err(e) => return settle::end_without_record(state, fail(e, &rid)),
                    },
                }
                // Whatever this job believed before the re-read is void.
                let s = &mut state.job;
                s.shift = None;
                s.claimed = s
                    .record
                    .as_ref()
                    .is_some_and(|r| Some(&r.holder.lease) == s.lease.as_ref());
            }
            Observation::RecordWritten { etag } => {
                let s = &mut state.job;
                s.etag = Some(etag.clone());
                s.stored = s.record.clone();
                s.claimed = true;
                s.held = true;
                s.ledger_error = None;
                state.etag = Some(etag);
                state.key = key.clone();
                if let Some(d) = state.job.after_write.take() {
                    return d;
                }
            }
            Observation::RecordConflict => {
                let s = &mut state.job;
                s.read = false;
                s.lost_race = true;
                s.pending = None;
                s.after_write = None;
                s.shift = None;
            }
            Observation::LedgerUnavailable(why) => {
                let s = &mut state.job;
                s.ledger_error = Some(why);
                s.pending = None;
                s.after_write = None;
            }
            Observation::Prepared(Ok(p)) => state.job.prepared = Some(p),
            Observation::Prepared(Err(e)) => {
                state.job.discarded = true;
                return settle::fail_before_shift(state, flow, e, now);
            }
            Observation::Inspected { functions, hooks } => {
                if let Err(e) = prepare::inspected(state, &functions, &hooks, flow) {
                    return settle::fail_before_shift(state, flow, e, now);
                }
            }
            Observation::Published(list) => publish::published(state, list, now),
            Observation::OutputWritten => {
                if let Some(r) = &mut state.job.record {
                    r.output_written = true;
                }
            }
            Observation::Discarded => {
                state.job.discarded = true;
                if let Some(d) = state.job.pending.take() {
                    return d;
                }
            }
            Observation::Canary(v) => {
                state.job.canary_failures = 0;
                canary_observed.extend(v);
            }
            Observation::CanaryFailed(v, e) => {
                state.job.canary_failures += 1;
                state.job.canary_error = Some(e);
                canary_observed.extend(v);
            }
            Observation::PipelineExecution(of) => state.job.rollback_of = Some(of),
            Observation::Pruned(_) => {
                if let Some(d) = state.job.after_prune.take() {
                    return d;
                }
            }
        }
    }
    // The action's own settings come first: nothing is read before they hold.
    if let Err(e) = prepare::check_settings(job, flow) {
        return settle::end_without_record(state, fail(e, &rid));
    }
    if let Some(why) = state.job.ledger_error.clone() {
        return settle::ledger_down(state, job, &why, flow, now);
    }
    if !state.job.read {
        return Decision::Perform(vec![Action::ReadRecord { key }]);
    }
    if state.job.lost_race {
        state.job.lost_race = false;
        if let Some(r) = &state.job.record
            && !state.job.claimed
        {
            // Another run holds the record now. A job that already held it
            // was superseded; so was a run of this same job that lost.
            if state.job.held {
                let d = Decision::Abandon(format!(
                    "job {} now holds release {rid}; this job ({}) stops without a result",
                    r.holder.job_id, job.job_id
                ));
                return finish(state, d);
            }
            if r.holder.job_id == job.job_id {
                let d = Decision::Abandon(format!(
                    "another run of job {} holds release {rid}; this run stops without a result",
                    job.job_id
                ));
                return finish(state, d);
            }
            // An older job wrote in between: this (newer) job claims it.
        }
    }
    let Some(record) = &state.job.record else {
        return prepare::decide(job, state, canary_observed, flow, now);
    };
    let (outcome, phase) = (record.outcome, record.phase);
    if outcome.is_terminal() {
        let ours = record.holder.job_id == job.job_id;
        if job.continuation_token.is_some() || (ours && state.job.claimed) {
            // The release ended in an earlier job whose report was lost, or
            // in this very job (its last write went through although its
            // answer was lost): report how it ended.
            return settle::report_ended(state, job);
        }
        if ours {
            // Another run of this same job ended it; that run reports.
            let d = Decision::Abandon(format!(
                "another run of job {} ended release {rid}; this run stops without a result",
                job.job_id
            ));
            return finish(state, d);
        }
        // A stage retry of an ended release: a new attempt, planned afresh.
        return prepare::decide(job, state, canary_observed, flow, now);
    }
    if !state.job.claimed {
        return claim(job, state, now);
    }
    match phase {
        record::Phase::Planned | record::Phase::Publishing => {
            prepare::decide(job, state, canary_observed, flow, now)
        }
        record::Phase::Shifting => shift::decide(job, state, canary_observed, flow, now),
        record::Phase::Done => settle::report_ended(state, job),
    }
}

/// Takes the record over for this job: its holder becomes this job's run;
/// a first job of an attempt (a stage retry) counts a new attempt and
/// looks for the release's running deployments before starting any.
fn claim(job: &JobInput, state: &mut ReleaseState, now: SystemTime) -> Decision<Action> {
    let lease = state.job.lease.clone().unwrap_or_default();
    let Some(r) = &mut state.job.record else {
        return Decision::Perform(vec![]);
    };
    let new_attempt = job.continuation_token.is_none() && r.holder.job_id != job.job_id;
    r.holder = Holder {
        job_id: job.job_id.clone(),
        lease,
        since: record::timestamp(now),
    };
    if new_attempt {
        // A new attempt (a stage retry) of a release an earlier attempt
        // left unfinished.
        r.attempt += 1;
        r.shift.discovered = false;
    }
    write(state, now, None)
}

/// The record write that `state`'s record needs (`None`: none pending),
/// as an action; `then` is returned once it went through.
fn write_action(state: &mut ReleaseState, now: SystemTime) -> Option<Action> {
    let s = &mut state.job;
    let r = s.record.as_mut()?;
    if s.stored.as_ref() == Some(r) && s.claimed {
        return None;
    }
    r.updated_at = record::timestamp(now);
    let create = s.stored.is_none() && s.etag.is_none();
    let index = if create {
        ledger::index_keys(&r.release_id, &r.pipeline, r.started_ms()).to_vec()
    } else {
        Vec::new()
    };
    Some(Action::WriteRecord {
        key: ledger::record_key(&r.release_id),
        body: r.to_json(),
        etag: if create { None } else { s.etag.clone() },
        index,
    })
}

/// Writes the record, then returns `then` (or decides again when `None`).
fn write(
    state: &mut ReleaseState,
    now: SystemTime,
    then: Option<Decision<Action>>,
) -> Decision<Action> {
    match write_action(state, now) {
        Some(a) => {
            state.job.after_write = then;
            Decision::Perform(vec![a])
        }
        None => then.unwrap_or(Decision::Perform(vec![])),
    }
}

/// `actions`, preceded by the record write they need (write-ahead).
fn with_record(
    state: &mut ReleaseState,
    now: SystemTime,
    actions: Vec<Action>,
) -> Decision<Action> {
    let mut all = Vec::with_capacity(actions.len() + 1);
    all.extend(write_action(state, now));
    all.extend(actions);
    Decision::Perform(all)
}

fn fail(e: EngineError, release_id: &str) -> Decision<Action> {
    Decision::Fail {
        kind: e.kind,
        message: e.message,
        external_execution_id: Some(release_id.to_string()),
    }
}

/// Ends the job with `d`, discarding the workspace first when one may exist.
fn finish(state: &mut ReleaseState, d: Decision<Action>) -> Decision<Action> {
    if state.job.discarded || state.job.prepared.is_none() {
        return d;
    }
    state.job.pending = Some(d);
    Decision::Perform(vec![Action::Discard])
}

/// `text` as the console shows it for `record`: a stage rollback says so
/// first ("Rollback to release r-… (commit abc1234): …").
fn titled(record: Option<&ReleaseRecord>, text: &str) -> String {
    match record.and_then(|r| r.rolls_back_to.as_ref()) {
        Some(to) => {
            let mut t = text.to_string();
            if let Some(c) = t.get(..1) {
                t.replace_range(..1, &c.to_lowercase());
            }
            format!("{}: {t}", to.headline())
        }
        None => text.to_string(),
    }
}

/// A progress line for the console.
fn progress(summary: String, percent: Option<i32>, id: &str) -> Progress {
    Progress {
        summary: crate::canary::clip(&summary, crate::report::SUMMARY_MAX),
        percent_complete: percent,
        external_execution_id: Some(id.to_string()),
    }
}

/// A problem the engine cannot get past (its state is not what the record says).
fn internal(what: &str) -> EngineError {
    EngineError::new(FailureKind::JobFailed, format!("internal error: {what}"))
}
