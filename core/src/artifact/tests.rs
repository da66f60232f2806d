//! Tests of unpacking (each hostile shape of issue 9 that concerns zips) and
//! of deterministic packaging.

use std::fs;
use std::path::{Path, PathBuf};

use super::testzip::{self, Spec};
use super::*;

struct Case {
    _dir: tempfile::TempDir,
    zip: PathBuf,
    dest: PathBuf,
    /// Parent of `dest`: nothing may ever be written here but `dest` itself.
    outside: PathBuf,
}

fn case(bytes: &[u8]) -> Case {
    let dir = tempfile::tempdir().unwrap();
    let zip = dir.path().join("artifact.zip");
    fs::write(&zip, bytes).unwrap();
    let outside = dir.path().join("jobs");
    let dest = outside.join("job-1");
    fs::create_dir_all(&dest).unwrap();
    Case {
        _dir: dir,
        zip,
        dest,
        outside,
    }
}

fn small_limits() -> UnpackLimits {
    UnpackLimits {
        max_entries: 100,
        max_total_bytes: 1024 * 1024,
        max_ratio: 50,
        ratio_floor_bytes: 64 * 1024,
    }
}

fn unpack_err(bytes: &[u8]) -> (UnpackError, Case) {
    let c = case(bytes);
    let err = unpack(&c.zip, &c.dest, &small_limits()).expect_err("must be refused");
    // Nothing was ever written next to the job directory.
    let siblings: Vec<_> = fs::read_dir(&c.outside).unwrap().collect();
    assert_eq!(siblings.len(), 1, "files written outside the job dir");
    (err, c)
}

fn tree(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            out.push(p.strip_prefix(root).unwrap().display().to_string());
            if p.is_dir() {
                stack.push(p);
            }
        }
    }
    out.sort();
    out
}

#[test]
fn unpacks_a_normal_zip_with_modes() {
    let files: [(&str, &[u8], u32); 3] = [
        ("bootstrap", b"#!/bin/sh\necho hi\n", 0o755),
        (
            "src/handler.js",
            b"exports.handler = async () => 1;\n",
            0o644,
        ),
        ("src/lib/util.js", b"module.exports = {};\n", 0o600),
    ];
    let bytes = testzip::deflated(&files);
    let c = case(&bytes);
    let report = unpack(&c.zip, &c.dest, &small_limits()).unwrap();
    assert_eq!(report.files, 3);
    let expected: usize = files.iter().map(|f| f.1.len()).sum();
    assert_eq!(report.bytes, expected as u64, "bytes counts actual output");
    assert_eq!(
        tree(&c.dest),
        vec![
            "bootstrap",
            "src",
            "src/handler.js",
            "src/lib",
            "src/lib/util.js"
        ]
    );
    assert_eq!(
        fs::read(c.dest.join("src/handler.js")).unwrap(),
        b"exports.handler = async () => 1;\n"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &str| fs::metadata(c.dest.join(p)).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode("bootstrap") & 0o111, 0o111, "executable bit kept");
        assert_eq!(mode("src/handler.js") & 0o111, 0);
    }
    // verify() runs the same checks without writing.
    let v = verify(&c.zip, &small_limits()).unwrap();
    assert_eq!(v, report);
}

#[test]
fn a_root_entry_is_harmless_and_dot_components_are_normalised() {
    let mut root = Spec::file("./", b"");
    root.external = 0o040_755 << 16;
    let bytes = testzip::build(&[root, Spec::file("./a/./b.txt", b"b")]);
    let c = case(&bytes);
    let r = unpack(&c.zip, &c.dest, &small_limits()).unwrap();
    assert_eq!((r.files, r.directories), (1, 1));
    assert_eq!(fs::read(c.dest.join("a/b.txt")).unwrap(), b"b");
}

