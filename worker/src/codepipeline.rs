//! The CodePipeline adapter: the five job calls (PollForJobs, AcknowledgeJob,
//! GetJobDetails, PutJobSuccessResult, PutJobFailureResult), with the error
//! classification and bounded retries the runtime relies on, and
//! [`JobContext`], what an engine's adapters get for one job.
//!
//! The SDK client is built with its own retries disabled: every retry and
//! backoff of a job call is decided here or in the poll loop, where it is
//! written down and visible. This module knows no release logic and no job
//! state machine; it turns a [`JobReport`] into a call and SDK errors into
//! outcomes.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_config::SdkConfig;
use aws_sdk_codepipeline::Client;
use aws_sdk_codepipeline::config::retry::RetryConfig;
use aws_sdk_codepipeline::config::timeout::TimeoutConfig;
use aws_sdk_codepipeline::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;

use crate::aws_error::AwsError;
use aws_sdk_codepipeline::types::{
    ActionCategory, ActionOwner, ActionTypeId, CurrentRevision, ExecutionDetails, FailureDetails,
    FailureType, JobStatus,
};
use backon::{BackoffBuilder, ExponentialBuilder};

use crate::definition::ActionTypeDefinition;
use crate::job::{ArtifactCredentials, JobInput, PolledJob};
use crate::report::{
    self, CHANGE_ID_MAX, EXTERNAL_ID_MAX, FailureKind, JobReport, MESSAGE_MAX, REVISION_MAX,
    SUMMARY_MAX,
};

/// How an AWS call failed, as far as retrying is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallError {
    /// Throttling, 5xx, timeout or transport: worth retrying later.
    Transient(String),
    /// The service answered with this error code.
    Service { code: String, message: String },
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CallError::Transient(m) => f.write_str(m),
            CallError::Service { code, message } => write!(f, "{code}: {message}"),
        }
    }
}

impl CallError {
    pub fn code(&self) -> Option<&str> {
        match self {
            CallError::Service { code, .. } => Some(code),
            CallError::Transient(_) => None,
        }
    }
}

pub use crate::aws_error::error_chain;

impl From<AwsError> for CallError {
    fn from(e: AwsError) -> CallError {
        if e.is_transient() {
            CallError::Transient(e.cause())
        } else {
            CallError::Service {
                code: e.code.clone().unwrap_or_default(),
                message: e.message,
            }
        }
    }
}

/// Classifies an SDK error of `operation` with the worker's one rule
/// ([`AwsError::is_transient`]).
pub fn classify<E>(operation: &'static str, err: &SdkError<E, HttpResponse>) -> CallError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    AwsError::from_sdk(operation, err).into()
}

/// What AcknowledgeJob said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ack {
    /// The job is ours.
    InProgress,
    /// Not ours to work on: another worker took it (InvalidNonceException),
    /// it is gone (JobNotFoundException), or its status is not InProgress.
    Drop(String),
}

/// How posting a result ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Posted {
    Recorded,
    /// InvalidJobStateException / JobNotFoundException: the job was already
    /// terminal. Logged, never retried.
    AlreadyTerminal(String),
    /// Still failing (throttling, 5xx, transport) when the retry budget ran out.
    GaveUp(String),
    /// Refused with another error (e.g. `ValidationException`).
    Rejected(String),
    /// Nothing was posted: the report abandons the job (another job holds
    /// its release and reports it).
    NotPosted,
}

/// The job calls for one action type.
#[derive(Debug)]
pub struct JobsApi {
    client: Client,
    action_type_id: ActionTypeId,
    /// `queryParam` (the queryable property and this fleet's value).
    query: Option<(String, String)>,
    /// Configuration properties whose values may be logged.
    public: Arc<BTreeSet<String>>,
}

/// The SDK client the worker uses for job calls: SDK retries off (the worker
/// retries itself), bounded attempt time.
pub fn client(sdk: &SdkConfig) -> Client {
    Client::from_conf(
        aws_sdk_codepipeline::config::Builder::from(sdk)
            .retry_config(RetryConfig::disabled())
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(5))
                    .operation_attempt_timeout(Duration::from_secs(20))
                    .build(),
            )
            .build(),
    )
}

/// Ack calls are retried for at most this long; after that the job is left
/// to CodePipeline's ack timeout, which queues it again with a new nonce.
const ACK_RETRY_FOR: Duration = Duration::from_secs(10);

