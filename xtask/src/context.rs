//! What every command gets: the shell rooted at the repo, the parsed config and the global flags.

use std::path::{Path, PathBuf};

use anyhow::Result;
use clap::Args;
use xshell::Shell;

use crate::config::{self, Config};
use crate::output::ColorChoice;

/// Options every command takes, listed under their own heading in each command's help.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Global options")]
pub struct Global {
    /// Pipeline config to use instead of xtask.yaml at the repo root
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// Print the exact commands that would run, with each cache decision, and run nothing
    #[arg(long, global = true)]
    pub dry_run: bool,
    /// Stream every tool's output to the terminal instead of only its log file
    #[arg(short, long, global = true, conflicts_with = "quiet")]
    pub verbose: bool,
    /// Print only failures, warnings and results: no step progress
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// When to color the output: auto (a terminal, unless NO_COLOR is set; CLICOLOR_FORCE forces it), always, never
    #[arg(long, global = true, value_enum, value_name = "WHEN", default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    /// Print the run as JSON Lines events on stdout (docs/events.schema.json); for `doctor`, its table as JSON
    #[arg(long, global = true)]
    pub json: bool,
    /// How many independent steps (image builds, gates) may run at once [default: number of CPUs]
    #[arg(short, long, global = true, value_name = "N")]
    pub jobs: Option<usize>,
    /// Never install a missing tool from the pinned versions in xtask/tools.lock.yaml (nor cargo-auditable)
    #[arg(long, global = true)]
    pub no_install: bool,
    /// After a step fails, still run every step that does not depend on it [default: stop at the first failure]
    #[arg(long, global = true)]
    pub keep_going: bool,
}

/// Which deploy target a cluster command acts on, and the confirmation protected targets need.
#[derive(Debug, Clone, Default, Args)]
pub struct TargetArgs {
    /// Deploy target from `targets:` in the config (`local` is the `cluster:` section) [default: default_target]
    #[arg(long = "target", value_name = "NAME")]
    pub target: Option<String>,
    /// Confirm acting on a protected target without a prompt (needed in CI and off a terminal)
    #[arg(long)]
    pub yes: bool,
}

pub struct Context {
    pub root: PathBuf,
    pub config_path: PathBuf,
    /// The config path as users wrote it (relative to where they ran the command), for messages.
    pub config_shown: PathBuf,
    pub global: Global,
    /// `--target`/`--yes` of a command that acts on a cluster; `None` for the others (build, manifests...).
    pub target_args: Option<TargetArgs>,
    config: std::sync::OnceLock<Config>,
}

impl Context {
    pub fn new(global: Global) -> Result<Context> {
        let root = project_root();
        let config_path = config::path(&root, global.config.as_deref());
        let config_shown = match &global.config {
            Some(p) => p.clone(),
            None => PathBuf::from("xtask.yaml"),
        };
        Ok(Context { root, config_path, config_shown, global, target_args: None, config: std::sync::OnceLock::new() })
    }

    /// The pipeline config, read on first use so that `--help` and `tools list` work without one.
    pub fn config(&self) -> Result<&Config> {
        if let Some(c) = self.config.get() {
            return Ok(c);
        }
        let mut c = Config::load(&self.config_path, &self.config_shown, &self.root)?;
        c.register_secrets(&self.root);
        if let Some(t) = &self.target_args {
            crate::config::select_target(&mut c, t.target.as_deref())?;
        }
        Ok(self.config.get_or_init(|| c))
    }

    /// Marks this run as acting on a cluster: the config is read with the chosen target's overrides.
    pub fn select_target(&mut self, args: TargetArgs) {
        self.target_args = Some(args);
    }

    /// The target of a cluster command; `None` for commands that touch no cluster.
    pub fn active_target(&self) -> Option<&crate::target::Target> {
        self.target_args.as_ref()?;
        self.config.get().map(|c| &c.target)
    }

    /// A shell rooted at the repo with .xtask/bin first on PATH. xshell's Shell is not Sync, so each thread that
    /// runs steps makes its own here and they all agree on directory and PATH.
    pub fn shell(&self) -> Result<Shell> {
        let sh = Shell::new()?;
        sh.change_dir(&self.root);
        sh.set_var("PATH", path_with_local_bin(&self.local_bin()));
        Ok(sh)
    }

    /// Project-local folder of pinned tools; every pipeline step puts it first on PATH.
    pub fn local_bin(&self) -> PathBuf {
        self.root.join(".xtask").join("bin")
    }

    /// Where runs, state and logs live.
    pub fn state_dir(&self) -> PathBuf {
        self.root.join("target").join("xtask")
    }

    /// Paths relative to the repo root read better in messages and never leak the checkout's location.
    pub fn rel<'a>(&self, p: &'a Path) -> std::borrow::Cow<'a, Path> {
        match p.strip_prefix(&self.root) {
            Ok(r) => std::borrow::Cow::Owned(r.to_path_buf()),
            Err(_) => std::borrow::Cow::Borrowed(p),
        }
    }

    pub fn jobs(&self) -> usize {
        self.global.jobs.unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2)).max(1)
    }
}

/// The repo root: the parent of the xtask crate. `XTASK_ROOT` overrides it, so tests and adopters can point the
/// built binary at another checkout.
pub fn project_root() -> PathBuf {
    if let Some(r) = std::env::var_os("XTASK_ROOT") {
        return PathBuf::from(r);
    }
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest).to_path_buf()
}

/// A PATH value with .xtask/bin first, for every command the pipeline runs.
pub fn path_with_local_bin(local_bin: &Path) -> std::ffi::OsString {
    let mut dirs = vec![local_bin.to_path_buf()];
    if let Some(p) = std::env::var_os("PATH") {
        dirs.extend(std::env::split_paths(&p));
    }
    std::env::join_paths(dirs).unwrap_or_default()
}
