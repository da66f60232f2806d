//! Telemetry: the tracing subscriber (JSON or text lines, every job's lines
//! inside a span carrying job id, pipeline, execution id and revision), the
//! worker's counters in Prometheus text format, its health flag, and the tiny
//! HTTP server behind `--metrics-listen` (`/metrics`, `/healthz`).
//!
//! This module knows outcome names, not jobs: it never sees job data, so it
//! cannot leak credentials or secret configuration.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::{EnvFilter, Registry};

/// `--log-format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// One JSON object per line, with the current span (`span`) and every
    /// enclosing span (`spans`), so SDK lines inside a job carry the job's fields too.
    Json,
    /// Human-readable lines.
    Text,
}

impl std::str::FromStr for LogFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "json" => Ok(LogFormat::Json),
            "text" => Ok(LogFormat::Text),
            other => Err(format!("log format must be json or text, not '{other}'")),
        }
    }
}

/// A subscriber writing to `writer` in `format`, filtered by `RUST_LOG`
/// (default `info`). The binary installs it globally; tests build one over a
/// buffer to inspect what the worker logs.
pub fn subscriber<W>(
    format: LogFormat,
    writer: W,
    filter: EnvFilter,
) -> Box<dyn tracing::Subscriber + Send + Sync>
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let registry = Registry::default().with(filter);
    match format {
        LogFormat::Json => Box::new(
            registry.with(
                tracing_subscriber::fmt::layer()
                    .json()
                    .with_current_span(true)
                    .with_span_list(true)
                    .with_target(false)
                    .with_writer(writer),
            ),
        ),
        LogFormat::Text => Box::new(
            registry.with(
                tracing_subscriber::fmt::layer()
                    .with_target(false)
                    .with_ansi(false)
                    .with_writer(writer),
            ),
        ),
    }
}

/// `RUST_LOG`, or `info` when unset or invalid.
pub fn env_filter() -> EnvFilter {
    EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"))
}

/// Upper bounds (seconds) of the job duration histogram.
const DURATION_BUCKETS: [f64; 11] = [
    0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0, 14400.0,
];

/// The worker's counters. Cheap to update from any task.
#[derive(Debug, Default)]
pub struct Metrics {
    pub poll_calls: AtomicU64,
    pub poll_errors: AtomicU64,
    /// Jobs PollForJobs handed to this worker (before acknowledging).
    pub jobs_polled: AtomicU64,
    pub jobs_in_flight: AtomicI64,
    /// Jobs by outcome: succeeded, continued, handed_back, failed, dropped.
    outcomes: Mutex<BTreeMap<&'static str, u64>>,
    /// Failed jobs by failure type.
    failures: Mutex<BTreeMap<&'static str, u64>>,
    /// Results that could not be posted (gave up or already terminal).
    pub result_errors: AtomicU64,
    durations: Mutex<Histogram>,
    healthy: AtomicBool,
}

/// Releases whose shift is paused and whose rollback is stalled, by
/// release id, as the release engine last decided (process-wide: the
/// engine and the metrics endpoint meet here).
static BLOCKED: Mutex<(BTreeSet<String>, BTreeSet<String>)> =
    Mutex::new((BTreeSet::new(), BTreeSet::new()));

/// Records whether release `id`'s shift is paused and its rollback
/// stalled; true when either just began.
pub fn release_blocked(id: &str, paused: bool, rollback_stalled: bool) -> bool {
    let mut guard = BLOCKED.lock().unwrap_or_else(|e| e.into_inner());
    let (p, s) = &mut *guard;
    let mut began = false;
    for (set, on) in [(p, paused), (s, rollback_stalled)] {
        if on {
            began |= set.insert(id.to_string());
        } else {
            set.remove(id);
        }
    }
    began
}

/// How many releases are paused, and how many rollbacks stalled.
pub fn releases_blocked() -> (usize, usize) {
    let b = BLOCKED.lock().unwrap_or_else(|e| e.into_inner());
    (b.0.len(), b.1.len())
}

#[derive(Debug, Default)]
struct Histogram {
    counts: [u64; DURATION_BUCKETS.len()],
    count: u64,
    sum: f64,
}

impl Metrics {
    pub fn new() -> Arc<Metrics> {
        let m = Metrics::default();
        m.healthy.store(true, Ordering::Relaxed);
        Arc::new(m)
    }

    pub fn job_outcome(&self, outcome: &'static str) {
        *self.outcomes.lock().unwrap().entry(outcome).or_default() += 1;
    }

    pub fn job_failure(&self, failure_type: &'static str) {
        *self
            .failures
            .lock()
            .unwrap()
            .entry(failure_type)
            .or_default() += 1;
    }

