//! The declarative SQL connector (PostgreSQL, MySQL/MariaDB, SQLite).
//!
//! A source is described in the configuration, never in code: which tables hold the person's rows
//! (`email_columns`), and which related rows follow from them through a column (`via`). The guide
//! is `docs/connectors.md`; the rules it documents are enforced here:
//!
//! - **Matching.** A root collection keeps the rows where any email column, trimmed and
//!   lower-cased by the database, *equals* the subject's (already normalised) address:
//!   `LOWER(TRIM(col)) = $1`. Never `LIKE`, so `jeanne.martin@example.fr.com` is not a match.
//! - **Address formats.** An email column may hold more than one bare address (`email_formats`:
//!   `address` for `Name <a@x.fr>` or `mailto:`, `list` for `a@x.fr, b@y.fr`; see
//!   [`super::address`]). Such a column is searched with a prefilter the database can answer,
//!   `LOWER(col) LIKE '%' || address || '%' ESCAPE '!'` (`%`, `_` and `!` in the address
//!   escaped), and then **every** row the query returns is checked in Rust with
//!   [`address::holds`] before it goes anywhere (sink, `locate`, key values for later
//!   collections): `annemarie@x.fr` never matches `marie@x.fr`, and MariaDB's accent-folding `LIKE`
//!   never makes `élodie@` match `elodie@`. In a collection that has such a column, a bare column
//!   beside it is checked in Rust too, by the same rule (trimmed, lower-cased, whole); a collection
//!   of bare columns only is matched by the database alone, as above. The columns checked are read
//!   even when `columns` leaves them out of the export (and then removed from it).
//! - **Following references.** A `via` collection keeps the rows whose `column` equals the
//!   `references` column of a row already collected in an *earlier* collection. Config order rules
//!   out cycles; a relation in the data that points back (contact → company → every contact of the
//!   company) is only followed if a collection says so.
//! - **Conditions.** A `where` on a collection or inside a `via` (see [`kit`] and
//!   [`Condition`]) is added to every query of that path with its values bound, cast on
//!   PostgreSQL to the column's type as the prepared statement reports it. A clause on a lookup
//!   becomes `from IN (SELECT column FROM lookup_table WHERE …)`: lookup columns are never
//!   selected, so never exported, and a row without its lookup row meets no such clause.
//! - **Each row once.** Every path of a collection is read with one query per batch of at most
//!   [`MAX_BIND_PARAMS`] distinct parent key values. A row holds one value in its `column`, so it
//!   matches exactly one key of one batch: it is emitted once per path even when several parent
//!   rows (several contacts of one company) lead to it. A collection reached by several paths
//!   (email columns and references, or several references) has a `key`, and a row whose key was
//!   already given is skipped: only those keys are kept, never the rows.
//! - **Parent values.** In `locate`, a rule column `<parent>.<column>` is read from the parent row
//!   the row was reached from (the first parent row holding the referenced value) and given
//!   under that qualified name in [`Located::values`].
//! - **Safety.** Table and column names are checked against `^[A-Za-z_][A-Za-z0-9_]*$` (a table may
//!   be `schema.table`) when the connector is built, and always quoted for the dialect; every
//!   value is a bound parameter.
//! - **Streaming.** Rows go to the [`RecordSink`] as they arrive from the database; only the
//!   distinct key values a later collection needs are kept.
//! - **Types.** Values are decoded from the driver's own type information (see `decode`). On
//!   PostgreSQL, the values compared with a `via` column are cast to its type (a text key against
//!   a `UUID` column).
//!
//! Changing records (erasure, rectification, objection; see [`crate::plans`] and `write`):
//!
//! - **Locating.** `locate` walks the same collections with the same matching as `collect`, reads
//!   only the key columns, the columns later collections reference and those the rules need, and
//!   reports each row of a collection with rules once. A collection without rules is still read
//!   when a later one is reached through it.
//! - **One transaction.** `execute` applies all the steps of one call in one transaction on the
//!   source (SQLite: `BEGIN IMMEDIATE`), committed only if every step succeeded. Updates run first,
//!   in step order; then deletes, collections declared later first (children before parents).
//! - **One record per step.** A step finds its record by its configured `key`
//!   (`WHERE k1 = $1 AND k2 = $2`). A key that matches several rows is a configuration error and
//!   rolls the whole call back. Before connecting, every step is checked against the current
//!   configuration: its collection exists, its key is the configured one, and it writes only
//!   columns the rules name (never a key column).
//! - **Updates** read the current values (`FOR UPDATE` on PostgreSQL and MySQL), compute the new
//!   ones (mask and hash need the current value), write them, and read them back into
//!   [`StepOutcome::after`]. A record that is gone is reported (`found: false`), nothing written.
//!   **Deletes** report whether a row was deleted; none means an earlier run already did it.
//! - **Values are bound, identifiers quoted.** On PostgreSQL, which refuses text for a `DATE`,
//!   `BOOL` or `UUID` column, each value is bound as text and cast to the column's type as the
//!   prepared statement reports it (`CAST($1 AS DATE)`), for written values and key comparisons
//!   alike; a type name that is not plain letters, digits, `_`, spaces and `[]` is not cast. On
//!   MySQL and SQLite, integers are bound as integers, booleans as `1`/`0`, the rest as text.
//! - **Addresses.** `list_emails` streams every address of the root collections' email columns,
//!   normalised as matching compares them, de-duplicated by the database; a column with an
//!   address format is read by distinct value and its addresses taken out by the parser.
//! - **Errors** say what to change in words a privacy officer understands (a foreign key that
//!   refuses a delete, a NOT NULL column set to null, a value too long or of the wrong type, a
//!   missing permission) and never quote the database's message, which may hold values.

mod decode;
#[cfg(test)]
mod preset_tests;
#[cfg(test)]
mod tests;
mod write;

use std::collections::{BTreeSet, HashMap, HashSet};
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use futures_util::stream::{BoxStream, StreamExt};
use serde::Deserialize;
use sqlx::mysql::{MySqlConnectOptions, MySqlPool, MySqlPoolOptions};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions};
use sqlx::{AssertSqlSafe, Column, Executor, Row, SqlSafeStr, Statement, TypeInfo};

use super::address::{self, AddressFormat};
use super::kit::{self, Graph, Node, Spec, Supports};
use super::{
    Art15, CollectionInfo, Connector, ConnectorError, ConnectorErrorKind, HealthReport, Record, RecordSink, SourceInfo,
    Subject, Text,
};
use crate::domain::condition::{Clause, Condition, Literal, Test};
use crate::plans::anonymise::Pseudonymiser;
use crate::plans::{ErasureRule, Located, ObjectionRule, RectifiableField, Rules, Step, StepOutcome};

/// The most values bound in one `IN (…)` list; larger key sets are queried in batches.
pub const MAX_BIND_PARAMS: usize = 500;

/// How long connecting (or waiting for a free connection) may take before the source is reported
/// unreachable.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The connection URL schemes the connector accepts.
pub const ACCEPTED_SCHEMES: &str = "postgres://, postgresql://, mysql://, mariadb://, sqlite:";

/// `[[sources]]` with `kind = "sql"`.
#[derive(Clone, Deserialize)]
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

/// The URL may hold a password: `Debug` shows only whether one is set.
impl fmt::Debug for SqlSourceConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqlSourceConfig")
            .field("name", &self.name)
            .field("label", &self.label)
            .field("url", &self.url.as_ref().map(|_| "<redacted>"))
            .field("url_env", &self.url_env)
            .field("collections", &self.collections)
            .finish()
    }
}

/// `[[sources.collections]]`: one table, reached by email (`email_columns`) or from an earlier
/// collection (`via`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SqlCollectionConfig {
    pub name: String,
    #[serde(default)]
    pub label: Option<Text>,
    /// `table` or `schema.table`.
    pub table: String,
    /// A root collection: the rows where any of these columns holds the subject's email.
    #[serde(default)]
    pub email_columns: Vec<String>,
    /// Email columns that already hold the address trimmed and lower-cased, such as a generated
    /// column `LOWER(TRIM(email))`: compared as they are, so a plain index on them serves the
    /// search. MariaDB cannot index the expression `LOWER(TRIM(email))` itself; there, index a
    /// generated column and list it here.
    #[serde(default)]
    pub normalised_email_columns: Vec<String>,
    /// How the values of some `email_columns` hold addresses, by column:
    /// `{ from = "address", cc = "list" }` (see [`AddressFormat`]). A column not named here holds
    /// one bare address.
    #[serde(default)]
    pub email_formats: std::collections::BTreeMap<String, String>,
    /// A related collection: the rows reached from an earlier collection, through one reference
    /// or several (`via = [{ … }, { … }]`). With `email_columns` too, or several references, the
    /// collection needs a `key`: each record is given once, whichever paths lead to it.
    #[serde(default)]
    pub via: Option<Vias>,
    /// A condition every row of the collection must meet (`where = "model = 'res.partner'"`).
    #[serde(default, rename = "where")]
    pub condition: Option<String>,
    /// Rows of other tables joined one per row, readable in conditions as `name.column`; never
    /// exported.
    #[serde(default)]
    pub lookups: std::collections::BTreeMap<String, Lookup>,
    /// The columns to export, in this order. Default: every column of the table.
    #[serde(default)]
    pub columns: Option<Vec<String>>,
    /// Text columns that hold JSON documents (SQLite, MariaDB `JSON`, which is `LONGTEXT`): their
    /// value is embedded as JSON instead of a string. A value that is not valid JSON stays a
    /// string. Native `JSON`/`JSONB` columns need not be listed.
    #[serde(default)]
    pub json_columns: Vec<String>,
    #[serde(default)]
    pub art15: Art15,
    /// The columns that identify one record (usually the primary key); needed by every rule that
    /// changes records.
    #[serde(default)]
    pub key: Vec<String>,
    /// What erasing one of the person's records does.
    #[serde(default)]
    pub erasure: Option<ErasureRule>,
    /// The columns a person may correct.
    #[serde(default)]
    pub rectifiable: Vec<RectifiableField>,
    /// What objecting to a purpose writes into the person's records.
    #[serde(default)]
    pub objections: Vec<ObjectionRule>,
}

