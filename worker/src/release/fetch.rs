//! The pipeline's artifacts in S3, reached **only with the job's artifact
//! credentials** (never the worker's own): download of the input artifact,
//! streamed to a file in the job's workspace, and upload of the output
//! artifact (SSE-KMS with the job's `encryptionKey` when it has one).
//!
//! Credentials: the ones the job came with (through [`JobContext`]) until
//! they are older than `refresh_after` (default 10 minutes; they last about
//! 15) or S3 answers `ExpiredToken`; then fresh ones from `GetJobDetails`.
//! A download cut by expiry restarts with the fresh credentials. This module
//! knows no manifest and no Lambda.

use std::path::Path;
use std::time::Duration;

use aws_config::SdkConfig;
use aws_credential_types::Credentials;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::ServerSideEncryption;
use tokio::io::AsyncWriteExt;
use tokio::sync::Mutex;
use tokio::time::Instant;

use super::lambda::call_error;
use super::limiter::AwsCallError;
use crate::codepipeline::{self, CallError, JobContext};
use crate::engine::EngineError;
use crate::job::{Artifact, ArtifactCredentials};
use crate::report::FailureKind;

/// Attempts of one S3 transfer, each after refreshing expired credentials.
const TRANSFER_ATTEMPTS: usize = 3;

/// Write buffer of a download (the body arrives in small chunks).
const DOWNLOAD_BUFFER_BYTES: usize = 1024 * 1024;

/// Error codes meaning "these credentials are no longer valid".
fn expired(e: &AwsCallError) -> bool {
    matches!(
        e.code.as_deref(),
        Some("ExpiredToken" | "ExpiredTokenException" | "TokenRefreshRequired" | "InvalidToken")
    )
}

/// A job's artifact credentials, refreshed as the module doc says. One per
/// job (it lives in the job's workspace).
#[derive(Debug)]
pub struct JobCredentials {
    refresh_after: Duration,
    cached: Mutex<Option<(ArtifactCredentials, Instant)>>,
}

impl JobCredentials {
    pub fn new(refresh_after: Duration) -> Self {
        JobCredentials {
            refresh_after,
            cached: Mutex::new(None),
        }
    }

    /// Current credentials; `force` fetches fresh ones (after `ExpiredToken`).
    pub async fn get(
        &self,
        ctx: &JobContext,
        cp: &aws_sdk_codepipeline::Client,
        force: bool,
    ) -> Result<ArtifactCredentials, EngineError> {
        let mut c = self.cached.lock().await;
        match &*c {
            Some((cred, at)) if !force && at.elapsed() < self.refresh_after => {
                return Ok(cred.clone());
            }
            None if !force => {
                let cred = ctx.artifact_credentials().await?;
                *c = Some((cred.clone(), Instant::now()));
                return Ok(cred);
            }
            _ => {}
        }
        let fresh = job_details_credentials(cp, &ctx.input.job_id).await?;
        tracing::info!(access_key_id = %fresh.access_key_id, "artifact credentials refreshed with GetJobDetails");
        *c = Some((fresh.clone(), Instant::now()));
        Ok(fresh)
    }
}

/// GetJobDetails → the job's fresh artifact credentials (transient errors
/// retried for about 10 s). The answer is never logged.
async fn job_details_credentials(
    cp: &aws_sdk_codepipeline::Client,
    job_id: &str,
) -> Result<ArtifactCredentials, EngineError> {
    let mut delay = Duration::from_millis(100);
    let give_up = Instant::now() + Duration::from_secs(10);
    loop {
        match cp.get_job_details().job_id(job_id).send().await {
            Ok(out) => {
                let c = out
                    .job_details()
                    .and_then(|d| d.data())
                    .and_then(|d| d.artifact_credentials())
                    .ok_or_else(|| {
                        EngineError::new(
                            FailureKind::SystemUnavailable,
                            "GetJobDetails returned no artifact credentials",
                        )
                    })?;
                return Ok(ArtifactCredentials {
                    access_key_id: c.access_key_id().to_string(),
                    secret_access_key: c.secret_access_key().to_string(),
                    session_token: c.session_token().to_string(),
                });
            }
            Err(e) => match codepipeline::classify(&e) {
                CallError::Transient(m) if Instant::now() + delay < give_up => {
                    tracing::debug!(error = %m, "GetJobDetails failed; retrying");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(2));
                }
                other => {
                    return Err(EngineError::new(
                        FailureKind::from_aws_error(other.code(), None),
                        format!(
                            "GetJobDetails (refreshing the artifact credentials) failed: {other}"
                        ),
                    ));
                }
            },
        }
    }
}

