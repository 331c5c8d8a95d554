//! Plan-as-data: what a step gets back from a command in a plan (`--dry-run`, `cargo xtask plan`), where nothing
//! runs. A step declares its commands through [`StepCx`](super::StepCx) whatever the mode (`step_cx_plan.rs`); in a
//! plan the engine prints and records them and hands back [`Ran::Planned`], and values not known before the run
//! are one [`Placeholder`] the plan prints in their place.

use std::fmt;

/// A value that is known only once the step ran, or its placeholder in a plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Planned<T> {
    Known(T),
    Unknown(Placeholder),
}

impl<T: fmt::Display> fmt::Display for Planned<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Planned::Known(v) => v.fmt(f),
            Planned::Unknown(p) => p.fmt(f),
        }
    }
}

/// What a plan shows where a value is only known once a command ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placeholder {
    /// An image's id before its build (the tail of its cluster tag).
    ImageId,
    /// A pushed image's digest before the push.
    PushDigest,
    /// The revision a rollback returns to, before the release's history is read.
    PreviousRevision,
    /// The frontend's local URL before its tunnel is up.
    FrontendUrl,
    /// A port-forward's local URL before it listens.
    ForwardUrl,
    /// The pod a check deletes, before the pods are listed.
    BackendPod,
}

impl fmt::Display for Placeholder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Placeholder::ImageId => "{image-id}",
            Placeholder::PushDigest => "{digest from the push}",
            Placeholder::PreviousRevision => "<previous>",
            Placeholder::FrontendUrl => "http://<frontend>",
            Placeholder::ForwardUrl => "http://<port-forward>",
            Placeholder::BackendPod => "<a backend pod>",
        })
    }
}

/// What a command gave back: its output when it ran, or nothing yet because the run is a plan (the command was
/// printed and recorded instead). Steps take the path that does the work when it is [`Ran::Planned`].
#[derive(Debug)]
pub enum Ran<T> {
    Done(T),
    Planned,
}

impl<T> Ran<T> {
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Ran<U> {
        match self {
            Ran::Done(v) => Ran::Done(f(v)),
            Ran::Planned => Ran::Planned,
        }
    }
}
