//! The demo's working copy of the example application: a temporary copy of
//! `examples/collect` (or, with `--functions N`, N functions
//! `collect-fn-NN` generated from one of its handlers, in the same layout),
//! the edits each step of the story makes to it (a code change, a bug or a
//! background error rate as `.sim/behavior.json`, its fix, a manifest's
//! `defaults`), and the "git push": bundling it with
//! `pipeline_canary::bundle::bundle` — the code `buildspec.yml` runs — into
//! `build/release` and zipping that with the worker's deterministic packager.
//!
//! It knows the manifest's shape and the file system; nothing of AWS.

use std::fs;
use std::path::{Path, PathBuf};

use pipeline_canary::artifact::{PackageLimits, package};
use pipeline_canary::bundle::{RELEASE_DIR, bundle};
use sha1::{Digest, Sha1};

/// `examples/collect` of this repository.
pub fn example_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/collect")
}

/// One function of the app: its name and source directory (relative).
#[derive(Debug, Clone)]
pub struct Function {
    pub name: String,
    pub source: String,
}

/// The working copy and its history of commits.
pub struct App {
    _dir: tempfile::TempDir,
    pub root: PathBuf,
    pub functions: Vec<Function>,
    head: String,
}

/// A pushed commit: its id, message and release artifact (zip bytes).
pub struct Commit {
    pub id: String,
    pub message: String,
    pub zip: Vec<u8>,
}

impl App {
    /// A copy of the example app (`generated: None`) or `n` generated functions.
    pub fn new(generated: Option<usize>) -> Result<App, String> {
        let dir = tempfile::Builder::new()
            .prefix("pipeline-canary-demo-")
            .tempdir()
            .map_err(|e| format!("cannot create a temporary directory: {e}"))?;
        let root = dir.path().join("collect");
        let example = example_dir();
        match generated {
            None => copy_dir(&example, &root)?,
            Some(n) => generate(&example, &root, n)?,
        }
        let manifest: serde_json::Value = serde_json::from_str(&read(&root.join(MANIFEST))?)
            .map_err(|e| format!("{MANIFEST}: {e}"))?;
        let functions = manifest["functions"]
            .as_array()
            .ok_or("the manifest has no functions")?
            .iter()
            .filter_map(|f| {
                Some(Function {
                    name: f["name"].as_str()?.to_string(),
                    source: f["source"].as_str()?.to_string(),
                })
            })
            .collect();
        Ok(App {
            _dir: dir,
            root,
            functions,
            head: String::new(),
        })
    }

    pub fn names(&self) -> Vec<String> {
        self.functions.iter().map(|f| f.name.clone()).collect()
    }

    fn source_dir(&self, function: &str) -> Result<PathBuf, String> {
        self.functions
            .iter()
            .find(|f| f.name == function)
            .map(|f| self.root.join(&f.source))
            .ok_or_else(|| format!("no function {function} in the app"))
    }

    /// A code change to `function`: a line appended to its handler.
    pub fn edit(&self, function: &str, line: &str) -> Result<(), String> {
        let handler = self.source_dir(function)?.join("handler.py");
        let mut text = read(&handler)?;
        text.push_str(&format!("\n# {line}\n"));
        fs::write(&handler, text).map_err(|e| format!("{}: {e}", handler.display()))
    }

    /// The bug: half of the invocations of `function`'s next version fail
    /// (aws-sim reads `.sim/behavior.json` from the bundle; Lambda ignores it).
    pub fn inject_bug(&self, function: &str) -> Result<(), String> {
        self.fail_rate(function, 0.5)
    }

    /// The share of `function`'s invocations that fail, from its next
    /// version on (`.sim/behavior.json`, as [`App::inject_bug`]).
    pub fn fail_rate(&self, function: &str, rate: f64) -> Result<(), String> {
        let dir = self.source_dir(function)?.join(".sim");
        fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let behavior = serde_json::json!({ "errorRate": rate }).to_string() + "\n";
        fs::write(dir.join("behavior.json"), behavior)
            .map_err(|e| format!("{}: {e}", dir.display()))
    }

    /// Manifest edit: `deploymentConfig` and `analysis` in `defaults`, and
    /// `functions` lose a `deploymentConfig` of their own, so they follow
    /// the defaults.
    pub fn set_defaults(
        &self,
        functions: &[String],
        deployment_config: serde_json::Value,
        analysis: serde_json::Value,
    ) -> Result<(), String> {
        let path = self.root.join(MANIFEST);
        let mut manifest: serde_json::Value =
            serde_json::from_str(&read(&path)?).map_err(|e| format!("{MANIFEST}: {e}"))?;
        let defaults = manifest["defaults"]
            .as_object_mut()
            .ok_or("the manifest has no defaults")?;
        defaults.insert("deploymentConfig".into(), deployment_config);
        defaults.insert("analysis".into(), analysis);
        for f in manifest["functions"]
            .as_array_mut()
            .ok_or("the manifest has no functions")?
        {
            if f["name"]
                .as_str()
                .is_some_and(|n| functions.iter().any(|x| x == n))
                && let Some(entry) = f.as_object_mut()
            {
                entry.remove("deploymentConfig");
            }
        }
        let text = serde_json::to_string_pretty(&manifest).map_err(|e| e.to_string())? + "\n";
        fs::write(&path, text).map_err(|e| format!("{MANIFEST}: {e}"))
    }

