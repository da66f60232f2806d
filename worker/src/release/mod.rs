//! The release engine of issue 5: [`LambdaReleaseEngine`] implements the
//! runtime's [`ReleaseEngine`]. One job goes: fetch the input artifact with
//! the job's credentials, unpacking it as it arrives, and prepare every
//! bundle (`Prepare`) → read every
//! function, alias and hook in Lambda (`Inspect`) → validate everything and
//! plan, before any mutation (pure, `plan.rs`) → update and publish the
//! changed functions (`Publish`) → write the `release.json` output artifact
//! if the action declares one (`WriteOutput`) → discard the job's workspace
//! (`Discard`) → succeed with the versions in `outputVariables`.
//!
//! With `orchestrate` (the default) the canary orchestration (`crate::canary`)
//! is embedded: its pre-flight runs after validation and BEFORE `Publish` (so
//! an alarm already in ALARM fails the job before anything is published),
//! and after the workspace is discarded its shift moves every changed
//! function's alias with CodeDeploy (current = the recorded previous version,
//! target = the published one; unchanged functions get no deployment),
//! watched with `Wait`s inside the job for up to `hold_job` (longer when
//! the release ends sooner than a hand-back costs, at most twice as long),
//! then handed back with a
//! continuation token. Every later job of the same action execution
//! rebuilds the plan from the artifact (names and settings are too large for
//! the token), skips the pre-flight once versions are being published, and
//! feeds the shift the same functions in the same order (the token's
//! records). Without `orchestrate` the job ends after publishing, moving no
//! alias (issue 5's behaviour).
//!
//! The per-job workspace (a temporary directory under `work_dir`) is removed
//! on every exit path: by `Discard` before every result `decide` gives, by
//! `perform` itself when it fails, panics or is cancelled, by an idle sweep,
//! and with the engine (worker shutdown, which is when jobs are handed back).
//!
//! Submodules: `state` (the token), `plan` (pure planning and texts),
//! `bundle` (manifest → bundles), `fetch` (S3 with job credentials),
//! `lambda` (Lambda adapter), `limiter` (shared rate/concurrency limiter,
//! one per Lambda quota), `watch` (when a job watching the shift looks
//! again: on its grid and right at the schedule's end; whether it hands
//! itself back),
//! `cli` (the `plan` command), `oneshot` (the `release` command: this engine
//! driven locally, without CodePipeline).

pub mod cli;
pub mod fetch;
pub mod lambda;
pub mod limiter;
pub mod oneshot;

pub mod state;

pub use pipeline_canary_core::release::{bundle, plan, watch};

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use aws_config::SdkConfig;

use crate::artifact::{self, UnpackLimits};
use crate::canary::{
    self, CanaryAction, CanaryAdapters, CanaryObservation, FunctionShift, FunctionTarget,
    Preflight, PreflightPlan, ReleaseSettings, ShiftPlan,
};
use crate::engine::{Decide, Decision, EngineError, JobContext, ReleaseEngine};
use crate::job::{Artifact, JobInput};
use crate::report::{FailureKind, Progress};

use fetch::{ArtifactStore, JobCredentials};
use lambda::{LambdaApi, PublishRequest, Published, Staging, UpdateWait};
use limiter::{Limiter, LimiterConfig};
use plan::{ObservedFunction, ObservedHook, Plan, PreparedRelease};
pub use state::{FunctionRecord, InAppSpec, Phase, ReleaseState};

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
    /// Shift aliases with CodeDeploy after publishing (the canary); `false`
    /// ends the job after publishing and moves no alias.
    pub orchestrate: bool,
    /// While a shift runs, how often the job re-observes it.
    pub watch_interval: Duration,
    /// How long one job keeps watching a shift before it is handed back to
    /// CodePipeline with a continuation token (zero: after every tick), on
    /// the engine's clock; a job whose release ends within
    /// [`watch::HAND_BACK_COST`] (and within `hold_job`) keeps watching (see
    /// [`watch::keep_holding`]).
    pub hold_job: Duration,
    /// How long pre-flight waits for a foreign deployment in a group.
    pub foreign_wait: Duration,
    /// The time `decide` is given instead of the runtime's (`None`: the
    /// runtime's). For simulated clocks: CodeDeploy's deployment times and
    /// the ETA/weights computed from them must share one clock.
    pub clock: Option<Clock>,
}

