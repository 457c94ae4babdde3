// The tenant's applications (Compose files): their services and state; deploy a Compose
// file (pasted or chosen from disk), and watch its services come up.

import * as api from "../api.js";
import { ERRORS } from "../api.js";
import { h, replace } from "../dom.js";
import { t } from "../i18n.js";
import { badge, busy, field, notice, reloadOnEvents, table, time } from "../ui.js";

const LIST = `{ applications(first: 100) { edges { node { id name desired version createdAt
  services { name replicas running } domains { domain } } } } }`;

export async function render(main, _params, { navigate }) {
  const problem = notice();
  const list = h("div", { class: "list" });
  replace(main, h("h1", {}, t("nav.applications")), deployForm(problem, navigate), problem, list);

  async function load() {
    try {
      const rows = (await api.gql(LIST)).applications.edges.map((e) => e.node);
      replace(list, table([
        ["applications.name", (a) => h("a", { href: `#/applications/${a.id}` }, a.name)],
        ["services.state", (a) => badge(a.desired)],
        ["applications.services", (a) => a.services.map((s) => `${s.name} ${s.running}/${s.replicas}`).join(" · ")],
        ["applications.domains", (a) => a.domains.map((d) => d.domain).join(", ")],
        ["services.version", (a) => `v${a.version}`],
        ["containers.created", (a) => time(a.createdAt)],
      ], rows, { empty: "applications.none", rowAttrs: (a) => ({ "data-application": a.name }) }));
    } catch (error) {
      problem.show(error);
    }
  }

  const stop = reloadOnEvents(load, problem);
  await load();
  return stop;
}

export function deployForm(problem, navigate, name = "") {
  const named = h("input", { name: "name", required: true, value: name, readonly: name ? true : null });
  const compose = h("textarea", { name: "compose", rows: 10, required: true, spellcheck: "false",
    placeholder: "services:\n  web:\n    image: nginx:alpine\n    ports: [\"80\"]" });
  const file = h("input", { type: "file", accept: ".yml,.yaml", onchange: async () => {
    const chosen = file.files[0];
    if (chosen) compose.value = await chosen.text();
  } });
  const submit = h("button", { type: "submit", "data-action": "deploy" }, t("applications.deploy"));
  return h("details", { class: "card", open: name ? true : null },
    h("summary", {}, t(name ? "applications.redeploy" : "applications.new")),
    h("form", { class: "stacked", onsubmit: (event) => {
      event.preventDefault();
      busy(submit, problem, async () => {
        const payload = await api.mutate(`mutation($input: DeployApplicationInput!) {
          deployApplication(input: $input) { ${ERRORS} ... on ApplicationPayload { application { id } } } }`,
        { input: { name: named.value, compose: compose.value } }, "deployApplication");
        navigate(`/applications/${payload.application.id}`);
      });
    } }, field("applications.name", named), field("applications.file", file),
    field("applications.compose", compose), submit));
}
