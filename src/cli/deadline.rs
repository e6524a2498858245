//! `dossier deadline`: when is a request due?
//!
//! ```text
//! dossier deadline --policy eu-gdpr --country FR --received 2026-01-31T10:00:00+01:00
//! received: 2026-01-31
//! due: 2026-03-02
//! extension_notice_by: 2026-03-02
//! extended_due: 2026-04-30
//! ```
//!
//! The received instant is converted to the controller's local date in `--timezone`, by default
//! the country's usual zone ([`Country::default_time_zone`]: Europe/Paris for FR,
//! America/Los_Angeles for US, ...); the country defaults to the policy's
//! ([`Policy::default_country`]: FR for eu-gdpr, GB-EAW for uk-gdpr, US for ccpa, BR for lgpd).
//! A plain date (`2026-01-31`) is taken as the local date already. Under CCPA a fifth line,
//! `confirm_receipt_by`, gives the 10-business-day receipt confirmation date; under LGPD, which
//! has no extension, the extension lines read `none`. `--json` prints the same as one JSON object
//! (absent dates are `null`). Bad input: one line on stderr, exit status 2.
//!
//! Closure days count as holidays: `--closed` (alias `--closure-day`) in the calendar computed,
//! and those of a `--config` file in the calendar they belong to, as `dossier serve` counts them:
//! `[deadlines] closure_days` in the controller's (its `[controller] country`),
//! `[deadlines.clock.<policy>] closure_days` in the one that policy is counted in.

use std::process::ExitCode;

use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, OffsetDateTime};

use crate::deadlines::{Country, Deadline, ExtraClosure, HolidayCalendar, Policy, Zone};

#[derive(Debug, clap::Args)]
pub struct DeadlineArgs {
    /// Jurisdiction policy: eu-gdpr, uk-gdpr, ccpa or lgpd.
    #[arg(long)]
    pub policy: String,
    /// Holiday calendar, by ISO 3166 code: AT, BE, BG, BR, CY, CZ, DE, DK, EE, ES, FI, FR,
    /// FR-ALSACE-MOSELLE, GB-EAW (alias UK), GB-NIR, GB-SCT, GR, HR, HU, IE, IS, IT, LI, LT, LU, LV,
    /// MT, NL, NO, PL, PT, RO, SE, SI, SK or US. Default: the policy's (FR, GB-EAW, US, BR).
    #[arg(long)]
    pub country: Option<String>,
    /// When the request was received: an RFC 3339 instant (2026-01-31T10:00:00+01:00), or the
    /// controller's local date (2026-01-31).
    #[arg(long)]
    pub received: String,
    /// The controller's IANA time zone. Default: the country's (Europe/Paris for FR).
    #[arg(long)]
    pub timezone: Option<String>,
    /// An extra closure day designated as a public holiday (YYYY-MM-DD); repeat or separate with
    /// commas. `--closure-day` is the same.
    #[arg(long, alias = "closure-day", value_delimiter = ',')]
    pub closed: Vec<String>,
    /// A configuration file: its closure days are added to `--closed` where they belong
    /// (`[deadlines] closure_days` to the controller's country's calendar,
    /// `[deadlines.clock.<policy>] closure_days` to that policy's), and, when
    /// `--policy` is its `jurisdiction` (default eu-gdpr), its `[controller]` country and time
    /// zone are the defaults of `--country` and `--timezone`, as `dossier serve` counts.
    #[arg(long)]
    pub config: Option<std::path::PathBuf>,
    /// Print one JSON object instead of lines.
    #[arg(long)]
    pub json: bool,
}

/// What the command computed, ready to print.
struct Computed {
    policy: Policy,
    country: Country,
    zone: Zone,
    deadline: Deadline,
}

