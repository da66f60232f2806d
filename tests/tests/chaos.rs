//! Chaos: the `pipeline-canary run` binary as a child process
//! against aws-sim (time ×600), `kill -9`ed at random points of random
//! canary releases (publishing, mid-shift, mid-rollback, between
//! continuation jobs) and restarted; seeded, so a failing trial replays.
//! Releases shift through CodeDeploy, through schedules the worker drives
//! itself (UpdateAlias at each step), or both in one release.
//!
//! After every trial, at rest:
//! - every function of the release is on all-old or all-new versions (never
//!   a mix across the release, never a routing weight left);
//! - no two versions of a function share a code hash;
//! - no two user deployments for one function in one attempt of the
//!   release (a stage retry is a new attempt: after a rollback it deploys
//!   again, as `release_canary`'s console-retry test expects);
//! - every job CodePipeline created is terminal (none left in progress) and
//!   no job got a second result (no `InvalidJobStateException` on
//!   PutJob*Result);
//! - the outcome matches the release: Succeeded only with every function on
//!   its new version and no faulty function; Failed only with a faulty
//!   function and every function back on its old version.
//!
//! Besides the kills, a trial may lose answers to the calls that change
//! something (CreateDeployment, PublishVersion, UpdateAlias, the ledger's
//! PutObject: the service acts, the connection closes) and may take
//! CodeDeploy, CloudWatch and Lambda down for 1–4 real seconds once its
//! first deployment or worker-driven step exists (a release that has
//! shifted pauses, never fails).
//!
//! A job acknowledged by a killed worker is redelivered by CodePipeline
//! only through its timeout: when a trial stalls, the test advances the
//! sim's clock past the 24 h job timeout (the job fails "timed out") and
//! retries the stage with RetryStageExecution(FAILED_ACTIONS), as an
//! operator would; the retried job must finish the release.
//!
//! Between kills a second replica sometimes joins the queue (kills hit a
//! random one). The workers' combined log is scanned for the account's
//! secret key and every artifact secret key / session token the sim issued.
//! The binary runs on the real clock while the sim runs ×600: the canary's
//! ETA/weights in its progress are off, its decisions are not.
//!
//! CI form: 25 trials (`CHAOS_TRIALS`, default 25), seed `CHAOS_SEED`
//! (default 1). Long form: `CHAOS_TRIALS=500 cargo test -p e2e --test chaos
//! -- --nocapture`. The binary must be built (`cargo build -p
//! pipeline-canary`; `cargo test --workspace` builds it).

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use aws_sdk_codepipeline::types::{PipelineExecutionStatus, StageRetryMode};
use aws_sim::faults::{FaultConfig, FaultRule};
use e2e::canary::{errors_alarm, function_zip};
use e2e::release::*;
use e2e::{ACCOUNT_KEY, ACCOUNT_SECRET, REGION};
use rand::{Rng, SeedableRng, rngs::StdRng};

/// `target/debug/pipeline-canary`, next to this test's `deps/` directory.
fn worker_binary() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().unwrap().parent().unwrap();
    let bin = dir.join("pipeline-canary");
    assert!(
        bin.exists(),
        "{} is missing: run `cargo build -p pipeline-canary` first",
        bin.display()
    );
    bin
}

/// One `pipeline-canary run` child process, logging to its own file.
struct WorkerProcess {
    child: tokio::process::Child,
    log: PathBuf,
}

static SPAWNED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

