//! The `pipeline-canary` binary as a user runs it: usage errors, local-only
//! commands (no AWS), and exit codes. (Having integration tests here also
//! makes `cargo test --workspace` build the binary, which the kill -9 chaos
//! test in `tests/tests/chaos.rs` runs as a child process.)

use std::process::Command;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_pipeline-canary"))
}

#[test]
fn help_lists_every_subcommand() {
    let out = bin().arg("--help").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for cmd in [
        "register",
        "run",
        "bundle",
        "plan",
        "release",
        "releases",
        "rollback",
        "prune",
        "healthcheck",
    ] {
        assert!(text.contains(cmd), "{cmd} missing from --help:\n{text}");
    }
}

#[test]
fn register_validate_only_checks_the_built_in_definition_without_aws() {
    let out = bin()
        .args(["register", "--validate-only", "--log-format", "text"])
        .env_remove("AWS_ENDPOINT_URL")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn run_without_a_stage_is_a_usage_error_naming_the_flag() {
    let out = bin()
        .arg("run")
        .env_remove("PIPELINE_CANARY_STAGE")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--stage"));
}

#[test]
fn bundle_of_a_bad_manifest_exits_2_with_the_path() {
    let app = tempfile::tempdir().unwrap();
    std::fs::write(
        app.path().join("pipeline-canary.json"),
        r#"{"version":1,"functions":[{"name":"x","sauce":"a"}]}"#,
    )
    .unwrap();
    let out_dir = tempfile::tempdir().unwrap();
    let out = bin()
        .arg("bundle")
        .arg(app.path())
        .arg("--out")
        .arg(out_dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("functions[0]"), "{err}");
}

#[test]
fn run_and_history_commands_without_a_ledger_exit_2_naming_the_flag() {
    for args in [
        vec!["run", "--stage", "prod"],
        vec!["releases"],
        vec!["rollback", "r-0123456789abcdef", "--reason", "bad"],
        vec!["prune", "--function-prefix", "collect-", "--keep", "3"],
    ] {
        let out = bin()
            .args(&args)
            .env_remove("PIPELINE_CANARY_LEDGER")
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains("--ledger is required"), "{args:?}: {err}");
    }
    let out = bin()
        .args(["run", "--stage", "prod", "--ledger", "ledger-bucket"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("write it as s3://BUCKET"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
