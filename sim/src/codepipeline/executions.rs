//! The execution engine: runs a pipeline execution stage by stage and
//! run-order group by group on the simulated clock, with AWS's stage locking
//! per execution mode (SUPERSEDED, QUEUED, PARALLEL). Built-in actions (S3 and
//! CodeStarSourceConnection sources, CodeBuild as a pass-through) run here and
//! finish at once; custom actions become jobs (`jobs.rs`) and finish when a
//! worker reports. A failed stage follows its `onFailure`: FAIL, RETRY (the
//! stage again in the same execution, [`AUTOMATED_STAGE_RETRY_ATTEMPTS`]
//! times) or ROLLBACK (a new execution from `rollback.rs`). Also the
//! operations that start, stop, retry and show executions. Knows S3 only
//! through its internal API.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::SystemTime;

use rand::Rng;
use serde_json::{Value, json};

use super::pipelines::{ActionDecl, OnFailure, Pipeline, PipelineDecl, SECRET_MASK, not_found};
use super::{
    Env, Region, check_enum, check_len, check_pipeline_name, check_uuid, jobs, opt_bool, opt_list,
    opt_obj, opt_str, req_str, rollback, ts, uuid,
};
use crate::error::{AwsError, AwsResult};

/// A simulated GitHub push (`POST /_sim/push`).
#[derive(Debug)]
pub struct Push {
    pub repository: String,
    pub branch: String,
    pub commit_id: String,
    pub message: String,
    pub zip: Vec<u8>,
    pub at: SystemTime,
    /// The push named its pipeline: any CodeStarSourceConnection source
    /// action of it takes this push, whatever its repository and branch.
    pub named: bool,
}

/// Automatic retries of a failed stage per execution: "One attempt is allowed
/// for automatic stage retry on failure" (the model's
/// `RetryStageMetadata.autoStageRetryAttempt`;
/// <https://aws.amazon.com/about-aws/whats-new/2024/10/aws-codepipeline-automatic-retry-stage-failure/>:
/// "the pipeline execution will be retried in the stage once").
pub const AUTOMATED_STAGE_RETRY_ATTEMPTS: u32 = 1;

/// The caller every console or API action of aws-sim is attributed to.
pub(crate) fn caller_arn() -> String {
    format!("arn:aws:iam::{}:user/aws-sim", super::ACCOUNT_ID)
}

/// Whether `push` is for this CodeStarSourceConnection action of `decl`.
/// `named`: the push names the pipeline, so any such source action takes it.
/// Without a trigger, or with a trigger without filters, the action's
/// repository, `BranchName` and `DetectChanges` decide; a trigger with push
/// filters decides alone (`triggers.rs`).
pub fn push_matches(decl: &PipelineDecl, a: &ActionDecl, push: &Push, named: bool) -> bool {
    if a.type_id.owner != "AWS" || a.type_id.provider != "CodeStarSourceConnection" {
        return false;
    }
    if named {
        return true;
    }
    if a.configuration.get("FullRepositoryId") != Some(&push.repository) {
        return false;
    }
    match decl.trigger_for(&a.name) {
        Some(t) if t.filters() => t.matches(&push.branch, None),
        _ => {
            a.configuration.get("BranchName") == Some(&push.branch)
                && a.configuration
                    .get("DetectChanges")
                    .is_none_or(|d| !d.eq_ignore_ascii_case("false"))
        }
    }
}

/// What started an execution (`ExecutionTrigger`).
#[derive(Debug, Clone)]
pub struct Trigger {
    pub kind: &'static str,
    pub detail: String,
}

/// An artifact of an execution: where it is and which revision it carries.
#[derive(Debug, Clone)]
pub struct ArtifactRef {
    pub name: String,
    pub bucket: String,
    pub key: String,
    pub revision: Option<String>,
}

impl ArtifactRef {
    /// The `Artifact` shape of job data.
    pub fn job_json(&self) -> Value {
        let mut o = json!({"name": self.name, "location": {"type": "S3",
            "s3Location": {"bucketName": self.bucket, "objectKey": self.key}}});
        if let Some(r) = &self.revision {
            o["revision"] = json!(r);
        }
        o
    }
    /// The `ArtifactDetail` shape of ListActionExecutions.
    fn detail_json(&self) -> Value {
        json!({"name": self.name, "s3location": {"bucket": self.bucket, "key": self.key}})
    }
}

/// A source revision (`ArtifactRevision` / `SourceRevision`).
#[derive(Debug, Clone)]
pub struct Revision {
    pub action: String,
    pub artifact: String,
    pub revision_id: String,
    pub change_id: Option<String>,
    pub summary: Option<String>,
    pub created: SystemTime,
}

/// One run of one action (an `ActionExecution`); a retry is a new one.
#[derive(Debug, Clone)]
pub struct ActionExec {
    pub id: String,
    pub stage: usize,
    pub action: usize,
    pub stage_name: String,
    pub action_name: String,
    /// InProgress, Abandoned, Succeeded, Failed.
    pub status: &'static str,
    pub start: SystemTime,
    pub last_update: SystemTime,
    pub resolved: BTreeMap<String, String>,
    pub inputs: Vec<ArtifactRef>,
    pub outputs: Vec<ArtifactRef>,
    pub summary: Option<String>,
    pub external_id: Option<String>,
    pub percent: Option<i64>,
    pub error: Option<(String, String)>,
    pub output_vars: Option<BTreeMap<String, String>>,
    /// The console's action token (`ActionExecution.token`).
    pub token: String,
    pub current_revision: Option<Revision>,
    pub updated_by: String,
}

/// Retries of one stage in one execution (`RetryStageMetadata`).
#[derive(Debug, Clone, Default)]
pub struct StageRetries {
    pub automated: u32,
    pub manual: u32,
    /// `AutomatedStageRetry` or `ManualStageRetry`.
    pub latest: Option<&'static str>,
}