/// Backoff for retried job calls (ack, details, results): 100 ms doubling
/// with jitter, at most 5 s between attempts.
fn call_backoff() -> impl Iterator<Item = Duration> {
    ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(100))
        .with_max_delay(Duration::from_secs(5))
        .with_factor(2.0)
        .with_jitter()
        .without_max_times()
        .build()
}

impl JobsApi {
    pub fn new(
        client: Client,
        def: &ActionTypeDefinition,
        query: Option<(String, String)>,
    ) -> Self {
        let action_type_id = ActionTypeId::builder()
            .category(ActionCategory::from(def.category.as_str()))
            .owner(ActionOwner::Custom)
            .provider(&def.provider)
            .version(&def.version)
            .build()
            .expect("all ActionTypeId fields are set");
        JobsApi {
            client,
            action_type_id,
            query,
            public: Arc::new(def.public_properties()),
        }
    }

    /// One PollForJobs call for at most `max` jobs. Jobs missing their id,
    /// nonce or data are skipped (they cannot be acknowledged).
    pub async fn poll(&self, max: usize) -> Result<Vec<PolledJob>, CallError> {
        let mut req = self
            .client
            .poll_for_jobs()
            .action_type_id(self.action_type_id.clone())
            .max_batch_size(max.clamp(1, i32::MAX as usize) as i32);
        if let Some((k, v)) = &self.query {
            req = req.query_param(k, v);
        }
        let out = req.send().await.map_err(|e| classify("PollForJobs", &e))?;
        let mut jobs = Vec::new();
        for j in out.jobs() {
            match crate::job::polled_job(j, &self.public) {
                Ok(p) => jobs.push(p),
                Err(e) => tracing::warn!(error = %e, "skipping a job PollForJobs returned"),
            }
        }
        Ok(jobs)
    }

    /// AcknowledgeJob, retried on transient errors for a short while.
    pub async fn acknowledge(&self, job: &PolledJob) -> Ack {
        let give_up = Instant::now() + ACK_RETRY_FOR;
        let mut backoff = call_backoff();
        loop {
            let res = self
                .client
                .acknowledge_job()
                .job_id(&job.id)
                .nonce(&job.nonce)
                .send()
                .await;
            match res {
                Ok(out) => {
                    return match out.status() {
                        Some(JobStatus::InProgress) => Ack::InProgress,
                        other => Ack::Drop(format!(
                            "AcknowledgeJob returned status {}",
                            other.map(|s| s.as_str()).unwrap_or("(none)")
                        )),
                    };
                }
                Err(e) => match classify("AcknowledgeJob", &e) {
                    CallError::Transient(m) => {
                        let d = backoff.next().unwrap_or(Duration::from_secs(1));
                        if Instant::now() + d > give_up {
                            return Ack::Drop(format!(
                                "AcknowledgeJob kept failing ({m}); leaving the job to CodePipeline's ack timeout"
                            ));
                        }
                        tracing::debug!(error = %m, "AcknowledgeJob failed; retrying");
                        tokio::time::sleep(d).await;
                    }
                    CallError::Service { code, message } => {
                        return Ack::Drop(format!("{code}: {message}"));
                    }
                },
            }
        }
    }

    /// Posts `report` for `job`, retrying transient errors until `deadline`.
    pub async fn post(&self, job: &JobInput, report: &JobReport, deadline: Instant) -> Posted {
        if let JobReport::Abandon { .. } = report {
            return Posted::NotPosted;
        }
        let mut backoff = call_backoff();
        loop {
            let res = self.post_once(job, report).await;
            match res {
                Ok(()) => return Posted::Recorded,
                Err(CallError::Service { code, message })
                    if code == "InvalidJobStateException" || code == "JobNotFoundException" =>
                {
                    return Posted::AlreadyTerminal(format!("{code}: {message}"));
                }
                Err(CallError::Service { code, message }) => {
                    return Posted::Rejected(format!("{code}: {message}"));
                }
                Err(CallError::Transient(m)) => {
                    let d = backoff.next().unwrap_or(Duration::from_secs(1));
                    if Instant::now() + d > deadline {
                        return Posted::GaveUp(m);
                    }
                    tracing::warn!(error = %m, retry_in_ms = d.as_millis() as u64, "posting the job result failed; retrying");
                    tokio::time::sleep(d).await;
                }
            }
        }
    }

