//! The `--json` consumer: each engine event as one line of the event stream (`crate::events`, described by
//! docs/events.schema.json).

use serde_json::json;

use super::event::Event;
use crate::events::emit;

/// Writes `event` when the stream is on; events the stream does not carry (the plan, status lines) are left out.
pub fn write(event: &Event<'_>) {
    if !crate::events::enabled() {
        return;
    }
    match event {
        Event::RunStarted { run_id, command } => emit("run_started", json!({ "run_id": run_id, "command": command })),
        Event::StepStarted { step, title } => emit("step_started", json!({ "step": step, "title": title })),
        Event::CommandFinished { step, record } => emit(
            "command",
            json!({ "step": step, "command": record.command, "exit_code": record.exit_code,
                "duration_ms": record.duration_ms, "timed_out": record.timed_out }),
        ),
        Event::CacheDecided { step, decision } => {
            emit("cache", json!({ "step": step, "hit": decision.hit(), "reason": decision.to_string() }))
        }
        Event::Note { step, message } => emit("note", json!({ "step": step, "message": message })),
        Event::StepNotStarted { step, why } => step_finished(step, crate::report::StepStatus::Skipped, 0, Some(why)),
        Event::StepFinished { step, status, took, detail, .. } => {
            step_finished(step, *status, took.as_millis() as u64, *detail)
        }
        Event::RunFinished { run_id, status, exit_code, report, .. } => emit(
            "run_finished",
            json!({ "run_id": run_id, "status": status, "exit_code": exit_code, "report": report }),
        ),
        Event::CommandPlanned { .. }
        | Event::CommandRecorded { .. }
        | Event::PlanLine { .. }
        | Event::Status { .. }
        | Event::FailFast { .. }
        | Event::Message(_) => {}
    }
}

fn step_finished(step: &str, status: crate::report::StepStatus, duration_ms: u64, detail: Option<&str>) {
    emit("step_finished", json!({ "step": step, "status": status, "duration_ms": duration_ms, "detail": detail }));
}
