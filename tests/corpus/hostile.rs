//! The hostile and broken input corpus (issue 9), as generator code: every
//! case is built in memory (raw zip bytes written field by field for the
//! shapes the zip crate refuses to write: `../` and absolute names,
//! duplicates, symlink and device modes, non-UTF-8 names, lying sizes,
//! forged entry counts). Each case says what the job must fail with and
//! which path/field its message must name. Knows nothing about the sim or
//! the worker: `tests/tests/hostile_inputs.rs` runs the cases.

use std::io::Write;

/// One stored (or raw) zip entry.
#[derive(Debug, Clone)]
pub struct Raw {
    pub name: Vec<u8>,
    pub data: Vec<u8>,
    /// Unix mode in the external attributes (host byte 3 = Unix).
    pub mode: u32,
    /// General-purpose flags (0x0800 = UTF-8 names, 1 = encrypted).
    pub flags: u16,
    pub method: u16,
    /// Overrides the declared uncompressed size.
    pub declared: Option<u32>,
}

impl Raw {
    pub fn file(name: &str, data: &[u8]) -> Raw {
        Raw {
            name: name.as_bytes().to_vec(),
            data: data.to_vec(),
            mode: 0o100_644,
            flags: 0x0800,
            method: 0,
            declared: None,
        }
    }

    pub fn mode(mut self, mode: u32) -> Raw {
        self.mode = mode;
        self
    }
}

fn crc32(data: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(data);
    h.finalize()
}

/// A zip of `entries` written byte by byte. `count` forces the end record's
/// entry count; `zip64_count` writes a zip64 end record claiming that many.
pub fn raw_zip(entries: &[Raw], count: Option<u16>, zip64_count: Option<u64>) -> Vec<u8> {
    let mut out = Vec::new();
    let mut offsets = Vec::new();
    let le16 = |o: &mut Vec<u8>, v: u16| o.extend_from_slice(&v.to_le_bytes());
    let le32 = |o: &mut Vec<u8>, v: u32| o.extend_from_slice(&v.to_le_bytes());
    for e in entries {
        offsets.push(out.len() as u32);
        let size = e.declared.unwrap_or(e.data.len() as u32);
        le32(&mut out, 0x0403_4b50);
        le16(&mut out, 20);
        le16(&mut out, e.flags);
        le16(&mut out, e.method);
        le16(&mut out, 0);
        le16(&mut out, 0x21);
        le32(&mut out, crc32(&e.data));
        le32(&mut out, e.data.len() as u32);
        le32(&mut out, size);
        le16(&mut out, e.name.len() as u16);
        le16(&mut out, 0);
        out.extend_from_slice(&e.name);
        out.extend_from_slice(&e.data);
    }
    let cd_start = out.len() as u32;
    for (e, off) in entries.iter().zip(&offsets) {
        let size = e.declared.unwrap_or(e.data.len() as u32);
        le32(&mut out, 0x0201_4b50);
        le16(&mut out, (3 << 8) | 20);
        le16(&mut out, 20);
        le16(&mut out, e.flags);
        le16(&mut out, e.method);
        le16(&mut out, 0);
        le16(&mut out, 0x21);
        le32(&mut out, crc32(&e.data));
        le32(&mut out, e.data.len() as u32);
        le32(&mut out, size);
        le16(&mut out, e.name.len() as u16);
        le16(&mut out, 0);
        le16(&mut out, 0);
        le16(&mut out, 0);
        le16(&mut out, 0);
        le32(&mut out, e.mode << 16);
        le32(&mut out, *off);
        out.extend_from_slice(&e.name);
    }
    let cd_size = out.len() as u32 - cd_start;
    if let Some(n) = zip64_count {
        let eocd64 = out.len() as u64;
        le32(&mut out, 0x0606_4b50);
        out.extend_from_slice(&44u64.to_le_bytes());
        le16(&mut out, 45);
        le16(&mut out, 45);
        le32(&mut out, 0);
        le32(&mut out, 0);
        out.extend_from_slice(&n.to_le_bytes());
        out.extend_from_slice(&n.to_le_bytes());
        out.extend_from_slice(&u64::from(cd_size).to_le_bytes());
        out.extend_from_slice(&u64::from(cd_start).to_le_bytes());
        le32(&mut out, 0x0706_4b50);
        le32(&mut out, 0);
        out.extend_from_slice(&eocd64.to_le_bytes());
        le32(&mut out, 1);
    }
    let n = if zip64_count.is_some() {
        0xFFFF
    } else {
        count.unwrap_or(entries.len() as u16)
    };
    le32(&mut out, 0x0605_4b50);
    le16(&mut out, 0);
    le16(&mut out, 0);
    le16(&mut out, n);
    le16(&mut out, n);
    if zip64_count.is_some() {
        le32(&mut out, 0xFFFF_FFFF);
        le32(&mut out, 0xFFFF_FFFF);
    } else {
        le32(&mut out, cd_size);
        le32(&mut out, cd_start);
    }
    le16(&mut out, 0);
    out
}

