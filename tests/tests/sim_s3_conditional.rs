//! aws-sim's S3 conditional requests through the official Rust SDK: the
//! conditional writes a durable ledger relies on (PutObject with
//! `If-None-Match: *` = create only, `If-Match: <ETag>` = replace only that
//! object; 412 `PreconditionFailed` on mismatch, 409
//! `ConditionalRequestConflict` when another write lands while one is in
//! flight), the same conditions on CopyObject's destination and on
//! CompleteMultipartUpload, CopyObject's `x-amz-copy-source-if-*`
//! conditions, conditional deletes, and the date conditions of GetObject.
//!
//! Races are made deterministic, never timed: the losing request's body is
//! fed by the test through a channel, and the competing write runs only once
//! the sim reports the first write in flight (past its precondition check,
//! receiving its body); for CompleteMultipartUpload, whose body the SDK
//! sends at once, a raw request with `Expect: 100-continue` waits for the
//! sim's `100 Continue` (sent when the handler, past its check, reads the
//! body).

use std::time::Duration;

use aws_sdk_s3::Client;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::{ByteStream, DateTime};
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart, Delete, ObjectIdentifier};
use aws_smithy_types::body::SdkBody;
use bytes::Bytes;
use e2e::{SimConfig, SimHandle, s3_client, sdk_config, start_sim};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const BUCKET: &str = "ledger";

/// The AWS error code and HTTP status of a failed call.
fn code<E: ProvideErrorMetadata + std::fmt::Debug>(
    e: &SdkError<E, aws_smithy_runtime_api::client::orchestrator::HttpResponse>,
) -> (String, u16) {
    let status = e.raw_response().map(|r| r.status().as_u16()).unwrap_or(0);
    let code = e
        .code()
        .map(str::to_string)
        .unwrap_or_else(|| format!("{e:?}"));
    (code, status)
}

async fn setup() -> (SimHandle, Client) {
    let sim = start_sim(SimConfig::default()).await;
    let s3 = s3_client(&sdk_config(&sim.endpoint()));
    s3.create_bucket().bucket(BUCKET).send().await.unwrap();
    (sim, s3)
}

async fn put(s3: &Client, key: &str, data: &'static [u8]) -> String {
    s3.put_object()
        .bucket(BUCKET)
        .key(key)
        .body(ByteStream::from_static(data))
        .send()
        .await
        .unwrap()
        .e_tag()
        .unwrap()
        .to_string()
}

/// The object's bytes, `None` when the key is free.
async fn content(s3: &Client, key: &str) -> Option<Vec<u8>> {
    match s3.get_object().bucket(BUCKET).key(key).send().await {
        Ok(o) => Some(o.body.collect().await.unwrap().into_bytes().to_vec()),
        Err(e) if code(&e).1 == 404 => None,
        Err(e) => panic!("GetObject {key}: {e:?}"),
    }
}

