//! The simulated AWS account of the demo: aws-sim started in-process, and in
//! it what `pipeline.yaml` would create in a real account — the artifact
//! bucket, the custom action type, the CodeDeploy application, one `Errors`
//! alarm per function on its `live` alias, and the pipeline GitHub source
//! (CodeStarSourceConnection) → Build (CodeBuild, a pass-through in aws-sim)
//! → Deploy (our action). It also creates the Lambda functions themselves
//! (in a real account they belong to the application's own infrastructure)
//! with placeholder code and no alias: the first release gives them their
//! first versions and creates `live`.
//!
//! Everything goes through the official SDK clients, as a user's tooling
//! would. It knows nothing of the story the demo plays or of the terminal.

use std::time::Duration;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_sdk_cloudwatch as cw;
use aws_sdk_codepipeline::types::{
    ActionCategory, ActionDeclaration, ActionOwner, ActionTypeId, ArtifactStore, ArtifactStoreType,
    EncryptionKey, EncryptionKeyType, ExecutionMode, InputArtifact, OutputArtifact,
    PipelineDeclaration, PipelineType, StageDeclaration,
};
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{FunctionCode, Runtime};
use aws_sim::SimHandle;
use pipeline_canary::definition::ActionTypeDefinition;

/// Static credentials of the simulated account (aws-sim accepts any key).
pub const ACCESS_KEY: &str = "AKIAIOSFODNN7EXAMPLE";
pub const SECRET_KEY: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
pub const REGION: &str = "us-east-1";
pub const ACCOUNT: &str = "123456789012";

/// Names as `pipeline.yaml` creates them for a stack named `collect-release`
/// with its default parameters.
pub const PIPELINE: &str = "collect-release";
pub const REPOSITORY: &str = "example-org/collect";
pub const BRANCH: &str = "main";
/// The release ledger's bucket (`pipeline.yaml`'s LedgerBucket).
pub const LEDGER_BUCKET: &str = "collect-release-ledger";
/// The worker's `--ledger`.
pub const LEDGER: &str = "s3://collect-release-ledger/releases";
pub const ARTIFACT_BUCKET: &str = "collect-release-artifactbucket-demo";
pub const ARTIFACT_KEY: &str =
    "arn:aws:kms:us-east-1:123456789012:key/5f1c3e0a-7d2b-4c4e-9a1f-0d3e8b2c6a71";
pub const CONNECTION_ARN: &str =
    "arn:aws:codeconnections:us-east-1:123456789012:connection/8e2f7c1d-demo-4f0a-b3c2-aws-sim";
pub const BUILD_PROJECT: &str = "collect-release-ReleaseBuild";
pub const APPLICATION: &str = "collect";
pub const SERVICE_ROLE: &str =
    "arn:aws:iam::123456789012:role/collect-release-CodeDeployServiceRole";
pub const LAMBDA_ROLE: &str = "arn:aws:iam::123456789012:role/collect-lambda";
pub const STAGE: &str = "prod";
pub const FUNCTION_PREFIX: &str = "collect-";
pub const ALIAS: &str = "live";

/// aws-sim plus the account's SDK clients.
pub struct World {
    pub sim: SimHandle,
    pub conf: SdkConfig,
    pub cp: aws_sdk_codepipeline::Client,
    pub lambda: aws_sdk_lambda::Client,
    pub cw: cw::Client,
    pub def: ActionTypeDefinition,
}

/// How aws-sim runs for the demo.
pub fn sim_config(time_scale: f64, port: u16) -> aws_sim::Config {
    aws_sim::Config {
        listen: std::net::SocketAddr::from(([127, 0, 0, 1], port)),
        time_scale,
        // CodeDeploy's own alarm poll is undocumented; here it is slow, so
        // what stops a bad release is the worker's watch (every few
        // simulated seconds), the behaviour the product promises.
        alarm_poll: Duration::from_secs(300),
        ..Default::default()
    }
}

/// SDK config for `endpoint`: the worker's HTTP client, static credentials.
pub fn sdk_config(endpoint: &str) -> SdkConfig {
    SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .endpoint_url(endpoint)
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            ACCESS_KEY, SECRET_KEY, None, None, "demo",
        )))
        .http_client(pipeline_canary::aws::http_client())
        .build()
}

impl World {
    /// Starts aws-sim in this process.
    pub async fn start(time_scale: f64, port: u16) -> Result<World, String> {
        let sim = aws_sim::start(sim_config(time_scale, port))
            .await
            .map_err(|e| format!("cannot start aws-sim on port {port}: {e}"))?;
        let conf = sdk_config(&sim.endpoint());
        Ok(World {
            cp: aws_sdk_codepipeline::Client::new(&conf),
            lambda: aws_sdk_lambda::Client::new(&conf),
            cw: cw::Client::new(&conf),
            def: ActionTypeDefinition::embedded(),
            sim,
            conf,
        })
    }

