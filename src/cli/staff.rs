//! `dossier staff …`: privacy staff accounts. (STUB: being written.)

use clap::Subcommand;

use super::Common;

#[derive(Debug, Subcommand)]
pub enum StaffCommand {
    /// Create a staff account; the password is read from standard input, never an argument.
    Add {
        #[command(flatten)]
        common: Common,
    },
}
