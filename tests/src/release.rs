//! Helpers for the release-engine scenarios (issue 5): deterministic
//! function zips and release artifacts built in the test, Lambda functions
//! with a `live` alias created through aws-sdk-lambda, pipelines with an
//! optional output artifact and KMS artifact store, the worker run in-process
//! with the real [`LambdaReleaseEngine`], and readers of the outcome (the
//! action's error, its output variables, counted Lambda calls).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use std::time::Duration;

use aws_sdk_codepipeline::types::{
    ActionCategory, ActionDeclaration, ActionOwner, ActionTypeId, ArtifactStore, ArtifactStoreType,
    EncryptionKey, EncryptionKeyType, ExecutionMode, InputArtifact, OutputArtifact,
    PipelineDeclaration, PipelineExecutionStatus, PipelineType, StageDeclaration,
};
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{FunctionCode, Runtime};
use pipeline_canary::definition::ActionTypeDefinition;
use pipeline_canary::release::lambda::UpdateWait;
use pipeline_canary::release::limiter::LimiterConfig;
use pipeline_canary::release::{LambdaReleaseEngine, ReleaseOptions};

use crate::worker::{
    ARTIFACT_BUCKET, Env, RunningWorker, SECRET_PROPERTY, SOURCE_BUCKET, SOURCE_KEY, config,
    secret_property, type_id,
};
use crate::{SimConfig, worker};

pub const ROLE: &str = "arn:aws:iam::123456789012:role/lambda-exec";
pub use crate::worker::{LEDGER, LEDGER_BUCKET};
pub const PIPELINE: &str = "collect-release";

/// A release scenario: the sim, the account's clients, a Lambda client and
/// a directory for the engine's workspaces.
pub struct ReleaseEnv {
    pub env: Env,
    pub lambda: aws_sdk_lambda::Client,
    pub work_dir: tempfile::TempDir,
    /// The embedded definition plus [`secret_property`].
    pub def: ActionTypeDefinition,
    /// The secret property's value in every pipeline of this env.
    pub secret: String,
}

/// A sim for release tests: fast simulated time, quick Lambda updates, no
/// traffic generator.
pub fn sim_config() -> SimConfig {
    SimConfig {
        time_scale: 50.0,
        lambda_update_delay: Duration::from_secs(2),
        traffic_rate: 0.0,
        continuation_delay: Duration::from_millis(100),
        ..Default::default()
    }
}

impl ReleaseEnv {
    pub async fn new(config: SimConfig) -> ReleaseEnv {
        let env = worker::env_with(config).await;
        let mut def = ActionTypeDefinition::embedded();
        def.configuration_properties.push(secret_property());
        env.register(&def).await;
        ReleaseEnv {
            lambda: aws_sdk_lambda::Client::new(&env.conf),
            env,
            work_dir: tempfile::tempdir().unwrap(),
            def,
            secret: crate::logscan::secret_value(),
        }
    }

    /// Engine options: this env's ledger, fast limiters and polling,
    /// workspaces in this env's directory, the sim's clock, a shift watched
    /// every 40 ms and handed back after 300 ms (real time; see
    /// [`ReleaseEnv::canary_options`]).
    pub fn options(&self) -> ReleaseOptions {
        self.canary_options(Duration::from_millis(40), Duration::from_millis(300))
    }

    /// Engine options with the system clock: this env's ledger, fast
    /// limiters and polling, workspaces in this env's directory.
    pub fn base_options(&self) -> ReleaseOptions {
        ReleaseOptions {
            ledger: Some(pipeline_canary::ledger::Location::parse(LEDGER).unwrap()),
            work_dir: self.work_dir.path().to_path_buf(),
            control: LimiterConfig {
                concurrency: 8,
                rate_per_second: 500.0,
                max_attempts: 10,
                min_backoff: Duration::from_millis(20),
                max_backoff: Duration::from_millis(300),
            },
            reads: LimiterConfig {
                concurrency: 16,
                rate_per_second: 1000.0,
                max_attempts: 10,
                min_backoff: Duration::from_millis(20),
                max_backoff: Duration::from_millis(300),
            },
            update_wait: UpdateWait {
                poll_interval: Duration::from_millis(20),
                timeout: Duration::from_secs(10),
            },
            ..Default::default()
        }
    }

