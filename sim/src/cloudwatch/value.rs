//! CloudWatch's two wire encodings behind one value type: Smithy RPC v2 CBOR
//! (what aws-sdk-cloudwatch speaks; ciborium does the CBOR) and awsJson1_0
//! (the AWS CLI). Handlers read inputs and build outputs as [`Val`],
//! which keeps what JSON loses and CBOR needs: integers vs doubles and
//! timestamps (CBOR tag 1, epoch seconds). It knows no operation.

use crate::error::AwsError;

/// Which protocol a request used; responses and errors use the same.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Cbor,
    Json,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    /// Epoch seconds.
    Time(f64),
    Blob(Vec<u8>),
    List(Vec<Val>),
    Map(Vec<(String, Val)>),
}

fn serialization(msg: impl Into<String>) -> AwsError {
    AwsError::bad_request("SerializationException", msg)
}

impl Val {
    /// An empty structure.
    pub fn map() -> Val {
        Val::Map(Vec::new())
    }

    /// Adds a member (builder style).
    pub fn with(mut self, key: &str, v: impl Into<Val>) -> Val {
        if let Val::Map(m) = &mut self {
            m.push((key.to_string(), v.into()));
        }
        self
    }

    /// Adds a member when present.
    pub fn with_opt<T: Into<Val>>(self, key: &str, v: Option<T>) -> Val {
        match v {
            Some(v) => self.with(key, v),
            None => self,
        }
    }

    pub fn get(&self, key: &str) -> Option<&Val> {
        match self {
            Val::Map(m) => m
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v)
                .filter(|v| !matches!(v, Val::Null)),
            _ => None,
        }
    }

    pub fn str(&self, key: &str) -> Result<Option<&str>, AwsError> {
        match self.get(key) {
            None => Ok(None),
            Some(Val::Str(s)) => Ok(Some(s)),
            Some(_) => Err(serialization(format!("The member {key} must be a string."))),
        }
    }

    pub fn int(&self, key: &str) -> Result<Option<i64>, AwsError> {
        match self.get(key) {
            None => Ok(None),
            Some(Val::Int(i)) => Ok(Some(*i)),
            Some(Val::Float(f)) if f.fract() == 0.0 && f.is_finite() => Ok(Some(*f as i64)),
            Some(_) => Err(serialization(format!(
                "The member {key} must be an integer."
            ))),
        }
    }

    pub fn float(&self, key: &str) -> Result<Option<f64>, AwsError> {
        match self.get(key) {
            None => Ok(None),
            Some(Val::Int(i)) => Ok(Some(*i as f64)),
            Some(Val::Float(f)) => Ok(Some(*f)),
            Some(Val::Str(s)) => match s.as_str() {
                "NaN" => Ok(Some(f64::NAN)),
                "Infinity" => Ok(Some(f64::INFINITY)),
                "-Infinity" => Ok(Some(f64::NEG_INFINITY)),
                _ => Err(serialization(format!("The member {key} must be a number."))),
            },
            Some(_) => Err(serialization(format!("The member {key} must be a number."))),
        }
    }

    pub fn bool(&self, key: &str) -> Result<Option<bool>, AwsError> {
        match self.get(key) {
            None => Ok(None),
            Some(Val::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(serialization(format!(
                "The member {key} must be a boolean."
            ))),
        }
    }

    /// A timestamp: CBOR tag 1, or epoch seconds / ISO-8601 in JSON.
    /// A timestamp in epoch seconds, within years 1..=9999 (what CloudWatch
    /// can represent); anything else is `InvalidParameterValue`, so callers can
    /// do `i64` arithmetic on it without overflow.
    pub fn time(&self, key: &str) -> Result<Option<f64>, AwsError> {
        const MIN: f64 = -62_135_596_800.0; // 0001-01-01T00:00:00Z
        const MAX: f64 = 253_402_300_799.0; // 9999-12-31T23:59:59Z
        let t = self.raw_time(key)?;
        match t {
            Some(t) if !(MIN..=MAX).contains(&t) => Err(AwsError::bad_request(
                "InvalidParameterValue",
                format!(
                    "The parameter {key} must be a valid timestamp between 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z."
                ),
            )),
            _ => Ok(t),
        }
    }

    fn raw_time(&self, key: &str) -> Result<Option<f64>, AwsError> {
        match self.get(key) {
            None => Ok(None),
            Some(Val::Time(t)) => Ok(Some(*t)),
            Some(Val::Int(i)) => Ok(Some(*i as f64)),
            Some(Val::Float(f)) => Ok(Some(*f)),
            Some(Val::Str(s)) => chrono::DateTime::parse_from_rfc3339(s)
                .map(|d| Some(d.timestamp_millis() as f64 / 1000.0))
                .map_err(|_| serialization(format!("The member {key} must be a timestamp."))),
            Some(_) => Err(serialization(format!(
                "The member {key} must be a timestamp."
            ))),
        }
    }

    pub fn list(&self, key: &str) -> Result<Option<&[Val]>, AwsError> {
        match self.get(key) {
            None => Ok(None),
            Some(Val::List(l)) => Ok(Some(l)),
            Some(_) => Err(serialization(format!("The member {key} must be a list."))),
        }
    }

    pub fn obj(&self, key: &str) -> Result<Option<&Val>, AwsError> {
        match self.get(key) {
            None => Ok(None),
            Some(v @ Val::Map(_)) => Ok(Some(v)),
            Some(_) => Err(serialization(format!(
                "The member {key} must be a structure."
            ))),
        }
    }
}

