//! One classification of AWS errors for every client the worker uses
//! (CodePipeline, S3, Lambda, CodeDeploy, CloudWatch): an SDK error becomes
//! an [`AwsError`] — the operation, the service's error code and message,
//! the HTTP status and `Retry-After` — and one rule says which errors are
//! worth trying again ([`AwsError::is_transient`]: throttling, 5xx,
//! timeouts and transport failures). Its text is a sentence for an
//! operator: the code and the service's own message, never the SDK's
//! `Debug` (which includes the raw response, where PollForJobs answers
//! carry credentials and secret configuration).
//!
//! This module knows no retry policy (the callers' backoffs decide how
//! often to try again) and no release logic.

use std::fmt;
use std::time::Duration;

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use crate::report::FailureKind;

/// How an AWS call failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwsError {
    /// The operation, e.g. `UpdateFunctionCode`.
    pub operation: &'static str,
    /// AWS error code; `None` for transport errors and timeouts.
    pub code: Option<String>,
    /// The service's message, or what went wrong on the way.
    pub message: String,
    pub status: Option<u16>,
    /// The answer's `Retry-After` (seconds), if it had one.
    pub retry_after: Option<Duration>,
}

/// Error codes that mean "later, please", whatever the HTTP status.
fn transient_code(code: &str) -> bool {
    code.contains("Throttl")
        || code.contains("ServiceUnavailable")
        || matches!(
            code,
            "TooManyRequestsException"
                | "SlowDown"
                | "RequestLimitExceeded"
                | "InternalServiceError"
                | "InternalError"
                | "InternalFailure"
                | "ServiceException"
                | "EC2ThrottledException"
                | "RequestTimeout"
                | "RequestTimeoutException"
        )
}

/// The error and its sources, `Display` only (never `Debug`).
pub fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut out = err.to_string();
    let mut src = err.source();
    while let Some(s) = src {
        let t = s.to_string();
        if !out.ends_with(&t) {
            out.push_str(": ");
            out.push_str(&t);
        }
        src = s.source();
    }
    out
}

/// A `Retry-After` header in seconds (Lambda's `TooManyRequestsException`
/// carries one as `retryAfterSeconds`); an HTTP date or garbage is ignored.
pub fn retry_after(value: Option<&str>) -> Option<Duration> {
    let secs: f64 = value?.trim().parse().ok()?;
    (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs.min(3600.0)))
}

impl AwsError {
    /// The error of `operation`: the service's code, message and HTTP
    /// status, or a sentence saying what failed on the way.
    pub fn from_sdk<E>(operation: &'static str, err: &SdkError<E, HttpResponse>) -> AwsError
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        match err {
            SdkError::ServiceError(se) => AwsError {
                operation,
                code: Some(se.err().code().unwrap_or("Unknown").to_string()),
                message: se.err().message().unwrap_or_default().to_string(),
                status: Some(se.raw().status().as_u16()),
                retry_after: retry_after(se.raw().headers().get("retry-after")),
            },
            SdkError::TimeoutError(_) => AwsError {
                operation,
                code: None,
                message: "no answer within the timeout".into(),
                status: None,
                retry_after: None,
            },
            SdkError::DispatchFailure(_) => AwsError {
                operation,
                code: None,
                message: format!("the service could not be reached ({})", error_chain(err)),
                status: None,
                retry_after: None,
            },
            SdkError::ResponseError(_) => AwsError {
                operation,
                code: None,
                message: format!("the answer could not be read ({})", error_chain(err)),
                status: err.raw_response().map(|r| r.status().as_u16()),
                retry_after: None,
            },
            other => AwsError {
                operation,
                code: Some("ClientError".into()),
                message: error_chain(other),
                status: None,
                retry_after: None,
            },
        }
    }

    /// Whether waiting and trying again can help: throttling, 5xx,
    /// timeouts and transport failures.
    pub fn is_transient(&self) -> bool {
        match &self.code {
            None => true,
            Some(c) if c == "ClientError" => false,
            Some(c) => transient_code(c) || self.status.is_some_and(|s| s >= 500 || s == 429),
        }
    }

    /// A rate-limit answer (429 / throttling code).
    pub fn is_throttle(&self) -> bool {
        let code = self.code.as_deref().unwrap_or("");
        self.status == Some(429) || code == "TooManyRequestsException" || code.contains("Throttl")
    }

    pub fn is(&self, code: &str) -> bool {
        self.code.as_deref() == Some(code)
    }

    /// The failure type when this error ends the job (BRIEF §3).
    pub fn failure_kind(&self) -> FailureKind {
        if self.code.is_none() {
            return FailureKind::SystemUnavailable;
        }
        FailureKind::from_aws_error(self.code.as_deref(), self.status)
    }
}

impl AwsError {
    /// What went wrong, without the operation: the code (with the HTTP
    /// status when it is worth trying again) and the service's message.
    pub fn cause(&self) -> String {
        match (&self.code, self.status) {
            (None, _) => self.message.clone(),
            (Some(c), Some(s)) if self.is_transient() && self.message.is_empty() => {
                format!("{c} (HTTP {s})")
            }
            (Some(c), Some(s)) if self.is_transient() => {
                format!("{c} (HTTP {s}): {}", self.message)
            }
            (Some(c), _) if self.message.is_empty() => c.clone(),
            (Some(c), _) => format!("{c}: {}", self.message),
        }
    }
}

impl fmt::Display for AwsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} failed: {}", self.operation, self.cause())
    }
}

impl std::error::Error for AwsError {}

#[cfg(test)]
mod tests {
    use aws_sdk_codedeploy::operation::batch_get_deployments::BatchGetDeploymentsError;
    use aws_smithy_types::body::SdkBody;

    use super::*;

    fn service(status: u16, code: &str, message: &str) -> AwsError {
        let body =
            format!(r#"{{"__type":"{code}","message":"{message}","secret":"wJalrXUtnFEMI"}}"#);
        let raw = HttpResponse::new(status.try_into().unwrap(), SdkBody::from(body));
        let meta = aws_smithy_types::error::ErrorMetadata::builder()
            .code(code)
            .message(message)
            .build();
        let e = SdkError::service_error(BatchGetDeploymentsError::generic(meta), raw);
        AwsError::from_sdk("BatchGetDeployments", &e)
    }

    #[test]
    fn one_rule_for_transient_errors_and_sentences_without_dumps() {
        let e = service(503, "ServiceUnavailableException", "Service unavailable");
        assert!(e.is_transient());
        assert_eq!(
            e.to_string(),
            "BatchGetDeployments failed: ServiceUnavailableException (HTTP 503): Service unavailable"
        );
        assert!(!e.to_string().contains("wJalr"));
        assert_eq!(e.failure_kind(), FailureKind::SystemUnavailable);
        for (status, code) in [
            (429, "TooManyRequestsException"),
            (400, "ThrottlingException"),
            (400, "Throttling"),
            (503, "SlowDown"),
            (500, "ServiceException"),
            (500, "WhateverException"),
        ] {
            assert!(service(status, code, "m").is_transient(), "{code}");
        }
        for (status, code) in [
            (400, "ValidationException"),
            (404, "ResourceNotFoundException"),
            (412, "PreconditionFailed"),
            (403, "AccessDenied"),
        ] {
            assert!(!service(status, code, "m").is_transient(), "{code}");
        }
        let denied = service(403, "AccessDenied", "not allowed");
        assert_eq!(
            denied.to_string(),
            "BatchGetDeployments failed: AccessDenied: not allowed"
        );
        assert_eq!(denied.failure_kind(), FailureKind::PermissionError);
    }
}
