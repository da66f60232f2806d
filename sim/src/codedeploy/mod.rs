//! CodeDeploy (awsJson1_1, `X-Amz-Target: CodeDeploy_20141006.<Op>`) for
//! computePlatform Lambda, with deployments that really run on the simulated
//! clock: they shift a Lambda alias's weights step by step through
//! [`crate::lambda::Lambda::set_alias_routing`], making the Lambda calls
//! AWS's CodeDeploy makes against Lambda's request quota, watch CloudWatch
//! alarms, run lifecycle hooks, and roll back. This module is the wire and
//! the shared state; `handlers` validates and answers each operation,
//! `engine` moves deployments, `calls` knows the Lambda calls of each moment
//! and their retries, `configs` knows the deployment configs and their
//! schedules, `appspec` parses AppSpecs. It reaches Lambda and CloudWatch
//! only through their internal APIs, never over HTTP.
//!
//! | operation | simulated |
//! |---|---|
//! | CreateApplication / GetApplication / BatchGetApplications / ListApplications / DeleteApplication | any computePlatform may be created; only Lambda applications can have deployment groups (others → `InvalidInputException`) |
//! | CreateDeploymentGroup / GetDeploymentGroup / UpdateDeploymentGroup / ListDeploymentGroups / DeleteDeploymentGroup | `serviceRoleArn` must be an IAM role ARN (never assumed); deploymentStyle must be BLUE_GREEN + WITH_TRAFFIC_CONTROL (absent = that); ≤ 10 alarms; EC2/ASG/ELB/ECS settings refused; default config `CodeDeployDefault.LambdaAllAtOnce`; triggers ignored |
//! | GetDeploymentConfig / CreateDeploymentConfig / ListDeploymentConfigs / DeleteDeploymentConfig | the 9 predefined `CodeDeployDefault.Lambda*` configs (Server/ECS predefined configs are not listed); custom TimeBasedCanary / TimeBasedLinear (percent 1–99, interval ≥ 1 min) / AllAtOnce, ≤ 50 per region; Server configs are stored but never run |
//! | CreateDeployment | revision `AppSpecContent` or `String` (YAML or JSON; `sha256` checked when given → `InvalidRevisionException`); S3/GitHub revisions refused; one active deployment per group (`DeploymentLimitExceededException` naming it); `deploymentConfigName`, `overrideAlarmConfiguration`, `autoRollbackConfiguration` overrides |
//! | GetDeployment / BatchGetDeployments (≤ 25) / ListDeployments (app+group, statuses, createTimeRange, pages of 100, newest first) | `deploymentOverview` counts the single Lambda target |
//! | StopDeployment | stops at once (status `Stopped`, error `MANUAL_STOP`); with rollback (`autoRollbackEnabled`, or the deployment's DEPLOYMENT_STOP_ON_REQUEST when absent) answers `Pending` and starts a rollback deployment; without it answers `Succeeded` and **leaves the alias where it was**, weights included (as AWS, whose next deployment then fails until the routing is removed) |
//! | GetDeploymentTarget / ListDeploymentTargets / BatchGetDeploymentTargets | one `LambdaTarget`, target id `function:alias` (the bare function name is accepted too); lifecycle events BeforeAllowTraffic, AllowTraffic, AfterAllowTraffic; live `targetVersionWeight` |
//! | PutLifecycleEventHookExecutionStatus | Succeeded / Failed for the running hook's execution id |
//!
//! How a deployment runs (all on the simulated clock, caught up event by event
//! when the clock jumps):
//! - `Created` until the next tick, then `InProgress`: the AppSpec is parsed
//!   (errors fail it with `INVALID_REVISION`), the function, alias and both
//!   versions must exist (`INVALID_LAMBDA_FUNCTION`), the alias must point at
//!   `CurrentVersion` with no routing config (`INVALID_LAMBDA_CONFIGURATION`),
//!   and no alarm may be in ALARM (`ALARM_ACTIVE`). These failures happen
//!   before anything moved, so they never start a rollback.
//! - BeforeAllowTraffic hook → the config's steps through `set_alias_routing`
//!   (weight < 1: alias on CurrentVersion plus TargetVersion at that weight;
//!   last step: alias on TargetVersion, no routing) → AfterAllowTraffic hook →
//!   `Succeeded`.
//! - Alarms (the group's, or `overrideAlarmConfiguration`) are read every
//!   `--alarm-poll` while InProgress. An alarm in ALARM stops the deployment:
//!   status `Stopped`, error `ALARM_ACTIVE`. An alarm that does not exist
//!   counts as a failed poll: same, unless `ignorePollAlarmFailure`.
//! - Hooks: the sim invokes the hook function (`invoke_internal`); the invoked
//!   version's `.sim/behavior.json` `hook` says `succeed` / `fail` (reported 1
//!   simulated second later) or `timeout`; without it the sim waits for
//!   PutLifecycleEventHookExecutionStatus ([`CodeDeploy::pending_hooks`] lists
//!   the ids). No report within `--hook-timeout` → `Failed`,
//!   `HOOK_EXECUTION_FAILURE`; a Failed report → the same code.
//! - Rollback (autoRollbackConfiguration event DEPLOYMENT_FAILURE /
//!   DEPLOYMENT_STOP_ON_ALARM, or StopDeployment with rollback): a new
//!   deployment, creator `codeDeployRollback`, AppSpec with the versions
//!   swapped, puts the alias back on 100 % CurrentVersion in one step (no
//!   hooks, no alarms) and succeeds 1 simulated second later; `rollbackInfo`
//!   links both deployments.
//! - Lambda calls (`calls`; what `AWSCodeDeployRoleForLambda` grants): the
//!   start reads (GetAlias, GetProvisionedConcurrencyConfig) before it
//!   validates; each traffic step reads the same, then UpdateAlias; the end
//!   reads the alias once; a rollback makes the same calls for its one
//!   step. `callsPerStep` (default 3) sets a step's count. Each call spends
//!   Lambda's request quota as the account's other callers do, judged on
//!   the simulated clock ([`crate::lambda::Lambda::admit_service_call`],
//!   caller `CodeDeploy` in `GET /_sim/lambda/quota`); a throttled one is
//!   retried with equal-jitter backoff (0.5 s doubling to 20 s) for 30
//!   simulated seconds from its first attempt, then the deployment fails:
//!   `Failed`, error `THROTTLED`, message "The number of requests by the IAM
//!   role <serviceRoleArn> exceeded the request limit for AWSLambda: …"
//!   (serverless-plugin-canary-deployments#159). Once validated it rolls back
//!   like any failure; a rollback that stays throttled fails the same way
//!   and leaves the alias where it was. A step whose UpdateAlias gets
//!   through late moves the alias late; later steps keep their places in the
//!   schedule. Deployments' events run in simulated-time order across all
//!   deployments, so many deployments stepping together meet the quota in
//!   the same order at any time scale.
//!
//! - Catch-up: when the clock jumps, every due step is applied in order and
//!   recorded at its own simulated time ([`CodeDeploy::traffic_history`]).
//!   Alarm states cannot be known for the past, so the first alarm check due
//!   in the jump reads the current state: an alarm firing now stops the
//!   deployment before the steps that followed that check.
//! - `CurrentVersion` = `TargetVersion`: nothing to shift, it succeeds at once.
//! - Deployment ids (`d-` + 9 of `[A-Z0-9]`) are regional; a malformed id →
//!   `InvalidDeploymentIdException`.
//!
//! Decisions where AWS documents no exact behaviour: the alarm-stopped status
//! (`Stopped`) versus the failed-at-start status (`Failed`); error codes
//! `INVALID_LAMBDA_FUNCTION` (missing function/alias/version),
//! `HOOK_EXECUTION_FAILURE` (hook Failed or silent), `MANUAL_STOP`; a
//! missing alarm treated as a failed alarm poll; rollbacks only after the
//! AppSpec and alias were validated; which Lambda calls each moment makes,
//! their retry policy and window, and `THROTTLED` (the model's "the calling
//! account exceeded the throttling limits of one or more Amazon Web
//! Services services") for a call throttled past it.
//!
//! Every request is first checked against its operation's model rules
//! (required members, enums; `crate::validate`), before anything is looked
//! up, and refused with the exception the operation's model lists for the
//! member (`validation_error`).
//!
//! Not simulated: IAM (the role is never assumed), triggers (SNS), tags,
//! EC2/On-premises and ECS deployments, GitHub/S3 revisions, and the hook
//! functions' code (their behaviour comes from `.sim/behavior.json`).