#[tokio::test]
async fn put_object_creates_only_and_replaces_only_that_object() {
    let (_sim, s3) = setup().await;
    // Create only: the first write wins, the second changes nothing.
    let first = s3
        .put_object()
        .bucket(BUCKET)
        .key("release/r1.json")
        .if_none_match("*")
        .body(ByteStream::from_static(b"{\"state\":\"started\"}"))
        .send()
        .await
        .unwrap();
    let e1 = first.e_tag().unwrap().to_string();
    let e = s3
        .put_object()
        .bucket(BUCKET)
        .key("release/r1.json")
        .if_none_match("*")
        .body(ByteStream::from_static(b"{\"state\":\"other\"}"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), ("PreconditionFailed".into(), 412));
    assert_eq!(
        content(&s3, "release/r1.json").await.unwrap(),
        b"{\"state\":\"started\"}"
    );

    // Replace only that object: the ETag read is the ETag replaced.
    let second = s3
        .put_object()
        .bucket(BUCKET)
        .key("release/r1.json")
        .if_match(&e1)
        .body(ByteStream::from_static(b"{\"state\":\"shifting\"}"))
        .send()
        .await
        .unwrap();
    let e2 = second.e_tag().unwrap().to_string();
    assert_ne!(e1, e2);
    // A writer still holding the first ETag is refused.
    let e = s3
        .put_object()
        .bucket(BUCKET)
        .key("release/r1.json")
        .if_match(&e1)
        .body(ByteStream::from_static(b"{\"state\":\"stale\"}"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), ("PreconditionFailed".into(), 412));
    assert_eq!(
        content(&s3, "release/r1.json").await.unwrap(),
        b"{\"state\":\"shifting\"}"
    );
    // ETags are compared quoted or not.
    s3.put_object()
        .bucket(BUCKET)
        .key("release/r1.json")
        .if_match(e2.trim_matches('"'))
        .body(ByteStream::from_static(b"{\"state\":\"done\"}"))
        .send()
        .await
        .unwrap();

    // If-Match on a free key: there is no object to replace.
    let e = s3
        .put_object()
        .bucket(BUCKET)
        .key("release/r2.json")
        .if_match(&e2)
        .body(ByteStream::from_static(b"x"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), ("NoSuchKey".into(), 404));
    assert_eq!(content(&s3, "release/r2.json").await, None);

    // If-None-Match takes only '*'.
    let e = s3
        .put_object()
        .bucket(BUCKET)
        .key("release/r2.json")
        .if_none_match(&e2)
        .body(ByteStream::from_static(b"x"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), ("NotImplemented".into(), 501));
    assert_eq!(content(&s3, "release/r2.json").await, None);

    // Once deleted, the key can be created again.
    s3.delete_object()
        .bucket(BUCKET)
        .key("release/r1.json")
        .send()
        .await
        .unwrap();
    s3.put_object()
        .bucket(BUCKET)
        .key("release/r1.json")
        .if_none_match("*")
        .body(ByteStream::from_static(b"{\"state\":\"again\"}"))
        .send()
        .await
        .unwrap();
}

/// A PutObject whose body the test feeds: the first bytes go at once, the
/// rest when the returned sender is used. The SDK call runs in a task.
async fn paused_put(
    s3: &Client,
    key: &str,
    condition: impl FnOnce(
        aws_sdk_s3::operation::put_object::builders::PutObjectFluentBuilder,
    ) -> aws_sdk_s3::operation::put_object::builders::PutObjectFluentBuilder,
    head: &'static [u8],
    tail: &'static [u8],
) -> (
    http_body_util::channel::Sender<Bytes, std::convert::Infallible>,
    tokio::task::JoinHandle<Result<String, (String, u16)>>,
) {
    let (mut tx, body) = http_body_util::Channel::<Bytes, std::convert::Infallible>::new(4);
    tx.send_data(Bytes::from_static(head)).await.unwrap();
    // `Channel` panics when polled again after its end, which the SDK does
    // (for trailers); `with_trailers` ends it exactly once, with a trailers
    // future that may be polled any number of times.
    let no_trailers = std::future::poll_fn(|_| std::task::Poll::Ready(None));
    let body = http_body_util::BodyExt::with_trailers(body, no_trailers);
    let request = condition(
        s3.put_object()
            .bucket(BUCKET)
            .key(key)
            .content_length((head.len() + tail.len()) as i64)
            .body(ByteStream::new(SdkBody::from_body_1_x(body))),
    );
    let task = tokio::spawn(async move {
        request
            .send()
            .await
            .map(|o| o.e_tag().unwrap().to_string())
            .map_err(|e| code(&e))
    });
    (tx, task)
}

