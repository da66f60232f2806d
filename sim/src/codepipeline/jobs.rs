//! Custom-action jobs, as BRIEF §3 describes them: one job per custom action
//! run (and one more per continuation token), `PollForJobs` →
//! `AcknowledgeJob` → `PutJobSuccessResult` / `PutJobFailureResult`, with
//! `GetJobDetails` for fresh artifact credentials.
//!
//! Job life: `Queued` (visible to polls once its continuation delay has
//! passed) → `Dispatched` (by a poll, with a fresh nonce; back to `Queued`
//! with no nonce when not acknowledged within `--ack-timeout`) →
//! `InProgress` (acknowledged; the nonce is then used up, so a second
//! acknowledgement of the same dispatch gets `InvalidNonceException` and
//! exactly one worker proceeds) → `Succeeded` / `Failed` / `TimedOut` (24 h
//! simulated after creation without a result; the action fails). Results
//! are accepted only for `InProgress` jobs: before the acknowledgement and on
//! terminal jobs they get `InvalidJobStateException`. A stop with abandon
//! makes the job terminal (`Failed`).
//!
//! Job data never leaves this module except in the responses to the worker:
//! it holds secrets and credentials, so it is never logged.

use std::collections::BTreeMap;
use std::time::SystemTime;

use serde_json::{Value, json};

use super::action_types::TypeId;
use super::executions::{self, Details, Execution, Outcome};
use super::{
    ACCOUNT_ID, Env, JOB_TIMEOUT, Region, check_enum, check_len, check_uuid, invalid, missing,
    opt_int, opt_obj, opt_str, opt_str_map, req_str, uuid,
};
use crate::error::{AwsError, AwsResult};

/// Largest total size of a job's output variables (keys + values, bytes).
const MAX_OUTPUT_VARIABLES_BYTES: usize = 122_880;
/// Most jobs one PollForJobs returns, whatever `maxBatchSize` asks.
const MAX_BATCH: usize = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobStatus {
    Queued,
    Dispatched,
    InProgress,
    Succeeded,
    Failed,
    TimedOut,
}

impl JobStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Queued => "Queued",
            JobStatus::Dispatched => "Dispatched",
            JobStatus::InProgress => "InProgress",
            JobStatus::Succeeded => "Succeeded",
            JobStatus::Failed => "Failed",
            JobStatus::TimedOut => "TimedOut",
        }
    }
    fn terminal(self) -> bool {
        matches!(
            self,
            JobStatus::Succeeded | JobStatus::Failed | JobStatus::TimedOut
        )
    }
}

/// One job.
#[derive(Debug, Clone)]
pub struct Job {
    pub id: String,
    /// Creation order: the queue is FIFO.
    pub seq: u64,
    pub pipeline: String,
    pub exec_id: String,
    pub action_exec_id: String,
    pub type_id: TypeId,
    /// (queryable property, its configured value) when the type has one.
    pub query: Option<(String, String)>,
    pub status: JobStatus,
    /// The nonce of the current dispatch, until acknowledged.
    pub nonce: Option<String>,
    pub created: SystemTime,
    /// Polls see the job from this time on (continuation delay).
    pub available_at: SystemTime,
    pub dispatched_at: Option<SystemTime>,
    /// `JobData` without `artifactCredentials` (issued fresh on each read).
    pub data: Value,
    /// The artifact bucket the credentials are scoped to.
    pub bucket: String,
}

impl Job {
    /// When this job's next timer fires, if it has one.
    pub fn next_deadline(&self, ack_timeout: std::time::Duration) -> Option<SystemTime> {
        let timeout = self.created + JOB_TIMEOUT;
        match self.status {
            JobStatus::Dispatched => self
                .dispatched_at
                .map(|d| (d + ack_timeout).min(timeout))
                .or(Some(timeout)),
            JobStatus::Queued | JobStatus::InProgress => Some(timeout),
            _ => None,
        }
    }

    /// The action was abandoned (StopPipelineExecution with abandon): the job
    /// becomes terminal and its nonce void.
    pub fn abandon(&mut self) {
        if !self.status.terminal() {
            self.status = JobStatus::Failed;
            self.nonce = None;
        }
    }
}

