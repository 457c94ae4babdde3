// The tenant's volumes: size, state, where their data lives, backups; create, back up,
// delete.

import * as api from "../api.js";
import { ERRORS } from "../api.js";
import { h, replace } from "../dom.js";
import { t } from "../i18n.js";
import { badge, busy, field, notice, reloadOnEvents, table, time } from "../ui.js";

const LIST = `{ volumes(first: 100) { edges { node { id name sizeGib state hostId createdAt
  backups { id state sizeBytes createdAt } } } } }`;

export async function render(main) {
  const problem = notice();
  const list = h("div", { class: "list" });
  replace(main, h("h1", {}, t("nav.volumes")), createForm(), problem, list);

  async function load() {
    try {
      const rows = (await api.gql(LIST)).volumes.edges.map((e) => e.node).filter((v) => v.state !== "deleted");
      replace(list, table([
        ["volumes.name", (v) => v.name],
        ["volumes.size", (v) => `${v.sizeGib} GiB`],
        ["services.state", (v) => badge(v.state)],
        ["volumes.backups", (v) => v.backups.map((b) => `${b.createdAt.slice(0, 16).replace("T", " ")} (${t(`state.${b.state}`)})`).join(", ") || "–"],
        ["containers.created", (v) => time(v.createdAt)],
        ["containers.actions", (v) => h("span", { class: "actions" },
          button(v, "backupVolume", "volumes.backup", "quiet"),
          button(v, "deleteVolume", "action.delete", "danger"))],
      ], rows, { empty: "volumes.none", rowAttrs: (v) => ({ "data-volume": v.name }) }));
    } catch (error) {
      problem.show(error);
    }
  }

  function button(v, mutation, key, kind) {
    const made = h("button", { type: "button", class: kind, "data-action": mutation, onclick: () => {
      if (mutation === "deleteVolume" && !confirm(t("volumes.confirmDelete", { name: v.name }))) return;
      busy(made, problem, async () => {
        await api.mutate(`mutation($id: ID!) { ${mutation}(input: {id: $id}) { ${ERRORS} } }`, { id: v.id }, mutation);
        await load();
      });
    } }, t(key));
    return made;
  }

  function createForm() {
    const name = h("input", { name: "name", required: true });
    const size = h("input", { name: "size", type: "number", min: 1, value: 1, class: "narrow" });
    const submit = h("button", { type: "submit", "data-action": "create" }, t("action.create"));
    return h("details", { class: "card" }, h("summary", {}, t("volumes.new")),
      h("form", { onsubmit: (event) => {
        event.preventDefault();
        busy(submit, problem, async () => {
          await api.mutate(`mutation($input: CreateVolumeInput!) { createVolume(input: $input) { ${ERRORS} } }`,
            { input: { name: name.value, sizeGib: Number(size.value) } }, "createVolume");
          name.value = "";
          await load();
        });
      } }, field("volumes.name", name), field("volumes.sizeGib", size), submit));
  }

  const stop = reloadOnEvents(load, problem, (event) => event.kind === "volume");
  await load();
  return stop;
}
