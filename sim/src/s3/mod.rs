//! S3 (restXml): buckets and objects, stored on disk, with the access rules of
//! pipeline artifact buckets. Wire decoding (routing by path-style or
//! virtual-hosted address, headers, aws-chunked bodies, XML) → handler on the
//! [`store::Store`] → XML/headers out, or an S3 `<Error>` document.
//!
//! | operation | what is simulated |
//! |---|---|
//! | `ListBuckets` | every bucket (name, creation date, region); job credentials and anonymous callers get `AccessDenied` |
//! | `CreateBucket` | name rules (`InvalidBucketName`); `LocationConstraint` body checked against the signing region like AWS (`InvalidLocationConstraint`, `IllegalLocationConstraintException`); re-creating: `BucketAlreadyOwnedByYou` (409), except in us-east-1 where AWS answers 200 |
//! | `HeadBucket` | 200 + `x-amz-bucket-region`, or 404 without body |
//! | `DeleteBucket` | `BucketNotEmpty` (409) while objects or uploads exist |
//! | `GetBucketLocation` | the creation region (empty for us-east-1) |
//! | `PutObject` | conditional writes (`If-None-Match: *` create only, `If-Match: <ETag>` replace only that object; see `conditions.rs`): 412 `PreconditionFailed` when the condition fails on arrival (`If-Match` on a free key: 404 `NoSuchKey`; `If-None-Match` other than `*`: 501), 409 `ConditionalRequestConflict` when another write or delete of the key commits while the body is received; body streamed to a temp file while hashing, renamed on success; plain bodies and `aws-chunked` bodies (`STREAMING-UNSIGNED-PAYLOAD-TRAILER`, `STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]`, chunk and trailer signatures verified for credentials the sim issued); `x-amz-decoded-content-length` enforced; `Content-MD5`, `x-amz-checksum-{crc32,crc32c,crc64nvme,sha1,sha256}` (header or trailer) and a hex `x-amz-content-sha256` verified (`BadDigest`, `XAmzContentSHA256Mismatch`; nothing stored on mismatch); ETag = quoted hex MD5; `Content-Type`, `Content-Encoding` (minus `aws-chunked`), `Content-Disposition`, `Content-Language`, `Cache-Control`, `Expires`, `x-amz-meta-*` (≤ 2 KB) stored; SSE (`AES256`, `aws:kms` + key id + bucket key) stored and echoed; 5 GiB limit (`EntityTooLarge`), keys ≤ 1024 bytes (`KeyTooLongError`) |
//! | `GetObject` / `HeadObject` | streamed from the file; `Range: bytes=a-b / a- / -n` → 206 + `Content-Range`, unsatisfiable → 416 `InvalidRange`; `If-Match`/`If-Unmodified-Since` → 412, `If-None-Match`/`If-Modified-Since` → 304, in RFC 7232's order; `response-*` overrides; stored headers, metadata, SSE echoed; the checksum (and `x-amz-checksum-type`) only with `x-amz-checksum-mode: ENABLED` and never on ranged reads, as S3 does; `NoSuchKey` (HEAD: bare 404) |
//! | `DeleteObject` | 204, also for missing keys; `If-Match` (ETag or `*`) → conditional delete: 412 on another ETag, 404 `NoSuchKey` when absent; the directory-bucket conditions (`x-amz-if-match-last-modified-time`, `-size`) → 501 |
//! | `DeleteObjects` | `<Delete>` with `Quiet`; per-key results; an `<ETag>` per object is a conditional delete (per-key `PreconditionFailed`/`NoSuchKey` error) |
//! | `CopyObject` | file-to-file (hard link); `x-amz-metadata-directive` COPY/REPLACE (others: `InvalidArgument`); SSE of the request; the source's `x-amz-copy-source-if-match`/`-if-none-match`/`-if-modified-since`/`-if-unmodified-since` → 412; the destination's `If-None-Match: *`/`If-Match` as PutObject's conditional writes |
//! | `ListObjectsV2` / `ListObjects` | `prefix`, `delimiter` → `CommonPrefixes`, `max-keys` (≤ 1000), `continuation-token` (opaque, validated) / `marker`, `start-after`, `fetch-owner`, `encoding-type=url`, `KeyCount`, `IsTruncated` |
//! | `CreateMultipartUpload` | metadata, SSE and `x-amz-checksum-algorithm`/`-type` (COMPOSITE default, FULL_OBJECT for CRC64NVME) kept for the object |
//! | `UploadPart` | like PutObject (all body encodings and checksum checks); part numbers 1–10000; re-uploading a part replaces it |
//! | `UploadPartCopy` | a byte range (`x-amz-copy-source-range`) or all of an object becomes a part, file-to-file (`aws s3 cp s3://… s3://…` of large objects); the source's `x-amz-copy-source-if-*` conditions → 412 |
//! | `CompleteMultipartUpload` | parts must exist with matching ETag/checksum (`InvalidPart`), ascend (`InvalidPartOrder`), and be ≥ 5 MiB except the last (`EntityTooSmall`); files are concatenated on disk; ETag = MD5 of the part MD5s + `-N`; composite checksum = checksum of the part checksums + `-N`, full-object checksum computed over the object; `If-None-Match: *`/`If-Match` as PutObject's conditional writes (a 412 keeps the upload; a 409 aborts it, as the model tells clients to re-initiate) |
//! | `AbortMultipartUpload` / `ListMultipartUploads` / `ListParts` | `NoSuchUpload` for unknown ids; ListMultipartUploads: `Initiator`, `Owner`, checksum algorithm and type per upload, `prefix`, `delimiter` → `CommonPrefixes`, `max-uploads`, `key-marker`/`upload-id-marker` paging, `encoding-type=url`; ListParts pages with `max-parts`/`part-number-marker` |
//!
//! Large refused uploads (without `Expect: 100-continue`) are read and
//! discarded before the error is sent, so clients see the S3 error rather than
//! a reset connection.
//!
//! Addressing: path-style `/bucket/key` and virtual-hosted `Host:
//! bucket.localhost[:port]` (a host that is an IP address is never
//! virtual-hosted).
//!
//! Access: unsigned requests are `Anonymous` (denied); access keys the sim
//! issued with jobs are `Job` principals whose signature, session token,
//! expiry and bucket scope are enforced; any other key is the `Account`, whose
//! signature is not checked. Pipeline artifact buckets accept only job
//! credentials (`credentials::CredentialStore::check_bucket_access`).
//!
//! Presigned URLs: their expiry (`X-Amz-Date` + `X-Amz-Expires`, ≤ 7 days)
//! and credentials are checked, not their signatures.
//!
//! Every request's headers and query parameters restricted to an enum by the
//! model are checked first (`check_parameters`, rules in `crate::validate`):
//! `InvalidArgument` naming the header, `InvalidStorageClass`,
//! `InvalidRequest` for checksum headers; Object Lock headers need a bucket
//! with Object Lock, which the sim never has (`InvalidRequest`).
//!
//! Not simulated: versioning, ACLs/policies, tagging, object lock, SSE-C,
//! storage classes, wrong-region redirects, `partNumber` reads of multipart
//! objects. Objects get a checksum only when the client sends one (AWS now
//! adds a default CRC64NVME). Stored bytes are not encrypted.
//!
//! This module knows nothing about CodePipeline; other sim modules use the
//! internal API on [`S3`] (no access checks: the caller is AWS itself).

pub mod checksum;
pub mod chunked;
pub mod conditions;
pub mod store;
pub mod xml;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::{HeaderMap, Method, Response, StatusCode, header};
use http_body_util::BodyExt;
use md5::Digest as _;
use tokio::io::{AsyncReadExt, AsyncSeekExt};

use crate::Sim;
use crate::credentials::{Principal, TempCredentials};
use crate::error::AwsError;
use crate::server::Ctx;
use crate::wire::{self, Body, Request};
use checksum::{Algorithm, Checksum};
use store::{Object, ObjectMeta, Part, Sse, Store, Upload};

/// Every operation this service serves, by its model name; any other is
/// answered as an unknown operation. `validate::model` holds their request
/// rules and the conformance test walks each of them.
pub const OPERATIONS: &[&str] = &[
    "ListBuckets",
    "CreateBucket",
    "HeadBucket",
    "DeleteBucket",
    "GetBucketLocation",
    "PutObject",
    "GetObject",
    "HeadObject",
    "DeleteObject",
    "DeleteObjects",
    "CopyObject",
    "ListObjects",
    "ListObjectsV2",
    "CreateMultipartUpload",
    "UploadPart",
    "UploadPartCopy",
    "CompleteMultipartUpload",
    "AbortMultipartUpload",
    "ListParts",
    "ListMultipartUploads",
];

/// Largest single PUT (and part).
const MAX_PUT: u64 = 5 * 1024 * 1024 * 1024;
/// Smallest part except the last.
const MIN_PART: u64 = 5 * 1024 * 1024;
/// Account id shown as the owner of everything.
const OWNER_ID: &str = "75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a";

/// The S3 service of one sim.
#[derive(Debug)]
pub struct S3 {
    store: Store,
}

/// What the internal API reports about a stored object.
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectInfo {
    /// The ETag as S3 returns it: quoted hex MD5 (`"…"`, `"…-N"` for multipart).
    pub etag: String,
    pub size: u64,
    /// Version id when the bucket is versioned (never, for now).
    pub version_id: Option<String>,
    pub sse_kms_key_id: Option<String>,
}

impl ObjectInfo {
    fn of(o: &Object) -> ObjectInfo {
        ObjectInfo {
            etag: o.etag.clone(),
            size: o.size,
            version_id: None,
            sse_kms_key_id: o.meta.sse.as_ref().and_then(|s| s.kms_key_id.clone()),
        }
    }
}

fn kms_sse(key: Option<&str>) -> Option<Sse> {
    key.map(|k| Sse {
        algorithm: "aws:kms".into(),
        kms_key_id: Some(k.to_string()),
        bucket_key_enabled: false,
    })
}

fn truncate_to_secs(t: SystemTime) -> SystemTime {
    let secs = t
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    UNIX_EPOCH + Duration::from_secs(secs)
}

fn quoted_md5(md5: &[u8]) -> String {
    format!("\"{}\"", hex::encode(md5))
}

// Internal API for other sim modules (CodePipeline copies artifacts with it,
// Lambda reads code from it). No access checks: the caller is AWS itself.
impl S3 {
    pub fn new(root: PathBuf) -> std::io::Result<Self> {
        std::fs::create_dir_all(&root)?;
        Ok(S3 {
            store: Store::new(&root)?,
        })
    }

    /// The storage, for assertions in tests.
    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn bucket_exists(&self, bucket: &str) -> bool {
        self.store.bucket_exists(bucket)
    }

    /// Creates the bucket when missing (answering in every region).
    pub fn ensure_bucket(&self, bucket: &str) -> Result<(), AwsError> {
        validate_bucket_name(bucket)?;
        let _ = self
            .store
            .create_bucket(bucket, None, truncate_to_secs(SystemTime::now()));
        Ok(())
    }

    /// Stores `data` as an object; `sse_kms_key_id` = `Some(key)` stores it SSE-KMS.
    pub fn put_object_internal(
        &self,
        bucket: &str,
        key: &str,
        data: &[u8],
        sse_kms_key_id: Option<&str>,
    ) -> Result<ObjectInfo, AwsError> {
        if !self.store.bucket_exists(bucket) {
            return Err(store::no_such_bucket(bucket));
        }
        let tmp = self.store.temp_file();
        std::fs::write(tmp.path(), data)
            .map_err(|e| AwsError::internal(format!("aws-sim storage error: {e}")))?;
        let path = self.store.persist(tmp)?;
        let object = Object {
            path,
            etag: quoted_md5(&md5::Md5::digest(data)),
            size: data.len() as u64,
            meta: ObjectMeta {
                sse: kms_sse(sse_kms_key_id),
                ..Default::default()
            },
            checksum: None,
            last_modified: truncate_to_secs(SystemTime::now()),
            parts_count: None,
            aws_chunked: false,
            generation: 0,
        };
        let info = ObjectInfo::of(&object);
        self.store.insert_object(bucket, key, object)?;
        Ok(info)
    }