/// An S3 client acting with the job's artifact credentials.
pub fn s3_client(
    sdk: &SdkConfig,
    creds: &ArtifactCredentials,
    path_style: bool,
) -> aws_sdk_s3::Client {
    let c = Credentials::new(
        creds.access_key_id.clone(),
        creds.secret_access_key.clone(),
        Some(creds.session_token.clone()),
        None,
        "codepipeline-job",
    );
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(sdk)
            .credentials_provider(c)
            .force_path_style(path_style)
            .build(),
    )
}

/// Everything an artifact transfer needs.
pub struct ArtifactStore<'a> {
    pub sdk: &'a SdkConfig,
    pub cp: &'a aws_sdk_codepipeline::Client,
    pub ctx: &'a JobContext,
    pub credentials: &'a JobCredentials,
    pub path_style: bool,
}

fn transfer_failure(what: &str, a: &Artifact, e: &AwsCallError) -> EngineError {
    let kind = match e.code.as_deref() {
        // The artifact the pipeline handed over is gone: nothing to release.
        Some("NoSuchKey" | "NoSuchBucket") => FailureKind::RevisionUnavailable,
        _ => e.failure_kind(),
    };
    EngineError::new(
        kind,
        format!(
            "{what} artifact `{}` (s3://{}/{}): {e}",
            a.name, a.bucket, a.key
        ),
    )
}

