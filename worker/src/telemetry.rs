//! Telemetry: the tracing subscriber (JSON or text lines, every job's lines
//! inside a span carrying job id, pipeline, execution id and revision), the
//! worker's metrics (kept and encoded by `prometheus-client`, in the
//! OpenMetrics text format Prometheus scrapes), its health flag, and the
//! tiny HTTP server behind `--metrics-listen` (`/metrics`, `/healthz`).
//!
//! This module knows outcome names, not jobs: it never sees job data, so it
//! cannot leak credentials or secret configuration.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::{Registry as MetricRegistry, Unit};

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

/// How jobs end, each exposed from the start (0 until it happens).
const OUTCOMES: [&str; 6] = [
    "succeeded",
    "continued",
    "handed_back",
    "failed",
    "dropped",
    "abandoned",
];

/// One label (`outcome`, `type`) of a counter family.
type Label = [(&'static str, String); 1];

/// The worker's metrics, kept and exposed by `prometheus-client` (the
/// Prometheus project's Rust client). Cheap to update from any task.
#[derive(Debug)]
pub struct Metrics {
    pub poll_calls: Counter,
    pub poll_errors: Counter,
    /// Jobs PollForJobs handed to this worker (before acknowledging).
    pub jobs_polled: Counter,
    pub jobs_in_flight: Gauge,
    /// Jobs by outcome: succeeded, continued, handed_back, failed, dropped,
    /// abandoned.
    outcomes: Family<Label, Counter>,
    /// Failed jobs by failure type.
    failures: Family<Label, Counter>,
    /// Results that could not be posted (gave up or already terminal).
    pub result_errors: Counter,
    durations: Histogram,
    healthy: Gauge,
    /// Set from [`releases_blocked`] when the metrics are rendered.
    releases_paused: Gauge,
    rollback_stalled: Gauge,
    registry: MetricRegistry,
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

/// `Content-Type` of [`Metrics::render`]: the OpenMetrics text format,
/// which Prometheus scrapes natively.
pub const METRICS_CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

impl Metrics {
    pub fn new() -> Arc<Metrics> {
        let m = Metrics {
            poll_calls: Counter::default(),
            poll_errors: Counter::default(),
            jobs_polled: Counter::default(),
            jobs_in_flight: Gauge::default(),
            outcomes: Family::default(),
            failures: Family::default(),
            result_errors: Counter::default(),
            durations: Histogram::new(DURATION_BUCKETS),
            healthy: Gauge::default(),
            releases_paused: Gauge::default(),
            rollback_stalled: Gauge::default(),
            registry: MetricRegistry::default(),
        };
        m.healthy.set(1);
        for outcome in OUTCOMES {
            drop(
                m.outcomes
                    .get_or_create(&[("outcome", outcome.to_string())]),
            );
        }
        let mut registry = MetricRegistry::default();
        // Counters are registered without `_total`: the encoder appends it
        // to the samples (`pipeline_canary_jobs_total{outcome="…"}`), as it
        // appends the full stop to each help text.
        registry.register(
            "pipeline_canary_jobs",
            "Jobs by how they ended",
            m.outcomes.clone(),
        );
        registry.register(
            "pipeline_canary_job_failures",
            "Failed jobs by CodePipeline failure type",
            m.failures.clone(),
        );
        registry.register(
            "pipeline_canary_poll_calls",
            "PollForJobs calls made",
            m.poll_calls.clone(),
        );
        registry.register(
            "pipeline_canary_poll_errors",
            "PollForJobs calls that failed",
            m.poll_errors.clone(),
        );
        registry.register(
            "pipeline_canary_jobs_polled",
            "Jobs PollForJobs returned (before AcknowledgeJob)",
            m.jobs_polled.clone(),
        );
        registry.register(
            "pipeline_canary_result_errors",
            "Job results that could not be posted",
            m.result_errors.clone(),
        );
        registry.register(
            "pipeline_canary_jobs_in_flight",
            "Jobs acknowledged and not yet reported",
            m.jobs_in_flight.clone(),
        );
        registry.register(
            "pipeline_canary_healthy",
            "1 when the worker can poll its action type",
            m.healthy.clone(),
        );
        registry.register(
            "pipeline_canary_releases_paused",
            "Releases this worker holds whose shift cannot observe or act (an AWS outage, a missing permission)",
            m.releases_paused.clone(),
        );
        registry.register(
            "pipeline_canary_rollback_stalled",
            "Releases this worker holds whose rollback cannot proceed (its calls fail); the job summary and the log say why",
            m.rollback_stalled.clone(),
        );
        registry.register_with_unit(
            "pipeline_canary_job_duration",
            "Time from poll to posted result",
            Unit::Seconds,
            m.durations.clone(),
        );
        Arc::new(Metrics { registry, ..m })
    }

    pub fn job_outcome(&self, outcome: &'static str) {
        self.outcomes
            .get_or_create(&[("outcome", outcome.to_string())])
            .inc();
    }

    pub fn job_failure(&self, failure_type: &'static str) {
        self.failures
            .get_or_create(&[("type", failure_type.to_string())])
            .inc();
    }

    /// How many jobs ended with `outcome` so far.
    pub fn outcome_count(&self, outcome: &str) -> u64 {
        self.outcomes
            .get(&[("outcome", outcome.to_string())])
            .map_or(0, |c| c.get())
    }

    pub fn job_duration(&self, d: Duration) {
        self.durations.observe(d.as_secs_f64());
    }

    pub fn set_healthy(&self, healthy: bool) {
        self.healthy.set(i64::from(healthy));
    }

    pub fn is_healthy(&self) -> bool {
        self.healthy.get() == 1
    }

    /// The OpenMetrics text exposition ([`METRICS_CONTENT_TYPE`]).
    pub fn render(&self) -> String {
        let (paused, stalled) = releases_blocked();
        self.releases_paused
            .set(i64::try_from(paused).unwrap_or(i64::MAX));
        self.rollback_stalled
            .set(i64::try_from(stalled).unwrap_or(i64::MAX));
        let mut o = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut o, &self.registry);
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
                async move { ([(header::CONTENT_TYPE, METRICS_CONTENT_TYPE)], m.render()) }
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
        m.poll_calls.inc_by(3);
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
            t.contains("pipeline_canary_job_duration_seconds_bucket{le=\"30.0\"} 2\n"),
            "{t}"
        );
        assert!(
            t.contains("pipeline_canary_job_duration_seconds_count 2\n"),
            "{t}"
        );
        assert!(t.contains("pipeline_canary_healthy 0\n"), "{t}");
        // OpenMetrics: counters typed under their family name, the
        // histogram with its unit, and the end marker.
        assert!(t.contains("# TYPE pipeline_canary_jobs counter\n"), "{t}");
        assert!(
            t.contains("# UNIT pipeline_canary_job_duration_seconds seconds\n"),
            "{t}"
        );
        assert!(t.contains("pipeline_canary_releases_paused "), "{t}");
        assert!(t.contains("pipeline_canary_rollback_stalled "), "{t}");
        assert!(t.ends_with("# EOF\n"), "{t}");
    }

    #[test]
    fn log_formats_parse() {
        assert_eq!("json".parse::<LogFormat>(), Ok(LogFormat::Json));
        assert_eq!("text".parse::<LogFormat>(), Ok(LogFormat::Text));
        assert!("yaml".parse::<LogFormat>().is_err());
    }
}
