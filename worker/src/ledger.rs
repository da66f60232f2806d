//! The release ledger in S3, with the worker's own credentials (never a
//! job's): read a release's record with its ETag, write it with S3
//! conditional writes (`If-None-Match: *` to create, `If-Match: <ETag>` to
//! replace exactly the version read; 412 PreconditionFailed and 409
//! ConditionalRequestConflict both mean "someone wrote first: read again"),
//! list releases newest first from the index keys, and check at start-up
//! that the bucket exists and the worker may read and write under the
//! prefix. The layout and every decision are the core's
//! (`pipeline_canary_core::ledger`); this adapter only calls S3.
//!
//! Transient errors (throttling, 5xx, transport) are retried here with
//! backoff for a few seconds; then the caller decides (a shifting release
//! is handed back, never failed, for a ledger outage).

use std::time::Duration;

use aws_config::SdkConfig;
use aws_sdk_s3::Client;
use aws_sdk_s3::config::retry::RetryConfig;
use aws_sdk_s3::config::timeout::TimeoutConfig;
use aws_sdk_s3::primitives::ByteStream;
use backon::{BackoffBuilder, ExponentialBuilder};
use pipeline_canary_core::ledger;
pub use pipeline_canary_core::ledger::Location;
use pipeline_canary_core::release::record::ReleaseRecord;

use crate::aws_error::AwsError;

/// How a record write ended, when not written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteError {
    /// 412 PreconditionFailed or 409 ConditionalRequestConflict: another
    /// writer came first.
    Conflict,
    /// Anything else, after retries.
    Failed(AwsError),
}

/// The ledger: its location and an S3 client with the worker's credentials.
#[derive(Debug, Clone)]
pub struct Ledger {
    s3: Client,
    location: Location,
}

/// Backoff of ledger calls: 100 ms doubling to 2 s, jittered, 9 retries
/// (about 14 s in all).
fn backoff() -> impl Iterator<Item = Duration> {
    ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(100))
        .with_max_delay(Duration::from_secs(2))
        .with_factor(2.0)
        .with_jitter()
        .with_max_times(9)
        .build()
}

impl Ledger {
    /// The ledger at `location`, called as `sdk` says (SDK retries off: the
    /// retries are this module's).
    pub fn new(sdk: &SdkConfig, location: Location, path_style: bool) -> Ledger {
        let s3 = Client::from_conf(
            aws_sdk_s3::config::Builder::from(sdk)
                .force_path_style(path_style)
                .retry_config(RetryConfig::disabled())
                .timeout_config(
                    TimeoutConfig::builder()
                        .connect_timeout(Duration::from_secs(5))
                        .operation_attempt_timeout(Duration::from_secs(20))
                        .build(),
                )
                .build(),
        );
        Ledger { s3, location }
    }

    pub fn location(&self) -> &Location {
        &self.location
    }

    /// `s3://bucket/key` of `relative` (for messages).
    pub fn url(&self, relative: &str) -> String {
        format!(
            "s3://{}/{}",
            self.location.bucket,
            self.location.key(relative)
        )
    }

    /// Runs `call` until it succeeds, fails for good, or the backoff ends.
    async fn retrying<T, F, Fut>(&self, mut call: F) -> Result<T, AwsError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, AwsError>>,
    {
        let mut delays = backoff();
        loop {
            match call().await {
                Ok(v) => return Ok(v),
                Err(e) if e.is_transient() => match delays.next() {
                    Some(d) => {
                        tracing::debug!(error = %e, delay_ms = d.as_millis() as u64, "ledger call failed; retrying");
                        tokio::time::sleep(d).await;
                    }
                    None => return Err(e),
                },
                Err(e) => return Err(e),
            }
        }
    }

