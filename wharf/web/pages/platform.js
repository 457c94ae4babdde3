// Operators: the platform's event stream, every tenant's, as it happens.

import * as api from "../api.js";
import { h, replace } from "../dom.js";
import { t } from "../i18n.js";
import { notice, time } from "../ui.js";

const KEEP = 500;
const RECENT = 50;

export async function render(main) {
  const problem = notice();
  const body = h("tbody", {});
  replace(main, h("h1", {}, t("nav.events")), h("p", {}, t("platform.explain")), problem,
    h("table", { "data-stream": "" }, h("thead", {}, h("tr", {},
      ["events.when", "platform.tenant", "events.actor", "events.what"].map((k) => h("th", {}, t(k))))),
    body));
  let names = {};
  let after = 0;
  try {
    const data = await api.gql("{ logPosition tenants(first: 500) { edges { node { id name } } } }");
    names = Object.fromEntries(data.tenants.edges.map((e) => [e.node.id, e.node.name]));
    after = Math.max(data.logPosition - RECENT, 0);  // (the last few, then each as it comes)
  } catch (error) {
    problem.show(error);
  }
  const stop = api.live.subscribe(`subscription($after: Int) { platformEvents(after: $after) {
    position occurredAt tenantId actor summary type } }`, { after },
    (data) => {
      const e = data.platformEvents;
      body.prepend(h("tr", { "data-event": e.type }, h("td", {}, time(e.occurredAt)),
        h("td", {}, e.tenantId ? names[e.tenantId] ?? e.tenantId : t("platform.operators")),
        h("td", {}, e.actor), h("td", {}, e.summary)));
      while (body.childNodes.length > KEEP) body.lastChild.remove();
    }, (error) => problem.show(error));
  return stop;
}
