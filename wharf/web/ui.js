// Pieces every page uses: a state badge, a table, the API's errors shown in its own
// words, and buttons that show that a long action is under way.

import * as api from "./api.js";
import { ERRORS } from "./api.js";
import { h, replace, when } from "./dom.js";
import { current, t } from "./i18n.js";

export function badge(state) {
  return h("span", { class: `badge state-${state}`, "data-state": state }, t(`state.${state}`));
}

// A table of `rows`: columns are [heading key, row => cell].
export function table(columns, rows, { empty = "list.empty", rowAttrs = () => ({}) } = {}) {
  if (!rows.length) return h("p", { class: "empty" }, t(empty));
  return h("table", {},
    h("thead", {}, h("tr", {}, columns.map(([key]) => h("th", {}, t(key))))),
    h("tbody", {}, rows.map((row) => h("tr", rowAttrs(row),
      columns.map(([, cell]) => h("td", {}, cell(row)))))));
}

// Where a page says what went wrong: the API's own words.
export function notice() {
  const element = h("p", { class: "notice", role: "alert", hidden: true });
  element.show = (error, kind = "error") => {
    element.className = `notice ${kind}`;
    element.hidden = false;
    replace(element, error instanceof Error ? error.message : String(error));
  };
  element.clear = () => {
    element.hidden = true;
    replace(element);
  };
  return element;
}

// Runs `action` with `button` disabled and saying it is under way; errors go to `where`.
export async function busy(button, where, action) {
  const label = button.textContent;
  const says = button.tagName === "BUTTON";  // (a select keeps its options)
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  if (says) button.textContent = t("action.working");
  where?.clear?.();
  try {
    return await action();
  } catch (error) {
    if (where) where.show(error);
    else throw error;
    return undefined;
  } finally {
    button.disabled = false;
    button.removeAttribute("aria-busy");
    if (says) button.textContent = label;
  }
}

export function time(iso) {
  return h("time", { datetime: iso || "" }, when(iso, current()));
}

export function field(key, input) {
  return h("label", { class: "field" }, h("span", {}, t(key)), input);
}

export function money(amount, currency = "CNY") {
  const value = Number(amount || 0);
  return `${currency === "CNY" ? "¥" : ""}${value.toFixed(2)}`;
}

// Reads the page again when the tenant's events say something changed (`wanted`: which
// events matter), once for a burst of them. Returns the function that stops it.
export function reloadOnEvents(load, problem, wanted = () => true) {
  let timer = null;
  const stop = api.live.subscribe("subscription { events { objectId kind } }", {}, (data) => {
    if (!wanted(data.events)) return;
    clearTimeout(timer);
    timer = setTimeout(load, 150);
  }, (error) => problem.show(error));
  return () => {
    stop();
    clearTimeout(timer);
  };
}

// Start or stop (whichever applies) and delete, for a Container, Service or Application.
export function lifecycle(kind, object, problem, { after, deleted = after, confirmKey }) {
  const wanted = object.desired === "running" ? ["stop", "delete"] : ["start", "delete"];
  return h("span", { class: "actions" }, wanted.map((action) => {
    const mutation = `${action}${kind}`;
    const button = h("button", { type: "button", "data-action": action,
      class: action === "delete" ? "danger" : "quiet", onclick: () => {
        if (action === "delete" && !confirm(t(confirmKey, { name: object.name }))) return;
        busy(button, problem, async () => {
          await api.mutate(`mutation($id: ID!) { ${mutation}(input: {id: $id}) { ${ERRORS} } }`,
            { id: object.id }, mutation);
          await (action === "delete" ? deleted() : after());
        });
      } }, t(`action.${action}`));
    return button;
  }));
}
