//! From an unpacked artifact to a [`PreparedRelease`]: read the manifest
//! (`manifest::load`), then give every function a zip and its `CodeSha256`
//! — prebuilt `package` zips are checked with the unpacking rules and used
//! byte-for-byte, `source` directories are packaged deterministically into
//! the job's workspace. Every problem is collected into one
//! ConfigurationError message (PermissionError when the manifest names a
//! function outside `FunctionPrefix`).
//!
//! Functions are prepared on a few scoped threads (at most one per core);
//! a `package` the unpacking already verified and hashed
//! ([`artifact::unpack_verifying_zips`]) is not read again. Problems are
//! reported in manifest order whatever the threads' order.
//!
//! Synchronous file-system work (callers use `spawn_blocking`); knows no AWS
//! and no job.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::artifact::{self, PackageLimits, UnpackLimits, VerifiedZips};
use crate::engine::EngineError;
use crate::job::ActionConfiguration;
use crate::manifest::{
    self, ActionDefaults, Bundle, FunctionRelease, ManifestErrors, Problem, ProblemKind,
};
use crate::report::FailureKind;

use super::plan::{PreparedFunction, PreparedRelease};

/// The action configuration's share of the manifest settings:
/// `FunctionPrefix`, `Alias`, `DeploymentConfig`, `Alarms` (comma-separated),
/// with the documented defaults where the action sets none.
pub fn action_defaults(c: &ActionConfiguration) -> ActionDefaults {
    ActionDefaults::of(
        c.get("FunctionPrefix").unwrap_or_default(),
        c.get("Alias"),
        c.get("DeploymentConfig"),
        c.get("Alarms")
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect(),
    )
}

fn manifest_failure(e: &ManifestErrors) -> EngineError {
    let kind = match e.kind() {
        ProblemKind::Permission => FailureKind::PermissionError,
        ProblemKind::Configuration => FailureKind::ConfigurationError,
    };
    EngineError::new(kind, e.message())
}

/// Reads the manifest under `root` and prepares every function's bundle;
/// packaged `source` bundles are written to `bundles_dir`.
pub fn prepare(
    root: &Path,
    bundles_dir: &Path,
    manifest_path: Option<&str>,
    defaults: &ActionDefaults,
) -> Result<PreparedRelease, EngineError> {
    prepare_with(
        root,
        bundles_dir,
        manifest_path,
        defaults,
        &VerifiedZips::default(),
    )
}

/// [`prepare`], taking a `package` found in `verified` (from unpacking the
/// artifact into `root`) as already checked and hashed.
pub fn prepare_with(
    root: &Path,
    bundles_dir: &Path,
    manifest_path: Option<&str>,
    defaults: &ActionDefaults,
    verified: &VerifiedZips,
) -> Result<PreparedRelease, EngineError> {
    let release =
        manifest::load(root, manifest_path, defaults).map_err(|e| manifest_failure(&e))?;
    let source = match &release.origin {
        manifest::Origin::Native { manifest } => manifest.clone(),
        manifest::Origin::Serverless { state_file, .. } => state_file.clone(),
    };
    std::fs::create_dir_all(bundles_dir).map_err(|e| {
        EngineError::new(
            FailureKind::SystemUnavailable,
            format!("creating {}: {e}", bundles_dir.display()),
        )
    })?;
    let prepared = in_parallel(&release.functions, |f| {
        prepare_bundle(root, bundles_dir, f, verified)
    });
    let mut problems = Vec::new();
    let mut functions = Vec::new();
    for (f, prepared) in release.functions.iter().zip(prepared) {
        match prepared {
            Ok((bundle, code_sha256, zip_bytes)) => functions.push(PreparedFunction {
                name: f.name.clone(),
                alias: f.alias.clone(),
                deployment_config: f.deployment_config,
                alarms: f.alarms.clone(),
                hooks: f.hooks.clone(),
                bundle,
                code_sha256,
                zip_bytes,
                code_only: f.code_only,
                analysis: f.analysis,
            }),
            Err((true, message)) => problems.push(Problem {
                kind: ProblemKind::Configuration,
                path: f.name.clone(),
                message,
            }),
            Err((false, message)) => {
                return Err(EngineError::new(FailureKind::SystemUnavailable, message));
            }
        }
    }
    if !problems.is_empty() {
        return Err(manifest_failure(&ManifestErrors { source, problems }));
    }
    Ok(PreparedRelease {
        source,
        functions,
        break_glass: release.break_glass,
    })
}

