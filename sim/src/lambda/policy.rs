//! Lambda's resource-based policies: one per function (unqualified), per
//! published version and per alias, made of the statements AddPermission
//! adds. This module reads and validates AddPermission's members, builds
//! each statement as Lambda writes it (principal forms, conditions), renders
//! the policy document GetPolicy returns, and enforces statement ids unique
//! per policy and the 20 KB policy size. It knows nothing of HTTP, of the
//! function store, or of evaluating a policy (the sim never checks a
//! resource-based policy when a function is invoked).

use http::StatusCode;
use serde_json::{Map, Value, json};

use super::shapes::{opt_bool, opt_str};
use super::store::invalid;
use crate::error::AwsError;

/// The largest policy document Lambda keeps ("The function policy size is
/// limited to 20 KB", Lambda quotas).
pub const MAX_POLICY_BYTES: usize = 20 * 1024;

/// A policy: its statements in the order they were added.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Policy {
    pub statements: Vec<Statement>,
}

/// One statement, as AddPermission built it.
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    pub sid: String,
    pub document: Value,
}

/// AddPermission's members, validated as the model constrains them.
#[derive(Debug, Clone, PartialEq)]
pub struct Permission {
    pub sid: String,
    pub action: String,
    pub principal: String,
    pub source_arn: Option<String>,
    pub source_account: Option<String>,
    pub event_source_token: Option<String>,
    pub principal_org_id: Option<String>,
    pub function_url_auth_type: Option<String>,
    pub invoked_via_function_url: Option<bool>,
    pub revision_id: Option<String>,
}

fn validation(value: &str, field: &str, constraint: &str) -> AwsError {
    AwsError::bad_request(
        "ValidationException",
        format!(
            "1 validation error detected: Value '{value}' at '{field}' failed to satisfy constraint: {constraint}"
        ),
    )
}

fn required<'a>(m: &'a Map<String, Value>, key: &str, field: &str) -> Result<&'a str, AwsError> {
    opt_str(m, key)?.ok_or_else(|| {
        AwsError::bad_request(
            "ValidationException",
            format!(
                "1 validation error detected: Value null at '{field}' failed to satisfy constraint: Member must not be null"
            ),
        )
    })
}

/// A statement id: `[a-zA-Z0-9-_]{1,100}` (RemovePermission also allows `.`).
pub fn check_sid(sid: &str, field: &str, dots: bool) -> Result<(), AwsError> {
    if sid.is_empty() || sid.chars().count() > 100 {
        return Err(validation(
            sid,
            field,
            "Member must have length between 1 and 100",
        ));
    }
    let ok = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_' || (dots && c == '.');
    if !sid.chars().all(ok) {
        let pattern = if dots {
            "([a-zA-Z0-9-_.]+)"
        } else {
            "([a-zA-Z0-9-_]+)"
        };
        return Err(validation(
            sid,
            field,
            &format!("Member must satisfy regular expression pattern: {pattern}"),
        ));
    }
    Ok(())
}

fn all_digits(s: &str, n: usize) -> bool {
    s.len() == n && s.bytes().all(|b| b.is_ascii_digit())
}

