//! A CodePipeline job as the worker holds it: the fields of `JobData` it uses,
//! copied out of the SDK's `Job` once, with `Debug` impls that redact the
//! artifact credentials and every configuration value not declared public by
//! the action definition. The SDK's `Job`/`JobData` are never logged.
//!
//! This module knows no client and no clock.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::Arc;

use aws_sdk_codepipeline::types::Job;

const REDACTED: &str = "** redacted **";

/// A job the worker has polled (identity + data).
#[derive(Debug, Clone)]
pub struct PolledJob {
    pub id: String,
    /// Proof of dispatch for `AcknowledgeJob`; not a secret but of no use in logs.
    pub nonce: String,
    pub input: JobInput,
}

/// The job's data (`JobData`), as the release engine sees it.
#[derive(Debug, Clone)]
pub struct JobInput {
    pub job_id: String,
    pub pipeline_name: String,
    pub stage_name: String,
    pub action_name: String,
    pub pipeline_execution_id: String,
    pub action_execution_id: String,
    pub configuration: ActionConfiguration,
    pub input_artifacts: Vec<Artifact>,
    pub output_artifacts: Vec<Artifact>,
    pub artifact_credentials: Option<ArtifactCredentials>,
    pub continuation_token: Option<String>,
    /// KMS key for output artifacts (`encryptionKey.id`).
    pub encryption_key_id: Option<String>,
}

impl JobInput {
    /// The revision the job works on: the first input artifact's (the commit
    /// SHA for GitHub sources). Reported as `currentRevision`.
    pub fn revision(&self) -> Option<&str> {
        self.input_artifacts
            .first()
            .and_then(|a| a.revision.as_deref())
    }
}

/// An input or output artifact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Artifact {
    pub name: String,
    pub revision: Option<String>,
    pub bucket: String,
    pub key: String,
}

/// The action's configuration values. `Debug` shows only values of
/// properties the action definition declares and does not mark secret.
#[derive(Clone, Default)]
pub struct ActionConfiguration {
    values: BTreeMap<String, String>,
    public: Arc<BTreeSet<String>>,
}

impl ActionConfiguration {
    pub fn new(values: BTreeMap<String, String>, public: Arc<BTreeSet<String>>) -> Self {
        ActionConfiguration { values, public }
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str)
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.values.keys().map(String::as_str)
    }
}

impl fmt::Debug for ActionConfiguration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut m = f.debug_map();
        for (k, v) in &self.values {
            if self.public.contains(k) {
                m.entry(k, v);
            } else {
                m.entry(k, &REDACTED);
            }
        }
        m.finish()
    }
}

/// `artifactCredentials`: temporary keys for the artifact bucket. `Debug`
/// shows only the access key id.
#[derive(Clone)]
pub struct ArtifactCredentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: String,
}

impl fmt::Debug for ArtifactCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ArtifactCredentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &REDACTED)
            .field("session_token", &REDACTED)
            .finish()
    }
}

