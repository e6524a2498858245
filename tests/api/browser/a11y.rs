//! Accessibility checks run in the browser on every page a scenario visits (docs/accessibility.md
//! lists them). Each returns the problems it found, so one report names every regression at once.

use serde_json::Value;

use super::webdriver::Browser;

/// The structural checks, run in the page: returns a list of problems (empty when all pass).
const STRUCTURE: &str = r#"
const problems = [];
const short = el => el.outerHTML.replace(/\s+/g, ' ').slice(0, 140);
const text = el => (el ? el.textContent : '').replace(/\s+/g, ' ').trim();
const labelledBy = el => (el.getAttribute('aria-labelledby') || '').split(/\s+/).filter(Boolean)
  .map(id => text(document.getElementById(id))).join(' ').trim();

const lang = (document.documentElement.getAttribute('lang') || '').trim();
if (!/^[a-z]{2,3}(-[A-Za-z0-9]+)*$/.test(lang)) problems.push(`<html> has no valid lang (${JSON.stringify(lang)})`);
if (!text(document.querySelector('title'))) problems.push('the page has no <title>');

const ids = new Map();
for (const el of document.querySelectorAll('[id]')) ids.set(el.id, (ids.get(el.id) || 0) + 1);
for (const [id, n] of ids) if (n > 1) problems.push(`id "${id}" is used ${n} times (labels and aria-* point at ids)`);

for (const el of document.querySelectorAll('input, select, textarea')) {
  if (el.type === 'hidden') continue;
  const byFor = el.id ? [...document.querySelectorAll('label')].filter(l => l.htmlFor === el.id).map(text).join(' ') : '';
  const wrapping = text(el.closest('label'));
  const aria = (el.getAttribute('aria-label') || '').trim();
  if (!byFor && !wrapping && !aria && !labelledBy(el)) problems.push(`form field without a label: ${short(el)}`);
}

for (const el of document.querySelectorAll('button, input[type=submit], input[type=button], a[href]')) {
  const name = text(el) || (el.value || '').trim() || (el.getAttribute('aria-label') || '').trim() || labelledBy(el)
    || [...el.querySelectorAll('img[alt]')].map(i => i.alt.trim()).join('');
  if (!name) problems.push(`${el.tagName.toLowerCase()} without an accessible name: ${short(el)}`);
}

const headings = [...document.querySelectorAll('h1, h2, h3, h4, h5, h6')];
const h1s = headings.filter(h => h.tagName === 'H1').length;
if (h1s !== 1) problems.push(`${h1s} <h1> elements; a page has exactly one`);
let previous = 0;
for (const h of headings) {
  const level = Number(h.tagName[1]);
  if (previous === 0 && level !== 1) problems.push(`the first heading is <h${level}>, not <h1>: "${text(h)}"`);
  if (previous > 0 && level > previous + 1) problems.push(`heading level skipped: <h${previous}> then <h${level}> "${text(h)}"`);
  if (!text(h)) problems.push(`empty heading: ${short(h)}`);
  previous = level;
}

for (const img of document.querySelectorAll('img')) {
  if (!img.hasAttribute('alt') && img.getAttribute('role') !== 'presentation') problems.push(`image without alt: ${short(img)}`);
}
for (const el of document.querySelectorAll('input[type=image], area[href]')) {
  if (!(el.getAttribute('alt') || '').trim()) problems.push(`${el.tagName.toLowerCase()} without alt: ${short(el)}`);
}
for (const el of document.querySelectorAll('svg[role=img], [role=img]:not(img)')) {
  if (!(el.getAttribute('aria-label') || '').trim() && !labelledBy(el) && !text(el.querySelector('title')))
    problems.push(`role=img without a text alternative: ${short(el)}`);
}

