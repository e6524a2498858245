//! Rows to JSON, from each driver's own type information.
//!
//! | SQL type | JSON |
//! | --- | --- |
//! | integers (any width, signed or not), MySQL `YEAR`, `BIT` | number |
//! | `REAL`/`FLOAT`/`DOUBLE` | number (`"NaN"`, `"inf"`, `"-inf"` as strings) |
//! | `BOOLEAN` (PostgreSQL `BOOL`, MySQL `TINYINT(1)`, SQLite column declared `BOOLEAN`) | `true`/`false` |
//! | `NUMERIC`/`DECIMAL` | string, exact (`"12345678901234567.89"`, scale kept) |
//! | text types, enums, `UUID` | string; bytes that are not valid UTF-8: see below |
//! | `DATE` | `"YYYY-MM-DD"` |
//! | `TIME` | `"HH:MM:SS[.ffffff]"` |
//! | `TIMESTAMP`/`DATETIME` (no zone) | `"YYYY-MM-DDTHH:MM:SS[.ffffff]"` |
//! | `TIMESTAMPTZ`, MySQL `TIMESTAMP` | RFC 3339 with offset, in UTC: `"2024-03-01T08:15:30Z"` |
//! | binary types | base64 (standard alphabet, padded) |
//! | `JSON`/`JSONB` | embedded JSON |
//! | PostgreSQL arrays of text, integers, booleans | JSON arrays |
//! | `NULL` | `null` |
//!
//! SQLite is dynamically typed: a value is decoded by its storage class (INTEGER, REAL, TEXT,
//! BLOB), except that an integer in a column declared `BOOLEAN` becomes `true`/`false`.
//! Any other type is read as text if the driver can; otherwise [`DecodeError`] names the column.
//!
//! A text value whose bytes are not valid UTF-8 (SQLite stores any bytes in `TEXT`; a PostgreSQL
//! `SQL_ASCII` database, a MySQL text column read with a binary collation) is exported as those
//! bytes, never guessed at and never a failed job: the object
//! `{"base64": "<the bytes, standard base64, padded>", "note": "not valid UTF-8 text: ..."}` (see
//! [`text_or_bytes`]), which no string value can be mistaken for.

