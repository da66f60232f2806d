//! CodePipeline (awsJson1_1, `X-Amz-Target: CodePipeline_20150709.<Op>`): action
//! types, pipelines, an execution engine that runs stages and actions on the
//! simulated clock, and the custom-action job protocol the worker speaks.
//!
//! This module is the wire layer (decoding, dispatch, JSON helpers, the shared
//! state); `action_types`, `pipelines`, `triggers`, `executions` (the
//! engine), `rollback` and `jobs` hold the handlers. It reaches S3 only through S3's internal API
//! (`put/get/head/copy_object_internal`) and job credentials only through
//! [`crate::credentials`]; it knows nothing about HTTP beyond this file.
//! State is kept per region (the SigV4 scope's region).
//!
//! | operation | simulated behaviour (what differs from AWS) |
//! |---|---|
//! | `CreateCustomActionType` | every model limit; ≤10 properties, ≤1 queryable (required, non-secret); ≤50 custom types per region (`LimitExceededException`). Same category/provider/version again: identical definition → returns it; different definition → `ValidationException` (the only model error that fits; AWS documents definitions as immutable per version); a version deleted before cannot be created again (`ValidationException`, as AWS documents). |
//! | `ListActionTypes` | built-in `AWS` types `Source/S3`, `Source/CodeStarSourceConnection`, `Build/CodeBuild` plus custom types; `actionOwnerFilter`; one page (no `nextToken`). |
//! | `DeleteCustomActionType` | idempotent (no not-found error in the model). |
//! | `CreatePipeline` | structure checks (≥2 stages, first stage only and all Source actions, unique stage/action/artifact/namespace names, inputs produced earlier, artifact counts and configuration properties per action type, queryable value ≤20 `[A-Za-z0-9_-]`), `V1`/`V2`, `executionMode` (QUEUED/PARALLEL need V2). Stage `onFailure` (V2): `result` FAIL, ROLLBACK (not on the source stage: `InvalidStageDeclarationException`) or RETRY with `retryConfiguration.retryMode` (default FAILED_ACTIONS); SKIP → `ValidationException`. `triggers` (V2, `triggers.rs`): push filters on branches are simulated. Refused with a `ValidationException` naming the field (not simulated): stage conditions (`beforeEntry`, `onSuccess`, `onFailure.conditions`), trigger `tags`/`filePaths`/`pullRequest`, the Commands action's `commands`/`outputVariables`/`environmentVariables`/output artifact `files`, `timeoutInMinutes` (manual approval only), an action `region` other than the pipeline's. The artifact bucket is created when missing and becomes reachable only with job credentials. **Does not** start an execution (AWS does, trigger `CreatePipeline`). Blockers ("reserved for future use"), role ARNs, variable descriptions and tags are stored and echoed, not acted on. |
//! | `GetPipeline` / `UpdatePipeline` / `ListPipelines` / `DeletePipeline` | secret configuration values come back as `****`; sending `****` back keeps the old value; UpdatePipeline sets version+1 (the version in the request is ignored). Only the current version is kept (`PipelineVersionNotFoundException` for others). |
//! | `StartPipelineExecution` | runs the pipeline on the simulated clock. Stage locking as AWS: SUPERSEDED (newer waiting run supersedes older), QUEUED (FIFO), PARALLEL (no lock). `variables` (V2) resolve `#{variables.x}`. `sourceRevisions`, `clientRequestToken` are accepted and ignored. |
//! | `StopPipelineExecution` | `abandon: true` → in-flight actions Abandoned, their jobs terminal, execution Stopped at once; `false` → Stopping until in-flight actions finish, then Stopped. `PipelineExecutionNotStoppableException`, `DuplicatedStopRequestException`. |
//! | `GetPipelineState` / `GetPipelineExecution` / `ListPipelineExecutions` / `ListActionExecutions` | console view: per stage the latest execution with its `type` (STANDARD/ROLLBACK) and `retryStageMetadata` (automatic and manual retry attempts, latest retry trigger), per action the latest action execution (status, summary, percentComplete, externalExecutionId, externalExecutionUrl from the type's `executionUrlTemplate`, errorDetails, token); `trigger` (incl. `ManualRollback`, `AutomatedRollback`), `executionType`, `rollbackMetadata`, artifact revisions; resolved configuration, artifacts, output variables. |
//! | `RetryStageExecution` | FAILED_ACTIONS (re-runs failed/abandoned actions of the failed run-order group) and ALL_ACTIONS (the whole stage) in the same execution with the same input artifacts, as new action executions/jobs. `StageNotRetryableException` (stage not failed, pipeline updated since), `NotLatestPipelineExecutionException` (a later execution entered the stage), `StageNotFoundException`. A stage with `onFailure.result: RETRY` is retried the same way automatically, once per execution. |
//! | `RollbackStage` | see `rollback.rs`: V2 only (`ValidationException`); a new execution (`executionType` ROLLBACK, trigger `ManualRollback`, `rollbackMetadata`) running only the named stage with the target's artifacts, source revisions and variables. `UnableToRollbackStageException` (source stage, stage in progress, target a rollback or not succeeded in the stage), `PipelineExecutionOutdatedException` (target from an older pipeline version), `PipelineExecutionNotFoundException`, `StageNotFoundException`. A stage with `onFailure.result: ROLLBACK` that fails starts the same kind of execution (trigger `AutomatedRollback`) to the execution that last succeeded in it; without one it just fails. A rollback enters its stage before waiting standard executions and supersedes none. |
//! | `PollForJobs` / `AcknowledgeJob` / `GetJobDetails` / `PutJobSuccessResult` / `PutJobFailureResult` | see `jobs.rs`: the job protocol of BRIEF §3 with every field limit. PollForJobs: owner must be `Custom` (`ValidationException`), unknown type → `ActionTypeNotFoundException`, `queryParam` required iff the type has a queryable property and must name it, FIFO, at most min(`maxBatchSize`, 100) jobs; a dispatched job is not handed out again until its ack timeout. Every poll and GetJobDetails issues fresh artifact credentials (scoped to the artifact bucket, `--credential-ttl` real time). Continuation: a success with `continuationToken` finishes that job and queues a new job (new id and nonce) for the same action execution after `--continuation-delay`. `outputVariables` with a token → `ValidationException`; over 122,880 bytes → `OutputVariablesSizeExceededException`. Nonces are single-use: a second `AcknowledgeJob` of the same dispatch → `InvalidNonceException` (so exactly one worker proceeds). Results before the acknowledgement → `InvalidJobStateException`. Unacknowledged jobs are re-queued with a new nonce after `--ack-timeout`; jobs without a result time out after 24 h simulated (action Failed). |
//!
//! Every request is first checked against its operation's model rules
//! (required members, enums at every depth; `crate::validate`): 400
//! `ValidationException` listing each violation, before anything is looked up.
//!
//! Artifacts live in the pipeline's artifact store under
//! `<pipeline name, first 20 chars>/<artifact name, first 10 chars>/<7 random chars>`
//! (as AWS names them, e.g. `collect/SourceArti/Ab3xY9z`), written SSE-KMS
//! with the store's `encryptionKey` when it has one (the job data then carries
//! `encryptionKey {id, type: KMS}`). Output variables of an action with a
//! `namespace` resolve as `#{Namespace.Var}` in later actions' configuration
//! (the job's `actionConfiguration` and ListActionExecutions'
//! `resolvedConfiguration` hold resolved values); `#{variables.x}` and
//! `#{codepipeline.PipelineExecutionId}` resolve too. Unresolvable references
//! fail the action (`ConfigurationError`).
//!
//! Action providers that really run: `Source/S3` (copies the current object; revision = version id or ETag), `Source/CodeStarSourceConnection` (the zip of the last `POST /_sim/push` for the repository/branch; revision = commit id; fails when nothing was pushed), `Build/CodeBuild` (**simulated as a pass-through**: copies its primary input artifact to each output artifact, no build runs) and every custom action type (jobs for workers). Built-in actions finish instantly in simulated time.

