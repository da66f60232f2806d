//! `demo`: the whole pipeline-canary story in one command, on a simulated
//! AWS — no AWS account, no Docker, no Python, no network.
//!
//! ```sh
//! cargo run --release -p demo                       # the story, ~45 s
//! cargo run --release -p demo -- --speed 600        # faster (a simulated minute = 0.1 s)
//! cargo run --release -p demo -- --functions 60     # 60 generated functions
//! cargo run --release -p demo -- --keep-running     # then poke aws-sim with the AWS CLI and pipeline-canary
//! ```
//!
//! It starts aws-sim (this repository's local AWS, speaking the real wire
//! protocols) in this process at `--speed` simulated seconds per real second
//! (default 60: a `Linear10PercentEvery1Minute` shift takes ~10 s), creates
//! there what `pipeline.yaml` creates in a real account (artifact bucket,
//! action type, CodeDeploy application, pipeline GitHub → Build → Deploy with
//! our action, one `Errors` alarm per function) plus the functions
//! themselves, starts one pipeline-canary worker — the production
//! `Worker` and `LambdaReleaseEngine`, talking to aws-sim through the
//! official AWS SDK, with its release ledger in aws-sim's S3 — and plays
//! six GitHub pushes of a working copy of `examples/collect`, each bundled
//! as `buildspec.yml` does and handed to the pipeline as a simulated push
//! (`POST /_sim/push`; CodeBuild is a pass-through in aws-sim). The first
//! two functions are busy ones: aws-sim's traffic calls each 1,000 times a
//! simulated second (the others 10), 0.5 % of their calls fail in every
//! version (`.sim/behavior.json`), and their alarms fire at 2 % of a
//! minute's calls (1,200 errors). With `--functions N` the same story
//! plays on the generated functions, `collect-fn-01` and `-02` the busy ones.
//!
//! 1. the first release: every function gets its first version and its
//!    `live` alias (nothing to shift from);
//! 2. a change to 2 functions: only those 2 shift, 10 % a minute, shown live;
//! 3. a change with a bug in one function (`.sim/behavior.json`: half of its
//!    invocations fail): its `Errors` alarm fires mid-shift, the whole
//!    release rolls back, the Deploy stage fails with the reason;
//! 4. the fix: the release goes out;
//! 5. a push while someone shifts a function's alias by hand (simulated
//!    operator: a version published outside the pipeline, 10 % routed to
//!    it): pre-flight refuses to overwrite it, naming the fix, nothing is
//!    published; once undone, a retry from the "console"
//!    (`RetryStageExecution`, same execution and artifact) releases it;
//! 6. a change to the 2 busy functions, released with a schedule the worker
//!    drives itself (the manifest's `defaults`: `deploymentConfig`
//!    `{"steps": [10, 50], "interval": "5m"}` and `analysis`), where one
//!    function's new code fails 3 % of its calls instead of 0.5 %: too few
//!    for its alarm, which stays OK, but canary analysis (the new version's
//!    error rate against its previous version's, GetMetricData by
//!    `ExecutedVersion`) fails it at the 10 % step, the whole release rolls
//!    back (both functions on their previous versions, checked through
//!    Lambda), and the Deploy stage fails with the verdict, e.g.
//!    `canary analysis: collect-quote-price v2: 3.1 % errors in 4,862
//!    calls vs v1 0.5 % in 175,138; +2.6 pp > 1.0 pp at 99 %`; the ledger
//!    records the step it stopped at and the verdict.
//!
//! Then a seventh step, after the story (`history.rs`): the release history
//! as `pipeline-canary releases` prints it from the ledger (six releases:
//! the refused push and its retry are two attempts of one release), and
//! `pipeline-canary rollback` of the last release that went out (the
//! fifth; the sixth rolled itself back), checked through Lambda (every
//! function it changed back on its previous version) and the ledger (its
//! record says `RolledBack`).
//!
//! It ends with a table of the steps and exits 0 only if every step
//! behaved as expected (1 otherwise, 2 if the demo could not run). The
//! production worker binary does not depend on this crate: no sim code
//! ships in it.

mod app;
mod history;
mod view;
mod world;

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_cloudwatch::types::StateValue;
use aws_sdk_codepipeline::types::PipelineExecutionStatus;
use base64::Engine;
use clap::Parser;
use pipeline_canary::release::{Clock, LambdaReleaseEngine, ReleaseOptions};
use pipeline_canary::{Worker, WorkerConfig};

use crate::app::App;
use crate::view::LiveView;
use crate::world::{World, err};

#[derive(Parser, Debug)]
#[command(
    name = "demo",
    about = "pipeline-canary's release story on a simulated AWS (aws-sim, in this process)"
)]
struct Args {
    /// Simulated seconds per real second (60: a 10-minute linear shift takes 10 s).
    #[arg(long, default_value_t = 60.0)]
    speed: f64,
    /// Release N generated functions `collect-fn-NN` instead of the 6 of examples/collect.
    #[arg(long, value_name = "N")]
    functions: Option<usize>,
    /// Leave aws-sim (and the worker) running at the end, until Ctrl-C.
    #[arg(long)]
    keep_running: bool,
    /// Port of aws-sim (0: any free port).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Plain lines even on a terminal (no progress bars).
    #[arg(long)]
    plain: bool,
}