    /// Reads a whole object (`NoSuchBucket`/`NoSuchKey` errors as S3 gives them).
    pub fn get_object_internal(
        &self,
        bucket: &str,
        key: &str,
    ) -> Result<(Vec<u8>, ObjectInfo), AwsError> {
        use std::io::Read;
        let (o, mut f) = self.store.open_object(bucket, key)?;
        let mut data = Vec::with_capacity(o.size as usize);
        f.read_to_end(&mut data)
            .map_err(|e| AwsError::internal(format!("aws-sim storage error: {e}")))?;
        Ok((data, ObjectInfo::of(&o)))
    }

    pub fn head_object_internal(&self, bucket: &str, key: &str) -> Result<ObjectInfo, AwsError> {
        self.store.object(bucket, key).map(|o| ObjectInfo::of(&o))
    }

    /// Copies an object file-to-file (large artifacts never pass through memory).
    pub fn copy_object_internal(
        &self,
        src_bucket: &str,
        src_key: &str,
        dst_bucket: &str,
        dst_key: &str,
        sse_kms_key_id: Option<&str>,
    ) -> Result<ObjectInfo, AwsError> {
        let src = self.store.object(src_bucket, src_key)?;
        if !self.store.bucket_exists(dst_bucket) {
            return Err(store::no_such_bucket(dst_bucket));
        }
        let path = self.store.clone_file(&src.path)?;
        let mut meta = src.meta.clone();
        meta.sse = kms_sse(sse_kms_key_id);
        let object = Object {
            path,
            meta,
            last_modified: truncate_to_secs(SystemTime::now()),
            ..src
        };
        let info = ObjectInfo::of(&object);
        self.store.insert_object(dst_bucket, dst_key, object)?;
        Ok(info)
    }
}

// ---------------------------------------------------------------------------
// Addressing and operation names
// ---------------------------------------------------------------------------

/// Bucket, key and query of a request, path-style or virtual-hosted.
#[derive(Debug, Clone, PartialEq)]
struct Target {
    bucket: Option<String>,
    key: Option<String>,
    query: Vec<(String, String)>,
}

impl Target {
    fn has(&self, name: &str) -> bool {
        self.query.iter().any(|(k, _)| k == name)
    }

    /// No sub-resource: only the SDK's `x-id` and presigning parameters.
    fn plain(&self) -> bool {
        self.query
            .iter()
            .all(|(k, _)| k == "x-id" || k.starts_with("X-Amz-"))
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// The bucket named by a virtual-hosted `Host` (`bucket.localhost[:port]`).
fn virtual_bucket(host: &str) -> Option<String> {
    if host.starts_with('[') {
        return None;
    }
    let name = match host.rsplit_once(':') {
        Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => host,
    };
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    let bucket = name.strip_suffix(".localhost")?;
    let bucket = bucket.strip_suffix(".s3").unwrap_or(bucket);
    (!bucket.is_empty() && bucket != "s3").then(|| bucket.to_string())
}

fn host_of<B>(req: &http::Request<B>) -> Option<String> {
    req.headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .or_else(|| req.uri().authority().map(|a| a.to_string()))
}

fn target<B>(req: &http::Request<B>) -> Target {
    let query = req
        .uri()
        .query()
        .map(crate::auth::form_pairs)
        .unwrap_or_default();
    let raw = req.uri().path();
    let path = raw.strip_prefix('/').unwrap_or(raw);
    let decode = |s: &str| crate::auth::pct_decode(s);
    match host_of(req).as_deref().and_then(virtual_bucket) {
        Some(bucket) => Target {
            bucket: Some(bucket),
            key: (!path.is_empty()).then(|| decode(path)),
            query,
        },
        None => {
            let (b, k) = path.split_once('/').unwrap_or((path, ""));
            Target {
                bucket: (!b.is_empty()).then(|| decode(b)),
                key: (!k.is_empty()).then(|| decode(k)),
                query,
            }
        }
    }
}

/// The S3 operation a request is, from method, address, query and headers.
pub fn operation(req: &Request) -> String {
    let t = target(req);
    let m = req.method();
    let copy = req.headers().contains_key("x-amz-copy-source");
    let op = match (&t.bucket, &t.key) {
        (None, _) => match *m {
            Method::GET => "ListBuckets",
            _ => "Unsupported",
        },
        (Some(_), None) => match *m {
            Method::PUT if t.query.is_empty() => "CreateBucket",
            Method::HEAD => "HeadBucket",
            Method::DELETE if t.query.is_empty() => "DeleteBucket",
            Method::POST if t.has("delete") => "DeleteObjects",
            Method::GET if t.get("list-type") == Some("2") => "ListObjectsV2",
            Method::GET if t.has("location") => "GetBucketLocation",
            Method::GET if t.has("uploads") => "ListMultipartUploads",
            Method::GET
                if t.query
                    .iter()
                    .all(|(k, _)| LIST_PARAMS.contains(&k.as_str())) =>
            {
                "ListObjects"
            }
            _ => "Unsupported",
        },
        (Some(_), Some(_)) => match *m {
            Method::PUT if t.has("partNumber") || t.has("uploadId") => {
                if copy {
                    "UploadPartCopy"
                } else {
                    "UploadPart"
                }
            }
            Method::PUT if t.plain() => {
                if copy {
                    "CopyObject"
                } else {
                    "PutObject"
                }
            }
            Method::GET if t.has("uploadId") => "ListParts",
            Method::GET
                if t.query
                    .iter()
                    .all(|(k, _)| GET_PARAMS.contains(&k.as_str())) =>
            {
                "GetObject"
            }
            Method::HEAD => "HeadObject",
            Method::DELETE if t.has("uploadId") => "AbortMultipartUpload",
            Method::DELETE if t.plain() => "DeleteObject",
            Method::POST if t.has("uploads") => "CreateMultipartUpload",
            Method::POST if t.has("uploadId") => "CompleteMultipartUpload",
            _ => "Unsupported",
        },
    };
    op.to_string()
}

/// Query parameters of ListObjects(V2), beyond which a GET on a bucket is a
/// sub-resource the sim does not simulate.
const LIST_PARAMS: &[&str] = &[
    "list-type",
    "prefix",
    "delimiter",
    "max-keys",
    "continuation-token",
    "start-after",
    "fetch-owner",
    "encoding-type",
    "marker",
    "x-id",
];

/// Query parameters GetObject accepts.
const GET_PARAMS: &[&str] = &[
    "x-id",
    "partNumber",
    "versionId",
    "response-content-type",
    "response-content-language",
    "response-expires",
    "response-cache-control",
    "response-content-disposition",
    "response-content-encoding",
    // Presigned URLs.
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Date",
    "X-Amz-Expires",
    "X-Amz-SignedHeaders",
    "X-Amz-Signature",
    "X-Amz-Security-Token",
];

// ---------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------

pub fn render_error(ctx: &Ctx, err: &AwsError) -> Response<Body> {
    let mut b = Response::builder()
        .status(err.status)
        .header("x-amz-request-id", ctx.request_id.as_str())
        .header("x-amz-id-2", ctx.request_id.as_str())
        .header("x-sim-error-code", err.code.as_str());
    if ctx.operation.starts_with("Head") {
        // HEAD responses carry no body; SDKs map the status.
        return b.body(wire::empty()).expect("valid response");
    }
    let mut body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{}</Code><Message>{}</Message>",
        wire::xml_escape(&err.code),
        wire::xml_escape(&err.message),
    );
    for (k, v) in &err.extra {
        let k = wire::xml_escape(k);
        body.push_str(&format!("<{k}>{}</{k}>", wire::xml_escape(v)));
    }
    body.push_str(&format!(
        "<RequestId>{0}</RequestId><HostId>{0}</HostId></Error>",
        ctx.request_id
    ));
    b = b.header("content-type", "application/xml");
    b.body(wire::full(body)).expect("valid response")
}

fn invalid_argument(msg: impl Into<String>) -> AwsError {
    AwsError::bad_request("InvalidArgument", msg)
}

fn invalid_request(msg: impl Into<String>) -> AwsError {
    AwsError::bad_request("InvalidRequest", msg)
}

fn not_implemented() -> AwsError {
    AwsError::new(
        StatusCode::NOT_IMPLEMENTED,
        "NotImplemented",
        "A header or query you provided implies functionality that is not implemented (by aws-sim)",
    )
}

fn validate_bucket_name(name: &str) -> Result<(), AwsError> {
    let invalid = || {
        AwsError::bad_request("InvalidBucketName", "The specified bucket is not valid.")
            .with_extra("BucketName", name)
    };
    let bytes = name.as_bytes();
    if !(3..=63).contains(&bytes.len())
        || !bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'.' || *b == b'-')
        || !bytes[0].is_ascii_alphanumeric()
        || !bytes[bytes.len() - 1].is_ascii_alphanumeric()
        || name.contains("..")
        || name.parse::<std::net::Ipv4Addr>().is_ok()
        || ["xn--", "sthree-", "amzn-s3-demo-"]
            .iter()
            .any(|p| name.starts_with(p))
        || ["-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"]
            .iter()
            .any(|s| name.ends_with(s))
    {
        return Err(invalid());
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Access
// ---------------------------------------------------------------------------

/// Who is calling, resolved from the SigV4 access key.
enum Caller {
    Anonymous,
    Account,
    Job(TempCredentials),
}

impl Caller {
    fn principal(&self) -> Principal<'_> {
        match self {
            Caller::Anonymous => Principal::Anonymous,
            Caller::Account => Principal::Account,
            Caller::Job(c) => Principal::Job(c),
        }
    }
}

fn header_str<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get(name).and_then(|v| v.to_str().ok())
}

/// A presigned URL is valid from `X-Amz-Date` for `X-Amz-Expires` seconds
/// (at most 7 days) of real time, like the signature itself.
fn check_presigned_expiry(uri: &http::Uri) -> Result<(), AwsError> {
    let q = uri.query().map(crate::auth::form_pairs).unwrap_or_default();
    let get = |n: &str| q.iter().find(|(k, _)| k == n).map(|(_, v)| v.as_str());
    let denied = |m: &str| AwsError::access_denied("AccessDenied", m.to_string());
    let date = get("X-Amz-Date")
        .and_then(crate::auth::parse_amz_date)
        .ok_or_else(|| {
            denied("X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"")
        })?;
    let expires = get("X-Amz-Expires")
        .and_then(|v| v.parse::<u64>().ok())
        .ok_or_else(|| denied("X-Amz-Expires must be a number of seconds"))?;
    if expires > 7 * 24 * 3600 {
        return Err(denied(
            "X-Amz-Expires must be less than a week (in seconds) that is 604800",
        ));
    }
    if SystemTime::now() > date + Duration::from_secs(expires) {
        return Err(denied("Request has expired"));
    }
    Ok(())
}

/// Resolves the caller; for job credentials verifies the session token and
/// the signature, and prepares chunk-signature verification of a signed
/// streaming body. Runs before the body is read.
fn authenticate<B>(
    sim: &Sim,
    ctx: &Ctx,
    req: &http::Request<B>,
) -> Result<(Caller, Option<chunked::ChunkSigner>), AwsError> {
    let Some(auth) = &ctx.auth else {
        return Ok((Caller::Anonymous, None));
    };
    if auth.presigned {
        check_presigned_expiry(req.uri())?;
    }
    let Some(creds) = sim.credentials.lookup(&auth.access_key_id) else {
        return Ok((Caller::Account, None));
    };
    let token = if auth.presigned {
        req.uri()
            .query()
            .map(crate::auth::form_pairs)
            .unwrap_or_default()
            .into_iter()
            .find(|(k, _)| k == "X-Amz-Security-Token")
            .map(|(_, v)| v)
    } else {
        header_str(req.headers(), "x-amz-security-token").map(str::to_string)
    };
    if token.as_deref() != Some(creds.session_token.as_str()) {
        return Err(AwsError::bad_request(
            "InvalidToken",
            "The provided token is malformed or otherwise invalid.",
        ));
    }
    crate::auth::verify_s3(
        auth,
        req.method(),
        req.uri(),
        req.headers(),
        &creds.secret_access_key,
        Some(&creds.session_token),
    )?;
    let signer = match header_str(req.headers(), "x-amz-content-sha256") {
        Some(s) if s.starts_with("STREAMING-AWS4-HMAC-SHA256-PAYLOAD") => {
            let date = header_str(req.headers(), "x-amz-date").unwrap_or_default();
            Some(
                chunked::ChunkSigner::new(
                    &creds.secret_access_key,
                    date,
                    &auth.date,
                    &auth.region,
                    &auth.service,
                    &auth.signature,
                )
                .ok_or_else(|| AwsError::access_denied("AccessDenied", "invalid x-amz-date"))?,
            )
        }
        _ => None,
    };
    Ok((Caller::Job(creds), signer))
}

// ---------------------------------------------------------------------------
// Handling
// ---------------------------------------------------------------------------

/// Everything a handler needs about the call.
struct Call<'a> {
    sim: &'a Arc<Sim>,
    ctx: &'a Ctx,
    target: Target,
    headers: HeaderMap,
    method: Method,
    signer: Option<chunked::ChunkSigner>,
    /// Who is calling (for access checks on a copy source).
    caller: Caller,
}

