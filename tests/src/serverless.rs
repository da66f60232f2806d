//! The real Serverless Framework and serverless-plugin-canary-deployments
//! (npm, pinned in `.ci/versions` and `tests/serverless-apps/package-lock.json`;
//! `.ci/run` runs `npm ci` there) packaging the conformance apps under
//! `tests/serverless-apps/<app>/`. [`packaged`] is the one way a test gets
//! an app's `sls package --stage prod` output: every app is packaged once
//! per test binary (concurrently, on first use) into a temp directory
//! shared by its tests. `sls package` runs offline: dummy credentials,
//! telemetry off, `AWS_ENDPOINT_URL` on a closed port, so any AWS call it
//! tried would fail the packaging.
//!
//! Without node, npm or the installed `node_modules`, a test fails when
//! `CI` (or `REQUIRE_SERVERLESS`) is set, and otherwise prints `skipped: …`
//! past the test harness's output capture. It knows no scenario.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tokio::sync::OnceCell;

/// The conformance apps, each packaged once per test binary.
pub const APPS: &[&str] = &["shop", "ledger"];

/// Where the apps and their `node_modules` are.
pub fn apps_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("serverless-apps")
}

fn required() -> bool {
    std::env::var_os("CI").is_some() || std::env::var_os("REQUIRE_SERVERLESS").is_some()
}

fn say(line: &str) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{line}");
}

fn on_path(bin: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(bin).is_file()))
}

/// The packaged apps: app name → its directory (the app's sources plus
/// `.serverless/`), and how long packaging took.
#[derive(Debug)]
pub struct Packaged {
    pub apps: BTreeMap<String, PathBuf>,
    pub took: Duration,
    _dir: tempfile::TempDir,
}

static PACKAGED: OnceCell<Result<Packaged, String>> = OnceCell::const_new();

/// The packaged apps for test `test`; `None` when the tools are missing and
/// not required (the skip is printed). Panics when they are required but
/// missing, or when `sls package` fails.
pub async fn packaged(test: &str) -> Option<&'static Packaged> {
    let sls = apps_dir().join("node_modules/.bin/sls");
    let missing = if !on_path("node") || !on_path("npm") {
        Some("node/npm not found on PATH")
    } else if !sls.is_file() {
        Some("tests/serverless-apps/node_modules is not installed")
    } else {
        None
    };
    if let Some(why) = missing {
        if required() {
            panic!(
                "{test}: {why} but CI/REQUIRE_SERVERLESS is set: install node and npm, then `(cd tests/serverless-apps && npm ci)`"
            );
        }
        say(&format!(
            "skipped: {why} ({test}: the Serverless conformance did not run; install node and npm, then `(cd tests/serverless-apps && npm ci)`)"
        ));
        return None;
    }
    match PACKAGED.get_or_init(|| package_all(sls)).await {
        Ok(p) => Some(p),
        Err(e) => panic!("{test}: {e}"),
    }
}

async fn package_all(sls: PathBuf) -> Result<Packaged, String> {
    let started = Instant::now();
    let out = tempfile::tempdir().map_err(|e| e.to_string())?;
    // Each app is copied next to `node_modules` (the plugin is resolved
    // from there) into a directory of this process, packaged there, and
    // moved into the shared temp directory: the source tree stays clean.
    let stage = apps_dir().join(format!(".packaging-{}", std::process::id()));
    let mut runs = Vec::new();
    for app in APPS {
        let dir = stage.join(app);
        copy_dir(&apps_dir().join(app), &dir).map_err(|e| format!("copying {app}: {e}"))?;
        let child = tokio::process::Command::new(&sls)
            .args(["package", "--stage", "prod"])
            .current_dir(&dir)
            .env("AWS_ACCESS_KEY_ID", "AKIAOFFLINEPACKAGING")
            .env(
                "AWS_SECRET_ACCESS_KEY",
                "offline-packaging-makes-no-aws-call",
            )
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
            .env("SLS_TELEMETRY_DISABLED", "1")
            .env("SLS_NOTIFICATIONS_MODE", "off")
            .env_remove("AWS_PROFILE")
            .stdin(std::process::Stdio::null())
            .kill_on_drop(true)
            .output();
        runs.push((app.to_string(), dir, child));
    }
    let mut apps = BTreeMap::new();
    let mut errors = Vec::new();
    for (app, dir, child) in runs {
        match child.await {
            Ok(o) if o.status.success() => {
                let dest = out.path().join(&app);
                copy_dir(&dir, &dest).map_err(|e| format!("moving {app}: {e}"))?;
                apps.insert(app, dest);
            }
            Ok(o) => errors.push(format!(
                "`sls package --stage prod` of {app} failed ({}): {}{}",
                o.status,
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            )),
            Err(e) => errors.push(format!("running sls for {app}: {e}")),
        }
    }
    let _ = std::fs::remove_dir_all(&stage);
    if !errors.is_empty() {
        return Err(errors.join("\n"));
    }
    let took = started.elapsed();
    say(&format!(
        "serverless: packaged {} apps with the real `sls package` in {:.1} s",
        apps.len(),
        took.as_secs_f64()
    ));
    Ok(Packaged {
        apps,
        took,
        _dir: out,
    })
}

/// Copies a directory tree (files and directories only).
pub fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for e in std::fs::read_dir(from)? {
        let e = e?;
        let (src, dst) = (e.path(), to.join(e.file_name()));
        if e.file_type()?.is_dir() {
            copy_dir(&src, &dst)?;
        } else {
            std::fs::copy(&src, &dst)?;
        }
    }
    Ok(())
}

/// `zip` with `(name, bytes)` entries added (or replaced): a code change
/// made after packaging, as a new commit's `sls package` would give.
pub fn with_entries(zip: &[u8], extra: &[(&str, &[u8])]) -> Vec<u8> {
    use std::io::Read;
    let mut r = zip::ZipArchive::new(std::io::Cursor::new(zip)).expect("a packaged zip");
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .last_modified_time(zip::DateTime::default());
    for i in 0..r.len() {
        let mut f = r.by_index(i).unwrap();
        let name = f.name().to_string();
        if extra.iter().any(|(n, _)| *n == name) || f.is_dir() {
            continue;
        }
        let mut bytes = Vec::new();
        f.read_to_end(&mut bytes).unwrap();
        w.start_file(name, opts).unwrap();
        w.write_all(&bytes).unwrap();
    }
    for (n, b) in extra {
        w.start_file(*n, opts).unwrap();
        w.write_all(b).unwrap();
    }
    w.finish().unwrap().into_inner()
}
