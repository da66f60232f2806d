//! Pipeline triggers (`PipelineDeclaration.triggers`, V2 pipelines): which
//! pushes start a pipeline through a CodeStarSourceConnection source action.
//! Parses the declaration against the model and matches a pushed branch
//! against a trigger's push filters. It knows nothing of executions, jobs or
//! S3: the push handler asks it whether a push matches.
//!
//! What AWS documents
//! (<https://docs.aws.amazon.com/codepipeline/latest/userguide/pipelines-filter.html>):
//! a trigger without filters starts the pipeline on any push to the action's
//! `BranchName`; a trigger with push filters starts it on pushes that match a
//! filter and "configures the pipeline not to start automatically on any
//! change", and the execution uses the commit of the branch pushed to; a
//! manual start still uses `BranchName`. Push filters are ORed, criteria
//! inside a filter ANDed
//! (<https://docs.aws.amazon.com/codepipeline/latest/userguide/pipelines-filter-cli.html>).
//! Patterns are globs
//! (<https://docs.aws.amazon.com/codepipeline/latest/userguide/syntax-glob.html>:
//! `*` within a name component, `**` across `/`, `?` one character, `[ ]` a
//! set, `{a,b}` alternatives, `\` escapes).
//!
//! Simulated: push filters on `branches` (`includes`/`excludes`). A push to
//! aws-sim (`POST /_sim/push`) carries no tags, changed files or pull
//! request, so `tags`, `filePaths` and `pullRequest` are refused with a
//! `ValidationException` naming the field rather than accepted and ignored.

use serde_json::Value;

use super::pipelines::StageDecl;
use super::{check_enum, check_len, missing, opt_list, opt_obj, req_str};
use crate::error::{AwsError, AwsResult};

/// One trigger: the source action it is for and its push filters (empty:
/// no filter, so the action's `BranchName` decides as without a trigger).
#[derive(Debug, Clone)]
pub struct Trigger {
    pub source_action: String,
    pub push: Vec<BranchFilter>,
}

/// The `branches` criteria of one push filter.
#[derive(Debug, Clone)]
pub struct BranchFilter {
    pub includes: Vec<String>,
    pub excludes: Vec<String>,
}

impl Trigger {
    /// Whether a push to `branch` starts the pipeline, given the source
    /// action's configured `BranchName`.
    pub fn matches(&self, branch: &str, configured_branch: Option<&str>) -> bool {
        if self.push.is_empty() {
            return configured_branch == Some(branch);
        }
        self.push.iter().any(|f| f.matches(branch))
    }

    /// Whether the trigger has filters (then it, not `BranchName`, decides).
    pub fn filters(&self) -> bool {
        !self.push.is_empty()
    }
}

impl BranchFilter {
    fn matches(&self, branch: &str) -> bool {
        let included = self.includes.is_empty()
            || self
                .includes
                .iter()
                .any(|p| glob(p.as_bytes(), branch.as_bytes()));
        included
            && !self
                .excludes
                .iter()
                .any(|p| glob(p.as_bytes(), branch.as_bytes()))
    }
}

fn refused(field: &str, what: &str) -> AwsError {
    AwsError::validation(format!(
        "{field}: aws-sim does not simulate {what} (a push to aws-sim carries a repository, a branch and a commit only), and refuses it rather than ignore it; filter on branches, or remove it"
    ))
}