/// A pipeline execution.
#[derive(Debug, Clone)]
pub struct Execution {
    pub id: String,
    pub pipeline: String,
    pub pipeline_version: i64,
    pub pipeline_arn: String,
    /// The declaration as it was when the execution started.
    pub decl: Arc<PipelineDecl>,
    pub seq: u64,
    /// InProgress, Stopping, Stopped, Succeeded, Superseded, Failed, Cancelled.
    pub status: &'static str,
    pub status_summary: Option<String>,
    pub start: SystemTime,
    pub last_update: SystemTime,
    pub trigger: Trigger,
    pub artifacts: HashMap<String, ArtifactRef>,
    pub revisions: Vec<Revision>,
    /// Resolved variables per namespace (`variables` = pipeline variables).
    pub variables: HashMap<String, BTreeMap<String, String>>,
    /// Index of the current stage.
    pub stage: usize,
    /// False while waiting for the current stage's lock.
    pub entered: bool,
    pub stage_status: Vec<Option<&'static str>>,
    /// The run order being executed in the current stage.
    pub group: i64,
    pub actions: Vec<ActionExec>,
    /// (stage, action) → index in `actions` of the latest attempt.
    pub latest: HashMap<(usize, usize), usize>,
    /// `Some(abandon)` after StopPipelineExecution.
    pub stop: Option<bool>,
    pub stop_reason: Option<String>,
    pub push: Option<Arc<Push>>,
    /// For a rollback execution (`executionType` ROLLBACK), the execution it
    /// rolls back to (`rollbackMetadata.rollbackTargetPipelineExecutionId`),
    /// whose artifacts, source revisions and variables it runs with. A
    /// rollback runs only the stage it starts in (`stage`).
    pub rollback: Option<String>,
    /// Retries per stage index.
    pub retries: HashMap<usize, StageRetries>,
    /// Per stage, when it succeeded, as a region-wide sequence number: the
    /// automatic rollback goes to the latest success.
    pub stage_succeeded: Vec<Option<u64>>,
}

impl Execution {
    /// A new STANDARD execution of `p` with declaration `decl`, not started.
    pub fn new(
        id: String,
        seq: u64,
        p: &Pipeline,
        decl: Arc<PipelineDecl>,
        trigger: Trigger,
        now: SystemTime,
    ) -> Execution {
        let n = decl.stages.len();
        Execution {
            id,
            pipeline: decl.name.clone(),
            pipeline_version: p.version,
            pipeline_arn: p.arn.clone(),
            seq,
            status: "InProgress",
            status_summary: None,
            start: now,
            last_update: now,
            trigger,
            artifacts: HashMap::new(),
            revisions: vec![],
            variables: HashMap::new(),
            stage: 0,
            entered: false,
            stage_status: vec![None; n],
            group: 0,
            actions: vec![],
            latest: HashMap::new(),
            stop: None,
            stop_reason: None,
            push: None,
            rollback: None,
            retries: HashMap::new(),
            stage_succeeded: vec![None; n],
            decl,
        }
    }

    pub(crate) fn active(&self) -> bool {
        matches!(self.status, "InProgress" | "Stopping")
    }

    /// `ExecutionType`.
    pub fn execution_type(&self) -> &'static str {
        if self.rollback.is_some() {
            "ROLLBACK"
        } else {
            "STANDARD"
        }
    }
}

/// What a worker reported for a job.
#[derive(Debug)]
pub enum Outcome {
    /// Success with a continuation token: the action goes on.
    Progress(Details),
    Succeeded(Details, Option<BTreeMap<String, String>>),
    Failed {
        code: String,
        message: String,
        external_id: Option<String>,
    },
}

#[derive(Debug, Default)]
pub struct Details {
    pub summary: Option<String>,
    pub external_id: Option<String>,
    pub percent: Option<i64>,
    pub revision: Option<(String, String, Option<String>, Option<SystemTime>)>,
}

// ---------------------------------------------------------------------------
// Engine

/// `<pipeline name ≤20>/<artifact name ≤10>/<7 random>`, as AWS names artifacts.
fn artifact_key(pipeline: &str, artifact: &str) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    let r: String = (0..7)
        .map(|_| A[rng.random_range(0..A.len())] as char)
        .collect();
    let p: String = pipeline.chars().take(20).collect();
    let a: String = artifact.chars().take(10).collect();
    format!("{p}/{a}/{r}")
}

/// Starts an execution of `pipeline`; returns its id.
pub fn start(
    env: &Env<'_>,
    region: &mut Region,
    pipeline: &str,
    trigger: Trigger,
    vars: BTreeMap<String, String>,
    push: Option<Arc<Push>>,
) -> AwsResult<String> {
    let p = region
        .pipelines
        .get(pipeline)
        .ok_or_else(|| not_found(pipeline))?;
    let decl = p.decl.clone();
    let mut pvars = BTreeMap::new();
    for (k, d) in &decl.variables {
        match vars.get(k).or(d.as_ref()) {
            Some(v) => {
                pvars.insert(k.clone(), v.clone());
            }
            None => {
                return Err(AwsError::validation(format!(
                    "Pipeline variable {k} has no default value and no value was given"
                )));
            }
        }
    }
    for k in vars.keys() {
        if !decl.variables.contains_key(k) {
            return Err(AwsError::validation(format!(
                "Pipeline variable {k} is not declared in pipeline {pipeline}"
            )));
        }
    }
    region.exec_seq += 1;
    let id = uuid();
    let mut variables = HashMap::new();
    variables.insert("variables".to_string(), pvars);
    variables.insert(
        "codepipeline".to_string(),
        BTreeMap::from([("PipelineExecutionId".to_string(), id.clone())]),
    );
    let mut exec = Execution::new(id.clone(), region.exec_seq, p, decl, trigger, env.now);
    exec.variables = variables;
    exec.push = push;
    region.executions.insert(id.clone(), exec);
    pump(env, region, pipeline);
    Ok(id)
}

/// Moves every active execution of `pipeline` forward until nothing changes.
pub fn pump(env: &Env<'_>, region: &mut Region, pipeline: &str) {
    loop {
        let mut ids: Vec<(u64, String)> = region
            .executions
            .values()
            .filter(|e| e.pipeline == pipeline && e.active())
            .map(|e| (e.seq, e.id.clone()))
            .collect();
        ids.sort();
        let mut changed = false;
        for (_, id) in ids {
            let Some(mut exec) = region.executions.remove(&id) else {
                continue;
            };
            let c = step(env, region, &mut exec);
            if c {
                exec.last_update = env.now;
            }
            changed |= c;
            region.executions.insert(id, exec);
        }
        if !changed {
            break;
        }
    }
}

