//! The release engine of issue 5: [`LambdaReleaseEngine`] implements the
//! runtime's [`ReleaseEngine`]. One job goes: fetch the input artifact with
//! the job's credentials and prepare every bundle (`Prepare`) → read every
//! function, alias and hook in Lambda (`Inspect`) → validate everything and
//! plan, before any mutation (pure, `plan.rs`) → update and publish the
//! changed functions (`Publish`) → write the `release.json` output artifact
//! if the action declares one (`WriteOutput`) → discard the job's workspace
//! (`Discard`) → succeed with the versions in `outputVariables`. No alias is
//! moved: the canary orchestration (issue 6) continues from `Plan` and
//! [`ReleaseState`] where this ends.
//!
//! The per-job workspace (a temporary directory under `work_dir`) is removed
//! on every exit path: by `Discard` before every result `decide` gives, by
//! `perform` itself when it fails, panics or is cancelled, by an idle sweep,
//! and with the engine (worker shutdown, which is when jobs are handed back).
//!
//! Submodules: `state` (the token), `plan` (pure planning and texts),
//! `bundle` (manifest → bundles), `fetch` (S3 with job credentials),
//! `lambda` (Lambda adapter), `limiter` (shared rate/concurrency limiter),
//! `cli` (the `plan` command).

pub mod bundle;
pub mod cli;
pub mod fetch;
pub mod lambda;
pub mod limiter;
pub mod plan;
pub mod state;

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use aws_config::SdkConfig;

use crate::artifact::{self, UnpackLimits};
use crate::engine::{Decision, EngineError, JobContext, ReleaseEngine};
use crate::job::{Artifact, JobInput};
use crate::report::{FailureKind, Progress};

use fetch::{ArtifactStore, JobCredentials};
use lambda::{LambdaApi, PublishRequest, Published, Staging, UpdateWait};
use limiter::{Limiter, LimiterConfig};
use plan::{ObservedFunction, ObservedHook, Plan, PreparedRelease};
pub use state::{FunctionRecord, Phase, ReleaseState};

/// Name of the file in the output artifact.
pub const RELEASE_JSON: &str = "release.json";

/// How the release engine works.
#[derive(Debug, Clone)]
pub struct ReleaseOptions {
    /// Where per-job workspaces are created (default: the system temp dir).
    pub work_dir: PathBuf,
    /// The limiter of Lambda control-plane calls.
    pub control: LimiterConfig,
    /// The limiter of GetFunction calls.
    pub reads: LimiterConfig,
    /// Artifact credentials older than this are refreshed before use.
    pub credentials_refresh_after: Duration,
    /// Polling of `LastUpdateStatus` after a code update.
    pub update_wait: UpdateWait,
    /// S3 bucket (worker's account) for bundles over 50 MB.
    pub staging_bucket: Option<String>,
    /// With a staging bucket: bundles larger than this are staged
    /// (default and maximum: 50 MB, Lambda's direct-upload limit).
    pub staging_above_bytes: u64,
    /// Path-style S3 addressing (S3-compatible endpoints without virtual hosts).
    pub s3_force_path_style: bool,
    /// A workspace untouched this long is removed (its job is gone).
    pub workspace_idle: Duration,
}

impl Default for ReleaseOptions {
    fn default() -> Self {
        ReleaseOptions {
            work_dir: std::env::temp_dir(),
            control: LimiterConfig::control_plane(),
            reads: LimiterConfig::reads(),
            credentials_refresh_after: Duration::from_secs(10 * 60),
            update_wait: UpdateWait::default(),
            staging_bucket: None,
            staging_above_bytes: plan::DIRECT_UPLOAD_MAX_BYTES,
            s3_force_path_style: false,
            workspace_idle: Duration::from_secs(60 * 60),
        }
    }
}

