//! Reading a downloaded export back, as the person (or another service) would.

use std::io::{Cursor, Read};

use sha2::{Digest, Sha256};
use zip::ZipArchive;

pub type Archive = ZipArchive<Cursor<Vec<u8>>>;

pub fn open_zip(bytes: &[u8]) -> Archive {
    ZipArchive::new(Cursor::new(bytes.to_vec())).expect("the download is a ZIP archive")
}

pub fn file_bytes(archive: &Archive, name: &str) -> Vec<u8> {
    let mut archive = archive.clone();
    let mut f = archive.by_name(name).unwrap_or_else(|_| panic!("{name} is in the archive"));
    let mut out = Vec::new();
    f.read_to_end(&mut out).unwrap();
    out
}

pub fn file_text(archive: &Archive, name: &str) -> String {
    String::from_utf8(file_bytes(archive, name)).expect("UTF-8")
}

/// Every file but the manifest is listed in it with its size and SHA-256, and matches.
pub fn assert_manifest_checksums(archive: &Archive) {
    let manifest: serde_json::Value = serde_json::from_str(&file_text(archive, "manifest.json")).unwrap();
    let files = manifest["files"].as_array().expect("manifest.files");
    let names: Vec<String> = archive.file_names().filter_map(|n| n.ok().map(|c| c.into_owned())).collect();
    assert_eq!(files.len(), names.len() - 1, "every file but the manifest is listed: {names:?}");
    for f in files {
        let path = f["path"].as_str().unwrap();
        let bytes = file_bytes(archive, path);
        assert_eq!(f["size"].as_u64().unwrap(), bytes.len() as u64, "{path} size");
        let sha = Sha256::digest(&bytes).iter().map(|b| format!("{b:02x}")).collect::<String>();
        assert_eq!(f["sha256"].as_str().unwrap(), sha, "{path} checksum");
    }
}

pub fn json_records(archive: &Archive, source: &str, collection: &str) -> Vec<serde_json::Value> {
    let text = file_text(archive, &format!("data/{source}/{collection}.json"));
    serde_json::from_str::<Vec<serde_json::Value>>(&text).expect("a JSON array")
}

/// Every file's text, for "this must not appear anywhere" checks.
pub fn all_text(archive: &Archive) -> String {
    let names: Vec<String> = archive.file_names().filter_map(|n| n.ok().map(|c| c.into_owned())).collect();
    names.iter().map(|n| String::from_utf8_lossy(&file_bytes(archive, n)).into_owned()).collect::<Vec<_>>().join("\n")
}

/// GDPR Art. 15(1)(f): the export names the authority of the request's law. A UK GDPR request's
/// ZIP names the ICO (in `information.json` and `index.html`), not the controller's CNIL.
async fn a_uk_request_s_export_names_the_ico(app: crate::helpers::TestApp) {
    let csrf = app.csrf("/").await;
    let email = "oliver.smith@example.co.uk";
    let form = [("email", email), ("kind", "access"), ("jurisdiction", "uk-gdpr"), ("csrf", &csrf)];
    let res = app.post("/requests", &form).await;
    assert_eq!(res.status, 303, "{}", res.text());
    app.run_pending_jobs().await;
    let res = app.verify_by_link(&app.last_email_to(email)).await;
    assert_eq!(res.status, 303, "{}", res.text());
    let status = res.location();
    app.run_pending_jobs().await;
    assert_eq!(app.request_status(&status).await, "ready");
    let zip = app.get(&format!("{status}/export")).await;
    assert_eq!(zip.status, 200);
    let archive = open_zip(&zip.body);
    let info: serde_json::Value = serde_json::from_str(&file_text(&archive, "information.json")).unwrap();
    let authority = info.pointer("/complaint/authority").unwrap_or_else(|| panic!("{info}"));
    assert_eq!(authority["name"], "Information Commissioner's Office (ICO)", "{info}");
    assert_eq!(authority["url"], "https://ico.org.uk/make-a-complaint/", "{info}");
    let index = file_text(&archive, "index.html");
    assert!(index.contains("href=\"https://ico.org.uk/make-a-complaint/\""), "{index}");
    assert!(!index.contains("cnil.fr"), "{index}");
}
crate::on_both_backends!(
    a_uk_request_s_export_names_the_ico,
    crate::helpers::Options {
        policies: Some(vec![dossier::deadlines::Policy::EuGdpr, dossier::deadlines::Policy::UkGdpr]),
        ..Default::default()
    }
);
