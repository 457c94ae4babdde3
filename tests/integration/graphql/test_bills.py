"""Bills over the API: a tenant's own bills summed by hour, day and month, one bill with
its lines, the open hour so far; another tenant's bill is null; an operator's totals sum
every tenant's."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import DrivenClock
from tests.integration.graphql.conftest import Api, new_tenant
from wharf.projections.reads import billing as billing_reads
from wharf.schedulers.billing import close_hours

BILLS = """query($period: String!, $from: String!, $to: String!, $tenant: String) {
  bills(period: $period, from: $from, to: $to, tenant: $tenant) {
    start hours total items { item amount } } }"""
BILL = """query($id: ID!) { bill(id: $id) { hour total
  lines { item plan planVersion quantity unit unitPrice amount sources } } }"""
USAGE = """{ currentUsage { item quantity unit amount } }"""
NOV1, NOV4 = "2026-11-01T00:00:00Z", "2026-11-04T00:00:00Z"


def test_a_tenant_reads_its_bills_by_period_and_no_one_elses(api: Api) -> None:
    clock = api.wiring.app.clock
    assert isinstance(clock, DrivenClock)  # (starts 2026-11-01 09:00 UTC)
    acme_id, acme = new_tenant(api, "acme", plan="s")  # 0.0806 an hour
    _, globex = new_tenant(api, "globex", plan="s")
    clock.advance(hours=50)  # to 2026-11-03 11:00
    # (the server's consumers run in their threads: wait for them, never fold beside them)
    closed = close_hours(api.wiring.app, api.wiring.view, clock.now(),
                         api.wiring.billing_caught_up)
    assert closed == 2 * 49  # 09:00 on the 1st to 10:00 on the 3rd (11:00 not yet over)
    api.wiring.billing_caught_up()

    def bills(period: str, token: str, **more: Any) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = api.gql(BILLS, {"period": period, "from": NOV1,
                                                      "to": NOV4, **more},
                                              token=token)["bills"]
        return found

    days = bills("day", acme)
    assert [(d["start"], d["hours"], d["total"]) for d in days] == [
        ("2026-11-01T00:00:00+00:00", 15, "1.2090"),
        ("2026-11-02T00:00:00+00:00", 24, "1.9344"),
        ("2026-11-03T00:00:00+00:00", 10, "0.8060")]
    assert days[0]["items"] == [{"item": "fee", "amount": "1.2090"}]
    assert [(m["hours"], m["total"]) for m in bills("month", acme)] == [(49, "3.9494")]
    hours = bills("hour", acme)
    assert len(hours) == 49 and {h["total"] for h in hours} == {"0.0806"}

    [first] = billing_reads.bills(api.wiring.view, acme_id, clock.now().replace(
        day=1, hour=9), clock.now().replace(day=1, hour=10))
    bill = api.gql(BILL, {"id": first.id}, token=acme)["bill"]
    assert bill["hour"] == "2026-11-01T09:00:00+00:00" and bill["total"] == "0.0806"
    [line] = bill["lines"]
    assert (line["item"], line["plan"], line["quantity"], line["unit"], line["amount"]) == (
        "fee", "s", "1", "hour", "0.0806")
    assert line["sources"]  # the tenant's registration, by log position
    assert api.gql(BILL, {"id": first.id}, token=globex)["bill"] is None  # not theirs

    # An operator names a tenant, or reads every tenant's totals.
    everyone = bills("month", api.operator_token)
    assert [(m["hours"], m["total"]) for m in everyone] == [(98, "7.8988")]
    assert bills("month", api.operator_token, tenant=acme_id)[0]["total"] == "3.9494"
    # A member cannot read another tenant's by naming it: their own it is.
    assert bills("month", globex, tenant=acme_id)[0]["total"] == "3.9494"

    clock.advance(minutes=15)  # 11:15: a quarter of the open hour
    usage = api.gql(USAGE, token=acme)["currentUsage"]
    assert usage == [{"item": "fee", "quantity": "0.25", "unit": "hour",
                      "amount": "0.0202"}]  # 0.02015, half up


def test_bad_bill_queries_are_refused_with_a_reason(api: Api) -> None:
    _, acme = new_tenant(api, "acme", plan="s")
    for variables, text in (
            ({"period": "week", "from": NOV1, "to": NOV4}, "period"),
            ({"period": "day", "from": NOV4, "to": NOV1}, "after from"),
            ({"period": "day", "from": "2020-01-01T00:00:00Z", "to": NOV4}, "400 days"),
            ({"period": "day", "from": "yesterday", "to": NOV4}, "ISO 8601")):
        status, answer = api.post(BILLS, variables, token=acme)
        assert status == 200 and text in answer["errors"][0]["message"], answer


def test_exports_over_http_give_a_member_its_own_and_an_operator_any(api: Api) -> None:
    import csv
    import io
    import json
    import urllib.error
    import urllib.request

    clock = api.wiring.app.clock
    assert isinstance(clock, DrivenClock)
    acme_id, acme = new_tenant(api, "acme", plan="s")
    globex_id, globex = new_tenant(api, "globex", plan="s")
    clock.advance(hours=3)
    close_hours(api.wiring.app, api.wiring.view, clock.now(), api.wiring.billing_caught_up)
    api.wiring.billing_caught_up()

    def get(path: str, token: str | None) -> tuple[int, str, str]:
        request = urllib.request.Request(f"{api.url}{path}")
        if token is not None:
            request.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, response.headers["Content-Type"], \
                    response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.headers["Content-Type"], error.read().decode()

    status, kind, body = get("/exports/bills?month=2026-11", acme)
    rows = list(csv.DictReader(io.StringIO(body)))
    assert (status, kind.split(";")[0]) == (200, "text/csv")
    assert len(rows) == 2 and {r["tenant_id"] for r in rows} == {acme_id}  # its own only
    # A member naming another tenant still gets its own; an operator gets any, or all.
    _, _, body = get(f"/exports/bills?month=2026-11&tenant={acme_id}", globex)
    assert {r["tenant_id"] for r in csv.DictReader(io.StringIO(body))} == {globex_id}
    _, _, body = get("/exports/bills?month=2026-11&format=json", api.operator_token)
    assert {r["tenant_id"] for r in json.loads(body)} == {acme_id, globex_id}
    status, _, body = get(f"/exports/audit?tenant={acme_id}", api.operator_token)
    trail = [json.loads(line) for line in body.splitlines()]
    assert status == 200 and trail[0]["type"] == "Tenant.Registered"
    assert {e["tenant_id"] for e in trail} == {acme_id}
    for path, token, code in (("/exports/bills?month=2026-11", None, 401),
                              ("/exports/bills?month=2026-11", "nope", 401),
                              ("/exports/bills?month=Nov", acme, 400),
                              ("/exports/bills?month=2026-11&format=xml", acme, 400),
                              ("/exports/audit?since=yesterday", acme, 400),
                              # (times and months no calendar holds were a 500)
                              ("/exports/audit?since=0001-01-01T00:00:00%2B14:00", acme, 400),
                              ("/exports/audit?until=9999-12-31T23:59:59-14:00", acme, 400),
                              ("/exports/bills?month=99999999999999999999999-01", acme, 400),
                              ("/exports/bills?month=%D9%A2%D9%A0%D9%A2%D9%A6-11", acme, 400),
                              ("/exports/audit", api.operator_token, 400),
                              (f"/exports/audit?tenant={acme_id}x", api.operator_token, 400),
                              ("/exports/secrets", acme, 404)):
        status, _, body = get(path, token)
        assert status == code and json.loads(body)["errors"][0]["message"], (path, body)


def test_a_caller_streams_at_most_two_exports_at_a_time(
    api: Api, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A token's rate limit counts requests, not their size: a third download while two
    still stream is a 429, and the turn comes back when one ends."""
    import threading
    import urllib.error
    import urllib.request

    from wharf.infra import exports

    _, acme = new_tenant(api, "acme")
    release = threading.Event()
    encode = exports.encode
    streams: list[str] = []

    def held(rows: Any, fields: Any, form: str) -> Any:
        streams.append(form)
        release.wait(30)  # (a download still streaming)
        yield from encode(rows, fields, form)

    monkeypatch.setattr(exports, "encode", held)

    def get() -> int:
        request = urllib.request.Request(f"{api.url}/exports/audit",
                                         headers={"Authorization": f"Bearer {acme}"})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                response.read()
                return int(response.status)
        except urllib.error.HTTPError as error:
            return int(error.code)

    codes: list[int] = []
    streaming = [threading.Thread(target=lambda: codes.append(get())) for _ in range(2)]
    for thread in streaming:
        thread.start()
    from tests.integration.helpers import wait_for
    wait_for("two downloads streaming", lambda: len(streams) == 2)
    assert get() == 429
    release.set()
    for thread in streaming:
        thread.join(30)
    assert codes == [200, 200] and get() == 200
