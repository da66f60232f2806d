//! The pipeline's artifacts in S3, reached **only with the job's artifact
//! credentials** (never the worker's own): download of the input artifact,
//! streamed to a file in the job's workspace, and upload of the output
//! artifact (SSE-KMS with the job's `encryptionKey` when it has one).
//!
//! Credentials: the job's, through [`JobContext::artifact_credentials`]
//! (the one cache of them: the ones the job came with until they are older
//! than the refresh age or S3 answers `ExpiredToken`; then fresh ones from
//! `GetJobDetails`).
//! A request refused for expiry is sent again with the fresh credentials,
//! resuming at the first byte not yet received.
//!
//! The input artifact is fetched by [`ArtifactStore::download_while`] so that
//! unpacking overlaps the download: a suffix-range GET of its last 256 KiB
//! (the whole artifact when smaller; else the object's length, its end
//! records and normally its central directory), a ranged GET of the rest of
//! the directory only when it starts before that tail, then a ranged GET of
//! the body `[0, tail)`, written into the sparse `input.zip` in order while
//! a [`GrowingFile`] over it is read on a blocking thread (reads wait for
//! their bytes). Every request after the first carries `If-Match` with the
//! first answer's ETag, so all pieces come from one version of the object.
//! This module knows no manifest and no Lambda, and nothing of zip beyond
//! asking [`artifact::directory_start`] where the directory begins.

use std::io;
use std::path::Path;
use std::sync::Arc;

use aws_config::SdkConfig;
use aws_credential_types::Credentials;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::ServerSideEncryption;

use super::lambda::call_error;
use super::limiter::AwsError;
use crate::artifact::{self, FillProgress, Filling, GrowingFile};
use crate::codepipeline::JobContext;
use crate::engine::EngineError;
use crate::job::{Artifact, ArtifactCredentials};
use crate::report::FailureKind;

/// Attempts of one S3 transfer, each after refreshing expired credentials.
const TRANSFER_ATTEMPTS: usize = 3;

/// Write buffer of a download (the body arrives in small chunks).
const DOWNLOAD_BUFFER_BYTES: usize = 1024 * 1024;

/// The first GET of an input artifact asks for this many bytes from its
/// end: all of an artifact up to this size, else its end records (the
/// end-record scan needs the last 64 KiB + 22 bytes) and, for up to a few
/// thousand entries, its central directory.
const TAIL_BYTES: u64 = 256 * 1024;

/// Error codes meaning "these credentials are no longer valid".
fn expired(e: &AwsError) -> bool {
    matches!(
        e.code.as_deref(),
        Some("ExpiredToken" | "ExpiredTokenException" | "TokenRefreshRequired" | "InvalidToken")
    )
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
    // Reads and the output upload are idempotent: the SDK's own retries
    // serve, with more attempts than its default 3 (a throttled or
    // unavailable S3 before the shift would fail the whole release).
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(sdk)
            .credentials_provider(c)
            .force_path_style(path_style)
            .retry_config(
                aws_sdk_s3::config::retry::RetryConfig::standard()
                    .with_max_attempts(ARTIFACT_ATTEMPTS),
            )
            .build(),
    )
}

/// Attempts of one artifact request (throttling, 5xx, transport errors).
const ARTIFACT_ATTEMPTS: u32 = 10;

/// Everything an artifact transfer needs.
pub struct ArtifactStore<'a> {
    pub sdk: &'a SdkConfig,
    /// The job: its artifact credentials, refreshed through GetJobDetails.
    pub ctx: &'a JobContext,
    pub path_style: bool,
}