/// Queues a job for action execution `idx` of `exec` (which may be out of
/// `region.executions` while the engine works on it).
pub fn enqueue(
    env: &Env<'_>,
    region: &mut Region,
    exec: &Execution,
    idx: usize,
    continuation_token: Option<String>,
    available_at: SystemTime,
) -> String {
    let ae = &exec.actions[idx];
    let a = &exec.decl.stages[ae.stage].actions[ae.action];
    let query = a.def.queryable().map(|p| {
        (
            p.name.clone(),
            ae.resolved.get(&p.name).cloned().unwrap_or_default(),
        )
    });
    let mut data = json!({
        "actionTypeId": a.type_id.to_json(),
        "actionConfiguration": {"configuration": ae.resolved},
        "pipelineContext": {
            "pipelineName": exec.pipeline,
            "stage": {"name": ae.stage_name},
            "action": {"name": ae.action_name, "actionExecutionId": ae.id},
            "pipelineArn": exec.pipeline_arn,
            "pipelineExecutionId": exec.id,
        },
        "inputArtifacts": ae.inputs.iter().map(executions::ArtifactRef::job_json).collect::<Vec<_>>(),
        "outputArtifacts": ae.outputs.iter().map(executions::ArtifactRef::job_json).collect::<Vec<_>>(),
    });
    if let Some(k) = &exec.decl.kms_key {
        data["encryptionKey"] = json!({"id": k, "type": "KMS"});
    }
    if let Some(t) = continuation_token {
        data["continuationToken"] = json!(t);
    }
    region.job_seq += 1;
    let id = uuid();
    region.jobs.insert(
        id.clone(),
        Job {
            id: id.clone(),
            seq: region.job_seq,
            pipeline: exec.pipeline.clone(),
            exec_id: exec.id.clone(),
            action_exec_id: ae.id.clone(),
            type_id: a.type_id.clone(),
            query,
            status: JobStatus::Queued,
            nonce: None,
            created: env.now,
            available_at,
            dispatched_at: None,
            data,
            bucket: exec.decl.bucket.clone(),
        },
    );
    id
}

/// Job data with freshly issued artifact credentials.
fn data_with_credentials(env: &Env<'_>, job: &Job) -> Value {
    let creds = env.sim.credentials.issue(std::slice::from_ref(&job.bucket));
    let mut data = job.data.clone();
    data["artifactCredentials"] = json!({
        "accessKeyId": creds.access_key_id,
        "secretAccessKey": creds.secret_access_key,
        "sessionToken": creds.session_token,
    });
    data
}

fn job_not_found(id: &str) -> AwsError {
    AwsError::bad_request("JobNotFoundException", format!("Job {id} does not exist"))
}

fn job_id(input: &Value) -> AwsResult<&str> {
    let id = req_str(input, "jobId", "jobId")?;
    check_uuid("jobId", id)?;
    Ok(id)
}

/// `PollForJobs`.
pub fn poll(env: &Env<'_>, region: &mut Region, input: &Value) -> AwsResult<Value> {
    let tv =
        opt_obj(input, "actionTypeId", "actionTypeId")?.ok_or_else(|| missing("actionTypeId"))?;
    let type_id = TypeId::parse(tv, "actionTypeId")?;
    if type_id.owner != "Custom" {
        return Err(AwsError::validation(format!(
            "PollForJobs is valid only for action types with owner Custom, not {}",
            type_id.owner
        )));
    }
    let def = region.action_types.get(&type_id).ok_or_else(|| {
        AwsError::bad_request(
            "ActionTypeNotFoundException",
            format!("ActionType {type_id} does not exist"),
        )
    })?;
    let max = opt_int(input, "maxBatchSize", "maxBatchSize")?.unwrap_or(1);
    if max < 1 {
        return Err(invalid(
            "maxBatchSize",
            &max.to_string(),
            "Member must have value greater than or equal to 1",
        ));
    }
    let query = opt_str_map(input, "queryParam", "queryParam")?;
    if query.len() > 1 {
        return Err(invalid(
            "queryParam",
            &format!("{} entries", query.len()),
            "Member must have length less than or equal to 1",
        ));
    }
    for (k, v) in &query {
        check_len("queryParam", k, 1, 50)?;
        check_len(&format!("queryParam.{k}"), v, 1, 50)?;
        super::check_pattern(
            &format!("queryParam.{k}"),
            v,
            |c| c.is_ascii_alphanumeric() || c == '_' || c == '-',
            "[a-zA-Z0-9_-]+",
        )?;
    }
    let wanted = match (def.queryable(), query.iter().next()) {
        (Some(p), Some((k, v))) => {
            if k != &p.name {
                return Err(AwsError::validation(format!(
                    "queryParam must name the queryable property {} of action type {type_id}, not {k}",
                    p.name
                )));
            }
            Some(v.clone())
        }
        (Some(p), None) => {
            return Err(AwsError::validation(format!(
                "Action type {type_id} has a queryable property ({}); PollForJobs needs a queryParam for it",
                p.name
            )));
        }
        (None, Some((k, _))) => {
            return Err(AwsError::validation(format!(
                "Action type {type_id} has no queryable property; queryParam {k} is not allowed"
            )));
        }
        (None, None) => None,
    };
    let mut ready: Vec<&mut Job> = region
        .jobs
        .values_mut()
        .filter(|j| {
            j.status == JobStatus::Queued
                && j.available_at <= env.now
                && j.type_id == type_id
                && wanted
                    .as_ref()
                    .is_none_or(|w| j.query.as_ref().is_some_and(|(_, v)| v == w))
        })
        .collect();
    ready.sort_by_key(|j| j.seq);
    let mut out = Vec::new();
    for j in ready.into_iter().take((max as usize).min(MAX_BATCH)) {
        let nonce = uuid();
        j.status = JobStatus::Dispatched;
        j.nonce = Some(nonce.clone());
        j.dispatched_at = Some(env.now);
        out.push(json!({
            "id": j.id,
            "data": data_with_credentials(env, j),
            "nonce": nonce,
            "accountId": ACCOUNT_ID,
        }));
    }
    Ok(json!({ "jobs": out }))
}