/// One move of one execution (`exec` is out of `region.executions`).
fn step(env: &Env<'_>, region: &mut Region, exec: &mut Execution) -> bool {
    if !exec.active() {
        return false;
    }
    let decl = exec.decl.clone();
    let s = exec.stage;
    if !exec.entered {
        if exec.stop.is_some() {
            exec.status = "Stopped";
            return true;
        }
        if decl.execution_mode != "PARALLEL" {
            let others = region
                .executions
                .values()
                .filter(|o| o.pipeline == exec.pipeline && o.active() && o.stage == s);
            // A waiting rollback enters before waiting standard executions
            // and never supersedes them, nor they it (AWS documents no
            // order; a rollback is a recovery, and the newer changes
            // still deploy after it). Rollbacks among themselves go FIFO.
            let rolling_back = exec.rollback.is_some();
            let mut occupied = false;
            let mut newer_waiting = false;
            let mut older_waiting = false;
            let mut rollback_waiting = false;
            for o in others {
                if o.entered {
                    occupied = true;
                } else if o.rollback.is_some() != rolling_back {
                    rollback_waiting |= o.rollback.is_some();
                } else if o.seq > exec.seq {
                    newer_waiting = true;
                } else {
                    older_waiting = true;
                }
            }
            if decl.execution_mode == "SUPERSEDED" && newer_waiting && !rolling_back {
                exec.status = "Superseded";
                exec.status_summary = Some("Superseded by a newer execution".into());
                return true;
            }
            let fifo = decl.execution_mode == "QUEUED" || rolling_back;
            if occupied || rollback_waiting || (fifo && older_waiting) {
                return false;
            }
        }
        exec.entered = true;
        exec.stage_status[s] = Some("InProgress");
        if let Some(p) = region.pipelines.get_mut(&exec.pipeline) {
            p.stage_latest
                .insert(decl.stages[s].name.clone(), exec.id.clone());
        }
        exec.group = decl.stages[s]
            .actions
            .iter()
            .map(|a| a.run_order)
            .min()
            .unwrap_or(1);
        start_group(env, region, exec, false);
        return true;
    }
    // Inside stage `s`, running group `exec.group`.
    let stage = &decl.stages[s];
    let statuses: Vec<&str> = stage
        .actions
        .iter()
        .enumerate()
        .filter(|(_, a)| a.run_order == exec.group)
        .map(|(i, _)| {
            exec.latest
                .get(&(s, i))
                .map(|&x| exec.actions[x].status)
                .unwrap_or("InProgress")
        })
        .collect();
    if statuses.contains(&"InProgress") {
        return false;
    }
    let stopping = exec.stop.is_some();
    if statuses
        .iter()
        .any(|st| *st == "Failed" || *st == "Abandoned")
    {
        if !stopping && retry_automatically(env, region, exec, s) {
            return true;
        }
        exec.stage_status[s] = Some(if stopping { "Stopped" } else { "Failed" });
        exec.status = if stopping { "Stopped" } else { "Failed" };
        let failed: Vec<&str> = stage
            .actions
            .iter()
            .enumerate()
            .filter(|(i, a)| {
                a.run_order == exec.group
                    && exec
                        .latest
                        .get(&(s, *i))
                        .is_some_and(|&x| exec.actions[x].status == "Failed")
            })
            .map(|(_, a)| a.name.as_str())
            .collect();
        if !stopping {
            exec.status_summary = Some(format!(
                "Stage {} failed: action(s) {} failed",
                stage.name,
                failed.join(", ")
            ));
            if stage.on_failure == OnFailure::Rollback {
                rollback::automated(env, region, exec, s);
            }
        }
        return true;
    }
    if stopping {
        exec.stage_status[s] = Some("Stopped");
        exec.status = "Stopped";
        return true;
    }
    let next = stage
        .actions
        .iter()
        .map(|a| a.run_order)
        .filter(|r| *r > exec.group)
        .min();
    if let Some(g) = next {
        exec.group = g;
        start_group(env, region, exec, false);
        return true;
    }
    exec.stage_status[s] = Some("Succeeded");
    region.stage_success_seq += 1;
    exec.stage_succeeded[s] = Some(region.stage_success_seq);
    if exec.rollback.is_none() && s + 1 < decl.stages.len() {
        exec.stage = s + 1;
        exec.entered = false;
    } else {
        exec.status = "Succeeded";
    }
    true
}

/// `onFailure.result: RETRY`: the failed stage `s` runs again in the same
/// execution (as RetryStageExecution with the configured `retryMode` would:
/// new action executions, new jobs), at most
/// [`AUTOMATED_STAGE_RETRY_ATTEMPTS`] times; returns false when the stage
/// has to fail instead. The retry starts at once (AWS documents no delay).
fn retry_automatically(env: &Env<'_>, region: &mut Region, exec: &mut Execution, s: usize) -> bool {
    let OnFailure::Retry { mode } = exec.decl.stages[s].on_failure else {
        return false;
    };
    let r = exec.retries.entry(s).or_default();
    if r.automated >= AUTOMATED_STAGE_RETRY_ATTEMPTS {
        return false;
    }
    r.automated += 1;
    r.latest = Some("AutomatedStageRetry");
    restart_stage(env, region, exec, s, mode);
    true
}

/// Runs stage `si` of `exec` again: `ALL_ACTIONS` from its first run order,
/// `FAILED_ACTIONS` only the failed or abandoned actions of the group that
/// failed. Shared by RetryStageExecution and the automatic retry.
fn restart_stage(env: &Env<'_>, region: &mut Region, exec: &mut Execution, si: usize, mode: &str) {
    exec.status = "InProgress";
    exec.status_summary = None;
    exec.stop = None;
    exec.stop_reason = None;
    exec.stage_status[si] = Some("InProgress");
    exec.last_update = env.now;
    if mode == "ALL_ACTIONS" {
        exec.group = exec.decl.stages[si]
            .actions
            .iter()
            .map(|a| a.run_order)
            .min()
            .unwrap_or(1);
        start_group(env, region, exec, false);
    } else {
        start_group(env, region, exec, true);
    }
}

/// Starts the actions of the current group (`only_failed`: just those whose
/// latest attempt failed or was abandoned).
fn start_group(env: &Env<'_>, region: &mut Region, exec: &mut Execution, only_failed: bool) {
    let decl = exec.decl.clone();
    let s = exec.stage;
    for (i, a) in decl.stages[s].actions.iter().enumerate() {
        if a.run_order != exec.group {
            continue;
        }
        if only_failed {
            let redo = exec
                .latest
                .get(&(s, i))
                .is_none_or(|&x| matches!(exec.actions[x].status, "Failed" | "Abandoned"));
            if !redo {
                continue;
            }
        }
        start_action(env, region, exec, s, i);
    }
}

