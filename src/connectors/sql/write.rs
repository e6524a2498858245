//! Changing a person's records (erasure, rectification, objection), and listing the addresses of
//! the root collections. The rules are in the module documentation of [`super`].

use std::cmp::Reverse;
use std::collections::HashMap;
use std::collections::hash_map::Entry;

use futures_util::stream::StreamExt;
use serde_json::Value;
use sqlx::{AssertSqlSafe, Column, Executor, SqlSafeStr, Statement, TypeInfo};

use super::address::{self, AddressFormat};
use super::{
    Bind, Dialect, Doing, EmailColumn, FetchError, Plan, Pool, SqlConnector, castable, decode, lookup, query_with,
};
use crate::connectors::{ConnectorError, ConnectorErrorKind, Record};
use crate::plans::anonymise::Pseudonymiser;
use crate::plans::{Change, FieldWrite, Step, StepOutcome, Values};

/// Column → the database's name for its type, for the casts PostgreSQL needs (empty elsewhere).
type Types = HashMap<String, String>;

/// An open transaction on the source. Dropped without `commit`, it rolls back.
enum Tx {
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
    MySql(sqlx::Transaction<'static, sqlx::MySql>),
    Sqlite(sqlx::Transaction<'static, sqlx::Sqlite>),
}

/// Runs the same expression on whichever transaction `$tx` holds.
macro_rules! on_tx {
    ($tx:expr, $t:ident => $body:expr) => {
        match $tx {
            Tx::Postgres($t) => $body,
            Tx::MySql($t) => $body,
            Tx::Sqlite($t) => $body,
        }
    };
}

impl Tx {
    async fn begin(pool: &Pool) -> Result<Tx, sqlx::Error> {
        Ok(match pool {
            Pool::Postgres(p) => Tx::Postgres(p.begin().await?),
            Pool::MySql(p) => Tx::MySql(p.begin().await?),
            // IMMEDIATE takes the write lock at once: no other writer slips in between a step's
            // read of the current values and its write (SQLite has no `FOR UPDATE`).
            Pool::Sqlite(p) => Tx::Sqlite(p.begin_with("BEGIN IMMEDIATE").await?),
        })
    }

    async fn fetch_all(&mut self, sql: String, binds: Vec<Bind>) -> Result<Vec<Record>, FetchError> {
        fn decoded<R>(
            rows: Result<Vec<R>, sqlx::Error>,
            decode: fn(&R) -> Result<Record, decode::DecodeError>,
        ) -> Result<Vec<Record>, FetchError> {
            rows.map_err(FetchError::Sql)?.iter().map(|r| decode(r).map_err(FetchError::Decode)).collect()
        }
        match self {
            Tx::Postgres(tx) => decoded(query_with(sql, binds).fetch_all(&mut **tx).await, decode::pg_record),
            Tx::MySql(tx) => decoded(query_with(sql, binds).fetch_all(&mut **tx).await, decode::mysql_record),
            Tx::Sqlite(tx) => decoded(query_with(sql, binds).fetch_all(&mut **tx).await, decode::sqlite_record),
        }
    }

    /// Runs a statement; the number of rows it changed.
    async fn execute(&mut self, sql: String, binds: Vec<Bind>) -> Result<u64, sqlx::Error> {
        on_tx!(self, tx => Ok(query_with(sql, binds).execute(&mut **tx).await?.rows_affected()))
    }

    /// The type names of a query's columns, from the prepared statement (nothing is executed).
    async fn column_types(&mut self, sql: String) -> Result<Vec<String>, sqlx::Error> {
        fn names<S: Statement>(s: &S) -> Vec<String> {
            s.columns().iter().map(|c| c.type_info().name().to_string()).collect()
        }
        on_tx!(self, tx => Ok(names(&(&mut **tx).prepare(AssertSqlSafe(sql).into_sql_str()).await?)))
    }

    async fn commit(self) -> Result<(), sqlx::Error> {
        on_tx!(self, tx => tx.commit().await)
    }

    async fn rollback(self) -> Result<(), sqlx::Error> {
        on_tx!(self, tx => tx.rollback().await)
    }
}

/// The placeholders of one statement and the values bound to them, in order.
struct Binder<'a> {
    dialect: Dialect,
    types: &'a Types,
    binds: Vec<Bind>,
}

impl<'a> Binder<'a> {
    fn new(dialect: Dialect, types: &'a Types) -> Self {
        Self { dialect, types, binds: Vec::new() }
    }