#[test]
fn zip_slip_parent_components_are_refused() {
    for name in [
        "../evil.txt",
        "a/../../evil.txt",
        "a/b/../../../evil.txt",
        "..",
    ] {
        let (err, c) = unpack_err(&testzip::build(&[
            Spec::file("ok.txt", b"fine"),
            Spec::file(name, b"pwned"),
        ]));
        assert!(
            matches!(err, UnpackError::UnsafePath { .. }),
            "{name}: {err}"
        );
        let msg = err.to_string();
        assert!(msg.contains(&format!("`{name}`")), "names the entry: {msg}");
        assert!(msg.contains(".."), "{msg}");
        assert!(msg.contains("relative paths"), "says the fix: {msg}");
        assert!(!c.outside.join("evil.txt").exists());
        assert!(
            tree(&c.dest).is_empty(),
            "validated before writing anything"
        );
    }
}

#[test]
fn absolute_paths_are_refused() {
    let (err, _) = unpack_err(&testzip::build(&[Spec::file("/etc/cron.d/evil", b"x")]));
    assert!(matches!(err, UnpackError::UnsafePath { .. }));
    assert!(
        err.to_string()
            .contains("`/etc/cron.d/evil` is an absolute path")
    );
}

#[test]
fn windows_separators_and_drive_letters_are_refused() {
    for (name, needle) in [
        ("..\\..\\evil.txt", "backslash"),
        ("dir\\file.txt", "backslash"),
        ("C:/Windows/evil.dll", "drive letter"),
        ("c:evil", "drive letter"),
    ] {
        let (err, _) = unpack_err(&testzip::build(&[Spec::file(name, b"x")]));
        let msg = err.to_string();
        assert!(matches!(err, UnpackError::UnsafePath { .. }), "{name}");
        assert!(msg.contains(needle), "{name}: {msg}");
    }
}

#[test]
fn symlinks_are_refused() {
    let (err, c) = unpack_err(&testzip::build(&[
        Spec::file("link", b"/etc/passwd").with_mode(0o120_777),
        Spec::file("link/x", b"through the link"),
    ]));
    assert!(matches!(err, UnpackError::Symlink { .. }), "{err}");
    assert!(err.to_string().contains("`link` is a symbolic link"));
    assert!(tree(&c.dest).is_empty());
    // Also when written by the zip crate's own symlink API.
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    w.add_symlink("etc", "/etc", zip::write::SimpleFileOptions::default())
        .unwrap();
    let (err, _) = unpack_err(&w.finish().unwrap().into_inner());
    assert!(matches!(err, UnpackError::Symlink { .. }));
}

#[test]
fn device_files_fifos_and_sockets_are_refused() {
    for (mode, kind) in [
        (0o020_644, "character device"),
        (0o060_644, "block device"),
        (0o010_644, "named pipe"),
        (0o140_644, "socket"),
    ] {
        let (err, _) = unpack_err(&testzip::build(&[Spec::file("dev/x", b"").with_mode(mode)]));
        assert!(matches!(err, UnpackError::SpecialFile { .. }));
        let msg = err.to_string();
        assert!(msg.contains("`dev/x`") && msg.contains(kind), "{msg}");
    }
}

#[test]
fn duplicate_entries_are_refused() {
    for (a, b) in [
        ("a.txt", "a.txt"),
        ("dir/a.txt", "dir//./a.txt"),
        ("d/", "d"),
    ] {
        let (err, c) = unpack_err(&testzip::build(&[
            Spec::file(a, b"one"),
            Spec::file(b, b"two"),
        ]));
        assert!(
            matches!(err, UnpackError::Duplicate { .. }),
            "{a} {b}: {err}"
        );
        assert!(err.to_string().contains("more than once"));
        assert!(tree(&c.dest).is_empty());
    }
}

#[test]
fn file_and_directory_with_the_same_path_conflict() {
    let (err, _) = unpack_err(&testzip::build(&[
        Spec::file("a", b"file"),
        Spec::file("a/b", b"needs a dir"),
    ]));
    assert!(matches!(err, UnpackError::PathConflict { .. }), "{err}");
    assert!(err.to_string().contains("`a`"));
}

