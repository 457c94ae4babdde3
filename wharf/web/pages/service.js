// One service: replicas wanted and running (live), scale, its replicas, its versions
// with a rollback to each earlier one, its logs, metrics and history; and as of a moment.

import * as api from "../api.js";
import { ERRORS } from "../api.js";
import { h, replace } from "../dom.js";
import { t } from "../i18n.js";
import { badge, busy, field, lifecycle, table, time } from "../ui.js";
import { variables, words } from "./containers.js";
import { detail, history, metrics } from "./detail.js";
import { scaler } from "./services.js";

const FIELDS = "id name image desired replicas running version rolledOutVersion category cpuMillis memoryMib scaledAt scaleReason";
const QUERY = `query($id: ID!, $asOf: String, $past: Boolean!) {
  now: service(id: $id) { ${FIELDS} spec endpoints { containerPort }
    containers(first: 100) { edges { node { id name observed restarts startedAt } } }
    events(first: 50) { edges { node { occurredAt actor summary type } } } }
  then: service(id: $id, asOf: $asOf) @include(if: $past) { ${FIELDS} } }`;

// The API's UpdateServiceInput for a spec as the API shows it (Service.spec).
function updateInput(spec, balanced) {
  const check = spec.health_check;
  return {
    image: spec.image,
    command: spec.command?.length ? spec.command : null,
    entrypoint: spec.entrypoint?.length ? spec.entrypoint : null,
    env: Object.entries(spec.env || {}).map(([name, value]) => ({ name, value })),
    secrets: (spec.secrets || []).map((x) => ({ name: x.name, env: x.env })),
    ports: (spec.ports || []).map((p) => ({ containerPort: p.container_port, protocol: p.protocol,
      loadBalanced: balanced.includes(p.container_port) })),
    cpuMillis: spec.cpu_millis, memoryMib: spec.memory_mib,
    volumes: (spec.volumes || []).map((v) => ({ volume: v.volume, path: v.path, readOnly: v.read_only })),
    restartPolicy: spec.restart_policy,
    healthCheck: check ? { test: check.test, intervalS: check.interval_s, timeoutS: check.timeout_s,
      retries: check.retries, startPeriodS: check.start_period_s } : null,
    constraints: spec.constraints || null,
  };
}

// A word of a command line, quoted when it holds a space (words() splits it back).
function quote(word) {
  return /\s/.test(word) ? `'${word}'` : word;
}

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
  const forms = h("div", {});
  const chart = metrics(id);
  const page = detail(main, {
    id, query: QUERY, view,
    top: (s, load) => [h("h1", {}, s.name, " ", badge(s.desired)), h("span", { class: "actions" },
      scaler(s, page.problem, load), lifecycle("Service", s, page.problem, {
        after: load, deleted: () => navigate("/services"), confirmKey: "services.confirmDelete" }))],
    present: (s) => {
      if (!forms.firstChild) replace(forms, updateForm(s));
      return [
      h("section", { class: "card", "data-section": "replicas" }, h("h2", {}, t("services.replicaList")),
        table([
          ["containers.name", (c) => h("a", { href: `#/containers/${c.id}` }, c.name)],
          ["containers.state", (c) => badge(c.observed)],
          ["containers.restarts", (c) => c.restarts],
          ["containers.started", (c) => time(c.startedAt)],
        ], s.containers.edges.map((e) => e.node).filter((c) => c.observed !== "removed")
          .sort((a, b) => a.name.localeCompare(b.name, undefined, { numeric: true })))),
      versions(s), history(s.events.edges.map((e) => e.node))];
    },
    after: [forms, chart, h("section", { class: "card", "data-section": "logs" }, h("h2", {}, t("logs.title")), logs)],
  });

  // A new version: its whole configuration as it is now, with what the form changes
  // (made once, so that a redraw never takes what is being typed).
  function updateForm(s) {
    const spec = s.spec;
    const image = h("input", { name: "image", required: true, value: spec.image });
    const command = h("input", { name: "command", value: (spec.command || []).map(quote).join(" ") });
    const env = h("textarea", { name: "env", rows: 3 },
      Object.entries(spec.env || {}).map(([k, v]) => `${k}=${v}`).join("\n"));
    const submit = h("button", { type: "submit", "data-action": "update" }, t("services.update"));
    return h("details", { class: "card" }, h("summary", {}, t("services.newVersion")),
      h("form", { class: "stacked", onsubmit: (event) => {
        event.preventDefault();
        busy(submit, page.problem, async () => {
          const input = { ...updateInput(spec, s.endpoints.map((e) => e.containerPort)), id,
            image: image.value, command: words(command.value),
            env: variables(env.value) };
          await api.mutate(`mutation($input: UpdateServiceInput!) { updateService(input: $input) { ${ERRORS} } }`,
            { input }, "updateService");
          await page.load();
        });
      } }, field("services.image", image), field("containers.command", command),
      field("containers.env", env), submit));
  }

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
