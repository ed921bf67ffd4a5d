//! Swimlanes: one lane per thread, one row per step, blocked spans hatched, the state column
//! as a strip on the right; drawn as SVG, and described row by row for the viewer.
//!
//! A [`Picture`] is made from a scenario table ([`Picture::scenario`]), a timeline snapshot
//! ([`Picture::timeline`]) or a failing schedule exported by the engine
//! ([`Picture::trace`]); [`Picture::svg`] draws it and [`Picture::viewer_json`] gives the
//! step-by-step viewer (`book/theme/course.js`) the same rows as data.

use scenario_tables::{Call, Scenario, Timeline};
use serde::Serialize;

use crate::html::{clip, esc};

/// What a lane shows in one row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Nothing happens to this thread in this row.
    Empty,
    /// A call returns (the row's own call, or one released from a wait).
    Returns,
    /// The row's call blocks, or the row's event is one that waits.
    Blocks,
    /// Still blocked, from an earlier row.
    Waiting,
    /// An event that neither blocks nor fails.
    Event,
    /// The thread finished.
    Done,
    /// The event that breaks the rule (a panic).
    Failure,
}

impl Kind {
    fn class(self) -> &'static str {
        match self {
            Kind::Empty => "sl-empty",
            Kind::Returns => "sl-returns",
            Kind::Blocks => "sl-blocks",
            Kind::Waiting => "sl-waiting",
            Kind::Event => "sl-event",
            Kind::Done => "sl-done",
            Kind::Failure => "sl-fail",
        }
    }
}

/// A thread's status after a row, as the viewer names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Not in a call, or not started.
    Idle,
    /// Ran in this row (a trace's event that neither blocks nor ends the thread).
    Running,
    /// A trace's thread that could run, but another one did.
    Ready,
    /// Its call returned in this row.
    Returned,
    /// Blocked in a call.
    Blocked,
    /// Finished.
    Done,
    /// Panicked: the failure.
    Failed,
}

/// One lane in one row.
#[derive(Clone, Debug)]
pub struct Cell {
    /// How it is drawn.
    pub kind: Kind,
    /// The full sentence (a tooltip, and the viewer's note).
    pub title: String,
    /// The thread's status after the row.
    pub status: Status,
}

impl Cell {
    fn empty(status: Status) -> Cell {
        Cell {
            kind: Kind::Empty,
            title: String::new(),
            status,
        }
    }
}

/// One row: a step of a scenario, or an event of a trace.
#[derive(Clone, Debug)]
pub struct Row {
    /// The step number shown on the left.
    pub label: String,
    /// The lane that ran (the scenario's caller, the trace's thread).
    pub running: Option<usize>,
    /// One cell per lane.
    pub cells: Vec<Cell>,
    /// The state strip's text, if the table has a state column.
    pub state: Option<String>,
    /// This row is the failure.
    pub failure: bool,
    /// What happened, in one sentence (the viewer's headline for the row).
    pub text: String,
    /// The row's call or event, for the picture's text column (`N1 arrive(North)`).
    pub what: String,
    /// For predictions: the row's call (shown while the outcome is hidden), the calls that
    /// could return, and those that did (actors).
    pub predict: Option<Predict>,
}

/// What a reader predicts at a scenario's step.
#[derive(Clone, Debug, Serialize)]
pub struct Predict {
    /// The step's call, `N2 arrive(North)`.
    pub call: String,
    /// The calls that could return: blocked before the step, and the step's call.
    pub candidates: Vec<Candidate>,
    /// The actors whose call returned during the step.
    pub returns: Vec<String>,
}

/// A call that could return during a step.
#[derive(Clone, Debug, Serialize)]
pub struct Candidate {
    /// Who made it.
    pub actor: String,
    /// The call, `S1 arrive(South)`.
    pub call: String,
}

/// The line under the last row.
#[derive(Clone, Debug)]
pub struct Footer {
    /// Its text.
    pub text: String,
    /// It states the failure.
    pub failure: bool,
}

