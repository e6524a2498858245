use std::path::PathBuf;

use serde_json::json;

use super::*;
use crate::connectors::Record;
use crate::connectors::build;
use crate::domain::EmailAddress;
use crate::plans::Change;

struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        let p = std::env::temp_dir().join(format!("dossier_csv_{:016x}", rand::random::<u64>()));
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }

    /// Writes `text` encoded in Windows-1252.
    fn cp1252(&self, file: &str, text: &str) {
        let (bytes, _, unmappable) = encoding_rs::WINDOWS_1252.encode(text);
        assert!(!unmappable, "{file} holds a character Windows-1252 lacks");
        std::fs::write(self.0.join(file), bytes).unwrap();
    }

    fn utf8(&self, file: &str, bytes: &[u8]) {
        std::fs::write(self.0.join(file), bytes).unwrap();
    }

    fn read(&self, file: &str) -> Vec<u8> {
        std::fs::read(self.0.join(file)).unwrap()
    }

    /// The names in the folder, sorted: a temporary file left behind shows here.
    fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(&self.0)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Collects everything a connector sends, checking the sink protocol as it goes.
#[derive(Debug, Default)]
struct VecSink {
    collections: Vec<(String, Vec<String>, Vec<Record>)>,
}

impl RecordSink for VecSink {
    fn begin_collection(&mut self, collection: &str, fields: &[String]) -> anyhow::Result<()> {
        assert!(self.collections.iter().all(|(c, _, _)| c != collection), "{collection} begun twice");
        self.collections.push((collection.to_string(), fields.to_vec(), Vec::new()));
        Ok(())
    }

    fn record(&mut self, record: Record) -> anyhow::Result<()> {
        let Some((_, fields, records)) = self.collections.last_mut() else {
            anyhow::bail!("record before begin_collection");
        };
        assert_eq!(&record.keys().cloned().collect::<Vec<_>>(), fields);
        records.push(record);
        Ok(())
    }
}

impl VecSink {
    fn names(&self) -> Vec<&str> {
        self.collections.iter().map(|(c, _, _)| c.as_str()).collect()
    }

    fn records(&self, collection: &str) -> &[Record] {
        self.collections.iter().find(|(c, _, _)| c == collection).map(|(_, _, r)| r.as_slice()).unwrap_or(&[])
    }

    /// The values of `field` in a collection, in file order.
    fn values(&self, collection: &str, field: &str) -> Vec<String> {
        self.records(collection)
            .iter()
            .map(|r| r.get(field).and_then(Value::as_str).unwrap_or_else(|| panic!("{field} in {r:?}")).to_string())
            .collect()
    }
}

fn subject(email: &str) -> Subject {
    Subject { email: EmailAddress::parse(email).unwrap() }
}

fn connector(dir: &Path, rest: &str) -> CsvConnector {
    let toml_text = format!("name = \"fidelite\"\ndir = {}\n{rest}", Value::String(dir.display().to_string()));
    let config: CsvSourceConfig = toml::from_str(&toml_text).unwrap_or_else(|e| panic!("{e}\n{toml_text}"));
    CsvConnector::new(config).unwrap()
}

async fn collect(c: &CsvConnector, email: &str) -> VecSink {
    let mut sink = VecSink::default();
    c.collect(&subject(email), &mut sink).await.unwrap_or_else(|e| panic!("{e}: {:?}", e.cause));
    sink
}

/// An export from an old French loyalty tool: `;`, Windows-1252, CRLF, a quoted note over two
/// lines (with a `;` in it), one row with a field missing, accented names.
const MEMBERS: &str = "N\u{b0} adh\u{e9}rent;Nom;Pr\u{e9}nom;Adresse e-mail;Ville;Remarque\r\n\
    1001;Martin;Jeanne;jeanne.martin@example.fr;Paris;\r\n\
    1002;Lef\u{e8}vre;H\u{e9}l\u{e8}ne;helene.lefevre@example.fr;Lyon;\"Carte perdue ; \nnouvelle carte \u{e9}mise\"\r\n\
    1003;Martin;Jeanne;  Jeanne.MARTIN@Example.FR ;Paris;\"ancienne carte, \u{ab} doublon \u{bb}\"\r\n\
    1004;Dupont;Fran\u{e7}ois;francois.dupont@example.fr;Nantes\r\n\
    1005;Martin;Jeanne;jeanne.martin@example.fr.com;Lille;homonyme\r\n\
    1006;Martin;Jeanne;xjeanne.martin@example.fr;Lille;\r\n\
    1007;Martin;Jeanne;jeanne.martin@example.com;Lyon;autre personne\r\n\
    1008;No\u{eb}l;Ga\u{eb}lle;;Rennes;sans email\r\n";

const POINTS: &str = "Carte;Date;Magasin;Points\r\n\
    1001;2019-03-02;Paris 4e;120\r\n\
    1002;2019-03-05;Lyon;40\r\n\
    1003;2018-11-20;Paris 4e;35\r\n\
    1001;2020-01-15;Paris 11e;-100\r\n\
    1007;2020-02-01;Lyon;10\r\n\
    1003;2018-12-24; Paris 4e ;\r\n";

const COLLECTIONS: &str = r#"
delimiter = ";"
encoding = "windows-1252"

[[collections]]
name = "members"
file = "adherents.csv"
email_columns = ["Adresse e-mail"]
columns = ["N° adhérent", "Nom", "Prénom", { header = "Adresse e-mail", as = "email" }, "Remarque"]

[[collections]]
name = "points"
file = "./points.csv"
via = { collection = "members", column = "Carte", references = "N° adhérent" }
"#;

fn loyalty() -> TempDir {
    let dir = TempDir::new();
    dir.cp1252("adherents.csv", MEMBERS);
    dir.cp1252("points.csv", POINTS);
    dir
}