    /// The object at `relative` and its ETag; `None` when there is none.
    pub async fn read(&self, relative: &str) -> Result<Option<(Vec<u8>, String)>, AwsError> {
        let key = self.location.key(relative);
        self.retrying(|| async {
            match self
                .s3
                .get_object()
                .bucket(&self.location.bucket)
                .key(&key)
                .send()
                .await
            {
                Ok(out) => {
                    let etag = out.e_tag().unwrap_or_default().to_string();
                    let body = out.body.collect().await.map_err(|e| AwsError {
                        operation: "GetObject",
                        code: None,
                        message: format!("the record's body broke off ({e})"),
                        status: None,
                        retry_after: None,
                    })?;
                    Ok(Some((body.into_bytes().to_vec(), etag)))
                }
                Err(e) => {
                    let e = AwsError::from_sdk("GetObject", &e);
                    if e.is("NoSuchKey") || e.status == Some(404) {
                        Ok(None)
                    } else {
                        Err(e)
                    }
                }
            }
        })
        .await
    }

    /// Writes `body` at `relative`: created only if absent (`etag` `None`;
    /// then the empty `index` objects too), else replacing only the version
    /// `etag` names. Returns the new ETag.
    pub async fn write(
        &self,
        relative: &str,
        body: &str,
        etag: Option<&str>,
        index: &[String],
    ) -> Result<String, WriteError> {
        let key = self.location.key(relative);
        let r = self
            .retrying(|| async {
                let mut req = self
                    .s3
                    .put_object()
                    .bucket(&self.location.bucket)
                    .key(&key)
                    .content_type("application/json")
                    .body(ByteStream::from(body.as_bytes().to_vec()));
                req = match etag {
                    Some(e) => req.if_match(e),
                    None => req.if_none_match("*"),
                };
                req.send()
                    .await
                    .map(|o| o.e_tag().unwrap_or_default().to_string())
                    .map_err(|e| AwsError::from_sdk("PutObject", &e))
            })
            .await;
        let new_etag = match r {
            Ok(t) => t,
            Err(e) if conflict(&e) => {
                // An earlier attempt may have written this very body and
                // lost its answer: the record then holds exactly these
                // bytes (they name this run's lease and time), and the
                // write went through.
                match self.read(relative).await {
                    Ok(Some((stored, etag))) if stored == body.as_bytes() => {
                        tracing::info!(
                            "the release record already holds this write (its answer was lost)"
                        );
                        etag
                    }
                    _ => return Err(WriteError::Conflict),
                }
            }
            Err(e) => return Err(WriteError::Failed(e)),
        };
        for i in index {
            let key = self.location.key(i);
            let r = self
                .retrying(|| async {
                    self.s3
                        .put_object()
                        .bucket(&self.location.bucket)
                        .key(&key)
                        .if_none_match("*")
                        .body(ByteStream::from_static(b""))
                        .send()
                        .await
                        .map(|_| ())
                        .map_err(|e| AwsError::from_sdk("PutObject", &e))
                })
                .await;
            match r {
                Ok(()) => {}
                Err(e) if conflict(&e) => {}
                Err(e) => return Err(WriteError::Failed(e)),
            }
        }
        Ok(new_etag)
    }

    /// The record of `release_id`, parsed, with its ETag.
    pub async fn record(
        &self,
        release_id: &str,
    ) -> Result<Option<(ReleaseRecord, String)>, String> {
        let rel = ledger::record_key(release_id);
        match self.read(&rel).await {
            Ok(None) => Ok(None),
            Ok(Some((body, etag))) => ReleaseRecord::parse(&body, &self.url(&rel))
                .map(|r| Some((r, etag)))
                .map_err(|e| e.message),
            Err(e) => Err(format!(
                "the release ledger {} cannot be read: {e}",
                self.location
            )),
        }
    }

    /// Replaces the record of `r` (only the version `etag` names).
    pub async fn replace(&self, r: &ReleaseRecord, etag: &str) -> Result<String, WriteError> {
        self.write(
            &ledger::record_key(&r.release_id),
            &r.to_json(),
            Some(etag),
            &[],
        )
        .await
    }