    /// The placeholder for `value`, written into or compared with `column`. PostgreSQL refuses
    /// text for a `DATE`, `BOOL` or `UUID` column: there the value is bound as text and cast to
    /// the column's type. MySQL and SQLite convert by themselves.
    fn slot(&mut self, column: &str, value: &Value) -> String {
        let placeholder = self.dialect.placeholder(self.binds.len() + 1);
        let cast = match self.dialect {
            Dialect::Postgres => self.types.get(column).filter(|t| castable(t)),
            Dialect::MySql | Dialect::Sqlite => None,
        };
        match cast {
            Some(type_name) => {
                self.binds.push(text_bind(value));
                format!("CAST({placeholder} AS {type_name})")
            }
            None => {
                self.binds.push(typed_bind(value));
                placeholder
            }
        }
    }
}

/// A value bound as text, to be cast by the database. Booleans are `1`/`0`, which PostgreSQL
/// reads as a boolean and as a number alike.
fn text_bind(v: &Value) -> Bind {
    match v {
        Value::Null => Bind::Null,
        Value::String(s) => Bind::Text(s.clone()),
        Value::Bool(b) => Bind::Text(if *b { "1" } else { "0" }.to_string()),
        other => Bind::Text(other.to_string()),
    }
}

/// A value bound by its JSON type: an integer as an integer, a boolean as `1`/`0`, anything else
/// as text.
fn typed_bind(v: &Value) -> Bind {
    match v {
        Value::Null => Bind::Null,
        Value::Bool(b) => Bind::Int(i64::from(*b)),
        Value::Number(n) => n.as_i64().map(Bind::Int).unwrap_or_else(|| Bind::Text(n.to_string())),
        Value::String(s) => Bind::Text(s.clone()),
        other => Bind::Text(other.to_string()),
    }
}

/// The order steps run in: updates in step order, then deletes, collections declared later first
/// (children before the parents they reference), in step order within a collection.
fn execution_order(steps: &[Step], targets: &[usize]) -> Vec<usize> {
    let (mut deletes, updates): (Vec<usize>, Vec<usize>) =
        (0..steps.len()).partition(|&i| steps[i].change == Change::Delete);
    deletes.sort_by_key(|&i| Reverse(targets[i]));
    updates.into_iter().chain(deletes).collect()
}

fn writing(plan: &Plan, delete: bool) -> Doing<'_> {
    Doing::Writing { collection: &plan.name, table: &plan.table, delete }
}

impl SqlConnector {
    /// [`Connector::execute`](crate::connectors::Connector::execute): every step in one
    /// transaction, committed only if all of them succeed.
    pub(super) async fn execute_steps(
        &self,
        steps: &[Step],
        pseudonymiser: &Pseudonymiser,
    ) -> Result<Vec<StepOutcome>, ConnectorError> {
        let targets = steps
            .iter()
            .map(|s| crate::connectors::step_target(&self.info, s, "column"))
            .collect::<Result<Vec<usize>, _>>()?;
        if steps.is_empty() {
            return Ok(Vec::new());
        }
        let pool = self.pool().await?;
        let mut tx = Tx::begin(pool).await.map_err(|e| self.error(e, Doing::Connecting))?;
        match self.apply(&mut tx, steps, &targets, pseudonymiser).await {
            Ok(outcomes) => {
                tx.commit().await.map_err(|e| self.error(e, Doing::Committing))?;
                Ok(outcomes)
            }
            Err(e) => {
                // Dropping the transaction would roll back too; rolling back now frees the
                // connection at once. If even that fails, the server discards the uncommitted
                // changes when the connection closes.
                if tx.rollback().await.is_err() {
                    tracing::warn!(source = %self.info.name, "rolling back failed; the connection is dropped");
                }
                Err(e)
            }
        }
    }