    async fn post_once(&self, job: &JobInput, report: &JobReport) -> Result<(), CallError> {
        match report {
            JobReport::Abandon { .. } => Ok(()),
            JobReport::Fail {
                kind,
                message,
                external_execution_id,
            } => {
                let msg = report::text_field(message, MESSAGE_MAX)
                    .unwrap_or_else(|| "(no message)".into());
                let details = FailureDetails::builder()
                    .r#type(failure_type(*kind))
                    .message(msg)
                    .set_external_execution_id(
                        external_execution_id
                            .as_deref()
                            .and_then(|x| report::text_field(x, EXTERNAL_ID_MAX)),
                    )
                    .build()
                    .expect("type and message are set");
                self.client
                    .put_job_failure_result()
                    .job_id(&job.job_id)
                    .failure_details(details)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| classify("PutJobFailureResult", &e))
            }
            JobReport::Continue {
                token, progress, ..
            } => self.success(job, Some(token), progress, None).await,
            JobReport::Succeed {
                progress,
                output_variables,
            } => {
                let (vars, dropped) = report::sanitize_output_variables(output_variables);
                if !dropped.is_empty() {
                    tracing::warn!(
                        ?dropped,
                        "output variables dropped (invalid key or over 122,880 bytes)"
                    );
                }
                self.success(job, None, progress, Some(vars)).await
            }
        }
    }

    async fn success(
        &self,
        job: &JobInput,
        token: Option<&String>,
        progress: &report::Progress,
        vars: Option<std::collections::BTreeMap<String, String>>,
    ) -> Result<(), CallError> {
        let details = ExecutionDetails::builder()
            .set_summary(report::text_field(&progress.summary, SUMMARY_MAX))
            .set_external_execution_id(
                progress
                    .external_execution_id
                    .as_deref()
                    .and_then(|x| report::text_field(x, EXTERNAL_ID_MAX)),
            )
            .set_percent_complete(progress.percent_complete.map(report::clamp_percent))
            .build();
        let revision = job.revision().and_then(|r| {
            CurrentRevision::builder()
                .revision(report::truncate(r, REVISION_MAX))
                .change_identifier(report::truncate(r, CHANGE_ID_MAX))
                .build()
                .ok()
        });
        let mut req = self
            .client
            .put_job_success_result()
            .job_id(&job.job_id)
            .execution_details(details)
            .set_current_revision(revision)
            .set_continuation_token(token.cloned());
        if let Some(vars) = vars.filter(|v| !v.is_empty()) {
            req = req.set_output_variables(Some(vars.into_iter().collect()));
        }
        req.send()
            .await
            .map(|_| ())
            .map_err(|e| classify("PutJobSuccessResult", &e))
    }

    /// GetJobDetails: the job's data with fresh artifact credentials.
    pub async fn job_details(&self, job_id: &str) -> Result<JobInput, CallError> {
        let mut backoff = call_backoff();
        let give_up = Instant::now() + ACK_RETRY_FOR;
        loop {
            match self.client.get_job_details().job_id(job_id).send().await {
                Ok(out) => {
                    let data = out.job_details().and_then(|d| d.data()).ok_or_else(|| {
                        CallError::Service {
                            code: "IncompleteResponse".into(),
                            message: "GetJobDetails returned no job data".into(),
                        }
                    })?;
                    return Ok(crate::job::job_input(job_id, data, &self.public));
                }
                Err(e) => match classify("GetJobDetails", &e) {
                    CallError::Transient(m) => {
                        let d = backoff.next().unwrap_or(Duration::from_secs(1));
                        if Instant::now() + d > give_up {
                            return Err(CallError::Transient(m));
                        }
                        tokio::time::sleep(d).await;
                    }
                    other => return Err(other),
                },
            }
        }
    }
}

fn failure_type(k: FailureKind) -> FailureType {
    match k {
        FailureKind::JobFailed => FailureType::JobFailed,
        FailureKind::ConfigurationError => FailureType::ConfigurationError,
        FailureKind::PermissionError => FailureType::PermissionError,
        FailureKind::RevisionOutOfSync => FailureType::RevisionOutOfSync,
        FailureKind::RevisionUnavailable => FailureType::RevisionUnavailable,
        FailureKind::SystemUnavailable => FailureType::SystemUnavailable,
    }
}