impl Permission {
    /// Reads AddPermission's body, refusing what the model's constraints
    /// refuse (`ValidationException`, as Lambda's request validation does).
    pub fn from_json(m: &Map<String, Value>) -> Result<Permission, AwsError> {
        let sid = required(m, "StatementId", "statementId")?;
        check_sid(sid, "statementId", false)?;
        let action = required(m, "Action", "action")?;
        let action_ok = action == "*"
            || action == "lambda:*"
            || action
                .strip_prefix("lambda:")
                .is_some_and(|a| !a.is_empty() && a.chars().all(|c| c.is_ascii_alphabetic()));
        if !action_ok {
            return Err(validation(
                action,
                "action",
                "Member must satisfy regular expression pattern: (lambda:[*]|lambda:[a-zA-Z]+|[*])",
            ));
        }
        let principal = required(m, "Principal", "principal")?;
        if principal.is_empty() || principal.chars().any(char::is_whitespace) {
            return Err(validation(
                principal,
                "principal",
                "Member must satisfy regular expression pattern: [^\\s]+",
            ));
        }
        let source_arn = opt_str(m, "SourceArn")?;
        if let Some(arn) = source_arn {
            let parts: Vec<&str> = arn.splitn(6, ':').collect();
            let ok = parts.len() == 6
                && parts[0] == "arn"
                && parts[1].starts_with("aws")
                && !parts[2].is_empty()
                && (parts[4].is_empty() || all_digits(parts[4], 12));
            if !ok {
                return Err(validation(
                    arn,
                    "sourceArn",
                    "Member must satisfy regular expression pattern: arn:(aws[a-zA-Z0-9-]*):([a-zA-Z0-9\\-])+:([a-z]{2}(-gov)?-[a-z]+-\\d{1})?:(\\d{12})?:(.*)",
                ));
            }
        }
        let source_account = opt_str(m, "SourceAccount")?;
        if let Some(a) = source_account
            && !all_digits(a, 12)
        {
            return Err(validation(
                a,
                "sourceAccount",
                "Member must satisfy regular expression pattern: \\d{12}",
            ));
        }
        let event_source_token = opt_str(m, "EventSourceToken")?;
        if let Some(t) = event_source_token
            && (t.len() > 256
                || !t
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
        {
            return Err(validation(
                t,
                "eventSourceToken",
                "Member must satisfy regular expression pattern: [a-zA-Z0-9._\\-]+",
            ));
        }
        let principal_org_id = opt_str(m, "PrincipalOrgID")?;
        if let Some(o) = principal_org_id {
            let ok = o.strip_prefix("o-").is_some_and(|rest| {
                (10..=32).contains(&rest.len())
                    && rest
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
            });
            if !ok {
                return Err(validation(
                    o,
                    "principalOrgID",
                    "Member must satisfy regular expression pattern: o-[a-z0-9]{10,32}",
                ));
            }
        }
        let function_url_auth_type = opt_str(m, "FunctionUrlAuthType")?;
        if let Some(t) = function_url_auth_type
            && !matches!(t, "NONE" | "AWS_IAM")
        {
            return Err(validation(
                t,
                "functionUrlAuthType",
                "Member must satisfy enum value set: [NONE, AWS_IAM]",
            ));
        }
        Ok(Permission {
            sid: sid.to_string(),
            action: action.to_string(),
            principal: principal.to_string(),
            source_arn: source_arn.map(str::to_string),
            source_account: source_account.map(str::to_string),
            event_source_token: event_source_token.map(str::to_string),
            principal_org_id: principal_org_id.map(str::to_string),
            function_url_auth_type: function_url_auth_type.map(str::to_string),
            invoked_via_function_url: opt_bool(m, "InvokedViaFunctionUrl")?,
            revision_id: opt_str(m, "RevisionId")?.map(str::to_string),
        })
    }

    /// The statement Lambda writes for this permission on `resource_arn`:
    /// an account id becomes its root ARN, `*` stays `*`, an ARN is an `AWS`
    /// principal, anything else a `Service`; the optional members become
    /// conditions.
    pub fn statement(&self, resource_arn: &str) -> Statement {
        let principal = if self.principal == "*" {
            json!("*")
        } else if all_digits(&self.principal, 12) {
            json!({ "AWS": format!("arn:aws:iam::{}:root", self.principal) })
        } else if self.principal.starts_with("arn:") {
            json!({ "AWS": self.principal })
        } else {
            json!({ "Service": self.principal })
        };
        let mut string_equals = Map::new();
        if let Some(a) = &self.source_account {
            string_equals.insert("AWS:SourceAccount".into(), a.clone().into());
        }
        if let Some(o) = &self.principal_org_id {
            string_equals.insert("aws:PrincipalOrgID".into(), o.clone().into());
        }
        if let Some(t) = &self.event_source_token {
            string_equals.insert("lambda:EventSourceToken".into(), t.clone().into());
        }
        if let Some(t) = &self.function_url_auth_type {
            string_equals.insert("lambda:FunctionUrlAuthType".into(), t.clone().into());
        }
        let mut condition = Map::new();
        if !string_equals.is_empty() {
            condition.insert("StringEquals".into(), Value::Object(string_equals));
        }
        if let Some(arn) = &self.source_arn {
            condition.insert("ArnLike".into(), json!({ "AWS:SourceArn": arn }));
        }
        if let Some(b) = self.invoked_via_function_url {
            condition.insert(
                "Bool".into(),
                json!({ "lambda:InvokedViaFunctionUrl": b.to_string() }),
            );
        }
        let mut document = json!({
            "Sid": self.sid,
            "Effect": "Allow",
            "Principal": principal,
            "Action": self.action,
            "Resource": resource_arn,
        });
        if !condition.is_empty() {
            document
                .as_object_mut()
                .expect("object")
                .insert("Condition".into(), Value::Object(condition));
        }
        Statement {
            sid: self.sid.clone(),
            document,
        }
    }
}

impl Policy {
    /// The policy document as GetPolicy returns it (a JSON string).
    pub fn document(&self) -> String {
        let statements: Vec<&Value> = self.statements.iter().map(|s| &s.document).collect();
        json!({ "Version": "2012-10-17", "Id": "default", "Statement": statements }).to_string()
    }

    /// Adds a statement: its id must be new in this policy, and the policy
    /// must stay within [`MAX_POLICY_BYTES`].
    pub fn add(&mut self, statement: Statement) -> Result<(), AwsError> {
        if self.statements.iter().any(|s| s.sid == statement.sid) {
            return Err(AwsError::new(
                StatusCode::CONFLICT,
                "ResourceConflictException",
                format!(
                    "The statement id ({}) provided already exists. Please provide a new statement id, or remove the existing statement.",
                    statement.sid
                ),
            ));
        }
        self.statements.push(statement);
        let size = self.document().len();
        if size > MAX_POLICY_BYTES {
            self.statements.pop();
            return Err(AwsError::bad_request(
                "PolicyLengthExceededException",
                format!(
                    "The final policy size ({size}) is bigger than the limit ({MAX_POLICY_BYTES})."
                ),
            ));
        }
        Ok(())
    }