#[test]
fn non_utf8_names_are_refused_clearly() {
    let mut s = Spec::file("x", b"data");
    s.name = b"caf\xe9.txt".to_vec();
    s.flags = 0; // CP437 as far as the header says
    let (err, _) = unpack_err(&testzip::build(&[s]));
    assert!(matches!(err, UnpackError::NonUtf8Name { .. }));
    let msg = err.to_string();
    assert!(msg.contains("caf\\xe9.txt"), "{msg}");
    assert!(msg.contains("UTF-8 file names"), "{msg}");
}

#[test]
fn unicode_path_field_that_disagrees_with_the_name_is_refused() {
    let mut s = Spec::file("innocent.txt", b"data");
    let target = b"../evil.txt";
    let mut extra = Vec::new();
    extra.extend_from_slice(&0x7075u16.to_le_bytes());
    extra.extend_from_slice(&((5 + target.len()) as u16).to_le_bytes());
    extra.push(1);
    extra.extend_from_slice(&testzip::crc32(b"innocent.txt").to_le_bytes());
    extra.extend_from_slice(target);
    s.cd_extra = extra;
    let (err, c) = unpack_err(&testzip::build(&[s]));
    assert!(matches!(err, UnpackError::AmbiguousName { .. }), "{err}");
    assert!(err.to_string().contains("`innocent.txt`"), "{err}");
    assert!(!c.outside.join("evil.txt").exists());
}

#[test]
fn zip_bomb_by_ratio_is_refused() {
    let zeros = vec![0u8; 900 * 1024];
    let bytes = testzip::deflated(&[("bomb.bin", &zeros, 0o644)]);
    let (err, _) = unpack_err(&bytes);
    assert!(matches!(err, UnpackError::RatioExceeded { .. }), "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains("`bomb.bin`") && msg.contains("zip bomb"),
        "{msg}"
    );
}

#[test]
fn zip_bomb_by_declared_size_is_refused_before_writing() {
    let mut s = Spec::file("big.bin", b"tiny");
    s.declared = Some(3_000_000_000);
    let (err, c) = unpack_err(&testzip::build(&[Spec::file("first.txt", b"x"), s]));
    assert!(matches!(err, UnpackError::TooLarge { .. }), "{err}");
    assert!(err.to_string().contains("`big.bin`"));
    assert!(tree(&c.dest).is_empty(), "refused from the directory alone");
}

