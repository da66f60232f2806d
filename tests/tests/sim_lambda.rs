//! aws-sim's Lambda through the official Rust SDK (aws-sdk-lambda): the
//! control plane with every rule AWS enforces (CodeSha256, RevisionId
//! preconditions, the update-in-progress conflict, "publish with nothing
//! changed", alias routing limits, the 250 MB unzipped limit), weighted
//! invocation through an alias, behaviour from `.sim/behavior.json`, the
//! traffic generator's metrics, and the same control-plane flow against
//! moto where it is installed.
//!
//! Scenarios run on a near-frozen clock and move simulated time explicitly,
//! so `LastUpdateStatus: InProgress` is observable for certain and traffic
//! minutes are exact.

use std::io::Write;
use std::time::{Duration, SystemTime};

use aws_sdk_cloudwatch as cw;
use aws_sdk_lambda as lambda;
use aws_sdk_lambda::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{
    AliasRoutingConfiguration, FunctionCode, InvocationType, LastUpdateStatus, LogType, Runtime,
    State,
};
use base64::Engine;
use e2e::{SimConfig, SimHandle, sdk_config, start_sim};
use sha2::{Digest, Sha256};

const ROLE: &str = "arn:aws:iam::123456789012:role/lambda-exec";
/// Time scale of a near-frozen clock: a real minute is 60 simulated ms.
const FROZEN: f64 = 0.001;

/// A deployment package: `index.js` holding `marker`, plus `.sim/behavior.json`.
fn package(marker: &str, behavior: Option<&str>) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    w.start_file("index.js", opts).unwrap();
    write!(w, "exports.handler = async () => '{marker}';").unwrap();
    if let Some(b) = behavior {
        w.start_file(".sim/behavior.json", opts).unwrap();
        w.write_all(b.as_bytes()).unwrap();
    }
    w.finish().unwrap().into_inner()
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
        e.code()
            .unwrap_or_else(|| panic!("no error code: {e:?}"))
            .to_string(),
        status,
        e.message().unwrap_or_default().to_string(),
    )
}