/// Replaces `#{Namespace.Variable}` references.
fn resolve(
    value: &str,
    vars: &HashMap<String, BTreeMap<String, String>>,
) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = value;
    while let Some(i) = rest.find("#{") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 2..];
        let Some(end) = after.find('}') else {
            out.push_str(&rest[i..]);
            return Ok(out);
        };
        let reference = &after[..end];
        let (ns, var) = reference
            .split_once('.')
            .ok_or_else(|| format!("invalid variable reference #{{{reference}}}"))?;
        let v = vars
            .get(ns)
            .and_then(|m| m.get(var))
            .ok_or_else(|| format!("variable #{{{reference}}} cannot be resolved"))?;
        out.push_str(v);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

fn start_action(env: &Env<'_>, region: &mut Region, exec: &mut Execution, s: usize, i: usize) {
    let decl = exec.decl.clone();
    let a = &decl.stages[s].actions[i];
    let mut ae = ActionExec {
        id: uuid(),
        stage: s,
        action: i,
        stage_name: decl.stages[s].name.clone(),
        action_name: a.name.clone(),
        status: "InProgress",
        start: env.now,
        last_update: env.now,
        resolved: BTreeMap::new(),
        inputs: vec![],
        outputs: vec![],
        summary: None,
        external_id: None,
        percent: None,
        error: None,
        output_vars: None,
        token: uuid(),
        current_revision: None,
        updated_by: "aws-sim".into(),
    };
    let idx = exec.actions.len();
    exec.latest.insert((s, i), idx);
    let fail = |ae: &mut ActionExec, code: &str, msg: String| {
        ae.status = "Failed";
        ae.error = Some((code.to_string(), msg));
    };
    let mut resolved = BTreeMap::new();
    for (k, v) in &a.configuration {
        match resolve(v, &exec.variables) {
            Ok(r) => {
                resolved.insert(k.clone(), r);
            }
            Err(e) => {
                fail(&mut ae, "ConfigurationError", e);
                exec.actions.push(ae);
                return;
            }
        }
    }
    ae.resolved = resolved;
    for name in &a.inputs {
        match exec.artifacts.get(name) {
            Some(r) => ae.inputs.push(r.clone()),
            None => {
                fail(
                    &mut ae,
                    "JobFailed",
                    format!("input artifact {name} is not available in this execution"),
                );
                exec.actions.push(ae);
                return;
            }
        }
    }
    ae.outputs = a
        .outputs
        .iter()
        .map(|o| ArtifactRef {
            name: o.clone(),
            bucket: decl.bucket.clone(),
            key: artifact_key(&decl.name, o),
            revision: None,
        })
        .collect();
    if a.type_id.owner != "AWS" {
        exec.actions.push(ae);
        jobs::enqueue(env, region, exec, idx, None, env.now);
        return;
    }
    let result = match a.type_id.provider.as_str() {
        "S3" => run_s3_source(env, &decl, a, &mut ae),
        "CodeStarSourceConnection" => run_codestar_source(env, &decl, a, exec, &mut ae),
        "CodeBuild" => run_codebuild(env, &decl, &mut ae),
        other => Err(format!("aws-sim cannot run provider {other}")),
    };
    match result {
        Ok(vars) => {
            ae.status = "Succeeded";
            ae.percent = Some(100);
            for o in &ae.outputs {
                exec.artifacts.insert(o.name.clone(), o.clone());
            }
            if let Some(r) = &ae.current_revision {
                exec.revisions.retain(|x| x.action != r.action);
                exec.revisions.push(r.clone());
            }
            if let Some(ns) = &a.namespace {
                exec.variables.insert(ns.clone(), vars.clone());
            }
            ae.output_vars = Some(vars);
        }
        Err(msg) => fail(&mut ae, "JobFailed", msg),
    }
    exec.actions.push(ae);
}

fn kms(decl: &PipelineDecl) -> Option<&str> {
    decl.kms_key.as_deref()
}

fn run_s3_source(
    env: &Env<'_>,
    decl: &PipelineDecl,
    a: &ActionDecl,
    ae: &mut ActionExec,
) -> Result<BTreeMap<String, String>, String> {
    let bucket = ae.resolved.get("S3Bucket").cloned().unwrap_or_default();
    let key = ae.resolved.get("S3ObjectKey").cloned().unwrap_or_default();
    let src = env
        .sim
        .s3
        .head_object_internal(&bucket, &key)
        .map_err(|e| format!("cannot read s3://{bucket}/{key}: {}: {}", e.code, e.message))?;
    let out = ae
        .outputs
        .first_mut()
        .ok_or("S3 source has no output artifact")?;
    env.sim
        .s3
        .copy_object_internal(&bucket, &key, &out.bucket, &out.key, kms(decl))
        .map_err(|e| {
            format!(
                "cannot copy s3://{bucket}/{key} to the artifact store: {}: {}",
                e.code, e.message
            )
        })?;
    let etag = src.etag.trim_matches('"').to_string();
    let revision = src.version_id.clone().unwrap_or_else(|| etag.clone());
    out.revision = Some(revision.clone());
    ae.summary = Some(format!("Amazon S3 object s3://{bucket}/{key}"));
    ae.external_id = Some(revision.clone());
    ae.current_revision = Some(Revision {
        action: a.name.clone(),
        artifact: out.name.clone(),
        revision_id: revision.clone(),
        change_id: Some(etag.clone()),
        summary: None,
        created: env.now,
    });
    let mut vars = BTreeMap::from([
        ("BucketName".to_string(), bucket),
        ("ObjectKey".to_string(), key),
        ("ETag".to_string(), etag),
    ]);
    if let Some(v) = src.version_id {
        vars.insert("VersionId".into(), v);
    }
    Ok(vars)
}

fn run_codestar_source(
    env: &Env<'_>,
    decl: &PipelineDecl,
    a: &ActionDecl,
    exec: &Execution,
    ae: &mut ActionExec,
) -> Result<BTreeMap<String, String>, String> {
    let repo = ae
        .resolved
        .get("FullRepositoryId")
        .cloned()
        .unwrap_or_default();
    let branch = ae.resolved.get("BranchName").cloned().unwrap_or_default();
    let push = exec
        .push
        .clone()
        .filter(|p| p.named || push_matches(&exec.decl, a, p, false))
        .or_else(|| env.pushes.get(&(repo.clone(), branch.clone())).cloned())
        .ok_or_else(|| {
            format!("No commit found on branch {branch} of repository {repo} (nothing was pushed to aws-sim yet: POST /_sim/push)")
        })?;
    let out = ae
        .outputs
        .first_mut()
        .ok_or("source has no output artifact")?;
    env.sim
        .s3
        .put_object_internal(&out.bucket, &out.key, &push.zip, kms(decl))
        .map_err(|e| {
            format!(
                "cannot write the source artifact: {}: {}",
                e.code, e.message
            )
        })?;
    out.revision = Some(push.commit_id.clone());
    ae.summary = Some(push.message.clone()).filter(|m| !m.is_empty());
    ae.external_id = Some(push.commit_id.clone());
    ae.current_revision = Some(Revision {
        action: a.name.clone(),
        artifact: out.name.clone(),
        revision_id: push.commit_id.clone(),
        change_id: Some(push.commit_id.clone()),
        summary: Some(push.message.clone()).filter(|m| !m.is_empty()),
        created: push.at,
    });
    Ok(BTreeMap::from([
        ("CommitId".to_string(), push.commit_id.clone()),
        ("CommitMessage".to_string(), push.message.clone()),
        ("BranchName".to_string(), push.branch.clone()),
        ("FullRepositoryName".to_string(), push.repository.clone()),
        (
            "ConnectionArn".to_string(),
            ae.resolved
                .get("ConnectionArn")
                .cloned()
                .unwrap_or_default(),
        ),
        ("AuthorDate".to_string(), crate::clock::iso8601(push.at)),
    ]))
}

