//! What a job ends with: a [`JobReport`] (continue with a token, succeed, or
//! fail with one of CodePipeline's six failure types), the mapping of AWS error
//! codes to failure types (BRIEF §3), and the field limits of
//! `PutJobSuccessResult`/`PutJobFailureResult` applied on UTF-8 boundaries.
//!
//! Pure: no SDK client, no clock. `codepipeline.rs` turns a report into a call.

use std::collections::BTreeMap;

/// `FailureDetails.type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FailureKind {
    JobFailed,
    ConfigurationError,
    PermissionError,
    RevisionOutOfSync,
    RevisionUnavailable,
    SystemUnavailable,
}

impl FailureKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FailureKind::JobFailed => "JobFailed",
            FailureKind::ConfigurationError => "ConfigurationError",
            FailureKind::PermissionError => "PermissionError",
            FailureKind::RevisionOutOfSync => "RevisionOutOfSync",
            FailureKind::RevisionUnavailable => "RevisionUnavailable",
            FailureKind::SystemUnavailable => "SystemUnavailable",
        }
    }

    /// The failure type for an AWS error a step could not recover from
    /// (BRIEF §3): access/KMS problems → PermissionError, throttling, 5xx and
    /// transport errors (after the adapter's retries) → SystemUnavailable,
    /// bad input → ConfigurationError, anything else → JobFailed.
    pub fn from_aws_error(code: Option<&str>, http_status: Option<u16>) -> FailureKind {
        let code = code.unwrap_or("");
        let lc = code.to_ascii_lowercase();
        if lc.starts_with("accessdenied")
            || lc.starts_with("kms")
            || lc.contains("unauthorized")
            || lc == "invalidclienttokenid"
            || lc == "signaturedoesnotmatch"
            || lc == "expiredtoken"
            || lc == "expiredtokenexception"
            || lc == "invalidaccesskeyid"
            || http_status == Some(403)
        {
            return FailureKind::PermissionError;
        }
        if lc.contains("throttl")
            || lc == "slowdown"
            || lc == "toomanyrequestsexception"
            || lc == "requestlimitexceeded"
            || lc.contains("serviceunavailable")
            || lc == "internalfailure"
            || lc == "internalerror"
            || lc == "serviceexception"
            || http_status.is_some_and(|s| s >= 500 || s == 429)
            || (code.is_empty() && http_status.is_none())
        {
            return FailureKind::SystemUnavailable;
        }
        if lc.starts_with("validation")
            || lc.starts_with("invalidparameter")
            || lc == "invalidrequestexception"
            || lc.ends_with("notfoundexception")
            || lc.ends_with("doesnotexistexception")
            || lc == "nosuchbucket"
            || lc == "nosuchkey"
        {
            return FailureKind::ConfigurationError;
        }
        FailureKind::JobFailed
    }
}

impl std::fmt::Display for FailureKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the console shows while an action runs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Progress {
    pub summary: String,
    /// 0-100; clamped when reported.
    pub percent_complete: Option<i32>,
    /// Shown as a link through `executionUrlTemplate` (a CodeDeploy deployment id).
    pub external_execution_id: Option<String>,
}

/// The single result of one acknowledged job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobReport {
    /// `PutJobSuccessResult` with a continuation token: this job ends and
    /// CodePipeline queues a new one carrying the token.
    Continue {
        token: String,
        progress: Progress,
        /// True when the worker hands the job back because it is shutting
        /// down, rather than because the release asked to come back later.
        handed_back: bool,
    },
    /// `PutJobSuccessResult` without a token: the action succeeded.
    Succeed {
        progress: Progress,
        output_variables: BTreeMap<String, String>,
    },
    /// `PutJobFailureResult`.
    Fail {
        kind: FailureKind,
        message: String,
        external_execution_id: Option<String>,
    },
    /// No result at all: another job holds the release now and reports it
    /// (this one was superseded). Logged, never posted.
    Abandon { reason: String },
}

impl JobReport {
    pub fn fail(kind: FailureKind, message: impl Into<String>) -> JobReport {
        JobReport::Fail {
            kind,
            message: message.into(),
            external_execution_id: None,
        }
    }

    /// The metrics label of this outcome.
    pub fn outcome(&self) -> &'static str {
        match self {
            JobReport::Continue {
                handed_back: true, ..
            } => "handed_back",
            JobReport::Continue { .. } => "continued",
            JobReport::Succeed { .. } => "succeeded",
            JobReport::Fail { .. } => "failed",
            JobReport::Abandon { .. } => "abandoned",
        }
    }
}

/// `ExecutionDetails.summary`.
pub const SUMMARY_MAX: usize = 2048;
/// `ExecutionDetails.externalExecutionId` and `FailureDetails.externalExecutionId`.
pub const EXTERNAL_ID_MAX: usize = 1500;
/// `FailureDetails.message`.
pub const MESSAGE_MAX: usize = 5000;
/// `CurrentRevision.revision`.
pub const REVISION_MAX: usize = 1500;
/// `CurrentRevision.changeIdentifier`.
pub const CHANGE_ID_MAX: usize = 100;
/// `continuationToken`.
pub const TOKEN_MAX: usize = 2048;
/// Total size of `outputVariables`.
pub const OUTPUT_VARIABLES_MAX_BYTES: usize = 122_880;

