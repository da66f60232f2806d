//! The deployment state machine: one Lambda deployment moving forward on the
//! simulated clock. Created → InProgress (AppSpec and alias validated, alarms
//! checked) → BeforeAllowTraffic hook → traffic shifted step by step →
//! AfterAllowTraffic hook → Succeeded; or Failed / Stopped with
//! `errorInformation`, possibly asking for a rollback deployment.
//!
//! Every Lambda call CodeDeploy makes (the start's reads, each step's reads
//! and UpdateAlias, the end's read; `calls`) must get through Lambda's
//! request quota first ([`Env::lambda_call`]); a throttled one is retried
//! with backoff in simulated time for a bounded window, then fails the
//! deployment with `THROTTLED`.
//!
//! Time is only ever passed in (`now`), and every event has a due time
//! computed from timestamps, so a deployment catches up any number of
//! steps after a clock jump or a slow ticker, each recorded at the
//! simulated instant it was due; [`next_due`] and [`step`] let the caller
//! run many deployments' events together in time order. Lambda and
//! CloudWatch are reached through the [`Env`] trait, so this module knows
//! neither the wire nor `Sim`, and its unit tests run without either.

use std::time::{Duration, SystemTime};

use serde_json::Value;

use super::appspec::{self, AppSpec};
use super::calls::{self, LambdaCalls};
use super::configs::TrafficRouting;
use crate::lambda::{AliasInfo, HookBehavior};

/// What the engine needs from the rest of the sim (one region).
pub trait Env {
    fn function_exists(&self, function: &str) -> bool;
    fn version_exists(&self, function: &str, version: &str) -> bool;
    fn get_alias(&self, function: &str, alias: &str) -> Option<AliasInfo>;
    fn set_alias_routing(
        &self,
        function: &str,
        alias: &str,
        version: &str,
        additional: Option<(String, f64)>,
    ) -> Result<(), String>;
    /// `OK` / `ALARM` / `INSUFFICIENT_DATA`, `None` when the alarm does not exist.
    fn alarm_state(&self, name: &str) -> Option<String>;
    /// Invokes a hook function (`name`, `name:qualifier` or ARN) and says how
    /// the invoked version behaves as a hook (`None`: it never reports itself).
    fn invoke_hook(&self, function_ref: &str) -> Result<Option<HookBehavior>, String>;
    /// Makes one Lambda call `operation` at simulated instant `at` against
    /// Lambda's request quota: false when it is throttled.
    fn lambda_call(&self, operation: &'static str, at: SystemTime) -> bool;
}

/// The sim's timing knobs for deployments (simulated durations).
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    /// How often a running deployment checks its alarms.
    pub alarm_poll: Duration,
    /// How long a hook may take to report before the deployment fails.
    pub hook_timeout: Duration,
    /// How long a hook function with a `hook` behaviour takes to report.
    pub hook_report_delay: Duration,
    /// Which Lambda calls each moment makes, and how throttled ones are retried.
    pub calls: LambdaCalls,
    /// Seed of the retries' jitter.
    pub seed: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Created,
    InProgress,
    Succeeded,
    Failed,
    Stopped,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Created => "Created",
            Status::InProgress => "InProgress",
            Status::Succeeded => "Succeeded",
            Status::Failed => "Failed",
            Status::Stopped => "Stopped",
        }
    }

    /// Created/InProgress: holds the deployment group's one active slot.
    pub fn is_active(self) -> bool {
        matches!(self, Status::Created | Status::InProgress)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Creator {
    User,
    CodeDeployRollback,
}

impl Creator {
    pub fn as_str(self) -> &'static str {
        match self {
            Creator::User => "user",
            Creator::CodeDeployRollback => "codeDeployRollback",
        }
    }
}

/// Effective `alarmConfiguration` of a deployment.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AlarmConfig {
    pub enabled: bool,
    pub ignore_poll_alarm_failure: bool,
    pub alarms: Vec<String>,
}

/// Effective `autoRollbackConfiguration` of a deployment.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AutoRollback {
    pub enabled: bool,
    pub events: Vec<String>,
}

impl AutoRollback {
    pub fn covers(&self, event: &str) -> bool {
        self.enabled && self.events.iter().any(|e| e == event)
    }
}

pub const DEPLOYMENT_FAILURE: &str = "DEPLOYMENT_FAILURE";
pub const DEPLOYMENT_STOP_ON_ALARM: &str = "DEPLOYMENT_STOP_ON_ALARM";
pub const DEPLOYMENT_STOP_ON_REQUEST: &str = "DEPLOYMENT_STOP_ON_REQUEST";

/// One lifecycle event of the Lambda target.
#[derive(Debug, Clone, PartialEq)]
pub struct LifecycleEvent {
    pub name: &'static str,
    /// Pending | InProgress | Succeeded | Failed | Skipped
    pub status: &'static str,
    pub start: Option<SystemTime>,
    pub end: Option<SystemTime>,
    /// Why it failed, for `diagnostics`.
    pub message: Option<String>,
}

const BEFORE: usize = 0;
const ALLOW: usize = 1;
const AFTER: usize = 2;

/// The deployment's single target: the function's alias.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    pub function: String,
    pub alias: String,
    pub current_version: String,
    pub target_version: String,
    /// Share of the alias's traffic on `target_version` right now.
    pub weight: f64,
    /// Pending | InProgress | Succeeded | Failed
    pub status: &'static str,
    pub last_updated: SystemTime,
    pub events: Vec<LifecycleEvent>,
}

/// A lifecycle hook waiting for its status.
#[derive(Debug, Clone, PartialEq)]
pub struct HookRun {
    pub execution_id: String,
    pub event: usize,
    pub function: String,
    /// The status and when it arrives: set at invocation for hooks whose
    /// behaviour reports, or by `PutLifecycleEventHookExecutionStatus`.
    pub report: Option<(bool, SystemTime)>,
    /// Why the hook failed without running (invocation error).
    pub failure: Option<String>,
    pub deadline: SystemTime,
}

/// Every hook execution a deployment started, for `PutLifecycleEventHookExecutionStatus`.
#[derive(Debug, Clone, PartialEq)]
pub struct HookRecord {
    pub execution_id: String,
    pub event: &'static str,
    pub function: String,
    /// `Some(succeeded)` once done.
    pub outcome: Option<bool>,
}

/// Lambda calls in flight: each must get through Lambda's request quota
/// before the next is made; once all have, `then` happens.
#[derive(Debug, Clone, PartialEq)]
pub struct Calls {
    pub ops: Vec<&'static str>,
    /// The call being attempted.
    pub next: usize,
    pub then: AfterCalls,
    /// When the call being attempted was first made: its retries end
    /// `retry_window` later.
    pub first_attempt: SystemTime,
    /// Retries of it so far.
    pub retries: u32,
    /// When it is attempted next.
    pub due: SystemTime,
}

