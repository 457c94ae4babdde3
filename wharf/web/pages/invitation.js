// An invitation link: the invited member chooses a password and is signed in.

import * as api from "../api.js";
import { h, replace } from "../dom.js";
import { t } from "../i18n.js";
import { busy, field, notice } from "../ui.js";

export function render(main, [code], { navigate }) {
  const problem = notice();
  const password = h("input", { name: "password", type: "password", autocomplete: "new-password", required: true, minlength: 10 });
  const submit = h("button", { type: "submit" }, t("invitation.submit"));
  replace(main, h("form", { class: "card sign-in", onsubmit: (event) => {
    event.preventDefault();
    busy(submit, problem, async () => {
      await api.acceptInvitation(code, password.value);
      navigate("/");
    });
  } }, h("h2", {}, t("invitation.title")), h("p", {}, t("invitation.explain")), problem,
  field("invitation.password", password), submit));
}