    /// Release ids, newest first, of all pipelines or of `pipeline`; at
    /// most `limit`.
    pub async fn list(
        &self,
        pipeline: Option<&str>,
        limit: usize,
    ) -> Result<Vec<String>, AwsError> {
        let prefix = self.location.key(&ledger::index_prefix(pipeline));
        let mut ids = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let page = self
                .retrying(|| async {
                    self.s3
                        .list_objects_v2()
                        .bucket(&self.location.bucket)
                        .prefix(&prefix)
                        .max_keys(limit.clamp(1, 1000) as i32)
                        .set_continuation_token(token.clone())
                        .send()
                        .await
                        .map_err(|e| AwsError::from_sdk("ListObjectsV2", &e))
                })
                .await?;
            for o in page.contents() {
                let Some(rel) = o.key().and_then(|k| self.location.relative(k)) else {
                    continue;
                };
                if let Some((_, id)) = ledger::parse_index_key(rel) {
                    ids.push(id);
                    if ids.len() >= limit {
                        return Ok(ids);
                    }
                }
            }
            match page.next_continuation_token() {
                Some(t) if page.is_truncated() == Some(true) => token = Some(t.to_string()),
                _ => return Ok(ids),
            }
        }
    }

    /// Checks that the bucket exists and the worker may list, write and
    /// read under the prefix; the error names the bucket and what is
    /// missing.
    pub async fn probe(&self) -> Result<(), String> {
        let loc = &self.location;
        let bucket = &loc.bucket;
        // Transient errors (throttling, 5xx, a lost answer) are retried as
        // every ledger call is: a blip at start-up is no reason to exit.
        let listed = self
            .retrying(|| async {
                self.s3
                    .list_objects_v2()
                    .bucket(bucket)
                    .prefix(loc.key(""))
                    .max_keys(1)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| AwsError::from_sdk("ListObjectsV2", &e))
            })
            .await;
        if let Err(e) = listed {
            return Err(if e.is("NoSuchBucket") {
                format!(
                    "the ledger bucket {bucket} does not exist: create it (pipeline.yaml does, with versioning and encryption) or fix --ledger"
                )
            } else if e.failure_kind() == crate::report::FailureKind::PermissionError {
                format!(
                    "the worker may not list the ledger bucket {bucket} ({}): allow s3:ListBucket on arn:aws:s3:::{bucket} for the prefix `{}`",
                    e.cause(),
                    loc.prefix
                )
            } else {
                format!("the ledger {loc} cannot be reached: {e}")
            });
        }
        let probe = loc.key(".writable");
        let put = self
            .retrying(|| async {
                self.s3
                    .put_object()
                    .bucket(bucket)
                    .key(&probe)
                    .if_none_match("*")
                    .body(ByteStream::from_static(b""))
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| AwsError::from_sdk("PutObject", &e))
            })
            .await;
        if let Err(e) = put
            && !conflict(&e)
        {
            return Err(
                if e.failure_kind() == crate::report::FailureKind::PermissionError {
                    format!(
                        "the worker may not write to the ledger {loc} ({}): allow s3:PutObject on {}",
                        e.cause(),
                        loc.arn()
                    )
                } else {
                    format!("the ledger {loc} cannot be written: {e}")
                },
            );
        }
        let got = self
            .retrying(|| async {
                self.s3
                    .get_object()
                    .bucket(bucket)
                    .key(&probe)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| AwsError::from_sdk("GetObject", &e))
            })
            .await;
        if let Err(e) = got {
            return Err(
                if e.failure_kind() == crate::report::FailureKind::PermissionError {
                    format!(
                        "the worker may not read the ledger {loc} ({}): allow s3:GetObject on {}",
                        e.cause(),
                        loc.arn()
                    )
                } else {
                    format!("the ledger {loc} cannot be read: {e}")
                },
            );
        }
        Ok(())
    }
}

/// 412 PreconditionFailed / 409 ConditionalRequestConflict, or 404
/// NoSuchKey on a write conditional on an ETag (the object was deleted
/// meanwhile): someone else changed the record; read it again.
fn conflict(e: &AwsError) -> bool {
    e.status == Some(412)
        || e.status == Some(409)
        || e.is("PreconditionFailed")
        || e.is("ConditionalRequestConflict")
        || (e.operation == "PutObject" && e.is("NoSuchKey"))
}
