//! The `mayros` command (DESIGN §8): `mayros daemon` runs the engine headless; `mayros cortex`,
//! `mayros config` and `mayros sync` talk to it (or to its files when none runs).
//!
//! Exit codes: 0 ok, 1 failure, 2 usage. Logs go to stderr only; stdout carries results.
#![warn(missing_docs)]

pub mod cli;
pub mod client;
pub mod commands;
pub mod output;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;

/// A failure that has already been reported (e.g. as JSON on stdout): exit 1 without a message.
#[derive(Debug, thiserror::Error)]
#[error("failed")]
pub struct Reported;

/// Parses the command line, runs the command and returns the process exit code.
pub fn run() -> ExitCode {
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        // Prints help or version (exit 0) or the usage error (exit 2).
        Err(e) => e.exit(),
    };
    if let Err(e) = cli.check() {
        e.exit();
    }
    init_logging();
    match commands::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.is::<Reported>() => ExitCode::FAILURE,
        // `mayros cortex list | head`: a closed stdout is not a failure.
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", error_text(&e));
            ExitCode::FAILURE
        }
    }
}

/// Logs (tracing) go to stderr, filtered by `RUST_LOG` (default `info`).
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
}

/// The error and its causes on one line, leaving out causes whose text a message already
/// includes (several error types repeat their source in their own message).
pub fn error_text(e: &anyhow::Error) -> String {
    let mut text = e.to_string();
    for cause in e.chain().skip(1) {
        let cause = cause.to_string();
        if !text.contains(&cause) {
            text.push_str(": ");
            text.push_str(&cause);
        }
    }
    text
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("cannot listen on 127.0.0.1:1 (--api): {source}")]
    struct Repeats {
        source: std::io::Error,
    }

    #[test]
    fn repeated_causes_are_shown_once() {
        let e = anyhow::Error::new(Repeats {
            source: std::io::Error::other("Address in use"),
        });
        assert_eq!(
            error_text(&e),
            "cannot listen on 127.0.0.1:1 (--api): Address in use"
        );
        let e = anyhow::Error::new(std::io::Error::other("inner")).context("outer");
        assert_eq!(error_text(&e), "outer: inner");
    }
}
