// Bills by hour, day and month, as a chart and a table, with the month's export.

import * as api from "../api.js";
import { bars } from "../chart.js";
import { h, replace } from "../dom.js";
import { current, t } from "../i18n.js";
import { money, notice, table } from "../ui.js";

const SPANS = { hour: 48 * 3600e3, day: 31 * 86400e3, month: 366 * 86400e3 };
const QUERY = `query($from: String!, $to: String!, $period: String!) {
  bills(from: $from, to: $to, period: $period) { start hours total items { item amount } }
  currentUsage { item amount }
}`;
// Operators: every tenant's bills summed (the platform's revenue); no open hour of theirs.
const REVENUE = `query($from: String!, $to: String!, $period: String!) {
  bills(from: $from, to: $to, period: $period) { start hours total items { item amount } }
}`;

// The sum of the open hour's lines.
export function openHour(lines) {
  return (lines || []).reduce((sum, line) => sum + Number(line.amount || 0), 0);
}

// A period's start as Wharf wrote it (in its time zone), and when the next one begins.
function bounds(start, period) {
  const match = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}).*?(Z|[+-]\d{2}:\d{2})$/.exec(start);
  const begins = new Date(start);
  if (!match || period !== "month") {
    return [begins, new Date(+begins + (period === "day" ? 86400e3 : 3600e3))];
  }
  const [, y, m, d, hh, mm, zone] = match;
  const offset = zone === "Z" ? 0 : (zone[0] === "-" ? -1 : 1) *
    (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(4, 6)));
  const next = Date.UTC(Number(y), Number(m), Number(d), Number(hh), Number(mm)) - offset * 60e3;
  return [begins, new Date(next)];
}

export function periodHolding(rows, now, period) {
  return (rows || []).find((row) => {
    const [begins, ends] = bounds(row.start, period);
    return begins <= now && now < ends;
  });
}

function label(start, period) {
  const lang = current() === "zh" ? "zh-CN" : "en-GB";
  const date = new Date(start);
  if (period === "hour") return date.toLocaleTimeString(lang, { hour: "2-digit", minute: "2-digit" });
  if (period === "day") return date.toLocaleDateString(lang, { month: "numeric", day: "numeric" });
  return date.toLocaleDateString(lang, { year: "numeric", month: "short" });
}

export async function render(main) {
  const operator = api.me().operator;
  const problem = notice();
  const body = h("div", {});
  let period = new URLSearchParams(location.hash.split("?")[1] || "").get("period") || "day";
  const choose = (next) => h("button", { type: "button", class: next === period ? "chosen" : "quiet",
    "data-period": next, onclick: () => { period = next; draw(); } }, t(`bills.${next}`));
  const controls = h("div", { class: "controls" });
  replace(main, h("h1", {}, t(operator ? "nav.revenue" : "nav.bills")), controls, problem, body);

  async function draw() {
    replace(controls, choose("hour"), choose("day"), choose("month"), operator ? null : exportLink());
    const hour = Math.floor(Date.now() / 3600e3) * 3600e3;  // (whole hours)
    let data;
    try {
      data = await api.gql(operator ? REVENUE : QUERY, { from: new Date(hour - SPANS[period]).toISOString(),
        to: new Date(hour + 3600e3).toISOString(), period });
    } catch (error) {
      problem.show(error);
      return;
    }
    const rows = data.bills;
    const open = openHour(data.currentUsage);
    replace(body,
      operator ? null : h("p", { class: "open-hour" }, t("bills.openHour", { amount: money(open) })),
      bars(rows.map((row) => ({ label: label(row.start, period), value: Number(row.total) })),
        { label: t("bills.chart"), format: (v) => money(v) }),
      table([
        ["bills.period", (row) => h("span", { "data-start": row.start }, label(row.start, period))],
        ["bills.hours", (row) => row.hours],
        ["bills.items", (row) => row.items.map((item) => `${t(`item.${item.item}`)} ${money(item.amount)}`).join(" · ")],
        ["bills.total", (row) => h("strong", { "data-total": row.total }, money(row.total))],
      ], [...rows].reverse(), { empty: "bills.none", rowAttrs: () => ({ "data-bill": period }) }));
  }

  function exportLink() {
    const month = new Date().toISOString().slice(0, 7);
    return h("a", { class: "button quiet", href: `/exports/bills?month=${month}&format=csv`,
      download: `wharf-bills-${month}.csv`, "data-action": "export" }, t("bills.export"));
  }

  await draw();
}