pub use super::kit::{Lookup, Via, Vias};

/// The SQL dialect, chosen by the URL scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Postgres,
    MySql,
    Sqlite,
}

impl Dialect {
    pub fn from_url(url: &str) -> anyhow::Result<Self> {
        let scheme = url.split_once(':').map(|(s, _)| s.to_ascii_lowercase());
        match scheme.as_deref() {
            Some("postgres" | "postgresql") => Ok(Dialect::Postgres),
            Some("mysql" | "mariadb") => Ok(Dialect::MySql),
            Some("sqlite") => Ok(Dialect::Sqlite),
            Some(other) => {
                anyhow::bail!("unsupported database URL scheme `{other}:`; accepted schemes: {ACCEPTED_SCHEMES}")
            }
            None => anyhow::bail!("the database URL has no scheme; accepted schemes: {ACCEPTED_SCHEMES}"),
        }
    }

    /// Quotes a validated identifier (`name` or `schema.name`).
    fn quote(self, ident: &str) -> String {
        // SQLite takes a double-quoted name that matches no column for a string literal (a
        // missing `"email"` column would silently compare the text 'email'); backquotes are
        // always identifiers there.
        let q = match self {
            Dialect::MySql | Dialect::Sqlite => '`',
            Dialect::Postgres => '"',
        };
        ident
            .split('.')
            .map(|part| {
                let escaped = part.replace(q, &format!("{q}{q}"));
                format!("{q}{escaped}{q}")
            })
            .collect::<Vec<_>>()
            .join(".")
    }

    /// The placeholder for the `n`-th bound value (1-based).
    fn placeholder(self, n: usize) -> String {
        match self {
            Dialect::Postgres => format!("${n}"),
            Dialect::MySql | Dialect::Sqlite => "?".to_string(),
        }
    }

    /// Whether the database compares column names case-insensitively.
    fn case_insensitive_columns(self) -> bool {
        !matches!(self, Dialect::Postgres)
    }
}

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && s.len() <= 64
}

/// Whether a type name the database reports may be written into a `CAST` as it is: letters,
/// digits, `_`, spaces (`DOUBLE PRECISION`) and `[]` (arrays). Not PostgreSQL's `CHAR` and `BIT`
/// (reported for `char(n)` and `bit(n)`): `CAST($1 AS CHAR)` means `char(1)` and cuts every value
/// to one character; bound as text, such a value compares and is written as it is.
fn castable(type_name: &str) -> bool {
    let sized = ["CHAR", "CHAR[]", "BIT", "BIT[]"].iter().any(|t| type_name.eq_ignore_ascii_case(t));
    !sized
        && type_name.starts_with(|c: char| c.is_ascii_alphabetic())
        && type_name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | ' ' | '[' | ']'))
}

#[cfg(test)]
#[test]
fn fixed_length_types_are_never_cast_to_one_character() {
    assert!(!castable("CHAR") && !castable("char[]") && !castable("BIT"));
    assert!(castable("BPCHAR") && castable("VARCHAR") && castable("DOUBLE PRECISION") && castable("UUID"));
}

fn check_column(what: &str, collection: &str, col: &str) -> anyhow::Result<()> {
    anyhow::ensure!(
        is_identifier(col),
        "collection `{collection}`: {what} `{col}` is not a valid column name \
         (letters, digits and `_`, not starting with a digit)"
    );
    Ok(())
}

fn check_table(collection: &str, table: &str) -> anyhow::Result<()> {
    let parts: Vec<&str> = table.split('.').collect();
    anyhow::ensure!(
        (1..=2).contains(&parts.len()) && parts.iter().all(|p| is_identifier(p)),
        "collection `{collection}`: `{table}` is not a valid table name \
         (`table` or `schema.table`, letters, digits and `_`)"
    );
    Ok(())
}

/// A column searched for the subject's address.
#[derive(Debug, Clone)]
struct EmailColumn {
    name: String,
    /// The column already holds `LOWER(TRIM(address))`: compared without the functions.
    normalised: bool,
    /// How its values hold addresses; all but [`AddressFormat::Bare`] are checked in Rust.
    format: AddressFormat,
}

/// Whether any of `cols` holds `email` in `record`, each read as its format says: the check every
/// row of a collection with an embedded-address column passes before it is used.
fn holds_subject(record: &Record, cols: &[EmailColumn], email: &str, dialect: Dialect) -> bool {
    cols.iter().any(|c| match lookup(record, &c.name, dialect) {
        Some(serde_json::Value::String(v)) => address::holds(v, c.format, email),
        _ => false,
    })
}

/// `%address%` for `LIKE … ESCAPE '!'`, with the pattern characters of the address escaped.
fn contains_pattern(email: &str) -> String {
    let mut out = String::with_capacity(email.len() + 2);
    out.push('%');
    for c in email.chars() {
        if matches!(c, '!' | '%' | '_') {
            out.push('!');
        }
        out.push(c);
    }
    out.push('%');
    out
}

/// A validated collection, ready to query.
#[derive(Debug, Clone)]
struct Plan {
    name: String,
    table: String,
    /// The columns searched for the subject's address; empty when only references lead here.
    email: Vec<EmailColumn>,
    /// How the collection is reached and which of its rows count (see [`kit`]).
    node: Node,
    /// Columns `locate` reads because a later collection's rules need their values
    /// (`<this collection>.<column>`); kept per `keys` value.
    carried: Vec<String>,
    /// `None`: every column (`SELECT *`).
    columns: Option<Vec<String>>,
    /// Columns selected only because a later collection needs their values; not exported.
    hidden: Vec<String>,
    /// Columns whose distinct values later collections need.
    keys: Vec<String>,
    json_columns: HashSet<String>,
    /// Key, erasure, rectification and objection rules.
    rules: Rules,
    /// Whether `locate` reads this collection: it has rules, or a collection `locate` reads is
    /// reached through it.
    located: bool,
}

/// What a traversal of the subject's rows reads from each collection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reading {
    /// The exported columns (`collect`).
    Export,
    /// The columns the rules need (`locate`); collections `locate` does not need are skipped.
    Locate,
}

impl Plan {
    fn select_list(&self, dialect: Dialect) -> String {
        match &self.columns {
            None => "*".to_string(),
            Some(cols) => {
                cols.iter().chain(self.hidden.iter()).map(|c| dialect.quote(c)).collect::<Vec<_>>().join(", ")
            }
        }
    }

    /// The select list for `reading`; `None` when this collection need not be read.
    fn select_for(&self, reading: Reading, dialect: Dialect) -> Option<String> {
        match reading {
            Reading::Export => Some(self.select_list(dialect)),
            Reading::Locate if !self.located => None,
            Reading::Locate => {
                let mut cols: Vec<&str> = self.keys.iter().map(String::as_str).collect();
                cols.extend(self.rules.key.iter().map(String::as_str));
                cols.extend(self.rules.row_columns());
                cols.extend(self.checked_columns().iter().map(|c| c.name.as_str()));
                cols.extend(self.carried.iter().map(String::as_str));
                // The references a row was reached by, to find its parent's values.
                if !self.node.parent_values.is_empty() {
                    cols.extend(self.node.edges.iter().map(|e| e.column.as_str()));
                }
                let mut seen = HashSet::new();
                cols.retain(|c| seen.insert(*c));
                // A rule that needs no column (`shared` without a key) still counts the rows.
                if cols.is_empty() {
                    return Some("1".to_string());
                }
                Some(cols.iter().map(|c| dialect.quote(c)).collect::<Vec<_>>().join(", "))
            }
        }
    }

    /// The email columns whose rows are checked in Rust: all of them when one holds embedded
    /// addresses, none otherwise (the database's equality is then the whole match).
    fn checked_columns(&self) -> &[EmailColumn] {
        match &self.email {
            cols if cols.iter().any(|c| c.format.is_embedded()) => cols,
            _ => &[],
        }
    }

    /// Every column this collection's configuration names on its own table.
    fn configured_columns(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        out.extend(self.email.iter().map(|c| c.name.as_str()));
        out.extend(self.node.edges.iter().map(|e| e.column.as_str()));
        out.extend(self.node.lookups.values().map(|l| l.from.as_str()));
        if let Some(cols) = &self.columns {
            out.extend(cols.iter().map(String::as_str));
        }
        out.extend(self.hidden.iter().map(String::as_str));
        out.extend(self.keys.iter().map(String::as_str));
        out.extend(self.carried.iter().map(String::as_str));
        out.extend(self.json_columns.iter().map(String::as_str));
        out.extend(self.rules.columns().into_iter().filter(|c| !kit::is_qualified(c)));
        let mut seen = HashSet::new();
        out.retain(|c| seen.insert(*c));
        out
    }
}

