// Operators: the hosts (on the Swarm runtime, its nodes) with their capacity, what is
// reserved of it and their load; register, drain.

import * as api from "../api.js";
import { ERRORS } from "../api.js";
import { h, replace } from "../dom.js";
import { t } from "../i18n.js";
import { badge, busy, field, notice, table } from "../ui.js";
import { metrics } from "./detail.js";

const LIST = `{ runtime hosts { id name endpoint address pool state cpuMillis memoryMib
  reservedCpuMillis reservedMemoryMib containers engineVersion labels { key value } } }`;

function share(used, total) {
  return h("span", { class: "share" }, h("progress", { max: total || 1, value: used }),
    ` ${used} / ${total}`);
}

export async function render(main, [id]) {
  const problem = notice();
  const list = h("div", { class: "list" });
  const title = h("h1", { "data-runtime": "" }, t("nav.hosts"));
  replace(main, title, id ? null : registerForm(), problem, list);
  let chart = null;

  async function load() {
    let hosts;
    try {
      const data = await api.gql(LIST);
      hosts = data.hosts;
      replace(title, t(data.runtime === "swarm" ? "hosts.swarmTitle" : "nav.hosts"));
    } catch (error) {
      problem.show(error);
      return;
    }
    const shown = id ? hosts.filter((x) => x.id === id) : hosts;
    replace(list, table([
      ["hosts.name", (x) => h("a", { href: `#/hosts/${x.id}` }, x.name)],
      ["hosts.address", (x) => h("code", {}, x.address)],
      ["hosts.pool", (x) => x.pool],
      ["hosts.state", (x) => badge(x.state)],
      ["hosts.cpu", (x) => share(x.reservedCpuMillis, x.cpuMillis)],
      ["hosts.memory", (x) => share(x.reservedMemoryMib, x.memoryMib)],
      ["hosts.containers", (x) => x.containers],
      ["containers.actions", (x) => x.state === "active" ? drain(x) : ""],
    ], shown, { empty: "hosts.none", rowAttrs: (x) => ({ "data-host": x.name }) }));
    if (id && !chart) {
      chart = metrics(id);
      main.append(chart);
    }
  }

  function drain(x) {
    const button = h("button", { type: "button", class: "danger", "data-action": "drain",
      onclick: () => {
        if (!confirm(t("hosts.confirmDrain", { name: x.name }))) return;
        busy(button, problem, async () => {
          await api.mutate(`mutation($id: ID!) { drainHost(input: {id: $id}) { ${ERRORS} } }`, { id: x.id }, "drainHost");
          await load();
        });
      } }, t("hosts.drain"));
    return button;
  }

  function registerForm() {
    const endpoint = h("input", { name: "endpoint", required: true, placeholder: "unix:///var/run/docker-h2.sock" });
    const pool = h("input", { name: "pool", value: "public" });
    const submit = h("button", { type: "submit", "data-action": "register" }, t("hosts.register"));
    return h("details", { class: "card" }, h("summary", {}, t("hosts.new")),
      h("p", {}, t("hosts.joinHint")),
      h("form", { onsubmit: (event) => {
        event.preventDefault();
        busy(submit, problem, async () => {
          await api.mutate(`mutation($input: RegisterHostInput!) { registerHost(input: $input) { ${ERRORS} } }`,
            { input: { endpoint: endpoint.value, pool: pool.value } }, "registerHost");
          await load();
        });
      } }, field("hosts.endpoint", endpoint), field("hosts.pool", pool), submit));
  }

  const timer = setInterval(load, 10000);
  await load();
  return () => {
    clearInterval(timer);
    chart?.stop();
  };
}
