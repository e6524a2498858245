//! The public portal's budgets: how many emails and typed codes an address gets, keyed so that
//! nobody can spend someone else's (docs/security.md, "Portal budgets and sign-in").
//!
//! - Emails (verification, sign-in): `rate_limits.emails_per_address_per_hour` (5) per address
//!   **and client network** — IPv4 /24, IPv6 /64, after the trusted-proxy resolution of
//!   `web::proxy` — and a ceiling of `rate_limits.emails_per_address_per_day` (20) per address.
//!   Past the ceiling, a site still gets link-only emails (no code: none can be guessed on them),
//!   so a stranger cannot silence the person: [`PAST_CEILING_PER_SITE_PER_HALF_HOUR`] (1, a link
//!   lasting 30 minutes) and [`PAST_CEILING_PER_SITE_PER_DAY`] (4) per address and site, a site
//!   being an IPv4 /24 or an IPv6 /48. At most 20 + 4k emails a day reach an address from k sites.
//! - Typed codes: `security.max_code_attempts` (5) per email (counted on its page), and
//!   [`CODES_PER_ADDRESS_AND_NETWORK_PER_DAY`] per address and network. Never per address alone:
//!   a stranger's wrong codes lock only their own pages and their own network.
//!
//! Whatever the networks, codes can only be typed against emails, and emails with a code are
//! bounded by the daily ceiling: at most 20 × 5 = 100 codes compared per address per day (one
//! chance in 10,000 of guessing a 6-digit code), the 256-bit link being no guessable secret.
//! GDPR Art. 32(1): the guessing bound is what makes a 6-digit code an appropriate measure.
//!
//! Every budget is counted the same way whether the address is known to any source, and whether
//! a sign-in's reference and address match: nothing here tells them apart.

use std::net::IpAddr;

use crate::app::App;
use crate::crypto::keyed_hash;
use crate::store::{Conn, rate_limits};

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;
const HALF_HOUR_MS: i64 = HOUR_MS / 2;

/// Link-only emails past the daily ceiling, per address and site, in each half-hour window: the
/// link lasts 30 minutes, so the person always has a live one, and no more.
pub const PAST_CEILING_PER_SITE_PER_HALF_HOUR: i64 = 1;

/// Link-only emails past the daily ceiling, per address and site, in a day.
pub const PAST_CEILING_PER_SITE_PER_DAY: i64 = 4;

/// Codes that may be typed for one address from one network in a day, across every email sent.
pub const CODES_PER_ADDRESS_AND_NETWORK_PER_DAY: i64 = 10;

/// The client network of `ip` (as `web::proxy::client_ip` gives it): `203.0.113.0/24`,
/// `2001:db8:1:2::/64`; anything that is not an address stands for itself.
pub fn network_of(ip: &str) -> String {
    match ip.parse::<IpAddr>().map(|ip| ip.to_canonical()) {
        Ok(IpAddr::V4(v4)) => {
            let [a, b, c, _] = v4.octets();
            format!("{a}.{b}.{c}.0/24")
        }
        Ok(IpAddr::V6(v6)) => {
            let masked = u128::from(v6) & (u128::MAX << 64);
            format!("{}/64", std::net::Ipv6Addr::from(masked))
        }
        Err(_) => ip.to_owned(),
    }
}

/// The client an hourly per-client limit counts (the portal's submissions, the staff logins):
/// one IPv4 address (neighbours in a /24 are separate households or offices), but a whole IPv6
/// /64, which a single subscriber or host gets and can pick any of 2^64 addresses from.
pub fn client_of(ip: &str) -> String {
    match ip.parse::<IpAddr>().map(|ip| ip.to_canonical()) {
        Ok(IpAddr::V4(v4)) => v4.to_string(),
        Ok(IpAddr::V6(_)) => network_of(ip),
        Err(_) => ip.to_owned(),
    }
}

/// A rate-limit bucket for an address (by its keyed hash) and a network (keyed too: no address
/// or network is stored in clear).
fn bucket(app: &App, what: &str, email_hash: &str, ip: &str) -> String {
    let network = keyed_hash(&app.keys.email, network_of(ip).as_bytes());
    format!("{what}:{email_hash}:net:{network}")
}

/// The wider network past-ceiling emails are counted under: IPv4 /24 as [`network_of`], but
/// IPv6 /48 (a site's whole allocation), so that someone with many /64s cannot send the person
/// an email an hour from each of them.
fn wide_network_of(ip: &str) -> String {
    match ip.parse::<IpAddr>().map(|ip| ip.to_canonical()) {
        Ok(IpAddr::V6(v6)) => {
            let masked = u128::from(v6) & (u128::MAX << 80);
            format!("{}/48", std::net::Ipv6Addr::from(masked))
        }
        _ => network_of(ip),
    }
}