mod appspec;
mod calls;
mod configs;
mod engine;
mod handlers;

pub use calls::LambdaCalls;

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use http::Response;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::error::AwsError;
use crate::lambda::HookBehavior;
use crate::server::Ctx;
use crate::wire::{Body, JsonVersion, Request};
use crate::{Config, Sim};

use engine::{Creator, Deployment, Phase, RollbackInfo, RollbackRequest, Status, Timing};
use handlers::State;

/// Every operation this service serves, by its model name; any other is
/// answered as an unknown operation. `validate::model` holds their request
/// rules and the conformance test walks each of them.
pub const OPERATIONS: &[&str] = &[
    "CreateApplication",
    "GetApplication",
    "BatchGetApplications",
    "ListApplications",
    "DeleteApplication",
    "CreateDeploymentGroup",
    "GetDeploymentGroup",
    "UpdateDeploymentGroup",
    "ListDeploymentGroups",
    "DeleteDeploymentGroup",
    "GetDeploymentConfig",
    "CreateDeploymentConfig",
    "DeleteDeploymentConfig",
    "ListDeploymentConfigs",
    "CreateDeployment",
    "GetDeployment",
    "BatchGetDeployments",
    "ListDeployments",
    "StopDeployment",
    "GetDeploymentTarget",
    "ListDeploymentTargets",
    "BatchGetDeploymentTargets",
    "PutLifecycleEventHookExecutionStatus",
];

