//! Fuzzes the native release manifest (`pipeline-canary.json`) through its
//! public entry point `manifest::load`, exactly as a job reads it: the input
//! bytes are the manifest file at the root of an artifact that holds the
//! bundles the seed manifests name (`dist/*.zip`, `functions/*/`). Each input
//! is loaded with an action that contributes nothing and with one that
//! supplies every default. Checks: no panic, and the properties of
//! `pipeline_canary_fuzz::check_outcome` (an accepted release is non-empty,
//! inside `FunctionPrefix`, each function once, ≤ 10 alarms, bundles inside
//! the artifact; a refusal names its problems within 5000 characters).
#![no_main]

use libfuzzer_sys::fuzz_target;
use pipeline_canary_core::manifest::{self, NATIVE_MANIFEST};
use pipeline_canary_fuzz::{actions, check_outcome, put, scratch};

fn artifact() -> &'static std::path::Path {
    scratch("manifest-native", |root| {
        for zip in ["dist/a.zip", "dist/create-pickup.zip", "dist/other.zip"] {
            put(
                root,
                zip,
                b"PK\x05\x06 a bundle; load only checks that it exists",
            );
        }
        for f in ["quote-price", "create-pickup", "assign-driver"] {
            put(
                root,
                &format!("functions/{f}/index.js"),
                b"exports.handler = async () => 1;",
            );
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let root = artifact();
    std::fs::write(root.join(NATIVE_MANIFEST), data).expect("write the manifest");
    for action in actions() {
        let outcome = manifest::load(root, None, &action);
        check_outcome(root, &action, &outcome);
    }
});
