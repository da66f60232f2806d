//! The worker's logs: every line of a job carries the job's context, no
//! secret reaches a line or a result, and the leak scan every harness
//! environment runs (see `e2e::logscan`) does catch a leaking engine.
//! Lines come from the process-wide capture the harness installs as the
//! global subscriber (the worker binary's own JSON subscriber).

use std::time::Duration;

use aws_sdk_codepipeline::types::PipelineExecutionStatus;
use e2e::logscan::{self, SecretKind};
use e2e::worker::*;
use pipeline_canary::definition::ActionTypeDefinition;

/// The embedded definition under another provider, plus a secret property.
fn def(provider: &str) -> ActionTypeDefinition {
    let mut d = ActionTypeDefinition::embedded();
    d.provider = provider.into();
    d.configuration_properties.push(secret_property());
    d
}

#[tokio::test]
async fn logs_carry_job_context_and_never_secrets() {
    let env = env(10.0).await;
    let d = def("PipelineCanaryLogScan");
    env.register(&d).await;
    let secret_value = logscan::secret_value();
    env.pipeline("p", &d, "prod", &[(SECRET_PROPERTY, secret_value.as_str())])
        .await;
    let engine = TestEngine::new(Behaviour::LogJob);
    let w = RunningWorker::start(&env, config(&d, "prod", 2), engine.clone());
    let runs = env.start_all(&["p"], 2).await;
    let st = env.wait_done(&runs, Duration::from_secs(20)).await;
    w.stop().await;
    assert!(
        st.iter().all(|s| *s == PipelineExecutionStatus::Succeeded),
        "{st:?}"
    );
    let text = logscan::install_capture().snapshot().text();
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
    // The environment's own scan saw this sim's job lines, results and
    // secrets (it runs again when `env` drops).
    let r = env.leak_scan.check();
    assert!(r.job_lines >= 6, "{}", r.summary());
    assert!(r.results >= 2, "{}", r.summary());
    assert_eq!(r.secret_properties, 1, "{}", r.summary());
    assert!(
        r.secrets >= 5,
        "account key + ≥ 2 credentials: {}",
        r.summary()
    );
}

/// The scan itself: an engine that logs the job's session token and fails
/// with the secret property's value in the message is caught in both places,
/// and the failure text names the kinds, never the secrets.
#[tokio::test]
async fn the_leak_scan_catches_a_leaking_engine() {
    let env = env(10.0).await;
    let d = def("PipelineCanaryLeaky");
    env.register(&d).await;
    env.pipeline("leaky", &d, "prod", &[]).await;
    let w = RunningWorker::start(
        &env,
        config(&d, "prod", 1),
        TestEngine::new(Behaviour::LeakSecrets),
    );
    let runs = env.start_all(&["leaky"], 1).await;
    let st = env.wait_done(&runs, Duration::from_secs(20)).await;
    w.stop().await;
    assert_eq!(st, [PipelineExecutionStatus::Failed]);
    let r = env.leak_scan.expect_leaks();
    assert_eq!(r.secret_properties, 1, "Env::pipeline set a secret value");
    let in_log = r
        .leaks
        .iter()
        .find(|l| l.kind == SecretKind::ArtifactSessionToken)
        .unwrap_or_else(|| panic!("the session token in the log: {:?}", r.leaks));
    assert!(in_log.place.starts_with("log line "), "{in_log:?}");
    assert!(
        in_log
            .redacted
            .contains("leaking the session token <redacted: artifact session token>"),
        "{in_log:?}"
    );
    let in_result = r
        .leaks
        .iter()
        .find(|l| {
            l.kind == SecretKind::SecretActionProperty
                && l.place.ends_with("failure details message")
        })
        .unwrap_or_else(|| panic!("the property in the failure message: {:?}", r.leaks));
    assert_eq!(
        in_result.redacted,
        "the API refused token <redacted: secret action property value>"
    );
    let msg = std::panic::catch_unwind(|| r.assert_clean())
        .unwrap_err()
        .downcast_ref::<String>()
        .cloned()
        .unwrap();
    assert!(msg.contains("secret leak in test"), "{msg}");
    let test = std::thread::current()
        .name()
        .unwrap_or_default()
        .to_string();
    assert!(
        msg.contains(&format!("secret leak in test {test}:")),
        "{msg}"
    );
    assert!(msg.contains("artifact session token in log line"), "{msg}");
    assert!(!msg.contains("hunter2-SECRET-"), "{msg}");
    assert!(!msg.contains("FwoGZXIvYXdzE"), "{msg}");
}
