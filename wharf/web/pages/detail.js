// What every detail page has: its fields (and, viewed as of an earlier moment, those
// that changed since, highlighted), its metrics over a chosen range, and its history.

import * as api from "../api.js";
import { line } from "../chart.js";
import { h, replace } from "../dom.js";
import { t } from "../i18n.js";
import { field, notice, reloadOnEvents, table, time } from "../ui.js";

// rows: [[key, shown, raw]] (raw: what is compared, when `shown` is an element); now:
// the same rows as they are now, by key, when `rows` are an earlier moment's: a field
// that differs is highlighted, with its value now beside it.
export function facts(rows, now = null) {
  const plain = (row) => {
    const value = row.length > 2 ? row[2] : row[1];
    return value instanceof Node ? value.textContent : String(value ?? "–");
  };
  return h("dl", { class: "facts" }, rows.map((row) => {
    const [key, shown] = row;
    const today = now?.[key];
    const changed = today !== undefined && plain(today) !== plain(row);
    return [h("dt", {}, t(key)), h("dd", { class: changed ? "changed" : null,
      "data-fact": key.split(".").pop() }, shown ?? "–",
    changed ? h("small", { class: "was" }, t("asOf.now", { value: plain(today) })) : null)];
  }));
}

// A detail page: `query` answers `now` (and, with $past, `then`: the object as of $asOf);
// top(now) draws its heading, view(x) its fields, present(now) what only the present
// has (its lists, its history); `after` goes below and stays. Read again on the events
// `wanted` says matter, unless the reader is looking at the past.
export function detail(main, { id, query, top, view, present, after = [], wanted = () => true }) {
  const problem = notice();
  const head = h("div", { class: "head" });
  const body = h("div", {});
  let asOf = null;
  replace(main, head, problem, asOfPicker((iso) => { asOf = iso; load(); }), body, ...after);

  async function load() {
    let data;
    try {
      data = await api.gql(query, { id, asOf, past: Boolean(asOf) });
    } catch (error) {
      problem.show(error);
      return;
    }
    const now = data.now;
    if (!now) {
      replace(head, h("h1", {}, t("page.missing")));
      return;
    }
    replace(head, top(now, load));
    if (!asOf) {
      replace(body, facts(view(now)), present(now));
    } else if (data.then) {  // as it was; what is different now highlighted
      const today = Object.fromEntries(view(now).map((row) => [row[0], row]));
      replace(body, h("p", { class: "as-of-note" }, t("asOf.viewing", { when: new Date(asOf).toLocaleString() })),
        facts(view(data.then), today));
    } else {
      replace(body, h("p", { class: "as-of-note" }, t("asOf.notYet")));
    }
  }

  const stop = reloadOnEvents(() => load(), problem, (event) => !asOf && wanted(event));
  return { problem, load, stop };
}

// The "as of" picker: calls pick(iso or null).
export function asOfPicker(pick) {
  const input = h("input", { type: "datetime-local", step: 1, "data-as-of": "" });
  const back = h("button", { type: "button", class: "quiet", hidden: true }, t("asOf.back"));
  input.addEventListener("change", () => {
    back.hidden = !input.value;
    pick(input.value ? new Date(input.value).toISOString() : null);
  });
  back.addEventListener("click", () => {
    input.value = "";
    back.hidden = true;
    pick(null);
  });
  return h("div", { class: "controls as-of" }, field("asOf.label", input), back);
}

const RANGES = { "15m": [15 * 60, 15], "1h": [3600, 60], "24h": [86400, 600], "7d": [7 * 86400, 3600] };

export function metrics(target) {
  const problem = notice();
  const charts = h("div", { class: "charts" });
  let range = "1h";
  const picker = h("select", { "data-range": "", onchange: () => { range = picker.value; draw(); } },
    Object.keys(RANGES).map((key) => h("option", { value: key, selected: key === range }, t(`range.${key}`))));

  async function draw() {
    const [span, step] = RANGES[range];
    const now = Date.now();
    try {
      const data = await api.gql(`query($target: ID!, $from: String, $to: String, $step: Int!) {
        metrics(target: $target, from: $from, to: $to, step: $step) {
          at cpuPercent memoryBytes rxBytes txBytes } }`,
      { target, from: new Date(now - span * 1000).toISOString(), to: new Date(now).toISOString(), step });
      const points = data.metrics || [];
      const series = (pick) => points.map((p) => ({ at: new Date(p.at), value: pick(p) }));
      replace(charts,
        chartBox("metrics.cpu", line(series((p) => p.cpuPercent), { format: (v) => `${v.toFixed(1)}%` })),
        chartBox("metrics.memory", line(series((p) => p.memoryBytes / 1048576), { format: (v) => `${v.toFixed(0)} MiB` })),
        chartBox("metrics.network", line(series((p) => (p.rxBytes + p.txBytes) / 1024), { format: (v) => `${v.toFixed(0)} KiB` })),
        points.length ? null : h("p", { class: "empty" }, t("metrics.none")));
    } catch (error) {
      problem.show(error);
    }
  }
  draw();
  const timer = setInterval(draw, 15000);
  const section = h("section", { class: "card", "data-section": "metrics" },
    h("h2", {}, t("metrics.title")), field("metrics.range", picker), problem, charts);
  section.stop = () => clearInterval(timer);
  return section;
}

function chartBox(key, chart) {
  return h("figure", {}, h("figcaption", {}, t(key)), chart);
}

export function history(entries) {
  return h("section", { class: "card", "data-section": "events" }, h("h2", {}, t("events.title")),
    table([
      ["events.when", (e) => time(e.occurredAt)],
      ["events.actor", (e) => e.actor],
      ["events.what", (e) => e.summary],
    ], entries, { empty: "events.none", rowAttrs: (e) => ({ "data-event": e.type }) }));
}
