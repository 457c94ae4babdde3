"""The dashboard in a real browser against a real Wharf API (no engine needed): the daily
bill, tenants' text shown as text, the API's errors in its own words, the sign-in page,
an invitation link, the pages' security headers, and the two catalogues."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.conftest import DrivenClock
from tests.integration.browser import screenshot, sign_in
from tests.integration.graphql.conftest import Api, _serve, new_tenant
from tests.integration.graphql.test_web_session import (
    PASSWORD,
    operator_password,
    set_password,
)
from tests.integration.helpers import wait_for
from wharf.infra.api import Limits
from wharf.infra.dashboard import FILES
from wharf.schedulers.billing import close_hours


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    """SQLite only: the pages read what every store answers alike (tested elsewhere)."""
    yield from _serve(f"sqlite:///{tmp_path / 'dashboard.db'}", tmp_path, dev=False,
                      limits=Limits(rate=1000.0, burst=1000))


def test_the_daily_bill_by_day_and_by_hour(api: Api, page: Page) -> None:
    clock = api.wiring.app.clock
    assert isinstance(clock, DrivenClock)  # (starts 2026-11-01 09:00 UTC)
    _, owner = new_tenant(api, "acme", plan="s")  # 0.0806 an hour
    set_password(api, owner, "owner@acme.io")
    clock.advance(hours=50)  # to 2026-11-03 11:00
    close_hours(api.wiring.app, api.wiring.view, clock.now(), api.wiring.billing_caught_up)
    api.wiring.billing_caught_up()
    page.clock.set_fixed_time(clock.now() + timedelta(minutes=30))  # (the browser's "now")

    sign_in(page, api.url, "owner@acme.io", PASSWORD, "acme")
    expect(page.locator("[data-tile=today] .value")).to_have_text("¥0.81")  # 10 closed hours
    expect(page.locator("[data-tile=month] .value")).to_have_text("¥3.95")
    screenshot(page, "overview-billed")
    page.get_by_role("link", name="Bills").click()
    rows = page.locator("[data-bill=day]")
    expect(rows).to_have_count(3)
    expect(rows.locator("[data-total]")).to_have_text(["¥0.81", "¥1.93", "¥1.21"])
    expect(page.locator("svg.chart rect.bar")).to_have_count(3)
    screenshot(page, "bills")
    page.locator("[data-period=hour]").click()
    # The last 48 whole hours begin at 11:00 on the 1st; the bills closed by now end with
    # the hour begun at 09:00 on the 3rd: 13 + 24 + 10 of them.
    expect(page.locator("[data-bill=hour]")).to_have_count(47)
    page.locator("[data-period=month]").click()
    expect(page.locator("[data-bill=month] [data-total]")).to_have_text(["¥3.95"])

    # The export downloads this month's bills with the session's cookie.
    with page.expect_download() as download:
        page.locator("[data-action=export]").click()
    saved = download.value.path()
    assert saved is not None and "0.0806" in saved.read_text(), saved.read_text()


def test_text_from_tenants_is_shown_never_run(api: Api, page: Page) -> None:
    _, owner = new_tenant(api, "acme")
    hostile = "<img/src=x/onerror=window.pwned=1>@acme.io"
    api.gql("mutation($e: String!) { addMember(input: {email: $e, role: \"developer\"}) "
            "{ __typename } }", {"e": hostile}, token=owner)
    set_password(api, owner, hostile)
    sign_in(page, api.url, hostile, PASSWORD, "acme")
    expect(page.locator("[data-who]")).to_contain_text(hostile.lower())
    assert page.locator("img").count() == 0 and page.evaluate("window.pwned") is None


def test_the_api_errors_show_in_its_own_words(api: Api, page: Page) -> None:
    _, owner = new_tenant(api, "acme")
    set_password(api, owner, "owner@acme.io")
    page.goto(api.url)
    page.get_by_label("E-mail").fill("owner@acme.io")
    page.get_by_label("Password").fill("not the password")
    page.get_by_label("Tenant").fill("acme")
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_role("alert")).to_have_text("wrong e-mail, password or tenant")
    screenshot(page, "sign-in")

    sign_in(page, api.url, "owner@acme.io", PASSWORD, "acme")
    page.get_by_role("link", name="Containers").click()
    page.get_by_text("New container").click()
    page.get_by_label("Name").fill("Bad_Name")
    page.get_by_label("Image").fill("busybox")
    page.locator("[data-action=create]").click()
    expect(page.get_by_role("alert")).to_contain_text(
        "name: 1-63 lower-case letters, digits or '-'")
    # Signed out, the pages ask to sign in again, and the old session is dead.
    page.locator("[data-action=sign-out]").click()
    page.wait_for_url("**/#/sign-in")
    page.goto(f"{api.url}/#/containers")
    page.wait_for_url("**/#/sign-in")


def test_an_owner_invites_a_member_who_sets_a_password_from_the_link(
        api: Api, page: Page, chromium: Browser) -> None:
    _, owner = new_tenant(api, "acme")
    set_password(api, owner, "owner@acme.io")
    sign_in(page, api.url, "owner@acme.io", PASSWORD, "acme")
    page.get_by_role("link", name="Members").click()
    page.get_by_text("Invite a member").click()
    page.get_by_label("E-mail").fill("dev@acme.io")
    page.locator("[data-action=invite]").click()
    link = page.locator("[data-invitation] code")
    expect(link).to_contain_text("/#/invitation/")
    expect(page.locator("[data-member='dev@acme.io'] [data-role]")).to_have_value("developer")
    screenshot(page, "members")

    invited = chromium.new_context().new_page()  # (the member, in a browser of their own)
    invited.goto(link.inner_text())
    invited.get_by_label("New password").fill("my own long password")
    invited.get_by_role("button", name="Set password and sign in").click()
    expect(invited.locator("[data-who]")).to_contain_text("dev@acme.io · acme (developer)")

    # The owner makes them a viewer, then removes them: their session dies with it.
    page.locator("[data-member='dev@acme.io'] [data-role]").select_option("viewer")
    wait_for("the new role", lambda: {"email": "dev@acme.io", "role": "viewer"} in api.gql(
        "{ members { email role } }", token=owner)["members"], 10)
    page.on("dialog", lambda dialog: dialog.accept())
    page.locator("[data-member='dev@acme.io'] [data-action=remove]").click()
    expect(page.locator("[data-member='dev@acme.io']")).to_have_count(0)
    invited.reload()
    invited.wait_for_url("**/#/sign-in")
    invited.context.close()


def test_the_dashboard_forbids_what_it_never_does(api: Api) -> None:
    with urllib.request.urlopen(api.url + "/", timeout=10) as response:
        policy = response.headers["Content-Security-Policy"]
        assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert b'<script type="module" src="/app.js">' in response.read()
    request = urllib.request.Request(api.url + "/app.js", method="POST", data=b"")
    try:
        urllib.request.urlopen(request, timeout=10)
        raise AssertionError("a POST to the dashboard's files was answered")
    except urllib.error.HTTPError as error:
        assert error.code == 405
    for path in ("/../wharf.db", "/%2e%2e/wharf.db", "/no-such-page"):
        try:
            urllib.request.urlopen(api.url + path, timeout=10)
            raise AssertionError(f"{path} was answered")
        except urllib.error.HTTPError as error:
            assert error.code == 404
            assert "frame-ancestors 'none'" in error.headers["Content-Security-Policy"]


def test_both_catalogues_hold_the_same_words() -> None:
    english = json.loads((FILES / "i18n" / "en.json").read_text())
    chinese = json.loads((FILES / "i18n" / "zh.json").read_text())
    assert set(english) == set(chinese)
    for key, text in english.items():  # (the same {placeholders} in both)
        assert sorted(_names(text)) == sorted(_names(chinese[key])), key
    used = set()
    for script in FILES.rglob("*.js"):
        used |= {word for word in _quoted(script.read_text()) if word in english}
    assert used, "no catalogue key found in the scripts"


def _names(text: str) -> list[str]:
    import re

    return re.findall(r"\{(\w+)\}", text)


def _quoted(source: str) -> set[str]:
    import re

    return set(re.findall(r"\"([a-zA-Z]+\.[a-zA-Z0-9]+)\"", source))


def test_an_operator_sees_tenants_revenue_and_the_platform_live(api: Api, page: Page) -> None:
    clock = api.wiring.app.clock
    assert isinstance(clock, DrivenClock)
    new_tenant(api, "acme", plan="s")
    new_tenant(api, "globex", plan="s")
    clock.advance(hours=50)
    close_hours(api.wiring.app, api.wiring.view, clock.now(), api.wiring.billing_caught_up)
    api.wiring.billing_caught_up()
    page.clock.set_fixed_time(clock.now() + timedelta(minutes=30))
    operator_password(api, "ops@wharf.io")
    sign_in(page, api.url, "ops@wharf.io", PASSWORD, "")
    expect(page.locator("[data-who]")).to_have_text("ops@wharf.io · operator")
    expect(page.locator("[data-tile=tenants] .value")).to_have_text("2")
    expect(page.locator("[data-tile=month] .value")).to_have_text("¥7.90")  # 2 x 49 h
    screenshot(page, "operator-overview")

    page.get_by_role("link", name="Revenue").click()
    expect(page.locator("[data-bill=day] [data-total]")).to_have_text(
        ["¥1.61", "¥3.87", "¥2.42"])

    page.get_by_role("link", name="Tenants").click()
    acme = page.locator("[data-tenant=acme]")
    acme.locator("[data-plan=acme]").select_option("m")
    # (drawn again once the change is made: the tenant's plan is shown with its version)
    expect(acme.locator("[data-plan=acme] option:checked")).to_have_text("m v1")
    assert api.gql('{ tenants { edges { node { name plan } } } }', token=api.operator_token)[
        "tenants"]["edges"][0]["node"] == {"name": "acme", "plan": "m"}
    acme.locator("[data-action=suspendTenant]").click()
    expect(acme.locator(".badge")).to_have_attribute("data-state", "suspended")
    screenshot(page, "tenants")

    page.get_by_role("link", name="Events").click()
    expect(page.locator("[data-stream]")).to_be_visible()
    page.locator("#app[data-ready='/events']").wait_for(state="attached")
    new_tenant(api, "initech")  # (another operator's action, seen live)
    expect(page.locator("[data-stream] tbody")).to_contain_text("initech")
    screenshot(page, "platform-events")


COMPOSE = """services:
  web:
    image: busybox
    command: ["httpd", "-f", "-p", "80"]
    ports: ["80"]
  worker:
    image: busybox
    command: ["sleep", "3600"]
