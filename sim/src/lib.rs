//! aws-sim: a local AWS that speaks the real wire protocols of CodePipeline,
//! S3, Lambda, CodeDeploy and CloudWatch, so the official SDKs (Rust, boto3,
//! the AWS CLI) work against it unchanged.
//!
//! One listener serves every service; the service is taken from the SigV4
//! credential scope. Each service is one module of the same shape: wire
//! decoding → handler on shared state → wire encoding of the result or AWS
//! error. Around them: a scaled [`clock::Clock`], fault injection, a request
//! log, and a control API under `/_sim/` for what no AWS API expresses.
//!
//! ```no_run
//! # async fn f() -> std::io::Result<()> {
//! let sim = aws_sim::start(aws_sim::Config { time_scale: 600.0, ..Default::default() }).await?;
//! println!("{}", sim.endpoint());
//! # Ok(()) }
//! ```

pub mod auth;
pub mod clock;
pub mod cloudwatch;
pub mod codedeploy;
pub mod codepipeline;
pub mod control;
pub mod credentials;
pub mod error;
pub mod faults;
pub mod iam;
pub mod lambda;
pub mod requests;
pub mod s3;
pub mod server;
pub mod traffic;
pub mod validate;
pub mod wire;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub use error::{AwsError, AwsResult};

/// The operations aws-sim serves, per service as its SigV4 credential scope
/// names it (CloudWatch's is `monitoring`).
pub fn operations() -> [(&'static str, &'static [&'static str]); 5] {
    [
        ("s3", s3::OPERATIONS),
        ("codepipeline", codepipeline::OPERATIONS),
        ("lambda", lambda::OPERATIONS),
        ("monitoring", cloudwatch::OPERATIONS),
        ("codedeploy", codedeploy::OPERATIONS),
    ]
}

/// Locks `m`, recovering the data if a panicking thread poisoned it: one
/// request's panic must never make every later request (and the ticker) panic.
/// Every sim lock goes through this.
pub fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// How an aws-sim instance behaves. `Default` is what the binary uses without flags
/// (except the listen address, which defaults to a free loopback port here).
#[derive(Debug, Clone)]
pub struct Config {
    /// Address to listen on; port 0 picks a free port.
    pub listen: SocketAddr,
    /// Simulated seconds per real second.
    pub time_scale: f64,
    /// Seed of every random choice the sim makes (faults, traffic routing).
    pub seed: u64,
    /// Lifetime of job artifact credentials, in **real** time.
    pub credential_ttl: Duration,
    /// How long a dispatched job may stay unacknowledged before it is queued
    /// again with a new nonce (simulated time; undocumented in AWS).
    pub ack_timeout: Duration,
    /// Delay before the job carrying a continuation token is queued (simulated).
    pub continuation_delay: Duration,
    /// Where S3 objects are stored; a fresh temporary directory when `None`.
    pub data_dir: Option<PathBuf>,
    /// How long a Lambda function stays `LastUpdateStatus: InProgress` after
    /// an update (simulated).
    pub lambda_update_delay: Duration,
    /// Invocations per simulated second the traffic generator sends to every alias.
    pub traffic_rate: f64,
    /// How often CodeDeploy checks a deployment group's alarms (simulated;
    /// undocumented in AWS).
    pub alarm_poll: Duration,
    /// How long CodeDeploy waits for a lifecycle hook to report (simulated).
    pub hook_timeout: Duration,
    /// The Lambda calls CodeDeploy makes at a deployment's start, at each
    /// traffic step and at its end, against Lambda's request quota, and
    /// how it retries a throttled one (simulated; undocumented in AWS).
    pub codedeploy_lambda_calls: codedeploy::LambdaCalls,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            time_scale: 1.0,
            seed: 1,
            credential_ttl: Duration::from_secs(15 * 60),
            ack_timeout: Duration::from_secs(60),
            continuation_delay: Duration::from_secs(1),
            data_dir: None,
            lambda_update_delay: Duration::from_secs(2),
            traffic_rate: 10.0,
            alarm_poll: Duration::from_secs(10),
            hook_timeout: Duration::from_secs(3600),
            codedeploy_lambda_calls: codedeploy::LambdaCalls::default(),
        }
    }
}

/// The shared state of one sim: every service and the machinery around them.
#[derive(Debug)]
pub struct Sim {
    pub config: Config,
    pub clock: clock::Clock,
    pub log: requests::RequestLog,
    pub faults: faults::Faults,
    pub credentials: credentials::CredentialStore,
    /// Identity policies of access keys (`/_sim/iam/policies`).
    pub iam: iam::Iam,
    pub s3: s3::S3,
    pub codepipeline: codepipeline::CodePipeline,
    pub lambda: lambda::Lambda,
    pub cloudwatch: cloudwatch::CloudWatch,
    pub codedeploy: codedeploy::CodeDeploy,
    pub traffic: traffic::Traffic,
    /// Real start time, for the request log's `realMs`.
    pub started: Instant,
    /// Keeps the temporary data directory alive as long as the sim.
    _data_dir: Option<tempfile::TempDir>,
}

