//! Safe extraction of an untrusted zip into a directory the caller owns.
//!
//! Every entry is validated from the raw central directory before anything
//! is written: names must be UTF-8 relative paths without `..`, drive letters
//! or backslashes; no symlinks, devices, fifos or sockets; no duplicates; no
//! encryption; only stored/deflate; entry count and declared total size under
//! the caps. While streaming, the *actual* bytes produced are counted against
//! the declared size, the total cap and the per-entry compression-ratio cap,
//! so a lying header cannot push past them. Files are created with
//! `create_new` (never overwriting, never following a link) and mode 0644, or
//! 0755 when the entry had any executable bit. [`unpack_verifying_zips`]
//! also verifies (the same checks, with the caller's limits) and hashes each
//! `*.zip` entry on scoped threads while later entries unpack, so the
//! bundles of a release are checked alongside the unpacking instead of one
//! after another afterwards. [`unpack_verifying_zips_from`] does the same
//! from any `Read + Seek` (e.g. a [`super::GrowingFile`] still being
//! downloaded), with exactly the same checks. Knows nothing about AWS, jobs
//! or manifests.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, mpsc};

use super::BUFFER_BYTES;
use super::directory::{self, DirectoryError, RawEntry};

/// Caps applied while unpacking. All are enforced on actual bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnpackLimits {
    /// Most entries (files and directories) an archive may hold.
    pub max_entries: u64,
    /// Most uncompressed bytes, all entries together.
    pub max_total_bytes: u64,
    /// Most uncompressed bytes per compressed byte of one entry…
    pub max_ratio: u64,
    /// …checked once the entry has produced more than this many bytes
    /// (small, very compressible files are normal).
    pub ratio_floor_bytes: u64,
}

impl UnpackLimits {
    /// Lambda's limit on unzipped code: 250 MB (262,144,000 bytes).
    pub const LAMBDA_UNZIPPED_BYTES: u64 = 262_144_000;

    /// Caps for one function bundle: Lambda's 250 MB unzipped.
    pub const fn function_bundle() -> Self {
        UnpackLimits {
            max_entries: 100_000,
            max_total_bytes: Self::LAMBDA_UNZIPPED_BYTES,
            max_ratio: 200,
            ratio_floor_bytes: 1024 * 1024,
        }
    }

    /// Caps for the whole pipeline input artifact (many functions' sources
    /// and bundles together): 4 GiB, 200,000 entries.
    pub const fn pipeline_artifact() -> Self {
        UnpackLimits {
            max_entries: 200_000,
            max_total_bytes: 4 * 1024 * 1024 * 1024,
            max_ratio: 200,
            ratio_floor_bytes: 1024 * 1024,
        }
    }
}

impl Default for UnpackLimits {
    fn default() -> Self {
        Self::pipeline_artifact()
    }
}

/// What an unpack wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct UnpackReport {
    pub files: u64,
    pub directories: u64,
    /// Uncompressed bytes actually produced.
    pub bytes: u64,
}

