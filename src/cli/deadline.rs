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

use std::process::ExitCode;

use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, OffsetDateTime};

use crate::deadlines::{Country, Deadline, HolidayCalendar, Policy, Zone};

#[derive(Debug, clap::Args)]
pub struct DeadlineArgs {
    /// Jurisdiction policy: eu-gdpr, uk-gdpr, ccpa or lgpd.
    #[arg(long)]
    pub policy: String,
    /// Holiday calendar: FR, FR-ALSACE-MOSELLE, DE, BE, ES, IT, GB-EAW (alias UK), US or BR.
    /// Default: the policy's (FR, GB-EAW, US, BR).
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
    /// commas.
    #[arg(long, value_delimiter = ',')]
    pub closed: Vec<String>,
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

fn compute(args: &DeadlineArgs) -> Result<Computed, String> {
    let policy: Policy = args.policy.parse().map_err(|e| format!("{e}"))?;
    let country: Country = match &args.country {
        Some(code) => code.parse().map_err(|e| format!("{e}"))?,
        None => policy.default_country(),
    };
    let zone: Zone =
        args.timezone.as_deref().unwrap_or(country.default_time_zone()).parse().map_err(|e| format!("{e}"))?;
    let closures = args.closed.iter().map(|day| parse_date(day).ok_or_else(|| malformed("--closed", day)));
    let calendar = HolidayCalendar::new(country).with_extra_closures(closures.collect::<Result<Vec<_>, _>>()?);
    let received_on = match OffsetDateTime::parse(args.received.trim(), &Rfc3339) {
        Ok(instant) => zone.local_date(instant).map_err(|e| format!("{e}"))?,
        Err(_) => parse_date(&args.received).ok_or_else(|| malformed("--received", &args.received))?,
    };
    let deadline = policy.deadline(received_on, &calendar).map_err(|e| format!("{e}"))?;
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
