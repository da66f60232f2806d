//! Downloads a Lambda version's deployment package from GetFunction's
//! `Code.Location`, a presigned URL valid about ten minutes, so a rollback
//! can put that version's code back on `$LATEST`. One GET over the stack
//! the SDK already uses (hyper 1 + rustls/ring, the system's roots; plain
//! http only for a loopback endpoint such as aws-sim), bounded in size and
//! time; the body is checked against the version's `CodeSha256`.
//!
//! Errors are sentences for an operator naming the host and path, never the
//! URL's query: its signature is a credential. Knows nothing of functions,
//! releases or jobs.

use std::time::Duration;

use base64::Engine;
use http_body_util::{BodyExt, Empty, Limited};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use sha2::{Digest, Sha256};

/// A presigned URL without its query (which holds the signature).
pub fn redact(url: &str) -> String {
    let end = url.find(['?', '#']).unwrap_or(url.len());
    url[..end].to_string()
}

/// GETs `url` (≤ `max_bytes`, within `timeout`) and checks the body's
/// base64 SHA-256 is `code_sha256`.
pub async fn download(
    url: &str,
    code_sha256: &str,
    max_bytes: usize,
    timeout: Duration,
) -> Result<Vec<u8>, String> {
    let shown = redact(url);
    let uri: http::Uri = url
        .parse()
        .map_err(|_| format!("Lambda returned a code location that is not a URL ({shown})"))?;
    let loopback = matches!(
        uri.host(),
        Some("127.0.0.1" | "localhost" | "[::1]" | "::1")
    );
    match uri.scheme_str() {
        Some("https") => {}
        Some("http") if loopback => {}
        _ => {
            return Err(format!(
                "Lambda returned a code location that is not https ({shown}); refusing to download code from it"
            ));
        }
    }
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_provider_and_native_roots(rustls::crypto::ring::default_provider())
        .map_err(|e| format!("no TLS root certificates to download the code from {shown}: {e}"))?
        .https_or_http()
        .enable_http1()
        .build();
    let client: Client<_, Empty<Bytes>> = Client::builder(TokioExecutor::new()).build(https);
    let fetch = async {
        let resp = client
            .get(uri)
            .await
            .map_err(|e| format!("downloading the code from {shown} failed: {}", plain(&e)))?;
        let status = resp.status();
        if !status.is_success() {
            let hint = if status == http::StatusCode::FORBIDDEN {
                " (the presigned URL expired or was refused; the next attempt asks Lambda for a new one)"
            } else {
                ""
            };
            return Err(format!(
                "downloading the code from {shown} answered HTTP {}{hint}",
                status.as_u16()
            ));
        }
        let body = Limited::new(resp.into_body(), max_bytes)
            .collect()
            .await
            .map_err(|e| {
                if e.is::<http_body_util::LengthLimitError>() {
                    format!("the code at {shown} is larger than {max_bytes} bytes")
                } else {
                    format!("downloading the code from {shown} was cut off: {e}")
                }
            })?;
        Ok(body.to_bytes().to_vec())
    };
    let bytes = tokio::time::timeout(timeout, fetch).await.map_err(|_| {
        format!(
            "downloading the code from {shown} took longer than {} s",
            timeout.as_secs()
        )
    })??;
    let got = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(&bytes));
    if got != code_sha256 {
        return Err(format!(
            "the code downloaded from {shown} has CodeSha256 {got}, not the version's {code_sha256}"
        ));
    }
    Ok(bytes)
}

/// An error and its causes as one line, without the URL the client may
/// have put in them.
fn plain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![e.to_string()];
    let mut src = e.source();
    while let Some(s) = src {
        parts.push(s.to_string());
        src = s.source();
    }
    let text = parts.join(": ");
    match text.find("X-Amz-") {
        Some(i) => format!("{}…", &text[..i]),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redact_drops_the_signature() {
        assert_eq!(
            redact("https://b.s3.amazonaws.com/snap/f-1?X-Amz-Signature=abc&X-Amz-Expires=600"),
            "https://b.s3.amazonaws.com/snap/f-1"
        );
        assert_eq!(redact("http://h/p"), "http://h/p");
    }

    #[tokio::test]
    async fn refuses_plain_http_off_loopback() {
        let e = download(
            "http://example.com/x?X-Amz-Signature=s",
            "h",
            10,
            Duration::from_secs(1),
        )
        .await
        .unwrap_err();
        assert!(
            e.contains("not https") && !e.contains("X-Amz-Signature"),
            "{e}"
        );
    }
}
