//! The live view of a release: per watched function, the share of traffic
//! its `live` alias sends to the new version. indicatif progress bars when
//! stdout is a terminal; otherwise plain lines, one per function per weight
//! change, so logs and CI output stay readable.
//!
//! It is fed alias observations by the story and knows nothing of AWS.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::time::Instant;

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

use crate::world::AliasState;

/// More functions than this are shown as plain lines.
const MAX_BARS: usize = 20;

/// What the view shows of one function.
#[derive(Debug, Clone, PartialEq)]
enum Shown {
    Waiting,
    /// Percent of traffic on `target`.
    Shifting {
        from: String,
        to: String,
        pct: u32,
    },
    /// Serving `version` only; `moved` if that is a new version.
    Serving {
        version: String,
        moved: bool,
    },
}

pub struct LiveView {
    started: Instant,
    bars: Option<(MultiProgress, BTreeMap<String, ProgressBar>)>,
    /// The version each function served before the push (None: no alias).
    before: BTreeMap<String, Option<String>>,
    shown: BTreeMap<String, Shown>,
    /// Functions whose rollback was already shown.
    rolled: std::collections::BTreeSet<String>,
    status: Option<ProgressBar>,
}

impl LiveView {
    /// A view of `functions`, which served `before` when the push happened.
    pub fn new(before: BTreeMap<String, Option<String>>, force_plain: bool) -> LiveView {
        // Bars only while they fit on a screen (a first release of 60
        // functions prints lines instead).
        let tty = std::io::stdout().is_terminal() && !force_plain && before.len() <= MAX_BARS;
        let bars = tty.then(|| {
            let m = MultiProgress::new();
            let width = before.keys().map(String::len).max().unwrap_or(10);
            let style = ProgressStyle::with_template(&format!(
                "  {{prefix:{width}}} [{{bar:30.green/white}}] {{pos:>3}}% {{msg}}"
            ))
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("█▓░");
            let mut by = BTreeMap::new();
            for f in before.keys() {
                let b = m.add(ProgressBar::new(100));
                b.set_style(style.clone());
                b.set_prefix(f.clone());
                b.set_message("waiting for the pipeline");
                by.insert(f.clone(), b);
            }
            (m, by)
        });
        let status = bars.as_ref().map(|(m, _)| {
            let s = m.add(ProgressBar::new_spinner());
            s.set_style(
                ProgressStyle::with_template("  {spinner} {wide_msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            s
        });
        let shown = before.keys().map(|f| (f.clone(), Shown::Waiting)).collect();
        LiveView {
            started: Instant::now(),
            bars,
            before,
            shown,
            rolled: Default::default(),
            status,
        }
    }

    /// The pipeline's status line (terminal only: plain output prints the
    /// stage transitions instead).
    pub fn status(&self, text: &str) {
        if let Some(s) = &self.status {
            s.set_message(text.to_string());
            s.tick();
        }
    }

    /// A line that must appear whatever the mode (e.g. a stage finished).
    pub fn println(&self, line: &str) {
        match &self.bars {
            Some((m, _)) => {
                let _ = m.println(line);
            }
            None => println!("{line}"),
        }
    }

    /// One observation of `function`'s alias.
    pub fn observe(&mut self, function: &str, alias: Option<&AliasState>) {
        let before = self.before.get(function).cloned().flatten();
        let now = match alias {
            None => Shown::Waiting,
            Some(a) => match &a.routed {
                Some((to, w)) => Shown::Shifting {
                    from: a.version.clone(),
                    to: to.clone(),
                    pct: (w * 100.0).round() as u32,
                },
                None => Shown::Serving {
                    moved: before.as_deref() != Some(a.version.as_str()),
                    version: a.version.clone(),
                },
            },
        };
        if self.shown.get(function) == Some(&now) {
            return;
        }
        let was_shifting = matches!(self.shown.get(function), Some(Shown::Shifting { .. }));
        self.shown.insert(function.to_string(), now.clone());
        let (pct, msg) = match &now {
            Shown::Waiting => (0, "waiting for the pipeline".to_string()),
            Shown::Shifting { from, to, pct } => (
                *pct,
                format!("on version {to} ({}% still on version {from})", 100 - pct),
            ),
            Shown::Serving { version, moved } => match (moved, &before) {
                (true, None) => (
                    100,
                    format!("first version {version}: alias created on it (nothing to shift from)"),
                ),
                (true, Some(b)) => (
                    100,
                    format!("version {version} serves all traffic (was {b})"),
                ),
                (false, _) if was_shifting => {
                    self.rolled.insert(function.to_string());
                    (
                        0,
                        format!("ROLLED BACK: version {version} serves all traffic again"),
                    )
                }
                (false, _) => (
                    0,
                    format!("version {version} serves all traffic (shift not started)"),
                ),
            },
        };
        match &self.bars {
            Some((_, bars)) => {
                if let Some(b) = bars.get(function) {
                    b.set_position(u64::from(pct));
                    b.set_message(msg);
                }
            }
            None => println!(
                "  [{:>5.1}s] {function}: {pct:>3}% new  {msg}",
                self.started.elapsed().as_secs_f64()
            ),
        }
    }

    /// After a failed release: `function` serves `version` again.
    pub fn rolled_back(&mut self, function: &str, version: &str) {
        if !self.rolled.insert(function.to_string()) {
            return;
        }
        let msg = format!("ROLLED BACK: version {version} serves all traffic again");
        match &self.bars {
            Some((_, bars)) => {
                if let Some(b) = bars.get(function) {
                    b.set_position(0);
                    b.set_message(msg);
                }
            }
            None => println!(
                "  [{:>5.1}s] {function}:   0% new  {msg}",
                self.started.elapsed().as_secs_f64()
            ),
        }
    }

    /// Ends the bars (they stay on screen).
    pub fn finish(self) {
        if let Some((_, bars)) = &self.bars {
            for b in bars.values() {
                b.abandon();
            }
        }
        if let Some(s) = &self.status {
            s.finish_and_clear();
        }
    }
}