    /// [`ReleaseEnv::base_options`] on the sim's clock: the job watches a
    /// shift every `watch` and is handed back after `hold` (both real time).
    pub fn canary_options(&self, watch: Duration, hold: Duration) -> ReleaseOptions {
        let sim = self.env.sim.sim().clone();
        let scale = sim.config.time_scale;
        ReleaseOptions {
            watch_interval: watch,
            hold_job: hold.mul_f64(scale),
            foreign_wait: Duration::from_secs(60),
            clock: Some(pipeline_canary::release::Clock(std::sync::Arc::new(
                move || sim.clock.now(),
            ))),
            ..self.base_options()
        }
    }

    /// Starts a worker with the release engine and `options`.
    pub fn worker(&self, options: ReleaseOptions) -> RunningWorker {
        let engine = LambdaReleaseEngine::new(&self.env.conf, options);
        RunningWorker::start(&self.env, config(&self.def, "prod", 4), engine)
    }

    /// Entries left in the workspace directory.
    pub fn workspace_entries(&self) -> Vec<String> {
        std::fs::read_dir(self.work_dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect()
    }

    /// Uploads `zip` as the pipeline's S3 source object.
    pub async fn upload_source(&self, zip: Vec<u8>) {
        self.env
            .s3
            .put_object()
            .bucket(SOURCE_BUCKET)
            .key(SOURCE_KEY)
            .body(zip.into())
            .send()
            .await
            .expect("PutObject source");
    }

    /// Moves the simulated clock past Lambda's update delay.
    pub fn settle(&self) {
        self.env.sim.sim().clock.advance(Duration::from_secs(120));
        self.env.sim.sim().tick();
    }

    /// Creates `name` with `zip`, publishes version 1 and, with `alias`,
    /// points it at version 1.
    pub async fn create_function(&self, name: &str, zip: Vec<u8>, alias: Option<&str>) {
        self.lambda
            .create_function()
            .function_name(name)
            .runtime(Runtime::Nodejs20x)
            .role(ROLE)
            .handler("index.handler")
            .code(FunctionCode::builder().zip_file(Blob::new(zip)).build())
            .publish(true)
            .send()
            .await
            .unwrap_or_else(|e| panic!("CreateFunction {name}: {e:?}"));
        if let Some(a) = alias {
            self.lambda
                .create_alias()
                .function_name(name)
                .name(a)
                .function_version("1")
                .send()
                .await
                .unwrap_or_else(|e| panic!("CreateAlias {name}: {e:?}"));
        }
    }

    /// A pipeline S3 source → the custom action (`FunctionPrefix collect-`,
    /// [`SECRET_PROPERTY`] = this env's secret unless `extra` sets it),
    /// optionally with an output artifact and a KMS key on the artifact store.
    pub async fn pipeline(
        &self,
        name: &str,
        output: bool,
        kms_key: Option<&str>,
        extra: &[(&str, &str)],
    ) {
        self.pipeline_on_failure(name, output, kms_key, extra, None)
            .await
    }

    /// [`Self::pipeline`] whose Deploy stage has `on_failure` (V2 stage
    /// rollback or automatic retry).
    pub async fn pipeline_on_failure(
        &self,
        name: &str,
        output: bool,
        kms_key: Option<&str>,
        extra: &[(&str, &str)],
        on_failure: Option<aws_sdk_codepipeline::types::FailureConditions>,
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
            .action_type_id(type_id(&self.def))
            .input_artifacts(InputArtifact::builder().name("App").build().unwrap());
        if output {
            deploy = deploy
                .output_artifacts(OutputArtifact::builder().name("Released").build().unwrap());
        }
        let mut config: BTreeMap<&str, &str> = BTreeMap::from([
            ("Stage", "prod"),
            ("CodeDeployApplication", "collect"),
            (
                "CodeDeployServiceRoleArn",
                "arn:aws:iam::123456789012:role/codedeploy",
            ),
            ("FunctionPrefix", "collect-"),
            (SECRET_PROPERTY, self.secret.as_str()),
        ]);
        for (k, v) in extra {
            config.insert(k, v);
        }
        for (k, v) in config {
            deploy = deploy.configuration(k, v);
        }
        let mut store = ArtifactStore::builder()
            .r#type(ArtifactStoreType::S3)
            .location(ARTIFACT_BUCKET);
        if let Some(k) = kms_key {
            store = store.encryption_key(
                EncryptionKey::builder()
                    .id(k)
                    .r#type(EncryptionKeyType::Kms)
                    .build()
                    .unwrap(),
            );
        }
        let decl = PipelineDeclaration::builder()
            .name(name)
            .role_arn("arn:aws:iam::123456789012:role/pipeline")
            .artifact_store(store.build().unwrap())
            .pipeline_type(PipelineType::V2)
            .execution_mode(ExecutionMode::Queued)
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
                    .set_on_failure(on_failure)
                    .build()
                    .unwrap(),
            )
            .build()
            .unwrap();
        self.env
            .cp
            .create_pipeline()
            .pipeline(decl)
            .send()
            .await
            .expect("CreatePipeline");
    }

