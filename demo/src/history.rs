//! The demo's last step, after the story: the release history in the
//! release ledger and the rollback of a whole release, as an operator runs
//! them (`pipeline-canary releases`, `pipeline-canary rollback`), through
//! the same library functions the CLI calls.
//!
//! It lists the ledger (one record per release: the story's six, the
//! pre-flight refusal and its console retry being two attempts of one
//! record), rolls the newest release that went out (`Succeeded`) back — the
//! newest of all was rolled back by its canary analysis already — and
//! checks through Lambda (GetAlias) that every function that release
//! changed serves its previous version again, and that the record now says
//! `RolledBack`.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use pipeline_canary::history::{self, CommandError};
use pipeline_canary::ledger::{Ledger, Location};
use pipeline_canary::release::record::{Outcome, ReleaseRecord};

use crate::Row;
use crate::world::{self, World, err};

/// Why the demo rolls the last successful release back (recorded in the ledger).
pub const REASON: &str = "demo: put the last release back";

/// The ledger as the worker sees it: the world's SDK config, path-style S3
/// (aws-sim has no DNS for virtual-hosted buckets).
pub fn ledger(world: &World) -> Result<Ledger, String> {
    Ok(Ledger::new(
        &world.conf,
        Location::parse(world::LEDGER)?,
        true,
    ))
}

/// What the ledger must hold after the story: per release (oldest first)
/// its id, its outcome and its number of attempts, from the story's rows
/// (a stage retry is a new attempt of the same release).
fn expected(rows: &[Row]) -> Vec<(String, Outcome, u32)> {
    let mut out: Vec<(String, Outcome, u32)> = Vec::new();
    for r in rows {
        let outcome = match r.outcome.as_str() {
            "Succeeded" => Outcome::Succeeded,
            "Failed" => Outcome::Failed,
            _ => Outcome::InProgress,
        };
        match out.iter_mut().find(|(id, ..)| *id == r.release) {
            Some(e) => {
                e.1 = outcome;
                e.2 += 1;
            }
            None => out.push((r.release.clone(), outcome, 1)),
        }
    }
    out
}

fn indent(text: &str) -> String {
    text.lines()
        .map(|l| format!("   {l}\n"))
        .collect::<String>()
}

fn failed(e: CommandError) -> String {
    format!("{} (exit {})", e.message, e.exit)
}