/// The CodeDeploy service: applications, groups, configs and deployments,
/// per region.
#[derive(Debug)]
pub struct CodeDeploy {
    state: Mutex<State>,
    /// Timing knobs; its `calls` are replaced by [`CodeDeploy::lambda_calls`]'s.
    timing: Timing,
    /// The Lambda calls each moment makes and their retries (changeable at
    /// run time through the control API).
    lambda_calls: Mutex<LambdaCalls>,
    /// `createTime` of the predefined configs.
    started: SystemTime,
}

/// Lambda and CloudWatch of one region, as the engine sees them.
struct SimEnv<'a> {
    sim: &'a Sim,
    region: &'a str,
    /// The simulated instant of the event being run.
    at: SystemTime,
}

impl engine::Env for SimEnv<'_> {
    fn function_exists(&self, function: &str) -> bool {
        self.sim.lambda.function_exists(self.region, function)
    }

    fn version_exists(&self, function: &str, version: &str) -> bool {
        self.sim
            .lambda
            .version_exists(self.region, function, version)
    }

    fn get_alias(&self, function: &str, alias: &str) -> Option<crate::lambda::AliasInfo> {
        self.sim.lambda.get_alias(self.region, function, alias)
    }

    fn set_alias_routing(
        &self,
        function: &str,
        alias: &str,
        version: &str,
        additional: Option<(String, f64)>,
    ) -> Result<(), String> {
        // The traffic owed up to the step goes by the routing before it
        // (traffic already generated past the step's instant, when the
        // clock jumped over it, stays as it was: see `traffic.rs`).
        self.sim.traffic.catch_up(self.sim, self.at);
        self.sim
            .lambda
            .set_alias_routing(self.region, function, alias, version, additional)
            .map(|_| ())
            .map_err(|e| e.message)
    }

    fn alarm_state(&self, name: &str) -> Option<String> {
        self.sim.cloudwatch.alarm_state(self.region, name)
    }

    fn invoke_hook(&self, function_ref: &str) -> Result<Option<HookBehavior>, String> {
        let (name, qualifier) = appspec::function_ref(function_ref);
        let outcome = self
            .sim
            .lambda
            .invoke_internal(self.region, &name, qualifier.as_deref())
            .map_err(|e| e.message)?;
        Ok(self
            .sim
            .lambda
            .behavior(self.region, &name, &outcome.executed_version)
            .and_then(|b| b.hook))
    }

    fn lambda_call(&self, operation: &'static str, at: SystemTime) -> bool {
        self.sim.lambda.admit_service_call(
            self.region,
            operation,
            CALLER,
            at,
            self.sim.clock.scale(),
        )
    }
}