impl WorkerProcess {
    fn spawn(endpoint: &str, work_dir: &Path, logs: &Path) -> Self {
        let n = SPAWNED.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let log = logs.join(format!("worker-{n}.log"));
        let out = std::fs::File::create(&log).unwrap();
        let child = tokio::process::Command::new(worker_binary())
            .args([
                "run",
                "--stage",
                "prod",
                "--poll-interval",
                "50ms",
                "--max-jobs",
                "8",
                "--shutdown-grace",
                "1s",
                "--max-backoff",
                "500ms",
                "--result-retry-timeout",
                "5s",
                "--watch-interval",
                "40ms",
                "--hold-job",
                "300ms",
            ])
            .arg("--work-dir")
            .arg(work_dir)
            .arg("--ledger")
            .arg(LEDGER)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("AWS_ENDPOINT_URL", endpoint)
            .env("AWS_ACCESS_KEY_ID", ACCOUNT_KEY)
            .env("AWS_SECRET_ACCESS_KEY", ACCOUNT_SECRET)
            .env("AWS_REGION", REGION)
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_CONFIG_FILE", "/dev/null")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
            .env(
                "RUST_LOG",
                std::env::var("CHAOS_RUST_LOG").unwrap_or_else(|_| "info".into()),
            )
            .stdin(Stdio::null())
            .stdout(Stdio::from(out.try_clone().unwrap()))
            .stderr(Stdio::from(out))
            .kill_on_drop(true)
            .spawn()
            .expect("spawn pipeline-canary run");
        WorkerProcess { child, log }
    }

    /// SIGKILL, and reap; returns the ids of the jobs it had acknowledged.
    async fn kill9(mut self) -> HashSet<String> {
        self.child.start_kill().unwrap();
        let _ = self.child.wait().await;
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .filter(|l| l.contains("job acknowledged"))
            .filter_map(|l| {
                let at = l.find("\"job_id\":\"")? + 10;
                l.get(at..at + 36).map(str::to_string)
            })
            .collect()
    }

    fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// How a worker that is no longer alive ended, with the last lines of
    /// its own log (a panic's message is there).
    fn how_it_ended(&mut self) -> String {
        let status = match self.child.try_wait() {
            Ok(Some(s)) => s.to_string(),
            other => format!("{other:?}"),
        };
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(8).collect();
        format!("{status}; its last log lines, newest first: {tail:#?}")
    }
}

/// Every worker's log, one after the other.
fn all_logs(dir: &Path) -> String {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "log"))
        .collect();
    files.sort();
    files
        .iter()
        .map(|f| std::fs::read_to_string(f).unwrap_or_default())
        .collect()
}

/// What one trial found.
#[derive(Debug, Default)]
struct Tally {
    trials: usize,
    kills: usize,
    timeouts_retried: usize,
    /// Functions deployed by the retried attempt.
    deployed_by_retry: usize,
    /// Functions deployed by both attempts (the first one rolled back).
    redeployed: Vec<String>,
    succeeded: usize,
    failed: usize,
    outcome_mismatch: Vec<String>,
    violations: Vec<String>,
    /// Trials with lost answers to mutating calls.
    lost_trials: usize,
    /// Trials with a CodeDeploy, CloudWatch and Lambda outage while
    /// shifting, and its total length in real seconds.
    outage_trials: usize,
    /// Trials whose release had worker-driven steps: all its functions, or
    /// one beside CodeDeploy-driven ones (mixed).
    worker_driven_trials: usize,
    mixed_trials: usize,
    outage_seconds: f64,
    /// Faults the sim injected (lost answers, 503s).
    injected: u64,
}

/// Lost answers to the calls that change something: the service performs
/// the call, then the connection closes without its answer.
fn lost_responses() -> Vec<FaultRule> {
    [
        ("codedeploy", "CreateDeployment", 0.5),
        ("lambda", "PublishVersion", 0.3),
        ("lambda", "UpdateAlias", 0.3),
        ("s3", "PutObject", 0.2),
    ]
    .into_iter()
    .map(|(service, operation, p)| FaultRule {
        service: Some(service.into()),
        operation: Some(operation.into()),
        lost_response: p,
        ..FaultRule::default()
    })
    .collect()
}

fn set_faults(sim: &aws_sim::Sim, rules: Vec<FaultRule>) {
    sim.faults
        .set(FaultConfig { seed: None, rules }, sim.clock.now())
        .expect("fault rules");
}

/// Trials per sim.
const BATCH: usize = 25;

const CONFIGS: &[&str] = &[
    "AllAtOnce",
    "Linear10PercentEvery1Minute",
    "Canary10Percent5Minutes",
    WORKER_DRIVEN,
];