/// What a step must end with.
#[derive(Debug, Clone)]
enum Expect {
    /// Succeeds; every function gets its first version, no CodeDeploy deployment.
    FirstRelease,
    /// Succeeds; exactly the changed functions shift, with one deployment each.
    Shift,
    /// Fails naming `alarm`; every function serves what it served before.
    RollBack { alarm: String },
    /// Someone left a manual canary on the function's alias (10 % routed to
    /// a version published by hand): pre-flight fails naming it, nothing is
    /// published; once undone, a console retry (RetryStageExecution) of the
    /// same execution succeeds.
    Stuck,
    /// Worker-driven steps with canary analysis; `function`'s new code
    /// fails a few more calls than its previous version, too few for its
    /// alarm: the analysis fails it at the first step (10 %), the release
    /// rolls back as a whole, with no CodeDeploy deployment, and the alarm
    /// stays OK.
    Analysis { function: String },
}

/// The busy functions (the app's first two): aws-sim's traffic calls each
/// this many times a simulated second (the other functions: the sim's 10).
const BUSY_CALLS_PER_SECOND: f64 = 1000.0;
/// The share of a busy function's calls that fail, in every version.
const BUSY_ERROR_RATE: f64 = 0.005;
/// A busy function's `Errors` alarm fires at this share of a minute's calls.
const BUSY_ALARM_SHARE: f64 = 0.02;
/// The regression of step 6: the share of its new version's calls that fail.
const REGRESSED_ERROR_RATE: f64 = 0.03;
/// Step 6's schedule, which the worker drives (UpdateAlias) itself.
const STEPS: [u32; 2] = [10, 50];
const STEP_INTERVAL: &str = "5m";
/// Step 6's canary analysis: fail a new version with an error rate more
/// than this many percentage points above its previous version's…
const MAX_ERROR_RATE_INCREASE: f64 = 1.0;
/// …at this confidence, on at least this many calls of each.
const CONFIDENCE: f64 = 0.99;
const MIN_INVOCATIONS: u64 = 200;

fn busy(names: &[String]) -> &[String] {
    &names[..2]
}

fn busy_alarm_threshold() -> f64 {
    BUSY_CALLS_PER_SECOND * 60.0 * BUSY_ALARM_SHARE
}

struct Step {
    message: String,
    /// Functions whose code this push changes.
    changed: Vec<String>,
    expect: Expect,
}

/// One row of the final table.
struct Row {
    step: String,
    release: String,
    commit: String,
    changed: usize,
    outcome: String,
    real: Duration,
    simulated: Duration,
    problems: Vec<String>,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    if !(args.speed.is_finite() && (1.0..=6000.0).contains(&args.speed)) {
        eprintln!("demo: --speed must be between 1 and 6000");
        return ExitCode::from(2);
    }
    if args.functions.is_some_and(|n| !(6..=500).contains(&n)) {
        eprintln!("demo: --functions must be between 6 and 500");
        return ExitCode::from(2);
    }
    match run(&args).await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("demo: {e}");
            ExitCode::from(2)
        }
    }
}