impl Call<'_> {
    fn bucket(&self) -> &str {
        self.target.bucket.as_deref().unwrap_or_default()
    }

    fn key(&self) -> &str {
        self.target.key.as_deref().unwrap_or_default()
    }

    fn header(&self, name: &str) -> Option<&str> {
        header_str(&self.headers, name)
    }

    fn store(&self) -> &Store {
        &self.sim.s3.store
    }

    fn now(&self) -> SystemTime {
        truncate_to_secs(self.sim.clock.now())
    }

    fn ok(&self) -> http::response::Builder {
        Response::builder()
            .status(StatusCode::OK)
            .header("x-amz-request-id", self.ctx.request_id.as_str())
            .header("x-amz-id-2", self.ctx.request_id.as_str())
            .header("server", "AmazonS3")
    }

    fn xml(&self, body: String) -> Result<Response<Body>, AwsError> {
        Ok(self
            .ok()
            .header("content-type", "application/xml")
            .body(wire::full(body))
            .expect("valid response"))
    }
}

pub async fn handle(sim: &Arc<Sim>, ctx: &Ctx, req: Request) -> Result<Response<Body>, AwsError> {
    let expect_continue = req
        .headers()
        .get(header::EXPECT)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"));
    let (parts, body) = req.into_parts();
    let mut body = Some(body);
    let result = handle_parts(sim, ctx, http::Request::from_parts(parts, ()), &mut body).await;
    // A refused upload whose body the client is already sending is read and
    // discarded, so the client sees the error rather than a reset connection.
    // (With `Expect: 100-continue` the client waits and sends nothing.)
    if result.is_err()
        && !expect_continue
        && let Some(b) = body.take()
    {
        drain(b).await;
    }
    result
}

/// Most bytes read and discarded from a refused request body.
const MAX_DRAIN: u64 = 1 << 30;

async fn drain(mut body: hyper::body::Incoming) {
    let mut n = 0u64;
    let read = async {
        while let Some(Ok(frame)) = body.frame().await {
            if let Some(d) = frame.data_ref() {
                n += d.len() as u64;
                if n > MAX_DRAIN {
                    break;
                }
            }
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(60), read).await;
}

fn take_body(body: &mut Option<hyper::body::Incoming>) -> hyper::body::Incoming {
    body.take()
        .expect("each handler takes the request body once")
}

async fn handle_parts(
    sim: &Arc<Sim>,
    ctx: &Ctx,
    req: http::Request<()>,
    body: &mut Option<hyper::body::Incoming>,
) -> Result<Response<Body>, AwsError> {
    let (caller, signer) = authenticate(sim, ctx, &req)?;
    let target = target(&req);
    if let Some(b) = &target.bucket {
        sim.credentials
            .check_bucket_access(&caller.principal(), b)?;
    } else {
        match &caller {
            Caller::Account => {}
            Caller::Job(c) if std::time::Instant::now() >= c.expires => {
                return Err(AwsError::bad_request(
                    "ExpiredToken",
                    "The provided token has expired.",
                ));
            }
            _ => return Err(AwsError::access_denied("AccessDenied", "Access Denied")),
        }
    }
    if let Some(k) = &target.key
        && k.len() > 1024
    {
        return Err(AwsError::bad_request(
            "KeyTooLongError",
            "Your key is too long",
        ));
    }
    let (parts, ()) = req.into_parts();
    let mut call = Call {
        sim,
        ctx,
        target,
        headers: parts.headers,
        method: parts.method,
        signer,
        caller,
    };
    check_parameters(&call)?;
    match ctx.operation.as_str() {
        "ListBuckets" => list_buckets(&call),
        "CreateBucket" => create_bucket(&call, body).await,
        "HeadBucket" => head_bucket(&call),
        "DeleteBucket" => {
            call.store().delete_bucket(call.bucket())?;
            no_content(&call)
        }
        "GetBucketLocation" => get_bucket_location(&call),
        "ListObjectsV2" => list_objects(&call, true),
        "ListObjects" => list_objects(&call, false),
        "ListMultipartUploads" => list_multipart_uploads(&call),
        "ListParts" => list_parts(&call),
        "PutObject" => put_object(&mut call, body).await,
        "CopyObject" => copy_object(&call),
        "UploadPartCopy" => upload_part_copy(&call).await,
        "GetObject" | "HeadObject" => get_object(&call).await,
        "DeleteObject" => delete_object(&call),
        "DeleteObjects" => delete_objects(&call, body).await,
        "CreateMultipartUpload" => create_multipart_upload(&call),
        "UploadPart" => upload_part(&mut call, body).await,
        "CompleteMultipartUpload" => complete_multipart_upload(&call, body).await,
        "AbortMultipartUpload" => {
            let id = call.target.get("uploadId").unwrap_or_default().to_string();
            call.store().upload(call.bucket(), call.key(), &id)?;
            call.store().remove_upload(&id);
            no_content(&call)
        }
        // POST on an object is only multipart: without a sub-resource, the
        // method does not apply to the resource.
        _ if call.method == Method::POST && call.target.key.is_some() && call.target.plain() => Err(AwsError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            "The specified method is not allowed against this resource: POST on an object needs ?uploads (CreateMultipartUpload) or ?uploadId (CompleteMultipartUpload).",
        )
        .with_extra("Method", "POST")
        .with_extra("ResourceType", "OBJECT")),
        _ => Err(not_implemented()),
    }
}

/// The headers and query parameters the model restricts to an enum, checked
/// before the operation runs: a value outside the enum is S3's error for
/// that header (`InvalidStorageClass`, `InvalidRequest` for checksum
/// headers, else `InvalidArgument` naming it). Object Lock settings, valid
/// or not, need a bucket with an Object Lock configuration, which the sim
/// never has.
fn check_parameters(call: &Call<'_>) -> Result<(), AwsError> {
    use crate::validate::{Location, model, refused};
    let op = call.ctx.operation.as_str();
    for p in model::parameters("s3", op) {
        let value = match p.location {
            Location::Header => call.header(p.name),
            Location::Query => call.target.get(p.name),
        };
        let Some(value) = value else { continue };
        // Headers the sim has always read without regard to case.
        let any_case = matches!(
            p.name,
            "x-amz-checksum-algorithm"
                | "x-amz-sdk-checksum-algorithm"
                | "x-amz-checksum-type"
                | "x-amz-metadata-directive"
        );
        let bad = if any_case {
            (!p.values.iter().any(|v| v.eq_ignore_ascii_case(value))).then_some(value)
        } else {
            refused(p, value)
        };
        let Some(bad) = bad else { continue };
        return Err(match p.name {
            "x-amz-storage-class" => AwsError::bad_request(
                "InvalidStorageClass",
                "The storage class you specified is not valid",
            )
            .with_extra("StorageClassRequested", bad),
            "x-amz-checksum-algorithm" | "x-amz-sdk-checksum-algorithm" | "x-amz-checksum-type" => {
                invalid_request(format!(
                    "Value for {} header is invalid: {bad}. Use one of {}.",
                    p.name,
                    p.values.join(", ")
                ))
            }
            "encoding-type" => invalid_argument("Invalid Encoding Method specified in Request")
                .with_extra("ArgumentName", p.name)
                .with_extra("ArgumentValue", bad),
            _ => invalid_argument(format!(
                "The value {bad} of {} is not valid: use one of {}.",
                p.name,
                p.values.join(", ")
            ))
            .with_extra("ArgumentName", p.name)
            .with_extra("ArgumentValue", bad),
        });
    }
    if matches!(op, "PutObject" | "CopyObject" | "CreateMultipartUpload") {
        for h in [
            "x-amz-object-lock-mode",
            "x-amz-object-lock-retain-until-date",
            "x-amz-object-lock-legal-hold",
        ] {
            if call.header(h).is_some() {
                return Err(invalid_request(
                    "Bucket is missing Object Lock Configuration: Object Lock headers need a bucket created with Object Lock enabled",
                ));
            }
        }
    }
    Ok(())
}

fn no_content(call: &Call<'_>) -> Result<Response<Body>, AwsError> {
    Ok(call
        .ok()
        .status(StatusCode::NO_CONTENT)
        .body(wire::empty())
        .expect("valid response"))
}

// ---- buckets ----

fn list_buckets(call: &Call<'_>) -> Result<Response<Body>, AwsError> {
    let mut w = xml::Writer::new("ListAllMyBucketsResult");
    w.start("Owner")
        .elem("ID", OWNER_ID)
        .elem("DisplayName", "aws-sim")
        .end();
    w.start("Buckets");
    for (name, created, region) in call.store().list_buckets() {
        w.start("Bucket")
            .elem("Name", name)
            .elem("CreationDate", crate::clock::iso8601(created))
            .elem("BucketRegion", region.as_deref().unwrap_or("us-east-1"))
            .end();
    }
    w.end();
    call.xml(w.finish())
}

async fn create_bucket(
    call: &Call<'_>,
    body: &mut Option<hyper::body::Incoming>,
) -> Result<Response<Body>, AwsError> {
    let bucket = call.bucket().to_string();
    validate_bucket_name(&bucket)?;
    let body = wire::read_body(take_body(body), 64 * 1024).await?;
    let constraint = if body.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        let root = xml::parse(&body)?;
        if root.name != "CreateBucketConfiguration" {
            return Err(xml::parse(b"").unwrap_err());
        }
        check_bucket_configuration(&root)?;
        root.text_of("LocationConstraint")
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    let region = call.ctx.region.as_str();
    if region == "us-east-1" {
        if constraint.as_deref() == Some("us-east-1") {
            return Err(AwsError::bad_request(
                "InvalidLocationConstraint",
                "The specified location-constraint is not valid",
            )
            .with_extra("LocationConstraint", "us-east-1"));
        }
    } else {
        match constraint.as_deref() {
            None => {
                return Err(AwsError::bad_request(
                    "IllegalLocationConstraintException",
                    "The unspecified location constraint is incompatible for the region specific endpoint this request was sent to.",
                ));
            }
            Some(c) if c != region => {
                return Err(AwsError::bad_request(
                    "IllegalLocationConstraintException",
                    format!(
                        "The {c} location constraint is incompatible for the region specific endpoint this request was sent to."
                    ),
                ));
            }
            _ => {}
        }
    }
    let bucket_region = constraint.unwrap_or_else(|| "us-east-1".to_string());
    if let Err(existing) =
        call.store()
            .create_bucket(&bucket, Some(bucket_region.clone()), call.now())
    {
        let existing = existing.unwrap_or_else(|| bucket_region.clone());
        // AWS keeps the legacy answer (200) for us-east-1.
        if !(existing == "us-east-1" && region == "us-east-1") {
            return Err(AwsError::new(
                StatusCode::CONFLICT,
                "BucketAlreadyOwnedByYou",
                "Your previous request to create the named bucket succeeded and you already own it.",
            )
            .with_extra("BucketName", bucket));
        }
    }
    Ok(call
        .ok()
        .header("location", format!("/{bucket}"))
        .body(wire::empty())
        .expect("valid response"))
}

/// CreateBucketConfiguration's members the model restricts: a location
/// constraint outside `BucketLocationConstraint` is `InvalidLocationConstraint`;
/// an enum value outside the model in `Location`/`Bucket` does not validate
/// against the schema (`MalformedXML`); valid ones ask for a directory
/// bucket, which the sim does not simulate (501).
fn check_bucket_configuration(root: &xml::Element) -> Result<(), AwsError> {
    use crate::validate::model::{
        S3_BUCKET_LOCATION_CONSTRAINT, S3_BUCKET_TYPE, S3_DATA_REDUNDANCY, S3_LOCATION_TYPE,
    };
    if let Some(c) = root.text_of("LocationConstraint").filter(|c| !c.is_empty())
        && !S3_BUCKET_LOCATION_CONSTRAINT.contains(&c)
    {
        return Err(AwsError::bad_request(
            "InvalidLocationConstraint",
            "The specified location-constraint is not valid",
        )
        .with_extra("LocationConstraint", c));
    }
    for (parent, member, values) in [
        ("Location", "Type", S3_LOCATION_TYPE),
        ("Bucket", "Type", S3_BUCKET_TYPE),
        ("Bucket", "DataRedundancy", S3_DATA_REDUNDANCY),
    ] {
        if let Some(v) = root.child(parent).and_then(|p| p.text_of(member))
            && !values.contains(&v)
        {
            return Err(xml::parse(b"").unwrap_err());
        }
    }
    if root.child("Location").is_some() || root.child("Bucket").is_some() {
        return Err(AwsError::new(
            StatusCode::NOT_IMPLEMENTED,
            "NotImplemented",
            "A header or element you provided implies functionality that is not implemented: CreateBucketConfiguration's Location and Bucket describe a directory bucket, which aws-sim does not simulate",
        ));
    }
    Ok(())
}

