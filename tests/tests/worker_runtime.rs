//! The worker runtime against aws-sim through the official SDK: registration,
//! the poll/ack/result protocol, concurrency limits, fleets, continuation,
//! panics, backoff, graceful shutdown, replicas, telemetry and secrets.

use std::time::Duration;

use aws_sdk_codepipeline::types::PipelineExecutionStatus;
use e2e::worker::*;
use pipeline_canary::NoReleaseEngine;
use pipeline_canary::definition::ActionTypeDefinition;

fn def() -> ActionTypeDefinition {
    ActionTypeDefinition::embedded()
}

#[tokio::test]
async fn one_job_without_release_engine_fails_with_configuration_error() {
    let env = env(10.0).await;
    env.register(&def()).await;
    env.pipeline("p1", &def(), "prod", &[]).await;
    let id = env.start("p1").await;
    let w = RunningWorker::start(&env, config(&def(), "prod", 8), NoReleaseEngine);
    let st = env
        .wait_done(&[("p1".into(), id.clone())], Duration::from_secs(5))
        .await;
    w.stop().await;
    assert_eq!(st, [PipelineExecutionStatus::Failed]);
    let state = env.cp.get_pipeline_state().name("p1").send().await.unwrap();
    let action = &state.stage_states()[1].action_states()[0];
    let latest = action.latest_execution().unwrap();
    let err = latest.error_details().unwrap();
    assert_eq!(err.code(), Some("ConfigurationError"));
    assert!(
        err.message().unwrap().starts_with("no release engine"),
        "{err:?}"
    );
    assert_eq!(env.ok_calls("AcknowledgeJob"), 1);
    assert_eq!(env.ok_calls("PutJobFailureResult"), 1);
    assert_eq!(env.ok_calls("PutJobSuccessResult"), 0);
}

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::Ordering;

use aws_sim::faults::{FaultConfig, FaultRule};
use pipeline_canary::register::{RegisterError, Registration, register};
use pipeline_canary::telemetry;

#[tokio::test]
async fn registration_new_identical_drifted_and_invalid() {
    let env = env(1.0).await;
    let before = env.sim.sim().log.len();
    // Invalid locally: refused before any call.
    let mut bad = def();
    bad.configuration_properties[1].queryable = true;
    bad.version = "2".into();
    match register(&env.cp, &bad).await {
        Err(RegisterError::Invalid(p)) => assert!(
            p.iter().any(|x| x.contains("2 properties are queryable")),
            "{p:?}"
        ),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        env.sim
            .sim()
            .log
            .query(before, Some("codepipeline"), None)
            .len(),
        0,
        "no AWS call for an invalid definition"
    );

    assert_eq!(
        register(&env.cp, &def()).await.unwrap(),
        Registration::Created
    );
    assert_eq!(
        register(&env.cp, &def()).await.unwrap(),
        Registration::AlreadyRegistered
    );
    assert_eq!(
        env.ok_calls("CreateCustomActionType"),
        1,
        "identical definition: no second create"
    );

    let mut drifted = def();
    drifted.configuration_properties[4].description = Some("Where the manifest lives.".into());
    drifted.output_artifact_details.maximum_count = 0;
    let e = register(&env.cp, &drifted).await.unwrap_err();
    let RegisterError::Drift {
        ref differences, ..
    } = e
    else {
        panic!("{e}")
    };
    assert_eq!(differences.len(), 2, "{differences:?}");
    assert!(
        differences[0].contains("property Manifest"),
        "{differences:?}"
    );
    assert!(e.to_string().contains("bump \"version\""), "{e}");

    // A bumped version registers.
    drifted.version = "2".into();
    assert_eq!(
        register(&env.cp, &drifted).await.unwrap(),
        Registration::Created
    );
}