/// `AcknowledgeJob`: the nonce of the current dispatch, once.
pub fn acknowledge(region: &mut Region, input: &Value) -> AwsResult<Value> {
    let id = job_id(input)?;
    let nonce = req_str(input, "nonce", "nonce")?;
    check_len("nonce", nonce, 1, 50)?;
    let job = region.jobs.get_mut(id).ok_or_else(|| job_not_found(id))?;
    if job.nonce.as_deref() != Some(nonce) {
        return Err(AwsError::bad_request(
            "InvalidNonceException",
            format!(
                "The nonce {nonce} is not valid for job {id} (it was acknowledged already or dispatched again)"
            ),
        ));
    }
    job.nonce = None;
    job.status = JobStatus::InProgress;
    Ok(json!({ "status": job.status.as_str() }))
}

/// `GetJobDetails`: the job data with fresh artifact credentials.
pub fn details(env: &Env<'_>, region: &mut Region, input: &Value) -> AwsResult<Value> {
    let id = job_id(input)?;
    let job = region.jobs.get(id).ok_or_else(|| job_not_found(id))?;
    Ok(json!({"jobDetails": {
        "id": job.id,
        "data": data_with_credentials(env, job),
        "accountId": ACCOUNT_ID,
    }}))
}

/// The job must be acknowledged and not yet finished.
fn in_progress<'a>(region: &'a mut Region, id: &str) -> AwsResult<&'a mut Job> {
    let job = region.jobs.get_mut(id).ok_or_else(|| job_not_found(id))?;
    if job.status != JobStatus::InProgress {
        return Err(AwsError::bad_request(
            "InvalidJobStateException",
            format!(
                "Job {id} is {}; a result can be reported only for an acknowledged job in progress",
                job.status.as_str()
            ),
        ));
    }
    Ok(job)
}

fn parse_details(input: &Value) -> AwsResult<Details> {
    let mut d = Details::default();
    if let Some(e) = opt_obj(input, "executionDetails", "executionDetails")? {
        if let Some(s) = opt_str(e, "summary", "executionDetails.summary")? {
            check_len("executionDetails.summary", s, 1, 2048)?;
            d.summary = Some(s.into());
        }
        if let Some(x) = opt_str(
            e,
            "externalExecutionId",
            "executionDetails.externalExecutionId",
        )? {
            check_len("executionDetails.externalExecutionId", x, 1, 1500)?;
            d.external_id = Some(x.into());
        }
        if let Some(p) = opt_int(e, "percentComplete", "executionDetails.percentComplete")? {
            if !(0..=100).contains(&p) {
                return Err(invalid(
                    "executionDetails.percentComplete",
                    &p.to_string(),
                    "Member must have value between 0 and 100",
                ));
            }
            d.percent = Some(p);
        }
    }
    if let Some(r) = opt_obj(input, "currentRevision", "currentRevision")? {
        let rev = req_str(r, "revision", "currentRevision.revision")?;
        check_len("currentRevision.revision", rev, 1, 1500)?;
        let change = req_str(r, "changeIdentifier", "currentRevision.changeIdentifier")?;
        check_len("currentRevision.changeIdentifier", change, 1, 100)?;
        let summary = opt_str(r, "revisionSummary", "currentRevision.revisionSummary")?;
        if let Some(s) = summary {
            check_len("currentRevision.revisionSummary", s, 1, 2048)?;
        }
        let created = match r.get("created") {
            None | Some(Value::Null) => None,
            Some(v) => {
                let created = v
                    .as_f64()
                    .and_then(crate::clock::from_epoch_secs)
                    .ok_or_else(|| {
                        AwsError::bad_request(
                            "SerializationException",
                            "'currentRevision.created' must be a timestamp (epoch seconds)",
                        )
                    })?;
                Some(created)
            }
        };
        d.revision = Some((
            rev.into(),
            change.into(),
            summary.map(str::to_string),
            created,
        ));
    }
    Ok(d)
}