/// A value bound into a query.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Bind {
    Int(i64),
    Text(String),
    /// SQL `NULL` (only ever written, never a key to look up).
    Null,
}

impl Bind {
    /// The key a JSON value stands for, if it can be one (integers and text; NULL never matches).
    fn from_json(v: &serde_json::Value) -> Option<Bind> {
        match v {
            serde_json::Value::Number(n) => match n.as_i64() {
                Some(i) => Some(Bind::Int(i)),
                None => Some(Bind::Text(n.to_string())),
            },
            serde_json::Value::String(s) => Some(Bind::Text(s.clone())),
            serde_json::Value::Bool(b) => Some(Bind::Int(i64::from(*b))),
            _ => None,
        }
    }
}

/// `sql` with `binds` bound in order, for any of the three databases.
fn query_with<DB: sqlx::Database>(sql: String, binds: Vec<Bind>) -> sqlx::query::Query<'static, DB, DB::Arguments>
where
    for<'t> i64: sqlx::Encode<'t, DB> + sqlx::Type<DB>,
    for<'t> String: sqlx::Encode<'t, DB> + sqlx::Type<DB>,
    for<'t> Option<String>: sqlx::Encode<'t, DB> + sqlx::Type<DB>,
{
    let mut q = sqlx::query(AssertSqlSafe(sql));
    for b in binds {
        q = match b {
            Bind::Int(i) => q.bind(i),
            Bind::Text(s) => q.bind(s),
            Bind::Null => q.bind(None::<String>),
        };
    }
    q
}

enum Pool {
    Postgres(PgPool),
    MySql(MySqlPool),
    Sqlite(SqlitePool),
}

/// The distinct values of a collection's columns that later collections reference, gathered
/// while its rows stream past.
type KeyValues = HashMap<String, BTreeSet<Bind>>;

/// What a traversal keeps of one collection for the collections after it.
#[derive(Debug, Default)]
struct Found {
    keys: KeyValues,
    /// In `locate`: per referenced column and value, the `carried` values of the first row that
    /// holds it (what later collections' rules read as `<collection>.<column>`).
    carry: HashMap<String, HashMap<Bind, Record>>,
}

/// The state of a traversal while one collection is read.
struct Reach<'a> {
    email: &'a str,
    reading: Reading,
    /// The collections already read.
    done: &'a [Found],
    mine: &'a mut Found,
    /// The keys already given, in a collection reached by several paths.
    seen: HashSet<Vec<String>>,
}

/// Why reading rows stopped.
#[derive(Debug)]
enum FetchError {
    Sql(sqlx::Error),
    Decode(decode::DecodeError),
}

macro_rules! fetch_records {
    ($pool:expr, $sql:expr, $binds:expr, $convert:path) => {{
        query_with($sql, $binds)
            .fetch($pool)
            .map(|r| match r {
                Ok(row) => $convert(&row).map_err(FetchError::Decode),
                Err(e) => Err(FetchError::Sql(e)),
            })
            .boxed()
    }};
}

impl Pool {
    /// Runs `sql` and streams each row as a [`Record`], decoded as it arrives.
    fn fetch(&self, sql: String, binds: Vec<Bind>) -> BoxStream<'_, Result<Record, FetchError>> {
        match self {
            Pool::Postgres(p) => fetch_records!(p, sql, binds, decode::pg_record),
            Pool::MySql(p) => fetch_records!(p, sql, binds, decode::mysql_record),
            Pool::Sqlite(p) => fetch_records!(p, sql, binds, decode::sqlite_record),
        }
    }

    /// The column names and type names of a query, from the prepared statement (nothing is
    /// executed).
    async fn columns_of(&self, sql: String) -> Result<Vec<(String, String)>, sqlx::Error> {
        fn names<S: Statement>(s: &S) -> Vec<(String, String)> {
            s.columns().iter().map(|c| (c.name().to_string(), c.type_info().name().to_string())).collect()
        }
        Ok(match self {
            Pool::Postgres(p) => names(&p.prepare(AssertSqlSafe(sql).into_sql_str()).await?),
            Pool::MySql(p) => names(&p.prepare(AssertSqlSafe(sql).into_sql_str()).await?),
            Pool::Sqlite(p) => names(&p.prepare(AssertSqlSafe(sql).into_sql_str()).await?),
        })
    }
}

/// Connection settings, parsed once; the URL (it may hold a password) is not kept.
#[derive(Clone)]
enum Target {
    Postgres(PgConnectOptions),
    MySql(MySqlConnectOptions),
    Sqlite(SqliteConnectOptions),
}

impl Target {
    fn parse(url: &str) -> anyhow::Result<(Target, String)> {
        let dialect = Dialect::from_url(url)?;
        let bad = |e: sqlx::Error| anyhow::anyhow!("the database URL is not valid: {e}");
        Ok(match dialect {
            Dialect::Postgres => {
                let o = PgConnectOptions::from_str(url).map_err(bad)?.application_name("dossier");
                let db = o.get_database().unwrap_or("postgres").to_string();
                (Target::Postgres(o), db)
            }
            Dialect::MySql => {
                let url = match url.split_once(':') {
                    Some((s, rest)) if s.eq_ignore_ascii_case("mariadb") => format!("mysql:{rest}"),
                    _ => url.to_string(),
                };
                let o = MySqlConnectOptions::from_str(&url).map_err(bad)?;
                let db = o.get_database().unwrap_or("(default)").to_string();
                (Target::MySql(o), db)
            }
            Dialect::Sqlite => {
                // A connector reads someone else's database: it never creates one, even if the
                // URL says `mode=rwc`, so a typo in a path is an error, not an empty database.
                let o = SqliteConnectOptions::from_str(url).map_err(bad)?.create_if_missing(false);
                let db = o
                    .get_filename()
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_else(|| "sqlite".to_string());
                (Target::Sqlite(o), db)
            }
        })
    }

    fn dialect(&self) -> Dialect {
        match self {
            Target::Postgres(_) => Dialect::Postgres,
            Target::MySql(_) => Dialect::MySql,
            Target::Sqlite(_) => Dialect::Sqlite,
        }
    }

    /// Opens one connection first, so that a refused connection or bad credentials are reported
    /// at once and precisely (a pool would keep retrying until its timeout), then keeps a pool.
    async fn connect(&self) -> Result<Pool, sqlx::Error> {
        async fn probe<C: sqlx::Connection>(options: &C::Options) -> Result<(), sqlx::Error> {
            match tokio::time::timeout(CONNECT_TIMEOUT, C::connect_with(options)).await {
                Ok(connection) => connection?.close().await,
                Err(_) => Err(sqlx::Error::PoolTimedOut),
            }
        }
        Ok(match self {
            Target::Postgres(o) => {
                probe::<sqlx::PgConnection>(o).await?;
                Pool::Postgres(
                    PgPoolOptions::new()
                        .max_connections(4)
                        .acquire_timeout(CONNECT_TIMEOUT)
                        .connect_lazy_with(o.clone()),
                )
            }
            Target::MySql(o) => {
                probe::<sqlx::MySqlConnection>(o).await?;
                Pool::MySql(
                    MySqlPoolOptions::new()
                        .max_connections(4)
                        .acquire_timeout(CONNECT_TIMEOUT)
                        .connect_lazy_with(o.clone()),
                )
            }
            Target::Sqlite(o) => {
                probe::<sqlx::SqliteConnection>(o).await?;
                Pool::Sqlite(
                    SqlitePoolOptions::new()
                        .max_connections(4)
                        .acquire_timeout(CONNECT_TIMEOUT)
                        .connect_lazy_with(o.clone()),
                )
            }
        })
    }
}

/// What the connector was doing when the database answered with an error.
#[derive(Clone, Copy)]
enum Doing<'a> {
    Connecting,
    Reading {
        collection: &'a str,
        table: &'a str,
    },
    /// Changing a record: deleting it (`delete`), or reading and updating it.
    Writing {
        collection: &'a str,
        table: &'a str,
        delete: bool,
    },
    /// Committing the transaction of `execute`.
    Committing,
}

impl<'a> Doing<'a> {
    /// The collection and table concerned, if any.
    fn place(self) -> Option<(&'a str, &'a str)> {
        match self {
            Doing::Reading { collection, table } | Doing::Writing { collection, table, .. } => {
                Some((collection, table))
            }
            Doing::Connecting | Doing::Committing => None,
        }
    }

    /// What failed, for a message: "reading table t (collection c) in database d (source s)".
    fn failed(self, at: &str) -> String {
        match self {
            Doing::Connecting => format!("connecting to {at} failed"),
            Doing::Reading { collection, table } => {
                format!("reading table {table} (collection {collection}) in {at} failed")
            }
            Doing::Writing { collection, table, .. } => {
                format!("changing table {table} (collection {collection}) in {at} failed")
            }
            Doing::Committing => format!("saving the changes in {at} failed"),
        }
    }
}

