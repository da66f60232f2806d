//! The `pipeline-canary` binary: a thin command line over the library.
//! `register` creates (or confirms) the custom action type; `run` serves it
//! with the release engine until SIGTERM/SIGINT; `plan` shows what a release
//! of an artifact would do (read-only AWS calls); `release` runs the same
//! release engine once from the command line (CodeBuild). Every flag has a `PIPELINE_CANARY_*` environment
//! variable; AWS access comes from the SDK's default chain and
//! `AWS_ENDPOINT_URL`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use pipeline_canary::config::{parse_duration, parse_rate};
use pipeline_canary::definition::{ActionTypeDefinition, EMBEDDED_DEFINITION};
use pipeline_canary::register::{Registration, register};
use pipeline_canary::release::cli::PlanOptions;
use pipeline_canary::release::oneshot::{self, OneShotOptions};
use pipeline_canary::release::{LambdaReleaseEngine, ReleaseOptions};
use pipeline_canary::telemetry::{self, LogFormat};
use pipeline_canary::{Worker, WorkerConfig, aws};

#[derive(Parser, Debug)]
#[command(name = "pipeline-canary", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Log format: json (one object per line) or text.
    #[arg(
        long,
        env = "PIPELINE_CANARY_LOG_FORMAT",
        default_value = "json",
        global = true
    )]
    log_format: LogFormat,
    /// The action definition (CreateCustomActionType JSON); default: the one built in.
    #[arg(long, env = "PIPELINE_CANARY_DEFINITION", global = true)]
    definition: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Create the custom action type, or confirm an identical one exists.
    Register {
        /// Only validate the definition locally; make no AWS call.
        #[arg(long)]
        validate_only: bool,
    },
    /// Poll for jobs and work on them until SIGTERM/SIGINT.
    Run(RunArgs),
    /// Build a release artifact from an application directory: every
    /// function's `source` is packaged deterministically into
    /// `<out>/dist/<function>.zip` and the manifest is rewritten to `package`
    /// entries (what buildspec.yml runs in CodeBuild).
    Bundle {
        /// Application directory holding pipeline-canary.json.
        app_dir: PathBuf,
        /// Output directory of the release artifact.
        #[arg(long, default_value = pipeline_canary::bundle::RELEASE_DIR)]
        out: PathBuf,
    },
    /// Show what releasing an artifact would do (read-only AWS calls): per
    /// function unchanged / changed, its deployment config and schedule, and
    /// the expected total time. Same validation and messages as the worker.
    Plan(PlanArgs),
    /// Release an artifact now, without CodePipeline (e.g. inside CodeBuild):
    /// the worker's release engine — validation, pre-flight, publishing, the
    /// canary shift, all-or-nothing rollback — with live progress; exit 0
    /// only when every function shifted.
    Release(ReleaseArgs),
    /// The release history in the ledger, newest first (a table, or JSON
    /// with --json); `releases show ID` prints one release whole.
    Releases(ReleasesArgs),
    /// Put every function a release changed back on its previous version,
    /// all or nothing (refused if a later release or a person moved one of
    /// them); the release's record becomes RolledBack with the reason.
    Rollback(RollbackArgs),
    /// Delete Lambda versions of the functions under a prefix that no alias
    /// references and that are not the previous or new version of any of
    /// the last N releases in the ledger (never $LATEST).
    Prune(PruneArgs),
    /// Probe a running worker's /healthz (for container health checks in
    /// images without curl): exit 0 on HTTP 200, 1 otherwise.
    Healthcheck {
        #[arg(long, default_value = "http://127.0.0.1:9090/healthz")]
        url: String,
        #[arg(long, default_value = "3s", value_parser = parse_duration)]
        timeout: Duration,
    },
}

/// Where the release ledger lives (every command that releases or reads history).
#[derive(clap::Args, Debug, Clone)]
struct LedgerArg {
    /// The release ledger: s3://BUCKET[/PREFIX] in the worker's own account
    /// (one JSON record per release, written with conditional writes).
    #[arg(long, env = "PIPELINE_CANARY_LEDGER")]
    ledger: Option<String>,
}

