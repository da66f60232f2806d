//! The shared limiter for Lambda control-plane calls: every call of every
//! job of the worker passes through one [`Limiter`], which bounds how many
//! run at once (a semaphore) and how many start per second (evenly spaced
//! slots), and retries the answers that mean "later" with exponential
//! backoff (backon).
//!
//! Retry policy: `TooManyRequestsException` (429), `ResourceConflictException`
//! (409: an update is still in progress), throttling codes, 5xx and transport
//! errors are retried — first after `min_backoff`, doubling with jitter, at
//! most `max_backoff` apart, at most `max_attempts` attempts in all; every
//! attempt takes a fresh rate slot. Anything else is returned at once.
//!
//! Defaults are safe for a 60-function release under Lambda's quotas
//! (control-plane APIs: 15 requests/s per account and region; GetFunction:
//! 100/s): [`LimiterConfig::control_plane`] and [`LimiterConfig::reads`].
//! Knows no Lambda operation; `lambda.rs` classifies SDK errors into
//! [`AwsCallError`].

use std::fmt;
use std::future::Future;
use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};
use tokio::sync::{Mutex, Semaphore};
use tokio::time::Instant;

use crate::report::FailureKind;

/// Settings of one limiter.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LimiterConfig {
    /// Calls in flight at once.
    pub concurrency: usize,
    /// Calls started per second (evenly spaced).
    pub rate_per_second: f64,
    /// Attempts per call, the first included.
    pub max_attempts: usize,
    pub min_backoff: Duration,
    pub max_backoff: Duration,
}

impl LimiterConfig {
    /// Mutating and other control-plane calls (UpdateFunctionCode,
    /// PublishVersion, GetAlias, ListVersionsByFunction): 8 at once, 10/s —
    /// two thirds of Lambda's 15/s, leaving room for the rest of the account.
    pub fn control_plane() -> Self {
        LimiterConfig {
            concurrency: 8,
            rate_per_second: 10.0,
            max_attempts: 10,
            min_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(10),
        }
    }

    /// GetFunction (its own 100/s quota): 16 at once, 40/s.
    pub fn reads() -> Self {
        LimiterConfig {
            concurrency: 16,
            rate_per_second: 40.0,
            ..Self::control_plane()
        }
    }
}

/// How an AWS call failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsCallError {
    /// The operation, e.g. `UpdateFunctionCode`.
    pub operation: &'static str,
    /// AWS error code; `None` for transport errors and timeouts.
    pub code: Option<String>,
    pub message: String,
    pub status: Option<u16>,
}

impl AwsCallError {
    /// Whether waiting and trying again can help.
    pub fn retryable(&self) -> bool {
        let code = self.code.as_deref().unwrap_or("");
        self.code.is_none()
            || code == "TooManyRequestsException"
            || code == "ResourceConflictException"
            || code.contains("Throttl")
            || code == "ServiceException"
            || code == "EC2ThrottledException"
            || code == "SlowDown"
            || code == "RequestTimeout"
            || code == "InternalError"
            || self.status.is_some_and(|s| s >= 500 || s == 429)
    }

    pub fn is(&self, code: &str) -> bool {
        self.code.as_deref() == Some(code)
    }

    /// The failure type when this error ends the job (BRIEF §3). An update
    /// that stays in conflict is a failed release (JobFailed).
    pub fn failure_kind(&self) -> FailureKind {
        FailureKind::from_aws_error(self.code.as_deref(), self.status)
    }
}

impl fmt::Display for AwsCallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.code {
            Some(c) => write!(f, "{} failed: {c}: {}", self.operation, self.message),
            None => write!(f, "{} failed: {}", self.operation, self.message),
        }
    }
}

impl std::error::Error for AwsCallError {}

/// A concurrency and rate limiter with retries, shared by all jobs.
#[derive(Debug)]
pub struct Limiter {
    config: LimiterConfig,
    slots: Semaphore,
    /// The start time of the next rate slot.
    next: Mutex<Instant>,
}

impl Limiter {
    pub fn new(config: LimiterConfig) -> Self {
        Limiter {
            slots: Semaphore::new(config.concurrency.max(1)),
            next: Mutex::new(Instant::now()),
            config,
        }
    }

    pub fn config(&self) -> &LimiterConfig {
        &self.config
    }

    /// Waits for the next rate slot.
    async fn pace(&self) {
        let rate = self.config.rate_per_second;
        if rate.is_nan() || rate <= 0.0 || rate.is_infinite() {
            return;
        }
        let interval = Duration::from_secs_f64(1.0 / rate);
        let at = {
            let mut next = self.next.lock().await;
            let now = Instant::now();
            let at = (*next).max(now);
            *next = at + interval;
            at
        };
        tokio::time::sleep_until(at).await;
    }

