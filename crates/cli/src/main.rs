//! The `mayros` binary: see [`mayros_cli::run`].

fn main() -> std::process::ExitCode {
    mayros_cli::run()
}
