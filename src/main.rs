use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,releaseboard::http=warn".into()),
        )
        .init();
    match releaseboard::cli::run(releaseboard::cli::Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // The cause chain, one line, no backtrace: these are messages for operators.
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
