//! The release history commands over the ledger: `releases` (newest
//! first, as a table or JSON), `releases show` (one record, whole),
//! `rollback` (every function a release changed back on its previous
//! version, all or nothing) and `prune` (Lambda versions no alias and no
//! recent release needs). The decisions are the core's
//! (`pipeline_canary_core::ledger`): this module reads the ledger and
//! Lambda, performs what was decided and says what it did.
//!
//! Knows no job and no CodePipeline.

use std::collections::{BTreeMap, BTreeSet};
use std::time::SystemTime;

use aws_config::SdkConfig;
use aws_sdk_lambda::Client as LambdaClient;
use pipeline_canary_core::ledger::{self, AliasNow, AliasUpdate, FunctionVersions, RollbackPlan};
use pipeline_canary_core::release::plan;
use pipeline_canary_core::release::record::{
    FunctionState, ManualRollback, Outcome, ReleaseRecord, timestamp,
};

use crate::aws_error::AwsError;
use crate::ledger::{Ledger, WriteError};
use crate::release::lambda::LambdaApi;

/// A command's failure: the exit code (1 refused or failed, 2 usage or
/// configuration) and the sentence to print.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandError {
    pub exit: u8,
    pub message: String,
}

impl CommandError {
    fn failed(message: impl Into<String>) -> Self {
        CommandError {
            exit: 1,
            message: message.into(),
        }
    }
}

/// The records of the newest `limit` releases (of `pipeline`, or all).
pub async fn list(
    ledger: &Ledger,
    pipeline: Option<&str>,
    limit: usize,
) -> Result<Vec<ReleaseRecord>, CommandError> {
    let ids = ledger.list(pipeline, limit).await.map_err(|e| {
        CommandError::failed(format!(
            "the release ledger {} cannot be listed: {e}",
            ledger.location()
        ))
    })?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        match ledger.record(&id).await {
            Ok(Some((r, _))) => out.push(r),
            // An index entry whose record was never written (its job died
            // between the two writes) lists nothing.
            Ok(None) => {}
            Err(e) => return Err(CommandError::failed(e)),
        }
    }
    Ok(out)
}

/// One release's record.
pub async fn show(ledger: &Ledger, id: &str) -> Result<ReleaseRecord, CommandError> {
    match ledger.record(id).await {
        Ok(Some((r, _))) => Ok(r),
        Ok(None) => Err(not_found(ledger, id)),
        Err(e) => Err(CommandError::failed(e)),
    }
}

fn not_found(ledger: &Ledger, id: &str) -> CommandError {
    CommandError::failed(format!(
        "there is no release {id} in the ledger {}: list them with `pipeline-canary releases`",
        ledger.location()
    ))
}