/// Plays the step: `n` of `of`, after the story's `rows`.
pub async fn play(world: &World, n: usize, of: usize, rows: &[Row]) -> Result<Row, String> {
    let sim_start = world.sim.sim().clock.now();
    let real_start = Instant::now();
    println!();
    println!("━━ Step {n}/{of}: Release history and rollback");
    println!(
        "   Every release is one record in the release ledger ({}). List them, then put the last release that went out back as a whole, as an operator would.",
        world::LEDGER
    );
    let ledger = ledger(world)?;
    let mut problems = Vec::new();

    println!("   $ pipeline-canary releases --ledger {}", world::LEDGER);
    let records = history::list(&ledger, None, 20)
        .await
        .map_err(|e| format!("listing the ledger: {}", failed(e)))?;
    print!("{}", indent(&history::table(&records)));

    // The story's releases, newest first, each with its outcome.
    let want = expected(rows);
    if records.len() != want.len() {
        problems.push(format!(
            "the ledger lists {} release(s) (expected {}, one per release of the story)",
            records.len(),
            want.len()
        ));
    }
    for ((id, outcome, attempts), r) in want.iter().rev().zip(&records) {
        if r.release_id != *id {
            problems.push(format!(
                "the ledger lists {} where release {id} was expected (newest first)",
                r.release_id
            ));
        } else if r.outcome != *outcome || r.attempt != *attempts {
            problems.push(format!(
                "release {id} is {} after {} attempt(s) in the ledger (expected {} after {attempts})",
                r.outcome.as_str(),
                r.attempt,
                outcome.as_str()
            ));
        }
    }

    let Some(last) = records
        .iter()
        .find(|r| r.outcome == Outcome::Succeeded)
        .cloned()
    else {
        problems.push("the ledger holds no successful release to roll back".into());
        return Ok(row(n, None, "-", real_start, world, sim_start, problems));
    };
    let id = last.release_id.clone();
    println!(
        "   $ pipeline-canary rollback {id} --reason \"{REASON}\" --ledger {}",
        world::LEDGER
    );
    let rolled = history::rollback(
        &world.conf,
        &ledger,
        &id,
        REASON,
        world.sim.sim().clock.now(),
    )
    .await;
    match &rolled {
        Ok(r) => {
            print!("{}", indent(&r.text));
            if !r.changed {
                problems.push(format!("rolling back {id} changed nothing"));
            }
        }
        Err(e) => {
            println!("   pipeline-canary rollback: {}", e.message);
            problems.push(format!(
                "the rollback of {id} was refused or failed (exit {})",
                e.exit
            ));
        }
    }

    // Through Lambda: every function the release changed is back where it was.
    let mut serves = BTreeMap::new();
    for f in &last.functions {
        let a = world
            .lambda
            .get_alias()
            .function_name(&f.name)
            .name(&f.alias)
            .send()
            .await
            .map_err(|e| format!("GetAlias {}:{}: {}", f.name, f.alias, err(&e)))?;
        let version = a.function_version().unwrap_or_default().to_string();
        let split = a
            .routing_config()
            .and_then(|r| r.additional_version_weights())
            .is_some_and(|w| !w.is_empty());
        // A function whose alias the release created has nothing to go back to.
        let want = f.previous_version.as_ref().or(f.version.as_ref());
        if want != Some(&version) || split {
            problems.push(format!(
                "{}:{} serves version {version}{} (the record's previous version: {})",
                f.name,
                f.alias,
                if split { ", split" } else { "" },
                f.previous_version.as_deref().unwrap_or("none")
            ));
        }
        serves.insert(format!("{}:{}", f.name, f.alias), version);
    }
    let after = history::show(&ledger, &id)
        .await
        .map_err(|e| format!("reading release {id}: {}", failed(e)))?;
    if after.outcome != Outcome::RolledBack {
        problems.push(format!(
            "the record of {id} says {} (expected RolledBack)",
            after.outcome.as_str()
        ));
    }
    if after.rollback.as_ref().map(|m| m.reason.as_str()) != Some(REASON) {
        problems.push(format!("the record of {id} does not hold the reason"));
    }
    println!(
        "   GetAlias: {}; the record of {id} says {}.",
        serves
            .iter()
            .map(|(f, v)| format!("{f} serves version {v}"))
            .collect::<Vec<_>>()
            .join(", "),
        after.outcome.as_str()
    );
    if problems.is_empty() {
        println!(
            "   as expected: {} release(s) in the ledger, newest first; the last successful one is back on its previous versions and recorded RolledBack",
            records.len()
        );
    } else {
        for p in &problems {
            println!("   UNEXPECTED: {p}");
        }
    }
    Ok(row(
        n,
        Some(&after),
        after.outcome.as_str(),
        real_start,
        world,
        sim_start,
        problems,
    ))
}

fn row(
    n: usize,
    record: Option<&ReleaseRecord>,
    outcome: &str,
    real_start: Instant,
    world: &World,
    sim_start: std::time::SystemTime,
    problems: Vec<String>,
) -> Row {
    Row {
        step: n.to_string(),
        release: record.map_or("-".into(), |r| r.release_id.clone()),
        commit: record
            .and_then(|r| r.commit.as_deref())
            .map_or("-".into(), |c| c.chars().take(7).collect()),
        changed: record.map_or(0, |r| r.functions.len()),
        outcome: outcome.to_string(),
        real: real_start.elapsed(),
        simulated: world
            .sim
            .sim()
            .clock
            .now()
            .duration_since(sim_start)
            .unwrap_or(Duration::ZERO),
        problems,
    }
}