"""


def test_every_tenant_page_draws_what_the_api_holds(api: Api, page: Page) -> None:
    _, owner = new_tenant(api, "acme", plan="unlimited")
    set_password(api, owner, "owner@acme.io")
    api.gql('mutation { createVolume(input: {name: "data", sizeGib: 2}) { __typename } }',
            token=owner)
    sign_in(page, api.url, "owner@acme.io", PASSWORD, "acme")

    # A Compose file deployed from the form: its page lists both services.
    page.get_by_role("link", name="Applications").click()
    page.get_by_text("Deploy a Compose file").click()
    page.get_by_label("Name").fill("shop")
    page.get_by_label("Compose file").fill(COMPOSE)
    page.locator("[data-action=deploy]").click()
    page.wait_for_url("**/#/applications/*")
    expect(page.locator("[data-section=services] [data-service]")).to_have_count(2)
    page.get_by_text("Bind a domain").click()
    page.get_by_label("Domain").fill("shop.example.com")
    page.locator("[data-action=bind]").click()
    expect(page.locator("[data-domain='shop.example.com']")).to_be_visible()
    screenshot(page, "application")
    page.get_by_role("link", name="Applications").click()
    expect(page.locator("[data-application=shop]")).to_contain_text("shop.example.com")

    page.get_by_role("link", name="Volumes").click()
    expect(page.locator("[data-volume=data]")).to_contain_text("2 GiB")
    screenshot(page, "volumes")

    page.get_by_role("link", name="Audit").click()
    trail = page.locator("[data-audit] tbody")
    expect(trail).to_contain_text("shop.example.com")
    expect(trail).to_contain_text("volume data created, 2 GiB")
    screenshot(page, "audit")
    with page.expect_download() as download:
        page.locator("[data-action=export]").click()
    saved = download.value.path()
    assert saved is not None and "shop.example.com" in saved.read_text()

    page.get_by_role("link", name="Images").click()
    page.locator("#app[data-ready='/images']").wait_for(state="attached")
    page.get_by_role("link", name="Builds").click()
    page.locator("#app[data-ready='/pipelines']").wait_for(state="attached")


def test_a_service_viewed_as_of_before_it_was_scaled(api: Api, page: Page) -> None:
    clock = api.wiring.app.clock
    assert isinstance(clock, DrivenClock)
    _, owner = new_tenant(api, "acme", plan="unlimited")
    set_password(api, owner, "owner@acme.io")
    made = api.gql('mutation { createService(input: {name: "web", image: "busybox", '
                   'replicas: 2}) { ... on ServicePayload { service { id } } } }', token=owner)
    service = made["createService"]["service"]["id"]
    before = clock.now() + timedelta(minutes=1)
    clock.advance(minutes=2)
    api.gql(f'mutation {{ scaleService(input: {{id: "{service}", replicas: 5}}) '
            '{ __typename } }', token=owner)
    sign_in(page, api.url, "owner@acme.io", PASSWORD, "acme")
    page.goto(f"{api.url}/#/services/{service}")
    expect(page.locator("[data-fact=replicas]")).to_have_text("5")
    page.locator("[data-as-of]").fill(before.strftime("%Y-%m-%dT%H:%M:%S"))
    replicas = page.locator("[data-fact=replicas]")
    expect(replicas).to_have_class("changed")
    expect(replicas).to_contain_text("2")
    expect(replicas.locator(".was")).to_have_text("now: 5")
    expect(page.locator("[data-fact=image]")).not_to_have_class("changed")
    screenshot(page, "service-as-of")
    page.locator("[data-as-of] ~ button, .as-of button").first.click()  # (back to now)
    page.locator(".head [data-action=stop]").click()
    expect(page.locator("h1 .badge")).to_have_attribute("data-state", "stopped")


def test_a_new_version_from_the_page_keeps_what_the_form_does_not_show(
        api: Api, page: Page) -> None:
    _, owner = new_tenant(api, "acme", plan="unlimited")
    set_password(api, owner, "owner@acme.io")
    made = api.gql("""mutation { createService(input: {name: "web", image: "busybox",
        replicas: 1, env: [{name: "MODE", value: "a b"}], cpuMillis: 300,
        ports: [{containerPort: 80, loadBalanced: true}],
        healthCheck: {test: ["CMD", "true"], retries: 5}}) {
        ... on ServicePayload { service { id } } } }""", token=owner)
    service = made["createService"]["service"]["id"]
    sign_in(page, api.url, "owner@acme.io", PASSWORD, "acme")
    page.goto(f"{api.url}/#/services/{service}")
    page.get_by_text("A new version").click()
    page.get_by_label("Image").fill("busybox:1")
    page.locator("[data-action=update]").click()
    expect(page.locator("[data-fact=version]")).to_have_text("v2")
    expect(page.locator("[data-version='1'] [data-action=rollback]")).to_be_visible()
    found = api.gql(f'{{ service(id: "{service}") {{ image version cpuMillis spec '
                    'endpoints { containerPort } } }', token=owner)["service"]
    assert (found["image"], found["version"], found["cpuMillis"]) == ("busybox:1", 2, 300)
    assert found["spec"]["env"] == {"MODE": "a b"}
    assert found["spec"]["health_check"]["retries"] == 5
    assert found["endpoints"] == [{"containerPort": 80}]
    screenshot(page, "service-new-version")
