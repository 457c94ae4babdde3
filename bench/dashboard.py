"""The dashboard's first load of each page, in Debian's Chromium driven by Playwright,
against `wharf up` in its own process, for a tenant of 1,000 containers (goal: each page
drawn with its data in under 1 s).

A first load is a new tab opening the page's address, signed in (the session's cookie),
until the page has drawn what its queries answered (`#app[data-ready]`): the HTML, the
scripts, the catalogue, `/session`, `me` and the page's own queries. The baseline, in
the same run, is the floor of any page: a new tab loading one static file from the same
Wharf (its load event); the API alone answering the page's main query is printed too.
"""

from __future__ import annotations

import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, BrowserContext, sync_playwright

from bench.api import Server
from bench.common import fill_containers

CONTAINERS = 1000
ROUNDS = 7
CHROMIUM = "/usr/bin/chromium"
PASSWORD = "a long bench password"
PAGES = {  # path: the page's main query (the baseline)
    "/": "{ me { tenant { counts { containers running services applications volumes } "
         "usage { containers } } } }",
    "/containers": "{ containers(first: 50) { edges { node { id name image desired observed "
                   "restarts failure createdAt serviceId } } pageInfo { hasNextPage } } }",
    "/containers/{id}": "query($id: ID!) { container(id: $id) { id name observed "
                        "events(first: 50) { edges { node { summary } } } } }",
    "/services": "{ services(first: 100) { edges { node { id name replicas running } } } }",
    "/bills": '{ bills(from: "2026-01-01T00:00:00Z", to: "2026-12-31T00:00:00Z", '
              'period: "day") { start total } }',
    "/applications": "{ applications(first: 100) { edges { node { id name } } } }",
    "/volumes": "{ volumes(first: 100) { edges { node { id name } } } }",
    "/audit": "{ auditLog(first: 100) { edges { node { position summary } } } }",
    "/images": "{ repositories(first: 100) { edges { node { id name } } } }",
    "/pipelines": "{ pipelines(first: 100) { edges { node { id name } } } }",
    "/members": "{ members { email role } }",
}
OPERATOR_PAGES = {  # the operators' pages, signed in as one
    "/": "{ tenants(first: 500) { edges { node { status } } } hosts { state } }",
    "/tenants": "{ tenants(first: 100) { edges { node { id name } } } }",
    "/hosts": "{ runtime hosts { id name } }",
    "/events": "{ logPosition }",
}


def run() -> list[str]:
    print(f"\n== dashboard: first load of each page, a tenant of {CONTAINERS:,} containers",
          flush=True)
    with tempfile.TemporaryDirectory() as directory:
        home = Path(directory)
        print("   filling the store...", flush=True)
        [tenant] = fill_containers(f"sqlite:///{home / 'wharf.db'}", 1, CONTAINERS,
                                   "stopped", "dash")
        server = Server(home)
        try:
            return _measure(server, tenant)
        finally:
            server.stop()


def _measure(server: Server, tenant: str) -> list[str]:
    conn = server.connect()
    server.post("""mutation($t: ID!, $p: String!) { setPassword(input: {email: "o@dash0.io",
        password: $p, tenant: $t}) { __typename } }""", server.token, conn,
                {"t": tenant, "p": PASSWORD})
    page = server.post(f'{{ containers(first: 1, tenant: "{tenant}") {{ edges {{ node '
                       '{ id } } } }', server.token, conn)
    container = page["data"]["containers"]["edges"][0]["node"]["id"]
    url = f"http://127.0.0.1:{server.port}"
    lines = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        context = _signed_in(browser, url, "o@dash0.io", "dash-0")
        token = _member_token(server, tenant, conn)
        floor = []
        for _ in range(ROUNDS):
            tab = context.new_page()
            tab.goto(f"{url}/i18n/en.json")
            floor.append(tab.evaluate(
                "performance.getEntriesByType('navigation')[0].loadEventEnd") / 1000)
            tab.close()
        floor_ms = statistics.median(floor) * 1000
        print(f"   a new tab loading one static file (the floor): median {floor_ms:.0f} ms",
              flush=True)
        pages = [(context, token, "", path, query) for path, query in PAGES.items()]
        subprocess.run([sys.executable, "-m", "wharf.infra.cli", "password", "ops@bench.io"],
                       input=PASSWORD + "\n", text=True, check=True, capture_output=True,
                       env={**os.environ, "WHARF_HOME": str(server.home)})
        operator = _signed_in(browser, url, "ops@bench.io", "")
        pages += [(operator, server.token, "operator ", path, query)
                  for path, query in OPERATOR_PAGES.items()]
        for context, token, who, path, query in pages:
            here = path.replace("{id}", container)
            loads = []
            for _ in range(ROUNDS):
                tab = context.new_page()
                tab.goto(f"{url}/#{here}")
                tab.wait_for_selector(f"#app[data-ready='{here}']", state="attached",
                                      timeout=30_000)
                loads.append(tab.evaluate("window.wharfReady") / 1000)
                tab.close()
            api = _api_times(server, token, query, container)
            page_ms, api_ms = statistics.median(loads) * 1000, statistics.median(api) * 1000
            name = who + (here if "{id}" not in path else "/containers/<id>")
            line = (f"dashboard {name}: first load median {page_ms:.0f} ms (max "
                    f"{max(loads) * 1000:.0f} ms; goal < 1000), {page_ms / floor_ms:.1f}x a "
                    f"static file's {floor_ms:.0f} ms; its main query alone {api_ms:.1f} ms")
            print("  ", line, flush=True)
            lines.append(line)
        browser.close()
    return lines


def _signed_in(browser: Browser, url: str, email: str, tenant: str) -> BrowserContext:
    """A browser context holding the session's cookie."""
    context = browser.new_context()
    signed = context.request.post(f"{url}/session", data=json.dumps({
        "email": email, "password": PASSWORD, "tenant": tenant}),
        headers={"Content-Type": "application/json", "Origin": url})
    assert signed.ok, signed.text()
    return context


def _member_token(server: Server, tenant: str, conn: http.client.HTTPConnection) -> str:
    answer = server.post("""mutation($t: ID!) { issueToken(input: {tenant: $t,
        member: "o@dash0.io", ttlHours: 1}) { ... on TokenIssued { token } } }""",
                         server.token, conn, {"t": tenant})
    token: str = answer["data"]["issueToken"]["token"]
    return token


def _api_times(server: Server, token: str, query: str, container: str) -> list[float]:
    conn = server.connect()
    variables: dict[str, Any] = {"id": container} if "$id" in query else {}
    times = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        answer = server.post(query, token, conn, variables)
        times.append(time.perf_counter() - started)
        assert "errors" not in answer, answer
    conn.close()
    return times


if __name__ == "__main__":
    run()