/// What the engine asks its adapters to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Download and unpack the input artifact, read the manifest, prepare bundles.
    Prepare,
    /// Read `(function, alias, new CodeSha256)` and hook functions in Lambda.
    Inspect {
        functions: Vec<(String, String, String)>,
        hooks: Vec<String>,
    },
    /// Update and publish these functions.
    Publish(Vec<PublishRequest>),
    /// Upload `release.json`, zipped, as this output artifact.
    WriteOutput {
        artifact: Artifact,
        release_json: String,
        kms_key_id: Option<String>,
    },
    /// Remove the job's workspace.
    Discard,
}

/// What the adapters observed.
#[derive(Debug)]
pub enum Observation {
    Prepared(Result<PreparedRelease, EngineError>),
    Inspected {
        functions: Vec<ObservedFunction>,
        hooks: Vec<ObservedHook>,
    },
    Published(Vec<Published>),
    OutputWritten,
    Discarded,
}

/// A job's workspace: its temporary directory and artifact credentials.
#[derive(Debug)]
struct Workspace {
    dir: tempfile::TempDir,
    credentials: JobCredentials,
    touched: Mutex<std::time::Instant>,
}

/// The release engine (issue 5: publish changed functions, move no alias).
#[derive(Debug)]
pub struct LambdaReleaseEngine {
    options: ReleaseOptions,
    sdk: SdkConfig,
    lambda: LambdaApi,
    codepipeline: aws_sdk_codepipeline::Client,
    workspaces: Mutex<HashMap<String, Arc<Workspace>>>,
}

impl LambdaReleaseEngine {
    /// An engine calling AWS as `sdk` says (the worker's own credentials for
    /// Lambda and GetJobDetails; S3 artifacts use each job's credentials).
    pub fn new(sdk: &SdkConfig, options: ReleaseOptions) -> Self {
        let staging = options.staging_bucket.as_ref().map(|b| Staging {
            s3: aws_sdk_s3::Client::from_conf(
                aws_sdk_s3::config::Builder::from(sdk)
                    .force_path_style(options.s3_force_path_style)
                    .build(),
            ),
            bucket: b.clone(),
            above_bytes: options
                .staging_above_bytes
                .min(plan::DIRECT_UPLOAD_MAX_BYTES),
        });
        LambdaReleaseEngine {
            lambda: LambdaApi::new(
                sdk,
                Arc::new(Limiter::new(options.control)),
                Arc::new(Limiter::new(options.reads)),
                staging,
                options.update_wait,
            ),
            codepipeline: crate::codepipeline::client(sdk),
            sdk: sdk.clone(),
            options,
            workspaces: Mutex::new(HashMap::new()),
        }
    }

    /// Number of job workspaces currently on disk (for tests and metrics).
    pub fn open_workspaces(&self) -> usize {
        self.workspaces.lock().expect("workspaces").len()
    }

    fn workspace(&self, job_id: &str) -> Result<Arc<Workspace>, EngineError> {
        let ws = self
            .workspaces
            .lock()
            .expect("workspaces")
            .get(job_id)
            .cloned()
            .ok_or_else(|| {
                EngineError::new(
                    FailureKind::SystemUnavailable,
                    "the job's workspace is gone (internal error); retry the action",
                )
            })?;
        *ws.touched.lock().expect("touched") = std::time::Instant::now();
        Ok(ws)
    }

    fn discard(&self, job_id: &str) {
        let ws = self.workspaces.lock().expect("workspaces").remove(job_id);
        drop(ws); // TempDir removes the directory when the last Arc goes.
    }

    /// Removes workspaces nobody touched for `workspace_idle`.
    fn sweep(&self) {
        let idle = self.options.workspace_idle;
        self.workspaces
            .lock()
            .expect("workspaces")
            .retain(|_, ws| ws.touched.lock().expect("touched").elapsed() < idle);
    }

