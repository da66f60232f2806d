//! SigV4 request authentication: parsing the credential scope (which names the
//! service the request is for, and so routes it) and verifying signatures of
//! requests made with credentials the sim issued (job artifact credentials).
//!
//! Signing is done with the `aws-sigv4` crate, the same code the SDKs sign
//! with; nothing here is hand-written crypto. This module knows nothing about
//! which credentials exist or what they may access (see `credentials`).

use std::time::SystemTime;

use http::{HeaderMap, Method, Uri};

use crate::error::AwsError;

/// What the `Authorization` header (or presigned query) says about the caller.
#[derive(Clone, PartialEq)]
pub struct SigV4 {
    pub access_key_id: String,
    /// `yyyymmdd` of the credential scope.
    pub date: String,
    pub region: String,
    pub service: String,
    pub signed_headers: Vec<String>,
    pub signature: String,
    /// True when the signature came from the query string (presigned URL).
    pub presigned: bool,
}

impl std::fmt::Debug for SigV4 {
    // The signature is not a secret, but it is noise in logs; the access key id
    // is an identifier, not a secret, and is shown.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigV4")
            .field("access_key_id", &self.access_key_id)
            .field("region", &self.region)
            .field("service", &self.service)
            .finish_non_exhaustive()
    }
}

/// Parses SigV4 auth from the `Authorization` header, or from the
/// `X-Amz-Credential`/`X-Amz-Signature` query parameters of a presigned URL.
/// `Ok(None)` when the request is unsigned.
pub fn parse(headers: &HeaderMap, uri: &Uri) -> Result<Option<SigV4>, AwsError> {
    if let Some(v) = headers.get(http::header::AUTHORIZATION) {
        let v = v
            .to_str()
            .map_err(|_| malformed("Authorization header is not ASCII"))?;
        let rest = v
            .strip_prefix("AWS4-HMAC-SHA256")
            .ok_or_else(|| malformed("only AWS4-HMAC-SHA256 authorization is supported"))?;
        let mut credential = None;
        let mut signed = None;
        let mut signature = None;
        for part in rest.split(',') {
            let part = part.trim();
            if let Some(c) = part.strip_prefix("Credential=") {
                credential = Some(c);
            } else if let Some(s) = part.strip_prefix("SignedHeaders=") {
                signed = Some(s);
            } else if let Some(s) = part.strip_prefix("Signature=") {
                signature = Some(s);
            }
        }
        let (credential, signed, signature) = match (credential, signed, signature) {
            (Some(c), Some(h), Some(s)) => (c, h, s),
            _ => {
                return Err(malformed(
                    "Authorization header requires Credential, SignedHeaders and Signature",
                ));
            }
        };
        return scope(credential, signed, signature, false).map(Some);
    }
    let Some(q) = uri.query() else {
        return Ok(None);
    };
    let mut credential = None;
    let mut signed = None;
    let mut signature = None;
    for (k, v) in form_pairs(q) {
        match k.as_str() {
            "X-Amz-Credential" => credential = Some(v),
            "X-Amz-SignedHeaders" => signed = Some(v),
            "X-Amz-Signature" => signature = Some(v),
            _ => {}
        }
    }
    match (credential, signed, signature) {
        (Some(c), Some(h), Some(s)) => scope(&c, &h, &s, true).map(Some),
        _ => Ok(None),
    }
}

fn scope(
    credential: &str,
    signed: &str,
    signature: &str,
    presigned: bool,
) -> Result<SigV4, AwsError> {
    let parts: Vec<&str> = credential.split('/').collect();
    if parts.len() != 5 || parts[4] != "aws4_request" {
        return Err(malformed(
            "Credential must be <AccessKeyId>/<date>/<region>/<service>/aws4_request",
        ));
    }
    Ok(SigV4 {
        access_key_id: parts[0].to_string(),
        date: parts[1].to_string(),
        region: parts[2].to_string(),
        service: parts[3].to_string(),
        signed_headers: signed.split(';').map(str::to_string).collect(),
        signature: signature.to_string(),
        presigned,
    })
}

fn malformed(msg: &str) -> AwsError {
    AwsError::bad_request("AuthorizationHeaderMalformed", msg)
}

/// Decodes `a=b&c=d` query pairs (percent-decoding, `+` kept as is as S3 does for SigV4).
pub fn form_pairs(q: &str) -> Vec<(String, String)> {
    q.split('&')
        .filter(|s| !s.is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (pct_decode(k), pct_decode(v))
        })
        .collect()
}

pub fn pct_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