/// Why an archive was refused. `Display` names the archive entry (escaped)
/// and says how to fix it; the runtime reports these as ConfigurationError.
#[derive(Debug, thiserror::Error)]
pub enum UnpackError {
    #[error("the zip is an empty file (0 bytes); upload a zip of the release")]
    EmptyFile,
    #[error(
        "not a zip file (no end-of-central-directory record); the input artifact must be a zip"
    )]
    NotAZip,
    #[error(
        "the zip is truncated: it starts like a zip but has no end-of-central-directory record; re-upload the artifact"
    )]
    Truncated,
    #[error("the zip is corrupt: {detail}; re-create the zip")]
    Corrupt { detail: String },
    #[error("entry {entry}: corrupt or truncated data ({detail}); re-create the zip")]
    CorruptEntry { entry: Shown, detail: String },
    #[error("the zip has no entries; the artifact must contain the release")]
    EmptyArchive,
    #[error("split (multi-disk) zips are not supported; create a single-file zip")]
    MultiDisk,
    #[error(
        "the zip has {count} entries, more than the {max} allowed; package fewer files (or raise the cap)"
    )]
    TooManyEntries { count: u64, max: u64 },
    #[error(
        "the zip's central directory is {bytes} bytes, more than the {max} allowed; package fewer files"
    )]
    DirectoryTooLarge { bytes: u64, max: u64 },
    #[error("entry #{index}: name of {len} bytes is longer than {max}; use shorter paths")]
    NameTooLong {
        index: usize,
        len: usize,
        max: usize,
    },
    #[error(
        "entry {raw}: name is not valid UTF-8; re-create the zip with UTF-8 file names (e.g. `zip` on Linux/macOS, or 7-Zip with UTF-8 names)"
    )]
    NonUtf8Name { raw: String },
    #[error(
        "entry {entry}: the zip's Unicode path field names it {unicode} instead; re-create the zip with plain UTF-8 names"
    )]
    AmbiguousName { entry: Shown, unicode: Shown },
    #[error("entry {entry} {reason}; the zip must contain only relative paths inside it")]
    UnsafePath { entry: Shown, reason: &'static str },
    #[error(
        "entry {entry} is a symbolic link; symlinks are not allowed: replace it with the file it points to"
    )]
    Symlink { entry: Shown },
    #[error(
        "entry {entry} is a {kind}; only regular files and directories are allowed: remove it from the zip"
    )]
    SpecialFile { entry: Shown, kind: &'static str },
    #[error("entry {entry} appears more than once in the zip; keep one copy")]
    Duplicate { entry: Shown },
    #[error("entry {entry} is encrypted; upload an unencrypted zip")]
    Encrypted { entry: Shown },
    #[error(
        "entry {entry} uses compression method {method}; only stored (0) and deflate (8) are supported: re-create the zip with deflate"
    )]
    UnsupportedCompression { entry: Shown, method: u16 },
    #[error(
        "the zip expands to more than {max} bytes (entry {entry} reaches {bytes}); keep it under the limit (Lambda allows 250 MB unzipped per function)"
    )]
    TooLarge { entry: Shown, bytes: u64, max: u64 },
    #[error(
        "entry {entry} expands more than {max_ratio}:1 ({bytes} bytes from {compressed}); this looks like a zip bomb: remove it"
    )]
    RatioExceeded {
        entry: Shown,
        bytes: u64,
        compressed: u64,
        max_ratio: u64,
    },
    #[error(
        "entry {entry} declares {declared} bytes but holds {actual}; the zip is corrupt or forged: re-create it"
    )]
    SizeMismatch {
        entry: Shown,
        declared: u64,
        actual: u64,
    },
    #[error(
        "entry {entry} needs {conflict} to be a directory, but the zip makes it a file; rename one of them"
    )]
    PathConflict { entry: Shown, conflict: Shown },
    #[error("writing entry {entry}: {source}")]
    Write { entry: Shown, source: io::Error },
    #[error("reading the zip: {0}")]
    Read(io::Error),
}

impl UnpackError {
    /// False for local I/O failures (disk full, unreadable download): those
    /// are the worker's problem, not the artifact's. Every other variant is
    /// a ConfigurationError of the artifact.
    pub fn is_artifact_fault(&self) -> bool {
        !matches!(self, UnpackError::Write { .. } | UnpackError::Read(_))
    }
}

/// An archive entry name as shown in messages: quoted, control characters
/// escaped, cut at 300 characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shown(pub String);

impl Shown {
    fn new(name: &str) -> Self {
        let escaped: String = name.escape_debug().collect();
        if escaped.chars().count() > 300 {
            let cut: String = escaped.chars().take(300).collect();
            Shown(format!("`{cut}…`"))
        } else {
            Shown(format!("`{escaped}`"))
        }
    }
}

impl fmt::Display for Shown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Extracts `zip` into `dest` (an existing directory the caller owns, normally
/// empty). On error, `dest` may hold a partial extraction: the caller removes
/// its per-job directory.
pub fn unpack(zip: &Path, dest: &Path, limits: &UnpackLimits) -> Result<UnpackReport, UnpackError> {
    process(open(zip)?, Some(dest), limits, None)
}

/// Runs every check of [`unpack`], decompressing each entry into a counter
/// instead of the disk (for function bundles used byte-for-byte).
pub fn verify(zip: &Path, limits: &UnpackLimits) -> Result<UnpackReport, UnpackError> {
    process(open(zip)?, None, limits, None)
}

fn open(zip: &Path) -> Result<File, UnpackError> {
    File::open(zip).map_err(UnpackError::Read)
}

/// A zip found inside an artifact by [`unpack_verifying_zips`]: it passed
/// [`verify`] with the caller's limits, and `code_sha256` is the hash of the
/// file as the unpack wrote it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedZip {
    pub code_sha256: String,
    pub zip_bytes: u64,
}

