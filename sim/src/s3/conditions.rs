//! S3's conditional requests, evaluated against a stored object.
//!
//! Read conditions — `If-Match`, `If-None-Match`, `If-Modified-Since`,
//! `If-Unmodified-Since` on GetObject/HeadObject and their
//! `x-amz-copy-source-if-*` forms on the source of CopyObject/UploadPartCopy —
//! follow RFC 7232's order, which is what botocore's S3 model documents: a
//! true `If-Match` makes `If-Unmodified-Since` irrelevant, and an
//! `If-None-Match` makes `If-Modified-Since` irrelevant. A failed condition
//! is 412 `PreconditionFailed`, except that a read answers 304 where RFC 7232
//! says "not modified" (a copy has no 304: it fails with 412). A date that is
//! not an HTTP-date is ignored, as RFC 7232 asks.
//!
//! Write conditions — `If-None-Match: *` (create only) and `If-Match: <ETag>`
//! (replace only that object) on PutObject, CopyObject and
//! CompleteMultipartUpload, and `If-Match` on DeleteObject — with the sim's
//! model of concurrent conditional writes (AWS documents the 409 but not when
//! exactly it happens):
//!
//! 1. the condition is checked when the request arrives, against the key as
//!    it is then: a failed condition is 412 `PreconditionFailed` (`If-Match`
//!    on a missing key: 404 `NoSuchKey`), and nothing is read or written;
//! 2. the write then pins the key's state (its object's *generation*, or its
//!    absence) and takes its time (receiving the body, assembling parts);
//! 3. at commit, atomically, if any other request wrote or deleted the key in
//!    between, the write loses and nothing is stored: 409
//!    `ConditionalRequestConflict` (the model: "If a conflicting operation
//!    occurs during the upload S3 returns a 409 ConditionalRequestConflict"),
//!    except an `If-Match` write whose key was deleted meanwhile, which gets
//!    404 `NoSuchKey` (the user guide: a concurrent delete that succeeds
//!    first leaves "the object key no longer exists"). Otherwise it commits.
//!
//! So of two conditional writes racing on one key, the one that commits first
//! wins and the later-completing one gets 409; a conditional write that
//! arrives after another committed gets 412. Unconditional writes never
//! conflict (the last one wins), but they do make in-flight conditional
//! writes of the same key lose.
//!
//! This module knows ETags, times and generations; not HTTP, not the store.

use std::time::SystemTime;

use http::StatusCode;

use super::store::{Object, no_such_key};
use crate::error::AwsError;

/// The 412 of a failed condition; `condition` names the header that failed.
pub fn precondition_failed(condition: &str) -> AwsError {
    AwsError::new(
        StatusCode::PRECONDITION_FAILED,
        "PreconditionFailed",
        "At least one of the pre-conditions you specified did not hold",
    )
    .with_extra("Condition", condition)
}

/// The 409 a conditional write gets when the key changed while it ran.
pub fn conflict() -> AwsError {
    AwsError::new(
        StatusCode::CONFLICT,
        "ConditionalRequestConflict",
        "A conflicting conditional operation is currently in progress against this resource. Please try again.",
    )
}

/// Whether an `If-Match`/`If-None-Match` list (`"a", "b"`, `*`) names `etag`.
pub fn etag_matches(list: &str, etag: &str) -> bool {
    list.split(',')
        .map(str::trim)
        .any(|e| e == "*" || e.trim_matches('"') == etag.trim_matches('"'))
}

/// An HTTP-date (IMF-fixdate, as every SDK sends; RFC 850 and asctime too).
fn http_date(s: &str) -> Option<SystemTime> {
    let s = s.trim();
    if let Ok(t) = chrono::DateTime::parse_from_rfc2822(s) {
        return Some(t.into());
    }
    for format in ["%A, %d-%b-%y %H:%M:%S GMT", "%a %b %e %H:%M:%S %Y"] {
        if let Ok(t) = chrono::NaiveDateTime::parse_from_str(s, format) {
            return Some(t.and_utc().into());
        }
    }
    None
}

/// The four read conditions of a request, as header values.
#[derive(Debug, Clone, Copy, Default)]
pub struct ReadConditions<'a> {
    pub if_match: Option<&'a str>,
    pub if_none_match: Option<&'a str>,
    pub if_modified_since: Option<&'a str>,
    pub if_unmodified_since: Option<&'a str>,
    /// Header names to report in `<Condition>` (plain or `x-amz-copy-source-`).
    pub names: [&'static str; 4],
}

/// The header names of GetObject/HeadObject.
pub const READ_HEADERS: [&str; 4] = [
    "If-Match",
    "If-None-Match",
    "If-Modified-Since",
    "If-Unmodified-Since",
];

/// The header names of a copy's source.
pub const COPY_SOURCE_HEADERS: [&str; 4] = [
    "x-amz-copy-source-if-match",
    "x-amz-copy-source-if-none-match",
    "x-amz-copy-source-if-modified-since",
    "x-amz-copy-source-if-unmodified-since",
];

