//! IAM identity policies for access keys: a store mapping an access key id to
//! one identity-based policy document, the evaluation of a call's IAM actions
//! against it (explicit `Deny` wins, otherwise an `Allow` is needed, default
//! deny), the IAM actions and resources each simulated operation is
//! authorized by, and the `AccessDenied` error each service answers with.
//!
//! Keys without a policy stay unrestricted ("the account", as before), and
//! so do the temporary credentials issued with CodePipeline jobs (their
//! bucket scope is enforced by `credentials`). `Effect`, `Action`/`NotAction`
//! and `Resource`/`NotResource` are evaluated. Resources are known for the
//! services that carry them in the URL: Lambda (the function ARN, qualified
//! when the call has a `Qualifier`) and S3 (`arn:aws:s3:::bucket` for bucket
//! calls, `arn:aws:s3:::bucket/key` for object calls, the copy source for
//! the `s3:GetObject` of a copy, the object again for the `s3:GetObject`
//! a write or delete conditional on its ETag needs). For CodePipeline, CodeDeploy and CloudWatch
//! (resources in the body), and the few Lambda/S3 calls whose resource is in
//! the body (CreateFunction, DeleteObjects), every `Resource` matches. A
//! statement with a `Condition` is evaluated as if its condition held. So a
//! resource-scoped or conditional `Allow` may grant more here than in AWS,
//! and a conditional `Deny` refuses more.
//!
//! This module knows nothing about what the services do: the server hands it
//! the caller's key, the service, the operation name and the request line.

use std::collections::BTreeMap;
use std::sync::Mutex;

use http::StatusCode;
use serde_json::{Value, json};

use crate::error::AwsError;

/// Account id in the principal ARNs of denial messages (the sim's account).
pub const ACCOUNT_ID: &str = "123456789012";

/// Identity policies by access key id.
#[derive(Debug, Default)]
pub struct Iam {
    policies: Mutex<BTreeMap<String, Installed>>,
}

/// A policy as installed: the document as given and its parsed form.
#[derive(Debug, Clone)]
struct Installed {
    document: Value,
    policy: Policy,
}

/// A parsed identity-based policy.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    statements: Vec<Statement>,
}

#[derive(Debug, Clone, PartialEq)]
struct Statement {
    sid: Option<String>,
    effect: Effect,
    /// `Action` patterns (lower-cased), or `NotAction` ones when `not` is set.
    actions: Vec<String>,
    not: bool,
    /// `Resource` patterns, or `NotResource` ones when `not_resource` is set.
    resources: Vec<String>,
    not_resource: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Effect {
    Allow,
    Deny,
}

/// The outcome of evaluating one action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Allowed,
    /// No statement allows the action.
    ImplicitDeny,
    /// A `Deny` statement matches the action.
    ExplicitDeny,
}

/// One IAM action a call needs, on its resource when the sim knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Needed {
    pub action: String,
    pub resource: Option<String>,
}

impl Needed {
    pub fn new(action: impl Into<String>, resource: Option<String>) -> Needed {
        Needed {
            action: action.into(),
            resource,
        }
    }
}

/// Why a call was refused: the first of its actions that is not allowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Denied {
    pub action: String,
    pub resource: Option<String>,
    pub explicit: bool,
}

impl Policy {
    /// Parses and validates a policy document the way IAM's
    /// `MalformedPolicyDocument` checks do (for the elements simulated).
    pub fn parse(doc: &Value) -> Result<Policy, String> {
        let obj = doc
            .as_object()
            .ok_or("the policy document must be a JSON object")?;
        for k in obj.keys() {
            if !matches!(k.as_str(), "Version" | "Id" | "Statement") {
                return Err(format!("Syntax errors in policy: unknown element {k}"));
            }
        }
        if let Some(v) = obj.get("Version") {
            match v.as_str() {
                Some("2012-10-17" | "2008-10-17") => {}
                _ => {
                    return Err(
                        "The policy must contain a valid version string (2012-10-17 or 2008-10-17)"
                            .into(),
                    );
                }
            }
        }
        let statements = match obj.get("Statement") {
            Some(Value::Array(a)) => a.iter().collect::<Vec<_>>(),
            Some(s @ Value::Object(_)) => vec![s],
            Some(_) => return Err("Statement must be an object or an array of objects".into()),
            None => return Err("Syntax errors in policy: missing Statement".into()),
        };
        if statements.is_empty() {
            return Err("Syntax errors in policy: Statement is empty".into());
        }
        let statements = statements
            .into_iter()
            .enumerate()
            .map(|(i, s)| Statement::parse(s).map_err(|e| format!("Statement {i}: {e}")))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Policy { statements })
    }

    /// IAM's evaluation of one action (case-insensitive) on any resource:
    /// an explicit `Deny` wins, otherwise an `Allow` is needed.
    pub fn evaluate(&self, action: &str) -> Verdict {
        self.evaluate_on(action, None)
    }

    /// [`Policy::evaluate`] on `resource` (an ARN, matched case-sensitively);
    /// `None` when the resource is unknown: every `Resource` matches.
    pub fn evaluate_on(&self, action: &str, resource: Option<&str>) -> Verdict {
        let action = action.to_ascii_lowercase();
        let mut allowed = false;
        for s in &self.statements {
            if !s.matches(&action, resource) {
                continue;
            }
            match s.effect {
                Effect::Deny => return Verdict::ExplicitDeny,
                Effect::Allow => allowed = true,
            }
        }
        if allowed {
            Verdict::Allowed
        } else {
            Verdict::ImplicitDeny
        }
    }

    /// Every action must be allowed; the first that is not is reported.
    pub fn authorize(&self, needed: &[Needed]) -> Result<(), Denied> {
        for n in needed {
            match self.evaluate_on(&n.action, n.resource.as_deref()) {
                Verdict::Allowed => {}
                v => {
                    return Err(Denied {
                        action: n.action.clone(),
                        resource: n.resource.clone(),
                        explicit: v == Verdict::ExplicitDeny,
                    });
                }
            }
        }
        Ok(())
    }

    /// `Sid`s of the statements, in order (for tests and the control API).
    pub fn sids(&self) -> Vec<Option<String>> {
        self.statements.iter().map(|s| s.sid.clone()).collect()
    }
}