/// Waits (without a deadline of its own: the test harness's timeout bounds
/// it) until `n` writes are past their checks and receiving.
async fn wait_for_writes_in_flight(sim: &SimHandle, n: usize) {
    while sim.sim().s3.store().writes_in_flight() != n {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

#[tokio::test]
async fn of_two_conditional_writes_racing_the_later_one_gets_409() {
    let (sim, s3) = setup().await;

    // Replace-only race: both writers read E1; B commits first.
    let e1 = put(&s3, "state.json", b"v1").await;
    let etag = e1.clone();
    let (mut tx, a) = paused_put(
        &s3,
        "state.json",
        move |r| r.if_match(etag),
        b"written by ",
        b"A",
    )
    .await;
    wait_for_writes_in_flight(&sim, 1).await;
    s3.put_object()
        .bucket(BUCKET)
        .key("state.json")
        .if_match(&e1)
        .body(ByteStream::from_static(b"written by B"))
        .send()
        .await
        .unwrap();
    tx.send_data(Bytes::from_static(b"A")).await.unwrap();
    drop(tx);
    assert_eq!(
        a.await.unwrap().unwrap_err(),
        ("ConditionalRequestConflict".into(), 409)
    );
    assert_eq!(content(&s3, "state.json").await.unwrap(), b"written by B");

    // Create-only race on a free key.
    let (mut tx, a) = paused_put(&s3, "lock", |r| r.if_none_match("*"), b"held by ", b"A").await;
    wait_for_writes_in_flight(&sim, 1).await;
    s3.put_object()
        .bucket(BUCKET)
        .key("lock")
        .if_none_match("*")
        .body(ByteStream::from_static(b"held by B"))
        .send()
        .await
        .unwrap();
    tx.send_data(Bytes::from_static(b"A")).await.unwrap();
    drop(tx);
    assert_eq!(
        a.await.unwrap().unwrap_err(),
        ("ConditionalRequestConflict".into(), 409)
    );
    assert_eq!(content(&s3, "lock").await.unwrap(), b"held by B");
    // Retrying as the 409 advises: the key is taken now, a plain 412.
    let e = s3
        .put_object()
        .bucket(BUCKET)
        .key("lock")
        .if_none_match("*")
        .body(ByteStream::from_static(b"held by A"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), ("PreconditionFailed".into(), 412));

    // An unconditional write landing meanwhile makes the conditional one lose too.
    let e3 = put(&s3, "cfg", b"v1").await;
    let (mut tx, a) = paused_put(&s3, "cfg", move |r| r.if_match(e3), b"v2 ", b"A").await;
    wait_for_writes_in_flight(&sim, 1).await;
    put(&s3, "cfg", b"v2 B").await;
    tx.send_data(Bytes::from_static(b"A")).await.unwrap();
    drop(tx);
    assert_eq!(
        a.await.unwrap().unwrap_err(),
        ("ConditionalRequestConflict".into(), 409)
    );
    assert_eq!(content(&s3, "cfg").await.unwrap(), b"v2 B");

    // A replace-only write whose object is deleted meanwhile: the key is gone.
    let e4 = put(&s3, "gone", b"v1").await;
    let (mut tx, a) = paused_put(&s3, "gone", move |r| r.if_match(e4), b"v2 ", b"A").await;
    wait_for_writes_in_flight(&sim, 1).await;
    s3.delete_object()
        .bucket(BUCKET)
        .key("gone")
        .send()
        .await
        .unwrap();
    tx.send_data(Bytes::from_static(b"A")).await.unwrap();
    drop(tx);
    assert_eq!(a.await.unwrap().unwrap_err(), ("NoSuchKey".into(), 404));
    assert_eq!(content(&s3, "gone").await, None);

    // Without competition the paused writer commits.
    let e5 = put(&s3, "calm", b"v1").await;
    let (mut tx, a) = paused_put(&s3, "calm", move |r| r.if_match(e5), b"v2 ", b"A").await;
    wait_for_writes_in_flight(&sim, 1).await;
    tx.send_data(Bytes::from_static(b"A")).await.unwrap();
    drop(tx);
    a.await.unwrap().unwrap();
    assert_eq!(content(&s3, "calm").await.unwrap(), b"v2 A");
}

#[tokio::test]
async fn copy_object_checks_source_and_destination_conditions() {
    let (_sim, s3) = setup().await;
    let src_etag = put(&s3, "src", b"source bytes").await;
    let old_etag = put(&s3, "dst", b"old destination").await;
    let modified = s3
        .head_object()
        .bucket(BUCKET)
        .key("src")
        .send()
        .await
        .unwrap()
        .last_modified()
        .copied()
        .unwrap();
    let before = DateTime::from_secs(modified.secs() - 1);
    let copy = || {
        s3.copy_object()
            .bucket(BUCKET)
            .key("dst")
            .copy_source(format!("{BUCKET}/src"))
    };

    // Each failed condition: 412, destination unchanged.
    let failing = [
        (
            "x-amz-copy-source-if-match",
            copy().copy_source_if_match("\"0000\""),
        ),
        (
            "x-amz-copy-source-if-none-match",
            copy().copy_source_if_none_match(&src_etag),
        ),
        (
            "x-amz-copy-source-if-modified-since",
            copy().copy_source_if_modified_since(modified),
        ),
        (
            "x-amz-copy-source-if-unmodified-since",
            copy().copy_source_if_unmodified_since(before),
        ),
        ("If-None-Match", copy().if_none_match("*")),
        ("If-Match", copy().if_match(&src_etag)),
    ];
    for (condition, request) in failing {
        let e = request.send().await.unwrap_err();
        assert_eq!(
            code(&e),
            ("PreconditionFailed".into(), 412),
            "{condition}: {e:?}"
        );
        assert_eq!(
            content(&s3, "dst").await.unwrap(),
            b"old destination",
            "{condition}"
        );
    }

    // A true If-Match makes a false If-Unmodified-Since irrelevant (the model).
    copy()
        .copy_source_if_match(&src_etag)
        .copy_source_if_unmodified_since(before)
        .if_match(&old_etag)
        .send()
        .await
        .unwrap();
    assert_eq!(content(&s3, "dst").await.unwrap(), b"source bytes");
    // The other conditions, when they hold.
    copy()
        .copy_source_if_none_match("\"0000\"")
        .copy_source_if_modified_since(before)
        .send()
        .await
        .unwrap();
    copy()
        .copy_source_if_unmodified_since(modified)
        .send()
        .await
        .unwrap();

    // The destination's create-only and replace-only forms.
    s3.copy_object()
        .bucket(BUCKET)
        .key("fresh")
        .copy_source(format!("{BUCKET}/src"))
        .if_none_match("*")
        .send()
        .await
        .unwrap();
    assert_eq!(content(&s3, "fresh").await.unwrap(), b"source bytes");
    let e = s3
        .copy_object()
        .bucket(BUCKET)
        .key("absent")
        .copy_source(format!("{BUCKET}/src"))
        .if_match(&src_etag)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), ("NoSuchKey".into(), 404));
    assert_eq!(content(&s3, "absent").await, None);

    // UploadPartCopy checks its source's conditions too.
    let up = s3
        .create_multipart_upload()
        .bucket(BUCKET)
        .key("assembled")
        .send()
        .await
        .unwrap();
    let e = s3
        .upload_part_copy()
        .bucket(BUCKET)
        .key("assembled")
        .upload_id(up.upload_id().unwrap())
        .part_number(1)
        .copy_source(format!("{BUCKET}/src"))
        .copy_source_if_match("\"0000\"")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), ("PreconditionFailed".into(), 412));
}

