//! The release engine: [`LambdaReleaseEngine`] implements the runtime's
//! [`ReleaseEngine`]. Its decisions are the core's
//! (`pipeline_canary_core::release::decide`: one state machine over the
//! release's record in the ledger); this module is the adapters that
//! perform them: the ledger (`crate::ledger`, the worker's own S3
//! credentials), the input artifact (`fetch`, the job's credentials only),
//! Lambda (`lambda`, behind one limiter per Lambda quota, `limiter`), and
//! the canary's CodeDeploy/CloudWatch/Lambda adapters (`crate::canary`).
//!
//! The per-job workspace (a temporary directory under `work_dir`) is removed
//! on every exit path: by `Discard` before every result the core decides,
//! by `perform` itself when it fails, panics or is cancelled, by an idle
//! sweep, and with the engine (worker shutdown, which is when jobs are
//! handed back).
//!
//! Submodules: `fetch` (S3 with job credentials), `lambda` (Lambda
//! adapter), `limiter` (shared rate/concurrency limiter, one per Lambda
//! quota), `cli` (the `plan` command), `oneshot` (the `release` command:
//! this engine driven by the runtime's own job loop, without
//! CodePipeline); `plan`, `bundle`, `watch` and `record` are the core's.

pub mod cli;
pub mod download;
pub mod fetch;
pub mod lambda;
pub mod limiter;
pub mod oneshot;

pub use pipeline_canary_core::release::{
    Action, Flow, Observation, PublishRequest, Published, RELEASE_JSON, ReleaseState, RollsBackTo,
    bundle, decide, plan, record, release_id, settle, shift, watch,
};

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use aws_config::SdkConfig;
use pipeline_canary_core::ledger::Location;

use crate::artifact::{self, UnpackLimits};
use crate::canary::{self, CanaryAdapters};
use crate::engine::{Decide, Decision, EngineError, JobContext, ReleaseEngine};
use crate::job::JobInput;
use crate::ledger::{Ledger, WriteError};
use crate::report::FailureKind;

use fetch::ArtifactStore;
use lambda::{LambdaApi, Staging, UpdateWait};
use limiter::{Limiter, LimiterConfig};
use plan::PreparedRelease;

/// How the release engine works.
#[derive(Debug, Clone)]
pub struct ReleaseOptions {
    /// The release ledger (`--ledger s3://BUCKET[/PREFIX]`). Required to
    /// release: without it every job fails, saying so.
    pub ledger: Option<Location>,
    /// Where per-job workspaces are created (default: the system temp dir).
    pub work_dir: PathBuf,
    /// The limiter of Lambda control-plane calls.
    pub control: LimiterConfig,
    /// The limiter of GetFunction calls.
    pub reads: LimiterConfig,
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
    /// After a release succeeds, prune its functions' versions, keeping the
    /// last this-many releases' (`run --prune-keep N`; `None`: never).
    pub prune_keep: Option<usize>,
    /// How long CodePipeline lets the action run: a release whose shift
    /// cannot end in time is refused before anything is published.
    pub max_release_duration: Duration,
    /// Lambda requests per second a release plans CodeDeploy's traffic
    /// shifts into (`canary::pace`; default 10 of Lambda's 15; infinite:
    /// every deployment starts at once).
    pub codedeploy_rate: f64,
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

/// The engine clock's rate against the monotonic clock since the engine
/// started: the simulated clock's time scale (1 for the system clock).
#[derive(Debug, Clone, Copy)]
pub struct ClockRate {
    origin: (Instant, SystemTime),
}

impl ClockRate {
    pub fn new(clock_now: SystemTime) -> Self {
        ClockRate {
            origin: (Instant::now(), clock_now),
        }
    }

