//! `dossier deadline`: when is a request due? (STUB: being written.)

use std::process::ExitCode;

#[derive(Debug, clap::Args)]
pub struct DeadlineArgs {}

pub fn run(_args: DeadlineArgs) -> ExitCode {
    eprintln!("not available yet");
    ExitCode::from(2)
}
