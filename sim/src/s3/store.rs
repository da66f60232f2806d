//! S3 storage: object bytes live in files under the sim's data directory
//! (`data/<uuid>`, written first under `tmp/` and renamed when complete), and
//! everything else — buckets, object metadata, multipart uploads — lives in
//! memory behind one std `Mutex` that is never held across an `.await`.
//!
//! Object files are immutable: an overwrite writes a new file and deletes the
//! old one, so a reader that already opened a file keeps reading the version
//! it started with. This module knows nothing about HTTP, auth or wire
//! formats; it returns S3 errors by their codes.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use http::StatusCode;

use super::checksum::{Algorithm, Checksum};
use crate::error::AwsError;

/// Server-side encryption settings of an object (stored and echoed only; the
/// bytes are kept in plain text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sse {
    /// `aws:kms`, `aws:kms:dsse` or `AES256`.
    pub algorithm: String,
    pub kms_key_id: Option<String>,
    pub bucket_key_enabled: bool,
}

/// What an object carries besides its bytes (also the template of a
/// multipart upload).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ObjectMeta {
    pub content_type: Option<String>,
    pub content_encoding: Option<String>,
    pub content_disposition: Option<String>,
    pub content_language: Option<String>,
    pub cache_control: Option<String>,
    pub expires: Option<String>,
    /// `x-amz-meta-*` pairs, names lower-case without the prefix.
    pub user: Vec<(String, String)>,
    pub sse: Option<Sse>,
}

/// A stored object.
#[derive(Debug, Clone)]
pub struct Object {
    /// The file holding the bytes.
    pub path: PathBuf,
    /// Quoted ETag, as on the wire.
    pub etag: String,
    pub size: u64,
    pub meta: ObjectMeta,
    pub checksum: Option<Checksum>,
    pub last_modified: SystemTime,
    /// Number of parts for objects made by CompleteMultipartUpload.
    pub parts_count: Option<u32>,
    /// Whether the upload arrived `aws-chunked` (for tests and the log, not AWS).
    pub aws_chunked: bool,
    /// Which write of the key this is: assigned by the store on insert, from
    /// a counter that never repeats, so conditional writes can tell whether
    /// the key changed while they ran (see `conditions.rs`).
    pub generation: u64,
}

#[derive(Debug)]
pub struct Bucket {
    pub created: SystemTime,
    /// Region the bucket was created in; `None` for buckets made through the
    /// internal API, which answer in every region.
    pub region: Option<String>,
    pub objects: BTreeMap<String, Object>,
}

/// One uploaded part.
#[derive(Debug, Clone)]
pub struct Part {
    pub path: PathBuf,
    pub etag: String,
    pub md5: [u8; 16],
    pub size: u64,
    pub checksum: Option<Checksum>,
    pub last_modified: SystemTime,
}

