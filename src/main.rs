//! The `policyvault` binary: parse the command line, set up logging, run the command.

use std::process::ExitCode;

use clap::{CommandFactory, Parser, parser::ValueSource};
use policyvault::cli;
use policyvault::config::{Cli, Command, DbCommand, LogFormat, TokenCommand, UserCommand};
use policyvault::startup::App;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> ExitCode {
    let args = Cli::parse();
    init_logging(args.log_format);
    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Cli) -> anyhow::Result<()> {
    let data_dir = args.data_dir;
    match args.command {
        Command::Serve(settings) => {
            let app = App::build(&data_dir, settings).await?;
            tracing::info!(address = %app.local_addr(), data_dir = %data_dir.display(), "policyvault is listening");
            cli::run_with_signals(app).await
        }
        Command::Demo(settings) => {
            // A fresh directory unless the user named one explicitly.
            let explicit = Cli::command()
                .try_get_matches_from(std::env::args_os())
                .ok()
                .and_then(|m| m.value_source("data_dir"))
                .is_some_and(|s| s != ValueSource::DefaultValue);
            cli::demo(explicit.then_some(data_dir), settings).await
        }
        Command::SimGraph(sim) => cli::sim_graph(sim).await,
        Command::User(UserCommand::Add { email, superadmin }) => cli::user_add(&data_dir, &email, superadmin).await,
        Command::Token(TokenCommand::Create { email, name }) => cli::token_create(&data_dir, &email, &name).await,
        Command::Db(DbCommand::Backup { file }) => cli::db_backup(&data_dir, &file).await,
        Command::Healthcheck { listen } => cli::healthcheck(listen).await,
        Command::Types { json } => cli::types(json),
    }
}

/// Logs go to standard error, so commands like `token create` keep standard output clean.
fn init_logging(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
}