/// What a database error means for the person who fixes it.
#[derive(Debug, PartialEq, Eq)]
enum What {
    Credentials,
    NoDatabase,
    NoTable,
    NoColumn,
    Denied,
    Busy,
    CannotOpen,
    /// A foreign key refused the change.
    ForeignKey,
    /// A column that may not be NULL would be.
    NotNull,
    /// A unique constraint refused the new value.
    Unique,
    /// A new value is longer than its column allows.
    TooLong,
    /// A new value does not fit its column's type.
    BadValue,
    /// A stored text value is not valid in the connection's encoding (UTF-8), so the server will
    /// not send it (PostgreSQL: an `SQL_ASCII` database holding other bytes).
    NotText,
    Other,
}

impl What {
    fn of(dialect: Dialect, dbe: &dyn sqlx::error::DatabaseError, writing: bool) -> What {
        let code = dbe.code().map(|c| c.into_owned()).unwrap_or_default();
        match dialect {
            Dialect::Postgres => match code.as_str() {
                "28P01" | "28000" => What::Credentials,
                "3D000" => What::NoDatabase,
                "42P01" | "3F000" => What::NoTable,
                "42703" => What::NoColumn,
                "42501" | "25006" => What::Denied,
                "57P01" | "57P02" | "57P03" | "53300" | "40001" | "40P01" | "55P03" => What::Busy,
                "23503" => What::ForeignKey,
                "23502" => What::NotNull,
                "23505" => What::Unique,
                "22001" => What::TooLong,
                "22P02" | "22007" | "22008" | "22003" | "22018" => What::BadValue,
                "22021" | "22P05" if !writing => What::NotText,
                _ => What::Other,
            },
            Dialect::MySql => {
                let number = dbe.try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>().map(|e| e.number());
                match (number, code.as_str()) {
                    (Some(1045), _) | (_, "28000") => What::Credentials,
                    (Some(1049), _) => What::NoDatabase,
                    (Some(1146), _) | (_, "42S02") => What::NoTable,
                    (Some(1054), _) | (_, "42S22") => What::NoColumn,
                    (Some(1142 | 1143 | 1044 | 1290 | 1792), _) => What::Denied,
                    (Some(1040 | 1203 | 1205 | 1213), _) => What::Busy,
                    (Some(1451 | 1452 | 1216 | 1217), _) => What::ForeignKey,
                    (Some(1048), _) => What::NotNull,
                    (Some(1062), _) => What::Unique,
                    (Some(1406), _) => What::TooLong,
                    (Some(1292 | 1366 | 1264 | 1265), _) => What::BadValue,
                    _ => What::Other,
                }
            }
            Dialect::Sqlite => {
                let msg = dbe.message().to_ascii_lowercase();
                if msg.contains("no such table") {
                    return What::NoTable;
                }
                if msg.contains("no such column") {
                    return What::NoColumn;
                }
                // Extended result codes first, then the primary code (the low byte).
                match code.parse::<i32>() {
                    Ok(787) => What::ForeignKey,
                    Ok(1299) => What::NotNull,
                    Ok(2067 | 1555) => What::Unique,
                    Ok(c) => match c & 0xff {
                        14 | 26 => What::CannotOpen,
                        5 | 6 => What::Busy,
                        8 | 23 => What::Denied,
                        19 if msg.contains("foreign key constraint failed") => What::ForeignKey,
                        19 if msg.contains("not null constraint failed") => What::NotNull,
                        19 if msg.contains("unique constraint failed") => What::Unique,
                        _ => What::Other,
                    },
                    Err(_) if msg.contains("foreign key constraint failed") => What::ForeignKey,
                    Err(_) => What::Other,
                }
            }
        }
    }
}

/// The declarative SQL connector. Built from [`SqlSourceConfig`] (validated by [`SqlConnector::new`]);
/// connects on first use and keeps a small pool afterwards.
pub struct SqlConnector {
    info: SourceInfo,
    target: Target,
    dialect: Dialect,
    /// The database's name for messages (PostgreSQL/MySQL database, SQLite file stem).
    database: String,
    plans: Vec<Plan>,
    pool: tokio::sync::OnceCell<Pool>,
}

impl fmt::Debug for SqlConnector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SqlConnector")
            .field("source", &self.info.name)
            .field("dialect", &self.dialect)
            .field("database", &self.database)
            .finish_non_exhaustive()
    }
}

impl SqlConnector {
    /// Validates the configuration (identifiers, references, URL) without connecting.
    ///
    /// With `url_env`, the variable is read here: a missing variable is a configuration error
    /// reported at start, not at the first request.
    pub fn new(config: SqlSourceConfig) -> anyhow::Result<Self> {
        let source = &config.name;
        anyhow::ensure!(!source.trim().is_empty(), "an SQL source has an empty `name`");
        let url = match (&config.url, &config.url_env) {
            (Some(url), None) => url.clone(),
            (None, Some(var)) => std::env::var(var).map_err(|_| {
                anyhow::anyhow!(
                    "source `{source}`: the environment variable `{var}` named by `url_env` is not set \
                     (or not valid UTF-8)"
                )
            })?,
            (Some(_), Some(_)) => anyhow::bail!("source `{source}`: give either `url` or `url_env`, not both"),
            (None, None) => anyhow::bail!(
                "source `{source}`: a connection is needed: set `url_env` to the name of an \
                 environment variable holding the database URL (or `url`)"
            ),
        };
        let (target, database) = Target::parse(url.trim()).map_err(|e| anyhow::anyhow!("source `{source}`: {e}"))?;
        let dialect = target.dialect();
        anyhow::ensure!(!config.collections.is_empty(), "source `{source}` has no `[[sources.collections]]`");

        let emails: Vec<Vec<&str>> = config
            .collections
            .iter()
            .map(|c| c.email_columns.iter().chain(&c.normalised_email_columns).map(String::as_str).collect())
            .collect();
        let rules: Vec<Rules> = config
            .collections
            .iter()
            .map(|c| Rules {
                key: c.key.clone(),
                erasure: c.erasure.clone(),
                rectifiable: c.rectifiable.clone(),
                objections: c.objections.clone(),
            })
            .collect();
        let specs: Vec<Spec<'_>> = config
            .collections
            .iter()
            .zip(&emails)
            .zip(&rules)
            .map(|((c, email_columns), rules)| Spec {
                name: &c.name,
                email_columns,
                via: c.via.as_ref(),
                condition: c.condition.as_deref(),
                lookups: &c.lookups,
                rules,
            })
            .collect();
        let graph = Graph::build(source, &specs, Supports { lookups: true }, &is_identifier)?;

        let mut plans: Vec<Plan> = Vec::with_capacity(config.collections.len());
        let mut infos = Vec::with_capacity(config.collections.len());
        for ((c, node), rules) in config.collections.iter().zip(graph.nodes.iter().cloned()).zip(rules) {
            let plan = Self::plan(c, node, rules).map_err(|e| anyhow::anyhow!("source `{source}`: {e}"))?;
            for edge in &plan.node.edges {
                let references = &edge.references;
                let parent = &mut plans[edge.parent];
                if !parent.keys.contains(references) {
                    parent.keys.push(references.clone());
                }
                let exported = match &parent.columns {
                    None => true,
                    Some(cols) => cols.contains(references),
                };
                if !exported && !parent.hidden.contains(references) {
                    parent.hidden.push(references.clone());
                }
            }
            for pv in &plan.node.parent_values {
                let parent = &mut plans[pv.parent];
                if !parent.carried.contains(&pv.column) {
                    parent.carried.push(pv.column.clone());
                }
            }
            infos.push(CollectionInfo {
                rules: plan.rules.clone(),
                name: c.name.clone(),
                label: c.label.clone().unwrap_or_else(|| Text::Plain(c.name.clone())),
                art15: c.art15.clone(),
            });
            plans.push(plan);
        }

        let info = SourceInfo {
            name: config.name.clone(),
            label: config.label.clone().unwrap_or_else(|| Text::Plain(config.name.clone())),
            kind: "sql",
            collections: infos,
        };
        // `locate` reads the collections with rules and those they are reached through.
        for (plan, located) in plans.iter_mut().zip(graph.located(&info)) {
            plan.located = located;
        }
        kit::ensure_nothing_changed_below_shared(&info, &graph.parents())?;
        Ok(Self { info, target, dialect, database, plans, pool: tokio::sync::OnceCell::new() })
    }