/// How CodeDeploy's calls are named in Lambda's quota report.
pub const CALLER: &str = "CodeDeploy";

impl CodeDeploy {
    pub fn new(config: &Config) -> Self {
        CodeDeploy {
            state: Mutex::new(State::default()),
            timing: Timing {
                alarm_poll: config.alarm_poll,
                hook_timeout: config.hook_timeout,
                hook_report_delay: Duration::from_secs(1),
                calls: config.codedeploy_lambda_calls,
                seed: config.seed,
            },
            lambda_calls: Mutex::new(config.codedeploy_lambda_calls),
            started: SystemTime::now(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        crate::lock(&self.state)
    }

    /// Runs deployments forward on the simulated clock. Cheap when none is active.
    pub fn tick(&self, sim: &Arc<Sim>, now: SystemTime) {
        let mut st = self.lock();
        if st.active.is_empty() {
            return;
        }
        self.run(&mut st, sim, now);
    }

    /// The Lambda calls each moment of a deployment makes, and how a
    /// throttled one is retried.
    pub fn lambda_calls(&self) -> LambdaCalls {
        *crate::lock(&self.lambda_calls)
    }

    /// Changes them for the calls made from now on.
    pub fn set_lambda_calls(&self, calls: LambdaCalls) {
        *crate::lock(&self.lambda_calls) = calls;
    }

    /// Runs every active deployment's events due by `now`, all deployments
    /// together in time order (earliest first; at the same instant, the
    /// older deployment first). So their Lambda calls meet the shared
    /// quota in the order simulated time gives them, however coarsely the
    /// clock was ticked: a schedule throttles alike at any time scale.
    fn run(&self, st: &mut State, sim: &Sim, now: SystemTime) {
        let timing = Timing {
            calls: self.lambda_calls(),
            ..self.timing
        };
        st.active.retain(|id| st.deployments.contains_key(id));
        loop {
            let mut earliest: Option<(SystemTime, usize)> = None;
            for (i, id) in st.active.iter().enumerate() {
                let due = st.deployments.get(id).and_then(engine::next_due);
                if let Some(t) = due.filter(|t| *t <= now)
                    && earliest.is_none_or(|(e, _)| t < e)
                {
                    earliest = Some((t, i));
                }
            }
            let Some((at, i)) = earliest else {
                break;
            };
            let id = st.active[i].clone();
            let Some(d) = st.deployments.get_mut(&id) else {
                break;
            };
            let region = d.region.clone();
            let env = SimEnv {
                sim,
                region: &region,
                at,
            };
            let stepped = engine::step(d, now, &env, &timing);
            let done = !d.status.is_active();
            if let engine::Stepped::Ran(Some(req)) = stepped {
                let rb = start_rollback(st, &id, req);
                st.active.push(rb);
            }
            if done {
                st.active.remove(i);
            }
        }
        let deployments = &st.deployments;
        st.active
            .retain(|id| deployments.get(id).is_some_and(|d| d.status.is_active()));
    }

    /// Hooks waiting for an external `PutLifecycleEventHookExecutionStatus`:
    /// `(deployment id, lifecycleEventHookExecutionId, hook function)`.
    pub fn pending_hooks(&self) -> Vec<(String, String, String)> {
        let st = self.lock();
        st.active
            .iter()
            .filter_map(|id| st.deployments.get(id))
            .filter_map(|d| {
                d.running_hook()
                    .filter(|h| h.report.is_none())
                    .map(|h| (d.id.clone(), h.execution_id.clone(), h.function.clone()))
            })
            .collect()
    }

    /// Every weight a deployment applied to its alias, with the simulated
    /// time of each step (for assertions).
    pub fn traffic_history(&self, deployment_id: &str) -> Vec<(SystemTime, f64)> {
        self.lock()
            .deployments
            .get(deployment_id)
            .map(|d| d.traffic_history.clone())
            .unwrap_or_default()
    }

    fn stop_deployment(
        &self,
        sim: &Sim,
        region: &str,
        now: SystemTime,
        b: &Value,
    ) -> Result<Value, AwsError> {
        let id = handlers::deployment_id(b)?;
        let id = id.as_str();
        let rollback = b.get("autoRollbackEnabled").and_then(Value::as_bool);
        let mut st = self.lock();
        // Bring the deployment up to now before stopping it.
        self.run(&mut st, sim, now);
        let Some(d) = st.deployments.get_mut(id).filter(|d| d.region == region) else {
            return Err(AwsError::bad_request(
                "DeploymentDoesNotExistException",
                format!("The deployment {id} could not be found."),
            ));
        };
        if !d.status.is_active() {
            return Err(AwsError::bad_request(
                "DeploymentAlreadyCompletedException",
                format!("The deployment {id} has already completed."),
            ));
        }
        let id = d.id.clone();
        match d.stop_by_request(now, rollback) {
            Some(req) => {
                let rb = start_rollback(&mut st, &id, req);
                st.active.push(rb.clone());
                st.active.retain(|x| *x != id);
                self.run(&mut st, sim, now);
                Ok(json!({
                    "status": "Pending",
                    "statusMessage": format!("Deployment {id} stopped; rollback deployment {rb} is restoring the previous version"),
                }))
            }
            None => {
                st.active.retain(|x| *x != id);
                Ok(json!({
                    "status": "Succeeded",
                    "statusMessage": format!("Deployment {id} stopped; the alias was left as it was (no rollback)"),
                }))
            }
        }
    }

    fn put_hook_status(
        &self,
        sim: &Sim,
        region: &str,
        now: SystemTime,
        b: &Value,
    ) -> Result<Value, AwsError> {
        let id = handlers::deployment_id(b)?;
        let id = id.as_str();
        let Some(exec) = b
            .get("lifecycleEventHookExecutionId")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
        else {
            return Err(AwsError::bad_request(
                "InvalidLifecycleEventHookExecutionIdException",
                "A lifecycle event hook execution id must be specified.",
            ));
        };
        let succeeded = match b.get("status").and_then(Value::as_str) {
            Some("Succeeded") => true,
            Some("Failed") => false,
            other => {
                return Err(AwsError::bad_request(
                    "InvalidLifecycleEventHookExecutionStatusException",
                    format!(
                        "The lifecycle event hook status {:?} is invalid: it should be Succeeded or Failed",
                        other.unwrap_or("")
                    ),
                ));
            }
        };
        let mut st = self.lock();
        self.run(&mut st, sim, now);
        let Some(d) = st.deployments.get_mut(id).filter(|d| d.region == region) else {
            return Err(AwsError::bad_request(
                "DeploymentDoesNotExistException",
                format!("The deployment {id} could not be found."),
            ));
        };
        d.report_hook(exec, succeeded, now)
            .map_err(|(code, msg)| AwsError::bad_request(code, msg))?;
        self.run(&mut st, sim, now);
        Ok(json!({"lifecycleEventHookExecutionId": exec}))
    }
}

/// Creates the rollback deployment `req` asks for and links both ways.
fn start_rollback(st: &mut State, triggering: &str, req: RollbackRequest) -> String {
    let Some(orig) = st.deployments.get(triggering).cloned() else {
        return String::new();
    };
    let content = appspec::rollback_content(
        &req.function,
        &req.alias,
        &req.from_version,
        &req.to_version,
    );
    let sha = hex::encode(Sha256::digest(content.as_bytes()));
    let id = loop {
        let hex = uuid::Uuid::new_v4().simple().to_string().to_uppercase();
        let id = format!("d-{}", &hex[..9]);
        if !st.deployments.contains_key(&id) {
            break id;
        }
    };
    let rb = Deployment {
        id: id.clone(),
        seq: st.order.len() as u64,
        service_role_arn: orig.service_role_arn.clone(),
        region: orig.region.clone(),
        application_name: orig.application_name.clone(),
        group_name: orig.group_name.clone(),
        config_name: orig.config_name.clone(),
        routing: orig.routing,
        revision: json!({"revisionType": "AppSpecContent", "appSpecContent": {"content": content, "sha256": sha}}),
        appspec_content: content,
        description: Some(format!("Rollback of deployment {triggering}")),
        creator: Creator::CodeDeployRollback,
        status: Status::Created,
        error: None,
        create_time: req.at,
        start_time: None,
        complete_time: None,
        auto_rollback: Default::default(),
        auto_rollback_json: None,
        alarms: Default::default(),
        override_alarm_json: None,
        rollback_info: Some(RollbackInfo {
            rollback_deployment_id: None,
            rollback_triggering_deployment_id: Some(triggering.to_string()),
            rollback_message: Some(format!(
                "Rolling back deployment {triggering}: alias {} of {} back to version {}",
                req.alias, req.function, req.to_version
            )),
        }),
        status_messages: Vec::new(),
        target: None,
        phase: Phase::Created,
        next_alarm_check: req.at,
        hooks: Vec::new(),
        traffic_history: Vec::new(),
        validated: false,
        lambda_attempts: 0,
    };
    st.deployments.insert(id.clone(), rb);
    st.order.push(id.clone());
    if let Some(o) = st.deployments.get_mut(triggering) {
        o.rollback_info = Some(RollbackInfo {
            rollback_deployment_id: Some(id.clone()),
            rollback_triggering_deployment_id: None,
            rollback_message: Some(format!(
                "Automatic rollback triggered ({}); rollback deployment {id} restores version {}",
                req.reason, req.to_version
            )),
        });
    }
    id
}

/// CodeDeploy's error for a request the model's constraints refuse: the
/// specific exception the operation's model lists for that member (CodeDeploy
/// has one per input, e.g. `ApplicationNameRequiredException`,
/// `InvalidDeploymentStyleException`), worded as its request validation does.
fn validation_error(v: &crate::validate::Violation) -> AwsError {
    let required = v.value.is_none();
    let top = v.at.first().and_then(|s| match s {
        crate::validate::Step::Member(m) => Some(m.as_str()),
        _ => None,
    });
    let (code, message) = match (required, top.unwrap_or_default()) {
        (true, "applicationName" | "applicationNames") => (
            "ApplicationNameRequiredException",
            "The minimum number of required application names was not specified.".to_string(),
        ),
        (true, "deploymentGroupName" | "currentDeploymentGroupName") => (
            "DeploymentGroupNameRequiredException",
            "The deployment group name was not specified.".to_string(),
        ),
        (true, "serviceRoleArn") => (
            "RoleRequiredException",
            "The role ID was not specified: serviceRoleArn is required.".to_string(),
        ),
        (true, "deploymentConfigName") => (
            "DeploymentConfigNameRequiredException",
            "The deployment configuration name was not specified.".to_string(),
        ),
        (true, "deploymentId" | "deploymentIds") => (
            "DeploymentIdRequiredException",
            "At least one deployment ID must be specified.".to_string(),
        ),
        (true, "targetId" | "targetIds") => (
            "DeploymentTargetIdRequiredException",
            "A deployment target ID was not provided.".to_string(),
        ),
        (_, member) => {
            let code = match member {
                "computePlatform" => "InvalidComputePlatformException",
                "ec2TagFilters" => "InvalidEC2TagException",
                "onPremisesInstanceTagFilters" => "InvalidTagException",
                "triggerConfigurations" => "InvalidTriggerConfigException",
                "autoRollbackConfiguration" => "InvalidAutoRollbackConfigException",
                "deploymentStyle" => "InvalidDeploymentStyleException",
                "blueGreenDeploymentConfiguration" => {
                    "InvalidBlueGreenDeploymentConfigurationException"
                }
                "minimumHealthyHosts" => "InvalidMinimumHealthyHostValueException",
                "trafficRoutingConfig" => "InvalidTrafficRoutingConfigurationException",
                "zonalConfig" => "InvalidZonalDeploymentConfigurationException",
                "revision" => "InvalidRevisionException",
                "targetInstances" => "InvalidTargetInstancesException",
                "fileExistsBehavior" => "InvalidFileExistsBehaviorException",
                "includeOnlyStatuses" => "InvalidDeploymentStatusException",
                "targetFilters" => "InvalidTargetFilterNameException",
                "status" => "InvalidLifecycleEventHookExecutionStatusException",
                _ => "InvalidInputException",
            };
            (code, crate::validate::message(std::slice::from_ref(v)))
        }
    };
    AwsError::bad_request(code, message)
}

pub async fn handle(sim: &Arc<Sim>, ctx: &Ctx, req: Request) -> Result<Response<Body>, AwsError> {
    let bytes = crate::wire::read_body(req.into_body(), 8 * 1024 * 1024).await?;
    let body: Value = if bytes.iter().all(u8::is_ascii_whitespace) {
        json!({})
    } else {
        serde_json::from_slice(&bytes).map_err(|e| {
            AwsError::bad_request(
                "SerializationException",
                format!("The request body is not valid JSON: {e}"),
            )
        })?
    };
    if !body.is_object() {
        return Err(AwsError::bad_request(
            "SerializationException",
            "The request body must be a JSON object",
        ));
    }
    // The model's required members and enums, before anything is looked up.
    if let Some(v) = crate::validate::check("codedeploy", &ctx.operation, &body).first() {
        return Err(validation_error(v));
    }
    let cd = &sim.codedeploy;
    let region = ctx.region.as_str();
    let now = sim.clock.now();
    let out = match ctx.operation.as_str() {
        "StopDeployment" => cd.stop_deployment(sim, region, now, &body)?,
        "PutLifecycleEventHookExecutionStatus" => cd.put_hook_status(sim, region, now, &body)?,
        op => {
            let mut st = cd.lock();
            match op {
                "CreateApplication" => handlers::create_application(&mut st, region, now, &body)?,
                "GetApplication" => handlers::get_application(&st, region, &body)?,
                "BatchGetApplications" => handlers::batch_get_applications(&st, region, &body)?,
                "ListApplications" => handlers::list_applications(&st, region, &body)?,
                "DeleteApplication" => handlers::delete_application(&mut st, region, &body)?,
                "CreateDeploymentGroup" => {
                    handlers::create_deployment_group(&mut st, region, &body)?
                }
                "GetDeploymentGroup" => handlers::get_deployment_group(&st, region, &body)?,
                "UpdateDeploymentGroup" => {
                    handlers::update_deployment_group(&mut st, region, &body)?
                }
                "ListDeploymentGroups" => handlers::list_deployment_groups(&st, region, &body)?,
                "DeleteDeploymentGroup" => {
                    handlers::delete_deployment_group(&mut st, region, &body)?
                }
                "GetDeploymentConfig" => {
                    handlers::get_deployment_config(&st, region, cd.started, &body)?
                }
                "CreateDeploymentConfig" => {
                    handlers::create_deployment_config(&mut st, region, now, &body)?
                }
                "DeleteDeploymentConfig" => {
                    handlers::delete_deployment_config(&mut st, region, &body)?
                }
                "ListDeploymentConfigs" => handlers::list_deployment_configs(&st, region, &body)?,
                "CreateDeployment" => handlers::create_deployment(&mut st, region, now, &body)?,
                "GetDeployment" => handlers::get_deployment(&st, region, &body)?,
                "BatchGetDeployments" => handlers::batch_get_deployments(&st, region, &body)?,
                "ListDeployments" => handlers::list_deployments(&st, region, &body)?,
                "GetDeploymentTarget" => handlers::get_deployment_target(&st, region, &body)?,
                "ListDeploymentTargets" => handlers::list_deployment_targets(&st, region, &body)?,
                "BatchGetDeploymentTargets" => {
                    handlers::batch_get_deployment_targets(&st, region, &body)?
                }
                other => {
                    return Err(AwsError::bad_request(
                        "UnknownOperationException",
                        format!("aws-sim's CodeDeploy does not implement {other}"),
                    ));
                }
            }
        }
    };
    Ok(crate::wire::json_ok(
        JsonVersion::V1_1,
        &ctx.request_id,
        &out,
    ))
}