impl From<&str> for Val {
    fn from(s: &str) -> Val {
        Val::Str(s.to_string())
    }
}
impl From<String> for Val {
    fn from(s: String) -> Val {
        Val::Str(s)
    }
}
impl From<&String> for Val {
    fn from(s: &String) -> Val {
        Val::Str(s.clone())
    }
}
impl From<bool> for Val {
    fn from(b: bool) -> Val {
        Val::Bool(b)
    }
}
impl From<i64> for Val {
    fn from(i: i64) -> Val {
        Val::Int(i)
    }
}
impl From<f64> for Val {
    fn from(f: f64) -> Val {
        Val::Float(f)
    }
}
impl From<Vec<Val>> for Val {
    fn from(l: Vec<Val>) -> Val {
        Val::List(l)
    }
}

// ------------------------------------------------------------------ decoding

fn from_cbor(v: ciborium::Value, depth: usize) -> Result<Val, AwsError> {
    use ciborium::Value as C;
    if depth > 64 {
        return Err(serialization(
            "The request body nests CBOR values too deeply.",
        ));
    }
    Ok(match v {
        C::Null => Val::Null,
        C::Bool(b) => Val::Bool(b),
        C::Integer(i) => Val::Int(i64::try_from(i128::from(i)).map_err(|_| {
            serialization("The request body holds an integer outside the 64-bit range.")
        })?),
        C::Float(f) => Val::Float(f),
        C::Text(s) => Val::Str(s),
        C::Bytes(b) => Val::Blob(b),
        C::Array(a) => Val::List(
            a.into_iter()
                .map(|x| from_cbor(x, depth + 1))
                .collect::<Result<_, _>>()?,
        ),
        C::Map(m) => {
            let mut out = Vec::with_capacity(m.len());
            for (k, x) in m {
                let C::Text(k) = k else {
                    return Err(serialization(
                        "The request body is not a valid input: every CBOR map key must be a text string naming a member.",
                    ));
                };
                out.push((k, from_cbor(x, depth + 1)?));
            }
            Val::Map(out)
        }
        C::Tag(1, inner) => match *inner {
            C::Integer(i) => Val::Time(i128::from(i) as f64),
            C::Float(f) => Val::Time(f),
            _ => {
                return Err(serialization(
                    "The request body is not a valid input: a timestamp (CBOR tag 1) must hold a number of seconds.",
                ));
            }
        },
        C::Tag(_, inner) => from_cbor(*inner, depth + 1)?,
        _ => {
            return Err(serialization(
                "The request body holds a CBOR value no CloudWatch input uses (only maps, arrays, text, numbers, booleans, null, byte strings and timestamps).",
            ));
        }
    })
}