    /// Starts `pipeline` and waits for the execution to end.
    pub async fn run(
        &self,
        pipeline: &str,
        timeout: Duration,
    ) -> (String, PipelineExecutionStatus) {
        let id = self.env.start(pipeline).await;
        let st = self.wait(pipeline, &id, timeout).await;
        (id, st)
    }

    pub async fn wait(
        &self,
        pipeline: &str,
        id: &str,
        timeout: Duration,
    ) -> PipelineExecutionStatus {
        self.env
            .wait_done(&[(pipeline.to_string(), id.to_string())], timeout)
            .await
            .remove(0)
    }

    /// The deploy action's latest execution in `id`: (status, error code,
    /// error message / summary, output variables).
    pub async fn action_outcome(&self, pipeline: &str, id: &str) -> Outcome {
        let out = self
            .env
            .cp
            .list_action_executions()
            .pipeline_name(pipeline)
            .send()
            .await
            .expect("ListActionExecutions");
        let ex = out
            .action_execution_details()
            .iter()
            .filter(|d| d.pipeline_execution_id() == Some(id) && d.action_name() == Some("Canary"))
            .max_by_key(|d| d.last_update_time().map(|t| t.as_nanos()).unwrap_or(0))
            .expect("an execution of the Canary action")
            .clone();
        let o = ex.output();
        Outcome {
            status: ex
                .status()
                .map(|s| s.as_str().to_string())
                .unwrap_or_default(),
            summary: o
                .and_then(|o| o.execution_result())
                .and_then(|r| r.external_execution_summary())
                .unwrap_or_default()
                .to_string(),
            external_id: o
                .and_then(|o| o.execution_result())
                .and_then(|r| r.external_execution_id())
                .map(str::to_string),
            error: o
                .and_then(|o| o.execution_result())
                .and_then(|r| r.error_details())
                .map(|e| {
                    (
                        e.code().unwrap_or_default().to_string(),
                        e.message().unwrap_or_default().to_string(),
                    )
                }),
            variables: o
                .map(|o| {
                    o.output_variables()
                        .unwrap_or(&Default::default())
                        .clone()
                        .into_iter()
                        .collect()
                })
                .unwrap_or_default(),
        }
    }

    /// Lambda calls of `operation` since `since`: (status, error code).
    pub fn lambda_calls(&self, since: u64, operation: &str) -> Vec<(u16, Option<String>)> {
        self.env
            .sim
            .sim()
            .log
            .query(since, Some("lambda"), Some(operation))
            .into_iter()
            .map(|r| (r.status, r.error))
            .collect()
    }

    pub fn ok_lambda_calls(&self, since: u64, operation: &str) -> usize {
        self.lambda_calls(since, operation)
            .iter()
            .filter(|(s, _)| *s < 300)
            .count()
    }

    pub fn seq(&self) -> u64 {
        self.env.sim.sim().log.len()
    }

    /// S3 calls since `since`, but those of the release ledger (the
    /// worker's own, on [`LEDGER_BUCKET`]).
    pub fn s3_calls_but_ledger(&self, since: u64) -> Vec<aws_sim::requests::RequestRecord> {
        let ledger = format!("/{LEDGER_BUCKET}/");
        self.env
            .sim
            .sim()
            .log
            .query(since, Some("s3"), None)
            .into_iter()
            .filter(|r| !r.path.starts_with(&ledger))
            .collect()
    }

    /// The ledger's S3 calls since `since` (all with the worker's key).
    pub fn ledger_calls(&self, since: u64) -> Vec<aws_sim::requests::RequestRecord> {
        let ledger = format!("/{LEDGER_BUCKET}/");
        self.env
            .sim
            .sim()
            .log
            .query(since, Some("s3"), None)
            .into_iter()
            .filter(|r| r.path.starts_with(&ledger))
            .collect()
    }