mod action_types;
mod executions;
mod jobs;
mod pipelines;
mod rollback;
mod triggers;

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::Response;
use serde_json::{Value, json};

use crate::error::{AwsError, AwsResult};
use crate::server::Ctx;
use crate::wire::{self, Body, JsonVersion, Request};
use crate::{Config, Sim};

pub use action_types::TypeId;

/// Every operation this service serves, by its model name; any other is
/// answered as an unknown operation. `validate::model` holds their request
/// rules and the conformance test walks each of them.
pub const OPERATIONS: &[&str] = &[
    "CreateCustomActionType",
    "ListActionTypes",
    "DeleteCustomActionType",
    "CreatePipeline",
    "GetPipeline",
    "UpdatePipeline",
    "ListPipelines",
    "DeletePipeline",
    "StartPipelineExecution",
    "StopPipelineExecution",
    "RetryStageExecution",
    "RollbackStage",
    "GetPipelineState",
    "GetPipelineExecution",
    "ListPipelineExecutions",
    "ListActionExecutions",
    "PollForJobs",
    "AcknowledgeJob",
    "GetJobDetails",
    "PutJobSuccessResult",
    "PutJobFailureResult",
];

/// The account id every ARN and job carries.
pub const ACCOUNT_ID: &str = "123456789012";