/// A swimlane picture and its rows.
#[derive(Clone, Debug)]
pub struct Picture {
    /// Unique on the page; prefixes every id inside the SVG.
    pub id: String,
    /// The accessible name (`<title>`).
    pub title: String,
    /// The accessible description (`<desc>`).
    pub desc: String,
    /// The threads, left to right.
    pub lanes: Vec<String>,
    /// The rows, top to bottom.
    pub rows: Vec<Row>,
    /// Whether there is a state strip.
    pub has_state: bool,
    /// The `end:` line of a scenario, or a failure's verdict.
    pub footer: Option<Footer>,
}

fn with_value(what: &str, value: Option<&str>) -> String {
    match value {
        Some(v) => format!("{what} → {v}"),
        None => what.to_string(),
    }
}

fn list(calls: &[String]) -> String {
    match calls.len() {
        0 => String::new(),
        1 => calls[0].clone(),
        _ => format!(
            "{} and {}",
            calls[..calls.len() - 1].join(", "),
            calls[calls.len() - 1]
        ),
    }
}

impl Picture {
    /// A scenario table: a lane per actor, a row per step.
    pub fn scenario(id: &str, name: &str, s: &Scenario) -> Picture {
        let lanes = s.actors.clone();
        let mut rows = Vec::new();
        for (i, step) in s.steps.iter().enumerate() {
            let running = lanes.iter().position(|a| *a == step.call.actor);
            let mut cells = Vec::new();
            for actor in &lanes {
                let ret = step.returned.iter().find(|r| &r.call.actor == actor);
                let blocked = step.blocked.iter().find(|b| &b.actor == actor);
                let own = &step.call.actor == actor;
                let cell = if let Some(r) = ret {
                    let what = with_value(&r.call.what, r.value.as_deref());
                    Cell {
                        kind: Kind::Returns,
                        title: if own {
                            format!(
                                "step {}: {actor} calls {what}: it returns at once",
                                step.number
                            )
                        } else {
                            format!(
                                "step {}: {actor}'s {} returns, blocked until now",
                                step.number,
                                with_value(&r.call.what, r.value.as_deref())
                            )
                        },
                        status: Status::Returned,
                    }
                } else if let Some(b) = blocked {
                    if own {
                        Cell {
                            kind: Kind::Blocks,
                            title: format!(
                                "step {}: {actor} calls {}: it blocks",
                                step.number, b.what
                            ),
                            status: Status::Blocked,
                        }
                    } else {
                        Cell {
                            kind: Kind::Waiting,
                            title: format!(
                                "step {}: {actor} is still blocked in {}",
                                step.number, b.what
                            ),
                            status: Status::Blocked,
                        }
                    }
                } else {
                    Cell::empty(Status::Idle)
                };
                cells.push(cell);
            }
            let released: Vec<String> = step
                .returned
                .iter()
                .filter(|r| r.call.actor != step.call.actor)
                .map(|r| r.to_string())
                .collect();
            let own_returned = step
                .returned
                .iter()
                .any(|r| r.call.actor == step.call.actor);
            let mut text = format!(
                "Step {}: {} {}",
                step.number,
                step.call,
                if own_returned { "returns" } else { "blocks" }
            );
            if !released.is_empty() {
                let verb = if released.len() == 1 {
                    "returns"
                } else {
                    "return"
                };
                text.push_str(&format!(", and {} {verb}", list(&released)));
            }
            text.push('.');
            let before = s.blocked_before(i);
            let predict = Predict {
                call: step.call.to_string(),
                candidates: step
                    .candidates(before)
                    .into_iter()
                    .map(|c: &Call| Candidate {
                        actor: c.actor.clone(),
                        call: c.to_string(),
                    })
                    .collect(),
                returns: step.returned.iter().map(|r| r.call.actor.clone()).collect(),
            };
            let own = step
                .returned
                .iter()
                .find(|r| r.call.actor == step.call.actor);
            let what = match own.and_then(|r| r.value.as_deref()) {
                Some(v) => format!("{} → {v}", step.call),
                None => step.call.to_string(),
            };
            rows.push(Row {
                label: step.number.to_string(),
                what,
                running,
                cells,
                state: step.state.clone(),
                failure: false,
                text,
                predict: Some(predict),
            });
        }
        let title = format!("Swimlane of the scenario “{name}”");
        let desc = format!(
            "One lane per actor ({}), one row per step of the script, from top to bottom. \
             A call that blocks starts a hatched span that lasts until the step where it \
             returns, marked with a check mark; the row's caller has a triangle.{} The table \
             gives the same information as text.",
            lanes.join(", "),
            if s.has_state {
                " The strip on the right is the state column."
            } else {
                ""
            }
        );
        Picture {
            id: id.to_string(),
            title,
            desc,
            lanes,
            rows,
            has_state: s.has_state,
            footer: s.end.as_ref().map(|e| Footer {
                text: format!("end: {e}"),
                failure: false,
            }),
        }
    }

