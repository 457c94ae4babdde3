// The tenant's members and roles (owners change them): invite one (a link to send them),
// change a role, set a password, remove.

import * as api from "../api.js";
import { ERRORS } from "../api.js";
import { h, replace } from "../dom.js";
import { t } from "../i18n.js";
import { busy, field, notice, table, time } from "../ui.js";

const ROLES = ["owner", "developer", "viewer"];

export async function render(main, _params, { navigate }) {
  const problem = notice();
  const list = h("div", {});
  const owner = api.me().role === "owner";
  replace(main, h("h1", {}, t("nav.members")), owner ? inviteForm() : null, problem, list);

  async function load() {
    try {
      const members = (await api.gql("{ members { email role since } }")).members;
      replace(list, table([
        ["members.email", (m) => m.email],
        ["members.role", (m) => owner ? roleSelect(m) : t(`role.${m.role}`)],
        ["members.since", (m) => time(m.since)],
        ["containers.actions", (m) => owner ? h("span", { class: "actions" }, passwordButton(m), removeButton(m)) : ""],
      ], members, { rowAttrs: (m) => ({ "data-member": m.email }) }));
    } catch (error) {
      problem.show(error);
    }
  }

  async function run(button, mutation, input) {
    await busy(button, problem, async () => {
      await api.mutate(`mutation($input: ${mutation[0].toUpperCase()}${mutation.slice(1)}Input!) {
        ${mutation}(input: $input) { ${ERRORS} } }`, { input }, mutation);
      await load();
    });
  }

  function roleSelect(m) {
    const select = h("select", { "data-role": m.email, onchange: () => run(select, "changeRole", { email: m.email, role: select.value }) },
      ROLES.map((role) => h("option", { value: role, selected: role === m.role }, t(`role.${role}`))));
    return select;
  }

  function removeButton(m) {
    const button = h("button", { type: "button", class: "danger", "data-action": "remove", onclick: () => {
      if (confirm(t("members.confirmRemove", { email: m.email }))) run(button, "removeMember", { email: m.email });
    } }, t("members.remove"));
    return button;
  }

  function passwordButton(m) {
    const button = h("button", { type: "button", class: "quiet", "data-action": "password", onclick: () => {
      const password = prompt(t("members.newPassword", { email: m.email }));
      if (!password) return;
      run(button, "setPassword", { email: m.email, password }).then(async () => {
        if (m.email !== api.me().email || !problem.hidden) return;
        await api.signOut();  // (one's own new password ends this session: sign in again)
        navigate("/sign-in");
      });
    } }, t("members.setPassword"));
    return button;
  }

  function inviteForm() {
    const email = h("input", { name: "email", inputmode: "email", required: true });
    const role = h("select", { name: "role" }, ROLES.map((r) => h("option", { value: r, selected: r === "developer" }, t(`role.${r}`))));
    const shown = h("p", { class: "token", hidden: true, "data-invitation": "" });
    const submit = h("button", { type: "submit", "data-action": "invite" }, t("members.invite"));
    return h("details", { class: "card" }, h("summary", {}, t("members.inviteTitle")),
      h("form", { onsubmit: (event) => {
        event.preventDefault();
        busy(submit, problem, async () => {
          const sent = await api.mutate(`mutation($input: InviteMemberInput!) { inviteMember(input: $input) {
            ${ERRORS} ... on InvitationSent { link } } }`, { input: { email: email.value, role: role.value } }, "inviteMember");
          shown.hidden = false;
          replace(shown, t("members.sendLink"), " ", h("code", {}, `${location.origin}${sent.link}`));
          email.value = "";
          await load();
        });
      } }, field("members.email", email), field("members.role", role), submit), shown);
  }

  await load();
}
