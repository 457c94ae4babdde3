// Operators: every tenant with its plan, status and usage; create, suspend, resume.

import * as api from "../api.js";
import { ERRORS } from "../api.js";
import { h, replace } from "../dom.js";
import { t } from "../i18n.js";
import { badge, busy, field, notice, table, time } from "../ui.js";

const LIST = `query($after: String) { tenants(first: 100, after: $after) {
  edges { node { id name plan planVersion status createdAt
    usage { containers cpuMillis memoryMib volumeGib } } }
  pageInfo { hasNextPage endCursor } } plans { name } }`;

export async function render(main) {
  const problem = notice();
  const list = h("div", { class: "list" });
  const more = h("button", { type: "button", class: "quiet", hidden: true }, t("list.more"));
  const form = h("div", {});
  replace(main, h("h1", {}, t("nav.tenants")), form, problem, list, more);
  let rows = [];
  let cursor = null;
  let plans = [];

  async function load(append = false) {
    try {
      const data = await api.gql(LIST, { after: append ? cursor : null });
      const page = data.tenants;
      rows = append ? [...rows, ...page.edges.map((e) => e.node)] : page.edges.map((e) => e.node);
      cursor = page.pageInfo.endCursor;
      more.hidden = !page.pageInfo.hasNextPage;
      plans = data.plans.map((p) => p.name);
      if (!form.firstChild) replace(form, createForm(plans));
      draw();
    } catch (error) {
      problem.show(error);
    }
  }

  function draw() {
    replace(list, table([
      ["tenants.name", (x) => x.name],
      ["tenants.plan", (x) => x.status === "closed" ? `${x.plan} v${x.planVersion}` : planSelect(x)],
      ["tenants.status", (x) => badge(x.status)],
      ["tenants.usage", (x) => `${x.usage.containers} · ${x.usage.cpuMillis}m · ${x.usage.memoryMib} MiB · ${x.usage.volumeGib} GiB`],
      ["containers.created", (x) => time(x.createdAt)],
      ["containers.actions", (x) => action(x)],
    ], rows, { empty: "tenants.none", rowAttrs: (x) => ({ "data-tenant": x.name }) }));
  }

  function planSelect(x) {
    const select = h("select", { "data-plan": x.name, onchange: () =>
      busy(select, problem, async () => {
        await api.mutate(`mutation($t: ID!, $p: String!) { changePlan(input: {tenant: $t, plan: $p}) { ${ERRORS} } }`,
          { t: x.id, p: select.value }, "changePlan");
        await load();
      }) }, plans.map((p) => h("option", { value: p, selected: p === x.plan }, p === x.plan ? `${p} v${x.planVersion}` : p)));
    return select;
  }

  function action(x) {
    if (x.status === "closed") return "";
    const name = x.status === "active" ? "suspendTenant" : "resumeTenant";
    const button = h("button", { type: "button", class: "quiet", "data-action": name,
      onclick: () => busy(button, problem, async () => {
        await api.mutate(`mutation($id: ID!) { ${name}(input: {id: $id}) { ${ERRORS} } }`, { id: x.id }, name);
        await load();
      }) }, t(`tenants.${name}`));
    return button;
  }

  function createForm(plans) {
    const name = h("input", { name: "name", required: true });
    const owner = h("input", { name: "owner", inputmode: "email", required: true });
    const plan = h("select", { name: "plan" }, plans.map((p) => h("option", { value: p }, p)));
    const shown = h("p", { class: "token", hidden: true });
    const submit = h("button", { type: "submit", "data-action": "create" }, t("action.create"));
    return h("details", { class: "card" }, h("summary", {}, t("tenants.new")),
      h("form", { onsubmit: (event) => {
        event.preventDefault();
        busy(submit, problem, async () => {
          const made = await api.mutate(`mutation($input: CreateTenantInput!) { createTenant(input: $input) {
            ${ERRORS} ... on TenantCreated { ownerToken } } }`,
          { input: { name: name.value, owner: owner.value, plan: plan.value } }, "createTenant");
          shown.hidden = false;
          replace(shown, t("tenants.ownerToken"), " ", h("code", {}, made.ownerToken));
          await load();
        });
      } }, field("tenants.name", name), field("tenants.owner", owner), field("tenants.plan", plan), submit),
      shown);
  }

  more.addEventListener("click", () => busy(more, problem, () => load(true)));
  await load();
}