    /// A timeline snapshot: a lane per thread, a row per event.
    pub fn timeline(id: &str, name: &str, t: &Timeline) -> Picture {
        let events: Vec<Ev> = t
            .events
            .iter()
            .map(|e| Ev {
                step: e.step,
                thread: e.thread.clone(),
                phrase: e.phrase.clone(),
            })
            .collect();
        Picture::events(id, name, t.threads.clone(), &events, None)
    }

    /// A failing schedule exported by the engine (`INTERLEAVE_TRACE_JSON`): every event of
    /// the detailed trace, the failure last.
    pub fn trace(id: &str, name: &str, failure: &ExportedFailure) -> Picture {
        let events: Vec<Ev> = failure
            .trace
            .events
            .iter()
            .filter(|e| !e.op.starts_with("panicked at "))
            .map(|e| Ev {
                step: e.step,
                thread: e.thread.clone(),
                phrase: e.phrase(),
            })
            .collect();
        let verdict = format!("{}: {}", failure.kind, failure.message);
        Picture::events(
            id,
            name,
            failure.trace.threads.clone(),
            &events,
            Some(verdict),
        )
    }

    fn events(
        id: &str,
        name: &str,
        threads: Vec<String>,
        events: &[Ev],
        verdict: Option<String>,
    ) -> Picture {
        let lanes: Vec<String> = threads
            .into_iter()
            .filter(|t| events.iter().any(|e| &e.thread == t))
            .collect();
        let mut lanes = lanes;
        for e in events {
            if !lanes.contains(&e.thread) {
                lanes.push(e.thread.clone());
            }
        }
        let mut status: Vec<Status> = vec![Status::Idle; lanes.len()];
        let mut waiting_in: Vec<String> = vec![String::new(); lanes.len()];
        let mut rows = Vec::new();
        let failure_at = events.iter().rposition(|e| e.phrase.starts_with("panics"));
        for (i, e) in events.iter().enumerate() {
            let lane = lanes
                .iter()
                .position(|l| *l == e.thread)
                .expect("every thread has a lane");
            let failure = Some(i) == failure_at;
            let kind = if failure {
                Kind::Failure
            } else if e.phrase == "finish" {
                Kind::Done
            } else if blocks(&e.phrase) {
                Kind::Blocks
            } else {
                Kind::Event
            };
            status[lane] = match kind {
                Kind::Failure => Status::Failed,
                Kind::Done => Status::Done,
                Kind::Blocks => Status::Blocked,
                _ => Status::Running,
            };
            waiting_in[lane] = e.phrase.clone();
            let mut cells = Vec::new();
            for (j, l) in lanes.iter().enumerate() {
                if j == lane {
                    cells.push(Cell {
                        kind,
                        title: format!("step {}: {l}: {}", e.step, e.phrase),
                        status: status[j],
                    });
                } else if status[j] == Status::Blocked {
                    cells.push(Cell {
                        kind: Kind::Waiting,
                        title: format!("step {}: {l} is still blocked ({})", e.step, waiting_in[j]),
                        status: Status::Blocked,
                    });
                } else {
                    let s = match status[j] {
                        Status::Running | Status::Returned => Status::Ready,
                        s => s,
                    };
                    cells.push(Cell::empty(s));
                }
            }
            rows.push(Row {
                label: e.step.to_string(),
                what: format!("{} {}", e.thread, e.phrase),
                running: Some(lane),
                cells,
                state: None,
                failure,
                text: format!("Step {}: {}: {}.", e.step, e.thread, e.phrase),
                predict: None,
            });
        }
        let blocked_at_end: Vec<String> = lanes
            .iter()
            .zip(&status)
            .filter(|(_, s)| **s == Status::Blocked)
            .map(|(l, _)| l.clone())
            .collect();
        let title = format!("Swimlane of “{name}”");
        let desc = format!(
            "One lane per thread ({}), one row per event, from top to bottom. An event that \
             waits starts a hatched span that lasts until the thread's next event; the \
             failure is outlined and marked with a cross.{}",
            lanes.join(", "),
            if blocked_at_end.is_empty() {
                String::new()
            } else {
                format!(" Still blocked at the end: {}.", blocked_at_end.join(", "))
            }
        );
        Picture {
            id: id.to_string(),
            title,
            desc,
            lanes,
            rows,
            has_state: false,
            footer: verdict.map(|v| Footer {
                text: format!("✗ {v}"),
                failure: true,
            }),
        }
    }
}