#[tokio::test]
async fn finds_exactly_the_subjects_rows_in_a_windows_1252_export() {
    let dir = loyalty();
    let c = connector(&dir.0, COLLECTIONS);
    let sink = collect(&c, "Jeanne.Martin@example.fr").await;
    assert_eq!(sink.names(), ["members", "points"]);
    // The same address in another case and with spaces (1003); look-alikes are other people.
    assert_eq!(sink.values("members", "N° adhérent"), ["1001", "1003"]);
    assert_eq!(sink.collections[0].1, ["N° adhérent", "Nom", "Prénom", "email", "Remarque"]);
    let first = &sink.records("members")[0];
    assert_eq!(first["Prénom"], json!("Jeanne"));
    assert_eq!(first["Remarque"], json!(null), "an empty field is null");
    let second = &sink.records("members")[1];
    assert_eq!(second["email"], json!("  Jeanne.MARTIN@Example.FR "), "exported as written");
    assert_eq!(second["Remarque"], json!("ancienne carte, « doublon »"));
    // Via the card number, in file order; a padded key still matches, values stay as written.
    assert_eq!(sink.values("points", "Carte"), ["1001", "1003", "1001", "1003"]);
    assert_eq!(sink.records("points")[3]["Magasin"], json!(" Paris 4e "));
    assert_eq!(sink.records("points")[3]["Points"], json!(null));

    let all = serde_json::to_string(&sink.collections).unwrap();
    for other in ["example.fr.com", "xjeanne", "example.com", "Hélène", "1007"] {
        assert!(!all.contains(other), "{other} leaked into Jeanne's data");
    }
}

#[tokio::test]
async fn accented_names_and_quoted_newlines_survive() {
    let dir = loyalty();
    let c = connector(&dir.0, COLLECTIONS);
    let sink = collect(&c, "helene.lefevre@example.fr").await;
    let r = &sink.records("members")[0];
    assert_eq!(r["Nom"], json!("Lefèvre"));
    assert_eq!(r["Prénom"], json!("Hélène"));
    assert_eq!(r["Remarque"], json!("Carte perdue ; \nnouvelle carte émise"));
    assert_eq!(sink.values("points", "Points"), ["40"]);
}

#[tokio::test]
async fn similar_addresses_are_not_matched() {
    let dir = loyalty();
    let c = connector(&dir.0, COLLECTIONS);
    for (email, expected) in [
        ("jeanne.martin@example.com", vec!["1007"]),
        ("jeanne.martin@example.fr.com", vec!["1005"]),
        ("martin@example.fr", vec![]),
        ("example.fr@example.fr", vec![]),
        ("nobody@example.org", vec![]),
    ] {
        let sink = collect(&c, email).await;
        assert_eq!(sink.values("members", "N° adhérent"), expected, "{email}");
        if expected.is_empty() {
            assert!(sink.names().is_empty(), "{email}: no empty collection is begun");
        }
    }
}

#[tokio::test]
async fn broken_rows_are_skipped_and_reported_by_line() {
    let dir = loyalty();
    let c = connector(&dir.0, COLLECTIONS);
    let report = c.check().await.unwrap();
    assert_eq!(
        report.notes,
        [
            "7 rows in adherents.csv (collection members), 1 broken row skipped",
            // Line 5: the quoted note of line 3 runs over two lines.
            "warning: adherents.csv line 6: 5 fields where the header has 6; the row is skipped",
            "6 rows in points.csv (collection points)",
        ]
    );
    // The broken row belongs to someone else: it does not stop anyone else's answer.
    let sink = collect(&c, "jeanne.martin@example.fr").await;
    assert_eq!(sink.records("members").len(), 2);
}

#[tokio::test]
async fn a_broken_row_holding_the_subjects_address_fails_rather_than_hides() {
    let dir = loyalty();
    let c = connector(&dir.0, COLLECTIONS);
    let err = c.collect(&subject("francois.dupont@example.fr"), &mut VecSink::default()).await.unwrap_err();
    assert_eq!(err.kind, ConnectorErrorKind::Failed);
    assert!(
        err.message.starts_with("adherents.csv line 6: 5 fields where the header has 6 (collection members"),
        "{}",
        err.message
    );
    assert!(err.message.contains("holds the person's address"), "{}", err.message);
}

#[tokio::test]
async fn invalid_utf8_rows_are_skipped_in_a_utf8_file() {
    let dir = TempDir::new();
    // A UTF-8 file (with a byte-order mark) where one row was pasted in Windows-1252.
    let mut bytes = b"\xef\xbb\xbfemail,name\n\"a@example.fr\",\"Ren\xc3\xa9e\"\nb@example.fr,Ren\xe9\n".to_vec();
    bytes.extend_from_slice(b"c@example.fr,\"two\nlines\"\nd@example.fr\n");
    dir.utf8("people.csv", &bytes);
    let c =
        connector(&dir.0, "[[collections]]\nname = \"people\"\nfile = \"people.csv\"\nemail_columns = [\"email\"]\n");
    let report = c.check().await.unwrap();
    assert_eq!(
        report.notes,
        [
            "2 rows in people.csv (collection people), 2 broken rows skipped",
            "warning: people.csv line 3: not valid UTF-8 (if the file comes from Excel or an older Windows \
             tool, set encoding = \"windows-1252\"); the row is skipped",
            "warning: people.csv line 6: 1 field where the header has 2; the row is skipped",
        ]
    );
    let sink = collect(&c, "a@example.fr").await;
    assert_eq!(sink.collections[0].1, ["email", "name"], "the byte-order mark is not part of the header");
    assert_eq!(sink.records("people")[0]["name"], json!("Renée"));
    assert_eq!(collect(&c, "c@example.fr").await.records("people")[0]["name"], json!("two\nlines"));
    // The unreadable row holds b@…: that person's answer fails instead of silently missing it.
    let err = c.collect(&subject("b@example.fr"), &mut VecSink::default()).await.unwrap_err();
    assert!(err.message.starts_with("people.csv line 3: not valid UTF-8"), "{}", err.message);
}

