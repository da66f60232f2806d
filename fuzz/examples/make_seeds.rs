//! Writes the committed seed corpora `fuzz/corpus/<target>/` (run from the
//! repo root: `cargo run --manifest-path fuzz/Cargo.toml --example make_seeds`).
//! Seeds are small valid inputs made by the real code (manifests from the
//! examples and fixtures, tokens by `token::encode`, zips by the zip crate)
//! plus the hostile shapes of `tests/corpus/hostile.rs` (included as is):
//! its artifacts for `safe_unzip`, the manifests inside them for the
//! manifest targets. Each file is named by the SHA-256 of its bytes, as
//! libFuzzer names corpus entries, so rerunning only adds what is new.
//! Knows nothing about libFuzzer.

#[path = "../../tests/corpus/hostile.rs"]
#[allow(dead_code)]
mod hostile;

use std::fs;
use std::io::{Cursor, Read, Write};
use std::path::Path;

use pipeline_canary_core::release::ReleaseState;
use pipeline_canary_core::token::{self, Envelope};
use serde_json::json;
use sha2::{Digest, Sha256};

/// Seeds larger than this are left out: they would raise libFuzzer's
/// `max_len` (the largest seed) and slow every mutation.
const MAX_SEED_BYTES: usize = 16 * 1024;