/// CodeBuild, simulated as a pass-through: no build runs; the primary input
/// artifact (`PrimarySource`, else the first) is copied to every output.
fn run_codebuild(
    env: &Env<'_>,
    decl: &PipelineDecl,
    ae: &mut ActionExec,
) -> Result<BTreeMap<String, String>, String> {
    let primary = match ae.resolved.get("PrimarySource") {
        Some(p) => ae
            .inputs
            .iter()
            .find(|i| &i.name == p)
            .cloned()
            .ok_or_else(|| format!("PrimarySource {p} is not an input artifact"))?,
        None => ae
            .inputs
            .first()
            .cloned()
            .ok_or("CodeBuild needs an input artifact")?,
    };
    for out in &mut ae.outputs {
        env.sim
            .s3
            .copy_object_internal(
                &primary.bucket,
                &primary.key,
                &out.bucket,
                &out.key,
                kms(decl),
            )
            .map_err(|e| format!("cannot copy the input artifact: {}: {}", e.code, e.message))?;
        out.revision = primary.revision.clone();
    }
    let project = ae.resolved.get("ProjectName").cloned().unwrap_or_default();
    ae.external_id = Some(format!("{project}:{}", uuid()));
    ae.summary = Some("aws-sim: CodeBuild simulated as a pass-through (input artifact copied to the output artifacts)".into());
    Ok(BTreeMap::new())
}

/// Applies a worker's report to its action execution and moves the pipeline on.
pub fn job_result(
    env: &Env<'_>,
    region: &mut Region,
    exec_id: &str,
    ae_id: &str,
    outcome: Outcome,
) {
    let Some(exec) = region.executions.get_mut(exec_id) else {
        return;
    };
    let Some(idx) = exec.actions.iter().position(|a| a.id == ae_id) else {
        return;
    };
    let pipeline = exec.pipeline.clone();
    let ns = {
        let a = &exec.actions[idx];
        exec.decl.stages[a.stage].actions[a.action]
            .namespace
            .clone()
    };
    let ae = &mut exec.actions[idx];
    ae.last_update = env.now;
    ae.updated_by = "aws-sim job worker".into();
    let apply = |ae: &mut ActionExec, d: Details| {
        if d.summary.is_some() {
            ae.summary = d.summary;
        }
        if d.external_id.is_some() {
            ae.external_id = d.external_id;
        }
        if d.percent.is_some() {
            ae.percent = d.percent;
        }
        if let Some((rev, change, summary, created)) = d.revision {
            let artifact = ae
                .outputs
                .first()
                .map(|o| o.name.clone())
                .unwrap_or_default();
            ae.current_revision = Some(Revision {
                action: ae.action_name.clone(),
                artifact,
                revision_id: rev,
                change_id: Some(change),
                summary,
                created: created.unwrap_or(env.now),
            });
        }
    };
    match outcome {
        Outcome::Progress(d) => apply(ae, d),
        Outcome::Succeeded(d, vars) => {
            apply(ae, d);
            ae.status = "Succeeded";
            let rev = ae.current_revision.clone();
            for o in &mut ae.outputs {
                if let Some(r) = &rev {
                    o.revision = Some(r.revision_id.clone());
                }
            }
            let outs = ae.outputs.clone();
            let vars = vars.unwrap_or_default();
            ae.output_vars = Some(vars.clone());
            for o in outs {
                exec.artifacts.insert(o.name.clone(), o);
            }
            if let Some(r) = rev
                && exec.decl.stages[exec.actions[idx].stage].actions[exec.actions[idx].action]
                    .type_id
                    .category
                    == "Source"
            {
                exec.revisions.retain(|x| x.action != r.action);
                exec.revisions.push(r);
            }
            if let Some(ns) = ns {
                exec.variables.insert(ns, vars);
            }
        }
        Outcome::Failed {
            code,
            message,
            external_id,
        } => {
            ae.status = "Failed";
            ae.error = Some((code, message));
            if external_id.is_some() {
                ae.external_id = external_id;
            }
        }
    }
    exec.last_update = env.now;
    pump(env, region, &pipeline);
}

// ---------------------------------------------------------------------------
// Operations

/// `StartPipelineExecution`.
pub fn start_op(env: &Env<'_>, region: &mut Region, input: &Value) -> AwsResult<Value> {
    let name = req_str(input, "name", "name")?;
    check_pipeline_name("name", name)?;
    let vars_in = opt_list(input, "variables", "variables")?;
    if vars_in.len() > 50 {
        return Err(super::invalid(
            "variables",
            "…",
            "Member must have length less than or equal to 50",
        ));
    }
    let mut vars = BTreeMap::new();
    for (i, v) in vars_in.iter().enumerate() {
        let f = format!("variables.{}.member", i + 1);
        let n = req_str(v, "name", &format!("{f}.name"))?;
        check_len(&format!("{f}.name"), n, 1, 128)?;
        let val = req_str(v, "value", &format!("{f}.value"))?;
        check_len(&format!("{f}.value"), val, 1, 1000)?;
        vars.insert(n.to_string(), val.to_string());
    }
    if let Some(t) = opt_str(input, "clientRequestToken", "clientRequestToken")? {
        check_len("clientRequestToken", t, 1, 128)?;
    }
    let p = region.pipelines.get(name).ok_or_else(|| not_found(name))?;
    if !vars.is_empty() && p.decl.pipeline_type != "V2" {
        return Err(AwsError::validation(
            "Pipeline variables are only supported for pipeline type V2",
        ));
    }
    let id = start(
        env,
        region,
        name,
        Trigger {
            kind: "StartPipelineExecution",
            detail: caller_arn(),
        },
        vars,
        None,
    )?;
    Ok(json!({ "pipelineExecutionId": id }))
}

