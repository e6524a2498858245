//! Pure helpers for the dashboard: percentiles over durations, the months of a period, and the
//! geometry of the server-rendered SVG charts (bars, stacks, axis ticks). No I/O: the handler
//! feeds numbers in, the template draws what comes out, so the page needs no JavaScript.

use time::{Date, Month};

/// The `p`-th percentile (0–100) of `values`, by linear interpolation between the closest ranks
/// (the method of spreadsheets' `PERCENTILE.INC` and numpy's default). `None` when empty.
pub fn percentile(values: &[i64], p: f64) -> Option<f64> {
    if values.is_empty() || !(0.0..=100.0).contains(&p) {
        return None;
    }
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    let rank = (sorted.len() - 1) as f64 * p / 100.0;
    let lo = rank.floor() as usize;
    let hi = rank.ceil() as usize;
    let (a, b) = (sorted[lo] as f64, sorted[hi] as f64);
    Some(a + (b - a) * (rank - lo as f64))
}

/// `n` with at most one decimal, in the locale's style (`12`, `12.5` / `12,5`).
pub fn one_decimal(n: f64, french: bool) -> String {
    let rounded = (n * 10.0).round() / 10.0;
    let s = if rounded.fract() == 0.0 { format!("{rounded:.0}") } else { format!("{rounded:.1}") };
    if french { s.replace('.', ",") } else { s }
}

/// A whole percentage of `part` in `whole` (rounded half up), `None` when `whole` is 0.
pub fn percent(part: usize, whole: usize) -> Option<u32> {
    (whole > 0).then(|| ((part as f64 * 100.0 / whole as f64) + 0.5).floor() as u32)
}

/// A month, as the first day of it.
pub fn month_start(d: Date) -> Date {
    d.replace_day(1).unwrap_or(d)
}

/// The first day of the month after `d`'s.
pub fn next_month(d: Date) -> Date {
    let (y, m) =
        if d.month() == Month::December { (d.year() + 1, Month::January) } else { (d.year(), d.month().next()) };
    Date::from_calendar_date(y, m, 1).unwrap_or(d)
}

/// `count` months ending with `last`'s month, oldest first, each as its first day.
pub fn months_ending(last: Date, count: usize) -> Vec<Date> {
    let mut months = Vec::with_capacity(count);
    let mut m = month_start(last);
    for _ in 0..count {
        months.push(m);
        let prev = m.previous_day().map(month_start);
        match prev {
            Some(p) => m = p,
            None => break,
        }
    }
    months.reverse();
    months
}

/// Months from `from`'s to `to`'s, inclusive, oldest first (empty if `to` is before `from`).
pub fn months_between(from: Date, to: Date) -> Vec<Date> {
    let mut months = Vec::new();
    let mut m = month_start(from);
    while m <= to && months.len() < 1200 {
        months.push(m);
        m = next_month(m);
    }
    months
}

/// `YYYY-MM`, the key a month is grouped by in the store (`received_on` is `YYYY-MM-DD`).
pub fn month_key(d: Date) -> String {
    format!("{:04}-{:02}", d.year(), u8::from(d.month()))
}

/// Parses `YYYY-MM` into the month's first day.
pub fn parse_month(s: &str) -> Option<Date> {
    let (y, m) = s.split_once('-')?;
    if y.len() != 4 || m.len() != 2 {
        return None;
    }
    let month = Month::try_from(m.parse::<u8>().ok()?).ok()?;
    Date::from_calendar_date(y.parse().ok()?, month, 1).ok()
}

/// A "nice" upper bound for an axis: 1, 2, 5 × 10ⁿ at or above `max` (at least 1).
pub fn nice_max(max: i64) -> i64 {
    if max <= 1 {
        return 1;
    }
    let mut step = 1i64;
    loop {
        for m in [1, 2, 5] {
            if step * m >= max {
                return step * m;
            }
        }
        step = step.saturating_mul(10);
    }
}

