//! The plan printer: under `--dry-run` the steps, the commands they would run and the cache's verdicts go to
//! stdout, one line each, indented by what they belong to.

use super::event::Event;

/// Prints `event` as a line of the plan; false for events the plan does not show (notes and warnings still go to
/// the progress display).
pub fn print(event: &Event<'_>) -> bool {
    match event {
        Event::RunStarted { command, .. } => crate::outln!("plan for `cargo xtask {command}` (nothing is run):"),
        Event::StepStarted { step, title } => crate::outln!("  {step}: {title}"),
        Event::CommandPlanned { command, background: false, .. } => crate::outln!("    $ {command}"),
        Event::CommandPlanned { command, background: true, .. } => crate::outln!("    $ {command} &"),
        Event::PlanLine { text, .. } => crate::outln!("    {text}"),
        Event::CacheDecided { decision, .. } => crate::outln!("    cache: {decision}"),
        Event::StepNotStarted { step, why } => crate::outln!("  {step} — {why}"),
        Event::StepFinished { message, .. } => {
            if let Some(m) = message {
                crate::outln!("    {m}");
            }
        }
        Event::CommandFinished { .. } | Event::CommandRecorded { .. } | Event::RunFinished { .. } => {}
        Event::Note { .. } | Event::Status { .. } | Event::FailFast { .. } | Event::Message(_) => return false,
    }
    true
}
