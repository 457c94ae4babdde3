"""The dashboard in a real browser against a whole Wharf on a real Docker Engine: sign in,
create a container and watch it become running, read its logs as they are written,
scale a service and watch its replicas come up, switch to Chinese. Every state change
reaches the page through the GraphQL subscription: the page is never reloaded."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.integration.browser import screenshot, sign_in
from tests.integration.docker.conftest import Cloud
from tests.integration.graphql.test_web_session import (
    PASSWORD,
    operator_password,
    set_password,
)
from tests.integration.helpers import wait_for

LIVE = 60_000  # ms: how long a state may take to reach the page (an image pull at most)


def test_a_member_runs_a_container_and_scales_a_service_from_the_dashboard(
        cloud: Cloud, page: Page) -> None:
    _, owner = cloud.tenant("acme")
    set_password(cloud.api, owner, "owner@acme.io")
    sign_in(page, cloud.api.url, "owner@acme.io", PASSWORD, "acme")
    expect(page.locator("[data-who]")).to_contain_text("owner@acme.io · acme (owner)")
    expect(page.locator("[data-tile=running] .value")).to_have_text("0 / 0")
    screenshot(page, "overview")

    # A container, from the form, seen becoming running without a reload.
    page.get_by_role("link", name="Containers").click()
    page.get_by_text("New container").click()
    page.get_by_label("Name").fill("hello")
    page.get_by_label("Image").fill("busybox")
    page.get_by_label("Command").fill("sh -c 'echo wharf says $GREETING; "
                                      "while true; do echo tick; sleep 1; done'")
    page.get_by_label("Ports").fill("80")
    page.get_by_label("Environment (KEY=value a line)").fill("GREETING=hello")
    page.locator("[data-action=create]").click()
    page.wait_for_url("**/#/containers/*")
    page.evaluate("window.notReloaded = true")
    expect(page.locator("h1 .badge")).to_have_attribute("data-state", "running", timeout=LIVE)
    # Its logs: the first line, then lines as they are written.
    logs = page.locator("[data-logs]")
    expect(logs).to_contain_text("wharf says hello", timeout=LIVE)
    ticks = logs.inner_text().count("tick")
    wait_for("new lines on the page", lambda: logs.inner_text().count("tick") > ticks, 60)
    expect(page.locator("[data-section=events] tbody tr").first).to_be_visible()
    expect(page.locator("[data-fact=ports]")).to_contain_text(re.compile(
        r"127\.0\.0\.1:\d+ → 80/tcp"))
    screenshot(page, "container")

    page.get_by_role("link", name="Containers").click()
    row = page.locator("[data-container=hello]")
    expect(row.locator(".badge")).to_have_attribute("data-state", "running")
    screenshot(page, "containers")
    row.locator("[data-action=stop]").click()
    expect(row.locator(".badge")).to_have_attribute("data-state", "exited", timeout=LIVE)

    # A service scaled from 1 to 3: its running count follows, live.
    created = cloud.api.gql("""mutation { createService(input: {name: "web", image: "busybox",
        replicas: 1, command: ["sleep", "3600"]}) { ... on ServicePayload { service { id } } } }""",
                            token=owner)
    service_id = created["createService"]["service"]["id"]
    page.get_by_role("link", name="Services").click()
    web = page.locator("[data-service=web]")
    expect(web.locator("[data-running]")).to_have_attribute("data-running", "1", timeout=LIVE)
    web.locator("[data-scale=web]").fill("3")
    web.locator("[data-action=scale]").click()
    expect(web.locator("[data-running]")).to_have_attribute("data-running", "3", timeout=LIVE)
    expect(web.locator("[data-running]")).to_have_text("3 of 3")
    screenshot(page, "services")
    assert page.evaluate("window.notReloaded") is True  # (every change came live)
    page.goto(f"{cloud.api.url}/#/services/{service_id}")
    expect(page.locator("[data-section=replicas] tbody tr")).to_have_count(3)
    screenshot(page, "service")

    # Chinese, and back.
    page.locator("[data-action=language]").click()
    expect(page.locator("nav [data-nav=containers]")).to_have_text("容器")
    expect(page.locator("[data-section=versions] h2")).to_have_text("版本")
    screenshot(page, "service-zh")
    page.reload()  # (the choice is kept)
    expect(page.locator("nav [data-nav=services]")).to_have_text("服务")
    page.locator("[data-action=language]").click()
    expect(page.locator("nav [data-nav=services]")).to_have_text("Services")


def test_an_operator_sees_the_hosts_with_what_is_reserved_on_them(
        cloud: Cloud, page: Page) -> None:
    _, owner = cloud.tenant("acme")
    cloud.api.gql('mutation { createContainer(input: {name: "one", image: "busybox", '
                  'command: ["sleep", "3600"], cpuMillis: 300}) { __typename } }', token=owner)
    operator_password(cloud.api, "ops@wharf.io")
    sign_in(page, cloud.api.url, "ops@wharf.io", PASSWORD, "")
    page.get_by_role("link", name="Hosts").click()
    expect(page.locator("[data-runtime]")).to_have_text("Hosts")  # (the direct runtime)
    [host] = cloud.api.gql("{ hosts { name cpuMillis } }", token=cloud.api.operator_token)[
        "hosts"]
    row = page.locator(f"[data-host='{host['name']}']")
    expect(row).to_contain_text(f"300 / {host['cpuMillis']}")
    expect(row.locator(".badge")).to_have_attribute("data-state", "active")
    screenshot(page, "hosts")
    row.get_by_role("link", name=host["name"]).click()
    expect(page.locator("[data-section=metrics]")).to_be_visible()