/// An event of a timeline or trace, as a phrase.
struct Ev {
    step: u64,
    thread: String,
    phrase: String,
}

/// Whether an event leaves its thread waiting (until the thread's next event).
pub fn blocks(phrase: &str) -> bool {
    let (op, outcome) = match phrase.split_once(": ") {
        Some((op, outcome)) => (op, outcome),
        None => (phrase, ""),
    };
    outcome.starts_with("blocked")
        || outcome.starts_with("waits")
        || op == "wait"
        || op.starts_with("wait ")
        || op.starts_with("wait_")
        || op.starts_with("sleep")
}

/// A failing schedule as `interleave` exports it (`trace.rs`, `export_failure`).
#[derive(Clone, Debug, serde::Deserialize)]
pub struct ExportedFailure {
    /// The report's headline word (`panic`, `deadlock`...).
    pub kind: String,
    /// The diagnosis.
    pub message: String,
    /// The replay line.
    pub replay: String,
    /// The whole report, as a student reads it.
    pub report: String,
    /// The events.
    pub trace: ExportedTrace,
}

/// The trace part of an [`ExportedFailure`].
#[derive(Clone, Debug, serde::Deserialize)]
pub struct ExportedTrace {
    /// Threads in creation order.
    pub threads: Vec<String>,
    /// Events in order.
    pub events: Vec<ExportedEvent>,
}

/// One event of an [`ExportedTrace`] (interleave's `trace::Event`).
#[derive(Clone, Debug, serde::Deserialize)]
pub struct ExportedEvent {
    /// The scheduling step.
    pub step: u64,
    /// The thread.
    pub thread: String,
    /// The object, if any.
    pub object: Option<String>,
    /// The operation.
    pub op: String,
    /// Its outcome, if any.
    pub outcome: Option<String>,
    /// A topic-level event.
    pub api: bool,
}

impl ExportedEvent {
    /// The event in the words of the report's interleaving: `enter monitor: waits`,
    /// `store 97 in balance`, `signal busy: S1 will re-enter`.
    pub fn phrase(&self) -> String {
        let outcome = self
            .outcome
            .as_deref()
            .filter(|o| *o != "()" && !o.is_empty());
        let mut s = match (&self.object, self.api) {
            (Some(_), true) if self.op == "enter" || self.op == "exit" => {
                format!("{} monitor", self.op)
            }
            (Some(o), false) if self.op.starts_with("store ") => {
                format!("{} in {o}", self.op)
            }
            (Some(o), _) => format!("{} {o}", self.op),
            (None, _) => self.op.clone(),
        };
        if let Some(o) = outcome {
            s.push_str(": ");
            s.push_str(o);
        }
        s
    }
}

// Geometry, in SVG user units (pixels at scale 1).
const CH: f64 = 6.7; // one character of the 11px monospace font
const PAD: f64 = 7.0;
const ROW: f64 = 22.0;
const HEAD: f64 = 28.0;
const STEP_W: f64 = 34.0;
const LANE_MIN: f64 = 38.0;
const MAX_WHAT_CHARS: usize = 44;
const MAX_STATE_CHARS: usize = 46;
const FOOT: f64 = 24.0;
const LEGEND: f64 = 26.0;

fn text_width(chars: usize) -> f64 {
    chars as f64 * CH
}

#[derive(Serialize)]
struct ViewerLane<'a> {
    status: Status,
    note: &'a str,
}

#[derive(Serialize)]
struct ViewerRow<'a> {
    label: &'a str,
    running: Option<&'a str>,
    text: &'a str,
    lanes: Vec<ViewerLane<'a>>,
    state: Option<&'a str>,
    failure: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    predict: Option<&'a Predict>,
}