async fn run(args: &Args) -> Result<bool, String> {
    let started = Instant::now();
    println!("pipeline-canary demo — everything below runs on aws-sim, a SIMULATED AWS in this");
    println!(
        "process (time x{}: a simulated minute is {:.1} s). No AWS account is used.",
        args.speed,
        60.0 / args.speed
    );
    let mut app = App::new(args.functions)?;
    let names = app.names();
    let world = World::start(args.speed, args.port).await?;
    world.create(&names, &app::placeholder_zip()?).await?;
    println!();
    println!(
        "Created what pipeline.yaml creates (aws-sim at {}):",
        world.sim.endpoint()
    );
    println!(
        "  pipeline {} (V2, QUEUED): GitHub {}@{} -> Build (CodeBuild) -> Deploy (Custom/PipelineCanary, Stage={})",
        world::PIPELINE,
        world::REPOSITORY,
        world::BRANCH,
        world::STAGE
    );
    println!(
        "  artifact bucket {} (KMS), CodeDeploy application {}, action type Deploy/Custom/{}/{}",
        world::ARTIFACT_BUCKET,
        world::APPLICATION,
        world.def.provider,
        world.def.version
    );
    println!(
        "  {} functions {}… with placeholder code and no alias yet, each guarded by its alarm <function>-errors",
        names.len(),
        names.first().map(String::as_str).unwrap_or_default()
    );

    // The busy functions: heavy traffic and a background error rate from
    // their first version on, and alarms sized for it.
    for f in busy(&names) {
        app.fail_rate(f, BUSY_ERROR_RATE)?;
        world
            .busy(f, BUSY_CALLS_PER_SECOND, busy_alarm_threshold())
            .await?;
    }
    println!(
        "  {} are busy: {} calls a second each (simulated traffic), {} % of which fail (.sim/behavior.json); their alarms fire at {} errors in a minute ({} % of a minute's calls)",
        busy(&names).join(" and "),
        thousands(BUSY_CALLS_PER_SECOND),
        BUSY_ERROR_RATE * 100.0,
        thousands(busy_alarm_threshold()),
        BUSY_ALARM_SHARE * 100.0
    );

    // The worker, in-process: the production code with the sim's clock.
    let work_dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let clock_sim = world.sim.sim().clone();
    let watch = Duration::from_secs_f64((10.0 / args.speed).clamp(0.05, 1.0));
    let options = ReleaseOptions {
        ledger: Some(pipeline_canary::ledger::Location::parse(world::LEDGER)?),
        work_dir: work_dir.path().to_path_buf(),
        s3_force_path_style: true,
        watch_interval: watch,
        // Simulated: the job is handed back to CodePipeline with a
        // continuation token every 3 simulated minutes of a shift.
        hold_job: Duration::from_secs(180),
        clock: Some(Clock(Arc::new(move || clock_sim.clock.now()))),
        ..Default::default()
    };
    let engine = LambdaReleaseEngine::new(&world.conf, options);
    let mut config = WorkerConfig::new(world.def.clone());
    config.stage = Some(world::STAGE.to_string());
    config.max_jobs = 4;
    config.poll_interval = Duration::from_millis(100);
    let worker = Worker::new(config, &world.conf, engine)?;
    let (stop_worker, stopped) = tokio::sync::oneshot::channel::<()>();
    let worker_task = tokio::spawn(worker.run_until(async move {
        let _ = stopped.await;
    }));
    println!(
        "  one pipeline-canary worker (in this process) polling for Stage={} jobs",
        world::STAGE
    );

    let steps = story(&names);
    // The pushes, then the release history and rollback.
    let of = steps.len() + 1;
    let mut rows = Vec::new();
    for (i, step) in steps.iter().enumerate() {
        rows.extend(play(&world, &mut app, i + 1, of, step, args).await?);
    }
    rows.push(history::play(&world, of, of, &rows).await?);

    table(&rows);
    let failed: Vec<&Row> = rows.iter().filter(|r| !r.problems.is_empty()).collect();
    if failed.is_empty() {
        println!(
            "Every step behaved as expected ({} of {}), in {:.1} s.",
            rows.len(),
            rows.len(),
            started.elapsed().as_secs_f64()
        );
    } else {
        println!("UNEXPECTED behaviour in {} step(s):", failed.len());
        for r in &failed {
            for p in &r.problems {
                println!("  step {}: {p}", r.step);
            }
        }
    }

    // The plain closing line CI tooling reads as a test count.
    println!(
        "demo: {} passed, {} failed",
        rows.len() - failed.len(),
        failed.len()
    );
    if args.keep_running {
        keep_running(&world, &names, &rows, &app.root.join("build/release.zip")).await;
    }
    let _ = stop_worker.send(());
    let _ = worker_task.await;
    Ok(failed.is_empty())
}

/// The six pushes, with the edits each makes to the working copy.
fn story(names: &[String]) -> Vec<Step> {
    let (a, b, c) = (names[2].clone(), names[3].clone(), names[4].clone());
    let d = names[5].clone();
    let (p, q) = (busy(names)[0].clone(), busy(names)[1].clone());
    vec![
        Step {
            message: "Initial release of the collect service".into(),
            changed: names.to_vec(),
            expect: Expect::FirstRelease,
        },
        Step {
            message: format!("Faster driver matching ({}, {})", short(&a), short(&b)),
            changed: vec![a.clone(), b.clone()],
            expect: Expect::Shift,
        },
        Step {
            message: format!(
                "SMS notifications ({}), with a bug; ETA tweak ({})",
                short(&c),
                short(&b)
            ),
            changed: vec![b.clone(), c.clone()],
            expect: Expect::RollBack {
                alarm: format!("{c}-errors"),
            },
        },
        Step {
            message: format!("Fix the SMS payload ({}); ETA tweak again", short(&c)),
            changed: vec![b, c],
            expect: Expect::Shift,
        },
        Step {
            message: format!("Disposal receipts ({})", short(&d)),
            changed: vec![d.clone()],
            expect: Expect::Stuck,
        },
        Step {
            message: format!(
                "Dynamic pricing ({}), with a subtle regression; pickup time slots ({}); worker-driven steps with canary analysis",
                short(&q),
                short(&p)
            ),
            changed: vec![p, q.clone()],
            expect: Expect::Analysis { function: q },
        },
    ]
}

