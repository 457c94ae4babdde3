// Sign in: an e-mail, a password and the tenant's name (none for an operator), or an
// API token.

import * as api from "../api.js";
import { languageButton } from "../app.js";
import { h, replace } from "../dom.js";
import { t } from "../i18n.js";
import { busy, field, notice } from "../ui.js";

export function render(main, _params, { navigate }) {
  const problem = notice();
  const email = h("input", { name: "email", inputmode: "email", autocomplete: "username", required: true });
  const password = h("input", { name: "password", type: "password", autocomplete: "current-password", required: true });
  const tenant = h("input", { name: "tenant", autocomplete: "organization", placeholder: t("signIn.tenantHint") });
  const submit = h("button", { type: "submit" }, t("signIn.submit"));
  const token = h("input", { name: "token", type: "password", autocomplete: "off" });
  const useToken = h("button", { type: "submit" }, t("signIn.withToken"));

  const form = h("form", { class: "card", onsubmit: (event) => {
    event.preventDefault();
    busy(submit, problem, async () => {
      await api.signIn(email.value, password.value, tenant.value);
      navigate("/");
    });
  } }, h("h2", {}, t("signIn.title")), field("signIn.email", email),
  field("signIn.password", password), field("signIn.tenant", tenant), submit);

  const withToken = h("form", { class: "card", onsubmit: (event) => {
    event.preventDefault();
    busy(useToken, problem, async () => {
      await api.signInWithToken(token.value);
      navigate("/");
    });
  } }, h("h2", {}, t("signIn.tokenTitle")), field("signIn.token", token), useToken);

  replace(main, h("div", { class: "sign-in" },
    h("header", { class: "frame" }, h("span", { class: "brand" }, "Wharf"), languageButton()),
    problem, form, withToken));
  email.focus();
}