/// Largest request body accepted (the largest legal request, a pipeline
/// declaration or 120 KiB of output variables, is far below this).
const MAX_BODY: usize = 8 * 1024 * 1024;

/// Custom-action jobs without a result fail after this long (simulated).
pub const JOB_TIMEOUT: Duration = Duration::from_secs(24 * 3600);

/// The CodePipeline service: all regions' state behind one lock.
#[derive(Debug)]
pub struct CodePipeline {
    state: Mutex<State>,
    /// Earliest simulated time (ms since the epoch) at which `tick` has a
    /// timer to fire; `u64::MAX` when none. Lets `tick` return without
    /// locking when nothing is due.
    next_timer_ms: AtomicU64,
    ack_timeout: Duration,
    continuation_delay: Duration,
}

/// Everything CodePipeline remembers.
#[derive(Debug, Default)]
pub(crate) struct State {
    regions: HashMap<String, Region>,
    /// Last `POST /_sim/push` per (repository, branch): what a
    /// CodeStarSourceConnection source action returns when started by hand.
    pushes: HashMap<(String, String), Arc<executions::Push>>,
}

/// One region's CodePipeline.
#[derive(Debug, Default)]
pub(crate) struct Region {
    pub name: String,
    pub action_types: BTreeMap<TypeId, action_types::ActionType>,
    /// Custom type versions deleted once: AWS never lets them be created again.
    pub retired_types: std::collections::HashSet<TypeId>,
    pub pipelines: BTreeMap<String, pipelines::Pipeline>,
    pub executions: HashMap<String, executions::Execution>,
    /// Execution start counter (orders executions of a pipeline).
    pub exec_seq: u64,
    pub jobs: HashMap<String, jobs::Job>,
    /// Job creation counter (FIFO order of the queue).
    pub job_seq: u64,
    /// Stage success counter: orders the successes of a stage across
    /// executions (the automatic rollback targets the latest).
    pub stage_success_seq: u64,
}

