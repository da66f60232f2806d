//! Scenario `publish-paths`: two ways of publishing N changed Lambda
//! functions, measured side by side against aws-sim with Lambda's real
//! request quota (15 control-plane requests/s per account and Region for
//! every API but GetFunction, GetPolicy and invocation together;
//! GetFunction 100/s), at time scale 1 so that the quota the sim judges on
//! the real clock is the quota AWS applies:
//!
//! - **A**, the worker's calls today: GetFunction, UpdateFunctionCode, wait
//!   for `LastUpdateStatus` through GetFunction reads, PublishVersion with
//!   CodeSha256, RevisionId and a description (2 control-plane calls);
//! - **B**: GetFunction, then UpdateFunctionCode with `Publish` and the
//!   RevisionId precondition, the version taken from its answer (1 call);
//!   the version's description is `$LATEST`'s (the request has none);
//! - **B2**: GetFunction, UpdateFunctionConfiguration(Description), wait,
//!   UpdateFunctionCode with `Publish`: what keeps a per-release
//!   description on the version (2 calls again).
//!
//! Each path runs on a fresh sim whose functions are created (and settled)
//! with the quota off; the quota is then switched on with full buckets, so
//! nothing but the path spends it. Calls go through the official
//! aws-sdk-lambda client over HTTP, `IN_FLIGHT` functions at a time, and a
//! 429 is retried by [`Retry::Sdk`], the SDK's **standard retry mode**
//! (exponential backoff with full jitter from 1 s, its client-side retry
//! quota in a partition of the run's own), or by [`Retry::Worker`], the
//! worker's own client and limiters. Admitted calls and 429s come from the
//! sim's quota report. It replays the worker's calls through the worker's
//! public pieces (`UpdateWait`, `Limiter`, `code_sha256_bytes`); it knows
//! nothing of the release engine, CodePipeline, CodeDeploy or child
//! processes.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use aws_sdk_lambda as lambda;
use aws_sim::lambda::quota::{Group, RequestQuota, group};
use lambda::config::http::HttpResponse;
use lambda::config::retry::{RetryConfig, RetryPartition};
use lambda::error::{ProvideErrorMetadata, SdkError};
use lambda::primitives::Blob;
use lambda::types::{FunctionCode, LastUpdateStatus, Runtime, State};
use pipeline_canary::artifact::code_sha256_bytes;
use pipeline_canary::aws_error::AwsError;
use pipeline_canary::release::lambda::UpdateWait;
use pipeline_canary::release::limiter::{Limiter, LimiterConfig};

use crate::report::Row;

/// Functions published at once (each holds one slot from its GetFunction
/// to its published version): enough that the quota, not the client, sets
/// the pace.
pub const IN_FLIGHT: usize = 32;

/// Attempts the SDK makes per call (standard mode's default is 3).
pub const MAX_ATTEMPTS: u32 = 10;

/// The release sizes measured.
pub const SIZES: [usize; 2] = [60, 120];

const ROLE: &str = "arn:aws:iam::123456789012:role/lambda-exec";
/// `$LATEST`'s description when the functions are created.
const SERVICE_DESCRIPTION: &str = "orders service";
/// The description a release gives its versions (the worker's names the
/// commit and the pipeline execution).
const RELEASE_DESCRIPTION: &str =
    "pipeline-canary 0123456789abcdef0123456789abcdef01234567 execution 6f1c2a3b-release";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Path {
    A,
    B,
    B2,
}

impl Path {
    pub const ALL: [Path; 3] = [Path::A, Path::B, Path::B2];

