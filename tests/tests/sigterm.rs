//! SIGTERM as ECS and Kubernetes send it, to the real `pipeline-canary run`
//! binary in the middle of a shift: the process exits 0 within its grace,
//! its job handed back to CodePipeline with a continuation token; a second
//! worker finishes the release with exactly one deployment per function.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use e2e::canary::function_zip;
use e2e::release::*;
use e2e::{ACCOUNT_KEY, ACCOUNT_SECRET, REGION};

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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_mid_shift_hands_the_job_back_and_another_worker_finishes() {
    let r = ReleaseEnv::new(canary_sim_config()).await;
    let names: Vec<String> = (1..=3).map(|i| format!("collect-fn{i}")).collect();
    for n in &names {
        r.create_function(n, function_zip(None, &format!("{n}-v1")), Some("live"))
            .await;
    }
    let spec: Vec<CanaryFunction> = names
        .iter()
        .map(|n| CanaryFunction {
            name: n.clone(),
            zip: function_zip(None, &format!("{n}-v2")),
            alarms: vec![],
            config: None,
        })
        .collect();
    // 90 simulated minutes: 9 s at ×600, so the shift runs when the
    // signal comes.
    r.upload_source(canary_artifact(
        "Linear10PercentEvery10Minutes",
        &spec,
        None,
    ))
    .await;
    r.pipeline(PIPELINE, false, None, &[]).await;
    let work = tempfile::tempdir().unwrap();
    let log = work.path().join("worker.log");
    let out = std::fs::File::create(&log).unwrap();
    let grace = Duration::from_secs(5);
    let mut child = tokio::process::Command::new(worker_binary())
        .args([
            "run",
            "--stage",
            "prod",
            "--poll-interval",
            "50ms",
            "--watch-interval",
            "100ms",
            "--hold-job",
            "10m",
            "--shutdown-grace",
            "5s",
            "--ledger",
            LEDGER,
        ])
        .arg("--work-dir")
        .arg(work.path())
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("AWS_ENDPOINT_URL", r.env.sim.endpoint())
        .env("AWS_ACCESS_KEY_ID", ACCOUNT_KEY)
        .env("AWS_SECRET_ACCESS_KEY", ACCOUNT_SECRET)
        .env("AWS_REGION", REGION)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .stdin(Stdio::null())
        .stdout(Stdio::from(out.try_clone().unwrap()))
        .stderr(Stdio::from(out))
        .kill_on_drop(true)
        .spawn()
        .expect("spawn pipeline-canary run");
    let since = r.seq();
    let id = r.env.start(PIPELINE).await;
    let until = Instant::now() + Duration::from_secs(30);
    while r.ok_calls(since, "codedeploy", "CreateDeployment") < names.len() {
        assert!(
            Instant::now() < until,
            "never mid-shift: {}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(r.env.status(PIPELINE, &id).await.as_str(), "InProgress");
    let pid = child.id().expect("the worker runs").to_string();
    let signalled = Instant::now();
    let kill = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(kill.success());
    // Generous: the grace plus the time a result may take to post.
    let exit = tokio::time::timeout(grace + Duration::from_secs(15), child.wait())
        .await
        .expect("the worker exits after SIGTERM")
        .unwrap();
    let took = signalled.elapsed();
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    assert!(exit.success(), "exit {exit:?}; log:\n{text}");
    assert!(text.contains("SIGTERM received"), "{text}");
    eprintln!("exited {exit:?} {took:?} after SIGTERM");
    // Handed back: a success result with a continuation token, never a failure.
    assert!(
        r.env
            .sim
            .sim()
            .codepipeline
            .reported_texts()
            .iter()
            .any(|(at, t)| { at.ends_with("continuation token") && !t.is_empty() }),
        "the job was handed back with a token"
    );
    assert_eq!(r.ok_calls(since, "codepipeline", "PutJobFailureResult"), 0);
    assert_eq!(r.env.status(PIPELINE, &id).await.as_str(), "InProgress");

    // A second worker (in-process) finishes the release.
    let w = r.worker(r.options());
    let st = r.wait(PIPELINE, &id, Duration::from_secs(60)).await;
    let out = r.action_outcome(PIPELINE, &id).await;
    w.stop().await;
    assert_eq!(st.as_str(), "Succeeded", "{out:?}");
    assert_eq!(
        r.ok_calls(since, "codedeploy", "CreateDeployment"),
        names.len(),
        "one deployment per function"
    );
    for n in &names {
        assert_eq!(r.alias_state(n).await, Some(("2".into(), None)), "{n}");
    }
}
