//! `cargo xtask`: parses the command line and dispatches to one module per command.

mod addons;
mod ai;
mod build;
mod chart;
mod ci;
mod cli;
mod config;
mod config_check;
mod context;
mod dev;
mod diagnose;
mod docker;
mod doctor;
mod error;
mod events;
mod files;
mod guard;
mod helm;
mod http;
mod image_size;
mod init;
mod install;
mod k3d;
mod kind;
mod kinds;
mod kube;
mod manifests;
mod minikube;
mod names;
mod output;
mod pipeline;
mod preflight;
mod registry;
mod report;
mod report_files;
mod report_html;
mod rollback;
mod sbom;
mod secrets;
mod signals;
mod target;
mod teardown;
mod text;
mod time;
mod tools;
mod trivy;
mod units;
mod up;
mod verify;
mod version;
mod yaml;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::{AiCommand, BuildArgs, Cli, Command, PlanCommand, TeardownArgs, ToolsCommand};
use crate::config::AiTool;
use crate::context::Context;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            // clap exits 0 for --help/--version and 2 for usage errors, as we document.
            return ExitCode::from(e.exit_code() as u8);
        }
    };
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // The one place an error becomes an exit code: 2 usage or config error (or a held run lock), 130
            // interrupted by Ctrl-C (SIGINT), 143 by SIGTERM (128 + the signal number, the shell's convention), 1
            // otherwise.
            let typed = e.downcast_ref::<error::Error>();
            if !typed.is_some_and(error::Error::already_shown) {
                crate::errln!("error: {}", pipeline::secrets::redact_global(&format!("{e:#}")));
            }
            ExitCode::from(typed.map_or(1, error::Error::exit_code))
        }
    }
}

fn run(mut cli: Cli) -> anyhow::Result<()> {
    output::init(cli.global.quiet, cli.global.color);
    events::init(cli.global.json && !matches!(cli.command, Command::Doctor(_)));
    // `plan X` is `X --dry-run`: one code path decides what runs, so the plan cannot drift from the run.
    let command = match cli.command {
        Command::Plan(p) => {
            cli.global.dry_run = true;
            match p.command {
                PlanCommand::Build(b) => Command::Build(b),
                PlanCommand::Up(u) => Command::Up(u),
                PlanCommand::Teardown(t) => Command::Teardown(t),
                PlanCommand::Verify(v) => Command::Verify(v),
                PlanCommand::Rollback(r) => Command::Rollback(r),
                PlanCommand::Manifests(m) => Command::Manifests(m),
                PlanCommand::Ci(c) => Command::Ci(c),
            }
        }
        // Needs neither the config nor the repo: the script comes from the command-line definition alone. It
        // completes the name `xtask` (cargo's own completion does not reach into an alias): pair it with
        // `alias xtask='cargo xtask'`.
        Command::Completions(c) => {
            use std::io::Write;
            let mut cmd = <Cli as clap::CommandFactory>::command();
            let mut script = Vec::new();
            clap_complete::generate(c.shell, &mut cmd, "xtask", &mut script);
            // A closed pipe (`| head`) is the reader's choice, not an error worth a panic.
            return match std::io::stdout().write_all(&script) {
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
                r => r.map_err(|e| anyhow::anyhow!("writing the completion script to stdout: {e}")),
            };
        }
        c => c,
    };
    if cli.global.json && cli.global.dry_run {
        return Err(error::Error::usage(
            "--json streams the events of a run; a plan (`plan`, --dry-run) is text: drop one of them",
        )
        .into());
    }
    let target = match &command {
        Command::Up(u) => Some(u.target.clone()),
        Command::Dev(d) => Some(d.target.clone()),
        Command::Verify(v) if !v.static_only => Some(v.target.clone()),
        Command::Teardown(t) => Some(t.target.clone()),
        Command::Rollback(r) => Some(r.target.clone()),
        // Only the stages that reach a cluster take the target (and its guard).
        Command::Ci(c)
            if c.stages
                .iter()
                .any(|s| matches!(s, kinds::Stage::Deploy | kinds::Stage::Verify | kinds::Stage::Teardown)) =>
        {
            Some(c.target.clone())
        }
        _ => None,
    };
    let mut ctx = Context::new(cli.global)?;
    if let Some(t) = target {
        ctx.select_target(t);
        // Before any step: the target line comes first, and a refused guard runs nothing.
        guard::check(&ctx)?;
    }
    // Every command loads the secrets for redaction, including those that never pass them on: their tools may
    // print them. A command that needs no config (tools, doctor) still works without one. After the target is
    // chosen: the config is read once, with its overrides.
    let _ = ctx.config();
    match command {
        Command::Build(b) => build(b).run(&ctx),
        Command::Up(u) => up::Up { build: build(u.build), require_ai: u.require_ai }.run(&ctx),
        Command::Verify(v) => {
            verify::Verify { only: v.only, skip: v.skip, load: v.load, static_only: v.static_only }.run(&ctx)
        }
        Command::Ai(a) => {
            let (tool, prompt, agent) = match a.command {
                AiCommand::Ask { prompt } => (AiTool::KubectlAi, prompt, None),
                AiCommand::Agent { prompt, agent } => (AiTool::Kagent, prompt, agent),
                AiCommand::Docker { prompt } => (AiTool::DockerAi, prompt, None),
            };
            // An explicit question fails when it cannot be asked; --require-ai is accepted and changes nothing.
            let _ = a.require_ai;
            ai::Ask { tool, prompt, agent }.run(&ctx)
        }
        Command::Teardown(t) => teardown::Teardown { cluster: teardown_action(&t) }.run(&ctx),
        Command::Ci(c) => ci::Ci { stages: c.stages, skip: c.skip_gate }.run(&ctx),
        Command::Manifests(m) => manifests::Manifests { check: m.check }.run(&ctx),
        Command::Rollback(r) => rollback::Rollback { revision: r.revision }.run(&ctx),
        Command::Plan(_) => unreachable!("plan was turned into its command above"),
        Command::Completions(_) => unreachable!("completions returned above"),
        Command::Doctor(_) => doctor::Doctor { json: ctx.global.json }.run(&ctx),
        Command::Init => init::Init.run(&ctx),
        Command::Dev(d) => dev::Dev {
            skip: d.build.skip_gate,
            images: d.build.images,
            debounce: std::time::Duration::from_millis(d.debounce),
            poll: std::time::Duration::from_millis(200),
        }
        .run(&ctx),
        Command::Tools(t) => match t.command {
            ToolsCommand::Install(i) => install::Install { names: i.names, force: i.force }.run(&ctx),
            ToolsCommand::List => install::list(&ctx),
        },
    }
}

fn build(b: BuildArgs) -> build::Build {
    build::Build { skip: b.skip_gate, images: b.images, tools_step: None }
}

fn teardown_action(t: &TeardownArgs) -> teardown::ClusterAction {
    match (t.delete, t.keep_cluster) {
        (true, _) => teardown::ClusterAction::Delete,
        (_, true) => teardown::ClusterAction::Keep,
        _ => teardown::ClusterAction::Stop,
    }
}