/// A time source (see [`ReleaseOptions::clock`]).
#[derive(Clone)]
pub struct Clock(pub Arc<dyn Fn() -> SystemTime + Send + Sync>);

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Clock")
    }
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
            orchestrate: true,
            watch_interval: Duration::from_secs(15),
            hold_job: Duration::from_secs(5 * 60),
            foreign_wait: canary::DEFAULT_FOREIGN_WAIT,
            clock: None,
        }
    }
}

/// What [`decide_with`] needs of the engine's options.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Flow {
    /// Bundles over 50 MB can be uploaded (a staging bucket exists).
    pub staging: bool,
    pub orchestrate: bool,
    pub watch_interval: Duration,
    pub hold_job: Duration,
    pub foreign_wait: Duration,
    /// Seconds of `now`'s clock per real second (1 for the system clock):
    /// converts the schedule's due times into real delays.
    pub time_scale: f64,
}

impl Flow {
    /// Issue 5's flow: publish, move no alias.
    pub fn publish_only(staging: bool) -> Flow {
        Flow {
            staging,
            orchestrate: false,
            watch_interval: Duration::ZERO,
            hold_job: Duration::ZERO,
            foreign_wait: Duration::ZERO,
            time_scale: 1.0,
        }
    }

    fn of(options: &ReleaseOptions, staging: bool, time_scale: f64) -> Flow {
        Flow {
            staging,
            orchestrate: options.orchestrate,
            watch_interval: options.watch_interval,
            hold_job: options.hold_job,
            foreign_wait: options.foreign_wait,
            time_scale,
        }
    }
}