fn head_bucket(call: &Call<'_>) -> Result<Response<Body>, AwsError> {
    let region = call.store().bucket_region(call.bucket())?;
    Ok(call
        .ok()
        .header(
            "x-amz-bucket-region",
            region.as_deref().unwrap_or(call.ctx.region.as_str()),
        )
        .body(wire::empty())
        .expect("valid response"))
}

fn get_bucket_location(call: &Call<'_>) -> Result<Response<Body>, AwsError> {
    let region = call.store().bucket_region(call.bucket())?;
    let region = region.filter(|r| r != "us-east-1").unwrap_or_default();
    call.xml(format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<LocationConstraint xmlns=\"{}\">{}</LocationConstraint>",
        xml::NS,
        wire::xml_escape(&region)
    ))
}

// ---- listing ----

/// Percent-encodes for `encoding-type=url` (everything but unreserved and `/`).
fn url_encode(s: &str) -> String {
    const SET: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'~')
        .remove(b'/');
    percent_encoding::utf8_percent_encode(s, SET).to_string()
}

fn continuation_token(last: &str) -> String {
    checksum::base64(format!("aws-sim:{last}").as_bytes())
}

fn parse_continuation_token(t: &str) -> Result<String, AwsError> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(t)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| s.strip_prefix("aws-sim:").map(str::to_string))
        .ok_or_else(|| {
            invalid_argument("The continuation token provided is incorrect")
                .with_extra("ArgumentName", "continuation-token")
        })
}

fn list_objects(call: &Call<'_>, v2: bool) -> Result<Response<Body>, AwsError> {
    let t = &call.target;
    let prefix = t.get("prefix").unwrap_or_default();
    let delimiter = t.get("delimiter").unwrap_or_default();
    let max_keys = match t.get("max-keys") {
        None => 1000,
        Some(s) => s
            .parse::<i64>()
            .ok()
            .filter(|n| *n >= 0 && *n <= i32::MAX as i64)
            .ok_or_else(|| {
                invalid_argument("Provided max-keys not an integer or within integer range")
                    .with_extra("ArgumentName", "max-keys")
                    .with_extra("ArgumentValue", s)
            })?
            .min(1000) as usize,
    };
    let url = encoding_type(call)?;
    let enc = |s: &str| if url { url_encode(s) } else { s.to_string() };
    let token = t.get("continuation-token");
    let after = if v2 {
        match token {
            Some(tok) => parse_continuation_token(tok)?,
            None => t.get("start-after").unwrap_or_default().to_string(),
        }
    } else {
        t.get("marker").unwrap_or_default().to_string()
    };

    // Walk keys in order after `after`, folding those with a delimiter past
    // the prefix into common prefixes; each key or prefix counts once.
    let mut contents: Vec<(String, Object)> = Vec::new();
    let mut prefixes: Vec<String> = Vec::new();
    let mut truncated = false;
    let mut last = String::new();
    call.store().with_bucket(call.bucket(), |objects| {
        use std::ops::Bound;
        let start = if after.as_str() < prefix {
            Bound::Included(prefix.to_string())
        } else {
            Bound::Excluded(after.clone())
        };
        for (key, o) in objects.range::<String, _>((start, Bound::Unbounded)) {
            if !key.starts_with(prefix) {
                break;
            }
            let cp = if delimiter.is_empty() {
                None
            } else {
                key[prefix.len()..]
                    .find(delimiter)
                    .map(|i| key[..prefix.len() + i + delimiter.len()].to_string())
            };
            if let Some(cp) = &cp
                && (prefixes.last() == Some(cp) || after.starts_with(cp.as_str()))
            {
                continue;
            }
            if contents.len() + prefixes.len() >= max_keys {
                truncated = max_keys > 0;
                break;
            }
            match cp {
                Some(cp) => {
                    // Resuming after a prefix skips all its keys: resume at
                    // the prefix's last possible key.
                    last = format!("{cp}\u{10FFFF}");
                    prefixes.push(cp);
                }
                None => {
                    last = key.clone();
                    contents.push((key.clone(), o.clone()));
                }
            }
        }
    })?;

    let mut w = xml::Writer::new("ListBucketResult");
    w.elem("Name", call.bucket()).elem("Prefix", enc(prefix));
    if v2 {
        w.opt("ContinuationToken", token)
            .opt("StartAfter", t.get("start-after").map(enc));
        if truncated {
            w.elem("NextContinuationToken", continuation_token(&last));
        }
        w.elem("KeyCount", (contents.len() + prefixes.len()).to_string());
    } else {
        w.elem("Marker", enc(&after));
        if truncated && !delimiter.is_empty() {
            let next = last.trim_end_matches('\u{10FFFF}');
            w.elem("NextMarker", enc(next));
        }
    }
    w.elem("MaxKeys", max_keys.to_string());
    if !delimiter.is_empty() {
        w.elem("Delimiter", enc(delimiter));
    }
    if url {
        w.elem("EncodingType", "url");
    }
    w.elem("IsTruncated", truncated.to_string());
    let owner = !v2 || t.get("fetch-owner") == Some("true");
    for (key, o) in &contents {
        w.start("Contents")
            .elem("Key", enc(key))
            .elem("LastModified", crate::clock::iso8601(o.last_modified))
            .elem("ETag", &o.etag);
        if let Some(c) = &o.checksum {
            w.elem("ChecksumAlgorithm", c.algorithm.name())
                .elem("ChecksumType", c.kind);
        }
        w.elem("Size", o.size.to_string())
            .elem("StorageClass", "STANDARD");
        if owner {
            w.start("Owner")
                .elem("ID", OWNER_ID)
                .elem("DisplayName", "aws-sim")
                .end();
        }
        w.end();
    }
    for p in &prefixes {
        w.start("CommonPrefixes").elem("Prefix", enc(p)).end();
    }
    call.xml(w.finish())
}

fn list_multipart_uploads(call: &Call<'_>) -> Result<Response<Body>, AwsError> {
    if !call.store().bucket_exists(call.bucket()) {
        return Err(store::no_such_bucket(call.bucket()));
    }
    let t = &call.target;
    let prefix = t.get("prefix").unwrap_or_default();
    let delimiter = t.get("delimiter").unwrap_or_default();
    let key_marker = t.get("key-marker").unwrap_or_default();
    let id_marker = t.get("upload-id-marker").filter(|_| !key_marker.is_empty());
    let max = match t.get("max-uploads") {
        None => 1000,
        Some(s) => s
            .parse::<i64>()
            .ok()
            .filter(|n| (0..=i64::from(i32::MAX)).contains(n))
            .ok_or_else(|| {
                invalid_argument("Provided max-uploads not an integer or within integer range")
                    .with_extra("ArgumentName", "max-uploads")
                    .with_extra("ArgumentValue", s)
            })?
            .min(1000) as usize,
    };
    let url = encoding_type(call)?;
    let enc = |s: &str| if url { url_encode(s) } else { s.to_string() };
    // Past the markers: keys after key-marker, and uploads of key-marker
    // itself listed after upload-id-marker.
    let all = call.store().list_uploads(call.bucket());
    let start = match id_marker {
        Some(id) => all
            .iter()
            .position(|(i, u)| u.key == key_marker && i == id)
            .map_or_else(
                || all.partition_point(|(_, u)| u.key.as_str() <= key_marker),
                |p| p + 1,
            ),
        None => all.partition_point(|(_, u)| u.key.as_str() <= key_marker),
    };
    let mut uploads: Vec<&(String, Upload)> = Vec::new();
    let mut prefixes: Vec<String> = Vec::new();
    let mut truncated = false;
    let mut next: Option<(String, String)> = None;
    for entry in &all[start..] {
        let (id, u) = entry;
        if !u.key.starts_with(prefix) {
            continue;
        }
        let cp = (!delimiter.is_empty())
            .then(|| {
                u.key[prefix.len()..]
                    .find(delimiter)
                    .map(|i| u.key[..prefix.len() + i + delimiter.len()].to_string())
            })
            .flatten();
        if let Some(cp) = &cp
            && prefixes.last() == Some(cp)
        {
            continue;
        }
        if uploads.len() + prefixes.len() >= max {
            truncated = true;
            break;
        }
        next = Some((u.key.clone(), id.clone()));
        match cp {
            Some(cp) => prefixes.push(cp),
            None => uploads.push(entry),
        }
    }
    let mut w = xml::Writer::new("ListMultipartUploadsResult");
    w.elem("Bucket", call.bucket())
        .elem("KeyMarker", enc(key_marker))
        .elem("UploadIdMarker", id_marker.unwrap_or_default());
    if truncated && let Some((k, id)) = &next {
        w.elem("NextKeyMarker", enc(k))
            .elem("NextUploadIdMarker", id);
    }
    if !delimiter.is_empty() {
        w.elem("Delimiter", enc(delimiter));
    }
    w.elem("Prefix", enc(prefix))
        .elem("MaxUploads", max.to_string())
        .elem("IsTruncated", truncated.to_string());
    for (id, u) in uploads {
        w.start("Upload")
            .elem("Key", enc(&u.key))
            .elem("UploadId", id)
            .elem("StorageClass", "STANDARD");
        for who in ["Owner", "Initiator"] {
            w.start(who)
                .elem("ID", OWNER_ID)
                .elem("DisplayName", "aws-sim")
                .end();
        }
        w.elem("Initiated", crate::clock::iso8601(u.initiated));
        if let Some((a, kind)) = u.checksum {
            w.elem("ChecksumAlgorithm", a.name())
                .elem("ChecksumType", kind);
        }
        w.end();
    }
    for p in &prefixes {
        w.start("CommonPrefixes").elem("Prefix", enc(p)).end();
    }
    if url {
        w.elem("EncodingType", "url");
    }
    call.xml(w.finish())
}

/// `encoding-type`: absent, or `url` (the only value S3 knows).
fn encoding_type(call: &Call<'_>) -> Result<bool, AwsError> {
    match call.target.get("encoding-type") {
        None => Ok(false),
        Some("url") => Ok(true),
        Some(other) => Err(
            invalid_argument("Invalid Encoding Method specified in Request")
                .with_extra("ArgumentName", "encoding-type")
                .with_extra("ArgumentValue", other),
        ),
    }
}

fn list_parts(call: &Call<'_>) -> Result<Response<Body>, AwsError> {
    let id = call.target.get("uploadId").unwrap_or_default().to_string();
    let upload = call.store().upload(call.bucket(), call.key(), &id)?;
    let number = |name: &str, default: u32| -> Result<u32, AwsError> {
        match call.target.get(name) {
            None => Ok(default),
            Some(v) => v.parse::<u32>().map_err(|_| {
                invalid_argument(format!(
                    "Provided {name} not an integer or within integer range"
                ))
                .with_extra("ArgumentName", name)
                .with_extra("ArgumentValue", v)
            }),
        }
    };
    let max_parts = number("max-parts", 1000)?.min(1000);
    let marker = number("part-number-marker", 0)?;
    let parts: Vec<(&u32, &Part)> = upload
        .parts
        .range(marker.saturating_add(1)..)
        .take(max_parts as usize + 1)
        .collect();
    let truncated = parts.len() > max_parts as usize;
    let parts = &parts[..parts.len().min(max_parts as usize)];
    let mut w = xml::Writer::new("ListPartsResult");
    w.elem("Bucket", call.bucket())
        .elem("Key", call.key())
        .elem("UploadId", &id)
        .elem("PartNumberMarker", marker.to_string())
        .elem(
            "NextPartNumberMarker",
            parts.last().map_or(0, |(n, _)| **n).to_string(),
        )
        .elem("MaxParts", max_parts.to_string())
        .elem("IsTruncated", truncated.to_string());
    for (n, p) in parts {
        w.start("Part")
            .elem("PartNumber", n.to_string())
            .elem("LastModified", crate::clock::iso8601(p.last_modified))
            .elem("ETag", &p.etag)
            .elem("Size", p.size.to_string());
        if let Some(c) = &p.checksum {
            w.elem(c.algorithm.xml_tag(), &c.value);
        }
        w.end();
    }
    for who in ["Initiator", "Owner"] {
        w.start(who)
            .elem("ID", OWNER_ID)
            .elem("DisplayName", "aws-sim")
            .end();
    }
    w.elem("StorageClass", "STANDARD");
    if let Some((a, k)) = upload.checksum {
        w.elem("ChecksumAlgorithm", a.name())
            .elem("ChecksumType", k);
    }
    call.xml(w.finish())
}

