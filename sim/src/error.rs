//! The AWS error value every service handler returns, independent of wire
//! protocol. Each service module renders it in its own protocol's shape
//! (awsJson `__type`, restJson `x-amzn-ErrorType`, S3 XML `<Error>`, CBOR), so
//! SDKs map it to their typed errors. This module knows no service.

use http::StatusCode;

/// An AWS service error: HTTP status, error code and message, plus optional
/// extra fields some protocols carry (S3 puts `<Key>`/`<BucketName>` in the body).
#[derive(Debug, Clone, PartialEq)]
pub struct AwsError {
    pub status: StatusCode,
    /// The AWS error code / shape name, e.g. `JobNotFoundException`, `NoSuchKey`.
    pub code: String,
    pub message: String,
    /// Extra `(name, value)` fields rendered into the error body where the
    /// protocol has room for them.
    pub extra: Vec<(String, String)>,
}

impl AwsError {
    pub fn new(status: StatusCode, code: impl Into<String>, message: impl Into<String>) -> Self {
        AwsError {
            status,
            code: code.into(),
            message: message.into(),
            extra: Vec::new(),
        }
    }

    /// 400 with the given code.
    pub fn bad_request(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// 400 `ValidationException`, the awsJson services' generic input error.
    pub fn validation(message: impl Into<String>) -> Self {
        Self::bad_request("ValidationException", message)
    }

    /// 403 `AccessDenied` (S3 spelling) / `AccessDeniedException` is up to the caller.
    pub fn access_denied(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, code, message)
    }

    pub fn not_found(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, code, message)
    }

    /// 500 `InternalFailure`: a bug in the sim, never expected.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalFailure",
            message,
        )
    }

    pub fn with_extra(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.extra.push((name.into(), value.into()));
        self
    }

    /// True for 4xx: the caller's fault (query-compatible protocols say `Sender`).
    pub fn is_sender_fault(&self) -> bool {
        self.status.is_client_error()
    }
}

impl std::fmt::Display for AwsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} ({}): {}",
            self.code,
            self.status.as_u16(),
            self.message
        )
    }
}

impl std::error::Error for AwsError {}

pub type AwsResult<T> = Result<T, AwsError>;
