//! Fuzzes the Serverless Framework reader (`.serverless/serverless-state.json`,
//! the output of `serverless package`) through the public entry point
//! `manifest::load`, exactly as a job reads it: the input bytes are the state
//! file of an artifact that also holds the fixture's zips
//! (`.serverless/collect.zip`, `.serverless/quotePrice.zip`), so artifact
//! paths (relative, absolute build-machine paths matched by suffix, S3 URLs)
//! resolve or fail as in a real job. Each input is loaded with an action that
//! contributes nothing and with one that supplies every default. Checks: no
//! panic, and the properties of `pipeline_canary_fuzz::check_outcome` (an
//! accepted release is non-empty, inside `FunctionPrefix`, each function once,
//! ≤ 10 alarms, bundles inside the artifact; a refusal names its problems
//! within 5000 characters).
#![no_main]

use libfuzzer_sys::fuzz_target;
use pipeline_canary_core::manifest::{self, SERVERLESS_STATE};
use pipeline_canary_fuzz::{actions, check_outcome, put, scratch};

const COLLECT_ZIP: &[u8] =
    include_bytes!("../../core/fixtures/serverless/collect/.serverless/collect.zip");
const QUOTE_PRICE_ZIP: &[u8] =
    include_bytes!("../../core/fixtures/serverless/collect/.serverless/quotePrice.zip");

fn artifact() -> &'static std::path::Path {
    scratch("manifest-serverless", |root| {
        put(root, ".serverless/collect.zip", COLLECT_ZIP);
        put(root, ".serverless/quotePrice.zip", QUOTE_PRICE_ZIP);
        put(root, ".serverless/listSlots.zip", QUOTE_PRICE_ZIP);
    })
}

fuzz_target!(|data: &[u8]| {
    let root = artifact();
    std::fs::write(root.join(SERVERLESS_STATE), data).expect("write the state file");
    for action in actions() {
        let outcome = manifest::load(root, None, &action);
        check_outcome(root, &action, &outcome);
    }
});
