//! A command ready to run ([`Exec`], built from xshell's `cmd!`) and how it ended ([`Output`]).

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use crate::secrets;

/// Decides, per stdout line, that the command has said what we need.
pub type StopFn = dyn Fn(&str) -> bool + Send + Sync;

/// A command ready to run. Build it from `cmd!(sh, "...")` with [`Exec::from`].
pub struct Exec {
    pub program: OsString,
    pub args: Vec<OsString>,
    pub envs: Vec<(OsString, Option<OsString>)>,
    pub cwd: Option<PathBuf>,
    pub timeout: Duration,
    /// Appends stdout and stderr (redacted) here.
    pub log: Option<PathBuf>,
    /// Streams output lines to stderr with this prefix (`-v`).
    pub echo: Option<String>,
    /// Leave stdout out of the log (bulky JSON read by the step, which would bury the log's tail).
    pub quiet_stdout: bool,
    /// Ends the command successfully once a stdout line satisfies this: for tools that keep running after printing
    /// what we need (`minikube service --url` with some drivers).
    pub stop_when: Option<Box<StopFn>>,
    /// Set by the engine to stop this command early (fail-fast after another step failed): it is ended like on a
    /// timeout and the output says `cancelled`.
    pub cancel: Option<Arc<AtomicBool>>,
}

impl From<xshell::Cmd<'_>> for Exec {
    fn from(cmd: xshell::Cmd<'_>) -> Exec {
        Exec::from(Command::from(cmd))
    }
}

impl From<Command> for Exec {
    fn from(c: Command) -> Exec {
        Exec {
            program: c.get_program().to_os_string(),
            args: c.get_args().map(|a| a.to_os_string()).collect(),
            envs: c.get_envs().map(|(k, v)| (k.to_os_string(), v.map(|v| v.to_os_string()))).collect(),
            cwd: c.get_current_dir().map(|d| d.to_path_buf()),
            timeout: Duration::from_secs(600),
            log: None,
            echo: None,
            quiet_stdout: false,
            stop_when: None,
            cancel: None,
        }
    }
}

impl Exec {
    pub fn timeout(mut self, t: Duration) -> Self {
        self.timeout = t;
        self
    }

    /// The std Command: program, arguments, env and directory; stdin closed, output piped, own process group.
    pub(super) fn command(&self) -> Command {
        let mut cmd = Command::new(&self.program);
        cmd.args(&self.args);
        for (k, v) in &self.envs {
            match v {
                Some(v) => cmd.env(k, v),
                None => cmd.env_remove(k),
            };
        }
        if let Some(d) = &self.cwd {
            cmd.current_dir(d);
        }
        cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
        new_process_group(&mut cmd);
        cmd
    }

    pub fn quiet_stdout(mut self) -> Self {
        self.quiet_stdout = true;
        self
    }

    /// The command line as shown in plans, logs and reports: arguments quoted where needed, secrets redacted.
    pub fn display(&self) -> String {
        let mut parts = vec![quote(&self.program.to_string_lossy())];
        let program = std::path::Path::new(&self.program);
        if let Some(name) = program.file_name() {
            parts[0] = quote(&name.to_string_lossy());
        }
        parts.extend(self.args.iter().map(|a| quote(&a.to_string_lossy())));
        secrets::redact_global(&parts.join(" "))
    }
}

fn quote(s: &str) -> String {
    if !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "-_./:=,@+%{}[]".contains(c)) {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

#[derive(Debug, Default, Clone)]
pub struct Output {
    /// Exit code; None when killed by a signal.
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub timed_out: bool,
    pub interrupted: bool,
    /// Ended because the engine stopped the step (fail-fast).
    pub cancelled: bool,
    /// Ended by `stop_when`.
    pub stopped: bool,
    pub duration: Duration,
}

impl Output {
    /// `exit 1`, `killed by a signal`, `timed out`: how the command ended, for messages.
    pub fn ending(&self) -> String {
        if self.cancelled {
            return "stopped".into();
        }
        match (self.timed_out, self.code) {
            (true, _) => "timed out".into(),
            (_, Some(c)) => format!("exit {c}"),
            (_, None) => "killed by a signal".into(),
        }
    }

    pub fn success(&self) -> bool {
        self.code == Some(0) || self.stopped
    }

    /// The last `n` lines of stderr, else stdout: what a failure message shows.
    pub fn tail(&self, n: usize) -> String {
        let src = if self.stderr.trim().is_empty() { &self.stdout } else { &self.stderr };
        tail_lines(src, n)
    }
}

pub fn tail_lines(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

#[cfg(unix)]
pub(super) fn new_process_group(cmd: &mut Command) {
    use std::os::unix::process::CommandExt;
    cmd.process_group(0);
}

#[cfg(not(unix))]
pub(super) fn new_process_group(_cmd: &mut Command) {}
