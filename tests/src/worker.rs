//! Helpers for the worker-runtime scenarios: a sim with a source bucket and
//! pipelines that use the custom action, workers running in-process until
//! told to stop, and small release engines that plug into the worker's own
//! `ReleaseEngine` interface (continue N times, wait until handed back,
//! sleep and count concurrency, panic, record what they saw). Engines are the
//! runtime's extension point, not AWS mocks: every AWS call still goes to the
//! sim through the official SDK.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use aws_config::SdkConfig;
use aws_sdk_codepipeline::types::{
    ActionCategory, ActionDeclaration, ActionOwner, ActionTypeId, ArtifactStore, ArtifactStoreType,
    ExecutionMode, InputArtifact, OutputArtifact, PipelineDeclaration, PipelineExecutionStatus,
    PipelineType, StageDeclaration,
};
use pipeline_canary::definition::{ActionTypeDefinition, ConfigurationProperty};
use pipeline_canary::engine::{Decide, Decision, EngineError, JobContext, ReleaseEngine};
use pipeline_canary::job::JobInput;
use pipeline_canary::report::{FailureKind, Progress};
use pipeline_canary::telemetry::Metrics;
use pipeline_canary::{RunSummary, Worker, WorkerConfig};
use serde::{Deserialize, Serialize};

use crate::logscan::{LeakScan, secret_value};
use crate::{SimConfig, SimHandle, codepipeline_client, s3_client, sdk_config, start_sim};

pub const SOURCE_BUCKET: &str = "canary-source";
pub const SOURCE_KEY: &str = "release.zip";
pub const ARTIFACT_BUCKET: &str = "canary-artifacts";
/// The release ledger's bucket in every env (the worker's account).
pub const LEDGER_BUCKET: &str = "pipeline-canary-ledger";
/// The ledger every env's workers use (`--ledger`).
pub const LEDGER: &str = "s3://pipeline-canary-ledger/releases";

/// A sim plus the account's clients. When it drops, its [`LeakScan`] scans
/// the captured log and the sim's job results for the sim's secrets.
pub struct Env {
    pub sim: SimHandle,
    pub conf: SdkConfig,
    pub cp: aws_sdk_codepipeline::Client,
    pub s3: aws_sdk_s3::Client,
    pub leak_scan: LeakScan,
}

/// A sim with `config`, the source object uploaded.
pub async fn env_with(config: SimConfig) -> Env {
    let sim = start_sim(config).await;
    let conf = sdk_config(&sim.endpoint());
    let env = Env {
        cp: codepipeline_client(&conf),
        s3: s3_client(&conf),
        leak_scan: LeakScan::new(sim.sim()),
        sim,
        conf,
    };
    for bucket in [SOURCE_BUCKET, LEDGER_BUCKET] {
        env.s3
            .create_bucket()
            .bucket(bucket)
            .send()
            .await
            .expect("CreateBucket");
    }
    env.s3
        .put_object()
        .bucket(SOURCE_BUCKET)
        .key(SOURCE_KEY)
        .body(release_zip().into())
        .send()
        .await
        .expect("PutObject");
    env
}

/// A sim with default settings at `time_scale`.
pub async fn env(time_scale: f64) -> Env {
    env_with(SimConfig {
        time_scale,
        ..Default::default()
    })
    .await
}

/// The secret property harness action types add to the embedded
/// definition (which has none), so pipelines carry a secret value the leak
/// scan looks for.
pub const SECRET_PROPERTY: &str = "SecretApiToken";

/// `SECRET_PROPERTY`: optional, secret.
pub fn secret_property() -> ConfigurationProperty {
    ConfigurationProperty {
        name: SECRET_PROPERTY.into(),
        required: false,
        key: false,
        secret: true,
        queryable: false,
        description: Some("A secret the worker must never log.".into()),
        property_type: Some("String".into()),
    }
}

/// A small zip standing in for a release artifact.
pub fn release_zip() -> Vec<u8> {
    let mut buf = std::io::Cursor::new(Vec::new());
    {
        let mut z = zip::ZipWriter::new(&mut buf);
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored);
        z.start_file("pipeline-canary.json", opts).unwrap();
        z.write_all(br#"{"functions":[]}"#).unwrap();
        z.finish().unwrap();
    }
    buf.into_inner()
}

/// The action type id of `def`.
pub fn type_id(def: &ActionTypeDefinition) -> ActionTypeId {
    ActionTypeId::builder()
        .category(ActionCategory::from(def.category.as_str()))
        .owner(ActionOwner::Custom)
        .provider(&def.provider)
        .version(&def.version)
        .build()
        .unwrap()
}