/// What a read should do after its conditions.
#[derive(Debug, Clone, PartialEq)]
pub enum Read {
    Proceed,
    /// 304 (GET/HEAD only).
    NotModified,
}

impl<'a> ReadConditions<'a> {
    /// Reads the conditions from headers named `names` (see [`READ_HEADERS`]).
    pub fn from(get: impl Fn(&str) -> Option<&'a str>, names: [&'static str; 4]) -> Self {
        ReadConditions {
            if_match: get(names[0]),
            if_none_match: get(names[1]),
            if_modified_since: get(names[2]),
            if_unmodified_since: get(names[3]),
            names,
        }
    }

    /// Evaluates the conditions against `object` in RFC 7232's order. A copy
    /// (`copy: true`) fails with 412 where a read answers 304.
    pub fn evaluate(&self, object: &Object, copy: bool) -> Result<Read, AwsError> {
        let [m, nm, ms, us] = self.names;
        match self.if_match {
            Some(list) if !etag_matches(list, &object.etag) => return Err(precondition_failed(m)),
            Some(_) => {}
            None => {
                if let Some(date) = self.if_unmodified_since.and_then(http_date)
                    && object.last_modified > date
                {
                    return Err(precondition_failed(us));
                }
            }
        }
        let not_modified = |name: &str| {
            if copy {
                Err(precondition_failed(name))
            } else {
                Ok(Read::NotModified)
            }
        };
        match self.if_none_match {
            Some(list) if etag_matches(list, &object.etag) => return not_modified(nm),
            Some(_) => {}
            None => {
                if let Some(date) = self.if_modified_since.and_then(http_date)
                    && object.last_modified <= date
                {
                    return not_modified(ms);
                }
            }
        }
        Ok(Read::Proceed)
    }
}

/// The write conditions of a request.
#[derive(Debug, Clone, PartialEq)]
pub struct WriteConditions {
    /// `If-Match`: the ETag(s) the current object must have (`*`: any object).
    pub if_match: Option<String>,
    /// `If-None-Match: *`: the key must be free.
    pub if_none_match: bool,
}

/// The key's state a conditional write saw when it arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pinned {
    /// The generation of the object then, `None` when the key was free.
    pub generation: Option<u64>,
    /// Whether the write replaces only an existing object (`If-Match`).
    pub if_match: bool,
}

impl WriteConditions {
    /// The conditions of a write, `None` when it has none. `If-None-Match`
    /// takes only `*` (the model: "Expects the '*' (asterisk) character");
    /// anything else is 501 `NotImplemented`, as S3 answers.
    pub fn from_headers(
        if_match: Option<&str>,
        if_none_match: Option<&str>,
    ) -> Result<Option<Self>, AwsError> {
        let if_none_match = match if_none_match.map(str::trim) {
            None => false,
            Some("*") => true,
            Some(other) => {
                return Err(AwsError::new(
                    StatusCode::NOT_IMPLEMENTED,
                    "NotImplemented",
                    format!(
                        "A header you provided implies functionality that is not implemented: If-None-Match on a write takes only '*' (create the object only if the key is free), not {other}"
                    ),
                )
                .with_extra("Header", "If-None-Match"));
            }
        };
        let if_match = if_match.map(|s| s.trim().to_string());
        Ok(
            (if_match.is_some() || if_none_match).then_some(WriteConditions {
                if_match,
                if_none_match,
            }),
        )
    }

    /// Checks the conditions against the key's current object (step 1 of the
    /// model) and pins what was seen.
    pub fn check(&self, key: &str, current: Option<&Object>) -> Result<Pinned, AwsError> {
        if self.if_none_match && current.is_some() {
            return Err(precondition_failed("If-None-Match"));
        }
        if let Some(list) = &self.if_match {
            match current {
                None => return Err(no_such_key(key)),
                Some(o) if !etag_matches(list, &o.etag) => {
                    return Err(precondition_failed("If-Match"));
                }
                Some(_) => {}
            }
        }
        Ok(Pinned {
            generation: current.map(|o| o.generation),
            if_match: self.if_match.is_some(),
        })
    }
}

