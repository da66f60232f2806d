//! The runtime, shaped like mini-redis's server: a poll loop (the `Listener`)
//! that takes jobs while job slots are free, one task per job (the
//! `Handler`) that acknowledges it, drives its [`JobMachine`] and posts
//! exactly one result, and a [`Shutdown`] signal that stops polling at once
//! and has every in-flight job handed back at its next safe point.
//!
//! It knows the job protocol and timing; what a job *does* is the
//! [`ReleaseEngine`]'s business, and the wire is `codepipeline.rs`'s.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use aws_config::SdkConfig;
use rand::Rng;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;
use tracing::Instrument;
use tracing::instrument::WithSubscriber;

use crate::codepipeline::{self, Ack, CallError, JobContext, JobsApi, Posted};
use crate::config::{WorkerConfig, jittered, poll_backoff};
use crate::engine::{EngineError, ReleaseEngine};
use crate::job::PolledJob;
use crate::machine::{JobMachine, Step};
use crate::report::{FailureKind, JobReport};
use crate::telemetry::Metrics;

/// Extra time, after the grace period, that posting the last results may take
/// during a shutdown.
const RESULT_GRACE: Duration = Duration::from_secs(5);

/// Listens for the worker's shutdown (mini-redis's `Shutdown`): each job task
/// holds one. The value is the instant the shutdown began.
#[derive(Debug, Clone)]
pub struct Shutdown {
    rx: watch::Receiver<Option<Instant>>,
    /// Keeps a never-signalled sender alive ([`Shutdown::never`]).
    _never: Option<Arc<watch::Sender<Option<Instant>>>>,
}

impl Shutdown {
    /// A shutdown that never comes (the one-shot `release` command).
    pub fn never() -> Shutdown {
        let (tx, rx) = watch::channel(None);
        Shutdown {
            rx,
            _never: Some(Arc::new(tx)),
        }
    }

    /// True once the worker is shutting down.
    pub fn is_shutdown(&self) -> bool {
        self.rx.borrow().is_some()
    }

    /// When the shutdown began.
    pub fn started(&self) -> Option<Instant> {
        *self.rx.borrow()
    }

    /// Waits for the shutdown (returns at once if it already began).
    pub async fn recv(&mut self) {
        // An error means the sender is gone, which only happens after shutdown.
        let _ = self.rx.wait_for(Option::is_some).await;
    }
}

/// A worker: one poll loop and its job tasks.
pub struct Worker<E: ReleaseEngine> {
    config: WorkerConfig,
    api: Arc<JobsApi>,
    engine: Arc<E>,
    metrics: Arc<Metrics>,
}

/// What a run did, for the caller's last log line and for tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunSummary {
    pub polls: u64,
    pub jobs: u64,
}

impl<E: ReleaseEngine> Worker<E> {
    /// A worker for `config`, calling AWS as `sdk` says (see `aws::load_config`).
    pub fn new(config: WorkerConfig, sdk: &SdkConfig, engine: E) -> Result<Self, String> {
        config.check()?;
        let api = JobsApi::new(
            codepipeline::client(sdk),
            &config.definition,
            config.query_param(),
        );
        Ok(Worker {
            config,
            api: Arc::new(api),
            engine: Arc::new(engine),
            metrics: Metrics::new(),
        })
    }

    /// The worker's counters and health (for `/metrics`, `/healthz` and tests).
    pub fn metrics(&self) -> Arc<Metrics> {
        self.metrics.clone()
    }

