//! WCAG AA colour contrast of the palette in `static/style.css`, for the text/background pairs the
//! stylesheet actually uses. No browser needed: the stylesheet is parsed here.
//!
//! Which pairs: in every rule, a text `color` is paired with the `background` set in the same rule
//! when there is one, otherwise with each page surface it can sit on (`--paper` and `--canvas`);
//! a rule that sets only a background is paired with the body's text colour (`--ink`). Colours
//! written as literals (`#fff` on a button) are checked too.

use std::collections::{BTreeMap, BTreeSet};

const STYLESHEET: &str = include_str!("../../../static/style.css");
const AA_NORMAL_TEXT: f64 = 4.5;
const TEXT_COLOURS: [&str; 6] = ["--ink", "--muted", "--brand", "--good", "--warn", "--error"];
const BACKGROUNDS: [&str; 4] = ["--paper", "--canvas", "--good-bg", "--warn-bg"];
/// Where text without a background of its own can end up: on a card or on the page.
const SURFACES: [&str; 2] = ["--paper", "--canvas"];

type Rgb = (u8, u8, u8);

/// `(selector, declarations)` for every rule, at-rule blocks (`@media`) flattened.
fn rules(css: &str) -> Vec<(String, Vec<(String, String)>)> {
    let mut css = css.to_owned();
    while let Some(start) = css.find("/*") {
        let end = css[start..].find("*/").map_or(css.len(), |e| start + e + 2);
        css.replace_range(start..end, " ");
    }
    let (mut out, mut stack, mut buf) = (Vec::new(), Vec::<String>::new(), String::new());
    for c in css.chars() {
        match c {
            '{' => stack.push(std::mem::take(&mut buf).trim().to_owned()),
            '}' => {
                let selector = stack.pop().expect("balanced braces in style.css");
                let body = std::mem::take(&mut buf);
                let declarations: Vec<(String, String)> = body
                    .split(';')
                    .filter_map(|d| d.split_once(':'))
                    .map(|(p, v)| (p.trim().to_ascii_lowercase(), v.trim().to_owned()))
                    .collect();
                if !declarations.is_empty() {
                    out.push((selector, declarations));
                }
            }
            _ => buf.push(c),
        }
    }
    assert!(stack.is_empty(), "unbalanced braces in style.css");
    out
}

fn custom_properties(rules: &[(String, Vec<(String, String)>)]) -> BTreeMap<String, String> {
    rules
        .iter()
        .filter(|(sel, _)| sel == ":root")
        .flat_map(|(_, decls)| decls.iter().filter(|(p, _)| p.starts_with("--")).cloned())
        .collect()
}

fn parse_hex(s: &str) -> Option<Rgb> {
    let h = s.strip_prefix('#')?;
    let digits: Vec<u8> = h.chars().map(|c| c.to_digit(16).map(|d| d as u8)).collect::<Option<_>>()?;
    match digits.as_slice() {
        [r, g, b] => Some((r * 17, g * 17, b * 17)),
        [r1, r2, g1, g2, b1, b2] => Some((r1 * 16 + r2, g1 * 16 + g2, b1 * 16 + b2)),
        _ => None,
    }
}

/// A colour value as `(name for messages, rgb)`; `None` for values that are not a colour of
/// their own (`inherit`, `currentColor`, `transparent`, `none`). Anything else unknown fails the
/// test, so a new notation cannot slip past it.
fn resolve(value: &str, vars: &BTreeMap<String, String>) -> Option<(String, Rgb)> {
    let first = value.split_whitespace().next().unwrap_or("");
    let lower = first.to_ascii_lowercase();
    if ["inherit", "currentcolor", "transparent", "none", "initial", "unset"].contains(&lower.as_str()) {
        return None;
    }
    if let Some(name) = first.strip_prefix("var(").and_then(|v| v.strip_suffix(')')) {
        let raw = vars.get(name.trim()).unwrap_or_else(|| panic!("{name} is used but not defined in :root"));
        let (_, rgb) = resolve(raw, vars)?;
        return Some((name.trim().to_owned(), rgb));
    }
    let rgb = match lower.as_str() {
        "white" => (255, 255, 255),
        "black" => (0, 0, 0),
        _ => parse_hex(first).unwrap_or_else(|| panic!("cannot read the colour {value:?}: extend contrast.rs")),
    };
    Some((first.to_owned(), rgb))
}

/// WCAG 2.x relative luminance.
fn luminance((r, g, b): Rgb) -> f64 {
    let lin = |c: u8| {
        let c = f64::from(c) / 255.0;
        if c <= 0.03928 { c / 12.92 } else { ((c + 0.055) / 1.055).powf(2.4) }
    };
    0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b)
}

fn contrast(a: Rgb, b: Rgb) -> f64 {
    let (la, lb) = (luminance(a), luminance(b));
    (la.max(lb) + 0.05) / (la.min(lb) + 0.05)
}