/// What the engine asks its adapters to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Download and unpack the input artifact, read the manifest, prepare bundles.
    Prepare,
    /// Read `(function, alias, new CodeSha256)` and hook functions in Lambda;
    /// the aliases themselves (GetAlias) only with `aliases` (before
    /// publishing: pre-flight and the token's records need them; a later
    /// job of the release does not).
    Inspect {
        functions: Vec<(String, String, String)>,
        hooks: Vec<String>,
        aliases: bool,
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
    /// CodeDeploy / CloudWatch / Lambda actions of the canary orchestration.
    Canary(Vec<CanaryAction>),
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
    Canary(Vec<CanaryObservation>),
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
    canary: CanaryAdapters,
    /// One-shot mode: the artifact is this local zip or directory.
    local_artifact: Option<PathBuf>,
    workspaces: Mutex<HashMap<String, Arc<Workspace>>>,
    /// The rate of `options.clock` (its time scale), measured.
    clock_rate: Option<watch::ClockRate>,
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
        let control = Arc::new(Limiter::new(options.control));
        LambdaReleaseEngine {
            lambda: LambdaApi::new(
                sdk,
                control.clone(),
                Arc::new(Limiter::new(options.reads)),
                staging,
                options.update_wait,
            ),
            codepipeline: crate::codepipeline::client(sdk),
            canary: CanaryAdapters::new(sdk).with_lambda_limiter(control),
            local_artifact: None,
            sdk: sdk.clone(),
            clock_rate: options
                .clock
                .as_ref()
                .map(|c| watch::ClockRate::new((c.0)())),
            options,
            workspaces: Mutex::new(HashMap::new()),
        }
    }

    /// An engine for the one-shot `release` command: the same steps, with
    /// the artifact read from `artifact` (a zip or a directory) instead of
    /// the job's S3 input artifact.
    pub fn local(sdk: &SdkConfig, options: ReleaseOptions, artifact: PathBuf) -> Self {
        let mut e = LambdaReleaseEngine::new(sdk, options);
        e.local_artifact = Some(artifact);
        e
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
        // The artifact: downloaded with the job's credentials (and unpacked
        // while it arrives), or (one-shot mode) a local zip or directory.
        let (zip, downloaded) = match &self.local_artifact {
            Some(path) => (path.clone(), false),
            None => (ws.dir.path().join("input.zip"), true),
        };
        let bundles = ws.dir.path().join("bundles");
        let manifest = job
            .configuration
            .get("Manifest")
            .filter(|m| !m.trim().is_empty())
            .map(str::to_string);
        let defaults = bundle::action_defaults(&job.configuration);
        let unpacked = ws.dir.path().join("artifact");
        // Runs on a blocking thread: `growing` is the download in progress
        // (None: read `zip` itself).
        let prepare = move |growing: Option<artifact::GrowingFile>| {
            if growing.is_none() {
                let meta = std::fs::metadata(&zip).map_err(|e| {
                    EngineError::new(
                        FailureKind::ConfigurationError,
                        format!("the artifact {}: {e}", zip.display()),
                    )
                })?;
                if meta.is_dir() {
                    return bundle::prepare(&zip, &bundles, manifest.as_deref(), &defaults);
                }
            }
            let root = unpacked;
            std::fs::create_dir_all(&root).map_err(|e| {
                EngineError::new(
                    FailureKind::SystemUnavailable,
                    format!("creating {}: {e}", root.display()),
                )
            })?;
            // Bundles inside are verified and hashed while the rest unpacks.
            let limits = (
                UnpackLimits::pipeline_artifact(),
                UnpackLimits::function_bundle(),
            );
            let (_, verified) = match growing {
                Some(r) => artifact::unpack_verifying_zips_from(r, &root, &limits.0, &limits.1),
                None => artifact::unpack_verifying_zips(&zip, &root, &limits.0, &limits.1),
            }
            .map_err(|e| {
                let kind = if e.is_artifact_fault() {
                    FailureKind::ConfigurationError
                } else {
                    FailureKind::SystemUnavailable
                };
                EngineError::new(kind, format!("the input artifact: {e}"))
            })?;
            if downloaded {
                let _ = std::fs::remove_file(&zip);
            }
            bundle::prepare_with(&root, &bundles, manifest.as_deref(), &defaults, &verified)
        };
        if downloaded {
            let store = ArtifactStore {
                sdk: &self.sdk,
                cp: &self.codepipeline,
                ctx,
                credentials: &ws.credentials,
                path_style: self.options.s3_force_path_style,
            };
            let dest = ws.dir.path().join("input.zip");
            let (bytes, prepared) = store
                .download_while(input, &dest, move |r| prepare(Some(r)))
                .await?;
            tracing::info!(bytes, artifact = %input.name, "input artifact downloaded");
            return Ok(prepared);
        }
        tokio::task::spawn_blocking(move || prepare(None))
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
            Action::Inspect {
                functions,
                hooks,
                aliases,
            } => {
                let (functions, hooks) =
                    self.lambda.observe_all(&functions, &hooks, aliases).await?;
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
            Action::Canary(actions) => Ok(Observation::Canary(self.canary.perform(actions).await?)),
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

impl Decide for LambdaReleaseEngine {
    type State = ReleaseState;
    type Action = Action;
    type Observation = Observation;

    fn decide(
        &self,
        job: &JobInput,
        state: &mut ReleaseState,
        observed: Vec<Observation>,
        now: SystemTime,
    ) -> Decision<Action> {
        let now = self.options.clock.as_ref().map_or(now, |c| (c.0)());
        let time_scale = self.clock_rate.map_or(1.0, |r| r.scale(now));
        decide_with(
            job,
            state,
            observed,
            Flow::of(&self.options, self.staging(), time_scale),
            now,
        )
    }
}

impl ReleaseEngine for LambdaReleaseEngine {
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

/// The pure decision of [`LambdaReleaseEngine`] in issue 5's publish-only
/// flow; `staging` says whether bundles over 50 MB can be uploaded.
pub fn decide(
    job: &JobInput,
    state: &mut ReleaseState,
    observed: Vec<Observation>,
    staging: bool,
) -> Decision<Action> {
    decide_with(
        job,
        state,
        observed,
        Flow::publish_only(staging),
        SystemTime::UNIX_EPOCH,
    )
}

/// The release-wide canary settings of `job` (action properties, the
/// manifest's break-glass), or the ConfigurationError naming the property.
pub fn release_settings(
    job: &JobInput,
    plan: Option<&Plan>,
    foreign_wait: Duration,
) -> Result<ReleaseSettings, EngineError> {
    let c = &job.configuration;
    let required = |name: &str, what: &str| {
        c.get(name)
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
            .ok_or_else(|| {
                EngineError::new(
                    FailureKind::ConfigurationError,
                    format!("the action's {name} property is empty: set it to {what}"),
                )
            })
    };
    let application = required(
        "CodeDeployApplication",
        "the CodeDeploy application to deploy with (created if missing)",
    )?;
    let service_role_arn = required(
        "CodeDeployServiceRoleArn",
        "the ARN of the role CodeDeploy assumes to shift aliases",
    )?;
    let max_parallel = match c
        .get("MaxParallel")
        .map(str::trim)
        .filter(|v| !v.is_empty())
    {
        None => usize::MAX,
        Some(v) => match v.parse::<usize>() {
            Ok(n) if n >= 1 => n,
            _ => {
                return Err(EngineError::new(
                    FailureKind::ConfigurationError,
                    format!(
                        "the action's MaxParallel property is `{v}`: give a whole number ≥ 1 (deployments in flight at once), or leave it empty for all"
                    ),
                ));
            }
        },
    };
    Ok(ReleaseSettings {
        release_id: release_id(job),
        commit: job.revision().map(str::to_string),
        application,
        service_role_arn,
        max_parallel,
        break_glass: plan.and_then(|p| p.break_glass.as_ref().map(|b| b.reason.clone())),
        foreign_wait,
    })
}

fn target(f: &plan::PreparedFunction) -> FunctionTarget {
    FunctionTarget {
        function: f.name.clone(),
        alias: f.alias.clone(),
        config: f.deployment_config,
        alarms: f.alarms.clone(),
        hooks: f.hooks.clone(),
    }
}

/// Stands for a version the token dropped because the function's deployment
/// records it in its AppSpec (never sent to AWS: the shift reads the AppSpec).
pub const IN_APPSPEC: &str = "(in the deployment's AppSpec)";

/// Drops from the records what the shift's deployments record in their
/// AppSpecs: the previous version of every function whose deployment
/// exists, and — once rolling back — the published one too.
fn compact_records(state: &mut ReleaseState) {
    let rolling_back = state.shift.is_rolling_back();
    let slots = state.shift.slots();
    for (r, slot) in state.functions.iter_mut().zip(slots) {
        if let canary::shift::Slot::Deployment(_) = slot {
            r.appspec = if rolling_back || r.appspec == InAppSpec::Both {
                InAppSpec::Both
            } else {
                InAppSpec::Previous
            };
        }
    }
}

/// The aliases of the changed functions as Inspect read them (GetAlias;
/// `None` = no alias yet), for pre-flight.
pub fn known_aliases(plan: &Plan) -> Vec<(String, Option<canary::AliasView>)> {
    plan.changed()
        .map(|f| {
            (
                f.function.name.clone(),
                f.current.as_ref().map(|a| canary::AliasView {
                    version: a.version.clone(),
                    routing: a.routing.clone(),
                    revision_id: a.revision_id.clone(),
                }),
            )
        })
        .collect()
}

/// Pre-flight input: the functions `plan` found changed, in plan order.
pub fn preflight_plan(plan: &Plan, release: ReleaseSettings) -> PreflightPlan {
    PreflightPlan {
        release,
        functions: plan.changed().map(|f| target(&f.function)).collect(),
    }
}

/// Shift input: one function per token record, in record order (the same
/// on every job), current = recorded previous version, target = published.
pub fn shift_plan(
    plan: &Plan,
    records: &[FunctionRecord],
    release: ReleaseSettings,
) -> Result<ShiftPlan, EngineError> {
    let mut functions = Vec::with_capacity(records.len());
    for r in records {
        let Some(f) = plan
            .functions
            .iter()
            .find(|f| f.index == usize::from(r.index))
        else {
            return Err(EngineError::new(
                FailureKind::JobFailed,
                format!(
                    "the release recorded function #{} of the manifest, which the artifact no longer has; retry the stage",
                    r.index
                ),
            ));
        };
        let published = r.published().map(|v| v.to_string());
        // Versions dropped from the token are the deployment's AppSpec; the
        // shift reads `current_version` only before the deployment exists.
        functions.push(FunctionShift {
            serving_target: published.is_some()
                && f.current.as_ref().map(|c| &c.version) == published.as_ref(),
            target: target(&f.function),
            current_version: match r.appspec {
                InAppSpec::No => r.previous.map(|v| v.to_string()),
                InAppSpec::Previous | InAppSpec::Both => Some(IN_APPSPEC.to_string()),
            },
            target_version: published.unwrap_or_else(|| IN_APPSPEC.to_string()),
        });
    }
    Ok(ShiftPlan { release, functions })
}

/// The pure decision of [`LambdaReleaseEngine`] (see the module doc for the
/// order of steps).
pub fn decide_with(
    job: &JobInput,
    state: &mut ReleaseState,
    observed: Vec<Observation>,
    flow: Flow,
    now: SystemTime,
) -> Decision<Action> {
    let release_id = release_id(job);
    let mut canary_observed: Vec<CanaryObservation> = Vec::new();
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
                match plan::validate(prepared, &functions, &hooks, flow.staging) {
                    Ok(p) => {
                        if flow.orchestrate && state.phase == Phase::Start {
                            // A stage retry: functions an earlier attempt
                            // of this release shifted look unchanged, yet
                            // belong to it (and roll back with it).
                            for (name, version) in shifted_earlier(&p, &release_id) {
                                state.scratch.published.retain(|(n, _)| *n != name);
                                state.scratch.published.push((name, version));
                            }
                        }
                        state.scratch.plan = Some(p);
                    }
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
                state.functions =
                    records(p, &state.scratch.published, &state.functions, &release_id);
                state.phase = Phase::Published;
            }
            Observation::OutputWritten => state.scratch.output_written = true,
            Observation::Discarded => {
                state.scratch.discarded = true;
                if let Some(d) = state.scratch.pending.take() {
                    return d;
                }
            }
            Observation::Canary(v) => canary_observed.extend(v),
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
        if flow.orchestrate
            && let Err(e) = release_settings(job, None, flow.foreign_wait)
        {
            return fail(e, job);
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
            aliases: state.phase == Phase::Start,
        }]);
    };
    // Resumed from a token: what an earlier job of this action execution
    // published (recorded by manifest position; an alias moved by the
    // orchestration no longer tells which functions changed).
    if state.scratch.published.is_empty() && !state.functions.is_empty() {
        for r in &state.functions {
            let Some(published) = r.published() else {
                continue;
            };
            if let Some(f) = plan
                .functions
                .iter()
                .find(|f| f.index == usize::from(r.index))
            {
                state
                    .scratch
                    .published
                    .push((f.function.name.clone(), published.to_string()));
            }
        }
    }
    let settings = if flow.orchestrate {
        match release_settings(job, Some(plan), flow.foreign_wait) {
            Ok(s) => Some(s),
            Err(e) => return finish(state, fail(e, job)),
        }
    } else {
        None
    };
    // Canary pre-flight: before anything is published, once per job, and
    // only while nothing has been published yet.
    if let Some(settings) = &settings
        && state.phase == Phase::Start
        && state.scratch.preflight.is_none()
        && plan.changed().next().is_some()
    {
        let pf = preflight_plan(plan, settings.clone());
        if canary_observed.is_empty() {
            // Inspect read every changed function's alias in this job.
            state.preflight.knowing_aliases(known_aliases(plan));
        }
        match canary::decide_preflight(&pf, &mut state.preflight, canary_observed, now) {
            Preflight::Ready(report) => {
                tracing::info!(
                    first_release = ?report.first_release,
                    attach = report.attach.len(),
                    ensured = ?report.ensured,
                    "canary pre-flight passed"
                );
                state.scratch.preflight = Some(report);
                canary_observed = Vec::new();
            }
            Preflight::Next(Decision::Perform(a)) => {
                return Decision::Perform(vec![Action::Canary(a)]);
            }
            Preflight::Next(Decision::Abandon(r)) => return Decision::Abandon(r),
            Preflight::Next(Decision::Fail {
                kind,
                message,
                external_execution_id,
            }) => {
                return finish(
                    state,
                    Decision::Fail {
                        kind,
                        message,
                        external_execution_id: external_execution_id
                            .or_else(|| Some(release_id.clone())),
                    },
                );
            }
            Preflight::Next(Decision::Wait { progress, .. } | Decision::Continue(progress)) => {
                // A foreign deployment is being waited for: come back later.
                return finish(state, Decision::Continue(progress));
            }
            Preflight::Next(Decision::Succeed { .. }) => {
                return finish(
                    state,
                    fail(
                        EngineError::new(
                            FailureKind::JobFailed,
                            "internal error: pre-flight ended with a success",
                        ),
                        job,
                    ),
                );
            }
        }
    }
    let changed: Vec<PublishRequest> = plan
        .changed()
        .filter(|_| state.phase != Phase::Published)
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
                f.current.as_ref().map(|c| c.version.as_str()),
            ),
            release_id: release_id.clone(),
        })
        .collect();
    if !changed.is_empty() {
        state.phase = Phase::Publishing;
        return Decision::Perform(vec![Action::Publish(changed)]);
    }
    // The output artifact is written once, before the shift begins: later
    // jobs see aliases the shift moved and would misreport what changed.
    if let Some(out) = job.output_artifacts.first()
        && !state.scratch.output_written
        && state.shift.slots().is_empty()
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
    let output_variables =
        plan::output_variables(plan, &state.scratch.published, &release_id, job.revision());
    let Some(settings) = settings.filter(|_| !state.functions.is_empty()) else {
        let d = Decision::Succeed {
            progress: Progress {
                summary: plan::published_summary(plan, &state.scratch.published),
                percent_complete: Some(100),
                external_execution_id: Some(release_id.clone()),
            },
            output_variables,
        };
        return finish(state, d);
    };
    // The shift: the workspace goes first (a shift runs for minutes).
    if !state.scratch.discarded {
        return Decision::Perform(vec![Action::Discard]);
    }
    // Not `plan.unchanged_count()`: in a later job, functions the shift
    // already moved look unchanged.
    let unchanged = plan.functions.len().saturating_sub(state.functions.len());
    let sp = match shift_plan(plan, &state.functions, settings) {
        Ok(p) => p,
        Err(e) => return fail(e, job),
    };
    let decision = canary::decide_shift(&sp, &mut state.shift, canary_observed, now);
    compact_records(state);
    match decision {
        Decision::Perform(a) => Decision::Perform(vec![Action::Canary(a)]),
        Decision::Continue(progress) | Decision::Wait { progress, .. } => {
            let since = *state.scratch.watching_since.get_or_insert(now);
            let held = now.duration_since(since).unwrap_or_default();
            let due = state.shift.due();
            if held < flow.hold_job || watch::keep_holding(now, due, flow.hold_job, flow.time_scale)
            {
                Decision::Wait {
                    delay: watch::watch_delay(now, due, flow.watch_interval, flow.time_scale),
                    progress,
                }
            } else {
                Decision::Continue(progress)
            }
        }
        Decision::Succeed { mut progress, .. } => {
            if unchanged > 0 {
                progress.summary = format!(
                    "{} ({unchanged} unchanged, skipped)",
                    progress.summary.trim_end_matches('.')
                );
            }
            progress.external_execution_id = Some(release_id);
            Decision::Succeed {
                progress,
                output_variables,
            }
        }
        Decision::Fail {
            kind,
            message,
            external_execution_id,
        } => Decision::Fail {
            kind,
            message,
            external_execution_id: external_execution_id.or(Some(release_id)),
        },
        Decision::Abandon(r) => Decision::Abandon(r),
    }
}

