//! aws-sim's UpdateFunctionCode with `Publish: true` through the official
//! Rust SDK, as botocore's Lambda model documents it: one call updates
//! `$LATEST`'s code and publishes a version from it ("the same effect as
//! calling PublishVersion separately"), answering with the new version's
//! configuration; the `RevisionId` precondition is checked first (412
//! `PreconditionFailedException`, nothing changed); the request has no
//! `Description`, so the version's description is `$LATEST`'s; an update in
//! progress conflicts (409); `DryRun` and `Publish` together are refused.
//! These are what a one-call publish (the bench's `publish-paths`) relies
//! on. It knows no worker and no bench.
//!
//! Runs on a near-frozen clock and moves simulated time explicitly, so
//! `LastUpdateStatus: InProgress` is observable for certain.

use std::time::Duration;

use aws_sdk_lambda as lambda;
use aws_sdk_lambda::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{FunctionCode, LastUpdateStatus, Runtime};
use base64::Engine;
use e2e::{SimConfig, SimHandle, sdk_config, start_sim};
use sha2::{Digest, Sha256};

const ROLE: &str = "arn:aws:iam::123456789012:role/lambda-exec";
const ARN: &str = "arn:aws:lambda:us-east-1:123456789012:function:orders";

fn package(marker: &str) -> Vec<u8> {
    e2e::canary::function_zip(None, marker)
}

fn sha(zip: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(Sha256::digest(zip))
}

/// (code, HTTP status, message) of a failed call.
fn failure<T: std::fmt::Debug, E: ProvideErrorMetadata + std::fmt::Debug>(
    r: Result<T, SdkError<E, aws_smithy_runtime_api::http::Response>>,
) -> (String, u16, String) {
    let e = r.expect_err("expected an AWS error");
    let status = e.raw_response().map(|r| r.status().as_u16()).unwrap_or(0);
    (
        e.code().unwrap_or("(no code)").to_string(),
        status,
        e.message().unwrap_or_default().to_string(),
    )
}

async fn sim() -> (SimHandle, lambda::Client) {
    let sim = start_sim(SimConfig {
        time_scale: 0.001,
        lambda_update_delay: Duration::from_secs(2),
        traffic_rate: 0.0,
        ..Default::default()
    })
    .await;
    let client = lambda::Client::new(&sdk_config(&sim.endpoint()));
    (sim, client)
}

/// Moves simulated time past the update delay.
fn settle(sim: &SimHandle) {
    sim.sim().clock.advance(Duration::from_secs(3));
    sim.sim().tick();
}

async fn latest(l: &lambda::Client) -> lambda::types::FunctionConfiguration {
    l.get_function()
        .function_name("orders")
        .send()
        .await
        .unwrap()
        .configuration()
        .unwrap()
        .clone()
}

async fn versions(l: &lambda::Client) -> Vec<String> {
    l.list_versions_by_function()
        .function_name("orders")
        .send()
        .await
        .unwrap()
        .versions()
        .iter()
        .filter_map(|v| v.version().map(str::to_string))
        .collect()
}

