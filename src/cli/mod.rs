//! The `dossier` command line. Each area's subcommands live in their own file.

pub mod audit;
pub mod connectors;
pub mod deadline;
pub mod staff;

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "dossier", version, about = "A self-service portal for data-subject requests (GDPR Art. 15-22)")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, clap::Args)]
pub struct Common {
    /// Configuration file. Without one, Dossier runs the demo.
    #[arg(long, short)]
    pub config: Option<PathBuf>,
    /// Where Dossier keeps its data (demo store, exports, outbox).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the web server and the background workers.
    Serve {
        #[command(flatten)]
        common: Common,
        /// Address to listen on, e.g. 0.0.0.0:8080.
        #[arg(long)]
        listen: Option<SocketAddr>,
    },
    /// Apply database migrations and exit.
    Migrate {
        #[command(flatten)]
        common: Common,
    },
    /// Check that every configured source answers and matches its configuration.
    Connectors {
        #[command(subcommand)]
        command: connectors::ConnectorsCommand,
    },
    /// Compute a request's legal deadlines: due date, last day to announce an extension, extended due date.
    Deadline(deadline::DeadlineArgs),
    /// Manage privacy staff accounts.
    Staff {
        #[command(subcommand)]
        command: staff::StaffCommand,
    },
    /// Check the keyed audit chain (or reseal the chain of an earlier version).
    Audit {
        #[command(subcommand)]
        command: audit::AuditCommand,
    },
    /// Print a new random key for DOSSIER_SECRET_KEY or DOSSIER_EXPORT_KEY.
    Keygen,
}
