//! S3 (restXml): buckets and objects stored on disk. STUB — being implemented.

use std::path::PathBuf;
use std::sync::Arc;

use http::Response;

use crate::Sim;
use crate::error::AwsError;
use crate::server::Ctx;
use crate::wire::{Body, Request};

#[derive(Debug)]
pub struct S3 {
    #[allow(dead_code)]
    root: PathBuf,
}

/// What the internal API reports about a stored object.
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectInfo {
    pub etag: String,
    pub size: u64,
    /// Version id when the bucket is versioned (never, for now).
    pub version_id: Option<String>,
    pub sse_kms_key_id: Option<String>,
}

// Internal API for other sim modules (CodePipeline copies artifacts with it,
// Lambda reads code from it). No access checks: the caller is AWS itself.
impl S3 {
    pub fn new(root: PathBuf) -> std::io::Result<Self> {
        std::fs::create_dir_all(&root)?;
        Ok(S3 { root })
    }

    pub fn bucket_exists(&self, _bucket: &str) -> bool {
        false
    }

    /// Creates the bucket when missing.
    pub fn ensure_bucket(&self, _bucket: &str) -> Result<(), AwsError> {
        Err(AwsError::internal("not implemented"))
    }

    /// Stores `data` as an object; `sse_kms_key_id` = `Some(key)` stores it SSE-KMS.
    pub fn put_object_internal(
        &self,
        _bucket: &str,
        _key: &str,
        _data: &[u8],
        _sse_kms_key_id: Option<&str>,
    ) -> Result<ObjectInfo, AwsError> {
        Err(AwsError::internal("not implemented"))
    }

    /// Reads a whole object (`NoSuchBucket`/`NoSuchKey` errors as S3 gives them).
    pub fn get_object_internal(
        &self,
        _bucket: &str,
        _key: &str,
    ) -> Result<(Vec<u8>, ObjectInfo), AwsError> {
        Err(AwsError::internal("not implemented"))
    }

    pub fn head_object_internal(&self, _bucket: &str, _key: &str) -> Result<ObjectInfo, AwsError> {
        Err(AwsError::internal("not implemented"))
    }

    /// Copies an object file-to-file (large artifacts never pass through memory).
    pub fn copy_object_internal(
        &self,
        _src_bucket: &str,
        _src_key: &str,
        _dst_bucket: &str,
        _dst_key: &str,
        _sse_kms_key_id: Option<&str>,
    ) -> Result<ObjectInfo, AwsError> {
        Err(AwsError::internal("not implemented"))
    }
}

pub fn operation(_req: &Request) -> String {
    "Unknown".into()
}

pub async fn handle(
    _sim: &Arc<Sim>,
    _ctx: &Ctx,
    _req: Request,
) -> Result<Response<Body>, AwsError> {
    Err(AwsError::bad_request(
        "NotImplemented",
        "S3 is not implemented yet",
    ))
}

pub fn render_error(ctx: &Ctx, err: &AwsError) -> Response<Body> {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{}</Code><Message>{}</Message><RequestId>{}</RequestId></Error>",
        crate::wire::xml_escape(&err.code),
        crate::wire::xml_escape(&err.message),
        ctx.request_id
    );
    Response::builder()
        .status(err.status)
        .header("content-type", "application/xml")
        .header("x-amz-request-id", ctx.request_id.as_str())
        .header("x-sim-error-code", err.code.as_str())
        .body(crate::wire::full(body))
        .expect("valid response")
}
