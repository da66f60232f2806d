//! HTTP plumbing shared by every service module: the response body type,
//! reading request bodies with a size cap, and the awsJson 1.0/1.1 and
//! restJson1 encodings of results and errors. It knows protocols, not services.

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Response, StatusCode};
use http_body_util::{BodyExt, Full, combinators::UnsyncBoxBody};

use crate::error::AwsError;

/// Response body: buffered for most calls, streamed from disk for S3 GetObject.
pub type Body = UnsyncBoxBody<Bytes, std::io::Error>;

/// The incoming request as the server hands it to a service.
pub type Request = http::Request<hyper::body::Incoming>;

/// A buffered body.
pub fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into())
        .map_err(|never| match never {})
        .boxed_unsync()
}

pub fn empty() -> Body {
    full(Bytes::new())
}

/// Reads a whole request body, refusing more than `limit` bytes.
pub async fn read_body(body: hyper::body::Incoming, limit: usize) -> Result<Bytes, AwsError> {
    let limited = http_body_util::Limited::new(body, limit);
    match limited.collect().await {
        Ok(c) => Ok(c.to_bytes()),
        Err(e) => {
            if e.downcast_ref::<http_body_util::LengthLimitError>()
                .is_some()
            {
                Err(AwsError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "RequestEntityTooLargeException",
                    format!("Request must be smaller than {limit} bytes"),
                ))
            } else {
                Err(AwsError::bad_request(
                    "IncompleteBody",
                    format!("could not read request body: {e}"),
                ))
            }
        }
    }
}

/// The awsJson protocol versions (`application/x-amz-json-1.0` / `-1.1`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonVersion {
    V1_0,
    V1_1,
}

impl JsonVersion {
    fn content_type(self) -> &'static str {
        match self {
            JsonVersion::V1_0 => "application/x-amz-json-1.0",
            JsonVersion::V1_1 => "application/x-amz-json-1.1",
        }
    }
}

/// The operation name from `X-Amz-Target: Prefix.Operation`.
pub fn json_target_operation(headers: &HeaderMap) -> Option<String> {
    let t = headers.get("x-amz-target")?.to_str().ok()?;
    t.rsplit_once('.').map(|(_, op)| op.to_string())
}

/// A successful awsJson result.
pub fn json_ok(
    version: JsonVersion,
    request_id: &str,
    value: &serde_json::Value,
) -> Response<Body> {
    let body = serde_json::to_vec(value).expect("json values serialise");
    Response::builder()
        .status(StatusCode::OK)
        .header("content-type", version.content_type())
        .header("x-amzn-requestid", request_id)
        .body(full(body))
        .expect("valid response")
}

/// An awsJson error: `{"__type": code, "message": …}` plus `x-amzn-ErrorType`.
/// `query_compatible` adds `x-amzn-query-error: Code;Sender|Receiver`, as
/// query-compatible services (CloudWatch) do.
pub fn json_error(
    version: JsonVersion,
    request_id: &str,
    err: &AwsError,
    query_compatible: bool,
) -> Response<Body> {
    let mut obj = serde_json::Map::new();
    obj.insert("__type".into(), err.code.clone().into());
    obj.insert("message".into(), err.message.clone().into());
    for (k, v) in &err.extra {
        obj.insert(k.clone(), v.clone().into());
    }
    let mut b = Response::builder()
        .status(err.status)
        .header("content-type", version.content_type())
        .header("x-amzn-requestid", request_id)
        .header("x-amzn-errortype", err.code.as_str());
    if query_compatible {
        let fault = if err.is_sender_fault() {
            "Sender"
        } else {
            "Receiver"
        };
        b = b.header("x-amzn-query-error", format!("{};{fault}", err.code));
    }
    b.body(full(serde_json::to_vec(&obj).unwrap()))
        .expect("valid response")
}

/// A restJson1 result with the given status.
pub fn rest_json_ok(
    status: StatusCode,
    request_id: &str,
    value: &serde_json::Value,
) -> Response<Body> {
    Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .header("x-amzn-requestid", request_id)
        .body(full(serde_json::to_vec(value).unwrap()))
        .expect("valid response")
}

/// A restJson1 error: code in `x-amzn-ErrorType`, `{"Type": "User", "message": …}` body.
pub fn rest_json_error(request_id: &str, err: &AwsError) -> Response<Body> {
    let mut obj = serde_json::Map::new();
    obj.insert(
        "Type".into(),
        if err.is_sender_fault() {
            "User"
        } else {
            "Service"
        }
        .into(),
    );
    obj.insert("message".into(), err.message.clone().into());
    for (k, v) in &err.extra {
        obj.insert(k.clone(), v.clone().into());
    }
    Response::builder()
        .status(err.status)
        .header("content-type", "application/json")
        .header("x-amzn-requestid", request_id)
        .header(
            "x-amzn-errortype",
            HeaderValue::from_str(&err.code).unwrap_or(HeaderValue::from_static("Unknown")),
        )
        .body(full(serde_json::to_vec(&obj).unwrap()))
        .expect("valid response")
}

/// Escapes text for inclusion in XML element content or attributes.
pub fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_operation() {
        let mut h = HeaderMap::new();
        h.insert(
            "x-amz-target",
            "CodePipeline_20150709.PollForJobs".parse().unwrap(),
        );
        assert_eq!(json_target_operation(&h).as_deref(), Some("PollForJobs"));
    }

    #[test]
    fn escapes() {
        assert_eq!(xml_escape("a<b>&\"'"), "a&lt;b&gt;&amp;&quot;&apos;");
    }
}