async fn sim(seed: u64) -> (SimHandle, lambda::Client) {
    let sim = start_sim(SimConfig {
        time_scale: FROZEN,
        seed,
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

async fn create(client: &lambda::Client, name: &str, zip: Vec<u8>, publish: bool) {
    client
        .create_function()
        .function_name(name)
        .runtime(Runtime::Nodejs20x)
        .role(ROLE)
        .handler("index.handler")
        .code(FunctionCode::builder().zip_file(Blob::new(zip)).build())
        .publish(publish)
        .send()
        .await
        .expect("CreateFunction");
}

#[tokio::test]
async fn code_updates_preconditions_and_publishing() {
    let (sim, l) = sim(1).await;
    let v1 = package("v1", None);
    let created = l
        .create_function()
        .function_name("orders")
        .runtime(Runtime::Nodejs20x)
        .role(ROLE)
        .handler("index.handler")
        .description("orders service")
        .timeout(10)
        .memory_size(256)
        .code(
            FunctionCode::builder()
                .zip_file(Blob::new(v1.clone()))
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(created.code_sha256(), Some(sha(&v1).as_str()));
    assert_eq!(created.code_size(), v1.len() as i64);
    assert_eq!(created.state(), Some(&State::Pending));
    assert_eq!(
        created.last_update_status(),
        Some(&LastUpdateStatus::InProgress)
    );
    assert_eq!(created.version(), Some("$LATEST"));
    assert_eq!(
        created.function_arn(),
        Some("arn:aws:lambda:us-east-1:123456789012:function:orders")
    );

    // While the create is in progress, updates and publishes conflict.
    let (code, status, _) = failure(
        l.update_function_code()
            .function_name("orders")
            .zip_file(Blob::new(package("v2", None)))
            .send()
            .await,
    );
    assert_eq!((code.as_str(), status), ("ResourceConflictException", 409));
    let (code, _, _) = failure(l.publish_version().function_name("orders").send().await);
    assert_eq!(code, "ResourceConflictException");
    let (code, status, msg) = failure(
        l.create_function()
            .function_name("orders")
            .runtime(Runtime::Nodejs20x)
            .role(ROLE)
            .handler("index.handler")
            .code(
                FunctionCode::builder()
                    .zip_file(Blob::new(v1.clone()))
                    .build(),
            )
            .send()
            .await,
    );
    assert_eq!((code.as_str(), status), ("ResourceConflictException", 409));
    assert_eq!(msg, "Function already exist: orders");

    settle(&sim);
    let conf = l
        .get_function_configuration()
        .function_name("orders")
        .send()
        .await
        .unwrap();
    assert_eq!(conf.state(), Some(&State::Active));
    assert_eq!(
        conf.last_update_status(),
        Some(&LastUpdateStatus::Successful)
    );
    assert_ne!(
        conf.revision_id(),
        created.revision_id(),
        "settling is a mutation"
    );
    let rev = conf.revision_id().unwrap().to_string();

    // RevisionId precondition on UpdateFunctionCode.
    let v2 = package("v2", None);
    let (code, status, msg) = failure(
        l.update_function_code()
            .function_name("orders")
            .zip_file(Blob::new(v2.clone()))
            .revision_id(created.revision_id().unwrap())
            .send()
            .await,
    );
    assert_eq!(
        (code.as_str(), status),
        ("PreconditionFailedException", 412)
    );
    assert!(msg.contains("Revision Id"), "{msg}");

    // DryRun validates without changing anything.
    let dry = l
        .update_function_code()
        .function_name("orders")
        .zip_file(Blob::new(v2.clone()))
        .dry_run(true)
        .send()
        .await
        .unwrap();
    assert_eq!(dry.code_sha256(), Some(sha(&v2).as_str()));
    let still = l
        .get_function()
        .function_name("orders")
        .send()
        .await
        .unwrap();
    let still = still.configuration().unwrap();
    assert_eq!(still.code_sha256(), Some(sha(&v1).as_str()));
    assert_eq!(still.revision_id(), Some(rev.as_str()));

    let updated = l
        .update_function_code()
        .function_name("orders")
        .zip_file(Blob::new(v2.clone()))
        .revision_id(&rev)
        .send()
        .await
        .unwrap();
    assert_eq!(
        updated.last_update_status(),
        Some(&LastUpdateStatus::InProgress)
    );
    assert_eq!(updated.state(), Some(&State::Active));
    let (code, status, msg) = failure(l.publish_version().function_name("orders").send().await);
    assert_eq!((code.as_str(), status), ("ResourceConflictException", 409));
    assert_eq!(
        msg,
        "The operation cannot be performed at this time. An update is in progress for resource: arn:aws:lambda:us-east-1:123456789012:function:orders"
    );
    let (code, _, _) = failure(
        l.update_function_configuration()
            .function_name("orders")
            .timeout(30)
            .send()
            .await,
    );
    assert_eq!(code, "ResourceConflictException");

    settle(&sim);
    let conf = l
        .get_function_configuration()
        .function_name("orders")
        .send()
        .await
        .unwrap();
    let rev = conf.revision_id().unwrap().to_string();
    // PublishVersion preconditions: CodeSha256 (AWS: 400 InvalidParameterValue) and RevisionId (412).
    let (code, status, msg) = failure(
        l.publish_version()
            .function_name("orders")
            .code_sha256(sha(&v1))
            .send()
            .await,
    );
    assert_eq!(
        (code.as_str(), status),
        ("InvalidParameterValueException", 400)
    );
    assert!(
        msg.contains("is different from current CodeSHA256 in $LATEST"),
        "{msg}"
    );
    let (code, status, _) = failure(
        l.publish_version()
            .function_name("orders")
            .revision_id("00000000-0000-0000-0000-000000000000")
            .send()
            .await,
    );
    assert_eq!(
        (code.as_str(), status),
        ("PreconditionFailedException", 412)
    );
    let p1 = l
        .publish_version()
        .function_name("orders")
        .code_sha256(sha(&v2))
        .revision_id(&rev)
        .description("first")
        .send()
        .await
        .unwrap();
    assert_eq!(p1.version(), Some("1"));
    assert_eq!(p1.description(), Some("first"));
    assert_eq!(
        p1.function_arn(),
        Some("arn:aws:lambda:us-east-1:123456789012:function:orders:1")
    );
    // Nothing changed since version 1: the same version comes back.
    let again = l
        .publish_version()
        .function_name("orders")
        .send()
        .await
        .unwrap();
    assert_eq!(again.version(), Some("1"));
    // Re-uploading identical code changes nothing either.
    l.update_function_code()
        .function_name("orders")
        .zip_file(Blob::new(v2.clone()))
        .send()
        .await
        .unwrap();
    settle(&sim);
    let again = l
        .publish_version()
        .function_name("orders")
        .send()
        .await
        .unwrap();
    assert_eq!(again.version(), Some("1"));
    // New configuration → version 2; Publish on UpdateFunctionCode → version 3.
    let (code, status, _) = failure(
        l.update_function_configuration()
            .function_name("orders")
            .memory_size(512)
            .revision_id(&rev)
            .send()
            .await,
    );
    assert_eq!(
        (code.as_str(), status),
        ("PreconditionFailedException", 412)
    );
    let (code, _, _) = failure(
        l.update_function_configuration()
            .function_name("orders")
            .timeout(901)
            .send()
            .await,
    );
    assert_eq!(code, "InvalidParameterValueException");
    l.update_function_configuration()
        .function_name("orders")
        .memory_size(512)
        .send()
        .await
        .unwrap();
    settle(&sim);
    let p2 = l
        .publish_version()
        .function_name("orders")
        .send()
        .await
        .unwrap();
    assert_eq!(p2.version(), Some("2"));
    assert_eq!(p2.memory_size(), Some(512));
    let p3 = l
        .update_function_code()
        .function_name("orders")
        .zip_file(Blob::new(package("v3", None)))
        .publish(true)
        .send()
        .await
        .unwrap();
    assert_eq!(p3.version(), Some("3"));
    settle(&sim);

    // Qualified reads; versions are immutable snapshots.
    let c1 = l
        .get_function_configuration()
        .function_name("orders")
        .qualifier("1")
        .send()
        .await
        .unwrap();
    assert_eq!(c1.code_sha256(), Some(sha(&v2).as_str()));
    assert_eq!(c1.memory_size(), Some(256));
    let c2 = l
        .get_function()
        .function_name("orders:2")
        .send()
        .await
        .unwrap();
    assert_eq!(c2.configuration().unwrap().version(), Some("2"));
    // Code.Location serves the version's exact zip (checked against its
    // CodeSha256 by the worker's own downloader), like AWS's presigned URL
    // for 10 minutes, then S3's 403; the error never shows the signature.
    let url = c2.code().unwrap().location().unwrap().to_string();
    assert!(url.contains("X-Amz-Expires=600&X-Amz-Signature="), "{url}");
    let v2_sha = c2.configuration().unwrap().code_sha256().unwrap();
    assert_eq!(v2_sha, sha(&v2));
    let got = pipeline_canary::release::download::download(
        &url,
        v2_sha,
        1 << 20,
        std::time::Duration::from_secs(30),
    )
    .await
    .unwrap();
    assert_eq!(got, v2);
    let forged = format!("{}forged", &url[..url.len() - 6]);
    let e = pipeline_canary::release::download::download(
        &forged,
        v2_sha,
        1 << 20,
        std::time::Duration::from_secs(30),
    )
    .await
    .unwrap_err();
    assert!(e.contains("HTTP 403") && !e.contains("forged"), "{e}");
    sim.sim().lambda.expire_code_locations();
    let e = pipeline_canary::release::download::download(
        &url,
        v2_sha,
        1 << 20,
        std::time::Duration::from_secs(30),
    )
    .await
    .unwrap_err();
    assert!(
        e.contains("expired") && !e.contains("X-Amz-Signature"),
        "{e}"
    );

    // Not found, like AWS words it.
    let (code, status, msg) = failure(l.get_function().function_name("nope").send().await);
    assert_eq!((code.as_str(), status), ("ResourceNotFoundException", 404));
    assert_eq!(
        msg,
        "Function not found: arn:aws:lambda:us-east-1:123456789012:function:nope"
    );
    let (code, _, msg) = failure(
        l.get_function_configuration()
            .function_name("orders")
            .qualifier("9")
            .send()
            .await,
    );
    assert_eq!(code, "ResourceNotFoundException");
    assert!(msg.ends_with("function:orders:9"), "{msg}");
    let (code, status, _) = failure(l.get_function().function_name("bad name!").send().await);
    assert_eq!((code.as_str(), status), ("ValidationException", 400));

    // Delete a version, then the function.
    l.delete_function()
        .function_name("orders")
        .qualifier("2")
        .send()
        .await
        .unwrap();
    let versions = l
        .list_versions_by_function()
        .function_name("orders")
        .send()
        .await
        .unwrap();
    let names: Vec<_> = versions
        .versions()
        .iter()
        .filter_map(|v| v.version())
        .collect();
    assert_eq!(names, ["$LATEST", "1", "3"]);
    l.delete_function()
        .function_name("orders")
        .send()
        .await
        .unwrap();
    let (code, _, _) = failure(l.get_function().function_name("orders").send().await);
    assert_eq!(code, "ResourceNotFoundException");
}

#[tokio::test]
async fn list_versions_and_functions_paginate() {
    let (sim, l) = sim(1).await;
    create(&l, "pager", package("0", None), false).await;
    for i in 1..=7 {
        settle(&sim);
        l.update_function_code()
            .function_name("pager")
            .zip_file(Blob::new(package(&i.to_string(), None)))
            .publish(true)
            .send()
            .await
            .unwrap();
    }
    let mut seen = Vec::new();
    let mut marker: Option<String> = None;
    let mut pages = 0;
    loop {
        let page = l
            .list_versions_by_function()
            .function_name("pager")
            .max_items(3)
            .set_marker(marker.clone())
            .send()
            .await
            .unwrap();
        pages += 1;
        assert!(page.versions().len() <= 3);
        seen.extend(
            page.versions()
                .iter()
                .map(|v| v.version().unwrap().to_string()),
        );
        match page.next_marker() {
            Some(m) => marker = Some(m.to_string()),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(seen, ["$LATEST", "1", "2", "3", "4", "5", "6", "7"]);
    let (code, _, _) = failure(
        l.list_versions_by_function()
            .function_name("pager")
            .marker("garbage")
            .send()
            .await,
    );
    assert_eq!(code, "InvalidParameterValueException");

    for n in ["b", "c", "d"] {
        create(&l, n, package(n, None), false).await;
    }
    let first = l.list_functions().max_items(2).send().await.unwrap();
    let names: Vec<_> = first
        .functions()
        .iter()
        .filter_map(|f| f.function_name())
        .collect();
    assert_eq!(names, ["b", "c"]);
    let rest = l
        .list_functions()
        .marker(first.next_marker().unwrap())
        .send()
        .await
        .unwrap();
    let names: Vec<_> = rest
        .functions()
        .iter()
        .filter_map(|f| f.function_name())
        .collect();
    assert_eq!(names, ["d", "pager"]);
    assert!(rest.next_marker().is_none());
}

#[tokio::test]
async fn alias_routing_limits_and_weighted_invoke() {
    let (sim, l) = sim(42).await;
    create(
        &l,
        "checkout",
        package("v1", Some(r#"{"latencyMs":12}"#)),
        true,
    )
    .await;
    settle(&sim);
    let v2 = l
        .update_function_code()
        .function_name("checkout")
        .zip_file(Blob::new(package(
            "v2",
            Some(r#"{"errorRate":1.0,"latencyMs":40}"#),
        )))
        .publish(true)
        .send()
        .await
        .unwrap();
    assert_eq!(v2.version(), Some("2"));
    settle(&sim);
    let weights = |v: &str, w: f64| {
        AliasRoutingConfiguration::builder()
            .additional_version_weights(v, w)
            .build()
    };
    let alias = l
        .create_alias()
        .function_name("checkout")
        .name("live")
        .function_version("1")
        .routing_config(weights("2", 0.3))
        .send()
        .await
        .unwrap();
    assert_eq!(
        alias.alias_arn(),
        Some("arn:aws:lambda:us-east-1:123456789012:function:checkout:live")
    );
    let w = alias
        .routing_config()
        .unwrap()
        .additional_version_weights()
        .unwrap();
    assert_eq!(w.get("2"), Some(&0.3));

    // Routing limits.
    let update = || l.update_alias().function_name("checkout").name("live");
    let (code, status, _) = failure(update().routing_config(weights("2", 1.5)).send().await);
    assert_eq!((code.as_str(), status), ("ValidationException", 400));
    let two = AliasRoutingConfiguration::builder()
        .additional_version_weights("2", 0.1)
        .additional_version_weights("3", 0.1)
        .build();
    let (code, _, _) = failure(update().routing_config(two).send().await);
    assert_eq!(code, "InvalidParameterValueException");
    let (code, _, _) = failure(update().routing_config(weights("1", 0.5)).send().await);
    assert_eq!(
        code, "InvalidParameterValueException",
        "additional == primary"
    );
    let (code, status, _) = failure(update().routing_config(weights("9", 0.5)).send().await);
    assert_eq!((code.as_str(), status), ("ResourceNotFoundException", 404));
    let (code, _, _) = failure(
        update()
            .function_version("$LATEST")
            .routing_config(weights("2", 0.5))
            .send()
            .await,
    );
    assert_eq!(
        code, "InvalidParameterValueException",
        "$LATEST with routing"
    );
    let (code, status, _) = failure(update().revision_id("stale").description("x").send().await);
    assert_eq!(
        (code.as_str(), status),
        ("PreconditionFailedException", 412)
    );
    let (code, _, msg) = failure(
        l.get_alias()
            .function_name("checkout")
            .name("nope")
            .send()
            .await,
    );
    assert_eq!(code, "ResourceNotFoundException");
    assert!(
        msg.starts_with(
            "Alias not found: arn:aws:lambda:us-east-1:123456789012:function:checkout:nope"
        ),
        "{msg}"
    );
    let (code, status, _) = failure(
        l.create_alias()
            .function_name("checkout")
            .name("live")
            .function_version("1")
            .send()
            .await,
    );
    assert_eq!((code.as_str(), status), ("ResourceConflictException", 409));
    // A valid update changes the RevisionId; an unchanged alias keeps its routing.
    let u = update()
        .revision_id(alias.revision_id().unwrap())
        .description("canary")
        .send()
        .await
        .unwrap();
    assert_ne!(u.revision_id(), alias.revision_id());
    assert_eq!(
        u.routing_config()
            .unwrap()
            .additional_version_weights()
            .unwrap()
            .get("2"),
        Some(&0.3)
    );
    assert_eq!(
        sim.sim()
            .lambda
            .get_alias("us-east-1", "checkout", "live")
            .unwrap()
            .additional_version,
        Some(("2".to_string(), 0.3))
    );

    // 1000 invocations through the alias: ~30 % on version 2, which always fails.
    let (mut on2, mut errors) = (0, 0);
    for _ in 0..1000 {
        let out = l
            .invoke()
            .function_name("checkout")
            .qualifier("live")
            .send()
            .await
            .unwrap();
        assert_eq!(out.status_code(), 200);
        let executed = out.executed_version().unwrap();
        let failed = out.function_error() == Some("Unhandled");
        if executed == "2" {
            on2 += 1;
            assert!(failed, "version 2 has errorRate 1.0");
            let payload: serde_json::Value =
                serde_json::from_slice(out.payload().unwrap().as_ref()).unwrap();
            assert_eq!(payload["errorType"], "Error");
        } else {
            assert_eq!(executed, "1");
            assert!(!failed, "version 1 is healthy");
        }
        errors += usize::from(failed);
    }
    assert!(
        (250..=350).contains(&on2),
        "version 2 executed {on2} times of 1000"
    );
    assert_eq!(errors, on2);

    // Qualifiers, invocation types, log tail.
    let out = l
        .invoke()
        .function_name("checkout:1")
        .log_type(LogType::Tail)
        .send()
        .await
        .unwrap();
    assert_eq!(out.executed_version(), Some("1"));
    let log = base64::engine::general_purpose::STANDARD
        .decode(out.log_result().unwrap())
        .unwrap();
    assert!(
        String::from_utf8(log)
            .unwrap()
            .contains("Duration: 12.00 ms")
    );
    let out = l
        .invoke()
        .function_name("checkout")
        .qualifier("live")
        .invocation_type(InvocationType::DryRun)
        .send()
        .await
        .unwrap();
    assert_eq!(out.status_code(), 204);
    let out = l
        .invoke()
        .function_name("checkout")
        .invocation_type(InvocationType::Event)
        .payload(Blob::new(r#"{"order":1}"#))
        .send()
        .await
        .unwrap();
    assert_eq!(out.status_code(), 202);
    let (code, _, _) = failure(
        l.invoke()
            .function_name("checkout")
            .payload(Blob::new("not json"))
            .send()
            .await,
    );
    assert_eq!(code, "InvalidRequestContentException");
    let (code, status, _) = failure(l.invoke().function_name("checkout:beta").send().await);
    assert_eq!((code.as_str(), status), ("ResourceNotFoundException", 404));

    // A version referenced by an alias cannot be deleted; DeleteAlias is idempotent.
    let (code, _, _) = failure(
        l.delete_function()
            .function_name("checkout")
            .qualifier("2")
            .send()
            .await,
    );
    assert_eq!(code, "ResourceConflictException");
    let aliases = l
        .list_aliases()
        .function_name("checkout")
        .send()
        .await
        .unwrap();
    assert_eq!(aliases.aliases().len(), 1);
    let filtered = l
        .list_aliases()
        .function_name("checkout")
        .function_version("3")
        .send()
        .await
        .unwrap();
    assert!(filtered.aliases().is_empty());
    // Reading through the alias shows its version, under the alias ARN.
    let via = l
        .get_function_configuration()
        .function_name("checkout")
        .qualifier("live")
        .send()
        .await
        .unwrap();
    assert_eq!(via.version(), Some("1"));
    assert_eq!(
        via.function_arn(),
        Some("arn:aws:lambda:us-east-1:123456789012:function:checkout:live")
    );
    l.delete_alias()
        .function_name("checkout")
        .name("live")
        .send()
        .await
        .unwrap();
    l.delete_alias()
        .function_name("checkout")
        .name("live")
        .send()
        .await
        .unwrap();
    assert!(
        l.list_aliases()
            .function_name("checkout")
            .send()
            .await
            .unwrap()
            .aliases()
            .is_empty()
    );
}

/// Uncompressed size of [`zeros_bomb`]'s one file: 1 + 258·k zeros, > 250 MB.
const BOMB_SIZE: u64 = 1 + 258 * 1_056_704;

/// A valid zip whose one deflated file is `BOMB_SIZE` zeros, built directly:
/// a fixed-Huffman deflate stream of one literal 0 followed by
/// (length 258, distance 1) copies — 13 bits per 258 bytes, so no 260 MB
/// buffer is ever compressed — and the CRC-32 of the zeros by combining.
fn zeros_bomb() -> Vec<u8> {
    struct Bits {
        out: Vec<u8>,
        acc: u64,
        n: u32,
    }
    impl Bits {
        /// `len` bits of `v`, least significant first (deflate's bit order).
        fn put(&mut self, v: u32, len: u32) {
            self.acc |= u64::from(v) << self.n;
            self.n += len;
            while self.n >= 8 {
                self.out.push(self.acc as u8);
                self.acc >>= 8;
                self.n -= 8;
            }
        }
        /// A Huffman code, most significant bit first.
        fn code(&mut self, code: u32, len: u32) {
            let rev = code.reverse_bits() >> (32 - len);
            self.put(rev, len);
        }
    }
    let mut b = Bits {
        out: Vec::new(),
        acc: 0,
        n: 0,
    };
    b.put(1, 1); // BFINAL
    b.put(1, 2); // BTYPE = fixed Huffman
    b.code(0x30, 8); // literal 0
    for _ in 0..(BOMB_SIZE - 1) / 258 {
        b.code(0b1100_0101, 8); // length symbol 285 = 258
        b.code(0, 5); // distance code 0 = 1
    }
    b.code(0, 7); // end of block
    b.put(0, 7);
    let deflated = b.out;
    // CRC-32 of BOMB_SIZE zeros: 1 MiB once, then combined.
    let mib = {
        let mut h = crc32fast::Hasher::new();
        h.update(&vec![0u8; 1 << 20]);
        h
    };
    let mut crc = crc32fast::Hasher::new();
    for _ in 0..BOMB_SIZE >> 20 {
        crc.combine(&mib);
    }
    crc.update(&vec![0u8; (BOMB_SIZE & ((1 << 20) - 1)) as usize]);
    let crc = crc.finalize();
    let name = b"big.bin";
    let mut z = Vec::new();
    let header = |z: &mut Vec<u8>| {
        z.extend_from_slice(&20u16.to_le_bytes()); // version needed
        z.extend_from_slice(&0u16.to_le_bytes()); // flags
        z.extend_from_slice(&8u16.to_le_bytes()); // deflate
        z.extend_from_slice(&0u16.to_le_bytes()); // time
        z.extend_from_slice(&0x21u16.to_le_bytes()); // date 1980-01-01
        z.extend_from_slice(&crc.to_le_bytes());
        z.extend_from_slice(&(deflated.len() as u32).to_le_bytes());
        z.extend_from_slice(&(BOMB_SIZE as u32).to_le_bytes());
        z.extend_from_slice(&(name.len() as u16).to_le_bytes());
        z.extend_from_slice(&0u16.to_le_bytes()); // extra
    };
    z.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
    header(&mut z);
    z.extend_from_slice(name);
    z.extend_from_slice(&deflated);
    let cd = z.len();
    z.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
    z.extend_from_slice(&20u16.to_le_bytes()); // version made by
    header(&mut z);
    z.extend_from_slice(&[0; 12]); // comment len, disk, attrs
    z.extend_from_slice(&0u32.to_le_bytes()); // local header offset
    z.extend_from_slice(name);
    let cd_len = z.len() - cd;
    z.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    z.extend_from_slice(&[0, 0, 0, 0, 1, 0, 1, 0]);
    z.extend_from_slice(&(cd_len as u32).to_le_bytes());
    z.extend_from_slice(&(cd as u32).to_le_bytes());
    z.extend_from_slice(&0u16.to_le_bytes());
    z
}

#[tokio::test]
async fn unzipped_size_limit_and_code_from_s3() {
    let (sim, l) = sim(1).await;
    let bomb = zeros_bomb();
    let mut listed = zip::ZipArchive::new(std::io::Cursor::new(bomb.clone())).unwrap();
    assert_eq!(listed.decompressed_size(), Some(BOMB_SIZE as u128));
    // The deflate stream really holds zeros (only its first MiB is inflated here).
    let mut head = vec![1u8; 1 << 20];
    std::io::Read::read_exact(&mut listed.by_index(0).unwrap(), &mut head).unwrap();
    assert!(head.iter().all(|b| *b == 0));
    assert!(bomb.len() < 3 * 1024 * 1024, "{} bytes", bomb.len());
    let (code, status, msg) = failure(
        l.create_function()
            .function_name("bomb")
            .runtime(Runtime::Python312)
            .role(ROLE)
            .handler("app.handler")
            .code(
                FunctionCode::builder()
                    .zip_file(Blob::new(bomb.clone()))
                    .build(),
            )
            .send()
            .await,
    );
    assert_eq!(
        (code.as_str(), status),
        ("InvalidParameterValueException", 400)
    );
    assert_eq!(msg, "Unzipped size must be smaller than 262144000 bytes");

    let (code, _, msg) = failure(
        l.create_function()
            .function_name("garbage")
            .runtime(Runtime::Python312)
            .role(ROLE)
            .handler("app.handler")
            .code(
                FunctionCode::builder()
                    .zip_file(Blob::new("not a zip"))
                    .build(),
            )
            .send()
            .await,
    );
    assert_eq!(code, "InvalidParameterValueException");
    assert!(msg.starts_with("Could not unzip uploaded file"), "{msg}");

    // Code from the sim's S3.
    let s3 = e2e::s3_client(&sdk_config(&sim.endpoint()));
    s3.create_bucket().bucket("code").send().await.unwrap();
    let zip = package("from-s3", Some(r#"{"errorRate":0.25}"#));
    s3.put_object()
        .bucket("code")
        .key("fn.zip")
        .body(zip.clone().into())
        .send()
        .await
        .unwrap();
    let made = l
        .create_function()
        .function_name("froms3")
        .runtime(Runtime::Python312)
        .role(ROLE)
        .handler("app.handler")
        .code(
            FunctionCode::builder()
                .s3_bucket("code")
                .s3_key("fn.zip")
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(made.code_sha256(), Some(sha(&zip).as_str()));
    let b = sim
        .sim()
        .lambda
        .behavior("us-east-1", "froms3", "$LATEST")
        .unwrap();
    assert_eq!(b.error_rate, 0.25);
    settle(&sim);
    let (code, _, msg) = failure(
        l.update_function_code()
            .function_name("froms3")
            .s3_bucket("code")
            .s3_key("missing.zip")
            .send()
            .await,
    );
    assert_eq!(code, "InvalidParameterValueException");
    assert!(msg.contains("NoSuchKey"), "{msg}");
    // The bomb is refused from S3 too.
    s3.put_object()
        .bucket("code")
        .key("bomb.zip")
        .body(bomb.into())
        .send()
        .await
        .unwrap();
    let (code, _, _) = failure(
        l.update_function_code()
            .function_name("froms3")
            .s3_bucket("code")
            .s3_key("bomb.zip")
            .send()
            .await,
    );
    assert_eq!(code, "InvalidParameterValueException");
}

#[tokio::test]
async fn direct_upload_over_50_mb_is_refused() {
    let (_sim, l) = sim(1).await;
    // 50 MiB + 64 KiB stored (uncompressed): just over the direct-upload limit.
    // (Most of this test's time is the SDK signing the 70 MB request.)
    let data = vec![0u8; 50 * 1024 * 1024 + 64 * 1024];
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    w.start_file("blob.bin", opts).unwrap();
    w.write_all(&data).unwrap();
    let zip = w.finish().unwrap().into_inner();
    let (code, status, _) = failure(
        l.create_function()
            .function_name("huge")
            .runtime(Runtime::Python312)
            .role(ROLE)
            .handler("app.handler")
            .code(FunctionCode::builder().zip_file(Blob::new(zip)).build())
            .send()
            .await,
    );
    assert_eq!(
        (code.as_str(), status),
        ("RequestEntityTooLargeException", 413)
    );
}

#[tokio::test]
async fn traffic_metrics_reach_cloudwatch() {
    let sim = start_sim(SimConfig {
        time_scale: FROZEN,
        seed: 7,
        lambda_update_delay: Duration::from_secs(2),
        traffic_rate: 10.0,
        ..Default::default()
    })
    .await;
    let conf = sdk_config(&sim.endpoint());
    let l = lambda::Client::new(&conf);
    let c = cw::Client::new(&conf);
    create(&l, "api", package("v1", Some(r#"{"latencyMs":25}"#)), true).await;
    settle(&sim);
    l.update_function_code()
        .function_name("api")
        .zip_file(Blob::new(package(
            "v2",
            Some(r#"{"errorRate":0.5,"latencyMs":50}"#),
        )))
        .publish(true)
        .send()
        .await
        .unwrap();
    settle(&sim);
    l.create_alias()
        .function_name("api")
        .name("live")
        .function_version("1")
        .routing_config(
            AliasRoutingConfiguration::builder()
                .additional_version_weights("2", 0.2)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let start = SystemTime::now() - Duration::from_secs(60);
    // Ten simulated minutes of traffic, one minute at a time.
    for _ in 0..10 {
        sim.sim().clock.advance(Duration::from_secs(60));
        sim.sim().tick();
    }
    let end = sim.sim().clock.now();
    let dims = |extra: &[(&str, &str)]| {
        let mut d = vec![
            cw::types::Dimension::builder()
                .name("FunctionName")
                .value("api")
                .build(),
        ];
        for (k, v) in extra {
            d.push(cw::types::Dimension::builder().name(*k).value(*v).build());
        }
        d
    };
    let sum = |name: &'static str, d: Vec<cw::types::Dimension>| {
        let c = c.clone();
        async move {
            let out = c
                .get_metric_statistics()
                .namespace("AWS/Lambda")
                .metric_name(name)
                .set_dimensions(Some(d))
                .start_time(start.into())
                .end_time(end.into())
                .period(3600)
                .statistics(cw::types::Statistic::Sum)
                .statistics(cw::types::Statistic::Average)
                .send()
                .await
                .unwrap();
            let s: f64 = out.datapoints().iter().filter_map(|d| d.sum()).sum();
            s
        }
    };
    let total = sum("Invocations", dims(&[])).await;
    assert!((5400.0..=6000.0).contains(&total), "invocations {total}");
    let via_alias = sum("Invocations", dims(&[("Resource", "api:live")])).await;
    assert_eq!(via_alias, total);
    let on2 = sum(
        "Invocations",
        dims(&[("Resource", "api:live"), ("ExecutedVersion", "2")]),
    )
    .await;
    let share = on2 / total;
    assert!((0.17..=0.23).contains(&share), "version 2 share {share}");
    let errors = sum(
        "Errors",
        dims(&[("Resource", "api:live"), ("ExecutedVersion", "2")]),
    )
    .await;
    assert!(
        (errors / on2 - 0.5).abs() < 0.06,
        "error rate {}",
        errors / on2
    );
    let errors_v1 = sum(
        "Errors",
        dims(&[("Resource", "api:live"), ("ExecutedVersion", "1")]),
    )
    .await;
    assert_eq!(errors_v1, 0.0);
    // Duration is per-version latency.
    let out = c
        .get_metric_statistics()
        .namespace("AWS/Lambda")
        .metric_name("Duration")
        .set_dimensions(Some(dims(&[
            ("Resource", "api:live"),
            ("ExecutedVersion", "2"),
        ])))
        .start_time(start.into())
        .end_time(end.into())
        .period(60)
        .statistics(cw::types::Statistic::Maximum)
        .extended_statistics("p99")
        .send()
        .await
        .unwrap();
    assert!(out.datapoints().len() >= 9, "{:?}", out.datapoints());
    for d in out.datapoints() {
        assert_eq!(d.maximum(), Some(50.0));
        assert_eq!(d.extended_statistics().unwrap().get("p99"), Some(&50.0));
        assert_eq!(d.unit(), Some(&cw::types::StandardUnit::Milliseconds));
    }

    // Traffic control: off means no new invocations.
    let http = reqwest_free_post(&sim, "/_sim/traffic", r#"{"enabled":false}"#).await;
    assert!(http.contains("\"enabled\":false"), "{http}");
    let before = sum("Invocations", dims(&[])).await;
    for _ in 0..3 {
        sim.sim().clock.advance(Duration::from_secs(60));
        sim.sim().tick();
    }
    let end2 = sim.sim().clock.now();
    let out = c
        .get_metric_statistics()
        .namespace("AWS/Lambda")
        .metric_name("Invocations")
        .set_dimensions(Some(dims(&[])))
        .start_time(start.into())
        .end_time(end2.into())
        .period(3600)
        .statistics(cw::types::Statistic::Sum)
        .send()
        .await
        .unwrap();
    let after: f64 = out.datapoints().iter().filter_map(|d| d.sum()).sum();
    assert!(
        after - before <= 700.0,
        "only the minute in flight may be added: {before} → {after}"
    );
    let bad = reqwest_free_post(&sim, "/_sim/traffic", r#"{"rate":-1}"#).await;
    assert!(bad.contains("error"), "{bad}");
    // Review P4-4: a huge rate overflowed the invocation counts on the next tick.
    for body in [r#"{"rate":1e300}"#, r#"{"functions":{"f":1e7}}"#] {
        let bad = reqwest_free_post(&sim, "/_sim/traffic", body).await;
        assert!(bad.starts_with("HTTP/1.1 400"), "{body}: {bad}");
    }
}

/// A raw HTTP POST to the sim's control API; returns the response body.
async fn reqwest_free_post(sim: &SimHandle, path: &str, body: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(sim.addr()).await.unwrap();
    let req = format!(
        "POST {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        sim.addr(),
        body.len()
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    out
}

/// moto checks that a function's role exists: create it through moto's IAM
/// (query protocol; moto does not verify signatures).
async fn moto_create_role(endpoint: &str) {
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

/// The control-plane flow the worker relies on (create → update code → wait
/// → publish → alias weights), against moto when it is installed: only what
/// both implement is asserted (moto does not enforce preconditions).
#[tokio::test]
async fn control_plane_flow_matches_moto() {
    let (sim, _) = sim(1).await;
    let mut endpoints = vec![("aws-sim", sim.endpoint(), None)];
    if let Some(moto) = e2e::moto::moto("control_plane_flow_matches_moto").await {
        moto_create_role(&moto.endpoint).await;
        endpoints.push(("moto", moto.endpoint.clone(), Some(moto)));
    }
    for (who, endpoint, _guard) in &endpoints {
        let l = lambda::Client::new(&sdk_config(endpoint));
        let v1 = package("v1", None);
        let made = l
            .create_function()
            .function_name("flow")
            .runtime(Runtime::Python312)
            .role(ROLE)
            .handler("app.handler")
            .code(
                FunctionCode::builder()
                    .zip_file(Blob::new(v1.clone()))
                    .build(),
            )
            .send()
            .await
            .unwrap_or_else(|e| panic!("{who}: CreateFunction: {e:?}"));
        assert_eq!(made.code_sha256(), Some(sha(&v1).as_str()), "{who}");
        let wait = || async {
            if *who == "aws-sim" {
                settle(&sim);
            }
            for _ in 0..50 {
                let c = l
                    .get_function_configuration()
                    .function_name("flow")
                    .send()
                    .await
                    .unwrap();
                if c.last_update_status() != Some(&LastUpdateStatus::InProgress) {
                    return c;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            panic!("{who}: update never finished");
        };
        wait().await;
        let p1 = l
            .publish_version()
            .function_name("flow")
            .send()
            .await
            .unwrap_or_else(|e| panic!("{who}: PublishVersion: {e:?}"));
        assert_eq!(p1.version(), Some("1"), "{who}");
        let v2 = package("v2", None);
        let up = l
            .update_function_code()
            .function_name("flow")
            .zip_file(Blob::new(v2.clone()))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{who}: UpdateFunctionCode: {e:?}"));
        assert_eq!(up.code_sha256(), Some(sha(&v2).as_str()), "{who}");
        let settled = wait().await;
        let p2 = l
            .publish_version()
            .function_name("flow")
            .code_sha256(sha(&v2))
            .set_revision_id(settled.revision_id().map(str::to_string))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{who}: PublishVersion 2: {e:?}"));
        assert_eq!(p2.version(), Some("2"), "{who}");
        l.create_alias()
            .function_name("flow")
            .name("live")
            .function_version("1")
            .send()
            .await
            .unwrap_or_else(|e| panic!("{who}: CreateAlias: {e:?}"));
        let shifted = l
            .update_alias()
            .function_name("flow")
            .name("live")
            .routing_config(
                AliasRoutingConfiguration::builder()
                    .additional_version_weights("2", 0.1)
                    .build(),
            )
            .send()
            .await
            .unwrap_or_else(|e| panic!("{who}: UpdateAlias: {e:?}"));
        assert_eq!(shifted.function_version(), Some("1"), "{who}");
        let got = l
            .get_alias()
            .function_name("flow")
            .name("live")
            .send()
            .await
            .unwrap();
        let w = got
            .routing_config()
            .and_then(|r| r.additional_version_weights())
            .and_then(|w| w.get("2"))
            .copied();
        assert_eq!(w, Some(0.1), "{who}");
        let done = l
            .update_alias()
            .function_name("flow")
            .name("live")
            .function_version("2")
            .routing_config(AliasRoutingConfiguration::builder().build())
            .send()
            .await
            .unwrap_or_else(|e| panic!("{who}: UpdateAlias to 2: {e:?}"));
        assert_eq!(done.function_version(), Some("2"), "{who}");
        let extra = done
            .routing_config()
            .and_then(|r| r.additional_version_weights())
            .map(|w| w.len())
            .unwrap_or(0);
        assert_eq!(extra, 0, "{who}");
    }
}

#[tokio::test]
async fn resource_policies_add_get_and_remove_permissions() {
    let (sim, c) = sim(11).await;
    create(&c, "collect", package("v1", None), true).await;
    settle(&sim);
    c.create_alias()
        .function_name("collect")
        .name("live")
        .function_version("1")
        .send()
        .await
        .unwrap();
    let arn = "arn:aws:lambda:us-east-1:123456789012:function:collect";

    // No policy yet.
    let (code, status, message) = failure(c.get_policy().function_name("collect").send().await);
    assert_eq!((code.as_str(), status), ("ResourceNotFoundException", 404));
    assert_eq!(message, "The resource you requested does not exist.");

    // A statement on the function, as Lambda writes it.
    let before = c
        .get_function_configuration()
        .function_name("collect")
        .send()
        .await
        .unwrap()
        .revision_id()
        .unwrap()
        .to_string();
    let added = c
        .add_permission()
        .function_name("collect")
        .statement_id("s3-invoke")
        .action("lambda:InvokeFunction")
        .principal("s3.amazonaws.com")
        .source_arn("arn:aws:s3:::uploads")
        .source_account("123456789012")
        .send()
        .await
        .unwrap();
    let statement: serde_json::Value = serde_json::from_str(added.statement().unwrap()).unwrap();
    assert_eq!(
        statement,
        serde_json::json!({
            "Sid": "s3-invoke", "Effect": "Allow",
            "Principal": {"Service": "s3.amazonaws.com"},
            "Action": "lambda:InvokeFunction", "Resource": arn,
            "Condition": {
                "StringEquals": {"AWS:SourceAccount": "123456789012"},
                "ArnLike": {"AWS:SourceArn": "arn:aws:s3:::uploads"},
            },
        })
    );
    let got = c
        .get_policy()
        .function_name("collect")
        .send()
        .await
        .unwrap();
    let policy: serde_json::Value = serde_json::from_str(got.policy().unwrap()).unwrap();
    assert_eq!(policy["Version"], "2012-10-17");
    assert_eq!(policy["Statement"], serde_json::json!([statement]));
    // The policy's RevisionId is the function's, renewed by the change.
    let revision = got.revision_id().unwrap().to_string();
    assert_ne!(revision, before);
    let now = c
        .get_function_configuration()
        .function_name("collect")
        .send()
        .await
        .unwrap();
    assert_eq!(now.revision_id(), Some(revision.as_str()));

    // Statement ids are unique per policy.
    let again = c
        .add_permission()
        .function_name("collect")
        .statement_id("s3-invoke")
        .action("lambda:InvokeFunction")
        .principal("events.amazonaws.com")
        .send()
        .await;
    let (code, status, _) = failure(again);
    assert_eq!((code.as_str(), status), ("ResourceConflictException", 409));

    // RevisionId preconditions, on adding and on removing.
    let stale = c
        .add_permission()
        .function_name("collect")
        .statement_id("account")
        .action("lambda:GetFunction")
        .principal("210987654321")
        .revision_id(&before)
        .send()
        .await;
    let (code, status, _) = failure(stale);
    assert_eq!(
        (code.as_str(), status),
        ("PreconditionFailedException", 412)
    );
    c.add_permission()
        .function_name("collect")
        .statement_id("account")
        .action("lambda:GetFunction")
        .principal("210987654321")
        .revision_id(&revision)
        .send()
        .await
        .unwrap();
    let got = c
        .get_policy()
        .function_name("collect")
        .send()
        .await
        .unwrap();
    let policy: serde_json::Value = serde_json::from_str(got.policy().unwrap()).unwrap();
    assert_eq!(
        policy["Statement"][1]["Principal"],
        serde_json::json!({"AWS": "arn:aws:iam::210987654321:root"})
    );
    let (code, status, _) = failure(
        c.remove_permission()
            .function_name("collect")
            .statement_id("account")
            .revision_id(&revision)
            .send()
            .await,
    );
    assert_eq!(
        (code.as_str(), status),
        ("PreconditionFailedException", 412)
    );

    // A qualified policy is another policy: the alias's, on the alias ARN.
    c.add_permission()
        .function_name("collect")
        .qualifier("live")
        .statement_id("s3-invoke")
        .action("lambda:InvokeFunction")
        .principal("s3.amazonaws.com")
        .send()
        .await
        .unwrap();
    let live = c
        .get_policy()
        .function_name("collect:live")
        .send()
        .await
        .unwrap();
    let policy: serde_json::Value = serde_json::from_str(live.policy().unwrap()).unwrap();
    assert_eq!(policy["Statement"][0]["Resource"], format!("{arn}:live"));
    assert_eq!(policy["Statement"].as_array().unwrap().len(), 1);
    let alias = c
        .get_alias()
        .function_name("collect")
        .name("live")
        .send()
        .await
        .unwrap();
    assert_eq!(alias.revision_id(), live.revision_id());
    // Qualifiers: $LATEST cannot hold a policy, unknown ones do not exist.
    let (code, status, message) = failure(
        c.add_permission()
            .function_name("collect")
            .qualifier("$LATEST")
            .statement_id("x")
            .action("lambda:InvokeFunction")
            .principal("s3.amazonaws.com")
            .send()
            .await,
    );
    assert_eq!(
        (code.as_str(), status, message.as_str()),
        (
            "InvalidParameterValueException",
            400,
            "We currently do not support adding policies for $LATEST."
        )
    );
    for q in ["7", "staging"] {
        let (code, status, _) = failure(
            c.get_policy()
                .function_name("collect")
                .qualifier(q)
                .send()
                .await,
        );
        assert_eq!(
            (code.as_str(), status),
            ("ResourceNotFoundException", 404),
            "{q}"
        );
    }
    let (code, status, _) = failure(
        c.get_policy()
            .function_name("collect")
            .qualifier("1")
            .send()
            .await,
    );
    assert_eq!((code.as_str(), status), ("ResourceNotFoundException", 404));

    // Unknown functions and statements.
    let (code, status, _) = failure(
        c.add_permission()
            .function_name("nope")
            .statement_id("x")
            .action("lambda:InvokeFunction")
            .principal("s3.amazonaws.com")
            .send()
            .await,
    );
    assert_eq!((code.as_str(), status), ("ResourceNotFoundException", 404));
    let (code, status, message) = failure(
        c.remove_permission()
            .function_name("collect")
            .statement_id("never-added")
            .send()
            .await,
    );
    assert_eq!((code.as_str(), status), ("ResourceNotFoundException", 404));
    assert!(message.contains("never-added"), "{message}");

    // Removing every statement removes the policy.
    for sid in ["s3-invoke", "account"] {
        c.remove_permission()
            .function_name("collect")
            .statement_id(sid)
            .send()
            .await
            .unwrap();
    }
    let (code, status, _) = failure(c.get_policy().function_name("collect").send().await);
    assert_eq!((code.as_str(), status), ("ResourceNotFoundException", 404));
    // The alias's policy was not touched, and goes with the alias.
    c.get_policy()
        .function_name("collect:live")
        .send()
        .await
        .unwrap();
    c.delete_alias()
        .function_name("collect")
        .name("live")
        .send()
        .await
        .unwrap();
    let (code, _, _) = failure(c.get_policy().function_name("collect:live").send().await);
    assert_eq!(code, "ResourceNotFoundException");

    // Members are validated as the model constrains them.
    let (code, status, _) = failure(
        c.add_permission()
            .function_name("collect")
            .statement_id("bad action")
            .action("lambda:InvokeFunction")
            .principal("s3.amazonaws.com")
            .send()
            .await,
    );
    assert_eq!((code.as_str(), status), ("ValidationException", 400));
    let (code, status, _) = failure(
        c.add_permission()
            .function_name("collect")
            .statement_id("s")
            .action("s3:GetObject")
            .principal("s3.amazonaws.com")
            .send()
            .await,
    );
    assert_eq!((code.as_str(), status), ("ValidationException", 400));
}

#[tokio::test]
async fn get_policy_has_its_own_request_quota() {
    let (sim, c) = sim(12).await;
    create(&c, "quota", package("v1", None), false).await;
    c.add_permission()
        .function_name("quota")
        .statement_id("events")
        .action("lambda:InvokeFunction")
        .principal("events.amazonaws.com")
        .send()
        .await
        .unwrap();
    // One control-plane request and one GetPolicy request in the buckets,
    // refilled so slowly that no test run sees a refill.
    sim.sim()
        .lambda
        .set_request_quota(Some(aws_sim::lambda::quota::RequestQuota {
            control_plane: 0.01,
            get_function: 0.01,
            get_policy: 0.01,
            burst_seconds: 100.0,
        }));
    let no_retries = lambda::Client::from_conf(
        lambda::config::Builder::from(&sdk_config(&sim.endpoint()))
            .retry_config(lambda::config::retry::RetryConfig::disabled())
            .build(),
    );
    no_retries
        .get_function_configuration()
        .function_name("quota")
        .send()
        .await
        .unwrap();
    let (code, status, _) = failure(
        no_retries
            .get_function_configuration()
            .function_name("quota")
            .send()
            .await,
    );
    assert_eq!((code.as_str(), status), ("TooManyRequestsException", 429));
    // The control plane is spent; GetPolicy's own bucket is not.
    no_retries
        .get_policy()
        .function_name("quota")
        .send()
        .await
        .unwrap();
    let (code, status, _) = failure(no_retries.get_policy().function_name("quota").send().await);
    assert_eq!((code.as_str(), status), ("TooManyRequestsException", 429));
}