fn short(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

/// The `releases` table.
pub fn table(records: &[ReleaseRecord]) -> String {
    if records.is_empty() {
        return "No releases in the ledger yet.\n".to_string();
    }
    let mut rows = vec![[
        "RELEASE".to_string(),
        "PIPELINE".to_string(),
        "COMMIT".to_string(),
        "OUTCOME".to_string(),
        "STARTED".to_string(),
        "FUNCTIONS".to_string(),
        "REASON".to_string(),
    ]];
    for r in records {
        rows.push([
            r.release_id.clone(),
            r.pipeline.clone(),
            short(r.commit.as_deref().unwrap_or("-"), 10),
            r.outcome.as_str().to_string(),
            short(&r.started_at, 19).replace('T', " "),
            format!(
                "{} changed, {} unchanged",
                r.functions.len(),
                r.unchanged.len()
            ),
            short(
                &[
                    r.rolls_back_to
                        .as_ref()
                        .map(|to| format!("stage rollback to {}", to.release_id)),
                    r.rollback
                        .as_ref()
                        .map(|m| m.reason.as_str())
                        .or(r.reason.as_deref())
                        .and_then(|t| t.lines().next())
                        .map(str::to_string),
                ]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join("; "),
                70,
            ),
        ]);
    }
    let widths: Vec<usize> = (0..7)
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for r in &rows {
        let mut line = String::new();
        for (c, cell) in r.iter().enumerate() {
            if c + 1 == r.len() {
                line.push_str(cell);
            } else {
                line.push_str(&format!("{cell:<w$}  ", w = widths[c]));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// `releases show` without `--json`: the record for a person.
pub fn describe(r: &ReleaseRecord) -> String {
    let mut out = format!(
        "Release {} — {}\n  pipeline {} / stage {} / action {}, execution {}\n  commit {}\n  started {}, {}\n",
        r.release_id,
        r.outcome.as_str(),
        r.pipeline,
        r.stage,
        r.action,
        r.execution_id,
        r.commit.as_deref().unwrap_or("-"),
        r.started_at,
        r.ended_at
            .as_deref()
            .map(|e| format!("ended {e}"))
            .unwrap_or_else(|| "not ended".into()),
    );
    if let Some(to) = &r.rolls_back_to {
        out.push_str(&format!(
            "  a stage rollback ({}) to release {} (execution {}, commit {})\n",
            to.trigger,
            to.release_id,
            to.execution_id,
            to.commit.as_deref().unwrap_or("-")
        ));
    }
    if let Some(reason) = &r.reason {
        out.push_str(&format!("  reason: {reason}\n"));
    }
    if let Some(m) = &r.rollback {
        out.push_str(&format!("  rolled back at {}: {}\n", m.at, m.reason));
    }
    out.push_str(&format!("  {} changed function(s):\n", r.functions.len()));
    for f in &r.functions {
        out.push_str(&format!(
            "    {}:{}  {} → {}  {:?}  {}{}\n",
            f.name,
            f.alias,
            f.previous_version.as_deref().unwrap_or("(none)"),
            f.version.as_deref().unwrap_or("(not published)"),
            f.state,
            f.deployment_config,
            if f.deployment_ids.is_empty() {
                String::new()
            } else {
                format!("  deployments {}", f.deployment_ids.join(", "))
            }
        ));
    }
    if !r.unchanged.is_empty() {
        out.push_str(&format!("  {} unchanged function(s):\n", r.unchanged.len()));
        for u in &r.unchanged {
            out.push_str(&format!(
                "    {}:{}  version {}\n",
                u.name, u.alias, u.version
            ));
        }
    }
    out
}

/// The rollback command's result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RolledBack {
    /// Whether any alias moved.
    pub changed: bool,
    pub text: String,
}

/// What each changed function's alias serves now; `recent` (newest first)
/// says which release moved it there.
async fn aliases_now(
    lambda: &LambdaClient,
    api: &LambdaApi,
    r: &ReleaseRecord,
    recent: &[ReleaseRecord],
) -> Result<BTreeMap<String, Option<AliasNow>>, CommandError> {
    let mut out = BTreeMap::new();
    for f in &r.functions {
        if f.code_only {
            // No alias: what `$LATEST` runs, as the newest version holding
            // its code (the rollback's "alias").
            let o = api
                .observe_function(&f.name, "", "")
                .await
                .map_err(|e| CommandError::failed(format!("{}: {e}", f.name)))?;
            let now = o.alias.filter(|a| !a.version.is_empty()).map(|a| AliasNow {
                routing: None,
                revision_id: None,
                published_by: released_by(&a.description),
                moved_by: ledger::moved_by(recent, &f.name, &a.version),
                version: a.version,
            });
            out.insert(f.name.clone(), now);
            continue;
        }
        let a = match lambda
            .get_alias()
            .function_name(&f.name)
            .name(&f.alias)
            .send()
            .await
        {
            Ok(a) => a,
            Err(e) => {
                let e = AwsError::from_sdk("GetAlias", &e);
                if e.is("ResourceNotFoundException") {
                    out.insert(f.name.clone(), None);
                    continue;
                }
                return Err(CommandError::failed(format!("{}: {e}", f.name)));
            }
        };
        let version = a.function_version().unwrap_or_default().to_string();
        let published_by = match lambda
            .get_function_configuration()
            .function_name(&f.name)
            .qualifier(&version)
            .send()
            .await
        {
            Ok(c) => released_by(c.description().unwrap_or_default()),
            Err(_) => None,
        };
        out.insert(
            f.name.clone(),
            Some(AliasNow {
                routing: a
                    .routing_config()
                    .and_then(|r| r.additional_version_weights())
                    .and_then(|m| m.iter().next())
                    .map(|(k, v)| (k.clone(), *v)),
                revision_id: a.revision_id().map(str::to_string),
                published_by,
                moved_by: ledger::moved_by(recent, &f.name, &version),
                version,
            }),
        );
    }
    Ok(out)
}

/// The release a version description names (`pipeline-canary release <id> …`).
fn released_by(description: &str) -> Option<String> {
    let rest = description.split("pipeline-canary release ").nth(1)?;
    let id = rest.split_whitespace().next()?;
    plan::published_by(description, id).then(|| id.to_string())
}

/// One update of a rollback: UpdateAlias, or for a code-only function
/// (no alias) its `$LATEST` back on `u.version`'s code
/// ([`LambdaApi::restore_code`]).
async fn apply(
    lambda: &LambdaClient,
    api: &LambdaApi,
    id: &str,
    u: &AliasUpdate,
) -> Result<Option<String>, String> {
    if u.alias.is_empty() {
        return api
            .restore_code(
                &u.function,
                &u.version,
                &pipeline_canary_core::canary::restore_description(id, &u.version),
            )
            .await
            .map_err(|e| e.message)
            .and_then(|r| match r {
                crate::release::lambda::Restored::Holder(_) => Ok(None),
                crate::release::lambda::Restored::Gone(why) => Err(why),
            });
    }
    update_alias(lambda, u).await.map_err(|e| e.to_string())
}

async fn update_alias(lambda: &LambdaClient, u: &AliasUpdate) -> Result<Option<String>, AwsError> {
    let mut req = lambda
        .update_alias()
        .function_name(&u.function)
        .name(&u.alias)
        .function_version(&u.version)
        .routing_config(aws_sdk_lambda::types::AliasRoutingConfiguration::builder().build());
    if let Some(rev) = &u.revision_id {
        req = req.revision_id(rev);
    }
    req.send()
        .await
        .map(|o| o.revision_id().map(str::to_string))
        .map_err(|e| AwsError::from_sdk("UpdateAlias", &e))
}

/// `pipeline-canary rollback ID --reason TEXT`: every function the release
/// changed back on its previous version, all or nothing; the record's
/// outcome becomes `RolledBack` with the reason.
pub async fn rollback(
    sdk: &SdkConfig,
    ledger: &Ledger,
    id: &str,
    reason: &str,
    now: SystemTime,
) -> Result<RolledBack, CommandError> {
    if reason.trim().is_empty() {
        return Err(CommandError {
            exit: 2,
            message:
                "--reason is required: say why the release is rolled back (it goes into the ledger)"
                    .into(),
        });
    }
    let lambda = LambdaClient::new(sdk);
    let api = LambdaApi::with_defaults(sdk);
    let (record, etag) = match ledger.record(id).await {
        Ok(Some(x)) => x,
        Ok(None) => return Err(not_found(ledger, id)),
        Err(e) => return Err(CommandError::failed(e)),
    };
    // Newer releases tell who moved an alias the release no longer serves.
    let recent = list(ledger, None, 100).await.unwrap_or_default();
    let newer: Vec<ReleaseRecord> = recent
        .into_iter()
        .filter(|x| x.release_id != record.release_id && x.started_ms() >= record.started_ms())
        .collect();
    let aliases = aliases_now(&lambda, &api, &record, &newer).await?;
    let (updates, notes) = match ledger::plan_rollback(&record, &aliases) {
        RollbackPlan::Nothing(text) => {
            return Ok(RolledBack {
                changed: false,
                text,
            });
        }
        RollbackPlan::Refused(text) => return Err(CommandError::failed(text)),
        RollbackPlan::Apply { updates, notes } => (updates, notes),
    };
    let mut done: Vec<(AliasUpdate, Option<String>)> = Vec::new();
    for u in &updates {
        match apply(&lambda, &api, id, u).await {
            Ok(rev) => done.push((u.clone(), rev)),
            Err(e) => {
                // All or nothing: put back what this command moved.
                let mut undo_failures = Vec::new();
                for (d, rev) in done.iter().rev() {
                    let back = AliasUpdate {
                        function: d.function.clone(),
                        alias: d.alias.clone(),
                        version: d.from.clone(),
                        from: d.version.clone(),
                        revision_id: rev.clone(),
                    };
                    if let Err(e) = apply(&lambda, &api, id, &back).await {
                        undo_failures.push(format!("{}: {e}", d.function));
                    }
                }
                let mut msg = format!(
                    "release {id} could not be rolled back: {}: {e}; the aliases this command had moved were put back, nothing changed",
                    u.function
                );
                if !undo_failures.is_empty() {
                    msg = format!(
                        "release {id} could not be rolled back: {}: {e}; putting back what this command had moved failed too ({}): check these aliases",
                        u.function,
                        undo_failures.join("; ")
                    );
                }
                return Err(CommandError::failed(msg));
            }
        }
    }
    // The outcome, on the record as it is now (re-read on a lost race).
    let mut current = (record, etag);
    for _ in 0..5 {
        let (mut r, etag) = current;
        r.outcome = Outcome::RolledBack;
        r.rollback = Some(ManualRollback {
            at: timestamp(now),
            reason: reason.to_string(),
        });
        r.updated_at = timestamp(now);
        for f in &mut r.functions {
            if updates.iter().any(|u| u.function == f.name) {
                f.state = FunctionState::RolledBack;
            }
        }
        match ledger.replace(&r, &etag).await {
            Ok(_) => break,
            Err(WriteError::Conflict) => match ledger.record(id).await {
                Ok(Some(x)) => current = x,
                _ => break,
            },
            Err(WriteError::Failed(e)) => {
                return Err(CommandError::failed(format!(
                    "release {id} was rolled back (every alias is on its previous version), but its record could not be updated: {e}"
                )));
            }
        }
    }
    let mut text = format!(
        "Release {id} rolled back ({reason}): {} function(s) back on their previous versions.",
        updates.len()
    );
    for u in &updates {
        if u.alias.is_empty() {
            text.push_str(&format!(
                "\n- {} (code only): the code of version {} → the code of version {}",
                u.function, u.from, u.version
            ));
        } else {
            text.push_str(&format!(
                "\n- {}:{} {} → {}",
                u.function, u.alias, u.from, u.version
            ));
        }
    }
    for n in notes {
        text.push_str(&format!("\n- note: {n}"));
    }
    Ok(RolledBack {
        changed: true,
        text,
    })
}

/// What prune found and did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pruned {
    /// `function:version` deleted (or, with `--dry-run`, to delete).
    pub deleted: Vec<String>,
    /// Versions kept because an alias came to reference them meanwhile.
    pub kept: Vec<String>,
    pub functions: usize,
}

async fn function_names(lambda: &LambdaClient, prefix: &str) -> Result<Vec<String>, AwsError> {
    let mut out = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        let page = lambda
            .list_functions()
            .set_marker(marker.clone())
            .max_items(50)
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("ListFunctions", &e))?;
        for f in page.functions() {
            if let Some(n) = f.function_name()
                && n.starts_with(prefix)
            {
                out.push(n.to_string());
            }
        }
        match page.next_marker() {
            Some(m) if !m.is_empty() => marker = Some(m.to_string()),
            _ => break,
        }
    }
    out.sort();
    Ok(out)
}

async fn versions_of(lambda: &LambdaClient, function: &str) -> Result<FunctionVersions, AwsError> {
    let mut versions = Vec::new();
    let mut codes: Vec<(String, String)> = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        let page = lambda
            .list_versions_by_function()
            .function_name(function)
            .set_marker(marker.clone())
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("ListVersionsByFunction", &e))?;
        versions.extend(
            page.versions()
                .iter()
                .filter_map(|v| v.version().map(str::to_string)),
        );
        codes.extend(
            page.versions()
                .iter()
                .filter_map(|v| Some((v.version()?.to_string(), v.code_sha256()?.to_string()))),
        );
        match page.next_marker() {
            Some(m) if !m.is_empty() => marker = Some(m.to_string()),
            _ => break,
        }
    }
    let mut referenced: BTreeSet<String> = ledger::latest_code_holder(&codes).into_iter().collect();
    let mut marker: Option<String> = None;
    loop {
        let page = lambda
            .list_aliases()
            .function_name(function)
            .set_marker(marker.clone())
            .send()
            .await
            .map_err(|e| AwsError::from_sdk("ListAliases", &e))?;
        for a in page.aliases() {
            referenced.extend(a.function_version().map(str::to_string));
            if let Some(w) = a
                .routing_config()
                .and_then(|r| r.additional_version_weights())
            {
                referenced.extend(w.keys().cloned());
            }
        }
        match page.next_marker() {
            Some(m) if !m.is_empty() => marker = Some(m.to_string()),
            _ => break,
        }
    }
    Ok(FunctionVersions {
        function: function.to_string(),
        versions,
        referenced,
    })
}

