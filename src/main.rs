use clap::Parser;

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,releaseboard::http=warn".into()),
        )
        .init();
    releaseboard::cli::run(releaseboard::cli::Cli::parse())
}
