//! Lambda names and ARNs: parsing the `FunctionName` forms AWS accepts
//! (name, `name:qualifier`, partial ARN, full ARN), validating names,
//! qualifiers and aliases as the API model does, and building ARNs in the
//! sim's account. It knows no state.

use crate::error::AwsError;

/// The account every simulated resource lives in.
pub const ACCOUNT: &str = "123456789012";

const FUNCTION_NAME_PATTERN: &str = r"(arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}(-gov)?-[a-z]+-\d{1}:)?(\d{12}:)?(function:)?([a-zA-Z0-9-_]+)(:(\$LATEST|[a-zA-Z0-9-_]+))?";

pub fn function_arn(region: &str, name: &str) -> String {
    format!("arn:aws:lambda:{region}:{ACCOUNT}:function:{name}")
}

pub fn qualified_arn(region: &str, name: &str, qualifier: &str) -> String {
    format!("arn:aws:lambda:{region}:{ACCOUNT}:function:{name}:{qualifier}")
}

fn validation(value: &str, field: &str, constraint: &str) -> AwsError {
    AwsError::bad_request(
        "ValidationException",
        format!(
            "1 validation error detected: Value '{value}' at '{field}' failed to satisfy constraint: {constraint}"
        ),
    )
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '_'
}

/// A plain function name: `[a-zA-Z0-9-_]{1,64}`.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty() && name.len() <= 64 && name.chars().all(is_name_char)
}

/// A qualifier: `$LATEST`, a version number or an alias name.
pub fn valid_qualifier(q: &str) -> bool {
    q == "$LATEST" || (!q.is_empty() && q.len() <= 128 && q.chars().all(is_name_char))
}

/// An alias name: `(?!^[0-9]+$)([a-zA-Z0-9-_]+)`, 1–128 chars.
pub fn validate_alias(alias: &str, field: &str) -> Result<(), AwsError> {
    if alias.is_empty() || alias.len() > 128 {
        return Err(validation(
            alias,
            field,
            "Member must have length less than or equal to 128",
        ));
    }
    if !alias.chars().all(is_name_char) || alias.chars().all(|c| c.is_ascii_digit()) {
        return Err(validation(
            alias,
            field,
            "Member must satisfy regular expression pattern: (?!^[0-9]+$)([a-zA-Z0-9-_]+)",
        ));
    }
    Ok(())
}

/// A version reference in an alias: `$LATEST` or digits.
pub fn validate_version(v: &str, field: &str) -> Result<(), AwsError> {
    if v == "$LATEST" || (!v.is_empty() && v.len() <= 1024 && v.chars().all(|c| c.is_ascii_digit()))
    {
        Ok(())
    } else {
        Err(validation(
            v,
            field,
            r"Member must satisfy regular expression pattern: (\$LATEST|[0-9]+)",
        ))
    }
}

/// Parses a `FunctionName` parameter into `(name, qualifier)`.
pub fn parse_function_ref(raw: &str) -> Result<(String, Option<String>), AwsError> {
    let bad = || {
        validation(
            raw,
            "functionName",
            &format!("Member must satisfy regular expression pattern: {FUNCTION_NAME_PATTERN}"),
        )
    };
    if raw.is_empty() || raw.len() > 256 {
        return Err(validation(
            raw,
            "functionName",
            "Member must have length less than or equal to 140",
        ));
    }
    let parts: Vec<&str> = raw.split(':').collect();
    let rest: &[&str] = if parts[0] == "arn" {
        // arn:aws:lambda:region:account:function:name[:qualifier]
        if parts.len() < 7
            || !parts[1].starts_with("aws")
            || parts[2] != "lambda"
            || parts[5] != "function"
            || parts[4].len() != 12
            || !parts[4].chars().all(|c| c.is_ascii_digit())
        {
            return Err(bad());
        }
        &parts[6..]
    } else if parts.len() >= 3 && parts[1] == "function" {
        if parts[0].len() != 12 || !parts[0].chars().all(|c| c.is_ascii_digit()) {
            return Err(bad());
        }
        &parts[2..]
    } else {
        &parts[..]
    };
    match rest {
        [name] if valid_name(name) => Ok((name.to_string(), None)),
        [name, q] if valid_name(name) && valid_qualifier(q) => {
            Ok((name.to_string(), Some(q.to_string())))
        }
        [name, ..] if name.len() > 64 && name.chars().all(is_name_char) => Err(validation(
            raw,
            "functionName",
            "Member must have length less than or equal to 64",
        )),
        _ => Err(bad()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn function_ref_forms() {
        assert_eq!(parse_function_ref("fn").unwrap(), ("fn".into(), None));
        assert_eq!(
            parse_function_ref("fn:live").unwrap(),
            ("fn".into(), Some("live".into()))
        );
        assert_eq!(
            parse_function_ref("arn:aws:lambda:us-east-1:123456789012:function:fn:3").unwrap(),
            ("fn".into(), Some("3".into()))
        );
        assert_eq!(
            parse_function_ref("123456789012:function:fn").unwrap(),
            ("fn".into(), None)
        );
        for bad in ["", "a b", "fn:x:y", "arn:aws:s3:::b", &"x".repeat(65)] {
            assert_eq!(
                parse_function_ref(bad).unwrap_err().code,
                "ValidationException",
                "{bad}"
            );
        }
    }

    #[test]
    fn aliases_and_versions() {
        assert!(validate_alias("live", "name").is_ok());
        assert!(validate_alias("123", "name").is_err());
        assert!(validate_alias("a.b", "name").is_err());
        assert!(validate_version("$LATEST", "v").is_ok());
        assert!(validate_version("12", "v").is_ok());
        assert!(validate_version("x", "v").is_err());
    }
}
