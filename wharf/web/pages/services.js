// The tenant's services: replicas wanted and running (live), scale, stop, start, delete,
// and a form to create one.

import * as api from "../api.js";
import { ERRORS } from "../api.js";
import { h, replace } from "../dom.js";
import { t } from "../i18n.js";
import { badge, busy, field, notice, reloadOnEvents, table } from "../ui.js";
import { resources, words } from "./containers.js";

const LIST = `query($after: String) { services(first: 100, after: $after) {
  edges { node { id name image desired replicas running version rolledOutVersion category } }
  pageInfo { hasNextPage endCursor } } }`;

export async function scale(id, replicas) {
  return api.mutate(`mutation($id: ID!, $replicas: Int!) {
    scaleService(input: {id: $id, replicas: $replicas}) { ${ERRORS} } }`,
  { id, replicas }, "scaleService");
}

// What the reader typed and has not sent yet, by service: a redraw (each event brings
// one) keeps it, and the focus, rather than putting the count back under their fingers.
const typed = new Map();

export function scaler(service, problem, after) {
  const count = h("input", { type: "number", min: 0, max: 1000,
    value: typed.get(service.id) ?? service.replicas, class: "narrow",
    "aria-label": t("services.replicas"), "data-scale": service.name,
    oninput: () => typed.set(service.id, count.value) });
  const button = h("button", { type: "button", class: "quiet", "data-action": "scale", onclick: () =>
    busy(button, problem, async () => {
      await scale(service.id, Number(count.value));
      typed.delete(service.id);
      await after();
    }) }, t("action.scale"));
  if (document.activeElement?.dataset?.scale === service.name) queueMicrotask(() => count.focus());
  return h("span", { class: "actions" }, count, button);
}

export async function render(main, _params, { navigate }) {
  const problem = notice();
  const list = h("div", { class: "list" });
  replace(main, h("h1", {}, t("nav.services")), createForm(problem, navigate), problem, list);

  async function load() {
    try {
      const data = await api.gql(LIST, { after: null });
      draw(data.services.edges.map((e) => e.node));
    } catch (error) {
      problem.show(error);
    }
  }

  function draw(rows) {
    replace(list, table([
      ["services.name", (s) => h("a", { href: `#/services/${s.id}` }, s.name)],
      ["services.image", (s) => h("code", {}, s.image)],
      ["services.state", (s) => badge(s.desired)],
      ["services.running", (s) => h("span", { "data-running": s.running }, t("services.runningOf", { running: s.running, replicas: s.replicas }))],
      ["services.version", (s) => s.rolledOutVersion === s.version ? `v${s.version}` : `v${s.rolledOutVersion} → v${s.version}`],
      ["services.scale", (s) => scaler(s, problem, load)],
    ], rows, { empty: "services.none", rowAttrs: (s) => ({ "data-service": s.name }) }));
  }

  const stop = reloadOnEvents(load, problem);
  await load();
  return stop;
}

function createForm(problem, navigate) {
  const name = h("input", { name: "name", required: true });
  const image = h("input", { name: "image", required: true, placeholder: "nginx:alpine" });
  const replicas = h("input", { name: "replicas", type: "number", min: 0, value: 1 });
  const command = h("input", { name: "command" });
  const balanced = h("input", { type: "checkbox", name: "balanced" });
  const more = resources();
  const submit = h("button", { type: "submit", "data-action": "create" }, t("action.create"));
  return h("details", { class: "card" }, h("summary", {}, t("services.new")),
    h("form", { onsubmit: (event) => {
      event.preventDefault();
      busy(submit, problem, async () => {
        const payload = await api.mutate(`mutation($input: CreateServiceInput!) {
          createService(input: $input) { ${ERRORS} ... on ServicePayload { service { id } } } }`,
        { input: { name: name.value, image: image.value, replicas: Number(replicas.value),
          command: words(command.value),
          ...more.values((port) => ({ containerPort: port, loadBalanced: balanced.checked })) } },
        "createService");
        navigate(`/services/${payload.service.id}`);
      });
    } }, field("services.name", name), field("services.image", image),
    field("services.replicas", replicas), field("containers.command", command), ...more.fields,
    field("services.balanced", balanced), submit));
}
