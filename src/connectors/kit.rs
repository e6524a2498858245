//! The collection graph the SQL and CSV kinds share: which collections a source has, how each is
//! reached (its email columns and its references, `via`), which of its rows count (`where`
//! conditions, SQL `lookups`), and which values of parent rows its rules read. It is validated
//! once, here, with the same sentences for every kind; each kind then only says how to read and
//! write (see `docs/connectors.md`).
//!
//! Invariants the graph guarantees to the kinds:
//!
//! - **Order.** A reference points at a collection declared *before* it, which rules out cycles;
//!   a collection's paths are all known when it is read.
//! - **Several paths, one record.** A collection reached by more than one path (email columns
//!   and references, or several references) has a `key`: each of its rows is emitted once by
//!   `collect` and located once by `locate`, whichever paths lead to it.
//! - **Conditions.** Every `where` parsed (see [`Condition`]); a qualified field (`type.source`)
//!   names a lookup of the same collection, and only kinds that join lookups (SQL) accept one.
//! - **Parent values.** A rule column `<parent>.<column>` names a collection this one is reached
//!   through (`via`); the kind reads that column from the parent row and gives it to the rules
//!   under the qualified name.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::SourceInfo;
use crate::domain::condition::Condition;
use crate::plans::{ErasureAction, Rules};

/// One reference of a collection: its rows whose `column` equals `references` in a row of
/// `collection`, and, with `where`, only those of them the condition keeps.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Via {
    pub collection: String,
    pub column: String,
    pub references: String,
    /// A condition on the rows reached (`model = 'res.partner'`), see [`Condition`].
    #[serde(default, rename = "where")]
    pub condition: Option<String>,
}

/// `via = { … }` or `via = [{ … }, { … }]`: one reference, or several (the rows any of them reach).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Vias {
    One(Via),
    Many(Vec<Via>),
}

impl Vias {
    pub fn as_slice(&self) -> &[Via] {
        match self {
            Vias::One(v) => std::slice::from_ref(v),
            Vias::Many(v) => v,
        }
    }
}

/// `lookups = { type = { table = "llx_c_type_contact", column = "rowid", from = "fk_c_type_contact" } }`:
/// the row of `table` whose `column` equals this row's `from`, readable in conditions as
/// `type.<column>`. Never exported. SQL only.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lookup {
    pub table: String,
    pub column: String,
    pub from: String,
}

/// What the graph needs to know of one configured collection, whatever its kind.
#[derive(Debug, Clone, Copy)]
pub struct Spec<'a> {
    pub name: &'a str,
    /// Every column searched for the person's address (plain and normalised), as configured.
    pub email_columns: &'a [&'a str],
    pub via: Option<&'a Vias>,
    pub condition: Option<&'a str>,
    pub lookups: &'a BTreeMap<String, Lookup>,
    pub rules: &'a Rules,
}

/// Which optional features a kind supports.
#[derive(Debug, Clone, Copy)]
pub struct Supports {
    /// SQL joins lookup rows; CSV does not.
    pub lookups: bool,
}

/// A validated reference.
#[derive(Debug, Clone)]
pub struct Edge {
    pub parent: usize,
    pub column: String,
    pub references: String,
    pub condition: Option<Condition>,
}

/// A value of a parent row the rules need: `qualified` is `<parent>.<column>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParentValue {
    pub parent: usize,
    pub column: String,
    pub qualified: String,
}

/// A validated collection.
#[derive(Debug, Clone)]
pub struct Node {
    pub name: String,
    /// Reached through its email columns.
    pub by_email: bool,
    pub edges: Vec<Edge>,
    /// The condition on every row of the collection.
    pub condition: Option<Condition>,
    pub lookups: BTreeMap<String, Lookup>,
    /// The parent values the rules read.
    pub parent_values: Vec<ParentValue>,
    /// More than one path leads here: rows are merged by `key`.
    pub merged: bool,
}

impl Node {
    /// The distinct collections this one is reached through.
    pub fn parents(&self) -> Vec<usize> {
        let mut out: Vec<usize> = Vec::new();
        for e in &self.edges {
            if !out.contains(&e.parent) {
                out.push(e.parent);
            }
        }
        out
    }

