//! The `pipeline-canary plan <artifact.zip | dir>` command's logic: the same
//! preparation, Lambda reads and validation as the worker (same messages),
//! with read-only calls only (GetFunction, GetAlias), printing per function
//! unchanged / changed (old → new CodeSha256), its deployment config and the
//! schedule's duration, and the expected total time. No pipeline needed.
//! `main.rs` parses the flags and prints what [`plan`] returns.

use std::path::{Path, PathBuf};

use aws_config::SdkConfig;

use crate::artifact::{self, UnpackLimits};
use crate::engine::EngineError;
use crate::manifest::ActionDefaults;
use crate::report::FailureKind;

use super::bundle;
use super::lambda::LambdaApi;

/// The action configuration the plan assumes (the worker reads the same
/// values from the pipeline's action).
#[derive(Debug, Clone, Default)]
pub struct PlanOptions {
    /// `FunctionPrefix` (required, as in the action).
    pub function_prefix: String,
    /// `Manifest`: path of the manifest inside the artifact.
    pub manifest: Option<String>,
    /// `Alias` default.
    pub alias: Option<String>,
    /// `DeploymentConfig` default.
    pub deployment_config: Option<String>,
    /// `Alarms` guarding every function.
    pub alarms: Vec<String>,
    /// `MaxParallel`: cap on concurrent deployments (waves).
    pub max_parallel: Option<usize>,
    /// Whether the worker has a staging bucket (bundles over 50 MB).
    pub staging_bucket: bool,
    /// Where to unpack a zip and package sources (default: system temp dir).
    pub work_dir: Option<PathBuf>,
    /// Lambda requests per second the schedule plans CodeDeploy's traffic
    /// shifts into (`canary::pace`).
    pub codedeploy_rate: f64,
}

/// Plans the release of `artifact` (a zip or an unpacked directory) against
/// the Lambda functions `sdk` reaches; returns the text to print, or the
/// failure (type and message as the worker would report them).
pub async fn plan(
    sdk: &SdkConfig,
    artifact: &Path,
    opts: &PlanOptions,
) -> Result<String, EngineError> {
    if opts.function_prefix.trim().is_empty() {
        return Err(EngineError::new(
            FailureKind::ConfigurationError,
            "--function-prefix is required: the prefix of the functions this pipeline may release",
        ));
    }
    let work = tempfile::Builder::new()
        .prefix("pipeline-canary-plan-")
        .tempdir_in(opts.work_dir.clone().unwrap_or_else(std::env::temp_dir))
        .map_err(|e| {
            EngineError::new(
                FailureKind::SystemUnavailable,
                format!("temporary directory: {e}"),
            )
        })?;
    let defaults = ActionDefaults::of(
        &opts.function_prefix,
        opts.alias.as_deref(),
        opts.deployment_config.as_deref(),
        opts.alarms.clone(),
    );
    let artifact = artifact.to_path_buf();
    let manifest = opts.manifest.clone();
    let work_path = work.path().to_path_buf();
    let prepared = tokio::task::spawn_blocking(move || {
        let meta = std::fs::metadata(&artifact).map_err(|e| {
            EngineError::new(
                FailureKind::ConfigurationError,
                format!("{}: {e}", artifact.display()),
            )
        })?;
        let root = if meta.is_dir() {
            artifact.clone()
        } else {
            let root = work_path.join("artifact");
            std::fs::create_dir_all(&root)
                .map_err(|e| EngineError::new(FailureKind::SystemUnavailable, e.to_string()))?;
            artifact::unpack(&artifact, &root, &UnpackLimits::pipeline_artifact()).map_err(
                |e| {
                    EngineError::new(
                        FailureKind::ConfigurationError,
                        format!("the input artifact: {e}"),
                    )
                },
            )?;
            root
        };
        bundle::prepare(
            &root,
            &work_path.join("bundles"),
            manifest.as_deref(),
            &defaults,
        )
    })
    .await
    .map_err(|e| EngineError::new(FailureKind::JobFailed, format!("internal error: {e}")))??;
    let lambda = LambdaApi::with_defaults(sdk);
    let functions: Vec<(String, String, String)> = prepared
        .functions
        .iter()
        .map(|f| (f.name.clone(), f.alias.clone(), f.code_sha256.clone()))
        .collect();
    let (observed, hooks) = lambda
        .observe_all(&functions, &super::plan::hook_names(&prepared), true)
        .await?;
    let plan = super::plan::validate(&prepared, &observed, &hooks, opts.staging_bucket)?;
    Ok(super::plan::render(
        &plan,
        opts.max_parallel,
        opts.codedeploy_rate,
    ))
}
