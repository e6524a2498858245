//! `dossier deadline`, run as the real binary.

use std::process::{Command, Output};

fn dossier_deadline(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dossier"))
        .arg("deadline")
        .args(args)
        .env_remove("RUST_LOG")
        .output()
        .expect("the dossier binary runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).expect("UTF-8 output")
}

fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).expect("UTF-8 output")
}

#[test]
fn the_legal_md_example_prints_each_date_on_its_line() {
    let output =
        dossier_deadline(&["--policy", "eu-gdpr", "--country", "FR", "--received", "2026-01-31T10:00:00+01:00"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        stdout(&output),
        "received: 2026-01-31\ndue: 2026-03-02\nextension_notice_by: 2026-03-02\nextended_due: 2026-04-30\n"
    );
    assert_eq!(stderr(&output), "");
}

#[test]
fn the_received_instant_is_a_local_date_in_the_time_zone() {
    // 23:30 in Paris on 31 January is 22:30 UTC: received on the 31st by default (Europe/Paris)...
    let paris = dossier_deadline(&["--policy", "eu-gdpr", "--country", "FR", "--received", "2026-01-31T22:30:00Z"]);
    assert!(stdout(&paris).starts_with("received: 2026-01-31\n"), "{}", stdout(&paris));
    // ...and at 00:30 on 1 February in Paris, the next day, although still the 31st in UTC.
    let next_day = dossier_deadline(&["--policy", "eu-gdpr", "--received", "2026-01-31T23:30:00Z"]);
    assert!(stdout(&next_day).starts_with("received: 2026-02-01\n"), "{}", stdout(&next_day));
    let utc = dossier_deadline(&["--policy", "eu-gdpr", "--received", "2026-01-31T23:30:00Z", "--timezone", "UTC"]);
    assert!(stdout(&utc).starts_with("received: 2026-01-31\n"), "{}", stdout(&utc));
}

#[test]
fn json_output_parses() {
    let output = dossier_deadline(&[
        "--policy",
        "eu-gdpr",
        "--country",
        "FR",
        "--received",
        "2026-01-31T10:00:00+01:00",
        "--json",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let json: serde_json::Value = serde_json::from_str(&stdout(&output)).expect("JSON on stdout");
    assert_eq!(json["policy"], "eu-gdpr");
    assert_eq!(json["country"], "FR");
    assert_eq!(json["timezone"], "Europe/Paris");
    assert_eq!(json["received"], "2026-01-31");
    assert_eq!(json["due"], "2026-03-02");
    assert_eq!(json["extension_notice_by"], "2026-03-02");
    assert_eq!(json["extended_due"], "2026-04-30");
    assert_eq!(json["confirm_receipt_by"], serde_json::Value::Null);
}

#[test]
fn ccpa_adds_the_receipt_confirmation_date() {
    let output = dossier_deadline(&["--policy", "ccpa", "--received", "2026-01-31T10:00:00-08:00"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        stdout(&output),
        "received: 2026-01-31\ndue: 2026-03-17\nextension_notice_by: 2026-03-17\nextended_due: 2026-05-01\n\
         confirm_receipt_by: 2026-02-13\n"
    );
    let json = dossier_deadline(&["--policy", "ccpa", "--received", "2026-01-31", "--json"]);
    let json: serde_json::Value = serde_json::from_str(&stdout(&json)).expect("JSON on stdout");
    assert_eq!(json["confirm_receipt_by"], "2026-02-13");
    assert_eq!(json["timezone"], "America/Los_Angeles");
}

#[test]
fn uk_gdpr_rolls_past_christmas_and_boxing_day() {
    let output = dossier_deadline(&["--policy", "uk-gdpr", "--country", "UK", "--received", "2024-11-25"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stdout(&output).contains("\ndue: 2024-12-27\n"), "{}", stdout(&output));
}

#[test]
fn lgpd_has_no_extension() {
    let output = dossier_deadline(&["--policy", "lgpd", "--received", "2026-04-06", "--json"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let json: serde_json::Value = serde_json::from_str(&stdout(&output)).expect("JSON on stdout");
    assert_eq!(json["due"], "2026-04-22"); // 21 April, Tiradentes, rolls to the 22nd
    assert_eq!(json["extended_due"], serde_json::Value::Null);
}

#[test]
fn extra_closures_roll_the_due_date() {
    let output = dossier_deadline(&["--policy", "eu-gdpr", "--received", "2026-01-31", "--closed", "2026-03-02"]);
    assert!(stdout(&output).contains("\ndue: 2026-03-03\n"), "{}", stdout(&output));
}

#[test]
fn bad_inputs_exit_2_with_a_one_line_message() {
    for (args, expected) in [
        (vec!["--policy", "gdpr", "--received", "2026-01-31"], "unknown deadline policy \"gdpr\""),
        (vec!["--policy", "eu-gdpr", "--country", "XX", "--received", "2026-01-31"], "unknown country code \"XX\""),
        (
            vec!["--policy", "eu-gdpr", "--timezone", "Europe/Atlantis", "--received", "2026-01-31"],
            "unsupported time zone \"Europe/Atlantis\"",
        ),
        (vec!["--policy", "eu-gdpr", "--received", "31/01/2026"], "malformed --received \"31/01/2026\""),
        (vec!["--policy", "eu-gdpr", "--received", "2026-02-30T10:00:00+01:00"], "malformed --received"),
        (vec!["--policy", "eu-gdpr", "--received", "2026-01-31", "--closed", "soon"], "malformed --closed"),
    ] {
        let output = dossier_deadline(&args);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        assert_eq!(stdout(&output), "", "{args:?}");
        let message = stderr(&output);
        assert!(message.starts_with("error: ") && message.contains(expected), "{args:?}: {message}");
        assert_eq!(message.lines().count(), 1, "{args:?}: {message}");
    }
    // Missing arguments are clap's usage errors: also status 2.
    let output = dossier_deadline(&["--received", "2026-01-31"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("--policy"));
}

#[test]
fn closure_days_come_from_the_flag_or_the_configuration_file() {
    // 24 November 2026 + one month is Thursday 24 December; closed, then Christmas and a weekend.
    let flag = dossier_deadline(&["--policy", "eu-gdpr", "--received", "2026-11-24", "--closure-day", "2026-12-24"]);
    assert!(stdout(&flag).contains("\ndue: 2026-12-28\n"), "{}", stdout(&flag));
    let dir = std::env::temp_dir().join(format!("dossier-cli-{}", dossier::crypto::new_id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("dossier.toml");
    std::fs::write(&config, "[deadlines]\nclosure_days = [\"2026-12-24\"]\n").unwrap();
    let path = config.to_str().unwrap();
    let file = dossier_deadline(&["--policy", "eu-gdpr", "--received", "2026-11-24", "--config", path]);
    assert_eq!(stdout(&file), stdout(&flag), "{}", stderr(&file));
    // Without the day, it is due on the 24th.
    let plain = dossier_deadline(&["--policy", "eu-gdpr", "--received", "2026-11-24"]);
    assert!(stdout(&plain).contains("\ndue: 2026-12-24\n"), "{}", stdout(&plain));
    // The top-level list is the controller's calendar (France here): a UK GDPR date stays put, as
    // the ICO counts UK bank holidays only (and 1182/71 Art. 3(4) the relevant country's).
    let uk = dossier_deadline(&["--policy", "uk-gdpr", "--received", "2026-11-24", "--config", path]);
    assert!(stdout(&uk).contains("\ndue: 2026-12-24\n"), "{}{}", stdout(&uk), stderr(&uk));
    // A day listed for the UK policy moves UK dates (24, then Christmas, the weekend and the
    // substitute Boxing Day: Tuesday 29) and leaves the EU policy's alone.
    std::fs::write(&config, "[deadlines.clock.uk-gdpr]\nclosure_days = [\"2026-12-24\"]\n").unwrap();
    let uk = dossier_deadline(&["--policy", "uk-gdpr", "--received", "2026-11-24", "--config", path]);
    assert!(stdout(&uk).contains("\ndue: 2026-12-29\n"), "{}{}", stdout(&uk), stderr(&uk));
    let eu = dossier_deadline(&["--policy", "eu-gdpr", "--received", "2026-11-24", "--config", path]);
    assert!(stdout(&eu).contains("\ndue: 2026-12-24\n"), "{}{}", stdout(&eu), stderr(&eu));
    // A malformed day in the file: a clear error, status 2.
    std::fs::write(&config, "[deadlines]\nclosure_days = [\"24/12/2026\"]\n").unwrap();
    let bad = dossier_deadline(&["--policy", "eu-gdpr", "--received", "2026-11-24", "--config", path]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(stderr(&bad).contains("deadlines.closure_days") && stderr(&bad).contains("24/12/2026"), "{}", stderr(&bad));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn every_national_calendar_is_a_country_code() {
    // Received Sunday 11 October 2026: one month is Wednesday 11 November, a holiday in Poland.
    for (code, due) in [("PL", "2026-11-12"), ("IE", "2026-11-11"), ("GB-SCT", "2026-11-11"), ("UK", "2026-11-11")] {
        let output =
            dossier_deadline(&["--policy", "eu-gdpr", "--country", code, "--received", "2026-10-11", "--json"]);
        assert!(output.status.success(), "{code}: {}", stderr(&output));
        let json: serde_json::Value = serde_json::from_str(&stdout(&output)).expect("JSON on stdout");
        assert_eq!(json["due"], due, "{code}");
    }
    // The default zone is the country's: 23:30 UTC on 31 January is already 1 February in Warsaw.
    let output =
        dossier_deadline(&["--policy", "eu-gdpr", "--country", "PL", "--received", "2026-01-31T23:30:00Z", "--json"]);
    let json: serde_json::Value = serde_json::from_str(&stdout(&output)).expect("JSON on stdout");
    assert_eq!((json["received"].as_str(), json["timezone"].as_str()), (Some("2026-02-01"), Some("Europe/Warsaw")));
    // Received Friday 13 March 2026: one month is Monday 13 April, Orthodox Easter Monday in
    // Greece, Cyprus and Bulgaria (Western Easter Monday was 6 April).
    for (code, due, zone) in [
        ("GR", "2026-04-14", "Europe/Athens"),
        ("CY", "2026-04-14", "Asia/Nicosia"),
        ("BG", "2026-04-14", "Europe/Sofia"),
        ("LV", "2026-04-13", "Europe/Riga"),
        ("SK", "2026-04-13", "Europe/Bratislava"),
        ("IS", "2026-04-13", "Atlantic/Reykjavik"),
        ("li", "2026-04-13", "Europe/Vaduz"),
    ] {
        let output =
            dossier_deadline(&["--policy", "eu-gdpr", "--country", code, "--received", "2026-03-13", "--json"]);
        assert!(output.status.success(), "{code}: {}", stderr(&output));
        let json: serde_json::Value = serde_json::from_str(&stdout(&output)).expect("JSON on stdout");
        assert_eq!((json["due"].as_str(), json["timezone"].as_str()), (Some(due), Some(zone)), "{code}");
    }
    // An unknown code: one line listing what is supported, the last calendars added included.
    let output = dossier_deadline(&["--policy", "eu-gdpr", "--country", "CH", "--received", "2026-01-31"]);
    assert_eq!(output.status.code(), Some(2));
    let message = stderr(&output);
    assert!(
        message.starts_with("error: unknown country code \"CH\"; supported calendars: AT, BE, BG, BR, CY"),
        "{message}"
    );
    assert!(message.contains(" GR,") && message.contains(" LI,") && message.contains(" SK,"), "{message}");
    assert_eq!(message.lines().count(), 1, "{message}");
    // A calendar whose law adds days by decree says so on stderr, and still answers.
    let output = dossier_deadline(&["--policy", "eu-gdpr", "--country", "NL", "--received", "2026-01-31"]);
    assert!(output.status.success());
    assert!(stderr(&output).starts_with("warning: NL: the days equated with public holidays"), "{}", stderr(&output));
    // Greece: only when the year of receipt or the next needs a decision moving 1 May not built in.
    let output = dossier_deadline(&["--policy", "eu-gdpr", "--country", "GR", "--received", "2026-01-31"]);
    assert!(output.status.success());
    assert!(stderr(&output).starts_with("warning: GR: 1 May 2027 falls on a Sunday"), "{}", stderr(&output));
    let output = dossier_deadline(&["--policy", "eu-gdpr", "--country", "GR", "--received", "2025-01-31"]);
    assert!(output.status.success());
    assert_eq!(stderr(&output), "");
}

/// `dossier serve` stops before listening on an unknown country or time zone, with one sentence.
#[test]
fn startup_refuses_an_unknown_country_or_time_zone_in_one_sentence() {
    let example = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/dossier.example.toml")).unwrap();
    let dir = std::env::temp_dir().join(format!("dossier-cli-{}", dossier::crypto::new_id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (country, zone, expected) in [
        ("CH", "Europe/Zurich", "error: controller.country: unknown country code \"CH\"; supported calendars: AT, BE"),
        ("PL", "Europe/Atlantis", "error: controller.timezone: unknown or unsupported time zone \"Europe/Atlantis\""),
    ] {
        let config = dir.join("dossier.toml");
        let text = example
            .replace("country = \"FR\"", &format!("country = \"{country}\""))
            .replace("timezone = \"Europe/Paris\"", &format!("timezone = \"{zone}\""));
        assert!(text.contains(&format!("country = \"{country}\"")), "the example's [controller] country moved");
        std::fs::write(&config, text).unwrap();
        let output = Command::new(env!("CARGO_BIN_EXE_dossier"))
            .args(["serve", "--listen", "127.0.0.1:0", "--config"])
            .arg(&config)
            .arg("--data-dir")
            .arg(&dir)
            .env("DOSSIER_BASE_URL", "https://privacy.example.com")
            .env("DOSSIER_SMTP_URL", "smtp://127.0.0.1:2525")
            .env("DOSSIER_SECRET_KEY", "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=")
            .env("DOSSIER_EXPORT_KEY", "ISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0+P0A=")
            .env("DOSSIER_DATABASE_URL", format!("sqlite://{}?mode=rwc", dir.join("startup.db").display()))
            .env_remove("RUST_LOG")
            .output()
            .expect("the dossier binary runs");
        assert!(!output.status.success(), "{country} {zone}");
        let message = stderr(&output);
        let last = message.lines().last().unwrap_or_default();
        assert!(last.starts_with(expected), "{message}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