#[test]
fn total_size_cap_counts_actual_bytes_across_entries() {
    let chunk: Vec<u8> = (0..400 * 1024u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let bytes = testzip::build(&[
        Spec::file("a.bin", &chunk),
        Spec::file("b.bin", &chunk),
        Spec::file("c.bin", &chunk),
    ]);
    let (err, _) = unpack_err(&bytes);
    assert!(matches!(err, UnpackError::TooLarge { .. }), "{err}");
    assert!(err.to_string().contains("`c.bin`"));
}

#[test]
fn header_that_understates_the_size_is_caught_while_streaming() {
    // Declares 10 bytes, actually stores 5000: never trust the header.
    let mut s = Spec::file("liar.bin", &[7u8; 5000]);
    s.declared = Some(10);
    let (err, _) = unpack_err(&testzip::build(&[s]));
    assert!(
        matches!(
            err,
            UnpackError::SizeMismatch { .. } | UnpackError::CorruptEntry { .. }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("`liar.bin`"));
}

#[test]
fn nested_zips_are_plain_files_and_verified_on_their_own() {
    let inner_bomb = testzip::deflated(&[("zeros", &vec![0u8; 900 * 1024], 0o644)]);
    let outer = testzip::build(&[Spec::file("dist/fn.zip", &inner_bomb)]);
    let c = case(&outer);
    unpack(&c.zip, &c.dest, &small_limits()).unwrap();
    let inner = c.dest.join("dist/fn.zip");
    assert_eq!(
        fs::read(&inner).unwrap(),
        inner_bomb,
        "not extracted recursively"
    );
    let err = verify(&inner, &small_limits()).unwrap_err();
    assert!(matches!(err, UnpackError::RatioExceeded { .. }));
}

#[test]
fn corrupt_data_is_a_clear_error() {
    let mut bytes = testzip::build(&[Spec::file("data.txt", b"hello world, hello world")]);
    // Flip a byte of the stored data (after the 30-byte header and 8-byte name).
    bytes[30 + 8 + 3] ^= 0xFF;
    let (err, _) = unpack_err(&bytes);
    assert!(matches!(err, UnpackError::CorruptEntry { .. }), "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains("`data.txt`") && msg.contains("checksum"),
        "{msg}"
    );
}

#[test]
fn truncated_zip_is_a_clear_error() {
    let bytes = testzip::deflated(&[
        ("a.txt", b"some content here", 0o644),
        ("b.txt", b"more", 0o644),
    ]);
    for cut in [bytes.len() / 2, bytes.len() - 5, 31] {
        let (err, _) = unpack_err(&bytes[..cut]);
        assert!(matches!(err, UnpackError::Truncated), "cut {cut}: {err}");
        assert!(err.to_string().contains("truncated"));
    }
}

#[test]
fn empty_and_not_a_zip_are_clear_errors() {
    let (err, _) = unpack_err(b"");
    assert!(matches!(err, UnpackError::EmptyFile));
    assert!(err.is_artifact_fault());
    assert!(err.to_string().contains("empty file"));
    let (err, _) = unpack_err(&testzip::build(&[]));
    assert!(matches!(err, UnpackError::EmptyArchive));
    assert!(err.to_string().contains("no entries"));
    let (err, _) = unpack_err(b"{\"this\": \"is json, not a zip\"}\n");
    assert!(matches!(err, UnpackError::NotAZip));
    assert!(err.to_string().contains("must be a zip"));
    let (err, _) = unpack_err(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 1, 2, 3]);
    assert!(matches!(err, UnpackError::NotAZip), "gzip is not a zip");
}

#[test]
fn huge_entry_count_is_refused_before_reading_entries() {
    // The end record claims 65,000 entries; the cap is 100.
    let (err, _) = unpack_err(&testzip::build_with_count(
        &[Spec::file("a", b"a")],
        Some(65_000),
    ));
    assert!(
        matches!(
            err,
            UnpackError::TooManyEntries {
                count: 65_000,
                max: 100
            }
        ),
        "{err}"
    );
    // And a real archive with too many entries.
    let specs: Vec<Spec> = (0..101)
        .map(|i| Spec::file(&format!("f{i}"), b"x"))
        .collect();
    let (err, _) = unpack_err(&testzip::build(&specs));
    assert!(matches!(
        err,
        UnpackError::TooManyEntries { count: 101, .. }
    ));
    assert!(err.to_string().contains("101 entries"));
}

#[test]
fn encrypted_and_exotic_compression_are_refused() {
    let mut s = Spec::file("secret.txt", b"xxxx");
    s.flags |= 1;
    let (err, _) = unpack_err(&testzip::build(&[s]));
    assert!(matches!(err, UnpackError::Encrypted { .. }));
    let mut s = Spec::file("b.txt", b"xxxx");
    s.method = 12; // bzip2
    let (err, _) = unpack_err(&testzip::build(&[s]));
    assert!(matches!(
        err,
        UnpackError::UnsupportedCompression { method: 12, .. }
    ));
    assert!(err.to_string().contains("deflate"));
}

#[test]
fn overlapping_entries_are_refused() {
    let mut bytes = testzip::build(&[
        Spec::file("a", b"payload-payload"),
        Spec::file("b", b"other"),
    ]);
    // Point the second central-directory entry's local header offset at the first.
    let cd_start =
        u32::from_le_bytes(bytes[bytes.len() - 6..bytes.len() - 2].try_into().unwrap()) as usize;
    let second = cd_start + 46 + 1; // first CD entry: 46 bytes + name "a"
    bytes[second + 42..second + 46].copy_from_slice(&0u32.to_le_bytes());
    let (err, _) = unpack_err(&bytes);
    assert!(matches!(err, UnpackError::Corrupt { .. }), "{err}");
    assert!(err.to_string().contains("overlap"));
}

fn write_tree(root: &Path, files: &[(&str, &[u8], u32)]) {
    for (rel, data, mode) in files {
        let p = root.join(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(&p, data).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(&p, fs::Permissions::from_mode(*mode)).unwrap();
        }
    }
}

#[test]
fn packaging_is_byte_identical_across_mtimes_and_creation_order() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    let files: [(&str, &[u8], u32); 5] = [
        (
            "handler.js",
            b"exports.handler = async () => ({ ok: true });\n",
            0o644,
        ),
        ("bootstrap", b"#!/bin/sh\nexec node handler.js\n", 0o755),
        ("lib/z.js", b"module.exports = 'z';\n", 0o644),
        ("lib/a.js", b"module.exports = 'a'.repeat(100);\n", 0o640),
        ("node_modules/dep/index.js", &[b'x'; 10_000], 0o600),
    ];
    write_tree(&a, &files);
    let mut reversed = files;
    reversed.reverse();
    // Other group/other bits (umask) and a different order and mtime in b.
    let reversed: Vec<(&str, &[u8], u32)> = reversed
        .iter()
        .map(|(r, d, m)| (*r, *d, if m & 0o111 != 0 { 0o700 } else { 0o664 }))
        .collect();
    write_tree(&b, &reversed);
    let old = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000_000);
    for (rel, _, _) in &files {
        fs::File::options()
            .write(true)
            .open(b.join(rel))
            .unwrap()
            .set_modified(old)
            .unwrap();
    }
    let za = package(&a, &dir.path().join("a.zip"), &PackageLimits::default()).unwrap();
    let zb = package(&b, &dir.path().join("b.zip"), &PackageLimits::default()).unwrap();
    assert_eq!(fs::read(&za.path).unwrap(), fs::read(&zb.path).unwrap());
    assert_eq!(za.code_sha256, zb.code_sha256);
    assert_eq!(za.code_sha256, code_sha256_file(&za.path).unwrap());
    assert_eq!(za.files, 5);

    // The zip's entries: sorted, 1980-01-01, 0644/0755, no directories.
    let mut archive = zip::ZipArchive::new(fs::File::open(&za.path).unwrap()).unwrap();
    let names: Vec<String> = archive.file_names().map(str::to_string).collect();
    assert_eq!(
        names,
        [
            "bootstrap",
            "handler.js",
            "lib/a.js",
            "lib/z.js",
            "node_modules/dep/index.js"
        ]
    );
    for i in 0..archive.len() {
        let f = archive.by_index(i).unwrap();
        assert_eq!(f.last_modified(), Some(zip::DateTime::default()));
        let expected = if f.name() == "bootstrap" {
            0o100_755
        } else {
            0o100_644
        };
        assert_eq!(f.unix_mode(), Some(expected), "{}", f.name());
        assert_eq!(f.compression(), zip::CompressionMethod::Deflated);
    }

    // A content change or an executable-bit change changes the hash.
    fs::write(b.join("lib/z.js"), b"module.exports = 'Z';\n").unwrap();
    let zc = package(&b, &dir.path().join("c.zip"), &PackageLimits::default()).unwrap();
    assert_ne!(zc.code_sha256, za.code_sha256);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(a.join("handler.js"), fs::Permissions::from_mode(0o744)).unwrap();
        let zd = package(&a, &dir.path().join("d.zip"), &PackageLimits::default()).unwrap();
        assert_ne!(zd.code_sha256, za.code_sha256);
    }
}

