//! From an unpacked artifact to a [`PreparedRelease`]: read the manifest
//! (`manifest::load`), then give every function a zip and its `CodeSha256`
//! — prebuilt `package` zips are checked with the unpacking rules and used
//! byte-for-byte, `source` directories are packaged deterministically into
//! the job's workspace. Every problem is collected into one
//! ConfigurationError message (PermissionError when the manifest names a
//! function outside `FunctionPrefix`).
//!
//! Synchronous file-system work (callers use `spawn_blocking`); knows no AWS
//! and no job.

use std::path::Path;

use crate::artifact::{self, PackageLimits, UnpackLimits};
use crate::engine::EngineError;
use crate::job::ActionConfiguration;
use crate::manifest::{self, ActionDefaults, Bundle, ManifestErrors, Problem, ProblemKind};
use crate::report::FailureKind;

use super::plan::{PreparedFunction, PreparedRelease};

/// The action configuration's share of the manifest settings:
/// `FunctionPrefix`, `Alias`, `DeploymentConfig`, `Alarms` (comma-separated).
pub fn action_defaults(c: &ActionConfiguration) -> ActionDefaults {
    ActionDefaults {
        function_prefix: c.get("FunctionPrefix").unwrap_or_default().to_string(),
        alias: c
            .get("Alias")
            .filter(|s| !s.trim().is_empty())
            .map(str::to_string),
        deployment_config: c
            .get("DeploymentConfig")
            .filter(|s| !s.trim().is_empty())
            .map(str::to_string),
        alarms: c
            .get("Alarms")
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect(),
    }
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
    let release =
        manifest::load(root, manifest_path, defaults).map_err(|e| manifest_failure(&e))?;
    let source = match &release.origin {
        manifest::Origin::Native { manifest } => manifest.clone(),
        manifest::Origin::Serverless { state_file, .. } => state_file.clone(),
    };
    let shown = |p: &Path| {
        p.strip_prefix(root)
            .map(|r| r.display().to_string())
            .unwrap_or_else(|_| p.display().to_string())
    };
    let mut problems = Vec::new();
    let mut functions = Vec::new();
    std::fs::create_dir_all(bundles_dir).map_err(|e| {
        EngineError::new(
            FailureKind::SystemUnavailable,
            format!("creating {}: {e}", bundles_dir.display()),
        )
    })?;
    for f in &release.functions {
        let prepared = match &f.bundle {
            Bundle::Package(zip) => artifact::verify(zip, &UnpackLimits::function_bundle())
                .map_err(|e| {
                    (
                        e.is_artifact_fault(),
                        format!("package `{}`: {e}", shown(zip)),
                    )
                })
                .and_then(|_| {
                    let sha = artifact::code_sha256_file(zip)
                        .map_err(|e| (false, format!("reading `{}`: {e}", shown(zip))))?;
                    let len = std::fs::metadata(zip)
                        .map_err(|e| (false, format!("reading `{}`: {e}", shown(zip))))?
                        .len();
                    Ok((zip.clone(), sha, len))
                }),
            Bundle::Source(dir) => {
                let dest = bundles_dir.join(format!("{}.zip", f.name));
                artifact::package(dir, &dest, &PackageLimits::default())
                    .map(|b| (b.path, b.code_sha256, b.zip_bytes))
                    .map_err(|e| {
                        let local = matches!(e, artifact::PackageError::Write(_));
                        (!local, format!("source `{}`: {e}", shown(dir)))
                    })
            }
        };
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