    pub fn remove_bug(&self, function: &str) -> Result<(), String> {
        let dir = self.source_dir(function)?.join(".sim");
        fs::remove_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))
    }

    /// "git commit && git push": bundles the app into `build/release`
    /// (as buildspec.yml does) and zips it. The commit id is a SHA-1 of the
    /// parent id, the message and the artifact, like git's.
    pub fn commit(&mut self, message: &str) -> Result<Commit, String> {
        let out = self.root.join(RELEASE_DIR);
        let _ = fs::remove_dir_all(&out);
        bundle(&self.root, &out)?;
        let zip_path = self.root.join("build/release.zip");
        package(&out, &zip_path, &PackageLimits::default())
            .map_err(|e| format!("zipping {}: {e}", out.display()))?;
        let zip = fs::read(&zip_path).map_err(|e| format!("{}: {e}", zip_path.display()))?;
        let mut h = Sha1::new();
        h.update(self.head.as_bytes());
        h.update(message.as_bytes());
        h.update(&zip);
        self.head = hex::encode(h.finalize());
        Ok(Commit {
            id: self.head.clone(),
            message: message.to_string(),
            zip,
        })
    }
}

/// Placeholder code the functions have before their first release.
pub fn placeholder_zip() -> Result<Vec<u8>, String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let src = dir.path().join("src");
    fs::create_dir_all(&src).map_err(|e| e.to_string())?;
    fs::write(
        src.join("handler.py"),
        "def handler(event, context):\n    return {\"statusCode\": 503}\n",
    )
    .map_err(|e| e.to_string())?;
    let zip = dir.path().join("placeholder.zip");
    package(&src, &zip, &PackageLimits::default()).map_err(|e| e.to_string())?;
    fs::read(&zip).map_err(|e| e.to_string())
}

const MANIFEST: &str = "pipeline-canary.json";

fn read(p: &Path) -> Result<String, String> {
    fs::read_to_string(p).map_err(|e| format!("cannot read {}: {e}", p.display()))
}

/// Copies `from` into `to` (files and directories; build output skipped).
fn copy_dir(from: &Path, to: &Path) -> Result<(), String> {
    fs::create_dir_all(to).map_err(|e| format!("{}: {e}", to.display()))?;
    let entries = fs::read_dir(from).map_err(|e| format!("{}: {e}", from.display()))?;
    for e in entries {
        let e = e.map_err(|e| e.to_string())?;
        let name = e.file_name();
        if name == "build" || name == ".sim" {
            continue;
        }
        let (src, dst) = (e.path(), to.join(&name));
        if e.file_type().map_err(|e| e.to_string())?.is_dir() {
            copy_dir(&src, &dst)?;
        } else {
            fs::copy(&src, &dst).map_err(|e| format!("{}: {e}", src.display()))?;
        }
    }
    Ok(())
}

/// `n` functions `collect-fn-NN` with the example's first handler as
/// template, each with its own `Errors` alarm, all `Linear10PercentEvery1Minute`.
fn generate(example: &Path, to: &Path, n: usize) -> Result<(), String> {
    let template = read(&example.join("functions/create-pickup/handler.py"))?;
    let width = n.to_string().len().max(2);
    let mut entries = Vec::new();
    for i in 1..=n {
        let short = format!("fn-{i:0width$}");
        let name = format!("collect-{short}");
        let dir = to.join("functions").join(&short);
        fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        fs::write(
            dir.join("handler.py"),
            format!("# {name}: generated by the demo from create-pickup\n{template}"),
        )
        .map_err(|e| format!("{}: {e}", dir.display()))?;
        entries.push(serde_json::json!({
            "name": name,
            "source": format!("functions/{short}"),
            "alarms": [format!("{name}-errors")],
        }));
    }
    let manifest = serde_json::json!({
        "version": 1,
        "defaults": {"alias": "live", "deploymentConfig": "Linear10PercentEvery1Minute", "alarms": []},
        "functions": entries,
    });
    let text = serde_json::to_string_pretty(&manifest).map_err(|e| e.to_string())? + "\n";
    fs::write(to.join(MANIFEST), text).map_err(|e| format!("{MANIFEST}: {e}"))
}