impl LedgerArg {
    /// The parsed location, or the usage error to print (exit 2).
    fn location(&self) -> Result<pipeline_canary_core::ledger::Location, String> {
        let text = self.ledger.as_deref().map(str::trim).unwrap_or("");
        if text.is_empty() {
            return Err("--ledger is required: the release ledger's S3 location, s3://BUCKET[/PREFIX] (or set PIPELINE_CANARY_LEDGER); pipeline.yaml creates the bucket".into());
        }
        pipeline_canary_core::ledger::Location::parse(text)
    }
}

#[derive(clap::Args, Debug)]
struct ReleasesArgs {
    #[command(subcommand)]
    show: Option<ReleasesCommand>,
    #[command(flatten)]
    ledger: LedgerArg,
    /// Only the releases of this pipeline.
    #[arg(long)]
    pipeline: Option<String>,
    /// At most this many releases.
    #[arg(long, default_value_t = 20)]
    limit: usize,
    /// Print a JSON array of the records instead of a table.
    #[arg(long)]
    json: bool,
}

#[derive(Subcommand, Debug)]
enum ReleasesCommand {
    /// One release's record, whole.
    Show {
        /// The release id (`r-…`, as `releases` lists it).
        id: String,
        #[command(flatten)]
        ledger: LedgerArg,
        /// Print the record as JSON.
        #[arg(long)]
        json: bool,
    },
}

#[derive(clap::Args, Debug)]
struct RollbackArgs {
    /// The release id (`r-…`, as `releases` lists it).
    id: String,
    /// Why (recorded in the ledger).
    #[arg(long)]
    reason: String,
    #[command(flatten)]
    ledger: LedgerArg,
}

#[derive(clap::Args, Debug)]
struct PruneArgs {
    /// Only functions whose name starts with this prefix.
    #[arg(long, env = "PIPELINE_CANARY_FUNCTION_PREFIX")]
    function_prefix: String,
    /// Keep the previous and new versions of the last N releases in the ledger.
    #[arg(long)]
    keep: usize,
    /// Print what would be deleted; delete nothing.
    #[arg(long)]
    dry_run: bool,
    #[command(flatten)]
    ledger: LedgerArg,
}

