//! The `aws-sim` binary: starts a sim and serves until Ctrl-C / SIGTERM.

use std::net::SocketAddr;
use std::time::Duration;

use clap::Parser;

/// A local AWS (CodePipeline, S3, Lambda, CodeDeploy, CloudWatch) for tests and demos.
#[derive(Debug, Parser)]
#[command(name = "aws-sim", version)]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:4566")]
    listen: SocketAddr,
    /// Simulated seconds per real second (60 = a minute a second).
    #[arg(long, default_value_t = 1.0)]
    time_scale: f64,
    /// Seed of every random choice (faults, traffic routing).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Lifetime of job artifact credentials, in real seconds.
    #[arg(long, default_value_t = 900.0)]
    credential_ttl: f64,
    /// Simulated seconds a dispatched job waits for AcknowledgeJob before it is queued again.
    #[arg(long, default_value_t = 60.0)]
    ack_timeout: f64,
    /// Simulated seconds before a job carrying a continuation token is queued.
    #[arg(long, default_value_t = 1.0)]
    continuation_delay: f64,
    /// Simulated seconds a Lambda function stays LastUpdateStatus=InProgress after an update.
    #[arg(long, default_value_t = 2.0)]
    lambda_update_delay: f64,
    /// Invocations per simulated second sent to every alias by the traffic generator.
    #[arg(long, default_value_t = 10.0)]
    traffic_rate: f64,
    /// Simulated seconds between CodeDeploy's checks of a deployment group's alarms.
    #[arg(long, default_value_t = 10.0)]
    alarm_poll: f64,
    /// Simulated seconds CodeDeploy waits for a lifecycle hook to report.
    #[arg(long, default_value_t = 3600.0)]
    hook_timeout: f64,
    /// Lambda calls CodeDeploy makes per traffic step (reads, then UpdateAlias),
    /// against Lambda's request quota.
    #[arg(long, default_value_t = 3)]
    codedeploy_calls_per_step: u32,
    /// Simulated seconds CodeDeploy retries a throttled Lambda call before the
    /// deployment fails with THROTTLED.
    #[arg(long, default_value_t = 30.0)]
    codedeploy_retry_window: f64,
    /// Directory for S3 objects (default: a temporary directory removed at exit).
    #[arg(long)]
    data_dir: Option<std::path::PathBuf>,
}

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .init();
    let a = Args::parse();
    if !(a.time_scale > 0.0 && a.time_scale <= aws_sim::clock::MAX_SCALE) {
        eprintln!(
            "error: --time-scale must be a number > 0 and <= {}",
            aws_sim::clock::MAX_SCALE
        );
        std::process::exit(2);
    }
    let secs = |name: &str, v: f64| match Duration::try_from_secs_f64(v) {
        Ok(d) => d,
        Err(_) => {
            eprintln!("error: --{name} must be a number of seconds >= 0");
            std::process::exit(2);
        }
    };
    let config = aws_sim::Config {
        listen: a.listen,
        time_scale: a.time_scale,
        seed: a.seed,
        credential_ttl: secs("credential-ttl", a.credential_ttl),
        ack_timeout: secs("ack-timeout", a.ack_timeout),
        continuation_delay: secs("continuation-delay", a.continuation_delay),
        data_dir: a.data_dir,
        lambda_update_delay: secs("lambda-update-delay", a.lambda_update_delay),
        traffic_rate: if (0.0..=aws_sim::traffic::MAX_RATE).contains(&a.traffic_rate) {
            a.traffic_rate
        } else {
            eprintln!(
                "error: --traffic-rate must be a number >= 0 and <= {}",
                aws_sim::traffic::MAX_RATE
            );
            std::process::exit(2);
        },
        alarm_poll: secs("alarm-poll", a.alarm_poll),
        hook_timeout: secs("hook-timeout", a.hook_timeout),
        codedeploy_lambda_calls: {
            let calls = aws_sim::codedeploy::LambdaCalls {
                calls_per_step: a.codedeploy_calls_per_step,
                retry_window: secs("codedeploy-retry-window", a.codedeploy_retry_window),
                ..Default::default()
            };
            if let Err(e) = calls.validate() {
                eprintln!("error: --codedeploy-calls-per-step: {e}");
                std::process::exit(2);
            }
            calls
        },
    };
    let handle = match aws_sim::start(config).await {
        Ok(h) => h,
        Err(e) => {
            eprintln!("error: cannot listen on {}: {e}", a.listen);
            std::process::exit(1);
        }
    };
    println!("aws-sim listening on {}", handle.endpoint());
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("install SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    handle.shutdown().await;
}
