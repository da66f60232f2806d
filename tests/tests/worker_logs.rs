//! The worker's logs, in a test binary of their own: the log capture installs
//! a subscriber for the worker's tasks, and tracing's process-wide callsite
//! interest cache can drop lines when other tests of the same process register
//! callsites concurrently — a separate process keeps this scan exact.

use std::time::Duration;

use aws_sdk_codepipeline::types::PipelineExecutionStatus;
use e2e::worker::*;
use pipeline_canary::definition::{ActionTypeDefinition, ConfigurationProperty};
use pipeline_canary::telemetry::{self, LogFormat};

fn def() -> ActionTypeDefinition {
    ActionTypeDefinition::embedded()
}

#[tokio::test]
async fn logs_carry_job_context_and_never_secrets() {
    let env = env(10.0).await;
    let mut d = def();
    d.provider = "PipelineCanaryLogScan".into();
    d.configuration_properties.push(ConfigurationProperty {
        name: "SecretApiToken".into(),
        required: false,
        key: false,
        secret: true,
        queryable: false,
        description: Some("A secret the worker must never log.".into()),
        property_type: Some("String".into()),
    });
    env.register(&d).await;
    let secret_value = format!("tok-{}", rand::random::<u64>());
    env.pipeline(
        "p",
        &d,
        "prod",
        &[("SecretApiToken", secret_value.as_str())],
    )
    .await;
    let engine = TestEngine::new(Behaviour::LogJob);
    let logs = LogBuffer::default();
    let sub = telemetry::subscriber(
        LogFormat::Json,
        logs.clone(),
        tracing_subscriber::EnvFilter::new("debug"),
    );
    let w = RunningWorker::start_with(&env.conf, config(&d, "prod", 2), engine.clone(), Some(sub));
    let runs = env.start_all(&["p"], 2).await;
    let st = env.wait_done(&runs, Duration::from_secs(20)).await;
    w.stop().await;
    assert!(
        st.iter().all(|s| *s == PipelineExecutionStatus::Succeeded),
        "{st:?}"
    );
    let text = logs.text();
    let secrets = engine.secrets.lock().unwrap().clone();
    assert_eq!(
        secrets.len(),
        6,
        "two jobs × (secret key, session token, secret property)"
    );
    assert!(secrets.contains(&secret_value));
    for s in &secrets {
        assert!(s.len() >= 10);
        assert!(!text.contains(s.as_str()), "a secret leaked into the logs");
    }
    // The engine's log line printed the job (redacted), so the scan is not vacuous.
    assert!(text.contains("test engine: the job as the runtime hands it over"));
    assert!(text.contains("** redacted **"));
    // Every line logged inside a job (the worker's and the SDK's) carries the
    // job span with id, pipeline, execution id and revision.
    let mut job_lines = 0;
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line).expect("JSON log line");
        let spans = v
            .get("spans")
            .and_then(|s| s.as_array())
            .cloned()
            .unwrap_or_default();
        let Some(job) = spans
            .iter()
            .find(|s| s.get("name").and_then(|n| n.as_str()) == Some("job"))
        else {
            continue;
        };
        job_lines += 1;
        for f in ["job_id", "pipeline", "execution_id", "revision"] {
            assert!(
                job.get(f)
                    .and_then(|x| x.as_str())
                    .is_some_and(|x| !x.is_empty()),
                "{f} missing: {line}"
            );
        }
    }
    assert!(job_lines >= 6, "{job_lines} job lines");
    // Nor in the results.
    let state = env.cp.get_pipeline_state().name("p").send().await.unwrap();
    let summary = format!(
        "{:?}",
        state.stage_states()[1].action_states()[0].latest_execution()
    );
    assert!(secrets.iter().all(|s| !summary.contains(s.as_str())));
}