// ---- request bodies ----

/// Object metadata and SSE from request headers.
fn meta_from_headers(call: &Call<'_>) -> Result<ObjectMeta, AwsError> {
    let h = |n: &str| call.header(n).map(str::to_string);
    let content_encoding = h("content-encoding").and_then(|v| {
        let rest: Vec<&str> = v
            .split(',')
            .map(str::trim)
            .filter(|e| !e.is_empty() && !e.eq_ignore_ascii_case("aws-chunked"))
            .collect();
        (!rest.is_empty()).then(|| rest.join(","))
    });
    let mut user = Vec::new();
    let mut meta_size = 0;
    for (name, value) in &call.headers {
        if let Some(n) = name.as_str().strip_prefix("x-amz-meta-") {
            let v = String::from_utf8_lossy(value.as_bytes()).into_owned();
            meta_size += n.len() + v.len();
            user.push((n.to_string(), v));
        }
    }
    if meta_size > 2048 {
        return Err(AwsError::bad_request(
            "MetadataTooLarge",
            "Your metadata headers exceed the maximum allowed metadata size.",
        ));
    }
    user.sort();
    let sse = match call.header("x-amz-server-side-encryption") {
        None => {
            if call
                .header("x-amz-server-side-encryption-aws-kms-key-id")
                .is_some()
            {
                return Err(invalid_argument(
                    "Server Side Encryption with AWS KMS managed key requires HTTP header x-amz-server-side-encryption : aws:kms",
                ));
            }
            None
        }
        Some(alg @ ("AES256" | "aws:kms" | "aws:kms:dsse")) => {
            let key = call
                .header("x-amz-server-side-encryption-aws-kms-key-id")
                .map(str::to_string);
            if alg == "AES256" && key.is_some() {
                return Err(invalid_argument(
                    "Server Side Encryption with AWS KMS managed key requires HTTP header x-amz-server-side-encryption : aws:kms",
                ));
            }
            let key = if alg == "AES256" {
                None
            } else {
                Some(key.unwrap_or_else(|| {
                    format!("arn:aws:kms:{}:000000000000:alias/aws/s3", call.ctx.region)
                }))
            };
            Some(Sse {
                algorithm: alg.to_string(),
                kms_key_id: key,
                bucket_key_enabled: call
                    .header("x-amz-server-side-encryption-bucket-key-enabled")
                    .is_some_and(|v| v.eq_ignore_ascii_case("true")),
            })
        }
        Some(other) => {
            return Err(invalid_argument(format!(
                "The encryption method specified is not supported: {other}"
            )));
        }
    };
    Ok(ObjectMeta {
        content_type: h("content-type"),
        content_encoding,
        content_disposition: h("content-disposition"),
        content_language: h("content-language"),
        cache_control: h("cache-control"),
        expires: h("expires"),
        user,
        sse,
    })
}

/// A request body received into a temporary file.
struct Received {
    tmp: store::TempFile,
    size: u64,
    md5: [u8; 16],
    /// Every checksum computed, base64.
    computed: Vec<(Algorithm, String)>,
    /// The algorithm the client sent (or asked for) a checksum of.
    declared: Option<Algorithm>,
    aws_chunked: bool,
}

impl Received {
    fn checksum(&self, alg: Algorithm) -> Option<Checksum> {
        self.computed
            .iter()
            .find(|(a, _)| *a == alg)
            .map(|(a, v)| Checksum {
                algorithm: *a,
                value: v.clone(),
                kind: "FULL_OBJECT",
            })
    }
}

/// The blocking side of [`receive`]: aws-chunked decoding, digests, file.
struct Sink {
    decoder: Option<chunked::Decoder>,
    hashers: Vec<(Algorithm, checksum::Hasher)>,
    md5: md5::Md5,
    sha: Option<sha2::Sha256>,
    file: std::io::BufWriter<std::fs::File>,
    size: u64,
    /// Decoded bytes allowed.
    limit: u64,
}

/// What a [`Sink`] saw once the body ended.
struct Sunk {
    size: u64,
    md5: [u8; 16],
    computed: Vec<(Algorithm, String)>,
    /// Hex SHA-256 when asked for.
    sha: Option<String>,
    /// aws-chunked trailers.
    trailers: Option<Vec<(String, String)>>,
}

impl Sink {
    fn push(&mut self, data: &[u8], scratch: &mut Vec<u8>) -> Result<(), AwsError> {
        use std::io::Write;
        let chunk: &[u8] = match &mut self.decoder {
            Some(d) => {
                scratch.clear();
                d.feed(data, scratch)?;
                scratch
            }
            None => data,
        };
        if chunk.is_empty() {
            return Ok(());
        }
        self.size += chunk.len() as u64;
        if self.size > self.limit {
            return Err(AwsError::bad_request(
                "IncompleteBody",
                "The request body is longer than the declared content length.",
            ));
        }
        self.md5.update(chunk);
        for (_, h) in &mut self.hashers {
            h.update(chunk);
        }
        if let Some(s) = &mut self.sha {
            sha2::Digest::update(s, chunk);
        }
        self.file
            .write_all(chunk)
            .map_err(|e| AwsError::internal(format!("aws-sim storage error: {e}")))
    }

    fn finish(mut self) -> Result<Sunk, AwsError> {
        use std::io::Write;
        self.file
            .flush()
            .map_err(|e| AwsError::internal(format!("aws-sim storage error: {e}")))?;
        let trailers = self.decoder.map(chunked::Decoder::finish).transpose()?;
        Ok(Sunk {
            size: self.size,
            md5: self.md5.finalize().into(),
            computed: self
                .hashers
                .into_iter()
                .map(|(a, h)| (a, h.finish_base64()))
                .collect(),
            sha: self.sha.map(|s| hex::encode(sha2::Digest::finalize(s))),
            trailers,
        })
    }
}

fn bad_digest(what: &str) -> AwsError {
    AwsError::bad_request(
        "BadDigest",
        format!("The {what} you specified did not match the calculated checksum."),
    )
}

/// Streams a PutObject/UploadPart body to a temporary file, decoding
/// aws-chunked and verifying every digest the client sent. `also` is an
/// algorithm to compute whether or not the client sent it (a multipart
/// upload's). Nothing is kept on any error.
async fn receive(
    call: &mut Call<'_>,
    body: &mut Option<hyper::body::Incoming>,
    also: Option<Algorithm>,
) -> Result<Received, AwsError> {
    let content_sha = call
        .header("x-amz-content-sha256")
        .unwrap_or("")
        .to_string();
    let aws_chunked = content_sha.starts_with("STREAMING-")
        || call.header("content-encoding").is_some_and(|v| {
            v.split(',')
                .any(|e| e.trim().eq_ignore_ascii_case("aws-chunked"))
        });

    // What the client declares: header checksums (with values), a trailer
    // (value comes later), or just an algorithm for S3 to compute.
    let mut expected: Vec<(Algorithm, Option<String>)> = Vec::new();
    for a in Algorithm::ALL {
        if let Some(v) = call.header(a.header()) {
            if checksum::decode(a, v).is_none() {
                return Err(invalid_request(format!(
                    "Value for {} header is invalid.",
                    a.header()
                )));
            }
            expected.push((a, Some(v.trim().to_string())));
        }
    }
    if expected.len() > 1 {
        return Err(invalid_request(
            "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.",
        ));
    }
    let trailer = match call.header("x-amz-trailer") {
        Some(name) if aws_chunked => {
            let a = Algorithm::from_header(name).ok_or_else(|| {
                invalid_request(format!(
                    "The value specified in the x-amz-trailer header is not supported: {name}"
                ))
            })?;
            if !expected.is_empty() {
                return Err(invalid_request(
                    "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.",
                ));
            }
            expected.push((a, None));
            Some(a)
        }
        _ => None,
    };
    if expected.is_empty()
        && let Some(name) = call.header("x-amz-sdk-checksum-algorithm")
    {
        let a = Algorithm::from_name(name).ok_or_else(|| {
            invalid_request(
                "Checksum algorithm provided is unsupported. Please try again with any of the valid types: [CRC32, CRC32C, CRC64NVME, SHA1, SHA256]",
            )
            .with_extra("ArgumentValue", name)
        })?;
        expected.push((a, None));
    }
    let declared = expected.first().map(|(a, _)| *a);
    let content_md5 = match call.header("content-md5") {
        None => None,
        Some(v) => Some(checksum::decode_md5(v).ok_or_else(|| {
            AwsError::bad_request(
                "InvalidDigest",
                "The Content-MD5 you specified was not valid.",
            )
        })?),
    };
    let payload_sha = (!aws_chunked
        && content_sha.len() == 64
        && content_sha.bytes().all(|b| b.is_ascii_hexdigit()))
    .then(|| content_sha.to_ascii_lowercase());

    let length = if aws_chunked {
        let v = call.header("x-amz-decoded-content-length").ok_or_else(|| {
            AwsError::new(
                StatusCode::LENGTH_REQUIRED,
                "MissingContentLength",
                "You must provide the Content-Length HTTP header.",
            )
        })?;
        Some(
            v.trim()
                .parse::<u64>()
                .map_err(|_| invalid_argument("x-amz-decoded-content-length is not a number"))?,
        )
    } else {
        call.header("content-length")
            .and_then(|v| v.parse::<u64>().ok())
    };
    if length.is_some_and(|l| l > MAX_PUT) {
        return Err(AwsError::bad_request(
            "EntityTooLarge",
            "Your proposed upload exceeds the maximum allowed object size.",
        )
        .with_extra("MaxSizeAllowed", MAX_PUT.to_string()));
    }

    let mut algs: Vec<Algorithm> = expected.iter().map(|(a, _)| *a).collect();
    if let Some(a) = also
        && !algs.contains(&a)
    {
        algs.push(a);
    }
    let tmp = call.store().temp_file();
    let file = std::fs::File::create(tmp.path())
        .map_err(|e| AwsError::internal(format!("aws-sim storage error: {e}")))?;
    let sink = Sink {
        decoder: aws_chunked.then(|| chunked::Decoder::new(call.signer.take())),
        hashers: algs.iter().map(|a| (*a, a.hasher())).collect(),
        md5: checksum::md5(),
        sha: payload_sha
            .as_ref()
            .map(|_| <sha2::Sha256 as sha2::Digest>::new()),
        file: std::io::BufWriter::with_capacity(512 * 1024, file),
        size: 0,
        limit: length.unwrap_or(MAX_PUT),
    };
    // Decoding, hashing and writing run on a blocking thread, fed frames
    // through a small bounded channel: the network keeps flowing while a
    // core hashes, and at most a few frames are in memory.
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Bytes>(8);
    let worker = tokio::task::spawn_blocking(move || {
        let mut sink = sink;
        let mut scratch = Vec::new();
        while let Some(data) = rx.blocking_recv() {
            sink.push(&data, &mut scratch)?;
        }
        sink.finish()
    });
    let mut body = take_body(body);
    let mut read_error = None;
    while let Some(frame) = body.frame().await {
        match frame {
            Err(e) => {
                read_error = Some(AwsError::bad_request(
                    "IncompleteBody",
                    format!("could not read request body: {e}"),
                ));
                break;
            }
            Ok(frame) => {
                if let Ok(data) = frame.into_data()
                    && tx.send(data).await.is_err()
                {
                    // The sink failed (bad chunk signature, malformed
                    // encoding…): read the rest so the client gets the error.
                    drain(body).await;
                    break;
                }
            }
        }
    }
    drop(tx);
    let sunk = worker
        .await
        .map_err(|e| AwsError::internal(format!("aws-sim body task failed: {e}")));
    if let Some(e) = read_error {
        return Err(e);
    }
    let Sunk {
        size,
        md5,
        computed,
        sha,
        trailers,
    } = sunk??;

    if let Some(trailers) = trailers {
        for (name, value) in trailers {
            let Some(a) = Algorithm::from_header(&name) else {
                continue;
            };
            match expected.iter_mut().find(|(e, _)| *e == a) {
                Some(slot) if trailer == Some(a) => slot.1 = Some(value),
                _ => {
                    return Err(AwsError::bad_request(
                        "MalformedTrailerError",
                        format!("The trailer {name} was not declared in x-amz-trailer."),
                    ));
                }
            }
        }
        if let Some(a) = trailer
            && expected.iter().any(|(e, v)| *e == a && v.is_none())
        {
            return Err(AwsError::bad_request(
                "MalformedTrailerError",
                "The request contained trailing data that was not well-formed or did not conform to our published schema.",
            ));
        }
    }
    if length.is_some_and(|l| l != size) {
        return Err(AwsError::bad_request(
            "IncompleteBody",
            "You did not provide the number of bytes specified by the Content-Length HTTP header.",
        ));
    }
    if content_md5.is_some_and(|m| m != md5) {
        return Err(AwsError::bad_request(
            "BadDigest",
            "The Content-MD5 you specified did not match what we received.",
        ));
    }
    if let (Some(expected), Some(got)) = (payload_sha, sha)
        && got != expected
    {
        return Err(AwsError::bad_request(
            "XAmzContentSHA256Mismatch",
            "The provided 'x-amz-content-sha256' header does not match what was computed.",
        )
        .with_extra("ClientComputedContentSHA256", expected)
        .with_extra("S3ComputedContentSHA256", got));
    }
    for (a, value) in &expected {
        if let Some(v) = value {
            let got = computed.iter().find(|(c, _)| c == a).map(|(_, v)| v);
            if got != Some(v) {
                return Err(bad_digest(a.name()));
            }
        }
    }
    Ok(Received {
        tmp,
        size,
        md5,
        computed,
        declared,
        aws_chunked,
    })
}