#[tokio::test]
async fn missing_files_and_columns_are_named() {
    let dir = loyalty();
    let c = connector(&dir.0, &COLLECTIONS.replace("points.csv", "passages.csv"));
    let err = c.check().await.unwrap_err();
    assert_eq!(err.kind, ConnectorErrorKind::Misconfigured);
    assert_eq!(
        err.message,
        format!("file passages.csv not found in folder {} (collection points, source fidelite)", dir.0.display())
    );
    // Collecting for someone with no member row never needs the file; for Jeanne it does.
    assert!(collect(&c, "nobody@example.org").await.names().is_empty());
    let err = c.collect(&subject("jeanne.martin@example.fr"), &mut VecSink::default()).await.unwrap_err();
    assert_eq!(err.kind, ConnectorErrorKind::Misconfigured);

    let c = connector(&dir.0, &COLLECTIONS.replace("\"Adresse e-mail\"]", "\"E-mail\"]"));
    for err in [
        c.check().await.unwrap_err(),
        c.collect(&subject("jeanne.martin@example.fr"), &mut VecSink::default()).await.unwrap_err(),
    ] {
        assert_eq!(err.kind, ConnectorErrorKind::Misconfigured);
        assert_eq!(
            err.message,
            "column \"E-mail\" not found in the first line of adherents.csv (collection members, source \
             fidelite); its columns are: N° adhérent, Nom, Prénom, Adresse e-mail, Ville, Remarque"
        );
    }
    let c = connector(&dir.0, &COLLECTIONS.replace("\"Ville\"", "\"x\"").replace("\"Nom\"", "\"NOM\""));
    let err = c.check().await.unwrap_err();
    assert!(err.message.ends_with("(there is a column \"Nom\": names must match exactly)"), "{}", err.message);

    let gone = dir.0.join("gone");
    let c = connector(&gone, COLLECTIONS);
    let err = c.check().await.unwrap_err();
    assert_eq!(err.message, format!("folder {} of source fidelite not found", gone.display()));
}

#[tokio::test]
async fn without_columns_every_column_is_exported_under_a_unique_name() {
    let dir = TempDir::new();
    dir.utf8("t.csv", b"email,Note,Note,\na@example.fr,x,y,z\n");
    let c = connector(&dir.0, "[[collections]]\nname = \"t\"\nfile = \"t.csv\"\nemail_columns = [\"email\"]\n");
    let sink = collect(&c, "a@example.fr").await;
    assert_eq!(sink.collections[0].1, ["email", "Note", "Note (2)", "column 4"]);
    let notes = c.check().await.unwrap().notes;
    assert!(notes.iter().any(|n| n.contains("two columns named \"Note\"")), "{notes:?}");
}

#[tokio::test]
async fn line_numbers_follow_every_line_ending_style() {
    let dir = TempDir::new();
    let one = "[[collections]]\nname = \"t\"\nfile = \"t.csv\"\nemail_columns = [\"email\"]\n";
    for (ending, text) in [
        ("CRLF", "email,n\r\na@x.fr,1\r\n\r\nbroken\r\nb@x.fr,\"x\r\ny\"\r\nbroken\r\n"),
        ("LF", "email,n\na@x.fr,1\n\nbroken\nb@x.fr,\"x\ny\"\nbroken"),
        ("CR", "email,n\ra@x.fr,1\r\rbroken\rb@x.fr,\"x\ry\"\rbroken\r"),
    ] {
        dir.utf8("t.csv", text.as_bytes());
        let notes = connector(&dir.0, one).check().await.unwrap().notes;
        assert_eq!(
            notes,
            [
                "2 rows in t.csv (collection t), 2 broken rows skipped",
                "warning: t.csv line 4: 1 field where the header has 2; the row is skipped",
                "warning: t.csv line 7: 1 field where the header has 2; the row is skipped",
            ],
            "{ending}"
        );
    }
}

#[tokio::test]
async fn an_empty_file_is_misconfigured() {
    let dir = TempDir::new();
    dir.utf8("t.csv", b"");
    let c = connector(&dir.0, "[[collections]]\nname = \"t\"\nfile = \"t.csv\"\nemail_columns = [\"email\"]\n");
    let err = c.check().await.unwrap_err();
    assert_eq!(err.kind, ConnectorErrorKind::Misconfigured);
    assert!(err.message.contains("t.csv (collection t, source fidelite) is empty"), "{}", err.message);
}

fn config_error(toml_text: &str) -> String {
    match toml::from_str::<CsvSourceConfig>(toml_text) {
        Err(e) => e.to_string(),
        Ok(c) => match CsvConnector::new(c) {
            Err(e) => e.to_string(),
            Ok(_) => panic!("accepted:\n{toml_text}"),
        },
    }
}

