// Building the page. Every piece of text goes in as a text node (never as HTML), so
// whatever a tenant named a container, it is shown and never run.

export function h(tag, attrs = {}, ...children) {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) element.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(element.dataset, value);
    else element.setAttribute(key, value === true ? "" : String(value));
  }
  append(element, children);
  return element;
}

function append(element, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

export function replace(element, ...children) {
  element.replaceChildren();
  append(element, children);
}

// A moment as the reader's locale writes it (the API's times are ISO 8601, UTC).
export function when(iso, lang) {
  if (!iso) return "–";
  const date = new Date(iso);
  return Number.isNaN(date.valueOf()) ? iso : date.toLocaleString(lang === "zh" ? "zh-CN" : "en-GB");
}
