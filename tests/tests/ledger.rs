//! The release ledger end to end, through real jobs against aws-sim: every
//! release recorded in S3 and listed newest first (`releases`, `releases
//! show`, run as the binary a script would run), a whole release rolled
//! back with one command (and refused, changing nothing, when a later
//! release moved one of its functions), versions pruned without ever
//! touching one an alias or a recent release needs, a 500-function release
//! through repeated hand-backs with a token whose size does not grow, two
//! runs of one job racing for one record, a corrupt record refused before
//! anything changes, and `run` refusing to start without a usable ledger.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_codepipeline::types::PipelineExecutionStatus;
use e2e::canary::function_zip;
use e2e::release::*;
use e2e::{ACCOUNT_KEY, ACCOUNT_SECRET, REGION};
use pipeline_canary::ledger::{Ledger, Location};
use pipeline_canary::release::record::{FunctionState, Outcome, ReleaseRecord};

const AT_ONCE: &str = "AllAtOnce";

/// `target/debug/pipeline-canary` (built by `cargo test --workspace`).
fn worker_binary() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let bin = exe
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("pipeline-canary");
    assert!(
        bin.exists(),
        "{} is missing: run `cargo build -p pipeline-canary` first",
        bin.display()
    );
    bin
}

/// Runs the binary with `args` against the sim: (exit code, stdout, stderr).
fn cli(r: &ReleaseEnv, args: &[&str]) -> (i32, String, String) {
    let out = std::process::Command::new(worker_binary())
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("AWS_ENDPOINT_URL", r.env.sim.endpoint())
        .env("AWS_ACCESS_KEY_ID", ACCOUNT_KEY)
        .env("AWS_SECRET_ACCESS_KEY", ACCOUNT_SECRET)
        .env("AWS_REGION", REGION)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env("PIPELINE_CANARY_LEDGER", LEDGER)
        .output()
        .expect("run pipeline-canary");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn ledger(r: &ReleaseEnv) -> Ledger {
    Ledger::new(&r.env.conf, Location::parse(LEDGER).unwrap(), true)
}

/// `n` functions `collect-fn-<i>` with `live` on version 1.
async fn functions(r: &ReleaseEnv, n: usize) -> Vec<String> {
    let names: Vec<String> = (0..n).map(|i| format!("collect-fn-{i:03}")).collect();
    for name in &names {
        r.create_function(
            name,
            function_zip(None, &format!("{name}-v1")),
            Some("live"),
        )
        .await;
    }
    names
}

/// The application's code as the next release ships it: each function's
/// code tag (`v1` as created).
struct App {
    code: BTreeMap<String, String>,
}

impl App {
    fn new(names: &[String]) -> App {
        App {
            code: names
                .iter()
                .map(|n| (n.clone(), "v1".to_string()))
                .collect(),
        }
    }

    /// The next release's artifact: `changed` get code `tag`, the others
    /// keep theirs.
    fn release(&mut self, changed: &[&str], tag: &str, config: &str) -> Vec<u8> {
        for c in changed {
            self.code.insert(c.to_string(), tag.to_string());
        }
        let spec: Vec<CanaryFunction> = self
            .code
            .iter()
            .map(|(n, t)| CanaryFunction {
                name: n.clone(),
                zip: function_zip(None, &format!("{n}-{t}")),
                alarms: vec![],
                config: None,
            })
            .collect();
        canary_artifact(config, &spec, None)
    }
}

/// Releases `artifact` through the pipeline and waits for the execution.
async fn run(r: &ReleaseEnv, artifact: Vec<u8>) -> (String, PipelineExecutionStatus) {
    r.upload_source(artifact).await;
    r.run(PIPELINE, Duration::from_secs(30)).await
}

fn release_id(exec: &str) -> String {
    pipeline_canary::canary::release_id(PIPELINE, "Deploy", "Canary", exec)
}

async fn record(r: &ReleaseEnv, id: &str) -> ReleaseRecord {
    ledger(r).record(id).await.unwrap().expect("the record").0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_release_is_recorded_and_listed_newest_first_by_the_cli() {
    let r = ReleaseEnv::new(canary_sim_config()).await;
    let names = functions(&r, 3).await;
    r.pipeline(PIPELINE, false, None, &[]).await;
    let w = r.worker(r.options());
    let mut app = App::new(&names);
    let (e1, s1) = run(&r, app.release(&[&names[0], &names[1]], "v2", AT_ONCE)).await;
    let (e2, s2) = run(&r, app.release(&[&names[1]], "v3", AT_ONCE)).await;
    let (e3, s3) = run(&r, app.release(&[], "v3", AT_ONCE)).await;
    w.stop().await;
    assert_eq!([s1.as_str(), s2.as_str(), s3.as_str()], ["Succeeded"; 3]);

    // `releases --json`: newest first, the fields scripts rely on.
    let (code, out, err) = cli(&r, &["releases", "--json"]);
    assert_eq!(code, 0, "{err}");
    let list: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    let ids: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["releaseId"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [release_id(&e3), release_id(&e2), release_id(&e1)]);
    let first = &list[2];
    for field in [
        "pipeline",
        "executionId",
        "commit",
        "outcome",
        "startedAt",
        "endedAt",
    ] {
        assert!(!first[field].is_null(), "{field} in {first}");
    }
    assert_eq!(first["outcome"], "Succeeded");
    assert_eq!(first["executionId"], e1.as_str());
    let changed: Vec<(String, String, String)> = first["functions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            assert_eq!(f["alias"], "live");
            (
                f["name"].as_str().unwrap().to_string(),
                f["previousVersion"].as_str().unwrap().to_string(),
                f["version"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        changed,
        [
            (names[0].clone(), "1".into(), "2".into()),
            (names[1].clone(), "1".into(), "2".into())
        ]
    );
    assert_eq!(
        list[0]["functions"].as_array().unwrap().len(),
        0,
        "nothing changed"
    );

    // The table, a limit, a pipeline filter, `releases show`.
    let (code, table, _) = cli(&r, &["releases", "--limit", "2"]);
    assert_eq!(code, 0);
    assert_eq!(table.lines().count(), 3, "{table}");
    assert!(
        table.lines().next().unwrap().starts_with("RELEASE"),
        "{table}"
    );
    assert!(table.contains(&release_id(&e3)) && !table.contains(&release_id(&e1)));
    let (_, none, _) = cli(&r, &["releases", "--pipeline", "another", "--json"]);
    assert_eq!(none.trim(), "[]");
    let (code, show, _) = cli(&r, &["releases", "show", &release_id(&e2), "--json"]);
    assert_eq!(code, 0);
    let one = ReleaseRecord::parse(show.as_bytes(), "stdout").expect("a whole record");
    assert_eq!(one.functions[0].name, names[1]);
    assert_eq!(one.functions[0].previous_version.as_deref(), Some("2"));
    assert_eq!(one.functions[0].state, FunctionState::Released);
    assert_eq!(one.unchanged.len(), 2);
    let (code, _, err) = cli(&r, &["releases", "show", "r-00000000deadbeef"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("there is no release r-00000000deadbeef"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rollback_puts_a_whole_release_back_and_refuses_when_a_later_release_moved_one_of_its_functions()
 {
    let r = ReleaseEnv::new(canary_sim_config()).await;
    let names = functions(&r, 3).await;
    let (a, b, c) = (names[0].as_str(), names[1].as_str(), names[2].as_str());
    r.pipeline(PIPELINE, false, None, &[]).await;
    let w = r.worker(r.options());
    let mut app = App::new(&names);
    // Release 1 changes a and b; release 2 only c.
    let (e1, _) = run(&r, app.release(&[a, b], "v2", AT_ONCE)).await;
    let (e2, s2) = run(&r, app.release(&[c], "v2", AT_ONCE)).await;
    assert_eq!(s2.as_str(), "Succeeded");
    assert_eq!(record(&r, &release_id(&e2)).await.functions.len(), 1);

    // Rolling release 1 back: a and b back on 1, c left on its new version.
    let since = r.seq();
    let (code, out, err) = cli(
        &r,
        &["rollback", &release_id(&e1), "--reason", "bad prices"],
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("2 function(s) back on their previous versions"),
        "{out}"
    );
    for (f, v) in [(a, "1"), (b, "1"), (c, "2")] {
        assert_eq!(r.alias_version(f, "live").await, v, "{f}");
    }
    assert_eq!(r.lambda_calls(since, "UpdateAlias").len(), 2);
    let rec = record(&r, &release_id(&e1)).await;
    assert_eq!(rec.outcome, Outcome::RolledBack);
    assert_eq!(rec.rollback.as_ref().unwrap().reason, "bad prices");
    assert!(
        rec.functions
            .iter()
            .all(|f| f.state == FunctionState::RolledBack)
    );
    // Again: nothing to do, exit 0, nothing changed.
    let since = r.seq();
    let (code, out, _) = cli(&r, &["rollback", &release_id(&e1), "--reason", "again"]);
    assert_eq!(code, 0);
    assert!(out.contains("already rolled back"), "{out}");
    assert_eq!(r.lambda_calls(since, "UpdateAlias").len(), 0);

    // Release 3 changes a and b again (back from 1: versions 3); release 4
    // moves b once more (version 4). Rolling 3 back is refused: nothing
    // changes, b is named with what serves it and which release moved it.
    let (e3, _) = run(&r, app.release(&[a, b], "v3", AT_ONCE)).await;
    let (e4, _) = run(&r, app.release(&[b], "v4", AT_ONCE)).await;
    w.stop().await;
    let before: Vec<String> = futures_all(&r, &names).await;
    let since = r.seq();
    let (code, _, err) = cli(&r, &["rollback", &release_id(&e3), "--reason", "oops"]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains(&format!(
            "{b}: alias live serves version 4, moved there by release {}",
            release_id(&e4)
        )),
        "{err}"
    );
    assert!(!err.contains(&format!("{a}:")), "{err}");
    assert!(err.contains("nothing was changed"), "{err}");
    assert_eq!(
        r.lambda_calls(since, "UpdateAlias").len(),
        0,
        "no UpdateAlias"
    );
    assert_eq!(futures_all(&r, &names).await, before);
    assert_eq!(
        record(&r, &release_id(&e3)).await.outcome,
        Outcome::Succeeded
    );
    // Usage: a rollback without a reason.
    let (code, _, err) = cli(&r, &["rollback", &release_id(&e3), "--reason", " "]);
    assert_eq!(code, 2, "{err}");
}

async fn futures_all(r: &ReleaseEnv, names: &[String]) -> Vec<String> {
    let mut v = Vec::new();
    for n in names {
        v.push(r.alias_version(n, "live").await);
    }
    v
}

/// Every published version of `f`, as numbers.
async fn versions(r: &ReleaseEnv, f: &str) -> Vec<u32> {
    let out = r
        .lambda
        .list_versions_by_function()
        .function_name(f)
        .send()
        .await
        .unwrap();
    let mut v: Vec<u32> = out
        .versions()
        .iter()
        .filter_map(|v| v.version()?.parse().ok())
        .collect();
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prune_never_deletes_what_an_alias_or_a_recent_release_needs() {
    let r = ReleaseEnv::new(canary_sim_config()).await;
    let names = functions(&r, 2).await;
    let (a, b) = (names[0].as_str(), names[1].as_str());
    r.pipeline(PIPELINE, false, None, &[]).await;
    let w = r.worker(r.options());
    let mut app = App::new(&names);
    // a: versions 2, 3, 4 from three releases; b: 2 from the first.
    for tag in ["v2", "v3", "v4"] {
        let changed: Vec<&str> = if tag == "v2" { vec![a, b] } else { vec![a] };
        let (_, st) = run(&r, app.release(&changed, tag, AT_ONCE)).await;
        assert_eq!(st.as_str(), "Succeeded");
    }
    w.stop().await;
    // A person points a second alias at a's version 2.
    r.lambda
        .create_alias()
        .function_name(a)
        .name("pinned")
        .function_version("2")
        .send()
        .await
        .unwrap();
    assert_eq!(versions(&r, a).await, [1, 2, 3, 4]);

    // --dry-run deletes nothing and says what it would.
    let since = r.seq();
    let (code, out, err) = cli(
        &r,
        &[
            "prune",
            "--function-prefix",
            "collect-",
            "--keep",
            "1",
            "--dry-run",
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains(&format!("would delete {a}:1")), "{out}");
    assert_eq!(r.lambda_calls(since, "DeleteFunction").len(), 0);
    // Keep the last release (a: 3 → 4): 1 goes; 2 stays (alias pinned),
    // 3 and 4 stay (the release's previous and new), b keeps 1 and 2
    // (its alias serves 2; 1 is the previous of no kept release → goes).
    let (code, out, err) = cli(
        &r,
        &["prune", "--function-prefix", "collect-", "--keep", "1"],
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains(&format!("deleted {a}:1")), "{out}");
    assert!(out.contains(&format!("deleted {b}:1")), "{out}");
    assert_eq!(versions(&r, a).await, [2, 3, 4]);
    assert_eq!(versions(&r, b).await, [2]);
    assert_eq!(r.alias_version(a, "live").await, "4");
    // $LATEST is still there.
    r.lambda
        .get_function()
        .function_name(a)
        .send()
        .await
        .unwrap();
    // Keeping all three releases protects b's 1 … which is gone already,
    // and a's everything: nothing more to delete.
    let (_, out, _) = cli(
        &r,
        &["prune", "--function-prefix", "collect-", "--keep", "3"],
    );
    assert!(out.contains("0 version(s) deleted"), "{out}");
}

/// `run --prune-keep 1`: after a release succeeds, its functions' versions
/// that nothing needs are deleted by the worker itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_worker_prunes_a_releases_functions_after_it_succeeds() {
    let r = ReleaseEnv::new(canary_sim_config()).await;
    let names = functions(&r, 2).await;
    r.pipeline(PIPELINE, false, None, &[]).await;
    let mut options = r.options();
    options.prune_keep = Some(1);
    let w = r.worker(options);
    let mut app = App::new(&names);
    for tag in ["v2", "v3", "v4"] {
        let (_, st) = run(&r, app.release(&[&names[0]], tag, AT_ONCE)).await;
        assert_eq!(st.as_str(), "Succeeded");
    }
    w.stop().await;
    // After the last release (3 → 4): 1 and 2 are gone; b untouched.
    assert_eq!(versions(&r, &names[0]).await, [3, 4]);
    assert_eq!(versions(&r, &names[1]).await, [1]);
}

/// The same prune decisions against moto's Lambda (the ledger in aws-sim).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prune_against_moto_deletes_only_unreferenced_versions() {
    let Some(moto) = e2e::moto::moto("prune_against_moto_deletes_only_unreferenced_versions").await
    else {
        return;
    };
    let endpoint = moto.endpoint.clone();
    let r = ReleaseEnv::new(canary_sim_config()).await;
    let conf = e2e::sdk_config(&endpoint);
    moto_create_role(&endpoint).await;
    let lambda = aws_sdk_lambda::Client::new(&conf);
    lambda
        .create_function()
        .function_name("collect-moto")
        .runtime(aws_sdk_lambda::types::Runtime::Nodejs20x)
        .role(ROLE)
        .handler("index.handler")
        .code(
            aws_sdk_lambda::types::FunctionCode::builder()
                .zip_file(aws_sdk_lambda::primitives::Blob::new(function_zip(
                    None, "m1",
                )))
                .build(),
        )
        .send()
        .await
        .expect("CreateFunction (moto)");
    for tag in ["m1", "m2", "m3"] {
        lambda
            .update_function_code()
            .function_name("collect-moto")
            .zip_file(aws_sdk_lambda::primitives::Blob::new(function_zip(
                None, tag,
            )))
            .send()
            .await
            .unwrap();
        lambda
            .publish_version()
            .function_name("collect-moto")
            .send()
            .await
            .unwrap();
    }
    lambda
        .create_alias()
        .function_name("collect-moto")
        .name("live")
        .function_version("2")
        .send()
        .await
        .unwrap();
    let p = pipeline_canary::history::prune(&conf, &ledger(&r), "collect-", None, 5, false, |_| {})
        .await
        .expect("prune against moto");
    // 2: the alias's; 3: holds the code $LATEST runs (what a code-only
    // function's next rollback would put back).
    assert_eq!(p.deleted, ["collect-moto:1"]);
    let left: Vec<String> = lambda
        .list_versions_by_function()
        .function_name("collect-moto")
        .send()
        .await
        .unwrap()
        .versions()
        .iter()
        .filter_map(|v| v.version().map(str::to_string))
        .collect();
    assert!(
        left.contains(&"2".to_string()) && left.contains(&"$LATEST".to_string()),
        "{left:?}"
    );
    assert!(!left.contains(&"1".to_string()), "{left:?}");
}

/// 500 functions, every one changed: the release completes through many
/// hand-backs, each continuation job resuming from the record (no artifact
/// download after the first job), every alias on its new version, and the
/// largest continuation token as small as for one function.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_500_function_release_completes_through_hand_backs_with_a_constant_size_token() {
    const N: usize = 500;
    let r = ReleaseEnv::new(e2e::SimConfig {
        time_scale: 600.0,
        lambda_update_delay: Duration::from_secs(2),
        continuation_delay: Duration::from_millis(100),
        traffic_rate: 0.0,
        alarm_poll: Duration::from_secs(3600),
        ..Default::default()
    })
    .await;
    let names = functions(&r, N).await;
    let all: Vec<&str> = names.iter().map(String::as_str).collect();
    // 90 simulated minutes, 9 s at ×600: long enough for hand-backs (a job
    // keeps watching once the end is nearer than a hand-back would cost).
    r.upload_source(App::new(&names).release(&all, "v2", "Linear10PercentEvery10Minutes"))
        .await;
    r.pipeline(PIPELINE, false, None, &[]).await;
    let since = r.seq();
    let mut options = r.canary_options(Duration::from_millis(50), Duration::from_millis(50));
    options.control.rate_per_second = 2_000.0;
    options.control.concurrency = 32;
    // The same generous quota for CodeDeploy's shifts (set below): every
    // deployment starts at once.
    options.codedeploy_rate = f64::INFINITY;
    let w = r.worker(options);
    // This test is about the ledger at scale, not Lambda's quota (which
    // would make publishing 500 functions take 100 s): a generous one.
    r.env
        .sim
        .sim()
        .lambda
        .set_request_quota(Some(aws_sim::lambda::quota::RequestQuota {
            control_plane: 5_000.0,
            get_function: 5_000.0,
            ..Default::default()
        }));
    let (id, st) = r.run(PIPELINE, Duration::from_secs(240)).await;
    let out = r.action_outcome(PIPELINE, &id).await;
    w.stop().await;
    assert_eq!(st.as_str(), "Succeeded", "{out:?}");
    let sim = r.env.sim.sim();
    for n in names.iter().step_by(37).chain(names.last()) {
        assert_eq!(r.alias_state(n).await, Some(("2".into(), None)), "{n}");
    }
    assert_eq!(r.ok_calls(since, "codedeploy", "CreateDeployment"), N);
    let jobs = r.ok_calls(since, "codepipeline", "AcknowledgeJob");
    assert!(jobs >= 5, "handed back several times: {jobs} jobs");
    // The artifact was downloaded by the first job only.
    let artifact_gets = r
        .s3_calls_but_ledger(since)
        .iter()
        .filter(|x| x.operation == "GetObject" && x.path.contains("/canary-artifacts/"))
        .count();
    let tokens: Vec<usize> = sim
        .codepipeline
        .reported_texts()
        .into_iter()
        .filter(|(at, _)| at.ends_with("continuation token"))
        .map(|(_, t)| t.len())
        .collect();
    let largest = tokens.iter().copied().max().unwrap_or(0);
    let rec = record(&r, &out.variables["ReleaseId"]).await;
    let writes = r
        .ledger_calls(since)
        .iter()
        .filter(|x| x.operation == "PutObject" && x.status == 200)
        .count();
    eprintln!(
        "500 functions: {jobs} jobs, {} continuation tokens, largest {largest} characters; {writes} ledger writes; artifact GETs {artifact_gets}",
        tokens.len()
    );
    assert!(!tokens.is_empty());
    // A pointer (release id, record key, ETag) in the envelope: the same
    // size for 1 function or 500.
    assert!(largest <= 300, "{largest} characters");
    assert!(
        artifact_gets <= 3,
        "the artifact is fetched by the first job only"
    );
    assert_eq!(rec.outcome, Outcome::Succeeded);
    assert_eq!(rec.functions.len(), N);
    assert!(
        rec.functions
            .iter()
            .all(|f| f.state == FunctionState::Released)
    );
}

/// Two runs of one job (a job dispatched twice) race for its record: one
/// create wins, the other re-reads, finds the record held by the other run
/// and abandons without a result; the release ends once, one deployment per
/// function.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_runs_of_one_job_racing_for_its_record_end_the_release_once() {
    use pipeline_canary::codepipeline::JobContext;
    use pipeline_canary::release::LambdaReleaseEngine;
    use pipeline_canary::report::JobReport;
    use pipeline_canary::runtime::{Shutdown, drive};

    let r = ReleaseEnv::new(canary_sim_config()).await;
    let names = functions(&r, 3).await;
    let all: Vec<&str> = names.iter().map(String::as_str).collect();
    r.upload_source(App::new(&names).release(&all, "v2", AT_ONCE))
        .await;
    r.pipeline(PIPELINE, false, None, &[]).await;
    let exec = r.env.start(PIPELINE).await;
    // Take the job as a worker would (poll, acknowledge) and run it twice.
    let api = Arc::new(pipeline_canary::codepipeline::JobsApi::new(
        e2e::codepipeline_client(&r.env.conf),
        &r.def,
        Some(("Stage".into(), "prod".into())),
    ));
    let job = loop {
        let mut jobs = api.poll(1).await.expect("PollForJobs");
        if let Some(j) = jobs.pop() {
            break j;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(matches!(
        api.acknowledge(&job).await,
        pipeline_canary::codepipeline::Ack::InProgress
    ));
    let since = r.seq();
    r.env.sim.sim().lambda.set_request_quota(None);
    // Two workers (two engines, each with its own workspaces).
    let engine = || Arc::new(LambdaReleaseEngine::new(&r.env.conf, r.options()));
    let run = |e: Arc<LambdaReleaseEngine>| {
        let ctx = Arc::new(JobContext::new(
            job.input.clone(),
            Some(api.clone()),
            Duration::from_secs(600),
        ));
        tokio::spawn(async move { drive(e, ctx, Shutdown::never(), |_| {}).await })
    };
    let (one, two) = (run(engine()), run(engine()));
    let reports = [one.await.unwrap(), two.await.unwrap()];
    let abandoned = reports
        .iter()
        .filter(|x| matches!(x, JobReport::Abandon { .. }))
        .count();
    let succeeded = reports
        .iter()
        .filter(|x| matches!(x, JobReport::Succeed { .. }))
        .count();
    assert_eq!((abandoned, succeeded), (1, 1), "{reports:?}");
    assert_eq!(r.ok_calls(since, "codedeploy", "CreateDeployment"), 3);
    let conflicts = r
        .ledger_calls(since)
        .iter()
        .filter(|x| x.operation == "PutObject" && (x.status == 412 || x.status == 409))
        .count();
    assert!(conflicts >= 1, "one run lost a conditional write");
    let rec = record(&r, &release_id(&exec)).await;
    assert_eq!(rec.outcome, Outcome::Succeeded);
    assert_eq!(rec.attempt, 1);
    for n in &names {
        assert_eq!(r.alias_version(n, "live").await, "2");
        assert_eq!(rec.function(n).unwrap().deployment_ids.len(), 1, "{n}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupt_record_fails_the_job_naming_its_key_and_nothing_changes() {
    let r = ReleaseEnv::new(canary_sim_config()).await;
    let names = functions(&r, 2).await;
    let all: Vec<&str> = names.iter().map(String::as_str).collect();
    r.upload_source(App::new(&names).release(&all, "v2", AT_ONCE))
        .await;
    r.pipeline(PIPELINE, false, None, &[]).await;
    let exec = r.env.start(PIPELINE).await;
    let key = format!("releases/releases/{}.json", release_id(&exec));
    let at = format!("s3://{LEDGER_BUCKET}/{key}");
    r.env
        .s3
        .put_object()
        .bucket(LEDGER_BUCKET)
        .key(&key)
        .body(br#"{"schema": 1, "releaseId": 42}"#.to_vec().into())
        .send()
        .await
        .unwrap();
    let since = r.seq();
    let w = r.worker(r.options());
    let st = r.wait(PIPELINE, &exec, Duration::from_secs(20)).await;
    let out = r.action_outcome(PIPELINE, &exec).await;
    w.stop().await;
    assert_eq!(st.as_str(), "Failed");
    let (code, message) = out.error.unwrap();
    assert_eq!(code, "ConfigurationError", "{message}");
    assert!(message.contains(&at), "{message}");
    for op in ["UpdateFunctionCode", "PublishVersion", "UpdateAlias"] {
        assert_eq!(r.lambda_calls(since, op).len(), 0, "{op}");
    }
    assert_eq!(r.ok_calls(since, "codedeploy", "CreateDeployment"), 0);
    assert!(
        r.ledger_calls(since)
            .iter()
            .all(|x| x.operation != "PutObject"),
        "the record is left as it was"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_refuses_to_start_without_a_usable_ledger_naming_bucket_and_permission() {
    let r = ReleaseEnv::new(canary_sim_config()).await;
    let (code, _, err) = cli(
        &r,
        &[
            "run",
            "--stage",
            "prod",
            "--ledger",
            "s3://no-such-ledger/releases",
        ],
    );
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("the ledger bucket no-such-ledger does not exist"),
        "{err}"
    );
    // A key that may list but not write.
    let sim = r.env.sim.sim();
    sim.iam
        .put_policy(
            ACCOUNT_KEY,
            &serde_json::json!({
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": ["s3:ListBucket", "s3:GetObject"], "Resource": "*"}]
            }),
        )
        .unwrap();
    let (code, _, err) = cli(&r, &["run", "--stage", "prod"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains(&format!(
            "allow s3:PutObject on arn:aws:s3:::{LEDGER_BUCKET}/releases/*"
        )),
        "{err}"
    );
}

/// The record survives the release: after success it says what changed,
/// with deployment ids and times, and what was left alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_holds_what_a_release_changed_and_how_it_ended() {
    let r = ReleaseEnv::new(canary_sim_config()).await;
    let names = functions(&r, 3).await;
    r.pipeline(PIPELINE, false, None, &[]).await;
    let w = r.worker(r.options());
    let (e, st) = run(
        &r,
        App::new(&names).release(&[&names[0]], "v2", "Linear10PercentEvery1Minute"),
    )
    .await;
    w.stop().await;
    assert_eq!(st.as_str(), "Succeeded");
    let rec = record(&r, &release_id(&e)).await;
    assert_eq!(rec.pipeline, PIPELINE);
    assert_eq!(rec.stage, "Deploy");
    assert_eq!(rec.execution_id, e);
    assert_eq!(rec.attempt, 1);
    assert!(rec.ended_at.is_some() && rec.started_at <= rec.updated_at);
    assert_eq!(rec.artifact.bucket, e2e::worker::ARTIFACT_BUCKET);
    let f = &rec.functions[0];
    assert_eq!(f.name, names[0]);
    assert_eq!(
        f.deployment_config,
        "CodeDeployDefault.LambdaLinear10PercentEvery1Minute"
    );
    assert_eq!(f.deployment_ids.len(), 1);
    assert!(f.code_sha256.len() == 44, "{}", f.code_sha256);
    let unchanged: BTreeMap<&str, &str> = rec
        .unchanged
        .iter()
        .map(|u| (u.name.as_str(), u.version.as_str()))
        .collect();
    assert_eq!(unchanged.len(), 2);
    assert_eq!(unchanged[names[1].as_str()], "1");
    // The index keys list it.
    let ids = ledger(&r).list(Some(PIPELINE), 10).await.unwrap();
    assert_eq!(ids, [release_id(&e)]);
}

/// The start-up probe meets a blip (the first answers to its write are
/// lost: S3 stored the probe, the connection closed): it retries as every
/// ledger call does, and its retry's 412 means the probe is there. A worker
/// used to exit 2 at start-up on one lost answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_start_up_probe_rides_out_a_blip() {
    use aws_sim::faults::{FaultConfig, FaultRule};
    let r = ReleaseEnv::new(canary_sim_config()).await;
    let sim = r.env.sim.sim().clone();
    sim.faults
        .set(
            FaultConfig {
                seed: Some(1),
                rules: ["ListObjectsV2", "PutObject", "GetObject"]
                    .into_iter()
                    .map(|op| FaultRule {
                        service: Some("s3".into()),
                        operation: Some(op.into()),
                        lost_response: 1.0,
                        duration_real_seconds: Some(0.15),
                        ..Default::default()
                    })
                    .collect(),
            },
            sim.clock.now(),
        )
        .unwrap();
    let since = r.seq();
    ledger(&r)
        .probe()
        .await
        .expect("the probe rides out the blip");
    let lost = sim
        .log
        .query(since, Some("s3"), None)
        .iter()
        .filter(|c| c.error.as_deref() == Some("LostResponse"))
        .count();
    assert!(lost >= 1, "no answer was lost");
}