/// A one-part multipart upload of `data` to `key`; returns its id and parts.
async fn upload(s3: &Client, key: &str, data: &'static [u8]) -> (String, CompletedMultipartUpload) {
    let id = s3
        .create_multipart_upload()
        .bucket(BUCKET)
        .key(key)
        .send()
        .await
        .unwrap()
        .upload_id()
        .unwrap()
        .to_string();
    let part = s3
        .upload_part()
        .bucket(BUCKET)
        .key(key)
        .upload_id(&id)
        .part_number(1)
        .body(ByteStream::from_static(data))
        .send()
        .await
        .unwrap();
    let parts = CompletedMultipartUpload::builder()
        .parts(
            CompletedPart::builder()
                .part_number(1)
                .e_tag(part.e_tag().unwrap())
                .build(),
        )
        .build();
    (id, parts)
}

async fn upload_ids(s3: &Client) -> Vec<String> {
    s3.list_multipart_uploads()
        .bucket(BUCKET)
        .send()
        .await
        .unwrap()
        .uploads()
        .iter()
        .map(|u| u.upload_id().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn complete_multipart_upload_checks_conditional_writes() {
    let (sim, s3) = setup().await;
    let existing = put(&s3, "artifact.zip", b"existing object").await;
    let (id, parts) = upload(&s3, "artifact.zip", b"uploaded in parts").await;
    let complete = || {
        s3.complete_multipart_upload()
            .bucket(BUCKET)
            .key("artifact.zip")
            .upload_id(&id)
            .multipart_upload(parts.clone())
    };
    let e = complete().if_none_match("*").send().await.unwrap_err();
    assert_eq!(code(&e), ("PreconditionFailed".into(), 412));
    let e = complete().if_match("\"0000\"").send().await.unwrap_err();
    assert_eq!(code(&e), ("PreconditionFailed".into(), 412));
    assert_eq!(
        content(&s3, "artifact.zip").await.unwrap(),
        b"existing object"
    );
    // A 412 leaves the upload as it was: it can still complete.
    assert_eq!(upload_ids(&s3).await, vec![id.clone()]);
    complete().if_match(&existing).send().await.unwrap();
    assert_eq!(
        content(&s3, "artifact.zip").await.unwrap(),
        b"uploaded in parts"
    );

    // Create only, on a free key; If-Match on a free key is NoSuchKey.
    let (id2, parts2) = upload(&s3, "new.zip", b"brand new").await;
    let e = s3
        .complete_multipart_upload()
        .bucket(BUCKET)
        .key("new.zip")
        .upload_id(&id2)
        .multipart_upload(parts2.clone())
        .if_match(&existing)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), ("NoSuchKey".into(), 404));
    s3.complete_multipart_upload()
        .bucket(BUCKET)
        .key("new.zip")
        .upload_id(&id2)
        .multipart_upload(parts2)
        .if_none_match("*")
        .send()
        .await
        .unwrap();
    assert_eq!(content(&s3, "new.zip").await.unwrap(), b"brand new");

    // A write landing while CompleteMultipartUpload runs: 409, the upload is
    // gone (the model: re-initiate it), the other write stands.
    let (id3, parts3) = upload(&s3, "race.zip", b"from the upload").await;
    let body = format!(
        "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>{}</ETag></Part></CompleteMultipartUpload>",
        parts3.parts()[0].e_tag().unwrap()
    );
    let mut conn = tokio::net::TcpStream::connect(sim.addr()).await.unwrap();
    let head = format!(
        "POST /{BUCKET}/race.zip?uploadId={id3} HTTP/1.1\r\nHost: {}\r\nx-amz-date: 20260101T000000Z\r\n\
         authorization: AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20260101/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-date, Signature=0000000000000000000000000000000000000000000000000000000000000000\r\n\
         x-amz-content-sha256: UNSIGNED-PAYLOAD\r\nif-none-match: *\r\nexpect: 100-continue\r\n\
         content-type: application/xml\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        sim.addr(),
        body.len()
    );
    conn.write_all(head.as_bytes()).await.unwrap();
    let mut interim = [0u8; 25];
    conn.read_exact(&mut interim).await.unwrap();
    assert_eq!(&interim, b"HTTP/1.1 100 Continue\r\n\r\n");
    put(&s3, "race.zip", b"from a PutObject").await;
    conn.write_all(body.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    conn.read_to_end(&mut answer).await.unwrap();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 409"), "{answer}");
    assert!(
        answer.contains("<Code>ConditionalRequestConflict</Code>"),
        "{answer}"
    );
    assert_eq!(content(&s3, "race.zip").await.unwrap(), b"from a PutObject");
    assert!(!upload_ids(&s3).await.contains(&id3));
}

#[tokio::test]
async fn conditional_deletes_and_dated_reads() {
    let (_sim, s3) = setup().await;
    let etag = put(&s3, "k", b"keep me").await;
    let e = s3
        .delete_object()
        .bucket(BUCKET)
        .key("k")
        .if_match("\"0000\"")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), ("PreconditionFailed".into(), 412));
    assert_eq!(content(&s3, "k").await.unwrap(), b"keep me");
    let e = s3
        .delete_object()
        .bucket(BUCKET)
        .key("absent")
        .if_match("*")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), ("NoSuchKey".into(), 404));
    // Directory-bucket conditions are not for general purpose buckets.
    let e = s3
        .delete_object()
        .bucket(BUCKET)
        .key("k")
        .if_match_size(7)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), ("NotImplemented".into(), 501));
    s3.delete_object()
        .bucket(BUCKET)
        .key("k")
        .if_match(&etag)
        .send()
        .await
        .unwrap();
    assert_eq!(content(&s3, "k").await, None);

    // DeleteObjects: a per-object ETag condition, reported per key.
    let a = put(&s3, "a", b"a").await;
    put(&s3, "b", b"b").await;
    let out = s3
        .delete_objects()
        .bucket(BUCKET)
        .delete(
            Delete::builder()
                .objects(
                    ObjectIdentifier::builder()
                        .key("a")
                        .e_tag(&a)
                        .build()
                        .unwrap(),
                )
                .objects(
                    ObjectIdentifier::builder()
                        .key("b")
                        .e_tag("\"0000\"")
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let deleted: Vec<&str> = out.deleted().iter().filter_map(|d| d.key()).collect();
    assert_eq!(deleted, ["a"]);
    let errors: Vec<(&str, &str)> = out
        .errors()
        .iter()
        .map(|e| (e.key().unwrap(), e.code().unwrap()))
        .collect();
    assert_eq!(errors, [("b", "PreconditionFailed")]);
    assert_eq!(content(&s3, "b").await.unwrap(), b"b");

    // GetObject/HeadObject: If-Modified-Since → 304, If-Unmodified-Since → 412.
    let modified = s3
        .head_object()
        .bucket(BUCKET)
        .key("b")
        .send()
        .await
        .unwrap()
        .last_modified()
        .copied()
        .unwrap();
    let before = DateTime::from_secs(modified.secs() - 1);
    let e = s3
        .get_object()
        .bucket(BUCKET)
        .key("b")
        .if_modified_since(modified)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e).1, 304);
    let e = s3
        .head_object()
        .bucket(BUCKET)
        .key("b")
        .if_unmodified_since(before)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e).1, 412);
    s3.get_object()
        .bucket(BUCKET)
        .key("b")
        .if_modified_since(before)
        .if_unmodified_since(modified)
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn list_multipart_uploads_names_initiator_and_owner_and_pages() {
    let (_sim, s3) = setup().await;
    let mut ids = Vec::new();
    for key in ["a/1", "a/2", "b", "c"] {
        let up = s3
            .create_multipart_upload()
            .bucket(BUCKET)
            .key(key)
            .checksum_algorithm(aws_sdk_s3::types::ChecksumAlgorithm::Crc32)
            .send()
            .await
            .unwrap();
        ids.push(up.upload_id().unwrap().to_string());
    }
    let all = s3
        .list_multipart_uploads()
        .bucket(BUCKET)
        .send()
        .await
        .unwrap();
    assert_eq!(all.uploads().len(), 4);
    for u in all.uploads() {
        assert!(u.initiator().and_then(|i| i.id()).is_some(), "{u:?}");
        assert!(u.owner().and_then(|o| o.id()).is_some(), "{u:?}");
        assert!(u.initiated().is_some());
        assert_eq!(
            u.checksum_algorithm(),
            Some(&aws_sdk_s3::types::ChecksumAlgorithm::Crc32)
        );
    }
    // Pages of two, resumed from the markers.
    let page = s3
        .list_multipart_uploads()
        .bucket(BUCKET)
        .max_uploads(2)
        .send()
        .await
        .unwrap();
    assert_eq!(page.is_truncated(), Some(true));
    let keys: Vec<&str> = page.uploads().iter().filter_map(|u| u.key()).collect();
    assert_eq!(keys, ["a/1", "a/2"]);
    let rest = s3
        .list_multipart_uploads()
        .bucket(BUCKET)
        .key_marker(page.next_key_marker().unwrap())
        .upload_id_marker(page.next_upload_id_marker().unwrap())
        .send()
        .await
        .unwrap();
    let keys: Vec<&str> = rest.uploads().iter().filter_map(|u| u.key()).collect();
    assert_eq!(keys, ["b", "c"]);
    assert_eq!(rest.is_truncated(), Some(false));
    // A delimiter folds keys into common prefixes.
    let folded = s3
        .list_multipart_uploads()
        .bucket(BUCKET)
        .delimiter("/")
        .send()
        .await
        .unwrap();
    let prefixes: Vec<&str> = folded
        .common_prefixes()
        .iter()
        .filter_map(|p| p.prefix())
        .collect();
    assert_eq!(prefixes, ["a/"]);
    assert_eq!(folded.uploads().len(), 2);
    let e = s3
        .list_multipart_uploads()
        .bucket(BUCKET)
        .max_uploads(-1)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), ("InvalidArgument".into(), 400));
}

