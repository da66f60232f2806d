//! The shift of a release (pure): starts one CodeDeploy deployment per
//! changed function (at most `MaxParallel` in flight, in plan order — rolling
//! waves), watches them and the release's alarms once per tick, rolls the
//! whole release back when anything goes wrong, and creates first-release
//! aliases last. Decides from observations; knows no SDK and no clock.
//!
//! A tick (one job of the action execution):
//! 1. `decide_shift(.., [], now)` → `Perform([Observe])`: every deployment
//!    of the release (`BatchGetDeployments`, 25 ids a call, plus the
//!    rollback deployments they name) and every alarm (`DescribeAlarms`,
//!    100 names a call); the first tick of a release also lists the
//!    account's active deployments to attach to those of this release (a
//!    console retry).
//! 2. `decide_shift(.., observations, now)` → start the next deployments,
//!    or stop everything and restore aliases (rollback), or create
//!    first-release aliases, each a `Perform` whose results come back the
//!    same way; then `Continue(progress)` (hand the job back), `Succeed` or
//!    `Fail`.
//!
//! What outlives a job ([`ShiftState`]): one slot per function (waiting,
//! creating, its deployment, first-release alias created, unchanged,
//! shifted by an earlier attempt of the release), whether this attempt's
//! discovery ran, the rollback flag and its cause. The caller keeps them
//! (the release engine: in the release's record) and resumes with
//! [`ShiftState::resume`]. Everything else is re-read each tick.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sha2::{Digest, Sha256};

use super::analysis::{self, Counts};
use super::{
    AlarmState, AlarmView, AliasView, BREAK_GLASS_CONFIG, CanaryAction, CanaryObservation,
    Decision, DeploymentStatus, DeploymentView, FunctionShift, MetricWindow, ShiftPlan, appspec,
    clip, deployment_description, human, is_ours,
};
use crate::report::{FailureKind, MESSAGE_MAX, Progress, SUMMARY_MAX};

/// Where one function of the release stands (persisted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Slot {
    /// Not started yet (or a first release waiting for its alias).
    Waiting,
    /// CreateDeployment was sent; its id is not known (re-found by listing
    /// the group if the job ends before the answer is recorded).
    Creating,
    /// Its deployment.
    Deployment(String),
    /// First release: alias created on the new version.
    AliasCreated,
    /// The alias already serves the target version: nothing to do.
    Unchanged,
    /// The alias already serves the target version because an earlier
    /// attempt of this release (before a stage retry) moved it there: no
    /// deployment, but it rolls back with the release.
    Shifted,
    /// A code-only function: no alias, no deployment; its new code is live
    /// since it was published, and a rollback restores its previous code.
    CodeOnly,
    /// A schedule the worker drives (no deployment): step `step` (an index
    /// into the config's steps, the last being 100 %) is applied or being
    /// applied; the first was applied at `since`, step k is due `since + k ×
    /// interval`, and the function is released `bake` after 100 %.
    Stepping { step: u32, since: SystemTime },
}

/// The shift's state. What outlives a job (the slots, the discovery and
/// rollback flags, the cause) is kept by the caller (the release record)
/// and handed back with [`ShiftState::resume`].
#[derive(Debug, Clone, Default)]
pub struct ShiftState {
    /// First 8 hex of SHA-256 over the plan's function names.
    fingerprint: String,
    slots: Vec<Slot>,
    /// The first tick's discovery (attach to running deployments) is done.
    discovered: bool,
    rolling_back: bool,
    /// What made the release roll back.
    cause: Option<String>,
    /// Why the rollback could not proceed at its last step (failed
    /// UpdateAlias / StopDeployment calls), if it could not.
    stalled: Option<String>,
    /// This job's observations.
    seen: Option<Seen>,
    /// When the schedules say the deployments end, as of the last
    /// observation of this job.
    due: Option<ShiftDue>,
    /// The pace's clock (this job's only): the next deployment may start,
    /// the next rollback may be asked for, not before these.
    next_start: Option<SystemTime>,
    next_stop: Option<SystemTime>,
    /// When the pace lets the next held-back start or rollback go (`None`:
    /// nothing is held back by the pace).
    pace_due: Option<SystemTime>,
    /// When this job last observed the deployments and alarms.
    observed_at: Option<SystemTime>,
    /// Waiting functions whose next paced starts this job has announced
    /// ahead: the record says `creating` for them (see
    /// [`ShiftState::recorded_slots`]), so their CreateDeployments need no
    /// write of their own. This job's only; a resumed job finds them
    /// `creating` and looks for their deployments.
    reserved: BTreeSet<usize>,
    /// When this job sent each CreateDeployment: a deployment's phase until
    /// a look reports its start time.
    started_at: HashMap<usize, SystemTime>,
    /// Aliases of worker-driven functions as last read or updated by this
    /// job (their RevisionId is the next step's precondition).
    alias_known: HashMap<usize, AliasView>,
    /// When each function's shift began (a step's `since`, a deployment's
    /// start as looked up): the start of its analysis window.
    shift_since: HashMap<usize, SystemTime>,
    /// The last analysis counts of each function (canary, baseline).
    metrics: HashMap<usize, (Counts, Counts)>,
    /// An analysed step is due and the last look is older than its due
    /// time: the next wake looks (reads the metrics) before deciding.
    look_needed: bool,
}

impl ShiftState {
    /// Each analysed function's verdict on its last counts, as a sentence
    /// ("collect-quote-price v7: 3.1 % errors in 1,204 calls vs v6 …").
    pub fn verdicts(&self, plan: &ShiftPlan) -> Vec<(usize, String)> {
        let mut out: Vec<(usize, String)> = self
            .metrics
            .keys()
            .filter_map(|&i| Some((i, analysis_verdict(plan, self, i)?.message().to_string())))
            .collect();
        out.sort();
        out
    }
}

/// When the running deployments' schedules end (CodeDeploy's start time +
/// the config's total duration), as of the last observation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShiftDue {
    /// The earliest end of a deployment still running.
    pub next: SystemTime,
    /// When the last one ends, if every function is deployed, done or
    /// waiting only for its first-release alias (no wave still to start).
    pub last: Option<SystemTime>,
}

impl ShiftState {
    /// The state a release recorded: one slot per function of `plan` (in
    /// its order), whether this attempt's discovery ran, and the rollback
    /// flag and cause. Empty `slots` start a new shift.
    pub fn resume(
        plan: &ShiftPlan,
        slots: Vec<Slot>,
        discovered: bool,
        rolling_back: bool,
        cause: Option<String>,
    ) -> ShiftState {
        ShiftState {
            fingerprint: if slots.is_empty() {
                String::new()
            } else {
                fingerprint(plan)
            },
            slots,
            discovered,
            rolling_back,
            cause,
            stalled: None,
            seen: None,
            due: None,
            next_start: None,
            next_stop: None,
            pace_due: None,
            observed_at: None,
            reserved: BTreeSet::new(),
            started_at: HashMap::new(),
            alias_known: HashMap::new(),
            shift_since: HashMap::new(),
            metrics: HashMap::new(),
            look_needed: false,
        }
    }