fn from_json(v: serde_json::Value) -> Val {
    use serde_json::Value as J;
    match v {
        J::Null => Val::Null,
        J::Bool(b) => Val::Bool(b),
        J::Number(n) => match n.as_i64() {
            Some(i) => Val::Int(i),
            None => Val::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        J::String(s) => Val::Str(s),
        J::Array(a) => Val::List(a.into_iter().map(from_json).collect()),
        J::Object(m) => Val::Map(m.into_iter().map(|(k, v)| (k, from_json(v))).collect()),
    }
}

/// Decodes a request body (`{}` when empty) into a structure.
pub fn decode(protocol: Protocol, body: &[u8]) -> Result<Val, AwsError> {
    if body.is_empty() {
        return Ok(Val::map());
    }
    let v = match protocol {
        Protocol::Cbor => {
            let c: ciborium::Value = ciborium::de::from_reader(body).map_err(cbor_error)?;
            from_cbor(c, 0)?
        }
        Protocol::Json => from_json(serde_json::from_slice(body).map_err(|e| {
            serialization(format!(
                "The request body is not valid JSON: {e}. Send the operation's input as one JSON object."
            ))
        })?),
    };
    match v {
        Val::Map(_) => Ok(v),
        _ => Err(serialization(
            "The request body must be a structure (a CBOR map or a JSON object) holding the operation's input.",
        )),
    }
}

/// A sentence for a CBOR decoding error (ciborium's own text shows Rust
/// internals such as `Io(Error { kind: UnexpectedEof … })`).
fn cbor_error(e: ciborium::de::Error<std::io::Error>) -> AwsError {
    use ciborium::de::Error as E;
    serialization(match e {
        E::Io(io) if io.kind() == std::io::ErrorKind::UnexpectedEof => {
            "The request body is not valid CBOR: it ends in the middle of a value. Send the whole encoded input.".to_string()
        }
        E::Io(_) => "The request body could not be read as CBOR.".to_string(),
        E::Syntax(offset) => format!(
            "The request body is not valid CBOR: the item at byte {offset} is malformed."
        ),
        E::Semantic(Some(offset), what) => format!(
            "The request body is not valid CBOR: the item at byte {offset} is not acceptable ({what})."
        ),
        E::Semantic(None, what) => {
            format!("The request body is not valid CBOR: an item is not acceptable ({what}).")
        }
        E::RecursionLimitExceeded => {
            "The request body nests CBOR values too deeply.".to_string()
        }
    })
}

// ------------------------------------------------------------------ encoding

fn to_cbor(v: &Val) -> ciborium::Value {
    use ciborium::Value as C;
    match v {
        Val::Null => C::Null,
        Val::Bool(b) => C::Bool(*b),
        Val::Int(i) => C::Integer((*i).into()),
        Val::Float(f) => C::Float(*f),
        Val::Str(s) => C::Text(s.clone()),
        Val::Time(t) => C::Tag(1, Box::new(C::Float(*t))),
        Val::Blob(b) => C::Bytes(b.clone()),
        Val::List(l) => C::Array(l.iter().map(to_cbor).collect()),
        Val::Map(m) => C::Map(
            m.iter()
                .map(|(k, v)| (C::Text(k.clone()), to_cbor(v)))
                .collect(),
        ),
    }
}

fn json_number(f: f64) -> serde_json::Value {
    match serde_json::Number::from_f64(f) {
        Some(n) => serde_json::Value::Number(n),
        None if f.is_nan() => "NaN".into(),
        None if f > 0.0 => "Infinity".into(),
        None => "-Infinity".into(),
    }
}

pub fn to_json(v: &Val) -> serde_json::Value {
    use serde_json::Value as J;
    match v {
        Val::Null => J::Null,
        Val::Bool(b) => J::Bool(*b),
        Val::Int(i) => J::from(*i),
        Val::Float(f) | Val::Time(f) => json_number(*f),
        Val::Str(s) => J::String(s.clone()),
        Val::Blob(b) => {
            use base64::Engine;
            J::String(base64::engine::general_purpose::STANDARD.encode(b))
        }
        Val::List(l) => J::Array(l.iter().map(to_json).collect()),
        Val::Map(m) => J::Object(m.iter().map(|(k, v)| (k.clone(), to_json(v))).collect()),
    }
}

pub fn encode(protocol: Protocol, v: &Val) -> Vec<u8> {
    match protocol {
        Protocol::Cbor => {
            let mut out = Vec::new();
            ciborium::ser::into_writer(&to_cbor(v), &mut out).expect("CBOR into a Vec");
            out
        }
        Protocol::Json => serde_json::to_vec(&to_json(v)).expect("json values serialise"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cbor_round_trip_keeps_types() {
        let v = Val::map()
            .with("Period", 60i64)
            .with("Threshold", 1.5)
            .with("When", Val::Time(1_700_000_000.25))
            .with("Names", vec![Val::from("a")]);
        let bytes = encode(Protocol::Cbor, &v);
        let back = decode(Protocol::Cbor, &bytes).unwrap();
        assert_eq!(back, v);
        assert_eq!(back.int("Period").unwrap(), Some(60));
        assert_eq!(back.time("When").unwrap(), Some(1_700_000_000.25));
    }

    #[test]
    fn json_decoding_and_errors() {
        let v = decode(
            Protocol::Json,
            br#"{"A":1,"B":2.5,"T":"2023-11-14T22:13:20Z"}"#,
        )
        .unwrap();
        assert_eq!(v.float("A").unwrap(), Some(1.0));
        assert_eq!(v.time("T").unwrap(), Some(1_700_000_000.0));
        assert!(v.str("A").is_err());
        assert!(decode(Protocol::Json, b"[1]").is_err());
        assert!(decode(Protocol::Cbor, b"\xff\xff").is_err());
        assert_eq!(decode(Protocol::Cbor, b"").unwrap(), Val::map());
    }
}