#[tokio::test]
async fn update_code_with_publish_checks_the_revision_and_publishes_from_latest() {
    let (sim, l) = sim().await;
    let v1 = package("v1");
    l.create_function()
        .function_name("orders")
        .runtime(Runtime::Nodejs20x)
        .role(ROLE)
        .handler("index.handler")
        .description("orders service")
        .code(
            FunctionCode::builder()
                .zip_file(Blob::new(v1.clone()))
                .build(),
        )
        .send()
        .await
        .unwrap();
    settle(&sim);
    let rev = latest(&l).await.revision_id().unwrap().to_string();

    // A stale RevisionId: 412, and neither the code nor the versions change.
    let v2 = package("v2");
    let (code, status, msg) = failure(
        l.update_function_code()
            .function_name("orders")
            .zip_file(Blob::new(v2.clone()))
            .publish(true)
            .revision_id("00000000-0000-0000-0000-000000000000")
            .send()
            .await,
    );
    assert_eq!(
        (code.as_str(), status),
        ("PreconditionFailedException", 412)
    );
    assert!(msg.contains("Revision Id"), "{msg}");
    let now = latest(&l).await;
    assert_eq!(now.code_sha256(), Some(sha(&v1).as_str()));
    assert_eq!(now.revision_id(), Some(rev.as_str()));
    assert_eq!(versions(&l).await, ["$LATEST"]);

    // DryRun and Publish together are refused.
    let (code, status, _) = failure(
        l.update_function_code()
            .function_name("orders")
            .zip_file(Blob::new(v2.clone()))
            .publish(true)
            .dry_run(true)
            .send()
            .await,
    );
    assert_eq!(
        (code.as_str(), status),
        ("InvalidParameterValueException", 400)
    );

    // The matching RevisionId: one call, answered with version 1's
    // configuration (qualified ARN, the new code, `$LATEST`'s description).
    let p1 = l
        .update_function_code()
        .function_name("orders")
        .zip_file(Blob::new(v2.clone()))
        .publish(true)
        .revision_id(&rev)
        .send()
        .await
        .unwrap();
    assert_eq!(p1.version(), Some("1"));
    assert_eq!(p1.function_arn(), Some(format!("{ARN}:1").as_str()));
    assert_eq!(p1.code_sha256(), Some(sha(&v2).as_str()));
    assert_eq!(p1.description(), Some("orders service"));
    assert_ne!(p1.revision_id(), Some(rev.as_str()));
    assert_eq!(versions(&l).await, ["$LATEST", "1"]);
    // `$LATEST` holds the new code, under a new RevisionId, still updating.
    let now = latest(&l).await;
    assert_eq!(now.code_sha256(), Some(sha(&v2).as_str()));
    assert_ne!(now.revision_id(), Some(rev.as_str()));
    assert_eq!(
        now.last_update_status(),
        Some(&LastUpdateStatus::InProgress)
    );
    // While it updates, another publishing update conflicts.
    let (code, status, msg) = failure(
        l.update_function_code()
            .function_name("orders")
            .zip_file(Blob::new(package("v3")))
            .publish(true)
            .send()
            .await,
    );
    assert_eq!((code.as_str(), status), ("ResourceConflictException", 409));
    assert!(msg.contains("An update is in progress"), "{msg}");
    settle(&sim);
    // The RevisionId read before the update is stale now.
    let (code, status, _) = failure(
        l.update_function_code()
            .function_name("orders")
            .zip_file(Blob::new(package("v3")))
            .publish(true)
            .revision_id(&rev)
            .send()
            .await,
    );
    assert_eq!(
        (code.as_str(), status),
        ("PreconditionFailedException", 412)
    );
    let one = l
        .get_function()
        .function_name("orders")
        .qualifier("1")
        .send()
        .await
        .unwrap();
    let one = one.configuration().unwrap();
    assert_eq!(one.code_sha256(), Some(sha(&v2).as_str()));
    assert_eq!(one.description(), Some("orders service"));

    // A per-release description takes UpdateFunctionConfiguration first
    // (and its update must finish before the code can change).
    let rev = latest(&l).await.revision_id().unwrap().to_string();
    l.update_function_configuration()
        .function_name("orders")
        .description("release 2")
        .revision_id(&rev)
        .send()
        .await
        .unwrap();
    let v3 = package("v3");
    let (code, _, _) = failure(
        l.update_function_code()
            .function_name("orders")
            .zip_file(Blob::new(v3.clone()))
            .publish(true)
            .send()
            .await,
    );
    assert_eq!(code, "ResourceConflictException");
    settle(&sim);
    let rev = latest(&l).await.revision_id().unwrap().to_string();
    let p2 = l
        .update_function_code()
        .function_name("orders")
        .zip_file(Blob::new(v3.clone()))
        .publish(true)
        .revision_id(&rev)
        .send()
        .await
        .unwrap();
    assert_eq!(p2.version(), Some("2"));
    assert_eq!(p2.description(), Some("release 2"));
    assert_eq!(p2.code_sha256(), Some(sha(&v3).as_str()));
    settle(&sim);

    // The same code again: nothing changed since version 2, so no version
    // is published and version 2 comes back (as from PublishVersion).
    let again = l
        .update_function_code()
        .function_name("orders")
        .zip_file(Blob::new(v3.clone()))
        .publish(true)
        .send()
        .await
        .unwrap();
    assert_eq!(again.version(), Some("2"));
    assert_eq!(versions(&l).await, ["$LATEST", "1", "2"]);
}
