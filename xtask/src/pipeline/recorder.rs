//! The report's consumer of the engine's events: what each step ran and noted, gathered per step for its record in
//! report.json (the engine adds the outcome when the step ends).

use std::collections::HashMap;
use std::sync::Mutex;

use super::event::Event;
use crate::report::CommandRecord;

/// What one step ran and noted, in order.
#[derive(Default)]
pub struct Gathered {
    pub commands: Vec<CommandRecord>,
    pub notes: Vec<String>,
}

#[derive(Default)]
pub struct Recorder {
    steps: Mutex<HashMap<String, Gathered>>,
}

impl Recorder {
    pub fn record(&self, event: &Event<'_>) {
        let mut steps = self.steps.lock().unwrap_or_else(|p| p.into_inner());
        match event {
            Event::CommandFinished { step, record } | Event::CommandRecorded { step, record } => {
                steps.entry(step.to_string()).or_default().commands.push((*record).clone());
            }
            // A plan lists the commands a step would run (not those it would leave in the background).
            Event::CommandPlanned { step, command, background: false } => {
                steps.entry(step.to_string()).or_default().commands.push(CommandRecord {
                    command: command.to_string(),
                    exit_code: None,
                    duration_ms: 0,
                    timed_out: false,
                })
            }
            Event::Note { step, message } => steps.entry(step.to_string()).or_default().notes.push(message.to_string()),
            _ => {}
        }
    }

    /// The step's commands and notes, handed over once when it ends.
    pub fn take(&self, step: &str) -> Gathered {
        self.steps.lock().unwrap_or_else(|p| p.into_inner()).remove(step).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::event::CacheDecision;

    fn record(command: &str, exit_code: Option<i32>) -> CommandRecord {
        CommandRecord { command: command.into(), exit_code, duration_ms: 0, timed_out: false }
    }

    #[test]
    fn gathers_each_steps_commands_and_notes_in_order_and_hands_them_over_once() {
        let r = Recorder::default();
        let (ran, probed) = (record("docker build .", Some(0)), record("helm version", Some(0)));
        r.record(&Event::CommandFinished { step: "build:api", record: &ran });
        r.record(&Event::Note { step: "gate:size:api", message: "42 MiB" });
        r.record(&Event::CommandRecorded { step: "build:api", record: &probed });
        r.record(&Event::CommandPlanned { step: "build:api", command: "docker push", background: false });
        r.record(&Event::CommandPlanned { step: "build:api", command: "kubectl port-forward", background: true });
        r.record(&Event::CacheDecided { step: "build:api", decision: &CacheDecision::Hit });
        let got = r.take("build:api");
        let commands: Vec<&str> = got.commands.iter().map(|c| c.command.as_str()).collect();
        assert_eq!(commands, ["docker build .", "helm version", "docker push"]);
        assert!(got.notes.is_empty());
        assert_eq!(r.take("gate:size:api").notes, ["42 MiB"]);
        assert!(r.take("build:api").commands.is_empty(), "handed over once");
    }

    #[test]
    fn a_cache_decision_reads_as_before() {
        assert_eq!(CacheDecision::Hit.to_string(), "cached: inputs unchanged");
        assert_eq!(CacheDecision::Runs("no earlier run recorded".into()).to_string(), "runs: no earlier run recorded");
        assert!(CacheDecision::Hit.hit() && !CacheDecision::Runs(String::new()).hit());
    }
}