/// One function's `(zip, CodeSha256, zip bytes)`, or `(is the artifact's
/// fault, message)`.
type BundleResult = Result<(PathBuf, String, u64), (bool, String)>;

fn prepare_bundle(
    root: &Path,
    bundles_dir: &Path,
    f: &FunctionRelease,
    verified: &VerifiedZips,
) -> BundleResult {
    let shown = |p: &Path| {
        p.strip_prefix(root)
            .map(|r| r.display().to_string())
            .unwrap_or_else(|_| p.display().to_string())
    };
    match &f.bundle {
        Bundle::Package(zip) => {
            let len = std::fs::metadata(zip)
                .map_err(|e| (false, format!("reading `{}`: {e}", shown(zip))))?
                .len();
            // Verified while unpacking (and the file is still that size).
            if let Some(v) = verified.get(zip).filter(|v| v.zip_bytes == len) {
                return Ok((zip.clone(), v.code_sha256.clone(), len));
            }
            artifact::verify(zip, &UnpackLimits::function_bundle()).map_err(|e| {
                (
                    e.is_artifact_fault(),
                    format!("package `{}`: {e}", shown(zip)),
                )
            })?;
            let sha = artifact::code_sha256_file(zip)
                .map_err(|e| (false, format!("reading `{}`: {e}", shown(zip))))?;
            Ok((zip.clone(), sha, len))
        }
        Bundle::Source(dir) => {
            let dest = bundles_dir.join(format!("{}.zip", f.name));
            artifact::package(dir, &dest, &PackageLimits::default())
                .map(|b| (b.path, b.code_sha256, b.zip_bytes))
                .map_err(|e| {
                    let local = matches!(e, artifact::PackageError::Write(_));
                    (!local, format!("source `{}`: {e}", shown(dir)))
                })
        }
    }
}

/// Threads preparing bundles: one per core, at most 8 (each holds one
/// bundle's buffers, so memory stays bounded).
fn worker_threads(items: usize) -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .clamp(1, 8)
        .min(items)
}

