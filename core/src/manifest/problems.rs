//! Collected manifest problems and the one failure message they become:
//! each line names the JSON path and the fix, the whole stays within
//! CodePipeline's 5000-character failure-message limit. Also the
//! "did you mean" suggestion for unknown keys. Knows nothing about AWS.

use std::fmt;

/// CodePipeline's limit on `failureDetails.message`.
pub const MAX_MESSAGE_CHARS: usize = 5000;
/// Longest single problem line.
const MAX_LINE_CHARS: usize = 600;

/// Which failure type a problem calls for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProblemKind {
    /// The manifest or action configuration is wrong (`ConfigurationError`).
    Configuration,
    /// The manifest asks for something the action may not touch
    /// (`PermissionError`), e.g. a function outside `FunctionPrefix`.
    Permission,
}

/// One problem: where (a JSON path such as `functions[2].deploymentConfg`,
/// or `(action) Alias`) and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub kind: ProblemKind,
    pub path: String,
    pub message: String,
}

/// Every problem found in one manifest, in document order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestErrors {
    /// The manifest file, relative to the artifact root.
    pub source: String,
    pub problems: Vec<Problem>,
}

impl ManifestErrors {
    /// `PermissionError` when any problem is a permission problem (the
    /// security-relevant one wins), else `ConfigurationError`.
    pub fn kind(&self) -> ProblemKind {
        if self
            .problems
            .iter()
            .any(|p| p.kind == ProblemKind::Permission)
        {
            ProblemKind::Permission
        } else {
            ProblemKind::Configuration
        }
    }

    /// The failure message: all problems, one per line, at most
    /// [`MAX_MESSAGE_CHARS`] characters, ending with "… and N more" when cut.
    pub fn message(&self) -> String {
        let n = self.problems.len();
        let mut out = format!(
            "{}: {} problem{}",
            self.source,
            n,
            if n == 1 { "" } else { "s" }
        );
        for (i, p) in self.problems.iter().enumerate() {
            let mut line = format!("\n- {}: {}", p.path, p.message);
            if line.chars().count() > MAX_LINE_CHARS {
                line = line.chars().take(MAX_LINE_CHARS - 1).collect::<String>() + "…";
            }
            let rest = n - i - 1;
            // Room for this line and, if more follow, the "… and N more" tail.
            let tail_room = if rest > 0 { 32 } else { 0 };
            if out.chars().count() + line.chars().count() + tail_room > MAX_MESSAGE_CHARS {
                out.push_str(&format!("\n… and {} more", n - i));
                return out;
            }
            out.push_str(&line);
        }
        out
    }
}

impl fmt::Display for ManifestErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message())
    }
}

impl std::error::Error for ManifestErrors {}

/// Problems collected while reading one manifest.
#[derive(Debug, Default)]
pub(crate) struct Collector {
    pub problems: Vec<Problem>,
}

impl Collector {
    pub fn config(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.problems.push(Problem {
            kind: ProblemKind::Configuration,
            path: path.into(),
            message: message.into(),
        });
    }

    pub fn permission(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.problems.push(Problem {
            kind: ProblemKind::Permission,
            path: path.into(),
            message: message.into(),
        });
    }

    pub fn is_empty(&self) -> bool {
        self.problems.is_empty()
    }
}

/// The known key closest to `unknown` by edit distance (case-insensitive),
/// when it is close enough to be a typo.
pub(crate) fn suggest<'a>(unknown: &str, known: &[&'a str]) -> Option<&'a str> {
    let lowered = unknown.to_ascii_lowercase();
    known
        .iter()
        .map(|k| (edit_distance(&lowered, &k.to_ascii_lowercase()), *k))
        .filter(|(d, k)| *d <= (k.len() / 3).max(2))
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

/// The message for an unknown key.
pub(crate) fn unknown_key(key: &str, known: &[&str]) -> String {
    match suggest(key, known) {
        Some(k) => format!("unknown key; did you mean `{k}`?"),
        None => format!(
            "unknown key; the keys here are {}",
            known
                .iter()
                .map(|k| format!("`{k}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// Levenshtein distance over chars.
pub(crate) fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let sub = prev[j] + usize::from(ca != *cb);
            cur[j + 1] = sub.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// A JSON value's type, for "expected X, found Y".
pub(crate) fn json_type(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions_find_typos_only() {
        let known = [
            "name",
            "package",
            "source",
            "deploymentConfig",
            "alarms",
            "hooks",
        ];
        assert_eq!(suggest("deploymentConfg", &known), Some("deploymentConfig"));
        assert_eq!(
            suggest("DeploymentConfig", &known),
            Some("deploymentConfig")
        );
        assert_eq!(suggest("alarm", &known), Some("alarms"));
        assert_eq!(suggest("pakage", &known), Some("package"));
        assert_eq!(suggest("timeout", &known), None);
        assert!(unknown_key("timeout", &known).contains("`deploymentConfig`"));
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }

    #[test]
    fn message_is_capped_at_5000_chars_with_a_count_of_the_rest() {
        let problems: Vec<Problem> = (0..200)
            .map(|i| Problem {
                kind: ProblemKind::Configuration,
                path: format!("functions[{i}].name"),
                message: "x".repeat(80),
            })
            .collect();
        let e = ManifestErrors {
            source: "pipeline-canary.json".into(),
            problems,
        };
        let m = e.message();
        assert!(m.chars().count() <= MAX_MESSAGE_CHARS, "{}", m.len());
        assert!(m.starts_with("pipeline-canary.json: 200 problems\n- functions[0].name: "));
        let shown = m.matches("\n- ").count();
        assert!(m.ends_with(&format!("… and {} more", 200 - shown)), "{m}");
        assert!(shown > 40);
        // One very long line is cut, not dropped.
        let e = ManifestErrors {
            source: "m.json".into(),
            problems: vec![Problem {
                kind: ProblemKind::Permission,
                path: "functions[0].name".into(),
                message: "y".repeat(10_000),
            }],
        };
        assert!(e.message().chars().count() <= MAX_LINE_CHARS + 40);
        assert_eq!(e.kind(), ProblemKind::Permission);
    }
}
