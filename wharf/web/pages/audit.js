// The tenant's audit trail, newest first, a page at a time, with new entries as they
// come; and its export (CSV or JSON lines).

import * as api from "../api.js";
import { h, replace } from "../dom.js";
import { t } from "../i18n.js";
import { busy, notice, time } from "../ui.js";

const PAGE = `query($after: String) { auditLog(first: 100, after: $after) {
  edges { node { position occurredAt kind actor summary type } } pageInfo { hasNextPage endCursor } } }`;

function row(e) {
  return h("tr", { "data-event": e.type, "data-position": e.position }, h("td", {}, time(e.occurredAt)),
    h("td", {}, e.kind), h("td", {}, e.actor), h("td", {}, e.summary));
}

export async function render(main) {
  const problem = notice();
  const body = h("tbody", {});
  const more = h("button", { type: "button", class: "quiet", hidden: true, "data-action": "more" }, t("list.more"));
  const exports = h("div", { class: "controls" },
    h("a", { class: "button quiet", href: "/exports/audit?format=csv", download: "wharf-audit.csv", "data-action": "export" }, t("audit.exportCsv")),
    h("a", { class: "button quiet", href: "/exports/audit?format=jsonl", download: "wharf-audit.jsonl" }, t("audit.exportJson")));
  replace(main, h("h1", {}, t("nav.audit")), exports, problem,
    h("table", { "data-audit": "" }, h("thead", {}, h("tr", {},
      ["events.when", "audit.kind", "events.actor", "events.what"].map((k) => h("th", {}, t(k))))), body), more);
  let cursor = null;
  let newest = 0;

  async function page() {
    try {
      const data = await api.gql(PAGE, { after: cursor });
      const entries = data.auditLog.edges.map((e) => e.node);
      if (!cursor && entries.length) newest = entries[0].position;
      body.append(...entries.map(row));
      cursor = data.auditLog.pageInfo.endCursor;
      more.hidden = !data.auditLog.pageInfo.hasNextPage;
    } catch (error) {
      problem.show(error);
    }
  }

  more.addEventListener("click", () => busy(more, problem, page));
  await page();
  return api.live.subscribe(`subscription($after: Int) { events(after: $after) {
    position occurredAt kind actor summary type } }`, { after: newest }, (data) => {
    body.prepend(row(data.events));
  }, (error) => problem.show(error));
}