/// A zip written by the zip crate (deflated), `(name, bytes)` entries.
pub fn deflated(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let o = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .last_modified_time(zip::DateTime::default());
    for (name, data) in entries {
        w.start_file(*name, o).unwrap();
        w.write_all(data).unwrap();
    }
    w.finish().unwrap().into_inner()
}

/// A small valid function bundle.
pub fn bundle(tag: &str) -> Vec<u8> {
    deflated(&[(
        "index.js",
        format!("exports.handler = async () => '{tag}';").as_bytes(),
    )])
}

/// How a case must end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    Configuration,
    Permission,
}

impl Expect {
    pub fn code(self) -> &'static str {
        match self {
            Expect::Configuration => "ConfigurationError",
            Expect::Permission => "PermissionError",
        }
    }
}

/// One hostile input: the artifact and/or the action configuration.
#[derive(Debug, Clone)]
pub struct Case {
    pub name: &'static str,
    pub artifact: Vec<u8>,
    /// Action configuration overriding the defaults (a pipeline of its own).
    pub config: Vec<(&'static str, &'static str)>,
    pub expect: Expect,
    /// Every one of these must appear in the failure message.
    pub names: Vec<String>,
}

/// The function names the corpus refers to (they exist, `collect-` prefix).
pub const FN_A: &str = "collect-a";
pub const FN_B: &str = "collect-b";
/// An alarm that exists in CloudWatch.
pub const ALARM: &str = "collect-a-errors";
/// Where the absolute-path zip-slip entry would land (must never appear).
pub fn absolute_target() -> String {
    format!(
        "/tmp/pipeline-canary-hostile-{}/evil.txt",
        std::process::id()
    )
}

/// A valid manifest (AllAtOnce, alias `live`) around `functions` entries.
fn manifest(functions: serde_json::Value) -> String {
    serde_json::json!({
        "version": 1,
        "defaults": {"alias": "live", "deploymentConfig": "AllAtOnce"},
        "functions": functions,
    })
    .to_string()
}

fn good_manifest() -> String {
    manifest(serde_json::json!([{"name": FN_A, "package": "dist/a.zip"}]))
}

/// An artifact: `pipeline-canary.json` = `manifest`, `dist/a.zip` = a good
/// bundle, plus `extra` raw entries, written raw.
fn artifact(manifest: &str, extra: Vec<Raw>) -> Vec<u8> {
    let mut e = vec![
        Raw::file("pipeline-canary.json", manifest.as_bytes()),
        Raw::file("dist/a.zip", &bundle("a-hostile")),
    ];
    e.extend(extra);
    raw_zip(&e, None, None)
}

/// A good manifest plus one hostile entry.
fn with_entry(extra: Raw) -> Vec<u8> {
    artifact(&good_manifest(), vec![extra])
}

/// An artifact whose `dist/a.zip` is `bundle`.
fn with_bundle(bundle: Vec<u8>) -> Vec<u8> {
    raw_zip(
        &[
            Raw::file("pipeline-canary.json", good_manifest().as_bytes()),
            Raw::file("dist/a.zip", &bundle),
        ],
        None,
        None,
    )
}