/// The `.zip` files an unpack wrote that passed [`verify`], by the path
/// written (`dest` joined with the entry's normalized name). A zip that
/// failed, or any other file, is absent: callers check it themselves.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VerifiedZips {
    by_path: HashMap<PathBuf, VerifiedZip>,
}

impl VerifiedZips {
    pub fn get(&self, path: &Path) -> Option<&VerifiedZip> {
        self.by_path.get(path)
    }

    pub fn len(&self) -> usize {
        self.by_path.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_path.is_empty()
    }
}

impl FromIterator<(PathBuf, VerifiedZip)> for VerifiedZips {
    fn from_iter<I: IntoIterator<Item = (PathBuf, VerifiedZip)>>(iter: I) -> Self {
        VerifiedZips {
            by_path: iter.into_iter().collect(),
        }
    }
}

/// A `.zip` entry just written (and closed), for the verifier threads.
struct Written {
    path: PathBuf,
    zip_bytes: u64,
}

/// Threads verifying inner zips besides the unpacking thread (which joins
/// them once the artifact is written): one per other core, at least one, at
/// most 7 (each holds one entry's buffers, so memory stays bounded).
fn verifier_threads() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .saturating_sub(1)
        .clamp(1, 7)
}

/// [`unpack`], and meanwhile every file entry named `*.zip` (any case) is,
/// once written and closed, checked with [`verify`] and `zip_limits` and
/// hashed (`CodeSha256`, read from the page cache) on other threads while
/// the next entries are unpacked; this thread joins them when the artifact
/// is written. Returns what [`unpack`] returns plus the zips that passed; an
/// error of the artifact itself is returned exactly as [`unpack`] would.
pub fn unpack_verifying_zips(
    zip: &Path,
    dest: &Path,
    limits: &UnpackLimits,
    zip_limits: &UnpackLimits,
) -> Result<(UnpackReport, VerifiedZips), UnpackError> {
    unpack_verifying_zips_from(open(zip)?, dest, limits, zip_limits)
}

/// [`unpack_verifying_zips`] of the zip `reader` yields (its length is where
/// `SeekFrom::End(0)` lands), e.g. a [`GrowingFile`](super::GrowingFile)
/// still being downloaded: every check is the same; reads merely wait for
/// their bytes.
pub fn unpack_verifying_zips_from<R: Read + Seek>(
    reader: R,
    dest: &Path,
    limits: &UnpackLimits,
    zip_limits: &UnpackLimits,
) -> Result<(UnpackReport, VerifiedZips), UnpackError> {
    let (tx, rx) = mpsc::channel::<Written>();
    let rx = Mutex::new(rx);
    let cancelled = AtomicBool::new(false);
    std::thread::scope(|s| {
        let verify_queued = || {
            let mut ok: Vec<(PathBuf, VerifiedZip)> = Vec::new();
            loop {
                // The guard is dropped at the end of this statement.
                let next = rx.lock().unwrap_or_else(|p| p.into_inner()).recv();
                let Ok(w) = next else { break };
                if cancelled.load(Ordering::Relaxed) {
                    continue;
                }
                if verify(&w.path, zip_limits).is_ok()
                    && let Ok((code_sha256, zip_bytes)) = super::code_sha256_and_len(&w.path)
                    && zip_bytes == w.zip_bytes
                {
                    ok.push((
                        w.path,
                        VerifiedZip {
                            code_sha256,
                            zip_bytes,
                        },
                    ));
                }
            }
            ok
        };
        let helpers: Vec<_> = (0..verifier_threads())
            .map(|_| s.spawn(verify_queued))
            .collect();
        let result = process(reader, Some(dest), limits, Some(&tx));
        drop(tx);
        let mut verified = VerifiedZips::default();
        let mut add = |done: Vec<(PathBuf, VerifiedZip)>| verified.by_path.extend(done);
        if result.is_err() {
            cancelled.store(true, Ordering::Relaxed);
        } else {
            // This thread helps with what is still queued.
            add(verify_queued());
        }
        for h in helpers {
            // A verifier that panicked only loses its entries: the caller
            // checks those zips itself.
            if let Ok(done) = h.join() {
                add(done);
            }
        }
        result.map(|report| (report, verified))
    })
}

