//! `/staff/dashboard`: the numbers of the register at a glance, for a period of months (the last
//! 12 by default): requests per month by right, days to answer (median and 90th percentile), the
//! share answered by the due date, overdue requests now, and the sources that fail most. Each
//! chart is SVG drawn on the server (no JavaScript) with its numbers in a table beside it.

use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;
use time::Date;

use super::charts::{self, Column, Svg};
use super::{READERS, require};
use crate::app::App;
use crate::clock::from_ms;
use crate::domain::{Locale, RequestKind};
use crate::i18n::Tr;
use crate::services::notify::kind_label;
use crate::store::dashboard;
use crate::web::{Page, PageError, urls};

/// The longest period one page reads (every query is bounded by it).
const MAX_MONTHS: usize = 24;
const DEFAULT_MONTHS: usize = 12;
const TOP_SOURCES: u32 = 10;

pub fn url() -> String {
    "/staff/dashboard".into()
}

#[derive(Debug, Default, Deserialize)]
pub struct DashboardQuery {
    /// First month, `YYYY-MM`.
    #[serde(default)]
    from: String,
    /// Last month, `YYYY-MM`.
    #[serde(default)]
    to: String,
}

/// One month's line of the table: its name, the count per right (in `RequestKind::ALL` order)
/// and the total.
pub struct MonthRow {
    pub label: String,
    pub counts: Vec<i64>,
    pub total: i64,
}

pub struct KindLegend {
    pub class: String,
    pub label: &'static str,
}

pub struct Bucket {
    pub label: String,
    pub n: usize,
}

pub struct SourceRow {
    pub label: String,
    pub failed: i64,
    pub runs: i64,
}

#[derive(Template)]
#[template(path = "staff/dashboard.html")]
struct DashboardTemplate<'a> {
    t: Tr,
    page: &'a Page,
    from: String,
    to: String,
    period: String,
    period_error: Option<&'static str>,
    kinds: Vec<KindLegend>,
    months: Vec<MonthRow>,
    months_chart: Svg,
    months_desc: String,
    answered: usize,
    median: Option<String>,
    p90: Option<String>,
    buckets: Vec<Bucket>,
    days_chart: Svg,
    days_desc: String,
    on_time: usize,
    late: usize,
    on_time_share: Option<u32>,
    on_time_chart: Svg,
    on_time_desc: String,
    overdue: i64,
    overdue_url: String,
    sources: Vec<SourceRow>,
    sources_chart: Svg,
    sources_desc: String,
}

/// The period asked for, or the default (the last 12 months) with the reason it was refused.
fn period(q: &DashboardQuery, today: Date) -> (Date, Date, Option<&'static str>) {
    let default = || {
        let months = charts::months_ending(today, DEFAULT_MONTHS);
        (months[0], charts::month_start(today))
    };
    if q.from.is_empty() && q.to.is_empty() {
        let (from, to) = default();
        return (from, to, None);
    }
    let (Some(from), Some(to)) = (charts::parse_month(q.from.trim()), charts::parse_month(q.to.trim())) else {
        let (from, to) = default();
        return (from, to, Some("staff.dashboard.period_invalid"));
    };
    let span = charts::months_between(from, to).len();
    if span == 0 || span > MAX_MONTHS {
        let (from, to) = default();
        return (from, to, Some("staff.dashboard.period_too_long"));
    }
    (from, to, None)
}

fn month_label(t: Tr, m: Date) -> String {
    let name = t.month(m.month());
    format!("{name} {}", m.year())
}