    /// Runs until `shutdown` completes, then stops polling, lets in-flight jobs
    /// reach a safe point and be handed back, and returns once every job it
    /// acknowledged has its result.
    ///
    /// The poll loop:
    /// - waits for a free job slot (none free: no call), then polls with
    ///   `maxBatchSize` = the number of free slots;
    /// - a poll that returned jobs polls again at once;
    /// - an empty poll sleeps the poll interval ±20 % jitter;
    /// - a failed poll (throttling, 5xx, transport error,
    ///   `ActionTypeNotFoundException`, anything) sleeps per
    ///   [`poll_backoff`]: the poll interval, doubling per consecutive
    ///   failure, jittered, capped at `max_backoff`; the first success
    ///   resets it. `ActionTypeNotFoundException` and other non-transient
    ///   errors mark the worker unhealthy at once, transient ones (a
    ///   dependency outage) after [`UNHEALTHY_AFTER`] consecutive failures;
    ///   the first successful poll makes it healthy again.
    pub async fn run_until(self, shutdown: impl Future<Output = ()>) -> RunSummary {
        let (notify, rx) = watch::channel(None);
        let slots = Arc::new(Semaphore::new(self.config.max_jobs));
        let mut jobs = JoinSet::new();
        let mut summary = RunSummary::default();
        let mut backoff: Option<Box<dyn Iterator<Item = Duration> + Send>> = None;
        let mut consecutive_failures = 0u32;
        tokio::pin!(shutdown);
        tracing::info!(
            provider = %self.config.definition.provider,
            version = %self.config.definition.version,
            stage = self.config.stage.as_deref().unwrap_or(""),
            max_jobs = self.config.max_jobs,
            "worker started"
        );
        'poll: loop {
            while jobs.try_join_next().is_some() {}
            let first = tokio::select! {
                biased;
                _ = &mut shutdown => break 'poll,
                p = slots.clone().acquire_owned() => p.expect("the semaphore is never closed"),
            };
            let mut permits = vec![first];
            while let Ok(p) = slots.clone().try_acquire_owned() {
                permits.push(p);
            }
            summary.polls += 1;
            self.metrics.poll_calls.inc();
            // A poll in flight is not abandoned on shutdown: jobs it returns
            // were dispatched to us and get acknowledged and handed back.
            let pause = match self.api.poll(permits.len()).await {
                Ok(polled) => {
                    backoff = None;
                    consecutive_failures = 0;
                    self.metrics.set_healthy(true);
                    if polled.is_empty() {
                        drop(permits);
                        if jobs.is_empty() {
                            // Idle: what the last jobs freed goes back to the system.
                            crate::memory::idle();
                        }
                        jittered(self.config.poll_interval, rand::rng().random())
                    } else {
                        self.metrics.jobs_polled.inc_by(polled.len() as u64);
                        for job in polled {
                            let Some(permit) = permits.pop() else {
                                tracing::error!(job_id = %job.id, "PollForJobs returned more jobs than maxBatchSize; leaving it to the ack timeout");
                                continue;
                            };
                            summary.jobs += 1;
                            let span = tracing::info_span!(
                                "job",
                                job_id = %job.id,
                                pipeline = %job.input.pipeline_name,
                                execution_id = %job.input.pipeline_execution_id,
                                revision = job.input.revision().unwrap_or(""),
                            );
                            let task = JobTask {
                                api: self.api.clone(),
                                engine: self.engine.clone(),
                                metrics: self.metrics.clone(),
                                shutdown: Shutdown {
                                    rx: rx.clone(),
                                    _never: None,
                                },
                                grace: self.config.shutdown_grace,
                                result_retry: self.config.result_retry_timeout,
                                credentials_refresh_after: self.config.credentials_refresh_after,
                            };
                            jobs.spawn(
                                async move {
                                    let _permit = permit;
                                    task.run(job).await
                                }
                                .instrument(span)
                                .with_current_subscriber(),
                            );
                        }
                        continue 'poll;
                    }
                }
                Err(e) => {
                    self.metrics.poll_errors.inc();
                    drop(permits);
                    let not_found = e.code() == Some("ActionTypeNotFoundException");
                    consecutive_failures = consecutive_failures.saturating_add(1);
                    if !matches!(e, CallError::Transient(_))
                        || consecutive_failures >= UNHEALTHY_AFTER
                    {
                        self.metrics.set_healthy(false);
                    }
                    let b = backoff.get_or_insert_with(|| {
                        Box::new(poll_backoff(
                            self.config.poll_interval,
                            self.config.max_backoff,
                            None,
                        ))
                    });
                    let d = b.next().unwrap_or(self.config.max_backoff);
                    if not_found {
                        tracing::error!(error = %e, backoff_ms = d.as_millis() as u64, "the action type is not registered (run `pipeline-canary register`); backing off");
                    } else {
                        tracing::warn!(error = %e, backoff_ms = d.as_millis() as u64, "PollForJobs failed; backing off");
                    }
                    d
                }
            };
            tokio::select! {
                biased;
                _ = &mut shutdown => break 'poll,
                _ = tokio::time::sleep(pause) => {}
            }
        }
        let in_flight = jobs.len();
        tracing::info!(
            in_flight,
            "shutting down: polling stopped; handing back in-flight jobs"
        );
        let _ = notify.send(Some(Instant::now()));
        // Every job task ends by itself within the grace period plus the time
        // its result may take; the hard stop only guards against a call that
        // hangs, so the process exits before the orchestrator's SIGKILL.
        let hard_stop = self.config.shutdown_grace + RESULT_GRACE + Duration::from_secs(1);
        let drained = tokio::time::timeout(hard_stop, async {
            while jobs.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            tracing::error!(
                remaining = jobs.len(),
                "job tasks still running after the shutdown grace; abandoning them (CodePipeline will time them out)"
            );
            jobs.abort_all();
        }
        tracing::info!(polls = summary.polls, jobs = summary.jobs, "worker stopped");
        summary
    }
}