/// Functions of `plan` an earlier attempt of release `release_id` shifted
/// (before a stage retry): the alias serves a version this release
/// published, whose description names a different previous version (a
/// first release has none: its alias is never rolled back). As (function,
/// version served).
fn shifted_earlier(plan: &Plan, release_id: &str) -> Vec<(String, String)> {
    plan.functions
        .iter()
        .filter(|f| !f.is_changed())
        .filter_map(|f| {
            let c = f.current.as_ref()?;
            // A first release (no previous version) is never rolled back.
            let previous = plan::previous_of(&c.description, release_id)??;
            (previous.to_string() != c.version)
                .then(|| (f.function.name.clone(), c.version.clone()))
        })
        .collect()
}

/// The token records of the published functions, in plan order; a function
/// already recorded keeps its recorded previous version (its alias may have
/// moved since).
fn records(
    plan: &Plan,
    published: &[(String, String)],
    recorded: &[FunctionRecord],
    release_id: &str,
) -> Vec<FunctionRecord> {
    let by_name: BTreeMap<&str, &str> = published
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    plan.functions
        .iter()
        .filter_map(|f| {
            let v = by_name.get(f.function.name.as_str())?;
            let index = u16::try_from(f.index).ok()?;
            let previous = match recorded.iter().find(|r| r.index == index) {
                Some(r) => r.previous,
                None => f.current.as_ref().and_then(|c| {
                    // Shifted by an earlier attempt: its version says
                    // what the alias served before.
                    plan::previous_of(&c.description, release_id)
                        .filter(|_| !f.is_changed())
                        .unwrap_or_else(|| c.version.parse().ok())
                }),
            };
            Some(FunctionRecord::new(index, previous, v.parse().ok()?))
        })
        .collect()
}

#[cfg(test)]
mod tests;