#[derive(clap::Args, Debug)]
struct RunArgs {
    #[command(flatten)]
    ledger: LedgerArg,
    /// After a release succeeds, delete its functions' versions that no
    /// alias and none of the last N releases need (default: never prune).
    #[arg(long, env = "PIPELINE_CANARY_PRUNE_KEEP")]
    prune_keep: Option<usize>,
    /// How long CodePipeline lets the action run: a release whose shift
    /// cannot end within it is refused before anything is published.
    #[arg(long, env = "PIPELINE_CANARY_MAX_RELEASE_DURATION", default_value = "24h", value_parser = parse_duration)]
    max_release_duration: Duration,
    /// Lambda requests per second a release lets CodeDeploy's traffic shifts
    /// spend (Lambda allows 15 per account and Region for every control-plane
    /// call together): deployments start spaced so their steps stay within
    /// it, and MaxParallel defaults to what it allows.
    #[arg(long, env = "PIPELINE_CANARY_CODEDEPLOY_LAMBDA_RATE", default_value_t = pipeline_canary::canary::pace::DEFAULT_CODEDEPLOY_RATE, value_parser = parse_rate)]
    codedeploy_lambda_rate: f64,
    /// Value of the queryable property (Stage) this fleet serves, e.g. prod.
    #[arg(long, env = "PIPELINE_CANARY_STAGE")]
    stage: Option<String>,
    /// Pause after an empty poll (±20 % jitter).
    #[arg(long, env = "PIPELINE_CANARY_POLL_INTERVAL", default_value = "1s", value_parser = parse_duration)]
    poll_interval: Duration,
    /// Jobs worked on at the same time.
    #[arg(long, env = "PIPELINE_CANARY_MAX_JOBS", default_value_t = 8)]
    max_jobs: usize,
    /// Time in-flight jobs get to be handed back after SIGTERM/SIGINT.
    #[arg(long, env = "PIPELINE_CANARY_SHUTDOWN_GRACE", default_value = "20s", value_parser = parse_duration)]
    shutdown_grace: Duration,
    /// Cap of the backoff between failed polls.
    #[arg(long, env = "PIPELINE_CANARY_MAX_BACKOFF", default_value = "30s", value_parser = parse_duration)]
    max_backoff: Duration,
    /// How long a job result is retried on throttling/5xx.
    #[arg(long, env = "PIPELINE_CANARY_RESULT_RETRY_TIMEOUT", default_value = "60s", value_parser = parse_duration)]
    result_retry_timeout: Duration,
    /// Serve /metrics and /healthz on this address (e.g. 0.0.0.0:9090).
    #[arg(long, env = "PIPELINE_CANARY_METRICS_LISTEN")]
    metrics_listen: Option<SocketAddr>,
    /// Poll this version of the action type instead of the definition's.
    #[arg(long, env = "PIPELINE_CANARY_ACTION_VERSION")]
    action_version: Option<String>,
    /// Where per-job workspaces (downloaded artifacts, bundles) are created.
    #[arg(long, env = "PIPELINE_CANARY_WORK_DIR")]
    work_dir: Option<PathBuf>,
    /// S3 bucket (worker's account) for function bundles over 50 MB.
    #[arg(long, env = "PIPELINE_CANARY_STAGING_BUCKET")]
    staging_bucket: Option<String>,
    /// While a canary shifts, how often the job observes its deployments and alarms.
    #[arg(long, env = "PIPELINE_CANARY_WATCH_INTERVAL", default_value = "15s", value_parser = parse_duration)]
    watch_interval: Duration,
    /// How long one job watches a shift before it is handed back to
    /// CodePipeline with a continuation token (0s: after every observation).
    #[arg(long, env = "PIPELINE_CANARY_HOLD_JOB", default_value = "5m", value_parser = parse_duration)]
    hold_job: Duration,
}

#[derive(clap::Args, Debug)]
struct PlanArgs {
    /// The release artifact: a zip or an unpacked directory.
    artifact: PathBuf,
    /// Prefix every released function's name must start with (the action's FunctionPrefix).
    #[arg(long, env = "PIPELINE_CANARY_FUNCTION_PREFIX")]
    function_prefix: String,
    /// Path of the manifest inside the artifact (the action's Manifest).
    #[arg(long, env = "PIPELINE_CANARY_MANIFEST")]
    manifest: Option<String>,
    /// Default alias (the action's Alias; default `live`).
    #[arg(long, env = "PIPELINE_CANARY_ALIAS")]
    alias: Option<String>,
    /// Default deployment config (the action's DeploymentConfig; default
    /// `Linear10PercentEvery1Minute`).
    #[arg(long, env = "PIPELINE_CANARY_DEPLOYMENT_CONFIG")]
    deployment_config: Option<String>,
    /// Alarms guarding every function, comma-separated (the action's Alarms).
    #[arg(long, env = "PIPELINE_CANARY_ALARMS", value_delimiter = ',')]
    alarms: Vec<String>,
    /// Deployments in flight at once (the action's MaxParallel).
    #[arg(long, env = "PIPELINE_CANARY_MAX_PARALLEL")]
    max_parallel: Option<usize>,
    /// Assume the worker has a staging bucket (bundles over 50 MB).
    #[arg(long, env = "PIPELINE_CANARY_STAGING_BUCKET")]
    staging_bucket: Option<String>,
    /// Where to unpack and package (default: the system temp dir).
    #[arg(long, env = "PIPELINE_CANARY_WORK_DIR")]
    work_dir: Option<PathBuf>,
    /// Lambda requests per second the schedule lets CodeDeploy's traffic
    /// shifts spend (as `run --codedeploy-lambda-rate`).
    #[arg(long, env = "PIPELINE_CANARY_CODEDEPLOY_LAMBDA_RATE", default_value_t = pipeline_canary::canary::pace::DEFAULT_CODEDEPLOY_RATE, value_parser = parse_rate)]
    codedeploy_lambda_rate: f64,
}