// ---- objects ----

fn sse_headers(mut b: http::response::Builder, sse: Option<&Sse>) -> http::response::Builder {
    if let Some(s) = sse {
        b = b.header("x-amz-server-side-encryption", s.algorithm.as_str());
        if let Some(k) = &s.kms_key_id {
            b = b.header("x-amz-server-side-encryption-aws-kms-key-id", k.as_str());
        }
        if s.bucket_key_enabled {
            b = b.header("x-amz-server-side-encryption-bucket-key-enabled", "true");
        }
    }
    b
}

fn checksum_headers(
    mut b: http::response::Builder,
    c: Option<&Checksum>,
) -> http::response::Builder {
    if let Some(c) = c {
        b = b
            .header(c.algorithm.header(), c.value.as_str())
            .header("x-amz-checksum-type", c.kind);
    }
    b
}

async fn put_object(
    call: &mut Call<'_>,
    body: &mut Option<hyper::body::Incoming>,
) -> Result<Response<Body>, AwsError> {
    if !call.store().bucket_exists(call.bucket()) {
        return Err(store::no_such_bucket(call.bucket()));
    }
    let meta = meta_from_headers(call)?;
    // Conditional writes: checked before the body is read, pinned, and
    // committed only if the key is still as pinned (`conditions.rs`).
    let pinned = check_write_conditions(call)?;
    let r = receive(call, body, None).await?;
    let checksum = r.declared.and_then(|a| r.checksum(a));
    let object = Object {
        path: call.store().persist(r.tmp)?,
        etag: quoted_md5(&r.md5),
        size: r.size,
        meta,
        checksum,
        last_modified: call.now(),
        parts_count: None,
        aws_chunked: r.aws_chunked,
        generation: 0,
    };
    let mut b = call.ok().header("etag", object.etag.as_str());
    b = sse_headers(b, object.meta.sse.as_ref());
    b = checksum_headers(b, object.checksum.as_ref());
    call.store()
        .insert_object_if(call.bucket(), call.key(), object, |current| {
            conditions::still_as_pinned(pinned, call.key(), current)
        })?;
    Ok(b.body(wire::empty()).expect("valid response"))
}

/// The `If-Match` / `If-None-Match` of a write (PutObject, CopyObject,
/// CompleteMultipartUpload) checked against the destination key as it is
/// now: `None` for an unconditional write, else what was pinned.
fn check_write_conditions(call: &Call<'_>) -> Result<Option<conditions::Pinned>, AwsError> {
    let Some(c) = conditions::WriteConditions::from_headers(
        call.header("if-match"),
        call.header("if-none-match"),
    )?
    else {
        return Ok(None);
    };
    let current = call.store().object_if_any(call.bucket(), call.key())?;
    c.check(call.key(), current.as_ref()).map(Some)
}

/// `Range: bytes=…` → `Some((start, end_inclusive))`; `Ok(None)` for no or
/// ignorable (syntactically unsupported) ranges, as S3 ignores those.
fn parse_range(h: Option<&str>, size: u64) -> Result<Option<(u64, u64)>, AwsError> {
    let Some(spec) = h.and_then(|h| h.trim().strip_prefix("bytes=")) else {
        return Ok(None);
    };
    if spec.contains(',') {
        return Ok(None);
    }
    let Some((a, b)) = spec.split_once('-') else {
        return Ok(None);
    };
    let (a, b) = (a.trim(), b.trim());
    let unsatisfiable = || {
        AwsError::new(
            StatusCode::RANGE_NOT_SATISFIABLE,
            "InvalidRange",
            "The requested range is not satisfiable",
        )
        .with_extra("RangeRequested", format!("bytes={spec}"))
        .with_extra("ActualObjectSize", size.to_string())
    };
    if a.is_empty() {
        let Ok(n) = b.parse::<u64>() else {
            return Ok(None);
        };
        if n == 0 || size == 0 {
            return Err(unsatisfiable());
        }
        return Ok(Some((size.saturating_sub(n), size - 1)));
    }
    let Ok(start) = a.parse::<u64>() else {
        return Ok(None);
    };
    let end = if b.is_empty() {
        u64::MAX
    } else {
        match b.parse::<u64>() {
            Ok(e) if e >= start => e,
            _ => return Ok(None),
        }
    };
    if start >= size {
        return Err(unsatisfiable());
    }
    Ok(Some((start, end.min(size - 1))))
}

async fn get_object(call: &Call<'_>) -> Result<Response<Body>, AwsError> {
    let head = call.method == Method::HEAD;
    let (o, file) = call.store().open_object(call.bucket(), call.key())?;
    if let Some(pn) = call.target.get("partNumber") {
        // Only the whole object as "part 1" of a single-part object.
        if pn != "1" || o.parts_count.is_some() {
            return Err(not_implemented());
        }
    }
    let modified = crate::clock::http_date(o.last_modified);
    let read = conditions::ReadConditions::from(|n| call.header(n), conditions::READ_HEADERS);
    if read.evaluate(&o, false)? == conditions::Read::NotModified {
        return Ok(call
            .ok()
            .status(StatusCode::NOT_MODIFIED)
            .header("etag", o.etag.as_str())
            .header("last-modified", modified)
            .body(wire::empty())
            .expect("valid response"));
    }
    let range = parse_range(call.header("range"), o.size)?;
    let (start, len) = match range {
        Some((s, e)) => (s, e - s + 1),
        None => (0, o.size),
    };
    // The `response-*` overrides become response headers verbatim: refuse
    // what no header can carry (control characters) instead of failing to
    // build the response.
    for name in GET_PARAMS.iter().filter(|n| n.starts_with("response-")) {
        if let Some(v) = call.target.get(name)
            && http::HeaderValue::from_str(v).is_err()
        {
            return Err(invalid_argument(format!(
                "Header value cannot be represented using ISO-8859-1: the value of {name} contains a character not allowed in an HTTP header"
            ))
            .with_extra("ArgumentName", *name));
        }
    }
    let q = |n: &str| call.target.get(n).map(str::to_string);
    let mut b = call
        .ok()
        .header("etag", o.etag.as_str())
        .header("last-modified", modified)
        .header("accept-ranges", "bytes")
        .header("content-length", len.to_string())
        .header(
            "content-type",
            q("response-content-type")
                .or(o.meta.content_type.clone())
                .unwrap_or_else(|| "binary/octet-stream".into()),
        );
    for (name, query, stored) in [
        (
            "content-encoding",
            "response-content-encoding",
            &o.meta.content_encoding,
        ),
        (
            "content-disposition",
            "response-content-disposition",
            &o.meta.content_disposition,
        ),
        (
            "content-language",
            "response-content-language",
            &o.meta.content_language,
        ),
        (
            "cache-control",
            "response-cache-control",
            &o.meta.cache_control,
        ),
        ("expires", "response-expires", &o.meta.expires),
    ] {
        if let Some(v) = q(query).or(stored.clone()) {
            b = b.header(name, v);
        }
    }
    for (k, v) in &o.meta.user {
        b = b.header(format!("x-amz-meta-{k}"), v.as_str());
    }
    b = sse_headers(b, o.meta.sse.as_ref());
    if let Some(n) = o.parts_count
        && call.target.has("partNumber")
    {
        b = b.header("x-amz-mp-parts-count", n.to_string());
    }
    let checksum_mode = call
        .header("x-amz-checksum-mode")
        .is_some_and(|v| v.eq_ignore_ascii_case("ENABLED"));
    if checksum_mode && range.is_none() {
        b = checksum_headers(b, o.checksum.as_ref());
    }
    if let Some((s, e)) = range {
        b = b
            .status(StatusCode::PARTIAL_CONTENT)
            .header("content-range", format!("bytes {s}-{e}/{}", o.size));
    }
    if head {
        return b
            .body(wire::empty())
            .map_err(|e| AwsError::internal(format!("aws-sim response error: {e}")));
    }
    let mut file = tokio::fs::File::from_std(file);
    if start > 0 {
        file.seek(std::io::SeekFrom::Start(start))
            .await
            .map_err(|e| AwsError::internal(format!("aws-sim storage error: {e}")))?;
    }
    let stream = tokio_util::io::ReaderStream::with_capacity(file.take(len), 256 * 1024);
    let body = http_body_util::StreamBody::new(futures_util::TryStreamExt::map_ok(
        stream,
        hyper::body::Frame::data,
    ));
    b.body(BodyExt::boxed_unsync(body))
        .map_err(|e| AwsError::internal(format!("aws-sim response error: {e}")))
}

fn copy_object(call: &Call<'_>) -> Result<Response<Body>, AwsError> {
    let (src_bucket, src_key) = copy_source(call)?;
    let (src_bucket, src_key) = (src_bucket.as_str(), src_key.as_str());
    // The caller needs access to the source bucket too.
    call.sim
        .credentials
        .check_bucket_access(&call.caller.principal(), src_bucket)?;
    let src = call.store().object(src_bucket, src_key)?;
    if !call.store().bucket_exists(call.bucket()) {
        return Err(store::no_such_bucket(call.bucket()));
    }
    let replace = match call.header("x-amz-metadata-directive") {
        None => false,
        Some(d) if d.eq_ignore_ascii_case("COPY") => false,
        Some(d) if d.eq_ignore_ascii_case("REPLACE") => true,
        Some(d) => {
            return Err(invalid_argument(format!(
                "Unknown metadata directive: {d}. Use COPY or REPLACE."
            ))
            .with_extra("ArgumentName", "x-amz-metadata-directive")
            .with_extra("ArgumentValue", d));
        }
    };
    let new_meta = meta_from_headers(call)?;
    if src_bucket == call.bucket() && src_key == call.key() && !replace && new_meta.sse.is_none() {
        return Err(invalid_request(
            "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.",
        ));
    }
    // The source's conditions, then the destination's (a conditional write).
    conditions::ReadConditions::from(|n| call.header(n), conditions::COPY_SOURCE_HEADERS)
        .evaluate(&src, true)?;
    let pinned = check_write_conditions(call)?;
    let meta = if replace {
        new_meta
    } else {
        ObjectMeta {
            sse: new_meta.sse,
            ..src.meta.clone()
        }
    };
    let object = Object {
        path: call.store().clone_file(&src.path)?,
        meta,
        last_modified: call.now(),
        ..src
    };
    let mut w = xml::Writer::new("CopyObjectResult");
    w.elem("ETag", &object.etag)
        .elem("LastModified", crate::clock::iso8601(object.last_modified));
    if let Some(c) = &object.checksum {
        w.elem(c.algorithm.xml_tag(), &c.value)
            .elem("ChecksumType", c.kind);
    }
    let b = sse_headers(call.ok(), object.meta.sse.as_ref());
    call.store()
        .insert_object_if(call.bucket(), call.key(), object, |current| {
            conditions::still_as_pinned(pinned, call.key(), current)
        })?;
    Ok(b.header("content-type", "application/xml")
        .body(wire::full(w.finish()))
        .expect("valid response"))
}