    /// The SQL side of one collection the graph has validated: table, columns, formats, rules.
    fn plan(c: &SqlCollectionConfig, node: Node, rules: Rules) -> anyhow::Result<Plan> {
        let name = &c.name;
        check_table(name, &c.table)?;
        for (lname, l) in &c.lookups {
            let parts: Vec<&str> = l.table.split('.').collect();
            anyhow::ensure!(
                (1..=2).contains(&parts.len()) && parts.iter().all(|p| is_identifier(p)),
                "collection `{name}`: `lookups.{lname}.table` `{}` is not a valid table name \
                 (`table` or `schema.table`, letters, digits and `_`)",
                l.table
            );
        }
        let by_email = !c.email_columns.is_empty() || !c.normalised_email_columns.is_empty();
        anyhow::ensure!(
            by_email || c.email_formats.is_empty(),
            "collection `{name}`: `email_formats` applies to `email_columns`, and this collection has none"
        );
        let mut email = Vec::new();
        if by_email {
            let plain_names: Vec<&str> = c.email_columns.iter().map(String::as_str).collect();
            let formats = address::formats_of(name, &plain_names, &c.email_formats, |a, b| a == b)?;
            let plain = c.email_columns.iter().zip(formats).map(|(col, f)| (col, false, f));
            let normalised = c.normalised_email_columns.iter().map(|col| (col, true, AddressFormat::Bare));
            for (col, normalised, format) in plain.chain(normalised) {
                check_column("email column", name, col)?;
                email.push(EmailColumn { name: col.clone(), normalised, format });
            }
        }
        if let Some(cols) = &c.columns {
            anyhow::ensure!(!cols.is_empty(), "collection `{name}`: `columns` is empty");
            for col in cols {
                check_column("column", name, col)?;
            }
        }
        for col in &c.json_columns {
            check_column("JSON column", name, col)?;
        }
        rules.validate(name)?;
        let mut matching: Vec<&str> =
            c.email_columns.iter().chain(&c.normalised_email_columns).map(String::as_str).collect();
        matching.extend(node.edges.iter().map(|e| e.column.as_str()));
        rules.ensure_matching_untouched(name, &matching)?;
        for col in &rules.key {
            check_column("`key` column", name, col)?;
        }
        // A qualified name (`orders.ordered_on`) was checked by the graph.
        for col in rules.columns().into_iter().filter(|c| !kit::is_qualified(c)) {
            check_column("column named by a rule", name, col)?;
        }
        // Columns checked in Rust are read even when the export leaves them out, and so is the
        // key of a collection reached by several paths (rows are merged by it).
        let mut hidden: Vec<String> = match &c.columns {
            Some(exported) if email.iter().any(|c| c.format.is_embedded()) => {
                email.iter().filter(|c| !exported.contains(&c.name)).map(|c| c.name.clone()).collect()
            }
            _ => Vec::new(),
        };
        if let (true, Some(exported)) = (node.merged, &c.columns) {
            for k in &rules.key {
                if !exported.contains(k) && !hidden.contains(k) {
                    hidden.push(k.clone());
                }
            }
        }
        Ok(Plan {
            name: name.clone(),
            table: c.table.clone(),
            email,
            node,
            carried: Vec::new(),
            columns: c.columns.clone(),
            hidden,
            keys: Vec::new(),
            json_columns: c.json_columns.iter().cloned().collect(),
            rules,
            located: false,
        })
    }

    /// The SQL dialect of this source.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// The email columns whose search reads the whole table, as `(collection, column)`: the
    /// database's own planner is asked about the exact condition `collect` uses. SQLite:
    /// `EXPLAIN QUERY PLAN` shows a `SCAN`; MySQL/MariaDB: `EXPLAIN` lists no `possible_keys`;
    /// PostgreSQL: with sequential scans priced out (`enable_seqscan = off`, in a transaction
    /// rolled back), the plan still holds a `Seq Scan`. Changes nothing.
    pub async fn unindexed_email_columns(&self) -> Result<Vec<(String, String)>, ConnectorError> {
        let pool = self.pool().await?;
        let mut out = Vec::new();
        for plan in &self.plans {
            let doing = Doing::Reading { collection: &plan.name, table: &plan.table };
            for col in &plan.email {
                let (cond, binds) = self.where_email(std::slice::from_ref(col), "");
                let select = format!("SELECT 1 FROM {} WHERE {cond}", self.dialect.quote(&plan.table));
                let scans = self.scans(pool, select, binds, doing).await?;
                if scans {
                    out.push((plan.name.clone(), col.name.clone()));
                }
            }
        }
        Ok(out)
    }