/// Whether an entry is checked and hashed by [`unpack_verifying_zips`].
pub(super) fn looks_like_zip(path: &str) -> bool {
    let b = path.as_bytes();
    b.len() > 4 && b[b.len() - 4..].eq_ignore_ascii_case(b".zip")
}

/// What kind of entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    File { executable: bool },
    Directory,
}

struct Checked {
    path: String,
    kind: Kind,
    declared: u64,
    compressed: u64,
}

/// Checks (and with `dest`, extracts) the zip `file` holds; with `zips`,
/// every `*.zip` file written is sent there once closed.
fn process<R: Read + Seek>(
    mut file: R,
    dest: Option<&Path>,
    limits: &UnpackLimits,
    zips: Option<&mpsc::Sender<Written>>,
) -> Result<UnpackReport, UnpackError> {
    let len = file.seek(SeekFrom::End(0)).map_err(UnpackError::Read)?;
    if len == 0 {
        return Err(UnpackError::EmptyFile);
    }
    let raw =
        directory::read_directory(&mut file, len, limits.max_entries).map_err(|e| match e {
            DirectoryError::Io(e) => UnpackError::Read(e),
            DirectoryError::NoEndRecord {
                looks_like_zip: true,
            } => UnpackError::Truncated,
            DirectoryError::NoEndRecord {
                looks_like_zip: false,
            } => UnpackError::NotAZip,
            DirectoryError::Corrupt(detail) => UnpackError::Corrupt { detail },
            DirectoryError::MultiDisk => UnpackError::MultiDisk,
            DirectoryError::TooManyEntries { count } => UnpackError::TooManyEntries {
                count,
                max: limits.max_entries,
            },
            DirectoryError::DirectoryTooLarge { bytes } => UnpackError::DirectoryTooLarge {
                bytes,
                max: directory::MAX_DIRECTORY_BYTES,
            },
            DirectoryError::NameTooLong { index, len } => UnpackError::NameTooLong {
                index: index + 1,
                len,
                max: directory::MAX_NAME_BYTES,
            },
        })?;
    if raw.is_empty() {
        return Err(UnpackError::EmptyArchive);
    }

    let checked = check_entries(&raw, limits)?;

    let mut archive = zip::ZipArchive::new(file).map_err(|e| UnpackError::Corrupt {
        detail: e.to_string(),
    })?;
    if archive.len() != checked.len() {
        return Err(UnpackError::Corrupt {
            detail: format!(
                "the directory lists {} entries but only {} distinct names",
                checked.len(),
                archive.len()
            ),
        });
    }

    let mut report = UnpackReport::default();
    let mut made_dirs: HashSet<String> = HashSet::new();
    let mut buf = vec![0u8; BUFFER_BYTES];
    for (index, (entry, raw_entry)) in checked.iter().zip(&raw).enumerate() {
        let shown = Shown::new(&entry.path);
        let mut zf = archive
            .by_index(index)
            .map_err(|e| UnpackError::CorruptEntry {
                entry: shown.clone(),
                detail: e.to_string(),
            })?;
        if zf.name_raw() != raw_entry.name.as_slice() {
            return Err(UnpackError::AmbiguousName {
                entry: shown,
                unicode: Shown::new(&String::from_utf8_lossy(zf.name_raw())),
            });
        }
        match entry.kind {
            Kind::Directory => {
                if let Some(dest) = dest.filter(|_| !entry.path.is_empty()) {
                    ensure_dirs(dest, &entry.path, &mut made_dirs, &shown)?;
                }
                report.directories += 1;
            }
            Kind::File { executable } => {
                let target = dest.map(|dest| dest.join(&entry.path));
                let mut out = match (dest, &target) {
                    (Some(dest), Some(target)) => {
                        if let Some((parent, _)) = entry.path.rsplit_once('/') {
                            ensure_dirs(dest, parent, &mut made_dirs, &shown)?;
                        }
                        Some(create_file(target, executable).map_err(|source| {
                            write_error(&shown, &entry.path, source, &made_dirs)
                        })?)
                    }
                    _ => None,
                };
                let mut written: u64 = 0;
                loop {
                    let n = match zf.read(&mut buf) {
                        Ok(0) => break,
                        Ok(n) => n as u64,
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                        Err(e) => {
                            return Err(UnpackError::CorruptEntry {
                                entry: shown,
                                detail: describe_read_error(&e),
                            });
                        }
                    };
                    written += n;
                    if report.bytes + written > limits.max_total_bytes {
                        return Err(UnpackError::TooLarge {
                            entry: shown,
                            bytes: report.bytes + written,
                            max: limits.max_total_bytes,
                        });
                    }
                    if written > entry.declared {
                        return Err(UnpackError::SizeMismatch {
                            entry: shown,
                            declared: entry.declared,
                            actual: written,
                        });
                    }
                    if written > limits.ratio_floor_bytes
                        && written / entry.compressed.max(1) > limits.max_ratio
                    {
                        return Err(UnpackError::RatioExceeded {
                            entry: shown,
                            bytes: written,
                            compressed: entry.compressed,
                            max_ratio: limits.max_ratio,
                        });
                    }
                    if let Some(out) = out.as_mut() {
                        out.write_all(&buf[..n as usize])
                            .map_err(|source| UnpackError::Write {
                                entry: shown.clone(),
                                source,
                            })?;
                    }
                }
                if written != entry.declared {
                    return Err(UnpackError::SizeMismatch {
                        entry: shown,
                        declared: entry.declared,
                        actual: written,
                    });
                }
                if let Some(mut out) = out {
                    out.flush().map_err(|source| UnpackError::Write {
                        entry: shown.clone(),
                        source,
                    })?;
                }
                if let (Some(path), Some(zips)) = (target, zips)
                    && looks_like_zip(&entry.path)
                {
                    // A send fails only when every verifier is gone: then the
                    // zip is simply not pre-verified.
                    let _ = zips.send(Written {
                        path,
                        zip_bytes: written,
                    });
                }
                report.files += 1;
                report.bytes += written;
            }
        }
    }
    Ok(report)
}