    async fn prepare(&self, ctx: &JobContext) -> Result<PreparedRelease, EngineError> {
        let job = &ctx.input;
        let input = job.input_artifacts.first().ok_or_else(|| {
            EngineError::new(
                FailureKind::ConfigurationError,
                "the action has no input artifact: give it the release artifact as input",
            )
        })?;
        std::fs::create_dir_all(&self.options.work_dir).map_err(|e| {
            EngineError::new(
                FailureKind::SystemUnavailable,
                format!(
                    "cannot create the work directory {}: {e}",
                    self.options.work_dir.display()
                ),
            )
        })?;
        let dir = tempfile::Builder::new()
            .prefix("pipeline-canary-job-")
            .tempdir_in(&self.options.work_dir)
            .map_err(|e| {
                EngineError::new(
                    FailureKind::SystemUnavailable,
                    format!("cannot create the job's workspace: {e}"),
                )
            })?;
        let ws = Arc::new(Workspace {
            dir,
            credentials: JobCredentials::new(self.options.credentials_refresh_after),
            touched: Mutex::new(std::time::Instant::now()),
        });
        if let Some(old) = self
            .workspaces
            .lock()
            .expect("workspaces")
            .insert(job.job_id.clone(), ws.clone())
        {
            drop(old);
        }
        let zip = ws.dir.path().join("input.zip");
        let store = ArtifactStore {
            sdk: &self.sdk,
            cp: &self.codepipeline,
            ctx,
            credentials: &ws.credentials,
            path_style: self.options.s3_force_path_style,
        };
        let bytes = store.download(input, &zip).await?;
        tracing::info!(bytes, artifact = %input.name, "input artifact downloaded");
        let root = ws.dir.path().join("artifact");
        let bundles = ws.dir.path().join("bundles");
        let manifest = job
            .configuration
            .get("Manifest")
            .filter(|m| !m.trim().is_empty())
            .map(str::to_string);
        let defaults = bundle::action_defaults(&job.configuration);
        tokio::task::spawn_blocking(move || {
            std::fs::create_dir_all(&root).map_err(|e| {
                EngineError::new(
                    FailureKind::SystemUnavailable,
                    format!("creating {}: {e}", root.display()),
                )
            })?;
            artifact::unpack(&zip, &root, &UnpackLimits::pipeline_artifact()).map_err(|e| {
                let kind = if e.is_artifact_fault() {
                    FailureKind::ConfigurationError
                } else {
                    FailureKind::SystemUnavailable
                };
                EngineError::new(kind, format!("the input artifact: {e}"))
            })?;
            let _ = std::fs::remove_file(&zip);
            bundle::prepare(&root, &bundles, manifest.as_deref(), &defaults)
        })
        .await
        .map_err(|e| {
            EngineError::new(
                FailureKind::JobFailed,
                format!("internal error preparing the artifact: {e}"),
            )
        })?
    }

    async fn perform_one(
        &self,
        ctx: &JobContext,
        action: Action,
    ) -> Result<Observation, EngineError> {
        let job_id = ctx.input.job_id.as_str();
        match action {
            Action::Prepare => match self.prepare(ctx).await {
                Ok(p) => Ok(Observation::Prepared(Ok(p))),
                Err(e) if e.kind == FailureKind::SystemUnavailable => Err(e),
                Err(e) => {
                    self.discard(job_id);
                    Ok(Observation::Prepared(Err(e)))
                }
            },
            Action::Inspect { functions, hooks } => {
                let (functions, hooks) = self.lambda.observe_all(&functions, &hooks).await?;
                Ok(Observation::Inspected { functions, hooks })
            }
            Action::Publish(reqs) => {
                let _ws = self.workspace(job_id)?;
                Ok(Observation::Published(
                    self.lambda.publish_all(&reqs).await?,
                ))
            }
            Action::WriteOutput {
                artifact,
                release_json,
                kms_key_id,
            } => {
                let ws = self.workspace(job_id)?;
                let zip =
                    fetch::single_file_zip(RELEASE_JSON, release_json.as_bytes()).map_err(|e| {
                        EngineError::new(
                            FailureKind::SystemUnavailable,
                            format!("zipping {RELEASE_JSON}: {e}"),
                        )
                    })?;
                let store = ArtifactStore {
                    sdk: &self.sdk,
                    cp: &self.codepipeline,
                    ctx,
                    credentials: &ws.credentials,
                    path_style: self.options.s3_force_path_style,
                };
                store.upload(&artifact, zip, kms_key_id.as_deref()).await?;
                Ok(Observation::OutputWritten)
            }
            Action::Discard => {
                self.discard(job_id);
                Ok(Observation::Discarded)
            }
        }
    }
}