fn exec_of<'a>(region: &'a Region, pipeline: &str, exec_id: &str) -> AwsResult<&'a Execution> {
    region
        .executions
        .get(exec_id)
        .filter(|e| e.pipeline == pipeline)
        .ok_or_else(|| {
            AwsError::bad_request(
                "PipelineExecutionNotFoundException",
                format!("Pipeline execution {exec_id} does not exist in pipeline {pipeline}"),
            )
        })
}

/// `StopPipelineExecution`.
pub fn stop_op(env: &Env<'_>, region: &mut Region, input: &Value) -> AwsResult<Value> {
    let name = req_str(input, "pipelineName", "pipelineName")?;
    check_pipeline_name("pipelineName", name)?;
    let id = req_str(input, "pipelineExecutionId", "pipelineExecutionId")?;
    check_uuid("pipelineExecutionId", id)?;
    let abandon = opt_bool(input, "abandon", "abandon")?.unwrap_or(false);
    let reason = opt_str(input, "reason", "reason")?;
    if let Some(r) = reason {
        check_len("reason", r, 0, 200)?;
    }
    if !region.pipelines.contains_key(name) {
        return Err(not_found(name));
    }
    let exec = region
        .executions
        .get_mut(id)
        .filter(|e| e.pipeline == name)
        .ok_or_else(|| {
            AwsError::bad_request(
                "PipelineExecutionNotStoppableException",
                format!("Pipeline execution {id} does not exist in pipeline {name}"),
            )
        })?;
    match (exec.status, exec.stop) {
        ("InProgress", _) => {}
        ("Stopping", Some(false)) if abandon => {}
        ("Stopping", _) => {
            return Err(AwsError::bad_request(
                "DuplicatedStopRequestException",
                format!("Pipeline execution {id} is already stopping"),
            ));
        }
        (st, _) => {
            return Err(AwsError::bad_request(
                "PipelineExecutionNotStoppableException",
                format!("Pipeline execution {id} is {st} and cannot be stopped"),
            ));
        }
    }
    exec.stop = Some(abandon);
    exec.stop_reason = reason.map(str::to_string);
    exec.last_update = env.now;
    if exec.entered {
        exec.stage_status[exec.stage] = Some("Stopping");
    }
    exec.status = "Stopping";
    let mut abandoned_jobs = Vec::new();
    if abandon {
        for ae in exec.actions.iter_mut().filter(|a| a.status == "InProgress") {
            ae.status = "Abandoned";
            ae.last_update = env.now;
            abandoned_jobs.push(ae.id.clone());
        }
    }
    for j in region.jobs.values_mut() {
        if j.exec_id == id && abandoned_jobs.contains(&j.action_exec_id) {
            j.abandon();
        }
    }
    pump(env, region, name);
    Ok(json!({ "pipelineExecutionId": id }))
}

/// `RetryStageExecution`.
pub fn retry_op(env: &Env<'_>, region: &mut Region, input: &Value) -> AwsResult<Value> {
    let name = req_str(input, "pipelineName", "pipelineName")?;
    check_pipeline_name("pipelineName", name)?;
    let stage = req_str(input, "stageName", "stageName")?;
    check_len("stageName", stage, 1, 100)?;
    let id = req_str(input, "pipelineExecutionId", "pipelineExecutionId")?;
    check_uuid("pipelineExecutionId", id)?;
    let mode = req_str(input, "retryMode", "retryMode")?;
    check_enum("retryMode", mode, &["FAILED_ACTIONS", "ALL_ACTIONS"])?;
    let p = region.pipelines.get(name).ok_or_else(|| not_found(name))?;
    if !p.decl.stages.iter().any(|s| s.name == stage) {
        return Err(AwsError::bad_request(
            "StageNotFoundException",
            format!("Stage {stage} does not exist in pipeline {name}"),
        ));
    }
    let not_retryable = |why: String| AwsError::bad_request("StageNotRetryableException", why);
    let latest = p.stage_latest.get(stage).cloned();
    let version = p.version;
    let exec = region
        .executions
        .get(id)
        .filter(|e| e.pipeline == name)
        .ok_or_else(|| {
            not_retryable(format!(
                "Pipeline execution {id} does not exist in pipeline {name}"
            ))
        })?;
    let si = exec
        .decl
        .stages
        .iter()
        .position(|s| s.name == stage)
        .ok_or_else(|| {
            not_retryable(format!(
                "Stage {stage} did not exist when execution {id} ran"
            ))
        })?;
    let stage_failed = matches!(exec.stage_status[si], Some("Failed") | Some("Stopped"))
        && matches!(exec.status, "Failed" | "Stopped")
        && exec.stage == si;
    if !stage_failed {
        return Err(not_retryable(format!(
            "Stage {stage} of execution {id} has no failed actions to retry (stage status: {})",
            exec.stage_status[si].unwrap_or("not started")
        )));
    }
    if latest.as_deref() != Some(id) {
        return Err(AwsError::bad_request(
            "NotLatestPipelineExecutionException",
            format!(
                "Stage {stage} has run in a later execution of pipeline {name}; execution {id} is out of date"
            ),
        ));
    }
    if exec.pipeline_version != version {
        return Err(not_retryable(format!(
            "Pipeline {name} was updated since execution {id} started (version {} → {version})",
            exec.pipeline_version
        )));
    }
    let Some(mut exec) = region.executions.remove(id) else {
        return Err(not_retryable(format!("execution {id} vanished")));
    };
    let r = exec.retries.entry(si).or_default();
    r.manual += 1;
    r.latest = Some("ManualStageRetry");
    restart_stage(env, region, &mut exec, si, mode);
    region.executions.insert(id.to_string(), exec);
    pump(env, region, name);
    Ok(json!({ "pipelineExecutionId": id }))
}

fn action_latest_json(exec: &Execution, ae: &ActionExec) -> Value {
    let a = &exec.decl.stages[ae.stage].actions[ae.action];
    let mut o = json!({
        "actionExecutionId": ae.id,
        "status": ae.status,
        "lastStatusChange": ts(ae.last_update),
        "lastUpdatedBy": ae.updated_by,
    });
    if ae.status == "InProgress" {
        o["token"] = json!(ae.token);
    }
    if let Some(s) = &ae.summary {
        o["summary"] = json!(s);
    }
    if let Some(x) = &ae.external_id {
        o["externalExecutionId"] = json!(x);
    }
    if let Some(u) = a.def.url(
        "executionUrlTemplate",
        &ae.resolved,
        ae.external_id.as_deref(),
    ) {
        o["externalExecutionUrl"] = json!(u);
    }
    if let Some(p) = ae.percent {
        o["percentComplete"] = json!(p);
    }
    if let Some((c, m)) = &ae.error {
        o["errorDetails"] = json!({"code": c, "message": m});
    }
    o
}