/// All checks that need only the central directory.
fn check_entries(raw: &[RawEntry], limits: &UnpackLimits) -> Result<Vec<Checked>, UnpackError> {
    let mut seen: HashSet<String> = HashSet::with_capacity(raw.len());
    let mut declared_total: u64 = 0;
    let mut out = Vec::with_capacity(raw.len());
    for e in raw {
        let name = std::str::from_utf8(&e.name).map_err(|_| UnpackError::NonUtf8Name {
            raw: format!("`{}`", e.name.escape_ascii()),
        })?;
        let shown = Shown::new(name);
        if name == "./" {
            // Some archivers store the root itself; nothing to create.
            if !seen.insert(String::new()) {
                return Err(UnpackError::Duplicate { entry: shown });
            }
            out.push(Checked {
                path: String::new(),
                kind: Kind::Directory,
                declared: 0,
                compressed: 0,
            });
            continue;
        }
        let (path, dir_by_name) = normalize(name).map_err(|reason| UnpackError::UnsafePath {
            entry: shown.clone(),
            reason,
        })?;
        let kind = match e.unix_mode().map(|m| m & 0o170_000) {
            Some(0o120_000) => return Err(UnpackError::Symlink { entry: shown }),
            Some(0o020_000) => {
                return Err(UnpackError::SpecialFile {
                    entry: shown,
                    kind: "character device",
                });
            }
            Some(0o060_000) => {
                return Err(UnpackError::SpecialFile {
                    entry: shown,
                    kind: "block device",
                });
            }
            Some(0o010_000) => {
                return Err(UnpackError::SpecialFile {
                    entry: shown,
                    kind: "named pipe (fifo)",
                });
            }
            Some(0o140_000) => {
                return Err(UnpackError::SpecialFile {
                    entry: shown,
                    kind: "socket",
                });
            }
            Some(0o040_000) => Kind::Directory,
            _ if dir_by_name || (e.unix_mode().is_none() && e.dos_directory()) => Kind::Directory,
            mode => Kind::File {
                executable: mode.is_some() && e.unix_mode().unwrap_or(0) & 0o111 != 0,
            },
        };
        if e.flags & 1 != 0 {
            return Err(UnpackError::Encrypted { entry: shown });
        }
        if kind != Kind::Directory && e.method != 0 && e.method != 8 {
            return Err(UnpackError::UnsupportedCompression {
                entry: shown,
                method: e.method,
            });
        }
        if !seen.insert(path.clone()) {
            return Err(UnpackError::Duplicate { entry: shown });
        }
        let declared = if kind == Kind::Directory {
            0
        } else {
            e.uncompressed_size
        };
        declared_total = declared_total.saturating_add(declared);
        if declared_total > limits.max_total_bytes {
            return Err(UnpackError::TooLarge {
                entry: shown,
                bytes: declared_total,
                max: limits.max_total_bytes,
            });
        }
        out.push(Checked {
            path,
            kind,
            declared,
            compressed: e.compressed_size,
        });
    }
    Ok(out)
}