#[derive(clap::Args, Debug)]
struct ReleaseArgs {
    /// The release artifact: a zip or an unpacked directory.
    artifact: PathBuf,
    #[command(flatten)]
    ledger: LedgerArg,
    /// The CodeDeploy application (created if missing).
    #[arg(long, env = "PIPELINE_CANARY_APPLICATION")]
    application: String,
    /// The role CodeDeploy assumes to shift aliases.
    #[arg(long, env = "PIPELINE_CANARY_SERVICE_ROLE")]
    service_role: String,
    /// Prefix every released function's name must start with.
    #[arg(long, env = "PIPELINE_CANARY_FUNCTION_PREFIX")]
    function_prefix: String,
    /// Path of the manifest inside the artifact.
    #[arg(long, env = "PIPELINE_CANARY_MANIFEST")]
    manifest: Option<String>,
    /// Default alias (default `live`).
    #[arg(long, env = "PIPELINE_CANARY_ALIAS")]
    alias: Option<String>,
    /// Default deployment config (default `Linear10PercentEvery1Minute`).
    #[arg(long, env = "PIPELINE_CANARY_DEPLOYMENT_CONFIG")]
    deployment_config: Option<String>,
    /// Alarms guarding every function, comma-separated.
    #[arg(long, env = "PIPELINE_CANARY_ALARMS", value_delimiter = ',')]
    alarms: Vec<String>,
    /// Deployments in flight at once.
    #[arg(long, env = "PIPELINE_CANARY_MAX_PARALLEL")]
    max_parallel: Option<usize>,
    /// Names the release: running again with the same id reuses its versions
    /// and attaches to its deployments (default: $CODEBUILD_BUILD_ID, else
    /// a new id).
    #[arg(long, env = "PIPELINE_CANARY_EXECUTION_ID")]
    execution_id: Option<String>,
    /// The commit released, in descriptions and outputs (default:
    /// $CODEBUILD_RESOLVED_SOURCE_VERSION).
    #[arg(long, env = "PIPELINE_CANARY_COMMIT")]
    commit: Option<String>,
    /// How often the shift is observed.
    #[arg(long, env = "PIPELINE_CANARY_WATCH_INTERVAL", default_value = "10s", value_parser = parse_duration)]
    watch_interval: Duration,
    /// S3 bucket for function bundles over 50 MB.
    #[arg(long, env = "PIPELINE_CANARY_STAGING_BUCKET")]
    staging_bucket: Option<String>,
    /// Where to unpack and package (default: the system temp dir).
    #[arg(long, env = "PIPELINE_CANARY_WORK_DIR")]
    work_dir: Option<PathBuf>,
}