    pub fn label(self) -> &'static str {
        match self {
            Path::A => "A",
            Path::B => "B",
            Path::B2 => "B2",
        }
    }

    fn calls(self) -> &'static str {
        match self {
            Path::A => {
                "GetFunction, UpdateFunctionCode, GetFunction until Successful, PublishVersion(CodeSha256, RevisionId, Description)"
            }
            Path::B => "GetFunction, UpdateFunctionCode(Publish, RevisionId)",
            Path::B2 => {
                "GetFunction, UpdateFunctionConfiguration(Description, RevisionId), GetFunction until Successful, UpdateFunctionCode(Publish, RevisionId)"
            }
        }
    }

    /// Control-plane calls per function when nothing is refused.
    pub fn control_calls(self) -> usize {
        match self {
            Path::A | Path::B2 => 2,
            Path::B => 1,
        }
    }
}

/// What one path measured for one release size.
#[derive(Debug, Clone)]
pub struct PathRun {
    pub path: Path,
    pub retry: Retry,
    pub functions: usize,
    /// First call → last published version, real seconds.
    pub wall_s: f64,
    /// Admitted calls per operation (quota report).
    pub calls: BTreeMap<String, u64>,
    /// 429s per operation (quota report).
    pub throttled: BTreeMap<String, u64>,
    /// Calls the retry policy gave up on with TooManyRequestsException
    /// (attempts or the SDK's retry quota spent), sent again by the bench
    /// a second later.
    pub gave_up: u64,
    /// Functions whose published version was checked: a number, the new
    /// CodeSha256, and the description the path is meant to leave.
    pub published: usize,
    pub errors: Vec<String>,
}

impl PathRun {
    fn sum(m: &BTreeMap<String, u64>, g: Group) -> u64 {
        m.iter()
            .filter(|(op, _)| group(op) == g)
            .map(|(_, n)| n)
            .sum()
    }

    pub fn control_calls(&self) -> u64 {
        Self::sum(&self.calls, Group::ControlPlane)
    }

    pub fn control_throttled(&self) -> u64 {
        Self::sum(&self.throttled, Group::ControlPlane)
    }

    pub fn reads(&self) -> u64 {
        Self::sum(&self.calls, Group::GetFunction)
    }

    pub fn all_throttled(&self) -> u64 {
        self.throttled.values().sum()
    }

    pub fn succeeded(&self) -> bool {
        self.errors.is_empty() && self.published == self.functions
    }

    /// The shortest time Lambda's quota allows for the path's control-plane
    /// calls: a full bucket (one second's worth) at once, the rest at the
    /// rate.
    pub fn quota_floor_s(&self) -> f64 {
        let q = RequestQuota::default();
        let calls = (self.path.control_calls() * self.functions) as f64;
        ((calls - q.control_plane * q.burst_seconds) / q.control_plane).max(0.0)
    }
}

/// How a path's calls are retried when Lambda answers 429.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// The SDK's standard retry mode, `MAX_ATTEMPTS` attempts, in a retry
    /// partition of the run's own (no earlier run's spent retry quota
    /// carries over).
    Sdk,
    /// The worker's client and limiters (`pipeline_canary`'s
    /// `release::lambda::client` with SDK retries off, every call through
    /// `Limiter::run`: 15/s and 8 in flight for the control plane, 100/s
    /// and 16 for GetFunction, backon retries honouring `Retry-After`).
    Worker,
}

impl Retry {
    pub fn label(self) -> &'static str {
        match self {
            Retry::Sdk => "SDK standard retries",
            Retry::Worker => "the worker's limiters",
        }
    }

    fn tag(self) -> &'static str {
        match self {
            Retry::Sdk => "",
            Retry::Worker => " (worker limiters)",
        }
    }
}

/// A path's Lambda client and its retry policy, shared by its tasks.
struct Caller {
    client: lambda::Client,
    /// `Retry::Worker`: (control plane, GetFunction).
    limiters: Option<(Limiter, Limiter)>,
    /// Calls that ended in TooManyRequestsException after the policy's own
    /// retries, sent again by the bench a second later.
    gave_up: AtomicU64,
}

impl Caller {
    fn new(client: lambda::Client, limiters: Option<(Limiter, Limiter)>) -> Caller {
        Caller {
            client,
            limiters,
            gave_up: AtomicU64::new(0),
        }
    }

