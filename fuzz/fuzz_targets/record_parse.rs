//! Fuzzes the release record's parser (`ReleaseRecord::parse`): the ledger
//! is S3 objects anyone with access to the bucket can edit, so a record is
//! input. Checks: no panic; every refusal names the record's key; every
//! accepted record writes back (`to_json`) to JSON that parses to the same
//! record (what a job reads, it can write and read again), and its shift
//! state maps to slots and back.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pipeline_canary_core::release::record::ReleaseRecord;

const KEY: &str = "ledger/releases/r-0123456789abcdef.json";

fuzz_target!(|data: &[u8]| {
    match ReleaseRecord::parse(data, KEY) {
        Ok(r) => {
            let again = ReleaseRecord::parse(r.to_json().as_bytes(), KEY)
                .unwrap_or_else(|e| panic!("an accepted record does not parse back: {}", e.message));
            assert_eq!(again, r, "parse ∘ to_json is not the identity");
            for f in &r.functions {
                let mut g = f.clone();
                g.set_slot(&f.slot());
                assert_eq!(g.slot(), f.slot());
            }
        }
        Err(e) => assert!(e.message.contains(KEY), "{}", e.message),
    }
});
