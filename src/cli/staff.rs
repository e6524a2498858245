//! `dossier staff …`: privacy staff accounts. Passwords are read from standard input, never
//! taken as an argument (arguments end up in shell history and process lists).

use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;

use anyhow::Context;
use clap::Subcommand;

use super::Common;
use crate::config::Settings;
use crate::domain::{EmailAddress, Role};
use crate::services::staff;
use crate::store::Store;

#[derive(Debug, Subcommand)]
pub enum StaffCommand {
    /// Create a staff account (admin, agent or auditor); the password is read from standard input.
    Add {
        #[command(flatten)]
        common: Common,
        #[arg(long)]
        email: String,
        /// admin (staff and settings), agent (works requests), auditor (reads everything, changes nothing).
        #[arg(long)]
        role: String,
        /// The name shown in the workspace and the audit trail; defaults to the address.
        #[arg(long)]
        name: Option<String>,
    },
    /// Set a new password, read from standard input.
    Passwd {
        #[command(flatten)]
        common: Common,
        #[arg(long)]
        email: String,
    },
    /// Disable an account; its sessions end at once.
    Disable {
        #[command(flatten)]
        common: Common,
        #[arg(long)]
        email: String,
    },
    /// Remove an account's second factor (TOTP), e.g. for an admin who lost their authenticator;
    /// its sessions end, and it enrols again at its next login if the workspace requires it.
    ResetTotp {
        #[command(flatten)]
        common: Common,
        #[arg(long)]
        email: String,
    },
}

impl StaffCommand {
    pub fn common(&self) -> &Common {
        match self {
            StaffCommand::Add { common, .. }
            | StaffCommand::Passwd { common, .. }
            | StaffCommand::Disable { common, .. }
            | StaffCommand::ResetTotp { common, .. } => common,
        }
    }
}

fn read_password() -> anyhow::Result<String> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        eprint!("Password (at least 12 characters): ");
        let _ = std::io::stderr().flush();
    }
    let mut line = String::new();
    stdin.lock().read_line(&mut line).context("reading the password from standard input")?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

pub async fn run(command: StaffCommand, settings: Settings) -> anyhow::Result<ExitCode> {
    let store = Store::connect(&settings.database_url).await?;
    store.migrate().await?;
    let now = crate::clock::Clock::now_ms(&crate::clock::SystemClock);
    let parse = |e: &str| EmailAddress::parse(e).map_err(|err| anyhow::anyhow!("{e:?}: {err}"));
    match command {
        StaffCommand::Add { email, role, name, .. } => {
            let email = parse(&email)?;
            let role: Role = role.parse().map_err(|_| anyhow::anyhow!("--role must be admin, agent or auditor"))?;
            let password = read_password()?;
            staff::create(&store, &email, name.as_deref().unwrap_or(email.as_str()), role, &password, now).await?;
            println!("staff account created: {} ({role})", email.masked());
        }
        StaffCommand::Passwd { email, .. } => {
            let email = parse(&email)?;
            staff::set_password(&store, &email, &read_password()?, now).await?;
            println!("password changed for {}", email.masked());
        }
        StaffCommand::Disable { email, .. } => {
            let email = parse(&email)?;
            staff::disable(&store, &email, now).await?;
            println!("account disabled, sessions ended: {}", email.masked());
        }
        StaffCommand::ResetTotp { email, .. } => {
            let email = parse(&email)?;
            staff::reset_totp(&store, &email, now).await?;
            println!("second factor removed, sessions ended: {}", email.masked());
        }
    }
    Ok(ExitCode::SUCCESS)
}