impl CodePipeline {
    pub fn new(config: &Config) -> Self {
        CodePipeline {
            state: Mutex::new(State::default()),
            next_timer_ms: AtomicU64::new(u64::MAX),
            ack_timeout: config.ack_timeout,
            continuation_delay: config.continuation_delay,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        crate::lock(&self.state)
    }

    /// Fires due timers: ack timeouts (job re-queued with a new nonce) and the
    /// 24 h job timeout. Cheap when nothing is due (one atomic load).
    pub fn tick(&self, sim: &Arc<Sim>, now: SystemTime) {
        if ms(now) < self.next_timer_ms.load(Ordering::Relaxed) {
            return;
        }
        let mut st = self.lock();
        let st = &mut *st;
        let env = Env {
            sim,
            cp: self,
            now,
            pushes: &st.pushes,
        };
        for region in st.regions.values_mut() {
            jobs::fire_timers(&env, region);
        }
        self.reschedule(st);
    }

    /// Recomputes the earliest pending timer after a change.
    fn reschedule(&self, st: &State) {
        let next = st
            .regions
            .values()
            .flat_map(|r| r.jobs.values())
            .filter_map(|j| j.next_deadline(self.ack_timeout))
            .map(ms)
            .min()
            .unwrap_or(u64::MAX);
        self.next_timer_ms.store(next, Ordering::Relaxed);
    }

    /// Ids of every job in `region` with its status, oldest first (for tests
    /// and diagnostics; never the job data).
    pub fn job_ids(&self, region: &str) -> Vec<(String, String)> {
        let st = self.lock();
        let Some(r) = st.regions.get(region) else {
            return vec![];
        };
        let mut v: Vec<_> = r.jobs.values().collect();
        v.sort_by_key(|j| j.seq);
        v.iter()
            .map(|j| (j.id.clone(), j.status.as_str().to_string()))
            .collect()
    }

    /// Every text job workers reported, in every region, as `(where, text)`:
    /// action executions' failure messages, external ids, summaries, output
    /// variables and current revisions, pipeline executions' status
    /// summaries and namespace variables, and the continuation tokens jobs
    /// carry. For tests that scan results for leaked secrets.
    pub fn reported_texts(&self) -> Vec<(String, String)> {
        let st = self.lock();
        let mut out = Vec::new();
        for r in st.regions.values() {
            for e in r.executions.values() {
                let at = format!("pipeline {} execution {}", e.pipeline, e.id);
                if let Some(s) = &e.status_summary {
                    out.push((format!("{at}: status summary"), s.clone()));
                }
                for (ns, vars) in &e.variables {
                    for (k, v) in vars {
                        out.push((format!("{at}: variable {ns}.{k}"), v.clone()));
                    }
                }
                for a in &e.actions {
                    let at = format!("{at} action {} ({})", a.action_name, a.id);
                    let mut push = |what: &str, v: &str| {
                        out.push((format!("{at}: {what}"), v.to_string()));
                    };
                    if let Some((_, m)) = &a.error {
                        push("failure details message", m);
                    }
                    if let Some(s) = &a.summary {
                        push("execution summary", s);
                    }
                    if let Some(x) = &a.external_id {
                        push("external execution id", x);
                    }
                    for (k, v) in a.output_vars.iter().flatten() {
                        push(&format!("output variable {k}"), v);
                    }
                    if let Some(rev) = &a.current_revision {
                        push("current revision id", &rev.revision_id);
                        if let Some(c) = &rev.change_id {
                            push("current revision change id", c);
                        }
                        if let Some(s) = &rev.summary {
                            push("current revision summary", s);
                        }
                    }
                }
            }
            for j in r.jobs.values() {
                if let Some(t) = j.data.get("continuationToken").and_then(Value::as_str) {
                    out.push((format!("job {}: continuation token", j.id), t.to_string()));
                }
            }
        }
        out
    }

    /// Values of the secret configuration properties of every pipeline's
    /// actions, in every region (current declarations and those executions
    /// ran with). For tests that scan logs and results for leaked secrets.
    pub fn secret_configuration_values(&self) -> Vec<String> {
        let st = self.lock();
        let mut out = Vec::new();
        for r in st.regions.values() {
            let decls = r
                .pipelines
                .values()
                .map(|p| &p.decl)
                .chain(r.executions.values().map(|e| &e.decl));
            for d in decls {
                for a in d.stages.iter().flat_map(|s| &s.actions) {
                    for p in a.def.properties.iter().filter(|p| p.secret) {
                        if let Some(v) = a.configuration.get(&p.name) {
                            out.push(v.clone());
                        }
                    }
                }
            }
        }
        out.sort();
        out.dedup();
        out
    }

    /// Runs operation `op` of `region` on the decoded JSON input.
    fn call(&self, sim: &Arc<Sim>, region: &str, op: &str, input: &Value) -> AwsResult<Value> {
        let now = sim.clock.now();
        let mut st = self.lock();
        let st = &mut *st;
        let pushes = &st.pushes;
        let region = st
            .regions
            .entry(region.to_string())
            .or_insert_with(|| Region {
                name: region.to_string(),
                ..Default::default()
            });
        let env = Env {
            sim,
            cp: self,
            now,
            pushes,
        };
        let out = match op {
            "CreateCustomActionType" => action_types::create(region, input),
            "ListActionTypes" => action_types::list(region, input),
            "DeleteCustomActionType" => action_types::delete(region, input),
            "CreatePipeline" => pipelines::create(&env, region, input),
            "GetPipeline" => pipelines::get(region, input),
            "UpdatePipeline" => pipelines::update(&env, region, input),
            "ListPipelines" => pipelines::list(region, input),
            "DeletePipeline" => pipelines::delete(region, input),
            "StartPipelineExecution" => executions::start_op(&env, region, input),
            "StopPipelineExecution" => executions::stop_op(&env, region, input),
            "RetryStageExecution" => executions::retry_op(&env, region, input),
            "RollbackStage" => rollback::rollback_op(&env, region, input),
            "GetPipelineState" => executions::state_op(region, input),
            "GetPipelineExecution" => executions::get_execution_op(region, input),
            "ListPipelineExecutions" => executions::list_executions_op(region, input),
            "ListActionExecutions" => executions::list_action_executions_op(region, input),
            "PollForJobs" => jobs::poll(&env, region, input),
            "AcknowledgeJob" => jobs::acknowledge(region, input),
            "GetJobDetails" => jobs::details(&env, region, input),
            "PutJobSuccessResult" => jobs::success(&env, region, input),
            "PutJobFailureResult" => jobs::failure(&env, region, input),
            other => Err(AwsError::bad_request(
                "UnknownOperationException",
                format!("aws-sim does not simulate CodePipeline operation {other}"),
            )),
        };
        self.reschedule(st);
        out
    }
}

/// What handlers need besides the region: the sim (S3, credentials), the
/// service's settings, the simulated now, and the recorded pushes.
pub(crate) struct Env<'a> {
    pub sim: &'a Arc<Sim>,
    pub cp: &'a CodePipeline,
    pub now: SystemTime,
    pub pushes: &'a HashMap<(String, String), Arc<executions::Push>>,
}