    /// The version `alias` of `function` points to.
    pub async fn alias_version(&self, function: &str, alias: &str) -> String {
        self.lambda
            .get_alias()
            .function_name(function)
            .name(alias)
            .send()
            .await
            .expect("GetAlias")
            .function_version()
            .unwrap()
            .to_string()
    }
}

/// How the deploy action ended.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    pub status: String,
    pub summary: String,
    pub external_id: Option<String>,
    /// (failure type, message)
    pub error: Option<(String, String)>,
    pub variables: BTreeMap<String, String>,
}

/// A deterministic function zip: `index.js` returning `marker`.
pub fn function_zip(marker: &str) -> Vec<u8> {
    zip_of(&[(
        "index.js",
        format!("exports.handler = async () => '{marker}';").as_bytes(),
    )])
}

/// A zip of `(name, bytes)` entries with fixed timestamps (deflated).
pub fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .last_modified_time(zip::DateTime::default());
    for (name, bytes) in entries {
        w.start_file(*name, opts).unwrap();
        w.write_all(bytes).unwrap();
    }
    w.finish().unwrap().into_inner()
}

/// One function of a test artifact.
pub enum TestBundle {
    /// A prebuilt zip at `dist/<name>.zip`.
    Package(Vec<u8>),
    /// A source directory at `src/<name>/` with these files.
    Source(Vec<(String, Vec<u8>)>),
}

/// A release artifact: `pipeline-canary.json` (alias `live`, AllAtOnce) and
/// every function's bundle.
pub fn artifact_zip(functions: &[(String, TestBundle)]) -> Vec<u8> {
    let entries: Vec<serde_json::Value> = functions
        .iter()
        .map(|(name, b)| match b {
            TestBundle::Package(_) => {
                serde_json::json!({"name": name, "package": format!("dist/{name}.zip")})
            }
            TestBundle::Source(_) => {
                serde_json::json!({"name": name, "source": format!("src/{name}")})
            }
        })
        .collect();
    let manifest = serde_json::json!({
        "version": 1,
        "defaults": {"alias": "live", "deploymentConfig": "AllAtOnce"},
        "functions": entries,
    });
    artifact_with_manifest(&serde_json::to_string_pretty(&manifest).unwrap(), functions)
}

/// A release artifact with the given manifest text and bundles.
pub fn artifact_with_manifest(manifest: &str, functions: &[(String, TestBundle)]) -> Vec<u8> {
    let mut files: Vec<(String, Vec<u8>)> =
        vec![("pipeline-canary.json".into(), manifest.as_bytes().to_vec())];
    for (name, b) in functions {
        match b {
            TestBundle::Package(z) => files.push((format!("dist/{name}.zip"), z.clone())),
            TestBundle::Source(fs) => {
                for (f, bytes) in fs {
                    files.push((format!("src/{name}/{f}"), bytes.clone()));
                }
            }
        }
    }
    // A different timestamp than the packager's: the worker must not care.
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .last_modified_time(zip::DateTime::from_date_and_time(2024, 5, 17, 10, 30, 0).unwrap());
    for (name, bytes) in files.iter().rev() {
        w.start_file(name.as_str(), opts).unwrap();
        w.write_all(bytes).unwrap();
    }
    w.finish().unwrap().into_inner()
}

/// The zip the worker's deterministic packager makes of `files`, written
/// in reverse order into a fresh directory (so creation order differs).
pub fn packaged(files: &[(String, Vec<u8>)]) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    for (f, bytes) in files.iter().rev() {
        let p = dir.path().join(f);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, bytes).unwrap();
    }
    let out = tempfile::tempdir().unwrap();
    let dest = out.path().join("bundle.zip");
    pipeline_canary::artifact::package(dir.path(), &dest, &Default::default()).unwrap();
    std::fs::read(dest).unwrap()
}

/// Writes an artifact directory (for `plan` on a directory).
pub fn write_artifact_dir(zip: &[u8], dest: &Path) {
    let mut a = zip::ZipArchive::new(std::io::Cursor::new(zip.to_vec())).unwrap();
    a.extract(dest).unwrap();
}

