//! Shared pieces of the fuzz targets: the scratch directories they work in
//! (one per fuzzing process, removed when it exits) and the properties every
//! result of `manifest::load` must have, whatever the input: a release is
//! never empty, only names functions inside `FunctionPrefix`, each once, with
//! at most 10 alarms and a bundle inside the artifact; a refusal names at
//! least one problem and its message fits CodePipeline's 5000 characters.
//! Knows nothing about libFuzzer; the targets call it.

use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use pipeline_canary_core::manifest::{
    ActionDefaults, Bundle, MAX_ALARMS_PER_FUNCTION, MAX_MESSAGE_CHARS, ManifestErrors, Release,
};

/// The `FunctionPrefix` of every action the targets use.
pub const PREFIX: &str = "collect-";

/// The two action configurations each manifest input is loaded with: one
/// that contributes nothing (the manifest must say everything) and one that
/// supplies every default (the precedence rules are exercised).
pub fn actions() -> [ActionDefaults; 2] {
    [
        ActionDefaults {
            function_prefix: PREFIX.into(),
            alias: None,
            deployment_config: None,
            alarms: vec![],
        },
        ActionDefaults {
            function_prefix: PREFIX.into(),
            alias: Some("live".into()),
            deployment_config: Some("Canary10Percent5Minutes".into()),
            alarms: vec!["collect-5xx".into(), "collect-latency".into()],
        },
    ]
}

/// The process's scratch directory under the system temp dir, created (and
/// filled by `init`) on the first call; later calls return it whatever their
/// arguments, since a target binary uses one. Nothing removes it at exit
/// (libFuzzer may leave through `_exit`): the name carries the pid so
/// parallel jobs never share one, and `.ci/fuzz` points `TMPDIR` at a
/// directory it removes afterwards.
pub fn scratch(tag: &str, init: impl FnOnce(&Path)) -> &'static Path {
    static DIRS: OnceLock<PathBuf> = OnceLock::new();
    DIRS.get_or_init(|| {
        let dir =
            std::env::temp_dir().join(format!("pipeline-canary-fuzz-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("create the fuzz scratch directory");
        init(&dir);
        dir
    })
}

/// Writes `bytes` at `root/rel`, creating parents.
pub fn put(root: &Path, rel: &str, bytes: &[u8]) {
    let path = root.join(rel);
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).expect("create parent");
    }
    fs::write(path, bytes).expect("write fixture file");
}

/// Asserts what every outcome of `manifest::load(root, …, action)` must satisfy.
pub fn check_outcome(
    root: &Path,
    action: &ActionDefaults,
    outcome: &Result<Release, ManifestErrors>,
) {
    match outcome {
        Ok(release) => check_release(root, action, release),
        Err(errors) => check_errors(errors),
    }
}

fn check_release(root: &Path, action: &ActionDefaults, release: &Release) {
    assert!(
        !release.functions.is_empty(),
        "an accepted release has functions"
    );
    let root = fs::canonicalize(root).expect("canonical root");
    let mut names = HashSet::new();
    for f in &release.functions {
        assert!(
            f.name.starts_with(&action.function_prefix),
            "accepted `{}` outside FunctionPrefix",
            f.name
        );
        assert!(
            (1..=64).contains(&f.name.len())
                && f.name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
            "accepted an invalid function name {:?}",
            f.name
        );
        assert!(names.insert(f.name.clone()), "`{}` released twice", f.name);
        // A code-only function (Serverless, no deploymentSettings) has no
        // alias; every other has a valid one.
        assert!(
            if f.code_only {
                f.alias.is_empty()
            } else {
                !f.alias.is_empty() && !f.alias.bytes().all(|b| b.is_ascii_digit())
            },
            "accepted alias {:?} (code only: {})",
            f.alias,
            f.code_only
        );
        assert!(
            f.alarms.len() <= MAX_ALARMS_PER_FUNCTION,
            "`{}` has {} alarms",
            f.name,
            f.alarms.len()
        );
        let unique: HashSet<&String> = f.alarms.iter().collect();
        assert_eq!(
            unique.len(),
            f.alarms.len(),
            "duplicate alarms for `{}`",
            f.name
        );
        let (path, want_dir) = match &f.bundle {
            Bundle::Package(p) => (p, false),
            Bundle::Source(p) => (p, true),
        };
        let meta = fs::symlink_metadata(path)
            .unwrap_or_else(|e| panic!("bundle {} of `{}`: {e}", path.display(), f.name));
        assert_eq!(meta.is_dir(), want_dir, "bundle kind of `{}`", f.name);
        let real = fs::canonicalize(path).expect("canonical bundle path");
        assert!(
            real.starts_with(&root) && real != root,
            "bundle {} of `{}` is not inside the artifact {}",
            real.display(),
            f.name,
            root.display()
        );
    }
}

fn check_errors(errors: &ManifestErrors) {
    assert!(!errors.problems.is_empty(), "a refusal names a problem");
    for p in &errors.problems {
        assert!(!p.path.is_empty(), "a problem without a path: {p:?}");
        assert!(!p.message.is_empty(), "a problem without a message: {p:?}");
    }
    let message = errors.message();
    assert!(
        message.chars().count() <= MAX_MESSAGE_CHARS,
        "failure message of {} characters",
        message.chars().count()
    );
    let _ = errors.kind();
}
