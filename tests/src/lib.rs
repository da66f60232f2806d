//! Shared harness for the end-to-end scenarios: start aws-sim in-process on a
//! free loopback port and build official SDK clients pointed at it; every
//! harness environment scans the captured logs and job results for leaked
//! secrets when it ends ([`logscan`]).
//! It knows no scenario; each file under `tests/tests/` is one area.

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::Credentials;

pub mod canary;
pub mod logscan;
pub mod moto;
pub mod release;
pub mod serverless;
pub mod time;
pub mod worker;

pub use aws_sim::{Config as SimConfig, SimHandle};

/// Access key of the "account" principal the tests use (any key is accepted).
pub const ACCOUNT_KEY: &str = "AKIAIOSFODNN7EXAMPLE";
pub const ACCOUNT_SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
pub const REGION: &str = "us-east-1";

/// Starts a sim with the given config (listening on a free port). The first
/// call of a test process installs the log capture the secret scan reads
/// ([`logscan::install_capture`]), before any worker code runs.
pub async fn start_sim(config: SimConfig) -> SimHandle {
    logscan::install_capture();
    let sim = aws_sim::start(config).await.expect("start aws-sim");
    // Test set-up (dozens of functions at once) runs free of Lambda's
    // request-rate quotas; `RunningWorker::start` switches AWS's figures
    // on (buckets full) for the worker.
    sim.sim().lambda.set_request_quota(None);
    sim
}

/// Starts a sim with defaults and the given time scale.
pub async fn sim_with_scale(time_scale: f64) -> SimHandle {
    start_sim(SimConfig {
        time_scale,
        ..Default::default()
    })
    .await
}

/// SDK config for `endpoint` with the account's static credentials.
pub fn sdk_config(endpoint: &str) -> SdkConfig {
    sdk_config_with(
        endpoint,
        Credentials::new(ACCOUNT_KEY, ACCOUNT_SECRET, None, None, "e2e"),
        REGION,
    )
}

/// SDK config for `endpoint` with the given credentials and region.
pub fn sdk_config_with(endpoint: &str, creds: Credentials, region: &str) -> SdkConfig {
    SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region.to_string()))
        .endpoint_url(endpoint)
        .credentials_provider(aws_credential_types::provider::SharedCredentialsProvider::new(creds))
        .http_client(pipeline_canary::aws::http_client())
        .build()
}

/// An S3 client against the sim, path-style (the sim also serves virtual-hosted).
pub fn s3_client(conf: &SdkConfig) -> aws_sdk_s3::Client {
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(conf)
            .force_path_style(true)
            .build(),
    )
}

pub fn codepipeline_client(conf: &SdkConfig) -> aws_sdk_codepipeline::Client {
    aws_sdk_codepipeline::Client::new(conf)
}

/// `GET /_sim/requests` as JSON records (`service`, `operation`, `status`, `error`, …).
pub async fn sim_requests(sim: &SimHandle) -> Vec<serde_json::Value> {
    sim.sim()
        .log
        .query(0, None, None)
        .into_iter()
        .map(|r| serde_json::to_value(r).unwrap())
        .collect()
}