fn with_manifest(m: &str) -> Vec<u8> {
    artifact(m, vec![])
}

fn fnjson(extra: serde_json::Value) -> String {
    let mut f = serde_json::json!({"name": FN_A, "package": "dist/a.zip"});
    for (k, v) in extra.as_object().unwrap() {
        f[k] = v.clone();
    }
    manifest(serde_json::json!([f]))
}

fn case(name: &'static str, artifact: Vec<u8>, expect: Expect, names: &[&str]) -> Case {
    Case {
        name,
        artifact,
        config: vec![],
        expect,
        names: names.iter().map(|s| s.to_string()).collect(),
    }
}

/// Deterministic incompressible bytes.
fn noise(n: usize) -> Vec<u8> {
    (0..n as u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect()
}

/// Every artifact and manifest case (action configuration and token cases
/// are built by the runner, which needs the pipeline and its jobs).
pub fn cases() -> Vec<Case> {
    use Expect::*;
    let good = good_manifest();
    let mut v = vec![
        // ---- archive shapes ----
        case("zip-slip ../", with_entry(Raw::file("../evil.txt", b"x")), Configuration, &["../evil.txt"]),
        case(
            "zip-slip nested ../",
            with_entry(Raw::file("dist/../../evil.txt", b"x")),
            Configuration,
            &["dist/../../evil.txt"],
        ),
        case(
            "zip-slip absolute",
            with_entry(Raw::file(&absolute_target(), b"x")),
            Configuration,
            &[&absolute_target()],
        ),
        case(
            "zip-slip windows separators",
            with_entry(Raw::file("..\\..\\evil.txt", b"x")),
            Configuration,
            &["evil.txt"],
        ),
        case(
            "zip-slip drive letter",
            with_entry(Raw::file("C:\\Windows\\evil.txt", b"x")),
            Configuration,
            &["evil.txt"],
        ),
        case(
            "symlink",
            with_entry(Raw::file("dist/link", b"/etc/passwd").mode(0o120_777)),
            Configuration,
            &["dist/link", "symbolic link"],
        ),
        case(
            "symlink escaping then a file through it",
            artifact(
                &good,
                vec![
                    Raw::file("out", b"../..").mode(0o120_777),
                    Raw::file("out/evil.txt", b"x"),
                ],
            ),
            Configuration,
            &["`out`"],
        ),
        case(
            "character device",
            with_entry(Raw::file("dev/null", b"").mode(0o020_644)),
            Configuration,
            &["dev/null"],
        ),
        case(
            "block device",
            with_entry(Raw::file("dev/sda", b"").mode(0o060_644)),
            Configuration,
            &["dev/sda"],
        ),
        case(
            "fifo",
            with_entry(Raw::file("pipe", b"").mode(0o010_644)),
            Configuration,
            &["`pipe`"],
        ),
        case(
            "zip bomb by ratio",
            // 8 MiB of zeros deflate to a few KiB: far above 200:1.
            deflated(&[
                ("pipeline-canary.json", good.as_bytes()),
                ("dist/a.zip", &bundle("a")),
                ("bomb.bin", &vec![0u8; 8 << 20]),
            ]),
            Configuration,
            &["bomb.bin", "zip bomb"],
        ),
        case(
            "zip bomb by absolute size (declared)",
            {
                let mut a = Raw::file("big1.bin", b"tiny");
                a.declared = Some(3_000_000_000);
                let mut b = Raw::file("big2.bin", b"tiny");
                b.declared = Some(3_000_000_000);
                artifact(&good, vec![a, b])
            },
            Configuration,
            &["big2.bin"],
        ),
        case(
            "zip bomb inside a function bundle (ratio)",
            with_bundle(deflated(&[("zeros", &vec![0u8; 8 << 20])])),
            Configuration,
            &["dist/a.zip", "zeros"],
        ),
        case(
            "function bundle over Lambda's 250 MB unzipped (declared)",
            with_bundle({
                let mut s = Raw::file("huge.bin", b"tiny");
                s.declared = Some(300_000_000);
                raw_zip(&[Raw::file("index.js", b"x"), s], None, None)
            }),
            Configuration,
            &["dist/a.zip", "huge.bin"],
        ),
        case(
            "nested zip with zip-slip inside the bundle",
            with_bundle(raw_zip(&[Raw::file("../../escape.js", b"x")], None, None)),
            Configuration,
            &["dist/a.zip", "../../escape.js"],
        ),
        case(
            "nested bundle is not a zip",
            with_bundle(b"this is not a zip".to_vec()),
            Configuration,
            &["dist/a.zip"],
        ),
        case(
            "nested bundle with a symlink",
            with_bundle(raw_zip(
                &[
                    Raw::file("index.js", b"x"),
                    Raw::file("lib", b"/etc").mode(0o120_777),
                ],
                None,
                None,
            )),
            Configuration,
            &["dist/a.zip", "`lib`"],
        ),
        case(
            "corrupt entry data",
            {
                let mut z = raw_zip(&[Raw::file("data.txt", b"hello world, hello world")], None, None);
                z[30 + 8 + 3] ^= 0xFF;
                z
            },
            Configuration,
            &["data.txt", "checksum"],
        ),
        case(
            "truncated zip",
            {
                let z = with_manifest(&good);
                z[..z.len() / 2].to_vec()
            },
            Configuration,
            &["truncated"],
        ),
        case("empty file", Vec::new(), Configuration, &["empty file"]),
        case("empty archive", raw_zip(&[], None, None), Configuration, &["no entries"]),
        case(
            "not a zip (JSON)",
            b"{\"this\": \"is json, not a zip\"}\n".to_vec(),
            Configuration,
            &["must be a zip"],
        ),
        case(
            "not a zip (gzip)",
            vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 1, 2, 3],
            Configuration,
            &["must be a zip"],
        ),
        case(
            "duplicate entries",
            artifact(&good, vec![Raw::file("pipeline-canary.json", b"{}")]),
            Configuration,
            &["pipeline-canary.json", "more than once"],
        ),
        case(
            "non-UTF-8 name",
            with_entry(Raw {
                name: vec![b'b', b'a', b'd', 0xff, 0xfe, b'.', b'j', b's'],
                flags: 0,
                ..Raw::file("x", b"x")
            }),
            Configuration,
            &["UTF-8"],
        ),
        case(
            "huge entry count (forged zip64 count)",
            raw_zip(
                &[Raw::file("pipeline-canary.json", good.as_bytes())],
                None,
                Some(50_000_000),
            ),
            Configuration,
            &["50000000 entries"],
        ),
        case(
            "encrypted entry",
            with_entry(Raw {
                flags: 0x0801,
                ..Raw::file("secret.txt", b"xxxx")
            }),
            Configuration,
            &["secret.txt", "encrypted"],
        ),
        case(
            "unsupported compression",
            with_entry(Raw {
                method: 12,
                ..Raw::file("b.txt", b"xxxx")
            }),
            Configuration,
            &["b.txt", "compression method"],
        ),
        case(
            "header understates the size",
            with_entry(Raw {
                declared: Some(10),
                ..Raw::file("liar.bin", &noise(5000))
            }),
            Configuration,
            &["liar.bin"],
        ),
        // ---- manifest ----
        case(
            "manifest missing",
            raw_zip(&[Raw::file("README.md", b"hello")], None, None),
            Configuration,
            &["pipeline-canary.json"],
        ),
        case(
            "invalid JSON",
            with_manifest("{\"version\": 1, \"functions\": [}"),
            Configuration,
            &["pipeline-canary.json", "invalid JSON"],
        ),
        case(
            "wrong version",
            with_manifest(&good.replace("\"version\":1", "\"version\":7")),
            Configuration,
            &["version"],
        ),
        case(
            "unknown top-level key",
            with_manifest(&good.replace("\"version\":1", "\"version\":1,\"rollout\":true")),
            Configuration,
            &["rollout", "unknown key"],
        ),
        case(
            "unknown function key",
            with_manifest(&fnjson(serde_json::json!({"pakage": "dist/a.zip"}))),
            Configuration,
            &["functions[0].pakage"],
        ),
        case(
            "wrong type: functions is a string",
            with_manifest(&manifest(serde_json::json!(FN_A))),
            Configuration,
            &["functions"],
        ),
        case(
            "wrong type: name is a number",
            with_manifest(&manifest(serde_json::json!([{"name": 42, "package": "dist/a.zip"}]))),
            Configuration,
            &["functions[0].name"],
        ),
        case(
            "wrong type: alarms is a string",
            with_manifest(&fnjson(serde_json::json!({"alarms": ALARM}))),
            Configuration,
            &["functions[0].alarms"],
        ),
        case(
            "empty function list",
            with_manifest(&manifest(serde_json::json!([]))),
            Configuration,
            &["functions"],
        ),
        case(
            "duplicate functions",
            with_manifest(&manifest(serde_json::json!([
                {"name": FN_A, "package": "dist/a.zip"},
                {"name": FN_A, "package": "dist/a.zip"}
            ]))),
            Configuration,
            &[FN_A],
        ),
        case(
            "function outside FunctionPrefix",
            with_manifest(&manifest(serde_json::json!([
                {"name": "billing-x", "package": "dist/a.zip"}
            ]))),
            Permission,
            &["billing-x", "FunctionPrefix"],
        ),
        case(
            "function ARN of another account",
            with_manifest(&manifest(serde_json::json!([
                {"name": "arn:aws:lambda:us-east-1:999999999999:function:collect-a", "package": "dist/a.zip"}
            ]))),
            Configuration,
            &["functions[0].name"],
        ),
        case(
            "function does not exist",
            with_manifest(&manifest(serde_json::json!([
                {"name": "collect-ghost", "package": "dist/a.zip"}
            ]))),
            Configuration,
            &["collect-ghost"],
        ),
        case(
            "more than 10 alarms",
            with_manifest(&fnjson(serde_json::json!({
                "alarms": (0..11).map(|i| format!("collect-alarm-{i}")).collect::<Vec<_>>()
            }))),
            Configuration,
            &["alarms"],
        ),
        case(
            "alarm missing",
            with_manifest(&fnjson(serde_json::json!({"alarms": ["collect-no-such-alarm"]}))),
            Configuration,
            &["collect-no-such-alarm"],
        ),
        case(
            "hook missing",
            with_manifest(&fnjson(serde_json::json!({
                "hooks": {"beforeAllowTraffic": "CodeDeployHook_missing"}
            }))),
            Configuration,
            &["CodeDeployHook_missing"],
        ),
        case(
            "unknown deployment config",
            with_manifest(&fnjson(serde_json::json!({"deploymentConfig": "Blue-Green-Please"}))),
            Configuration,
            &["Blue-Green-Please"],
        ),
        case(
            "custom config 0 %",
            with_manifest(&fnjson(serde_json::json!({"deploymentConfig": "Canary0Percent5Minutes"}))),
            Configuration,
            &["Canary0Percent5Minutes"],
        ),
        case(
            "custom config 101 %",
            with_manifest(&fnjson(
                serde_json::json!({"deploymentConfig": "Linear101PercentEvery1Minute"}),
            )),
            Configuration,
            &["Linear101PercentEvery1Minute"],
        ),
        case(
            "custom config 0 minutes",
            with_manifest(&fnjson(serde_json::json!({"deploymentConfig": "Canary10Percent0Minutes"}))),
            Configuration,
            &["Canary10Percent0Minutes"],
        ),
        case(
            "package path escapes the artifact",
            with_manifest(&manifest(serde_json::json!([
                {"name": FN_A, "package": "../../etc/passwd"}
            ]))),
            Configuration,
            &["functions[0].package"],
        ),
        case(
            "package missing from the artifact",
            with_manifest(&manifest(serde_json::json!([
                {"name": FN_A, "package": "dist/nothere.zip"}
            ]))),
            Configuration,
            &["dist/nothere.zip"],
        ),
        case(
            "break-glass reason too long",
            with_manifest(&{
                let mut m: serde_json::Value = serde_json::from_str(&good).unwrap();
                m["breakGlass"] = serde_json::json!({"reason": "x".repeat(5000)});
                m.to_string()
            }),
            Configuration,
            &["breakGlass.reason"],
        ),
        case(
            "Serverless state with a missing zip",
            raw_zip(
                &[Raw::file(
                    ".serverless/serverless-state.json",
                    serde_json::json!({
                        "service": {
                            "service": "collect",
                            "provider": {"name": "aws", "stage": "prod", "region": "us-east-1"},
                            "functions": {"a": {"name": FN_A, "handler": "index.handler"}}
                        },
                        "package": {"individually": false, "artifactDirectoryName": "x", "artifact": "collect.zip"}
                    })
                    .to_string()
                    .as_bytes(),
                )],
                None,
                None,
            ),
            Configuration,
            &["collect.zip"],
        ),
        case(
            "Serverless state is invalid JSON",
            raw_zip(
                &[Raw::file(".serverless/serverless-state.json", b"{\"service\": ")],
                None,
                None,
            ),
            Configuration,
            &["serverless-state.json"],
        ),
        // Found by fuzzing: a zip path of 100,000 components was matched by
        // suffix at quadratic cost (minutes per job); now linear.
        case(
            "Serverless state with a 100000-component zip path",
            raw_zip(
                &[Raw::file(
                    ".serverless/serverless-state.json",
                    serde_json::json!({
                        "service": {
                            "service": "collect",
                            "provider": {"name": "aws", "stage": "prod", "region": "us-east-1"},
                            "functions": {"a": {
                                "name": FN_A,
                                "handler": "index.handler",
                                "package": {"artifact": format!("/{}missing.zip", "b/".repeat(100_000))}
                            }}
                        },
                        "package": {"individually": false, "artifactDirectoryName": "x", "artifact": "collect.zip"}
                    })
                    .to_string()
                    .as_bytes(),
                )],
                None,
                None,
            ),
            Configuration,
            &["service.functions.a.package.artifact"],
        ),
    ];
    // ---- action configuration (each in a pipeline of its own) ----
    let cfg =
        |name: &'static str, config: Vec<(&'static str, &'static str)>, names: &[&str]| Case {
            name,
            artifact: artifact(&good, vec![]),
            config,
            expect: Configuration,
            names: names.iter().map(|s| s.to_string()).collect(),
        };
    v.push(cfg(
        "MaxParallel 0",
        vec![("MaxParallel", "0")],
        &["MaxParallel"],
    ));
    v.push(cfg(
        "MaxParallel not a number",
        vec![("MaxParallel", "many")],
        &["MaxParallel"],
    ));
    v.push(cfg(
        "FunctionPrefix blank",
        vec![("FunctionPrefix", "   ")],
        &["FunctionPrefix"],
    ));
    v.push(cfg(
        "CodeDeployApplication blank",
        vec![("CodeDeployApplication", " ")],
        &["CodeDeployApplication"],
    ));
    v.push(cfg(
        "CodeDeployServiceRoleArn blank",
        vec![("CodeDeployServiceRoleArn", " ")],
        &["CodeDeployServiceRoleArn"],
    ));
    v.push(cfg(
        "DeploymentConfig property unknown",
        vec![("DeploymentConfig", "Sometimes")],
        &["Sometimes"],
    ));
    v.push(cfg(
        "Alias property invalid",
        vec![("Alias", "live alias!")],
        &["Alias", "live alias!"],
    ));
    v.push(cfg(
        "Alarms property with an invalid alarm name",
        vec![("Alarms", "ok-alarm,\u{7}bell")],
        &["Alarms"],
    ));
    v.push(cfg(
        "Manifest property escapes the artifact",
        vec![("Manifest", "../../etc/passwd")],
        &["Manifest"],
    ));
    v.push(cfg(
        "Manifest property names a missing file",
        vec![("Manifest", "deploy/none.json")],
        &["deploy/none.json"],
    ));
    v
}