/// Parses `pipeline.triggers` of declaration `p` with the already parsed
/// `stages` (a trigger must name a CodeStarSourceConnection source action).
pub fn parse(p: &Value, pipeline_type: &str, stages: &[StageDecl]) -> AwsResult<Vec<Trigger>> {
    let list = opt_list(p, "triggers", "pipeline.triggers")?;
    if list.is_empty() {
        return Ok(vec![]);
    }
    if pipeline_type != "V2" {
        return Err(AwsError::validation(
            "pipeline.triggers: triggers are only supported for pipeline type V2; declare pipelineType V2",
        ));
    }
    if list.len() > 50 {
        return Err(super::invalid(
            "pipeline.triggers",
            &format!("{} triggers", list.len()),
            "Member must have length less than or equal to 50",
        ));
    }
    let mut out: Vec<Trigger> = Vec::new();
    for (i, t) in list.iter().enumerate() {
        let f = format!("pipeline.triggers.{}.member", i + 1);
        let provider = req_str(t, "providerType", &format!("{f}.providerType"))?;
        check_enum(
            &format!("{f}.providerType"),
            provider,
            &["CodeStarSourceConnection"],
        )?;
        let git = opt_obj(t, "gitConfiguration", &format!("{f}.gitConfiguration"))?
            .ok_or_else(|| missing(&format!("{f}.gitConfiguration")))?;
        let gf = format!("{f}.gitConfiguration");
        let action = req_str(git, "sourceActionName", &format!("{gf}.sourceActionName"))?;
        check_len(&format!("{gf}.sourceActionName"), action, 1, 100)?;
        let is_connection_source = stages.first().is_some_and(|s| {
            s.actions.iter().any(|a| {
                a.name == action
                    && a.type_id.owner == "AWS"
                    && a.type_id.provider == "CodeStarSourceConnection"
            })
        });
        if !is_connection_source {
            return Err(AwsError::validation(format!(
                "{gf}.sourceActionName {action} is not a CodeStarSourceConnection source action of this pipeline; triggers apply only to such actions"
            )));
        }
        if out.iter().any(|t| t.source_action == action) {
            return Err(AwsError::validation(format!(
                "{gf}: source action {action} already has a trigger; only one trigger configuration per source action is allowed"
            )));
        }
        if git.get("pullRequest").is_some_and(|v| !v.is_null()) {
            return Err(refused(
                &format!("{gf}.pullRequest"),
                "pull request triggers",
            ));
        }
        let pushes = opt_list(git, "push", &format!("{gf}.push"))?;
        if git.get("push").is_some_and(Value::is_array) && !(1..=3).contains(&pushes.len()) {
            return Err(super::invalid(
                &format!("{gf}.push"),
                &format!("{} filters", pushes.len()),
                "Member must have length between 1 and 3",
            ));
        }
        let mut push = Vec::new();
        for (j, pf) in pushes.iter().enumerate() {
            let pff = format!("{gf}.push.{}.member", j + 1);
            for (key, what) in [
                ("tags", "Git tag filters"),
                ("filePaths", "file path filters"),
            ] {
                if pf.get(key).is_some_and(|v| !v.is_null()) {
                    return Err(refused(&format!("{pff}.{key}"), what));
                }
            }
            let b = opt_obj(pf, "branches", &format!("{pff}.branches"))?.ok_or_else(|| {
                AwsError::validation(format!(
                    "{pff}: a push filter needs branches (or tags, which aws-sim does not simulate)"
                ))
            })?;
            let patterns = |key: &str| -> AwsResult<Vec<String>> {
                let bf = format!("{pff}.branches.{key}");
                let l = opt_list(b, key, &bf)?;
                if b.get(key).is_some_and(Value::is_array) && !(1..=8).contains(&l.len()) {
                    return Err(super::invalid(
                        &bf,
                        &format!("{} patterns", l.len()),
                        "Member must have length between 1 and 8",
                    ));
                }
                l.iter()
                    .map(|v| {
                        let s = v.as_str().ok_or_else(|| {
                            AwsError::bad_request(
                                "SerializationException",
                                format!("'{bf}' must be a list of strings"),
                            )
                        })?;
                        check_len(&bf, s, 1, 255)?;
                        Ok(s.to_string())
                    })
                    .collect()
            };
            let includes = patterns("includes")?;
            let excludes = patterns("excludes")?;
            if includes.is_empty() && excludes.is_empty() {
                return Err(AwsError::validation(format!(
                    "{pff}.branches needs includes or excludes"
                )));
            }
            push.push(BranchFilter { includes, excludes });
        }
        out.push(Trigger {
            source_action: action.to_string(),
            push,
        });
    }
    Ok(out)
}