/// `GetPipelineState`: the console view of the current declaration.
pub fn state_op(region: &Region, input: &Value) -> AwsResult<Value> {
    let name = req_str(input, "name", "name")?;
    check_pipeline_name("name", name)?;
    let p = region.pipelines.get(name).ok_or_else(|| not_found(name))?;
    let execs: Vec<&Execution> = region
        .executions
        .values()
        .filter(|e| e.pipeline == name)
        .collect();
    let mut stages = Vec::new();
    for (si, s) in p.decl.stages.iter().enumerate() {
        let mut st = json!({"stageName": s.name, "inboundTransitionState": {"enabled": true}});
        if let Some(e) = p
            .stage_latest
            .get(&s.name)
            .and_then(|id| region.executions.get(id))
            && let Some(i) = e.decl.stages.iter().position(|x| x.name == s.name)
            && let Some(status) = e.stage_status[i]
        {
            st["latestExecution"] =
                json!({"pipelineExecutionId": e.id, "status": status, "type": e.execution_type()});
            if let Some(r) = e.retries.get(&i) {
                let mut m = json!({});
                if r.automated > 0 {
                    m["autoStageRetryAttempt"] = json!(r.automated);
                }
                if r.manual > 0 {
                    m["manualStageRetryAttempt"] = json!(r.manual);
                }
                if let Some(t) = r.latest {
                    m["latestRetryTrigger"] = json!(t);
                }
                st["retryStageMetadata"] = m;
            }
        }
        let mut waiting: Vec<&&Execution> = execs
            .iter()
            .filter(|e| e.active() && !e.entered && e.stage == si)
            .collect();
        waiting.sort_by_key(|e| e.seq);
        if let Some(w) = waiting.last() {
            st["inboundExecution"] = json!({"pipelineExecutionId": w.id, "status": "InProgress", "type": w.execution_type()});
            st["inboundExecutions"] = json!(waiting.iter().map(|w| json!({"pipelineExecutionId": w.id, "status": "InProgress", "type": w.execution_type()})).collect::<Vec<_>>());
        }
        let mut actions = Vec::new();
        for a in &s.actions {
            let mut ast = json!({"actionName": a.name});
            let latest = execs
                .iter()
                .flat_map(|e| e.actions.iter().map(move |x| (*e, x)))
                .filter(|(_, x)| x.stage_name == s.name && x.action_name == a.name)
                .max_by(|(e1, x1), (e2, x2)| (x1.start, e1.seq).cmp(&(x2.start, e2.seq)));
            let config = latest.map(|(_, x)| &x.resolved).unwrap_or(&a.configuration);
            if let Some(u) = a.def.url("entityUrlTemplate", config, None) {
                ast["entityUrl"] = json!(u);
            }
            if let Some((e, x)) = latest {
                ast["latestExecution"] = action_latest_json(e, x);
                if let Some(r) = &x.current_revision {
                    ast["currentRevision"] = json!({"revisionId": r.revision_id,
                        "revisionChangeId": r.change_id.clone().unwrap_or_else(|| r.revision_id.clone()),
                        "created": ts(r.created)});
                    if let Some(u) = a.def.url("revisionUrlTemplate", config, None) {
                        ast["revisionUrl"] = json!(u);
                    }
                }
            }
            actions.push(ast);
        }
        st["actionStates"] = json!(actions);
        stages.push(st);
    }
    Ok(json!({
        "pipelineName": name,
        "pipelineVersion": p.version,
        "stageStates": stages,
        "created": ts(p.created),
        "updated": ts(p.updated),
    }))
}

fn trigger_json(t: &Trigger) -> Value {
    json!({"triggerType": t.kind, "triggerDetail": t.detail})
}

/// `GetPipelineExecution`.
pub fn get_execution_op(region: &Region, input: &Value) -> AwsResult<Value> {
    let name = req_str(input, "pipelineName", "pipelineName")?;
    check_pipeline_name("pipelineName", name)?;
    let id = req_str(input, "pipelineExecutionId", "pipelineExecutionId")?;
    check_uuid("pipelineExecutionId", id)?;
    if !region.pipelines.contains_key(name) {
        return Err(not_found(name));
    }
    let e = exec_of(region, name, id)?;
    let revisions: Vec<Value> = e
        .revisions
        .iter()
        .map(|r| {
            let mut o =
                json!({"name": r.artifact, "revisionId": r.revision_id, "created": ts(r.created)});
            if let Some(c) = &r.change_id {
                o["revisionChangeIdentifier"] = json!(c);
            }
            if let Some(s) = &r.summary {
                o["revisionSummary"] = json!(s);
            }
            o
        })
        .collect();
    let mut pe = json!({
        "pipelineName": name,
        "pipelineVersion": e.pipeline_version,
        "pipelineExecutionId": e.id,
        "status": e.status,
        "artifactRevisions": revisions,
        "trigger": trigger_json(&e.trigger),
        "executionMode": e.decl.execution_mode,
        "executionType": e.execution_type(),
        "variables": e.variables.get("variables").map(|m| m.iter().map(|(k, v)| json!({"name": k, "resolvedValue": v})).collect::<Vec<_>>()).unwrap_or_default(),
    });
    if let Some(s) = &e.status_summary {
        pe["statusSummary"] = json!(s);
    }
    if let Some(r) = &e.rollback {
        pe["rollbackMetadata"] = json!({"rollbackTargetPipelineExecutionId": r});
    }
    Ok(json!({ "pipelineExecution": pe }))
}