impl Env {
    /// Registers `def` through the worker's own `register`.
    pub async fn register(&self, def: &ActionTypeDefinition) {
        pipeline_canary::register::register(&self.cp, def)
            .await
            .expect("register the action type");
    }

    /// Creates a V2 pipeline (PARALLEL, so executions run side by side):
    /// S3 source → the custom action with `Stage = stage` and `extra`
    /// configuration. Secret properties of `def` that `extra` leaves unset
    /// get a fresh [`secret_value`], so the leak scan has them to look for.
    pub async fn pipeline(
        &self,
        name: &str,
        def: &ActionTypeDefinition,
        stage: &str,
        extra: &[(&str, &str)],
    ) {
        let source = ActionDeclaration::builder()
            .name("Source")
            .action_type_id(
                ActionTypeId::builder()
                    .category(ActionCategory::Source)
                    .owner(ActionOwner::Aws)
                    .provider("S3")
                    .version("1")
                    .build()
                    .unwrap(),
            )
            .configuration("S3Bucket", SOURCE_BUCKET)
            .configuration("S3ObjectKey", SOURCE_KEY)
            .configuration("PollForSourceChanges", "false")
            .output_artifacts(OutputArtifact::builder().name("App").build().unwrap())
            .build()
            .unwrap();
        let mut deploy = ActionDeclaration::builder()
            .name("Canary")
            .action_type_id(type_id(def))
            .input_artifacts(InputArtifact::builder().name("App").build().unwrap());
        let mut config: BTreeMap<&str, &str> = BTreeMap::from([
            ("Stage", stage),
            ("CodeDeployApplication", "collect"),
            (
                "CodeDeployServiceRoleArn",
                "arn:aws:iam::123456789012:role/codedeploy",
            ),
            ("FunctionPrefix", "collect-"),
        ]);
        for (k, v) in extra {
            config.insert(k, v);
        }
        let secrets: Vec<(&str, String)> = def
            .configuration_properties
            .iter()
            .filter(|p| p.secret && !config.contains_key(p.name.as_str()))
            .map(|p| (p.name.as_str(), secret_value()))
            .collect();
        for (k, v) in &secrets {
            config.insert(k, v);
        }
        for (k, v) in config {
            deploy = deploy.configuration(k, v);
        }
        let decl = PipelineDeclaration::builder()
            .name(name)
            .role_arn("arn:aws:iam::123456789012:role/pipeline")
            .artifact_store(
                ArtifactStore::builder()
                    .r#type(ArtifactStoreType::S3)
                    .location(ARTIFACT_BUCKET)
                    .build()
                    .unwrap(),
            )
            .pipeline_type(PipelineType::V2)
            .execution_mode(ExecutionMode::Parallel)
            .stages(
                StageDeclaration::builder()
                    .name("Source")
                    .actions(source)
                    .build()
                    .unwrap(),
            )
            .stages(
                StageDeclaration::builder()
                    .name("Deploy")
                    .actions(deploy.build().unwrap())
                    .build()
                    .unwrap(),
            )
            .build()
            .unwrap();
        self.cp
            .create_pipeline()
            .pipeline(decl)
            .send()
            .await
            .expect("CreatePipeline");
    }

    /// StartPipelineExecution → the execution id.
    pub async fn start(&self, pipeline: &str) -> String {
        self.cp
            .start_pipeline_execution()
            .name(pipeline)
            .send()
            .await
            .expect("StartPipelineExecution")
            .pipeline_execution_id()
            .unwrap()
            .to_string()
    }

    /// Starts `per_pipeline` executions of each pipeline; `(pipeline, execution id)`s.
    pub async fn start_all(
        &self,
        pipelines: &[&str],
        per_pipeline: usize,
    ) -> Vec<(String, String)> {
        let mut runs = Vec::new();
        for p in pipelines {
            for _ in 0..per_pipeline {
                runs.push((p.to_string(), self.start(p).await));
            }
        }
        runs
    }

    pub async fn status(&self, pipeline: &str, id: &str) -> PipelineExecutionStatus {
        self.cp
            .get_pipeline_execution()
            .pipeline_name(pipeline)
            .pipeline_execution_id(id)
            .send()
            .await
            .expect("GetPipelineExecution")
            .pipeline_execution()
            .and_then(|e| e.status())
            .cloned()
            .unwrap()
    }

