// Build pipelines: each with its builds (state live), run one now, create one; a build's
// log as it is written.

import * as api from "../api.js";
import { ERRORS } from "../api.js";
import { h, replace } from "../dom.js";
import { t } from "../i18n.js";
import { badge, busy, field, notice, reloadOnEvents, table, time } from "../ui.js";

const LIST = `{ pipelines(first: 100) { edges { node { id name gitUrl branch repository tagPattern
  githubWebhook genericWebhook builds(first: 10) { edges { node { id number trigger commit
  image state reason requestedAt finishedAt } } } } } } }`;

export async function render(main, [buildId]) {
  const problem = notice();
  const list = h("div", {});
  const log = h("pre", { class: "logs", "data-logs": "" });
  replace(main, h("h1", {}, t("nav.pipelines")), buildId ? null : createForm(), problem, list,
    buildId ? h("section", { class: "card", "data-section": "build-log" }, h("h2", {}, t("pipelines.log")), log) : null);

  async function load() {
    try {
      const rows = (await api.gql(LIST)).pipelines.edges.map((e) => e.node);
      const shown = buildId ? rows.filter((p) => p.builds.edges.some((e) => e.node.id === buildId)) : rows;
      replace(list, shown.length ? shown.map(card) : h("p", { class: "empty" }, t("pipelines.none")));
    } catch (error) {
      problem.show(error);
    }
  }

  function card(p) {
    const run = h("button", { type: "button", class: "quiet", "data-action": "run", onclick: () =>
      busy(run, problem, async () => {
        await api.mutate(`mutation($id: ID!) { runPipeline(input: {id: $id}) { ${ERRORS} } }`, { id: p.id }, "runPipeline");
        await load();
      }) }, t("pipelines.run"));
    return h("section", { class: "card", "data-pipeline": p.name },
      h("div", { class: "head" }, h("h2", {}, p.name), run),
      h("p", {}, h("code", {}, `${p.gitUrl} (${p.branch})`), " → ", h("code", {}, `${p.repository}:${p.tagPattern}`)),
      h("p", { class: "empty" }, t("pipelines.webhooks", { github: p.githubWebhook, generic: p.genericWebhook })),
      table([
        ["pipelines.number", (b) => h("a", { href: `#/pipelines/${b.id}` }, `#${b.number}`)],
        ["services.state", (b) => [badge(b.state), b.reason ? h("small", { class: "failure" }, b.reason) : null]],
        ["pipelines.trigger", (b) => b.trigger],
        ["pipelines.commit", (b) => h("code", {}, b.commit.slice(0, 12))],
        ["containers.image", (b) => h("code", {}, b.image)],
        ["pipelines.requested", (b) => time(b.requestedAt)],
        ["containers.finished", (b) => time(b.finishedAt)],
      ], p.builds.edges.map((e) => e.node), { empty: "pipelines.noBuilds", rowAttrs: (b) => ({ "data-build": b.number }) }));
  }

  function createForm() {
    const name = h("input", { name: "name", required: true });
    const git = h("input", { name: "gitUrl", required: true, placeholder: "https://git.example.com/acme/web.git" });
    const repository = h("input", { name: "repository", required: true, placeholder: `${api.me().tenant?.name ?? ""}/web` });
    const branch = h("input", { name: "branch", value: "main" });
    const shown = h("p", { class: "token", hidden: true });
    const submit = h("button", { type: "submit", "data-action": "create" }, t("action.create"));
    return h("details", { class: "card" }, h("summary", {}, t("pipelines.new")),
      h("form", { onsubmit: (event) => {
        event.preventDefault();
        busy(submit, problem, async () => {
          const made = await api.mutate(`mutation($input: CreatePipelineInput!) { createPipeline(input: $input) {
            ${ERRORS} ... on PipelineCreated { webhookSecret } } }`,
          { input: { name: name.value, gitUrl: git.value, repository: repository.value, branch: branch.value } }, "createPipeline");
          shown.hidden = false;
          replace(shown, t("pipelines.secret"), " ", h("code", {}, made.webhookSecret));
          await load();
        });
      } }, field("pipelines.name", name), field("pipelines.git", git), field("pipelines.repository", repository),
      field("pipelines.branch", branch), submit), shown);
  }

  const stops = [];
  if (buildId) {  // its log from the first line, as it is written; ends with the build
    stops.push(api.live.subscribe("subscription($id: ID!) { buildLog(id: $id) { time text } }", { id: buildId },
      (data) => {
        log.append(document.createTextNode(`${data.buildLog.text}\n`));
        log.scrollTop = log.scrollHeight;
      }, (error) => problem.show(error)));
  }
  stops.push(reloadOnEvents(load, problem, (event) => ["build", "pipeline"].includes(event.kind)));
  await load();
  return () => {
    stops.forEach((stop) => stop());
  };
}