/// Artifact credentials are refreshed when older than this (they last about
/// 15 minutes; the Jenkins plugin refreshes at 14).
pub const CREDENTIALS_REFRESH_AFTER: Duration = Duration::from_secs(14 * 60);

/// What an engine's adapters get for one job: its data, and artifact
/// credentials that are refreshed through GetJobDetails when they get old.
#[derive(Debug)]
pub struct JobContext {
    pub input: JobInput,
    api: Option<Arc<JobsApi>>,
    /// The credentials at hand and when they were obtained.
    credentials: Mutex<(Option<ArtifactCredentials>, Instant)>,
    /// Age at which the credentials are fetched afresh.
    refresh_after: Duration,
}

impl JobContext {
    /// A context for `input`; `api` refreshes credentials (none: never refreshed).
    pub fn new(input: JobInput, api: Option<Arc<JobsApi>>, refresh_after: Duration) -> Self {
        JobContext {
            credentials: Mutex::new((input.artifact_credentials.clone(), Instant::now())),
            input,
            api,
            refresh_after,
        }
    }

    /// Current artifact credentials, fetched afresh with GetJobDetails when
    /// the ones at hand are older than the refresh age (default 14 minutes),
    /// missing, or `force`d (S3 answered `ExpiredToken`). The worker's one
    /// cache of a job's credentials; the answer is never logged.
    pub async fn artifact_credentials(
        &self,
        force: bool,
    ) -> Result<ArtifactCredentials, crate::engine::EngineError> {
        if !force {
            let c = self.credentials.lock().expect("credentials lock");
            if let (Some(cred), at) = &*c
                && at.elapsed() < self.refresh_after
            {
                return Ok(cred.clone());
            }
        }
        let Some(api) = &self.api else {
            return Err(crate::engine::EngineError::new(
                FailureKind::SystemUnavailable,
                "no artifact credentials and no way to refresh them",
            ));
        };
        let fresh = api.job_details(&self.input.job_id).await.map_err(|e| {
            crate::engine::EngineError::new(
                FailureKind::from_aws_error(e.code(), None),
                format!("GetJobDetails (refreshing the artifact credentials) failed: {e}"),
            )
        })?;
        let cred = fresh.artifact_credentials.ok_or_else(|| {
            crate::engine::EngineError::new(
                FailureKind::SystemUnavailable,
                "GetJobDetails returned no artifact credentials",
            )
        })?;
        tracing::info!(access_key_id = %cred.access_key_id, "artifact credentials refreshed with GetJobDetails");
        *self.credentials.lock().expect("credentials lock") = (Some(cred.clone()), Instant::now());
        Ok(cred)
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_codepipeline::operation::poll_for_jobs::PollForJobsError;
    use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
    use aws_smithy_types::body::SdkBody;

    use super::*;

    fn response(status: u16, body: &str) -> HttpResponse {
        HttpResponse::new(status.try_into().unwrap(), SdkBody::from(body.to_string()))
    }

    #[test]
    fn error_text_never_includes_the_raw_response() {
        let body = r#"{"jobs":[{"data":{"artifactCredentials":{"secretAccessKey":"SECRETXYZ"}}}]}"#;
        let e: SdkError<PollForJobsError, HttpResponse> =
            SdkError::response_error("unexpected end of input", response(200, body));
        let c = classify("PollForJobs", &e);
        assert!(matches!(c, CallError::Transient(_)), "{c:?}");
        assert!(!c.to_string().contains("SECRETXYZ"), "{c}");
        assert!(c.to_string().contains("unexpected end of input"), "{c}");
    }

    #[test]
    fn throttling_and_5xx_are_transient_other_errors_are_not() {
        let service = |status: u16, code: &str| -> SdkError<PollForJobsError, HttpResponse> {
            let meta = aws_sdk_codepipeline::error::ErrorMetadata::builder()
                .code(code)
                .message("m")
                .build();
            SdkError::service_error(PollForJobsError::generic(meta), response(status, "{}"))
        };
        assert!(matches!(
            classify("PollForJobs", &service(400, "ThrottlingException")),
            CallError::Transient(_)
        ));
        assert!(matches!(
            classify("PollForJobs", &service(503, "Whatever")),
            CallError::Transient(_)
        ));
        assert_eq!(
            classify("PollForJobs", &service(400, "ActionTypeNotFoundException")).code(),
            Some("ActionTypeNotFoundException")
        );
    }
}