    /// What outlives the job (slots, flags, cause): the state the next job
    /// of the release resumes from, without this job's observations.
    pub fn persisted(&self) -> ShiftState {
        ShiftState {
            fingerprint: self.fingerprint.clone(),
            slots: self.slots.clone(),
            discovered: self.discovered,
            rolling_back: self.rolling_back,
            cause: self.cause.clone(),
            stalled: None,
            seen: None,
            due: None,
            next_start: None,
            next_stop: None,
            pace_due: None,
            observed_at: None,
            reserved: BTreeSet::new(),
            started_at: HashMap::new(),
            alias_known: HashMap::new(),
            shift_since: HashMap::new(),
            metrics: HashMap::new(),
            look_needed: false,
        }
    }

    /// Why the rollback could not proceed at its last step, if it could not.
    pub fn stalled(&self) -> Option<&str> {
        self.stalled.as_deref()
    }

    /// Whether this attempt looked for the release's running deployments.
    pub fn discovered(&self) -> bool {
        self.discovered
    }

    pub fn slots(&self) -> &[Slot] {
        &self.slots
    }

    /// The slots as the record keeps them: a waiting function whose start
    /// this job announced ahead ([`RESERVE_BATCHES`]) is recorded
    /// `creating`, as if its CreateDeployment had been sent. A job that
    /// resumes from the record looks for its deployment and, finding none,
    /// starts it again: announcing ahead is safe, and spares the ledger a
    /// write per batch of starts.
    pub fn recorded_slots(&self) -> Vec<Slot> {
        self.slots
            .iter()
            .enumerate()
            .map(|(i, s)| {
                if *s == Slot::Waiting && !self.rolling_back && self.reserved.contains(&i) {
                    Slot::Creating
                } else {
                    s.clone()
                }
            })
            .collect()
    }

    pub fn is_rolling_back(&self) -> bool {
        self.rolling_back
    }

    pub fn cause(&self) -> Option<&str> {
        self.cause.as_deref()
    }

    /// When the pace lets the next held-back deployment start or rollback
    /// go: the engine comes back then rather than at its next look (and
    /// without looking again when it looked within
    /// `ReleaseSettings::observe_every`).
    pub fn pace_due(&self) -> Option<SystemTime> {
        self.pace_due
    }

    /// When the running deployments should end (see [`ShiftDue`]); `None`
    /// before the first observation of a job, while rolling back, and when
    /// no running deployment has started shifting.
    pub fn due(&self) -> Option<ShiftDue> {
        self.due
    }

    /// Forgets what this job knew of function `i`'s alias: the next look
    /// reads it again (tests use it to stand for a job that has not read it).
    #[cfg(test)]
    pub fn alias_known_forget(&mut self, i: usize) {
        self.alias_known.remove(&i);
    }

    /// Deployment ids of the release, in plan order.
    pub fn deployment_ids(&self) -> Vec<String> {
        self.slots
            .iter()
            .filter_map(|s| match s {
                Slot::Deployment(id) => Some(id.clone()),
                _ => None,
            })
            .collect()
    }
}

/// This job's observations and what it already sent.
#[derive(Debug, Clone, Default)]
struct Seen {
    deployments: HashMap<String, DeploymentView>,
    alarms: Vec<AlarmView>,
    aliases: HashMap<usize, Option<AliasView>>,
    /// The tick's Observe answered.
    ticked: bool,
    created_now: BTreeSet<String>,
    creates_sent: bool,
    alias_creates_sent: bool,
    stops_sent: BTreeSet<String>,
    alias_reads_sent: BTreeSet<usize>,
    alias_updates_sent: BTreeSet<usize>,
    alias_update_failures: Vec<String>,
    stop_failures: Vec<String>,
    code_restores_sent: BTreeSet<usize>,
    /// Code-only functions back on their previous code: the version now
    /// holding it.
    code_restored: BTreeMap<usize, String>,
    /// Code-only functions whose previous version is gone: why.
    code_not_restorable: BTreeMap<usize, String>,
}