#[test]
fn packaged_zip_unpacks_to_the_same_tree() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    write_tree(
        &src,
        &[
            ("bootstrap", b"#!/bin/sh\n", 0o755),
            ("a/b/c.txt", b"deep", 0o644),
        ],
    );
    let z = package(&src, &dir.path().join("fn.zip"), &PackageLimits::default()).unwrap();
    let out = dir.path().join("out");
    fs::create_dir(&out).unwrap();
    let r = unpack(&z.path, &out, &UnpackLimits::function_bundle()).unwrap();
    assert_eq!(r.files, 2);
    assert_eq!(fs::read(out.join("a/b/c.txt")).unwrap(), b"deep");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let m = fs::metadata(out.join("bootstrap"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(m & 0o111, 0o111);
    }
}

#[test]
fn packaging_refuses_symlinks_empty_and_missing_sources() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    write_tree(&src, &[("index.js", b"x", 0o644)]);
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink("/etc/passwd", src.join("passwd")).unwrap();
        let err = package(&src, &dir.path().join("x.zip"), &PackageLimits::default()).unwrap_err();
        assert!(
            matches!(err, PackageError::Symlink(ref p) if p == "passwd"),
            "{err}"
        );
        assert!(err.to_string().contains("symbolic link"));
        fs::remove_file(src.join("passwd")).unwrap();
    }
    let empty = dir.path().join("empty");
    fs::create_dir_all(empty.join("sub")).unwrap();
    let err = package(&empty, &dir.path().join("y.zip"), &PackageLimits::default()).unwrap_err();
    assert!(matches!(err, PackageError::Empty(_)));
    let err = package(
        &dir.path().join("nope"),
        &dir.path().join("z.zip"),
        &PackageLimits::default(),
    )
    .unwrap_err();
    assert!(matches!(err, PackageError::NotADirectory(_)));
    let limits = PackageLimits {
        max_files: 10,
        max_total_bytes: 0,
    };
    let err = package(&src, &dir.path().join("w.zip"), &limits).unwrap_err();
    assert!(matches!(err, PackageError::TooLarge { .. }));
}