/// An in-progress multipart upload.
#[derive(Debug, Clone)]
pub struct Upload {
    pub bucket: String,
    pub key: String,
    pub initiated: SystemTime,
    pub meta: ObjectMeta,
    /// Algorithm and type (`COMPOSITE`/`FULL_OBJECT`) declared at creation.
    pub checksum: Option<(Algorithm, &'static str)>,
    pub parts: BTreeMap<u32, Part>,
}

#[derive(Debug, Default)]
struct State {
    buckets: BTreeMap<String, Bucket>,
    uploads: HashMap<String, Upload>,
    /// The generation the next stored object gets.
    next_generation: u64,
}

/// The storage of one sim.
#[derive(Debug)]
pub struct Store {
    data: PathBuf,
    tmp: PathBuf,
    state: Mutex<State>,
    /// Temporary files not yet persisted or dropped: request bodies being
    /// received, parts being assembled.
    in_flight: Arc<AtomicUsize>,
}

pub fn no_such_bucket(bucket: &str) -> AwsError {
    AwsError::not_found("NoSuchBucket", "The specified bucket does not exist")
        .with_extra("BucketName", bucket)
}

pub fn no_such_key(key: &str) -> AwsError {
    AwsError::not_found("NoSuchKey", "The specified key does not exist.").with_extra("Key", key)
}

pub fn no_such_upload(upload_id: &str) -> AwsError {
    AwsError::not_found(
        "NoSuchUpload",
        "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.",
    )
    .with_extra("UploadId", upload_id)
}

/// A file under `tmp/` that is deleted on drop unless persisted.
#[derive(Debug)]
pub struct TempFile {
    path: PathBuf,
    keep: bool,
    /// The store's count of files in flight, decremented when this one ends.
    in_flight: Arc<AtomicUsize>,
}

impl TempFile {
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        if !self.keep {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

fn io_error(e: std::io::Error) -> AwsError {
    AwsError::internal(format!("aws-sim storage error: {e}"))
}

impl Store {
    pub fn new(root: &Path) -> std::io::Result<Store> {
        let data = root.join("data");
        let tmp = root.join("tmp");
        std::fs::create_dir_all(&data)?;
        std::fs::create_dir_all(&tmp)?;
        Ok(Store {
            data,
            tmp,
            state: Mutex::default(),
            in_flight: Arc::default(),
        })
    }

    /// A fresh temporary file path (the file is not created).
    pub fn temp_file(&self) -> TempFile {
        self.in_flight.fetch_add(1, Ordering::SeqCst);
        TempFile {
            path: self.tmp.join(uuid::Uuid::new_v4().simple().to_string()),
            keep: false,
            in_flight: self.in_flight.clone(),
        }
    }

    /// How many writes are between reading their request and storing the
    /// result right now (a PutObject or UploadPart receiving its body, a
    /// CompleteMultipartUpload assembling parts, an UploadPartCopy copying).
    /// Tests use it to act while a write is in flight.
    pub fn writes_in_flight(&self) -> usize {
        self.in_flight.load(Ordering::SeqCst)
    }

    /// Moves a finished temporary file to its permanent place.
    pub fn persist(&self, mut tmp: TempFile) -> Result<PathBuf, AwsError> {
        let dest = self.data.join(uuid::Uuid::new_v4().simple().to_string());
        std::fs::rename(&tmp.path, &dest).map_err(io_error)?;
        tmp.keep = true;
        Ok(dest)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        crate::lock(&self.state)
    }

    // ---- buckets ----

    pub fn bucket_exists(&self, bucket: &str) -> bool {
        self.lock().buckets.contains_key(bucket)
    }

    /// The bucket's region (`Ok(None)`: answers in any region).
    pub fn bucket_region(&self, bucket: &str) -> Result<Option<String>, AwsError> {
        self.lock()
            .buckets
            .get(bucket)
            .map(|b| b.region.clone())
            .ok_or_else(|| no_such_bucket(bucket))
    }

    /// Creates a bucket; `Err(existing region)` when it already exists.
    pub fn create_bucket(
        &self,
        bucket: &str,
        region: Option<String>,
        now: SystemTime,
    ) -> Result<(), Option<String>> {
        let mut s = self.lock();
        if let Some(b) = s.buckets.get(bucket) {
            return Err(b.region.clone());
        }
        s.buckets.insert(
            bucket.to_string(),
            Bucket {
                created: now,
                region,
                objects: BTreeMap::new(),
            },
        );
        Ok(())
    }

    pub fn delete_bucket(&self, bucket: &str) -> Result<(), AwsError> {
        let mut s = self.lock();
        let b = s
            .buckets
            .get(bucket)
            .ok_or_else(|| no_such_bucket(bucket))?;
        if !b.objects.is_empty() || s.uploads.values().any(|u| u.bucket == bucket) {
            return Err(AwsError::new(
                StatusCode::CONFLICT,
                "BucketNotEmpty",
                "The bucket you tried to delete is not empty",
            )
            .with_extra("BucketName", bucket));
        }
        s.buckets.remove(bucket);
        Ok(())
    }

    /// `(name, creation time, region)` of every bucket, by name.
    pub fn list_buckets(&self) -> Vec<(String, SystemTime, Option<String>)> {
        self.lock()
            .buckets
            .iter()
            .map(|(n, b)| (n.clone(), b.created, b.region.clone()))
            .collect()
    }

    // ---- objects ----

    /// Metadata of an object.
    pub fn object(&self, bucket: &str, key: &str) -> Result<Object, AwsError> {
        let s = self.lock();
        let b = s
            .buckets
            .get(bucket)
            .ok_or_else(|| no_such_bucket(bucket))?;
        b.objects.get(key).cloned().ok_or_else(|| no_such_key(key))
    }

    /// Metadata of an object, `None` when the key is free (`NoSuchBucket`
    /// when the bucket is missing).
    pub fn object_if_any(&self, bucket: &str, key: &str) -> Result<Option<Object>, AwsError> {
        let s = self.lock();
        let b = s
            .buckets
            .get(bucket)
            .ok_or_else(|| no_such_bucket(bucket))?;
        Ok(b.objects.get(key).cloned())
    }

    /// Metadata of an object and its file, opened under the lock so a
    /// concurrent overwrite cannot delete it first.
    pub fn open_object(
        &self,
        bucket: &str,
        key: &str,
    ) -> Result<(Object, std::fs::File), AwsError> {
        let s = self.lock();
        let b = s
            .buckets
            .get(bucket)
            .ok_or_else(|| no_such_bucket(bucket))?;
        let o = b.objects.get(key).ok_or_else(|| no_such_key(key))?;
        let f = std::fs::File::open(&o.path).map_err(io_error)?;
        Ok((o.clone(), f))
    }

    /// Stores an object whose bytes are already in `path` (under `data/`),
    /// replacing any previous version (whose file is deleted).
    pub fn insert_object(&self, bucket: &str, key: &str, object: Object) -> Result<(), AwsError> {
        self.insert_object_if(bucket, key, object, |_| Ok(()))
            .map(|_| ())
    }

    /// [`Store::insert_object`] when `precondition` accepts the current
    /// version (checked atomically, for conditional writes); the new file is
    /// deleted when it does not. The stored object gets the next generation,
    /// which is returned.
    pub fn insert_object_if(
        &self,
        bucket: &str,
        key: &str,
        mut object: Object,
        precondition: impl FnOnce(Option<&Object>) -> Result<(), AwsError>,
    ) -> Result<u64, AwsError> {
        let (old, generation) = {
            let mut s = self.lock();
            let generation = s.next_generation;
            let Some(b) = s.buckets.get_mut(bucket) else {
                let _ = std::fs::remove_file(&object.path);
                return Err(no_such_bucket(bucket));
            };
            if let Err(e) = precondition(b.objects.get(key)) {
                let _ = std::fs::remove_file(&object.path);
                return Err(e);
            }
            object.generation = generation;
            let old = b.objects.insert(key.to_string(), object);
            s.next_generation += 1;
            (old, generation)
        };
        if let Some(old) = old {
            let _ = std::fs::remove_file(old.path);
        }
        Ok(generation)
    }

    /// Deletes an object; deleting a missing key succeeds, as in S3.
    pub fn delete_object(&self, bucket: &str, key: &str) -> Result<(), AwsError> {
        self.delete_object_if(bucket, key, |_| Ok(()))
    }

    /// [`Store::delete_object`] when `precondition` accepts the current
    /// object (checked atomically, for conditional deletes).
    pub fn delete_object_if(
        &self,
        bucket: &str,
        key: &str,
        precondition: impl FnOnce(Option<&Object>) -> Result<(), AwsError>,
    ) -> Result<(), AwsError> {
        let old = {
            let mut s = self.lock();
            let b = s
                .buckets
                .get_mut(bucket)
                .ok_or_else(|| no_such_bucket(bucket))?;
            precondition(b.objects.get(key))?;
            b.objects.remove(key)
        };
        if let Some(old) = old {
            let _ = std::fs::remove_file(old.path);
        }
        Ok(())
    }

    /// Runs `f` on a bucket's objects (ordered by key) under the lock; `f`
    /// must not block.
    pub fn with_bucket<T>(
        &self,
        bucket: &str,
        f: impl FnOnce(&BTreeMap<String, Object>) -> T,
    ) -> Result<T, AwsError> {
        let s = self.lock();
        let b = s
            .buckets
            .get(bucket)
            .ok_or_else(|| no_such_bucket(bucket))?;
        Ok(f(&b.objects))
    }

    // ---- multipart uploads ----

    pub fn create_upload(&self, upload: Upload) -> Result<String, AwsError> {
        let mut s = self.lock();
        if !s.buckets.contains_key(&upload.bucket) {
            return Err(no_such_bucket(&upload.bucket));
        }
        let id = format!(
            "{}{}",
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        );
        s.uploads.insert(id.clone(), upload);
        Ok(id)
    }

    /// The upload `id` of `bucket`/`key`.
    pub fn upload(&self, bucket: &str, key: &str, id: &str) -> Result<Upload, AwsError> {
        let s = self.lock();
        if !s.buckets.contains_key(bucket) {
            return Err(no_such_bucket(bucket));
        }
        s.uploads
            .get(id)
            .filter(|u| u.bucket == bucket && u.key == key)
            .cloned()
            .ok_or_else(|| no_such_upload(id))
    }

    /// Adds (or replaces) a part.
    pub fn put_part(&self, id: &str, number: u32, part: Part) -> Result<(), AwsError> {
        let old = {
            let mut s = self.lock();
            let Some(u) = s.uploads.get_mut(id) else {
                let _ = std::fs::remove_file(&part.path);
                return Err(no_such_upload(id));
            };
            u.parts.insert(number, part)
        };
        if let Some(old) = old {
            let _ = std::fs::remove_file(old.path);
        }
        Ok(())
    }

    /// Removes an upload and deletes its part files.
    pub fn remove_upload(&self, id: &str) -> Option<Upload> {
        let u = self.lock().uploads.remove(id)?;
        for p in u.parts.values() {
            let _ = std::fs::remove_file(&p.path);
        }
        Some(u)
    }

    /// In-progress uploads of a bucket (without their parts), by key, then
    /// initiation time, then upload id.
    pub fn list_uploads(&self, bucket: &str) -> Vec<(String, Upload)> {
        let s = self.lock();
        let mut v: Vec<(String, Upload)> = s
            .uploads
            .iter()
            .filter(|(_, u)| u.bucket == bucket)
            .map(|(id, u)| {
                let mut u = u.clone();
                u.parts.clear();
                (id.clone(), u)
            })
            .collect();
        v.sort_by(|(ia, a), (ib, b)| (&a.key, a.initiated, ia).cmp(&(&b.key, b.initiated, ib)));
        v
    }

    /// Hard-links (or copies) an object file to a fresh data file, for copies.
    pub fn clone_file(&self, src: &Path) -> Result<PathBuf, AwsError> {
        let dest = self.data.join(uuid::Uuid::new_v4().simple().to_string());
        if std::fs::hard_link(src, &dest).is_err() {
            std::fs::copy(src, &dest).map_err(io_error)?;
        }
        Ok(dest)
    }
}