/// `(text, background) → (rgb, rgb, selectors)` for every pair the stylesheet uses.
fn used_pairs(css: &str) -> BTreeMap<(String, String), (Rgb, Rgb, Vec<String>)> {
    let rules = rules(css);
    let vars = custom_properties(&rules);
    let surfaces: Vec<(String, Rgb)> =
        SURFACES.iter().map(|s| resolve(&format!("var({s})"), &vars).expect("a surface colour")).collect();
    let ink = resolve("var(--ink)", &vars).expect("the body text colour");
    let mut pairs: BTreeMap<(String, String), (Rgb, Rgb, Vec<String>)> = BTreeMap::new();
    let mut add = |fg: &(String, Rgb), bg: &(String, Rgb), selector: &str| {
        pairs.entry((fg.0.clone(), bg.0.clone())).or_insert((fg.1, bg.1, Vec::new())).2.push(selector.to_owned());
    };
    for (selector, decls) in rules.iter().filter(|(s, _)| s != ":root") {
        let get = |names: &[&str]| decls.iter().rev().find(|(p, _)| names.contains(&p.as_str())).map(|(_, v)| v);
        let fg = get(&["color"]).and_then(|v| resolve(v, &vars));
        let bg = get(&["background", "background-color"]).and_then(|v| resolve(v, &vars));
        match (fg, bg) {
            (Some(fg), Some(bg)) => add(&fg, &bg, selector),
            (Some(fg), None) => surfaces.iter().for_each(|s| add(&fg, s, selector)),
            (None, Some(bg)) => add(&ink, &bg, selector),
            (None, None) => {}
        }
    }
    pairs
}

#[test]
fn every_text_colour_meets_wcag_aa_on_the_backgrounds_it_is_used_on() {
    let vars = custom_properties(&rules(STYLESHEET));
    for name in TEXT_COLOURS.iter().chain(&BACKGROUNDS) {
        let raw = vars.get(*name).unwrap_or_else(|| panic!("{name} is not defined in static/style.css :root"));
        assert!(parse_hex(raw).is_some(), "{name}: {raw:?} is not a #hex colour");
    }
    let pairs = used_pairs(STYLESHEET);
    // The analysis must see the palette at work, or it proves nothing.
    let fgs: BTreeSet<&str> = pairs.keys().map(|(f, _)| f.as_str()).collect();
    let bgs: BTreeSet<&str> = pairs.keys().map(|(_, b)| b.as_str()).collect();
    for name in TEXT_COLOURS {
        assert!(fgs.contains(name), "{name} is never used as a text colour: update TEXT_COLOURS or the stylesheet");
    }
    for name in BACKGROUNDS {
        assert!(bgs.contains(name), "{name} is never used as a background: update BACKGROUNDS or the stylesheet");
    }
    for pair in [("--good", "--good-bg"), ("--warn", "--warn-bg"), ("--ink", "--paper"), ("--muted", "--canvas")] {
        assert!(pairs.contains_key(&(pair.0.to_owned(), pair.1.to_owned())), "{pair:?} not found");
    }
    let failures: Vec<String> = pairs
        .iter()
        .filter_map(|((fg, bg), (a, b, selectors))| {
            let ratio = contrast(*a, *b);
            (ratio < AA_NORMAL_TEXT).then(|| format!("{fg} on {bg}: {ratio:.2}:1 (in {})", selectors.join(", ")))
        })
        .collect();
    assert!(failures.is_empty(), "text below WCAG AA 4.5:1:\n{}", failures.join("\n"));
}

#[test]
fn the_contrast_check_measures_what_wcag_says_and_catches_a_bad_pair() {
    // Reference values from the WCAG definition.
    assert!((contrast((0, 0, 0), (255, 255, 255)) - 21.0).abs() < 1e-9);
    assert!((contrast((119, 119, 119), (255, 255, 255)) - 4.48).abs() < 0.01, "#777 on white fails AA");
    let css = ":root { --ink: #1f2933; --paper: #fff; --canvas: #f4f5f7; --pale: #999999; }\n\
               /* a comment { with braces } */\n\
               @media (max-width: 30rem) { .hint { color: var(--pale); } }\n\
               .badge { color: #ffffff; background: var(--paper); }\n\
               .card { background: var(--paper); }";
    let pairs = used_pairs(css);
    let keys: BTreeSet<(&str, &str)> = pairs.keys().map(|(f, b)| (f.as_str(), b.as_str())).collect();
    let expected: BTreeSet<(&str, &str)> =
        [("--pale", "--paper"), ("--pale", "--canvas"), ("#ffffff", "--paper"), ("--ink", "--paper")].into();
    assert_eq!(keys, expected);
    let failing = pairs.values().filter(|(a, b, _)| contrast(*a, *b) < AA_NORMAL_TEXT).count();
    assert_eq!(failing, 3, "grey on white twice, white on white once");
}