pub async fn show(
    mut page: Page,
    app: web::Data<App>,
    q: web::Query<DashboardQuery>,
) -> Result<HttpResponse, PageError> {
    require(&app, &mut page, READERS).await?;
    let t = page.t;
    let french = t.locale == Locale::Fr;
    let today = app.zone.local_date(app.clock.now()).map_err(anyhow::Error::from)?;
    let (from, to_month, period_error) = period(&q, today);
    let months = charts::months_between(from, to_month);
    // The last day of the period, and the instants that bound it in the controller's time zone.
    let until = charts::next_month(to_month);
    let to = until.previous_day().unwrap_or(to_month);
    let instant = |d: Date| -> anyhow::Result<i64> {
        let midnight = d.midnight().assume_utc();
        let offset = app.zone.offset_at(midnight).map_err(anyhow::Error::from)?;
        Ok((d.midnight().assume_offset(offset).unix_timestamp_nanos() / 1_000_000) as i64)
    };
    let (from_at, until_at) = (instant(from)?, instant(until)?);

    let mut conn = app.store.conn().await?;
    let per_month = dashboard::received_per_month(&mut conn, from, to).await?;
    let answered = dashboard::answered(&mut conn, from, to).await?;
    let overdue = dashboard::overdue(&mut conn, today).await?;
    let failing = dashboard::failing_sources(&mut conn, from_at, until_at, TOP_SOURCES).await?;
    drop(conn);

    // Requests per month by right.
    let kinds: Vec<KindLegend> = RequestKind::ALL
        .iter()
        .map(|k| KindLegend { class: format!("k-{}", k.as_str()), label: kind_label(t, *k) })
        .collect();
    let month_rows: Vec<MonthRow> = months
        .iter()
        .map(|m| {
            let key = charts::month_key(*m);
            let counts: Vec<i64> = RequestKind::ALL
                .iter()
                .map(|k| per_month.iter().filter(|(mk, kind, _)| *mk == key && kind == k).map(|r| r.2).sum())
                .collect();
            MonthRow { label: month_label(t, *m), total: counts.iter().sum(), counts }
        })
        .collect();
    let columns: Vec<Column> = months
        .iter()
        .zip(&month_rows)
        .map(|(m, row)| Column {
            label: format!("{:02}/{:02}", u8::from(m.month()), m.year().rem_euclid(100)),
            segments: RequestKind::ALL
                .iter()
                .zip(&row.counts)
                .map(|(k, n)| (format!("k-{}", k.as_str()), *n, format!("{}, {}: {n}", row.label, kind_label(t, *k))))
                .collect(),
        })
        .collect();
    let received: i64 = month_rows.iter().map(|r| r.total).sum();
    let period_text =
        t.fmt("staff.dashboard.period_text", &[("from", &month_label(t, from)), ("to", &month_label(t, to_month))]);

    // Days to answer, and answered by the due date (extensions count: due_on is the date in force,
    // GDPR Art. 12(3)).
    let mut days = Vec::with_capacity(answered.len());
    let mut on_time = 0;
    for a in &answered {
        let answered_on = app.zone.local_date(from_ms(a.answered_at)).map_err(anyhow::Error::from)?;
        days.push((answered_on - a.received_on).whole_days());
        if answered_on <= a.due_on {
            on_time += 1;
        }
    }
    let late = answered.len() - on_time;
    let in_days = |v: f64| t.fmt("staff.dashboard.days", &[("n", &charts::one_decimal(v, french))]);
    let median = charts::percentile(&days, 50.0).map(in_days);
    let p90 = charts::percentile(&days, 90.0).map(in_days);
    let histogram = charts::histogram(&days);
    let buckets: Vec<Bucket> = charts::DAY_BUCKETS
        .iter()
        .zip(histogram)
        .map(|((lo, hi), n)| Bucket {
            label: match hi {
                Some(hi) => t.fmt("staff.dashboard.days_range", &[("from", &lo.to_string()), ("to", &hi.to_string())]),
                None => t.fmt("staff.dashboard.days_more", &[("from", &lo.to_string())]),
            },
            n,
        })
        .collect();
    let days_chart = charts::columns(
        &buckets
            .iter()
            .map(|b| Column {
                label: b.label.clone(),
                segments: vec![("days".into(), b.n as i64, format!("{}: {}", b.label, b.n))],
            })
            .collect::<Vec<_>>(),
    );
    let on_time_share = charts::percent(on_time, answered.len());
    let on_time_chart = charts::split(
        (on_time, "on-time", t.fmt("staff.dashboard.on_time_n", &[("n", &on_time.to_string())])),
        (late, "late", t.fmt("staff.dashboard.late_n", &[("n", &late.to_string())])),
    );

    // Sources that fail most.
    let sources: Vec<SourceRow> = failing
        .into_iter()
        .map(|f| SourceRow {
            label: app
                .connector(&f.source)
                .map(|c| c.info().label.get(t.locale).trim().to_owned())
                .filter(|l| !l.is_empty())
                .unwrap_or_else(|| f.source.clone()),
            failed: f.failed,
            runs: f.runs,
        })
        .collect();
    let sources_chart = charts::rows(&sources.iter().map(|s| (s.label.clone(), s.failed)).collect::<Vec<_>>(), "fail");

    let body = DashboardTemplate {
        t,
        page: &page,
        from: charts::month_key(from),
        to: charts::month_key(to_month),
        months_desc: t.fmt("staff.dashboard.months_desc", &[("n", &received.to_string()), ("period", &period_text)]),
        period: period_text,
        period_error: period_error.map(|k| t.get(k)),
        kinds,
        months: month_rows,
        months_chart: charts::columns(&columns),
        answered: answered.len(),
        days_desc: match (&median, &p90) {
            (Some(m), Some(p)) => {
                t.fmt("staff.dashboard.days_desc", &[("n", &answered.len().to_string()), ("median", m), ("p90", p)])
            }
            _ => t.get("staff.dashboard.none_answered").to_owned(),
        },
        median,
        p90,
        buckets,
        days_chart,
        on_time_desc: match on_time_share {
            Some(share) => t.fmt(
                "staff.dashboard.on_time_desc",
                &[("share", &share.to_string()), ("on_time", &on_time.to_string()), ("n", &answered.len().to_string())],
            ),
            None => t.get("staff.dashboard.none_answered").to_owned(),
        },
        on_time,
        late,
        on_time_share,
        on_time_chart,
        overdue,
        overdue_url: format!("{}?deadline=overdue", urls::staff_queue()),
        sources_desc: if sources.is_empty() {
            t.get("staff.dashboard.no_failures").to_owned()
        } else {
            t.fmt("staff.dashboard.sources_desc", &[("n", &sources.len().to_string())])
        },
        sources,
        sources_chart,
    }
    .render()
    .map_err(anyhow::Error::from)?;
    Ok(HttpResponse::Ok().content_type("text/html; charset=utf-8").body(body))
}
