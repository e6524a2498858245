//! The declarative SQL connector (PostgreSQL, MySQL/MariaDB, SQLite). STUB: being written.

use serde::Deserialize;

use super::{Connector, ConnectorError, HealthReport, RecordSink, SourceInfo, Subject, Text, Art15};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SqlSourceConfig {
    pub name: String,
    #[serde(default)]
    pub label: Option<Text>,
    /// Connection URL (`sqlite://`, `postgres://`, `mysql://`). Prefer `url_env` for real databases.
    #[serde(default)]
    pub url: Option<String>,
    /// Name of the environment variable that holds the connection URL.
    #[serde(default)]
    pub url_env: Option<String>,
    pub collections: Vec<SqlCollectionConfig>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SqlCollectionConfig {
    pub name: String,
    #[serde(default)]
    pub label: Option<Text>,
    pub table: String,
    #[serde(default)]
    pub email_columns: Vec<String>,
    #[serde(default)]
    pub via: Option<Via>,
    #[serde(default)]
    pub art15: Art15,
}

/// Rows of this collection whose `column` equals `references` in a row of `collection`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Via {
    pub collection: String,
    pub column: String,
    pub references: String,
}

pub struct SqlConnector {
    info: SourceInfo,
}

impl SqlConnector {
    pub fn new(_config: SqlSourceConfig) -> anyhow::Result<Self> {
        anyhow::bail!("the SQL connector is not written yet")
    }
}

#[async_trait::async_trait]
impl Connector for SqlConnector {
    fn info(&self) -> &SourceInfo {
        &self.info
    }
    async fn check(&self) -> Result<HealthReport, ConnectorError> {
        unimplemented!()
    }
    async fn collect(&self, _subject: &Subject, _sink: &mut dyn RecordSink) -> Result<(), ConnectorError> {
        unimplemented!()
    }
}