/// What follows a moment's Lambda calls.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum AfterCalls {
    /// The start's reads: the AppSpec is checked against Lambda (a rollback
    /// goes to its one step).
    Validate,
    /// The schedule's step `next` of a shift that began at `since`.
    Step { since: SystemTime, next: usize },
    /// A rollback's step: the alias back on 100 % of its version.
    RollbackStep,
    /// The end's read: AllowTraffic is done.
    End,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Phase {
    /// Waiting to start (next tick).
    Created,
    /// Making Lambda calls (retrying a throttled one).
    Calling(Calls),
    BeforeHook(HookRun),
    /// Shifting since `since`; `next` indexes the config's schedule.
    Shifting {
        since: SystemTime,
        next: usize,
    },
    AfterHook(HookRun),
    /// A rollback deployment whose alias is back; succeeds at `at`.
    Finishing {
        at: SystemTime,
    },
    Done,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct RollbackInfo {
    pub rollback_deployment_id: Option<String>,
    pub rollback_triggering_deployment_id: Option<String>,
    pub rollback_message: Option<String>,
}

/// What a failed or stopped deployment asks for: a rollback deployment
/// putting `alias` back on 100 % `to_version`.
#[derive(Debug, Clone, PartialEq)]
pub struct RollbackRequest {
    pub triggering_id: String,
    pub function: String,
    pub alias: String,
    pub from_version: String,
    pub to_version: String,
    pub at: SystemTime,
    pub reason: String,
}

/// One deployment. The handlers render it; [`advance`] moves it.
#[derive(Debug, Clone)]
pub struct Deployment {
    pub id: String,
    /// Creation number within the sim: orders deployments due at the same
    /// instant, and keys the jitter of their retries.
    pub seq: u64,
    /// The deployment group's service role: the caller Lambda throttles.
    pub service_role_arn: String,
    pub region: String,
    pub application_name: String,
    pub group_name: String,
    pub config_name: String,
    pub routing: TrafficRouting,
    /// The `revision` as given, echoed back by GetDeployment.
    pub revision: Value,
    pub appspec_content: String,
    pub description: Option<String>,
    pub creator: Creator,
    pub status: Status,
    /// `errorInformation` (code, message).
    pub error: Option<(String, String)>,
    pub create_time: SystemTime,
    pub start_time: Option<SystemTime>,
    pub complete_time: Option<SystemTime>,
    pub auto_rollback: AutoRollback,
    /// `autoRollbackConfiguration` as echoed (deployment's override or the group's).
    pub auto_rollback_json: Option<Value>,
    pub alarms: AlarmConfig,
    pub override_alarm_json: Option<Value>,
    pub rollback_info: Option<RollbackInfo>,
    pub status_messages: Vec<String>,
    pub target: Option<Target>,
    pub phase: Phase,
    pub next_alarm_check: SystemTime,
    pub hooks: Vec<HookRecord>,
    /// Every weight applied to the alias, with its simulated time.
    pub traffic_history: Vec<(SystemTime, f64)>,
    /// True once the AppSpec and alias passed validation: only then does a
    /// failure or stop roll back (before it nothing was touched).
    pub validated: bool,
    /// Lambda calls attempted so far (admitted or throttled).
    pub lambda_attempts: u64,
}

impl Deployment {
    fn phase_due(&self) -> Option<SystemTime> {
        match &self.phase {
            Phase::Created => Some(self.create_time),
            Phase::Calling(c) => Some(c.due),
            Phase::BeforeHook(h) | Phase::AfterHook(h) => Some(match h.report {
                Some((_, at)) if at < h.deadline => at,
                _ => h.deadline,
            }),
            Phase::Shifting { since, next } => {
                let steps = self.routing.schedule();
                steps.get(*next).map(|s| *since + s.offset)
            }
            Phase::Finishing { at } => Some(*at),
            Phase::Done => None,
        }
    }

    fn alarm_due(&self) -> Option<SystemTime> {
        let watching = match self.phase {
            Phase::BeforeHook(_) | Phase::Shifting { .. } | Phase::AfterHook(_) => true,
            Phase::Calling(_) => self.validated,
            _ => false,
        };
        (self.status == Status::InProgress
            && watching
            && self.alarms.enabled
            && !self.alarms.alarms.is_empty())
        .then_some(self.next_alarm_check)
    }

    /// `deploymentOverview` counts (one Lambda target).
    pub fn overview(&self) -> [(&'static str, i64); 6] {
        let mut o = [
            ("Pending", 0),
            ("InProgress", 0),
            ("Succeeded", 0),
            ("Failed", 0),
            ("Skipped", 0),
            ("Ready", 0),
        ];
        let key = match self.status {
            Status::Created => "Pending",
            Status::InProgress => "InProgress",
            Status::Succeeded => "Succeeded",
            Status::Failed | Status::Stopped => "Failed",
        };
        if self.target.is_some() || self.status == Status::Created {
            for (k, v) in o.iter_mut() {
                if *k == key {
                    *v = 1;
                }
            }
        }
        o
    }

    /// The hook currently waiting, if any.
    pub fn running_hook(&self) -> Option<&HookRun> {
        match &self.phase {
            Phase::BeforeHook(h) | Phase::AfterHook(h) => Some(h),
            _ => None,
        }
    }

    /// `PutLifecycleEventHookExecutionStatus`: records the status of the
    /// running hook with this execution id. Errors: `(code, message)`.
    pub fn report_hook(
        &mut self,
        execution_id: &str,
        succeeded: bool,
        now: SystemTime,
    ) -> Result<(), (&'static str, String)> {
        let Some(rec) = self.hooks.iter().find(|h| h.execution_id == execution_id) else {
            return Err((
                "InvalidLifecycleEventHookExecutionIdException",
                format!(
                    "The lifecycle event hook execution id {execution_id} is not valid for deployment {}",
                    self.id
                ),
            ));
        };
        let done = || {
            Err((
                "LifecycleEventAlreadyCompletedException",
                format!(
                    "The lifecycle event {} of deployment {} has already completed",
                    rec.event, self.id
                ),
            ))
        };
        if rec.outcome.is_some() || !self.status.is_active() {
            return done();
        }
        match &mut self.phase {
            Phase::BeforeHook(h) | Phase::AfterHook(h) if h.execution_id == execution_id => {
                match h.report {
                    // A status already arrived (or the hook's behaviour reported).
                    Some((_, at)) if at <= now => done(),
                    _ => {
                        h.report = Some((succeeded, now));
                        Ok(())
                    }
                }
            }
            _ => done(),
        }
    }

    fn event_mut(&mut self, i: usize) -> Option<&mut LifecycleEvent> {
        self.target.as_mut().and_then(|t| t.events.get_mut(i))
    }

    fn set_event(&mut self, i: usize, status: &'static str, t: SystemTime) {
        if let Some(tg) = self.target.as_mut() {
            tg.last_updated = t;
            if let Some(e) = tg.events.get_mut(i) {
                if status == "InProgress" {
                    e.start = Some(t);
                } else {
                    e.start.get_or_insert(t);
                    e.end = Some(t);
                }
                e.status = status;
            }
        }
    }

    fn succeed(&mut self, t: SystemTime) {
        self.status = Status::Succeeded;
        self.complete_time = Some(t);
        self.phase = Phase::Done;
        if let Some(tg) = self.target.as_mut() {
            tg.status = "Succeeded";
            tg.last_updated = t;
        }
    }

    /// Ends the deployment Failed or Stopped. Returns the rollback to start
    /// when `rollback` says so and traffic may have moved.
    fn finish(
        &mut self,
        t: SystemTime,
        status: Status,
        code: &str,
        message: String,
        rollback: bool,
    ) -> Option<RollbackRequest> {
        self.status = status;
        self.complete_time = Some(t);
        self.start_time.get_or_insert(t);
        self.error = Some((code.to_string(), message.clone()));
        self.status_messages.push(message.clone());
        self.phase = Phase::Done;
        if let Some(tg) = self.target.as_mut() {
            tg.status = "Failed";
            tg.last_updated = t;
            for e in tg.events.iter_mut() {
                match e.status {
                    "InProgress" => {
                        e.status = "Failed";
                        e.end = Some(t);
                        e.message.get_or_insert_with(|| message.clone());
                    }
                    "Pending" => e.status = "Skipped",
                    _ => {}
                }
            }
        }
        if !(rollback && self.validated && self.creator == Creator::User) {
            return None;
        }
        let tg = self.target.as_ref()?;
        Some(RollbackRequest {
            triggering_id: self.id.clone(),
            function: tg.function.clone(),
            alias: tg.alias.clone(),
            from_version: tg.target_version.clone(),
            to_version: tg.current_version.clone(),
            at: t,
            reason: message,
        })
    }

    fn fail(&mut self, t: SystemTime, code: &str, message: String) -> Option<RollbackRequest> {
        let rb = self.auto_rollback.covers(DEPLOYMENT_FAILURE);
        self.finish(t, Status::Failed, code, message, rb)
    }

    /// `StopDeployment`: stops now; `rollback` = the request's
    /// `autoRollbackEnabled`, or the deployment's DEPLOYMENT_STOP_ON_REQUEST.
    pub fn stop_by_request(
        &mut self,
        now: SystemTime,
        rollback: Option<bool>,
    ) -> Option<RollbackRequest> {
        let rb = rollback.unwrap_or_else(|| self.auto_rollback.covers(DEPLOYMENT_STOP_ON_REQUEST));
        self.finish(
            now,
            Status::Stopped,
            "MANUAL_STOP",
            "The deployment was stopped by a user request (StopDeployment).".into(),
            rb,
        )
    }

    /// Alarm states of the deployment's alarms: (in ALARM, unreadable).
    fn read_alarms(&self, env: &dyn Env) -> (Vec<String>, Vec<String>) {
        let mut firing = Vec::new();
        let mut unreadable = Vec::new();
        for a in &self.alarms.alarms {
            match env.alarm_state(a).as_deref() {
                Some("ALARM") => firing.push(a.clone()),
                Some(_) => {}
                None => unreadable.push(a.clone()),
            }
        }
        (firing, unreadable)
    }

    fn alarm_message(firing: &[String]) -> String {
        format!(
            "One or more alarms have been activated according to the Amazon CloudWatch metrics you selected, and the affected deployments have been stopped. Activated alarms: <{}>",
            firing.join(", ")
        )
    }

    fn unreadable_message(unreadable: &[String]) -> String {
        format!(
            "The deployment was stopped because the state of its alarms could not be retrieved from Amazon CloudWatch (ignorePollAlarmFailure is false): <{}>",
            unreadable.join(", ")
        )
    }

    fn check_alarms(
        &mut self,
        t: SystemTime,
        now: SystemTime,
        env: &dyn Env,
        timing: &Timing,
    ) -> Option<RollbackRequest> {
        let (firing, unreadable) = self.read_alarms(env);
        let rb = self.auto_rollback.covers(DEPLOYMENT_STOP_ON_ALARM);
        if !firing.is_empty() {
            return self.finish(
                t,
                Status::Stopped,
                "ALARM_ACTIVE",
                Self::alarm_message(&firing),
                rb,
            );
        }
        if !unreadable.is_empty() && !self.alarms.ignore_poll_alarm_failure {
            return self.finish(
                t,
                Status::Stopped,
                "ALARM_ACTIVE",
                Self::unreadable_message(&unreadable),
                rb,
            );
        }
        // Alarm states cannot change during one tick: every later check up
        // to `now` would see the same, so jump past `now` at once.
        let poll = timing.alarm_poll.max(Duration::from_millis(1));
        let behind = now.duration_since(t).unwrap_or_default();
        let k = (behind.as_secs_f64() / poll.as_secs_f64()).floor() + 1.0;
        self.next_alarm_check = t + poll.mul_f64(k);
        None
    }

    fn start(&mut self, t: SystemTime, env: &dyn Env, timing: &Timing) -> Option<RollbackRequest> {
        self.status = Status::InProgress;
        self.start_time = Some(t);
        let spec = match appspec::parse(&self.appspec_content) {
            Ok(s) => s,
            Err(e) => return self.finish(t, Status::Failed, "INVALID_REVISION", e, false),
        };
        let events = ["BeforeAllowTraffic", "AllowTraffic", "AfterAllowTraffic"]
            .into_iter()
            .map(|name| LifecycleEvent {
                name,
                status: "Pending",
                start: None,
                end: None,
                message: None,
            })
            .collect();
        self.target = Some(Target {
            function: spec.function.clone(),
            alias: spec.alias.clone(),
            current_version: spec.current_version.clone(),
            target_version: spec.target_version.clone(),
            weight: 0.0,
            status: "InProgress",
            last_updated: t,
            events,
        });
        if spec.current_version == spec.target_version {
            // Nothing to shift between: the alias goes (stays) on the version at once.
            self.routing = TrafficRouting::AllAtOnce;
        }
        self.lambda_calls(
            t,
            timing.calls.at_start(),
            AfterCalls::Validate,
            env,
            timing,
        )
    }

    /// After the start's reads: a rollback goes to its step; a deployment
    /// is checked against Lambda and its alarms, then its hook or shift.
    fn validate(
        &mut self,
        t: SystemTime,
        env: &dyn Env,
        timing: &Timing,
    ) -> Option<RollbackRequest> {
        // Parsed at start: the same text parses again.
        let spec = match appspec::parse(&self.appspec_content) {
            Ok(s) => s,
            Err(e) => return self.finish(t, Status::Failed, "INVALID_REVISION", e, false),
        };
        if self.creator == Creator::CodeDeployRollback {
            return self.start_rollback(t, env, timing);
        }
        if let Err((code, msg)) = validate_against_lambda(&spec, env) {
            return self.finish(t, Status::Failed, code, msg, false);
        }
        if self.alarms.enabled {
            let (firing, unreadable) = self.read_alarms(env);
            if !firing.is_empty() {
                let msg = Self::alarm_message(&firing);
                return self.finish(t, Status::Failed, "ALARM_ACTIVE", msg, false);
            }
            if !unreadable.is_empty() && !self.alarms.ignore_poll_alarm_failure {
                let msg = Self::unreadable_message(&unreadable);
                return self.finish(t, Status::Failed, "ALARM_ACTIVE", msg, false);
            }
        }
        self.validated = true;
        self.next_alarm_check = t + timing.alarm_poll;
        match spec.before_allow_traffic.clone() {
            Some(f) => self.start_hook(BEFORE, &f, t, env, timing),
            None => {
                self.set_event(BEFORE, "Skipped", t);
                self.begin_shifting(t);
                None
            }
        }
    }

    /// A rollback deployment: the alias straight back in one step, no
    /// hooks, no alarms.
    fn start_rollback(
        &mut self,
        t: SystemTime,
        env: &dyn Env,
        timing: &Timing,
    ) -> Option<RollbackRequest> {
        self.set_event(BEFORE, "Skipped", t);
        self.set_event(ALLOW, "InProgress", t);
        self.lambda_calls(
            t,
            timing.calls.step(),
            AfterCalls::RollbackStep,
            env,
            timing,
        )
    }

    fn apply_rollback_step(
        &mut self,
        t: SystemTime,
        env: &dyn Env,
        timing: &Timing,
    ) -> Option<RollbackRequest> {
        let tg = self.target.clone()?;
        match env.set_alias_routing(&tg.function, &tg.alias, &tg.target_version, None) {
            Ok(()) => {
                self.traffic_history.push((t, 1.0));
                if let Some(tg) = self.target.as_mut() {
                    tg.weight = 1.0;
                    tg.last_updated = t;
                }
                self.lambda_calls(t, timing.calls.at_end(), AfterCalls::End, env, timing)
            }
            Err(e) => self.finish(
                t,
                Status::Failed,
                "INVALID_LAMBDA_FUNCTION",
                format!("The rollback could not update the alias {}: {e}", tg.alias),
                false,
            ),
        }
    }

    /// Starts a moment's Lambda calls at `t` (the first attempted at once).
    fn lambda_calls(
        &mut self,
        t: SystemTime,
        ops: Vec<&'static str>,
        then: AfterCalls,
        env: &dyn Env,
        timing: &Timing,
    ) -> Option<RollbackRequest> {
        let calls = Calls {
            ops,
            next: 0,
            then,
            first_attempt: t,
            retries: 0,
            due: t,
        };
        self.attempt_calls(t, calls, env, timing)
    }

    /// Makes the calls still to make at `t`, in order, while Lambda admits
    /// them. A throttled call is retried after
    /// [`LambdaCalls::backoff`], never later than `retry_window` after its
    /// first attempt; throttled at the end of its window, it fails the
    /// deployment (`THROTTLED`, which rolls back like any failure once the
    /// deployment was validated).
    fn attempt_calls(
        &mut self,
        t: SystemTime,
        mut c: Calls,
        env: &dyn Env,
        timing: &Timing,
    ) -> Option<RollbackRequest> {
        while let Some(&op) = c.ops.get(c.next) {
            self.lambda_attempts += 1;
            if env.lambda_call(op, t) {
                c.next += 1;
                c.retries = 0;
                c.first_attempt = t;
                continue;
            }
            let deadline = c.first_attempt + timing.calls.retry_window;
            if t >= deadline {
                let msg = self.throttled_message(op, timing);
                return self.fail(t, "THROTTLED", msg);
            }
            let u = calls::draw(timing.seed, self.seq, self.lambda_attempts);
            let wait = timing.calls.backoff(c.retries, u);
            c.due = t.checked_add(wait).map_or(deadline, |at| at.min(deadline));
            c.retries += 1;
            self.phase = Phase::Calling(c);
            return None;
        }
        match c.then {
            AfterCalls::Validate => self.validate(t, env, timing),
            AfterCalls::Step { since, next } => self.apply_step(t, since, next, env, timing),
            AfterCalls::RollbackStep => self.apply_rollback_step(t, env, timing),
            AfterCalls::End => self.end_traffic(t, env, timing),
        }
    }

    /// `errorInformation.message` of a deployment whose call stayed throttled:
    /// Lambda's words for a role over its request limit
    /// (serverless-plugin-canary-deployments#159), then which call.
    fn throttled_message(&self, op: &str, timing: &Timing) -> String {
        let (function, alias) = self
            .target
            .as_ref()
            .map(|t| (t.function.as_str(), t.alias.as_str()))
            .unwrap_or_default();
        format!(
            "The number of requests by the IAM role {} exceeded the request limit for AWSLambda: {op} on the alias {alias} of {function} was throttled (TooManyRequestsException: Rate exceeded) and retried for {} seconds",
            self.service_role_arn,
            timing.calls.retry_window.as_secs_f64()
        )
    }

    fn start_hook(
        &mut self,
        event: usize,
        function: &str,
        t: SystemTime,
        env: &dyn Env,
        timing: &Timing,
    ) -> Option<RollbackRequest> {
        let execution_id = new_hook_execution_id();
        self.set_event(event, "InProgress", t);
        let (report, failure) = match env.invoke_hook(function) {
            Ok(Some(HookBehavior::Succeed)) => (Some((true, t + timing.hook_report_delay)), None),
            Ok(Some(HookBehavior::Fail)) => (Some((false, t + timing.hook_report_delay)), None),
            Ok(Some(HookBehavior::Timeout)) | Ok(None) => (None, None),
            Err(e) => (Some((false, t)), Some(e)),
        };
        let run = HookRun {
            execution_id: execution_id.clone(),
            event,
            function: function.to_string(),
            report,
            failure,
            deadline: t + timing.hook_timeout,
        };
        self.hooks.push(HookRecord {
            execution_id,
            event: if event == BEFORE {
                "BeforeAllowTraffic"
            } else {
                "AfterAllowTraffic"
            },
            function: function.to_string(),
            outcome: None,
        });
        self.phase = if event == BEFORE {
            Phase::BeforeHook(run)
        } else {
            Phase::AfterHook(run)
        };
        None
    }

    fn begin_shifting(&mut self, t: SystemTime) {
        self.set_event(ALLOW, "InProgress", t);
        self.phase = Phase::Shifting { since: t, next: 0 };
    }

    fn finish_hook(
        &mut self,
        t: SystemTime,
        run: HookRun,
        timing: &Timing,
    ) -> Option<RollbackRequest> {
        let event_name = if run.event == BEFORE {
            "BeforeAllowTraffic"
        } else {
            "AfterAllowTraffic"
        };
        let outcome = match run.report {
            Some((ok, at)) if at < run.deadline => Some(ok),
            _ => None,
        };
        if let Some(rec) = self
            .hooks
            .iter_mut()
            .find(|h| h.execution_id == run.execution_id)
        {
            rec.outcome = Some(outcome.unwrap_or(false));
        }
        match outcome {
            Some(true) => {
                self.set_event(run.event, "Succeeded", t);
                if run.event == BEFORE {
                    self.begin_shifting(t);
                } else {
                    self.succeed(t);
                }
                None
            }
            Some(false) => {
                let msg = match run.failure {
                    Some(e) => format!(
                        "The {event_name} lifecycle event hook {} could not be invoked: {e}",
                        run.function
                    ),
                    None => format!(
                        "The deployment failed because the {event_name} lifecycle event hook {} reported Failed",
                        run.function
                    ),
                };
                if let Some(e) = self.event_mut(run.event) {
                    e.message = Some(msg.clone());
                }
                self.fail(t, "HOOK_EXECUTION_FAILURE", msg)
            }
            None => {
                let msg = format!(
                    "The deployment failed because the {event_name} lifecycle event hook {} did not report a status within {} seconds",
                    run.function,
                    timing.hook_timeout.as_secs()
                );
                if let Some(e) = self.event_mut(run.event) {
                    e.message = Some(msg.clone());
                }
                self.fail(t, "HOOK_EXECUTION_FAILURE", msg)
            }
        }
    }

    /// Step `next` is due: its Lambda calls, then [`Self::apply_step`].
    fn shift(
        &mut self,
        t: SystemTime,
        next: usize,
        since: SystemTime,
        env: &dyn Env,
        timing: &Timing,
    ) -> Option<RollbackRequest> {
        let then = AfterCalls::Step { since, next };
        self.lambda_calls(t, timing.calls.step(), then, env, timing)
    }

    /// Step `next`'s UpdateAlias got through at `t`: the alias moves.
    fn apply_step(
        &mut self,
        t: SystemTime,
        since: SystemTime,
        next: usize,
        env: &dyn Env,
        timing: &Timing,
    ) -> Option<RollbackRequest> {
        let steps = self.routing.schedule();
        let step = steps.get(next).copied()?;
        let tg = self.target.clone()?;
        let result = if step.weight >= 1.0 {
            env.set_alias_routing(&tg.function, &tg.alias, &tg.target_version, None)
        } else {
            env.set_alias_routing(
                &tg.function,
                &tg.alias,
                &tg.current_version,
                Some((tg.target_version.clone(), step.weight)),
            )
        };
        if let Err(e) = result {
            return self.fail(
                t,
                "INVALID_LAMBDA_FUNCTION",
                format!(
                    "Traffic could not be shifted on the alias {} of {}: {e}",
                    tg.alias, tg.function
                ),
            );
        }
        self.traffic_history.push((t, step.weight));
        if let Some(target) = self.target.as_mut() {
            target.weight = step.weight;
            target.last_updated = t;
        }
        if next + 1 < steps.len() {
            self.phase = Phase::Shifting {
                since,
                next: next + 1,
            };
            return None;
        }
        self.lambda_calls(t, timing.calls.at_end(), AfterCalls::End, env, timing)
    }

    /// The end's read got through: AllowTraffic succeeded; then the
    /// AfterAllowTraffic hook, or the end (a rollback ends a second later).
    fn end_traffic(
        &mut self,
        t: SystemTime,
        env: &dyn Env,
        timing: &Timing,
    ) -> Option<RollbackRequest> {
        self.set_event(ALLOW, "Succeeded", t);
        if self.creator == Creator::CodeDeployRollback {
            self.set_event(AFTER, "Skipped", t);
            self.phase = Phase::Finishing {
                at: t + Duration::from_secs(1),
            };
            return None;
        }
        // An AppSpec parsed at start is still the same text.
        let after = appspec::parse(&self.appspec_content)
            .ok()
            .and_then(|s| s.after_allow_traffic);
        match after {
            Some(f) => self.start_hook(AFTER, &f, t, env, timing),
            None => {
                self.set_event(AFTER, "Skipped", t);
                self.succeed(t);
                None
            }
        }
    }

    fn on_phase_due(
        &mut self,
        t: SystemTime,
        env: &dyn Env,
        timing: &Timing,
    ) -> Option<RollbackRequest> {
        match std::mem::replace(&mut self.phase, Phase::Done) {
            Phase::Created => self.start(t, env, timing),
            Phase::Calling(c) => self.attempt_calls(t, c, env, timing),
            Phase::BeforeHook(run) | Phase::AfterHook(run) => self.finish_hook(t, run, timing),
            Phase::Shifting { since, next } => self.shift(t, next, since, env, timing),
            Phase::Finishing { .. } => {
                self.succeed(t);
                None
            }
            Phase::Done => None,
        }
    }
}

/// Checks the AppSpec against Lambda: function, alias and versions exist,
/// the alias points at `CurrentVersion` and has no routing configuration.
fn validate_against_lambda(spec: &AppSpec, env: &dyn Env) -> Result<(), (&'static str, String)> {
    let f = &spec.function;
    if !env.function_exists(f) {
        return Err((
            "INVALID_LAMBDA_FUNCTION",
            format!("The Lambda function {f} specified in the AppSpec does not exist"),
        ));
    }
    let Some(alias) = env.get_alias(f, &spec.alias) else {
        return Err((
            "INVALID_LAMBDA_FUNCTION",
            format!(
                "The alias {} of Lambda function {f} does not exist",
                spec.alias
            ),
        ));
    };
    for (what, v) in [
        ("CurrentVersion", &spec.current_version),
        ("TargetVersion", &spec.target_version),
    ] {
        if !env.version_exists(f, v) {
            return Err((
                "INVALID_LAMBDA_FUNCTION",
                format!("The {what} {v} of Lambda function {f} does not exist"),
            ));
        }
    }
    if alias.function_version != spec.current_version {
        return Err((
            "INVALID_LAMBDA_CONFIGURATION",
            format!(
                "The CurrentVersion {} in the AppSpec does not match the version {} that alias {} of Lambda function {f} points to",
                spec.current_version, alias.function_version, spec.alias
            ),
        ));
    }
    if let Some((v, w)) = &alias.additional_version {
        return Err((
            "INVALID_LAMBDA_CONFIGURATION",
            format!(
                "The alias {} of Lambda function {f} already shifts traffic between two versions ({w} to version {v}); remove its routing configuration first",
                spec.alias
            ),
        ));
    }
    Ok(())
}

/// An opaque hook execution id, like AWS's long tokens.
fn new_hook_execution_id() -> String {
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

/// When `d`'s next event is due, and whether it is an alarm check (an
/// alarm check due with a phase event comes first).
fn next_event(d: &Deployment) -> Option<(SystemTime, bool)> {
    if !d.status.is_active() {
        return None;
    }
    match (d.phase_due(), d.alarm_due()) {
        (Some(p), Some(a)) if a <= p => Some((a, true)),
        (Some(p), _) => Some((p, false)),
        (None, Some(a)) => Some((a, true)),
        (None, None) => None,
    }
}

/// When `d`'s next event is due (`None`: it waits for nothing, e.g. it ended).
pub fn next_due(d: &Deployment) -> Option<SystemTime> {
    next_event(d).map(|(t, _)| t)
}

/// The outcome of [`step`].
#[derive(Debug, Clone, PartialEq)]
pub enum Stepped {
    /// Nothing was due by `now`.
    Idle,
    /// One event ran; the deployment asks for this rollback, if any.
    Ran(Option<RollbackRequest>),
}

/// Processes `d`'s next event if it is due by `now`, at the simulated
/// instant it was due. A caller moving many deployments calls this for the
/// one whose [`next_due`] is earliest, so their Lambda calls meet the shared
/// quota in time order whatever the ticker's granularity.
pub fn step(d: &mut Deployment, now: SystemTime, env: &dyn Env, timing: &Timing) -> Stepped {
    let Some((t, is_alarm)) = next_event(d).filter(|(t, _)| *t <= now) else {
        return Stepped::Idle;
    };
    Stepped::Ran(if is_alarm {
        d.check_alarms(t, now, env, timing)
    } else {
        d.on_phase_due(t, env, timing)
    })
}

/// Moves `d` alone forward to `now`, processing every due event in time
/// order (an alarm check first when it is due with a step). Returns the
/// rollback the deployment asks for, if it ended so.
#[cfg(test)]
pub fn advance(
    d: &mut Deployment,
    now: SystemTime,
    env: &dyn Env,
    timing: &Timing,
) -> Option<RollbackRequest> {
    let mut rollback = None;
    // Bounded: each event completes a phase, retries a call later, or
    // moves the alarm timer past `now`.
    for _ in 0..100_000 {
        match step(d, now, env, timing) {
            Stepped::Idle => break,
            Stepped::Ran(r) => {
                if r.is_some() {
                    rollback = r;
                }
            }
        }
    }
    rollback
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;
    use std::collections::HashMap;

    /// A fake Lambda + CloudWatch.
    #[derive(Default)]
    struct Fake {
        versions: Vec<String>,
        alias: RefCell<Option<AliasInfo>>,
        alarms: RefCell<HashMap<String, String>>,
        hook: Option<HookBehavior>,
        invoked: RefCell<Vec<String>>,
        /// Lambda calls attempted: (operation, when, admitted).
        lambda: RefCell<Vec<(&'static str, SystemTime, bool)>>,
        /// Calls (of this operation, or every one) before this instant are throttled.
        throttle: RefCell<Option<(Option<&'static str>, SystemTime)>>,
    }

    impl Fake {
        fn new(current: &str) -> Self {
            Fake {
                versions: vec!["1".into(), "2".into()],
                alias: RefCell::new(Some(AliasInfo {
                    function_version: current.into(),
                    additional_version: None,
                    revision_id: "r".into(),
                })),
                ..Default::default()
            }
        }
    }

    impl Env for Fake {
        fn function_exists(&self, f: &str) -> bool {
            f == "fn"
        }
        fn version_exists(&self, _f: &str, v: &str) -> bool {
            self.versions.iter().any(|x| x == v)
        }
        fn get_alias(&self, _f: &str, a: &str) -> Option<AliasInfo> {
            if a == "live" {
                self.alias.borrow().clone()
            } else {
                None
            }
        }
        fn set_alias_routing(
            &self,
            _f: &str,
            _a: &str,
            v: &str,
            add: Option<(String, f64)>,
        ) -> Result<(), String> {
            *self.alias.borrow_mut() = Some(AliasInfo {
                function_version: v.into(),
                additional_version: add,
                revision_id: "r2".into(),
            });
            Ok(())
        }
        fn alarm_state(&self, name: &str) -> Option<String> {
            self.alarms.borrow().get(name).cloned()
        }
        fn invoke_hook(&self, f: &str) -> Result<Option<HookBehavior>, String> {
            self.invoked.borrow_mut().push(f.into());
            if f == "missing" {
                return Err("Function not found".into());
            }
            Ok(self.hook)
        }
        fn lambda_call(&self, op: &'static str, at: SystemTime) -> bool {
            let refused = match *self.throttle.borrow() {
                Some((only, until)) => at < until && only.is_none_or(|o| o == op),
                None => false,
            };
            self.lambda.borrow_mut().push((op, at, !refused));
            !refused
        }
    }

    impl Fake {
        /// Admitted calls: (operation, seconds after t0).
        fn admitted(&self) -> Vec<(&'static str, u64)> {
            self.lambda
                .borrow()
                .iter()
                .filter(|c| c.2)
                .map(|(op, at, _)| (*op, at.duration_since(t0()).unwrap().as_secs()))
                .collect()
        }
    }

    const T: Timing = Timing {
        alarm_poll: Duration::from_secs(10),
        hook_timeout: Duration::from_secs(3600),
        hook_report_delay: Duration::from_secs(1),
        calls: LambdaCalls {
            calls_per_step: 3,
            retry_base: Duration::from_millis(500),
            retry_max_backoff: Duration::from_secs(20),
            retry_window: Duration::from_secs(30),
        },
        seed: 1,
    };

    fn t0() -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000)
    }

    fn at(s: u64) -> SystemTime {
        t0() + Duration::from_secs(s)
    }

    fn appspec(current: &str, hooks: &str) -> String {
        format!(
            "version: 0.0\nResources:\n  - fn:\n      Type: AWS::Lambda::Function\n      Properties: {{Name: fn, Alias: live, CurrentVersion: '{current}', TargetVersion: '2'}}\n{hooks}"
        )
    }

    fn deployment(routing: TrafficRouting, content: String) -> Deployment {
        Deployment {
            id: "d-TEST00001".into(),
            seq: 0,
            service_role_arn: "arn:aws:iam::123456789012:role/CodeDeployServiceRole".into(),
            region: "us-east-1".into(),
            application_name: "app".into(),
            group_name: "dg".into(),
            config_name: "cfg".into(),
            routing,
            revision: Value::Null,
            appspec_content: content,
            description: None,
            creator: Creator::User,
            status: Status::Created,
            error: None,
            create_time: t0(),
            start_time: None,
            complete_time: None,
            auto_rollback: AutoRollback {
                enabled: true,
                events: vec![DEPLOYMENT_FAILURE.into(), DEPLOYMENT_STOP_ON_ALARM.into()],
            },
            auto_rollback_json: None,
            alarms: AlarmConfig {
                enabled: true,
                ignore_poll_alarm_failure: false,
                alarms: vec!["errors".into()],
            },
            override_alarm_json: None,
            rollback_info: None,
            status_messages: vec![],
            target: None,
            phase: Phase::Created,
            next_alarm_check: t0(),
            hooks: vec![],
            traffic_history: vec![],
            validated: false,
            lambda_attempts: 0,
        }
    }

    fn linear() -> TrafficRouting {
        super::super::configs::predefined("CodeDeployDefault.LambdaLinear10PercentEvery1Minute")
            .unwrap()
    }

    #[test]
    fn linear_shift_runs_on_time_and_catches_up_after_a_jump() {
        let env = Fake::new("1");
        env.alarms.borrow_mut().insert("errors".into(), "OK".into());
        let mut d = deployment(linear(), appspec("1", ""));
        assert_eq!(advance(&mut d, at(0), &env, &T), None);
        assert_eq!(d.status, Status::InProgress);
        assert_eq!(d.target.as_ref().unwrap().weight, 0.1);
        let a = env.alias.borrow().clone().unwrap();
        assert_eq!(
            (a.function_version.as_str(), a.additional_version),
            ("1", Some(("2".into(), 0.1)))
        );
        advance(&mut d, at(59), &env, &T);
        assert_eq!(d.target.as_ref().unwrap().weight, 0.1);
        advance(&mut d, at(60), &env, &T);
        assert_eq!(d.target.as_ref().unwrap().weight, 0.2);
        // A jump of several minutes records every step at its own instant.
        advance(&mut d, at(60 * 5 + 30), &env, &T);
        assert_eq!(d.target.as_ref().unwrap().weight, 0.6);
        let hist: Vec<(u64, f64)> = d
            .traffic_history
            .iter()
            .map(|(t, w)| (t.duration_since(t0()).unwrap().as_secs(), *w))
            .collect();
        assert_eq!(
            hist,
            vec![
                (0, 0.1),
                (60, 0.2),
                (120, 0.3),
                (180, 0.4),
                (240, 0.5),
                (300, 0.6)
            ]
        );
        advance(&mut d, at(10_000), &env, &T);
        assert_eq!(d.status, Status::Succeeded);
        assert_eq!(d.complete_time, Some(at(540)));
        let a = env.alias.borrow().clone().unwrap();
        assert_eq!(
            (a.function_version.as_str(), a.additional_version),
            ("2", None)
        );
        let ev: Vec<&str> = d
            .target
            .as_ref()
            .unwrap()
            .events
            .iter()
            .map(|e| e.status)
            .collect();
        assert_eq!(ev, vec!["Skipped", "Succeeded", "Skipped"]);
    }

    #[test]
    fn alarm_mid_shift_stops_and_asks_for_rollback() {
        let env = Fake::new("1");
        env.alarms.borrow_mut().insert("errors".into(), "OK".into());
        let mut d = deployment(linear(), appspec("1", ""));
        advance(&mut d, at(150), &env, &T);
        assert_eq!(d.target.as_ref().unwrap().weight, 0.3);
        env.alarms
            .borrow_mut()
            .insert("errors".into(), "ALARM".into());
        assert_eq!(
            advance(&mut d, at(155), &env, &T),
            None,
            "next poll is at 160"
        );
        let rb = advance(&mut d, at(165), &env, &T).expect("rollback");
        assert_eq!(d.complete_time, Some(at(160)));
        assert_eq!(d.status, Status::Stopped);
        assert_eq!(d.error.as_ref().unwrap().0, "ALARM_ACTIVE");
        assert_eq!(
            (rb.from_version.as_str(), rb.to_version.as_str()),
            ("2", "1")
        );
        // Without the event in autoRollback: no rollback.
        let env = Fake::new("1");
        env.alarms
            .borrow_mut()
            .insert("errors".into(), "ALARM".into());
        let mut d = deployment(linear(), appspec("1", ""));
        d.alarms.enabled = false;
        advance(&mut d, at(30), &env, &T);
        d.alarms.enabled = true;
        d.auto_rollback.events = vec![DEPLOYMENT_FAILURE.into()];
        assert_eq!(advance(&mut d, at(45), &env, &T), None);
        assert_eq!(d.status, Status::Stopped);
    }

    #[test]
    fn alarm_active_at_start_and_version_mismatch_fail_without_rollback() {
        let env = Fake::new("1");
        env.alarms
            .borrow_mut()
            .insert("errors".into(), "ALARM".into());
        let mut d = deployment(linear(), appspec("1", ""));
        assert_eq!(advance(&mut d, at(1), &env, &T), None);
        assert_eq!(d.status, Status::Failed);
        assert_eq!(d.error.as_ref().unwrap().0, "ALARM_ACTIVE");
        assert!(
            env.alias
                .borrow()
                .as_ref()
                .unwrap()
                .additional_version
                .is_none()
        );

        let env = Fake::new("2");
        let mut d = deployment(linear(), appspec("1", ""));
        assert_eq!(advance(&mut d, at(1), &env, &T), None);
        assert_eq!(d.status, Status::Failed);
        assert_eq!(d.error.as_ref().unwrap().0, "INVALID_LAMBDA_CONFIGURATION");

        // An unreadable (missing) alarm fails unless ignorePollAlarmFailure.
        let env = Fake::new("1");
        let mut d = deployment(TrafficRouting::AllAtOnce, appspec("1", ""));
        advance(&mut d, at(1), &env, &T);
        assert_eq!(d.status, Status::Failed);
        let mut d = deployment(TrafficRouting::AllAtOnce, appspec("1", ""));
        d.alarms.ignore_poll_alarm_failure = true;
        advance(&mut d, at(1), &env, &T);
        assert_eq!(d.status, Status::Succeeded);

        let mut d = deployment(TrafficRouting::AllAtOnce, "version: 1".into());
        advance(&mut d, at(1), &env, &T);
        assert_eq!(d.error.as_ref().unwrap().0, "INVALID_REVISION");
    }

    #[test]
    fn hooks_succeed_fail_time_out_or_wait_for_a_report() {
        let hooks = "Hooks:\n  - BeforeAllowTraffic: pre\n  - AfterAllowTraffic: post\n";
        let mut env = Fake::new("1");
        env.alarms.borrow_mut().insert("errors".into(), "OK".into());
        env.hook = Some(HookBehavior::Succeed);
        let mut d = deployment(TrafficRouting::AllAtOnce, appspec("1", hooks));
        advance(&mut d, at(0), &env, &T);
        assert!(matches!(d.phase, Phase::BeforeHook(_)));
        advance(&mut d, at(5), &env, &T);
        assert_eq!(d.status, Status::Succeeded);
        assert_eq!(d.complete_time, Some(at(2)));
        assert_eq!(
            *env.invoked.borrow(),
            vec!["pre".to_string(), "post".to_string()]
        );

        *env.alias.borrow_mut() = Fake::new("1").alias.into_inner();
        env.hook = Some(HookBehavior::Fail);
        let mut d = deployment(TrafficRouting::AllAtOnce, appspec("1", hooks));
        let rb = advance(&mut d, at(5), &env, &T).expect("DEPLOYMENT_FAILURE rolls back");
        assert_eq!(rb.to_version, "1");
        assert_eq!(d.status, Status::Failed);
        assert_eq!(d.error.as_ref().unwrap().0, "HOOK_EXECUTION_FAILURE");

        *env.alias.borrow_mut() = Fake::new("1").alias.into_inner();
        env.hook = Some(HookBehavior::Timeout);
        let mut d = deployment(TrafficRouting::AllAtOnce, appspec("1", hooks));
        advance(&mut d, at(3599), &env, &T);
        assert_eq!(d.status, Status::InProgress);
        advance(&mut d, at(3600), &env, &T);
        assert_eq!(d.status, Status::Failed);
        assert!(d.error.as_ref().unwrap().1.contains("3600"));

        *env.alias.borrow_mut() = Fake::new("1").alias.into_inner();
        env.hook = None;
        let mut d = deployment(TrafficRouting::AllAtOnce, appspec("1", hooks));
        advance(&mut d, at(100), &env, &T);
        let id = d.running_hook().unwrap().execution_id.clone();
        assert!(d.report_hook("nope", true, at(100)).is_err());
        d.report_hook(&id, true, at(100)).unwrap();
        advance(&mut d, at(100), &env, &T);
        let after = d.running_hook().unwrap().execution_id.clone();
        assert_eq!(
            d.report_hook(&id, true, at(101)).unwrap_err().0,
            "LifecycleEventAlreadyCompletedException"
        );
        d.report_hook(&after, false, at(101)).unwrap();
        let rb = advance(&mut d, at(101), &env, &T);
        assert_eq!(d.status, Status::Failed);
        assert!(
            rb.is_some(),
            "AfterAllowTraffic failed after the shift: rollback"
        );
    }

    #[test]
    fn manual_stop_with_and_without_rollback() {
        let env = Fake::new("1");
        env.alarms.borrow_mut().insert("errors".into(), "OK".into());
        let mut d = deployment(linear(), appspec("1", ""));
        advance(&mut d, at(70), &env, &T);
        assert!(
            d.stop_by_request(at(70), None).is_none(),
            "STOP_ON_REQUEST not configured"
        );
        assert_eq!(d.status, Status::Stopped);
        *env.alias.borrow_mut() = Fake::new("1").alias.into_inner();
        let mut d = deployment(linear(), appspec("1", ""));
        advance(&mut d, at(70), &env, &T);
        let rb = d.stop_by_request(at(70), Some(true)).unwrap();
        assert_eq!(rb.to_version, "1");
    }

    #[test]
    fn same_current_and_target_version_completes_at_once() {
        let env = Fake::new("1");
        env.alarms.borrow_mut().insert("errors".into(), "OK".into());
        let content = appspec("1", "").replace("TargetVersion: '2'", "TargetVersion: '1'");
        let mut d = deployment(linear(), content);
        advance(&mut d, at(0), &env, &T);
        assert_eq!(d.status, Status::Succeeded);
        let a = env.alias.borrow().clone().unwrap();
        assert_eq!(
            (a.function_version.as_str(), a.additional_version),
            ("1", None)
        );
    }

    #[test]
    fn rollback_deployment_resets_the_alias() {
        let env = Fake::new("1");
        env.set_alias_routing("fn", "live", "1", Some(("2".into(), 0.4)))
            .unwrap();
        let mut d = deployment(
            TrafficRouting::AllAtOnce,
            appspec::rollback_content("fn", "live", "2", "1"),
        );
        d.creator = Creator::CodeDeployRollback;
        d.alarms = AlarmConfig::default();
        advance(&mut d, at(0), &env, &T);
        let a = env.alias.borrow().clone().unwrap();
        assert_eq!(
            (a.function_version.as_str(), a.additional_version),
            ("1", None)
        );
        assert_eq!(d.status, Status::InProgress);
        advance(&mut d, at(1), &env, &T);
        assert_eq!(d.status, Status::Succeeded);
    }

    fn linear_50() -> TrafficRouting {
        TrafficRouting::TimeBasedLinear {
            percentage: 50,
            interval_minutes: 1,
        }
    }

    use super::calls::{GET_ALIAS, GET_PROVISIONED_CONCURRENCY_CONFIG as GET_PCC, UPDATE_ALIAS};

    #[test]
    fn every_moment_makes_its_lambda_calls() {
        let env = Fake::new("1");
        env.alarms.borrow_mut().insert("errors".into(), "OK".into());
        let mut d = deployment(linear_50(), appspec("1", ""));
        advance(&mut d, at(0), &env, &T);
        assert_eq!(
            env.admitted(),
            vec![
                // The start's reads, then the first step.
                (GET_ALIAS, 0),
                (GET_PCC, 0),
                (GET_ALIAS, 0),
                (GET_PCC, 0),
                (UPDATE_ALIAS, 0),
            ]
        );
        advance(&mut d, at(100), &env, &T);
        assert_eq!(d.status, Status::Succeeded);
        assert_eq!(
            env.admitted()[5..],
            [
                (GET_ALIAS, 60),
                (GET_PCC, 60),
                (UPDATE_ALIAS, 60),
                // The end's read.
                (GET_ALIAS, 60)
            ]
        );
        assert_eq!(d.lambda_attempts, 9);
        // Fewer calls per step: the start has no reads left.
        let env = Fake::new("1");
        env.alarms.borrow_mut().insert("errors".into(), "OK".into());
        let one = Timing {
            calls: LambdaCalls {
                calls_per_step: 1,
                ..T.calls
            },
            ..T
        };
        let mut d = deployment(TrafficRouting::AllAtOnce, appspec("1", ""));
        advance(&mut d, at(0), &env, &one);
        assert_eq!(d.status, Status::Succeeded);
        assert_eq!(env.admitted(), vec![(UPDATE_ALIAS, 0), (GET_ALIAS, 0)]);
    }

    #[test]
    fn a_step_throttled_for_less_than_the_window_happens_late() {
        let env = Fake::new("1");
        env.alarms.borrow_mut().insert("errors".into(), "OK".into());
        let mut d = deployment(linear_50(), appspec("1", ""));
        advance(&mut d, at(30), &env, &T);
        *env.throttle.borrow_mut() = Some((Some(UPDATE_ALIAS), at(75)));
        advance(&mut d, at(70), &env, &T);
        assert!(matches!(d.phase, Phase::Calling(_)), "{:?}", d.phase);
        assert_eq!(d.target.as_ref().unwrap().weight, 0.5);
        advance(&mut d, at(200), &env, &T);
        assert_eq!(d.status, Status::Succeeded);
        let hist: Vec<(f64, f64)> = d
            .traffic_history
            .iter()
            .map(|(t, w)| (t.duration_since(t0()).unwrap().as_secs_f64(), *w))
            .collect();
        // The second step waits for its UpdateAlias (due at 60 s, admitted
        // from 75 s, within its 30 s window).
        assert_eq!(hist.len(), 2);
        assert_eq!(hist[0], (0.0, 0.5));
        assert!(hist[1].0 >= 75.0 && hist[1].0 <= 90.0, "{hist:?}");
        assert_eq!(hist[1].1, 1.0);
        assert_eq!(d.complete_time, Some(d.traffic_history[1].0));
        // Each retry waited longer (equal jitter doubles the cap).
        let tries: Vec<f64> = env
            .lambda
            .borrow()
            .iter()
            .filter(|c| c.0 == UPDATE_ALIAS && !c.2)
            .map(|c| c.1.duration_since(t0()).unwrap().as_secs_f64())
            .collect();
        let gaps: Vec<f64> = tries.windows(2).map(|w| w[1] - w[0]).collect();
        assert!(gaps.len() >= 4, "{tries:?}");
        for (i, g) in gaps.iter().enumerate() {
            let cap = (0.5 * 2f64.powi(i as i32)).min(20.0);
            assert!(*g >= cap / 2.0 - 1e-9 && *g <= cap + 1e-9, "{gaps:?}");
        }
    }

    #[test]
    fn a_step_throttled_for_its_whole_window_fails_throttled_and_rolls_back() {
        let env = Fake::new("1");
        env.alarms.borrow_mut().insert("errors".into(), "OK".into());
        let mut d = deployment(linear_50(), appspec("1", ""));
        advance(&mut d, at(30), &env, &T);
        *env.throttle.borrow_mut() = Some((Some(UPDATE_ALIAS), at(1000)));
        let rb = advance(&mut d, at(500), &env, &T).expect("a validated deployment rolls back");
        assert_eq!(d.status, Status::Failed);
        assert_eq!(d.complete_time, Some(at(90)), "the window's end");
        let (code, msg) = d.error.clone().unwrap();
        assert_eq!(code, "THROTTLED");
        assert!(
            msg.starts_with("The number of requests by the IAM role arn:aws:iam::123456789012:role/CodeDeployServiceRole exceeded the request limit for AWSLambda"),
            "{msg}"
        );
        assert!(msg.contains("UpdateAlias on the alias live of fn"), "{msg}");
        assert_eq!(
            (rb.from_version.as_str(), rb.to_version.as_str()),
            ("2", "1")
        );
        // The alias stays where the last admitted step put it.
        let a = env.alias.borrow().clone().unwrap();
        assert_eq!(a.additional_version, Some(("2".into(), 0.5)));
        let last = env.lambda.borrow().last().map(|c| (c.0, c.1, c.2));
        assert_eq!(last, Some((UPDATE_ALIAS, at(90), false)));
        let ev: Vec<&str> = d
            .target
            .as_ref()
            .unwrap()
            .events
            .iter()
            .map(|e| e.status)
            .collect();
        assert_eq!(ev, vec!["Skipped", "Failed", "Skipped"]);
    }

    #[test]
    fn throttled_before_validation_fails_without_rollback() {
        let env = Fake::new("1");
        env.alarms.borrow_mut().insert("errors".into(), "OK".into());
        *env.throttle.borrow_mut() = Some((None, at(1000)));
        let mut d = deployment(linear_50(), appspec("1", ""));
        assert_eq!(advance(&mut d, at(500), &env, &T), None);
        assert_eq!(d.status, Status::Failed);
        assert_eq!(d.error.as_ref().unwrap().0, "THROTTLED");
        assert!(d.error.as_ref().unwrap().1.contains("GetAlias"));
        assert_eq!(d.complete_time, Some(at(30)));
        assert!(!d.validated);
        assert!(env.admitted().is_empty());
        assert_eq!(
            env.alias.borrow().as_ref().unwrap().additional_version,
            None
        );
    }

    #[test]
    fn a_throttled_rollback_fails_and_leaves_the_alias() {
        let env = Fake::new("1");
        env.set_alias_routing("fn", "live", "1", Some(("2".into(), 0.4)))
            .unwrap();
        *env.throttle.borrow_mut() = Some((Some(UPDATE_ALIAS), at(1000)));
        let mut d = deployment(
            TrafficRouting::AllAtOnce,
            appspec::rollback_content("fn", "live", "2", "1"),
        );
        d.creator = Creator::CodeDeployRollback;
        d.alarms = AlarmConfig::default();
        assert_eq!(
            advance(&mut d, at(100), &env, &T),
            None,
            "no rollback of a rollback"
        );
        assert_eq!(d.status, Status::Failed);
        assert_eq!(d.error.as_ref().unwrap().0, "THROTTLED");
        let a = env.alias.borrow().clone().unwrap();
        assert_eq!(a.additional_version, Some(("2".into(), 0.4)));
        // Its reads were admitted: a rollback spends quota like any deployment.
        assert_eq!(
            env.admitted(),
            vec![(GET_ALIAS, 0), (GET_PCC, 0), (GET_ALIAS, 0), (GET_PCC, 0)]
        );
    }

    #[test]
    fn step_runs_one_event_at_a_time() {
        let env = Fake::new("1");
        env.alarms.borrow_mut().insert("errors".into(), "OK".into());
        let mut d = deployment(linear_50(), appspec("1", ""));
        assert_eq!(next_due(&d), Some(at(0)));
        assert!(matches!(step(&mut d, at(0), &env, &T), Stepped::Ran(None)));
        // The start ran; the first step is due at once.
        assert_eq!(next_due(&d), Some(at(0)));
        assert!(matches!(step(&mut d, at(0), &env, &T), Stepped::Ran(None)));
        assert_eq!(d.target.as_ref().unwrap().weight, 0.5);
        // Next: the alarm check at 10 s, before the step at 60 s.
        assert_eq!(next_due(&d), Some(at(10)));
        assert_eq!(step(&mut d, at(9), &env, &T), Stepped::Idle);
    }
}