#[test]
fn invalid_configurations_are_refused_with_a_reason() {
    let head = "name = \"f\"\ndir = \"/srv/exports\"\n";
    let root = "[[collections]]\nname = \"m\"\nfile = \"m.csv\"\nemail_columns = [\"email\"]\n";
    let cases: &[(String, &str)] = &[
        (
            format!("{head}[[collections]]\nname = \"m\"\nfile = \"../etc/passwd\"\nemail_columns = [\"e\"]\n"),
            "no `..`",
        ),
        (
            format!("{head}[[collections]]\nname = \"m\"\nfile = \"/etc/passwd\"\nemail_columns = [\"e\"]\n"),
            "not an absolute path",
        ),
        (
            format!("{head}[[collections]]\nname = \"m\"\nfile = \"a/../../b.csv\"\nemail_columns = [\"e\"]\n"),
            "no `..`",
        ),
        (format!("{head}[[collections]]\nname = \"m\"\nfile = \".\"\nemail_columns = [\"e\"]\n"), "must name a file"),
        (format!("{head}delimiter = \";;\"\n{root}"), "one ASCII character"),
        (format!("{head}delimiter = '\"'\n{root}"), "one ASCII character"),
        (format!("{head}encoding = \"utf-16\"\n{root}"), "encoding `utf-16` is not supported"),
        (
            format!(
                "{head}{root}[[collections]]\nname = \"p\"\nfile = \"p.csv\"\nvia = {{ collection = \"x\", column = \"a\", references = \"b\" }}\n"
            ),
            "not a collection declared before it",
        ),
        (format!("{head}[[collections]]\nname = \"m\"\nfile = \"m.csv\"\n"), "needs either `email_columns`"),
        (format!("{head}{root}{root}"), "two collections are named `m`"),
        (
            format!("{head}{root}columns = [\"a\", {{ header = \"b\", as = \"a\" }}]\n"),
            "two columns are exported as `a`",
        ),
        (format!("{head}{root}columns = []\n"), "`columns` is empty"),
        (format!("{head}{root}sheet = 1\n"), "unknown field `sheet`"),
        (format!("name = \"f\"\n{root}"), "missing field `dir`"),
    ];
    for (text, expected) in cases {
        let err = config_error(text);
        assert!(err.contains(expected), "expected {expected:?} in {err:?} for\n{text}");
    }
}

#[test]
fn sources_build_through_the_shared_entry_point() {
    let sources: Vec<crate::connectors::SourceConfig> = toml::from_str::<toml::Table>(
        "[[sources]]\nkind = \"csv\"\nname = \"f\"\ndir = \"/srv\"\nencoding = \"latin-1\"\n\
         [[sources.collections]]\nname = \"c\"\nfile = \"c.csv\"\nemail_columns = [\"e\"]\n",
    )
    .unwrap()["sources"]
        .clone()
        .try_into()
        .unwrap();
    assert_eq!(sources[0].name(), "f");
    let built = build(&sources).unwrap();
    assert_eq!(built[0].info().kind, "csv");
    assert_eq!(built[0].info().collections[0].name, "c");
}

// ---- Erasure, rectification and objection: `locate`, `execute`, the email list ----

/// The loyalty export with rules: a member's row is anonymised (surname masked, first name
/// emptied, address pseudonymised, note replaced by a text holding the delimiter), their town is
/// rectifiable; their points are deleted (several rows share a card number).
const WITH_RULES: &str = r#"
delimiter = ";"
encoding = "windows-1252"

[[collections]]
name = "members"
file = "adherents.csv"
email_columns = ["Adresse e-mail"]
key = [" N° adhérent "]
erasure = { action = "anonymise", fields = { "Nom" = { value = "X" }, "Prénom" = "null", "Adresse e-mail" = "null", "Remarque" = { value = "effacée; voir registre" } } }
rectifiable = [{ field = "Ville" }]

[[collections]]
name = "points"
file = "points.csv"
via = { collection = "members", column = "Carte", references = "N° adhérent" }
key = ["Carte"]
erasure = { action = "delete" }
"#;

fn cp1252(text: &str) -> Vec<u8> {
    let (bytes, _, unmappable) = encoding_rs::WINDOWS_1252.encode(text);
    assert!(!unmappable);
    bytes.into_owned()
}

/// `text` with `line` (a whole line of it) replaced by `by`, checking it was there.
fn replace_line(text: &str, line: &str, by: &str) -> String {
    assert_eq!(text.matches(line).count(), 1, "{line:?}");
    text.replace(line, by)
}

fn pseudonymiser() -> Pseudonymiser {
    Pseudonymiser::new(crate::crypto::SecretKey::generate())
}

/// The erasure plan's steps for `email`, as the erasure job makes them.
async fn erasure_steps(c: &CsvConnector, email: &str) -> Vec<Step> {
    let today = time::macros::date!(2026 - 03 - 10);
    let located = c.locate(&subject(email)).await.unwrap_or_else(|e| panic!("{e}"));
    located
        .iter()
        .filter_map(|l| {
            let rules = &c.info().collection(&l.collection).unwrap().rules;
            let change = crate::plans::erasure::plan(rules, l, today, Default::default()).change()?;
            Some(Step { collection: l.collection.clone(), key: l.key.clone(), change })
        })
        .collect()
}

fn key(header: &str, v: &str) -> Values {
    json!({ header: v }).as_object().unwrap().clone()
}

fn update(collection: &str, header: &str, id: &str, fields: &[(&str, Value)]) -> Step {
    Step {
        collection: collection.into(),
        key: key(header, id),
        change: Change::Update(
            fields.iter().map(|(f, v)| (f.to_string(), crate::plans::FieldWrite::Value(v.clone()))).collect(),
        ),
    }
}

/// The rows of a Windows-1252 `;` file, decoded, header first.
fn rows(bytes: &[u8]) -> Vec<Vec<String>> {
    let (text, _) = encoding_rs::WINDOWS_1252.decode_without_bom_handling(bytes);
    csv::ReaderBuilder::new()
        .delimiter(b';')
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes())
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect()
}