/// Everything one job task needs (mini-redis's `Handler`).
struct JobTask<E: ReleaseEngine> {
    api: Arc<JobsApi>,
    engine: Arc<E>,
    metrics: Arc<Metrics>,
    shutdown: Shutdown,
    grace: Duration,
    result_retry: Duration,
    credentials_refresh_after: Duration,
}

impl<E: ReleaseEngine> JobTask<E> {
    /// Acknowledge, work, post exactly one result.
    async fn run(self, job: PolledJob) {
        let started = Instant::now();
        match self.api.acknowledge(&job).await {
            Ack::InProgress => {}
            Ack::Drop(reason) => {
                tracing::info!(%reason, "job dropped without side effects");
                self.metrics.job_outcome("dropped");
                return;
            }
        }
        self.metrics.jobs_in_flight.inc();
        tracing::info!(
            continued = job.input.continuation_token.is_some(),
            "job acknowledged"
        );
        let ctx = Arc::new(JobContext::new(
            job.input.clone(),
            Some(self.api.clone()),
            self.credentials_refresh_after,
        ));
        let mut driver = tokio::spawn(
            drive(self.engine.clone(), ctx, self.shutdown.clone(), |_| {})
                .in_current_span()
                .with_current_subscriber(),
        );
        let grace = self.grace;
        let mut shutdown = self.shutdown.clone();
        let report = tokio::select! {
            r = &mut driver => match r {
                Ok(report) => report,
                Err(e) if e.is_panic() => {
                    // A panic message can quote values (an `unwrap` on an SDK
                    // error prints the raw response, which may hold
                    // credentials): the job result gets a fixed text with an
                    // id, the log a redacted, bounded message under that id.
                    let msg = redact_panic_message(&panic_message(e.into_panic()));
                    let panic_id = format!("{:08x}", rand::random::<u32>());
                    tracing::error!(panic = %msg, panic_id = %panic_id, "the release step panicked");
                    JobReport::fail(
                        FailureKind::JobFailed,
                        format!("internal error: the release step panicked (panic id {panic_id}; see the worker log)"),
                    )
                }
                Err(_) => JobReport::fail(FailureKind::SystemUnavailable, "internal error: the job task was cancelled"),
            },
            _ = async { shutdown.recv().await; tokio::time::sleep(grace).await } => {
                driver.abort();
                JobReport::fail(
                    FailureKind::SystemUnavailable,
                    format!("the worker shut down and the job did not reach a safe point within {} s", grace.as_secs_f64()),
                )
            }
        };
        let mut deadline = Instant::now() + self.result_retry;
        if let Some(t) = self.shutdown.started() {
            deadline = deadline.min(t + grace + RESULT_GRACE);
        }
        let mut report = report;
        let mut posted = self.api.post(&job.input, &report, deadline).await;
        if let (Posted::Rejected(e), JobReport::Continue { .. } | JobReport::Succeed { .. }) =
            (&posted, &report)
        {
            // A success CodePipeline refuses would leave the job without a
            // result: report the refusal as the job's failure instead.
            tracing::error!(error = %e, "PutJobSuccessResult was refused; reporting a failure instead");
            report = JobReport::fail(
                FailureKind::JobFailed,
                format!("internal error: CodePipeline refused the job's success result: {e}"),
            );
            posted = self.api.post(&job.input, &report, deadline).await;
        }
        let outcome = report.outcome();
        match posted {
            Posted::Recorded => {
                self.metrics.job_outcome(outcome);
                if let JobReport::Fail { kind, message, .. } = &report {
                    self.metrics.job_failure(kind.as_str());
                    tracing::warn!(failure_type = %kind, reason = %message, "job failed");
                } else {
                    tracing::info!(outcome, "job result posted");
                }
            }
            Posted::NotPosted => {
                self.metrics.job_outcome(outcome);
                if let JobReport::Abandon { reason } = &report {
                    tracing::warn!(%reason, "job abandoned without a result: another job holds its release");
                }
            }
            Posted::AlreadyTerminal(e) => {
                self.metrics.result_errors.inc();
                tracing::warn!(error = %e, outcome, "the job was already terminal; result not retried");
            }
            Posted::GaveUp(e) | Posted::Rejected(e) => {
                self.metrics.result_errors.inc();
                tracing::error!(error = %e, outcome, "could not post the job result");
            }
        }
        self.metrics.job_duration(started.elapsed());
        self.metrics.jobs_in_flight.dec();
        // What the job freed goes back to the system (at most every few seconds).
        crate::memory::job_ended();
    }
}

