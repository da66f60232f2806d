//! A CodePipeline job as the worker holds it: the fields of `JobData` it uses,
//! copied out of the SDK's `Job` once, with `Debug` impls that redact the
//! artifact credentials and every configuration value not declared public by
//! the action definition. The SDK's `Job`/`JobData` are never logged.
//!
//! This module knows no client and no clock; the worker's CodePipeline
//! adapter copies the SDK's `JobData` into it.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::Arc;

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