/// Removes the job's workspace when `perform` ends other than normally
/// (error, panic, cancellation).
struct DiscardUnlessDone<'a> {
    engine: &'a LambdaReleaseEngine,
    job_id: &'a str,
    done: bool,
}

impl Drop for DiscardUnlessDone<'_> {
    fn drop(&mut self) {
        if !self.done {
            self.engine.discard(self.job_id);
        }
    }
}

/// The release's id: the orchestration's [`crate::canary::release_id`]
/// (pipeline, stage, action, pipeline execution — stable under console
/// retries, which rerun the action in the same execution).
pub fn release_id(job: &JobInput) -> String {
    crate::canary::release_id(
        &job.pipeline_name,
        &job.stage_name,
        &job.action_name,
        &job.pipeline_execution_id,
    )
}

fn fail(e: EngineError, job: &JobInput) -> Decision<Action> {
    Decision::Fail {
        kind: e.kind,
        message: e.message,
        external_execution_id: Some(release_id(job)),
    }
}

/// Ends the job with `d`, discarding the workspace first when one may exist.
fn finish(state: &mut ReleaseState, d: Decision<Action>) -> Decision<Action> {
    if state.scratch.discarded {
        return d;
    }
    state.scratch.pending = Some(d);
    Decision::Perform(vec![Action::Discard])
}

impl LambdaReleaseEngine {
    /// Whether changed functions over 50 MB can be uploaded.
    fn staging(&self) -> bool {
        self.lambda.has_staging()
    }
}

impl ReleaseEngine for LambdaReleaseEngine {
    type State = ReleaseState;
    type Action = Action;
    type Observation = Observation;

    fn decide(
        &self,
        job: &JobInput,
        state: &mut ReleaseState,
        observed: Vec<Observation>,
        _now: SystemTime,
    ) -> Decision<Action> {
        decide(job, state, observed, self.staging())
    }

    async fn perform(
        &self,
        ctx: &JobContext,
        actions: Vec<Action>,
    ) -> Result<Vec<Observation>, EngineError> {
        self.sweep();
        let mut guard = DiscardUnlessDone {
            engine: self,
            job_id: &ctx.input.job_id,
            done: false,
        };
        let mut out = Vec::with_capacity(actions.len());
        for a in actions {
            out.push(self.perform_one(ctx, a).await?);
        }
        guard.done = true;
        Ok(out)
    }
}