fn fingerprint(plan: &ShiftPlan) -> String {
    let mut h = Sha256::new();
    for f in &plan.functions {
        h.update(f.target.function.as_bytes());
        h.update([0u8]);
    }
    h.finalize()[..4]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn observe(plan: &ShiftPlan, state: &ShiftState, now: SystemTime) -> CanaryAction {
    let watch_alarms = plan.release.break_glass.is_none() && !state.rolling_back;
    // A worker-driven function's step needs its alias's RevisionId: read
    // once a job, and again after a step failed.
    let read_aliases = if state.rolling_back {
        Vec::new()
    } else {
        (0..plan.functions.len())
            .filter(|&i| {
                worker_driven(plan, i)
                    && !state.alias_known.contains_key(&i)
                    && match state.slots[i] {
                        Slot::Waiting => plan.functions[i].current_version.is_some(),
                        Slot::Stepping { .. } => true,
                        _ => false,
                    }
            })
            .map(|i| {
                let t = &plan.functions[i].target;
                (i, t.function.clone(), t.alias.clone())
            })
            .collect()
    };
    let metrics = if state.rolling_back {
        Vec::new()
    } else {
        (0..plan.functions.len())
            .filter_map(|i| {
                let f = &plan.functions[i];
                f.target.analysis?;
                let since = match &state.slots[i] {
                    Slot::Stepping { since, .. } => *since,
                    Slot::Deployment(_) => *state.shift_since.get(&i)?,
                    _ => return None,
                };
                Some(MetricWindow {
                    index: i,
                    function: f.target.function.clone(),
                    alias: f.target.alias.clone(),
                    canary_version: f.target_version.clone(),
                    baseline_version: f.current_version.clone()?,
                    since,
                })
            })
            .collect()
    };
    CanaryAction::Observe {
        read_aliases,
        metrics,
        until: now,
        application: plan.release.application.clone(),
        deployments: state.deployment_ids(),
        alarms: if watch_alarms {
            plan.alarm_names()
        } else {
            Vec::new()
        },
        // A `creating` slot (CreateDeployment sent, its answer never
        // recorded) is always looked for: the adapter lists the groups only
        // when discovering.
        discover: !state.discovered || state.slots.contains(&Slot::Creating),
        find_in_groups: state
            .slots
            .iter()
            .enumerate()
            .filter(|(_, s)| **s == Slot::Creating)
            .map(|(i, _)| (i, plan.functions[i].target.group()))
            .collect(),
    }
}

/// The shift's next step. Call with no observations at the start of every
/// job (and after a hand-back); then with what the adapters observed.
pub fn decide_shift(
    plan: &ShiftPlan,
    state: &mut ShiftState,
    observed: Vec<CanaryObservation>,
    now: SystemTime,
) -> Decision<CanaryAction> {
    let fp = fingerprint(plan);
    if state.fingerprint.is_empty() && state.slots.is_empty() {
        state.fingerprint = fp;
        state.slots = plan
            .functions
            .iter()
            .map(|f| {
                if f.code_only {
                    Slot::CodeOnly
                } else if f.current_version.as_deref() == Some(f.target_version.as_str()) {
                    Slot::Unchanged
                } else if f.serving_target {
                    Slot::Shifted
                } else {
                    Slot::Waiting
                }
            })
            .collect();
    } else if state.fingerprint != fp || state.slots.len() != plan.functions.len() {
        return Decision::Fail {
            kind: FailureKind::JobFailed,
            message: format!(
                "release {}: the list of functions to shift changed between continuations ({} functions now, {} before); the release engine must pass the same plan every time — retry the stage",
                plan.release.release_id,
                plan.functions.len(),
                state.slots.len()
            ),
            external_execution_id: None,
        };
    }
    let paced_wake = observed.is_empty()
        && state.discovered
        && state.pace_due.is_some_and(|p| p <= now)
        && state
            .observed_at
            .is_some_and(|t| now < t + plan.release.observe_every)
        && state.seen.as_ref().is_some_and(|s| s.ticked)
        && !state.look_needed;
    let mut seen = if paced_wake {
        // The pace woke the job between two looks: start (or stop) the
        // next ones from the last look, without looking again.
        let mut seen = state.seen.take().unwrap_or_default();
        seen.creates_sent = false;
        seen
    } else if observed.is_empty() {
        state.look_needed = false;
        state.seen = Some(Seen::default());
        return Decision::Perform(vec![observe(plan, state, now)]);
    } else {
        let looked = observed.iter().any(|o| {
            matches!(
                o,
                CanaryObservation::Deployments(_) | CanaryObservation::Alarms { .. }
            )
        });
        if looked {
            state.observed_at = Some(now);
        }
        let mut seen = state.seen.take().unwrap_or_default();
        merge(plan, state, &mut seen, observed);
        seen
    };
    state.pace_due = None;
    let d = step(plan, state, &mut seen, now);
    state.due = if state.rolling_back || !seen.ticked {
        None
    } else {
        due(plan, state, &seen)
    };
    if matches!(d, Decision::Perform(_)) || state.pace_due.is_some() {
        state.seen = Some(seen);
    }
    d
}

/// How many in-flight deployments step in each phase slot of the pace:
/// each by the start time a look reported, else by when this job sent its
/// CreateDeployment (a deployment whose start is not known yet — a resumed
/// job's `creating` slot — counts only against the in-flight cap).
fn phase_occupancy(plan: &ShiftPlan, state: &ShiftState, seen: &Seen) -> HashMap<u64, usize> {
    let pace = &plan.release.pace;
    let mut occupancy = HashMap::new();
    for (i, slot) in state.slots.iter().enumerate() {
        let started = match slot {
            Slot::Deployment(id) => match seen.deployments.get(id) {
                Some(d) if !d.status.is_active() => continue,
                Some(d) => d.start_time.or(d.create_time),
                None => None,
            },
            Slot::Creating => None,
            Slot::Stepping { since, .. } => Some(*since),
            _ => continue,
        }
        .or_else(|| state.started_at.get(&i).copied());
        if let Some(at) = started
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .and_then(|t| pace.phase_slot(t))
        {
            *occupancy.entry(at).or_insert(0) += 1;
        }
    }
    occupancy
}

fn merge(
    plan: &ShiftPlan,
    state: &mut ShiftState,
    seen: &mut Seen,
    observed: Vec<CanaryObservation>,
) {
    let mut discovered = false;
    for o in observed {
        match o {
            CanaryObservation::Deployments(v) => {
                seen.ticked = true;
                for d in v {
                    seen.deployments.insert(d.id.clone(), d);
                }
                for (i, slot) in state.slots.iter().enumerate() {
                    if let Slot::Deployment(id) = slot
                        && let Some(t) = seen
                            .deployments
                            .get(id)
                            .and_then(|d| d.start_time.or(d.create_time))
                    {
                        state.shift_since.insert(i, t);
                    }
                }
            }
            CanaryObservation::Alarms { found, .. } => {
                seen.ticked = true;
                seen.alarms = found;
            }
            CanaryObservation::Discovered => discovered = true,
            CanaryObservation::DeploymentCreated {
                index,
                deployment_id,
            } => {
                if let Some(s) = state.slots.get_mut(index) {
                    *s = Slot::Deployment(deployment_id.clone());
                    seen.created_now.insert(deployment_id);
                }
            }
            CanaryObservation::CallFailed {
                what,
                index,
                code,
                message,
            } => {
                let f = index
                    .and_then(|i| plan.functions.get(i))
                    .map(|f| f.target.function.as_str())
                    .unwrap_or("?");
                if what.starts_with("CreateDeployment") && code == super::preflight::TRANSIENT {
                    // It may or may not exist: re-find it by listing the group.
                    state.discovered = false;
                } else if what.starts_with("CreateDeployment") || what.starts_with("CreateAlias") {
                    if let Some(i) = index
                        && what.starts_with("CreateDeployment")
                        && state.slots.get(i) == Some(&Slot::Creating)
                    {
                        state.slots[i] = Slot::Waiting;
                    }
                    set_cause(state, format!("{f}: {what} failed: {code}: {message}"));
                } else if what.starts_with("StepAlias") {
                    // Read the alias again at the next look, then step again
                    // (or find it changed outside the release).
                    if let Some(i) = index {
                        state.alias_known.remove(&i);
                    }
                    seen.alias_update_failures
                        .push(format!("{f}: UpdateAlias (step) failed: {code}: {message}"));
                } else if what.starts_with("UpdateAlias") {
                    seen.alias_update_failures
                        .push(format!("{f}: UpdateAlias failed: {code}: {message}"));
                } else if what.starts_with("RestoreCode") {
                    // Retried next tick (a new Code.Location, a fresh read).
                    seen.alias_update_failures.push(format!(
                        "{f}: putting its previous code back failed: {message}"
                    ));
                } else if what.starts_with("StopDeployment") {
                    // The next tick observes and stops again; meanwhile the
                    // rollback says why it is not done.
                    seen.stop_failures
                        .push(format!("{what} failed: {code}: {message}"));
                }
            }
            CanaryObservation::Alias {
                index: Some(i),
                alias,
                ..
            } => {
                if let Some(a) = &alias {
                    state.alias_known.insert(i, a.clone());
                }
                seen.aliases.insert(i, alias);
            }
            CanaryObservation::AliasUpdated { index, alias } => {
                state.alias_known.insert(index, alias.clone());
                seen.aliases.insert(index, Some(alias));
            }
            CanaryObservation::Metrics(counts) => {
                for c in counts {
                    state.metrics.insert(c.index, (c.canary, c.baseline));
                }
            }
            CanaryObservation::AliasCreated { index, .. } => {
                if let Some(s) = state.slots.get_mut(index) {
                    *s = Slot::AliasCreated;
                }
            }
            CanaryObservation::CodeRestored { index, version } => {
                seen.code_restored.insert(index, version);
            }
            CanaryObservation::CodeNotRestorable { index, why } => {
                seen.code_not_restorable.insert(index, why);
            }
            _ => {}
        }
    }
    if discovered {
        let rel = &plan.release;
        for (i, f) in plan.functions.iter().enumerate() {
            let group = f.target.group();
            let mut ours: Vec<&DeploymentView> = seen
                .deployments
                .values()
                .filter(|d| {
                    d.application == rel.application
                        && d.group == group
                        && !d.is_rollback
                        && is_ours(&d.description, &rel.release_id)
                })
                .collect();
            ours.sort_by_key(|d| (d.create_time, d.id.clone()));
            match state.slots[i] {
                Slot::Waiting => {
                    if let Some(d) = ours.iter().rev().find(|d| d.status.is_active()) {
                        state.slots[i] = Slot::Deployment(d.id.clone());
                    }
                }
                Slot::Creating => {
                    state.slots[i] = match ours.last() {
                        Some(d) => Slot::Deployment(d.id.clone()),
                        None => Slot::Waiting,
                    };
                }
                _ => {}
            }
        }
        state.discovered = true;
    }
}

/// When the deployments' schedules end (see [`ShiftDue`]).
fn due(plan: &ShiftPlan, state: &ShiftState, seen: &Seen) -> Option<ShiftDue> {
    let mut next: Option<SystemTime> = None;
    let mut last: Option<SystemTime> = None;
    let mut complete = true;
    for (i, slot) in state.slots.iter().enumerate() {
        let f = &plan.functions[i];
        match slot {
            Slot::AliasCreated | Slot::Unchanged | Slot::Shifted | Slot::CodeOnly => {}
            Slot::Waiting if f.current_version.is_none() => {}
            Slot::Waiting | Slot::Creating => complete = false,
            Slot::Stepping { since, .. } => {
                let end = *since + f.target.config.total_duration() + f.target.config.bake();
                next = Some(next.map_or(end, |n| n.min(end)));
                last = Some(last.map_or(end, |l| l.max(end)));
            }
            Slot::Deployment(id) => {
                let Some(d) = seen.deployments.get(id) else {
                    complete = false;
                    continue;
                };
                if !d.status.is_active() {
                    continue;
                }
                let started = match d.status {
                    DeploymentStatus::InProgress
                    | DeploymentStatus::Baking
                    | DeploymentStatus::Ready => d.start_time.or(d.create_time),
                    _ => None,
                };
                let Some(started) = started else {
                    complete = false;
                    continue;
                };
                let config = if plan.release.break_glass.is_some() {
                    BREAK_GLASS_CONFIG
                } else {
                    f.target.config
                };
                let end = started + config.total_duration();
                next = Some(next.map_or(end, |n| n.min(end)));
                last = Some(last.map_or(end, |l| l.max(end)));
            }
        }
    }
    Some(ShiftDue {
        next: next?,
        last: last.filter(|_| complete),
    })
}

/// The cause is recorded with at most this many bytes.
pub const CAUSE_MAX: usize = 400;

/// Batches of paced starts one record write announces (the record says
/// `creating` for them before the first is sent): with Linear or Canary
/// configs at the default pace, 20 starts over 10 s per write instead of
/// one write per batch.
pub const RESERVE_BATCHES: usize = 10;

fn set_cause(state: &mut ShiftState, cause: String) {
    if state.cause.is_none() {
        state.cause = Some(clip(&cause, CAUSE_MAX));
    }
    state.rolling_back = true;
}

/// Function `i`'s analysis verdict on its last counts (`None`: it is not
/// analysed, no counts were read yet, or it has no previous version).
fn analysis_verdict(plan: &ShiftPlan, state: &ShiftState, i: usize) -> Option<analysis::Verdict> {
    let f = plan.functions.get(i)?;
    let (canary, baseline) = state.metrics.get(&i)?;
    Some(analysis::verdict(
        &f.target.function,
        &f.target_version,
        *canary,
        f.current_version.as_deref()?,
        *baseline,
        &f.target.analysis?,
    ))
}

/// What went wrong, if anything: a failed/stopped deployment, or an alarm.
fn detect_cause(plan: &ShiftPlan, state: &ShiftState, seen: &Seen) -> Option<String> {
    for (i, s) in state.slots.iter().enumerate() {
        let f = &plan.functions[i];
        // A canary worse than its baseline (see `analysis`).
        if matches!(s, Slot::Stepping { .. } | Slot::Deployment(_))
            && let Some(v) = analysis_verdict(plan, state, i)
            && v.is_fail()
        {
            return Some(format!("canary analysis: {}", v.message()));
        }
        // A worker-driven alias someone else moved.
        if worker_driven(plan, i)
            && matches!(s, Slot::Waiting | Slot::Stepping { .. })
            && let (Some(a), Some(prev)) = (state.alias_known.get(&i), f.current_version.as_deref())
            && !alias_is_ours(a, prev, &f.target_version)
        {
            return Some(format!(
                "{}: alias {} was changed outside this release (it serves version {}{}); the worker shifts it only from version {prev}",
                f.target.function,
                f.target.alias,
                a.version,
                a.routing
                    .as_ref()
                    .map(|(v, w)| format!(" + {v} at {:.0} %", w * 100.0))
                    .unwrap_or_default()
            ));
        }
    }
    for (i, s) in state.slots.iter().enumerate() {
        let Slot::Deployment(id) = s else { continue };
        let f = &plan.functions[i].target.function;
        match seen.deployments.get(id) {
            Some(d)
                if matches!(
                    d.status,
                    DeploymentStatus::Failed | DeploymentStatus::Stopped
                ) =>
            {
                return Some(format!(
                    "{f}: deployment {id} {:?}{}",
                    d.status,
                    d.error
                        .as_deref()
                        .map(|e| format!(" ({e})"))
                        .unwrap_or_default()
                ));
            }
            None if seen.ticked && !seen.created_now.contains(id) => {
                return Some(format!(
                    "{f}: deployment {id} no longer exists in CodeDeploy"
                ));
            }
            _ => {}
        }
    }
    if plan.release.break_glass.is_none() {
        for a in &seen.alarms {
            if a.state == AlarmState::Alarm {
                let guarded: Vec<&str> = plan
                    .functions
                    .iter()
                    .filter(|f| f.target.alarms.contains(&a.name))
                    .map(|f| f.target.function.as_str())
                    .collect();
                let mut who = guarded[..guarded.len().min(5)].join(", ");
                if guarded.len() > 5 {
                    who.push_str(&format!(" and {} more", guarded.len() - 5));
                }
                return Some(format!(
                    "alarm {} (guarding {who}) went into ALARM: {}",
                    a.name,
                    clip(&a.reason, 200)
                ));
            }
        }
    }
    None
}

fn step(
    plan: &ShiftPlan,
    state: &mut ShiftState,
    seen: &mut Seen,
    now: SystemTime,
) -> Decision<CanaryAction> {
    if !state.discovered {
        return Decision::Perform(vec![observe(plan, state, now)]);
    }
    if !state.rolling_back
        && let Some(cause) = detect_cause(plan, state, seen)
    {
        set_cause(state, cause);
    }
    if state.rolling_back {
        return rollback(plan, state, seen, now);
    }
    let rel = &plan.release;
    let in_flight = state
        .slots
        .iter()
        .filter(|s| match s {
            Slot::Deployment(id) => seen
                .deployments
                .get(id)
                .is_none_or(|d| d.status.is_active()),
            Slot::Creating | Slot::Stepping { .. } => true,
            _ => false,
        })
        .count();
    // Steps due first: they are on a schedule.
    if let Some(d) = advance_steps(plan, state, seen, now) {
        return d;
    }
    let waiting: Vec<usize> = (0..plan.functions.len())
        .filter(|&i| state.slots[i] == Slot::Waiting && plan.functions[i].current_version.is_some())
        // A worker-driven start needs its alias's RevisionId: read at the
        // job's first look.
        .filter(|&i| !worker_driven(plan, i) || state.alias_known.contains_key(&i))
        .collect();
    let cap = rel.pace.in_flight_cap(rel.max_parallel);
    let mut paced_until = state.next_start.filter(|t| now < *t);
    let may_start = !waiting.is_empty() && in_flight < cap;
    // Room in the phase slot of `now` (see `Pace::phase_slot`): a new
    // deployment steps where it starts for its whole life, so it starts
    // only where fewer than a batch of the running ones step.
    let mut room = rel.pace.batch;
    if may_start && paced_until.is_none() {
        let occupancy = phase_occupancy(plan, state, seen);
        let since = |t: SystemTime| t.duration_since(UNIX_EPOCH).unwrap_or_default();
        if let Some(here) = rel.pace.phase_slot(since(now)) {
            let taken = |slot: u64| occupancy.get(&slot).copied().unwrap_or(0);
            room = rel.pace.batch.saturating_sub(taken(here));
            if room == 0 {
                // Every slot full: a look that finds one freed starts again.
                paced_until = rel
                    .pace
                    .next_free_phase(since(now), taken)
                    .map(|t| UNIX_EPOCH + t)
                    .filter(|t| now < *t);
                state.next_start = paced_until;
                if paced_until.is_none() {
                    seen.creates_sent = true;
                }
            }
        }
    }
    if may_start && let Some(t) = paced_until {
        state.pace_due = Some(state.pace_due.map_or(t, |p| p.min(t)));
    }
    if may_start && paced_until.is_none() && room > 0 && !seen.creates_sent {
        seen.creates_sent = true;
        let k = (cap - in_flight)
            .min(waiting.len())
            .min(rel.pace.batch)
            .min(room);
        // The next start keeps its distance from this batch's.
        let next = now + rel.pace.start_gap * k as u32;
        state.next_start = Some(next);
        if k < waiting.len() && in_flight + k < cap && rel.pace.is_paced() {
            state.pace_due = Some(state.pace_due.map_or(next, |p| p.min(next)));
        }
        // Announce the next batches' starts in the same record write, unless
        // this batch's were announced already.
        if rel.pace.is_paced() && !state.reserved.contains(&waiting[0]) {
            let ahead = (cap - in_flight)
                .min(waiting.len())
                .min(rel.pace.batch.saturating_mul(RESERVE_BATCHES));
            // Not a worker-driven one: its record says where its steps are.
            state.reserved.extend(
                waiting[..ahead]
                    .iter()
                    .copied()
                    .filter(|&i| !worker_driven(plan, i)),
            );
        }
        let description = deployment_description(rel);
        let mut actions = Vec::new();
        for &i in &waiting[..k] {
            let f = &plan.functions[i];
            state.reserved.remove(&i);
            state.started_at.insert(i, now);
            if worker_driven(plan, i) {
                state.slots[i] = Slot::Stepping {
                    step: 0,
                    since: now,
                };
                state.shift_since.insert(i, now);
                actions.push(step_alias(plan, state, i, 0));
                continue;
            }
            state.slots[i] = Slot::Creating;
            let config = if rel.break_glass.is_some() {
                BREAK_GLASS_CONFIG
            } else {
                f.target.config
            };
            actions.push(CanaryAction::CreateDeployment {
                index: i,
                application: rel.application.clone(),
                group: f.target.group(),
                config_name: config.codedeploy_name(),
                appspec: appspec(
                    &f.target,
                    f.current_version.as_deref().unwrap_or_default(),
                    &f.target_version,
                ),
                description: description.clone(),
                override_alarms: rel.break_glass.is_some(),
            });
        }
        return Decision::Perform(actions);
    }
    let deployed = state.slots.iter().enumerate().all(|(i, s)| match s {
        Slot::Deployment(id) => seen
            .deployments
            .get(id)
            .is_some_and(|d| d.status == DeploymentStatus::Succeeded),
        Slot::Waiting => plan.functions[i].current_version.is_none(),
        Slot::Creating | Slot::Stepping { .. } => false,
        Slot::AliasCreated | Slot::Unchanged | Slot::Shifted | Slot::CodeOnly => true,
    });
    if deployed {
        let firsts: Vec<usize> = (0..plan.functions.len())
            .filter(|&i| state.slots[i] == Slot::Waiting)
            .collect();
        if firsts.is_empty() {
            let mut p = progress(plan, state, Some(seen), now);
            p.percent_complete = Some(100);
            return Decision::Succeed {
                progress: p,
                output_variables: plan.output_variables(),
            };
        }
        if !seen.alias_creates_sent {
            seen.alias_creates_sent = true;
            return Decision::Perform(
                firsts
                    .iter()
                    .map(|&i| {
                        let f = &plan.functions[i];
                        CanaryAction::CreateAlias {
                            index: i,
                            function: f.target.function.clone(),
                            alias: f.target.alias.clone(),
                            version: f.target_version.clone(),
                        }
                    })
                    .collect(),
            );
        }
    }
    Decision::Continue(progress(plan, state, Some(seen), now))
}

/// How one function came out of a rollback.
fn rollback(
    plan: &ShiftPlan,
    state: &mut ShiftState,
    seen: &mut Seen,
    now: SystemTime,
) -> Decision<CanaryAction> {
    let mut u = Undo {
        // The pace spaces the rollbacks: each is a new deployment whose
        // Lambda calls come all at once.
        stops_left: if state.next_stop.is_some_and(|t| now < t) {
            0
        } else {
            plan.release.pace.stop_batch
        },
        ..Undo::default()
    };
    let mut not_started: Vec<&str> = Vec::new();
    for (i, slot) in state.slots.iter().enumerate() {
        let f = &plan.functions[i];
        let name = f.target.function.as_str();
        let id = match slot {
            Slot::Deployment(id) => id,
            Slot::Shifted => {
                // No deployment of this attempt: the alias is the record.
                u.restore_alias(
                    (i, f),
                    seen,
                    (
                        f.current_version.as_deref().unwrap_or_default(),
                        &f.target_version,
                    ),
                    "shifted by an earlier attempt of this release",
                    true,
                );
                continue;
            }
            Slot::AliasCreated => {
                u.outcomes.push(format!(
                    "{name}: first release, alias {} left on version {} (it had no previous version)",
                    f.target.alias, f.target_version
                ));
                continue;
            }
            Slot::Stepping { step, .. } => {
                let label = format!(
                    "the worker's schedule at {:.0} %",
                    step_weight(&f.target.config, *step as usize) * 100.0
                );
                u.restore_alias(
                    (i, f),
                    seen,
                    (
                        f.current_version.as_deref().unwrap_or_default(),
                        &f.target_version,
                    ),
                    &label,
                    false,
                );
                continue;
            }
            Slot::Waiting | Slot::Creating => {
                not_started.push(name);
                continue;
            }
            Slot::Unchanged => continue,
            Slot::CodeOnly => {
                match f.current_version.as_deref() {
                    None => u.outcomes.push(format!(
                        "{name}: code only, no previous version; its code left as is"
                    )),
                    Some(_) if seen.code_not_restorable.contains_key(&i) => {
                        u.outcomes.push(format!(
                            "{name}: code only, NOT put back: {}",
                            seen.code_not_restorable[&i]
                        ))
                    }
                    Some(prev) if seen.code_restored.contains_key(&i) => {
                        let holder = &seen.code_restored[&i];
                        u.outcomes.push(if holder == prev {
                            format!("{name}: code only, back on the code of version {prev}")
                        } else {
                            format!(
                                "{name}: code only, back on the code of version {prev} (published again as version {holder})"
                            )
                        })
                    }
                    Some(prev) => {
                        if seen.code_restores_sent.insert(i) {
                            u.actions.push(CanaryAction::RestoreCode {
                                index: i,
                                function: name.to_string(),
                                version: prev.to_string(),
                                description: super::restore_description(
                                    &plan.release.release_id,
                                    prev,
                                ),
                            });
                        }
                        u.unsettled = true;
                    }
                }
                continue;
            }
        };
        let Some(d) = seen.deployments.get(id) else {
            if seen.created_now.contains(id) {
                // Created in this very job: stop it.
                u.stop(seen, id);
            } else {
                u.outcomes.push(format!(
                    "{name}: deployment {id} not found; alias not checked"
                ));
            }
            continue;
        };
        let prev = d
            .current_version
            .clone()
            .or_else(|| f.current_version.clone())
            .unwrap_or_default();
        let target = d
            .target_version
            .clone()
            .unwrap_or_else(|| f.target_version.clone());
        if d.status.is_active() {
            u.stop(seen, id);
            continue;
        }
        let by_codedeploy = match (&d.status, &d.rollback_deployment_id) {
            (DeploymentStatus::Succeeded, _) | (_, None) => None,
            (_, Some(rb)) => Some((rb, seen.deployments.get(rb))),
        };
        match by_codedeploy {
            Some((_, None)) => {
                u.unsettled = true;
                continue;
            }
            Some((_, Some(r))) if r.status.is_active() => {
                u.unsettled = true;
                continue;
            }
            Some((rb, Some(r))) if r.status == DeploymentStatus::Succeeded => {
                u.outcomes.push(format!(
                    "{name}: back on version {prev} (deployment {id} {:?}, CodeDeploy rollback {rb})",
                    d.status
                ));
                continue;
            }
            _ => {}
        }
        // Check (and if needed restore) the alias ourselves.
        let label = format!("deployment {id} {:?}", d.status);
        u.restore_alias(
            (i, f),
            seen,
            (&prev, &target),
            &label,
            d.status == DeploymentStatus::Succeeded,
        );
    }
    if u.stops_sent > 0 {
        state.next_stop = Some(now + plan.release.pace.stop_gap * u.stops_sent as u32);
    }
    if u.stops_held {
        state.pace_due = state.next_stop.or(Some(now));
    }
    if !u.reads.is_empty() {
        let aliases = std::mem::take(&mut u.reads);
        u.actions.push(CanaryAction::ReadAliases { aliases });
    }
    if !u.actions.is_empty() {
        return Decision::Perform(u.actions);
    }
    let cause = state
        .cause
        .clone()
        .unwrap_or_else(|| "unknown cause".to_string());
    let failures: Vec<&String> = seen
        .alias_update_failures
        .iter()
        .chain(&seen.stop_failures)
        .collect();
    state.stalled = (!failures.is_empty()).then(|| {
        clip(
            &failures
                .iter()
                .map(|f| f.as_str())
                .collect::<Vec<_>>()
                .join("; "),
            CAUSE_MAX,
        )
    });
    if u.unsettled {
        let mut p = progress(plan, state, Some(seen), now);
        let stalled = state
            .stalled
            .as_deref()
            .map(|s| format!(" The rollback is STALLED, the worker keeps trying: {s}"))
            .unwrap_or_default();
        p.summary = clip(
            &format!(
                "Release {} is ROLLING BACK every function to its previous version: {}.{stalled}",
                plan.release.release_id,
                cause.trim_end().trim_end_matches('.')
            ),
            SUMMARY_MAX,
        );
        return Decision::Continue(p);
    }
    // The cause may already end with a full stop (it quotes CloudWatch's
    // state reason); never print two.
    let cause_text = cause.trim_end().trim_end_matches('.');
    let mut msg = format!(
        "Release {} rolled back: {cause_text}.\nRolled back ({}):",
        plan.release.release_id,
        u.outcomes.len()
    );
    for o in &u.outcomes {
        msg.push_str("\n- ");
        msg.push_str(o);
    }
    if !not_started.is_empty() {
        msg.push_str(&format!("\nNot started: {}", not_started.join(", ")));
    }
    for e in &seen.alias_update_failures {
        msg.push_str(&format!("\nWarning: {e}"));
    }
    Decision::Fail {
        kind: FailureKind::JobFailed,
        message: clip(&msg, MESSAGE_MAX),
        external_execution_id: first_deployment(state),
    }
}

/// What one pass of a rollback collects.
#[derive(Default)]
struct Undo {
    actions: Vec<CanaryAction>,
    /// Aliases to read: (slot, function, alias).
    reads: Vec<(usize, String, String)>,
    outcomes: Vec<String>,
    /// Something is still moving (or being read): look again.
    unsettled: bool,
    /// Rollbacks (StopDeployment) the pace still allows in this pass.
    stops_left: usize,
    /// Rollbacks asked for in this pass.
    stops_sent: usize,
    /// A rollback the pace held back to a later pass.
    stops_held: bool,
}

impl Undo {
    /// Stops deployment `id` with its rollback, unless this job already
    /// did or the pace holds it back to a later pass.
    fn stop(&mut self, seen: &mut Seen, id: &str) {
        self.unsettled = true;
        if seen.stops_sent.contains(id) {
            return;
        }
        if self.stops_left == 0 {
            self.stops_held = true;
            return;
        }
        self.stops_left -= 1;
        self.stops_sent += 1;
        seen.stops_sent.insert(id.to_string());
        self.actions.push(CanaryAction::StopDeployment {
            deployment_id: id.to_string(),
            rollback: true,
        });
    }

    /// Checks function `i`'s alias (read first if this job has not) and puts
    /// it back on `prev` when it serves `target` or routes to it; `label`
    /// says where the function stood (`reset`: it had reached `target`).
    fn restore_alias(
        &mut self,
        (i, f): (usize, &FunctionShift),
        seen: &mut Seen,
        (prev, target): (&str, &str),
        label: &str,
        reset: bool,
    ) {
        let name = f.target.function.as_str();
        match seen.aliases.get(&i) {
            None => {
                if seen.alias_reads_sent.insert(i) {
                    self.reads
                        .push((i, name.to_string(), f.target.alias.clone()));
                }
                self.unsettled = true;
            }
            Some(None) => self.outcomes.push(format!(
                "{name}: alias {} not found; nothing restored",
                f.target.alias
            )),
            Some(Some(a)) if a.version == prev && a.routing.is_none() => {
                let how = if reset { "alias reset; " } else { "" };
                self.outcomes
                    .push(format!("{name}: back on version {prev} ({how}{label})"));
            }
            Some(Some(a))
                if a.version == target
                    || (a.version == prev
                        && a.routing.as_ref().is_some_and(|(v, _)| v == target)) =>
            {
                if seen.alias_updates_sent.insert(i) {
                    self.actions.push(CanaryAction::UpdateAlias {
                        index: i,
                        function: name.to_string(),
                        alias: f.target.alias.clone(),
                        version: prev.to_string(),
                        revision_id: a.revision_id.clone(),
                    });
                }
                self.unsettled = true;
            }
            Some(Some(a)) => self.outcomes.push(format!(
                "{name}: alias {} serves version {}{} (changed outside this release); left as is",
                f.target.alias,
                a.version,
                a.routing
                    .as_ref()
                    .map(|(v, w)| format!(" + {v} at {:.0} %", w * 100.0))
                    .unwrap_or_default()
            )),
        }
    }
}

/// Whether function `i` follows a schedule the worker drives (break-glass
/// sends every function AllAtOnce through CodeDeploy instead).
fn worker_driven(plan: &ShiftPlan, i: usize) -> bool {
    plan.release.break_glass.is_none() && plan.functions[i].target.config.is_worker_driven()
}

/// The new version's weight at step `k` of `config` (1.0 past the last).
fn step_weight(config: &crate::manifest::DeploymentConfig, k: usize) -> f64 {
    let steps = config.steps();
    steps.get(k).or(steps.last()).map_or(1.0, |s| s.1)
}

/// An alias a worker-driven shift may move: on the previous version with
/// no routing or routing only to the new one, or on the new one with no
/// routing (the schedule at 100 %).
fn alias_is_ours(a: &AliasView, prev: &str, target: &str) -> bool {
    (a.version == prev && a.routing.as_ref().is_none_or(|(v, _)| v == target))
        || (a.version == target && a.routing.is_none())
}

/// Whether `a` is exactly what step `k` of `config` puts on the alias.
fn alias_at_step(
    a: &AliasView,
    config: &crate::manifest::DeploymentConfig,
    k: usize,
    prev: &str,
    target: &str,
) -> bool {
    let w = step_weight(config, k);
    if w >= 1.0 {
        a.version == target && a.routing.is_none()
    } else {
        a.version == prev
            && a.routing
                .as_ref()
                .is_some_and(|(v, x)| v == target && (x - w).abs() < 1e-9)
    }
}

/// The UpdateAlias of step `k` of function `i` (its RevisionId as this job
/// last saw it).
fn step_alias(plan: &ShiftPlan, state: &ShiftState, i: usize, k: usize) -> CanaryAction {
    let f = &plan.functions[i];
    CanaryAction::StepAlias {
        index: i,
        function: f.target.function.clone(),
        alias: f.target.alias.clone(),
        previous: f.current_version.clone().unwrap_or_default(),
        target: f.target_version.clone(),
        weight: step_weight(&f.target.config, k),
        revision_id: state
            .alias_known
            .get(&i)
            .and_then(|a| a.revision_id.clone()),
    }
}

/// The worker-driven steps that are due: each function's alias is put on
/// the step its schedule says (a late job jumps to the current one), once
/// its canary analysis, if any, passed on enough data; a function whose
/// bake is over is released. Sets the pace's wake-up to the next due step.
/// `None` when nothing is to be sent now.
fn advance_steps(
    plan: &ShiftPlan,
    state: &mut ShiftState,
    seen: &mut Seen,
    now: SystemTime,
) -> Option<Decision<CanaryAction>> {
    let mut actions = Vec::new();
    let mut next_due: Option<SystemTime> = None;
    let mut wake = |t: SystemTime| next_due = Some(next_due.map_or(t, |n: SystemTime| n.min(t)));
    for i in 0..plan.functions.len() {
        let Slot::Stepping { step, since } = state.slots[i] else {
            continue;
        };
        let f = &plan.functions[i];
        let config = f.target.config;
        let (Some(prev), Some(interval)) = (
            f.current_version.as_deref(),
            crate::manifest::DeploymentConfig::steps(&config)
                .get(1)
                .map(|s| s.0),
        ) else {
            continue;
        };
        let last = config.steps().len() - 1;
        let k = step as usize;
        // The alias as this job knows it: not yet at step k (an earlier job
        // recorded it but did not get to send it, or the call failed):
        // send it again.
        if let Some(a) = state.alias_known.get(&i)
            && !alias_at_step(a, &config, k, prev, &f.target_version)
        {
            if alias_is_ours(a, prev, &f.target_version) {
                actions.push(step_alias(plan, state, i, k));
            }
            continue;
        }
        if !state.alias_known.contains_key(&i) {
            // Read at the next look.
            continue;
        }
        if k < last {
            let due = since + interval * (k as u32 + 1);
            if now < due {
                wake(due);
                continue;
            }
            if f.target.analysis.is_some() && state.observed_at.is_none_or(|t| t < due) {
                // Judge the step on counts read at or after its due time.
                state.look_needed = true;
                wake(now);
                continue;
            }
            if f.target.analysis.is_some() {
                match analysis_verdict(plan, state, i) {
                    Some(analysis::Verdict::Pass { .. }) => {}
                    Some(analysis::Verdict::Fail { .. }) => continue, // detect_cause rolls back
                    waiting => {
                        // The step waits for data, at most one interval.
                        let bound = due + interval;
                        if now >= bound {
                            let why = waiting.map_or_else(
                                || "no metrics were read".to_string(),
                                |v| v.message().to_string(),
                            );
                            set_cause(
                                state,
                                format!(
                                    "canary analysis: {}: step {} of {} waited {} past its due time for data and had too little: {why}",
                                    f.target.function,
                                    k + 2,
                                    last + 1,
                                    human(interval)
                                ),
                            );
                            return Some(rollback(plan, state, seen, now));
                        }
                        wake(
                            bound.min(now + plan.release.observe_every.max(Duration::from_secs(1))),
                        );
                        continue;
                    }
                }
            }
            let elapsed = now.duration_since(since).unwrap_or_default();
            let target = ((elapsed.as_nanos() / interval.as_nanos().max(1)) as usize).min(last);
            state.slots[i] = Slot::Stepping {
                step: target as u32,
                since,
            };
            actions.push(step_alias(plan, state, i, target));
            if target < last {
                wake(since + interval * (target as u32 + 1));
            } else {
                wake(since + interval * last as u32 + config.bake());
            }
        } else {
            let end = since + interval * last as u32 + config.bake();
            if now < end {
                wake(end);
                continue;
            }
            if f.target.analysis.is_some() {
                let verdict = analysis_verdict(plan, state, i);
                if !matches!(verdict, Some(analysis::Verdict::Pass { .. })) {
                    // Detect_cause rolls back a failing one; otherwise the
                    // release waits for a verdict, at most one interval.
                    if now >= end + interval {
                        let why = verdict.map_or_else(
                            || "no metrics were read".to_string(),
                            |v| v.message().to_string(),
                        );
                        set_cause(
                            state,
                            format!(
                                "canary analysis: {}: its bake ended {} ago without a verdict: {why}",
                                f.target.function,
                                human(interval)
                            ),
                        );
                        return Some(rollback(plan, state, seen, now));
                    }
                    wake(now + plan.release.observe_every.max(Duration::from_secs(1)));
                    continue;
                }
            }
            state.slots[i] = Slot::Shifted;
        }
    }
    if let Some(t) = next_due {
        state.pace_due = Some(state.pace_due.map_or(t, |p| p.min(t)));
    }
    (!actions.is_empty()).then_some(Decision::Perform(actions))
}

fn first_deployment(state: &ShiftState) -> Option<String> {
    state.slots.iter().find_map(|s| match s {
        Slot::Deployment(id) => Some(id.clone()),
        _ => None,
    })
}

/// Weight of the new version `elapsed` after shifting began, by schedule.
pub fn scheduled_weight(config: &crate::manifest::DeploymentConfig, elapsed: Duration) -> f64 {
    config
        .steps()
        .iter()
        .rev()
        .find(|(at, _)| *at <= elapsed)
        .map(|(_, w)| *w)
        .unwrap_or(0.0)
}

/// The progress of the release as of the last observation (`state`'s
/// in-job observations; without them, only what the slots say).
pub fn progress_of(plan: &ShiftPlan, state: &ShiftState, now: SystemTime) -> Progress {
    progress(plan, state, state.seen.as_ref(), now)
}

fn progress(
    plan: &ShiftPlan,
    state: &ShiftState,
    seen: Option<&Seen>,
    now: SystemTime,
) -> Progress {
    let rel = &plan.release;
    let config_of = |i: usize| {
        if rel.break_glass.is_some() {
            BREAK_GLASS_CONFIG
        } else {
            plan.functions[i].target.config
        }
    };
    let (mut done, mut shifting, mut waiting) = (0usize, 0usize, 0usize);
    let mut weights = 0.0;
    let mut fraction = 0.0;
    let mut counted = 0usize;
    let mut remaining: Vec<Duration> = Vec::new();
    let mut queue: Vec<Duration> = Vec::new();
    let mut details: Vec<String> = Vec::new();
    let mut firsts: Vec<&str> = Vec::new();
    for (i, s) in state.slots.iter().enumerate() {
        let f = &plan.functions[i];
        let name = f.target.function.as_str();
        let config = config_of(i);
        let total = config.total_duration();
        match s {
            Slot::Unchanged => continue,
            Slot::CodeOnly => {
                done += 1;
                weights += 1.0;
                fraction += 1.0;
                details.push(format!("{name} code only ✓"));
            }
            Slot::Shifted => {
                done += 1;
                weights += 1.0;
                fraction += 1.0;
                details.push(format!("{name} 100 % ✓ (an earlier attempt)"));
            }
            Slot::AliasCreated => {
                done += 1;
                weights += 1.0;
                fraction += 1.0;
                firsts.push(name);
            }
            Slot::Waiting if f.current_version.is_none() => {
                waiting += 1;
                firsts.push(name);
            }
            Slot::Waiting => {
                waiting += 1;
                queue.push(total);
                details.push(format!("{name} waiting"));
            }
            Slot::Creating => {
                shifting += 1;
                remaining.push(total);
                details.push(format!("{name} starting"));
            }
            Slot::Stepping { step, since } => {
                shifting += 1;
                let whole = total + config.bake();
                let elapsed = now.duration_since(*since).unwrap_or_default();
                let w = step_weight(&config, *step as usize);
                weights += w;
                fraction += if whole.is_zero() {
                    0.5
                } else {
                    (elapsed.as_secs_f64() / whole.as_secs_f64()).min(0.99)
                };
                remaining.push(whole.saturating_sub(elapsed));
                let baking = if w >= 1.0 { " baking" } else { "" };
                details.push(format!("{name} {:.0} %{baking}", w * 100.0));
            }
            Slot::Deployment(id) => {
                let d = seen.and_then(|s| s.deployments.get(id));
                match d {
                    Some(d) if d.status == DeploymentStatus::Succeeded => {
                        done += 1;
                        weights += 1.0;
                        fraction += 1.0;
                        details.push(format!("{name} 100 % ✓"));
                    }
                    Some(d) if !d.status.is_active() => {
                        done += 1;
                        details.push(format!("{name} {:?} ✗", d.status));
                    }
                    _ => {
                        shifting += 1;
                        let started = d.and_then(|d| {
                            if matches!(
                                d.status,
                                DeploymentStatus::InProgress
                                    | DeploymentStatus::Baking
                                    | DeploymentStatus::Ready
                            ) {
                                d.start_time.or(d.create_time)
                            } else {
                                None
                            }
                        });
                        let elapsed = started
                            .and_then(|t| now.duration_since(t).ok())
                            .unwrap_or_default();
                        let w = if started.is_some() {
                            scheduled_weight(&config, elapsed)
                        } else {
                            0.0
                        };
                        weights += w;
                        fraction += if started.is_none() {
                            0.0
                        } else if total.is_zero() {
                            0.5
                        } else {
                            (elapsed.as_secs_f64() / total.as_secs_f64()).min(0.99)
                        };
                        remaining.push(total.saturating_sub(elapsed));
                        details.push(format!("{name} {:.0} %", w * 100.0));
                    }
                }
            }
        }
        counted += 1;
    }
    // ETA: in-flight ones finish; waiting ones take the earliest free slot.
    let cap = rel.max_parallel.max(1);
    let mut slots: Vec<Duration> = remaining.clone();
    let mut eta = remaining.iter().copied().max().unwrap_or_default();
    for q in queue {
        if slots.len() < cap {
            slots.push(q);
            eta = eta.max(q);
        } else if let Some((k, t)) = slots.iter().copied().enumerate().min_by_key(|(_, t)| *t) {
            slots[k] = t + q;
            eta = eta.max(t + q);
        }
    }
    let n = counted.max(1);
    let mut summary = format!(
        "Release {}{}: {} function(s) — {done} done, {shifting} shifting, {waiting} waiting; new versions take {:.0} % of traffic; ETA {}.",
        rel.release_id,
        rel.commit
            .as_deref()
            .map(|c| format!(" (commit {})", c.chars().take(12).collect::<String>()))
            .unwrap_or_default(),
        counted,
        weights / n as f64 * 100.0,
        human(eta)
    );
    if let Some(r) = &rel.break_glass {
        summary.push_str(&format!(
            " BREAK-GLASS (AllAtOnce, alarms not watched): {}.",
            clip(r, 300)
        ));
    }
    if !firsts.is_empty() {
        summary.push_str(&format!(
            " First release (alias created on the new version, no canary): {}.",
            firsts.join(", ")
        ));
    }
    if !details.is_empty() {
        summary.push(' ');
        summary.push_str(&details.join(" · "));
    }
    let verdicts = state.verdicts(plan);
    if !verdicts.is_empty() {
        summary.push_str(" Canary analysis: ");
        summary.push_str(
            &verdicts
                .iter()
                .map(|(_, v)| v.as_str())
                .collect::<Vec<_>>()
                .join(" · "),
        );
        summary.push('.');
    }
    Progress {
        summary: clip(&summary, SUMMARY_MAX),
        percent_complete: Some(((fraction / n as f64) * 100.0).floor().clamp(0.0, 99.0) as i32),
        external_execution_id: first_deployment(state),
    }
}
