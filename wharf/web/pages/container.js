// One container: its state (live), its actions, its logs as they are written, its
// metrics, its history; and the same viewed as of an earlier moment.

import * as api from "../api.js";
import { h } from "../dom.js";
import { t } from "../i18n.js";
import { badge, lifecycle, time } from "../ui.js";
import { detail, history, metrics } from "./detail.js";

const FIELDS = `id name image desired observed restarts exitCode oomKilled failure health pulling
  startedAt finishedAt createdAt serviceId ports { containerPort hostIp hostPort }
  cpuMillis memoryMib`;
const QUERY = `query($id: ID!, $asOf: String, $past: Boolean!) {
  now: container(id: $id) { ${FIELDS} events(first: 50) { edges { node {
    occurredAt actor summary type } } } }
  then: container(id: $id, asOf: $asOf) @include(if: $past) { ${FIELDS} } }`;
const MAX_LINES = 2000;

const view = (x) => [
  ["containers.image", h("code", {}, x.image), x.image],
  ["containers.desired", t(`state.${x.desired}`), x.desired],
  ["containers.state", badge(x.observed), x.observed],
  ["containers.health", x.health, x.health],
  ["containers.restarts", x.restarts, x.restarts],
  ["containers.exitCode", x.exitCode, x.exitCode],
  ["containers.failure", x.failure, x.failure],
  ["containers.pulling", x.pulling, x.pulling],
  ["containers.resources", `${x.cpuMillis}m · ${x.memoryMib} MiB`, `${x.cpuMillis}/${x.memoryMib}`],
  ["containers.ports", x.ports.map((p) => `${p.hostIp}:${p.hostPort} → ${p.containerPort}`).join(", "),
    x.ports.map((p) => p.hostPort).join(",")],
  ["containers.started", time(x.startedAt), x.startedAt],
  ["containers.finished", time(x.finishedAt), x.finishedAt],
];

export async function render(main, [id], { navigate }) {
  const chart = metrics(id);
  const logs = h("pre", { class: "logs", "data-logs": "", tabindex: 0 });
  const page = detail(main, {
    id, query: QUERY, view,
    top: (c, load) => [h("h1", {}, c.name, " ", badge(c.observed)), lifecycle("Container", c,
      page.problem, { after: load, deleted: () => navigate("/containers"), confirmKey: "containers.confirmDelete" })],
    present: (c) => history(c.events.edges.map((e) => e.node)),
    after: [chart, h("section", { class: "card", "data-section": "logs" }, h("h2", {}, t("logs.title")), logs)],
    wanted: (event) => event.objectId === id,
  });

  // Logs: the last lines, then each line as it is written.
  let last = null;
  const write = (lines) => {
    for (const entry of lines) {
      logs.append(document.createTextNode(`${entry.time.slice(11, 19)} ${entry.text}\n`));
      last = entry.time;
    }
    while (logs.childNodes.length > MAX_LINES) logs.firstChild.remove();
    logs.scrollTop = logs.scrollHeight;
  };
  try {
    const first = await api.gql("query($id: ID!) { containerLogs(id: $id, tail: 200) { time text } }", { id });
    write(first.containerLogs || []);
  } catch (error) {
    page.problem.show(error);
  }
  const stopLogs = api.live.subscribe(
    "subscription($id: ID!, $since: String) { containerLog(id: $id, since: $since) { time text } }",
    { id, since: last }, (data) => write([data.containerLog]), (error) => page.problem.show(error));
  await page.load();
  return () => {
    stopLogs();
    page.stop();
    chart.stop();
  };
}