/// DeleteObject; `If-Match` (an ETag, or `*` for "any object") makes it a
/// conditional delete: 412 when the object's ETag differs, 404 `NoSuchKey`
/// when there is no object (consistent with conditional writes), checked and
/// applied atomically. The directory-bucket conditions
/// (`x-amz-if-match-last-modified-time`, `x-amz-if-match-size`) are refused.
fn delete_object(call: &Call<'_>) -> Result<Response<Body>, AwsError> {
    for header in ["x-amz-if-match-last-modified-time", "x-amz-if-match-size"] {
        if call.header(header).is_some() {
            return Err(directory_bucket_only(header));
        }
    }
    let if_match = call.header("if-match").map(str::to_string);
    call.store()
        .delete_object_if(call.bucket(), call.key(), |current| {
            match (&if_match, current) {
                (None, _) => Ok(()),
                (Some(_), None) => Err(store::no_such_key(call.key())),
                (Some(list), Some(o)) if conditions::etag_matches(list, &o.etag) => Ok(()),
                (Some(_), Some(_)) => Err(conditions::precondition_failed("If-Match")),
            }
        })?;
    no_content(call)
}

/// 501 for a feature S3 offers only on directory buckets.
fn directory_bucket_only(what: &str) -> AwsError {
    AwsError::new(
        StatusCode::NOT_IMPLEMENTED,
        "NotImplemented",
        format!(
            "A header you provided implies functionality that is not implemented: {what} is supported only for directory buckets, and this is a general purpose bucket"
        ),
    )
    .with_extra("Header", what)
}

async fn delete_objects(
    call: &Call<'_>,
    body: &mut Option<hyper::body::Incoming>,
) -> Result<Response<Body>, AwsError> {
    if !call.store().bucket_exists(call.bucket()) {
        return Err(store::no_such_bucket(call.bucket()));
    }
    let body = wire::read_body(take_body(body), 2 * 1024 * 1024).await?;
    let root = xml::parse(&body)?;
    let quiet = root.text_of("Quiet") == Some("true");
    let objects: Vec<&xml::Element> = root.all("Object").collect();
    if root.name != "Delete" || objects.is_empty() || objects.len() > 1000 {
        return Err(xml::parse(b"").unwrap_err());
    }
    let mut keys = Vec::with_capacity(objects.len());
    for o in objects {
        // Every <Object> needs its <Key>; the directory-bucket conditions
        // are refused for the whole request, as a header would be.
        let key = o
            .child("Key")
            .map(|k| k.text.clone())
            .ok_or_else(|| xml::parse(b"").unwrap_err())?;
        for (element, what) in [
            (
                "LastModifiedTime",
                "LastModifiedTime in a DeleteObjects <Object>",
            ),
            ("Size", "Size in a DeleteObjects <Object>"),
        ] {
            if o.child(element).is_some() {
                return Err(directory_bucket_only(what));
            }
        }
        keys.push((key, o.text_of("ETag").map(str::to_string)));
    }
    let mut w = xml::Writer::new("DeleteResult");
    for (k, etag) in keys {
        // A conditional delete per object (`<ETag>`), as DeleteObject's If-Match.
        let deleted =
            call.store()
                .delete_object_if(call.bucket(), &k, |current| match (&etag, current) {
                    (None, _) => Ok(()),
                    (Some(_), None) => Err(store::no_such_key(&k)),
                    (Some(list), Some(o)) if conditions::etag_matches(list, &o.etag) => Ok(()),
                    (Some(_), Some(_)) => Err(conditions::precondition_failed("ETag")),
                });
        match deleted {
            Ok(()) => {
                if !quiet {
                    w.start("Deleted").elem("Key", k).end();
                }
            }
            Err(e) if e.status.is_client_error() => {
                w.start("Error")
                    .elem("Key", k)
                    .elem("Code", &e.code)
                    .elem("Message", &e.message)
                    .end();
            }
            Err(e) => return Err(e),
        }
    }
    call.xml(w.finish())
}

// ---- multipart ----

fn create_multipart_upload(call: &Call<'_>) -> Result<Response<Body>, AwsError> {
    if !call.store().bucket_exists(call.bucket()) {
        return Err(store::no_such_bucket(call.bucket()));
    }
    let meta = meta_from_headers(call)?;
    let algorithm = match call.header("x-amz-checksum-algorithm") {
        None => None,
        Some(a) => Some(Algorithm::from_name(a).ok_or_else(|| {
            invalid_request("Checksum algorithm provided is unsupported. Please try again with any of the valid types: [CRC32, CRC32C, CRC64NVME, SHA1, SHA256]")
        })?),
    };
    let kind = match call.header("x-amz-checksum-type") {
        None => None,
        Some(t) if t.eq_ignore_ascii_case("COMPOSITE") => Some("COMPOSITE"),
        Some(t) if t.eq_ignore_ascii_case("FULL_OBJECT") => Some("FULL_OBJECT"),
        Some(t) => {
            return Err(invalid_request(format!(
                "Value for x-amz-checksum-type header is invalid: {t}"
            )));
        }
    };
    let checksum = match (algorithm, kind) {
        (None, None) => None,
        (None, Some(_)) => {
            return Err(invalid_request(
                "The x-amz-checksum-type header can only be used with the x-amz-checksum-algorithm header.",
            ));
        }
        (Some(a), k) => {
            let k = k.unwrap_or(if a == Algorithm::Crc64Nvme {
                "FULL_OBJECT"
            } else {
                "COMPOSITE"
            });
            let ok = match k {
                "COMPOSITE" => a != Algorithm::Crc64Nvme,
                _ => matches!(
                    a,
                    Algorithm::Crc32 | Algorithm::Crc32c | Algorithm::Crc64Nvme
                ),
            };
            if !ok {
                return Err(invalid_request(format!(
                    "The {k} checksum type cannot be used with the {} checksum algorithm.",
                    a.name()
                )));
            }
            Some((a, k))
        }
    };
    let id = call.store().create_upload(Upload {
        bucket: call.bucket().to_string(),
        key: call.key().to_string(),
        initiated: call.now(),
        meta: meta.clone(),
        checksum,
        parts: Default::default(),
    })?;
    let mut b = sse_headers(call.ok(), meta.sse.as_ref());
    if let Some((a, k)) = checksum {
        b = b
            .header("x-amz-checksum-algorithm", a.name())
            .header("x-amz-checksum-type", k);
    }
    let mut w = xml::Writer::new("InitiateMultipartUploadResult");
    w.elem("Bucket", call.bucket())
        .elem("Key", call.key())
        .elem("UploadId", &id);
    Ok(b.header("content-type", "application/xml")
        .body(wire::full(w.finish()))
        .expect("valid response"))
}

/// The `uploadId` of a part upload (`InvalidArgument` when missing).
fn upload_id(call: &Call<'_>) -> Result<String, AwsError> {
    call.target
        .get("uploadId")
        .filter(|id| !id.is_empty())
        .map(str::to_string)
        .ok_or_else(|| {
            invalid_argument("A part upload needs the uploadId of its multipart upload.")
                .with_extra("ArgumentName", "uploadId")
        })
}

fn part_number(call: &Call<'_>) -> Result<u32, AwsError> {
    call.target
        .get("partNumber")
        .and_then(|p| p.parse::<u32>().ok())
        .filter(|n| (1..=10_000).contains(n))
        .ok_or_else(|| {
            invalid_argument("Part number must be an integer between 1 and 10000, inclusive")
                .with_extra("ArgumentName", "partNumber")
                .with_extra(
                    "ArgumentValue",
                    call.target.get("partNumber").unwrap_or_default(),
                )
        })
}

async fn upload_part(
    call: &mut Call<'_>,
    body: &mut Option<hyper::body::Incoming>,
) -> Result<Response<Body>, AwsError> {
    let number = part_number(call)?;
    let id = upload_id(call)?;
    let upload = call.store().upload(call.bucket(), call.key(), &id)?;
    let also = upload.checksum.map(|(a, _)| a);
    let r = receive(call, body, also).await?;
    let checksum = also.or(r.declared).and_then(|a| r.checksum(a));
    let part = Part {
        path: call.store().persist(r.tmp)?,
        etag: quoted_md5(&r.md5),
        md5: r.md5,
        size: r.size,
        checksum: checksum.clone(),
        last_modified: call.now(),
    };
    let mut b = call.ok().header("etag", part.etag.as_str());
    b = sse_headers(b, upload.meta.sse.as_ref());
    if let Some(c) = &checksum {
        b = b.header(c.algorithm.header(), c.value.as_str());
    }
    call.store().put_part(&id, number, part)?;
    Ok(b.body(wire::empty()).expect("valid response"))
}

/// The source bucket and key of `x-amz-copy-source` (`/bucket/key` or
/// `bucket/key`, URL-encoded, optional `?versionId=`).
fn copy_source(call: &Call<'_>) -> Result<(String, String), AwsError> {
    let source = call.header("x-amz-copy-source").unwrap_or_default();
    let source = source.split_once("?versionId=").map_or(source, |(s, _)| s);
    let source = crate::auth::pct_decode(source.trim_start_matches('/'));
    source
        .split_once('/')
        .filter(|(b, k)| !b.is_empty() && !k.is_empty())
        .map(|(b, k)| (b.to_string(), k.to_string()))
        .ok_or_else(|| {
            invalid_argument(
                "Copy Source must mention the source bucket and key: sourcebucket/sourcekey",
            )
        })
}

/// UploadPartCopy: a byte range (or all) of an existing object becomes a part.
async fn upload_part_copy(call: &Call<'_>) -> Result<Response<Body>, AwsError> {
    let number = part_number(call)?;
    let id = upload_id(call)?;
    let upload = call.store().upload(call.bucket(), call.key(), &id)?;
    let (src_bucket, src_key) = copy_source(call)?;
    call.sim
        .credentials
        .check_bucket_access(&call.caller.principal(), &src_bucket)?;
    let (src, file) = call.store().open_object(&src_bucket, &src_key)?;
    conditions::ReadConditions::from(|n| call.header(n), conditions::COPY_SOURCE_HEADERS)
        .evaluate(&src, true)?;
    let (start, len) = match call.header("x-amz-copy-source-range") {
        None => (0, src.size),
        Some(r) => {
            let invalid = || {
                invalid_argument("The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy")
                    .with_extra("ArgumentName", "x-amz-copy-source-range")
                    .with_extra("ArgumentValue", r)
            };
            let (a, b) = r
                .trim()
                .strip_prefix("bytes=")
                .and_then(|x| x.split_once('-'))
                .ok_or_else(invalid)?;
            let (a, b) = (
                a.parse::<u64>().map_err(|_| invalid())?,
                b.parse::<u64>().map_err(|_| invalid())?,
            );
            if a > b || b >= src.size {
                return Err(invalid_request(format!(
                    "The specified copy source is larger than the maximum allowable size for a copy source: {}",
                    src.size
                ))
                .with_extra("ArgumentName", "x-amz-copy-source-range"));
            }
            (a, b - a + 1)
        }
    };
    let also = upload.checksum.map(|(a, _)| a);
    let tmp = call.store().temp_file();
    let out_path = tmp.path().to_path_buf();
    let (md5, value) =
        tokio::task::spawn_blocking(move || -> std::io::Result<([u8; 16], Option<String>)> {
            use std::io::{Read, Seek, Write};
            let mut file = file;
            file.seek(std::io::SeekFrom::Start(start))?;
            let mut reader = file.take(len);
            let mut out =
                std::io::BufWriter::with_capacity(512 * 1024, std::fs::File::create(out_path)?);
            let mut md5 = checksum::md5();
            let mut hasher = also.map(Algorithm::hasher);
            let mut buf = vec![0u8; 256 * 1024];
            loop {
                let n = reader.read(&mut buf)?;
                if n == 0 {
                    break;
                }
                md5.update(&buf[..n]);
                if let Some(h) = &mut hasher {
                    h.update(&buf[..n]);
                }
                out.write_all(&buf[..n])?;
            }
            out.flush()?;
            Ok((
                md5.finalize().into(),
                hasher.map(checksum::Hasher::finish_base64),
            ))
        })
        .await
        .map_err(|e| AwsError::internal(format!("aws-sim copy task failed: {e}")))?
        .map_err(|e| AwsError::internal(format!("aws-sim storage error: {e}")))?;
    let checksum = also.zip(value).map(|(a, v)| Checksum {
        algorithm: a,
        value: v,
        kind: "FULL_OBJECT",
    });
    let part = Part {
        path: call.store().persist(tmp)?,
        etag: quoted_md5(&md5),
        md5,
        size: len,
        checksum: checksum.clone(),
        last_modified: call.now(),
    };
    let mut w = xml::Writer::new("CopyPartResult");
    w.elem("ETag", &part.etag)
        .elem("LastModified", crate::clock::iso8601(part.last_modified));
    if let Some(c) = &checksum {
        w.elem(c.algorithm.xml_tag(), &c.value);
    }
    call.store().put_part(&id, number, part)?;
    let b = sse_headers(call.ok(), upload.meta.sse.as_ref());
    Ok(b.header("content-type", "application/xml")
        .body(wire::full(w.finish()))
        .expect("valid response"))
}