/// One drawn rectangle; `label` becomes its tooltip (`<title>`).
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    pub x: f64,
    pub y: f64,
    pub w: f64,
    pub h: f64,
    pub class: String,
    pub label: String,
}

/// A text on the chart (axis labels, ticks).
#[derive(Debug, Clone, PartialEq)]
pub struct Label {
    pub x: f64,
    pub y: f64,
    /// `start`, `middle` or `end`.
    pub anchor: &'static str,
    pub text: String,
}

/// A horizontal grid line at a tick.
#[derive(Debug, Clone, PartialEq)]
pub struct Grid {
    pub y: f64,
    pub x1: f64,
    pub x2: f64,
}

/// Everything the template draws for one chart.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Svg {
    pub width: u32,
    pub height: u32,
    pub bars: Vec<Bar>,
    pub labels: Vec<Label>,
    pub grid: Vec<Grid>,
}

const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 240.0;
const LEFT: f64 = 44.0;
const RIGHT: f64 = 8.0;
const TOP: f64 = 12.0;
const BOTTOM: f64 = 36.0;

/// One column of a (stacked) column chart: its label under the axis and its segments, bottom up,
/// as (CSS class, value, tooltip).
pub struct Column {
    pub label: String,
    pub segments: Vec<(String, i64, String)>,
}

/// A column chart with stacked segments, a zero-based axis with three ticks.
pub fn columns(cols: &[Column]) -> Svg {
    let mut svg = Svg { width: WIDTH as u32, height: HEIGHT as u32, ..Default::default() };
    let total = |c: &Column| c.segments.iter().map(|s| s.1.max(0)).sum::<i64>();
    let max = nice_max(cols.iter().map(total).max().unwrap_or(0));
    let plot_h = HEIGHT - TOP - BOTTOM;
    let base = TOP + plot_h;
    for tick in [0, max / 2, max] {
        let y = base - plot_h * tick as f64 / max as f64;
        svg.grid.push(Grid { y: round(y), x1: LEFT, x2: WIDTH - RIGHT });
        svg.labels.push(Label { x: LEFT - 6.0, y: round(y + 4.0), anchor: "end", text: tick.to_string() });
    }
    if cols.is_empty() {
        return svg;
    }
    let slot = (WIDTH - LEFT - RIGHT) / cols.len() as f64;
    let w = (slot * 0.7).max(1.0);
    // Labels would overlap beyond about 14 columns: show every other one.
    let every = if cols.len() > 14 { 2 } else { 1 };
    for (i, c) in cols.iter().enumerate() {
        let x = LEFT + slot * i as f64 + (slot - w) / 2.0;
        let mut y = base;
        for (class, value, label) in &c.segments {
            if *value <= 0 {
                continue;
            }
            let h = plot_h * *value as f64 / max as f64;
            y -= h;
            svg.bars.push(Bar {
                x: round(x),
                y: round(y),
                w: round(w),
                h: round(h),
                class: class.clone(),
                label: label.clone(),
            });
        }
        if i % every == 0 {
            svg.labels.push(Label {
                x: round(x + w / 2.0),
                y: HEIGHT - BOTTOM + 16.0,
                anchor: "middle",
                text: c.label.clone(),
            });
        }
    }
    svg
}

/// Horizontal bars, one per row (label on the left, value at the end of the bar).
pub fn rows(items: &[(String, i64)], class: &str) -> Svg {
    const ROW: f64 = 28.0;
    const LABEL_W: f64 = 180.0;
    let height = (items.len().max(1) as f64 * ROW + 8.0).round();
    let mut svg = Svg { width: WIDTH as u32, height: height as u32, ..Default::default() };
    let max = nice_max(items.iter().map(|i| i.1).max().unwrap_or(0));
    let plot_w = WIDTH - LABEL_W - 48.0;
    for (i, (label, value)) in items.iter().enumerate() {
        let y = 4.0 + ROW * i as f64;
        let w = plot_w * (*value).max(0) as f64 / max as f64;
        svg.labels.push(Label { x: LABEL_W - 8.0, y: round(y + 18.0), anchor: "end", text: label.clone() });
        svg.bars.push(Bar {
            x: LABEL_W,
            y: round(y + 4.0),
            w: round(w),
            h: ROW - 8.0,
            class: class.to_owned(),
            label: format!("{label}: {value}"),
        });
        svg.labels.push(Label {
            x: round(LABEL_W + w + 6.0),
            y: round(y + 18.0),
            anchor: "start",
            text: value.to_string(),
        });
    }
    svg
}