    /// Whether the database's planner reads the whole table for `select` (see
    /// [`Self::unindexed_email_columns`]). Changes nothing.
    async fn scans(
        &self,
        pool: &Pool,
        select: String,
        binds: Vec<Bind>,
        doing: Doing<'_>,
    ) -> Result<bool, ConnectorError> {
        // Only a scan of the collection's own table counts: a small lookup table may be read whole.
        let name = doing.place().map_or("", |(_, t)| t.rsplit('.').next().unwrap_or(t));
        Ok(match pool {
            // Not kept prepared: a plan cached before an index was added would hide it.
            Pool::Sqlite(p) => query_with(format!("EXPLAIN QUERY PLAN {select}"), binds)
                .persistent(false)
                .fetch_all(p)
                .await
                .map_err(|e| self.error(e, doing))?
                .iter()
                .any(|row| {
                    row.try_get::<String, _>(3).is_ok_and(|detail| {
                        detail.strip_prefix("SCAN ").is_some_and(|rest| rest.split(' ').next() == Some(name))
                    })
                }),
            Pool::MySql(p) => query_with(format!("EXPLAIN {select}"), binds)
                .persistent(false)
                .fetch_all(p)
                .await
                .map_err(|e| self.error(e, doing))?
                .iter()
                .any(|row| {
                    row.try_get::<Option<String>, _>("table").ok().flatten().as_deref() == Some(name)
                        && row.try_get::<Option<String>, _>("possible_keys").ok().flatten().is_none()
                }),
            Pool::Postgres(p) => {
                let mut tx = p.begin().await.map_err(|e| self.error(e, doing))?;
                sqlx::query("SET LOCAL enable_seqscan = off")
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| self.error(e, doing))?;
                let rows = query_with(format!("EXPLAIN {select}"), binds)
                    .persistent(false)
                    .fetch_all(&mut *tx)
                    .await
                    .map_err(|e| self.error(e, doing))?;
                let _ = tx.rollback().await;
                rows.iter().any(|row| {
                    row.try_get::<String, _>(0).is_ok_and(|line| {
                        line.split("Seq Scan on ").nth(1).and_then(|rest| rest.split(' ').next()) == Some(name)
                    })
                })
            }
        })
    }

    /// The references (`via`) whose search reads the whole table, as `(collection, column)`: the
    /// planner is asked about `column = value` with the collection's conditions, as `collect`
    /// queries it, so an index on `(res_id)` or on `(res_model, res_id)` serves. Changes nothing.
    pub async fn unindexed_references(&self) -> Result<Vec<(String, String)>, ConnectorError> {
        let pool = self.pool().await?;
        let mut out = Vec::new();
        for plan in &self.plans {
            let doing = Doing::Reading { collection: &plan.name, table: &plan.table };
            let types = self.condition_types(pool, plan).await?;
            for edge in &plan.node.edges {
                let cast = self.via_cast(pool, plan, &edge.column).await?;
                let mut binds = vec![Bind::Text("1".to_string())];
                let cond = self.where_in(&edge.column, 1, 1, cast.as_deref());
                let extra = self.condition_sql(plan, edge.condition.as_ref(), &types, &mut binds);
                let select = format!("SELECT 1 FROM {} WHERE {cond}{extra}", self.dialect.quote(&plan.table));
                if self.scans(pool, select, binds, doing).await?
                    && !out.contains(&(plan.name.clone(), edge.column.clone()))
                {
                    out.push((plan.name.clone(), edge.column.clone()));
                }
            }
        }
        Ok(out)
    }

    /// How to give the search of `column` (an email column of `collection`) an index, for the
    /// warning of `connectors check`: an expression index (or, on MariaDB/MySQL, an indexed
    /// generated column) for a bare column; for a column with an address format, the index each
    /// database can use for its `LIKE` prefilter, or, where none can, a lookup table, with what a
    /// full scan costs. See `docs/connectors.md`, "Address formats".
    pub fn index_advice(&self, collection: &str, column: &str) -> String {
        let plan = self.plans.iter().find(|p| p.name == collection);
        let table = plan.map_or("", |p| p.table.as_str());
        let embedded = plan.is_some_and(|p| p.email.iter().any(|c| c.name == column && c.format.is_embedded()));
        let flat = table.replace('.', "_");
        match (self.dialect, embedded) {
            (Dialect::MySql, false) => format!(
                "add an indexed generated column and search it: ALTER TABLE {table} ADD {column}_norm \
                 VARCHAR(255) AS (LOWER(TRIM({column}))) VIRTUAL, ADD INDEX ({column}_norm); then list \
                 {column}_norm in normalised_email_columns (MySQL 8 may instead index the expression)"
            ),
            (Dialect::Postgres | Dialect::Sqlite, false) => {
                format!("add one: CREATE INDEX {flat}_{column}_lower ON {table} (LOWER(TRIM({column})))")
            }
            (Dialect::Postgres, true) => format!(
                "its values hold addresses inside them (email_formats), which a btree index cannot \
                 search; add a trigram index: CREATE EXTENSION IF NOT EXISTS pg_trgm; CREATE INDEX \
                 {flat}_{column}_trgm ON {table} USING gin (LOWER({column}) gin_trgm_ops)"
            ),
            (Dialect::MySql, true) => format!(
                "its values hold addresses inside them (email_formats), which MariaDB/MySQL cannot index, \
                 so the search time grows with the table (about a second per million rows); if that is too \
                 slow, keep a lookup table with one row per address, filled by triggers on {table}, and \
                 search it as a normalised_email_columns collection (docs/connectors.md, \"Address formats\")"
            ),
            (Dialect::Sqlite, true) => format!(
                "its values hold addresses inside them (email_formats), which SQLite cannot index, so the \
                 search time grows with the table; if that is too slow, keep a lookup table with one row per \
                 address, filled by triggers on {table}, and search it as a normalised_email_columns \
                 collection (docs/connectors.md, \"Address formats\")"
            ),
        }
    }

    async fn pool(&self) -> Result<&Pool, ConnectorError> {
        self.pool.get_or_try_init(|| self.target.connect()).await.map_err(|e| self.error(e, Doing::Connecting))
    }

    fn where_email(&self, cols: &[EmailColumn], email: &str) -> (String, Vec<Bind>) {
        let mut binds = Vec::new();
        let mut slot = |value: String| {
            binds.push(Bind::Text(value));
            self.dialect.placeholder(binds.len())
        };
        let cond = cols
            .iter()
            .map(|c| {
                let quoted = self.dialect.quote(&c.name);
                if c.format.is_embedded() {
                    // A prefilter only: every row it lets through is checked in Rust
                    // (`holds_subject`), which keeps `annemarie@` from `marie@` and, on MariaDB,
                    // whose `LIKE` folds accents, `élodie@` from `elodie@`. `!` is an escape
                    // character every database takes in a plain literal (a backslash depends on
                    // MySQL's `NO_BACKSLASH_ESCAPES` and PostgreSQL's string settings).
                    return format!("LOWER({quoted}) LIKE {} ESCAPE '!'", slot(contains_pattern(email)));
                }
                let normalised = if c.normalised { quoted } else { format!("LOWER(TRIM({quoted}))") };
                match self.dialect {
                    // MySQL/MariaDB compare under the column's collation, where the default
                    // (`utf8mb4_general_ci`) takes `é` for `e`: `élodie@…` would match `elodie@…`,
                    // and one person would get (or erase) another's rows. The first comparison
                    // can use an index on the expression; the second keeps only exact matches.
                    Dialect::MySql => format!(
                        "({normalised} = {} AND CAST({normalised} AS BINARY) = CAST({} AS BINARY))",
                        slot(email.to_string()),
                        slot(email.to_string())
                    ),
                    Dialect::Postgres | Dialect::Sqlite => format!("{normalised} = {}", slot(email.to_string())),
                }
            })
            .collect::<Vec<_>>()
            .join(" OR ");
        (cond, binds)
    }

    /// `column IN ($first, …)` with `n` values, each cast to `cast` if given.
    fn where_in(&self, column: &str, first: usize, n: usize, cast: Option<&str>) -> String {
        let slot = |i| match cast {
            Some(type_name) => format!("CAST({} AS {type_name})", self.dialect.placeholder(i)),
            None => self.dialect.placeholder(i),
        };
        let list = (first..first + n).map(slot).collect::<Vec<_>>().join(", ");
        format!("{} IN ({list})", self.dialect.quote(column))
    }

    /// On PostgreSQL, the type the values compared with a `via` column are cast to: a parent's
    /// text value cannot be compared with a `UUID` or `DATE` column as it is. MySQL and SQLite
    /// convert by themselves.
    async fn via_cast(&self, pool: &Pool, plan: &Plan, column: &str) -> Result<Option<String>, ConnectorError> {
        if self.dialect != Dialect::Postgres {
            return Ok(None);
        }
        let sql = format!("SELECT {} FROM {}", self.dialect.quote(column), self.dialect.quote(&plan.table));
        let doing = Doing::Reading { collection: &plan.name, table: &plan.table };
        let cols = pool.columns_of(sql).await.map_err(|e| self.error(e, doing))?;
        Ok(cols.into_iter().next().map(|(_, type_name)| type_name).filter(|t| castable(t)))
    }

    /// On PostgreSQL, the type of each column the conditions of `plan` read (its own columns by
    /// name, lookup columns as `lookup.column`), to cast the bound values to, as `write` does for
    /// written values: a text literal cannot be compared with a `DATE` or `TIMESTAMP` column as it
    /// is. Empty elsewhere, and when the collection has no condition.
    async fn condition_types(&self, pool: &Pool, plan: &Plan) -> Result<HashMap<String, String>, ConnectorError> {
        let mut out = HashMap::new();
        let conditions = plan.node.condition.is_some() || plan.node.edges.iter().any(|e| e.condition.is_some());
        if self.dialect != Dialect::Postgres || !conditions {
            return Ok(out);
        }
        let doing = Doing::Reading { collection: &plan.name, table: &plan.table };
        let sql = format!("SELECT * FROM {}", self.dialect.quote(&plan.table));
        out.extend(pool.columns_of(sql).await.map_err(|e| self.error(e, doing))?);
        for (name, l, _) in plan.node.lookup_columns() {
            let doing = Doing::Reading { collection: &plan.name, table: &l.table };
            let sql = format!("SELECT * FROM {}", self.dialect.quote(&l.table));
            let cols = pool.columns_of(sql).await.map_err(|e| self.error(e, doing))?;
            out.extend(cols.into_iter().map(|(c, t)| (format!("{name}.{c}"), t)));
        }
        Ok(out)
    }

    /// ` AND …` for the collection's `where` and `extra` (a reference's `where`), values appended
    /// to `binds` (so placeholders follow those already there); empty without conditions. A
    /// clause on a lookup becomes `from IN (SELECT column FROM lookup_table WHERE …)`: a row whose
    /// lookup row is missing meets no condition on it.
    fn condition_sql(
        &self,
        plan: &Plan,
        extra: Option<&Condition>,
        types: &HashMap<String, String>,
        binds: &mut Vec<Bind>,
    ) -> String {
        let q = |ident: &str| self.dialect.quote(ident);
        let mut parts = Vec::new();
        for cond in plan.node.condition.iter().chain(extra) {
            for clause in cond.clauses.iter().filter(|c| !kit::is_qualified(&c.field)) {
                parts.push(self.clause_sql(&q(&clause.field), clause, types.get(&clause.field), binds));
            }
            for (name, l) in &plan.node.lookups {
                let prefix = format!("{name}.");
                let alias = q("dossier_lookup");
                let inner: Vec<String> = cond
                    .clauses
                    .iter()
                    .filter_map(|c| c.field.strip_prefix(&prefix).map(|col| (c, col)))
                    .map(|(c, col)| self.clause_sql(&format!("{alias}.{}", q(col)), c, types.get(&c.field), binds))
                    .collect();
                if !inner.is_empty() {
                    parts.push(format!(
                        "{} IN (SELECT {alias}.{} FROM {} {alias} WHERE {})",
                        q(&l.from),
                        q(&l.column),
                        q(&l.table),
                        inner.join(" AND ")
                    ));
                }
            }
        }
        if parts.is_empty() { String::new() } else { format!(" AND {}", parts.join(" AND ")) }
    }

    /// One clause on `column` (quoted), its values bound; on PostgreSQL cast to `type_name`.
    fn clause_sql(&self, column: &str, clause: &Clause, type_name: Option<&String>, binds: &mut Vec<Bind>) -> String {
        let cast = type_name.filter(|t| self.dialect == Dialect::Postgres && castable(t));
        let mut slot = |literal: &Literal| {
            binds.push(match literal {
                Literal::Int(i) if cast.is_none() => Bind::Int(*i),
                Literal::Int(i) => Bind::Text(i.to_string()),
                Literal::Decimal(d) => Bind::Text(d.clone()),
                Literal::Text(t) => Bind::Text(t.clone()),
                // PostgreSQL casts `'true'` to the boolean column; MySQL and SQLite store 1 and 0.
                Literal::Bool(b) if cast.is_some() => Bind::Text(b.to_string()),
                Literal::Bool(b) => Bind::Int(i64::from(*b)),
            });
            let p = self.dialect.placeholder(binds.len());
            match cast {
                Some(t) => format!("CAST({p} AS {t})"),
                None => p,
            }
        };
        match &clause.test {
            Test::Compare(op, literal) => format!("{column} {} {}", op.sql(), slot(literal)),
            Test::In { values, negated } => {
                let list: Vec<String> = values.iter().map(&mut slot).collect();
                format!("{column} {}IN ({})", if *negated { "NOT " } else { "" }, list.join(", "))
            }
            Test::Null { negated } => format!("{column} IS {}NULL", if *negated { "NOT " } else { "" }),
        }
    }

    /// Reads the subject's rows collection by collection, in configuration order: by its email
    /// columns, then through each of its references by batches of the distinct values its parent's
    /// rows hold, every query with its conditions. Each row goes to `visit` as it arrives, once
    /// per collection (a collection reached by several paths skips a key already given).
    async fn traverse(
        &self,
        subject: &Subject,
        reading: Reading,
        visit: &mut (dyn FnMut(&Plan, Record) -> Result<(), ConnectorError> + Send),
    ) -> Result<(), ConnectorError> {
        let pool = self.pool().await?;
        // Per collection: the distinct values of its key columns, for the collections after it.
        let mut found: Vec<Found> = (0..self.plans.len()).map(|_| Found::default()).collect();
        let email = subject.email.as_str();
        for (i, plan) in self.plans.iter().enumerate() {
            let Some(select) = plan.select_for(reading, self.dialect) else { continue };
            let (done, rest) = found.split_at_mut(i);
            let mut reach = Reach { email, reading, done, mine: &mut rest[0], seen: HashSet::new() };
            let types = self.condition_types(pool, plan).await?;
            let from = format!("SELECT {select} FROM {}", self.dialect.quote(&plan.table));
            if !plan.email.is_empty() {
                let (cond, mut binds) = self.where_email(&plan.email, email);
                let extra = self.condition_sql(plan, None, &types, &mut binds);
                let query = (format!("{from} WHERE ({cond}){extra}"), binds);
                self.stream_rows(pool, plan, query, true, &mut reach, visit).await?;
            }
            for edge in &plan.node.edges {
                let Some(parent_keys) = reach.done[edge.parent].keys.get(&edge.references) else {
                    continue;
                };
                let parent_keys: Vec<Bind> = parent_keys.iter().cloned().collect();
                let cast = self.via_cast(pool, plan, &edge.column).await?;
                for batch in parent_keys.chunks(MAX_BIND_PARAMS) {
                    let mut binds = batch.to_vec();
                    let cond = self.where_in(&edge.column, 1, batch.len(), cast.as_deref());
                    let extra = self.condition_sql(plan, edge.condition.as_ref(), &types, &mut binds);
                    let query = (format!("{from} WHERE {cond}{extra}"), binds);
                    self.stream_rows(pool, plan, query, false, &mut reach, visit).await?;
                }
            }
        }
        Ok(())
    }

    /// Streams one query's rows to `visit`, recording the key values later collections need.
    /// In a collection with embedded-address columns, a row the prefilter let through but that
    /// does not hold the address is dropped here, before anything else sees it; in a collection
    /// reached by several paths, so is a row whose key was already given.
    async fn stream_rows(
        &self,
        pool: &Pool,
        plan: &Plan,
        query: (String, Vec<Bind>),
        by_email: bool,
        reach: &mut Reach<'_>,
        visit: &mut (dyn FnMut(&Plan, Record) -> Result<(), ConnectorError> + Send),
    ) -> Result<(), ConnectorError> {
        let doing = Doing::Reading { collection: &plan.name, table: &plan.table };
        let (sql, binds) = query;
        let mut rows = pool.fetch(sql, binds);
        while let Some(next) = rows.next().await {
            let mut record = match next {
                Ok(r) => r,
                Err(FetchError::Sql(e)) => return Err(self.error(e, doing)),
                Err(FetchError::Decode(e)) => return Err(self.decode_error(e, plan)),
            };
            // Only the email path's rows are checked: a row reached by a reference need not hold
            // the address.
            let checked = plan.checked_columns();
            if by_email && !checked.is_empty() && !holds_subject(&record, checked, reach.email, self.dialect) {
                continue;
            }
            if plan.node.merged {
                let id: Vec<String> = plan
                    .rules
                    .key
                    .iter()
                    .map(|k| lookup(&record, k, self.dialect).map(ToString::to_string).unwrap_or_default())
                    .collect();
                if !reach.seen.insert(id) {
                    continue;
                }
            }
            for key in &plan.keys {
                if let Some(v) = lookup(&record, key, self.dialect).and_then(Bind::from_json) {
                    if reach.reading == Reading::Locate && !plan.carried.is_empty() {
                        let carried: Record = plan
                            .carried
                            .iter()
                            .map(|c| (c.clone(), lookup(&record, c, self.dialect).cloned().unwrap_or_default()))
                            .collect();
                        reach.mine.carry.entry(key.clone()).or_default().entry(v.clone()).or_insert(carried);
                    }
                    reach.mine.keys.entry(key.clone()).or_default().insert(v);
                }
            }
            if reach.reading == Reading::Locate {
                for pv in &plan.node.parent_values {
                    let value = plan
                        .node
                        .edges
                        .iter()
                        .filter(|e| e.parent == pv.parent)
                        .find_map(|e| {
                            let v = lookup(&record, &e.column, self.dialect).and_then(Bind::from_json)?;
                            reach.done[pv.parent].carry.get(&e.references)?.get(&v)?.get(&pv.column).cloned()
                        })
                        .unwrap_or_default();
                    record.insert(pv.qualified.clone(), value);
                }
            }
            visit(plan, record)?;
        }
        Ok(())
    }

    /// A row as exported: the columns read only to follow references removed, JSON text columns
    /// embedded.
    fn exported(&self, plan: &Plan, mut record: Record) -> Record {
        for hidden in &plan.hidden {
            if let Some(k) = find_key(&record, hidden, self.dialect) {
                record.shift_remove(&k);
            }
        }
        if !plan.json_columns.is_empty() {
            for (k, v) in record.iter_mut() {
                let listed = plan.json_columns.contains(k)
                    || (self.dialect.case_insensitive_columns()
                        && plan.json_columns.iter().any(|c| c.eq_ignore_ascii_case(k)));
                if let (true, serde_json::Value::String(s)) = (listed, &*v)
                    && let Ok(parsed) = serde_json::from_str::<serde_json::Value>(s)
                {
                    *v = parsed;
                }
            }
        }
        record
    }

    /// A row as located: its key and the values its collection's rules need, under the
    /// configured column names.
    fn located(&self, plan: &Plan, record: &Record) -> Located {
        let pick = |cols: &mut dyn Iterator<Item = &str>| -> crate::plans::Values {
            cols.map(|c| (c.to_string(), lookup(record, c, self.dialect).cloned().unwrap_or_default())).collect()
        };
        Located {
            collection: plan.name.clone(),
            key: pick(&mut plan.rules.key.iter().map(String::as_str)),
            values: pick(&mut plan.rules.needed_columns().into_iter()),
        }
    }

    /// Turns a database error into words a privacy officer understands, keeping the cause.
    fn error(&self, e: sqlx::Error, doing: Doing<'_>) -> ConnectorError {
        use ConnectorErrorKind::{Failed, Misconfigured, Unreachable};
        let db = &self.database;
        let src = &self.info.name;
        let at = format!("database {db} (source {src})");
        let (kind, message) = match &e {
            sqlx::Error::Io(io) => {
                let why = match io.kind() {
                    std::io::ErrorKind::ConnectionRefused => "the server refused the connection".to_string(),
                    std::io::ErrorKind::TimedOut => "the server did not answer in time".to_string(),
                    std::io::ErrorKind::NotFound => "the server address was not found".to_string(),
                    _ => format!("a network error occurred ({})", io.kind()),
                };
                (Unreachable, format!("cannot reach {at}: {why}"))
            }
            sqlx::Error::PoolTimedOut => {
                (Unreachable, format!("cannot reach {at}: no connection within {} seconds", CONNECT_TIMEOUT.as_secs()))
            }
            sqlx::Error::Tls(_) => {
                (Misconfigured, format!("cannot open a secure (TLS) connection to {at}; check the URL's TLS settings"))
            }
            sqlx::Error::Configuration(_) => (Misconfigured, format!("the connection settings of {at} are not valid")),
            sqlx::Error::Database(dbe) => self.database_error(dbe.as_ref(), doing),
            sqlx::Error::PoolClosed | sqlx::Error::WorkerCrashed => {
                (Unreachable, format!("the connection to {at} was closed"))
            }
            _ => (Failed, doing.failed(&at)),
        };
        ConnectorError::new(kind, message).with_cause(e)
    }

    /// The kind and message of an error the database reported. Never quotes the database's own
    /// message, which may hold values (personal data); the cause keeps it for the logs.
    fn database_error(&self, dbe: &dyn sqlx::error::DatabaseError, doing: Doing<'_>) -> (ConnectorErrorKind, String) {
        use ConnectorErrorKind::{Failed, Misconfigured, Unreachable};
        let db = &self.database;
        let src = &self.info.name;
        let code = dbe.code().map(|c| c.into_owned()).unwrap_or_default();
        let at = format!("database {db} (source {src})");
        let place = doing.place();
        let writing = matches!(doing, Doing::Writing { .. });
        // "cannot change a row of table t (collection c) in database d"
        let cannot = |verb: &str| match place {
            Some((c, t)) => format!("cannot {verb} a row of table {t} (collection {c}) in database {db}"),
            None => format!("cannot {verb} a row in {at}"),
        };
        match What::of(self.dialect, dbe, writing) {
            What::Credentials => {
                (Misconfigured, format!("{at} refused the user name or password in the connection settings"))
            }
            What::NoDatabase => (Misconfigured, format!("database {db} does not exist (source {src})")),
            What::CannotOpen => (
                Misconfigured,
                format!(
                    "the SQLite file of {at} cannot be opened: it does not exist, is not readable, or is not an SQLite database"
                ),
            ),
            What::NoTable => (
                Misconfigured,
                match place {
                    Some((_, t)) => format!("table {t} not found in {at}"),
                    None => format!("a configured table was not found in {at}"),
                },
            ),
            What::NoColumn => (
                Misconfigured,
                match place {
                    Some((c, t)) => format!(
                        "a column configured for collection {c} does not exist in table {t} of {at}; \
                         `dossier connectors check` names it"
                    ),
                    None => format!("a configured column does not exist in {at}"),
                },
            ),
            What::Denied => (
                Misconfigured,
                match (place, writing) {
                    (Some((_, t)), true) => format!(
                        "the database account of source {src} may not change table {t} in database {db}; \
                         grant it SELECT, UPDATE and DELETE on that table, or apply the changes by hand"
                    ),
                    (Some((_, t)), false) => {
                        format!("the database account of source {src} may not read table {t} in database {db}")
                    }
                    (None, _) => format!("the database account of source {src} lacks a permission in database {db}"),
                },
            ),
            What::Busy => (Unreachable, format!("{at} is busy or shutting down; try again later")),
            What::ForeignKey if matches!(doing, Doing::Writing { delete: true, .. }) => (
                Misconfigured,
                format!(
                    "{}: other rows still reference it (a foreign key); anonymise it instead, or also erase \
                     the collection that references it",
                    cannot("delete")
                ),
            ),
            What::ForeignKey => (
                Misconfigured,
                format!(
                    "{}: a new value must match a row of the table it references (a foreign key)",
                    cannot("change")
                ),
            ),
            What::NotNull => (
                Misconfigured,
                format!(
                    "{}: a column that may not be empty (NOT NULL) would be set to null; write a fixed \
                     {{ value = … }} there instead (or, with `pseudonymise`, \"mask\" or \"hash\")",
                    cannot("change")
                ),
            ),
            What::Unique => (
                Failed,
                format!("{}: the new value is already held by another row (a unique constraint)", cannot("change")),
            ),
            What::TooLong => (
                Misconfigured,
                format!(
                    "{}: a new value is longer than its column allows (a pseudonym takes 21 characters); \
                     write \"null\" or a shorter {{ value = … }} there (or, with `pseudonymise`, \"mask\")",
                    cannot("change")
                ),
            ),
            What::BadValue => (
                Misconfigured,
                format!(
                    "{}: a new value does not fit the type of its column; \"mask\" and \"hash\" apply to text \
                     columns only, use \"null\" or {{ value = … }} for others",
                    cannot("change")
                ),
            ),
            What::NotText => (
                Misconfigured,
                format!(
                    "{}: a text value in it is not valid UTF-8, so the database will not send it (a \
                     PostgreSQL SQL_ASCII database holding other bytes); correct the value, or leave its \
                     column out with `columns`",
                    doing.failed(&at)
                ),
            ),
            What::Other => {
                let failed = doing.failed(&at);
                (Failed, format!("{failed} (database error {code})"))
            }
        }
    }

    fn decode_error(&self, e: decode::DecodeError, plan: &Plan) -> ConnectorError {
        let message = format!(
            "column {} of table {} (collection {}) in database {} has type {}, which Dossier cannot \
             export{}",
            e.column,
            plan.table,
            plan.name,
            self.database,
            e.type_name,
            if plan.columns.is_none() { "; list the other columns in `columns` to leave it out" } else { "" }
        );
        let err = ConnectorError::new(ConnectorErrorKind::Failed, message);
        match e.cause {
            Some(cause) => err.with_cause(anyhow::anyhow!(cause)),
            None => err,
        }
    }

    async fn count_rows(&self, pool: &Pool, plan: &Plan) -> Result<i64, ConnectorError> {
        let sql = format!("SELECT COUNT(*) AS n FROM {}", self.dialect.quote(&plan.table));
        let doing = Doing::Reading { collection: &plan.name, table: &plan.table };
        let mut rows = pool.fetch(sql, Vec::new());
        let first = match rows.next().await {
            Some(Ok(r)) => r,
            Some(Err(FetchError::Sql(e))) => return Err(self.error(e, doing)),
            Some(Err(FetchError::Decode(e))) => return Err(self.decode_error(e, plan)),
            None => return Ok(0),
        };
        Ok(first
            .values()
            .next()
            .and_then(|v| v.as_i64().or_else(|| v.as_str().and_then(|s| s.parse().ok())))
            .unwrap_or(0))
    }
}