    /// How many jobs ended with `outcome` so far.
    pub fn outcome_count(&self, outcome: &str) -> u64 {
        self.outcomes
            .lock()
            .unwrap()
            .get(outcome)
            .copied()
            .unwrap_or(0)
    }

    pub fn job_duration(&self, d: Duration) {
        let s = d.as_secs_f64();
        let mut h = self.durations.lock().unwrap();
        for (i, b) in DURATION_BUCKETS.iter().enumerate() {
            if s <= *b {
                h.counts[i] += 1;
            }
        }
        h.count += 1;
        h.sum += s;
    }

    pub fn set_healthy(&self, healthy: bool) {
        self.healthy.store(healthy, Ordering::Relaxed);
    }

    pub fn is_healthy(&self) -> bool {
        self.healthy.load(Ordering::Relaxed)
    }

    /// Prometheus text exposition format 0.0.4.
    pub fn render(&self) -> String {
        use std::fmt::Write;
        let mut o = String::new();
        let _ = writeln!(
            o,
            "# HELP pipeline_canary_jobs_total Jobs by how they ended."
        );
        let _ = writeln!(o, "# TYPE pipeline_canary_jobs_total counter");
        let outcomes = self.outcomes.lock().unwrap().clone();
        for name in [
            "succeeded",
            "continued",
            "handed_back",
            "failed",
            "dropped",
            "abandoned",
        ] {
            let _ = writeln!(
                o,
                "pipeline_canary_jobs_total{{outcome=\"{name}\"}} {}",
                outcomes.get(name).copied().unwrap_or(0)
            );
        }
        let _ = writeln!(
            o,
            "# HELP pipeline_canary_job_failures_total Failed jobs by CodePipeline failure type."
        );
        let _ = writeln!(o, "# TYPE pipeline_canary_job_failures_total counter");
        for (t, n) in self.failures.lock().unwrap().iter() {
            let _ = writeln!(o, "pipeline_canary_job_failures_total{{type=\"{t}\"}} {n}");
        }
        for (name, help, v) in [
            (
                "pipeline_canary_poll_calls_total",
                "PollForJobs calls made.",
                self.poll_calls.load(Ordering::Relaxed),
            ),
            (
                "pipeline_canary_poll_errors_total",
                "PollForJobs calls that failed.",
                self.poll_errors.load(Ordering::Relaxed),
            ),
            (
                "pipeline_canary_jobs_polled_total",
                "Jobs PollForJobs returned (before AcknowledgeJob).",
                self.jobs_polled.load(Ordering::Relaxed),
            ),
            (
                "pipeline_canary_result_errors_total",
                "Job results that could not be posted.",
                self.result_errors.load(Ordering::Relaxed),
            ),
        ] {
            let _ = writeln!(o, "# HELP {name} {help}\n# TYPE {name} counter\n{name} {v}");
        }
        let _ = writeln!(
            o,
            "# HELP pipeline_canary_jobs_in_flight Jobs acknowledged and not yet reported.\n# TYPE pipeline_canary_jobs_in_flight gauge\npipeline_canary_jobs_in_flight {}",
            self.jobs_in_flight.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            o,
            "# HELP pipeline_canary_healthy 1 when the worker can poll its action type.\n# TYPE pipeline_canary_healthy gauge\npipeline_canary_healthy {}",
            u8::from(self.is_healthy())
        );
        let (paused, stalled) = releases_blocked();
        let _ = writeln!(
            o,
            "# HELP pipeline_canary_releases_paused Releases this worker holds whose shift cannot observe or act (an AWS outage, a missing permission).\n# TYPE pipeline_canary_releases_paused gauge\npipeline_canary_releases_paused {paused}"
        );
        let _ = writeln!(
            o,
            "# HELP pipeline_canary_rollback_stalled Releases this worker holds whose rollback cannot proceed (its calls fail); the job summary and the log say why.\n# TYPE pipeline_canary_rollback_stalled gauge\npipeline_canary_rollback_stalled {stalled}"
        );
        let h = self.durations.lock().unwrap();
        let _ = writeln!(
            o,
            "# HELP pipeline_canary_job_duration_seconds Time from poll to posted result."
        );
        let _ = writeln!(o, "# TYPE pipeline_canary_job_duration_seconds histogram");
        for (i, b) in DURATION_BUCKETS.iter().enumerate() {
            let _ = writeln!(
                o,
                "pipeline_canary_job_duration_seconds_bucket{{le=\"{b}\"}} {}",
                h.counts[i]
            );
        }
        let _ = writeln!(
            o,
            "pipeline_canary_job_duration_seconds_bucket{{le=\"+Inf\"}} {}",
            h.count
        );
        let _ = writeln!(o, "pipeline_canary_job_duration_seconds_sum {}", h.sum);
        let _ = writeln!(o, "pipeline_canary_job_duration_seconds_count {}", h.count);
        o
    }
}