/// Drives one job's machine: performs its actions through the engine's
/// adapters, sleeps when it waits (telling `on_wait` the progress it
/// shows meanwhile), returns its report. The runtime's job tasks and the
/// one-shot `release` command share it.
pub async fn drive<E: ReleaseEngine>(
    engine: Arc<E>,
    ctx: Arc<JobContext>,
    mut shutdown: Shutdown,
    mut on_wait: impl FnMut(&crate::report::Progress) + Send,
) -> JobReport {
    let mut machine = JobMachine::new(engine.clone(), ctx.input.clone());
    let mut empty_decisions = 0u32;
    let mut step = machine.next(Vec::new(), SystemTime::now(), shutdown.is_shutdown());
    loop {
        step = match step {
            Step::Report(r) => return r,
            Step::Perform(actions) if actions.is_empty() => {
                // Nothing to perform: decide again, but never spin: after a
                // few empty decisions in a row, pause briefly; an engine that
                // keeps deciding nothing gets an internal error to decide on
                // (a release that has shifted hands back, never fails).
                empty_decisions += 1;
                if empty_decisions > MAX_EMPTY_DECISIONS {
                    empty_decisions = 0;
                    machine.failed(
                        EngineError::new(
                            FailureKind::JobFailed,
                            "internal error: the release engine made no progress (it kept deciding to do nothing)",
                        ),
                        SystemTime::now(),
                        shutdown.is_shutdown(),
                    )
                } else {
                    if empty_decisions > 3 {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    } else {
                        tokio::task::yield_now().await;
                    }
                    machine.next(Vec::new(), SystemTime::now(), shutdown.is_shutdown())
                }
            }
            Step::Perform(actions) => {
                empty_decisions = 0;
                tracing::debug!(?actions, "performing");
                match engine.perform(&ctx, actions).await {
                    Ok(o) => machine.next(o, SystemTime::now(), shutdown.is_shutdown()),
                    Err(e) => {
                        tracing::warn!(error = %e.message, "an action failed after its retries");
                        machine.failed(e, SystemTime::now(), shutdown.is_shutdown())
                    }
                }
            }
            Step::Sleep(d) => {
                on_wait(machine.progress());
                tokio::select! {
                    _ = tokio::time::sleep(d) => {}
                    _ = shutdown.recv() => {}
                }
                machine.next(Vec::new(), SystemTime::now(), shutdown.is_shutdown())
            }
        };
    }
}

/// Consecutive failed polls (throttling, 5xx, transport errors) after which
/// `/healthz` reports the worker unhealthy: one throttled poll is noise, three
/// in a row (with backoff, several seconds) is a dependency outage.
pub const UNHEALTHY_AFTER: u32 = 3;

/// Consecutive empty `Perform` decisions after which a job fails.
const MAX_EMPTY_DECISIONS: u32 = 200;

/// Bounds a panic message for the log and masks anything that looks like a
/// secret (long runs of base64/hex characters, e.g. keys and session tokens).
fn redact_panic_message(msg: &str) -> String {
    let mut out = String::new();
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        if run.len() >= 24 {
            out.push_str("[redacted]");
        } else {
            out.push_str(run);
        }
        run.clear();
    };
    for c in msg.chars().take(500) {
        if c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '=' | '_' | '-') {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
            out.push(c);
        }
    }
    flush(&mut run, &mut out);
    out
}

fn panic_message(p: Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "(no message)".into()
    }
}

#[cfg(test)]
mod redaction_tests {
    use super::redact_panic_message;

    #[test]
    fn panic_messages_lose_secret_looking_runs_and_stay_bounded() {
        let m = redact_panic_message(
            "called `Result::unwrap()` on an `Err` value: ServiceError { raw: \"{\\\"secretAccessKey\\\":\\\"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\\\"}\" }",
        );
        assert!(!m.contains("wJalrXUtnFEMI"), "{m}");
        assert!(m.contains("[redacted]"), "{m}");
        assert!(m.contains("unwrap"), "{m}");
        assert!(redact_panic_message(&"x ".repeat(10_000)).len() <= 500);
    }
}
