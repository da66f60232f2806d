//! Release artifacts on disk: safe unpacking of zips (the CodePipeline input
//! artifact and the function bundles inside it), deterministic packaging of
//! `source` directories into Lambda zips, and the `CodeSha256` Lambda computes.
//!
//! Everything here is synchronous std I/O with bounded buffers: memory use does
//! not depend on the size of an artifact. [`unpack_verifying_zips`] overlaps
//! the work on a few scoped std threads (zips inside the artifact are
//! verified and hashed while the rest unpacks), and can read the artifact
//! while it is still being downloaded through a [`GrowingFile`] (reads wait
//! for bytes not yet written). The module knows
//! nothing about AWS, tokio, jobs or manifests; the runtime calls it through
//! `spawn_blocking` and maps [`UnpackError`] and [`PackageError`] to a
//! `ConfigurationError`.

mod directory;
mod growing;
mod package;
mod unpack;

#[cfg(test)]
mod tests;
#[cfg(test)]
pub(crate) mod testzip;

pub use growing::{FillProgress, Filling, GrowingFile, directory_start};
pub use package::{PackageError, PackageLimits, PackagedBundle, package};
pub use unpack::{
    UnpackError, UnpackLimits, UnpackReport, VerifiedZip, VerifiedZips, unpack,
    unpack_verifying_zips, unpack_verifying_zips_from, verify,
};

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use base64::Engine as _;
use sha2::{Digest, Sha256};

/// `path` as a safe `/`-separated relative path (no `..`, not absolute, no
/// backslashes or drive letters; `.` and empty components dropped), or why
/// it is not one. The same rule unpacking applies to entry names.
pub fn safe_relative_path(path: &str) -> Result<String, &'static str> {
    unpack::normalize(path).map(|(p, _)| p)
}

/// Buffer size of every streaming copy in this module.
pub(crate) const BUFFER_BYTES: usize = 64 * 1024;

/// `CodeSha256` of a zip file as Lambda reports it: the standard base64 of
/// the SHA-256 of the zip's bytes. Streams the file with a bounded buffer.
pub fn code_sha256_file(path: &Path) -> io::Result<String> {
    let mut file = File::open(path)?;
    code_sha256_reader(&mut file)
}

/// `CodeSha256` of whatever `reader` yields (streamed).
pub fn code_sha256_reader(reader: &mut impl Read) -> io::Result<String> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; BUFFER_BYTES];
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        hasher.update(&buf[..n]);
    }
    Ok(encode_sha256(hasher))
}

/// `CodeSha256` of everything fed to `hasher`.
fn encode_sha256(hasher: Sha256) -> String {
    base64::engine::general_purpose::STANDARD.encode(hasher.finalize())
}

/// [`code_sha256_file`] and the number of bytes hashed.
pub(crate) fn code_sha256_and_len(path: &Path) -> io::Result<(String, u64)> {
    let mut file = File::open(path)?;
    let mut counted = Counted {
        inner: &mut file,
        bytes: 0,
    };
    let sha = code_sha256_reader(&mut counted)?;
    Ok((sha, counted.bytes))
}

struct Counted<'a, R> {
    inner: &'a mut R,
    bytes: u64,
}

impl<R: Read> Read for Counted<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.bytes += n as u64;
        Ok(n)
    }
}

/// `CodeSha256` of bytes already in memory.
pub fn code_sha256_bytes(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(Sha256::digest(bytes))
}