/// Serves `/metrics` and `/healthz` (200 healthy, 503 unhealthy) on `listener`
/// until the task is dropped/aborted.
pub async fn serve(
    listener: tokio::net::TcpListener,
    metrics: Arc<Metrics>,
) -> std::io::Result<()> {
    use axum::http::{StatusCode, header};
    use axum::routing::get;
    let m1 = metrics.clone();
    let app = axum::Router::new()
        .route(
            "/metrics",
            get(move || {
                let m = m1.clone();
                async move {
                    (
                        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
                        m.render(),
                    )
                }
            }),
        )
        .route(
            "/healthz",
            get(move || {
                let m = metrics.clone();
                async move {
                    if m.is_healthy() {
                        (StatusCode::OK, "ok\n")
                    } else {
                        (StatusCode::SERVICE_UNAVAILABLE, "unhealthy\n")
                    }
                }
            }),
        );
    axum::serve(listener, app).await
}

/// Binds `addr` for [`serve`].
pub async fn bind(addr: SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(addr).await
}

/// One `GET` of a plain-HTTP `url` (`http://host:port/path`), for
/// `pipeline-canary healthcheck` in images without curl. Returns the status.
pub async fn probe(url: &str, timeout: Duration) -> Result<u16, String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("{url}: only http:// URLs are supported"))?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let addr = if authority.contains(':') {
        authority.to_string()
    } else {
        format!("{authority}:80")
    };
    let call = async {
        let mut s = tokio::net::TcpStream::connect(&addr)
            .await
            .map_err(|e| format!("connect {addr}: {e}"))?;
        s.write_all(format!("GET {path} HTTP/1.0\r\nHost: {authority}\r\n\r\n").as_bytes())
            .await
            .map_err(|e| e.to_string())?;
        let mut head = vec![0u8; 64];
        let n = s.read(&mut head).await.map_err(|e| e.to_string())?;
        let line = String::from_utf8_lossy(&head[..n]).into_owned();
        line.split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .ok_or_else(|| format!("not an HTTP answer: {line:?}"))
    };
    tokio::time::timeout(timeout, call)
        .await
        .map_err(|_| format!("{url}: no answer within {timeout:?}"))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn serves_metrics_and_health_and_probe_reads_them() {
        let listener = bind("127.0.0.1:0".parse().unwrap()).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let m = Metrics::new();
        let server = tokio::spawn(serve(listener, m.clone()));
        let t = Duration::from_secs(2);
        assert_eq!(probe(&format!("http://{addr}/healthz"), t).await, Ok(200));
        m.set_healthy(false);
        assert_eq!(probe(&format!("http://{addr}/healthz"), t).await, Ok(503));
        assert_eq!(probe(&format!("http://{addr}/metrics"), t).await, Ok(200));
        assert_eq!(probe(&format!("http://{addr}/nope"), t).await, Ok(404));
        assert!(probe("https://example.com/", t).await.is_err());
        server.abort();
        let _ = server.await;
        assert!(probe(&format!("http://{addr}/healthz"), t).await.is_err());
    }

    #[test]
    fn renders_prometheus_text() {
        let m = Metrics::new();
        m.poll_calls.fetch_add(3, Ordering::Relaxed);
        m.job_outcome("succeeded");
        m.job_outcome("failed");
        m.job_failure("JobFailed");
        m.job_duration(Duration::from_millis(300));
        m.job_duration(Duration::from_secs(20));
        m.set_healthy(false);
        let t = m.render();
        assert!(
            t.contains("pipeline_canary_jobs_total{outcome=\"succeeded\"} 1\n"),
            "{t}"
        );
        assert!(
            t.contains("pipeline_canary_jobs_total{outcome=\"handed_back\"} 0\n"),
            "{t}"
        );
        assert!(
            t.contains("pipeline_canary_job_failures_total{type=\"JobFailed\"} 1\n"),
            "{t}"
        );
        assert!(t.contains("pipeline_canary_poll_calls_total 3\n"), "{t}");
        assert!(
            t.contains("pipeline_canary_job_duration_seconds_bucket{le=\"0.5\"} 1\n"),
            "{t}"
        );
        assert!(
            t.contains("pipeline_canary_job_duration_seconds_bucket{le=\"30\"} 2\n"),
            "{t}"
        );
        assert!(
            t.contains("pipeline_canary_job_duration_seconds_count 2\n"),
            "{t}"
        );
        assert!(t.contains("pipeline_canary_healthy 0\n"), "{t}");
    }

    #[test]
    fn log_formats_parse() {
        assert_eq!("json".parse::<LogFormat>(), Ok(LogFormat::Json));
        assert_eq!("text".parse::<LogFormat>(), Ok(LogFormat::Text));
        assert!("yaml".parse::<LogFormat>().is_err());
    }
}