#[tokio::test]
async fn locate_follows_the_same_matching_as_collect() {
    let dir = loyalty();
    let c = connector(&dir.0, WITH_RULES);
    let found = c.locate(&subject("Jeanne.Martin@example.fr")).await.unwrap();
    let members: Vec<_> = found.iter().filter(|l| l.collection == "members").collect();
    assert_eq!(members.len(), 2);
    assert_eq!(members[0].key, key("N° adhérent", "1001"));
    assert_eq!(members[0].values, json!({"Ville": "Paris"}).as_object().unwrap().clone());
    assert_eq!(members[1].key, key("N° adhérent", "1003"));
    let cards: Vec<&Value> = found.iter().filter(|l| l.collection == "points").map(|l| &l.key["Carte"]).collect();
    assert_eq!(cards, [&json!("1001"), &json!("1003"), &json!("1001"), &json!("1003")]);
    assert!(found.iter().filter(|l| l.collection == "points").all(|l| l.values.is_empty()));

    // The look-alike address is another person.
    let other = c.locate(&subject("jeanne.martin@example.fr.com")).await.unwrap();
    assert_eq!(other.iter().map(|l| &l.key).collect::<Vec<_>>(), [&key("N° adhérent", "1005")]);

    // A collection without rules locates nothing, but is still read for the keys that lead on.
    let points_only = WITH_RULES
        .replace("key = [\" N° adhérent \"]\n", "")
        .replace(
            "erasure = { action = \"anonymise\", fields = { \"Nom\" = { value = \"X\" }, \"Prénom\" = \"null\", \"Adresse e-mail\" = \"null\", \"Remarque\" = { value = \"effacée; voir registre\" } } }\n",
            "",
        )
        .replace("rectifiable = [{ field = \"Ville\" }]\n", "");
    let c = connector(&dir.0, &points_only);
    assert!(c.info().collections[0].rules.is_empty());
    let found = c.locate(&subject("jeanne.martin@example.fr")).await.unwrap();
    assert_eq!(found.len(), 4);
    assert!(found.iter().all(|l| l.collection == "points"));
}

#[tokio::test]
async fn erasure_rewrites_only_the_subjects_rows_and_keeps_the_rest_byte_for_byte() {
    let dir = loyalty();
    let c = connector(&dir.0, WITH_RULES);
    let p = pseudonymiser();
    let steps = erasure_steps(&c, "jeanne.martin@example.fr").await;
    assert_eq!(steps.len(), 6, "{steps:#?}");
    let outcomes = c.execute(&steps, &p).await.unwrap_or_else(|e| panic!("{e}: {:?}", e.cause));
    assert!(outcomes.iter().all(|o| o.found), "{outcomes:?}");
    for (step, outcome) in steps.iter().zip(&outcomes) {
        assert!(outcome.satisfies(&step.change), "{step:?} {outcome:?}");
    }

    assert_eq!(
        outcomes[0].after,
        Some(
            json!({"Adresse e-mail": null, "Nom": "X", "Prénom": null, "Remarque": "effacée; voir registre"})
                .as_object()
                .unwrap()
                .clone()
        )
    );
    // Everything else, the broken row and the look-alike address included, stays byte for byte;
    // the header, the CRLF line endings and Windows-1252 too.
    let members = replace_line(
        MEMBERS,
        "1001;Martin;Jeanne;jeanne.martin@example.fr;Paris;\r\n",
        "1001;X;;;Paris;\"effacée; voir registre\"\r\n",
    );
    let members = replace_line(
        &members,
        "1003;Martin;Jeanne;  Jeanne.MARTIN@Example.FR ;Paris;\"ancienne carte, \u{ab} doublon \u{bb}\"\r\n",
        "1003;X;;;Paris;\"effacée; voir registre\"\r\n",
    );
    assert_eq!(dir.read("adherents.csv"), cp1252(&members));
    assert_eq!(
        dir.read("points.csv"),
        cp1252("Carte;Date;Magasin;Points\r\n1002;2019-03-05;Lyon;40\r\n1007;2020-02-01;Lyon;10\r\n")
    );
    assert_eq!(dir.names(), ["adherents.csv", "points.csv"], "no temporary file is left");

    // Field by field, as another tool reads the file.
    let rows = rows(&dir.read("adherents.csv"));
    let row = |id: &str| rows.iter().find(|r| r[0] == id).unwrap().clone();
    assert_eq!(row("1001"), ["1001", "X", "", "", "Paris", "effacée; voir registre"]);
    assert_eq!(row("1003")[3], "");
    assert_eq!(row("1002")[5], "Carte perdue ; \nnouvelle carte émise");
    assert_eq!(row("1004"), ["1004", "Dupont", "François", "francois.dupont@example.fr", "Nantes"]);
    assert_eq!(row("1005")[3], "jeanne.martin@example.fr.com");
    assert!(collect(&c, "jeanne.martin@example.fr").await.names().is_empty(), "she is no longer found");
    assert_eq!(collect(&c, "helene.lefevre@example.fr").await.values("points", "Points"), ["40"]);

    // Running the same steps again (a retry after a crash) changes nothing more.
    let before = (dir.read("adherents.csv"), dir.read("points.csv"));
    let again = c.execute(&steps, &p).await.unwrap();
    assert_eq!((dir.read("adherents.csv"), dir.read("points.csv")), before);
    assert_eq!(again[0], outcomes[0]);
    assert!(again.iter().filter(|o| o.after.is_none()).all(|o| !o.found), "the points were already deleted");
    assert_eq!(dir.names(), ["adherents.csv", "points.csv"]);
}

#[tokio::test]
async fn a_partial_set_of_steps_changes_only_those_rows() {
    let dir = loyalty();
    let c = connector(&dir.0, WITH_RULES);
    let p = pseudonymiser();
    let steps: Vec<Step> = erasure_steps(&c, "jeanne.martin@example.fr")
        .await
        .into_iter()
        .filter(|s| s.collection == "members" && s.key == key("N° adhérent", "1003"))
        .collect();
    assert_eq!(steps.len(), 1);
    c.execute(&steps, &p).await.unwrap();
    let members = replace_line(
        MEMBERS,
        "1003;Martin;Jeanne;  Jeanne.MARTIN@Example.FR ;Paris;\"ancienne carte, \u{ab} doublon \u{bb}\"\r\n",
        "1003;X;;;Paris;\"effacée; voir registre\"\r\n",
    );
    assert_eq!(dir.read("adherents.csv"), cp1252(&members));
    assert_eq!(dir.read("points.csv"), cp1252(POINTS));
}