/// A schedule the worker drives itself (UpdateAlias at each step, no
/// CodeDeploy deployment). Its steps are due on the worker's clock, which
/// is the real one here (the sim runs ×600): a second apart, as long as
/// ten simulated minutes, so its shift is as long as CodeDeploy's.
const WORKER_DRIVEN: &str = "Steps10-50Every1Second";

async fn status(r: &ReleaseEnv, pipeline: &str, id: &str) -> PipelineExecutionStatus {
    r.env.status(pipeline, id).await
}

/// Waits until the execution leaves InProgress, or every job still open is
/// one a killed worker had acknowledged (`orphans`: nothing but the job
/// timeout can move it), or `timeout` passes.
async fn settle(
    r: &ReleaseEnv,
    p: &str,
    id: &str,
    orphans: &HashSet<String>,
    timeout: Duration,
) -> PipelineExecutionStatus {
    let until = Instant::now() + timeout;
    loop {
        let st = status(r, p, id).await;
        if st != PipelineExecutionStatus::InProgress || Instant::now() > until {
            return st;
        }
        let open: Vec<(String, String)> = r
            .env
            .sim
            .sim()
            .codepipeline
            .job_ids(REGION)
            .into_iter()
            .filter(|(_, s)| !matches!(s.as_str(), "Succeeded" | "Failed" | "TimedOut"))
            .collect();
        if !open.is_empty() && open.iter().all(|(j, _)| orphans.contains(j)) {
            // Give a just-queued continuation a moment to appear.
            tokio::time::sleep(Duration::from_millis(150)).await;
            let again = r.env.sim.sim().codepipeline.job_ids(REGION);
            if again
                .iter()
                .filter(|(_, s)| !matches!(s.as_str(), "Succeeded" | "Failed" | "TimedOut"))
                .all(|(j, _)| orphans.contains(j))
                && status(r, p, id).await == PipelineExecutionStatus::InProgress
            {
                return PipelineExecutionStatus::InProgress;
            }
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// What happened in a trial that broke an invariant (a stall, a mixed
/// release): what the harness saw, the pipeline's action state, the open
/// jobs and the workers' log lines for the pipeline (messages and fields
/// only).
async fn stall_report(
    r: &ReleaseEnv,
    p: &str,
    orphans: &HashSet<String>,
    phases: &[String],
    logs: &Path,
) -> String {
    let mut out = format!("    harness: {}\n", phases.join(" -> "));
    if let Ok(state) = r.env.cp.get_pipeline_state().name(p).send().await {
        for stage in state.stage_states() {
            for a in stage.action_states() {
                if let Some(e) = a.latest_execution() {
                    out.push_str(&format!(
                        "    action {}/{}: {:?} summary {:?} error {:?} changed {:?}\n",
                        stage.stage_name().unwrap_or_default(),
                        a.action_name().unwrap_or_default(),
                        e.status(),
                        e.summary(),
                        e.error_details().and_then(|d| d.message()),
                        e.last_status_change()
                    ));
                }
            }
        }
    }
    for (j, s) in r.env.sim.sim().codepipeline.job_ids(REGION) {
        if !matches!(s.as_str(), "Succeeded" | "Failed" | "TimedOut") {
            let orphan = if orphans.contains(&j) {
                " (orphan)"
            } else {
                ""
            };
            out.push_str(&format!("    open job {j}: {s}{orphan}\n"));
        }
    }
    let needle = format!("\"pipeline\":\"{p}\"");
    for (i, line) in all_logs(logs).lines().enumerate() {
        if !line.contains(&needle) {
            continue;
        }
        let v: serde_json::Value = serde_json::from_str(line).unwrap_or_default();
        let job = v["span"]["job_id"].as_str().unwrap_or("-");
        out.push_str(&format!(
            "    log {i} {} job {}: {}\n",
            v["timestamp"].as_str().unwrap_or("?"),
            job.get(..8).unwrap_or(job),
            v["fields"]
        ));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_at_random_points_never_leaves_a_release_mixed_or_a_job_unanswered() {
    let trials: usize = std::env::var("CHAOS_TRIALS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(25);
    let seed: u64 = std::env::var("CHAOS_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    let mut rng = StdRng::seed_from_u64(seed);
    let started = Instant::now();
    let mut t = Tally::default();
    let mut by_status: BTreeMap<String, usize> = BTreeMap::new();
    let mut replicas_added = 0;
    let (mut log_lines, mut secrets_checked, mut leaked) = (0, 0, 0);
    let mut last_log = String::new();
    // A fresh sim (and fresh workers) every BATCH trials: the sim's state
    // grows with every function, so each trial's cost stays flat.
    for batch in (0..trials).step_by(BATCH) {
        let r = ReleaseEnv::new(canary_sim_config()).await;
        let sim = r.env.sim.sim().clone();
        let cw = aws_sdk_cloudwatch::Client::new(&r.env.conf);
        let cd = aws_sdk_codedeploy::Client::new(&r.env.conf);
        let dir = tempfile::tempdir().unwrap();
        let work = dir.path().join("work");
        std::fs::create_dir(&work).unwrap();
        let endpoint = r.env.sim.endpoint();
        // One or two replicas on the queue; a kill hits a random one.
        let mut workers = vec![WorkerProcess::spawn(&endpoint, &work, dir.path())];
        // Jobs a killed worker had acknowledged (InProgress at the kill).
        let mut orphans: HashSet<String> = HashSet::new();

        for k in batch..(batch + BATCH).min(trials) {
            let trial_started = Instant::now();
            t.trials += 1;
            let n = rng.random_range(1..=3usize);
            let names: Vec<String> = (1..=n).map(|i| format!("collect-t{k}-f{i}")).collect();
            for name in &names {
                r.create_function(
                    name,
                    function_zip(None, &format!("{name}-v1")),
                    Some("live"),
                )
                .await;
                errors_alarm(&cw, &format!("{name}-errors"), name, "2").await;
            }
            r.settle();
            let config = CONFIGS[rng.random_range(0..CONFIGS.len())];
            let faulty = (config != "AllAtOnce" && rng.random_bool(0.25))
                .then(|| names[rng.random_range(0..n)].clone());
            let fns: Vec<CanaryFunction> = names
                .iter()
                .map(|f| CanaryFunction {
                    name: f.clone(),
                    zip: function_zip(
                        (Some(f) == faulty.as_ref()).then_some(r#"{"errorRate":0.5}"#),
                        &format!("{f}-v2"),
                    ),
                    alarms: vec![format!("{f}-errors")],
                    config: None,
                })
                .collect();
            // Sometimes a mixed release: the last function driven by the
            // worker, the others by CodeDeploy (they roll back together).
            let mut fns = fns;
            let mixed = n > 1 && config != WORKER_DRIVEN && rng.random_bool(0.3);
            if mixed {
                fns[n - 1].config = Some(WORKER_DRIVEN.into());
                t.mixed_trials += 1;
            }
            if mixed || config == WORKER_DRIVEN {
                t.worker_driven_trials += 1;
            }
            let config_name = if mixed {
                format!("{config} + {WORKER_DRIVEN}")
            } else {
                config.to_string()
            };
            r.upload_source(canary_artifact(config, &fns, None)).await;
            let config = config_name.as_str();
            let p = format!("chaos-{k}");
            r.pipeline(&p, false, None, &[]).await;
            let since = r.seq();
            // Faults of the trial: lost answers to the calls that mutate
            // (the service acts, the worker never hears), and an outage of
            // CodeDeploy and CloudWatch on the wall clock that starts once
            // the first deployment exists (the release has shifted: from
            // then on nothing may fail it).
            let lost = rng.random_bool(0.3).then(lost_responses);
            let outage = rng.random_bool(0.25).then(|| rng.random_range(1.0..4.0f64));
            if let Some(rules) = &lost {
                set_faults(&sim, rules.clone());
                t.lost_trials += 1;
            }
            let injector = outage.map(|secs| {
                t.outage_trials += 1;
                t.outage_seconds += secs;
                let (sim, mut rules) = (sim.clone(), lost.clone().unwrap_or_default());
                tokio::spawn(async move {
                    // The first deployment, or the worker's first step
                    // of a schedule it drives.
                    while !["CreateDeployment", "UpdateAlias"].iter().any(|op| {
                        sim.log
                            .query(since, None, Some(op))
                            .iter()
                            .any(|c| c.status == 200)
                    }) {
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                    for service in ["codedeploy", "monitoring", "lambda"] {
                        rules.push(FaultRule {
                            service: Some(service.into()),
                            unavailable: 1.0,
                            duration_real_seconds: Some(secs),
                            ..FaultRule::default()
                        });
                    }
                    set_faults(&sim, rules);
                })
            });
            let id = r.env.start(&p).await;

            // Kill -9 at a random point (sometimes twice), restart after a pause.
            let kills = if rng.random_bool(0.8) {
                rng.random_range(1..=2usize)
            } else {
                0
            };
            for _ in 0..kills {
                let at = Duration::from_millis(rng.random_range(0..500));
                tokio::time::sleep(at).await;
                if status(&r, &p, &id).await != PipelineExecutionStatus::InProgress {
                    break;
                }
                let victim = workers.swap_remove(rng.random_range(0..workers.len()));
                let acked = victim.kill9().await;
                t.kills += 1;
                orphans.extend(
                    sim.codepipeline
                        .job_ids(REGION)
                        .into_iter()
                        .filter(|(j, s)| s == "InProgress" && acked.contains(j))
                        .map(|(j, _)| j),
                );
                tokio::time::sleep(Duration::from_millis(rng.random_range(0..300))).await;
                workers.push(WorkerProcess::spawn(&endpoint, &work, dir.path()));
                if workers.len() == 1 && rng.random_bool(0.3) {
                    // A second replica joins the queue.
                    workers.push(WorkerProcess::spawn(&endpoint, &work, dir.path()));
                    replicas_added += 1;
                }
            }
            let mut st = settle(&r, &p, &id, &orphans, Duration::from_secs(20)).await;
            // What the harness saw, for a stall report.
            let mut phases = vec![format!("settled {st:?}")];
            // When the stage was retried (sim time): each attempt may deploy once.
            let mut retried_at: Option<std::time::SystemTime> = None;
            if st == PipelineExecutionStatus::InProgress {
                // A job acknowledged by a killed worker: only CodePipeline's job
                // timeout ends it. Jump past it and retry the stage.
                sim.clock.advance(Duration::from_secs(25 * 3600));
                sim.tick();
                st = settle(&r, &p, &id, &orphans, Duration::from_secs(5)).await;
                phases.push(format!("after the job timeout {st:?}"));
                if st == PipelineExecutionStatus::Failed {
                    t.timeouts_retried += 1;
                    retried_at = Some(sim.clock.now());
                    r.env
                        .cp
                        .retry_stage_execution()
                        .pipeline_name(&p)
                        .stage_name("Deploy")
                        .pipeline_execution_id(&id)
                        .retry_mode(StageRetryMode::FailedActions)
                        .send()
                        .await
                        .expect("RetryStageExecution");
                    st = settle(&r, &p, &id, &orphans, Duration::from_secs(20)).await;
                    phases.push(format!("after the retry {st:?}"));
                }
            }
            let released = trial_started.elapsed();
            // The faults end before the checks: they would hit the test's
            // own calls too.
            if let Some(task) = injector {
                task.abort();
            }
            set_faults(&sim, Vec::new());
            for w in workers.iter_mut() {
                if !w.alive() {
                    t.violations.push(format!(
                        "trial {k}: a worker process exited on its own ({})",
                        w.how_it_ended()
                    ));
                    *w = WorkerProcess::spawn(&endpoint, &work, dir.path());
                }
            }
            let out = r.action_outcome(&p, &id).await;

            // ---- invariants at rest ----
            let mut versions = BTreeMap::new();
            for f in &names {
                let a = r.alias_state(f).await;
                versions.insert(f.clone(), a.clone());
                // Code hashes unique across published versions.
                let vs = r
                    .lambda
                    .list_versions_by_function()
                    .function_name(f)
                    .send()
                    .await
                    .unwrap();
                let mut shas: Vec<String> = vs
                    .versions()
                    .iter()
                    .filter(|v| v.version() != Some("$LATEST"))
                    .map(|v| v.code_sha256().unwrap_or_default().to_string())
                    .collect();
                let all = shas.len();
                shas.sort();
                shas.dedup();
                if shas.len() != all {
                    t.violations
                        .push(format!("trial {k}: {f}: {all} versions share code hashes"));
                }
                // One user deployment per function per release.
                let ids = cd
                    .list_deployments()
                    .application_name("collect")
                    .deployment_group_name(f)
                    .send()
                    .await
                    .map(|o| o.deployments().to_vec())
                    .unwrap_or_default();
                if !ids.is_empty() {
                    let infos = cd
                        .batch_get_deployments()
                        .set_deployment_ids(Some(ids))
                        .send()
                        .await
                        .unwrap();
                    // User deployments (not CodeDeploy's rollbacks) per
                    // attempt: before and after the stage retry.
                    let mut per_attempt = [0usize; 2];
                    for d in infos.deployments_info().iter().filter(|d| {
                        d.creator() == Some(&aws_sdk_codedeploy::types::DeploymentCreator::User)
                    }) {
                        let created = d
                            .create_time()
                            .and_then(|c| std::time::SystemTime::try_from(*c).ok());
                        let after = matches!((created, retried_at), (Some(c), Some(r)) if c >= r);
                        per_attempt[usize::from(after)] += 1;
                    }
                    if per_attempt[1] > 0 {
                        t.deployed_by_retry += 1;
                    }
                    if per_attempt == [1, 1] {
                        t.redeployed.push(format!(
                            "trial {k} ({config}, faulty {faulty:?}): {f} deployed again by the retry"
                        ));
                    }
                    if per_attempt.iter().any(|n| *n > 1) {
                        t.violations.push(format!(
                            "trial {k}: {f}: deployments per attempt (before, after the retry) {per_attempt:?}"
                        ));
                    }
                }
            }
            let all_old = versions
                .values()
                .all(|a| a == &Some(("1".to_string(), None)));
            let all_new = versions
                .values()
                .all(|a| a.as_ref().is_some_and(|(v, w)| v != "1" && w.is_none()));
            if !(all_old || all_new) {
                t.violations.push(format!(
                    "trial {k} ({config}, faulty {faulty:?}, kills {kills}): mixed release {versions:?}\n{}",
                    stall_report(&r, &p, &orphans, &phases, dir.path()).await
                ));
            }
            match &st {
                PipelineExecutionStatus::Succeeded => {
                    t.succeeded += 1;
                    if !all_new {
                        t.outcome_mismatch
                            .push(format!("trial {k}: Succeeded but {versions:?}"));
                    }
                    if let Some(f) = &faulty {
                        t.outcome_mismatch.push(format!(
                            "trial {k} ({config}, kills {kills}): Succeeded although {f} trips its alarm"
                        ));
                    }
                }
                PipelineExecutionStatus::Failed => {
                    t.failed += 1;
                    if faulty.is_none() {
                        t.outcome_mismatch.push(format!(
                            "trial {k} ({config}, kills {kills}, lost answers {}, outage {outage:?}): Failed without a faulty function: {:?}\n{}",
                            lost.is_some(),
                            out.error,
                            stall_report(&r, &p, &orphans, &phases, dir.path()).await
                        ));
                    }
                    if !all_old {
                        t.outcome_mismatch
                            .push(format!("trial {k}: Failed but {versions:?}"));
                    }
                }
                other => t.violations.push(format!(
                    "trial {k} ({config}, {n} function(s), faulty {faulty:?}, kills {kills}): execution still {other:?} at rest\n{}",
                    stall_report(&r, &p, &orphans, &phases, dir.path()).await
                )),
            }
            if std::env::var("CHAOS_VERBOSE").is_ok() {
                eprintln!(
                    "trial {k}: {config}, {n} function(s), faulty {faulty:?}, kills {kills}: {st:?} after {released:?} ({:?} with checks)",
                    trial_started.elapsed()
                );
            }
            let duplicate_results: usize = ["PutJobSuccessResult", "PutJobFailureResult"]
                .iter()
                .map(|op| {
                    sim.log
                        .query(since, Some("codepipeline"), Some(op))
                        .iter()
                        .filter(|c| c.error.as_deref() == Some("InvalidJobStateException"))
                        .count()
                })
                .sum();
            if duplicate_results > 0 {
                t.violations.push(format!(
                    "trial {k}: {duplicate_results} result(s) for a job that had already ended"
                ));
            }
        }
        t.injected += sim.faults.injected();
        // Every job CodePipeline ever created is terminal.
        for (id, st) in sim.codepipeline.job_ids(REGION) {
            if !matches!(st.as_str(), "Succeeded" | "Failed" | "TimedOut") {
                t.violations.push(format!("job {id} left {st}"));
            }
            *by_status.entry(st).or_default() += 1;
        }
        for w in workers {
            w.kill9().await;
        }
        // No secret in the workers' logs: the account's secret key, or any
        // artifact secret key / session token the sim issued.
        let text = all_logs(dir.path());
        let mut secrets = vec![ACCOUNT_SECRET.to_string()];
        let keys: HashSet<String> = sim
            .log
            .query(0, None, None)
            .into_iter()
            .filter_map(|c| c.access_key_id)
            .collect();
        for key in &keys {
            if let Some(c) = sim.credentials.lookup(key) {
                secrets.push(c.secret_access_key);
                secrets.push(c.session_token);
            }
        }
        let found = secrets.iter().filter(|s| text.contains(s.as_str())).count();
        if found > 0 {
            t.violations
                .push(format!("{found} secret(s) appear in the worker log"));
        }
        leaked += found;
        log_lines += text.lines().count();
        secrets_checked += secrets.len();
        last_log = text;
    }
    eprintln!(
        "log scan: {log_lines} lines, {secrets_checked} secrets checked, {leaked} found; {replicas_added} extra replicas joined"
    );
    eprintln!(
        "chaos (seed {seed}): {} trials, {} kills, {} stalls retried after the job timeout ({} functions deployed by the retried attempt, {} of them deployed by both attempts), {} succeeded, {} failed; jobs {by_status:?}; {} violations; {} outcome mismatches; {:.1} s",
        t.trials,
        t.kills,
        t.timeouts_retried,
        t.deployed_by_retry,
        t.redeployed.len(),
        t.succeeded,
        t.failed,
        t.violations.len(),
        t.outcome_mismatch.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(
        t.kills * 2 >= t.trials,
        "only {} kills in {} trials",
        t.kills,
        t.trials
    );
    for m in &t.redeployed {
        eprintln!("  {m}");
    }
    eprintln!(
        "faults: {} trials with lost answers, {} with an outage while shifting ({:.1} real s in all), {} faults injected; {} trials with worker-driven steps ({} of them mixed with CodeDeploy)",
        t.lost_trials,
        t.outage_trials,
        t.outage_seconds,
        t.injected,
        t.worker_driven_trials,
        t.mixed_trials
    );
    t.violations.extend(
        t.outcome_mismatch
            .iter()
            .map(|m| format!("outcome mismatch: {m}")),
    );
    if !t.violations.is_empty() {
        let tail: String = last_log
            .lines()
            .rev()
            .take(40)
            .collect::<Vec<_>>()
            .join("\n");
        panic!(
            "{} violations:\n{}\nworker log (last lines, newest first):\n{tail}",
            t.violations.len(),
            t.violations.join("\n")
        );
    }
}