fn main() -> ExitCode {
    // Before any thread starts: the allocator's arenas and mmap threshold.
    pipeline_canary::memory::tune();
    let cli = Cli::parse();
    if let Command::Healthcheck { url, timeout } = &cli.command {
        return healthcheck(url, *timeout);
    }
    if let Command::Bundle { app_dir, out } = &cli.command {
        return match pipeline_canary::bundle::bundle(app_dir, out) {
            Ok(functions) => {
                for f in &functions {
                    println!(
                        "{}  {}  {} bytes  {}",
                        f.code_sha256, f.package, f.zip_bytes, f.name
                    );
                }
                println!(
                    "release artifact: {} ({} functions)",
                    out.display(),
                    functions.len()
                );
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("pipeline-canary bundle: {e}");
                ExitCode::from(2)
            }
        };
    }
    // Commands that print their text on stdout log to stderr.
    let sub = if matches!(
        cli.command,
        Command::Plan(_)
            | Command::Release(_)
            | Command::Releases(_)
            | Command::Rollback(_)
            | Command::Prune(_)
    ) {
        telemetry::subscriber(cli.log_format, std::io::stderr, telemetry::env_filter())
    } else {
        telemetry::subscriber(cli.log_format, std::io::stdout, telemetry::env_filter())
    };
    if tracing::subscriber::set_global_default(sub).is_err() {
        eprintln!("pipeline-canary: could not install the log subscriber");
    }
    let definition = match load_definition(cli.definition.as_ref()) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("pipeline-canary: {e}");
            return ExitCode::from(2);
        }
    };
    let rt = tokio::runtime::Runtime::new().expect("tokio runtime");
    rt.block_on(async move {
        match cli.command {
            Command::Register { validate_only } => cmd_register(definition, validate_only).await,
            Command::Run(args) => cmd_run(definition, args).await,
            Command::Plan(args) => cmd_plan(args).await,
            Command::Release(args) => cmd_release(args).await,
            Command::Releases(args) => cmd_releases(args).await,
            Command::Rollback(args) => cmd_rollback(args).await,
            Command::Prune(args) => cmd_prune(args).await,
            Command::Healthcheck { .. } | Command::Bundle { .. } => {
                unreachable!("handled before logging starts")
            }
        }
    })
}