impl ArtifactStore<'_> {
    /// Runs `op` with current credentials; on `ExpiredToken` refreshes them
    /// and runs it again (at most [`TRANSFER_ATTEMPTS`] times).
    async fn with_credentials<T, F, Fut>(
        &self,
        mut op: F,
    ) -> Result<T, Result<AwsCallError, EngineError>>
    where
        F: FnMut(aws_sdk_s3::Client) -> Fut,
        Fut: std::future::Future<Output = Result<T, AwsCallError>>,
    {
        let mut force = false;
        let mut last = None;
        for _ in 0..TRANSFER_ATTEMPTS {
            let creds = self
                .credentials
                .get(self.ctx, self.cp, force)
                .await
                .map_err(Err)?;
            match op(s3_client(self.sdk, &creds, self.path_style)).await {
                Ok(v) => return Ok(v),
                Err(e) if expired(&e) => {
                    tracing::info!(error = %e, "artifact credentials expired; refreshing");
                    force = true;
                    last = Some(e);
                }
                Err(e) => return Err(Ok(e)),
            }
        }
        Err(Ok(last.expect("at least one attempt")))
    }

    /// Downloads `artifact` to `dest` (streamed; overwritten on a retry).
    /// Returns the bytes written.
    pub async fn download(&self, artifact: &Artifact, dest: &Path) -> Result<u64, EngineError> {
        let r = self
            .with_credentials(|s3| async move {
                let out = s3
                    .get_object()
                    .bucket(&artifact.bucket)
                    .key(&artifact.key)
                    .send()
                    .await
                    .map_err(|e| call_error("GetObject", &e))?;
                let local = |e: std::io::Error| AwsCallError {
                    operation: "GetObject",
                    code: Some("LocalWriteError".into()),
                    message: format!("writing {}: {e}", dest.display()),
                    status: None,
                    retry_after: None,
                };
                // Large writes: each one is a hop to tokio's blocking pool.
                let mut file = tokio::io::BufWriter::with_capacity(
                    DOWNLOAD_BUFFER_BYTES,
                    tokio::fs::File::create(dest).await.map_err(local)?,
                );
                let mut body = out.body;
                let mut n: u64 = 0;
                loop {
                    match body.try_next().await {
                        Ok(Some(chunk)) => {
                            n += chunk.len() as u64;
                            file.write_all(&chunk).await.map_err(local)?;
                        }
                        Ok(None) => break,
                        Err(e) => {
                            return Err(AwsCallError {
                                operation: "GetObject",
                                code: None,
                                message: format!("the download was cut: {e}"),
                                status: None,
                                retry_after: None,
                            });
                        }
                    }
                }
                file.flush().await.map_err(local)?;
                Ok(n)
            })
            .await;
        match r {
            Ok(n) => Ok(n),
            Err(Err(e)) => Err(e),
            Err(Ok(e)) if e.code.as_deref() == Some("LocalWriteError") => {
                Err(EngineError::new(FailureKind::SystemUnavailable, e.message))
            }
            Err(Ok(e)) => Err(transfer_failure("downloading the input", artifact, &e)),
        }
    }

    /// Uploads `body` as `artifact`, SSE-KMS with `kms_key_id` when given.
    pub async fn upload(
        &self,
        artifact: &Artifact,
        body: Vec<u8>,
        kms_key_id: Option<&str>,
    ) -> Result<(), EngineError> {
        let r = self
            .with_credentials(|s3| {
                let body = body.clone();
                async move {
                    let mut put = s3
                        .put_object()
                        .bucket(&artifact.bucket)
                        .key(&artifact.key)
                        .content_type("application/zip")
                        .body(ByteStream::from(body));
                    if let Some(k) = kms_key_id {
                        put = put
                            .server_side_encryption(ServerSideEncryption::AwsKms)
                            .ssekms_key_id(k);
                    }
                    put.send()
                        .await
                        .map(|_| ())
                        .map_err(|e| call_error("PutObject", &e))
                }
            })
            .await;
        match r {
            Ok(()) => Ok(()),
            Err(Err(e)) => Err(e),
            Err(Ok(e)) => Err(transfer_failure("uploading the output", artifact, &e)),
        }
    }
}

/// A zip holding one file `name` with `contents`, byte-for-byte the same for
/// the same input (fixed timestamp and permissions).
pub fn single_file_zip(name: &str, contents: &[u8]) -> std::io::Result<Vec<u8>> {
    use std::io::Write;
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .last_modified_time(zip::DateTime::default())
        .unix_permissions(0o644);
    w.start_file(name, opts).map_err(std::io::Error::other)?;
    w.write_all(contents)?;
    Ok(w.finish().map_err(std::io::Error::other)?.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_zip_is_deterministic_and_readable() {
        let a = single_file_zip("release.json", b"{\"a\":1}").unwrap();
        let b = single_file_zip("release.json", b"{\"a\":1}").unwrap();
        assert_eq!(a, b);
        let mut z = zip::ZipArchive::new(std::io::Cursor::new(a)).unwrap();
        let mut s = String::new();
        std::io::Read::read_to_string(&mut z.by_name("release.json").unwrap(), &mut s).unwrap();
        assert_eq!(s, "{\"a\":1}");
    }

    #[test]
    fn expiry_codes() {
        let e = |c: &str| AwsCallError {
            operation: "GetObject",
            code: Some(c.into()),
            message: String::new(),
            status: Some(400),
            retry_after: None,
        };
        assert!(expired(&e("ExpiredToken")));
        assert!(!expired(&e("AccessDenied")));
        assert_eq!(
            transfer_failure(
                "x",
                &Artifact {
                    name: "a".into(),
                    revision: None,
                    bucket: "b".into(),
                    key: "k".into()
                },
                &e("NoSuchKey")
            )
            .kind,
            FailureKind::RevisionUnavailable
        );
    }
}
