//! A deployment package as Lambda sees it at upload: its `CodeSha256`
//! (base64 SHA-256 of the zip), its size, its unzipped size (read from the
//! zip's central directory only — nothing is ever unpacked), the simulated
//! behaviour its `.sim/behavior.json` declares, and the zip's bytes, kept
//! (shared, never copied) so GetFunction's `Code.Location` can serve them
//! back. The sim never executes code. This module knows nothing of
//! functions, versions or HTTP.

use std::io::{Cursor, Read};
use std::sync::Arc;

use base64::Engine;
use sha2::{Digest, Sha256};

use super::{Behavior, HookBehavior};
use crate::error::AwsError;

/// Largest zip accepted as a direct upload (`ZipFile`), bytes.
pub const MAX_DIRECT_ZIP: usize = 50 * 1024 * 1024;
/// Largest request body for CreateFunction/UpdateFunctionCode: a 50 MB zip, base64-encoded.
pub const MAX_CODE_REQUEST: usize = 69_905_067;
/// Largest unzipped deployment package, bytes.
pub const MAX_UNZIPPED: u128 = 262_144_000;
/// Where a package declares its simulated behaviour.
pub const BEHAVIOR_FILE: &str = ".sim/behavior.json";

/// What is kept of a package after upload.
#[derive(Debug, Clone, PartialEq)]
pub struct CodeInfo {
    pub sha256: String,
    pub size: u64,
    pub behavior: Behavior,
    pub bytes: ZipBytes,
}

/// A package's zip, shared by `$LATEST` and every version holding it. Two
/// packages with the same `sha256` have the same bytes, so it takes no part
/// in equality, and `Debug` shows its length only.
#[derive(Clone, Default)]
pub struct ZipBytes(pub Arc<[u8]>);

impl PartialEq for ZipBytes {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl std::fmt::Debug for ZipBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ZipBytes({} bytes)", self.0.len())
    }
}

/// Inspects a zip: hash, size, unzipped-size limit, behaviour; keeps it.
pub fn inspect(zip: Vec<u8>) -> Result<CodeInfo, AwsError> {
    let zip: Arc<[u8]> = zip.into();
    let mut info = inspect_bytes(&zip)?;
    info.bytes = ZipBytes(zip);
    Ok(info)
}

fn inspect_bytes(zip: &[u8]) -> Result<CodeInfo, AwsError> {
    let sha256 = base64::engine::general_purpose::STANDARD.encode(Sha256::digest(zip));
    let unzip_error = || {
        AwsError::bad_request(
            "InvalidParameterValueException",
            "Could not unzip uploaded file. Please check your file, then try to upload again.",
        )
    };
    let mut archive = zip::ZipArchive::new(Cursor::new(zip)).map_err(|_| unzip_error())?;
    let unzipped = match archive.decompressed_size() {
        Some(n) => n,
        None => {
            let mut total = 0u128;
            for i in 0..archive.len() {
                let f = archive.by_index_raw(i).map_err(|_| unzip_error())?;
                total += u128::from(f.size());
            }
            total
        }
    };
    if unzipped > MAX_UNZIPPED {
        return Err(AwsError::bad_request(
            "InvalidParameterValueException",
            format!("Unzipped size must be smaller than {MAX_UNZIPPED} bytes"),
        ));
    }
    let behavior = match archive.by_name(BEHAVIOR_FILE) {
        Ok(f) => {
            if f.size() > 64 * 1024 {
                return Err(behavior_error("larger than 64 KiB"));
            }
            let mut text = String::new();
            f.take(64 * 1024)
                .read_to_string(&mut text)
                .map_err(|e| behavior_error(&e.to_string()))?;
            parse_behavior(&text)?
        }
        Err(zip::result::ZipError::FileNotFound) => Behavior::default(),
        Err(_) => return Err(unzip_error()),
    };
    Ok(CodeInfo {
        sha256,
        size: zip.len() as u64,
        behavior,
        bytes: ZipBytes::default(),
    })
}

fn behavior_error(why: &str) -> AwsError {
    AwsError::bad_request(
        "InvalidParameterValueException",
        format!("aws-sim: {BEHAVIOR_FILE} in the deployment package is invalid: {why}"),
    )
}

/// `{"errorRate":0.3,"latencyMs":40,"hook":"succeed"|"fail"|"timeout"}`, all optional.
pub fn parse_behavior(text: &str) -> Result<Behavior, AwsError> {
    let v: serde_json::Value =
        serde_json::from_str(text).map_err(|e| behavior_error(&e.to_string()))?;
    let obj = v
        .as_object()
        .ok_or_else(|| behavior_error("not a JSON object"))?;
    let mut b = Behavior::default();
    if let Some(x) = obj.get("errorRate") {
        match x.as_f64() {
            Some(r) if (0.0..=1.0).contains(&r) => b.error_rate = r,
            _ => return Err(behavior_error("errorRate must be a number in [0, 1]")),
        }
    }
    if let Some(x) = obj.get("latencyMs") {
        match x.as_f64() {
            Some(l) if l >= 0.0 && l.is_finite() => b.latency_ms = l,
            _ => return Err(behavior_error("latencyMs must be a number >= 0")),
        }
    }
    if let Some(x) = obj.get("hook") {
        b.hook = Some(match x.as_str() {
            Some("succeed") => HookBehavior::Succeed,
            Some("fail") => HookBehavior::Fail,
            Some("timeout") => HookBehavior::Timeout,
            _ => {
                return Err(behavior_error(
                    "hook must be \"succeed\", \"fail\" or \"timeout\"",
                ));
            }
        });
    }
    Ok(b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn zip_with(files: &[(&str, &[u8])]) -> Vec<u8> {
        let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        for (name, data) in files {
            w.start_file(*name, opts).unwrap();
            w.write_all(data).unwrap();
        }
        w.finish().unwrap().into_inner()
    }

    #[test]
    fn hashes_and_reads_behavior() {
        let z = zip_with(&[
            ("index.js", b"exports.handler = async () => 1;"),
            (BEHAVIOR_FILE, br#"{"errorRate":0.3,"latencyMs":40}"#),
        ]);
        let info = inspect(z.clone()).unwrap();
        assert_eq!(&*info.bytes.0, &z[..]);
        assert_eq!(info.size, z.len() as u64);
        assert_eq!(info.sha256.len(), 44);
        assert_eq!(info.behavior.error_rate, 0.3);
        assert_eq!(info.behavior.latency_ms, 40.0);
        assert_eq!(info.behavior.hook, None);
    }

    #[test]
    fn absent_behavior_is_healthy_and_garbage_is_refused() {
        let z = zip_with(&[("index.js", b"x")]);
        assert_eq!(inspect(z.clone()).unwrap().behavior, Behavior::default());
        let e = inspect(b"not a zip".to_vec()).unwrap_err();
        assert_eq!(e.code, "InvalidParameterValueException");
        let z = zip_with(&[(BEHAVIOR_FILE, br#"{"hook":"maybe"}"#)]);
        assert!(inspect(z.clone()).is_err());
        assert_eq!(
            parse_behavior(r#"{"hook":"timeout"}"#).unwrap().hook,
            Some(HookBehavior::Timeout)
        );
    }
}