/// Cuts `s` to at most `max` characters, counted as UTF-16 code units (the
/// strictest reading of an AWS length limit), never inside a character. A cut
/// string ends with `…` so a reader sees it was cut.
pub fn truncate(s: &str, max: usize) -> String {
    let units = |c: char| c.len_utf16();
    if s.chars().map(units).sum::<usize>() <= max {
        return s.to_string();
    }
    let budget = max.saturating_sub(1);
    let mut used = 0;
    let mut out = String::new();
    for c in s.chars() {
        if used + units(c) > budget {
            break;
        }
        used += units(c);
        out.push(c);
    }
    if max >= 1 {
        out.push('…');
    }
    out
}

/// `truncate`, and `None` for an empty string (every text field has min 1).
pub fn text_field(s: &str, max: usize) -> Option<String> {
    if s.is_empty() {
        None
    } else {
        Some(truncate(s, max))
    }
}

/// `percentComplete` clamped to 0-100.
pub fn clamp_percent(p: i32) -> i32 {
    p.clamp(0, 100)
}

/// The output variables `PutJobSuccessResult` accepts: keys of
/// `[A-Za-z0-9@\-_]+`, at most 122,880 bytes in total. Invalid keys are
/// dropped, and variables that would overflow the total are dropped (in key
/// order); the dropped keys are returned for a warning.
pub fn sanitize_output_variables(
    vars: &BTreeMap<String, String>,
) -> (BTreeMap<String, String>, Vec<String>) {
    let mut out = BTreeMap::new();
    let mut dropped = Vec::new();
    let mut total = 0usize;
    for (k, v) in vars {
        let ok = !k.is_empty()
            && k.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'@' || b == b'-' || b == b'_');
        if !ok || total + k.len() + v.len() > OUTPUT_VARIABLES_MAX_BYTES {
            dropped.push(k.clone());
            continue;
        }
        total += k.len() + v.len();
        out.insert(k.clone(), v.clone());
    }
    (out, dropped)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncation_respects_limits_and_char_boundaries() {
        assert_eq!(truncate("short", 10), "short");
        assert_eq!(truncate("exactly10!", 10), "exactly10!");
        let t = truncate("abcdefghijk", 10);
        assert_eq!(t, "abcdefghi…");
        assert_eq!(t.chars().map(char::len_utf16).sum::<usize>(), 10);
        // Multi-byte characters are never split.
        let s = "é".repeat(3000);
        let t = truncate(&s, SUMMARY_MAX);
        assert_eq!(t.chars().count(), SUMMARY_MAX);
        assert!(t.ends_with('…'));
        // Astral characters count as two UTF-16 units.
        let s = "🦀".repeat(10);
        let t = truncate(&s, 7);
        assert_eq!(t, "🦀🦀🦀…");
        assert!(t.chars().map(char::len_utf16).sum::<usize>() <= 7);
        assert_eq!(text_field("", 10), None);
        assert_eq!(text_field("x", 10).as_deref(), Some("x"));
        let m = truncate(&"x".repeat(MESSAGE_MAX + 1), MESSAGE_MAX);
        assert_eq!(m.chars().count(), MESSAGE_MAX);
    }

    #[test]
    fn percent_is_clamped() {
        assert_eq!(clamp_percent(-5), 0);
        assert_eq!(clamp_percent(50), 50);
        assert_eq!(clamp_percent(250), 100);
    }

    #[test]
    fn output_variables_are_sanitized() {
        let mut v = BTreeMap::new();
        v.insert("Good_key-1@x".to_string(), "v".to_string());
        v.insert("bad key".to_string(), "v".to_string());
        v.insert("big".to_string(), "x".repeat(OUTPUT_VARIABLES_MAX_BYTES));
        let (ok, dropped) = sanitize_output_variables(&v);
        assert_eq!(ok.keys().collect::<Vec<_>>(), ["Good_key-1@x"]);
        assert_eq!(dropped, ["bad key", "big"]);
    }

    #[test]
    fn aws_errors_map_to_failure_types() {
        use FailureKind::*;
        let f = FailureKind::from_aws_error;
        assert_eq!(f(Some("AccessDeniedException"), Some(403)), PermissionError);
        assert_eq!(f(Some("AccessDenied"), Some(403)), PermissionError);
        assert_eq!(
            f(Some("KMSAccessDeniedException"), Some(400)),
            PermissionError
        );
        assert_eq!(f(Some("KMS.DisabledException"), Some(400)), PermissionError);
        assert_eq!(f(Some("ExpiredToken"), Some(400)), PermissionError);
        assert_eq!(f(Some("ThrottlingException"), Some(400)), SystemUnavailable);
        assert_eq!(
            f(Some("TooManyRequestsException"), Some(429)),
            SystemUnavailable
        );
        assert_eq!(f(Some("SlowDown"), Some(503)), SystemUnavailable);
        assert_eq!(
            f(Some("ServiceUnavailableException"), Some(503)),
            SystemUnavailable
        );
        assert_eq!(f(None, None), SystemUnavailable);
        assert_eq!(
            f(Some("ValidationException"), Some(400)),
            ConfigurationError
        );
        assert_eq!(
            f(Some("ResourceNotFoundException"), Some(404)),
            ConfigurationError
        );
        assert_eq!(f(Some("NoSuchKey"), Some(404)), ConfigurationError);
        assert_eq!(f(Some("ResourceConflictException"), Some(409)), JobFailed);
    }
}