impl Statement {
    fn parse(v: &Value) -> Result<Statement, String> {
        let obj = v.as_object().ok_or("a statement must be a JSON object")?;
        for k in obj.keys() {
            match k.as_str() {
                "Sid" | "Effect" | "Action" | "NotAction" | "Resource" | "NotResource"
                | "Condition" => {}
                "Principal" | "NotPrincipal" => {
                    return Err("Policy document should not specify a principal.".into());
                }
                other => return Err(format!("Syntax errors in policy: unknown element {other}")),
            }
        }
        let sid = match obj.get("Sid") {
            None => None,
            Some(Value::String(s)) if s.chars().all(|c| c.is_ascii_alphanumeric()) => {
                Some(s.clone())
            }
            Some(_) => return Err("Statement IDs (SID) must be alpha-numeric".into()),
        };
        let effect = match obj.get("Effect").and_then(Value::as_str) {
            Some("Allow") => Effect::Allow,
            Some("Deny") => Effect::Deny,
            _ => return Err("Effect must be Allow or Deny".into()),
        };
        let (actions, not) = match (obj.get("Action"), obj.get("NotAction")) {
            (Some(a), None) => (strings(a, "Action")?, false),
            (None, Some(a)) => (strings(a, "NotAction")?, true),
            _ => return Err("a statement needs exactly one of Action and NotAction".into()),
        };
        for a in &actions {
            if a != "*"
                && a.split_once(':')
                    .is_none_or(|(p, n)| p.is_empty() || n.is_empty())
            {
                return Err(format!(
                    "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc. ({a})"
                ));
            }
        }
        let (resources, not_resource) = match (obj.get("Resource"), obj.get("NotResource")) {
            (Some(r), None) => (strings(r, "Resource")?, false),
            (None, Some(r)) => (strings(r, "NotResource")?, true),
            _ => {
                return Err("a statement needs exactly one of Resource and NotResource".into());
            }
        };
        for r in &resources {
            if r != "*" && !r.starts_with("arn:") {
                return Err(format!("Resource {r} must be in ARN format or \"*\"."));
            }
        }
        if let Some(c) = obj.get("Condition")
            && !c.is_object()
        {
            return Err("Condition must be an object".into());
        }
        Ok(Statement {
            sid,
            effect,
            actions: actions.iter().map(|a| a.to_ascii_lowercase()).collect(),
            not,
            resources,
            not_resource,
        })
    }

    /// Whether the statement applies to `action` (already lower-cased) on
    /// `resource` (any resource when unknown).
    fn matches(&self, action: &str, resource: Option<&str>) -> bool {
        let listed = self.actions.iter().any(|p| glob(p, action));
        if listed == self.not {
            return false;
        }
        match resource {
            None => true,
            Some(r) => self.resources.iter().any(|p| glob(p, r)) != self.not_resource,
        }
    }
}

/// A string or a non-empty list of strings.
fn strings(v: &Value, element: &str) -> Result<Vec<String>, String> {
    match v {
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Array(a) if !a.is_empty() => a
            .iter()
            .map(|x| {
                x.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| format!("{element} entries must be strings"))
            })
            .collect(),
        _ => Err(format!(
            "{element} must be a string or a non-empty list of strings"
        )),
    }
}