/// `1000` → `1,000`.
fn thousands(x: f64) -> String {
    let digits = format!("{:.0}", x.round());
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn short(f: &str) -> &str {
    f.strip_prefix(world::FUNCTION_PREFIX).unwrap_or(f)
}

/// Applies a step's edits to the working copy.
fn edit(app: &App, n: usize, step: &Step) -> Result<(), String> {
    match (&step.expect, n) {
        (Expect::FirstRelease, _) => Ok(()),
        (Expect::Stuck, _) => app.edit(&step.changed[0], "release 5: disposal receipts"),
        (Expect::RollBack { .. }, _) => {
            let (eta, buggy) = (&step.changed[0], &step.changed[1]);
            app.edit(eta, "release 3: ETA rounded to 5 minutes")?;
            app.edit(buggy, "release 3: send an SMS when the driver is assigned")?;
            app.inject_bug(buggy)
        }
        (Expect::Shift, 2) => {
            for f in &step.changed {
                app.edit(f, "release 2: faster driver matching")?;
            }
            Ok(())
        }
        (Expect::Shift, _) => {
            let buggy = &step.changed[1];
            app.remove_bug(buggy)?;
            app.edit(buggy, "release 4: fixed SMS payload")
        }
        (Expect::Analysis { function }, _) => {
            for f in &step.changed {
                if f == function {
                    app.edit(f, "release 6: dynamic pricing")?;
                    app.fail_rate(f, REGRESSED_ERROR_RATE)?;
                } else {
                    app.edit(f, "release 6: pickup time slots")?;
                }
            }
            app.set_defaults(
                &step.changed,
                serde_json::json!({"steps": STEPS, "interval": STEP_INTERVAL}),
                serde_json::json!({
                    "maxErrorRateIncrease": MAX_ERROR_RATE_INCREASE,
                    "minInvocations": MIN_INVOCATIONS,
                    "confidence": CONFIDENCE,
                }),
            )
        }
    }
}

async fn play(
    world: &World,
    app: &mut App,
    n: usize,
    of: usize,
    step: &Step,
    args: &Args,
) -> Result<Vec<Row>, String> {
    println!();
    wait_alarms_ok(world, &app.names(), args.speed).await?;
    edit(app, n, step)?;
    let commit = app.commit(&step.message)?;
    let short_commit = commit.id[..7].to_string();
    println!(
        "━━ Step {n}/{of}: git push {short_commit} \"{}\"",
        commit.message
    );
    println!("   {}", explain(step));

    let mut before = BTreeMap::new();
    for f in app.names() {
        before.insert(f.clone(), world.alias(&f).await.map(|a| a.version));
    }
    // Step 5: a hand-made canary on the alias, as an operator would leave
    // one from the console.
    let stuck = match &step.expect {
        Expect::Stuck => {
            let f = &step.changed[0];
            let v = world.manual_canary(f, &app::placeholder_zip()?).await?;
            println!(
                "   Before the push, someone tried a hotfix by hand (simulated operator, Lambda API): published version {v} of {f} and routed 10 % of {} to it.",
                world::ALIAS
            );
            Some(f.clone())
        }
        _ => None,
    };
    let seq = world.seq();
    let pushed = aws_sim::codepipeline::push(
        world.sim.sim(),
        &serde_json::json!({
            "repository": world::REPOSITORY,
            "branch": world::BRANCH,
            "commitId": commit.id,
            "message": commit.message,
            "zip": base64::engine::general_purpose::STANDARD.encode(&commit.zip),
        }),
    )
    .await?;
    let execution = pushed["executions"][0]["pipelineExecutionId"]
        .as_str()
        .ok_or_else(|| format!("the push started no pipeline execution: {pushed}"))?
        .to_string();
    let follow_step = |label: String, expect: Expect, seq: u64, first: bool| Follow {
        label,
        commit: short_commit.clone(),
        execution: execution.clone(),
        changed: step.changed.clone(),
        expect,
        seq,
        first,
    };
    let row = follow(
        world,
        &follow_step(n.to_string(), step.expect.clone(), seq, true),
        &before,
        args,
    )
    .await?;
    let Some(stuck) = stuck else {
        return Ok(vec![row]);
    };
    world.undo_canary(&stuck, "1").await?;
    println!(
        "   The operator undoes the manual canary (UpdateAlias: version 1, empty routing config)."
    );
    println!(
        "   Retry from the \"console\": RetryStageExecution(Deploy, FAILED_ACTIONS) — same execution, same artifact, a new job."
    );
    let seq = world.seq();
    world
        .cp
        .retry_stage_execution()
        .pipeline_name(world::PIPELINE)
        .stage_name("Deploy")
        .pipeline_execution_id(&execution)
        .retry_mode(aws_sdk_codepipeline::types::StageRetryMode::FailedActions)
        .send()
        .await
        .map_err(|e| format!("RetryStageExecution: {}", err(&e)))?;
    let retried = follow(
        world,
        &follow_step(format!("{n} retry"), Expect::Shift, seq, false),
        &before,
        args,
    )
    .await?;
    Ok(vec![row, retried])
}

/// What [`follow`] watches and checks.
struct Follow {
    label: String,
    commit: String,
    execution: String,
    changed: Vec<String>,
    expect: Expect,
    /// Request-log position when it started (to count calls).
    seq: u64,
    /// The execution's first run (show Source and Build).
    first: bool,
}

/// Watches `f.execution` until it ends (live view), prints the outcome as
/// GetPipelineState reports it and checks it against `f.expect`.
async fn follow(
    world: &World,
    f: &Follow,
    before: &BTreeMap<String, Option<String>>,
    args: &Args,
) -> Result<Row, String> {
    let (execution, short_commit, seq) = (&f.execution, &f.commit, f.seq);
    let sim_start = world.sim.sim().clock.now();
    let real_start = Instant::now();
    let watched: BTreeMap<String, Option<String>> = f
        .changed
        .iter()
        .map(|n| (n.clone(), before.get(n).cloned().flatten()))
        .collect();
    let mut view = LiveView::new(watched.clone(), args.plain);
    let deadline = Duration::from_secs_f64(40.0 * 60.0 / args.speed + 60.0);
    let mut seen_actions: BTreeMap<String, String> = BTreeMap::new();
    let status = loop {
        let status = execution_status(world, execution).await?;
        let state = world
            .cp
            .get_pipeline_state()
            .name(world::PIPELINE)
            .send()
            .await
            .map_err(|e| format!("GetPipelineState: {}", err(&e)))?;
        for s in state.stage_states() {
            let ours = s
                .latest_execution()
                .is_some_and(|e| e.pipeline_execution_id() == execution.as_str());
            if !ours {
                continue;
            }
            for a in s.action_states() {
                let Some(l) = a.latest_execution() else {
                    continue;
                };
                let key = format!(
                    "{}/{}",
                    s.stage_name().unwrap_or_default(),
                    a.action_name().unwrap_or_default()
                );
                let st = l
                    .status()
                    .map(|s| s.as_str().to_string())
                    .unwrap_or_default();
                if a.action_name() == Some("Canary") && st == "InProgress" {
                    view.status(&format!(
                        "Deploy/Canary: {}",
                        l.summary().unwrap_or("waiting for the worker")
                    ));
                }
                if f.first && st != "InProgress" && seen_actions.get(&key) != Some(&st) {
                    seen_actions.insert(key.clone(), st.clone());
                    let what = match a.action_name() {
                        Some("GitHub") => format!(
                            "commit {short_commit} of {}@{}",
                            world::REPOSITORY,
                            world::BRANCH
                        ),
                        Some("Bundle") => "CodeBuild (a pass-through in aws-sim: the demo bundled the release as buildspec.yml does)".to_string(),
                        _ => String::new(),
                    };
                    if !what.is_empty() {
                        view.println(&format!("   {key}: {st} — {what}"));
                    }
                }
            }
        }
        for n in watched.keys() {
            let a = world.alias(n).await;
            view.observe(n, a.as_ref());
        }
        if status != PipelineExecutionStatus::InProgress {
            break status;
        }
        if real_start.elapsed() > deadline {
            view.finish();
            return Err(format!(
                "pipeline execution {execution} still InProgress after {:.0} s",
                deadline.as_secs_f64()
            ));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    if matches!(f.expect, Expect::RollBack { .. } | Expect::Analysis { .. }) {
        for (n, was) in &watched {
            if let Some(a) = world.alias(n).await
                && Some(&a.version) == was.as_ref()
                && a.routed.is_none()
            {
                view.rolled_back(n, &a.version);
            }
        }
    }
    view.finish();
    let real = real_start.elapsed();
    let simulated = world
        .sim
        .sim()
        .clock
        .now()
        .duration_since(sim_start)
        .unwrap_or_default();

    // The Deploy action as the console shows it (GetPipelineState).
    let state = world
        .cp
        .get_pipeline_state()
        .name(world::PIPELINE)
        .send()
        .await
        .map_err(|e| format!("GetPipelineState: {}", err(&e)))?;
    let canary = state
        .stage_states()
        .iter()
        .find(|s| s.stage_name() == Some("Deploy"))
        .and_then(|s| {
            s.action_states()
                .iter()
                .find(|a| a.action_name() == Some("Canary"))
        })
        .and_then(|a| a.latest_execution());
    let release = canary
        .and_then(|l| l.external_execution_id())
        .filter(|id| id.starts_with("r-"))
        .or_else(|| {
            // A failed release's execution id is the deployment that failed;
            // the message names the release.
            canary
                .and_then(|l| l.error_details())
                .and_then(|e| e.message())
                .and_then(|m| m.split_whitespace().find(|w| w.starts_with("r-")))
        })
        .unwrap_or("-")
        .trim_end_matches([':', ',', '.'])
        .to_string();
    let summary = canary.and_then(|l| l.summary()).unwrap_or_default();
    let failure = canary
        .and_then(|l| l.error_details())
        .map(|e| {
            format!(
                "{}: {}",
                e.code().unwrap_or_default(),
                e.message().unwrap_or_default()
            )
        })
        .unwrap_or_default();
    match status {
        PipelineExecutionStatus::Succeeded => println!(
            "   ✔ Succeeded in {:.1} s ({:.1} simulated minutes). {summary}",
            real.as_secs_f64(),
            simulated.as_secs_f64() / 60.0
        ),
        _ => {
            println!(
                "   ✘ {} after {:.1} s ({:.1} simulated minutes). Deploy stage, as GetPipelineState reports it:",
                status.as_str(),
                real.as_secs_f64(),
                simulated.as_secs_f64() / 60.0
            );
            for line in failure.lines() {
                println!("     {line}");
            }
        }
    }

    // Did it behave as it must?
    let mut after = BTreeMap::new();
    for n in before.keys() {
        after.insert(n.clone(), world.alias(n).await);
    }
    let deployments = world.ok_calls(seq, "codedeploy", "CreateDeployment");
    let published = world.ok_calls(seq, "lambda", "PublishVersion");
    let mut problems = Vec::new();
    let expected_status = match f.expect {
        Expect::RollBack { .. } | Expect::Stuck | Expect::Analysis { .. } => {
            PipelineExecutionStatus::Failed
        }
        _ => PipelineExecutionStatus::Succeeded,
    };
    if status != expected_status {
        problems.push(format!(
            "the execution ended {} (expected {})",
            status.as_str(),
            expected_status.as_str()
        ));
    }
    for (n, a) in &after {
        let was = before.get(n).cloned().flatten();
        let changed = f.changed.contains(n);
        match (a, &f.expect) {
            (None, _) => problems.push(format!("{n} has no {} alias", world::ALIAS)),
            // Step 5's split is the operator's, left alone by the worker.
            (Some(a), _) if a.routed.is_some() && !matches!(f.expect, Expect::Stuck) => {
                problems.push(format!("{n}:{} is still split: {a:?}", world::ALIAS))
            }
            (Some(a), Expect::RollBack { .. } | Expect::Stuck | Expect::Analysis { .. })
                if Some(&a.version) != was.as_ref() =>
            {
                problems.push(format!(
                    "{n} serves version {} after the failure (was {was:?})",
                    a.version
                ))
            }
            (Some(a), Expect::FirstRelease | Expect::Shift)
                if changed == (Some(&a.version) == was.as_ref()) =>
            {
                problems.push(format!(
                    "{n} serves version {} (was {was:?}; {})",
                    a.version,
                    if changed { "changed" } else { "unchanged" }
                ))
            }
            _ => {}
        }
    }
    match &f.expect {
        Expect::FirstRelease if deployments != 0 => problems.push(format!(
            "{deployments} CodeDeploy deployments on a first release (expected none)"
        )),
        Expect::Shift if deployments != f.changed.len() => problems.push(format!(
            "{deployments} CodeDeploy deployments (expected {})",
            f.changed.len()
        )),
        Expect::RollBack { alarm } if !failure.contains(alarm.as_str()) => {
            problems.push(format!("the failure does not name the alarm {alarm}"))
        }
        Expect::Stuck if !failure.contains(&format!("{} of {}", world::ALIAS, f.changed[0])) => {
            problems.push("the failure does not name the stuck alias".to_string())
        }
        Expect::Stuck if deployments + published != 0 => problems.push(format!(
            "{published} versions published and {deployments} deployments before pre-flight failed (expected none)"
        )),
        Expect::Analysis { function } => {
            analysis_checks(world, function, &release, &failure, sim_start, &mut problems).await?;
            if deployments != 0 {
                problems.push(format!(
                    "{deployments} CodeDeploy deployments (expected none: the worker drives the steps)"
                ));
            }
        }
        _ => {}
    }
    if problems.is_empty() {
        println!("   as expected: {}", verdict(&f.expect, deployments));
    } else {
        for p in &problems {
            println!("   UNEXPECTED: {p}");
        }
    }
    Ok(Row {
        step: f.label.clone(),
        release,
        commit: short_commit.clone(),
        changed: f.changed.len(),
        outcome: status.as_str().to_string(),
        real,
        simulated,
        problems,
    })
}

/// Step 6's checks beyond the aliases: the failure carries the analysis
/// verdict on `function`, its alarm never fired, and the ledger says the
/// release stopped at the first step. Prints what it found.
async fn analysis_checks(
    world: &World,
    function: &str,
    release: &str,
    failure: &str,
    since: std::time::SystemTime,
    problems: &mut Vec<String>,
) -> Result<(), String> {
    let verdict = format!("canary analysis: {function} v");
    let allowance = format!(
        "> {MAX_ERROR_RATE_INCREASE:.1} pp at {:.0} %",
        CONFIDENCE * 100.0
    );
    if !failure.contains(&verdict) || !failure.contains(&allowance) {
        problems.push(format!(
            "the failure does not carry the canary analysis verdict on {function} (\"{verdict}…{allowance}\")"
        ));
    }
    let alarm = world.alarm_report(function, since).await?;
    println!(
        "   {}: {}{} (at most {} errors in a minute of the release; it fires at {}).",
        alarm.name,
        alarm.state,
        if alarm.fired {
            ", but it went into ALARM during the release"
        } else {
            ", never in ALARM during the release"
        },
        thousands(alarm.max_errors_a_minute),
        thousands(alarm.threshold)
    );
    if alarm.state != "OK" || alarm.fired {
        problems.push(format!(
            "{} is {} (fired during the release: {}); the regression was meant to stay under it",
            alarm.name, alarm.state, alarm.fired
        ));
    }
    let record = pipeline_canary::history::show(&history::ledger(world)?, release)
        .await
        .map_err(|e| format!("reading release {release}: {}", e.message))?;
    let entry = record.functions.iter().find(|e| e.name == function);
    let step = entry.and_then(|e| e.step);
    let recorded = entry
        .and_then(|e| e.verdict.as_deref())
        .is_some_and(|v| failure.contains(v));
    let percent = |k: u32| STEPS.get(k as usize).copied().unwrap_or(100);
    match step {
        Some(k) => println!(
            "   The ledger: {release} {}; {function} stopped at step {} of {} ({} %){}.",
            record.outcome.as_str(),
            k + 1,
            STEPS.len() + 1,
            percent(k),
            if recorded {
                ", its verdict recorded"
            } else {
                ""
            }
        ),
        None => println!("   The ledger: {release} records no step for {function}."),
    }
    if step != Some(0) {
        problems.push(format!(
            "{function} was not stopped at its first step ({} %): the ledger records step {step:?}",
            STEPS[0]
        ));
    }
    if !recorded {
        problems.push(format!(
            "the record of {release} does not hold the verdict on {function} the failure gives"
        ));
    }
    Ok(())
}

fn explain(step: &Step) -> String {
    match &step.expect {
        Expect::FirstRelease => format!(
            "First release: the {} functions get their first versions.",
            step.changed.len()
        ),
        Expect::Shift => format!(
            "Changes {}: only these shift (Linear10PercentEvery1Minute), the others are skipped.",
            step.changed.join(", ")
        ),
        Expect::RollBack { alarm } => format!(
            "Changes {}; {} has a bug (.sim/behavior.json: 50 % errors), watched by {alarm}.",
            step.changed.join(", "),
            step.changed[1]
        ),
        Expect::Stuck => format!(
            "Changes {}, whose alias someone is shifting by hand.",
            step.changed.join(", ")
        ),
        Expect::Analysis { function } => {
            let first = f64::from(STEPS[0]) / 100.0;
            let errors_a_minute = BUSY_CALLS_PER_SECOND
                * 60.0
                * ((1.0 - first) * BUSY_ERROR_RATE + first * REGRESSED_ERROR_RATE);
            format!(
                "Changes {}, with a schedule the worker drives itself (UpdateAlias), from the manifest's defaults: {{\"steps\": [{}], \"interval\": \"{STEP_INTERVAL}\"}} and canary analysis (a new version fails if its error rate exceeds its previous version's by more than {MAX_ERROR_RATE_INCREASE:.1} pp at {:.0} % confidence).\n   {function}'s new code fails {} % of its calls (was {} %): at {} % of the traffic, some {} errors a minute, under its alarm's {}.",
                step.changed.join(", "),
                STEPS.map(|s| s.to_string()).join(", "),
                CONFIDENCE * 100.0,
                REGRESSED_ERROR_RATE * 100.0,
                BUSY_ERROR_RATE * 100.0,
                STEPS[0],
                thousands(errors_a_minute),
                thousands(busy_alarm_threshold())
            )
        }
    }
}

fn verdict(expect: &Expect, deployments: usize) -> String {
    match expect {
        Expect::FirstRelease => {
            "every function got version 1 and its live alias; no deployment needed".into()
        }
        Expect::Shift => format!(
            "{deployments} deployment(s), only the changed functions moved, nothing left split"
        ),
        Expect::RollBack { alarm } => {
            format!("{alarm} fired mid-shift; every function is back on its previous version")
        }
        Expect::Stuck => {
            "pre-flight refused to overwrite the manual canary; nothing was published or moved"
                .into()
        }
        Expect::Analysis { function } => format!(
            "canary analysis failed {function} at {} % while its alarm stayed OK; the whole release rolled back (every function on its previous version), no CodeDeploy deployment",
            STEPS[0]
        ),
    }
}

async fn execution_status(world: &World, id: &str) -> Result<PipelineExecutionStatus, String> {
    world
        .cp
        .get_pipeline_execution()
        .pipeline_name(world::PIPELINE)
        .pipeline_execution_id(id)
        .send()
        .await
        .map_err(|e| format!("GetPipelineExecution: {}", err(&e)))?
        .pipeline_execution()
        .and_then(|e| e.status())
        .cloned()
        .ok_or_else(|| "GetPipelineExecution returned no status".to_string())
}

/// Waits until no alarm of `functions` is in ALARM (an alarm that fired in
/// the previous release needs a quiet minute to recover; pre-flight refuses
/// to release while a guarding alarm is in ALARM).
async fn wait_alarms_ok(world: &World, functions: &[String], speed: f64) -> Result<(), String> {
    let start = Instant::now();
    let mut told = false;
    loop {
        let mut firing = Vec::new();
        let mut token = None;
        loop {
            let out = world
                .cw
                .describe_alarms()
                .alarm_name_prefix(world::FUNCTION_PREFIX)
                .state_value(StateValue::Alarm)
                .set_next_token(token)
                .send()
                .await
                .map_err(|e| format!("DescribeAlarms: {}", err(&e)))?;
            firing.extend(
                out.metric_alarms()
                    .iter()
                    .filter_map(|a| a.alarm_name())
                    .filter(|n| functions.iter().any(|f| *n == format!("{f}-errors")))
                    .map(str::to_string),
            );
            token = out.next_token().map(str::to_string);
            if token.is_none() {
                break;
            }
        }
        if firing.is_empty() {
            return Ok(());
        }
        if !told {
            println!(
                "   (waiting for {} to return to OK before the next push)",
                firing.join(", ")
            );
            told = true;
        }
        if start.elapsed() > Duration::from_secs_f64(15.0 * 60.0 / speed + 30.0) {
            return Err(format!("{} stayed in ALARM", firing.join(", ")));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn table(rows: &[Row]) {
    println!();
    println!(
        "{:<8} {:<24} {:<8} {:>9}  {:<10} {:>9} {:>11}  as expected",
        "step", "release", "commit", "functions", "outcome", "real", "simulated"
    );
    for r in rows {
        println!(
            "{:<8} {:<24} {:<8} {:>9}  {:<10} {:>8.1}s {:>8.1}min  {}",
            r.step,
            r.release,
            r.commit,
            r.changed,
            r.outcome,
            r.real.as_secs_f64(),
            r.simulated.as_secs_f64() / 60.0,
            if r.problems.is_empty() { "yes" } else { "NO" }
        );
    }
    println!();
}

/// Leaves aws-sim and the worker running until Ctrl-C.
async fn keep_running(world: &World, names: &[String], rows: &[Row], last_zip: &std::path::Path) {
    let ep = world.sim.endpoint();
    let release_of = |step: &str| {
        rows.iter()
            .find(|r| r.step == step)
            .map_or("r-…", |r| r.release.as_str())
    };
    let f = names.get(3).cloned().unwrap_or_default();
    println!("aws-sim keeps running at {ep} (simulated; the worker too; Ctrl-C to stop). Try:");
    println!(
        "  export AWS_ACCESS_KEY_ID={} AWS_SECRET_ACCESS_KEY={} AWS_DEFAULT_REGION={}",
        world::ACCESS_KEY,
        world::SECRET_KEY,
        world::REGION
    );
    println!(
        "  aws --endpoint-url {ep} codepipeline get-pipeline-state --name {}",
        world::PIPELINE
    );
    println!(
        "  aws --endpoint-url {ep} codepipeline list-action-executions --pipeline-name {}",
        world::PIPELINE
    );
    println!("  aws --endpoint-url {ep} lambda get-alias --function-name {f} --name live");
    println!(
        "  aws --endpoint-url {ep} deploy list-deployments --application-name {} --deployment-group-name {f}",
        world::APPLICATION
    );
    println!("  aws --endpoint-url {ep} cloudwatch describe-alarms --alarm-name-prefix collect-");
    println!(
        "  export AWS_ENDPOINT_URL={ep}   # for pipeline-canary (from the repository root: cargo run -q -- …)"
    );
    println!("  pipeline-canary releases --ledger {}", world::LEDGER);
    println!(
        "  pipeline-canary releases show {} --json --ledger {}   # the canary analysis verdict in the record",
        release_of("6"),
        world::LEDGER
    );
    println!(
        "  pipeline-canary rollback {} --reason \"try it\" --ledger {}   # refused, nothing changed: a later release moved {}",
        release_of("2"),
        world::LEDGER,
        names.get(3).map_or("", String::as_str)
    );
    println!(
        "  pipeline-canary rollback {} --reason \"try it\" --ledger {}   # release 4 put back as a whole",
        release_of("4"),
        world::LEDGER
    );
    println!(
        "  curl -s -X POST {ep}/_sim/push -d '{{\"repository\":\"{}\",\"branch\":\"{}\",\"commitId\":\"0123456789abcdef0123456789abcdef01234567\",\"message\":\"again\",\"path\":\"{}\"}}'",
        world::REPOSITORY,
        world::BRANCH,
        last_zip.display()
    );
    let _ = tokio::signal::ctrl_c().await;
}