/// Verifies the signature of a request signed with a known secret.
///
/// The request is re-signed with `aws-sigv4` over exactly the headers the
/// client listed in `SignedHeaders`, with S3's settings (single percent
/// encoding, no path normalisation, `x-amz-content-sha256` as payload hash),
/// and the signatures are compared.
pub fn verify_s3(
    auth: &SigV4,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    secret_access_key: &str,
    session_token: Option<&str>,
) -> Result<(), AwsError> {
    use aws_sigv4::http_request::{
        PayloadChecksumKind, PercentEncodingMode, SessionTokenMode, SignableBody, SignableRequest,
        SignatureLocation, SigningSettings, UriPathNormalizationMode, sign,
    };
    if auth.presigned {
        // Presigned URLs are verified by their expiry only; the sim's job
        // credentials are never used for presigning by the worker.
        return Ok(());
    }
    let amz_date = headers
        .get("x-amz-date")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| AwsError::access_denied("AccessDenied", "missing x-amz-date"))?;
    let time = parse_amz_date(amz_date)
        .ok_or_else(|| AwsError::access_denied("AccessDenied", "malformed x-amz-date"))?;
    let payload = headers
        .get("x-amz-content-sha256")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("UNSIGNED-PAYLOAD")
        .to_string();
    let mut signed: Vec<(&str, &str)> = Vec::new();
    for name in &auth.signed_headers {
        if matches!(
            name.as_str(),
            "x-amz-date" | "x-amz-security-token" | "x-amz-content-sha256"
        ) {
            // Added by the signer itself from the settings below.
            continue;
        }
        let values: Vec<&str> = headers
            .get_all(name.as_str())
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        for v in values {
            signed.push((name.as_str(), v));
        }
    }
    let mut settings = SigningSettings::default();
    settings.percent_encoding_mode = PercentEncodingMode::Single;
    settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
    settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
    settings.session_token_mode = SessionTokenMode::Include;
    settings.signature_location = SignatureLocation::Headers;
    settings.excluded_headers = None;
    let identity = aws_credential_types::Credentials::new(
        auth.access_key_id.clone(),
        secret_access_key.to_string(),
        session_token.map(str::to_string),
        None,
        "aws-sim",
    )
    .into();
    let params = aws_sigv4::sign::v4::SigningParams::builder()
        .identity(&identity)
        .region(&auth.region)
        .name(&auth.service)
        .time(time)
        .settings(settings)
        .build()
        .map_err(|e| AwsError::internal(format!("signing params: {e}")))?
        .into();
    let uri_string = uri.to_string();
    let signable = SignableRequest::new(
        method.as_str(),
        uri_string.as_str(),
        signed.into_iter(),
        SignableBody::Precomputed(payload),
    )
    .map_err(|e| {
        AwsError::access_denied("SignatureDoesNotMatch", format!("unsignable request: {e}"))
    })?;
    let out = sign(signable, &params).map_err(|e| {
        AwsError::access_denied("SignatureDoesNotMatch", format!("signing failed: {e}"))
    })?;
    let (_, expected) = out.into_parts();
    if expected == auth.signature {
        Ok(())
    } else {
        Err(AwsError::access_denied(
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided. Check your key and signing method.",
        ))
    }
}

/// Parses `yyyymmddThhmmssZ`.
pub fn parse_amz_date(s: &str) -> Option<SystemTime> {
    let dt = chrono::NaiveDateTime::parse_from_str(s, "%Y%m%dT%H%M%SZ").ok()?;
    Some(dt.and_utc().into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_header_scope() {
        let mut h = HeaderMap::new();
        h.insert(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261126/eu-west-1/codepipeline/aws4_request, SignedHeaders=host;x-amz-date, Signature=abcd"
                .parse()
                .unwrap(),
        );
        let a = parse(&h, &"/".parse().unwrap()).unwrap().unwrap();
        assert_eq!(a.access_key_id, "AKIDEXAMPLE");
        assert_eq!(a.region, "eu-west-1");
        assert_eq!(a.service, "codepipeline");
        assert_eq!(a.signed_headers, vec!["host", "x-amz-date"]);
        assert_eq!(a.signature, "abcd");
    }

    #[test]
    fn parses_presigned_scope() {
        let uri: Uri = "/b/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AK%2F20261126%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-SignedHeaders=host&X-Amz-Signature=ff"
            .parse()
            .unwrap();
        let a = parse(&HeaderMap::new(), &uri).unwrap().unwrap();
        assert_eq!(a.service, "s3");
        assert!(a.presigned);
    }

    #[test]
    fn rejects_malformed() {
        let mut h = HeaderMap::new();
        h.insert(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=x".parse().unwrap(),
        );
        assert_eq!(
            parse(&h, &"/".parse().unwrap()).unwrap_err().code,
            "AuthorizationHeaderMalformed"
        );
    }

    #[test]
    fn verify_round_trip_with_aws_sigv4() {
        use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
        let creds = aws_credential_types::Credentials::new(
            "AKJOB",
            "s3cr3t",
            Some("tok".into()),
            None,
            "t",
        );
        let identity = creds.into();
        let mut settings = SigningSettings::default();
        settings.percent_encoding_mode = aws_sigv4::http_request::PercentEncodingMode::Single;
        settings.uri_path_normalization_mode =
            aws_sigv4::http_request::UriPathNormalizationMode::Disabled;
        settings.payload_checksum_kind = aws_sigv4::http_request::PayloadChecksumKind::XAmzSha256;
        let time = parse_amz_date("20261126T120000Z").unwrap();
        let params = aws_sigv4::sign::v4::SigningParams::builder()
            .identity(&identity)
            .region("us-east-1")
            .name("s3")
            .time(time)
            .settings(settings)
            .build()
            .unwrap()
            .into();
        let headers = [("host", "127.0.0.1:1")];
        let req = SignableRequest::new(
            "GET",
            "http://127.0.0.1:1/bucket/key%20x?x-id=GetObject",
            headers.into_iter(),
            SignableBody::Precomputed("UNSIGNED-PAYLOAD".into()),
        )
        .unwrap();
        let (instructions, _sig) = sign(req, &params).unwrap().into_parts();
        let mut hm = HeaderMap::new();
        hm.insert("host", "127.0.0.1:1".parse().unwrap());
        for (k, v) in instructions.headers() {
            hm.insert(
                http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        let uri: Uri = "/bucket/key%20x?x-id=GetObject".parse().unwrap();
        let auth = parse(&hm, &uri).unwrap().unwrap();
        verify_s3(&auth, &Method::GET, &uri, &hm, "s3cr3t", Some("tok")).unwrap();
        let err = verify_s3(&auth, &Method::GET, &uri, &hm, "wrong", Some("tok")).unwrap_err();
        assert_eq!(err.code, "SignatureDoesNotMatch");
    }
}
