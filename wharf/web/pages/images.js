// Image repositories the tenant may pull from (its own and the platform's public ones),
// with their tags, description and guide; a new repository; a description edited.

import * as api from "../api.js";
import { ERRORS } from "../api.js";
import { h, replace } from "../dom.js";
import { t } from "../i18n.js";
import { busy, field, notice, table, time } from "../ui.js";

const LIST = `{ repositories(first: 100) { edges { node { id name public reference description
  guide updatedAt tags { tag digest size pushedAt } } } } }`;

export async function render(main) {
  const problem = notice();
  const list = h("div", {});
  replace(main, h("h1", {}, t("nav.images")), createForm(), problem, list);

  async function load() {
    try {
      const rows = (await api.gql(LIST)).repositories.edges.map((e) => e.node);
      replace(list, rows.length ? rows.map(card) : h("p", { class: "empty" }, t("images.none")));
    } catch (error) {
      problem.show(error);
    }
  }

  function card(r) {
    const mine = !r.public || api.me().operator;
    return h("section", { class: "card", "data-repository": r.name },
      h("h2", {}, r.name, r.public ? h("span", { class: "badge" }, t("images.public")) : null),
      h("p", {}, h("code", {}, `docker pull ${r.reference}:<tag>`)),
      r.description ? h("p", { "data-description": "" }, r.description) : null,
      r.guide ? h("details", {}, h("summary", {}, t("images.guide")), h("pre", { class: "guide" }, r.guide)) : null,
      table([
        ["images.tag", (x) => h("code", {}, x.tag)],
        ["images.digest", (x) => h("code", { title: x.digest }, x.digest.slice(0, 19))],
        ["images.size", (x) => `${(x.size / 1048576).toFixed(1)} MiB`],
        ["images.pushed", (x) => time(x.pushedAt)],
      ], r.tags, { empty: "images.noTags" }),
      mine ? describeForm(r) : null);
  }

  function describeForm(r) {
    const description = h("input", { name: "description", value: r.description });
    const guide = h("textarea", { name: "guide", rows: 4 }, r.guide);
    const submit = h("button", { type: "submit", class: "quiet" }, t("images.save"));
    return h("details", {}, h("summary", {}, t("images.describe")),
      h("form", { class: "stacked", onsubmit: (event) => {
        event.preventDefault();
        busy(submit, problem, async () => {
          await api.mutate(`mutation($input: DescribeRepositoryInput!) { describeRepository(input: $input) { ${ERRORS} } }`,
            { input: { id: r.id, description: description.value, guide: guide.value } }, "describeRepository");
          await load();
        });
      } }, field("images.description", description), field("images.guide", guide), submit));
  }

  function createForm() {
    const name = h("input", { name: "name", required: true, placeholder: `${api.me().tenant?.name ?? "library"}/web` });
    const description = h("input", { name: "description" });
    const submit = h("button", { type: "submit", "data-action": "create" }, t("action.create"));
    return h("details", { class: "card" }, h("summary", {}, t("images.new")),
      h("form", { onsubmit: (event) => {
        event.preventDefault();
        busy(submit, problem, async () => {
          await api.mutate(`mutation($input: CreateRepositoryInput!) { createRepository(input: $input) { ${ERRORS} } }`,
            { input: { name: name.value, description: description.value } }, "createRepository");
          await load();
        });
      } }, field("images.name", name), field("images.description", description), submit));
  }

  await load();
}