#[tokio::test]
async fn rectification_writes_exactly_the_field_and_reads_it_back() {
    let dir = loyalty();
    let c = connector(&dir.0, WITH_RULES);
    let steps = [
        update("members", "N° adhérent", "1001", &[("Ville", json!("Saint-Étienne"))]),
        // Several rows share card 1001: all of them change.
        update("points", "Carte", "1001", &[("Points", json!(0))]),
        update("members", "N° adhérent", "9999", &[("Ville", json!("Lyon"))]),
    ];
    let outcomes = c.execute(&steps, &pseudonymiser()).await.unwrap();
    assert_eq!(outcomes[0].after, Some(json!({"Ville": "Saint-Étienne"}).as_object().unwrap().clone()));
    assert!(outcomes[0].satisfies(&steps[0].change) && outcomes[1].satisfies(&steps[1].change));
    assert_eq!(outcomes[2], StepOutcome { found: false, after: None }, "no such member");
    assert!(!outcomes[2].satisfies(&steps[2].change));
    let members = replace_line(
        MEMBERS,
        "1001;Martin;Jeanne;jeanne.martin@example.fr;Paris;\r\n",
        "1001;Martin;Jeanne;jeanne.martin@example.fr;Saint-\u{c9}tienne;\r\n",
    );
    assert_eq!(dir.read("adherents.csv"), cp1252(&members));
    let points = replace_line(POINTS, "1001;2019-03-02;Paris 4e;120\r\n", "1001;2019-03-02;Paris 4e;0\r\n");
    let points = replace_line(&points, "1001;2020-01-15;Paris 11e;-100\r\n", "1001;2020-01-15;Paris 11e;0\r\n");
    assert_eq!(dir.read("points.csv"), cp1252(&points));
    assert_eq!(dir.names(), ["adherents.csv", "points.csv"]);
}

#[tokio::test]
async fn a_value_the_encoding_lacks_changes_nothing_and_says_why() {
    let dir = loyalty();
    let c = connector(&dir.0, WITH_RULES);
    // The members' file would be written first; the points' file cannot be.
    let steps = [
        update("members", "N° adhérent", "1001", &[("Ville", json!("Saint-Étienne €"))]),
        update("points", "Carte", "1002", &[("Magasin", json!("北京"))]),
    ];
    let err = c.execute(&steps, &pseudonymiser()).await.unwrap_err();
    assert_eq!(err.kind, ConnectorErrorKind::Misconfigured);
    assert_eq!(
        err.message,
        "the new value for column \"Magasin\" cannot be written in windows-1252, the encoding of points.csv \
         (collection points, source fidelite): it holds a character that encoding lacks; nothing was changed. \
         Correct the value, or convert the file to UTF-8 and set encoding = \"utf-8\""
    );
    assert_eq!(dir.read("adherents.csv"), cp1252(MEMBERS));
    assert_eq!(dir.read("points.csv"), cp1252(POINTS));
    assert_eq!(dir.names(), ["adherents.csv", "points.csv"], "no temporary file is left");
}

#[tokio::test]
async fn steps_that_name_no_record_are_refused_before_anything_is_written() {
    let dir = loyalty();
    let c = connector(&dir.0, WITH_RULES);
    let p = pseudonymiser();
    let ok = update("members", "N° adhérent", "1001", &[("Ville", json!("Lyon"))]);
    for (bad, expected) in [
        (
            update("members", "Nom", "Martin", &[("Ville", json!("Lyon"))]),
            "does not name its record by the key (N° adhérent)",
        ),
        (update("members", "N° adhérent", "1002", &[("Téléphone", json!("x"))]), "column \"Téléphone\" not found"),
        (update("members", "N° adhérent", "1002", &[("N° adhérent", json!("1"))]), "identifies the records"),
        (update("members", "N° adhérent", "1002", &[("Ville", json!(["a"]))]), "a list or a table"),
        (update("stores", "id", "1", &[]), "source fidelite has no collection named stores"),
    ] {
        let err = c.execute(&[ok.clone(), bad], &p).await.unwrap_err();
        assert!(err.message.contains(expected), "{expected:?} in {}", err.message);
        assert_eq!(dir.read("adherents.csv"), cp1252(MEMBERS));
        assert_eq!(dir.names(), ["adherents.csv", "points.csv"]);
    }
}

#[tokio::test]
async fn line_endings_quotes_and_byte_order_marks_are_kept_in_every_style() {
    let dir = TempDir::new();
    let c = connector(
        &dir.0,
        "[[collections]]\nname = \"t\"\nfile = \"t.csv\"\nemail_columns = [\"email\"]\nkey = [\"id\"]\n\
         erasure = { action = \"delete\" }\n",
    );
    for e in ["\r\n", "\n", "\r"] {
        // A blank line, a quoted line break, and no line ending after the last row.
        let text = format!("\u{feff}id,email,note{e}1,a@x.fr,x{e}{e}2,b@x.fr,\"a{e}b\"{e}3,c@x.fr,z");
        dir.utf8("t.csv", text.as_bytes());
        let steps = [
            Step { collection: "t".into(), key: key("id", "3"), change: Change::Delete },
            update("t", "id", "1", &[("note", json!("say \"hi\", then go"))]),
        ];
        let outcomes = c.execute(&steps, &pseudonymiser()).await.unwrap();
        assert!(outcomes.iter().all(|o| o.found));
        assert_eq!(outcomes[1].after, Some(json!({"note": "say \"hi\", then go"}).as_object().unwrap().clone()));
        let expected =
            format!("\u{feff}id,email,note{e}1,a@x.fr,\"say \"\"hi\"\", then go\"{e}{e}2,b@x.fr,\"a{e}b\"{e}");
        assert_eq!(String::from_utf8(dir.read("t.csv")).unwrap(), expected, "{e:?}");
        assert_eq!(dir.names(), ["t.csv"]);
    }
}