/// `PutJobSuccessResult`.
pub fn success(env: &Env<'_>, region: &mut Region, input: &Value) -> AwsResult<Value> {
    let id = job_id(input)?;
    let details = parse_details(input)?;
    let token = opt_str(input, "continuationToken", "continuationToken")?;
    if let Some(t) = token {
        check_len("continuationToken", t, 1, 2048)?;
    }
    let vars = match input.get("outputVariables") {
        None | Some(Value::Null) => None,
        Some(_) => Some(opt_str_map(input, "outputVariables", "outputVariables")?),
    };
    if let Some(vars) = &vars {
        if token.is_some() {
            return Err(AwsError::validation(
                "outputVariables can be included only when there is no continuation token on the request",
            ));
        }
        for k in vars.keys() {
            super::check_pattern(
                "outputVariables",
                k,
                |c| c.is_ascii_alphanumeric() || matches!(c, '@' | '-' | '_'),
                "[A-Za-z0-9@\\-_]+",
            )?;
        }
        let size: usize = vars.iter().map(|(k, v)| k.len() + v.len()).sum();
        if size > MAX_OUTPUT_VARIABLES_BYTES {
            return Err(AwsError::bad_request(
                "OutputVariablesSizeExceededException",
                format!(
                    "The output variables are {size} bytes; at most {MAX_OUTPUT_VARIABLES_BYTES} are allowed"
                ),
            ));
        }
    }
    let job = in_progress(region, id)?;
    job.status = JobStatus::Succeeded;
    let (exec_id, ae_id) = (job.exec_id.clone(), job.action_exec_id.clone());
    match token {
        Some(t) => {
            executions::job_result(env, region, &exec_id, &ae_id, Outcome::Progress(details));
            let Some(exec) = region.executions.remove(&exec_id) else {
                return Ok(json!({}));
            };
            if let Some(idx) = exec
                .actions
                .iter()
                .position(|a| a.id == ae_id && a.status == "InProgress")
            {
                let at = env.now + env.cp.continuation_delay;
                enqueue(env, region, &exec, idx, Some(t.to_string()), at);
            }
            region.executions.insert(exec_id, exec);
        }
        None => executions::job_result(
            env,
            region,
            &exec_id,
            &ae_id,
            Outcome::Succeeded(details, Some(vars.unwrap_or_else(BTreeMap::new))),
        ),
    }
    Ok(json!({}))
}

/// `PutJobFailureResult`.
pub fn failure(env: &Env<'_>, region: &mut Region, input: &Value) -> AwsResult<Value> {
    let id = job_id(input)?;
    let fd = opt_obj(input, "failureDetails", "failureDetails")?
        .ok_or_else(|| missing("failureDetails"))?;
    let kind = req_str(fd, "type", "failureDetails.type")?;
    check_enum(
        "failureDetails.type",
        kind,
        &[
            "JobFailed",
            "ConfigurationError",
            "PermissionError",
            "RevisionOutOfSync",
            "RevisionUnavailable",
            "SystemUnavailable",
        ],
    )?;
    let message = req_str(fd, "message", "failureDetails.message")?;
    check_len("failureDetails.message", message, 1, 5000)?;
    let external = opt_str(
        fd,
        "externalExecutionId",
        "failureDetails.externalExecutionId",
    )?;
    if let Some(x) = external {
        check_len("failureDetails.externalExecutionId", x, 1, 1500)?;
    }
    let job = in_progress(region, id)?;
    job.status = JobStatus::Failed;
    let (exec_id, ae_id) = (job.exec_id.clone(), job.action_exec_id.clone());
    executions::job_result(
        env,
        region,
        &exec_id,
        &ae_id,
        Outcome::Failed {
            code: kind.to_string(),
            message: message.to_string(),
            external_id: external.map(str::to_string),
        },
    );
    Ok(json!({}))
}

/// Ack timeouts (back to the queue, nonce void) and the 24 h job timeout.
pub fn fire_timers(env: &Env<'_>, region: &mut Region) {
    let ack = env.cp.ack_timeout;
    let mut timed_out = Vec::new();
    for j in region.jobs.values_mut() {
        if j.status.terminal() {
            continue;
        }
        if env.now >= j.created + JOB_TIMEOUT {
            j.status = JobStatus::TimedOut;
            j.nonce = None;
            timed_out.push((j.exec_id.clone(), j.action_exec_id.clone()));
            continue;
        }
        if j.status == JobStatus::Dispatched && j.dispatched_at.is_some_and(|d| env.now >= d + ack)
        {
            j.status = JobStatus::Queued;
            j.nonce = None;
            j.dispatched_at = None;
        }
    }
    for (exec_id, ae_id) in timed_out {
        executions::job_result(
            env,
            region,
            &exec_id,
            &ae_id,
            Outcome::Failed {
                code: "JobFailed".into(),
                message: "The job timed out: no result was reported within 24 hours".into(),
                external_id: None,
            },
        );
    }
}
