//! The shared limiter for Lambda calls: every call of every job of the
//! worker passes through one [`Limiter`] per Lambda quota, which bounds how
//! many run at once (a semaphore) and how many start per second (a token
//! bucket: `rate_per_second` tokens a second, holding at most one second's
//! worth, so a quiet limiter lets a short burst through at once), and
//! retries the answers that mean "later" with exponential backoff (backon).
//!
//! Retry policy: `TooManyRequestsException` (429), `ResourceConflictException`
//! (409: an update is still in progress), throttling codes, 5xx and transport
//! errors are retried — first after `min_backoff`, doubling with jitter, at
//! most `max_backoff` apart, at most `max_attempts` attempts in all; a
//! `Retry-After` the service sent is waited at least (capped at
//! `max_backoff`), and a throttle also holds back every other call of the
//! limiter for that long; every attempt takes a fresh token. Anything else
//! is returned at once.
//!
//! Defaults are Lambda's documented quotas, per account and region, which
//! cannot be increased ("Lambda quotas", API requests): GetFunction 100
//! requests/s; GetPolicy 15/s; the remainder of the control plane
//! (excludes invocation, GetFunction and GetPolicy) 15/s across all APIs,
//! not per API. [`LimiterConfig::control_plane`] and
//! [`LimiterConfig::reads`] use the full figures: the quota cannot be
//! raised, so holding back a margin would slow every release for good,
//! while another client of the account that meets a throttle retries (as
//! AWS SDKs do by default, and as this limiter does). Knows no Lambda
//! operation; `lambda.rs` classifies SDK errors into [`AwsError`].

use std::future::Future;
use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};
use tokio::sync::{Mutex, Semaphore};
use tokio::time::Instant;

pub use crate::aws_error::AwsError;

/// Lambda's control-plane quota (requests per second per account and
/// region, all APIs except invocation, GetFunction and GetPolicy together).
pub const CONTROL_PLANE_QUOTA: f64 = 15.0;
/// Lambda's GetFunction quota (requests per second per account and region).
pub const GET_FUNCTION_QUOTA: f64 = 100.0;

/// Settings of one limiter.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LimiterConfig {
    /// Calls in flight at once.
    pub concurrency: usize,
    /// Calls started per second (a token bucket holding one second's worth).
    pub rate_per_second: f64,
    /// Attempts per call, the first included.
    pub max_attempts: usize,
    pub min_backoff: Duration,
    pub max_backoff: Duration,
}

impl LimiterConfig {
    /// Mutating and other control-plane calls (UpdateFunctionCode,
    /// PublishVersion, GetAlias, ListVersionsByFunction, UpdateAlias, …):
    /// 8 at once, 15/s — Lambda's quota for all of them together.
    pub fn control_plane() -> Self {
        LimiterConfig {
            concurrency: 8,
            rate_per_second: CONTROL_PLANE_QUOTA,
            max_attempts: 10,
            min_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(10),
        }
    }

    /// GetFunction (its own quota): 16 at once, 100/s.
    pub fn reads() -> Self {
        LimiterConfig {
            concurrency: 16,
            rate_per_second: GET_FUNCTION_QUOTA,
            ..Self::control_plane()
        }
    }
}

/// Whether the limiter tries a failed call again: every transient error
/// (the one rule of [`AwsError::is_transient`]), and Lambda's
/// `ResourceConflictException` (an update still in progress).
pub fn retryable(e: &AwsError) -> bool {
    e.is_transient() || e.is("ResourceConflictException")
}

/// A concurrency and rate limiter with retries, shared by all jobs.
#[derive(Debug)]
pub struct Limiter {
    config: LimiterConfig,
    slots: Semaphore,
    /// The token bucket as a theoretical arrival time (GCRA): a call may
    /// start once `tat − burst tolerance` has passed.
    tat: Mutex<Instant>,
}

/// When the call asking at `now` may start, and the bucket's next `tat`
/// (GCRA over `interval` with `tolerance` = (burst − 1) × interval; a
/// token bucket of `burst` tokens refilled every `interval`, starting full).
pub fn token_slot(
    tat: Instant,
    now: Instant,
    interval: Duration,
    tolerance: Duration,
) -> (Instant, Instant) {
    let t = tat.max(now);
    let at = now.max(t.checked_sub(tolerance).unwrap_or(now));
    (at, t + interval)
}

