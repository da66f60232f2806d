//! The Lambda adapter of the release: reads functions, aliases and hooks into
//! the planner's `Observed*` values, and publishes a changed function —
//! `UpdateFunctionCode` (direct upload ≤ 50 MB, larger through the
//! worker's staging bucket), wait for `LastUpdateStatus` to leave
//! InProgress (Failed → JobFailed with Lambda's reason), `PublishVersion`
//! with the `CodeSha256` and `RevisionId` preconditions and a description
//! naming the commit and the pipeline execution. A function whose `$LATEST`
//! already holds the new code is not updated again, and an existing version
//! is used instead of publishing one: the one this release already
//! published (a retry), and for a stage rollback (`reuse_earlier`,
//! `plan::reusable_version`) the newest with the same CodeSha256 and
//! `$LATEST`'s configuration, so a rollback publishes no duplicates.
//!
//! A code-only function's rollback ([`LambdaApi::restore_code`]) runs the
//! same calls the other way: the previous version's code, downloaded from
//! GetFunction's `Code.Location` (`super::download`), goes back through
//! UpdateFunctionCode with `$LATEST`'s RevisionId, and PublishVersion
//! records which version holds it.
//!
//! Every call goes through the shared [`Limiter`]s (GetFunction through the
//! read limiter, everything else through the control-plane one); the SDK's
//! own retries are off so that the limiter's policy is the only one. Knows no
//! job, no token, no plan decisions.

use std::sync::Arc;
use std::time::Duration;

use aws_config::SdkConfig;
use aws_sdk_lambda::Client;
use aws_sdk_lambda::config::retry::RetryConfig;
use aws_sdk_lambda::config::timeout::TimeoutConfig;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::{FunctionConfiguration, LastUpdateStatus};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::limiter::{Limiter, LimiterConfig};
use super::plan::{
    DIRECT_UPLOAD_MAX_BYTES, Existence, ObservedAlias, ObservedFunction, ObservedHook,
    VersionFacts, published_by, reusable_version,
};
use crate::aws_error::AwsError;
use crate::engine::EngineError;
use crate::report::FailureKind;

/// An AWS SDK error as an [`AwsError`] (the worker's one classification).
pub fn call_error<E>(operation: &'static str, err: &SdkError<E, HttpResponse>) -> AwsError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    AwsError::from_sdk(operation, err)
}

pub use crate::aws_error::retry_after;

/// The Lambda client of the release: SDK retries off (the limiter retries),
/// bounded attempt time (uploads of 50 MB included).
pub fn client(sdk: &SdkConfig) -> Client {
    Client::from_conf(
        aws_sdk_lambda::config::Builder::from(sdk)
            .retry_config(RetryConfig::disabled())
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(5))
                    .operation_attempt_timeout(Duration::from_secs(120))
                    .build(),
            )
            .build(),
    )
}

/// Where bundles over 50 MB are staged for `UpdateFunctionCode` (an S3
/// bucket of the worker's own account, in the functions' region).
#[derive(Debug, Clone)]
pub struct Staging {
    pub s3: aws_sdk_s3::Client,
    pub bucket: String,
    /// Bundles larger than this go through the bucket (at most 50 MB).
    pub above_bytes: u64,
}

/// How long and how often to wait for an update to finish: `$LATEST` is
/// read again after [`UPDATE_FIRST_POLL`] (or `poll_interval`, if shorter),
/// the wait doubling up to `poll_interval` — Lambda finishes most
/// zip updates well within a second, so a fixed 1 s poll would add most of
/// a second to every release.
#[derive(Debug, Clone, Copy)]
pub struct UpdateWait {
    /// The longest wait between two reads.
    pub poll_interval: Duration,
    pub timeout: Duration,
}

/// The first wait before `$LATEST` is read again after an update.
pub const UPDATE_FIRST_POLL: Duration = Duration::from_millis(100);

impl UpdateWait {
    /// The waits between reads (unbounded; the caller stops at `timeout`).
    pub fn delays(&self) -> impl Iterator<Item = Duration> + use<> {
        use backon::BackoffBuilder;
        let max = self.poll_interval.max(Duration::from_millis(1));
        backon::ExponentialBuilder::default()
            .with_min_delay(UPDATE_FIRST_POLL.min(max))
            .with_max_delay(max)
            .with_factor(2.0)
            .without_max_times()
            .build()
    }
}

impl Default for UpdateWait {
    fn default() -> Self {
        UpdateWait {
            poll_interval: Duration::from_secs(1),
            timeout: Duration::from_secs(15 * 60),
        }
    }
}

