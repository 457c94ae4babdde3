// One application: its services (running of wanted, live), its domains (bind, unbind),
// the names it answers to, start, stop, delete, a new Compose file, its history; and as
// of an earlier moment.

import * as api from "../api.js";
import { ERRORS } from "../api.js";
import { h, replace } from "../dom.js";
import { t } from "../i18n.js";
import { badge, busy, field, lifecycle, table } from "../ui.js";
import { deployForm } from "./applications.js";
import { detail, history, metrics } from "./detail.js";

const FIELDS = "id name desired version entry warnings";
const QUERY = `query($id: ID!, $asOf: String, $past: Boolean!) {
  now: application(id: $id) { ${FIELDS} hosts
    services { id name image replicas running desired }
    domains { domain service }
    events(first: 50) { edges { node { occurredAt actor summary type } } } }
  then: application(id: $id, asOf: $asOf) @include(if: $past) { ${FIELDS} } }`;

const view = (x) => [
  ["services.version", `v${x.version}`, x.version],
  ["applications.entry", x.entry, x.entry],
  ["applications.warnings", x.warnings.join("; "), x.warnings.join("; ")],
];

export async function render(main, [id], { navigate }) {
  const forms = h("div", {});
  const chart = metrics(id);  // (its replicas summed)
  const page = detail(main, {
    id, query: QUERY, view, after: [chart, forms],
    top: (a, load) => [h("h1", {}, a.name, " ", badge(a.desired)), lifecycle("Application", a,
      page.problem, { after: load, deleted: () => navigate("/applications"), confirmKey: "applications.confirmDelete" })],
    present: (a) => {
      if (!forms.firstChild) replace(forms, bindForm(a), deployForm(page.problem, navigate, a.name));
      return [h("p", { "data-hosts": "" }, t("applications.hosts"), ": ", a.hosts.join(", ") || "–"),
        h("section", { class: "card", "data-section": "services" }, h("h2", {}, t("applications.services")),
          table([
            ["services.name", (s) => h("a", { href: `#/services/${s.id}` }, s.name)],
            ["services.image", (s) => h("code", {}, s.image)],
            ["services.running", (s) => h("span", { "data-running": s.running }, t("services.runningOf", { running: s.running, replicas: s.replicas }))],
          ], a.services, { rowAttrs: (s) => ({ "data-service": s.name }) })),
        domains(a), history(a.events.edges.map((e) => e.node))];
    },
  });
  const problem = page.problem;
  const load = () => page.load();

  // (made once: a form being filled in is never redrawn under the reader's fingers)
  function bindForm(a) {
    const domain = h("input", { name: "domain", required: true, placeholder: "shop.example.com" });
    // (a domain names the Compose file's service: the part after "<application>-")
    const compose = (s) => s.name.slice(a.name.length + 1);
    const service = h("select", { name: "service" }, a.services.map((s) => h("option", { value: compose(s) }, compose(s))));
    const submit = h("button", { type: "submit", "data-action": "bind" }, t("applications.bind"));
    return h("details", { class: "card" }, h("summary", {}, t("applications.bindTitle")),
      h("form", { onsubmit: (event) => {
        event.preventDefault();
        busy(submit, problem, async () => {
          await api.mutate(`mutation($a: ID!, $d: String!, $s: String!) { bindDomain(input: {application: $a, domain: $d, service: $s}) { ${ERRORS} } }`,
            { a: id, d: domain.value, s: service.value }, "bindDomain");
          domain.value = "";
          await load();
        });
      } }, field("applications.domain", domain), field("services.name", service), submit));
  }

  function domains(a) {
    return h("section", { class: "card", "data-section": "domains" }, h("h2", {}, t("applications.domains")),
      table([
        ["applications.domain", (d) => d.domain],
        ["services.name", (d) => d.service],
        ["containers.actions", (d) => {
          const button = h("button", { type: "button", class: "danger", "data-action": "unbind",
            onclick: () => busy(button, problem, async () => {
              await api.mutate(`mutation($a: ID!, $d: String!) { unbindDomain(input: {application: $a, domain: $d}) { ${ERRORS} } }`,
                { a: id, d: d.domain }, "unbindDomain");
              await load();
            }) }, t("applications.unbind"));
          return button;
        }],
      ], a.domains, { empty: "applications.noDomains", rowAttrs: (d) => ({ "data-domain": d.domain }) }));
  }

  await page.load();
  return () => {
    page.stop();
    chart.stop();
  };
}