/// What may be sent to an address now, from this network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Email {
    /// A full email: the link and the code.
    Full,
    /// The address's daily ceiling is reached: the link only, within the site's past-ceiling
    /// budget (one per half hour, four a day).
    LinkOnly,
    /// Nothing: this network's hourly budget for the address is spent, or past the ceiling its
    /// site's. The page says so.
    Spent,
}

/// Counts one email to the address whose keyed hash is `email_hash`, asked from `ip`, and says
/// what may be sent.
///
/// Past the daily ceiling a site (IPv4 /24, IPv6 /48) still gets a link-only email every half
/// hour, up to [`PAST_CEILING_PER_SITE_PER_DAY`]: strangers spending the ceiling from elsewhere
/// never stop the person's own emails (a link expires in 30 minutes, so one email a day would not
/// do), and the flood a client can send grows with the sites it holds, not with the hours of the
/// day nor the /64s of one site.
pub async fn spend_email(app: &App, conn: &mut Conn, email_hash: &str, ip: &str, now: i64) -> anyhow::Result<Email> {
    let limits = &app.settings.rate_limits;
    if rate_limits::hit(conn, &bucket(app, "mail", email_hash, ip), HOUR_MS, now).await?
        > limits.emails_per_address_per_hour
    {
        return Ok(Email::Spent);
    }
    let today = rate_limits::hit(conn, &format!("mail-day:{email_hash}"), DAY_MS, now).await?;
    if today <= limits.emails_per_address_per_day {
        return Ok(Email::Full);
    }
    // Past the ceiling, per (address, site): one email per half-hour window, a few a day. The
    // day is counted only for emails the half hour allows, so asking again too soon costs none.
    let site = keyed_hash(&app.keys.email, wide_network_of(ip).as_bytes());
    let half_hour = rate_limits::hit(conn, &format!("mail-past:{email_hash}:wide:{site}"), HALF_HOUR_MS, now).await?;
    if half_hour > PAST_CEILING_PER_SITE_PER_HALF_HOUR {
        return Ok(Email::Spent);
    }
    let day = rate_limits::hit(conn, &format!("mail-past-day:{email_hash}:wide:{site}"), DAY_MS, now).await?;
    Ok(if day <= PAST_CEILING_PER_SITE_PER_DAY { Email::LinkOnly } else { Email::Spent })
}

/// Counts one code typed for the address whose keyed hash is `email_hash` from `ip`; false when
/// that network has typed its day's worth for the address.
pub async fn spend_code(app: &App, conn: &mut Conn, email_hash: &str, ip: &str, now: i64) -> anyhow::Result<bool> {
    let hits = rate_limits::hit(conn, &bucket(app, "code", email_hash, ip), DAY_MS, now).await?;
    Ok(hits <= CODES_PER_ADDRESS_AND_NETWORK_PER_DAY)
}

#[cfg(test)]
mod tests {
    use super::{client_of, network_of, wide_network_of};

    #[test]
    fn clients_are_ipv4_addresses_and_ipv6_slash_64() {
        assert_eq!(client_of("203.0.113.7"), "203.0.113.7");
        assert_ne!(client_of("203.0.113.7"), client_of("203.0.113.8"), "IPv4 neighbours are separate clients");
        assert_eq!(client_of("::ffff:203.0.113.9"), "203.0.113.9");
        assert_eq!(client_of("2001:db8:1:2::1"), client_of("2001:db8:1:2:ffff::9"), "one /64, one client");
        assert_ne!(client_of("2001:db8:1:2::1"), client_of("2001:db8:1:3::1"));
        assert_eq!(client_of("unknown"), "unknown");
    }

    #[test]
    fn past_the_ceiling_ipv6_counts_per_slash_48() {
        assert_eq!(wide_network_of("2001:db8:1:2::1"), "2001:db8:1::/48");
        assert_eq!(wide_network_of("2001:db8:1:ffff::1"), wide_network_of("2001:db8:1:2::1"));
        assert_ne!(wide_network_of("2001:db8:2::1"), wide_network_of("2001:db8:1::1"));
        assert_eq!(wide_network_of("203.0.113.7"), "203.0.113.0/24");
    }

    #[test]
    fn networks_are_slash_24_and_slash_64() {
        assert_eq!(network_of("203.0.113.7"), "203.0.113.0/24");
        assert_eq!(network_of("203.0.113.250"), "203.0.113.0/24");
        assert_ne!(network_of("203.0.114.7"), network_of("203.0.113.7"));
        assert_eq!(network_of("::ffff:203.0.113.9"), "203.0.113.0/24", "an IPv4 client on an IPv6 socket");
        assert_eq!(network_of("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
        assert_eq!(network_of("2001:db8:1:2:ffff:ffff:ffff:ffff"), "2001:db8:1:2::/64");
        assert_ne!(network_of("2001:db8:1:3::1"), network_of("2001:db8:1:2::1"));
        assert_eq!(network_of("unknown"), "unknown");
    }
}