fn healthcheck(url: &str, timeout: Duration) -> ExitCode {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    match rt.block_on(telemetry::probe(url, timeout)) {
        Ok(200) => ExitCode::SUCCESS,
        Ok(status) => {
            eprintln!("{url}: HTTP {status}");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}

fn load_definition(path: Option<&PathBuf>) -> Result<ActionTypeDefinition, String> {
    let (text, source) = match path {
        Some(p) => (
            std::fs::read_to_string(p).map_err(|e| format!("cannot read {}: {e}", p.display()))?,
            p.display().to_string(),
        ),
        None => (
            EMBEDDED_DEFINITION.to_string(),
            "the built-in definition".to_string(),
        ),
    };
    ActionTypeDefinition::parse(&text).map_err(|e| format!("{source}: {e}"))
}

async fn cmd_register(def: ActionTypeDefinition, validate_only: bool) -> ExitCode {
    let id = format!("{}/Custom/{}/{}", def.category, def.provider, def.version);
    if validate_only {
        println!("action type {id}: the definition is valid");
        return ExitCode::SUCCESS;
    }
    let client = aws_sdk_codepipeline::Client::new(&aws::load_config().await);
    match register(&client, &def).await {
        Ok(Registration::Created) => {
            println!("action type {id}: created");
            ExitCode::SUCCESS
        }
        Ok(Registration::AlreadyRegistered) => {
            println!(
                "action type {id}: already registered with this exact definition; nothing to do"
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("pipeline-canary register: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn cmd_run(mut def: ActionTypeDefinition, a: RunArgs) -> ExitCode {
    if let Some(v) = a.action_version {
        def.version = v;
    }
    let mut config = WorkerConfig::new(def);
    config.stage = a.stage;
    config.poll_interval = a.poll_interval;
    config.max_jobs = a.max_jobs;
    config.shutdown_grace = a.shutdown_grace;
    config.max_backoff = a.max_backoff;
    config.result_retry_timeout = a.result_retry_timeout;
    if let Err(e) = config.check() {
        eprintln!("pipeline-canary run: {e}");
        return ExitCode::from(2);
    }
    let location = match a.ledger.location() {
        Ok(l) => l,
        Err(e) => {
            eprintln!("pipeline-canary run: {e}");
            return ExitCode::from(2);
        }
    };
    let sdk = aws::load_config().await;
    let ledger = pipeline_canary::ledger::Ledger::new(&sdk, location.clone(), false);
    if let Err(e) = ledger.probe().await {
        eprintln!("pipeline-canary run: {e}");
        return ExitCode::from(2);
    }
    let mut options = ReleaseOptions {
        ledger: Some(location),
        watch_interval: a.watch_interval,
        hold_job: a.hold_job,
        prune_keep: a.prune_keep,
        max_release_duration: a.max_release_duration,
        codedeploy_rate: a.codedeploy_lambda_rate,
        ..Default::default()
    };
    if let Some(d) = a.work_dir {
        options.work_dir = d;
    }
    options.staging_bucket = a.staging_bucket.filter(|b| !b.trim().is_empty());
    let engine = LambdaReleaseEngine::new(&sdk, options);
    let worker = match Worker::new(config, &sdk, engine) {
        Ok(w) => w,
        Err(e) => {
            eprintln!("pipeline-canary run: {e}");
            return ExitCode::from(2);
        }
    };
    let _server = match a.metrics_listen {
        Some(addr) => match telemetry::bind(addr).await {
            Ok(l) => {
                let addr = l.local_addr().unwrap_or(addr);
                tracing::info!(%addr, "serving /metrics and /healthz");
                Some(tokio::spawn(telemetry::serve(l, worker.metrics())))
            }
            Err(e) => {
                eprintln!("pipeline-canary run: cannot listen on {addr}: {e}");
                return ExitCode::from(2);
            }
        },
        None => None,
    };
    worker.run_until(shutdown_signal()).await;
    ExitCode::SUCCESS
}

async fn cmd_plan(a: PlanArgs) -> ExitCode {
    let opts = PlanOptions {
        function_prefix: a.function_prefix,
        manifest: a.manifest,
        alias: a.alias,
        deployment_config: a.deployment_config,
        alarms: a
            .alarms
            .into_iter()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect(),
        max_parallel: a.max_parallel,
        staging_bucket: a.staging_bucket.is_some_and(|b| !b.trim().is_empty()),
        work_dir: a.work_dir,
        codedeploy_rate: a.codedeploy_lambda_rate,
    };
    let sdk = aws::load_config().await;
    match pipeline_canary::release::cli::plan(&sdk, &a.artifact, &opts).await {
        Ok(text) => {
            print!("{text}");
            if !text.ends_with('\n') {
                println!();
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{}: {}", e.kind, e.message);
            ExitCode::FAILURE
        }
    }
}

async fn cmd_release(a: ReleaseArgs) -> ExitCode {
    let location = match a.ledger.location() {
        Ok(l) => l,
        Err(e) => {
            eprintln!("pipeline-canary release: {e}");
            return ExitCode::from(2);
        }
    };
    let mut options = ReleaseOptions {
        ledger: Some(location),
        watch_interval: a.watch_interval,
        ..Default::default()
    };
    if let Some(d) = a.work_dir {
        options.work_dir = d;
    }
    options.staging_bucket = a.staging_bucket.filter(|b| !b.trim().is_empty());
    let from_env = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let commit = a
        .commit
        .or_else(|| from_env("CODEBUILD_RESOLVED_SOURCE_VERSION"));
    let execution_id = a
        .execution_id
        .or_else(|| from_env("CODEBUILD_BUILD_ID"))
        .unwrap_or_else(|| {
            let secs = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0);
            format!("local-{secs}")
        });
    let o = OneShotOptions {
        artifact: a.artifact,
        function_prefix: a.function_prefix,
        application: a.application,
        service_role_arn: a.service_role,
        manifest: a.manifest,
        alias: a.alias,
        deployment_config: a.deployment_config,
        alarms: a
            .alarms
            .into_iter()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect(),
        max_parallel: a.max_parallel,
        execution_id,
        commit,
    };
    let sdk = aws::load_config().await;
    let mut last = String::new();
    let shown = |p: &pipeline_canary::report::Progress| {
        if p.summary != last {
            match p.percent_complete {
                Some(pc) => println!("[{pc:>3} %] {}", p.summary),
                None => println!("{}", p.summary),
            }
            last = p.summary.clone();
        }
    };
    match oneshot::release(&sdk, options, &o, shown).await {
        Ok(r) => {
            for (k, v) in &r.output_variables {
                println!("{k}={v}");
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{}: {}", e.kind, e.message);
            ExitCode::FAILURE
        }
    }
}

/// The ledger of a history command, or the exit code of a usage error.
fn ledger_of(
    command: &str,
    arg: &LedgerArg,
    sdk: &aws_config::SdkConfig,
) -> Result<pipeline_canary::ledger::Ledger, ExitCode> {
    match arg.location() {
        Ok(l) => Ok(pipeline_canary::ledger::Ledger::new(sdk, l, false)),
        Err(e) => {
            eprintln!("pipeline-canary {command}: {e}");
            Err(ExitCode::from(2))
        }
    }
}

fn command_failed(command: &str, e: pipeline_canary::history::CommandError) -> ExitCode {
    eprintln!("pipeline-canary {command}: {}", e.message);
    ExitCode::from(e.exit)
}

async fn cmd_releases(a: ReleasesArgs) -> ExitCode {
    let sdk = aws::load_config().await;
    if let Some(ReleasesCommand::Show { id, ledger, json }) = &a.show {
        let arg = if ledger.ledger.is_some() {
            ledger
        } else {
            &a.ledger
        };
        let ledger = match ledger_of("releases show", arg, &sdk) {
            Ok(l) => l,
            Err(c) => return c,
        };
        return match pipeline_canary::history::show(&ledger, id).await {
            Ok(r) if *json || a.json => {
                println!("{}", r.to_json());
                ExitCode::SUCCESS
            }
            Ok(r) => {
                print!("{}", pipeline_canary::history::describe(&r));
                ExitCode::SUCCESS
            }
            Err(e) => command_failed("releases show", e),
        };
    }
    let ledger = match ledger_of("releases", &a.ledger, &sdk) {
        Ok(l) => l,
        Err(c) => return c,
    };
    match pipeline_canary::history::list(&ledger, a.pipeline.as_deref(), a.limit.max(1)).await {
        Ok(records) if a.json => {
            println!(
                "{}",
                serde_json::to_string_pretty(&records).unwrap_or_else(|_| "[]".into())
            );
            ExitCode::SUCCESS
        }
        Ok(records) => {
            print!("{}", pipeline_canary::history::table(&records));
            ExitCode::SUCCESS
        }
        Err(e) => command_failed("releases", e),
    }
}

async fn cmd_rollback(a: RollbackArgs) -> ExitCode {
    let sdk = aws::load_config().await;
    let ledger = match ledger_of("rollback", &a.ledger, &sdk) {
        Ok(l) => l,
        Err(c) => return c,
    };
    match pipeline_canary::history::rollback(
        &sdk,
        &ledger,
        &a.id,
        &a.reason,
        std::time::SystemTime::now(),
    )
    .await
    {
        Ok(r) => {
            println!("{}", r.text);
            ExitCode::SUCCESS
        }
        Err(e) => command_failed("rollback", e),
    }
}

async fn cmd_prune(a: PruneArgs) -> ExitCode {
    let sdk = aws::load_config().await;
    let ledger = match ledger_of("prune", &a.ledger, &sdk) {
        Ok(l) => l,
        Err(c) => return c,
    };
    let verb = if a.dry_run { "would delete" } else { "deleted" };
    match pipeline_canary::history::prune(
        &sdk,
        &ledger,
        &a.function_prefix,
        None,
        a.keep,
        a.dry_run,
        |v| println!("{verb} {v}"),
    )
    .await
    {
        Ok(p) => {
            for k in &p.kept {
                println!("kept {k} (an alias came to reference it)");
            }
            println!(
                "{} version(s) {verb} across {} function(s){}",
                p.deleted.len(),
                p.functions,
                if a.dry_run {
                    " (dry run: nothing deleted)"
                } else {
                    ""
                }
            );
            ExitCode::SUCCESS
        }
        Err(e) => command_failed("prune", e),
    }
}

/// SIGTERM (what ECS and Kubernetes send) or SIGINT (Ctrl-C).
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
        tokio::select! {
            _ = term.recv() => tracing::info!("SIGTERM received"),
            _ = tokio::signal::ctrl_c() => tracing::info!("SIGINT received"),
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
