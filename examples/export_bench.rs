//! Export benchmark: 100,000 records (about 100 MB of JSON + CSV once exported) through
//! `build_export`, compared with `zip -6 -r` on the same JSON and CSV files.
//!
//! ```text
//! cargo run --release --example export_bench        # numbers worth recording
//! cargo run --example export_bench -- 20000         # quicker, fewer records
//! ```
//!
//! Prints wall time and peak RSS (VmHWM) of the build, then the `zip` tool's time on the same
//! files (skipped when `zip` is not installed: `apt-get install -y zip`).

use std::io::Read;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use dossier::config::{Authority, ControllerInfo};
use dossier::connectors::{Art15, CollectionInfo, Record, RecordSink, SourceInfo, Text};
use dossier::crypto::SecretKey;
use dossier::domain::{Locale, RequestKind};
use dossier::export::{ExportInput, ExportSource, SpoolWriter, build_export, open_export};
use serde_json::json;

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

/// Deterministic pseudo-random text, so the data compresses like real data rather than zeros.
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn word(&mut self) -> &'static str {
        const WORDS: [&str; 24] = [
            "commande",
            "livraison",
            "client",
            "facture",
            "retour",
            "adresse",
            "paiement",
            "carte",
            "colis",
            "Paris",
            "Lyon",
            "Marseille",
            "rapide",
            "urgent",
            "merci",
            "question",
            "produit",
            "remise",
            "abonnement",
            "newsletter",
            "support",
            "ticket",
            "réclamation",
            "échange",
        ];
        WORDS[(self.next() % WORDS.len() as u64) as usize]
    }
    fn sentence(&mut self, words: usize) -> String {
        (0..words).map(|_| self.word()).collect::<Vec<_>>().join(" ")
    }
}

fn main() -> anyhow::Result<()> {
    let records: u64 = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let dir = std::env::temp_dir().join(format!("dossier-bench-{}", dossier::crypto::new_id()));
    std::fs::create_dir_all(&dir)?;
    let key = SecretKey::generate();

    let spool = dir.join("crm.spool");
    let fields: Vec<String> = [
        "id",
        "email",
        "first_name",
        "last_name",
        "address",
        "city",
        "created_at",
        "amount",
        "status",
        "notes",
        "tags",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let mut rng = Lcg(42);
    let t = Instant::now();
    let mut w = SpoolWriter::create(&spool, &key)?;
    w.begin_collection("interactions", &fields)?;
    for i in 0..records {
        let r = json!({
            "id": i,
            "email": "jeanne.martin@example.fr",
            "first_name": "Jeanne",
            "last_name": "Martin",
            "address": format!("{} rue {} {}", rng.next() % 200, rng.word(), rng.word()),
            "city": rng.word(),
            "created_at": format!("2025-{:02}-{:02}T{:02}:{:02}:00Z", 1 + rng.next() % 12, 1 + rng.next() % 28, rng.next() % 24, rng.next() % 60),
            "amount": format!("{}.{:02}", rng.next() % 1000, rng.next() % 100),
            "status": if rng.next().is_multiple_of(3) { "closed" } else { "open" },
            "notes": rng.sentence(30),
            "tags": [rng.word(), rng.word()],
        });
        let serde_json::Value::Object(r) = r else { unreachable!() };
        w.record(Record::from(r))?;
    }
    let spooled = w.finish()?;
    println!("spooled {} records in {:.2?}", spooled.total_records(), t.elapsed());

    let label = |s: &str| Text::Plain(s.into());
    let input = ExportInput {
        reference: "DSR-2026-000123".into(),
        kind: RequestKind::Access,
        locale: Locale::Fr,
        received_at: time::OffsetDateTime::now_utc(),
        generated_at: time::OffsetDateTime::now_utc(),
        due_date: time::OffsetDateTime::now_utc().date(),
        controller: ControllerInfo {
            name: "Acme SAS".into(),
            address: None,
            contact_email: "privacy@acme.example".into(),
            dpo_email: None,
            country: "FR".into(),
            timezone: "Europe/Paris".into(),
            financial_year_end: Default::default(),
            authority: Authority { name: label("CNIL"), address: "Paris".into(), url: "https://www.cnil.fr".into() },
        },
        sources: vec![ExportSource {
            info: SourceInfo {
                name: "crm".into(),
                label: label("CRM"),
                kind: "sql",
                collections: vec![CollectionInfo {
                    rules: dossier::plans::Rules::default(),
                    name: "interactions".into(),
                    label: label("Interactions"),
                    art15: Art15::default(),
                }],
            },
            spool: Some(spool),
        }],
    };

    let out = dir.join("export.zip.enc");
    let rss_before = peak_rss_kib();
    let t = Instant::now();
    let summary = build_export(&input, &key, &out)?;
    let build_time = t.elapsed();
    let rss_after = peak_rss_kib();
    println!(
        "build_export: {:.2?}, zip {:.1} MB, {} files, peak RSS {:.1} MB (before build {:.1} MB)",
        build_time,
        summary.zip_bytes as f64 / 1e6,
        summary.files,
        rss_after as f64 / 1024.0,
        rss_before as f64 / 1024.0
    );

    // The same JSON + CSV files on disk, for the zip tool.
    let mut plain = Vec::new();
    open_export(&out, &key)?.read_to_end(&mut plain)?;
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(plain))?;
    let tree = dir.join("tree");
    let mut data_bytes = 0u64;
    for i in 0..archive.len() {
        let mut f = archive.by_index(i)?;
        let name = f.name()?.into_owned();
        if !name.starts_with("data/") {
            continue;
        }
        let path = tree.join(&name);
        std::fs::create_dir_all(path.parent().unwrap_or(Path::new(".")))?;
        let mut file = std::fs::File::create(&path)?;
        data_bytes += std::io::copy(&mut f, &mut file)?;
    }
    println!("data files: {:.1} MB of JSON + CSV", data_bytes as f64 / 1e6);

    let t = Instant::now();
    match Command::new("zip").args(["-6", "-r", "-q", "../tool.zip", "data"]).current_dir(&tree).status() {
        Ok(s) if s.success() => {
            let zip_time = t.elapsed();
            println!(
                "zip -6 -r: {:.2?}; build_export / zip = {:.2}",
                zip_time,
                build_time.as_secs_f64() / zip_time.as_secs_f64()
            );
        }
        _ => println!("zip tool not available: apt-get install -y zip"),
    }
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
