use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = ftpload::cli::Cli::parse();
    match ftpload::cli::execute(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ftpload::cli::exit_code_for(&e)
        }
    }
}
