//! The SDK side of a job: copies the fields the worker uses out of the SDK's
//! `Job`/`JobData` once, into the core's [`JobInput`], whose `Debug` redacts
//! the artifact credentials and every configuration value not declared
//! public by the action definition. The SDK's `Job`/`JobData` are never
//! logged. This module knows no client and no clock.

use std::collections::BTreeSet;
use std::sync::Arc;

use aws_sdk_codepipeline::types::Job;

pub use pipeline_canary_core::job::*;

/// A job that cannot be worked on because the poll answer lacks its identity.
#[derive(Debug, thiserror::Error)]
#[error("PollForJobs returned a job without {0}")]
pub struct IncompleteJob(&'static str);

/// Copies what the worker needs out of an SDK `Job`. `public` names the
/// configuration properties whose values may be logged.
pub fn polled_job(job: &Job, public: &Arc<BTreeSet<String>>) -> Result<PolledJob, IncompleteJob> {
    let id = job.id().ok_or(IncompleteJob("an id"))?.to_string();
    let nonce = job.nonce().ok_or(IncompleteJob("a nonce"))?.to_string();
    let data = job.data().ok_or(IncompleteJob("data"))?;
    Ok(PolledJob {
        nonce,
        input: job_input(&id, data, public),
        id,
    })
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
        let polled = polled_job(&job, &public).unwrap();
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
        assert!(polled_job(&t::Job::builder().id("x").build(), &public).is_err());
    }
}