#[test]
fn code_sha256_matches_lambda_encoding() {
    // SHA-256("") in standard base64, as Lambda would print it.
    assert_eq!(
        code_sha256_bytes(b""),
        "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
    );
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("x.zip");
    let data: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(&p, &data).unwrap();
    assert_eq!(code_sha256_file(&p).unwrap(), code_sha256_bytes(&data));
    assert_eq!(code_sha256_file(&p).unwrap().len(), 44);
}

#[test]
fn zip64_archives_with_more_than_65535_entries_are_read() {
    use std::io::Write;
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let o = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Stored)
        .large_file(true);
    for i in 0..66_000u32 {
        w.start_file(format!("d{}/f{i}", i % 100), o).unwrap();
        w.write_all(b"x").unwrap();
    }
    let bytes = w.finish().unwrap().into_inner();
    let limits = UnpackLimits {
        max_entries: 70_000,
        ..small_limits()
    };
    let c = case(&bytes);
    let r = verify(&c.zip, &limits).unwrap();
    assert_eq!(r.files, 66_000);
    assert_eq!(r.bytes, 66_000);
    let err = verify(&c.zip, &small_limits()).unwrap_err();
    assert!(
        matches!(err, UnpackError::TooManyEntries { count: 66_000, .. }),
        "{err}"
    );
}