/// The bucket's `tat` after a throttle that holds every call back until
/// `until`: the bucket is empty then (the next call starts at `until`, the
/// one after it an interval later), never fuller than it already was.
pub fn held_back(tat: Instant, until: Instant, tolerance: Duration) -> Instant {
    tat.max(until + tolerance)
}

impl Limiter {
    pub fn new(config: LimiterConfig) -> Self {
        Limiter {
            slots: Semaphore::new(config.concurrency.max(1)),
            tat: Mutex::new(Instant::now()),
            config,
        }
    }

    pub fn config(&self) -> &LimiterConfig {
        &self.config
    }

    /// Waits for the next token.
    async fn pace(&self) {
        let rate = self.config.rate_per_second;
        if rate.is_nan() || rate <= 0.0 || rate.is_infinite() {
            return;
        }
        let interval = Duration::from_secs_f64(1.0 / rate);
        // One second's worth of tokens, at least one.
        let tolerance = interval.mul_f64((rate.floor() - 1.0).max(0.0));
        let at = {
            let mut tat = self.tat.lock().await;
            let (at, next) = token_slot(*tat, Instant::now(), interval, tolerance);
            *tat = next;
            at
        };
        tokio::time::sleep_until(at).await;
    }

    /// A throttle answered: no call of this limiter starts before `until`.
    async fn hold_back(&self, until: Instant) {
        let rate = self.config.rate_per_second;
        if rate.is_nan() || rate <= 0.0 || rate.is_infinite() {
            return;
        }
        let interval = Duration::from_secs_f64(1.0 / rate);
        let tolerance = interval.mul_f64((rate.floor() - 1.0).max(0.0));
        let mut tat = self.tat.lock().await;
        *tat = held_back(*tat, until, tolerance);
    }