    /// Sends `call` (operation `op`) under the retry policy until it is
    /// answered with something other than a final TooManyRequestsException:
    /// when the policy gives up, the bench counts it and sends the call
    /// again a second later, so every function ends published.
    async fn send<T, E, F, Fut>(&self, op: &'static str, call: F) -> Result<T, AwsError>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<T, SdkError<E, HttpResponse>>>,
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        loop {
            let once = || async { call().await.map_err(|e| AwsError::from_sdk(op, &e)) };
            let r = match &self.limiters {
                None => once().await,
                Some((control, reads)) => {
                    let limiter = if group(op) == Group::GetFunction {
                        reads
                    } else {
                        control
                    };
                    limiter.run(once).await
                }
            };
            match r {
                Err(e) if e.is("TooManyRequestsException") => {
                    self.gave_up.fetch_add(1, Ordering::Relaxed);
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
                r => return r,
            }
        }
    }
}

/// `$LATEST` of `name`: (CodeSha256, RevisionId, LastUpdateStatus).
async fn latest(
    c: &Caller,
    name: &str,
) -> Result<(String, String, Option<LastUpdateStatus>), String> {
    let out = c
        .send("GetFunction", || {
            c.client.get_function().function_name(name).send()
        })
        .await
        .map_err(|e| e.to_string())?;
    let f = out.configuration().ok_or("GetFunction: no Configuration")?;
    Ok((
        f.code_sha256().unwrap_or_default().to_string(),
        f.revision_id().unwrap_or_default().to_string(),
        f.last_update_status().cloned(),
    ))
}

/// Reads `$LATEST` until its update left InProgress, at the worker's
/// intervals (`UpdateWait`): its CodeSha256 and RevisionId then.
async fn settled(c: &Caller, name: &str) -> Result<(String, String), String> {
    let mut delays = UpdateWait::default().delays();
    loop {
        let (sha, revision, status) = latest(c, name).await?;
        match status {
            Some(LastUpdateStatus::InProgress) => {}
            Some(LastUpdateStatus::Failed) => return Err(format!("{name}: update Failed")),
            _ => return Ok((sha, revision)),
        }
        tokio::time::sleep(delays.next().unwrap_or(Duration::from_secs(1))).await;
    }
}

/// A published version as answered: (Version, CodeSha256, Description).
type Published = (String, String, String);

/// Path A: the worker's `publish` for a changed function.
async fn path_a(c: &Caller, name: &str, zip: &[u8]) -> Result<Published, String> {
    let (sha, _, _) = latest(c, name).await?;
    let new_sha = code_sha256_bytes(zip);
    if sha != new_sha {
        c.send("UpdateFunctionCode", || {
            c.client
                .update_function_code()
                .function_name(name)
                .zip_file(Blob::new(zip.to_vec()))
                .send()
        })
        .await
        .map_err(|e| e.to_string())?;
    }
    for _ in 0..3 {
        let (sha, revision) = settled(c, name).await?;
        if sha != new_sha {
            return Err(format!("{name}: CodeSha256 {sha} instead of {new_sha}"));
        }
        let r = c
            .send("PublishVersion", || {
                c.client
                    .publish_version()
                    .function_name(name)
                    .code_sha256(&new_sha)
                    .revision_id(&revision)
                    .description(RELEASE_DESCRIPTION)
                    .send()
            })
            .await;
        match r {
            Ok(out) => {
                return Ok((
                    out.version().unwrap_or_default().into(),
                    out.code_sha256().unwrap_or_default().into(),
                    out.description().unwrap_or_default().into(),
                ));
            }
            Err(e) if e.is("PreconditionFailedException") => continue,
            Err(e) => return Err(e.to_string()),
        }
    }
    Err(format!("{name}: RevisionId precondition failed 3 times"))
}

/// UpdateFunctionCode with `Publish` and the RevisionId precondition,
/// re-reading `$LATEST` on a 412 (as the worker does for PublishVersion).
async fn update_and_publish(
    c: &Caller,
    name: &str,
    zip: &[u8],
    mut revision: String,
) -> Result<Published, String> {
    for _ in 0..3 {
        let r = c
            .send("UpdateFunctionCode", || {
                c.client
                    .update_function_code()
                    .function_name(name)
                    .zip_file(Blob::new(zip.to_vec()))
                    .publish(true)
                    .revision_id(&revision)
                    .send()
            })
            .await;
        match r {
            Ok(out) => {
                return Ok((
                    out.version().unwrap_or_default().into(),
                    out.code_sha256().unwrap_or_default().into(),
                    out.description().unwrap_or_default().into(),
                ));
            }
            Err(e) if e.is("PreconditionFailedException") => {
                revision = settled(c, name).await?.1;
            }
            Err(e) => return Err(e.to_string()),
        }
    }
    Err(format!("{name}: RevisionId precondition failed 3 times"))
}

/// Path B: one control-plane call.
async fn path_b(c: &Caller, name: &str, zip: &[u8]) -> Result<Published, String> {
    let (_, revision, _) = latest(c, name).await?;
    update_and_publish(c, name, zip, revision).await
}

/// Path B2: the description first, then the code with `Publish`.
async fn path_b2(c: &Caller, name: &str, zip: &[u8]) -> Result<Published, String> {
    let (_, revision, _) = latest(c, name).await?;
    c.send("UpdateFunctionConfiguration", || {
        c.client
            .update_function_configuration()
            .function_name(name)
            .description(RELEASE_DESCRIPTION)
            .revision_id(&revision)
            .send()
    })
    .await
    .map_err(|e| e.to_string())?;
    let (_, revision) = settled(c, name).await?;
    update_and_publish(c, name, zip, revision).await
}

/// Creates `names` with the quota off and waits until every one is
/// Active with its creation settled.
async fn create_functions(l: &lambda::Client, names: &[String]) -> Result<(), String> {
    let slots = Arc::new(tokio::sync::Semaphore::new(IN_FLIGHT));
    let mut tasks = tokio::task::JoinSet::new();
    for name in names {
        let (l, name, slots) = (l.clone(), name.clone(), slots.clone());
        tasks.spawn(async move {
            let _slot = slots.acquire().await.expect("never closed");
            l.create_function()
                .function_name(&name)
                .runtime(Runtime::Nodejs20x)
                .role(ROLE)
                .handler("index.handler")
                .description(SERVICE_DESCRIPTION)
                .code(
                    FunctionCode::builder()
                        .zip_file(Blob::new(e2e::canary::function_zip(
                            None,
                            &format!("{name}-v1"),
                        )))
                        .build(),
                )
                .send()
                .await
                .map(|_| ())
                .map_err(|e| AwsError::from_sdk("CreateFunction", &e).to_string())
        });
    }
    while let Some(r) = tasks.join_next().await {
        r.map_err(|e| e.to_string())??;
    }
    let give_up = Instant::now() + Duration::from_secs(60);
    for name in names {
        loop {
            let out = l
                .get_function()
                .function_name(name)
                .send()
                .await
                .map_err(|e| AwsError::from_sdk("GetFunction", &e).to_string())?;
            let f = out.configuration().ok_or("GetFunction: no Configuration")?;
            if f.state() == Some(&State::Active)
                && f.last_update_status() == Some(&LastUpdateStatus::Successful)
            {
                break;
            }
            if Instant::now() > give_up {
                return Err(format!("{name} was not Active after 60 s"));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    Ok(())
}

/// Publishes `n` changed functions by `path` on a fresh sim at time scale
/// 1, retrying as `retry` says.
pub async fn run_path(path: Path, n: usize, retry: Retry) -> Result<PathRun, String> {
    // `start_sim` leaves the quota off for the set-up.
    let sim = e2e::start_sim(e2e::SimConfig {
        time_scale: 1.0,
        traffic_rate: 0.0,
        ..Default::default()
    })
    .await;
    let conf = e2e::sdk_config(&sim.endpoint());
    let names: Vec<String> = (1..=n).map(|i| format!("publish-fn{i}")).collect();
    create_functions(&lambda::Client::new(&conf), &names).await?;

    let caller = Arc::new(match retry {
        Retry::Sdk => Caller::new(
            lambda::Client::from_conf(
                lambda::config::Builder::from(&conf)
                    .retry_config(RetryConfig::standard().with_max_attempts(MAX_ATTEMPTS))
                    .retry_partition(RetryPartition::new(format!(
                        "publish-paths-{}-{n}",
                        path.label()
                    )))
                    .build(),
            ),
            None,
        ),
        Retry::Worker => Caller::new(
            pipeline_canary::release::lambda::client(&conf),
            Some((
                Limiter::new(LimiterConfig::control_plane()),
                Limiter::new(LimiterConfig::reads()),
            )),
        ),
    });
    let zips: Vec<Arc<Vec<u8>>> = names
        .iter()
        .map(|name| Arc::new(e2e::canary::function_zip(None, &format!("{name}-v2"))))
        .collect();
    // AWS's quotas from here on: full buckets, counts from zero.
    sim.sim()
        .lambda
        .set_request_quota(Some(RequestQuota::default()));

    let slots = Arc::new(tokio::sync::Semaphore::new(IN_FLIGHT));
    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for (name, zip) in names.iter().zip(&zips) {
        let (c, name, zip, slots) = (caller.clone(), name.clone(), zip.clone(), slots.clone());
        tasks.spawn(async move {
            let _slot = slots.acquire().await.expect("never closed");
            let r = match path {
                Path::A => path_a(&c, &name, &zip).await,
                Path::B => path_b(&c, &name, &zip).await,
                Path::B2 => path_b2(&c, &name, &zip).await,
            };
            (name, code_sha256_bytes(&zip), r)
        });
    }
    let mut errors = Vec::new();
    let mut ok = 0;
    let expected_description = match path {
        Path::A | Path::B2 => RELEASE_DESCRIPTION,
        Path::B => SERVICE_DESCRIPTION,
    };
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok((name, sha, Ok((version, got_sha, description)))) => {
                let numbered = version.parse::<u64>().is_ok();
                if numbered && got_sha == sha && description == expected_description {
                    ok += 1;
                } else {
                    errors.push(format!(
                        "{name}: published version {version:?}, CodeSha256 {got_sha}, description {description:?}"
                    ));
                }
            }
            Ok((name, _, Err(e))) => errors.push(format!("{name}: {e}")),
            Err(e) => errors.push(e.to_string()),
        }
    }
    let wall_s = start.elapsed().as_secs_f64();
    let mut calls = BTreeMap::new();
    let mut throttled = BTreeMap::new();
    for report in sim
        .sim()
        .lambda
        .quota_report()
        .iter()
        .filter(|r| r.clock == "real")
    {
        for (op, u) in &report.usage.operations {
            *calls.entry(op.clone()).or_insert(0) += u.calls;
            *throttled.entry(op.clone()).or_insert(0) += u.throttled;
        }
    }
    Ok(PathRun {
        path,
        retry,
        functions: n,
        wall_s,
        calls,
        throttled,
        gave_up: caller.gave_up.load(Ordering::Relaxed),
        published: ok,
        errors,
    })
}

const SCENARIO: &str = "publish-paths";

/// Every path for every size under each of `retries`, then the ratios
/// to path A.
pub async fn run(retries: &[Retry]) -> Vec<Row> {
    let mut rows = Vec::new();
    for &retry in retries {
        for n in SIZES {
            let mut walls: BTreeMap<&str, f64> = BTreeMap::new();
            for path in Path::ALL {
                crate::progress(&format!(
                    "publish-paths: path {} for {n} changed functions, time scale 1, {IN_FLIGHT} in flight, {}",
                    path.label(),
                    retry.label()
                ));
                match run_path(path, n, retry).await {
                    Ok(r) => {
                        if r.succeeded() {
                            walls.insert(path.label(), r.wall_s);
                        }
                        rows.extend(path_rows(&r));
                    }
                    Err(e) => rows.push(
                        Row::missing(
                            SCENARIO,
                            &format!("{} N={n}{}: wall time", path.label(), retry.tag()),
                            "completes",
                            &e,
                        )
                        .pass(false),
                    ),
                }
            }
            for other in ["B", "B2"] {
                let figure = format!("{other}/A wall time, N={n}{}", retry.tag());
                match (walls.get(other), walls.get("A")) {
                    (Some(b), Some(a)) => rows.push(
                        Row::report(SCENARIO, &figure, b / a, "×")
                            .note(format!("{b:.2} s / {a:.2} s")),
                    ),
                    _ => rows.push(Row::missing(
                        SCENARIO,
                        &figure,
                        "",
                        "a path did not publish every function",
                    )),
                }
            }
        }
    }
    rows
}

fn ops(m: &BTreeMap<String, u64>) -> String {
    let v: Vec<String> = m
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(op, n)| format!("{op} {n}"))
        .collect();
    if v.is_empty() {
        "none".into()
    } else {
        v.join(", ")
    }
}

fn path_rows(r: &PathRun) -> Vec<Row> {
    let p = format!("{} N={}{}", r.path.label(), r.functions, r.retry.tag());
    let n = r.functions as f64;
    let control = r.control_calls() as f64;
    let mut wall = Row::report(SCENARIO, &format!("{p}: wall time"), r.wall_s, "s").note(format!(
        "{}; first call → last version published; the quota's floor for {} control-plane calls is {:.1} s (15 at once, then 15/s): {:+.1} s above it, {:.1} admitted control-plane calls/s; {}/{} versions checked (number, CodeSha256, description){}",
        r.path.calls(),
        r.path.control_calls() * r.functions,
        r.quota_floor_s(),
        r.wall_s - r.quota_floor_s(),
        control / r.wall_s,
        r.published,
        r.functions,
        if r.errors.is_empty() {
            String::new()
        } else {
            format!("; errors: {}", r.errors.join("; "))
        }
    ));
    if !r.succeeded() {
        wall = wall.pass(false);
    }
    vec![
        wall,
        Row::report(
            SCENARIO,
            &format!("{p}: control-plane calls"),
            control,
            "calls",
        )
        .note(format!(
            "admitted, by operation: {}; GetFunction (its own 100/s bucket): {}",
            ops(&r.calls
                .iter()
                .filter(|(op, _)| group(op) == Group::ControlPlane)
                .map(|(op, n)| (op.clone(), *n))
                .collect()),
            r.reads()
        )),
        Row::report(
            SCENARIO,
            &format!("{p}: 429s received"),
            r.all_throttled() as f64,
            "responses",
        )
        .note(format!(
            "by operation: {}; {} gave up {} time(s) (each call sent again 1 s later){}",
            ops(&r.throttled),
            r.retry.label(),
            r.gave_up,
            match r.retry {
                Retry::Sdk => format!(
                    "; standard mode: {MAX_ATTEMPTS} attempts, exponential backoff with jitter from 1 s (at most 20 s), its retry quota"
                ),
                Retry::Worker => String::new(),
            }
        )),
        Row::report(
            SCENARIO,
            &format!("{p}: control-plane calls per function"),
            control / n,
            "calls",
        )
        .note(format!(
            "attempts per function with the 429s: {:.2} control-plane, {:.2} GetFunction",
            (control + r.control_throttled() as f64) / n,
            (r.reads() + r.throttled.get("GetFunction").copied().unwrap_or(0)) as f64 / n
        )),
    ]
}