pub fn run(args: DeadlineArgs) -> ExitCode {
    match compute(&args) {
        Ok(computed) => {
            if args.json {
                println!("{}", to_json(&computed));
            } else {
                print!("{}", to_lines(&computed.deadline));
            }
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
    }
}

/// What `--config` contributes: closure days, and the controller's country and time zone when the
/// policy is the file's default jurisdiction.
#[derive(Default)]
struct FromConfig {
    closed: Vec<ExtraClosure>,
    country: Option<String>,
    timezone: Option<String>,
}

fn read_config(path: &std::path::Path, policy: Policy) -> Result<FromConfig, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read --config {}: {e}", path.display()))?;
    let file: toml::Table = toml::from_str(&text).map_err(|e: toml::de::Error| {
        format!("--config {} is not valid TOML: {}", path.display(), e.message().replace('\n', " "))
    })?;
    let table = |name: &str| file.get(name).and_then(toml::Value::as_table);
    let mut found = FromConfig::default();
    let jurisdiction = file.get("jurisdiction").and_then(toml::Value::as_str).unwrap_or("eu-gdpr");
    let controller_country = table("controller").and_then(|c| c.get("country")).and_then(toml::Value::as_str);
    // The calendar a policy is counted in, as `dossier serve` counts it (`App::clock_for`): the
    // controller's country for its default jurisdiction, the policy's home country otherwise.
    let calendar_of = |p: Option<Policy>| -> Result<Country, String> {
        match p {
            Some(p) if jurisdiction.parse::<Policy>().ok() != Some(p) => Ok(p.default_country()),
            _ => controller_country.unwrap_or("FR").parse().map_err(|e| format!("--config: controller.country: {e}")),
        }
    };
    let mut closures = |days: Option<&toml::Value>, key: &str, country: &dyn Fn() -> Result<Country, String>| {
        let Some(days) = days else { return Ok::<_, String>(()) };
        let days = days.as_array().ok_or_else(|| format!("--config: {key} must be a list of dates"))?;
        for day in days {
            let text = day.as_str().unwrap_or_default();
            let date = parse_date(text).ok_or_else(|| malformed(&format!("{key} in --config"), text))?;
            found.closed.push(ExtraClosure::of(country()?, date));
        }
        Ok(())
    };
    let deadlines = table("deadlines");
    closures(deadlines.and_then(|d| d.get("closure_days")), "deadlines.closure_days", &|| calendar_of(None))?;
    if let Some(clocks) = deadlines.and_then(|d| d.get("clock")).and_then(toml::Value::as_table) {
        for (code, clock) in clocks {
            let key = format!("deadlines.clock.{code}.closure_days");
            let of = || calendar_of(Some(code.parse::<Policy>().map_err(|e| format!("--config: {e}"))?));
            closures(clock.get("closure_days"), &key, &of)?;
        }
    }
    if jurisdiction.parse::<Policy>().ok() == Some(policy)
        && let Some(controller) = table("controller")
    {
        let text = |k: &str| controller.get(k).and_then(toml::Value::as_str).map(str::to_owned);
        // `dossier serve`'s defaults when the file names none.
        found.country = Some(text("country").unwrap_or_else(|| "FR".into()));
        found.timezone = Some(text("timezone").unwrap_or_else(|| "Europe/Paris".into()));
    }
    Ok(found)
}

fn compute(args: &DeadlineArgs) -> Result<Computed, String> {
    let policy: Policy = args.policy.parse().map_err(|e| format!("{e}"))?;
    let config = match &args.config {
        Some(path) => read_config(path, policy)?,
        None => FromConfig::default(),
    };
    let country: Country = match args.country.as_ref().or(config.country.as_ref()) {
        Some(code) => code.parse().map_err(|e| format!("{e}"))?,
        None => policy.default_country(),
    };
    let zone: Zone = args
        .timezone
        .as_deref()
        .or(config.timezone.as_deref().filter(|_| args.country.is_none()))
        .unwrap_or(country.default_time_zone())
        .parse()
        .map_err(|e| format!("{e}"))?;
    let closures =
        args.closed.iter().map(|day| parse_date(day).map(ExtraClosure::from).ok_or_else(|| malformed("--closed", day)));
    let mut closures = closures.collect::<Result<Vec<_>, _>>()?;
    // A configured day joins the calendar computed only if it is that day's calendar.
    closures.extend(config.closed);
    let calendar = HolidayCalendar::new(country).with_extra_closures(closures);
    let received_on = match OffsetDateTime::parse(args.received.trim(), &Rfc3339) {
        Ok(instant) => zone.local_date(instant).map_err(|e| format!("{e}"))?,
        Err(_) => parse_date(&args.received).ok_or_else(|| malformed("--received", &args.received))?,
    };
    let deadline = policy.deadline(received_on, &calendar).map_err(|e| format!("{e}"))?;
    // The year of receipt and the next, where the deadline falls.
    if let Some(notice) = country.decree_notice(received_on.year()) {
        eprintln!("warning: {notice}");
    }
    Ok(Computed { policy, country, zone, deadline })
}

fn parse_date(text: &str) -> Option<Date> {
    Date::parse(text.trim(), format_description!("[year]-[month]-[day]")).ok()
}

fn malformed(flag: &str, value: &str) -> String {
    let example = if flag == "--received" { "2026-01-31T10:00:00+01:00 or " } else { "" };
    format!("malformed {flag} {value:?}: expected {example}a date such as 2026-01-31")
}

fn to_lines(deadline: &Deadline) -> String {
    let extension = deadline.extension();
    let or_none = |date: Option<Date>| date.map_or_else(|| "none".to_owned(), |date| date.to_string());
    let mut lines = format!(
        "received: {}\ndue: {}\nextension_notice_by: {}\nextended_due: {}\n",
        deadline.received_on,
        deadline.due,
        or_none(extension.map(|(notice_by, _)| notice_by)),
        or_none(extension.map(|(_, extended_due)| extended_due)),
    );
    if let Some(confirm_by) = deadline.confirm_receipt_by {
        lines.push_str(&format!("confirm_receipt_by: {confirm_by}\n"));
    }
    lines
}

fn to_json(computed: &Computed) -> serde_json::Value {
    let deadline = &computed.deadline;
    let extension = deadline.extension();
    let date = |date: Option<Date>| date.map(|date| date.to_string());
    serde_json::json!({
        "policy": computed.policy.code(),
        "country": computed.country.code(),
        "timezone": computed.zone.name(),
        "received": deadline.received_on.to_string(),
        "due": deadline.due.to_string(),
        "extension_notice_by": date(extension.map(|(notice_by, _)| notice_by)),
        "extended_due": date(extension.map(|(_, extended_due)| extended_due)),
        "confirm_receipt_by": date(deadline.confirm_receipt_by),
    })
}