pub fn operation(req: &Request) -> String {
    wire::json_target_operation(req.headers()).unwrap_or_else(|| "Unknown".into())
}

pub async fn handle(sim: &Arc<Sim>, ctx: &Ctx, req: Request) -> Result<Response<Body>, AwsError> {
    let target = req
        .headers()
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    if !target.starts_with("CodePipeline_20150709.") {
        return Err(AwsError::bad_request(
            "UnknownOperationException",
            "missing or unknown X-Amz-Target (expected CodePipeline_20150709.<Operation>)",
        ));
    }
    let body = wire::read_body(req.into_body(), MAX_BODY).await?;
    let input: Value = if body.iter().all(u8::is_ascii_whitespace) {
        json!({})
    } else {
        serde_json::from_slice(&body).map_err(|e| {
            AwsError::bad_request(
                "SerializationException",
                format!("The request body is not valid JSON: {e}. Send the operation's input as one JSON object."),
            )
        })?
    };
    if !input.is_object() {
        return Err(AwsError::bad_request(
            "SerializationException",
            "The request body must be a JSON object holding the operation's input.",
        ));
    }
    // The model's required members and enums, before anything is looked up.
    let violations = crate::validate::check("codepipeline", &ctx.operation, &input);
    if !violations.is_empty() {
        return Err(AwsError::validation(crate::validate::message(&violations)));
    }
    let out = sim
        .codepipeline
        .call(sim, &ctx.region, &ctx.operation, &input)?;
    Ok(wire::json_ok(JsonVersion::V1_1, &ctx.request_id, &out))
}