#[derive(Serialize)]
struct Viewer<'a> {
    kind: &'a str,
    lanes: &'a [String],
    rows: Vec<ViewerRow<'a>>,
    footer: Option<&'a str>,
    predict: bool,
}

impl Picture {
    /// The rows as the viewer's data (JSON).
    pub fn viewer_json(&self, kind: &str) -> String {
        let rows = self
            .rows
            .iter()
            .map(|r| ViewerRow {
                label: &r.label,
                running: r.running.map(|i| self.lanes[i].as_str()),
                text: &r.text,
                lanes: r
                    .cells
                    .iter()
                    .map(|c| ViewerLane {
                        status: c.status,
                        note: &c.title,
                    })
                    .collect(),
                state: r.state.as_deref(),
                failure: r.failure,
                predict: r.predict.as_ref(),
            })
            .collect();
        let viewer = Viewer {
            kind,
            lanes: &self.lanes,
            rows,
            footer: self.footer.as_ref().map(|f| f.text.as_str()),
            predict: self.rows.iter().all(|r| r.predict.is_some()) && !self.rows.is_empty(),
        };
        serde_json::to_string(&viewer).expect("viewer data serialises")
    }

    /// The picture as one line of inline SVG (no blank line, so that Markdown keeps it
    /// whole): the step, what happened (the call or the event), one narrow lane per thread
    /// with drawn marks, the state strip, then a legend.
    pub fn svg(&self) -> String {
        let what_chars = self
            .rows
            .iter()
            .map(|r| r.what.chars().count().min(MAX_WHAT_CHARS))
            .max()
            .unwrap_or(4)
            .max(4);
        let what_w = (text_width(what_chars) + 2.0 * PAD).ceil();
        let lane_w: Vec<f64> = self
            .lanes
            .iter()
            .map(|l| (text_width(l.chars().count()) + 12.0).max(LANE_MIN).ceil())
            .collect();
        let lanes_w: f64 = lane_w.iter().sum();
        let state_w = if self.has_state {
            let chars = self
                .rows
                .iter()
                .filter_map(|r| r.state.as_ref())
                .map(|s| s.chars().count().min(MAX_STATE_CHARS))
                .max()
                .unwrap_or(5)
                .max(5);
            (text_width(chars) + 2.0 * PAD).ceil()
        } else {
            0.0
        };
        let what_x = STEP_W;
        let lanes_x = what_x + what_w + 4.0;
        let state_x = lanes_x + lanes_w + 6.0;
        let mut width = if self.has_state {
            state_x + state_w
        } else {
            lanes_x + lanes_w + 4.0
        };
        let footer_chars = self
            .footer
            .as_ref()
            .map_or(0, |f| f.text.chars().count().min(100));
        width = width
            .max(text_width(footer_chars) + 2.0 * PAD)
            .max(LEGEND_W)
            .ceil();
        let body_h = self.rows.len() as f64 * ROW;
        let foot_h = if self.footer.is_some() { FOOT } else { 0.0 };
        let height = (HEAD + body_h + foot_h + LEGEND + 4.0).ceil();
        let id = &self.id;
        let mut s = String::new();
        s.push_str(&format!(
            r#"<svg class="swimlane" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" height="{height}" style="--natural-width: {width}px" role="img" aria-labelledby="{id}-t {id}-d" data-rows="{}">"#,
            self.rows.len()
        ));
        s.push_str(&format!(
            r#"<title id="{id}-t">{}</title><desc id="{id}-d">{}</desc>"#,
            esc(&self.title),
            esc(&self.desc)
        ));
        s.push_str(&format!(
            r#"<defs><pattern id="{id}-hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect class="sl-hatch-bg" width="6" height="6"/><line class="sl-hatch" x1="0" y1="0" x2="0" y2="6"/></pattern></defs>"#
        ));
        // Header: the columns' names.
        let head_y = HEAD - 10.0;
        s.push_str(&format!(
            r#"<text class="sl-head sl-left sl-muted" x="{}" y="{head_y}">step</text>"#,
            STEP_W - 6.0
        ));
        s.push_str(&format!(
            r#"<text class="sl-head sl-start" x="{}" y="{head_y}">{}</text>"#,
            what_x + PAD,
            if self.rows.iter().any(|r| r.predict.is_some()) {
                "call"
            } else {
                "event"
            }
        ));
        let mut lane_x = Vec::new();
        let mut x = lanes_x;
        for (j, name) in self.lanes.iter().enumerate() {
            lane_x.push(x);
            s.push_str(&format!(
                r#"<text class="sl-head" x="{}" y="{head_y}">{}</text>"#,
                x + lane_w[j] / 2.0,
                esc(name)
            ));
            x += lane_w[j];
        }
        if self.has_state {
            s.push_str(&format!(
                r#"<text class="sl-head sl-start" x="{}" y="{head_y}">state</text>"#,
                state_x + PAD
            ));
        }
        for (j, _) in self.lanes.iter().enumerate() {
            s.push_str(&format!(
                r#"<line class="sl-lane" x1="{x}" y1="{}" x2="{x}" y2="{}"/>"#,
                HEAD - 2.0,
                HEAD + body_h,
                x = lane_x[j] + lane_w[j] / 2.0
            ));
        }
        s.push_str(&format!(
            r#"<line class="sl-rule" x1="0" y1="{y}" x2="{width}" y2="{y}"/>"#,
            y = HEAD - 2.0
        ));
        let mut shade = false;
        let mut last_state: Option<&str> = None;
        for (i, row) in self.rows.iter().enumerate() {
            let y = HEAD + i as f64 * ROW;
            let base = y + 15.0;
            let classes = if row.failure {
                "sl-row sl-failure"
            } else {
                "sl-row"
            };
            s.push_str(&format!(r#"<g class="{classes}" data-row="{i}">"#));
            // The viewer's highlight of the current row (transparent otherwise).
            s.push_str(&format!(
                r#"<rect class="sl-hl" x="0" y="{y}" width="{width}" height="{ROW}"/>"#
            ));
            if i % 2 == 1 {
                s.push_str(&format!(
                    r#"<rect class="sl-stripe" x="0" y="{y}" width="{}" height="{ROW}"/>"#,
                    lanes_x + lanes_w
                ));
            }
            s.push_str(&format!(
                r#"<text class="sl-step" x="{}" y="{base}">{}</text>"#,
                STEP_W - 6.0,
                esc(&row.label)
            ));
            s.push_str(&format!(
                r#"<text class="sl-what{}" x="{}" y="{base}"><title>{}</title>{}</text>"#,
                if row.failure { " sl-what-fail" } else { "" },
                what_x + PAD,
                esc(&row.text),
                esc(&clip(&row.what, MAX_WHAT_CHARS))
            ));
            for (j, cell) in row.cells.iter().enumerate() {
                let cx = lane_x[j] + 4.0;
                let w = lane_w[j] - 8.0;
                let mid = lane_x[j] + lane_w[j] / 2.0;
                let running = row.running == Some(j);
                if cell.kind != Kind::Empty {
                    let (ry, rh) = if cell.kind == Kind::Waiting {
                        (y, ROW)
                    } else {
                        (y + 3.0, ROW - 6.0)
                    };
                    let fill = if matches!(cell.kind, Kind::Waiting | Kind::Blocks) {
                        format!(r#" fill="url(#{id}-hatch)""#)
                    } else {
                        String::new()
                    };
                    let run = if running { " sl-running" } else { "" };
                    s.push_str(&format!(
                        r#"<g class="sl-cell {}{run}"><title>{}</title><rect x="{cx}" y="{ry}" width="{w}" height="{rh}" rx="3"{fill}/>"#,
                        cell.kind.class(),
                        esc(&cell.title)
                    ));
                    let glyph = match cell.kind {
                        Kind::Returns => "✓",
                        Kind::Failure => "✗",
                        Kind::Done => "■",
                        _ => "",
                    };
                    if running {
                        s.push_str(&format!(
                            r#"<path class="sl-mark" d="M{} {}l6 5l-6 5z"/>"#,
                            cx + 3.0,
                            y + 6.0
                        ));
                    }
                    if !glyph.is_empty() {
                        s.push_str(&format!(
                            r#"<text class="sl-glyph" x="{}" y="{base}">{glyph}</text>"#,
                            if running { mid + 4.0 } else { mid }
                        ));
                    }
                    s.push_str("</g>");
                }
                if running && row.predict.is_some() {
                    // Shown instead of the outcome while the reader predicts.
                    s.push_str(&format!(
                        r#"<g class="sl-pred"><rect x="{cx}" y="{}" width="{w}" height="{}" rx="3"/><text class="sl-glyph" x="{mid}" y="{base}">?</text></g>"#,
                        y + 3.0,
                        ROW - 6.0
                    ));
                }
            }
            if let Some(state) = &row.state {
                if last_state.is_some_and(|l| l != state) {
                    shade = !shade;
                }
                last_state = Some(state);
                s.push_str(&format!(
                    r#"<g class="sl-state {}"><title>{}</title><rect x="{state_x}" y="{y}" width="{state_w}" height="{ROW}"/><text x="{}" y="{base}">{}</text></g>"#,
                    if shade { "sl-state-b" } else { "sl-state-a" },
                    esc(&format!("state after step {}: {state}", row.label)),
                    state_x + PAD,
                    esc(&clip(state, MAX_STATE_CHARS))
                ));
            }
            s.push_str("</g>");
        }
        let mut y = HEAD + body_h + 4.0;
        if let Some(f) = &self.footer {
            s.push_str(&format!(
                r#"<g class="sl-foot{}" data-row="end"><title>{}</title><text x="{}" y="{}">{}</text></g>"#,
                if f.failure { " sl-failure" } else { "" },
                esc(&f.text),
                PAD,
                y + 14.0,
                esc(&clip(&f.text, 100))
            ));
            y += FOOT;
        }
        s.push_str(&self.legend(y));
        s.push_str("</svg>");
        s
    }

    /// The key under the picture: every mark with its meaning in words.
    fn legend(&self, y: f64) -> String {
        let id = &self.id;
        let events = self.rows.iter().all(|r| r.predict.is_none());
        let mut s = format!(r#"<g class="sl-legend" transform="translate(0 {y})">"#);
        let mut x = PAD;
        let mut item = |s: &mut String, class: &str, glyph: &str, hatch: bool, label: &str| {
            let fill = if hatch {
                format!(r#" fill="url(#{id}-hatch)""#)
            } else {
                String::new()
            };
            s.push_str(&format!(
                r#"<g class="sl-cell {class}"><rect x="{x}" y="4" width="22" height="14" rx="3"{fill}/>"#
            ));
            if glyph == "▶" {
                s.push_str(&format!(
                    r#"<path class="sl-mark" d="M{} 6l6 5l-6 5z"/>"#,
                    x + 3.0
                ));
            } else if !glyph.is_empty() {
                s.push_str(&format!(
                    r#"<text class="sl-glyph" x="{}" y="15">{glyph}</text>"#,
                    x + 11.0
                ));
            }
            s.push_str(&format!(
                r#"</g><text class="sl-legend-text" x="{}" y="15">{label}</text>"#,
                x + 27.0
            ));
            x += 27.0 + text_width(label.chars().count()) + 14.0;
        };
        if events {
            item(&mut s, "sl-event sl-running", "▶", false, "runs");
            item(&mut s, "sl-blocks", "", true, "waits");
            item(&mut s, "sl-done", "■", false, "finished");
            item(&mut s, "sl-fail", "✗", false, "the failure");
        } else {
            item(&mut s, "sl-returns sl-running", "▶", false, "calls");
            item(&mut s, "sl-blocks", "", true, "blocked");
            item(&mut s, "sl-returns", "✓", false, "returns");
        }
        s.push_str("</g>");
        s
    }
}

/// The legend's width, at least (the picture is never narrower).
const LEGEND_W: f64 = 330.0;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waiting_events_are_recognised_from_their_phrase() {
        for p in [
            "enter monitor: waits",
            "wait busy",
            "join N1: blocked",
            "lock fork 1: blocked (held by P1)",
            "send requests: waits for a receiver",
            "recv jobs: blocked (empty)",
        ] {
            assert!(blocks(p), "{p}");
        }
        for p in [
            "enter monitor: in",
            "back from wait busy",
            "signal busy: S1 will re-enter",
            "finish",
        ] {
            assert!(!blocks(p), "{p}");
        }
    }
}
