//! Fixed-window rate limits kept in the store, so every instance shares them.

use anyhow::Context;

use super::Conn;

/// Counts one hit in `bucket` for the window containing `now` and returns the hits so far.
pub async fn hit(conn: &mut Conn, bucket: &str, window_ms: i64, now: i64) -> anyhow::Result<i64> {
    let window_start = now - now.rem_euclid(window_ms);
    let hits: i32 = sqlx::query_scalar(
        "INSERT INTO rate_limits (bucket, window_start, hits) VALUES ($1, $2, 1) \
         ON CONFLICT (bucket, window_start) DO UPDATE SET hits = rate_limits.hits + 1 RETURNING hits",
    )
    .bind(bucket)
    .bind(window_start)
    .fetch_one(&mut *conn)
    .await
    .context("counting a rate-limited action")?;
    Ok(hits as i64)
}

/// Forgets windows that started before `before`.
pub async fn purge(conn: &mut Conn, before: i64) -> anyhow::Result<u64> {
    let done = sqlx::query("DELETE FROM rate_limits WHERE window_start < $1")
        .bind(before)
        .execute(&mut *conn)
        .await
        .context("purging rate limits")?;
    Ok(done.rows_affected())
}