    /// Clock seconds per real second so far (1 until 100 ms have passed).
    pub fn scale(&self, clock_now: SystemTime) -> f64 {
        watch::scale_between(self.origin, (Instant::now(), clock_now))
    }
}

impl Default for ReleaseOptions {
    fn default() -> Self {
        ReleaseOptions {
            ledger: None,
            work_dir: std::env::temp_dir(),
            control: LimiterConfig::control_plane(),
            reads: LimiterConfig::reads(),
            update_wait: UpdateWait::default(),
            staging_bucket: None,
            staging_above_bytes: plan::DIRECT_UPLOAD_MAX_BYTES,
            s3_force_path_style: false,
            workspace_idle: Duration::from_secs(60 * 60),
            watch_interval: Duration::from_secs(15),
            hold_job: Duration::from_secs(5 * 60),
            foreign_wait: canary::DEFAULT_FOREIGN_WAIT,
            prune_keep: None,
            max_release_duration: plan::DEFAULT_MAX_RELEASE_DURATION,
            codedeploy_rate: canary::pace::DEFAULT_CODEDEPLOY_RATE,
            clock: None,
        }
    }
}

/// A job's workspace: its temporary directory.
#[derive(Debug)]
struct Workspace {
    dir: tempfile::TempDir,
    touched: Mutex<Instant>,
}

/// The release engine.
#[derive(Debug)]
pub struct LambdaReleaseEngine {
    options: ReleaseOptions,
    sdk: SdkConfig,
    lambda: LambdaApi,
    canary: CanaryAdapters,
    ledger: Option<Ledger>,
    /// GetPipelineExecution: is a job's execution a stage rollback?
    codepipeline: aws_sdk_codepipeline::Client,
    /// One-shot mode: the artifact is this local zip or directory.
    local_artifact: Option<PathBuf>,
    workspaces: Mutex<HashMap<String, Arc<Workspace>>>,
    /// The rate of `options.clock` (its time scale), measured.
    clock_rate: Option<ClockRate>,
}

impl LambdaReleaseEngine {
    /// An engine calling AWS as `sdk` says (the worker's own credentials for
    /// Lambda, CodeDeploy, CloudWatch and the ledger; S3 artifacts use each
    /// job's credentials).
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
        let lambda = LambdaApi::new(
            sdk,
            control.clone(),
            Arc::new(Limiter::new(options.reads)),
            staging,
            options.update_wait,
        );
        LambdaReleaseEngine {
            canary: CanaryAdapters::new(sdk)
                .with_lambda_limiter(control)
                .with_code_restorer(lambda.clone()),
            lambda,
            ledger: options
                .ledger
                .clone()
                .map(|l| Ledger::new(sdk, l, options.s3_force_path_style)),
            local_artifact: None,
            codepipeline: aws_sdk_codepipeline::Client::new(sdk),
            sdk: sdk.clone(),
            clock_rate: options.clock.as_ref().map(|c| ClockRate::new((c.0)())),
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

    /// The ledger this engine records releases in.
    pub fn ledger(&self) -> Option<&Ledger> {
        self.ledger.as_ref()
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
        *ws.touched.lock().expect("touched") = Instant::now();
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
            touched: Mutex::new(Instant::now()),
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
            let dest = ws.dir.path().join("input.zip");
            let (bytes, prepared) = self
                .artifacts(ctx)
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

    /// The job's artifacts in S3 (with the job's credentials).
    fn artifacts<'a>(&'a self, ctx: &'a JobContext) -> ArtifactStore<'a> {
        ArtifactStore {
            sdk: &self.sdk,
            ctx,
            path_style: self.options.s3_force_path_style,
        }
    }

    fn ledger_or_missing(&self) -> Result<&Ledger, String> {
        self.ledger.as_ref().ok_or_else(|| {
            "no release ledger is configured: start the worker with --ledger s3://BUCKET[/PREFIX] (or PIPELINE_CANARY_LEDGER)".to_string()
        })
    }

    async fn perform_one(
        &self,
        ctx: &JobContext,
        action: Action,
    ) -> Result<Observation, EngineError> {
        let job_id = ctx.input.job_id.as_str();
        match action {
            Action::ReadRecord { key } => {
                let ledger = match self.ledger_or_missing() {
                    Ok(l) => l,
                    Err(why) => return Ok(Observation::LedgerUnavailable(why)),
                };
                match ledger.read(&key).await {
                    Ok(found) => Ok(Observation::RecordRead {
                        found,
                        at: ledger.url(&key),
                        lease: format!("{:016x}", rand::random::<u64>()),
                    }),
                    Err(e) => {
                        tracing::warn!(error = %e, "the release record cannot be read");
                        Ok(Observation::LedgerUnavailable(e.to_string()))
                    }
                }
            }
            Action::WriteRecord {
                key,
                body,
                etag,
                index,
            } => {
                let ledger = match self.ledger_or_missing() {
                    Ok(l) => l,
                    Err(why) => return Ok(Observation::LedgerUnavailable(why)),
                };
                match ledger.write(&key, &body, etag.as_deref(), &index).await {
                    Ok(etag) => Ok(Observation::RecordWritten { etag }),
                    Err(WriteError::Conflict) => {
                        tracing::info!(
                            "the release record changed since it was read; reading it again"
                        );
                        Ok(Observation::RecordConflict)
                    }
                    Err(WriteError::Failed(e)) => {
                        tracing::warn!(error = %e, "the release record cannot be written");
                        Ok(Observation::LedgerUnavailable(e.to_string()))
                    }
                }
            }
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
                let zip =
                    fetch::single_file_zip(RELEASE_JSON, release_json.as_bytes()).map_err(|e| {
                        EngineError::new(
                            FailureKind::SystemUnavailable,
                            format!("zipping {RELEASE_JSON}: {e}"),
                        )
                    })?;
                self.artifacts(ctx)
                    .upload(&artifact, zip, kms_key_id.as_deref())
                    .await?;
                Ok(Observation::OutputWritten)
            }
            Action::Discard => {
                self.discard(job_id);
                Ok(Observation::Discarded)
            }
            // The core decides what a failing canary call means (before
            // anything shifted: a failure; after: a pause, never a failure).
            Action::Canary(actions) => match self.canary.perform_partial(actions).await {
                (obs, None) => Ok(Observation::Canary(obs)),
                (obs, Some(e)) => {
                    tracing::warn!(error = %e.message, "a canary call failed after its retries");
                    Ok(Observation::CanaryFailed(obs, e))
                }
            },
            Action::GetPipelineExecution => Ok(Observation::PipelineExecution(
                self.rolls_back_to(&ctx.input).await,
            )),
            Action::Prune { functions, keep } => {
                let Some(ledger) = &self.ledger else {
                    return Ok(Observation::Pruned(0));
                };
                let r = crate::history::prune(
                    &self.sdk,
                    ledger,
                    "",
                    Some(&functions),
                    keep,
                    false,
                    |v| tracing::info!(version = v, "pruned"),
                )
                .await;
                match r {
                    Ok(p) => Ok(Observation::Pruned(p.deleted.len())),
                    Err(e) => {
                        // The release succeeded; pruning is housekeeping.
                        tracing::warn!(error = %e.message, "pruning the release's functions failed");
                        Ok(Observation::Pruned(0))
                    }
                }
            }
        }
    }

    /// What the job's pipeline execution rolls back to, when it is a stage
    /// rollback (GetPipelineExecution: trigger and `rollbackMetadata`; the
    /// target's record in the ledger gives its commit). Best effort: the
    /// release is the same either way, only its title depends on it, so a
    /// lookup that fails is logged and the release goes on as an ordinary one.
    async fn rolls_back_to(&self, job: &JobInput) -> Option<RollsBackTo> {
        if self.local_artifact.is_some() {
            return None; // the one-shot `release` command: no pipeline.
        }
        let out = match self
            .codepipeline
            .get_pipeline_execution()
            .pipeline_name(&job.pipeline_name)
            .pipeline_execution_id(&job.pipeline_execution_id)
            .send()
            .await
        {
            Ok(o) => o,
            Err(e) => {
                let e = crate::aws_error::AwsError::from_sdk("GetPipelineExecution", &e);
                tracing::warn!(error = %e, "cannot tell whether this pipeline execution is a stage rollback (the worker needs codepipeline:GetPipelineExecution); releasing it as an ordinary release");
                return None;
            }
        };
        let exec = out.pipeline_execution()?;
        let trigger = exec.trigger()?.trigger_type()?.as_str().to_string();
        if !matches!(trigger.as_str(), "ManualRollback" | "AutomatedRollback") {
            return None;
        }
        let target = exec
            .rollback_metadata()?
            .rollback_target_pipeline_execution_id()?
            .to_string();
        let release_id = canary::release_id(
            &job.pipeline_name,
            &job.stage_name,
            &job.action_name,
            &target,
        );
        let commit = match &self.ledger {
            Some(l) => match l.record(&release_id).await {
                Ok(found) => found.and_then(|(r, _)| r.commit),
                Err(e) => {
                    tracing::warn!(error = %e, "the record of the release this rollback puts back cannot be read");
                    None
                }
            },
            None => None,
        };
        tracing::info!(trigger, target_execution = %target, target_release = %release_id, "this pipeline execution is a stage rollback");
        Some(RollsBackTo {
            trigger,
            execution_id: target,
            release_id,
            commit,
        })
    }

    /// Whether changed functions over 50 MB can be uploaded.
    fn staging(&self) -> bool {
        self.lambda.has_staging()
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
        let (flow, now) = self.flow(now);
        let d = decide(job, state, observed, flow, now);
        Self::report_blocked(state);
        d
    }

    fn on_error(
        &self,
        job: &JobInput,
        state: &mut ReleaseState,
        err: EngineError,
        now: SystemTime,
    ) -> Decision<Action> {
        let (flow, now) = self.flow(now);
        let d = pipeline_canary_core::release::on_error(job, state, err, flow, now);
        Self::report_blocked(state);
        d
    }

    fn records_only(&self, action: &Action) -> bool {
        Self::bookkeeping(action)
    }
}

impl LambdaReleaseEngine {
    /// The decision's settings, and the time it is taken at (the
    /// engine's own clock when it has one).
    fn flow(&self, now: SystemTime) -> (Flow, SystemTime) {
        let now = self.options.clock.as_ref().map_or(now, |c| (c.0)());
        let time_scale = self.clock_rate.map_or(1.0, |r| r.scale(now));
        let flow = Flow {
            staging: self.staging(),
            watch_interval: self.options.watch_interval,
            hold_job: self.options.hold_job,
            foreign_wait: self.options.foreign_wait,
            time_scale,
            prune_keep: self.options.prune_keep,
            max_duration: self.options.max_release_duration,
            codedeploy_rate: self.options.codedeploy_rate,
        };
        (flow, now)
    }

