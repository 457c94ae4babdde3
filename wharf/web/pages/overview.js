// The tenant's overview: what runs, what it costs today and this month, and how much of
// its plan it uses.

import * as api from "../api.js";
import { h, replace } from "../dom.js";
import { t } from "../i18n.js";
import { money, notice } from "../ui.js";
import { openHour, periodHolding } from "./bills.js";

const QUERY = `query($from: String!, $monthFrom: String!, $to: String!) {
  me { tenant { id name plan planVersion status
    usage { containers cpuMillis memoryMib volumeGib }
    counts { containers running services applications volumes } } }
  plans { name version limits { containers cpuMillis memoryMib volumeGib }
    feePerHour { amount currency } }
  days: bills(from: $from, to: $to, period: "day") { start total }
  months: bills(from: $monthFrom, to: $to, period: "month") { start total }
  currentUsage { amount }
}`;

export async function render(main) {
  const problem = notice();
  replace(main, h("h1", {}, t("nav.overview")), problem);
  const now = new Date();
  if (api.me().operator) {
    await platform(main, problem, now);
    return;
  }
  const ago = (days) => new Date(now - days * 86400e3).toISOString();
  let data;
  try {
    data = await api.gql(QUERY, { from: ago(2), monthFrom: ago(32),
      to: new Date(+now + 3600e3).toISOString() });
  } catch (error) {
    problem.show(error);
    return;
  }
  const tenant = data.me.tenant;
  const plan = data.plans.find((p) => p.name === tenant.plan) || { limits: {} };
  const open = openHour(data.currentUsage);
  const today = Number(periodHolding(data.days, now, "day")?.total || 0) + open;
  const month = Number(periodHolding(data.months, now, "month")?.total || 0) + open;
  const c = tenant.counts;
  const tile = (key, value, test) => h("div", { class: "tile", "data-tile": test },
    h("span", { class: "value" }, value), h("span", { class: "label" }, t(key)));
  main.append(
    h("section", { class: "tiles" },
      tile("overview.running", `${c.running} / ${c.containers}`, "running"),
      tile("overview.services", c.services, "services"),
      tile("overview.applications", c.applications, "applications"),
      tile("overview.volumes", c.volumes, "volumes"),
      tile("overview.today", money(today), "today"),
      tile("overview.month", money(month), "month")),
    h("section", { class: "card" },
      h("h2", {}, t("overview.plan", { plan: tenant.plan, version: tenant.planVersion })),
      meter("overview.containers", tenant.usage.containers, plan.limits.containers, ""),
      meter("overview.cpu", tenant.usage.cpuMillis, plan.limits.cpuMillis, "m"),
      meter("overview.memory", tenant.usage.memoryMib, plan.limits.memoryMib, " MiB"),
      meter("overview.disk", tenant.usage.volumeGib, plan.limits.volumeGib, " GiB")));
}

function meter(key, used, limit, unit) {
  const share = limit ? Math.min(used / limit, 1) : 0;
  return h("div", { class: "meter", "data-meter": key },
    h("span", {}, t(key)),
    h("progress", { max: 1, value: share }),
    h("span", {}, limit == null ? t("overview.unlimited", { used: `${used}${unit}` })
      : `${used}${unit} / ${limit}${unit}`));
}

const PLATFORM = `query($from: String!, $monthFrom: String!, $to: String!) {
  tenants(first: 500) { edges { node { status } } }
  hosts { state cpuMillis reservedCpuMillis memoryMib reservedMemoryMib containers }
  days: bills(from: $from, to: $to, period: "day") { start total }
  months: bills(from: $monthFrom, to: $to, period: "month") { start total }
}`;

// Operators: the whole cloud at a glance.
async function platform(main, problem, now) {
  let data;
  try {
    data = await api.gql(PLATFORM, { from: new Date(now - 2 * 86400e3).toISOString(),
      monthFrom: new Date(now - 32 * 86400e3).toISOString(), to: new Date(+now + 3600e3).toISOString() });
  } catch (error) {
    problem.show(error);
    return;
  }
  const tenants = data.tenants.edges.map((e) => e.node);
  const sum = (key) => data.hosts.reduce((total, host) => total + host[key], 0);
  const tile = (key, value, test) => h("div", { class: "tile", "data-tile": test },
    h("span", { class: "value" }, value), h("span", { class: "label" }, t(key)));
  main.append(h("section", { class: "tiles" },
    tile("platform.tenants", tenants.filter((x) => x.status === "active").length, "tenants"),
    tile("platform.hosts", data.hosts.filter((x) => x.state === "active").length, "hosts"),
    tile("platform.containers", sum("containers"), "containers"),
    tile("platform.cpu", `${sum("reservedCpuMillis")}m / ${sum("cpuMillis")}m`, "cpu"),
    tile("platform.revenueToday", money(periodHolding(data.days, now, "day")?.total), "today"),
    tile("platform.revenueMonth", money(periodHolding(data.months, now, "month")?.total), "month")));
}