    /// Removes the statement `sid` (404 when the policy has none).
    pub fn remove(&mut self, sid: &str) -> Result<(), AwsError> {
        let before = self.statements.len();
        self.statements.retain(|s| s.sid != sid);
        if self.statements.len() == before {
            return Err(statement_not_found(sid));
        }
        Ok(())
    }
}

pub fn statement_not_found(sid: &str) -> AwsError {
    AwsError::not_found(
        "ResourceNotFoundException",
        format!("Statement {sid} is not found in resource policy."),
    )
}

/// GetPolicy on a function, version or alias without a policy.
pub fn no_policy() -> AwsError {
    AwsError::not_found(
        "ResourceNotFoundException",
        "The resource you requested does not exist.",
    )
}

/// AddPermission on `$LATEST` named explicitly.
pub fn latest_not_supported() -> AwsError {
    invalid("We currently do not support adding policies for $LATEST.")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn permission(body: Value) -> Result<Permission, AwsError> {
        Permission::from_json(body.as_object().unwrap())
    }

    #[test]
    fn statements_are_written_as_lambda_writes_them() {
        let p = permission(json!({
            "StatementId": "s3-invoke", "Action": "lambda:InvokeFunction",
            "Principal": "s3.amazonaws.com", "SourceArn": "arn:aws:s3:::bucket",
            "SourceAccount": "123456789012",
        }))
        .unwrap();
        let s = p.statement("arn:aws:lambda:us-east-1:123456789012:function:fn");
        assert_eq!(
            s.document,
            json!({
                "Sid": "s3-invoke", "Effect": "Allow",
                "Principal": {"Service": "s3.amazonaws.com"},
                "Action": "lambda:InvokeFunction",
                "Resource": "arn:aws:lambda:us-east-1:123456789012:function:fn",
                "Condition": {
                    "StringEquals": {"AWS:SourceAccount": "123456789012"},
                    "ArnLike": {"AWS:SourceArn": "arn:aws:s3:::bucket"},
                },
            })
        );
        let account = permission(
            json!({"StatementId": "a", "Action": "lambda:*", "Principal": "210987654321"}),
        )
        .unwrap()
        .statement("r");
        assert_eq!(
            account.document["Principal"],
            json!({"AWS": "arn:aws:iam::210987654321:root"})
        );
        let any = permission(json!({"StatementId": "b", "Action": "*", "Principal": "*"}))
            .unwrap()
            .statement("r");
        assert_eq!(any.document["Principal"], json!("*"));
        assert!(any.document.get("Condition").is_none());
    }

    #[test]
    fn members_are_validated_as_the_model_constrains_them() {
        for bad in [
            json!({"Action": "lambda:InvokeFunction", "Principal": "x"}),
            json!({"StatementId": "a b", "Action": "lambda:InvokeFunction", "Principal": "x"}),
            json!({"StatementId": "a", "Action": "s3:GetObject", "Principal": "x"}),
            json!({"StatementId": "a", "Action": "lambda:InvokeFunction", "Principal": "a b"}),
            json!({"StatementId": "a", "Action": "lambda:InvokeFunction", "Principal": "x", "SourceAccount": "12"}),
            json!({"StatementId": "a", "Action": "lambda:InvokeFunction", "Principal": "x", "SourceArn": "bucket"}),
            json!({"StatementId": "a", "Action": "lambda:InvokeFunction", "Principal": "x", "PrincipalOrgID": "org"}),
            json!({"StatementId": "a", "Action": "lambda:InvokeFunction", "Principal": "x", "FunctionUrlAuthType": "OPEN"}),
            json!({"StatementId": "x".repeat(101), "Action": "lambda:InvokeFunction", "Principal": "x"}),
        ] {
            let e = permission(bad.clone()).unwrap_err();
            assert_eq!(e.code, "ValidationException", "{bad}");
        }
    }

    #[test]
    fn statement_ids_are_unique_and_policies_bounded() {
        let mut policy = Policy::default();
        let statement = |sid: &str| {
            permission(json!({"StatementId": sid, "Action": "lambda:InvokeFunction", "Principal": "events.amazonaws.com"}))
                .unwrap()
                .statement("arn:aws:lambda:us-east-1:123456789012:function:fn")
        };
        policy.add(statement("one")).unwrap();
        let e = policy.add(statement("one")).unwrap_err();
        assert_eq!(
            (e.status.as_u16(), e.code.as_str()),
            (409, "ResourceConflictException")
        );
        let mut n = 0;
        let e = loop {
            n += 1;
            if let Err(e) = policy.add(statement(&format!("statement-{n:04}"))) {
                break e;
            }
        };
        assert_eq!(e.code, "PolicyLengthExceededException");
        assert!(policy.document().len() <= MAX_POLICY_BYTES);
        policy.remove("one").unwrap();
        assert_eq!(policy.remove("one").unwrap_err().status, 404);
        let doc: Value = serde_json::from_str(&policy.document()).unwrap();
        assert_eq!(doc["Version"], "2012-10-17");
        assert_eq!(doc["Id"], "default");
    }
}