/// moto checks that a function's role exists: create it through moto's IAM
/// (query protocol; moto does not verify signatures).
pub async fn moto_create_role(endpoint: &str) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = endpoint.trim_start_matches("http://");
    let body =
        "Action=CreateRole&Version=2010-05-08&RoleName=lambda-exec&AssumeRolePolicyDocument=%7B%7D";
    let req = format!(
        "POST / HTTP/1.1\r\nHost: {addr}\r\nAuthorization: AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20260101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=00\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    assert!(out.contains(ROLE), "moto CreateRole: {out}");
}

// ---- Canary releases through CodePipeline (issue 6) ----

/// A sim for canary releases through CodePipeline: a simulated minute is
/// 100 ms (Linear10PercentEvery1Minute takes about a second), Lambda
/// updates settle at once, continuation jobs are queued quickly, and
/// CodeDeploy's own alarm poll is slow (the worker's watch acts first).
pub fn canary_sim_config() -> SimConfig {
    SimConfig {
        time_scale: 600.0,
        lambda_update_delay: Duration::from_secs(2),
        continuation_delay: Duration::from_secs(2),
        alarm_poll: Duration::from_secs(3600),
        ..Default::default()
    }
}

/// [`canary_sim_config`] for a test that drives simulated time itself
/// ([`ReleaseEnv::drive_shift`]): a job handed back is queued again at
/// once, so the next job never waits for a clock that stands still.
pub fn driven_sim_config() -> SimConfig {
    SimConfig {
        continuation_delay: Duration::ZERO,
        ..canary_sim_config()
    }
}

/// One function of a canary release artifact.
#[derive(Debug, Clone)]
pub struct CanaryFunction {
    pub name: String,
    /// The prebuilt zip (`dist/<name>.zip`).
    pub zip: Vec<u8>,
    pub alarms: Vec<String>,
    /// A deployment config other than the default.
    pub config: Option<String>,
}

/// A release artifact for the canary: every function as a prebuilt
/// `package`, alias `live`, `config` by default, and each function's alarms.
pub fn canary_artifact(
    config: &str,
    functions: &[CanaryFunction],
    break_glass: Option<&str>,
) -> Vec<u8> {
    let entries: Vec<serde_json::Value> = functions
        .iter()
        .map(|f| {
            let mut e =
                serde_json::json!({"name": f.name, "package": format!("dist/{}.zip", f.name)});
            if !f.alarms.is_empty() {
                e["alarms"] = serde_json::json!(f.alarms);
            }
            if let Some(c) = &f.config {
                e["deploymentConfig"] = serde_json::json!(c);
            }
            e
        })
        .collect();
    let mut manifest = serde_json::json!({
        "version": 1,
        "defaults": {"alias": "live", "deploymentConfig": config},
        "functions": entries,
    });
    if let Some(r) = break_glass {
        manifest["breakGlass"] = serde_json::json!({ "reason": r });
    }
    let bundles: Vec<(String, TestBundle)> = functions
        .iter()
        .map(|f| (f.name.clone(), TestBundle::Package(f.zip.clone())))
        .collect();
    artifact_with_manifest(&serde_json::to_string_pretty(&manifest).unwrap(), &bundles)
}

/// One sample of an alias: (simulated time, version, additional weight).
pub type AliasSample = (std::time::SystemTime, String, Option<f64>);

impl ReleaseEnv {
    /// Calls of `service`/`operation` since `since` that succeeded.
    pub fn ok_calls(&self, since: u64, service: &str, operation: &str) -> usize {
        self.env
            .sim
            .sim()
            .log
            .query(since, Some(service), Some(operation))
            .into_iter()
            .filter(|r| r.status < 300)
            .count()
    }

    /// The deploy action's `currentRevision` (GetPipelineState).
    pub async fn current_revision(&self, pipeline: &str) -> Option<String> {
        let st = self
            .env
            .cp
            .get_pipeline_state()
            .name(pipeline)
            .send()
            .await
            .expect("GetPipelineState");
        st.stage_states()
            .iter()
            .flat_map(|s| s.action_states())
            .find(|a| a.action_name() == Some("Canary"))
            .and_then(|a| a.current_revision())
            .map(|r| r.revision_id())
            .map(str::to_string)
    }

    /// `(version, additional weight)` of `function:live`.
    pub async fn alias_state(&self, function: &str) -> Option<(String, Option<f64>)> {
        crate::canary::alias_state(&self.lambda, function).await
    }
}

// ---- Simulated time under the test's hand (see `crate::time`) ----