/// A job that cannot be worked on because the poll answer lacks its identity.
#[derive(Debug, thiserror::Error)]
#[error("PollForJobs returned a job without {0}")]
pub struct IncompleteJob(&'static str);

impl PolledJob {
    /// Copies what the worker needs out of an SDK `Job`. `public` names the
    /// configuration properties whose values may be logged.
    pub fn from_sdk(job: &Job, public: &Arc<BTreeSet<String>>) -> Result<PolledJob, IncompleteJob> {
        let id = job.id().ok_or(IncompleteJob("an id"))?.to_string();
        let nonce = job.nonce().ok_or(IncompleteJob("a nonce"))?.to_string();
        let data = job.data().ok_or(IncompleteJob("data"))?;
        Ok(PolledJob {
            nonce,
            input: job_input(&id, data, public),
            id,
        })
    }
}

/// Copies `JobData` (from PollForJobs or GetJobDetails).
pub fn job_input(
    job_id: &str,
    data: &aws_sdk_codepipeline::types::JobData,
    public: &Arc<BTreeSet<String>>,
) -> JobInput {
    let ctx = data.pipeline_context();
    let artifacts = |list: &[aws_sdk_codepipeline::types::Artifact]| {
        list.iter()
            .map(|a| {
                let s3 = a.location().and_then(|l| l.s3_location());
                Artifact {
                    name: a.name().unwrap_or_default().to_string(),
                    revision: a.revision().map(str::to_string),
                    bucket: s3.map(|s| s.bucket_name().to_string()).unwrap_or_default(),
                    key: s3.map(|s| s.object_key().to_string()).unwrap_or_default(),
                }
            })
            .collect()
    };
    JobInput {
        job_id: job_id.to_string(),
        pipeline_name: ctx
            .and_then(|c| c.pipeline_name())
            .unwrap_or_default()
            .to_string(),
        stage_name: ctx
            .and_then(|c| c.stage())
            .and_then(|s| s.name())
            .unwrap_or_default()
            .to_string(),
        action_name: ctx
            .and_then(|c| c.action())
            .and_then(|a| a.name())
            .unwrap_or_default()
            .to_string(),
        pipeline_execution_id: ctx
            .and_then(|c| c.pipeline_execution_id())
            .unwrap_or_default()
            .to_string(),
        action_execution_id: ctx
            .and_then(|c| c.action())
            .and_then(|a| a.action_execution_id())
            .unwrap_or_default()
            .to_string(),
        configuration: ActionConfiguration::new(
            data.action_configuration()
                .and_then(|c| c.configuration())
                .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                .unwrap_or_default(),
            public.clone(),
        ),
        input_artifacts: artifacts(data.input_artifacts()),
        output_artifacts: artifacts(data.output_artifacts()),
        artifact_credentials: data.artifact_credentials().map(|c| ArtifactCredentials {
            access_key_id: c.access_key_id().to_string(),
            secret_access_key: c.secret_access_key().to_string(),
            session_token: c.session_token().to_string(),
        }),
        continuation_token: data.continuation_token().map(str::to_string),
        encryption_key_id: data.encryption_key().map(|k| k.id().to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_codepipeline::types as t;

    #[test]
    fn debug_redacts_credentials_and_secret_configuration() {
        let data = t::JobData::builder()
            .action_configuration(
                t::ActionConfiguration::builder()
                    .configuration("Stage", "prod")
                    .configuration("ApiKey", "sekrit-value-123")
                    .build(),
            )
            .pipeline_context(
                t::PipelineContext::builder()
                    .pipeline_name("p1")
                    .pipeline_execution_id("e1")
                    .action(
                        t::ActionContext::builder()
                            .name("Deploy")
                            .action_execution_id("a1")
                            .build(),
                    )
                    .build(),
            )
            .input_artifacts(
                t::Artifact::builder()
                    .name("Src")
                    .revision("abc123")
                    .location(
                        t::ArtifactLocation::builder()
                            .s3_location(
                                t::S3ArtifactLocation::builder()
                                    .bucket_name("b")
                                    .object_key("k")
                                    .build()
                                    .unwrap(),
                            )
                            .build(),
                    )
                    .build(),
            )
            .artifact_credentials(
                t::AwsSessionCredentials::builder()
                    .access_key_id("ASIAEXAMPLE")
                    .secret_access_key("SECRETKEY/abc")
                    .session_token("SESSIONTOKEN+xyz")
                    .build()
                    .unwrap(),
            )
            .build();
        let job = t::Job::builder().id("j1").nonce("n1").data(data).build();
        let public = Arc::new(BTreeSet::from(["Stage".to_string()]));
        let polled = PolledJob::from_sdk(&job, &public).unwrap();
        let dbg = format!("{polled:?} {:#?}", polled.input);
        assert!(!dbg.contains("SECRETKEY"), "{dbg}");
        assert!(!dbg.contains("SESSIONTOKEN"), "{dbg}");
        assert!(!dbg.contains("sekrit-value-123"), "{dbg}");
        assert!(dbg.contains("prod") && dbg.contains("ASIAEXAMPLE"), "{dbg}");
        let i = &polled.input;
        assert_eq!(i.revision(), Some("abc123"));
        assert_eq!(i.pipeline_name, "p1");
        assert_eq!(i.action_execution_id, "a1");
        assert_eq!(i.configuration.get("ApiKey"), Some("sekrit-value-123"));
        assert_eq!(i.input_artifacts[0].bucket, "b");
        assert_eq!(
            i.artifact_credentials.as_ref().unwrap().secret_access_key,
            "SECRETKEY/abc"
        );
        assert!(PolledJob::from_sdk(&t::Job::builder().id("x").build(), &public).is_err());
    }
}