fn write_seed(target: &str, bytes: &[u8]) {
    if bytes.len() > MAX_SEED_BYTES {
        return;
    }
    let dir = Path::new("fuzz/corpus").join(target);
    fs::create_dir_all(&dir).unwrap();
    let name = hex(&Sha256::digest(bytes));
    fs::write(dir.join(&name[..40]), bytes).unwrap();
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The file `name` inside `zip`, when the zip crate can read it.
fn member(zip: &[u8], name: &str) -> Option<Vec<u8>> {
    let mut a = zip::ZipArchive::new(Cursor::new(zip)).ok()?;
    let mut f = a.by_name(name).ok()?;
    let mut out = Vec::new();
    f.read_to_end(&mut out).ok()?;
    Some(out)
}

fn manifests() {
    let issue = json!({ "version": 1,
      "defaults": { "alias": "live", "deploymentConfig": "Linear10PercentEvery1Minute", "alarms": ["collect-5xx"] },
      "functions": [
        { "name": "collect-create-pickup", "package": "dist/create-pickup.zip" },
        { "name": "collect-quote-price", "source": "functions/quote-price",
          "deploymentConfig": "Canary10Percent5Minutes", "alarms": ["collect-quote-price-errors"],
          "hooks": { "beforeAllowTraffic": "CodeDeployHook_smoke", "afterAllowTraffic": "CodeDeployHook_verify" } } ],
      "breakGlass": { "reason": "hotfix for INC-1234" } });
    write_seed(
        "manifest_native",
        serde_json::to_string_pretty(&issue).unwrap().as_bytes(),
    );
    let custom = json!({ "version": 1, "$schema": "x",
      "functions": [
        { "name": "collect-a", "package": "dist/a.zip", "alias": "canary",
          "deploymentConfig": "PipelineCanary.Linear20PercentEvery2Minutes" },
        { "name": "collect-b", "package": "./dist//other.zip",
          "deploymentConfig": "CodeDeployDefault.LambdaAllAtOnce",
          "hooks": { "afterAllowTraffic": "arn:aws:lambda:us-east-1:123456789012:function:collect-hook" } } ] });
    write_seed("manifest_native", custom.to_string().as_bytes());
    write_seed(
        "manifest_native",
        &fs::read("examples/collect/pipeline-canary.json").unwrap(),
    );
    for case in hostile::cases() {
        if let Some(m) = member(&case.artifact, "pipeline-canary.json") {
            write_seed("manifest_native", &m);
        }
        if let Some(s) = member(&case.artifact, ".serverless/serverless-state.json") {
            write_seed("manifest_serverless", &s);
        }
    }

    let state =
        fs::read("core/fixtures/serverless/collect/.serverless/serverless-state.json").unwrap();
    write_seed("manifest_serverless", &state);
    let base: serde_json::Value = serde_json::from_slice(&state).unwrap();
    type Edit = Box<dyn Fn(&mut serde_json::Value)>;
    let variants: Vec<Edit> = vec![
        // Compact form of the fixture.
        Box::new(|_| {}),
        Box::new(|v| {
            v["service"]["functions"]["quotePrice"]["package"]["artifact"] =
                json!("s3://bucket/quotePrice.zip")
        }),
        Box::new(|v| v["service"]["functions"]["quotePrice"]["image"] = json!("repo:tag")),
        Box::new(|v| v["service"]["custom"]["deploymentSettings"]["stages"] = json!(["staging"])),
        Box::new(|v| {
            v["service"]["custom"]["deploymentSettings"]["alarms"] =
                json!([{"Ref": "Alarm"}, "NoSuchLogicalId", {"name": "collect-x"}])
        }),
        Box::new(|v| v["package"]["individually"] = json!(true)),
        Box::new(|v| v["service"]["service"] = json!({"name": "collect"})),
        Box::new(|v| v["service"]["functions"] = json!({})),
        Box::new(|v| {
            v["service"]["functions"]["quotePrice"]["package"]["artifact"] =
                json!("C:\\build\\src\\.serverless\\quotePrice.zip")
        }),
        Box::new(|v| {
            v["service"]["functions"]["quotePrice"]["package"]["artifact"] =
                json!("../../../etc/passwd")
        }),
    ];
    for f in variants {
        let mut v = base.clone();
        // Drop the bulky compiled template but keep its alarms' shape.
        if let Some(p) = v["service"]["provider"].as_object_mut() {
            p.remove("compiledCloudFormationTemplate");
        }
        f(&mut v);
        write_seed("manifest_serverless", v.to_string().as_bytes());
    }
}

fn tokens() {
    let states = [
        json!({}),
        json!({"p": "p"}),
        json!({"p": "d", "f": "3.4;-.1;5=*.7;*.*"}),
        json!({"p": "d", "f": "0.3.4;1.-.1", "w": {"w": 1_700_000_000u64}}),
        json!({"p": "d", "f": "3.4;-.1", "s": {"f": "0a1b2c3d", "d": "-?+=ABCDEFGHI(d-custom)", "k": true}}),
        json!({"p": "d", "f": "3.4", "s": {"f": "0a1b2c3d", "d": "Z12345678", "r": true, "c": "alarm collect-5xx fired"}}),
    ];
    for (i, s) in states.iter().enumerate() {
        let state: ReleaseState = serde_json::from_value(s.clone()).unwrap();
        let env = Envelope {
            pipeline_execution_id: "2b0e8f3c-0000-4000-8000-000000000001".to_string(),
            continuations: i as u32,
            started_ms: 1_700_000_000_000,
            state,
        };
        let t = token::encode(&env).unwrap();
        assert!(token::decode::<ReleaseState>(&t).is_ok());
        write_seed("token_decode", t.as_bytes());
        // The payload alone (the target also signs its input as a payload).
        let payload = t.split('.').nth(1).unwrap();
        use base64::Engine as _;
        let json = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap();
        write_seed("token_decode", &json);
        if i == 4 {
            // Hostile: truncated, tampered, newer, foreign, no checksum.
            write_seed("token_decode", &t.as_bytes()[..t.len() / 2]);
            let mut b = t.clone().into_bytes();
            b[8] ^= 1;
            write_seed("token_decode", &b);
            write_seed("token_decode", t.replacen("pc1.", "pc2.", 1).as_bytes());
            write_seed("token_decode", t.replacen("pc1.", "pc0.", 1).as_bytes());
            write_seed("token_decode", t.rsplit_once('.').unwrap().0.as_bytes());
            write_seed("token_decode", b"hello");
        }
    }
}

fn zips() {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let o = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .unix_permissions(0o644);
    w.add_directory("dist/", o).unwrap();
    w.start_file("pipeline-canary.json", o).unwrap();
    w.write_all(br#"{"version":1,"functions":[{"name":"collect-a","package":"dist/a.zip"}]}"#)
        .unwrap();
    w.start_file(
        "dist/a.zip",
        o.compression_method(zip::CompressionMethod::Stored),
    )
    .unwrap();
    w.write_all(&hostile::bundle("a")).unwrap();
    w.start_file("bin/run", o.unix_permissions(0o755)).unwrap();
    w.write_all(b"#!/bin/sh\necho hi\n").unwrap();
    write_seed("safe_unzip", &w.finish().unwrap().into_inner());
    write_seed("safe_unzip", &hostile::bundle("small"));
    for z in ["collect.zip", "quotePrice.zip"] {
        write_seed(
            "safe_unzip",
            &fs::read(format!(
                "core/fixtures/serverless/collect/.serverless/{z}"
            ))
            .unwrap(),
        );
    }
    for case in hostile::cases() {
        write_seed("safe_unzip", &case.artifact);
    }
}

fn main() {
    assert!(
        Path::new("fuzz/Cargo.toml").is_file(),
        "run from the repository root"
    );
    manifests();
    tokens();
    zips();
    for t in [
        "manifest_native",
        "manifest_serverless",
        "token_decode",
        "safe_unzip",
    ] {
        let n = fs::read_dir(Path::new("fuzz/corpus").join(t)).map_or(0, |d| d.count());
        println!("{t}: {n} seeds");
    }
}
