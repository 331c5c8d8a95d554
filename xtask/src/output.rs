//! How the xtask talks on the terminal, set once from the global flags: `--quiet` and `--color` (with the
//! `NO_COLOR` and `CLICOLOR_FORCE` conventions). The pipeline's progress reads these; commands never parse env
//! vars for it themselves.

use std::sync::OnceLock;

use clap::ValueEnum;

/// `--color`: when the terminal output is colored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Clone, Copy)]
struct Settings {
    quiet: bool,
    color: ColorChoice,
}

static SETTINGS: OnceLock<Settings> = OnceLock::new();

/// Records the flags; called once by main before any command runs.
pub fn init(quiet: bool, color: ColorChoice) {
    let _ = SETTINGS.set(Settings { quiet, color });
}

fn settings() -> Settings {
    SETTINGS.get().copied().unwrap_or(Settings { quiet: false, color: ColorChoice::Auto })
}

/// `-q`: step progress is left out; failures, warnings and results are still printed.
pub fn quiet() -> bool {
    settings().quiet
}

/// Whether output to a stream is colored. `--color always|never` decide; `auto` follows the conventions:
/// `CLICOLOR_FORCE` (set and not `0`) forces color, a non-empty `NO_COLOR` (no-color.org) turns it off, otherwise
/// color only when the stream is a terminal.
pub fn color(is_terminal: bool) -> bool {
    decide(settings().color, is_terminal, |k| std::env::var_os(k).map(|v| v.to_string_lossy().into_owned()))
}

fn decide(choice: ColorChoice, is_terminal: bool, env: impl Fn(&str) -> Option<String>) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            if env("CLICOLOR_FORCE").is_some_and(|v| !v.is_empty() && v != "0") {
                true
            } else if env("NO_COLOR").is_some_and(|v| !v.is_empty()) {
                false
            } else {
                is_terminal
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(vars: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())
    }

    #[test]
    fn auto_follows_the_terminal_and_the_conventions() {
        assert!(decide(ColorChoice::Auto, true, with(&[])));
        assert!(!decide(ColorChoice::Auto, false, with(&[])));
        assert!(!decide(ColorChoice::Auto, true, with(&[("NO_COLOR", "1")])));
        assert!(decide(ColorChoice::Auto, true, with(&[("NO_COLOR", "")])), "an empty NO_COLOR is unset");
        assert!(decide(ColorChoice::Auto, false, with(&[("CLICOLOR_FORCE", "1")])));
        assert!(!decide(ColorChoice::Auto, false, with(&[("CLICOLOR_FORCE", "0")])));
        assert!(decide(ColorChoice::Auto, false, with(&[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")])));
    }

    #[test]
    fn always_and_never_win_over_everything() {
        assert!(decide(ColorChoice::Always, false, with(&[("NO_COLOR", "1")])));
        assert!(!decide(ColorChoice::Never, true, with(&[("CLICOLOR_FORCE", "1")])));
    }
}