let focusRule = false;
const walk = rules => {
  for (const r of rules) {
    if (r.cssRules) walk(r.cssRules);
    if (!r.selectorText || !r.selectorText.includes(':focus-visible')) continue;
    const outline = (r.style.getPropertyValue('outline') || r.style.getPropertyValue('outline-style') || '').trim();
    if (outline && !/^(none|0)\b/.test(outline)) focusRule = true;
  }
};
for (const sheet of document.styleSheets) { try { walk(sheet.cssRules); } catch (e) { /* cross-origin sheet */ } }
if (!focusRule) problems.push('no :focus-visible rule with an outline in the stylesheets');
return problems;
"#;

/// Run after one Tab from the top of the page: describes the focused element and how it is drawn.
const FOCUSED: &str = r#"
const el = document.activeElement;
if (!el || el === document.body) return { focused: false };
const s = getComputedStyle(el);
const r = el.getBoundingClientRect();
return {
  focused: true,
  tag: el.tagName.toLowerCase(),
  html: el.outerHTML.slice(0, 140),
  focusVisible: el.matches(':focus-visible'),
  outlineStyle: s.outlineStyle,
  outlineWidth: parseFloat(s.outlineWidth) || 0,
  outlineColor: s.outlineColor,
  onScreen: r.width > 0 && r.height > 0 && r.left >= 0 && r.top >= 0 && r.right <= innerWidth && r.bottom <= innerHeight,
};
"#;

/// Every structural problem on the current page.
pub async fn structure(browser: &Browser) -> Vec<String> {
    let found = browser.script(STRUCTURE, vec![]).await;
    found.as_array().map(|a| a.iter().filter_map(|p| p.as_str().map(str::to_owned)).collect()).unwrap_or_default()
}

/// Presses Tab once from the top of a freshly loaded page, as a keyboard user would: the first
/// stop must be a link (the skip link) that matches `:focus-visible`, is drawn with an outline at
/// least 2px wide, and is on screen. Returns the problems found.
pub async fn keyboard_focus(browser: &Browser) -> Vec<String> {
    browser.script("if (document.activeElement) document.activeElement.blur(); window.scrollTo(0, 0);", vec![]).await;
    browser.press("\u{E004}").await;
    let f = browser.script(FOCUSED, vec![]).await;
    let mut problems = Vec::new();
    if f["focused"] != Value::Bool(true) {
        problems.push("Tab from the top of the page focuses nothing".to_owned());
    } else {
        let html = f["html"].as_str().unwrap_or("");
        if f["tag"] != "a" {
            problems.push(format!("the first Tab stop is not a link (the skip link): {html}"));
        }
        if f["focusVisible"] != Value::Bool(true) {
            problems.push(format!("the element focused by Tab does not match :focus-visible: {html}"));
        }
        let width = f["outlineWidth"].as_f64().unwrap_or(0.0);
        if f["outlineStyle"] == "none" || width < 2.0 {
            problems.push(format!(
                "focus is not visible: outline {} {width}px on {html}",
                f["outlineStyle"].as_str().unwrap_or("?")
            ));
        }
        if f["onScreen"] != Value::Bool(true) {
            problems.push(format!("the focused element is off screen: {html}"));
        }
    }
    browser.script("if (document.activeElement) document.activeElement.blur();", vec![]).await;
    problems
}

/// At phone width nothing may need sideways scrolling (wide tables scroll inside their own box).
pub async fn no_sideways_scroll(browser: &Browser) -> Vec<String> {
    let v = browser
        .script(
            "return [document.documentElement.scrollWidth, window.innerWidth, \
             [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > window.innerWidth + 1 \
               && !e.closest('.table-wrap, .visually-hidden') && getComputedStyle(e).position !== 'absolute') \
               .slice(0, 3).map(e => e.outerHTML.slice(0, 100))];",
            vec![],
        )
        .await;
    let (scroll, inner) = (v[0].as_i64().unwrap_or(0), v[1].as_i64().unwrap_or(0));
    if scroll > inner { vec![format!("the page is {scroll}px wide in a {inner}px viewport: {}", v[2])] } else { vec![] }
}