/// The pure decision of [`LambdaReleaseEngine`]; `staging` says whether
/// bundles over 50 MB can be uploaded.
pub fn decide(
    job: &JobInput,
    state: &mut ReleaseState,
    observed: Vec<Observation>,
    staging: bool,
) -> Decision<Action> {
    let release_id = release_id(job);
    for o in observed {
        match o {
            Observation::Prepared(Ok(p)) => state.scratch.prepared = Some(p),
            Observation::Prepared(Err(e)) => {
                state.scratch.discarded = true;
                return fail(e, job);
            }
            Observation::Inspected { functions, hooks } => {
                let Some(prepared) = &state.scratch.prepared else {
                    return fail(
                        EngineError::new(
                            FailureKind::JobFailed,
                            "internal error: inspected before preparing",
                        ),
                        job,
                    );
                };
                match plan::validate(prepared, &functions, &hooks, staging) {
                    Ok(p) => state.scratch.plan = Some(p),
                    Err(e) => return finish(state, fail(e, job)),
                }
            }
            Observation::Published(list) => {
                let Some(p) = &state.scratch.plan else {
                    return fail(
                        EngineError::new(
                            FailureKind::JobFailed,
                            "internal error: published without a plan",
                        ),
                        job,
                    );
                };
                for x in list {
                    state.scratch.published.retain(|(n, _)| *n != x.function);
                    state.scratch.published.push((x.function, x.version));
                }
                state.functions = records(p, &state.scratch.published);
                state.phase = Phase::Published;
            }
            Observation::OutputWritten => state.scratch.output_written = true,
            Observation::Discarded => {
                state.scratch.discarded = true;
                if let Some(d) = state.scratch.pending.take() {
                    return d;
                }
            }
        }
    }
    if state.scratch.prepared.is_none() {
        if job
            .configuration
            .get("FunctionPrefix")
            .is_none_or(|p| p.trim().is_empty())
        {
            return fail(
                EngineError::new(
                    FailureKind::ConfigurationError,
                    "the action's FunctionPrefix property is empty: set it to the prefix of the functions this pipeline may release",
                ),
                job,
            );
        }
        return Decision::Perform(vec![Action::Prepare]);
    }
    let Some(plan) = &state.scratch.plan else {
        let prepared = state.scratch.prepared.as_ref().expect("checked above");
        return Decision::Perform(vec![Action::Inspect {
            functions: prepared
                .functions
                .iter()
                .map(|f| (f.name.clone(), f.alias.clone(), f.code_sha256.clone()))
                .collect(),
            hooks: plan::hook_names(prepared),
        }]);
    };
    // Resumed from a token: what an earlier job of this action execution
    // published (recorded by manifest position; an alias moved by the
    // orchestration no longer tells which functions changed).
    if state.scratch.published.is_empty() && !state.functions.is_empty() {
        for r in &state.functions {
            if let Some(f) = plan
                .functions
                .iter()
                .find(|f| f.index == usize::from(r.index))
            {
                state
                    .scratch
                    .published
                    .push((f.function.name.clone(), r.published.to_string()));
            }
        }
    }
    let changed: Vec<PublishRequest> = plan
        .changed()
        .filter(|f| {
            !state
                .scratch
                .published
                .iter()
                .any(|(n, _)| *n == f.function.name)
        })
        .map(|f| PublishRequest {
            function: f.function.name.clone(),
            code_sha256: f.function.code_sha256.clone(),
            bundle: f.function.bundle.clone(),
            zip_bytes: f.function.zip_bytes,
            description: plan::version_description(
                &release_id,
                &job.pipeline_execution_id,
                job.revision(),
            ),
            release_id: release_id.clone(),
        })
        .collect();
    if !changed.is_empty() {
        state.phase = Phase::Publishing;
        return Decision::Perform(vec![Action::Publish(changed)]);
    }
    if let Some(out) = job.output_artifacts.first()
        && !state.scratch.output_written
    {
        return Decision::Perform(vec![Action::WriteOutput {
            artifact: out.clone(),
            release_json: plan::release_json(
                plan,
                &state.scratch.published,
                &release_id,
                job.revision(),
            ),
            kms_key_id: job.encryption_key_id.clone(),
        }]);
    }
    let d = Decision::Succeed {
        progress: Progress {
            summary: plan::published_summary(plan, &state.scratch.published),
            percent_complete: Some(100),
            external_execution_id: Some(release_id.clone()),
        },
        output_variables: plan::output_variables(
            plan,
            &state.scratch.published,
            &release_id,
            job.revision(),
        ),
    };
    finish(state, d)
}

/// The token records of the published functions.
fn records(plan: &Plan, published: &[(String, String)]) -> Vec<FunctionRecord> {
    let by_name: BTreeMap<&str, &str> = published
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    plan.functions
        .iter()
        .filter_map(|f| {
            let v = by_name.get(f.function.name.as_str())?;
            Some(FunctionRecord {
                index: u16::try_from(f.index).ok()?,
                previous: f.current.as_ref().and_then(|c| c.version.parse().ok()),
                published: v.parse().ok()?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests;
