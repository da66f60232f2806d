//! `pipeline-canary bundle`: turns an application directory (a native
//! manifest whose functions name `source` directories or prebuilt `package`
//! zips) into a release artifact directory: `dist/<function>.zip` built with
//! the deterministic packager, and a manifest rewritten to `package` entries.
//! CodeBuild (`buildspec.yml`) and the demo run this same code, so what CI
//! packages is byte-for-byte what the demo deploys.
//!
//! It knows the manifest's JSON shape and the packager; nothing about AWS.

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::artifact::{self, PackageLimits};
use crate::manifest::{self, ActionDefaults, NATIVE_MANIFEST};

/// Where the release artifact is written by default (buildspec.yml and the demo).
pub const RELEASE_DIR: &str = "build/release";

/// What `bundle` produced, per function.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundledFunction {
    pub name: String,
    /// Path of the zip relative to the output directory.
    pub package: String,
    pub code_sha256: String,
    pub zip_bytes: u64,
}

/// Bundles the application in `app_dir` into `out_dir` (created; an existing
/// manifest there is overwritten, other files are left alone).
pub fn bundle(app_dir: &Path, out_dir: &Path) -> Result<Vec<BundledFunction>, String> {
    let manifest_path = app_dir.join(NATIVE_MANIFEST);
    // Validate with the worker's own rules first (no prefix restriction here:
    // the pipeline's FunctionPrefix is checked when the release runs).
    manifest::load(app_dir, Some(NATIVE_MANIFEST), &ActionDefaults::default())
        .map_err(|e| e.message())?;
    let text = fs::read_to_string(&manifest_path)
        .map_err(|e| format!("cannot read {}: {e}", manifest_path.display()))?;
    let mut doc: Value = serde_json::from_str(&text)
        .map_err(|e| format!("{}: invalid JSON: {e}", manifest_path.display()))?;
    let dist = out_dir.join("dist");
    fs::create_dir_all(&dist).map_err(|e| format!("cannot create {}: {e}", dist.display()))?;
    let functions = doc
        .get_mut("functions")
        .and_then(Value::as_array_mut)
        .ok_or_else(|| format!("{}: `functions` must be an array", manifest_path.display()))?;
    let mut out = Vec::new();
    for (i, f) in functions.iter_mut().enumerate() {
        let obj = f
            .as_object_mut()
            .ok_or_else(|| format!("functions[{i}] must be an object"))?;
        let name = obj
            .get("name")
            .and_then(Value::as_str)
            .ok_or_else(|| format!("functions[{i}].name must be a string"))?
            .to_string();
        let rel = format!("dist/{name}.zip");
        let dest: PathBuf = out_dir.join(&rel);
        let (sha, bytes) = if let Some(src) = obj.remove("source") {
            let src = src
                .as_str()
                .ok_or_else(|| format!("functions[{i}].source must be a string"))?;
            let b = artifact::package(&app_dir.join(src), &dest, &PackageLimits::default())
                .map_err(|e| format!("functions[{i}] ({name}): {e}"))?;
            (b.code_sha256, b.zip_bytes)
        } else if let Some(pkg) = obj.get("package").and_then(Value::as_str) {
            let from = app_dir.join(pkg);
            fs::copy(&from, &dest).map_err(|e| {
                format!(
                    "functions[{i}] ({name}): cannot copy {}: {e}",
                    from.display()
                )
            })?;
            let sha = artifact::code_sha256_file(&dest)
                .map_err(|e| format!("functions[{i}] ({name}): {e}"))?;
            let bytes = fs::metadata(&dest).map(|m| m.len()).unwrap_or(0);
            (sha, bytes)
        } else {
            return Err(format!(
                "functions[{i}] ({name}): needs `source` (a directory) or `package` (a zip)"
            ));
        };
        obj.insert("package".into(), Value::String(rel.clone()));
        out.push(BundledFunction {
            name,
            package: rel,
            code_sha256: sha,
            zip_bytes: bytes,
        });
    }
    let written = out_dir.join(NATIVE_MANIFEST);
    let mut pretty = serde_json::to_string_pretty(&doc).expect("JSON values serialise");
    pretty.push('\n');
    fs::write(&written, pretty).map_err(|e| format!("cannot write {}: {e}", written.display()))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundles_the_example_app_deterministically() {
        let app = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/collect");
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        let fa = bundle(&app, a.path()).unwrap();
        let fb = bundle(&app, b.path()).unwrap();
        assert_eq!(fa, fb);
        assert_eq!(fa.len(), 6);
        let m: Value =
            serde_json::from_str(&fs::read_to_string(a.path().join(NATIVE_MANIFEST)).unwrap())
                .unwrap();
        for f in m["functions"].as_array().unwrap() {
            assert!(f.get("source").is_none());
            let pkg = f["package"].as_str().unwrap();
            assert!(a.path().join(pkg).is_file(), "{pkg}");
        }
        // The bundled manifest is itself a valid release.
        let r = manifest::load(a.path(), None, &ActionDefaults::default()).unwrap();
        assert_eq!(r.functions.len(), 6);
    }

    #[test]
    fn reports_a_bad_manifest_with_its_path() {
        let app = tempfile::tempdir().unwrap();
        fs::write(
            app.path().join(NATIVE_MANIFEST),
            r#"{"version":1,"functions":[{"name":"x","sauce":"a"}]}"#,
        )
        .unwrap();
        let out = tempfile::tempdir().unwrap();
        let e = bundle(app.path(), out.path()).unwrap_err();
        assert!(e.contains("functions[0]"), "{e}");
    }
}
