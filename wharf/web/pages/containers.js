// The tenant's containers: a page at a time, filtered by state, with their actions and a
// form to create one. States change live: the page reads again when the tenant's events
// say something changed.

import * as api from "../api.js";
import { ERRORS } from "../api.js";
import { h, replace } from "../dom.js";
import { t } from "../i18n.js";
import { badge, busy, field, lifecycle, notice, reloadOnEvents, table, time } from "../ui.js";

const PAGE = 50;
const FIELDS = "id name image desired observed restarts failure createdAt serviceId";
const LIST = `query($first: Int!, $after: String, $observed: String) {
  containers(first: $first, after: $after, observed: $observed) {
    edges { node { ${FIELDS} } } pageInfo { hasNextPage endCursor } } }`;

export async function render(main, _params, { navigate }) {
  const problem = notice();
  const list = h("div", { class: "list" });
  const more = h("button", { type: "button", class: "quiet", hidden: true, "data-action": "more" }, t("list.more"));
  const state = h("select", { "data-filter": "observed", onchange: () => load() },
    ["", "running", "pending", "exited", "paused"].map((s) => h("option", { value: s }, s ? t(`state.${s}`) : t("list.all"))));
  replace(main, h("h1", {}, t("nav.containers")), createForm(problem, navigate),
    h("div", { class: "controls" }, field("list.state", state)), problem, list, more);

  let rows = [];
  let cursor = null;

  async function load(append = false) {
    try {
      const data = await api.gql(LIST, { first: append ? PAGE : Math.max(rows.length, PAGE),
        after: append ? cursor : null, observed: state.value || null });
      const page = data.containers;
      rows = append ? [...rows, ...page.edges.map((e) => e.node)] : page.edges.map((e) => e.node);
      cursor = page.pageInfo.endCursor;
      more.hidden = !page.pageInfo.hasNextPage;
      draw();
    } catch (error) {
      problem.show(error);
    }
  }

  function draw() {
    replace(list, table([
      ["containers.name", (c) => h("a", { href: `#/containers/${c.id}`, "data-name": c.name }, c.name)],
      ["containers.image", (c) => h("code", {}, c.image)],
      ["containers.state", (c) => [badge(c.observed), c.failure ? h("small", { class: "failure" }, c.failure) : null]],
      ["containers.restarts", (c) => c.restarts],
      ["containers.created", (c) => time(c.createdAt)],
      ["containers.actions", (c) => lifecycle("Container", c, problem, { after: load, confirmKey: "containers.confirmDelete" })],
    ], rows, { empty: "containers.none", rowAttrs: (c) => ({ "data-container": c.name }) }));
  }

  more.addEventListener("click", () => busy(more, problem, () => load(true)));
  const stop = reloadOnEvents(() => load(), problem);
  await load();
  return stop;
}

function createForm(problem, navigate) {
  const name = h("input", { name: "name", required: true });
  const image = h("input", { name: "image", required: true, placeholder: "busybox:latest" });
  const command = h("input", { name: "command", placeholder: "sh -c 'echo hello; sleep 3600'" });
  const more = resources();
  const submit = h("button", { type: "submit", "data-action": "create" }, t("action.create"));
  return h("details", { class: "card" }, h("summary", {}, t("containers.new")),
    h("form", { onsubmit: (event) => {
      event.preventDefault();
      busy(submit, problem, async () => {
        const payload = await api.mutate(`mutation($input: CreateContainerInput!) {
          createContainer(input: $input) { ${ERRORS} ... on ContainerPayload { container { id } } } }`,
        { input: { name: name.value, image: image.value, command: words(command.value),
          ...more.values((port) => ({ containerPort: port })) } }, "createContainer");
        navigate(`/containers/${payload.container.id}`);
      });
    } }, field("containers.name", name), field("containers.image", image),
    field("containers.command", command), ...more.fields, submit));
}

// The fields a container and a service share: ports, environment, CPU and memory.
// `values(port)` reads them as the API's input (null where left empty: the plan's
// defaults), each port made by `port`.
export function resources() {
  const ports = h("input", { name: "ports", placeholder: "80, 443", "data-field": "ports" });
  const env = h("textarea", { name: "env", rows: 3, placeholder: "KEY=value", "data-field": "env" });
  const cpu = h("input", { name: "cpu", type: "number", min: 1, class: "narrow", "data-field": "cpu" });
  const memory = h("input", { name: "memory", type: "number", min: 1, class: "narrow", "data-field": "memory" });
  return {
    fields: [field("containers.portsInput", ports), field("containers.cpuMillis", cpu),
      field("containers.memoryMib", memory), field("containers.env", env)],
    values: (port) => ({
      ports: ports.value.trim() ? ports.value.split(/[\s,]+/).filter(Boolean).map((p) => port(Number(p))) : null,
      env: env.value.trim() ? variables(env.value) : null,
      cpuMillis: cpu.value ? Number(cpu.value) : null,
      memoryMib: memory.value ? Number(memory.value) : null,
    }),
  };
}

// Environment variables written KEY=value a line, as the API's [{name, value}].
export function variables(text) {
  return text.split("\n").filter((line) => line.trim()).map((line) => {
    const at = line.indexOf("=");
    return at < 0 ? { name: line.trim(), value: "" } : { name: line.slice(0, at).trim(), value: line.slice(at + 1) };
  });
}

// A command line split as a shell would split simple words and quotes (null: none).
export function words(line) {
  const found = [];
  const pattern = /"([^"]*)"|'([^']*)'|(\S+)/g;
  let match;
  while ((match = pattern.exec(line)) !== null) found.push(match[1] ?? match[2] ?? match[3]);
  return found.length ? found : null;
}