    async fn apply(
        &self,
        tx: &mut Tx,
        steps: &[Step],
        targets: &[usize],
        pseudonymiser: &Pseudonymiser,
    ) -> Result<Vec<StepOutcome>, ConnectorError> {
        let mut types: HashMap<usize, Types> = HashMap::new();
        let mut outcomes: Vec<(usize, StepOutcome)> = Vec::with_capacity(steps.len());
        for i in execution_order(steps, targets) {
            let (step, plan) = (&steps[i], &self.plans[targets[i]]);
            let types = match types.entry(targets[i]) {
                Entry::Occupied(e) => e.into_mut(),
                Entry::Vacant(e) => e.insert(self.column_types(tx, plan).await?),
            };
            let outcome = match &step.change {
                Change::Delete => self.delete(tx, plan, types, &step.key).await?,
                Change::Update(fields) => self.update(tx, plan, types, &step.key, fields, pseudonymiser).await?,
            };
            outcomes.push((i, outcome));
        }
        outcomes.sort_by_key(|(i, _)| *i);
        Ok(outcomes.into_iter().map(|(_, o)| o).collect())
    }

    /// On PostgreSQL, the types of the columns the collection's rules name.
    async fn column_types(&self, tx: &mut Tx, plan: &Plan) -> Result<Types, ConnectorError> {
        if self.dialect != Dialect::Postgres {
            return Ok(Types::new());
        }
        // A parent's column (`orders.ordered_on`) is read, never written: not on this table.
        let cols: Vec<&str> = plan.rules.columns().into_iter().filter(|c| !super::kit::is_qualified(c)).collect();
        let list = cols.iter().map(|c| self.dialect.quote(c)).collect::<Vec<_>>().join(", ");
        let sql = format!("SELECT {list} FROM {}", self.dialect.quote(&plan.table));
        let types = tx.column_types(sql).await.map_err(|e| self.error(e, writing(plan, false)))?;
        Ok(cols.iter().map(|c| c.to_string()).zip(types).collect())
    }

    /// `k1 = $1 AND k2 = $2` for the record's key.
    fn where_key(&self, plan: &Plan, key: &Values, binder: &mut Binder<'_>) -> String {
        plan.rules
            .key
            .iter()
            .map(|k| {
                let slot = binder.slot(k, key.get(k).unwrap_or(&Value::Null));
                format!("{} = {slot}", self.dialect.quote(k))
            })
            .collect::<Vec<_>>()
            .join(" AND ")
    }

    /// The `fields` of the record `key` identifies, read inside the transaction (and locked for
    /// the rest of it with `lock`, where the database can); `None` when there is no such record.
    async fn read_record(
        &self,
        tx: &mut Tx,
        plan: &Plan,
        types: &Types,
        fields: &[&str],
        key: &Values,
        lock: bool,
    ) -> Result<Option<Values>, ConnectorError> {
        let mut binder = Binder::new(self.dialect, types);
        let cond = self.where_key(plan, key, &mut binder);
        let list = fields.iter().map(|c| self.dialect.quote(c)).collect::<Vec<_>>().join(", ");
        let lock = if lock && self.dialect != Dialect::Sqlite { " FOR UPDATE" } else { "" };
        let sql = format!("SELECT {list} FROM {} WHERE {cond} LIMIT 2{lock}", self.dialect.quote(&plan.table));
        let rows = tx.fetch_all(sql, binder.binds).await.map_err(|e| match e {
            FetchError::Sql(e) => self.error(e, writing(plan, false)),
            FetchError::Decode(e) => self.decode_error(e, plan),
        })?;
        match rows.as_slice() {
            [] => Ok(None),
            [row] => Ok(Some(
                fields
                    .iter()
                    .map(|f| (f.to_string(), lookup(row, f, self.dialect).cloned().unwrap_or_default()))
                    .collect(),
            )),
            _ => Err(self.key_not_unique(plan)),
        }
    }

    async fn delete(
        &self,
        tx: &mut Tx,
        plan: &Plan,
        types: &Types,
        key: &Values,
    ) -> Result<StepOutcome, ConnectorError> {
        let mut binder = Binder::new(self.dialect, types);
        let cond = self.where_key(plan, key, &mut binder);
        let sql = format!("DELETE FROM {} WHERE {cond}", self.dialect.quote(&plan.table));
        let deleted = tx.execute(sql, binder.binds).await.map_err(|e| self.error(e, writing(plan, true)))?;
        if deleted > 1 {
            return Err(self.key_not_unique(plan));
        }
        // Nothing found: the record was deleted by an earlier run of the same step.
        Ok(StepOutcome { found: deleted == 1, after: None })
    }