    /// One token and one concurrency slot, for a call made outside
    /// [`Limiter::run`] (with its own retries); the slot is held until the
    /// permit is dropped.
    pub async fn slot(&self) -> tokio::sync::SemaphorePermit<'_> {
        let permit = self.slots.acquire().await.expect("never closed");
        self.pace().await;
        permit
    }

    /// Runs `call` under the limits, retrying retryable failures as the
    /// module doc says. Returns the last error when attempts run out.
    pub async fn run<T, F, Fut>(&self, mut call: F) -> Result<T, AwsError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, AwsError>>,
    {
        let backoff = ExponentialBuilder::default()
            .with_min_delay(self.config.min_backoff)
            .with_max_delay(self.config.max_backoff)
            .with_factor(2.0)
            .with_jitter()
            .with_max_times(self.config.max_attempts.saturating_sub(1));
        let max_backoff = self.config.max_backoff;
        let attempt = || {
            let fut = call();
            async move {
                let result = {
                    let _permit = self.slot().await;
                    fut.await
                };
                if let Err(e) = &result
                    && e.is_throttle()
                {
                    let wait = e
                        .retry_after
                        .unwrap_or(self.config.min_backoff)
                        .min(max_backoff);
                    self.hold_back(Instant::now() + wait).await;
                }
                result
            }
        };
        attempt
            .retry(backoff)
            .sleep(tokio::time::sleep)
            .when(retryable)
            .adjust(|e: &AwsError, d| {
                d.map(|d| d.max(e.retry_after.unwrap_or_default().min(max_backoff)))
            })
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

    fn err(code: &str, status: u16) -> AwsError {
        AwsError {
            operation: "PublishVersion",
            code: Some(code.into()),
            message: "m".into(),
            status: Some(status),
            retry_after: None,
        }
    }

    #[test]
    fn classification() {
        use crate::report::FailureKind;
        assert!(retryable(&err("TooManyRequestsException", 429)));
        assert!(retryable(&err("ResourceConflictException", 409)));
        assert!(retryable(&err("ServiceException", 500)));
        assert!(!retryable(&err("ResourceNotFoundException", 404)));
        assert!(!retryable(&err("PreconditionFailedException", 412)));
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

    #[test]
    fn token_bucket_lets_a_second_of_tokens_through_then_paces() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        // 4/s: interval 250 ms, burst 4 (tolerance 750 ms).
        let (interval, tolerance) = (ms(250), ms(750));
        let mut tat = t0;
        let mut starts = Vec::new();
        for _ in 0..6 {
            let (at, next) = token_slot(tat, t0, interval, tolerance);
            starts.push(at - t0);
            tat = next;
        }
        assert_eq!(starts, vec![ms(0), ms(0), ms(0), ms(0), ms(250), ms(500)]);
        // After a quiet second the bucket is full again.
        let later = t0 + Duration::from_secs(3);
        let (at, _) = token_slot(tat, later, interval, tolerance);
        assert_eq!(at, later);
        // Half a second after the burst's last call (at 500 ms): two
        // tokens came back.
        let t1 = t0 + ms(1000);
        let mut tat = t0 + ms(1500);
        let mut starts = Vec::new();
        for _ in 0..4 {
            let (at, next) = token_slot(tat, t1, interval, tolerance);
            starts.push(at - t1);
            tat = next;
        }
        assert_eq!(starts, vec![ms(0), ms(0), ms(250), ms(500)]);
    }

    #[tokio::test]
    async fn a_throttle_holds_back_every_call_for_its_retry_after() {
        let l = Limiter::new(LimiterConfig {
            concurrency: 4,
            rate_per_second: 100.0,
            max_attempts: 3,
            min_backoff: Duration::from_millis(10),
            max_backoff: Duration::from_secs(5),
        });
        let start = Instant::now();
        let attempts = AtomicUsize::new(0);
        let r = l
            .run(|| {
                let n = attempts.fetch_add(1, Ordering::SeqCst);
                async move {
                    if n == 0 {
                        Err(AwsError {
                            retry_after: Some(Duration::from_millis(300)),
                            ..err("TooManyRequestsException", 429)
                        })
                    } else {
                        Ok(n)
                    }
                }
            })
            .await;
        assert_eq!(r, Ok(1));
        // A lower bound only: no load makes a sleep shorter.
        assert!(
            start.elapsed() >= Duration::from_millis(300),
            "{:?}",
            start.elapsed()
        );
        l.run(|| async { Ok::<_, AwsError>(()) }).await.unwrap();
    }

    /// What the hold-back does to the bucket, on given instants (no clock):
    /// nothing starts before the Retry-After is over, then the calls start
    /// at once and one interval apart, as from an empty bucket.
    #[test]
    fn a_throttle_empties_the_bucket_until_its_retry_after() {
        let ms = Duration::from_millis;
        let t0 = Instant::now();
        // 100/s: interval 10 ms, burst 100 (tolerance 990 ms); a full bucket.
        let (interval, tolerance) = (ms(10), ms(990));
        let tat = held_back(t0, t0 + ms(300), tolerance);
        // Asked during the hold-back: held to its end.
        let (at, _) = token_slot(tat, t0 + ms(100), interval, tolerance);
        assert_eq!(at, t0 + ms(300));
        // Asked right after it: the first call waits for nothing, the next
        // ones one interval each (no longer than one interval, as a 429's
        // Retry-After promises no more).
        let mut tat = tat;
        let mut starts = Vec::new();
        for _ in 0..3 {
            let (at, next) = token_slot(tat, t0 + ms(300), interval, tolerance);
            starts.push(at - t0);
            tat = next;
        }
        assert_eq!(starts, vec![ms(300), ms(310), ms(320)]);
        // A bucket already emptier than the hold-back asks stays so.
        let later = t0 + ms(5_000);
        assert_eq!(held_back(later, t0 + ms(300), tolerance), later);
    }

    #[tokio::test]
    async fn paces_calls_bounds_concurrency_and_retries_conflicts() {
        let l = Arc::new(Limiter::new(LimiterConfig {
            concurrency: 2,
            rate_per_second: 20.0,
            max_attempts: 4,
            min_backoff: Duration::from_millis(1),
            max_backoff: Duration::from_millis(5),
        }));
        let in_flight = Arc::new(AtomicUsize::new(0));
        let max = Arc::new(AtomicUsize::new(0));
        let start = Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..30 {
            let (l, in_flight, max) = (l.clone(), in_flight.clone(), max.clone());
            tasks.push(tokio::spawn(async move {
                l.run(|| {
                    let (in_flight, max) = (in_flight.clone(), max.clone());
                    async move {
                        let n = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                        max.fetch_max(n, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(5)).await;
                        in_flight.fetch_sub(1, Ordering::SeqCst);
                        Ok::<_, AwsError>(())
                    }
                })
                .await
            }));
        }
        for t in tasks {
            t.await.unwrap().unwrap();
        }
        assert!(max.load(Ordering::SeqCst) <= 2);
        // 30 calls at 20/s: 20 from the full bucket, the last 10 one every
        // 50 ms: the last starts at 500 ms (a lower bound only: no load
        // makes the pacing faster).
        assert!(
            start.elapsed() >= Duration::from_millis(490),
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