/// Real time without a new deployment after which
/// [`ReleaseEnv::freeze_once_deployed`] takes the worker to be waiting for
/// its pace (and moves the clock): long beside the worker's time to send
/// one batch of CreateDeployment calls, even on a loaded machine.
pub const PACE_QUIET: Duration = Duration::from_millis(250);

impl ReleaseEnv {
    /// Freezes simulated time as soon as `n` CreateDeployment calls since
    /// `since` have succeeded. Until the first one, the clock moves a
    /// simulated second every few real milliseconds (Lambda updates settle,
    /// continuation jobs are queued). Once deployments run, it moves a
    /// second only after the worker has started none for
    /// [`PACE_QUIET`] of real time: the worker is then waiting for its pace
    /// to let the next ones start, not merely slow to send them. So the
    /// deployments already started have moved about a second per paced
    /// batch when this returns, however slowly the machine runs the
    /// worker; they are at their first step. The clock stays frozen.
    ///
    /// Simulated traffic is off until then, so no alarm of a version
    /// shifted first can roll the release back before its last deployment
    /// has started.
    pub async fn freeze_once_deployed(&self, since: u64, n: usize) {
        let sim = self.env.sim.sim().clone();
        sim.clock.freeze();
        let traffic = |body: serde_json::Value| {
            aws_sim::traffic::control(&sim, &body).expect("the traffic settings")["enabled"]
                .as_bool()
                .expect("the traffic settings say whether traffic is on")
        };
        let was_on = traffic(serde_json::json!({}));
        traffic(serde_json::json!({ "enabled": false }));
        let started = std::time::Instant::now();
        let mut moved = Duration::ZERO;
        let mut last = 0;
        let mut changed = std::time::Instant::now();
        loop {
            sim.tick();
            let made = self.ok_calls(since, "codedeploy", "CreateDeployment");
            if made >= n {
                traffic(serde_json::json!({ "enabled": was_on }));
                return;
            }
            assert_eq!(
                self.ok_calls(since, "codedeploy", "StopDeployment"),
                0,
                "the release began to roll back with {made} of its {n} deployments started, after {moved:?} of simulated time"
            );
            assert!(
                started.elapsed() < crate::time::HANG,
                "the release's deployments: {made} of {n} started after {moved:?} of simulated time"
            );
            if made != last {
                last = made;
                changed = std::time::Instant::now();
            }
            if made == 0 || changed.elapsed() >= PACE_QUIET {
                sim.clock.advance(Duration::from_secs(1));
                moved += Duration::from_secs(1);
                changed = std::time::Instant::now();
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// Moves frozen simulated time forward by `step`, then waits (real time)
    /// until the worker has looked at its shift since the move (a
    /// BatchGetDeployments after it) or execution `id` has ended. So each
    /// step of the schedule is seen by the worker before the next one comes,
    /// and a shift lasts as many steps as its schedule says, never fewer.
    /// Returns whether the execution still runs.
    pub async fn step_shift(&self, pipeline: &str, id: &str, step: Duration) -> bool {
        let sim = self.env.sim.sim().clone();
        sim.clock.freeze();
        let moved_at = self.seq();
        sim.clock.advance(step);
        sim.tick();
        let started = std::time::Instant::now();
        loop {
            if self.env.status(pipeline, id).await != PipelineExecutionStatus::InProgress {
                return false;
            }
            if self.ok_calls(moved_at, "codedeploy", "BatchGetDeployments") > 0 {
                return true;
            }
            if started.elapsed() > crate::time::HANG {
                let calls: Vec<String> = sim
                    .log
                    .query(moved_at.saturating_sub(10), None, None)
                    .into_iter()
                    .filter(|c| c.operation != "GetPipelineExecution")
                    .take(40)
                    .map(|c| format!("{} {} {}", c.service, c.operation, c.status))
                    .collect();
                panic!(
                    "the worker never looked at its shift again; calls around the move: {calls:?}"
                );
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// [`ReleaseEnv::step_shift`] until execution `id` ends; `after_step`
    /// runs after each step (to sample what the step changed). Returns the
    /// execution's final status.
    pub async fn drive_shift(
        &self,
        pipeline: &str,
        id: &str,
        step: Duration,
        mut after_step: impl FnMut(),
    ) -> PipelineExecutionStatus {
        while self.step_shift(pipeline, id, step).await {
            after_step();
        }
        after_step();
        self.wait(pipeline, id, crate::time::HANG).await
    }
}