async fn complete_multipart_upload(
    call: &Call<'_>,
    body: &mut Option<hyper::body::Incoming>,
) -> Result<Response<Body>, AwsError> {
    let id = call.target.get("uploadId").unwrap_or_default().to_string();
    let upload = call.store().upload(call.bucket(), call.key(), &id)?;
    // Conditional writes, as on PutObject: checked now (a 412 keeps the
    // upload), committed only if the key is still as pinned.
    let pinned = check_write_conditions(call)?;
    let body = wire::read_body(take_body(body), 4 * 1024 * 1024).await?;
    let root = xml::parse(&body)?;
    if root.name != "CompleteMultipartUpload" {
        return Err(xml::parse(b"").unwrap_err());
    }
    let invalid_part = |n: u32| {
        AwsError::bad_request(
            "InvalidPart",
            "One or more of the specified parts could not be found.  The part may not have been uploaded, or the specified entity tag may not have matched the part's entity tag.",
        )
        .with_extra("UploadId", id.clone())
        .with_extra("PartNumber", n.to_string())
    };
    let mut chosen: Vec<Part> = Vec::new();
    let mut last_number = 0;
    for p in root.all("Part") {
        let n = p
            .text_of("PartNumber")
            .and_then(|s| s.parse::<u32>().ok())
            .ok_or_else(|| xml::parse(b"").unwrap_err())?;
        if n <= last_number {
            return Err(AwsError::bad_request(
                "InvalidPartOrder",
                "The list of parts was not in ascending order. Parts must be ordered by part number.",
            )
            .with_extra("UploadId", id.clone()));
        }
        last_number = n;
        let stored = upload.parts.get(&n).ok_or_else(|| invalid_part(n))?;
        let etag = p.text_of("ETag").unwrap_or_default();
        if etag.trim_matches('"') != stored.etag.trim_matches('"') {
            return Err(invalid_part(n));
        }
        for a in Algorithm::ALL {
            if let Some(v) = p.text_of(a.xml_tag()).filter(|v| !v.is_empty())
                && stored
                    .checksum
                    .as_ref()
                    .is_some_and(|c| c.algorithm == a && c.value != v)
            {
                return Err(invalid_part(n));
            }
        }
        chosen.push(stored.clone());
    }
    if chosen.is_empty() {
        return Err(xml::parse(b"").unwrap_err());
    }
    let count = chosen.len();
    for (i, p) in chosen.iter().enumerate() {
        if i + 1 < count && p.size < MIN_PART {
            return Err(AwsError::bad_request(
                "EntityTooSmall",
                "Your proposed upload is smaller than the minimum allowed object size.",
            )
            .with_extra("ProposedSize", p.size.to_string())
            .with_extra("MinSizeAllowed", MIN_PART.to_string())
            .with_extra("PartNumber", (i + 1).to_string())
            .with_extra("ETag", p.etag.clone()));
        }
    }

    // Concatenate the part files into the object's file.
    let full = upload
        .checksum
        .filter(|(_, k)| *k == "FULL_OBJECT")
        .map(|(a, _)| a);
    let tmp = call.store().temp_file();
    let out_path = tmp.path().to_path_buf();
    let files: Vec<PathBuf> = chosen.iter().map(|p| p.path.clone()).collect();
    // File-to-file on a blocking thread, hashing when the upload wants a
    // full-object checksum.
    let full_value = tokio::task::spawn_blocking(move || -> std::io::Result<Option<String>> {
        use std::io::{Read, Write};
        let mut hasher = full.map(Algorithm::hasher);
        let mut out =
            std::io::BufWriter::with_capacity(512 * 1024, std::fs::File::create(out_path)?);
        let mut buf = vec![0u8; 256 * 1024];
        for path in files {
            let mut f = std::fs::File::open(path)?;
            loop {
                let n = f.read(&mut buf)?;
                if n == 0 {
                    break;
                }
                if let Some(h) = &mut hasher {
                    h.update(&buf[..n]);
                }
                out.write_all(&buf[..n])?;
            }
        }
        out.flush()?;
        Ok(hasher.map(checksum::Hasher::finish_base64))
    })
    .await
    .map_err(|e| AwsError::internal(format!("aws-sim copy task failed: {e}")))?
    .map_err(|e| AwsError::internal(format!("aws-sim storage error: {e}")))?;
    let mut md5s = checksum::md5();
    for p in &chosen {
        md5s.update(p.md5);
    }
    let etag = format!("\"{}-{count}\"", hex::encode(md5s.finalize()));
    let object_checksum = match (upload.checksum, full_value) {
        (Some((a, _)), Some(value)) => Some(Checksum {
            algorithm: a,
            value,
            kind: "FULL_OBJECT",
        }),
        (Some((a, kind)), None) => {
            let mut h = a.hasher();
            let mut complete = true;
            for p in &chosen {
                match p
                    .checksum
                    .as_ref()
                    .filter(|c| c.algorithm == a)
                    .and_then(|c| checksum::decode(a, &c.value))
                {
                    Some(raw) => h.update(&raw),
                    None => complete = false,
                }
            }
            complete.then(|| Checksum {
                algorithm: a,
                value: format!("{}-{count}", h.finish_base64()),
                kind,
            })
        }
        _ => None,
    };
    let size = chosen.iter().map(|p| p.size).sum();
    let object = Object {
        path: call.store().persist(tmp)?,
        etag: etag.clone(),
        size,
        meta: upload.meta.clone(),
        checksum: object_checksum.clone(),
        last_modified: call.now(),
        parts_count: Some(count as u32),
        aws_chunked: false,
        generation: 0,
    };
    let committed = call
        .store()
        .insert_object_if(call.bucket(), call.key(), object, |current| {
            conditions::still_as_pinned(pinned, call.key(), current)
        });
    if let Err(e) = committed {
        // The model tells clients to re-initiate the upload after a 409:
        // the conflicting upload is gone.
        if e.status == StatusCode::CONFLICT {
            call.store().remove_upload(&id);
        }
        return Err(e);
    }
    call.store().remove_upload(&id);

    let host = host_of_headers(&call.headers);
    let mut w = xml::Writer::new("CompleteMultipartUploadResult");
    w.elem(
        "Location",
        format!("http://{host}/{}/{}", call.bucket(), url_encode(call.key())),
    )
    .elem("Bucket", call.bucket())
    .elem("Key", call.key())
    .elem("ETag", &etag);
    if let Some(c) = &object_checksum {
        w.elem(c.algorithm.xml_tag(), &c.value)
            .elem("ChecksumType", c.kind);
    }
    let b = sse_headers(call.ok(), upload.meta.sse.as_ref());
    Ok(b.header("content-type", "application/xml")
        .body(wire::full(w.finish()))
        .expect("valid response"))
}

fn host_of_headers(h: &HeaderMap) -> String {
    header_str(h, "host").unwrap_or("localhost").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn virtual_hosts() {
        assert_eq!(virtual_bucket("bkt.localhost:4566").as_deref(), Some("bkt"));
        assert_eq!(virtual_bucket("a.b.localhost").as_deref(), Some("a.b"));
        assert_eq!(virtual_bucket("bkt.s3.localhost:1").as_deref(), Some("bkt"));
        assert_eq!(virtual_bucket("localhost:4566"), None);
        assert_eq!(virtual_bucket("s3.localhost:4566"), None);
        assert_eq!(virtual_bucket("127.0.0.1:4566"), None);
        assert_eq!(virtual_bucket("bucket.127.0.0.1:4566"), None);
        assert_eq!(virtual_bucket("[::1]:4566"), None);
    }

    #[test]
    fn ranges() {
        assert_eq!(parse_range(Some("bytes=0-9"), 100).unwrap(), Some((0, 9)));
        assert_eq!(parse_range(Some("bytes=90-"), 100).unwrap(), Some((90, 99)));
        assert_eq!(parse_range(Some("bytes=-10"), 100).unwrap(), Some((90, 99)));
        assert_eq!(parse_range(Some("bytes=-200"), 100).unwrap(), Some((0, 99)));
        assert_eq!(
            parse_range(Some("bytes=50-500"), 100).unwrap(),
            Some((50, 99))
        );
        assert_eq!(parse_range(Some("bytes=9-1"), 100).unwrap(), None);
        assert_eq!(parse_range(Some("items=1-2"), 100).unwrap(), None);
        assert_eq!(parse_range(None, 100).unwrap(), None);
        let e = parse_range(Some("bytes=100-"), 100).unwrap_err();
        assert_eq!((e.status.as_u16(), e.code.as_str()), (416, "InvalidRange"));
    }

    #[test]
    fn bucket_names() {
        for ok in ["abc", "my-bucket.v2", "a1b", "x".repeat(63).as_str()] {
            assert!(validate_bucket_name(ok).is_ok(), "{ok}");
        }
        for bad in [
            "ab",
            "Abc",
            "a_b",
            "-ab",
            "ab-",
            "a..b",
            "192.168.1.1",
            "xn--abc",
            "abc-s3alias",
            &"x".repeat(64),
        ] {
            assert_eq!(
                validate_bucket_name(bad).unwrap_err().code,
                "InvalidBucketName",
                "{bad}"
            );
        }
    }

    #[test]
    fn continuation_tokens_round_trip() {
        assert_eq!(
            parse_continuation_token(&continuation_token("a/b c")).unwrap(),
            "a/b c"
        );
        assert_eq!(
            parse_continuation_token("garbage").unwrap_err().code,
            "InvalidArgument"
        );
    }

    #[test]
    fn internal_api() {
        let dir = tempfile::tempdir().unwrap();
        let s3 = S3::new(dir.path().to_path_buf()).unwrap();
        assert!(!s3.bucket_exists("art"));
        assert_eq!(
            s3.put_object_internal("art", "k", b"x", None)
                .unwrap_err()
                .code,
            "NoSuchBucket"
        );
        s3.ensure_bucket("art").unwrap();
        s3.ensure_bucket("art").unwrap();
        let info = s3
            .put_object_internal("art", "p/a.zip", b"hello", Some("key-1"))
            .unwrap();
        assert_eq!(info.etag, "\"5d41402abc4b2a76b9719d911017c592\"");
        assert_eq!(info.size, 5);
        assert_eq!(info.sse_kms_key_id.as_deref(), Some("key-1"));
        let (data, got) = s3.get_object_internal("art", "p/a.zip").unwrap();
        assert_eq!((data.as_slice(), &got), (&b"hello"[..], &info));
        s3.ensure_bucket("out").unwrap();
        let copy = s3
            .copy_object_internal("art", "p/a.zip", "out", "c", None)
            .unwrap();
        assert_eq!(copy.etag, info.etag);
        assert_eq!(copy.sse_kms_key_id, None);
        assert_eq!(s3.head_object_internal("out", "c").unwrap().size, 5);
        // The copy is independent of its source.
        s3.put_object_internal("art", "p/a.zip", b"changed", None)
            .unwrap();
        assert_eq!(s3.get_object_internal("out", "c").unwrap().0, b"hello");
        assert_eq!(
            s3.head_object_internal("out", "nope").unwrap_err().code,
            "NoSuchKey"
        );
    }
}