/// The release's view of Lambda.
#[derive(Debug, Clone)]
pub struct LambdaApi {
    client: Client,
    control: Arc<Limiter>,
    reads: Arc<Limiter>,
    staging: Option<Staging>,
    wait: UpdateWait,
    /// Direct uploads in flight at once: each holds its zip (≤ 50 MB) in
    /// memory while the call runs, so memory stays ≤ 4 × 50 MB.
    uploads: Arc<tokio::sync::Semaphore>,
}

/// How a code restore ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Restored {
    /// `$LATEST` runs the version's code again; this version holds it.
    Holder(String),
    /// The version is gone: its code cannot be put back (why, for the
    /// operator). Nothing was changed.
    Gone(String),
}

/// Largest code a rollback downloads to put back: Lambda's limit on a
/// deployment package (250 MB unzipped; its zip is no larger).
pub const RESTORE_MAX_BYTES: usize = 262_144_000;

/// Direct uploads (`ZipFile`) in flight at once per worker.
pub const UPLOADS_IN_FLIGHT: usize = 4;

pub use pipeline_canary_core::release::{PublishRequest, Published};

/// `$LATEST` as last read.
#[derive(Debug, Clone)]
struct Latest {
    code_sha256: String,
    revision_id: Option<String>,
    status: Option<LastUpdateStatus>,
    reason: Option<String>,
}

fn latest_of(c: &FunctionConfiguration) -> Latest {
    Latest {
        code_sha256: c.code_sha256().unwrap_or_default().to_string(),
        revision_id: c.revision_id().map(str::to_string),
        status: c.last_update_status().cloned(),
        reason: c.last_update_status_reason().map(str::to_string),
    }
}

fn failed(kind: FailureKind, message: String) -> EngineError {
    EngineError::new(kind, message)
}

impl LambdaApi {
    pub fn new(
        sdk: &SdkConfig,
        control: Arc<Limiter>,
        reads: Arc<Limiter>,
        staging: Option<Staging>,
        wait: UpdateWait,
    ) -> Self {
        LambdaApi {
            client: client(sdk),
            control,
            reads,
            staging,
            wait,
            uploads: Arc::new(tokio::sync::Semaphore::new(UPLOADS_IN_FLIGHT)),
        }
    }

    /// With default limiters (for one-off commands such as `plan`).
    pub fn with_defaults(sdk: &SdkConfig) -> Self {
        Self::new(
            sdk,
            Arc::new(Limiter::new(LimiterConfig::control_plane())),
            Arc::new(Limiter::new(LimiterConfig::reads())),
            None,
            UpdateWait::default(),
        )
    }

    pub fn has_staging(&self) -> bool {
        self.staging.is_some()
    }