#[test]
fn unpack_verifying_zips_hashes_and_verifies_inner_zips_only() {
    let good = testzip::deflated(&[
        ("index.js", b"exports.handler = 1;\n", 0o644),
        ("lib/a.js", &[7u8; 5000], 0o644),
    ]);
    let slip = testzip::build(&[Spec::file("../evil.js", b"x")]);
    let bomb = testzip::deflated(&[("zeros", &vec![0u8; 900 * 1024], 0o644)]);
    let outer = testzip::deflated(&[
        ("pipeline-canary.json", b"{}", 0o644),
        ("dist/good.zip", &good, 0o644),
        ("dist/UPPER.ZIP", &good, 0o644),
        ("dist/slip.zip", &slip, 0o644),
        ("dist/bomb.zip", &bomb, 0o644),
        ("dist/not-a-bundle.bin", &good, 0o644),
    ]);
    let c = case(&outer);
    let (report, verified) =
        unpack_verifying_zips(&c.zip, &c.dest, &small_limits(), &small_limits()).unwrap();
    assert_eq!(report, verify(&c.zip, &small_limits()).unwrap());
    assert_eq!(report.files, 6);
    for name in ["dist/good.zip", "dist/UPPER.ZIP"] {
        let p = c.dest.join(name);
        assert_eq!(fs::read(&p).unwrap(), good, "{name} written as is");
        assert_eq!(
            verified.get(&p),
            Some(&VerifiedZip {
                code_sha256: code_sha256_bytes(&good),
                zip_bytes: good.len() as u64,
            }),
            "{name}"
        );
    }
    // Zips that fail the inner checks, and files not named *.zip, are left
    // to the caller.
    for name in ["dist/slip.zip", "dist/bomb.zip", "dist/not-a-bundle.bin"] {
        assert!(c.dest.join(name).is_file(), "{name} unpacked");
        assert_eq!(verified.get(&c.dest.join(name)), None, "{name}");
    }
    assert_eq!(verified.len(), 2);
    // The inner limits are the caller's: with a 4-byte ratio cap for
    // entries over 1 KiB, the 5000 zero-ish bytes of lib/a.js fail.
    let strict = UnpackLimits {
        max_ratio: 4,
        ratio_floor_bytes: 1024,
        ..small_limits()
    };
    let c2 = case(&outer);
    let (_, verified) = unpack_verifying_zips(&c2.zip, &c2.dest, &small_limits(), &strict).unwrap();
    assert!(verified.is_empty());
}

#[test]
fn unpack_verifying_zips_refuses_a_hostile_artifact_like_unpack() {
    let good = testzip::deflated(&[("index.js", b"1", 0o644)]);
    let hostile = testzip::build(&[
        Spec::file("dist/a.zip", &good),
        Spec::file("link", b"/etc/passwd").with_mode(0o120_777),
    ]);
    let c = case(&hostile);
    let err = unpack_verifying_zips(&c.zip, &c.dest, &small_limits(), &small_limits())
        .expect_err("must be refused");
    assert!(matches!(err, UnpackError::Symlink { .. }), "{err}");
    // A corrupt entry after a zip: the CRC error of unpack, not a result.
    let mut bytes = testzip::build(&[
        Spec::file("dist/a.zip", &good),
        Spec::file("b.txt", b"hello world"),
    ]);
    let at = bytes.windows(11).position(|w| w == b"hello world").unwrap();
    bytes[at] ^= 0xFF;
    let c = case(&bytes);
    let err = unpack_verifying_zips(&c.zip, &c.dest, &small_limits(), &small_limits())
        .expect_err("must be refused");
    assert!(
        matches!(err, UnpackError::CorruptEntry { ref detail, .. } if detail.contains("CRC")),
        "{err}"
    );
}

#[test]
fn looks_like_zip_is_a_case_insensitive_suffix() {
    assert!(super::unpack::looks_like_zip("a.zip"));
    assert!(super::unpack::looks_like_zip("dist/B.Zip"));
    assert!(!super::unpack::looks_like_zip(".zip"));
    assert!(!super::unpack::looks_like_zip("a.zipx"));
    assert!(!super::unpack::looks_like_zip("zip"));
}
