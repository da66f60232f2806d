//! The benchmark's output: one row per measured figure (scenario, figure,
//! measured value, target, pass/fail), printed as a table and written as
//! JSON. It knows nothing about how a figure was measured.

use std::path::Path;

use serde::Serialize;

/// One figure of one scenario.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub scenario: String,
    pub figure: String,
    /// The measured number (None: not measured / not implemented).
    pub value: Option<f64>,
    pub unit: String,
    /// The target as text, e.g. "≤ 1 s" (empty: report only).
    pub target: String,
    /// None: no target, or not measured.
    pub pass: Option<bool>,
    /// How it was measured, or why it was not.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub note: String,
}

impl Row {
    /// A figure with an upper-bound target: passes when `value ≤ max`.
    pub fn at_most(scenario: &str, figure: &str, value: f64, unit: &str, max: f64) -> Row {
        Row {
            scenario: scenario.into(),
            figure: figure.into(),
            value: Some(value),
            unit: unit.into(),
            target: format!("≤ {} {unit}", trim(max)),
            pass: Some(value <= max),
            note: String::new(),
        }
    }

    /// A figure with a lower-bound target: passes when `value ≥ min`.
    pub fn at_least(scenario: &str, figure: &str, value: f64, unit: &str, min: f64) -> Row {
        Row {
            scenario: scenario.into(),
            figure: figure.into(),
            value: Some(value),
            unit: unit.into(),
            target: format!("≥ {} {unit}", trim(min)),
            pass: Some(value >= min),
            note: String::new(),
        }
    }

    /// A reported figure without a target.
    pub fn report(scenario: &str, figure: &str, value: f64, unit: &str) -> Row {
        Row {
            scenario: scenario.into(),
            figure: figure.into(),
            value: Some(value),
            unit: unit.into(),
            target: String::new(),
            pass: None,
            note: String::new(),
        }
    }

    /// A figure that was not measured, with the reason.
    pub fn missing(scenario: &str, figure: &str, target: &str, why: &str) -> Row {
        Row {
            scenario: scenario.into(),
            figure: figure.into(),
            value: None,
            unit: String::new(),
            target: target.into(),
            pass: None,
            note: why.into(),
        }
    }

    pub fn note(mut self, note: impl Into<String>) -> Row {
        self.note = note.into();
        self
    }

    pub fn target(mut self, target: impl Into<String>) -> Row {
        self.target = target.into();
        self
    }

    pub fn pass(mut self, pass: bool) -> Row {
        self.pass = Some(pass);
        self
    }
}

/// A number without trailing zeros (3 decimals at most).
pub fn trim(v: f64) -> String {
    let s = format!("{v:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    s.to_string()
}

/// Prints the table on stdout.
pub fn print_table(rows: &[Row]) {
    let cells: Vec<[String; 5]> = rows
        .iter()
        .map(|r| {
            [
                r.scenario.clone(),
                r.figure.clone(),
                match r.value {
                    Some(v) => format!("{} {}", trim(v), r.unit).trim().to_string(),
                    None => "—".into(),
                },
                r.target.clone(),
                match r.pass {
                    Some(true) => "pass".into(),
                    Some(false) => "FAIL".into(),
                    None if r.value.is_none() => "not measured".into(),
                    None => "report".into(),
                },
            ]
        })
        .collect();
    let head = ["scenario", "figure", "measured", "target", "result"];
    let mut w = head.map(|h| h.chars().count());
    for c in &cells {
        for (i, s) in c.iter().enumerate() {
            w[i] = w[i].max(s.chars().count());
        }
    }
    let line = |c: &[String]| {
        let parts: Vec<String> = c
            .iter()
            .enumerate()
            .map(|(i, s)| format!("{s}{}", " ".repeat(w[i] - s.chars().count())))
            .collect();
        println!("| {} |", parts.join(" | "));
    };
    line(&head.map(String::from));
    println!(
        "|{}|",
        w.iter()
            .map(|n| "-".repeat(n + 2))
            .collect::<Vec<_>>()
            .join("|")
    );
    for c in &cells {
        line(c);
    }
    for r in rows.iter().filter(|r| !r.note.is_empty()) {
        println!("  {} / {}: {}", r.scenario, r.figure, r.note);
    }
}

/// Writes `rows` (and the run's settings) as pretty JSON to `path`.
pub fn write_json(path: &Path, rows: &[Row], settings: serde_json::Value) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let doc = serde_json::json!({ "settings": settings, "results": rows });
    std::fs::write(
        path,
        serde_json::to_string_pretty(&doc).map_err(std::io::Error::other)?,
    )
}