/// IAM wildcard matching: `*` any run of characters, `?` one character.
fn glob(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

impl Iam {
    /// Installs (or replaces) the identity policy of `access_key_id`.
    pub fn put_policy(&self, access_key_id: &str, document: &Value) -> Result<(), AwsError> {
        let policy = Policy::parse(document)
            .map_err(|e| AwsError::bad_request("MalformedPolicyDocument", e))?;
        crate::lock(&self.policies).insert(
            access_key_id.to_string(),
            Installed {
                document: document.clone(),
                policy,
            },
        );
        Ok(())
    }

    /// Removes the policy of `access_key_id` (unrestricted again); whether
    /// there was one.
    pub fn delete_policy(&self, access_key_id: &str) -> bool {
        crate::lock(&self.policies).remove(access_key_id).is_some()
    }

    /// The document installed for `access_key_id`.
    pub fn policy(&self, access_key_id: &str) -> Option<Value> {
        crate::lock(&self.policies)
            .get(access_key_id)
            .map(|i| i.document.clone())
    }

    /// Access key ids that have a policy.
    pub fn keys(&self) -> Vec<String> {
        crate::lock(&self.policies).keys().cloned().collect()
    }

    /// Authorizes a call needing `needed` by `access_key_id`: `Ok` when the
    /// key has no policy or the policy allows every action.
    pub fn authorize(&self, access_key_id: &str, needed: &[Needed]) -> Result<(), Denied> {
        let policy = match crate::lock(&self.policies).get(access_key_id) {
            Some(i) => i.policy.clone(),
            None => return Ok(()),
        };
        policy.authorize(needed)
    }
}

/// The IAM service prefix of a SigV4 service name.
pub fn prefix(service: &str) -> &str {
    match service {
        "monitoring" => "cloudwatch",
        other => other,
    }
}

/// The IAM actions that authorize `operation` (Service Authorization
/// Reference, "API operations defined by …"). Operations not listed need
/// the action of the same name.
pub fn actions_for(service: &str, operation: &str) -> Vec<String> {
    let p = prefix(service);
    let names: &[&str] = match (p, operation) {
        ("s3", "ListBuckets") => &["ListAllMyBuckets"],
        ("s3", "HeadBucket" | "ListObjects" | "ListObjectsV2") => &["ListBucket"],
        ("s3", "HeadObject") => &["GetObject"],
        ("s3", "DeleteObjects") => &["DeleteObject"],
        ("s3", "CreateMultipartUpload" | "UploadPart" | "CompleteMultipartUpload") => {
            &["PutObject"]
        }
        ("s3", "CopyObject" | "UploadPartCopy") => &["GetObject", "PutObject"],
        ("s3", "ListMultipartUploads") => &["ListBucketMultipartUploads"],
        ("s3", "ListParts") => &["ListMultipartUploadParts"],
        ("lambda", "Invoke") => &["InvokeFunction"],
        _ => return vec![format!("{p}:{operation}")],
    };
    names.iter().map(|n| format!("{p}:{n}")).collect()
}

/// What a call needs: each IAM action of `operation` with its resource
/// (see the module documentation for which resources are known).
pub fn needed<B>(
    service: &str,
    operation: &str,
    region: &str,
    req: &http::Request<B>,
) -> Vec<Needed> {
    let actions = actions_for(service, operation);
    match service {
        "lambda" => {
            let resource = lambda_resource(operation, region, req.uri());
            actions
                .into_iter()
                .map(|a| Needed::new(a, resource.clone()))
                .collect()
        }
        "s3" => {
            let (bucket, key) = s3_target(req);
            let copy_source = req
                .headers()
                .get("x-amz-copy-source")
                .and_then(|v| v.to_str().ok())
                .map(|v| {
                    let v = crate::auth::pct_decode(v);
                    let v = v.split_once("?versionId=").map_or(v.as_str(), |(p, _)| p);
                    format!("arn:aws:s3:::{}", v.trim_start_matches('/'))
                });
            let resource = match (operation, bucket, key) {
                ("ListBuckets", ..) => Some("*".to_string()),
                ("DeleteObjects", ..) => None,
                (_, Some(b), Some(k)) => Some(format!("arn:aws:s3:::{b}/{k}")),
                (_, Some(b), None) => Some(format!("arn:aws:s3:::{b}")),
                _ => None,
            };
            let mut needed: Vec<Needed> = actions
                .into_iter()
                .map(|a| {
                    let copy =
                        matches!(operation, "CopyObject" | "UploadPartCopy") && a == "s3:GetObject";
                    let r = if copy {
                        copy_source.clone()
                    } else {
                        resource.clone()
                    };
                    Needed::new(a, r)
                })
                .collect();
            // A write or delete conditional on the object's ETag reads it:
            // the user guide asks s3:GetObject on the object as well
            // (If-None-Match writes and `If-Match: *` deletes need only the
            // write or delete).
            let if_match = req
                .headers()
                .get(http::header::IF_MATCH)
                .and_then(|v| v.to_str().ok());
            let reads = match operation {
                "PutObject" | "CopyObject" | "CompleteMultipartUpload" => if_match.is_some(),
                "DeleteObject" => if_match.is_some_and(|v| v.trim() != "*"),
                _ => false,
            };
            if reads {
                needed.push(Needed::new("s3:GetObject".to_string(), resource));
            }
            needed
        }
        _ => actions.into_iter().map(|a| Needed::new(a, None)).collect(),
    }
}

/// The function ARN a Lambda call is on (with the `Qualifier`, or the one
/// in the name), `*` for ListFunctions; `None` when the name is in the body.
fn lambda_resource(operation: &str, region: &str, uri: &http::Uri) -> Option<String> {
    if operation == "ListFunctions" {
        return Some("*".into());
    }
    let rest = uri.path().strip_prefix("/2015-03-31/functions/")?;
    let name = crate::auth::pct_decode(rest.split('/').next()?);
    if name.is_empty() {
        return None;
    }
    let qualifier = uri.query().and_then(|q| {
        crate::auth::form_pairs(q)
            .into_iter()
            .find(|(k, _)| k == "Qualifier")
            .map(|(_, v)| v)
    });
    let base = if name.starts_with("arn:") {
        name
    } else if name.contains(":function:") {
        // `123456789012:function:name[:qualifier]`
        format!("arn:aws:lambda:{region}:{name}")
    } else {
        format!("arn:aws:lambda:{region}:{ACCOUNT_ID}:function:{name}")
    };
    // `function:name:qualifier` already carries its qualifier.
    let qualified_in_name = base.split(':').count() > 7;
    Some(match qualifier {
        Some(q) if !q.is_empty() && !qualified_in_name => format!("{base}:{q}"),
        _ => base,
    })
}

/// Bucket and key of an S3 request, path-style or virtual-hosted
/// (`bucket.localhost[:port]`, as the S3 module routes them).
fn s3_target<B>(req: &http::Request<B>) -> (Option<String>, Option<String>) {
    let path = req.uri().path();
    let path = path.strip_prefix('/').unwrap_or(path);
    let host = req
        .headers()
        .get(http::header::HOST)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .or_else(|| req.uri().authority().map(|a| a.to_string()));
    let vhost = host.and_then(|h| {
        let h = match h.rsplit_once(':') {
            Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name.to_string(),
            _ => h,
        };
        let h = h.trim_end_matches('.').to_ascii_lowercase();
        let b = h.strip_suffix(".localhost")?;
        let b = b.strip_suffix(".s3").unwrap_or(b);
        (!b.is_empty() && b != "s3").then(|| b.to_string())
    });
    let nonempty = |s: &str| (!s.is_empty()).then(|| crate::auth::pct_decode(s));
    match vhost {
        Some(b) => (Some(b), nonempty(path)),
        None => {
            let (b, k) = path.split_once('/').unwrap_or((path, ""));
            (nonempty(b), nonempty(k))
        }
    }
}

/// The error `service` answers a refused call with, worded like AWS:
/// S3 403 `AccessDenied` (XML), Lambda 403 `AccessDeniedException`,
/// CloudWatch 403 `AccessDenied` (query-compatible code), CodePipeline and
/// CodeDeploy 400 `AccessDeniedException` (awsJson 1.1).
pub fn access_denied(service: &str, access_key_id: &str, denied: &Denied) -> AwsError {
    let on = denied
        .resource
        .as_deref()
        .filter(|r| *r != "*")
        .map(|r| format!(" on resource: {r}"))
        .unwrap_or_default();
    let why = if denied.explicit {
        "with an explicit deny in an identity-based policy".to_string()
    } else {
        format!(
            "because no identity-based policy allows the {} action",
            denied.action
        )
    };
    let message = format!(
        "User: arn:aws:iam::{ACCOUNT_ID}:user/{access_key_id} is not authorized to perform: {}{on} {why}",
        denied.action
    );
    let (status, code) = match service {
        "s3" => (StatusCode::FORBIDDEN, "AccessDenied"),
        "monitoring" => (StatusCode::FORBIDDEN, "AccessDenied"),
        "lambda" => (StatusCode::FORBIDDEN, "AccessDeniedException"),
        _ => (StatusCode::BAD_REQUEST, "AccessDeniedException"),
    };
    AwsError::new(status, code, message)
}

/// The control routes under `/_sim/iam/`: (status, JSON answer).
///
/// | route | what |
/// |---|---|
/// | `GET /_sim/iam/policies` | `{"accessKeyIds": [...]}` |
/// | `PUT /_sim/iam/policies/{accessKeyId}` | installs the policy document in the body |
/// | `GET /_sim/iam/policies/{accessKeyId}` | the installed document, or 404 |
/// | `DELETE /_sim/iam/policies/{accessKeyId}` | removes it (the key is unrestricted again) |
pub fn control(iam: &Iam, method: &http::Method, path: &str, body: &[u8]) -> (StatusCode, Value) {
    use http::Method;
    let Some(rest) = path.strip_prefix("/_sim/iam/policies") else {
        return (
            StatusCode::NOT_FOUND,
            json!({"error": format!("no control route {path}")}),
        );
    };
    if rest.is_empty() || rest == "/" {
        return match *method {
            Method::GET => (StatusCode::OK, json!({"accessKeyIds": iam.keys()})),
            _ => (
                StatusCode::METHOD_NOT_ALLOWED,
                json!({"error": "use GET /_sim/iam/policies or PUT/GET/DELETE /_sim/iam/policies/{accessKeyId}"}),
            ),
        };
    }
    let key = crate::auth::pct_decode(rest.trim_start_matches('/'));
    if key.is_empty() || key.contains('/') {
        return (
            StatusCode::NOT_FOUND,
            json!({"error": format!("no control route {path}")}),
        );
    }
    match *method {
        Method::PUT | Method::POST => {
            let doc: Value = match serde_json::from_slice(body) {
                Ok(v) => v,
                Err(e) => {
                    return (
                        StatusCode::BAD_REQUEST,
                        json!({"error": format!("MalformedPolicyDocument: body is not JSON: {e}")}),
                    );
                }
            };
            match iam.put_policy(&key, &doc) {
                Ok(()) => (StatusCode::OK, json!({"accessKeyId": key, "policy": doc})),
                Err(e) => (
                    StatusCode::BAD_REQUEST,
                    json!({"error": format!("{}: {}", e.code, e.message)}),
                ),
            }
        }
        Method::GET => match iam.policy(&key) {
            Some(doc) => (StatusCode::OK, json!({"accessKeyId": key, "policy": doc})),
            None => (
                StatusCode::NOT_FOUND,
                json!({"error": format!("no policy for {key}")}),
            ),
        },
        Method::DELETE => (
            StatusCode::OK,
            json!({"accessKeyId": key, "deleted": iam.delete_policy(&key)}),
        ),
        _ => (
            StatusCode::METHOD_NOT_ALLOWED,
            json!({"error": "use PUT, GET or DELETE"}),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(statements: Value) -> Policy {
        Policy::parse(&json!({"Version": "2012-10-17", "Statement": statements})).unwrap()
    }

    #[test]
    fn wildcards_match_case_insensitively() {
        let p = policy(json!([
            {"Effect": "Allow", "Action": ["lambda:Get*", "codedeploy:?etDeployment"], "Resource": "*"},
            {"Effect": "Allow", "Action": "CodePipeline:PollForJobs", "Resource": "*"}
        ]));
        assert_eq!(p.evaluate("lambda:GetAlias"), Verdict::Allowed);
        assert_eq!(p.evaluate("LAMBDA:getfunction"), Verdict::Allowed);
        assert_eq!(p.evaluate("lambda:UpdateAlias"), Verdict::ImplicitDeny);
        assert_eq!(p.evaluate("codedeploy:GetDeployment"), Verdict::Allowed);
        assert_eq!(
            p.evaluate("codedeploy:GetDeployments"),
            Verdict::ImplicitDeny
        );
        assert_eq!(
            p.evaluate("codedeploy:BatchGetDeployments"),
            Verdict::ImplicitDeny
        );
        assert_eq!(p.evaluate("codepipeline:pollforjobs"), Verdict::Allowed);
        // The prefix is part of the pattern: lambda:Get* is not s3:Get*.
        assert_eq!(p.evaluate("s3:GetObject"), Verdict::ImplicitDeny);
        let all = policy(json!({"Effect": "Allow", "Action": "*", "Resource": "*"}));
        assert_eq!(all.evaluate("s3:GetObject"), Verdict::Allowed);
        let mid = policy(json!({"Effect": "Allow", "Action": "s3:*Object*", "Resource": "*"}));
        assert_eq!(mid.evaluate("s3:GetObject"), Verdict::Allowed);
        assert_eq!(mid.evaluate("s3:ListObjectsV2"), Verdict::Allowed);
        assert_eq!(mid.evaluate("s3:ListBucket"), Verdict::ImplicitDeny);
    }

    #[test]
    fn explicit_deny_wins_over_any_allow() {
        let p = policy(json!([
            {"Effect": "Allow", "Action": "*", "Resource": "*"},
            {"Sid": "NoS3", "Effect": "Deny", "Action": "s3:*", "Resource": "*"}
        ]));
        assert_eq!(p.evaluate("s3:GetObject"), Verdict::ExplicitDeny);
        assert_eq!(p.evaluate("lambda:GetAlias"), Verdict::Allowed);
        assert_eq!(
            p.authorize(&[
                Needed::new("lambda:GetAlias", None),
                Needed::new("s3:PutObject", Some("arn:aws:s3:::b/k".into()))
            ]),
            Err(Denied {
                action: "s3:PutObject".into(),
                resource: Some("arn:aws:s3:::b/k".into()),
                explicit: true
            })
        );
        assert_eq!(p.sids(), vec![None, Some("NoS3".into())]);
    }

    #[test]
    fn default_deny_without_a_matching_allow() {
        let p = policy(json!({"Effect": "Deny", "Action": "s3:*", "Resource": "*"}));
        assert_eq!(p.evaluate("lambda:GetAlias"), Verdict::ImplicitDeny);
        assert_eq!(p.evaluate("s3:GetObject"), Verdict::ExplicitDeny);
        let e = p
            .authorize(&[Needed::new("lambda:GetAlias", None)])
            .unwrap_err();
        assert!(!e.explicit);
    }

    #[test]
    fn not_action_applies_to_every_other_action() {
        let p = policy(json!([
            {"Effect": "Allow", "NotAction": ["s3:*", "iam:*"], "Resource": "*"},
            {"Effect": "Deny", "NotAction": "lambda:*", "Resource": "*", "Condition": {"Bool": {"aws:SecureTransport": "false"}}}
        ]));
        // Allowed by the NotAction allow, but the NotAction deny (its
        // condition taken as true) refuses everything outside lambda.
        assert_eq!(p.evaluate("lambda:PublishVersion"), Verdict::Allowed);
        assert_eq!(
            p.evaluate("codedeploy:CreateDeployment"),
            Verdict::ExplicitDeny
        );
        assert_eq!(p.evaluate("s3:GetObject"), Verdict::ExplicitDeny);
        let allow_only = policy(json!({"Effect": "Allow", "NotAction": "s3:*", "Resource": "*"}));
        assert_eq!(allow_only.evaluate("s3:GetObject"), Verdict::ImplicitDeny);
        assert_eq!(
            allow_only.evaluate("cloudwatch:DescribeAlarms"),
            Verdict::Allowed
        );
    }

    #[test]
    fn malformed_documents_are_refused() {
        for (doc, want) in [
            (json!([]), "JSON object"),
            (json!({"Version": "2012-10-17"}), "missing Statement"),
            (
                json!({"Version": "2020-01-01", "Statement": []}),
                "valid version",
            ),
            (
                json!({"Statement": {"Effect": "Maybe", "Action": "*", "Resource": "*"}}),
                "Effect",
            ),
            (
                json!({"Statement": {"Effect": "Allow", "Action": "GetObject", "Resource": "*"}}),
                "prefaced by a vendor",
            ),
            (
                json!({"Statement": {"Effect": "Allow", "Action": "s3:*", "NotAction": "s3:Get*", "Resource": "*"}}),
                "exactly one of Action",
            ),
            (
                json!({"Statement": {"Effect": "Allow", "Action": "s3:*"}}),
                "exactly one of Resource",
            ),
            (
                json!({"Statement": {"Effect": "Allow", "Action": [], "Resource": "*"}}),
                "non-empty",
            ),
            (
                json!({"Statement": {"Effect": "Allow", "Action": "s3:*", "Resource": "*", "Principal": "*"}}),
                "principal",
            ),
            (
                json!({"Statement": {"Sid": "no spaces", "Effect": "Allow", "Action": "s3:*", "Resource": "*"}}),
                "alpha-numeric",
            ),
        ] {
            let e = Policy::parse(&doc).unwrap_err();
            assert!(e.contains(want), "{doc}: {e}");
        }
        let iam = Iam::default();
        let e = iam.put_policy("AK", &json!({})).unwrap_err();
        assert_eq!(e.code, "MalformedPolicyDocument");
        assert!(iam.keys().is_empty());
    }

    /// What a call of `operation` needs, its resource unknown.
    fn needs(service: &str, operation: &str) -> Vec<Needed> {
        actions_for(service, operation)
            .into_iter()
            .map(|a| Needed::new(a, None))
            .collect()
    }

    fn request(uri: &str, host: &str, headers: &[(&str, &str)]) -> http::Request<()> {
        let mut b = http::Request::builder().uri(uri).header("host", host);
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        b.body(()).unwrap()
    }

    fn resources(
        service: &str,
        op: &str,
        req: &http::Request<()>,
    ) -> Vec<(String, Option<String>)> {
        needed(service, op, "eu-west-1", req)
            .into_iter()
            .map(|n| (n.action, n.resource))
            .collect()
    }

    #[test]
    fn keys_without_a_policy_are_unrestricted() {
        let iam = Iam::default();
        assert_eq!(iam.authorize("AKANY", &needs("s3", "GetObject")), Ok(()));
        iam.put_policy(
            "AKWORKER",
            &json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["lambda:InvokeFunction", "s3:ListBucket"], "Resource": "*"}]}),
        )
        .unwrap();
        assert_eq!(iam.authorize("AKANY", &needs("s3", "GetObject")), Ok(()));
        assert_eq!(
            iam.authorize("AKWORKER", &needs("lambda", "Invoke")),
            Ok(())
        );
        assert_eq!(
            iam.authorize("AKWORKER", &needs("s3", "HeadBucket")),
            Ok(())
        );
        assert_eq!(
            iam.authorize("AKWORKER", &needs("s3", "ListObjectsV2")),
            Ok(())
        );
        assert_eq!(
            iam.authorize("AKWORKER", &needs("s3", "HeadObject")),
            Err(Denied {
                action: "s3:GetObject".into(),
                resource: None,
                explicit: false
            })
        );
        assert_eq!(
            iam.authorize("AKWORKER", &needs("monitoring", "DescribeAlarms"))
                .unwrap_err()
                .action,
            "cloudwatch:DescribeAlarms"
        );
        assert!(iam.delete_policy("AKWORKER"));
        assert!(!iam.delete_policy("AKWORKER"));
        assert_eq!(
            iam.authorize("AKWORKER", &needs("s3", "HeadObject")),
            Ok(())
        );
    }

    #[test]
    fn resources_scope_statements() {
        // The worker policy's shape: everything on the prefix, only
        // GetFunction on hook functions.
        let p = policy(json!([
            {"Effect": "Allow", "Action": ["lambda:GetFunction", "lambda:GetFunctionConfiguration"],
             "Resource": "arn:aws:lambda:eu-west-1:123456789012:function:collect-*"},
            {"Effect": "Allow", "Action": "lambda:GetFunction",
             "Resource": "arn:aws:lambda:eu-west-1:123456789012:function:CodeDeployHook_*"},
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::art/App/*"},
            {"Effect": "Deny", "Action": "s3:*", "NotResource": ["arn:aws:s3:::art", "arn:aws:s3:::art/*"]}
        ]));
        let on = |a: &str, r: &str| p.evaluate_on(a, Some(r));
        let fun = "arn:aws:lambda:eu-west-1:123456789012:function:";
        assert_eq!(
            on("lambda:GetFunction", &format!("{fun}collect-a:live")),
            Verdict::Allowed
        );
        assert_eq!(
            on(
                "lambda:GetFunctionConfiguration",
                &format!("{fun}collect-a")
            ),
            Verdict::Allowed
        );
        assert_eq!(
            on("lambda:GetFunction", &format!("{fun}CodeDeployHook_pre")),
            Verdict::Allowed
        );
        assert_eq!(
            on(
                "lambda:GetFunctionConfiguration",
                &format!("{fun}CodeDeployHook_pre")
            ),
            Verdict::ImplicitDeny
        );
        assert_eq!(
            on("lambda:GetFunction", &format!("{fun}other")),
            Verdict::ImplicitDeny
        );
        // ARNs are case-sensitive, actions are not.
        assert_eq!(
            on("LAMBDA:getfunction", &format!("{fun}Collect-a")),
            Verdict::ImplicitDeny
        );
        assert_eq!(
            on("s3:GetObject", "arn:aws:s3:::art/App/x.zip"),
            Verdict::Allowed
        );
        assert_eq!(
            on("s3:GetObject", "arn:aws:s3:::art/Out/x.zip"),
            Verdict::ImplicitDeny
        );
        assert_eq!(
            on("s3:GetObject", "arn:aws:s3:::other/App/x.zip"),
            Verdict::ExplicitDeny
        );
        // Unknown resource: every Resource (and NotResource) matches.
        assert_eq!(
            p.evaluate("lambda:GetFunctionConfiguration"),
            Verdict::Allowed
        );
        let e = Policy::parse(
            &json!({"Statement": {"Effect": "Allow", "Action": "s3:*", "Resource": "bucket"}}),
        )
        .unwrap_err();
        assert!(e.contains("ARN format"), "{e}");
    }

    #[test]
    fn calls_name_their_resources() {
        let fun = "arn:aws:lambda:eu-west-1:123456789012:function:";
        let r = request("/2015-03-31/functions/collect-a?Qualifier=live", "h", &[]);
        assert_eq!(
            resources("lambda", "GetFunction", &r),
            vec![(
                "lambda:GetFunction".into(),
                Some(format!("{fun}collect-a:live"))
            )]
        );
        let r = request("/2015-03-31/functions/collect-a/aliases/live", "h", &[]);
        assert_eq!(
            resources("lambda", "UpdateAlias", &r)[0].1,
            Some(format!("{fun}collect-a"))
        );
        let r = request("/2015-03-31/functions/collect-a%3A3/invocations", "h", &[]);
        assert_eq!(
            resources("lambda", "Invoke", &r),
            vec![(
                "lambda:InvokeFunction".into(),
                Some(format!("{fun}collect-a:3"))
            )]
        );
        let arn = "arn:aws:lambda:us-east-1:123456789012:function:f";
        let r = request(&format!("/2015-03-31/functions/{arn}/versions"), "h", &[]);
        assert_eq!(
            resources("lambda", "PublishVersion", &r)[0].1.as_deref(),
            Some(arn)
        );
        let r = request("/2015-03-31/functions", "h", &[]);
        assert_eq!(resources("lambda", "CreateFunction", &r)[0].1, None);
        assert_eq!(
            resources("lambda", "ListFunctions", &r)[0].1.as_deref(),
            Some("*")
        );

        let r = request("/art/App/k%20y.zip?x-id=GetObject", "127.0.0.1:9", &[]);
        assert_eq!(
            resources("s3", "GetObject", &r),
            vec![(
                "s3:GetObject".into(),
                Some("arn:aws:s3:::art/App/k y.zip".into())
            )]
        );
        let r = request("/k", "art.localhost:9", &[]);
        assert_eq!(
            resources("s3", "HeadObject", &r)[0].1.as_deref(),
            Some("arn:aws:s3:::art/k")
        );
        let r = request("/art?list-type=2", "127.0.0.1:9", &[]);
        assert_eq!(
            resources("s3", "ListObjectsV2", &r),
            vec![("s3:ListBucket".into(), Some("arn:aws:s3:::art".into()))]
        );
        let r = request(
            "/out/new",
            "127.0.0.1:9",
            &[("x-amz-copy-source", "/art/App%2Fa.zip?versionId=1")],
        );
        assert_eq!(
            resources("s3", "CopyObject", &r),
            vec![
                (
                    "s3:GetObject".into(),
                    Some("arn:aws:s3:::art/App/a.zip".into())
                ),
                ("s3:PutObject".into(), Some("arn:aws:s3:::out/new".into())),
            ]
        );
        assert_eq!(resources("codedeploy", "CreateDeployment", &r)[0].1, None);
    }

    #[test]
    fn operations_map_to_their_iam_actions() {
        assert_eq!(actions_for("s3", "UploadPart"), vec!["s3:PutObject"]);
        assert_eq!(
            actions_for("s3", "CopyObject"),
            vec!["s3:GetObject", "s3:PutObject"]
        );
        assert_eq!(
            actions_for("s3", "ListBuckets"),
            vec!["s3:ListAllMyBuckets"]
        );
        assert_eq!(
            actions_for("lambda", "ListVersionsByFunction"),
            vec!["lambda:ListVersionsByFunction"]
        );
        assert_eq!(
            actions_for("codedeploy", "BatchGetDeployments"),
            vec!["codedeploy:BatchGetDeployments"]
        );
        assert_eq!(
            actions_for("monitoring", "GetMetricData"),
            vec!["cloudwatch:GetMetricData"]
        );
    }

    #[test]
    fn denials_are_worded_and_shaped_like_aws() {
        let d = Denied {
            action: "lambda:GetAlias".into(),
            resource: Some("arn:aws:lambda:eu-west-1:123456789012:function:collect-fn1".into()),
            explicit: false,
        };
        let e = access_denied("lambda", "AKWORKER", &d);
        assert_eq!(
            (e.status.as_u16(), e.code.as_str()),
            (403, "AccessDeniedException")
        );
        assert_eq!(
            e.message,
            "User: arn:aws:iam::123456789012:user/AKWORKER is not authorized to perform: lambda:GetAlias on resource: arn:aws:lambda:eu-west-1:123456789012:function:collect-fn1 because no identity-based policy allows the lambda:GetAlias action"
        );
        let s3 = access_denied(
            "s3",
            "AK",
            &Denied {
                action: "s3:GetObject".into(),
                resource: Some("arn:aws:s3:::art/p/App/x.zip".into()),
                explicit: true,
            },
        );
        assert_eq!(
            (s3.status.as_u16(), s3.code.as_str()),
            (403, "AccessDenied")
        );
        assert!(
            s3.message.ends_with(
                "s3:GetObject on resource: arn:aws:s3:::art/p/App/x.zip with an explicit deny in an identity-based policy"
            ),
            "{}",
            s3.message
        );
        let unknown = Denied {
            resource: None,
            ..d
        };
        for (svc, status, code) in [
            ("codepipeline", 400, "AccessDeniedException"),
            ("codedeploy", 400, "AccessDeniedException"),
            ("monitoring", 403, "AccessDenied"),
        ] {
            let e = access_denied(svc, "AK", &unknown);
            assert_eq!(
                (e.status.as_u16(), e.code.as_str()),
                (status, code),
                "{svc}"
            );
            assert!(!e.message.contains("on resource"), "{}", e.message);
        }
    }

    #[test]
    fn control_routes_install_read_and_remove_policies() {
        let iam = Iam::default();
        let doc = br#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"lambda:*","Resource":"*"}]}"#;
        let (s, v) = control(&iam, &http::Method::PUT, "/_sim/iam/policies/AKW", doc);
        assert_eq!(s, StatusCode::OK, "{v}");
        let (s, v) = control(&iam, &http::Method::GET, "/_sim/iam/policies/AKW", b"");
        assert_eq!(s, StatusCode::OK);
        assert_eq!(v["policy"]["Statement"][0]["Action"], "lambda:*");
        let (_, v) = control(&iam, &http::Method::GET, "/_sim/iam/policies", b"");
        assert_eq!(v["accessKeyIds"], json!(["AKW"]));
        let (s, v) = control(&iam, &http::Method::PUT, "/_sim/iam/policies/AKW", b"{");
        assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
        let (s, v) = control(
            &iam,
            &http::Method::PUT,
            "/_sim/iam/policies/AKW",
            br#"{"Statement":{"Effect":"Allow","Action":"x","Resource":"*"}}"#,
        );
        assert_eq!(s, StatusCode::BAD_REQUEST);
        assert!(
            v["error"]
                .as_str()
                .unwrap()
                .starts_with("MalformedPolicyDocument"),
            "{v}"
        );
        // The earlier policy is kept when a replacement is refused.
        assert!(iam.policy("AKW").is_some());
        let (s, v) = control(&iam, &http::Method::DELETE, "/_sim/iam/policies/AKW", b"");
        assert_eq!((s, v["deleted"].clone()), (StatusCode::OK, json!(true)));
        let (s, _) = control(&iam, &http::Method::GET, "/_sim/iam/policies/AKW", b"");
        assert_eq!(s, StatusCode::NOT_FOUND);
        let (s, _) = control(&iam, &http::Method::GET, "/_sim/iam/roles", b"");
        assert_eq!(s, StatusCode::NOT_FOUND);
    }
}