/// `ListPipelineExecutions` (newest first).
pub fn list_executions_op(region: &Region, input: &Value) -> AwsResult<Value> {
    let name = req_str(input, "pipelineName", "pipelineName")?;
    check_pipeline_name("pipelineName", name)?;
    if !region.pipelines.contains_key(name) {
        return Err(not_found(name));
    }
    let succeeded_in = opt_obj(input, "filter", "filter")?
        .and_then(|f| f.get("succeededInStage"))
        .and_then(|s| s.get("stageName"))
        .and_then(Value::as_str);
    let mut execs: Vec<&Execution> = region
        .executions
        .values()
        .filter(|e| e.pipeline == name)
        .filter(|e| {
            succeeded_in.is_none_or(|s| {
                e.decl
                    .stages
                    .iter()
                    .position(|x| x.name == s)
                    .is_some_and(|i| e.stage_status[i] == Some("Succeeded"))
            })
        })
        .collect();
    execs.sort_by_key(|e| std::cmp::Reverse(e.seq));
    let all: Vec<Value> = execs
        .iter()
        .map(|e| {
            let mut o = json!({
                "pipelineExecutionId": e.id,
                "status": e.status,
                "startTime": ts(e.start),
                "lastUpdateTime": ts(e.last_update),
                "sourceRevisions": e.revisions.iter().map(|r| {
                    let mut s = json!({"actionName": r.action, "revisionId": r.revision_id});
                    if let Some(x) = &r.summary { s["revisionSummary"] = json!(x); }
                    s
                }).collect::<Vec<_>>(),
                "trigger": trigger_json(&e.trigger),
                "executionMode": e.decl.execution_mode,
                "executionType": e.execution_type(),
            });
            if let Some(s) = &e.status_summary {
                o["statusSummary"] = json!(s);
            }
            if let Some(r) = &e.rollback {
                o["rollbackMetadata"] = json!({"rollbackTargetPipelineExecutionId": r});
            }
            if e.stop.is_some() {
                o["stopTrigger"] = json!({"reason": e.stop_reason.clone().unwrap_or_default()});
            }
            o
        })
        .collect();
    let (items, next) = super::page(all, input, Some(("maxResults", 1, 100, 100)))?;
    let mut out = json!({"pipelineExecutionSummaries": items});
    if let Some(n) = next {
        out["nextToken"] = json!(n);
    }
    Ok(out)
}

/// Configuration with secret values masked.
fn masked(a: &ActionDecl, cfg: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    cfg.iter()
        .map(|(k, v)| {
            let secret = a.def.properties.iter().any(|p| &p.name == k && p.secret);
            (
                k.clone(),
                if secret {
                    SECRET_MASK.to_string()
                } else {
                    v.clone()
                },
            )
        })
        .collect()
}

/// `ListActionExecutions` (newest first; `filter.pipelineExecutionId`).
pub fn list_action_executions_op(region: &Region, input: &Value) -> AwsResult<Value> {
    let name = req_str(input, "pipelineName", "pipelineName")?;
    check_pipeline_name("pipelineName", name)?;
    if !region.pipelines.contains_key(name) {
        return Err(not_found(name));
    }
    let filter = opt_obj(input, "filter", "filter")?;
    let only = match filter {
        Some(f) => opt_str(f, "pipelineExecutionId", "filter.pipelineExecutionId")?,
        None => None,
    };
    if let Some(id) = only {
        check_uuid("filter.pipelineExecutionId", id)?;
        exec_of(region, name, id)?;
    }
    let mut rows: Vec<(&Execution, usize, &ActionExec)> = region
        .executions
        .values()
        .filter(|e| e.pipeline == name && only.is_none_or(|id| e.id == id))
        .flat_map(|e| e.actions.iter().enumerate().map(move |(i, a)| (e, i, a)))
        .collect();
    rows.sort_by_key(|(e, i, a)| std::cmp::Reverse((a.start, e.seq, *i)));
    let all: Vec<Value> = rows
        .iter()
        .map(|(e, _, ae)| {
            let a = &e.decl.stages[ae.stage].actions[ae.action];
            let mut input = json!({
                "actionTypeId": a.type_id.to_json(),
                "configuration": masked(a, &a.configuration),
                "resolvedConfiguration": masked(a, &ae.resolved),
                "roleArn": a.role_arn.clone().unwrap_or_else(|| e.decl.role_arn.clone()),
                "region": a.region.clone().unwrap_or_else(|| region.name.clone()),
                "inputArtifacts": ae.inputs.iter().map(ArtifactRef::detail_json).collect::<Vec<_>>(),
            });
            if let Some(ns) = &a.namespace {
                input["namespace"] = json!(ns);
            }
            let mut result = json!({});
            if let Some(x) = &ae.external_id {
                result["externalExecutionId"] = json!(x);
            }
            if let Some(s) = &ae.summary {
                result["externalExecutionSummary"] = json!(s);
            }
            if let Some(u) = a
                .def
                .url("executionUrlTemplate", &ae.resolved, ae.external_id.as_deref())
            {
                result["externalExecutionUrl"] = json!(u);
            }
            if let Some((c, m)) = &ae.error {
                result["errorDetails"] = json!({"code": c, "message": m});
            }
            let mut output = json!({"executionResult": result});
            if ae.status == "Succeeded" {
                output["outputArtifacts"] =
                    json!(ae.outputs.iter().map(ArtifactRef::detail_json).collect::<Vec<_>>());
            } else {
                output["outputArtifacts"] = json!([]);
            }
            if let Some(v) = &ae.output_vars {
                output["outputVariables"] = json!(v);
            }
            json!({
                "pipelineExecutionId": e.id,
                "actionExecutionId": ae.id,
                "pipelineVersion": e.pipeline_version,
                "stageName": ae.stage_name,
                "actionName": ae.action_name,
                "startTime": ts(ae.start),
                "lastUpdateTime": ts(ae.last_update),
                "updatedBy": ae.updated_by,
                "status": ae.status,
                "input": input,
                "output": output,
            })
        })
        .collect();
    let (items, next) = super::page(all, input, Some(("maxResults", 1, 100, 100)))?;
    let mut out = json!({"actionExecutionDetails": items});
    if let Some(n) = next {
        out["nextToken"] = json!(n);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_variables() {
        let vars = HashMap::from([(
            "Src".to_string(),
            BTreeMap::from([("CommitId".to_string(), "abc".to_string())]),
        )]);
        assert_eq!(resolve("x-#{Src.CommitId}-y", &vars).unwrap(), "x-abc-y");
        assert_eq!(resolve("plain", &vars).unwrap(), "plain");
        assert!(resolve("#{Src.Nope}", &vars).is_err());
        assert!(resolve("#{NoDot}", &vars).is_err());
    }

    #[test]
    fn artifact_keys_truncate_like_aws() {
        let k = artifact_key("a-very-long-pipeline-name-indeed", "SourceArtifact");
        let parts: Vec<&str> = k.split('/').collect();
        assert_eq!(parts[0], "a-very-long-pipeline");
        assert_eq!(parts[1], "SourceArti");
        assert_eq!(parts[2].len(), 7);
    }
}