    /// Tells the log and the metrics when a release is paused or its
    /// rollback stalled (once per change).
    fn report_blocked(state: &ReleaseState) {
        if let Some(r) = &state.job.record {
            let open = !r.outcome.is_terminal();
            let (paused, stalled) = (
                open && r.shift.paused_since.is_some(),
                open && r.shift.rolling_back && r.shift.stalled.is_some(),
            );
            if crate::telemetry::release_blocked(&r.release_id, paused, stalled) {
                let reason = r.shift.stalled.as_deref().unwrap_or("");
                if stalled {
                    tracing::warn!(release_id = %r.release_id, reason, "the release's rollback cannot proceed; it keeps trying");
                } else {
                    tracing::warn!(release_id = %r.release_id, reason, "the release is paused: its shift cannot be observed; it keeps trying");
                }
            }
        }
    }

    /// The record write and the workspace's removal: done even when the
    /// worker is stopping (see [`Decide::records_only`]).
    fn bookkeeping(action: &Action) -> bool {
        matches!(action, Action::WriteRecord { .. } | Action::Discard)
    }
}

impl ReleaseEngine for LambdaReleaseEngine {
    /// Performs `actions` in order. A record write that does not go
    /// through ends the batch: what follows it was announced by it
    /// (write-ahead) and must not happen.
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
            let o = self.perform_one(ctx, a).await?;
            let stop = matches!(
                o,
                Observation::RecordConflict | Observation::LedgerUnavailable(_)
            );
            out.push(o);
            if stop {
                break;
            }
        }
        guard.done = true;
        Ok(out)
    }
}