/// `work` applied to every item on up to [`worker_threads`] scoped threads;
/// the results in the items' order.
fn in_parallel<T: Sync, R: Send>(items: &[T], work: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let threads = worker_threads(items.len());
    if threads <= 1 {
        return items.iter().map(work).collect();
    }
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<R>>> = Mutex::new(items.iter().map(|_| None).collect());
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(item) = items.get(i) else { break };
                    let r = work(item);
                    results.lock().unwrap_or_else(|p| p.into_inner())[i] = Some(r);
                }
            });
        }
    });
    results
        .into_inner()
        .unwrap_or_else(|p| p.into_inner())
        .into_iter()
        .map(|r| r.expect("every item was prepared"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::artifact::VerifiedZip;

    fn defaults() -> ActionDefaults {
        ActionDefaults {
            function_prefix: "collect-".into(),
            alias: Some("live".into()),
            deployment_config: Some("AllAtOnce".into()),
            alarms: vec![],
        }
    }

    fn bundle_zip(body: &[u8]) -> Vec<u8> {
        crate::artifact::testzip::deflated(&[("index.js", body, 0o644)])
    }

    /// An artifact root with `packages` (name → zip bytes) under `dist/` and a
    /// manifest naming them in order.
    fn root_with(packages: &[(&str, Vec<u8>)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("dist")).unwrap();
        let functions: Vec<_> = packages
            .iter()
            .map(|(name, zip)| {
                std::fs::write(dir.path().join(format!("dist/{name}.zip")), zip).unwrap();
                serde_json::json!({"name": name, "package": format!("dist/{name}.zip")})
            })
            .collect();
        std::fs::write(
            dir.path().join(manifest::NATIVE_MANIFEST),
            serde_json::json!({"version": 1, "functions": functions}).to_string(),
        )
        .unwrap();
        dir
    }

    #[test]
    fn in_parallel_keeps_the_items_order() {
        let items: Vec<u64> = (0..40).collect();
        let out = in_parallel(&items, |&i| {
            // Early items finish last.
            std::thread::sleep(std::time::Duration::from_millis(40 - i));
            i * 3
        });
        assert_eq!(out, (0..40).map(|i| i * 3).collect::<Vec<_>>());
        assert!(in_parallel(&[] as &[u64], |&i| i).is_empty());
    }

    #[test]
    fn problems_are_listed_in_manifest_order() {
        let good = bundle_zip(b"exports.handler = 1;\n");
        let slip = crate::artifact::testzip::build(&[crate::artifact::testzip::Spec::file(
            "../x.js", b"x",
        )]);
        let names = [
            "collect-a",
            "collect-b",
            "collect-c",
            "collect-d",
            "collect-e",
            "collect-f",
        ];
        let packages: Vec<(&str, Vec<u8>)> = names
            .iter()
            .enumerate()
            .map(|(i, n)| {
                (
                    *n,
                    if i % 2 == 1 {
                        slip.clone()
                    } else {
                        good.clone()
                    },
                )
            })
            .collect();
        let dir = root_with(&packages);
        let bundles = dir.path().join("bundles");
        let err = prepare(dir.path(), &bundles, None, &defaults()).expect_err("zip-slip");
        assert_eq!(err.kind, FailureKind::ConfigurationError);
        let at = |n: &str| {
            err.message
                .find(&format!("- {n}: package `dist/{n}.zip`"))
                .unwrap_or_else(|| panic!("{n} missing: {}", err.message))
        };
        assert!(at("collect-b") < at("collect-d") && at("collect-d") < at("collect-f"));
        assert!(err.message.contains("zip-slip"), "{}", err.message);
        assert!(!err.message.contains("collect-a"), "{}", err.message);
    }

    #[test]
    fn a_zip_verified_while_unpacking_is_not_read_again() {
        let a = bundle_zip(b"exports.handler = 'a';\n");
        let b = bundle_zip(b"exports.handler = 'bb';\n");
        let dir = root_with(&[("collect-a", a.clone()), ("collect-b", b.clone())]);
        let bundles = dir.path().join("bundles");
        let zip_a = dir.path().join("dist/collect-a.zip");
        let zip_b = dir.path().join("dist/collect-b.zip");
        let verified: VerifiedZips = [
            (
                zip_a.clone(),
                VerifiedZip {
                    code_sha256: "from-the-unpack".into(),
                    zip_bytes: a.len() as u64,
                },
            ),
            // A size that no longer matches the file: checked again.
            (
                zip_b.clone(),
                VerifiedZip {
                    code_sha256: "stale".into(),
                    zip_bytes: b.len() as u64 + 1,
                },
            ),
        ]
        .into_iter()
        .collect();
        let p = prepare_with(dir.path(), &bundles, None, &defaults(), &verified).unwrap();
        assert_eq!(p.functions.len(), 2);
        assert_eq!(p.functions[0].name, "collect-a");
        assert_eq!(p.functions[0].bundle, zip_a);
        assert_eq!(p.functions[0].code_sha256, "from-the-unpack");
        assert_eq!(p.functions[0].zip_bytes, a.len() as u64);
        assert_eq!(p.functions[1].bundle, zip_b);
        assert_eq!(
            p.functions[1].code_sha256,
            crate::artifact::code_sha256_bytes(&b)
        );
        // Without the cache, both are hashed from disk.
        let p = prepare(dir.path(), &bundles, None, &defaults()).unwrap();
        assert_eq!(
            p.functions[0].code_sha256,
            crate::artifact::code_sha256_bytes(&a)
        );
    }

    #[test]
    fn unpack_then_prepare_gives_the_bytes_sha() {
        let a = bundle_zip(b"exports.handler = 'a';\n");
        let outer = crate::artifact::testzip::deflated(&[
            (
                manifest::NATIVE_MANIFEST,
                br#"{"version":1,"functions":[{"name":"collect-a","package":"dist/collect-a.zip"}]}"#,
                0o644,
            ),
            ("dist/collect-a.zip", &a, 0o644),
        ]);
        let dir = tempfile::tempdir().unwrap();
        let zip = dir.path().join("input.zip");
        std::fs::write(&zip, outer).unwrap();
        let root = dir.path().join("artifact");
        std::fs::create_dir_all(&root).unwrap();
        let (_, verified) = artifact::unpack_verifying_zips(
            &zip,
            &root,
            &UnpackLimits::pipeline_artifact(),
            &UnpackLimits::function_bundle(),
        )
        .unwrap();
        assert_eq!(verified.len(), 1);
        let p = prepare_with(
            &root,
            &dir.path().join("bundles"),
            None,
            &defaults(),
            &verified,
        )
        .unwrap();
        assert_eq!(
            p.functions[0].code_sha256,
            crate::artifact::code_sha256_bytes(&a)
        );
        assert_eq!(p.functions[0].zip_bytes, a.len() as u64);
    }
}