    /// Reads the current values (mask and hash need them), writes the new ones, and reads them
    /// back, all inside the transaction.
    async fn update(
        &self,
        tx: &mut Tx,
        plan: &Plan,
        types: &Types,
        key: &Values,
        fields: &[(String, FieldWrite)],
        pseudonymiser: &Pseudonymiser,
    ) -> Result<StepOutcome, ConnectorError> {
        let names: Vec<&str> = fields.iter().map(|(f, _)| f.as_str()).collect();
        let Some(current) = self.read_record(tx, plan, types, &names, key, true).await? else {
            return Ok(StepOutcome { found: false, after: None });
        };
        let mut binder = Binder::new(self.dialect, types);
        let set = fields
            .iter()
            .map(|(field, write)| {
                let new = pseudonymiser.apply(write, current.get(field).unwrap_or(&Value::Null));
                format!("{} = {}", self.dialect.quote(field), binder.slot(field, &new))
            })
            .collect::<Vec<_>>()
            .join(", ");
        let cond = self.where_key(plan, key, &mut binder);
        let sql = format!("UPDATE {} SET {set} WHERE {cond}", self.dialect.quote(&plan.table));
        tx.execute(sql, binder.binds).await.map_err(|e| self.error(e, writing(plan, false)))?;
        let after = self.read_record(tx, plan, types, &names, key, false).await?;
        Ok(StepOutcome { found: true, after })
    }

    fn key_not_unique(&self, plan: &Plan) -> ConnectorError {
        ConnectorError::new(
            ConnectorErrorKind::Misconfigured,
            format!(
                "the `key` of collection {} ({}) matches several rows of table {} in database {} (source {}): \
                 it must name the columns that identify one record, usually the primary key; nothing was changed",
                plan.name,
                plan.rules.key.join(", "),
                plan.table,
                self.database,
                self.info.name
            ),
        )
    }