/// Glob match of `text` against `pat` (the rules of the module header).
fn glob(pat: &[u8], text: &[u8]) -> bool {
    match pat.first() {
        None => text.is_empty(),
        Some(b'*') if pat.get(1) == Some(&b'*') => {
            let rest = &pat[2..];
            (0..=text.len()).any(|i| glob(rest, &text[i..]))
        }
        Some(b'*') => {
            let rest = &pat[1..];
            for i in 0..=text.len() {
                if glob(rest, &text[i..]) {
                    return true;
                }
                if text.get(i) == Some(&b'/') {
                    break;
                }
            }
            false
        }
        Some(b'?') => text.first().is_some_and(|c| *c != b'/') && glob(&pat[1..], &text[1..]),
        Some(b'\\') if pat.len() > 1 => {
            text.first() == Some(&pat[1]) && glob(&pat[2..], &text[1..])
        }
        Some(b'[') => match pat.iter().skip(1).position(|c| *c == b']') {
            Some(end) => {
                let set = &pat[1..1 + end];
                let Some(&c) = text.first() else {
                    return false;
                };
                let (negate, set) = match set.first() {
                    Some(b'!') => (true, &set[1..]),
                    _ => (false, set),
                };
                let mut hit = false;
                let mut k = 0;
                while k < set.len() {
                    if k + 2 < set.len() && set[k + 1] == b'-' {
                        hit |= set[k] <= c && c <= set[k + 2];
                        k += 3;
                    } else {
                        hit |= set[k] == c;
                        k += 1;
                    }
                }
                hit != negate && glob(&pat[2 + end..], &text[1..])
            }
            None => text.first() == Some(&b'[') && glob(&pat[1..], &text[1..]),
        },
        Some(b'{') => match pat.iter().position(|c| *c == b'}') {
            Some(end) => {
                let rest = &pat[end + 1..];
                pat[1..end].split(|c| *c == b',').any(|alt| {
                    let mut p = alt.to_vec();
                    p.extend_from_slice(rest);
                    glob(&p, text)
                })
            }
            None => text.first() == Some(&b'{') && glob(&pat[1..], &text[1..]),
        },
        Some(c) => text.first() == Some(c) && glob(&pat[1..], &text[1..]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g(p: &str, t: &str) -> bool {
        glob(p.as_bytes(), t.as_bytes())
    }

    #[test]
    fn globs_follow_the_codepipeline_rules() {
        assert!(g("main", "main"));
        assert!(!g("main", "mainline"));
        assert!(g("release/*", "release/1.2"));
        assert!(!g("release/*", "release/1.2/hotfix"));
        assert!(g("release/**", "release/1.2/hotfix"));
        assert!(g("feature-?", "feature-a"));
        assert!(!g("feature-?", "feature-ab"));
        assert!(g("v[0-9]", "v7"));
        assert!(!g("v[!0-9]", "v7"));
        assert!(g("{main,develop}", "develop"));
        assert!(g("a\\*", "a*"));
        assert!(!g("a\\*", "ab"));
        assert!(g("**", "any/thing"));
    }

    #[test]
    fn filters_or_between_and_within() {
        let t = Trigger {
            source_action: "GitHub".into(),
            push: vec![
                BranchFilter {
                    includes: vec!["release/**".into()],
                    excludes: vec!["release/old/**".into()],
                },
                BranchFilter {
                    includes: vec!["main".into()],
                    excludes: vec![],
                },
            ],
        };
        assert!(t.matches("main", Some("develop")));
        assert!(t.matches("release/2", Some("main")));
        assert!(!t.matches("release/old/1", Some("main")));
        assert!(!t.matches("develop", Some("develop")));
        let none = Trigger {
            source_action: "GitHub".into(),
            push: vec![],
        };
        assert!(none.matches("main", Some("main")));
        assert!(!none.matches("dev", Some("main")));
    }
}