/// The safe relative form of an entry name (components joined by `/`,
/// without `.` or empty components) and whether the name ends with `/`.
pub(crate) fn normalize(name: &str) -> Result<(String, bool), &'static str> {
    if name.is_empty() {
        return Err("is empty");
    }
    if name.contains('\0') {
        return Err("contains a NUL byte");
    }
    if name.contains('\\') {
        return Err("contains a backslash (Windows separator)");
    }
    if name.starts_with('/') {
        return Err("is an absolute path");
    }
    let bytes = name.as_bytes();
    if bytes.len() >= 2 && bytes[0].is_ascii_alphabetic() && bytes[1] == b':' {
        return Err("starts with a Windows drive letter");
    }
    let mut parts = Vec::new();
    for part in name.split('/') {
        match part {
            "" | "." => {}
            ".." => return Err("contains a `..` component (zip-slip)"),
            p => parts.push(p),
        }
    }
    if parts.is_empty() {
        return Err("names no file");
    }
    Ok((parts.join("/"), name.ends_with('/')))
}

/// Creates `dest/rel` and its parents, one component at a time, refusing to
/// pass through anything that is not a real directory.
fn ensure_dirs(
    dest: &Path,
    rel: &str,
    made: &mut HashSet<String>,
    shown: &Shown,
) -> Result<(), UnpackError> {
    let mut prefix = String::new();
    for part in rel.split('/') {
        if !prefix.is_empty() {
            prefix.push('/');
        }
        prefix.push_str(part);
        if made.contains(&prefix) {
            continue;
        }
        let path: PathBuf = dest.join(&prefix);
        match fs::create_dir(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                let is_dir = fs::symlink_metadata(&path)
                    .map(|m| m.file_type().is_dir())
                    .unwrap_or(false);
                if !is_dir {
                    return Err(UnpackError::PathConflict {
                        entry: shown.clone(),
                        conflict: Shown::new(&prefix),
                    });
                }
            }
            Err(source) => {
                return Err(UnpackError::Write {
                    entry: shown.clone(),
                    source,
                });
            }
        }
        made.insert(prefix.clone());
    }
    Ok(())
}

fn create_file(path: &Path, executable: bool) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(if executable { 0o755 } else { 0o644 });
    }
    #[cfg(not(unix))]
    let _ = executable;
    options.open(path)
}

fn write_error(
    shown: &Shown,
    path: &str,
    source: io::Error,
    made: &HashSet<String>,
) -> UnpackError {
    if source.kind() == io::ErrorKind::AlreadyExists {
        if made.contains(path) {
            return UnpackError::PathConflict {
                entry: Shown::new(&format!("{path}/…")),
                conflict: shown.clone(),
            };
        }
        return UnpackError::Duplicate {
            entry: shown.clone(),
        };
    }
    UnpackError::Write {
        entry: shown.clone(),
        source,
    }
}

fn describe_read_error(e: &io::Error) -> String {
    let text = e.to_string();
    if text.contains("checksum") {
        "CRC-32 checksum mismatch".to_string()
    } else if e.kind() == io::ErrorKind::UnexpectedEof {
        "unexpected end of data".to_string()
    } else {
        text
    }
}