    /// Runs `call` under the limits, retrying retryable failures as the
    /// module doc says. Returns the last error when attempts run out.
    pub async fn run<T, F, Fut>(&self, mut call: F) -> Result<T, AwsCallError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, AwsCallError>>,
    {
        let backoff = ExponentialBuilder::default()
            .with_min_delay(self.config.min_backoff)
            .with_max_delay(self.config.max_backoff)
            .with_factor(2.0)
            .with_jitter()
            .with_max_times(self.config.max_attempts.saturating_sub(1));
        let attempt = || {
            let fut = call();
            async move {
                let _permit = self.slots.acquire().await.expect("never closed");
                self.pace().await;
                fut.await
            }
        };
        attempt
            .retry(backoff)
            .sleep(tokio::time::sleep)
            .when(AwsCallError::retryable)
            .notify(|e, d| {
                tracing::debug!(error = %e, retry_in_ms = d.as_millis() as u64, "Lambda call retried");
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    fn err(code: &str, status: u16) -> AwsCallError {
        AwsCallError {
            operation: "PublishVersion",
            code: Some(code.into()),
            message: "m".into(),
            status: Some(status),
        }
    }

    #[test]
    fn classification() {
        assert!(err("TooManyRequestsException", 429).retryable());
        assert!(err("ResourceConflictException", 409).retryable());
        assert!(err("ServiceException", 500).retryable());
        assert!(!err("ResourceNotFoundException", 404).retryable());
        assert!(!err("PreconditionFailedException", 412).retryable());
        assert_eq!(
            err("ResourceConflictException", 409).failure_kind(),
            FailureKind::JobFailed
        );
        assert_eq!(
            err("AccessDeniedException", 403).failure_kind(),
            FailureKind::PermissionError
        );
        assert_eq!(
            err("TooManyRequestsException", 429).failure_kind(),
            FailureKind::SystemUnavailable
        );
    }

    #[tokio::test]
    async fn paces_calls_bounds_concurrency_and_retries_conflicts() {
        let l = Arc::new(Limiter::new(LimiterConfig {
            concurrency: 2,
            rate_per_second: 100.0,
            max_attempts: 4,
            min_backoff: Duration::from_millis(1),
            max_backoff: Duration::from_millis(5),
        }));
        let in_flight = Arc::new(AtomicUsize::new(0));
        let max = Arc::new(AtomicUsize::new(0));
        let start = Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..10 {
            let (l, in_flight, max) = (l.clone(), in_flight.clone(), max.clone());
            tasks.push(tokio::spawn(async move {
                l.run(|| {
                    let (in_flight, max) = (in_flight.clone(), max.clone());
                    async move {
                        let n = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                        max.fetch_max(n, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(5)).await;
                        in_flight.fetch_sub(1, Ordering::SeqCst);
                        Ok::<_, AwsCallError>(())
                    }
                })
                .await
            }));
        }
        for t in tasks {
            t.await.unwrap().unwrap();
        }
        assert!(max.load(Ordering::SeqCst) <= 2);
        // 10 calls at 100/s: the last starts at 90 ms.
        assert!(
            start.elapsed() >= Duration::from_millis(90),
            "{:?}",
            start.elapsed()
        );

        // A conflict twice, then success: 3 attempts.
        let attempts = AtomicUsize::new(0);
        let r = l
            .run(|| {
                let n = attempts.fetch_add(1, Ordering::SeqCst);
                async move {
                    if n < 2 {
                        Err(err("ResourceConflictException", 409))
                    } else {
                        Ok(n)
                    }
                }
            })
            .await;
        assert_eq!(r, Ok(2));
        // Attempts run out: the last error comes back.
        let attempts = AtomicUsize::new(0);
        let r: Result<(), _> = l
            .run(|| {
                attempts.fetch_add(1, Ordering::SeqCst);
                async { Err(err("TooManyRequestsException", 429)) }
            })
            .await;
        assert_eq!(
            r.unwrap_err().code.as_deref(),
            Some("TooManyRequestsException")
        );
        assert_eq!(attempts.load(Ordering::SeqCst), 4);
        // Not retryable: one attempt.
        let attempts = AtomicUsize::new(0);
        let _ = l
            .run(|| {
                attempts.fetch_add(1, Ordering::SeqCst);
                async { Err::<(), _>(err("ResourceNotFoundException", 404)) }
            })
            .await;
        assert_eq!(attempts.load(Ordering::SeqCst), 1);
    }
}