#[tokio::test]
async fn hundred_jobs_with_max_jobs_8_never_exceed_8_in_flight() {
    let env = env(10.0).await;
    env.register(&def()).await;
    let pipes = ["a", "b", "c", "d"];
    for p in pipes {
        env.pipeline(p, &def(), "prod", &[]).await;
    }
    let engine = TestEngine::new(Behaviour::Sleep(Duration::from_millis(100)));
    let w = RunningWorker::start(&env, config(&def(), "prod", 8), engine.clone());
    let t0 = std::time::Instant::now();
    let runs = env.start_all(&pipes, 25).await;
    let st = env.wait_done(&runs, Duration::from_secs(20)).await;
    let elapsed = t0.elapsed();
    let metrics = w.metrics.clone();
    w.stop().await;
    assert!(
        st.iter().all(|s| *s == PipelineExecutionStatus::Succeeded),
        "{st:?}"
    );
    assert_eq!(
        engine.max_in_flight.load(Ordering::SeqCst),
        8,
        "slots are used and never exceeded"
    );
    assert_eq!(engine.seen().len(), 100);
    assert_eq!(metrics.outcome_count("succeeded"), 100);
    assert_eq!(env.ok_calls("PutJobSuccessResult"), 100);
    assert_eq!(env.ok_calls("AcknowledgeJob"), 100);
    // Each success carries the input artifact's revision (S3 source: the ETag).
    let revisions: BTreeSet<_> = engine.seen().iter().map(|s| s.revision.clone()).collect();
    assert_eq!(revisions.len(), 1);
    assert!(
        revisions
            .iter()
            .next()
            .unwrap()
            .as_ref()
            .is_some_and(|r| r.len() == 32)
    );
    eprintln!("100 jobs, 8 slots: {elapsed:?}");
}