#[tokio::test]
async fn conditional_writes_on_an_etag_need_read_permission_too() {
    let (sim, admin) = setup().await;
    let etag = put(&admin, "ledger.json", b"v1").await;
    // A key whose policy lets it write and delete, not read.
    const KEY: &str = "AKIAWRITEONLYEXAMPLE";
    let writer = s3_client(&e2e::sdk_config_with(
        &sim.endpoint(),
        aws_credential_types::Credentials::new(KEY, "secret", None, None, "test"),
        e2e::REGION,
    ));
    let allow = |actions: &[&str]| {
        serde_json::json!({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Action": actions, "Resource": format!("arn:aws:s3:::{BUCKET}/*")}]})
    };
    sim.sim()
        .iam
        .put_policy(KEY, &allow(&["s3:PutObject", "s3:DeleteObject"]))
        .unwrap();
    // Create-only writes and `If-Match: *` deletes need no read.
    writer
        .put_object()
        .bucket(BUCKET)
        .key("new.json")
        .if_none_match("*")
        .body(ByteStream::from_static(b"x"))
        .send()
        .await
        .unwrap();
    writer
        .delete_object()
        .bucket(BUCKET)
        .key("new.json")
        .if_match("*")
        .send()
        .await
        .unwrap();
    // Writes and deletes conditional on an ETag read it: s3:GetObject too.
    let e = writer
        .put_object()
        .bucket(BUCKET)
        .key("ledger.json")
        .if_match(&etag)
        .body(ByteStream::from_static(b"v2"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), ("AccessDenied".into(), 403));
    assert!(
        e.message().unwrap_or_default().contains("s3:GetObject"),
        "{e:?}"
    );
    let e = writer
        .delete_object()
        .bucket(BUCKET)
        .key("ledger.json")
        .if_match(&etag)
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e), ("AccessDenied".into(), 403));
    assert_eq!(content(&admin, "ledger.json").await.unwrap(), b"v1");
    sim.sim()
        .iam
        .put_policy(
            KEY,
            &allow(&["s3:PutObject", "s3:DeleteObject", "s3:GetObject"]),
        )
        .unwrap();
    writer
        .put_object()
        .bucket(BUCKET)
        .key("ledger.json")
        .if_match(&etag)
        .body(ByteStream::from_static(b"v2"))
        .send()
        .await
        .unwrap();
    assert_eq!(content(&admin, "ledger.json").await.unwrap(), b"v2");
}
