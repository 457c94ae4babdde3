// The dashboard: a hash router, the frame around each page, and the language switch.
// Each page is a module whose `render(main, params)` draws it and returns a function that
// stops what it started (its subscriptions and timers) when the reader leaves.

import * as api from "./api.js";
import { h, replace } from "./dom.js";
import * as i18n from "./i18n.js";
import { t } from "./i18n.js";

const PAGES = [
  [/^\/$/, () => import("./pages/overview.js")],
  [/^\/containers$/, () => import("./pages/containers.js")],
  [/^\/containers\/([0-9a-f-]{36})$/, () => import("./pages/container.js")],
  [/^\/services$/, () => import("./pages/services.js")],
  [/^\/services\/([0-9a-f-]{36})$/, () => import("./pages/service.js")],
  [/^\/bills$/, () => import("./pages/bills.js")],
  [/^\/applications$/, () => import("./pages/applications.js")],
  [/^\/applications\/([0-9a-f-]{36})$/, () => import("./pages/application.js")],
  [/^\/volumes$/, () => import("./pages/volumes.js")],
  [/^\/audit$/, () => import("./pages/audit.js")],
  [/^\/members$/, () => import("./pages/members.js")],
  [/^\/images$/, () => import("./pages/images.js")],
  [/^\/pipelines$/, () => import("./pages/pipelines.js")],
  [/^\/pipelines\/([0-9a-f-]{36})$/, () => import("./pages/pipelines.js")],
  [/^\/tenants$/, () => import("./pages/tenants.js")],
  [/^\/hosts$/, () => import("./pages/hosts.js")],
  [/^\/hosts\/([0-9a-f-]{36})$/, () => import("./pages/hosts.js")],
  [/^\/events$/, () => import("./pages/platform.js")],
];
const OPEN = [
  [/^\/sign-in$/, () => import("./pages/signin.js")],
  [/^\/invitation\/([0-9a-f]{32}_[A-Za-z0-9_-]+)$/, () => import("./pages/invitation.js")],
];

const root = document.getElementById("app");
let leave = () => {};

export function navigate(path) {
  if (location.hash === `#${path}`) show();
  else location.hash = path;
}

function path() {
  return decodeURIComponent(location.hash.replace(/^#/, "")) || "/";
}

let shown = 0;  // (the newest navigation: an older page that finishes late stops itself)

async function show() {
  const mine = ++shown;
  leave();
  leave = () => {};
  delete root.dataset.ready;
  const here = path();
  const open = OPEN.find(([pattern]) => pattern.test(here));
  if (!api.me() && !open) {
    navigate("/sign-in");
    return;
  }
  const found = open || PAGES.find(([pattern]) => pattern.test(here));
  const main = h("main", { id: "main" });
  replace(root, open ? null : frame(here), main);
  if (!found) {
    replace(main, h("h1", {}, t("page.missing")), h("a", { href: "#/" }, t("nav.overview")));
    return;
  }
  const params = here.match(found[0]).slice(1);
  const page = await found[1]();
  const stop = await page.render(main, params, { navigate });
  const stopping = typeof stop === "function" ? stop : () => {};
  if (mine !== shown) {  // (the reader went elsewhere while it loaded)
    stopping();
    return;
  }
  leave = stopping;
  // (drawn with its data: what the page-load benchmark, bench/dashboard.py, waits for)
  root.dataset.ready = here;
  window.wharfReady = performance.now();
}

function frame(here) {
  const who = api.me();
  const link = (to, key) => h("a", { href: `#${to}`, class: here === to ||
    (to !== "/" && here.startsWith(`${to}/`)) ? "active" : null, "data-nav": key }, t(`nav.${key}`));
  return h("header", { class: "frame" },
    h("a", { href: "#/", class: "brand" }, "Wharf"),
    h("nav", {}, who.operator
      ? [link("/", "overview"), link("/tenants", "tenants"), link("/hosts", "hosts"),
        link("/events", "events"), link("/bills", "revenue")]
      : [link("/", "overview"), link("/containers", "containers"), link("/services", "services"),
        link("/applications", "applications"), link("/volumes", "volumes"),
        link("/images", "images"), link("/pipelines", "pipelines"), link("/bills", "bills"),
        link("/audit", "audit"), link("/members", "members")]),
    h("span", { class: "who", "data-who": "" },
      who.operator ? t("frame.operator", { email: who.email })
        : t("frame.member", { email: who.email, tenant: who.tenant?.name ?? "", role: t(`role.${who.role}`) })),
    languageButton(),
    h("button", { type: "button", class: "quiet", "data-action": "sign-out", onclick: async () => {
      await api.signOut();
      navigate("/sign-in");
    } }, t("frame.signOut")));
}

export function languageButton() {
  return h("button", { type: "button", class: "quiet", "data-action": "language",
    title: t("frame.language"), onclick: async () => {
      await i18n.load(i18n.other());
      show();
    } }, t("frame.otherLanguage"));
}

window.addEventListener("hashchange", show);

(async () => {
  await i18n.load(i18n.chosen());
  await api.resume();
  show();
})();
