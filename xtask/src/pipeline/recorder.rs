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