fn sink_error(e: anyhow::Error, plan: &Plan) -> ConnectorError {
    ConnectorError::new(
        ConnectorErrorKind::Failed,
        format!("the records of collection {} could not be stored", plan.name),
    )
    .with_cause(e)
}

/// The record's key for `column`: exact, or ignoring case where the database does.
fn find_key(record: &Record, column: &str, dialect: Dialect) -> Option<String> {
    if record.contains_key(column) {
        return Some(column.to_string());
    }
    if dialect.case_insensitive_columns() {
        return record.keys().find(|k| k.eq_ignore_ascii_case(column)).cloned();
    }
    None
}

fn lookup<'r>(record: &'r Record, column: &str, dialect: Dialect) -> Option<&'r serde_json::Value> {
    record.get(column).or_else(|| find_key(record, column, dialect).and_then(|k| record.get(&k)))
}

fn format_count(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

#[async_trait::async_trait]
impl Connector for SqlConnector {
    fn info(&self) -> &SourceInfo {
        &self.info
    }

    /// Connects, then checks every configured table and column against the database's own
    /// description of the table (a prepared `SELECT *`, nothing executed), and counts rows.
    async fn check(&self) -> Result<HealthReport, ConnectorError> {
        let pool = self.pool().await?;
        let mut notes = Vec::new();
        let mut table_columns: HashMap<&str, Vec<String>> = HashMap::new();
        for plan in &self.plans {
            let doing = Doing::Reading { collection: &plan.name, table: &plan.table };
            if !table_columns.contains_key(plan.table.as_str()) {
                let sql = format!("SELECT * FROM {}", self.dialect.quote(&plan.table));
                let cols = pool.columns_of(sql).await.map_err(|e| self.error(e, doing))?;
                let cols = cols.into_iter().map(|(name, _)| name).collect();
                table_columns.insert(&plan.table, cols);
            }
            let missing = |present: &[String], col: &str, table: &str, by: &str| -> Option<ConnectorError> {
                let found = present
                    .iter()
                    .any(|p| p == col || (self.dialect.case_insensitive_columns() && p.eq_ignore_ascii_case(col)));
                if found {
                    return None;
                }
                let hint = present
                    .iter()
                    .find(|p| p.eq_ignore_ascii_case(col))
                    .map(|p| format!(" (there is a column {p}: names are case-sensitive here)"))
                    .unwrap_or_default();
                Some(ConnectorError::new(
                    ConnectorErrorKind::Misconfigured,
                    format!(
                        "column {col} not found in table {table} of database {} (collection {}, source {}{by}){hint}",
                        self.database, plan.name, self.info.name
                    ),
                ))
            };
            let present = table_columns.get(plan.table.as_str()).cloned().unwrap_or_default();
            // The columns conditions and lookups read first, naming the key that reads them.
            let mut read_by: Vec<(&str, String)> = Vec::new();
            for clause in plan.node.condition.iter().flat_map(|c| &c.clauses) {
                read_by.push((&clause.field, ", read by `where`".to_string()));
            }
            for edge in &plan.node.edges {
                for clause in edge.condition.iter().flat_map(|c| &c.clauses) {
                    read_by.push((&clause.field, format!(", read by the `where` of `via` {}", edge.column)));
                }
            }
            for (name, l) in &plan.node.lookups {
                read_by.push((&l.from, format!(", `lookups.{name}.from`")));
            }
            for (col, by) in read_by.iter().filter(|(c, _)| !kit::is_qualified(c)) {
                if let Some(e) = missing(&present, col, &plan.table, by) {
                    return Err(e);
                }
            }
            for (name, l, cols) in plan.node.lookup_columns() {
                if !table_columns.contains_key(l.table.as_str()) {
                    let doing = Doing::Reading { collection: &plan.name, table: &l.table };
                    let sql = format!("SELECT * FROM {}", self.dialect.quote(&l.table));
                    let found = pool.columns_of(sql).await.map_err(|e| {
                        let e = self.error(e, doing);
                        ConnectorError::new(e.kind, format!("{} (read by `lookups.{name}`)", e.message))
                    })?;
                    table_columns.insert(&l.table, found.into_iter().map(|(n, _)| n).collect());
                }
                let present = table_columns.get(l.table.as_str()).cloned().unwrap_or_default();
                for col in cols {
                    if let Some(e) = missing(&present, col, &l.table, &format!(", `lookups.{name}`")) {
                        return Err(e);
                    }
                }
            }
            // Every name here is a column of this collection's own table (the parent side of a
            // `via` is among the parent's `keys`).
            for col in plan.configured_columns() {
                if let Some(e) = missing(&present, col, &plan.table, "") {
                    return Err(e);
                }
            }
            let n = self.count_rows(pool, plan).await?;
            notes.push(format!("{} rows in table {} (collection {})", format_count(n), plan.table, plan.name));
        }
        Ok(HealthReport { notes })
    }

    async fn collect(&self, subject: &Subject, sink: &mut dyn RecordSink) -> Result<(), ConnectorError> {
        // A collection is begun at its first row; collections are read one after the other.
        let mut begun: Option<String> = None;
        let mut visit = |plan: &Plan, record: Record| -> Result<(), ConnectorError> {
            let record = self.exported(plan, record);
            if begun.as_deref() != Some(plan.name.as_str()) {
                let fields: Vec<String> = record.keys().cloned().collect();
                sink.begin_collection(&plan.name, &fields).map_err(|e| sink_error(e, plan))?;
                begun = Some(plan.name.clone());
            }
            sink.record(record).map_err(|e| sink_error(e, plan))
        };
        self.traverse(subject, Reading::Export, &mut visit).await
    }

    async fn locate(&self, subject: &Subject) -> Result<Vec<Located>, ConnectorError> {
        let mut out = Vec::new();
        let mut visit = |plan: &Plan, record: Record| -> Result<(), ConnectorError> {
            if !plan.rules.is_empty() {
                out.push(self.located(plan, &record));
            }
            Ok(())
        };
        self.traverse(subject, Reading::Locate, &mut visit).await?;
        Ok(out)
    }

    async fn execute(&self, steps: &[Step], pseudonymiser: &Pseudonymiser) -> Result<Vec<StepOutcome>, ConnectorError> {
        self.execute_steps(steps, pseudonymiser).await
    }

    async fn emails(&self, found: &mut (dyn for<'a> FnMut(&'a str) + Send)) -> Result<(), ConnectorError> {
        self.list_emails(found).await
    }
}