    /// GetFunction (optionally qualified); `Ok(None)` when not found.
    async fn get_function(
        &self,
        name: &str,
        qualifier: Option<&str>,
    ) -> Result<Option<FunctionConfiguration>, AwsError> {
        let r = self
            .reads
            .run(|| async {
                self.client
                    .get_function()
                    .function_name(name)
                    .set_qualifier(qualifier.map(str::to_string))
                    .send()
                    .await
                    .map_err(|e| call_error("GetFunction", &e))
            })
            .await;
        match r {
            Ok(out) => {
                Ok(Some(out.configuration().cloned().unwrap_or_else(|| {
                    FunctionConfiguration::builder().build()
                })))
            }
            Err(e) if e.is("ResourceNotFoundException") => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// One function of the release: does it exist, what does its alias
    /// serve (GetFunction on the alias: 1 call for an unchanged function),
    /// and, when its code changes, the alias itself (GetAlias).
    pub async fn observe_function(
        &self,
        name: &str,
        alias: &str,
        new_code_sha256: &str,
    ) -> Result<ObservedFunction, AwsError> {
        self.observe_function_with(name, alias, new_code_sha256, true)
            .await
    }

    /// [`LambdaApi::observe_function`]; without `read_alias` no GetAlias is
    /// made (routing and RevisionId stay unknown: a later job of a release
    /// that published already needs only versions and code).
    pub async fn observe_function_with(
        &self,
        name: &str,
        alias: &str,
        new_code_sha256: &str,
        read_alias: bool,
    ) -> Result<ObservedFunction, AwsError> {
        let denied = |e: &AwsError| {
            FailureKind::from_aws_error(e.code.as_deref(), e.status) == FailureKind::PermissionError
        };
        if alias.is_empty() {
            return self.observe_code_only(name).await;
        }
        let served = match self.get_function(name, Some(alias)).await {
            Ok(s) => s,
            Err(e) if denied(&e) => {
                return Ok(ObservedFunction {
                    name: name.into(),
                    exists: Existence::Denied(format!(
                        "{}: {}",
                        e.code.unwrap_or_default(),
                        e.message
                    )),
                    alias: None,
                });
            }
            Err(e) => return Err(e),
        };
        let Some(served) = served else {
            // The function or the alias is missing: which one?
            let exists = match self.get_function(name, None).await {
                Ok(Some(_)) => Existence::Exists,
                Ok(None) => Existence::Missing,
                Err(e) if denied(&e) => {
                    Existence::Denied(format!("{}: {}", e.code.unwrap_or_default(), e.message))
                }
                Err(e) => return Err(e),
            };
            return Ok(ObservedFunction {
                name: name.into(),
                exists,
                alias: None,
            });
        };
        let mut observed = ObservedAlias {
            version: served.version().unwrap_or_default().to_string(),
            code_sha256: served.code_sha256().unwrap_or_default().to_string(),
            revision_id: None,
            routing: None,
            description: served.description().unwrap_or_default().to_string(),
            code_size: u64::try_from(served.code_size()).unwrap_or(0),
        };
        if read_alias && observed.code_sha256 != new_code_sha256 {
            let a = self
                .control
                .run(|| async {
                    self.client
                        .get_alias()
                        .function_name(name)
                        .name(alias)
                        .send()
                        .await
                        .map_err(|e| call_error("GetAlias", &e))
                })
                .await?;
            if let Some(v) = a.function_version() {
                observed.version = v.to_string();
            }
            observed.revision_id = a.revision_id().map(str::to_string);
            observed.routing = a
                .routing_config()
                .and_then(|r| r.additional_version_weights())
                .and_then(|w| w.iter().next().map(|(v, x)| (v.clone(), *x)));
        }
        Ok(ObservedFunction {
            name: name.into(),
            exists: Existence::Exists,
            alias: Some(observed),
        })
    }

    /// Every version of `name` (`$LATEST` included), all pages of
    /// ListVersionsByFunction: a control-plane call, so through the
    /// control-plane limiter (Lambda's 15/s), never GetFunction's.
    async fn list_versions(&self, name: &str) -> Result<Vec<FunctionConfiguration>, AwsError> {
        let mut marker: Option<String> = None;
        let mut versions = Vec::new();
        loop {
            let page = self
                .control
                .run(|| async {
                    self.client
                        .list_versions_by_function()
                        .function_name(name)
                        .set_marker(marker.clone())
                        .max_items(50)
                        .send()
                        .await
                        .map_err(|e| call_error("ListVersionsByFunction", &e))
                })
                .await?;
            versions.extend(page.versions().iter().cloned());
            match page.next_marker() {
                Some(m) if !m.is_empty() => marker = Some(m.to_string()),
                _ => break,
            }
        }
        Ok(versions)
    }

    /// A code-only function (no alias): what `$LATEST` runs, as the
    /// observed "alias": its CodeSha256 and the newest published version
    /// holding that code (empty when none does: the plan refuses it, since
    /// a rollback could not put the code back).
    async fn observe_code_only(&self, name: &str) -> Result<ObservedFunction, AwsError> {
        let latest = match self.get_function(name, None).await {
            Ok(Some(c)) => c,
            Ok(None) => {
                return Ok(ObservedFunction {
                    name: name.into(),
                    exists: Existence::Missing,
                    alias: None,
                });
            }
            Err(e)
                if FailureKind::from_aws_error(e.code.as_deref(), e.status)
                    == FailureKind::PermissionError =>
            {
                return Ok(ObservedFunction {
                    name: name.into(),
                    exists: Existence::Denied(format!(
                        "{}: {}",
                        e.code.unwrap_or_default(),
                        e.message
                    )),
                    alias: None,
                });
            }
            Err(e) => return Err(e),
        };
        let sha = latest.code_sha256().unwrap_or_default().to_string();
        let code_size = u64::try_from(latest.code_size()).unwrap_or(0);
        let mut newest: Option<(u64, String)> = None;
        for v in self.list_versions(name).await? {
            if let Some(n) = v.version().and_then(|n| n.parse::<u64>().ok())
                && v.code_sha256() == Some(sha.as_str())
                && newest.as_ref().is_none_or(|(m, _)| n > *m)
            {
                newest = Some((n, v.description().unwrap_or_default().to_string()));
            }
        }
        let (version, description) = newest.map(|(n, d)| (n.to_string(), d)).unwrap_or_default();
        Ok(ObservedFunction {
            name: name.into(),
            exists: Existence::Exists,
            alias: Some(ObservedAlias {
                version,
                code_sha256: sha,
                revision_id: None,
                routing: None,
                description,
                code_size,
            }),
        })
    }

    /// Whether a hook function exists.
    pub async fn observe_hook(&self, name: &str) -> Result<ObservedHook, AwsError> {
        let exists = match self.get_function(name, None).await {
            Ok(Some(_)) => Existence::Exists,
            Ok(None) => Existence::Missing,
            Err(e)
                if FailureKind::from_aws_error(e.code.as_deref(), e.status)
                    == FailureKind::PermissionError =>
            {
                Existence::Denied(format!("{}: {}", e.code.unwrap_or_default(), e.message))
            }
            Err(e) => return Err(e),
        };
        Ok(ObservedHook {
            name: name.into(),
            exists,
        })
    }

    /// Observes every function `(name, alias, new CodeSha256)` and hook,
    /// concurrently (the limiters bound the calls); GetAlias only with
    /// `read_aliases`.
    pub async fn observe_all(
        &self,
        functions: &[(String, String, String)],
        hooks: &[String],
        read_aliases: bool,
    ) -> Result<(Vec<ObservedFunction>, Vec<ObservedHook>), EngineError> {
        let mut set = JoinSet::new();
        for (i, (name, alias, sha)) in functions.iter().enumerate() {
            let (api, name, alias, sha) = (self.clone(), name.clone(), alias.clone(), sha.clone());
            set.spawn(async move {
                (
                    i,
                    api.observe_function_with(&name, &alias, &sha, read_aliases)
                        .await,
                )
            });
        }
        let mut fs: Vec<Option<ObservedFunction>> = vec![None; functions.len()];
        let mut errors = Vec::new();
        while let Some(r) = set.join_next().await {
            match r {
                Ok((i, Ok(o))) => fs[i] = Some(o),
                Ok((i, Err(e))) => errors.push(format!("{}: {e}", functions[i].0)),
                Err(e) => errors.push(format!("internal error: {e}")),
            }
        }
        let mut hs = Vec::new();
        for h in hooks {
            match self.observe_hook(h).await {
                Ok(o) => hs.push(o),
                Err(e) => errors.push(format!("hook {h}: {e}")),
            }
        }
        if !errors.is_empty() {
            errors.sort();
            return Err(failed(
                FailureKind::SystemUnavailable,
                format!(
                    "Lambda could not be read after retries: {}",
                    errors.join("; ")
                ),
            ));
        }
        Ok((fs.into_iter().flatten().collect(), hs))
    }

    /// `$LATEST` of `name`.
    async fn latest(&self, name: &str) -> Result<Latest, EngineError> {
        match self.get_function(name, None).await {
            Ok(Some(c)) => Ok(latest_of(&c)),
            Ok(None) => Err(failed(
                FailureKind::ConfigurationError,
                format!("function `{name}` was deleted during the release"),
            )),
            Err(e) => Err(failed(e.failure_kind(), format!("{name}: {e}"))),
        }
    }

    /// Polls `$LATEST` until its update left InProgress (waits as
    /// [`UpdateWait`] says). Failed → JobFailed with Lambda's reason.
    async fn settled(&self, name: &str) -> Result<Latest, EngineError> {
        let give_up = Instant::now() + self.wait.timeout;
        let mut delays = self.wait.delays();
        loop {
            let l = self.latest(name).await?;
            match &l.status {
                Some(LastUpdateStatus::InProgress) => {}
                Some(LastUpdateStatus::Failed) => {
                    return Err(failed(
                        FailureKind::JobFailed,
                        format!(
                            "Lambda could not update `{name}`: {}",
                            l.reason
                                .as_deref()
                                .unwrap_or("LastUpdateStatus is Failed (no reason given)")
                        ),
                    ));
                }
                _ => return Ok(l),
            }
            if Instant::now() >= give_up {
                return Err(failed(
                    FailureKind::JobFailed,
                    format!(
                        "the code update of `{name}` was still in progress after {} s",
                        self.wait.timeout.as_secs()
                    ),
                ));
            }
            let d = delays.next().unwrap_or(self.wait.poll_interval);
            tokio::time::sleep(d).await;
        }
    }

    /// An existing version of `name` the release can use for this code
    /// instead of publishing one: this release's own, and with `earlier`
    /// ([`reusable_version`]) else the newest with the same code and
    /// `$LATEST`'s configuration.
    async fn find_reusable(
        &self,
        name: &str,
        code_sha256: &str,
        release_id: &str,
        earlier: bool,
    ) -> Result<Option<String>, EngineError> {
        let versions: Vec<VersionFacts> = self
            .list_versions(name)
            .await
            .map_err(|e| failed(e.failure_kind(), format!("{name}: {e}")))?
            .iter()
            .map(version_facts)
            .collect();
        let Some(latest) = versions.iter().find(|v| v.version == "$LATEST") else {
            return Ok(None);
        };
        if !earlier {
            // Only this release's own version (a retry).
            return Ok(versions
                .iter()
                .filter(|v| {
                    v.code_sha256 == code_sha256 && published_by(&v.description, release_id)
                })
                .filter_map(|v| v.version.parse::<u64>().ok())
                .max()
                .map(|v| v.to_string()));
        }
        Ok(reusable_version(latest, &versions, code_sha256, release_id))
    }

    /// Uploads the bundle to the staging bucket (the worker's credentials):
    /// `(bucket, key)` for UpdateFunctionCode.
    async fn stage(
        &self,
        st: &Staging,
        req: &PublishRequest,
    ) -> Result<(String, String), EngineError> {
        let name = req.function.as_str();
        let key = format!(
            "pipeline-canary/{name}/{}.zip",
            req.code_sha256.replace(['/', '+', '='], "_")
        );
        let body = aws_sdk_s3::primitives::ByteStream::from_path(&req.bundle)
            .await
            .map_err(|e| {
                failed(
                    FailureKind::SystemUnavailable,
                    format!("reading the bundle of `{name}`: {e}"),
                )
            })?;
        st.s3
            .put_object()
            .bucket(&st.bucket)
            .key(&key)
            .body(body)
            .send()
            .await
            .map_err(|e| {
                let e = call_error("PutObject", &e);
                failed(
                    e.failure_kind(),
                    format!("staging the bundle of `{name}` in s3://{}: {e}", st.bucket),
                )
            })?;
        Ok((st.bucket.clone(), key))
    }

    /// UpdateFunctionCode with the bundle (ZipFile, or S3 via staging).
    async fn update_code(&self, req: &PublishRequest) -> Result<(), EngineError> {
        let name = req.function.as_str();
        let staged = match &self.staging {
            Some(st) if req.zip_bytes > st.above_bytes => Some(self.stage(st, req).await?),
            None if req.zip_bytes > DIRECT_UPLOAD_MAX_BYTES => {
                return Err(failed(
                    FailureKind::ConfigurationError,
                    format!(
                        "the bundle of `{name}` is {} bytes, more than the {DIRECT_UPLOAD_MAX_BYTES} bytes of a direct upload: configure a staging bucket",
                        req.zip_bytes
                    ),
                ));
            }
            _ => None,
        };
        let _upload = self.uploads.acquire().await.expect("never closed");
        self.control
            .run(|| async {
                let mut call = self.client.update_function_code().function_name(name);
                call = match &staged {
                    Some((bucket, key)) => call.s3_bucket(bucket).s3_key(key),
                    None => {
                        let bytes = tokio::fs::read(&req.bundle).await.map_err(|e| AwsError {
                            operation: "UpdateFunctionCode",
                            code: Some("LocalReadError".into()),
                            message: format!("reading {}: {e}", req.bundle.display()),
                            status: None,
                            retry_after: None,
                        })?;
                        call.zip_file(Blob::new(bytes))
                    }
                };
                call.send()
                    .await
                    .map(|_| ())
                    .map_err(|e| call_error("UpdateFunctionCode", &e))
            })
            .await
            .map_err(|e| failed(e.failure_kind(), format!("{name}: {e}")))
    }

    /// Puts `req`'s code on the function and publishes it as a version (or
    /// reuses this release's version of it).
    pub async fn publish(&self, req: &PublishRequest) -> Result<Published, EngineError> {
        let name = req.function.as_str();
        let mut updated = false;
        let latest = self.latest(name).await?;
        let look = req.reuse_earlier || latest.code_sha256 == req.code_sha256;
        let found = if look {
            self.find_reusable(name, &req.code_sha256, &req.release_id, req.reuse_earlier)
                .await?
        } else {
            None
        };
        if let Some(version) = found {
            tracing::info!(
                function = name,
                version,
                "an existing version holds this code and configuration; reused"
            );
            return Ok(Published {
                function: name.into(),
                version,
                updated: false,
                reused: true,
            });
        }
        if latest.code_sha256 != req.code_sha256 {
            self.update_code(req).await?;
            updated = true;
        }
        // Publish with both preconditions; a concurrent configuration change
        // (412) is re-read and retried a few times, a code change is fatal.
        for _ in 0..3 {
            let settled = self.settled(name).await?;
            if settled.code_sha256 != req.code_sha256 {
                return Err(failed(
                    FailureKind::JobFailed,
                    format!(
                        "the code of `{name}` was changed by someone else during the release (CodeSha256 {} instead of {}): release again",
                        settled.code_sha256, req.code_sha256
                    ),
                ));
            }
            let r = self
                .control
                .run(|| async {
                    self.client
                        .publish_version()
                        .function_name(name)
                        .code_sha256(&req.code_sha256)
                        .set_revision_id(settled.revision_id.clone())
                        .description(&req.description)
                        .send()
                        .await
                        .map_err(|e| call_error("PublishVersion", &e))
                })
                .await;
            match r {
                Ok(out) => {
                    let version = out.version().unwrap_or_default().to_string();
                    if out.code_sha256() != Some(req.code_sha256.as_str()) || version.is_empty() {
                        return Err(failed(
                            FailureKind::JobFailed,
                            format!(
                                "PublishVersion of `{name}` returned version `{version}` with CodeSha256 {} instead of {}",
                                out.code_sha256().unwrap_or("(none)"),
                                req.code_sha256
                            ),
                        ));
                    }
                    return Ok(Published {
                        function: name.into(),
                        version,
                        updated,
                        reused: false,
                    });
                }
                Err(e) if e.is("PreconditionFailedException") => {
                    tracing::info!(function = name, error = %e, "$LATEST changed before PublishVersion; re-reading");
                    continue;
                }
                Err(e) => return Err(failed(e.failure_kind(), format!("{name}: {e}"))),
            }
        }
        Err(failed(
            FailureKind::JobFailed,
            format!(
                "`{name}` kept changing while it was being published (RevisionId precondition failed 3 times)"
            ),
        ))
    }

    /// A code-only function's rollback: `$LATEST` back on `version`'s code.
    /// Nothing is changed when `$LATEST` already has it. Otherwise
    /// GetFunction on the version gives its code (`Code.Location`, a
    /// presigned URL, downloaded and checked against its CodeSha256), which
    /// goes back through UpdateFunctionCode (direct, or the staging bucket
    /// above 50 MB) with `$LATEST`'s RevisionId as precondition; once the
    /// update settled, PublishVersion (CodeSha256 = the version's) with
    /// `description` records which version now holds that code. Returns that
    /// version (`version` itself when nothing had to change), or
    /// [`Restored::Gone`] when the version no longer exists.
    pub async fn restore_code(
        &self,
        name: &str,
        version: &str,
        description: &str,
    ) -> Result<Restored, EngineError> {
        let got = self
            .reads
            .run(|| async {
                self.client
                    .get_function()
                    .function_name(name)
                    .qualifier(version)
                    .send()
                    .await
                    .map_err(|e| call_error("GetFunction", &e))
            })
            .await;
        let got = match got {
            Ok(g) => g,
            Err(e) if e.is("ResourceNotFoundException") => {
                return Ok(Restored::Gone(format!(
                    "version {version} of `{name}` no longer exists (pruned or deleted by hand?), so its code cannot be put back: `{name}` keeps the code it runs; deploy the previous code again if it must go back"
                )));
            }
            Err(e) => return Err(failed(e.failure_kind(), format!("{name}: {e}"))),
        };
        let previous = got
            .configuration()
            .and_then(|c| c.code_sha256())
            .unwrap_or_default()
            .to_string();
        let latest = self.settled(name).await?;
        if latest.code_sha256 == previous {
            // Already back (or put back by an earlier attempt whose
            // PublishVersion did not happen): publish if no version holds
            // it as the newest.
            return self
                .publish_restored(name, version, &previous, latest.revision_id, description)
                .await
                .map(Restored::Holder);
        }
        let Some(location) = got.code().and_then(|c| c.location()) else {
            return Err(failed(
                FailureKind::JobFailed,
                format!("Lambda gave no code location for version {version} of `{name}`"),
            ));
        };
        let zip = super::download::download(
            location,
            &previous,
            RESTORE_MAX_BYTES,
            Duration::from_secs(5 * 60),
        )
        .await
        .map_err(|why| failed(FailureKind::SystemUnavailable, format!("{name}: {why}")))?;
        let staged = match &self.staging {
            Some(st) if zip.len() as u64 > st.above_bytes => {
                let key = format!(
                    "pipeline-canary/{name}/{}.zip",
                    previous.replace(['/', '+', '='], "_")
                );
                st.s3
                    .put_object()
                    .bucket(&st.bucket)
                    .key(&key)
                    .body(aws_sdk_s3::primitives::ByteStream::from(zip.clone()))
                    .send()
                    .await
                    .map_err(|e| {
                        let e = call_error("PutObject", &e);
                        failed(
                            e.failure_kind(),
                            format!(
                                "staging version {version}'s code of `{name}` in s3://{}: {e}",
                                st.bucket
                            ),
                        )
                    })?;
                Some((st.bucket.clone(), key))
            }
            None if zip.len() as u64 > DIRECT_UPLOAD_MAX_BYTES => {
                return Err(failed(
                    FailureKind::ConfigurationError,
                    format!(
                        "version {version}'s code of `{name}` is {} bytes, more than the {DIRECT_UPLOAD_MAX_BYTES} bytes of a direct upload: configure a staging bucket (`--staging-bucket`) so it can be put back",
                        zip.len()
                    ),
                ));
            }
            _ => None,
        };
        {
            let _upload = self.uploads.acquire().await.expect("never closed");
            let r = self
                .control
                .run(|| async {
                    let mut call = self
                        .client
                        .update_function_code()
                        .function_name(name)
                        .set_revision_id(latest.revision_id.clone());
                    call = match &staged {
                        Some((bucket, key)) => call.s3_bucket(bucket).s3_key(key),
                        None => call.zip_file(Blob::new(zip.clone())),
                    };
                    call.send()
                        .await
                        .map(|_| ())
                        .map_err(|e| call_error("UpdateFunctionCode", &e))
                })
                .await;
            match r {
                Ok(()) => {}
                Err(e) if e.is("PreconditionFailedException") => {
                    return Err(failed(
                        FailureKind::SystemUnavailable,
                        format!(
                            "`{name}` changed while its code was being put back (RevisionId precondition failed); the next attempt reads it again"
                        ),
                    ));
                }
                Err(e) => return Err(failed(e.failure_kind(), format!("{name}: {e}"))),
            }
        }
        let settled = self.settled(name).await?;
        if settled.code_sha256 != previous {
            return Err(failed(
                FailureKind::SystemUnavailable,
                format!(
                    "`{name}` runs CodeSha256 {} after its code was put back, not version {version}'s {previous}: someone else changed it meanwhile",
                    settled.code_sha256
                ),
            ));
        }
        self.publish_restored(name, version, &previous, settled.revision_id, description)
            .await
            .map(Restored::Holder)
    }

    /// After a restore: the version holding `$LATEST`'s code (`previous`).
    /// When the newest version already holds it, that one; else
    /// PublishVersion (CodeSha256 and RevisionId preconditions). A failed
    /// publish is logged and `version` returned: the code is back, which
    /// version holds it is bookkeeping.
    async fn publish_restored(
        &self,
        name: &str,
        version: &str,
        previous: &str,
        revision_id: Option<String>,
        description: &str,
    ) -> Result<String, EngineError> {
        let (newest, holder) = self.newest_with(name, previous).await?;
        if let Some(h) = holder
            && Some(&h) == newest.as_ref()
        {
            return Ok(h);
        }
        let out = self
            .control
            .run(|| async {
                self.client
                    .publish_version()
                    .function_name(name)
                    .code_sha256(previous)
                    .set_revision_id(revision_id.clone())
                    .description(description)
                    .send()
                    .await
                    .map_err(|e| call_error("PublishVersion", &e))
            })
            .await;
        match out {
            Ok(o) => Ok(o.version().unwrap_or(version).to_string()),
            Err(e) => {
                tracing::warn!(function = name, error = %e, "the code is back, but publishing a version of it failed");
                Ok(version.to_string())
            }
        }
    }

    /// The newest published version of `name`, and the newest whose code
    /// is `code_sha256`.
    async fn newest_with(
        &self,
        name: &str,
        code_sha256: &str,
    ) -> Result<(Option<String>, Option<String>), EngineError> {
        let mut newest: Option<u64> = None;
        let mut holder: Option<u64> = None;
        let versions = self
            .list_versions(name)
            .await
            .map_err(|e| failed(e.failure_kind(), format!("{name}: {e}")))?;
        for v in versions {
            if let Some(n) = v.version().and_then(|n| n.parse::<u64>().ok()) {
                newest = newest.max(Some(n));
                if v.code_sha256() == Some(code_sha256) {
                    holder = holder.max(Some(n));
                }
            }
        }
        Ok((newest.map(|n| n.to_string()), holder.map(|n| n.to_string())))
    }

    /// Publishes every request concurrently (the limiter bounds the calls);
    /// waits for all of them. Any failure fails the whole step, naming every
    /// failed function and what was published meanwhile (a retry reuses it).
    pub async fn publish_all(
        &self,
        reqs: &[PublishRequest],
    ) -> Result<Vec<Published>, EngineError> {
        let mut set = JoinSet::new();
        for (i, r) in reqs.iter().enumerate() {
            let (api, r) = (self.clone(), r.clone());
            set.spawn(async move { (i, api.publish(&r).await) });
        }
        let mut done: Vec<Option<Published>> = vec![None; reqs.len()];
        let mut errors: Vec<EngineError> = Vec::new();
        while let Some(r) = set.join_next().await {
            match r {
                Ok((i, Ok(p))) => done[i] = Some(p),
                Ok((_, Err(e))) => errors.push(e),
                Err(e) => errors.push(failed(
                    FailureKind::JobFailed,
                    format!("internal error: {e}"),
                )),
            }
        }
        if errors.is_empty() {
            return Ok(done.into_iter().flatten().collect());
        }
        // The most telling failure type: permission, then configuration,
        // then outage, then failed release.
        let kind = [
            FailureKind::PermissionError,
            FailureKind::ConfigurationError,
            FailureKind::SystemUnavailable,
        ]
        .into_iter()
        .find(|k| errors.iter().any(|e| e.kind == *k))
        .unwrap_or(FailureKind::JobFailed);
        let published: Vec<String> = done
            .iter()
            .flatten()
            .map(|p| format!("{} v{}", p.function, p.version))
            .collect();
        let mut msg = format!(
            "publishing failed for {} of {} changed functions: {}",
            errors.len(),
            reqs.len(),
            errors
                .iter()
                .map(|e| e.message.as_str())
                .collect::<Vec<_>>()
                .join("; ")
        );
        if !published.is_empty() {
            msg.push_str(&format!(
                ". Published meanwhile (a retry reuses them; no alias was moved): {}",
                published.join(", ")
            ));
        }
        Err(failed(kind, msg))
    }
}

/// What [`reusable_version`] needs of a listed version: the settings a
/// version snapshots, as one comparable string (`Debug` of each setting;
/// equal strings mean equal settings). Not part of it: what differs between
/// versions by nature (number, ARN, time, revision, state, description).
fn version_facts(c: &FunctionConfiguration) -> VersionFacts {
    let configuration = format!(
        "{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}|{:?}",
        c.runtime(),
        c.role(),
        c.handler(),
        c.timeout(),
        c.memory_size(),
        c.environment()
            .and_then(|e| e.variables())
            .map(|v| v.iter().collect::<std::collections::BTreeMap<_, _>>()),
        c.layers().iter().map(|l| l.arn()).collect::<Vec<_>>(),
        c.architectures(),
        c.ephemeral_storage().map(|e| e.size()),
        c.tracing_config().and_then(|t| t.mode()),
        c.vpc_config()
            .map(|v| (v.subnet_ids(), v.security_group_ids())),
        c.dead_letter_config().and_then(|d| d.target_arn()),
        c.kms_key_arn(),
        c.file_system_configs(),
        c.package_type(),
        c.logging_config(),
    );
    VersionFacts {
        version: c.version().unwrap_or_default().to_string(),
        code_sha256: c.code_sha256().unwrap_or_default().to_string(),
        description: c.description().unwrap_or_default().to_string(),
        configuration,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn update_polls_start_short_and_back_off_to_the_interval() {
        let w = UpdateWait {
            poll_interval: Duration::from_secs(1),
            timeout: Duration::from_secs(60),
        };
        let d: Vec<u64> = w.delays().take(7).map(|d| d.as_millis() as u64).collect();
        assert_eq!(d, [100, 200, 400, 800, 1000, 1000, 1000]);
        // An interval below 100 ms is the first wait and the cap.
        let w = UpdateWait {
            poll_interval: Duration::from_millis(20),
            ..w
        };
        assert!(w.delays().take(5).all(|x| x <= Duration::from_millis(20)));
    }

    #[test]
    fn retry_after_is_seconds() {
        assert_eq!(retry_after(Some("1")), Some(Duration::from_secs(1)));
        assert_eq!(
            retry_after(Some(" 2.5 ")),
            Some(Duration::from_millis(2500))
        );
        assert_eq!(retry_after(Some("Wed, 21 Oct 2015 07:28:00 GMT")), None);
        assert_eq!(retry_after(Some("-1")), None);
        assert_eq!(retry_after(None), None);
    }
}