fn transfer_failure(what: &str, a: &Artifact, e: &AwsError) -> EngineError {
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
    ) -> Result<T, Result<AwsError, EngineError>>
    where
        F: FnMut(aws_sdk_s3::Client) -> Fut,
        Fut: std::future::Future<Output = Result<T, AwsError>>,
    {
        let mut force = false;
        let mut last = None;
        for _ in 0..TRANSFER_ATTEMPTS {
            let creds = self.ctx.artifact_credentials(force).await.map_err(Err)?;
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

    /// Downloads `artifact` to `dest` with one plain GET (streamed). Returns
    /// the bytes written.
    pub async fn download(&self, artifact: &Artifact, dest: &Path) -> Result<u64, EngineError> {
        let file = create(dest).await?;
        let sink = tokio::sync::Mutex::new(Sink::new(file, 0, None));
        self.get_into(artifact, None, &sink, None, dest)
            .await
            .map_err(|e| download_failure(artifact, e))?;
        Ok(sink.into_inner().next)
    }

    /// Downloads `artifact` to `dest` while `read` reads it on a blocking
    /// thread through a [`GrowingFile`] (reads wait for bytes still on
    /// their way): the end of the zip (end records, central directory)
    /// first, then the body from offset 0, so `read` unpacks entries as
    /// they arrive. Requests, all with the job's credentials and pinned to
    /// the first answer's ETag (`If-Match`):
    /// 1. `Range: bytes=-`[`TAIL_BYTES`]: the whole artifact when it is no
    ///    bigger; else its tail, and the object's length (`Content-Range`);
    /// 2. only when the central directory starts before that tail:
    ///    `bytes=<directory start>-<tail start − 1>`;
    /// 3. `bytes=0-<tail start − 1>`, while `read` runs.
    ///
    /// An empty object (416 to a suffix range) is fetched with one plain
    /// GET. A request refused with `ExpiredToken` is sent again with fresh
    /// credentials from where the bytes stopped. A download failure wins
    /// over the error `read` then returns (it could only be a read error);
    /// when `read` ends first, the download stops. Returns the artifact's
    /// length and what `read` returned.
    pub async fn download_while<T, F>(
        &self,
        artifact: &Artifact,
        dest: &Path,
        read: F,
    ) -> Result<(u64, T), EngineError>
    where
        T: Send + 'static,
        F: FnOnce(GrowingFile) -> Result<T, EngineError> + Send + 'static,
    {
        let failure = |e| download_failure(artifact, e);
        let first = self
            .with_credentials(|s3| async move {
                match s3
                    .get_object()
                    .bucket(&artifact.bucket)
                    .key(&artifact.key)
                    .range(format!("bytes=-{TAIL_BYTES}"))
                    .send()
                    .await
                {
                    Ok(out) => Ok(Some(out)),
                    Err(e) => {
                        let e = call_error("GetObject", &e);
                        // Only an empty object has no suffix to give.
                        if e.code.as_deref() == Some("InvalidRange") {
                            Ok(None)
                        } else {
                            Err(e)
                        }
                    }
                }
            })
            .await
            .map_err(failure)?;
        let file = create(dest).await?;
        let local = |e| local_failure(dest, e);
        let (len, mut tail_start, etag) = match first {
            None => {
                let sink = tokio::sync::Mutex::new(Sink::new(file.clone(), 0, None));
                self.get_into(artifact, None, &sink, None, dest)
                    .await
                    .map_err(failure)?;
                (sink.into_inner().next, 0, None)
            }
            Some(out) => {
                let etag = out.e_tag().map(str::to_string);
                let (mut sink, expect) = match out.content_range() {
                    Some(range) => {
                        let (start, len) = parse_content_range(range)
                            .filter(|&(s, e, l)| s <= e && e + 1 == l)
                            .map(|(s, _, l)| (s, l))
                            .ok_or_else(|| {
                                failure(Ok(get_error(format!(
                                    "unexpected Content-Range `{range}` for the last {TAIL_BYTES} bytes"
                                ))))
                            })?;
                        let sized = file.clone();
                        tokio::task::spawn_blocking(move || sized.set_len(len))
                            .await
                            .map_err(|e| local(io::Error::other(e)))?
                            .map_err(local)?;
                        (Sink::new(file.clone(), start, None), Some(len - start))
                    }
                    // The range was ignored: this is the whole object.
                    None => (
                        Sink::new(file.clone(), 0, None),
                        out.content_length().and_then(|n| u64::try_from(n).ok()),
                    ),
                };
                let start = sink.next;
                stream_body(out.body, &mut sink, expect, dest)
                    .await
                    .map_err(|e| failure(Ok(e)))?;
                (sink.next, start, etag)
            }
        };
        tracing::debug!(len, tail_start, "input artifact: tail in place");

        // The central directory (or a ZIP64 record) before the tail.
        for _ in 0..3 {
            if tail_start == 0 {
                break;
            }
            let path = dest.to_path_buf();
            let need = tokio::task::spawn_blocking(move || {
                artifact::directory_start(&path, len, tail_start)
            })
            .await
            .map_err(|e| local(io::Error::other(e)))?
            .map_err(local)?;
            let Some(need) = need else { break };
            let sink = tokio::sync::Mutex::new(Sink::new(file.clone(), need, None));
            self.get_into(
                artifact,
                etag.as_deref(),
                &sink,
                Some(Span {
                    len,
                    end: tail_start,
                }),
                dest,
            )
            .await
            .map_err(failure)?;
            tracing::debug!(
                from = need,
                to = tail_start,
                "input artifact: central directory fetched"
            );
            tail_start = need;
        }

        let filling = Filling::new(len, tail_start);
        let reader = filling.reader(dest).map_err(local)?;
        let consumer = tokio::task::spawn_blocking(move || read(reader));
        let joined = |r: Result<Result<T, EngineError>, tokio::task::JoinError>| {
            r.map_err(|e| {
                EngineError::new(
                    FailureKind::JobFailed,
                    format!("internal error reading the input artifact: {e}"),
                )
            })?
        };
        if tail_start == 0 {
            filling.finished();
            return Ok((len, joined(consumer.await)?));
        }
        let sink = tokio::sync::Mutex::new(Sink::new(file, 0, Some(filling.progress())));
        let body = self.get_into(
            artifact,
            etag.as_deref(),
            &sink,
            Some(Span {
                len,
                end: tail_start,
            }),
            dest,
        );
        tokio::pin!(body, consumer);
        tokio::select! {
            biased;
            done = &mut body => match done {
                Ok(()) => {
                    filling.finished();
                    Ok((len, joined(consumer.await)?))
                }
                Err(e) => {
                    let e = failure(e);
                    filling.failed(&e.message);
                    // Its reads fail now; it is done with the workspace
                    // before the caller removes it.
                    let _ = consumer.await;
                    Err(e)
                }
            },
            // Everything it needed arrived (or the artifact is refused):
            // the rest of the download is of no use.
            read = &mut consumer => {
                tracing::debug!(prefix = filling.prefix(), len, "input artifact read before its download ended");
                Ok((len, joined(read)?))
            }
        }
    }

    /// One GET of `artifact` into `sink` from `sink.next` on: the whole
    /// object (`range` None), or up to `end` (exclusive) of an object of
    /// `len` bytes. Refused with `ExpiredToken`, it is sent again with
    /// fresh credentials and resumes at `sink.next`.
    async fn get_into(
        &self,
        artifact: &Artifact,
        etag: Option<&str>,
        sink: &tokio::sync::Mutex<Sink>,
        range: Option<Span>,
        dest: &Path,
    ) -> Result<(), Result<AwsError, EngineError>> {
        self.with_credentials(|s3| async move {
            let mut sink = sink.lock().await;
            let from = sink.next;
            let mut get = s3.get_object().bucket(&artifact.bucket).key(&artifact.key);
            if let Some(Span { end, .. }) = range {
                if from >= end {
                    return Ok(());
                }
                get = get.range(format!("bytes={from}-{}", end - 1));
            }
            if let Some(etag) = etag {
                get = get.if_match(etag);
            }
            let out = get.send().await.map_err(|e| call_error("GetObject", &e))?;
            let expect = match range {
                Some(Span { len, end }) => {
                    let got = out.content_range().and_then(parse_content_range);
                    if got != Some((from, end - 1, len)) {
                        return Err(get_error(format!(
                            "asked for bytes {from}-{} of {len}, got Content-Range {:?}",
                            end - 1,
                            out.content_range()
                        )));
                    }
                    Some(end - from)
                }
                None => out.content_length().and_then(|n| u64::try_from(n).ok()),
            };
            stream_body(out.body, &mut sink, expect, dest).await
        })
        .await
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

/// Where a ranged GET stops: `end` (exclusive) of an object of `len` bytes.
#[derive(Debug, Clone, Copy)]
struct Span {
    len: u64,
    end: u64,
}

/// `bytes <first>-<last>/<length>` → `(first, last, length)`.
fn parse_content_range(v: &str) -> Option<(u64, u64, u64)> {
    let (range, len) = v.trim().strip_prefix("bytes ")?.split_once('/')?;
    let (first, last) = range.split_once('-')?;
    Some((
        first.trim().parse().ok()?,
        last.trim().parse().ok()?,
        len.trim().parse().ok()?,
    ))
}

/// A GetObject that went wrong on the way (no AWS error code).
fn get_error(message: String) -> AwsError {
    AwsError {
        operation: "GetObject",
        code: None,
        message,
        status: None,
        retry_after: None,
    }
}

/// A failure writing the download to `dest` (the worker's, not the artifact's).
fn local_failure(dest: &Path, e: io::Error) -> EngineError {
    EngineError::new(
        FailureKind::SystemUnavailable,
        format!("writing {}: {e}", dest.display()),
    )
}

/// The job failure for a failed download of `artifact`.
fn download_failure(artifact: &Artifact, e: Result<AwsError, EngineError>) -> EngineError {
    match e {
        Err(e) => e,
        Ok(e) if e.code.as_deref() == Some(LOCAL_WRITE_ERROR) => {
            EngineError::new(FailureKind::SystemUnavailable, e.message)
        }
        Ok(e) => transfer_failure("downloading the input", artifact, &e),
    }
}

/// Marks an [`AwsError`] that is really a local write failure.
const LOCAL_WRITE_ERROR: &str = "LocalWriteError";

/// Creates (or truncates) `dest` for writing at any offset.
async fn create(dest: &Path) -> Result<Arc<std::fs::File>, EngineError> {
    let file = tokio::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(dest)
        .await
        .map_err(|e| local_failure(dest, e))?;
    Ok(Arc::new(file.into_std().await))
}

/// Streams `body` into `sink`; with `expect`, exactly that many bytes must
/// arrive.
async fn stream_body(
    mut body: ByteStream,
    sink: &mut Sink,
    expect: Option<u64>,
    dest: &Path,
) -> Result<(), AwsError> {
    let local = |e: io::Error| AwsError {
        operation: "GetObject",
        code: Some(LOCAL_WRITE_ERROR.into()),
        message: format!("writing {}: {e}", dest.display()),
        status: None,
        retry_after: None,
    };
    let start = sink.next;
    loop {
        match body.try_next().await {
            Ok(Some(chunk)) => sink.push(&chunk).await.map_err(local)?,
            Ok(None) => break,
            Err(e) => return Err(get_error(format!("the download was cut: {e}"))),
        }
    }
    sink.flush().await.map_err(local)?;
    let got = sink.next - start;
    match expect {
        Some(n) if n != got => Err(get_error(format!(
            "the download was cut: {got} of {n} bytes arrived"
        ))),
        _ => Ok(()),
    }
}

/// Where GetObject bodies go: `file` from offset `next` on, in
/// [`DOWNLOAD_BUFFER_BYTES`] pieces written on the blocking pool (one in
/// flight while the next fills), each reported to `progress` once written
/// (bodies that fill a file from 0 upwards).
struct Sink {
    file: Arc<std::fs::File>,
    /// Offset of the next byte to arrive (`buf` ends there).
    next: u64,
    buf: Vec<u8>,
    spare: Vec<u8>,
    in_flight: Option<tokio::task::JoinHandle<io::Result<Vec<u8>>>>,
    progress: Option<FillProgress>,
}

impl Sink {
    fn new(file: Arc<std::fs::File>, at: u64, progress: Option<FillProgress>) -> Self {
        Sink {
            file,
            next: at,
            buf: Vec::new(),
            spare: Vec::new(),
            in_flight: None,
            progress,
        }
    }

    async fn push(&mut self, mut chunk: &[u8]) -> io::Result<()> {
        while !chunk.is_empty() {
            if self.buf.capacity() == 0 {
                self.buf.reserve_exact(DOWNLOAD_BUFFER_BYTES);
            }
            let take = (DOWNLOAD_BUFFER_BYTES - self.buf.len()).min(chunk.len());
            self.buf.extend_from_slice(&chunk[..take]);
            self.next += take as u64;
            chunk = &chunk[take..];
            if self.buf.len() >= DOWNLOAD_BUFFER_BYTES {
                self.spill().await?;
            }
        }
        Ok(())
    }

    /// Hands the buffer to a blocking write (after the previous one ended).
    async fn spill(&mut self) -> io::Result<()> {
        self.settle().await?;
        if self.buf.is_empty() {
            return Ok(());
        }
        let data = std::mem::replace(&mut self.buf, std::mem::take(&mut self.spare));
        let at = self.next - data.len() as u64;
        let file = self.file.clone();
        let progress = self.progress.clone();
        self.in_flight = Some(tokio::task::spawn_blocking(move || {
            write_at(&file, &data, at)?;
            if let Some(p) = progress {
                p.written_to(at + data.len() as u64);
            }
            Ok(data)
        }));
        Ok(())
    }

    /// Waits for the write in flight.
    async fn settle(&mut self) -> io::Result<()> {
        if let Some(write) = self.in_flight.take() {
            let mut data = write.await.map_err(io::Error::other)??;
            data.clear();
            self.spare = data;
        }
        Ok(())
    }

    /// Everything received is written.
    async fn flush(&mut self) -> io::Result<()> {
        self.spill().await?;
        self.settle().await
    }
}

#[cfg(unix)]
fn write_at(file: &std::fs::File, data: &[u8], at: u64) -> io::Result<()> {
    std::os::unix::fs::FileExt::write_all_at(file, data, at)
}

#[cfg(not(unix))]
fn write_at(mut file: &std::fs::File, data: &[u8], at: u64) -> io::Result<()> {
    use std::io::{Seek, Write};
    file.seek(io::SeekFrom::Start(at))?;
    file.write_all(data)
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
    fn content_ranges() {
        assert_eq!(parse_content_range("bytes 0-9/10"), Some((0, 9, 10)));
        assert_eq!(
            parse_content_range("bytes 1048576-1310719/1310720"),
            Some((1_048_576, 1_310_719, 1_310_720))
        );
        assert_eq!(parse_content_range("bytes */10"), None);
        assert_eq!(parse_content_range("items 0-9/10"), None);
        assert_eq!(parse_content_range("bytes 0-9/*"), None);
    }

    #[test]
    fn expiry_codes() {
        let e = |c: &str| AwsError {
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
