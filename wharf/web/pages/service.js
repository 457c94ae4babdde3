// One service: replicas wanted and running (live), scale, its replicas, its versions
// with a rollback to each earlier one, its logs, metrics and history; and as of a moment.

import * as api from "../api.js";
import { ERRORS } from "../api.js";
import { h, replace } from "../dom.js";
import { t } from "../i18n.js";
import { badge, busy, lifecycle, table, time } from "../ui.js";
import { detail, history, metrics } from "./detail.js";
import { scaler } from "./services.js";

const FIELDS = "id name image desired replicas running version rolledOutVersion category cpuMillis memoryMib scaledAt scaleReason";
const QUERY = `query($id: ID!, $asOf: String, $past: Boolean!) {
  now: service(id: $id) { ${FIELDS}
    containers(first: 100) { edges { node { id name observed restarts startedAt } } }
    events(first: 50) { edges { node { occurredAt actor summary type } } } }
  then: service(id: $id, asOf: $asOf) @include(if: $past) { ${FIELDS} } }`;

const view = (x) => [
  ["services.image", h("code", {}, x.image), x.image],
  ["services.replicas", x.replicas, x.replicas],
  ["services.running", h("span", { "data-running": x.running }, x.running), x.running],
  ["services.version", `v${x.version}`, x.version],
  ["services.rolledOut", `v${x.rolledOutVersion}`, x.rolledOutVersion],
  ["containers.resources", `${x.cpuMillis}m · ${x.memoryMib} MiB`, `${x.cpuMillis}/${x.memoryMib}`],
  ["services.scaled", x.scaledAt ? [time(x.scaledAt), " ", x.scaleReason || ""] : null, x.scaledAt],
];

export async function render(main, [id], { navigate }) {
  const logs = h("pre", { class: "logs", "data-logs": "" });
  const chart = metrics(id);
  const page = detail(main, {
    id, query: QUERY, view,
    top: (s, load) => [h("h1", {}, s.name, " ", badge(s.desired)), h("span", { class: "actions" },
      scaler(s, page.problem, load), lifecycle("Service", s, page.problem, {
        after: load, deleted: () => navigate("/services"), confirmKey: "services.confirmDelete" }))],
    present: (s) => [
      h("section", { class: "card", "data-section": "replicas" }, h("h2", {}, t("services.replicaList")),
        table([
          ["containers.name", (c) => h("a", { href: `#/containers/${c.id}` }, c.name)],
          ["containers.state", (c) => badge(c.observed)],
          ["containers.restarts", (c) => c.restarts],
          ["containers.started", (c) => time(c.startedAt)],
        ], s.containers.edges.map((e) => e.node).filter((c) => c.observed !== "removed")
          .sort((a, b) => a.name.localeCompare(b.name, undefined, { numeric: true })))),
      versions(s), history(s.events.edges.map((e) => e.node))],
    after: [chart, h("section", { class: "card", "data-section": "logs" }, h("h2", {}, t("logs.title")), logs)],
  });

  function versions(s) {
    const rows = Array.from({ length: s.version }, (_, i) => s.version - i);
    return h("section", { class: "card", "data-section": "versions" }, h("h2", {}, t("services.versions")),
      table([
        ["services.version", (v) => `v${v}`],
        ["services.state", (v) => v === s.rolledOutVersion ? t("services.current") : ""],
        ["containers.actions", (v) => v === s.version ? "" : (() => {
          const button = h("button", { type: "button", class: "quiet", "data-action": "rollback",
            onclick: () => busy(button, page.problem, async () => {
              await api.mutate(`mutation($id: ID!, $v: Int) { rollbackService(input: {id: $id, toVersion: $v}) { ${ERRORS} } }`,
                { id, v }, "rollbackService");
              await page.load();
            }) }, t("services.rollbackTo", { version: v }));
          return button;
        })()],
      ], rows, { rowAttrs: (v) => ({ "data-version": v }) }));
  }

  async function readLogs() {
    try {
      const data = await api.gql("query($id: ID!) { serviceLogs(id: $id, tail: 200) { time text replica } }", { id });
      replace(logs, (data.serviceLogs || []).map((l) => `${l.time.slice(11, 19)} [${l.replica ?? ""}] ${l.text}\n`));
      logs.scrollTop = logs.scrollHeight;
    } catch (error) {
      page.problem.show(error);
    }
  }

  const logTimer = setInterval(readLogs, 3000);
  await Promise.all([page.load(), readLogs()]);
  return () => {
    page.stop();
    clearInterval(logTimer);
    chart.stop();
  };
}