/// Deletes versions of the functions under `prefix` (or exactly
/// `functions`) that no alias references and that are not the previous or
/// new version of any of the last `keep` releases in the ledger; never
/// `$LATEST`. `dry_run` deletes nothing. `on_delete` hears of every
/// deletion as it happens.
pub async fn prune(
    sdk: &SdkConfig,
    ledger: &Ledger,
    prefix: &str,
    functions: Option<&[String]>,
    keep: usize,
    dry_run: bool,
    mut on_delete: impl FnMut(&str),
) -> Result<Pruned, CommandError> {
    if prefix.trim().is_empty() && functions.is_none() {
        return Err(CommandError {
            exit: 2,
            message: "--function-prefix is required: the prefix of the functions whose versions may be pruned".into(),
        });
    }
    let lambda = LambdaClient::new(sdk);
    let recent = list(ledger, None, keep).await?;
    let protected = ledger::protected_versions(&recent);
    let names = match functions {
        Some(f) => f.to_vec(),
        None => function_names(&lambda, prefix)
            .await
            .map_err(|e| CommandError::failed(e.to_string()))?,
    };
    let mut out = Pruned {
        functions: names.len(),
        ..Default::default()
    };
    let none = BTreeSet::new();
    for name in names {
        let versions = versions_of(&lambda, &name)
            .await
            .map_err(|e| CommandError::failed(format!("{name}: {e}")))?;
        for v in ledger::prunable(&versions, protected.get(&name).unwrap_or(&none)) {
            let label = format!("{name}:{v}");
            if dry_run {
                on_delete(&label);
                out.deleted.push(label);
                continue;
            }
            match lambda
                .delete_function()
                .function_name(&name)
                .qualifier(&v)
                .send()
                .await
            {
                Ok(_) => {
                    on_delete(&label);
                    out.deleted.push(label);
                }
                Err(e) => {
                    let e = AwsError::from_sdk("DeleteFunction", &e);
                    if e.is("ResourceConflictException") {
                        out.kept.push(label);
                    } else if !e.is("ResourceNotFoundException") {
                        return Err(CommandError::failed(format!("{label}: {e}")));
                    }
                }
            }
        }
    }
    Ok(out)
}