/// One bar split in two shares (e.g. on time / late), full width = 100 %.
pub fn split(first: (usize, &str, String), second: (usize, &str, String)) -> Svg {
    let mut svg = Svg { width: WIDTH as u32, height: 40, ..Default::default() };
    let total = first.0 + second.0;
    if total == 0 {
        svg.bars.push(Bar { x: 0.0, y: 4.0, w: WIDTH, h: 32.0, class: "empty".into(), label: String::new() });
        return svg;
    }
    let w1 = WIDTH * first.0 as f64 / total as f64;
    svg.bars.push(Bar { x: 0.0, y: 4.0, w: round(w1), h: 32.0, class: first.1.to_owned(), label: first.2 });
    svg.bars.push(Bar {
        x: round(w1),
        y: 4.0,
        w: round(WIDTH - w1),
        h: 32.0,
        class: second.1.to_owned(),
        label: second.2,
    });
    svg
}

fn round(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

/// Days-to-close buckets: (lowest day, highest day or `None` for open-ended).
pub const DAY_BUCKETS: [(i64, Option<i64>); 8] = [
    (0, Some(7)),
    (8, Some(14)),
    (15, Some(21)),
    (22, Some(30)),
    (31, Some(45)),
    (46, Some(60)),
    (61, Some(90)),
    (91, None),
];

/// How many durations fall in each of [`DAY_BUCKETS`].
pub fn histogram(days: &[i64]) -> [usize; DAY_BUCKETS.len()] {
    let mut out = [0; DAY_BUCKETS.len()];
    for d in days {
        if let Some(i) = DAY_BUCKETS.iter().position(|(lo, hi)| *d >= *lo && hi.is_none_or(|h| *d <= h)) {
            out[i] += 1;
        } else {
            // Negative durations (a date entered before the receipt) count as the first bucket.
            out[0] += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn percentiles_interpolate_between_ranks() {
        assert_eq!(percentile(&[], 50.0), None);
        assert_eq!(percentile(&[7], 50.0), Some(7.0));
        assert_eq!(percentile(&[7], 90.0), Some(7.0));
        // Odd count: the middle value, whatever the input order.
        assert_eq!(percentile(&[30, 1, 12, 5, 20], 50.0), Some(12.0));
        // Even count: halfway between the two middle values.
        assert_eq!(percentile(&[1, 2, 3, 4], 50.0), Some(2.5));
        // p90 of 1..=10: rank 8.1 → 9 + 0.1 × (10 − 9).
        let ten: Vec<i64> = (1..=10).collect();
        assert!((percentile(&ten, 90.0).unwrap() - 9.1).abs() < 1e-9);
        assert_eq!(percentile(&ten, 0.0), Some(1.0));
        assert_eq!(percentile(&ten, 100.0), Some(10.0));
        assert_eq!(percentile(&ten, 101.0), None);
        // The dashboard test's data: median 12, p90 27.
        let days = [3, 5, 8, 10, 11, 13, 15, 20, 26, 36];
        assert_eq!(percentile(&days, 50.0), Some(12.0));
        assert!((percentile(&days, 90.0).unwrap() - 27.0).abs() < 1e-9);
    }

    #[test]
    fn numbers_read_in_each_language() {
        assert_eq!(one_decimal(12.0, false), "12");
        assert_eq!(one_decimal(12.25, false), "12.3");
        assert_eq!(one_decimal(12.5, true), "12,5");
        assert_eq!(one_decimal(26.999_999, true), "27");
        assert_eq!(percent(4, 5), Some(80));
        assert_eq!(percent(1, 3), Some(33));
        assert_eq!(percent(2, 3), Some(67));
        assert_eq!(percent(0, 0), None);
    }

    #[test]
    fn months_of_a_period() {
        assert_eq!(
            months_ending(date!(2026 - 03 - 10), 3),
            [date!(2026 - 01 - 01), date!(2026 - 02 - 01), date!(2026 - 03 - 01)]
        );
        let year = months_ending(date!(2026 - 03 - 31), 12);
        assert_eq!(year.len(), 12);
        assert_eq!(year[0], date!(2025 - 04 - 01));
        assert_eq!(next_month(date!(2025 - 12 - 15)), date!(2026 - 01 - 01));
        assert_eq!(months_between(date!(2025 - 11 - 20), date!(2026 - 02 - 01)).len(), 4);
        assert!(months_between(date!(2026 - 02 - 01), date!(2025 - 02 - 01)).is_empty());
        assert_eq!(month_key(date!(2026 - 03 - 10)), "2026-03");
        assert_eq!(parse_month("2026-03"), Some(date!(2026 - 03 - 01)));
        for bad in ["2026-13", "2026-3", "26-03", "march", "2026-00", ""] {
            assert_eq!(parse_month(bad), None, "{bad}");
        }
    }

    #[test]
    fn axes_end_on_round_numbers() {
        assert_eq!(nice_max(0), 1);
        assert_eq!(nice_max(1), 1);
        assert_eq!(nice_max(3), 5);
        assert_eq!(nice_max(7), 10);
        assert_eq!(nice_max(11), 20);
        assert_eq!(nice_max(180), 200);
        assert_eq!(nice_max(501), 1000);
    }

    #[test]
    fn stacked_columns_scale_to_the_tallest() {
        let cols = vec![
            Column {
                label: "Jan".into(),
                segments: vec![("a".into(), 2, "2 a".into()), ("b".into(), 3, "3 b".into())],
            },
            Column {
                label: "Feb".into(),
                segments: vec![("a".into(), 0, String::new()), ("b".into(), 10, "10 b".into())],
            },
        ];
        let svg = columns(&cols);
        // Zero segments are not drawn; the tallest column (10) fills the plot (192 px).
        assert_eq!(svg.bars.len(), 3);
        let plot = HEIGHT - TOP - BOTTOM;
        assert_eq!(svg.bars[2].h, plot);
        assert_eq!(svg.bars[2].y, TOP);
        // Stacked: the second segment sits on the first.
        assert!((svg.bars[1].y + svg.bars[1].h - svg.bars[0].y).abs() < 0.2);
        assert_eq!(svg.bars[0].h + svg.bars[1].h, round(plot / 2.0));
        let ticks: Vec<_> = svg.labels.iter().filter(|l| l.anchor == "end").map(|l| l.text.as_str()).collect();
        assert_eq!(ticks, ["0", "5", "10"]);
        assert_eq!(columns(&[]).bars.len(), 0);
    }

    #[test]
    fn rows_and_splits() {
        let svg = rows(&[("crm".into(), 4), ("loyalty".into(), 1)], "fail");
        assert_eq!(svg.bars.len(), 2);
        assert!(svg.bars[0].w > svg.bars[1].w * 3.9 && svg.bars[0].w < svg.bars[1].w * 4.1);
        let s = split((4, "on-time", "4".into()), (1, "late", "1".into()));
        assert_eq!(s.bars[0].w, 512.0);
        assert_eq!(s.bars[1].x, 512.0);
        assert_eq!(split((0, "a", String::new()), (0, "b", String::new())).bars[0].class, "empty");
    }

    #[test]
    fn durations_fall_in_one_bucket_each() {
        let h = histogram(&[0, 7, 8, 30, 31, 90, 91, 400, -1]);
        assert_eq!(h, [3, 1, 0, 1, 1, 0, 1, 2]);
        assert_eq!(h.iter().sum::<usize>(), 9);
    }
}