#[tokio::test]
async fn a_row_of_the_subject_without_a_key_value_is_not_guessed_at() {
    let dir = TempDir::new();
    dir.utf8("t.csv", b"id,email\n1,b@x.fr\n ,a@x.fr\n");
    let c = connector(
        &dir.0,
        "[[collections]]\nname = \"t\"\nfile = \"t.csv\"\nemail_columns = [\"email\"]\nkey = [\"id\"]\n\
         erasure = { action = \"delete\" }\n",
    );
    let err = c.locate(&subject("a@x.fr")).await.unwrap_err();
    assert_eq!(
        err.message,
        "t.csv line 3: one of the person's rows has nothing in the key column \"id\" (collection t, source \
         fidelite), so it cannot be changed safely: fill it in, then retry"
    );
    assert_eq!(c.locate(&subject("b@x.fr")).await.unwrap().len(), 1);
}

#[tokio::test]
async fn every_root_address_is_listed_normalised() {
    let dir = loyalty();
    let c = connector(&dir.0, WITH_RULES);
    let mut found = Vec::new();
    c.emails(&mut |e: &str| found.push(e.to_string())).await.unwrap();
    // The broken row (1004) and the empty address (1008) are skipped; `points` has no addresses.
    assert_eq!(
        found,
        [
            "jeanne.martin@example.fr",
            "helene.lefevre@example.fr",
            "jeanne.martin@example.fr",
            "jeanne.martin@example.fr.com",
            "xjeanne.martin@example.fr",
            "jeanne.martin@example.com",
        ]
    );
}

#[tokio::test]
async fn rules_are_checked_when_dossier_starts_and_against_the_files() {
    let head = "name = \"f\"\ndir = \"/srv/exports\"\n";
    let root = "[[collections]]\nname = \"m\"\nfile = \"m.csv\"\nemail_columns = [\"email\"]\n";
    for (rest, expected) in [
        (
            "erasure = { action = \"delete\" }\n",
            "source `f`: collection `m`: its rules change records, so it needs `key`",
        ),
        ("key = [\"id\"]\nrectifiable = [{ field = \" id \" }]\n", "the key column `id` cannot be rectifiable"),
        ("key = [\"id\", \" \"]\n", "`key` holds an empty name"),
        (
            "key = [\"id\"]\nobjections = [{ purpose = \"direct-marketing\", set = { optin = [0] } }]\n",
            "the value written into `optin` must be a text, a number or true/false",
        ),
        (
            "key = [\"id\"]\nobjections = [{ purpose = \"direct-marketing\", set = { optin = 0, \" optin\" = 1 } }]\n",
            "column `optin` is named twice in `objections.set`",
        ),
    ] {
        let err = config_error(&format!("{head}{root}{rest}"));
        assert!(err.contains(expected), "expected {expected:?} in {err:?}");
    }

    let dir = loyalty();
    let c = connector(&dir.0, &WITH_RULES.replace("field = \"Ville\"", "field = \"Téléphone\""));
    let err = c.check().await.unwrap_err();
    assert_eq!(err.kind, ConnectorErrorKind::Misconfigured);
    assert_eq!(
        err.message,
        "column \"Téléphone\" not found in the first line of adherents.csv (collection members, source fidelite); \
         its columns are: N° adhérent, Nom, Prénom, Adresse e-mail, Ville, Remarque"
    );
    assert!(connector(&dir.0, WITH_RULES).check().await.is_ok());
}

/// A newsletter tool's export: a sender with a display name, a reply-to list, a bare column.
const MAILINGS: &str = "id,email,from,reply_to,subject\n\
    1,,Marie Lefèvre <marie@x.fr>,,display name\n\
    2,,\"\"\"Lefèvre, Marie\"\" <Marie@X.fr>\",,\"quoted name with a comma, capitals\"\n\
    3,,mailto:marie@x.fr,,mailto\n\
    4,,other@y.org,\"a@y.org, Marie <marie@x.fr>\",list with commas\n\
    5,,other@y.org,a@y.org; MARIE@x.fr,list with semicolons\n\
    6,,Anne <annemarie@x.fr>,annemarie@x.fr,substring trap\n\
    7,,marie@x.fr.evil.com,Marie <marie@x.fr.com>,longer domain trap\n\
    8,,Élodie <élodie@x.fr>,élodie@x.fr,accented\n\
    9,,Elodie <elodie@x.fr>,,not accented\n\
    10, Marie@x.fr ,,,bare column\n\
    11,Marie <marie@x.fr>,,,a bare column holds one bare address\n";

const MAILING_COLLECTIONS: &str = r#"
[[collections]]
name = "mailings"
file = "mailings.csv"
email_columns = ["email", "from", " reply_to "]
email_formats = { from = "address", reply_to = "list" }
columns = ["id", "subject"]
key = ["id"]
erasure = { action = "delete" }
"#;

#[tokio::test]
async fn address_formats_find_exactly_the_subjects_rows() {
    let dir = TempDir::new();
    dir.utf8("mailings.csv", MAILINGS.as_bytes());
    let c = connector(&dir.0, MAILING_COLLECTIONS);
    for (email, expected) in [
        ("marie@x.fr", vec!["1", "2", "3", "4", "5", "10"]),
        ("annemarie@x.fr", vec!["6"]),
        ("élodie@x.fr", vec!["8"]),
        ("elodie@x.fr", vec!["9"]),
        ("other@y.org", vec!["4", "5"]),
        ("marie@x.fr.com", vec!["7"]),
        ("arie@x.fr", vec![]),
    ] {
        let sink = collect(&c, email).await;
        assert_eq!(sink.values("mailings", "id"), expected, "{email}");
        let located = c.locate(&subject(email)).await.unwrap();
        let keys: Vec<&str> = located.iter().map(|l| l.key["id"].as_str().unwrap()).collect();
        assert_eq!(keys, expected, "locate {email}");
    }
    let mut listed: Vec<String> = Vec::new();
    c.emails(&mut |e: &str| listed.push(e.to_string())).await.unwrap();
    listed.sort();
    listed.dedup();
    assert_eq!(
        listed,
        [
            "a@y.org",
            "annemarie@x.fr",
            "elodie@x.fr",
            "marie <marie@x.fr>",
            "marie@x.fr",
            "marie@x.fr.com",
            "marie@x.fr.evil.com",
            "other@y.org",
            "élodie@x.fr"
        ]
    );
}