/// Step 3 of the model: a pinned write may commit only while the key is as
/// it was pinned. Unconditional writes (`None`) always may.
pub fn still_as_pinned(
    pinned: Option<Pinned>,
    key: &str,
    current: Option<&Object>,
) -> Result<(), AwsError> {
    match pinned {
        Some(p) if p.generation != current.map(|o| o.generation) => {
            if p.if_match && current.is_none() {
                Err(no_such_key(key))
            } else {
                Err(conflict())
            }
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;

    fn object(etag: &str, modified_secs: u64, generation: u64) -> Object {
        Object {
            path: "/nowhere".into(),
            etag: format!("\"{etag}\""),
            size: 0,
            meta: Default::default(),
            checksum: None,
            last_modified: UNIX_EPOCH + Duration::from_secs(modified_secs),
            parts_count: None,
            aws_chunked: false,
            generation,
        }
    }

    // 1_700_000_000 = Tue, 14 Nov 2023 22:13:20 GMT
    const AT: &str = "Tue, 14 Nov 2023 22:13:20 GMT";
    const BEFORE: &str = "Tue, 14 Nov 2023 22:13:19 GMT";

    fn read<'a>(
        m: Option<&'a str>,
        nm: Option<&'a str>,
        ms: Option<&'a str>,
        us: Option<&'a str>,
    ) -> ReadConditions<'a> {
        ReadConditions {
            if_match: m,
            if_none_match: nm,
            if_modified_since: ms,
            if_unmodified_since: us,
            names: COPY_SOURCE_HEADERS,
        }
    }

    #[test]
    fn read_conditions_follow_rfc_7232_order() {
        let o = object("abc", 1_700_000_000, 1);
        let code = |r: Result<Read, AwsError>| match r {
            Ok(Read::Proceed) => "proceed".to_string(),
            Ok(Read::NotModified) => "304".to_string(),
            Err(e) => format!("{} {}", e.status.as_u16(), e.extra[0].1),
        };
        // If-Match true overrides a failing If-Unmodified-Since.
        assert_eq!(
            code(read(Some("\"abc\""), None, None, Some(BEFORE)).evaluate(&o, true)),
            "proceed"
        );
        assert_eq!(
            code(read(Some("\"x\""), None, None, None).evaluate(&o, true)),
            "412 x-amz-copy-source-if-match"
        );
        assert_eq!(
            code(read(None, None, None, Some(BEFORE)).evaluate(&o, true)),
            "412 x-amz-copy-source-if-unmodified-since"
        );
        assert_eq!(
            code(read(None, None, None, Some(AT)).evaluate(&o, true)),
            "proceed"
        );
        // If-None-Match false with If-Modified-Since true: 412 on a copy, 304 on a read.
        assert_eq!(
            code(read(None, Some("abc"), Some(BEFORE), None).evaluate(&o, true)),
            "412 x-amz-copy-source-if-none-match"
        );
        assert_eq!(
            code(read(None, Some("abc"), Some(BEFORE), None).evaluate(&o, false)),
            "304"
        );
        assert_eq!(
            code(read(None, Some("other"), Some(AT), None).evaluate(&o, true)),
            "proceed"
        );
        assert_eq!(
            code(read(None, None, Some(AT), None).evaluate(&o, true)),
            "412 x-amz-copy-source-if-modified-since"
        );
        assert_eq!(
            code(read(None, None, Some(BEFORE), None).evaluate(&o, true)),
            "proceed"
        );
        // A date that is not an HTTP-date is ignored.
        assert_eq!(
            code(read(None, None, Some("yesterday"), Some("soon")).evaluate(&o, true)),
            "proceed"
        );
        assert_eq!(http_date("Tuesday, 14-Nov-23 22:13:20 GMT"), http_date(AT));
        assert_eq!(http_date("Tue Nov 14 22:13:20 2023"), http_date(AT));
    }

    #[test]
    fn write_conditions_pin_and_conflict() {
        assert_eq!(WriteConditions::from_headers(None, None).unwrap(), None);
        let e = WriteConditions::from_headers(None, Some("\"abc\"")).unwrap_err();
        assert_eq!(
            (e.status.as_u16(), e.code.as_str()),
            (501, "NotImplemented")
        );
        let create = WriteConditions::from_headers(None, Some("*"))
            .unwrap()
            .unwrap();
        let replace = WriteConditions::from_headers(Some("\"abc\""), None)
            .unwrap()
            .unwrap();
        let o = object("abc", 0, 7);
        let free = Pinned {
            generation: None,
            if_match: false,
        };
        let seven = Pinned {
            generation: Some(7),
            if_match: true,
        };
        assert_eq!(create.check("k", None).unwrap(), free);
        assert_eq!(create.check("k", Some(&o)).unwrap_err().status, 412);
        assert_eq!(replace.check("k", Some(&o)).unwrap(), seven);
        assert_eq!(replace.check("k", None).unwrap_err().code, "NoSuchKey");
        let other = object("def", 0, 8);
        assert_eq!(replace.check("k", Some(&other)).unwrap_err().status, 412);
        // Commit: only while the key is as pinned.
        assert!(still_as_pinned(None, "k", Some(&other)).is_ok());
        assert!(still_as_pinned(Some(seven), "k", Some(&o)).is_ok());
        assert!(still_as_pinned(Some(free), "k", None).is_ok());
        for (pinned, now) in [(seven, Some(&other)), (free, Some(&o))] {
            let e = still_as_pinned(Some(pinned), "k", now).unwrap_err();
            assert_eq!(
                (e.status.as_u16(), e.code.as_str()),
                (409, "ConditionalRequestConflict")
            );
        }
        // An If-Match write whose key was deleted meanwhile: the key is gone.
        let e = still_as_pinned(Some(seven), "k", None).unwrap_err();
        assert_eq!((e.status.as_u16(), e.code.as_str()), (404, "NoSuchKey"));
    }
}