impl Sim {
    /// Builds the state (no listener). Used by [`start`] and by unit tests.
    pub fn new(config: Config) -> std::io::Result<Arc<Sim>> {
        let (dir, temp) = match &config.data_dir {
            Some(d) => {
                std::fs::create_dir_all(d)?;
                (d.clone(), None)
            }
            None => {
                let t = tempfile::Builder::new().prefix("aws-sim-").tempdir()?;
                (t.path().to_path_buf(), Some(t))
            }
        };
        Ok(Arc::new(Sim {
            clock: clock::Clock::new(config.time_scale),
            log: requests::RequestLog::default(),
            faults: faults::Faults::new(config.seed),
            credentials: credentials::CredentialStore::new(config.credential_ttl),
            iam: iam::Iam::default(),
            s3: s3::S3::new(dir.join("s3"))?,
            codepipeline: codepipeline::CodePipeline::new(&config),
            lambda: lambda::Lambda::new(&config),
            cloudwatch: cloudwatch::CloudWatch::new(&config),
            codedeploy: codedeploy::CodeDeploy::new(&config),
            traffic: traffic::Traffic::new(&config),
            started: Instant::now(),
            _data_dir: temp,
            config,
        }))
    }

    /// Advances every service's timers to the current simulated time. Called
    /// before each request and by a background ticker, so state is current
    /// whether or not anyone is calling.
    pub fn tick(self: &Arc<Self>) {
        let now = self.clock.now();
        // Each service separately: a panic in one service's timers must not
        // stop simulated time for the others, nor fail the request that ticked.
        tick_guarded("lambda", || self.lambda.tick(self, now));
        tick_guarded("traffic", || self.traffic.tick(self, now));
        tick_guarded("cloudwatch", || self.cloudwatch.tick(self, now));
        tick_guarded("codedeploy", || self.codedeploy.tick(self, now));
        tick_guarded("codepipeline", || self.codepipeline.tick(self, now));
    }
}

/// Runs one service's tick, logging (not propagating) a panic in it.
fn tick_guarded(service: &str, tick: impl FnOnce()) {
    if let Err(panic) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(tick)) {
        tracing::error!(
            service,
            panic = %server::panic_message(&*panic),
            "service tick panicked"
        );
    }
}

/// A running sim. Dropping it stops the listener.
#[derive(Debug)]
pub struct SimHandle {
    addr: SocketAddr,
    sim: Arc<Sim>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl SimHandle {
    /// `http://127.0.0.1:PORT`, for `AWS_ENDPOINT_URL` / `endpoint_url`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The shared state, for assertions and control without HTTP.
    pub fn sim(&self) -> &Arc<Sim> {
        &self.sim
    }

    /// Stops accepting connections and waits for the listener task.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.task.take() {
            t.abort();
        }
    }
}

/// Starts a sim on `config.listen` inside the current tokio runtime.
pub async fn start(config: Config) -> std::io::Result<SimHandle> {
    let sim = Sim::new(config)?;
    let listener = tokio::net::TcpListener::bind(sim.config.listen).await?;
    let addr = listener.local_addr()?;
    let (tx, rx) = tokio::sync::oneshot::channel();
    let task = tokio::spawn(server::serve(sim.clone(), listener, rx));
    Ok(SimHandle {
        addr,
        sim,
        shutdown: Some(tx),
        task: Some(task),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_poisoned_lock_is_recovered() {
        // Review P1-0: `.lock().expect(..)` turned one panic into a dead sim.
        let m = std::sync::Mutex::new(7);
        let poisoned = std::thread::scope(|s| {
            s.spawn(|| {
                let mut g = m.lock().unwrap();
                *g = 8;
                panic!("handler bug while holding the lock");
            })
            .join()
        });
        assert!(poisoned.is_err());
        assert!(m.is_poisoned());
        assert_eq!(*lock(&m), 8);
        *lock(&m) += 1;
        assert_eq!(*lock(&m), 9);
    }

    #[test]
    fn a_panicking_service_tick_does_not_stop_the_others() {
        let mut later_ran = false;
        tick_guarded("codedeploy", || panic!("attempt to multiply with overflow"));
        tick_guarded("codepipeline", || later_ran = true);
        assert!(later_ran);
    }
}