    /// Waits until every execution left InProgress; returns their statuses
    /// (some still InProgress once the wait is over). The wait lasts
    /// `timeout`, and never less than [`crate::time::HANG`]: it only
    /// bounds a hang, and a loaded machine must not fail a run that is
    /// merely slow (how long a run takes is the benchmarks' business).
    pub async fn wait_done(
        &self,
        runs: &[(String, String)],
        timeout: Duration,
    ) -> Vec<PipelineExecutionStatus> {
        let until = tokio::time::Instant::now() + timeout.max(crate::time::HANG);
        loop {
            let mut out = Vec::new();
            for (p, id) in runs {
                out.push(self.status(p, id).await);
            }
            if out
                .iter()
                .all(|s| *s != PipelineExecutionStatus::InProgress)
                || tokio::time::Instant::now() > until
            {
                return out;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Number of calls of `operation` that succeeded (status 200).
    pub fn ok_calls(&self, operation: &str) -> usize {
        self.sim
            .sim()
            .log
            .query(0, Some("codepipeline"), Some(operation))
            .iter()
            .filter(|r| r.status == 200)
            .count()
    }

    /// Successful calls of `service`'s `operation` since log position `since`.
    pub fn ok_calls_of(&self, since: u64, service: &str, operation: &str) -> usize {
        self.sim
            .sim()
            .log
            .query(since, Some(service), Some(operation))
            .iter()
            .filter(|r| r.status == 200)
            .count()
    }

    /// Calls of `operation` that failed with `code`.
    pub fn error_calls(&self, operation: &str, code: &str) -> usize {
        self.sim
            .sim()
            .log
            .query(0, Some("codepipeline"), Some(operation))
            .iter()
            .filter(|r| r.error.as_deref() == Some(code))
            .count()
    }
}

/// Worker settings for tests: fast polling, the given fleet and slots.
pub fn config(def: &ActionTypeDefinition, stage: &str, max_jobs: usize) -> WorkerConfig {
    let mut c = WorkerConfig::new(def.clone());
    c.stage = Some(stage.to_string());
    c.max_jobs = max_jobs;
    c.poll_interval = Duration::from_millis(50);
    c.max_backoff = Duration::from_secs(2);
    c.shutdown_grace = Duration::from_secs(3);
    c.result_retry_timeout = Duration::from_secs(5);
    c
}

/// A worker running in a task until [`RunningWorker::stop`].
pub struct RunningWorker {
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    handle: tokio::task::JoinHandle<RunSummary>,
    pub metrics: Arc<Metrics>,
}

impl RunningWorker {
    /// Starts `engine` under `config` against the env's sim.
    pub fn start<E: ReleaseEngine>(env: &Env, config: WorkerConfig, engine: E) -> RunningWorker {
        // The worker meets Lambda's request-rate quotas as on AWS.
        env.sim
            .sim()
            .lambda
            .set_request_quota(Some(aws_sim::lambda::quota::RequestQuota::default()));
        Self::start_with(&env.conf, config, engine)
    }

    /// Like `start`, with any SDK config (the worker's logs go to the
    /// process-wide capture, see [`crate::logscan`]).
    pub fn start_with<E: ReleaseEngine>(
        conf: &SdkConfig,
        config: WorkerConfig,
        engine: E,
    ) -> RunningWorker {
        let worker = Worker::new(config, conf, engine).expect("worker config");
        let metrics = worker.metrics();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let handle = tokio::spawn(worker.run_until(async move {
            let _ = rx.await;
        }));
        RunningWorker {
            stop: Some(tx),
            handle,
            metrics,
        }
    }

    /// The SIGTERM equivalent: signals shutdown and waits for the worker to return.
    pub async fn stop(mut self) -> RunSummary {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        (&mut self.handle).await.expect("worker task")
    }
}

/// Waits until `f` holds (checking every 20 ms) or panics after `timeout`.
pub async fn eventually(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    let until = tokio::time::Instant::now() + timeout;
    while !f() {
        assert!(
            tokio::time::Instant::now() < until,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// What a test engine saw of one job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub job_id: String,
    pub pipeline: String,
    pub execution_id: String,
    pub action_execution_id: String,
    pub stage: Option<String>,
    pub revision: Option<String>,
    pub continued: bool,
    /// The engine's step counter when the job started.
    pub step: u32,
}

fn seen(job: &JobInput, step: u32) -> Seen {
    Seen {
        job_id: job.job_id.clone(),
        pipeline: job.pipeline_name.clone(),
        execution_id: job.pipeline_execution_id.clone(),
        action_execution_id: job.action_execution_id.clone(),
        stage: job.configuration.get("Stage").map(str::to_string),
        revision: job.revision().map(str::to_string),
        continued: job.continuation_token.is_some(),
        step,
    }
}

/// State of the test engines (travels in the continuation token).
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct TestState {
    /// Steps finished so far (continuations, or "started waiting").
    pub step: u32,
    /// Whether this job has already been recorded.
    #[serde(skip)]
    pub recorded: bool,
}

/// Observations of the test engines.
#[derive(Debug)]
pub enum TestObservation {
    Slept,
}

/// Actions of the test engines.
#[derive(Debug)]
pub enum TestAction {
    /// Sleep this long inside `perform`, counting concurrency.
    Sleep(Duration),
    /// Log the job (its redacting `Debug`) and fetch artifact credentials.
    LogJob,
    /// Download the input artifact with the job's artifact credentials.
    Download,
    /// Log the session token and fail with the secret property's value.
    Leak,
}

/// What a test engine does.
#[derive(Debug, Clone, Copy)]
pub enum Behaviour {
    /// Succeed at once.
    Succeed,
    /// Continue `n` times (one step per job), then succeed.
    ContinueThenSucceed(u32),
    /// Sleep inside `perform` for this long, then succeed.
    Sleep(Duration),
    /// Wait (a safe point) far longer than any test; a job resumed from a
    /// token (step ≥ 1) succeeds at once.
    WaitUntilHandedBack,
    /// Panic in `decide`.
    Panic,
    /// Log the job and its credentials' Debug, then succeed.
    LogJob,
    /// Sleep this long, then download the input artifact with the job's
    /// artifact credentials (S3 errors fail the job), then succeed.
    DownloadAfter(Duration),
    /// A broken engine, for the leak scan's own test: logs the job's
    /// session token and fails the job with the value of its
    /// `SecretApiToken` property in the message.
    LeakSecrets,
}

/// A release engine for tests, with shared records of what it saw.
#[derive(Debug, Clone)]
pub struct TestEngine {
    pub behaviour: Behaviour,
    /// Every job, once, when first decided on.
    pub seen: Arc<Mutex<Vec<Seen>>>,
    pub in_flight: Arc<AtomicUsize>,
    pub max_in_flight: Arc<AtomicUsize>,
    /// Secrets the engine was handed (artifact credentials), for log scans.
    pub secrets: Arc<Mutex<Vec<String>>>,
    /// Downloads: (access key id used, bytes).
    pub downloads: Arc<Mutex<Vec<(String, usize)>>>,
    /// The sim's endpoint, for downloads.
    pub endpoint: Option<String>,
}

impl TestEngine {
    pub fn new(behaviour: Behaviour) -> Self {
        TestEngine {
            behaviour,
            seen: Arc::default(),
            in_flight: Arc::default(),
            max_in_flight: Arc::default(),
            secrets: Arc::default(),
            downloads: Arc::default(),
            endpoint: None,
        }
    }

    /// An engine that can reach S3 at `endpoint` (for `DownloadAfter`).
    pub fn with_endpoint(mut self, endpoint: String) -> Self {
        self.endpoint = Some(endpoint);
        self
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

fn done(summary: String) -> Decision<TestAction> {
    Decision::Succeed {
        progress: Progress {
            summary,
            percent_complete: Some(100),
            external_execution_id: Some("d-TESTDEPLOY".into()),
        },
        output_variables: BTreeMap::from([("Released".to_string(), "true".to_string())]),
    }
}

impl Decide for TestEngine {
    type State = TestState;
    type Action = TestAction;
    type Observation = TestObservation;

    fn decide(
        &self,
        job: &JobInput,
        state: &mut TestState,
        observed: Vec<TestObservation>,
        _now: SystemTime,
    ) -> Decision<TestAction> {
        if !state.recorded {
            state.recorded = true;
            self.seen.lock().unwrap().push(seen(job, state.step));
        }
        match self.behaviour {
            Behaviour::Succeed => done("released".into()),
            Behaviour::ContinueThenSucceed(n) => {
                if state.step < n {
                    state.step += 1;
                    Decision::Continue(Progress {
                        summary: format!("step {} of {n}", state.step),
                        percent_complete: Some((state.step * 100 / (n + 1)) as i32),
                        external_execution_id: Some("d-TESTDEPLOY".into()),
                    })
                } else {
                    done(format!("released after {n} continuations"))
                }
            }
            Behaviour::Sleep(d) => {
                if observed.is_empty() {
                    Decision::Perform(vec![TestAction::Sleep(d)])
                } else {
                    done("slept".into())
                }
            }
            Behaviour::WaitUntilHandedBack => {
                if job.continuation_token.is_some() {
                    done("resumed after a hand-back".into())
                } else {
                    state.step = 1;
                    Decision::Wait {
                        delay: Duration::from_secs(3600),
                        progress: Progress {
                            summary: "baking".into(),
                            percent_complete: Some(50),
                            external_execution_id: None,
                        },
                    }
                }
            }
            Behaviour::Panic => panic!("injected panic in the release step"),
            Behaviour::DownloadAfter(d) => {
                if observed.is_empty() {
                    Decision::Perform(vec![TestAction::Sleep(d), TestAction::Download])
                } else {
                    done("downloaded".into())
                }
            }
            Behaviour::LogJob => {
                if observed.is_empty() {
                    Decision::Perform(vec![TestAction::LogJob])
                } else {
                    done("logged".into())
                }
            }
            Behaviour::LeakSecrets => Decision::Perform(vec![TestAction::Leak]),
        }
    }
}

impl ReleaseEngine for TestEngine {
    async fn perform(
        &self,
        ctx: &JobContext,
        actions: Vec<TestAction>,
    ) -> Result<Vec<TestObservation>, EngineError> {
        let mut out = Vec::new();
        for a in actions {
            match a {
                TestAction::Sleep(d) => {
                    let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                    self.max_in_flight.fetch_max(now, Ordering::SeqCst);
                    tokio::time::sleep(d).await;
                    self.in_flight.fetch_sub(1, Ordering::SeqCst);
                }
                TestAction::Download => {
                    let creds = ctx.artifact_credentials(false).await?;
                    let conf = crate::sdk_config_with(
                        self.endpoint.as_deref().expect("engine endpoint"),
                        aws_credential_types::Credentials::new(
                            &creds.access_key_id,
                            &creds.secret_access_key,
                            Some(creds.session_token.clone()),
                            None,
                            "job",
                        ),
                        crate::REGION,
                    );
                    let art = &ctx.input.input_artifacts[0];
                    let got = s3_client(&conf)
                        .get_object()
                        .bucket(&art.bucket)
                        .key(&art.key)
                        .send()
                        .await
                        .map_err(|e| {
                            use aws_sdk_s3::error::ProvideErrorMetadata;
                            EngineError::new(
                                FailureKind::from_aws_error(
                                    e.code(),
                                    e.raw_response().map(|r| r.status().as_u16()),
                                ),
                                format!("GetObject: {}", e.code().unwrap_or("error")),
                            )
                        })?;
                    let bytes = got.body.collect().await.map_err(|e| {
                        EngineError::new(FailureKind::SystemUnavailable, e.to_string())
                    })?;
                    self.downloads
                        .lock()
                        .unwrap()
                        .push((creds.access_key_id.clone(), bytes.into_bytes().len()));
                }
                TestAction::Leak => {
                    let creds = ctx.artifact_credentials(false).await?;
                    tracing::warn!(
                        "test engine: leaking the session token {}",
                        creds.session_token
                    );
                    let secret = ctx.input.configuration.get(SECRET_PROPERTY);
                    return Err(EngineError::new(
                        FailureKind::ConfigurationError,
                        format!("the API refused token {}", secret.unwrap_or("(unset)")),
                    ));
                }
                TestAction::LogJob => {
                    let creds = ctx.artifact_credentials(false).await?;
                    {
                        let mut s = self.secrets.lock().unwrap();
                        s.push(creds.secret_access_key.clone());
                        s.push(creds.session_token.clone());
                        for name in ctx.input.configuration.names() {
                            if name.starts_with("Secret") {
                                s.push(ctx.input.configuration.get(name).unwrap().to_string());
                            }
                        }
                    }
                    tracing::info!(job = ?ctx.input, credentials = ?creds, "test engine: the job as the runtime hands it over");
                    if creds.secret_access_key.is_empty() {
                        return Err(EngineError::new(
                            FailureKind::PermissionError,
                            "no credentials",
                        ));
                    }
                }
            }
            out.push(TestObservation::Slept);
        }
        Ok(out)
    }
}

/// One HTTP/1.0 GET against `addr`; returns (status, body).
pub async fn http_get(addr: std::net::SocketAddr, path: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
    s.write_all(format!("GET {path} HTTP/1.0\r\nHost: x\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).await.unwrap();
    let text = String::from_utf8_lossy(&buf).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|x| x.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}