/// `POST /_sim/push`: a GitHub push into CodeStarSourceConnection pipelines.
///
/// Body: `{"repository": "owner/repo", "branch": "main", "commitId": "…",
/// "message": "…", "zip": "<base64>" | "path": "/file.zip", "pipeline"?: name,
/// "region"?: name}`. Starts an execution of every pipeline (in every region,
/// or the given one) whose CodeStarSourceConnection source action has
/// `FullRepositoryId`/`BranchName` equal to the push and `DetectChanges` not
/// `false` — or only of the named pipeline — and remembers the push as the
/// branch head for later `StartPipelineExecution` calls. Returns
/// `{"executions":[{"pipeline","region","pipelineExecutionId"}]}`.
pub async fn push(sim: &Arc<Sim>, body: &Value) -> Result<Value, String> {
    let s = |k: &str| body.get(k).and_then(Value::as_str).map(str::to_string);
    let repository = s("repository").ok_or("`repository` (owner/repo) is required")?;
    let branch = s("branch").ok_or("`branch` is required")?;
    let commit_id = s("commitId").ok_or("`commitId` is required")?;
    if commit_id.is_empty() || commit_id.len() > 1500 {
        return Err("`commitId` must be 1..1500 characters".into());
    }
    let message = s("message").unwrap_or_default();
    let zip = match (s("zip"), s("path")) {
        (Some(b64), _) => {
            use base64::Engine;
            base64::engine::general_purpose::STANDARD
                .decode(b64.trim())
                .map_err(|e| format!("`zip` is not base64: {e}"))?
        }
        (None, Some(path)) => tokio::fs::read(&path)
            .await
            .map_err(|e| format!("cannot read `path` {path}: {e}"))?,
        (None, None) => return Err("`zip` (base64) or `path` is required".into()),
    };
    let push = Arc::new(executions::Push {
        repository,
        branch,
        commit_id,
        message,
        zip,
        at: sim.clock.now(),
        named: body.get("pipeline").is_some_and(Value::is_string),
    });
    let only_pipeline = s("pipeline");
    let only_region = s("region");
    let cp = &sim.codepipeline;
    let now = sim.clock.now();
    let mut st = cp.lock();
    let st = &mut *st;
    st.pushes
        .insert((push.repository.clone(), push.branch.clone()), push.clone());
    let mut started = Vec::new();
    let mut names = Vec::new();
    for (rname, region) in &st.regions {
        if only_region.as_ref().is_some_and(|r| r != rname) {
            continue;
        }
        for p in region.pipelines.values() {
            if let Some(only) = &only_pipeline
                && &p.decl.name != only
            {
                continue;
            }
            let hit = p.decl.stages.first().is_some_and(|s| {
                s.actions
                    .iter()
                    .any(|a| executions::push_matches(&p.decl, a, &push, only_pipeline.is_some()))
            });
            if hit {
                names.push((rname.clone(), p.decl.name.clone()));
            }
        }
    }
    if let Some(only) = &only_pipeline
        && names.is_empty()
    {
        cp.reschedule(st);
        return Err(format!(
            "no pipeline named {only} with a CodeStarSourceConnection source action for {}",
            push.repository
        ));
    }
    let pushes = st.pushes.clone();
    for (rname, pname) in names {
        let Some(region) = st.regions.get_mut(&rname) else {
            continue;
        };
        let env = Env {
            sim,
            cp,
            now,
            pushes: &pushes,
        };
        let id = executions::start(
            &env,
            region,
            &pname,
            executions::Trigger {
                kind: "WebhookV2",
                detail: push.commit_id.clone(),
            },
            BTreeMap::new(),
            Some(push.clone()),
        )
        .map_err(|e| e.to_string())?;
        started.push(json!({"pipeline": pname, "region": rname, "pipelineExecutionId": id}));
    }
    cp.reschedule(st);
    Ok(json!({ "executions": started }))
}

// ---------------------------------------------------------------------------
// Input helpers: model validation with AWS's message format.

fn ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// Seconds since the epoch: the awsJson timestamp format.
pub(crate) fn ts(t: SystemTime) -> Value {
    json!(crate::clock::epoch_secs(t))
}

pub(crate) fn uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// `1 validation error detected: Value '…' at '…' failed to satisfy constraint: …`.
pub(crate) fn invalid(field: &str, value: &str, constraint: &str) -> AwsError {
    let shown: String = value.chars().take(100).collect();
    AwsError::validation(format!(
        "1 validation error detected: Value '{shown}' at '{field}' failed to satisfy constraint: {constraint}"
    ))
}

pub(crate) fn missing(field: &str) -> AwsError {
    AwsError::validation(format!(
        "1 validation error detected: Value null at '{field}' failed to satisfy constraint: Member must not be null"
    ))
}

fn wrong_type(field: &str, what: &str) -> AwsError {
    AwsError::bad_request(
        "SerializationException",
        format!("'{field}' must be {what}"),
    )
}

pub(crate) fn opt_str<'a>(v: &'a Value, key: &str, field: &str) -> AwsResult<Option<&'a str>> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(wrong_type(field, "a string")),
    }
}

pub(crate) fn req_str<'a>(v: &'a Value, key: &str, field: &str) -> AwsResult<&'a str> {
    opt_str(v, key, field)?.ok_or_else(|| missing(field))
}

pub(crate) fn opt_bool(v: &Value, key: &str, field: &str) -> AwsResult<Option<bool>> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(wrong_type(field, "a boolean")),
    }
}

pub(crate) fn opt_int(v: &Value, key: &str, field: &str) -> AwsResult<Option<i64>> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(n) => n
            .as_i64()
            .map(Some)
            .ok_or_else(|| wrong_type(field, "an integer")),
    }
}

pub(crate) fn opt_obj<'a>(v: &'a Value, key: &str, field: &str) -> AwsResult<Option<&'a Value>> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(o @ Value::Object(_)) => Ok(Some(o)),
        Some(_) => Err(wrong_type(field, "an object")),
    }
}

