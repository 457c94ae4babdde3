// Chinese and English: the catalogues (i18n/*.json) hold the same keys (a test checks).

const LANGS = ["en", "zh"];
let lang = "en";
let words = {};

export function chosen() {
  const kept = localStorage.getItem("wharf.lang");
  if (LANGS.includes(kept)) return kept;
  return (navigator.language || "en").toLowerCase().startsWith("zh") ? "zh" : "en";
}

export async function load(next) {
  const response = await fetch(`/i18n/${next}.json`);
  words = await response.json();
  lang = next;
  localStorage.setItem("wharf.lang", next);
  document.documentElement.lang = next === "zh" ? "zh-CN" : "en";
}

export function current() {
  return lang;
}

export function other() {
  return lang === "zh" ? "en" : "zh";
}

// The words for `key`, with {name} replaced by vars.name (the key itself when missing).
export function t(key, vars = {}) {
  const text = words[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => (name in vars ? String(vars[name]) : `{${name}}`));
}