use base64::Engine as _;
use serde_json::Value;
use sqlx::error::BoxDynError;
use sqlx::mysql::{MySql, MySqlRow};
use sqlx::postgres::{PgRow, PgTypeKind, PgValueFormat, Postgres};
use sqlx::sqlite::{Sqlite, SqliteRow};
use sqlx::{Column, Decode, Row, TypeInfo, ValueRef};
use time::{Date, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

use crate::connectors::Record;

/// A value the connector could not turn into JSON.
#[derive(Debug)]
pub struct DecodeError {
    pub column: String,
    pub type_name: String,
    pub cause: Option<BoxDynError>,
}

fn b64(bytes: &[u8]) -> Value {
    Value::String(base64::engine::general_purpose::STANDARD.encode(bytes))
}

/// What the export says beside the bytes of a text value that is not valid UTF-8.
pub const NOT_TEXT_NOTE: &str = "not valid UTF-8 text: the value's bytes as stored, base64-encoded";

/// A text value as a JSON string, or, when its bytes are not valid UTF-8, as
/// `{"base64": …, "note": NOT_TEXT_NOTE}`: the person gets exactly what is stored.
pub fn text_or_bytes(bytes: Vec<u8>) -> Value {
    match String::from_utf8(bytes) {
        Ok(s) => Value::String(s),
        Err(e) => {
            let mut object = serde_json::Map::new();
            object.insert("base64".into(), b64(e.as_bytes()));
            object.insert("note".into(), Value::String(NOT_TEXT_NOTE.into()));
            Value::Object(object)
        }
    }
}

fn float(x: f64) -> Value {
    match serde_json::Number::from_f64(x) {
        Some(n) => Value::Number(n),
        None => Value::String(x.to_string()),
    }
}

/// An `f32` as the shortest decimal that reads back as it (`1.1`, not `1.100000023841858`).
fn float32(x: f32) -> Value {
    match x.to_string().parse::<f64>() {
        Ok(v) => float(v),
        Err(_) => float(f64::from(x)),
    }
}

pub fn fmt_date(d: Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

pub fn fmt_time(t: Time) -> String {
    let mut s = format!("{:02}:{:02}:{:02}", t.hour(), t.minute(), t.second());
    let nanos = t.nanosecond();
    if nanos != 0 {
        let frac = format!("{nanos:09}");
        s.push('.');
        s.push_str(frac.trim_end_matches('0'));
    }
    s
}

pub fn fmt_naive(dt: PrimitiveDateTime) -> String {
    format!("{}T{}", fmt_date(dt.date()), fmt_time(dt.time()))
}

pub fn fmt_offset(dt: OffsetDateTime) -> String {
    let offset = dt.offset();
    let zone = if offset == UtcOffset::UTC {
        "Z".to_string()
    } else {
        let (h, m, _) = offset.as_hms();
        let sign = if offset.is_negative() { '-' } else { '+' };
        format!("{sign}{:02}:{:02}", h.unsigned_abs(), m.unsigned_abs())
    };
    format!("{}T{}{zone}", fmt_date(dt.date()), fmt_time(dt.time()))
}

/// Text that is plausibly a string rather than a binary encoding read as one.
fn plausible_text(s: &str) -> bool {
    !s.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
}

macro_rules! dec {
    ($db:ty, $t:ty, $raw:expr) => {
        <$t as Decode<'_, $db>>::decode($raw)
    };
}

fn record_from<R: Row>(
    row: &R,
    mut value: impl FnMut(usize) -> Result<Value, (String, Option<BoxDynError>)>,
) -> Result<Record, DecodeError> {
    let mut record = Record::new();
    for (i, col) in row.columns().iter().enumerate() {
        let v =
            value(i).map_err(|(type_name, cause)| DecodeError { column: col.name().to_string(), type_name, cause })?;
        record.insert(col.name().to_string(), v);
    }
    Ok(record)
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL

pub fn pg_record(row: &PgRow) -> Result<Record, DecodeError> {
    record_from(row, |i| pg_value(row, i))
}

fn pg_value(row: &PgRow, i: usize) -> Result<Value, (String, Option<BoxDynError>)> {
    let raw = row.try_get_raw(i).map_err(|e| ("unknown".to_string(), Some(e.into())))?;
    if raw.is_null() {
        return Ok(Value::Null);
    }
    let ty = raw.type_info().into_owned();
    let name = ty.name().to_ascii_uppercase();
    let fail = |e: BoxDynError| (name.clone(), Some(e));
    let v = match name.as_str() {
        "BOOL" => Value::Bool(dec!(Postgres, bool, raw).map_err(fail)?),
        "INT2" => Value::from(dec!(Postgres, i16, raw).map_err(fail)?),
        "INT4" => Value::from(dec!(Postgres, i32, raw).map_err(fail)?),
        "INT8" => Value::from(dec!(Postgres, i64, raw).map_err(fail)?),
        "OID" => Value::from(dec!(Postgres, sqlx::postgres::types::Oid, raw).map_err(fail)?.0),
        "FLOAT4" => float32(dec!(Postgres, f32, raw).map_err(fail)?),
        "FLOAT8" => float(dec!(Postgres, f64, raw).map_err(fail)?),
        "NUMERIC" => Value::String(pg_numeric(raw).map_err(fail)?),
        // Binary or text format alike, a text value travels as its bytes.
        "TEXT" | "VARCHAR" | "BPCHAR" | "NAME" | "CITEXT" | "XML" | "UNKNOWN" => {
            text_or_bytes(raw.as_bytes().map_err(fail)?.to_vec())
        }
        "\"CHAR\"" | "CHAR" => {
            let c = dec!(Postgres, i8, raw).map_err(fail)?;
            Value::String(char::from(c.cast_unsigned()).to_string())
        }
        "DATE" => Value::String(fmt_date(dec!(Postgres, Date, raw).map_err(fail)?)),
        "TIME" => Value::String(fmt_time(dec!(Postgres, Time, raw).map_err(fail)?)),
        "TIMESTAMP" => Value::String(fmt_naive(dec!(Postgres, PrimitiveDateTime, raw).map_err(fail)?)),
        "TIMESTAMPTZ" => Value::String(fmt_offset(dec!(Postgres, OffsetDateTime, raw).map_err(fail)?)),
        "BYTEA" => b64(&dec!(Postgres, Vec<u8>, raw).map_err(fail)?),
        "JSON" | "JSONB" => dec!(Postgres, Value, raw).map_err(fail)?,
        "UUID" => Value::String(pg_uuid(raw).map_err(fail)?),
        "INTERVAL" => {
            let iv = dec!(Postgres, sqlx::postgres::types::PgInterval, raw).map_err(fail)?;
            Value::String(iso_interval(iv.months, iv.days, iv.microseconds))
        }
        "TEXT[]" | "VARCHAR[]" | "BPCHAR[]" | "NAME[]" => {
            Value::from(dec!(Postgres, Vec<Option<String>>, raw).map_err(fail)?)
        }
        "INT2[]" => Value::from(dec!(Postgres, Vec<Option<i16>>, raw).map_err(fail)?),
        "INT4[]" => Value::from(dec!(Postgres, Vec<Option<i32>>, raw).map_err(fail)?),
        "INT8[]" => Value::from(dec!(Postgres, Vec<Option<i64>>, raw).map_err(fail)?),
        "BOOL[]" => Value::from(dec!(Postgres, Vec<Option<bool>>, raw).map_err(fail)?),
        _ => {
            // Enums travel as their label; other unknown types are accepted as text only when
            // their bytes read as plain text.
            let is_enum = matches!(ty.kind(), PgTypeKind::Enum(_));
            let text = raw.as_str().map_err(fail)?;
            if is_enum || plausible_text(text) {
                Value::String(text.to_string())
            } else {
                return Err((name, None));
            }
        }
    };
    Ok(v)
}

fn pg_uuid(raw: sqlx::postgres::PgValueRef<'_>) -> Result<String, BoxDynError> {
    if raw.format() == PgValueFormat::Text {
        return Ok(raw.as_str()?.to_string());
    }
    let b = raw.as_bytes()?;
    if b.len() != 16 {
        return Err("a UUID must be 16 bytes".into());
    }
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    Ok(format!("{}-{}-{}-{}-{}", &hex[0..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..32]))
}

/// ISO 8601 duration: `P1Y2M3DT4H5M6.5S`, `PT0S` when zero.
fn iso_interval(months: i32, days: i32, micros: i64) -> String {
    let mut s = String::from("P");
    let (y, m) = (months / 12, months % 12);
    if y != 0 {
        s.push_str(&format!("{y}Y"));
    }
    if m != 0 {
        s.push_str(&format!("{m}M"));
    }
    if days != 0 {
        s.push_str(&format!("{days}D"));
    }
    if micros != 0 {
        let neg = micros < 0;
        let total = micros.unsigned_abs();
        let (h, rem) = (total / 3_600_000_000, total % 3_600_000_000);
        let (min, rem) = (rem / 60_000_000, rem % 60_000_000);
        let (sec, frac) = (rem / 1_000_000, rem % 1_000_000);
        let sign = if neg { "-" } else { "" };
        s.push('T');
        if h != 0 {
            s.push_str(&format!("{sign}{h}H"));
        }
        if min != 0 {
            s.push_str(&format!("{sign}{min}M"));
        }
        if sec != 0 || frac != 0 {
            let f = format!("{frac:06}");
            let f = f.trim_end_matches('0');
            if f.is_empty() {
                s.push_str(&format!("{sign}{sec}S"));
            } else {
                s.push_str(&format!("{sign}{sec}.{f}S"));
            }
        }
    }
    if s == "P" {
        s.push_str("T0S");
    }
    s
}

/// PostgreSQL `NUMERIC`, exactly, at any precision (the binary form is base-10000 digits).
fn pg_numeric(raw: sqlx::postgres::PgValueRef<'_>) -> Result<String, BoxDynError> {
    if raw.format() == PgValueFormat::Text {
        return Ok(raw.as_str()?.to_string());
    }
    numeric_from_binary(raw.as_bytes()?)
}

pub(super) fn numeric_from_binary(b: &[u8]) -> Result<String, BoxDynError> {
    let word = |i: usize| -> Result<u16, BoxDynError> {
        b.get(i..i + 2).map(|w| u16::from_be_bytes([w[0], w[1]])).ok_or_else(|| "truncated NUMERIC value".into())
    };
    let ndigits = usize::from(word(0)?);
    let weight = i32::from(word(2)?.cast_signed());
    let sign = word(4)?;
    let dscale = usize::from(word(6)?);
    match sign {
        0x0000 | 0x4000 => {}
        0xC000 => return Ok("NaN".into()),
        0xD000 => return Ok("Infinity".into()),
        0xF000 => return Ok("-Infinity".into()),
        _ => return Err("invalid NUMERIC sign".into()),
    }
    let mut digits = Vec::with_capacity(ndigits);
    for k in 0..ndigits {
        let d = word(8 + 2 * k)?;
        if d > 9999 {
            return Err("invalid NUMERIC digit".into());
        }
        digits.push(d);
    }
    let digit = |i: i32| -> u16 { usize::try_from(i).ok().and_then(|i| digits.get(i).copied()).unwrap_or(0) };
    let mut int_part = String::new();
    if weight >= 0 {
        for i in 0..=weight {
            if i == 0 {
                int_part.push_str(&digit(i).to_string());
            } else {
                int_part.push_str(&format!("{:04}", digit(i)));
            }
        }
    } else {
        int_part.push('0');
    }
    let mut frac = String::new();
    let groups = dscale.div_ceil(4);
    for j in 1..=groups {
        let j = i32::try_from(j).map_err(|_| "NUMERIC scale too large")?;
        frac.push_str(&format!("{:04}", digit(weight + j)));
    }
    frac.truncate(dscale);
    let negative = sign == 0x4000 && digits.iter().any(|d| *d != 0);
    let mut out = String::new();
    if negative {
        out.push('-');
    }
    out.push_str(&int_part);
    if dscale > 0 {
        out.push('.');
        out.push_str(&frac);
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// MySQL / MariaDB

pub fn mysql_record(row: &MySqlRow) -> Result<Record, DecodeError> {
    record_from(row, |i| mysql_value(row, i))
}

fn mysql_value(row: &MySqlRow, i: usize) -> Result<Value, (String, Option<BoxDynError>)> {
    let raw = row.try_get_raw(i).map_err(|e| ("unknown".to_string(), Some(e.into())))?;
    if raw.is_null() {
        return Ok(Value::Null);
    }
    let ty = raw.type_info().into_owned();
    let name = ty.name().to_string();
    let fail = |e: BoxDynError| (name.clone(), Some(e));
    // A binary-flagged string type whose collation is not `binary` (63) is text with a `_bin`
    // collation (MariaDB stores `JSON` as `LONGTEXT COLLATE utf8mb4_bin`), not bytes.
    let binary_collation = format!("{ty:?}").contains("Collation(63)");
    let v = match name.as_str() {
        "BOOLEAN" => Value::Bool(dec!(MySql, i8, raw).map_err(fail)? != 0),
        "TINYINT" => Value::from(dec!(MySql, i8, raw).map_err(fail)?),
        "SMALLINT" => Value::from(dec!(MySql, i16, raw).map_err(fail)?),
        "INT" | "MEDIUMINT" => Value::from(dec!(MySql, i32, raw).map_err(fail)?),
        "BIGINT" => Value::from(dec!(MySql, i64, raw).map_err(fail)?),
        "TINYINT UNSIGNED" => Value::from(dec!(MySql, u8, raw).map_err(fail)?),
        "SMALLINT UNSIGNED" | "YEAR" => Value::from(dec!(MySql, u16, raw).map_err(fail)?),
        "INT UNSIGNED" | "MEDIUMINT UNSIGNED" => Value::from(dec!(MySql, u32, raw).map_err(fail)?),
        "BIGINT UNSIGNED" | "BIT" => Value::from(dec!(MySql, u64, raw).map_err(fail)?),
        "FLOAT" => float32(dec!(MySql, f32, raw).map_err(fail)?),
        "DOUBLE" => float(dec!(MySql, f64, raw).map_err(fail)?),
        // MySQL sends DECIMAL as its exact decimal text, at any precision.
        "DECIMAL" => Value::String(dec!(MySql, String, raw).map_err(fail)?),
        // A "zero date" (`0000-00-00`, common in older CRMs) arrives as NULL from the server.
        "DATE" => Value::String(fmt_date(dec!(MySql, Date, raw).map_err(fail)?)),
        "DATETIME" => Value::String(fmt_naive(dec!(MySql, PrimitiveDateTime, raw).map_err(fail)?)),
        // The driver sets the session time zone to UTC, so TIMESTAMP values arrive in UTC.
        "TIMESTAMP" => Value::String(fmt_offset(dec!(MySql, OffsetDateTime, raw).map_err(fail)?)),
        "TIME" => Value::String(dec!(MySql, sqlx::mysql::types::MySqlTime, raw).map_err(fail)?.to_string()),
        "CHAR" | "VARCHAR" | "TEXT" | "TINYTEXT" | "MEDIUMTEXT" | "LONGTEXT" | "ENUM" | "SET" => {
            text_or_bytes(dec!(MySql, Vec<u8>, raw).map_err(fail)?)
        }
        "BINARY" | "VARBINARY" | "BLOB" | "TINYBLOB" | "MEDIUMBLOB" | "LONGBLOB" => {
            let bytes = dec!(MySql, Vec<u8>, raw).map_err(fail)?;
            if binary_collation { b64(&bytes) } else { text_or_bytes(bytes) }
        }
        "GEOMETRY" => b64(&dec!(MySql, Vec<u8>, raw).map_err(fail)?),
        "JSON" => dec!(MySql, Value, raw).map_err(fail)?,
        "NULL" => Value::Null,
        _ => {
            let s = dec!(MySql, String, raw).map_err(fail)?;
            if plausible_text(&s) {
                Value::String(s)
            } else {
                return Err((name, None));
            }
        }
    };
    Ok(v)
}

// ---------------------------------------------------------------------------------------------
// SQLite

pub fn sqlite_record(row: &SqliteRow) -> Result<Record, DecodeError> {
    record_from(row, |i| sqlite_value(row, i))
}

fn sqlite_value(row: &SqliteRow, i: usize) -> Result<Value, (String, Option<BoxDynError>)> {
    let declared_bool = row.columns().get(i).is_some_and(|c| c.type_info().name().eq_ignore_ascii_case("BOOLEAN"));
    let raw = row.try_get_raw(i).map_err(|e| ("unknown".to_string(), Some(e.into())))?;
    if raw.is_null() {
        return Ok(Value::Null);
    }
    // For a non-NULL value this is its storage class, whatever the column declares.
    let class = raw.type_info().name().to_string();
    let fail = |e: BoxDynError| (class.clone(), Some(e));
    let v = match class.as_str() {
        "INTEGER" => {
            let n = dec!(Sqlite, i64, raw).map_err(fail)?;
            if declared_bool && (n == 0 || n == 1) { Value::Bool(n == 1) } else { Value::from(n) }
        }
        "REAL" => float(dec!(Sqlite, f64, raw).map_err(fail)?),
        "BLOB" => b64(&dec!(Sqlite, Vec<u8>, raw).map_err(fail)?),
        // TEXT: SQLite keeps whatever bytes were written, valid UTF-8 or not.
        _ => text_or_bytes(dec!(Sqlite, Vec<u8>, raw).map_err(fail)?),
    };
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numeric(ndigits: u16, weight: i16, sign: u16, dscale: u16, digits: &[u16]) -> Vec<u8> {
        let mut b = Vec::new();
        for w in [ndigits, weight.cast_unsigned(), sign, dscale] {
            b.extend_from_slice(&w.to_be_bytes());
        }
        for d in digits {
            b.extend_from_slice(&d.to_be_bytes());
        }
        b
    }

    #[test]
    fn numeric_binary_is_decoded_exactly() {
        let b = numeric(6, 4, 0, 2, &[1, 2345, 6789, 123, 4567, 8900]);
        assert_eq!(numeric_from_binary(&b).unwrap(), "12345678901234567.89");
        let b = numeric(1, -1, 0x4000, 5, &[50]);
        assert_eq!(numeric_from_binary(&b).unwrap(), "-0.00500");
        let b = numeric(1, 1, 0, 0, &[7]);
        assert_eq!(numeric_from_binary(&b).unwrap(), "70000");
        let b = numeric(0, 0, 0, 2, &[]);
        assert_eq!(numeric_from_binary(&b).unwrap(), "0.00");
        let b = numeric(0, 0, 0xC000, 0, &[]);
        assert_eq!(numeric_from_binary(&b).unwrap(), "NaN");
        assert!(numeric_from_binary(&[0, 1]).is_err());
    }

    #[test]
    fn intervals_read_as_iso_8601() {
        assert_eq!(iso_interval(14, 3, 3_723_500_000), "P1Y2M3DT1H2M3.5S");
        assert_eq!(iso_interval(0, 0, 0), "PT0S");
    }

    #[test]
    fn timestamps_format_as_iso_8601() {
        use time::macros::datetime;
        assert_eq!(fmt_naive(datetime!(2024-03-01 08:15:30)), "2024-03-01T08:15:30");
        assert_eq!(fmt_naive(datetime!(2024-03-01 08:15:30.25)), "2024-03-01T08:15:30.25");
        assert_eq!(fmt_offset(datetime!(2024-03-01 08:15:30 UTC)), "2024-03-01T08:15:30Z");
        assert_eq!(fmt_offset(datetime!(2024-03-01 08:15:30 -05:30)), "2024-03-01T08:15:30-05:30");
    }
}