    /// Creates what `pipeline.yaml` creates, plus the functions (placeholder
    /// code, no version, no alias) of `functions`.
    pub async fn create(&self, functions: &[String], placeholder: &[u8]) -> Result<(), String> {
        let s3 = aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&self.conf)
                .force_path_style(true)
                .build(),
        );
        for bucket in [ARTIFACT_BUCKET, LEDGER_BUCKET] {
            s3.create_bucket()
                .bucket(bucket)
                .send()
                .await
                .map_err(|e| format!("CreateBucket {bucket}: {}", err(&e)))?;
        }
        pipeline_canary::register::register(&self.cp, &self.def)
            .await
            .map_err(|e| format!("registering the action type: {e}"))?;
        let cd = aws_sdk_codedeploy::Client::new(&self.conf);
        cd.create_application()
            .application_name(APPLICATION)
            .compute_platform(aws_sdk_codedeploy::types::ComputePlatform::Lambda)
            .send()
            .await
            .map_err(|e| format!("CreateApplication: {}", err(&e)))?;
        for f in functions {
            self.lambda
                .create_function()
                .function_name(f)
                .runtime(Runtime::Python312)
                .role(LAMBDA_ROLE)
                .handler("handler.handler")
                .code(
                    FunctionCode::builder()
                        .zip_file(Blob::new(placeholder.to_vec()))
                        .build(),
                )
                .send()
                .await
                .map_err(|e| format!("CreateFunction {f}: {}", err(&e)))?;
            self.errors_alarm(f, 1.0).await?;
        }
        self.pipeline().await
    }

    /// A busy function: aws-sim's traffic invokes its alias `per_second`
    /// times a simulated second (instead of the sim's default), and its
    /// alarm fires at `threshold` errors a minute.
    pub async fn busy(
        &self,
        function: &str,
        per_second: f64,
        threshold: f64,
    ) -> Result<(), String> {
        aws_sim::traffic::control(
            self.sim.sim(),
            &serde_json::json!({ "functions": { function: per_second } }),
        )?;
        self.errors_alarm(function, threshold).await
    }

    /// `<function>-errors`: `AWS/Lambda` `Errors` of `function:live`, Sum ≥
    /// `threshold` in a minute (1: as pipeline.yaml's example alarms).
    async fn errors_alarm(&self, function: &str, threshold: f64) -> Result<(), String> {
        let dim = |n: &str, v: &str| cw::types::Dimension::builder().name(n).value(v).build();
        self.cw
            .put_metric_alarm()
            .alarm_name(format!("{function}-errors"))
            .alarm_description(format!(
                "Errors of {function} behind the live alias (rolls back a release)."
            ))
            .namespace("AWS/Lambda")
            .metric_name("Errors")
            .dimensions(dim("FunctionName", function))
            .dimensions(dim("Resource", &format!("{function}:{ALIAS}")))
            .statistic(cw::types::Statistic::Sum)
            .period(60)
            .evaluation_periods(1)
            .threshold(threshold)
            .comparison_operator(cw::types::ComparisonOperator::GreaterThanOrEqualToThreshold)
            .treat_missing_data("notBreaching")
            .send()
            .await
            .map_err(|e| format!("PutMetricAlarm {function}-errors: {}", err(&e)))?;
        Ok(())
    }

    /// The pipeline of `pipeline.yaml`: GitHub → Build → Deploy (our action).
    async fn pipeline(&self) -> Result<(), String> {
        let type_id =
            |category: ActionCategory, owner: ActionOwner, provider: &str, version: &str| {
                ActionTypeId::builder()
                    .category(category)
                    .owner(owner)
                    .provider(provider)
                    .version(version)
                    .build()
                    .map_err(|e| e.to_string())
            };
        let artifact_in = |n: &str| InputArtifact::builder().name(n).build();
        let artifact_out = |n: &str| OutputArtifact::builder().name(n).build();
        let source = ActionDeclaration::builder()
            .name("GitHub")
            .action_type_id(type_id(
                ActionCategory::Source,
                ActionOwner::Aws,
                "CodeStarSourceConnection",
                "1",
            )?)
            .configuration("ConnectionArn", CONNECTION_ARN)
            .configuration("FullRepositoryId", REPOSITORY)
            .configuration("BranchName", BRANCH)
            .configuration("OutputArtifactFormat", "CODE_ZIP")
            .output_artifacts(artifact_out("SourceCode").map_err(|e| e.to_string())?)
            .namespace("SourceVariables")
            .build()
            .map_err(|e| e.to_string())?;
        let build = ActionDeclaration::builder()
            .name("Bundle")
            .action_type_id(type_id(
                ActionCategory::Build,
                ActionOwner::Aws,
                "CodeBuild",
                "1",
            )?)
            .configuration("ProjectName", BUILD_PROJECT)
            .input_artifacts(artifact_in("SourceCode").map_err(|e| e.to_string())?)
            .output_artifacts(artifact_out("Release").map_err(|e| e.to_string())?)
            .build()
            .map_err(|e| e.to_string())?;
        let mut deploy = ActionDeclaration::builder()
            .name("Canary")
            .action_type_id(type_id(
                ActionCategory::from(self.def.category.as_str()),
                ActionOwner::Custom,
                &self.def.provider,
                &self.def.version,
            )?)
            .input_artifacts(artifact_in("Release").map_err(|e| e.to_string())?)
            .namespace("DeployVariables");
        for (k, v) in [
            ("Stage", STAGE),
            ("CodeDeployApplication", APPLICATION),
            ("CodeDeployServiceRoleArn", SERVICE_ROLE),
            ("FunctionPrefix", FUNCTION_PREFIX),
            ("Manifest", "pipeline-canary.json"),
            ("Alias", ALIAS),
            ("DeploymentConfig", "Linear10PercentEvery1Minute"),
            ("MaxParallel", "20"),
        ] {
            deploy = deploy.configuration(k, v);
        }
        let stage = |name: &str, action: ActionDeclaration| {
            StageDeclaration::builder()
                .name(name)
                .actions(action)
                .build()
                .map_err(|e| e.to_string())
        };
        let decl = PipelineDeclaration::builder()
            .name(PIPELINE)
            .role_arn(format!(
                "arn:aws:iam::{ACCOUNT}:role/collect-release-PipelineRole"
            ))
            .artifact_store(
                ArtifactStore::builder()
                    .r#type(ArtifactStoreType::S3)
                    .location(ARTIFACT_BUCKET)
                    .encryption_key(
                        EncryptionKey::builder()
                            .id(ARTIFACT_KEY)
                            .r#type(EncryptionKeyType::Kms)
                            .build()
                            .map_err(|e| e.to_string())?,
                    )
                    .build()
                    .map_err(|e| e.to_string())?,
            )
            .pipeline_type(PipelineType::V2)
            .execution_mode(ExecutionMode::Queued)
            .stages(stage("Source", source)?)
            .stages(stage("Build", build)?)
            .stages(stage("Deploy", deploy.build().map_err(|e| e.to_string())?)?)
            .build()
            .map_err(|e| e.to_string())?;
        self.cp
            .create_pipeline()
            .pipeline(decl)
            .send()
            .await
            .map_err(|e| format!("CreatePipeline: {}", err(&e)))?;
        Ok(())
    }

    /// What `<function>-errors` saw since `since`: its state now, whether
    /// it went into ALARM (its history), its threshold and the most
    /// `Errors` of `function:live` in one minute.
    pub async fn alarm_report(
        &self,
        function: &str,
        since: std::time::SystemTime,
    ) -> Result<AlarmReport, String> {
        let name = format!("{function}-errors");
        let alarm = self
            .cw
            .describe_alarms()
            .alarm_names(&name)
            .send()
            .await
            .map_err(|e| format!("DescribeAlarms {name}: {}", err(&e)))?;
        let alarm = alarm
            .metric_alarms()
            .first()
            .ok_or_else(|| format!("no alarm {name}"))?;
        let history = self
            .cw
            .describe_alarm_history()
            .alarm_name(&name)
            .history_item_type(cw::types::HistoryItemType::StateUpdate)
            .start_date(cw::primitives::DateTime::from(since))
            .end_date(cw::primitives::DateTime::from(self.sim.sim().clock.now()))
            .send()
            .await
            .map_err(|e| format!("DescribeAlarmHistory {name}: {}", err(&e)))?;
        let fired = history
            .alarm_history_items()
            .iter()
            .any(|h| h.history_summary().is_some_and(|s| s.ends_with("to ALARM")));
        let dim = |n: &str, v: &str| cw::types::Dimension::builder().name(n).value(v).build();
        let stats = self
            .cw
            .get_metric_statistics()
            .namespace("AWS/Lambda")
            .metric_name("Errors")
            .dimensions(dim("FunctionName", function))
            .dimensions(dim("Resource", &format!("{function}:{ALIAS}")))
            .statistics(cw::types::Statistic::Sum)
            .period(60)
            .start_time(cw::primitives::DateTime::from(since))
            .end_time(cw::primitives::DateTime::from(self.sim.sim().clock.now()))
            .send()
            .await
            .map_err(|e| format!("GetMetricStatistics Errors of {function}: {}", err(&e)))?;
        Ok(AlarmReport {
            name,
            state: alarm
                .state_value()
                .map(|s| s.as_str().to_string())
                .unwrap_or_default(),
            fired,
            threshold: alarm.threshold().unwrap_or_default(),
            max_errors_a_minute: stats
                .datapoints()
                .iter()
                .filter_map(|d| d.sum())
                .fold(0.0, f64::max),
        })
    }

    /// `(version, weight of the other version)` of `function:live`, or None
    /// while it has no alias.
    pub async fn alias(&self, function: &str) -> Option<AliasState> {
        let a = self
            .lambda
            .get_alias()
            .function_name(function)
            .name(ALIAS)
            .send()
            .await
            .ok()?;
        let routed = a
            .routing_config()
            .and_then(|r| r.additional_version_weights())
            .and_then(|m| m.iter().next().map(|(v, w)| (v.clone(), *w)));
        Some(AliasState {
            version: a.function_version().unwrap_or_default().to_string(),
            routed,
        })
    }

    /// What an operator might do in the console: new code for `function`,
    /// published by hand, with 10 % of `live` routed to it. Returns the version.
    pub async fn manual_canary(&self, function: &str, zip: &[u8]) -> Result<String, String> {
        self.lambda
            .update_function_code()
            .function_name(function)
            .zip_file(Blob::new(zip.to_vec()))
            .send()
            .await
            .map_err(|e| format!("UpdateFunctionCode {function}: {}", err(&e)))?;
        let start = std::time::Instant::now();
        loop {
            let c = self
                .lambda
                .get_function_configuration()
                .function_name(function)
                .send()
                .await
                .map_err(|e| format!("GetFunctionConfiguration {function}: {}", err(&e)))?;
            if c.last_update_status() != Some(&aws_sdk_lambda::types::LastUpdateStatus::InProgress)
            {
                break;
            }
            if start.elapsed() > Duration::from_secs(60) {
                return Err(format!("{function}: the code update never finished"));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let v = self
            .lambda
            .publish_version()
            .function_name(function)
            .description("hotfix by hand")
            .send()
            .await
            .map_err(|e| format!("PublishVersion {function}: {}", err(&e)))?
            .version()
            .unwrap_or_default()
            .to_string();
        self.lambda
            .update_alias()
            .function_name(function)
            .name(ALIAS)
            .routing_config(
                aws_sdk_lambda::types::AliasRoutingConfiguration::builder()
                    .additional_version_weights(&v, 0.1)
                    .build(),
            )
            .send()
            .await
            .map_err(|e| format!("UpdateAlias {function}: {}", err(&e)))?;
        Ok(v)
    }

    /// Undoes [`World::manual_canary`]: `live` back on `version` only.
    pub async fn undo_canary(&self, function: &str, version: &str) -> Result<(), String> {
        self.lambda
            .update_alias()
            .function_name(function)
            .name(ALIAS)
            .function_version(version)
            .routing_config(aws_sdk_lambda::types::AliasRoutingConfiguration::builder().build())
            .send()
            .await
            .map_err(|e| format!("UpdateAlias {function}: {}", err(&e)))?;
        Ok(())
    }

    /// Successful calls of `service`/`operation` since request number `since`.
    pub fn ok_calls(&self, since: u64, service: &str, operation: &str) -> usize {
        self.sim
            .sim()
            .log
            .query(since, Some(service), Some(operation))
            .into_iter()
            .filter(|r| r.status < 300)
            .count()
    }

    /// Number of requests the sim has served (a marker for `ok_calls`).
    pub fn seq(&self) -> u64 {
        self.sim.sim().log.len()
    }
}

/// What `live` serves: its version and, while shifting, the other version
/// with its weight.
#[derive(Debug, Clone, PartialEq)]
pub struct AliasState {
    pub version: String,
    pub routed: Option<(String, f64)>,
}

/// See [`World::alarm_report`].
#[derive(Debug, Clone)]
pub struct AlarmReport {
    pub name: String,
    /// `OK`, `ALARM` or `INSUFFICIENT_DATA`.
    pub state: String,
    /// It went into ALARM in the period asked about.
    pub fired: bool,
    pub threshold: f64,
    pub max_errors_a_minute: f64,
}

/// An SDK error with its service code and message.
pub fn err<E, R>(e: &aws_sdk_lambda::error::SdkError<E, R>) -> String
where
    E: aws_sdk_lambda::error::ProvideErrorMetadata + std::fmt::Debug,
    R: std::fmt::Debug,
{
    match e.as_service_error() {
        Some(s) => format!(
            "{}: {}",
            s.code().unwrap_or("error"),
            s.message().unwrap_or_default()
        ),
        None => format!("{e:?}"),
    }
}