pub(crate) fn opt_list<'a>(v: &'a Value, key: &str, field: &str) -> AwsResult<&'a [Value]> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::Array(a)) => Ok(a),
        Some(_) => Err(wrong_type(field, "a list")),
    }
}

/// A JSON object of string values (`ActionConfigurationMap`, `OutputVariablesMap`).
pub(crate) fn opt_str_map(
    v: &Value,
    key: &str,
    field: &str,
) -> AwsResult<BTreeMap<String, String>> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(BTreeMap::new()),
        Some(Value::Object(m)) => m
            .iter()
            .map(|(k, v)| match v {
                Value::String(s) => Ok((k.clone(), s.clone())),
                _ => Err(wrong_type(&format!("{field}.{k}"), "a string")),
            })
            .collect(),
        Some(_) => Err(wrong_type(field, "a map of strings")),
    }
}

pub(crate) fn check_len(field: &str, s: &str, min: usize, max: usize) -> AwsResult<()> {
    let n = s.chars().count();
    if n < min {
        return Err(invalid(
            field,
            s,
            &format!("Member must have length greater than or equal to {min}"),
        ));
    }
    if n > max {
        return Err(invalid(
            field,
            s,
            &format!("Member must have length less than or equal to {max}"),
        ));
    }
    Ok(())
}

/// `s` matches `[<allowed>]+`, with `allowed` given as a predicate and the
/// model's pattern text for the message.
pub(crate) fn check_pattern(
    field: &str,
    s: &str,
    ok: impl Fn(char) -> bool,
    pattern: &str,
) -> AwsResult<()> {
    if s.is_empty() || !s.chars().all(ok) {
        return Err(invalid(
            field,
            s,
            &format!("Member must satisfy regular expression pattern: {pattern}"),
        ));
    }
    Ok(())
}

pub(crate) fn check_enum(field: &str, s: &str, allowed: &[&str]) -> AwsResult<()> {
    if allowed.contains(&s) {
        Ok(())
    } else {
        Err(invalid(
            field,
            s,
            &format!(
                "Member must satisfy enum value set: [{}]",
                allowed.join(", ")
            ),
        ))
    }
}

/// `[A-Za-z0-9.@\-_]+`: pipeline, stage and action names.
pub(crate) fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '@' | '-' | '_')
}
pub(crate) const NAME_PATTERN: &str = "[A-Za-z0-9.@\\-_]+";

/// Validates a pipeline name (`PipelineName`).
pub(crate) fn check_pipeline_name(field: &str, s: &str) -> AwsResult<()> {
    check_len(field, s, 1, 100)?;
    check_pattern(field, s, is_name_char, NAME_PATTERN)
}

/// `[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`: job and execution ids.
pub(crate) fn check_uuid(field: &str, s: &str) -> AwsResult<()> {
    let ok = s.len() == 36
        && s.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_digit() || ('a'..='f').contains(&c),
        });
    if ok {
        Ok(())
    } else {
        Err(invalid(
            field,
            s,
            "Member must satisfy regular expression pattern: [0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
        ))
    }
}

/// Pagination: `nextToken` is the decimal offset into the result list.
pub(crate) fn page(
    items: Vec<Value>,
    input: &Value,
    max_key: Option<(&str, i64, i64, i64)>,
) -> AwsResult<(Vec<Value>, Option<String>)> {
    let start = match opt_str(input, "nextToken", "nextToken")? {
        None => 0,
        Some(t) => t
            .strip_prefix("sim-")
            .and_then(|n| n.parse::<usize>().ok())
            .filter(|n| *n <= items.len())
            .ok_or_else(|| {
                AwsError::bad_request("InvalidNextTokenException", "The next token is not valid")
            })?,
    };
    let limit = match max_key {
        None => usize::MAX,
        Some((key, min, max, default)) => {
            let n = opt_int(input, key, key)?.unwrap_or(default);
            if n < min || n > max {
                return Err(invalid(
                    key,
                    &n.to_string(),
                    &format!("Member must have value between {min} and {max}"),
                ));
            }
            n as usize
        }
    };
    let end = start.saturating_add(limit).min(items.len());
    let next = (end < items.len()).then(|| format!("sim-{end}"));
    Ok((items[start..end].to_vec(), next))
}

#[cfg(test)]
mod tests;