#[tokio::test]
async fn an_ack_lost_to_another_worker_is_dropped_without_side_effects() {
    // Ack timeout 2 s; the worker's AcknowledgeJob is answered after 3 s, so
    // it arrives after the job went back to the queue with a new nonce, which
    // "another worker" (this test) takes and acknowledges first. The margins
    // (800 ms for the worker's ack to reach the sim, 1 s for the other
    // worker's poll + ack) are wide for a loaded 2-core machine.
    let env = env_with(e2e::SimConfig {
        ack_timeout: Duration::from_secs(2),
        ..Default::default()
    })
    .await;
    env.register(&def()).await;
    env.pipeline("p", &def(), "prod", &[]).await;
    env.sim
        .sim()
        .faults
        .set(
            FaultConfig {
                seed: Some(1),
                rules: vec![FaultRule {
                    service: Some("codepipeline".into()),
                    operation: Some("AcknowledgeJob".into()),
                    latency_ms: 3000,
                    ..Default::default()
                }],
            },
            env.sim.sim().clock.now(),
        )
        .unwrap();
    let engine = TestEngine::new(Behaviour::Succeed);
    let w = RunningWorker::start(&env, config(&def(), "prod", 1), engine.clone());
    let id = env.start("p").await;
    // Wait until the worker has the job (its ack is now in flight).
    let metrics = w.metrics.clone();
    eventually("the worker to poll the job", Duration::from_secs(3), || {
        metrics.jobs_polled.get() == 1
    })
    .await;
    // Its ack has reached the sim and waits out the latency; the other worker's will not.
    tokio::time::sleep(Duration::from_millis(800)).await;
    let sim = env.sim.sim().clone();
    sim.faults
        .set(
            FaultConfig {
                seed: None,
                rules: vec![],
            },
            sim.clock.now(),
        )
        .unwrap();
    // The other worker: poll until the re-queued job shows up, then take it.
    let tid = def();
    let give_up = std::time::Instant::now() + Duration::from_secs(10);
    let job = loop {
        assert!(
            std::time::Instant::now() < give_up,
            "the job never came back to the queue after the ack timeout"
        );
        let out = env
            .cp
            .poll_for_jobs()
            .action_type_id(type_id(&tid))
            .query_param("Stage", "prod")
            .max_batch_size(1)
            .send()
            .await
            .unwrap();
        if let Some(j) = out.jobs().first() {
            break j.clone();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let st = env
        .cp
        .acknowledge_job()
        .job_id(job.id().unwrap())
        .nonce(job.nonce().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(st.status().unwrap().as_str(), "InProgress");
    eventually("the worker to drop the job", Duration::from_secs(3), || {
        metrics.outcome_count("dropped") == 1
    })
    .await;
    env.cp
        .put_job_success_result()
        .job_id(job.id().unwrap())
        .send()
        .await
        .unwrap();
    let st = env
        .wait_done(&[("p".into(), id)], Duration::from_secs(5))
        .await;
    w.stop().await;
    assert_eq!(st, [PipelineExecutionStatus::Succeeded]);
    assert!(
        engine.seen().is_empty(),
        "the worker did no work on a job it lost"
    );
    assert_eq!(
        env.error_calls("AcknowledgeJob", "InvalidNonceException"),
        1
    );
    assert_eq!(
        env.ok_calls("PutJobSuccessResult"),
        1,
        "only the winner reported"
    );
    assert_eq!(
        env.ok_calls("PutJobFailureResult") + env.ok_calls("GetJobDetails"),
        0
    );
}

#[tokio::test]
async fn query_param_routes_jobs_to_their_fleet() {
    let env = env(10.0).await;
    env.register(&def()).await;
    env.pipeline("to-prod", &def(), "prod", &[]).await;
    env.pipeline("to-staging", &def(), "staging", &[]).await;
    let prod = TestEngine::new(Behaviour::Succeed);
    let staging = TestEngine::new(Behaviour::Succeed);
    let wp = RunningWorker::start(&env, config(&def(), "prod", 4), prod.clone());
    let ws = RunningWorker::start(&env, config(&def(), "staging", 4), staging.clone());
    let runs = env.start_all(&["to-prod", "to-staging"], 5).await;
    let st = env.wait_done(&runs, Duration::from_secs(20)).await;
    wp.stop().await;
    ws.stop().await;
    assert!(
        st.iter().all(|s| *s == PipelineExecutionStatus::Succeeded),
        "{st:?}"
    );
    // The success result carried currentRevision = the input artifact's
    // revision, and the summary/percent/external id the engine reported.
    let etag = env
        .s3
        .head_object()
        .bucket(SOURCE_BUCKET)
        .key(SOURCE_KEY)
        .send()
        .await
        .unwrap();
    let etag = etag.e_tag().unwrap().trim_matches('"').to_string();
    let state = env
        .cp
        .get_pipeline_state()
        .name("to-prod")
        .send()
        .await
        .unwrap();
    let action = &state.stage_states()[1].action_states()[0];
    assert_eq!(
        action.current_revision().map(|r| r.revision_id()),
        Some(etag.as_str())
    );
    let latest = action.latest_execution().unwrap();
    assert_eq!(latest.summary(), Some("released"));
    assert_eq!(latest.percent_complete(), Some(100));
    assert_eq!(latest.external_execution_id(), Some("d-TESTDEPLOY"));
    for (engine, stage, pipe) in [
        (&prod, "prod", "to-prod"),
        (&staging, "staging", "to-staging"),
    ] {
        let seen = engine.seen();
        assert_eq!(seen.len(), 5, "{stage}");
        assert!(
            seen.iter()
                .all(|s| s.stage.as_deref() == Some(stage) && s.pipeline == pipe),
            "{seen:?}"
        );
    }
}

#[tokio::test]
async fn a_job_continues_three_times_across_worker_restarts_then_succeeds() {
    let env = env(1.0).await; // continuation delay: 1 s
    env.register(&def()).await;
    env.pipeline("p", &def(), "prod", &[]).await;
    let id = env.start("p").await;
    let mut all = Vec::new();
    for round in 0..4 {
        let engine = TestEngine::new(Behaviour::ContinueThenSucceed(3));
        let w = RunningWorker::start(&env, config(&def(), "prod", 2), engine.clone());
        let m = w.metrics.clone();
        eventually(
            &format!("round {round} to report"),
            Duration::from_secs(4),
            || m.outcome_count("continued") + m.outcome_count("succeeded") == 1,
        )
        .await;
        w.stop().await;
        let seen = engine.seen();
        assert_eq!(seen.len(), 1, "one job per worker: {seen:?}");
        all.extend(seen);
    }
    let st = env
        .wait_done(&[("p".into(), id.clone())], Duration::from_secs(3))
        .await;
    assert_eq!(st, [PipelineExecutionStatus::Succeeded]);
    assert_eq!(
        all.iter().map(|s| s.step).collect::<Vec<_>>(),
        [0, 1, 2, 3],
        "no step redone"
    );
    assert_eq!(
        all.iter().map(|s| s.continued).collect::<Vec<_>>(),
        [false, true, true, true]
    );
    let ids: BTreeSet<_> = all.iter().map(|s| s.job_id.clone()).collect();
    assert_eq!(ids.len(), 4, "each continuation is a new job");
    assert!(all.iter().all(|s| s.execution_id == id));
    assert_eq!(env.ok_calls("PutJobSuccessResult"), 4);
}

#[tokio::test]
async fn a_panicking_release_step_ends_in_one_job_failed_result() {
    let env = env(10.0).await;
    env.register(&def()).await;
    env.pipeline("p", &def(), "prod", &[]).await;
    let w = RunningWorker::start(
        &env,
        config(&def(), "prod", 2),
        TestEngine::new(Behaviour::Panic),
    );
    let id = env.start("p").await;
    let st = env
        .wait_done(&[("p".into(), id)], Duration::from_secs(5))
        .await;
    assert_eq!(st, [PipelineExecutionStatus::Failed]);
    let polls = w.metrics.poll_calls.get();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        w.metrics.poll_calls.get() > polls,
        "the worker keeps polling after a panic"
    );
    w.stop().await;
    let state = env.cp.get_pipeline_state().name("p").send().await.unwrap();
    let err = state.stage_states()[1].action_states()[0]
        .latest_execution()
        .unwrap()
        .error_details()
        .unwrap()
        .clone();
    assert_eq!(err.code(), Some("JobFailed"));
    assert!(
        err.message()
            .unwrap()
            .contains("the release step panicked (panic id"),
        "{err:?}"
    );
    assert!(
        !err.message().unwrap().contains("injected panic"),
        "the panic text stays in the log, not in the job result: {err:?}"
    );
    assert_eq!(env.ok_calls("PutJobFailureResult"), 1);
    assert_eq!(env.ok_calls("PutJobSuccessResult"), 0);
}

#[tokio::test]
async fn throttled_polls_back_off_exponentially() {
    let env = env(1.0).await;
    env.register(&def()).await;
    env.pipeline("p", &def(), "prod", &[]).await;
    let sim = env.sim.sim().clone();
    sim.faults
        .set(
            FaultConfig {
                seed: Some(1),
                rules: vec![FaultRule {
                    service: Some("codepipeline".into()),
                    operation: Some("PollForJobs".into()),
                    throttle: 1.0,
                    duration_seconds: Some(2.5),
                    ..Default::default()
                }],
            },
            sim.clock.now(),
        )
        .unwrap();
    let mut c = config(&def(), "prod", 4);
    c.poll_interval = Duration::from_millis(100);
    let base = sim.log.len();
    let id = env.start("p").await;
    let w = RunningWorker::start(&env, c, TestEngine::new(Behaviour::Succeed));
    let st = env
        .wait_done(&[("p".into(), id)], Duration::from_secs(8))
        .await;
    assert!(
        w.metrics.is_healthy(),
        "throttling does not make the worker unhealthy"
    );
    w.stop().await;
    assert_eq!(
        st,
        [PipelineExecutionStatus::Succeeded],
        "the job is processed once the throttling ends"
    );
    let polls = sim
        .log
        .query(base, Some("codepipeline"), Some("PollForJobs"));
    let throttled: Vec<_> = polls.iter().filter(|r| r.injected).collect();
    assert!(
        throttled
            .iter()
            .all(|r| r.error.as_deref() == Some("ThrottlingException"))
    );
    // At a steady 100 ms, 2.5 s of throttling would see ~25 polls; the
    // backoff (100, 200, 400, 800, 1600 ms, each +0-100 % jitter) allows ≤ 6.
    assert!(
        (3..=6).contains(&throttled.len()),
        "{} throttled polls",
        throttled.len()
    );
    let first_ok = polls
        .iter()
        .find(|r| !r.injected)
        .expect("a poll after the window");
    let mut times: Vec<u64> = throttled.iter().map(|r| r.real_ms).collect();
    times.push(first_ok.real_ms);
    for (i, pair) in times.windows(2).enumerate() {
        let gap = pair[1] - pair[0];
        let floor = (100u64 << i).min(2000) * 9 / 10;
        assert!(
            gap >= floor,
            "gap {i} = {gap} ms, expected ≥ {floor} ms: {times:?}"
        );
    }
}

#[tokio::test]
async fn unknown_action_type_marks_the_worker_unhealthy_until_registered() {
    let env = env(1.0).await;
    let mut v9 = def();
    v9.version = "9".into();
    let w = RunningWorker::start(
        &env,
        config(&v9, "prod", 2),
        TestEngine::new(Behaviour::Succeed),
    );
    let listener = telemetry::bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(telemetry::serve(listener, w.metrics.clone()));
    let m = w.metrics.clone();
    eventually("unhealthy", Duration::from_secs(3), || !m.is_healthy()).await;
    let (status, _) = http_get(addr, "/healthz").await;
    assert_eq!(status, 503);
    let errors = env.error_calls("PollForJobs", "ActionTypeNotFoundException");
    assert!(errors >= 1);
    tokio::time::sleep(Duration::from_millis(700)).await;
    // Backoff: 50, 100, 200, 400 ms (+jitter) — far fewer than 14 polls at 50 ms.
    let more = env.error_calls("PollForJobs", "ActionTypeNotFoundException");
    assert!(more <= errors + 4, "{errors} → {more}");
    env.register(&v9).await;
    eventually("healthy again", Duration::from_secs(5), || m.is_healthy()).await;
    let (status, body) = http_get(addr, "/healthz").await;
    assert_eq!((status, body.as_str()), (200, "ok\n"));
    let (status, metrics) = http_get(addr, "/metrics").await;
    assert_eq!(status, 200);
    assert!(
        metrics.contains("pipeline_canary_poll_errors_total "),
        "{metrics}"
    );
    assert!(
        metrics.contains("pipeline_canary_jobs_in_flight 0"),
        "{metrics}"
    );
    assert!(
        metrics.contains("pipeline_canary_job_duration_seconds_count 0"),
        "{metrics}"
    );
    server.abort();
    w.stop().await;
}

#[tokio::test]
async fn shutdown_hands_back_five_in_flight_jobs_to_a_second_worker() {
    let env = env(10.0).await; // continuation delay 0.1 s
    env.register(&def()).await;
    env.pipeline("p", &def(), "prod", &[]).await;
    let first = TestEngine::new(Behaviour::WaitUntilHandedBack);
    let a = RunningWorker::start(&env, config(&def(), "prod", 8), first.clone());
    let runs = env.start_all(&["p"], 5).await;
    eventually("5 jobs in flight", Duration::from_secs(5), || {
        first.seen().len() == 5
    })
    .await;
    let a_metrics = a.metrics.clone();
    a.stop().await;
    // Every job reached its safe point within the grace: none failed with
    // SystemUnavailable, which is what a grace running out does.
    assert_eq!(a_metrics.outcome_count("handed_back"), 5);
    assert_eq!(a_metrics.outcome_count("failed"), 0);
    // The executions are still running: the action waits for the continuation.
    for (p, id) in &runs {
        assert_eq!(env.status(p, id).await, PipelineExecutionStatus::InProgress);
    }
    let second = TestEngine::new(Behaviour::WaitUntilHandedBack);
    let b = RunningWorker::start(&env, config(&def(), "prod", 8), second.clone());
    let st = env.wait_done(&runs, Duration::from_secs(20)).await;
    b.stop().await;
    assert!(
        st.iter().all(|s| *s == PipelineExecutionStatus::Succeeded),
        "{st:?}"
    );
    let seen = second.seen();
    assert_eq!(seen.len(), 5);
    assert!(seen.iter().all(|s| s.continued && s.step == 1), "{seen:?}");
    assert_eq!(env.ok_calls("PutJobSuccessResult"), 10);
    assert_eq!(env.ok_calls("PutJobFailureResult"), 0);
}

#[tokio::test]
async fn a_job_that_cannot_reach_a_safe_point_fails_with_system_unavailable() {
    let env = env(10.0).await;
    env.register(&def()).await;
    env.pipeline("p", &def(), "prod", &[]).await;
    // A job that would run for an hour: only the grace can end the stop.
    let engine = TestEngine::new(Behaviour::Sleep(Duration::from_secs(3600)));
    let mut c = config(&def(), "prod", 2);
    c.shutdown_grace = Duration::from_millis(300);
    let w = RunningWorker::start(&env, c, engine.clone());
    let id = env.start("p").await;
    eventually("the job to start", Duration::from_secs(5), || {
        engine.in_flight.load(Ordering::SeqCst) == 1
    })
    .await;
    // The behaviour under test is a bound: the stop ends when the 300 ms
    // grace does, not when the job does. The bound is generous (a minute:
    // no load makes a 300 ms grace last that long) and still two orders of
    // magnitude below the job's hour.
    tokio::time::timeout(Duration::from_secs(60), w.stop())
        .await
        .expect("the stop ended with the grace, not with the hour-long job");
    let st = env
        .wait_done(&[("p".into(), id)], Duration::from_secs(3))
        .await;
    assert_eq!(st, [PipelineExecutionStatus::Failed]);
    let state = env.cp.get_pipeline_state().name("p").send().await.unwrap();
    let err = state.stage_states()[1].action_states()[0]
        .latest_execution()
        .unwrap()
        .error_details()
        .unwrap()
        .clone();
    assert_eq!(err.code(), Some("SystemUnavailable"));
}

#[tokio::test]
async fn three_replicas_process_each_of_300_jobs_exactly_once() {
    let env = env(10.0).await;
    env.register(&def()).await;
    let pipes: Vec<String> = (0..10).map(|i| format!("p{i}")).collect();
    for p in &pipes {
        env.pipeline(p, &def(), "prod", &[]).await;
    }
    let engines: Vec<_> = (0..3)
        .map(|_| TestEngine::new(Behaviour::Succeed))
        .collect();
    let workers: Vec<_> = engines
        .iter()
        .map(|e| RunningWorker::start(&env, config(&def(), "prod", 8), e.clone()))
        .collect();
    let t0 = std::time::Instant::now();
    let names: Vec<&str> = pipes.iter().map(String::as_str).collect();
    let runs = env.start_all(&names, 30).await;
    let st = env.wait_done(&runs, Duration::from_secs(25)).await;
    let elapsed = t0.elapsed();
    let mut per_worker = Vec::new();
    for w in workers {
        per_worker.push(w.metrics.outcome_count("succeeded"));
        w.stop().await;
    }
    assert!(
        st.iter().all(|s| *s == PipelineExecutionStatus::Succeeded),
        "{st:?}"
    );
    let mut by_action: HashMap<String, usize> = HashMap::new();
    for e in &engines {
        for s in e.seen() {
            *by_action.entry(s.action_execution_id).or_default() += 1;
        }
    }
    assert_eq!(by_action.len(), 300);
    assert!(
        by_action.values().all(|n| *n == 1),
        "a job was worked on twice"
    );
    assert_eq!(per_worker.iter().sum::<u64>(), 300);
    assert_eq!(
        env.ok_calls("PutJobSuccessResult"),
        300,
        "exactly one terminal result per job"
    );
    assert_eq!(
        env.error_calls("PutJobSuccessResult", "InvalidJobStateException"),
        0
    );
    assert!(
        per_worker.iter().all(|n| *n > 0),
        "every replica took jobs: {per_worker:?}"
    );
    eprintln!("300 jobs on 3 replicas: {elapsed:?}, per worker {per_worker:?}");
}

#[tokio::test]
async fn throttled_acks_and_results_are_retried_until_recorded() {
    let env = env(10.0).await;
    env.register(&def()).await;
    env.pipeline("p", &def(), "prod", &[]).await;
    let sim = env.sim.sim().clone();
    let rule = |op: &str| FaultRule {
        service: Some("codepipeline".into()),
        operation: Some(op.into()),
        throttle: 0.3,
        unavailable: 0.2,
        ..Default::default()
    };
    sim.faults
        .set(
            FaultConfig {
                seed: Some(3),
                rules: vec![rule("AcknowledgeJob"), rule("PutJobSuccessResult")],
            },
            sim.clock.now(),
        )
        .unwrap();
    let engine = TestEngine::new(Behaviour::Succeed);
    let w = RunningWorker::start(&env, config(&def(), "prod", 8), engine.clone());
    let runs = env.start_all(&["p"], 10).await;
    let st = env.wait_done(&runs, Duration::from_secs(20)).await;
    w.stop().await;
    assert!(
        st.iter().all(|s| *s == PipelineExecutionStatus::Succeeded),
        "{st:?}"
    );
    assert_eq!(env.ok_calls("PutJobSuccessResult"), 10);
    assert_eq!(env.ok_calls("AcknowledgeJob"), 10);
    let injected = |op| {
        sim.log
            .query(0, Some("codepipeline"), Some(op))
            .iter()
            .filter(|r| r.injected)
            .count()
    };
    assert!(
        injected("PutJobSuccessResult") > 0 && injected("AcknowledgeJob") > 0,
        "faults were injected"
    );
    assert_eq!(
        engine.seen().len(),
        10,
        "a retried ack does not duplicate work"
    );
}

#[tokio::test]
async fn a_result_for_a_job_that_became_terminal_is_not_retried() {
    let env = env(10.0).await;
    env.register(&def()).await;
    env.pipeline("p", &def(), "prod", &[]).await;
    let engine = TestEngine::new(Behaviour::Sleep(Duration::from_millis(500)));
    let w = RunningWorker::start(&env, config(&def(), "prod", 2), engine.clone());
    let id = env.start("p").await;
    eventually("the job to start", Duration::from_secs(5), || {
        engine.in_flight.load(Ordering::SeqCst) == 1
    })
    .await;
    env.cp
        .stop_pipeline_execution()
        .pipeline_name("p")
        .pipeline_execution_id(&id)
        .abandon(true)
        .send()
        .await
        .unwrap();
    let m = w.metrics.clone();
    eventually("the result attempt", Duration::from_secs(3), || {
        m.result_errors.get() == 1
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    w.stop().await;
    assert_eq!(
        env.error_calls("PutJobSuccessResult", "InvalidJobStateException"),
        1,
        "logged, never retried"
    );
    assert_eq!(
        env.ok_calls("PutJobSuccessResult") + env.ok_calls("PutJobFailureResult"),
        0
    );
    assert_eq!(env.status("p", &id).await, PipelineExecutionStatus::Stopped);
}

/// Artifact credentials last `credential_ttl` (1 s here): a job that reaches
/// for them after that gets fresh ones through GetJobDetails when the worker
/// refreshes in time, and fails with PermissionError (ExpiredToken) when not.
#[tokio::test]
async fn artifact_credentials_are_refreshed_before_they_expire() {
    for (refresh_after, expect) in [
        (
            Duration::from_millis(700),
            PipelineExecutionStatus::Succeeded,
        ),
        (
            Duration::from_secs(14 * 60),
            PipelineExecutionStatus::Failed,
        ),
    ] {
        let env = env_with(e2e::SimConfig {
            time_scale: 10.0,
            credential_ttl: Duration::from_secs(1),
            ..Default::default()
        })
        .await;
        env.register(&def()).await;
        env.pipeline("p", &def(), "prod", &[]).await;
        let engine = TestEngine::new(Behaviour::DownloadAfter(Duration::from_millis(1200)))
            .with_endpoint(env.sim.endpoint());
        let mut c = config(&def(), "prod", 2);
        c.credentials_refresh_after = refresh_after;
        let w = RunningWorker::start(&env, c, engine.clone());
        let id = env.start("p").await;
        let st = env
            .wait_done(&[("p".into(), id)], Duration::from_secs(5))
            .await;
        w.stop().await;
        assert_eq!(st, std::slice::from_ref(&expect));
        if expect == PipelineExecutionStatus::Succeeded {
            let downloads = engine.downloads.lock().unwrap().clone();
            assert_eq!(downloads.len(), 1);
            assert_eq!(downloads[0].1, release_zip().len());
            assert_eq!(env.ok_calls("GetJobDetails"), 1);
        } else {
            let state = env.cp.get_pipeline_state().name("p").send().await.unwrap();
            let err = state.stage_states()[1].action_states()[0]
                .latest_execution()
                .unwrap()
                .error_details()
                .unwrap()
                .clone();
            assert_eq!(err.code(), Some("PermissionError"));
            assert!(err.message().unwrap().contains("ExpiredToken"), "{err:?}");
            assert_eq!(env.ok_calls("GetJobDetails"), 0);
        }
    }
}