    /// Calls `found` with every address held in the email columns of the root collections,
    /// normalised as matching compares them (`LOWER(TRIM(…))`), NULL and empty values skipped: what
    /// [`Connector::emails`](crate::connectors::Connector::emails) promises. Per root collection,
    /// one query the database de-duplicates, streamed; an address held by several root
    /// collections comes once per collection. A column with an address format is read value by
    /// value (distinct values) and its addresses taken out in Rust: an address may then come
    /// more than once.
    pub async fn list_emails(&self, found: &mut (dyn for<'a> FnMut(&'a str) + Send)) -> Result<(), ConnectorError> {
        let pool = self.pool().await?;
        for plan in &self.plans {
            let cols = &plan.email;
            if cols.is_empty() {
                continue;
            }
            let doing = Doing::Reading { collection: &plan.name, table: &plan.table };
            let (embedded, bare): (Vec<EmailColumn>, Vec<EmailColumn>) =
                cols.iter().cloned().partition(|c| c.format.is_embedded());
            let mut queries: Vec<(String, AddressFormat)> = Vec::new();
            if !bare.is_empty() {
                queries.push((self.emails_query(&plan.table, &bare), AddressFormat::Bare));
            }
            // A column holding `Name <address>` or lists: its distinct values, each read in Rust
            // by the same parser as matching.
            for col in &embedded {
                let quoted = self.dialect.quote(&col.name);
                let alias = self.dialect.quote("email");
                let table = self.dialect.quote(&plan.table);
                // MySQL de-duplicates under the column's collation: `élodie@…` and `elodie@…` would
                // be one value, and one address lost. Compare the bytes.
                let value = match self.dialect {
                    Dialect::MySql => format!("CONVERT({quoted} USING utf8mb4) COLLATE utf8mb4_bin"),
                    Dialect::Postgres | Dialect::Sqlite => quoted.clone(),
                };
                let sql = format!("SELECT DISTINCT {value} AS {alias} FROM {table} WHERE {quoted} IS NOT NULL");
                queries.push((sql, col.format));
            }
            for (sql, format) in queries {
                let mut rows = pool.fetch(sql, Vec::new());
                while let Some(next) = rows.next().await {
                    let record = match next {
                        Ok(r) => r,
                        Err(FetchError::Sql(e)) => return Err(self.error(e, doing)),
                        Err(FetchError::Decode(e)) => return Err(self.decode_error(e, plan)),
                    };
                    let Some(Value::String(value)) = record.values().next() else { continue };
                    match format {
                        AddressFormat::Bare if !value.is_empty() => found(value),
                        AddressFormat::Bare => {}
                        _ => address::addresses(value, format).iter().for_each(|a| found(a)),
                    }
                }
            }
        }
        Ok(())
    }

    /// The distinct non-empty values of `cols`, normalised as matching compares them. `UNION` and
    /// `DISTINCT` leave the de-duplication to the database.
    fn emails_query(&self, table: &str, cols: &[EmailColumn]) -> String {
        let alias = self.dialect.quote("email");
        let one = |col: &EmailColumn| {
            let normalised = format!("LOWER(TRIM({}))", self.dialect.quote(&col.name));
            // MySQL de-duplicates under the column's collation, where `é` may equal `e`: compare
            // the bytes, so that no address is merged into another.
            let normalised = match self.dialect {
                Dialect::MySql => format!("CONVERT({normalised} USING utf8mb4) COLLATE utf8mb4_bin"),
                Dialect::Postgres | Dialect::Sqlite => normalised,
            };
            format!("SELECT {normalised} AS {alias} FROM {}", self.dialect.quote(table))
        };
        let union = cols.iter().map(one).collect::<Vec<_>>().join(" UNION ");
        let addresses = self.dialect.quote("addresses");
        format!("SELECT DISTINCT {alias} FROM ({union}) {addresses} WHERE {alias} IS NOT NULL AND {alias} <> ''")
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn updates_run_first_then_deletes_children_before_parents() {
        let step =
            |collection: &str, change: Change| Step { collection: collection.into(), key: Values::new(), change };
        let update = || Change::Update(vec![("phone".into(), FieldWrite::Null)]);
        let steps = [
            step("contacts", Change::Delete),
            step("events", Change::Delete),
            step("contacts", update()),
            step("links", Change::Delete),
            step("events", Change::Delete),
            step("invoices", update()),
        ];
        // Collection positions in the configuration: links 1, contacts 2, invoices 3, events 4.
        let targets = [2, 4, 2, 1, 4, 3];
        assert_eq!(execution_order(&steps, &targets), [2, 5, 1, 4, 0, 3]);
    }

    #[test]
    fn postgres_casts_to_safe_type_names_only() {
        let types: Types = [
            ("birth_date", "DATE"),
            ("score", "DOUBLE PRECISION"),
            ("tags", "TEXT[]"),
            ("odd", "\"CHAR\""),
            ("evil", "INT) OR (1"),
        ]
        .into_iter()
        .map(|(c, t)| (c.to_string(), t.to_string()))
        .collect();
        let mut b = Binder::new(Dialect::Postgres, &types);
        assert_eq!(b.slot("birth_date", &json!("1984-02-29")), "CAST($1 AS DATE)");
        assert_eq!(b.slot("score", &json!(1.5)), "CAST($2 AS DOUBLE PRECISION)");
        assert_eq!(b.slot("tags", &json!(null)), "CAST($3 AS TEXT[])");
        assert_eq!(b.slot("odd", &json!("x")), "$4");
        assert_eq!(b.slot("evil", &json!(7)), "$5");
        assert_eq!(b.slot("unknown", &json!(true)), "$6");
        assert_eq!(
            b.binds,
            [
                Bind::Text("1984-02-29".into()),
                Bind::Text("1.5".into()),
                Bind::Null,
                Bind::Text("x".into()),
                Bind::Int(7),
                Bind::Int(1)
            ]
        );
        let mut b = Binder::new(Dialect::MySql, &types);
        assert_eq!(b.slot("birth_date", &json!(true)), "?");
        assert_eq!(b.slot("score", &json!(2.5)), "?");
        assert_eq!(b.binds, [Bind::Int(1), Bind::Text("2.5".into())]);
    }
}