#[test]
fn an_unknown_address_format_is_refused_naming_source_collection_and_column() {
    let toml_text =
        format!("name = \"fidelite\"\ndir = \"/tmp\"\n{}", MAILING_COLLECTIONS.replace("\"list\"", "\"liste\""));
    let config: CsvSourceConfig = toml::from_str(&toml_text).unwrap();
    let err = CsvConnector::new(config).unwrap_err().to_string();
    assert!(
        err.starts_with("source `fidelite`: collection `mailings`: email column `reply_to` has the format `liste`"),
        "{err}"
    );
}

// Conditions, several paths and parent values (issue 13)

/// A CRM export: contacts, companies, and notes pointing at a contact *or* a company through
/// `model,res_id`. Jeanne's contact id (1) is also Acme's company id.
fn polymorphic() -> TempDir {
    let dir = TempDir::new();
    dir.utf8(
        "contacts.csv",
        b"id,company_id,email,kind\n1,10,jeanne@x.fr,client\n2,1,paul@x.fr,client\n3,,jeanne@x.fr,prospect\n",
    );
    dir.utf8("companies.csv", b"id,name\n1,Acme\n10,Globex\n");
    dir.utf8(
        "notes.csv",
        b"id,model,res_id,author,body,written_on\n\
          100,res.partner,1,,call Jeanne,2024-01-02\n\
          101,res.company,1,,Acme contract,2024-01-03\n\
          102,res.partner,2,,call Paul,2024-01-04\n\
          103,res.partner,1,JEANNE@x.fr,Jeanne wrote on her record,2024-01-05\n\
          104,res.company,10,jeanne@x.fr,Jeanne wrote on Globex,2024-01-06\n\
          105,res.company,10,,Globex memo,\n",
    );
    dir
}

const POLYMORPHIC: &str = r#"
[[collections]]
name = "contacts"
file = "contacts.csv"
email_columns = ["email"]
where = "kind = 'client'"
[[collections]]
name = "companies"
file = "companies.csv"
via = { collection = "contacts", column = "id", references = "company_id" }
[[collections]]
name = "notes"
file = "notes.csv"
email_columns = ["author"]
via = [
  { collection = "contacts", column = "res_id", references = "id", where = "model = 'res.partner'" },
  { collection = "companies", column = "res_id", references = "id", where = "model = 'res.company' AND written_on IS NOT NULL" },
]
key = ["id"]
erasure = { action = "retain", basis = "legal-obligation", years = 1, from_column = "companies.name", law = "test" }
"#;

fn csv_ids(sink: &VecSink, collection: &str) -> Vec<String> {
    let mut v: Vec<String> =
        sink.records(collection).iter().map(|r| r["id"].as_str().unwrap_or_default().to_string()).collect();
    v.sort();
    v
}

#[tokio::test]
async fn conditions_and_several_paths_give_exactly_the_subjects_rows_once() {
    let dir = polymorphic();
    let c = connector(&dir.0, POLYMORPHIC);
    let sink = collect(&c, "jeanne@x.fr").await;
    // The prospect row (3) fails the collection's condition.
    assert_eq!(csv_ids(&sink, "contacts"), ["1"]);
    assert_eq!(csv_ids(&sink, "companies"), ["10"]);
    // 100 and 103 through her contact; 104 through Globex and its author, once; never Acme's
    // note 101 (company id 1 = her contact id); 105 has no date.
    assert_eq!(csv_ids(&sink, "notes"), ["100", "103", "104"]);

    let located = c.locate(&subject("jeanne@x.fr")).await.unwrap();
    let mut ids: Vec<&str> = located.iter().map(|l| l.key["id"].as_str().unwrap()).collect();
    ids.sort_unstable();
    assert_eq!(ids, ["100", "103", "104"]);
    // The parent value the rule reads: the company reached, or none (a note on her contact).
    let on = |id: &str| located.iter().find(|l| l.key["id"] == json!(id)).map(|l| l.values.clone()).unwrap();
    assert_eq!(on("104")["companies.name"], json!("Globex"));
    assert_eq!(on("100")["companies.name"], Value::Null);
}

#[test]
fn csv_conditions_are_refused_when_they_read_another_table_or_miss_a_key() {
    let head = "name = \"f\"\ndir = \"/srv/exports\"\n[[collections]]\nname = \"contacts\"\nfile = \"c.csv\"\nemail_columns = [\"email\"]\n";
    let qualified = format!("{head}where = \"type.source = 'external'\"\n");
    assert_eq!(
        config_error(&qualified),
        "source `f`: collection `contacts`: `where` reads `type.source`, a column of another table (`type`), but a \
         CSV collection's conditions can only read the headers of its own file"
    );
    let two = format!(
        "{head}[[collections]]\nname = \"notes\"\nfile = \"n.csv\"\nemail_columns = [\"author\"]\n\
         via = {{ collection = \"contacts\", column = \"res_id\", references = \"id\" }}\n"
    );
    assert!(config_error(&two).starts_with(
        "source `f`: collection `notes`: it is reached by 2 paths (`email_columns` and `via`), so it needs `key`"
    ));
}

#[tokio::test]
async fn check_names_a_condition_header_missing_from_the_file() {
    let dir = polymorphic();
    let c = connector(&dir.0, &POLYMORPHIC.replace("where = \"kind = 'client'\"", "where = \"kynd = 'client'\""));
    let err = c.check().await.expect_err("check passed");
    assert!(
        err.message.starts_with(
            "column \"kynd\" not found in the first line of contacts.csv (collection contacts, source fidelite)"
        ),
        "{}",
        err.message
    );
    assert!(connector(&dir.0, POLYMORPHIC).check().await.is_ok());
}
