//! Deterministic packaging of a `source` directory into a Lambda zip: the
//! same tree always yields the same bytes, hence the same `CodeSha256`,
//! whatever the checkout's mtimes, file-creation order, owner or umask.
//!
//! Rules: regular files only (symlinks, devices, fifos and sockets are
//! refused; directories are not stored, Lambda needs none); entries sorted by
//! their `/`-separated UTF-8 path (byte order); timestamp 1980-01-01 00:00:00;
//! mode 0644, or 0755 when the file had any executable bit; deflate level 6;
//! no extra fields, no comment. Knows nothing about AWS or manifests.

use std::fs::{self, File};
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, DateTime, ZipWriter};

use super::{BUFFER_BYTES, code_sha256_file};

/// Deflate level of every packaged entry (fixed: changing it changes every
/// `CodeSha256` and so redeploys every function).
pub const DEFLATE_LEVEL: i64 = 6;

/// Caps on a `source` directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PackageLimits {
    pub max_files: u64,
    /// Lambda's 250 MB unzipped limit by default.
    pub max_total_bytes: u64,
}

impl Default for PackageLimits {
    fn default() -> Self {
        PackageLimits {
            max_files: 100_000,
            max_total_bytes: super::UnpackLimits::LAMBDA_UNZIPPED_BYTES,
        }
    }
}

/// A zip written by [`package`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackagedBundle {
    pub path: PathBuf,
    /// Base64 SHA-256 of the zip, as Lambda's `CodeSha256`.
    pub code_sha256: String,
    pub zip_bytes: u64,
    pub files: u64,
    pub uncompressed_bytes: u64,
}

/// Why a directory could not be packaged. Paths are relative to the source
/// directory given to [`package`].
#[derive(Debug, thiserror::Error)]
pub enum PackageError {
    #[error("source directory `{0}` does not exist or is not a directory")]
    NotADirectory(String),
    #[error(
        "`{0}` in the source directory is a symbolic link; symlinks are not packaged: replace it with the file it points to"
    )]
    Symlink(String),
    #[error(
        "`{0}` in the source directory is not a regular file (device, fifo or socket): remove it"
    )]
    SpecialFile(String),
    #[error("`{0}` in the source directory has a non-UTF-8 name: rename it")]
    NonUtf8Path(String),
    #[error("source directory `{0}` holds no files")]
    Empty(String),
    #[error(
        "source directory holds more than {max} files; package fewer (or use a prebuilt `package`)"
    )]
    TooManyFiles { max: u64 },
    #[error(
        "source directory holds more than {max} bytes (Lambda allows 250 MB unzipped); make it smaller"
    )]
    TooLarge { max: u64 },
    #[error("reading `{path}`: {source}")]
    Read { path: String, source: io::Error },
    #[error("writing the zip: {0}")]
    Write(String),
}

struct Item {
    rel: String,
    abs: PathBuf,
    executable: bool,
    size: u64,
}

/// Packages `source` into a new zip at `dest_zip` (overwritten if present).
pub fn package(
    source: &Path,
    dest_zip: &Path,
    limits: &PackageLimits,
) -> Result<PackagedBundle, PackageError> {
    let shown_source = source.display().to_string();
    match fs::symlink_metadata(source) {
        Ok(m) if m.is_dir() => {}
        _ => return Err(PackageError::NotADirectory(shown_source)),
    }
    let mut items = Vec::new();
    let mut total: u64 = 0;
    let mut stack = vec![(source.to_path_buf(), String::new())];
    while let Some((dir, rel_dir)) = stack.pop() {
        let read = fs::read_dir(&dir).map_err(|source| PackageError::Read {
            path: rel_or_dot(&rel_dir),
            source,
        })?;
        for child in read {
            let child = child.map_err(|source| PackageError::Read {
                path: rel_or_dot(&rel_dir),
                source,
            })?;
            let name = child.file_name();
            let rel = match name.to_str() {
                Some(n) if rel_dir.is_empty() => n.to_string(),
                Some(n) => format!("{rel_dir}/{n}"),
                None => {
                    return Err(PackageError::NonUtf8Path(format!(
                        "{}/{}",
                        rel_dir,
                        name.to_string_lossy()
                    )));
                }
            };
            let meta = fs::symlink_metadata(child.path()).map_err(|source| PackageError::Read {
                path: rel.clone(),
                source,
            })?;
            let ft = meta.file_type();
            if ft.is_symlink() {
                return Err(PackageError::Symlink(rel));
            } else if ft.is_dir() {
                stack.push((child.path(), rel));
            } else if ft.is_file() {
                total = total.saturating_add(meta.len());
                if total > limits.max_total_bytes {
                    return Err(PackageError::TooLarge {
                        max: limits.max_total_bytes,
                    });
                }
                items.push(Item {
                    rel,
                    abs: child.path(),
                    executable: is_executable(&meta),
                    size: meta.len(),
                });
                if items.len() as u64 > limits.max_files {
                    return Err(PackageError::TooManyFiles {
                        max: limits.max_files,
                    });
                }
            } else {
                return Err(PackageError::SpecialFile(rel));
            }
        }
    }
    if items.is_empty() {
        return Err(PackageError::Empty(shown_source));
    }
    items.sort_unstable_by(|a, b| a.rel.as_bytes().cmp(b.rel.as_bytes()));

    let out = File::create(dest_zip).map_err(|e| PackageError::Write(e.to_string()))?;
    let mut zip = ZipWriter::new(BufWriter::new(out));
    let mut buf = vec![0u8; BUFFER_BYTES];
    let mut written_total: u64 = 0;
    for item in &items {
        let options = SimpleFileOptions::default()
            .compression_method(CompressionMethod::Deflated)
            .compression_level(Some(DEFLATE_LEVEL))
            .last_modified_time(DateTime::default())
            .unix_permissions(if item.executable { 0o755 } else { 0o644 })
            .large_file(item.size >= u64::from(u32::MAX));
        zip.start_file(item.rel.as_str(), options)
            .map_err(|e| PackageError::Write(e.to_string()))?;
        let mut f = File::open(&item.abs).map_err(|source| PackageError::Read {
            path: item.rel.clone(),
            source,
        })?;
        loop {
            let n = match f.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(source) => {
                    return Err(PackageError::Read {
                        path: item.rel.clone(),
                        source,
                    });
                }
            };
            written_total += n as u64;
            if written_total > limits.max_total_bytes {
                return Err(PackageError::TooLarge {
                    max: limits.max_total_bytes,
                });
            }
            zip.write_all(&buf[..n])
                .map_err(|e| PackageError::Write(e.to_string()))?;
        }
    }
    let mut inner = zip
        .finish()
        .map_err(|e| PackageError::Write(e.to_string()))?;
    inner
        .flush()
        .map_err(|e| PackageError::Write(e.to_string()))?;
    drop(inner);
    let zip_bytes = fs::metadata(dest_zip)
        .map_err(|e| PackageError::Write(e.to_string()))?
        .len();
    let code_sha256 = code_sha256_file(dest_zip).map_err(|e| PackageError::Write(e.to_string()))?;
    Ok(PackagedBundle {
        path: dest_zip.to_path_buf(),
        code_sha256,
        zip_bytes,
        files: items.len() as u64,
        uncompressed_bytes: written_total,
    })
}

fn rel_or_dot(rel: &str) -> String {
    if rel.is_empty() {
        ".".to_string()
    } else {
        rel.to_string()
    }
}

#[cfg(unix)]
fn is_executable(meta: &fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode() & 0o111 != 0
}

#[cfg(not(unix))]
fn is_executable(_meta: &fs::Metadata) -> bool {
    false
}