    /// Every field the conditions read on this collection's own rows (unqualified), each once.
    pub fn own_condition_columns(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        let conds = self.condition.iter().chain(self.edges.iter().filter_map(|e| e.condition.as_ref()));
        for c in conds {
            for f in c.fields() {
                if !f.contains('.') && !out.contains(&f) {
                    out.push(f);
                }
            }
        }
        out
    }

    /// The columns each lookup's table must have (its `column` and those the conditions read).
    pub fn lookup_columns(&self) -> Vec<(&str, &Lookup, Vec<&str>)> {
        let conds: Vec<&Condition> =
            self.condition.iter().chain(self.edges.iter().filter_map(|e| e.condition.as_ref())).collect();
        self.lookups
            .iter()
            .map(|(name, l)| {
                let mut cols = vec![l.column.as_str()];
                for c in &conds {
                    for f in c.fields() {
                        if let Some((q, col)) = f.split_once('.')
                            && q == name
                            && !cols.contains(&col)
                        {
                            cols.push(col);
                        }
                    }
                }
                (name.as_str(), l, cols)
            })
            .collect()
    }
}

/// Whether `name` is a qualified name (`qualifier.column`).
pub fn is_qualified(name: &str) -> bool {
    name.contains('.')
}

/// The validated graph of a source's collections, in configuration order.
#[derive(Debug, Clone)]
pub struct Graph {
    pub nodes: Vec<Node>,
}

fn parse_condition(source: &str, collection: &str, key: &str, text: &str) -> anyhow::Result<Condition> {
    text.parse::<Condition>()
        .map_err(|e| anyhow::anyhow!("source `{source}`: collection `{collection}`: `{key}` cannot be read: {e}"))
}

