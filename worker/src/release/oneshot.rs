//! The one-shot `pipeline-canary release <artifact.zip | dir>` command, for
//! teams that deploy from inside CodeBuild instead of running a worker
//! fleet: a local job driver that runs the SAME [`LambdaReleaseEngine`]
//! (same `decide`, same adapters, same validation, pre-flight, publishing,
//! shift and all-or-nothing rollback) on a job synthesized from the command
//! line. Only the artifact's source differs: a local zip or directory
//! instead of the job's S3 input artifact.
//!
//! Each "job" runs through the runtime's own job loop (`runtime::drive`:
//! the same job state machine, tokens and safe points); on a `Continue`
//! (pre-flight waiting for a foreign deployment) the next "job" starts from
//! the token, as CodePipeline would. Progress goes to a callback (the
//! terminal). It knows no CodePipeline API and no terminal.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use aws_config::SdkConfig;

use super::{LambdaReleaseEngine, ReleaseOptions};
use crate::codepipeline::JobContext;
use crate::engine::EngineError;
use crate::job::{ActionConfiguration, Artifact, JobInput};
use crate::report::{FailureKind, JobReport, Progress};
use crate::runtime::{Shutdown, drive};

/// Pipeline name of a one-shot release (it names the release id with the
/// execution id).
pub const LOCAL_PIPELINE: &str = "pipeline-canary-release";

/// What the command line says (the action properties of the worker).
#[derive(Debug, Clone, Default)]
pub struct OneShotOptions {
    /// The release artifact: a zip or an unpacked directory.
    pub artifact: PathBuf,
    /// `FunctionPrefix`.
    pub function_prefix: String,
    /// `CodeDeployApplication`.
    pub application: String,
    /// `CodeDeployServiceRoleArn`.
    pub service_role_arn: String,
    /// `Manifest`: path of the manifest inside the artifact.
    pub manifest: Option<String>,
    /// `Alias` default.
    pub alias: Option<String>,
    /// `DeploymentConfig` default.
    pub deployment_config: Option<String>,
    /// `Alarms` guarding every function.
    pub alarms: Vec<String>,
    /// `MaxParallel`.
    pub max_parallel: Option<usize>,
    /// Names this release (with the pipeline name, the release id): running
    /// the command again with the same id attaches to its deployments and
    /// reuses its versions (e.g. `$CODEBUILD_BUILD_ID`).
    pub execution_id: String,
    /// The commit released (e.g. `$CODEBUILD_RESOLVED_SOURCE_VERSION`).
    pub commit: Option<String>,
}

/// A release that succeeded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Released {
    pub summary: String,
    pub output_variables: BTreeMap<String, String>,
}

/// The job the worker would get for these options.
pub fn job_input(o: &OneShotOptions) -> JobInput {
    let mut config = BTreeMap::from([
        ("FunctionPrefix".to_string(), o.function_prefix.clone()),
        ("CodeDeployApplication".to_string(), o.application.clone()),
        (
            "CodeDeployServiceRoleArn".to_string(),
            o.service_role_arn.clone(),
        ),
    ]);
    let optional = [
        ("Manifest", o.manifest.clone()),
        ("Alias", o.alias.clone()),
        ("DeploymentConfig", o.deployment_config.clone()),
        ("MaxParallel", o.max_parallel.map(|n| n.to_string())),
        ("Alarms", (!o.alarms.is_empty()).then(|| o.alarms.join(","))),
    ];
    for (k, v) in optional {
        if let Some(v) = v {
            config.insert(k.to_string(), v);
        }
    }
    JobInput {
        job_id: format!("local-{}", o.execution_id),
        pipeline_name: LOCAL_PIPELINE.to_string(),
        stage_name: "Release".to_string(),
        action_name: "Release".to_string(),
        pipeline_execution_id: o.execution_id.clone(),
        action_execution_id: o.execution_id.clone(),
        configuration: ActionConfiguration::new(config, Default::default()),
        input_artifacts: vec![Artifact {
            name: "Release".to_string(),
            revision: o.commit.clone(),
            bucket: String::new(),
            key: o.artifact.display().to_string(),
        }],
        output_artifacts: Vec::new(),
        artifact_credentials: None,
        continuation_token: None,
        encryption_key_id: None,
    }
}

/// Releases `o.artifact` with the release engine, reporting progress
/// through `on_progress`; `Ok` only when every function shifted, `Err` with
/// the failure (type and message, naming what was rolled back) otherwise.
/// Each "job" is driven by the runtime's own job loop
/// ([`crate::runtime::drive`]); a continuation becomes the next job with
/// its token, as CodePipeline would hand it over. `options.hold_job` is
/// ignored: a job is held until it ends.
pub async fn release(
    sdk: &SdkConfig,
    mut options: ReleaseOptions,
    o: &OneShotOptions,
    mut on_progress: impl FnMut(&Progress) + Send,
) -> Result<Released, EngineError> {
    options.hold_job = Duration::MAX;
    let watch = options.watch_interval;
    let engine = Arc::new(LambdaReleaseEngine::local(sdk, options, o.artifact.clone()));
    let mut job = job_input(o);
    for n in 1u32.. {
        let ctx = Arc::new(JobContext::new(
            job.clone(),
            None,
            Duration::from_secs(3600),
        ));
        let report = drive(engine.clone(), ctx, Shutdown::never(), &mut on_progress).await;
        match report {
            JobReport::Continue {
                token, progress, ..
            } => {
                // Come back in a "new job", from the token only.
                on_progress(&progress);
                job.continuation_token = Some(token);
                job.job_id = format!("local-{}-{n}", o.execution_id);
                tokio::time::sleep(watch).await;
            }
            JobReport::Succeed {
                progress,
                output_variables,
            } => {
                on_progress(&progress);
                return Ok(Released {
                    summary: progress.summary,
                    output_variables,
                });
            }
            JobReport::Fail { kind, message, .. } => return Err(EngineError::new(kind, message)),
            JobReport::Abandon { reason } => {
                return Err(EngineError::new(FailureKind::JobFailed, reason));
            }
        }
    }
    unreachable!("the loop only ends by returning")
}
