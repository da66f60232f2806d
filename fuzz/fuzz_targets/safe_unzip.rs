//! Fuzzes the safe unzip of artifacts (`artifact::unpack`, the caps the
//! runtime uses for a pipeline input artifact) on arbitrary bytes as the zip
//! file. Each input is extracted into a fresh per-input directory under a
//! scratch root, as a job's workspace is. Checks after every input: no
//! panic; the scratch root holds only the zip and that one directory (nothing
//! was written beside or above it); the directory holds only regular files
//! and directories (no symlink, device or fifo); on success the files and
//! bytes on disk are exactly what the report says, and `artifact::verify`
//! (the same checks without the disk) accepts the zip with the same report;
//! every refusal has a message.
#![no_main]

use std::fs;
use std::path::Path;

use libfuzzer_sys::fuzz_target;
use pipeline_canary_core::artifact::{self, UnpackLimits, UnpackReport};
use pipeline_canary_fuzz::scratch;

const ZIP: &str = "input.zip";

/// Regular files and their bytes under `dir`; panics on anything but files
/// and directories.
fn walk(dir: &Path, files: &mut u64, bytes: &mut u64) {
    for entry in fs::read_dir(dir).expect("read the extraction") {
        let entry = entry.expect("read an extracted entry");
        let meta = fs::symlink_metadata(entry.path()).expect("stat an extracted entry");
        let kind = meta.file_type();
        if kind.is_dir() {
            walk(&entry.path(), files, bytes);
        } else if kind.is_file() {
            *files += 1;
            *bytes += meta.len();
        } else {
            panic!("unpack created {} of type {kind:?}", entry.path().display());
        }
    }
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .expect("list the scratch root")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

fuzz_target!(|data: &[u8]| {
    let root = scratch("safe-unzip", |_| {});
    let zip = root.join(ZIP);
    fs::write(&zip, data).expect("write the zip");
    let job = tempfile::Builder::new()
        .prefix("job-")
        .tempdir_in(root)
        .expect("create the job directory");
    let job_name = job
        .path()
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let limits = UnpackLimits::pipeline_artifact();

    let outcome = artifact::unpack(&zip, job.path(), &limits);

    let mut expected = vec![ZIP.to_string(), job_name];
    expected.sort();
    assert_eq!(names(root), expected, "unpack wrote outside its directory");
    let (mut files, mut bytes) = (0, 0);
    walk(job.path(), &mut files, &mut bytes);
    match outcome {
        Ok(report) => {
            assert_eq!(
                (files, bytes),
                (report.files, report.bytes),
                "report vs disk: {report:?}"
            );
            let verified: UnpackReport = artifact::verify(&zip, &limits)
                .unwrap_or_else(|e| panic!("unpack accepted what verify refuses: {e}"));
            assert_eq!(verified, report, "verify and unpack disagree");
        }
        Err(e) => assert!(!e.to_string().is_empty()),
    }
    job.close().expect("remove the job directory");
});
