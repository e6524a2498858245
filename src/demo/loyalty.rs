//! The demo's CSV source: the export of the shop's old loyalty programme (« Carte Plume »,
//! 2016-2021), as the old tool wrote it: `;`-delimited, Windows-1252, CRLF line ends, a staff note
//! running over two lines inside quotes, and one row that lost two fields in a botched copy.
//!
//! The content is fixed, so the demo and its tests can count it: Jeanne Martin has two member
//! rows (her second card was registered with her address in capitals) and five points movements.

use std::path::Path;

use anyhow::Context;

/// The folder [`write`] creates in the demo directory.
pub const LOYALTY_DIR: &str = "fidelite";
pub const MEMBERS_FILE: &str = "adherents.csv";
pub const POINTS_FILE: &str = "mouvements_points.csv";

/// `adherents.csv`. Line 11 is broken on purpose (6 fields where the header has 8); it belongs to
/// none of the demo people.
const MEMBERS: &[&str] = &[
    "N° carte;Civilité;Nom;Prénom;E-mail;Code postal;Date d'adhésion;Remarque",
    "70001;Mme;Martin;Jeanne;jeanne.martin@example.fr;75004;12/03/2016;",
    "70002;Mme;Lefèvre;Hélène;helene.lefevre@example.fr;75011;02/04/2016;",
    "70003;M.;Dupont;François;francois.dupont@example.fr;44000;17/06/2016;Préfère être contacté par courrier",
    "70004;Mme;Martin;Jeanne;jeanne.martin@example.com;69003;23/09/2017;",
    "70005;Mme;Noël;Gaëlle;gaelle.noel@example.fr;35000;08/01/2018;\"Cliente « VIP » ; invitée aux ventes privées\"",
    "70006;M.;Girard;Benoît;;13001;15/05/2018;Pas d'e-mail communiqué",
    "70007;Mme;Martin;Jeanne;jeanne.martin2@example.fr;31000;30/11/2018;",
    "70008;Mme;Martin;Jeanne;JEANNE.Martin@Example.FR;75004;05/09/2019;\"Carte 70001 perdue le 05/09/2019 ; nouvelle carte émise.\nPoints transférés (voir mouvements).\"",
    "70009;Mme;Bonnet;Anaïs;anais.bonnet@example.fr;59000",
    "70010;M.;Roux;Étienne;etienne.roux@example.fr;67000;14/02/2020;",
    "70011;Mme;Moreau;Cécile;cecile.moreau@example.fr;33000;03/07/2020;Carte offerte (jeu concours)",
];

/// `mouvements_points.csv`: points earned and spent, by card.
const POINTS: &[&str] = &[
    "N° carte;Date;Magasin;Opération;Points",
    "70001;12/03/2016;Paris 4e;Achat;45",
    "70002;02/04/2016;Paris 11e;Achat;12",
    "70001;18/12/2017;Paris 4e;Achat;130",
    "70003;20/06/2016;Nantes;Achat;28",
    "70001;05/09/2019;Paris 4e;Transfert vers carte 70008;-175",
    "70004;23/09/2017;Lyon 3e;Achat;60",
    "70008;05/09/2019;Paris 4e;Transfert depuis carte 70001;175",
    "70005;10/01/2018;Rennes;Achat;210",
    "70008;21/03/2020;Paris 4e;Bon d'achat 10 €;-100",
    "70007;01/12/2018;Toulouse;Achat;8",
    "70010;14/02/2020;Strasbourg;Achat;33",
    "70011;03/07/2020;Bordeaux;Bienvenue;50",
];

fn encode(lines: &[&str]) -> anyhow::Result<Vec<u8>> {
    let text: String = lines.iter().map(|l| format!("{l}\r\n")).collect();
    let (bytes, _, unmappable) = encoding_rs::WINDOWS_1252.encode(&text);
    anyhow::ensure!(!unmappable, "the demo loyalty export holds a character Windows-1252 cannot encode");
    Ok(bytes.into_owned())
}

/// Writes the loyalty export into `dir/fidelite` unless it is already there: into a temporary
/// folder first, renamed into place once complete.
pub async fn write(dir: &Path) -> anyhow::Result<()> {
    let target = dir.join(LOYALTY_DIR);
    if target.exists() {
        return Ok(());
    }
    let tmp = dir.join(format!("{LOYALTY_DIR}.{}.tmp", std::process::id()));
    match tokio::fs::remove_dir_all(&tmp).await {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("cannot remove {}", tmp.display())),
    }
    crate::fsutil::create_private_dir_all_async(&tmp)
        .await
        .with_context(|| format!("cannot create {}", tmp.display()))?;
    for (file, lines) in [(MEMBERS_FILE, MEMBERS), (POINTS_FILE, POINTS)] {
        let path = tmp.join(file);
        crate::fsutil::write_private_new_async(&path, &encode(lines)?)
            .await
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    if target.exists() {
        // Another process finished first; keep its copy.
        tokio::fs::remove_dir_all(&tmp).await.with_context(|| format!("cannot remove {}", tmp.display()))?;
    } else {
        tokio::fs::rename(&tmp, &target)
            .await
            .with_context(|| format!("cannot move the demo loyalty export to {}", target.display()))?;
    }
    Ok(())
}