impl Graph {
    /// Validates the shared part of a source's configuration. `column_ok` says whether a column
    /// name is acceptable to the kind (SQL identifiers; CSV headers).
    pub fn build(
        source: &str,
        specs: &[Spec<'_>],
        supports: Supports,
        column_ok: &dyn Fn(&str) -> bool,
    ) -> anyhow::Result<Graph> {
        let mut nodes: Vec<Node> = Vec::with_capacity(specs.len());
        for spec in specs {
            let name = spec.name;
            let fail = |what: String| anyhow::anyhow!("source `{source}`: collection `{name}`: {what}");
            anyhow::ensure!(!name.trim().is_empty(), "source `{source}`: a collection has an empty `name`");
            anyhow::ensure!(
                nodes.iter().all(|n| n.name != name),
                "source `{source}`: two collections are named `{name}`"
            );
            if matches!(spec.via, Some(Vias::Many(v)) if v.is_empty()) {
                return Err(fail("`via` is an empty list; give at least one reference".into()));
            }
            let vias = spec.via.map(Vias::as_slice).unwrap_or(&[]);
            let by_email = !spec.email_columns.is_empty();
            if !by_email && vias.is_empty() {
                return Err(fail(
                    "needs either `email_columns` (rows holding the person's email) or `via` (rows related to \
                     an earlier collection)"
                        .into(),
                ));
            }
            let paths = usize::from(by_email) + vias.len();
            let merged = paths > 1;
            if merged && spec.rules.key.is_empty() {
                return Err(fail(format!(
                    "it is reached by {paths} paths ({}), so it needs `key` (the column or columns that identify \
                     one record, e.g. `key = [\"id\"]`) to give each record once",
                    if by_email { "`email_columns` and `via`" } else { "several `via`" }
                )));
            }
            if !supports.lookups && !spec.lookups.is_empty() {
                return Err(fail(
                    "`lookups` joins rows of another table, which only SQL sources can do; remove it".into(),
                ));
            }
            for (lname, l) in spec.lookups {
                anyhow::ensure!(
                    column_ok(lname) && !lname.contains('.'),
                    "source `{source}`: collection `{name}`: `lookups.{lname}`: the name must be letters, digits and `_`"
                );
                for (key, col) in [("column", &l.column), ("from", &l.from)] {
                    anyhow::ensure!(
                        column_ok(col),
                        "source `{source}`: collection `{name}`: `lookups.{lname}.{key}` `{col}` is not a valid \
                         column name (letters, digits and `_`, not starting with a digit)"
                    );
                }
            }
            // A qualified field must name a lookup of this collection (SQL), or is refused (CSV).
            let check_fields = |key: &str, c: &Condition| -> anyhow::Result<()> {
                for f in c.fields() {
                    match f.split_once('.') {
                        None => anyhow::ensure!(
                            column_ok(f),
                            "source `{source}`: collection `{name}`: `{key}` reads `{f}`, which is not a valid column name"
                        ),
                        Some((q, _)) if !supports.lookups => anyhow::bail!(
                            "source `{source}`: collection `{name}`: `{key}` reads `{f}`, a column of another table \
                             (`{q}`), but a CSV collection's conditions can only read the headers of its own file"
                        ),
                        Some((q, col)) => {
                            anyhow::ensure!(
                                spec.lookups.contains_key(q),
                                "source `{source}`: collection `{name}`: `{key}` reads `{f}`, but the collection has \
                                 no lookup `{q}`; add `lookups = {{ {q} = {{ table = \"…\", column = \"…\", from = \"…\" }} }}`"
                            );
                            anyhow::ensure!(
                                column_ok(col),
                                "source `{source}`: collection `{name}`: `{key}` reads `{f}`, whose column is not a valid name"
                            );
                        }
                    }
                }
                Ok(())
            };
            let condition = match spec.condition {
                Some(text) => {
                    let c = parse_condition(source, name, "where", text)?;
                    check_fields("where", &c)?;
                    Some(c)
                }
                None => None,
            };
            let mut edges = Vec::with_capacity(vias.len());
            for via in vias {
                let parent = nodes.iter().position(|n| n.name == via.collection).ok_or_else(|| {
                    fail(format!(
                        "it is reached via `{}`, which is not a collection declared before it (declare `{}` \
                         first; references can only point backwards, which rules out cycles)",
                        via.collection, via.collection
                    ))
                })?;
                for (key, col) in [("via.column", &via.column), ("via.references", &via.references)] {
                    anyhow::ensure!(
                        column_ok(col),
                        "source `{source}`: collection `{name}`: `{key}` `{col}` is not a valid column name \
                         (letters, digits and `_`, not starting with a digit)"
                    );
                }
                let condition = match &via.condition {
                    Some(text) => {
                        let c = parse_condition(source, name, "via.where", text)?;
                        check_fields("via.where", &c)?;
                        Some(c)
                    }
                    None => None,
                };
                edges.push(Edge {
                    parent,
                    column: via.column.trim().to_string(),
                    references: via.references.trim().to_string(),
                    condition,
                });
            }
            let mut parent_values = Vec::new();
            for needed in spec.rules.needed_columns() {
                let Some((q, col)) = needed.split_once('.') else { continue };
                let parent = edges.iter().find(|e| nodes[e.parent].name == q).map(|e| e.parent).ok_or_else(|| {
                    fail(format!(
                        "its rules read `{needed}`, but `{q}` is not a collection it is reached through (`via`); \
                         name a column of its own, or of a `via` parent as `<parent>.<column>`"
                    ))
                })?;
                anyhow::ensure!(
                    column_ok(col),
                    "source `{source}`: collection `{name}`: its rules read `{needed}`, whose column is not a valid name"
                );
                parent_values.push(ParentValue { parent, column: col.to_string(), qualified: needed.to_string() });
            }
            nodes.push(Node {
                name: name.to_string(),
                by_email,
                edges,
                condition,
                lookups: spec.lookups.clone(),
                parent_values,
                merged,
            });
        }
        Ok(Graph { nodes })
    }

    /// The parents of each collection, for [`ensure_nothing_changed_below_shared`].
    pub fn parents(&self) -> Vec<Vec<usize>> {
        self.nodes.iter().map(Node::parents).collect()
    }

    /// The collections `locate` must read: those with rules, and every collection they are
    /// reached through (their keys and parent values come from there).
    pub fn located(&self, info: &SourceInfo) -> Vec<bool> {
        let mut read: Vec<bool> = info.collections.iter().map(|c| !c.rules.is_empty()).collect();
        for i in (0..self.nodes.len()).rev() {
            if read[i] {
                for p in self.nodes[i].parents() {
                    read[p] = true;
                }
            }
        }
        read
    }
}

/// Refuses rules that would change records reached through a `shared` collection (a company
/// record shared by many contacts → that company's deals): those rows may be other people's.
/// `parents[i]` are the collections `i` is reached from (`via`); a record reached through a
/// shared collection by *any* of its paths is refused, since that path may be someone else's.
pub fn ensure_nothing_changed_below_shared(info: &SourceInfo, parents: &[Vec<usize>]) -> anyhow::Result<()> {
    let shared = |i: usize| {
        info.collections[i]
            .rules
            .erasure
            .as_ref()
            .is_some_and(|e| e.actions().any(|a| a.action == ErasureAction::Shared))
    };
    for (i, c) in info.collections.iter().enumerate() {
        crate::plans::ensure_unlinked(&info.name, &c.name, &c.rules, |name| {
            info.collections.iter().find(|o| o.name == name).map(|o| &o.rules)
        })?;
        let changes = c.rules.erasure.as_ref().is_some_and(|e| e.actions().any(|a| a.changes()))
            || !c.rules.rectifiable.is_empty()
            || !c.rules.objections.is_empty();
        if !changes {
            continue;
        }
        // Every ancestor, through every path.
        let mut stack: Vec<usize> = parents.get(i).cloned().unwrap_or_default();
        let mut seen = std::collections::HashSet::new();
        while let Some(p) = stack.pop() {
            if !seen.insert(p) {
                continue;
            }
            anyhow::ensure!(
                !shared(p),
                "source `{}`: collection `{}` is reached through `{}`, which is shared with other people, so \
                 its rows may be theirs: it cannot be erased, corrected or suppressed by one person's \
                 request (set `erasure = {{ action = \"shared\", … }}`)",
                info.name,
                c.name,
                info.collections[p].name
            );
            stack.extend(parents.get(p).cloned().unwrap_or_default());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build(toml_text: &str, supports: Supports) -> anyhow::Result<Graph> {
        #[derive(Deserialize)]
        struct C {
            name: String,
            #[serde(default)]
            email_columns: Vec<String>,
            via: Option<Vias>,
            #[serde(rename = "where")]
            condition: Option<String>,
            #[serde(default)]
            lookups: BTreeMap<String, Lookup>,
            #[serde(default)]
            key: Vec<String>,
            erasure: Option<crate::plans::ErasureRule>,
        }
        #[derive(Deserialize)]
        struct F {
            collections: Vec<C>,
        }
        let f: F = toml::from_str(toml_text).unwrap_or_else(|e| panic!("{e}"));
        let rules: Vec<Rules> = f
            .collections
            .iter()
            .map(|c| Rules { key: c.key.clone(), erasure: c.erasure.clone(), rectifiable: vec![], objections: vec![] })
            .collect();
        let emails: Vec<Vec<&str>> =
            f.collections.iter().map(|c| c.email_columns.iter().map(String::as_str).collect()).collect();
        let specs: Vec<Spec<'_>> = f
            .collections
            .iter()
            .zip(&rules)
            .zip(&emails)
            .map(|((c, rules), emails)| Spec {
                name: &c.name,
                email_columns: emails,
                via: c.via.as_ref(),
                condition: c.condition.as_deref(),
                lookups: &c.lookups,
                rules,
            })
            .collect();
        let ok = |c: &str| !c.is_empty() && c.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        Graph::build("crm", &specs, supports, &ok)
    }

    const SQL: Supports = Supports { lookups: true };
    const CSV: Supports = Supports { lookups: false };

    fn refused(toml_text: &str, supports: Supports) -> String {
        match build(toml_text, supports) {
            Ok(_) => panic!("accepted:\n{toml_text}"),
            Err(e) => e.to_string(),
        }
    }

    const ROOT: &str = "[[collections]]\nname = \"contacts\"\nemail_columns = [\"email\"]\n";

    #[test]
    fn several_paths_need_a_key_and_are_merged() {
        let two = format!(
            "{ROOT}[[collections]]\nname = \"notes\"\nemail_columns = [\"author\"]\n\
             via = {{ collection = \"contacts\", column = \"res_id\", references = \"id\" }}\n"
        );
        let e = refused(&two, SQL);
        assert!(e.starts_with("source `crm`: collection `notes`:"), "{e}");
        assert!(e.contains("`key`") && e.contains("`email_columns` and `via`"), "{e}");
        let g = build(&format!("{two}key = [\"id\"]\n"), SQL).unwrap();
        assert!(g.nodes[1].merged && g.nodes[1].by_email);
        assert_eq!(g.parents(), vec![vec![], vec![0]]);

        let list = format!(
            "{ROOT}[[collections]]\nname = \"events\"\nvia = [\
             {{ collection = \"contacts\", column = \"contact_id\", references = \"id\" }}, \
             {{ collection = \"contacts\", column = \"attendee_id\", references = \"id\" }}]\n"
        );
        assert!(refused(&list, SQL).contains("several `via`"));
        let g = build(&format!("{list}key = [\"id\"]\n"), SQL).unwrap();
        assert_eq!(g.nodes[1].edges.len(), 2);
        assert_eq!(g.parents()[1], vec![0]);
    }

    #[test]
    fn conditions_are_parsed_and_their_fields_checked() {
        let bad = format!(
            "{ROOT}[[collections]]\nname = \"notes\"\n\
             via = {{ collection = \"contacts\", column = \"res_id\", references = \"id\", where = \"model = res.partner\" }}\n"
        );
        let e = refused(&bad, SQL);
        assert!(e.starts_with("source `crm`: collection `notes`: `via.where` cannot be read:"), "{e}");

        let no_lookup = format!("{ROOT}where = \"type.source = 'external'\"\n");
        let e = refused(&no_lookup, SQL);
        assert!(
            e.contains("collection `contacts`: `where` reads `type.source`") && e.contains("no lookup `type`"),
            "{e}"
        );
        let e = refused(&no_lookup, CSV);
        assert!(e.contains("CSV collection's conditions can only read the headers of its own file"), "{e}");

        let lookups = format!(
            "{no_lookup}lookups = {{ type = {{ table = \"llx_c_type_contact\", column = \"rowid\", from = \"fk_type\" }} }}\n"
        );
        let g = build(&lookups, SQL).unwrap();
        assert_eq!(g.nodes[0].lookup_columns()[0].2, ["rowid", "source"]);
        assert!(refused(&lookups, CSV).contains("only SQL sources"));
    }

    #[test]
    fn a_rule_may_read_a_column_of_a_via_parent_only() {
        let lines = |from: &str| {
            format!(
                "{ROOT}[[collections]]\nname = \"orders\"\nvia = {{ collection = \"contacts\", column = \"contact_id\", references = \"id\" }}\n\
                 [[collections]]\nname = \"order_lines\"\nkey = [\"id\"]\n\
                 via = {{ collection = \"orders\", column = \"order_id\", references = \"id\" }}\n\
                 erasure = {{ action = \"retain\", basis = \"legal-obligation\", years = 10, from_column = \"{from}\" }}\n"
            )
        };
        let g = build(&lines("orders.ordered_on"), SQL).unwrap();
        assert_eq!(
            g.nodes[2].parent_values,
            [ParentValue { parent: 1, column: "ordered_on".into(), qualified: "orders.ordered_on".into() }]
        );
        let e = refused(&lines("contacts.created_on"), SQL);
        assert!(e.contains("collection `order_lines`: its rules read `contacts.created_on`"), "{e}");
        assert!(build(&lines("shipped_on"), SQL).unwrap().nodes[2].parent_values.is_empty());
    }

    #[test]
    fn references_point_backwards_and_paths_exist() {
        let forward = "[[collections]]\nname = \"orders\"\nvia = { collection = \"contacts\", column = \"c\", references = \"id\" }\n";
        assert!(refused(forward, SQL).contains("not a collection declared before it"));
        assert!(refused("[[collections]]\nname = \"x\"\n", SQL).contains("needs either `email_columns`"));
        let empty = format!("{ROOT}[[collections]]\nname = \"x\"\nvia = []\n");
        assert!(refused(&empty, SQL).contains("empty list"));
        assert!(refused(&format!("{ROOT}{ROOT}"), SQL).contains("two collections are named `contacts`"));
    }
}
