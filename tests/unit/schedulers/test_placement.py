"""Placement: filters with reasons, then spread or bin-pack."""

from __future__ import annotations

import random
from decimal import Decimal

from wharf.schedulers.placement import (
    HostRoom,
    Placer,
    Request,
    choose,
    rejection,
    room,
    summary,
)


def host(name: str, cpu: int = 2000, memory: int = 4096, reserved_cpu: int = 0,
         reserved_memory: int = 0, pool: str = "public", state: str = "active",
         overcommit: str = "1", answering: bool = True) -> HostRoom:
    return HostRoom(id=f"id-{name}", name=name, pool=pool, state=state, cpu_millis=cpu,
                    memory_mib=memory, overcommit=Decimal(overcommit),
                    reserved_cpu_millis=reserved_cpu, reserved_memory_mib=reserved_memory,
                    answering=answering)


def test_spread_takes_the_emptiest_and_binpack_the_fullest() -> None:
    hosts = [host("a", reserved_cpu=1500), host("b", reserved_cpu=500)]
    request = Request(tenant="acme", cpu_millis=250, memory_mib=128)
    assert choose(request, hosts, "spread")[0].name == "b"  # type: ignore[union-attr]
    assert choose(request, hosts, "binpack")[0].name == "a"  # type: ignore[union-attr]


def test_overcommit_multiplies_capacity() -> None:
    request = Request(tenant="acme", cpu_millis=1000, memory_mib=128)
    assert choose(request, [host("a", reserved_cpu=1500)])[0] is None
    assert choose(request, [host("a", reserved_cpu=1500, overcommit="2")])[0] is not None


def test_every_rejected_host_says_why() -> None:
    hosts = [host("full", reserved_cpu=2000), host("tight", reserved_memory=4000),
             host("drained", state="draining"), host("theirs", pool="globex")]
    request = Request(tenant="acme", cpu_millis=100, memory_mib=200)
    chosen, rejections = choose(request, hosts)
    assert chosen is None
    reasons = {name: r.text for name, r in rejections.items()}
    assert reasons["full"] == "needs 100m CPU, 0m free of 2000m x 1"
    assert reasons["tight"] == "needs 200 MiB memory, 96 MiB free of 4096 MiB x 1"
    assert reasons["drained"] == "host is draining"
    assert reasons["theirs"] == "host is dedicated to tenant globex"
    bound = Request(tenant="acme", cpu_millis=100, memory_mib=200, volume_host="id-near")
    chosen, rejections = choose(bound, [host("far"), host("near")])
    assert chosen is not None and chosen.name == "near"
    assert choose(bound, [host("far")])[1]["far"].text == (
        "the container's volume lives on another host")


def test_the_tenants_summary_names_no_host_and_no_other_tenants_figures() -> None:
    hosts = [host("full", reserved_cpu=2000), host("tight", reserved_memory=4000),
             host("drained", state="draining"), host("theirs", pool="globex"),
             host("lost", answering=False)]
    _, rejections = choose(Request(tenant="acme", cpu_millis=100, memory_mib=200), hosts)
    assert summary(rejections) == [
        "no host that may take it is available now",
        "no room for the 100m CPU it reserves",
        "no room for the 200 MiB memory it reserves",
    ]
    said = " ".join(summary(rejections))
    for secret in ("full", "tight", "theirs", "globex", "free", "2000", "4096", "96"):
        assert secret not in said


def test_a_tenants_dedicated_hosts_come_first_and_others_never() -> None:
    hosts = [host("public-empty"), host("mine", pool="acme", reserved_cpu=1000)]
    chosen, _ = choose(Request(tenant="acme", cpu_millis=100, memory_mib=64), hosts)
    assert chosen is not None and chosen.name == "mine"
    chosen, _ = choose(Request(tenant="globex", cpu_millis=100, memory_mib=64), hosts)
    assert chosen is not None and chosen.name == "public-empty"


def test_no_hosts_at_all_is_a_reason_too() -> None:
    chosen, rejections = choose(Request(tenant="acme", cpu_millis=1, memory_mib=6), [])
    assert chosen is None and rejections["*"].text == "no hosts are registered"


def test_a_host_port_held_there_sends_the_container_elsewhere() -> None:
    busy = HostRoom(**{**host("busy").__dict__, "ports": frozenset({20080})})
    request = Request(tenant="acme", cpu_millis=100, memory_mib=64, host_ports=(20080,))
    chosen, _ = choose(request, [busy, host("free")])
    assert chosen is not None and chosen.name == "free"
    assert choose(request, [busy])[1]["busy"].text == "host port 20080 is taken there"
    assert summary(choose(request, [busy])[1]) == ["host port 20080 it asks for is taken"]


def test_a_constraint_keeps_the_container_to_hosts_with_that_label() -> None:
    eu = HostRoom(**{**host("eu", reserved_cpu=1500).__dict__,
                     "labels": frozenset({"zone=eu", "disk=ssd"})})
    us = HostRoom(**{**host("us").__dict__, "labels": frozenset({"zone=us"})})
    request = Request(tenant="acme", cpu_millis=100, memory_mib=64,
                      constraints=frozenset({"zone=eu"}))
    chosen, _ = choose(request, [us, eu])
    assert chosen is not None and chosen.name == "eu"  # though "us" has more room
    nowhere = Request(tenant="acme", cpu_millis=100, memory_mib=64,
                      constraints=frozenset({"zone=eu", "gpu=yes"}))
    chosen, rejections = choose(nowhere, [us, eu])
    assert chosen is None
    assert rejections["eu"].text == "host lacks label gpu=yes"
    assert rejections["us"].text == "host lacks label gpu=yes, zone=eu"
    assert summary(rejections) == ["no host with label gpu=yes can take it",
                                   "no host with label gpu=yes, zone=eu can take it"]


def test_a_placer_books_each_placement_so_replicas_spread_and_binpack_fills() -> None:
    hosts = [host("a"), host("b"), host("c")]
    request = Request(tenant="acme", cpu_millis=500, memory_mib=256)
    for strategy, expected in (("spread", ["a", "b", "c", "a"]),
                               ("binpack", ["a", "a", "a", "a"])):
        placer = Placer(hosts, strategy)
        names = []
        for _ in range(4):
            chosen, _ = placer.choose(request)
            assert chosen is not None
            names.append(chosen.name)
            placer.take(chosen.id, request.cpu_millis, request.memory_mib)
        assert names == expected
    full = Placer(hosts, "binpack")
    for _ in range(12):
        chosen, _ = full.choose(request)
        assert chosen is not None
        full.take(chosen.id, request.cpu_millis, request.memory_mib)
    chosen, rejections = full.choose(request)
    assert chosen is None and set(rejections) == {"a", "b", "c"}


def naive(request: Request, hosts: list[HostRoom], strategy: str) -> HostRoom | None:
    """The rule spelled out: filter every host, then the best score, dedicated first."""
    fits = [h for h in hosts if rejection(h, request) is None]
    if not fits:
        return None
    sign = -1 if strategy == "spread" else 1
    return min(fits, key=lambda h: (h.pool != request.tenant, sign * room(h), h.id))


def test_the_indexed_walk_chooses_what_filtering_every_host_would() -> None:
    rng = random.Random(7)
    for _ in range(300):
        hosts = [HostRoom(id=f"id-{i}", name=f"h{i}", pool=rng.choice(["public", "acme", "x"]),
                          state=rng.choice(["active", "active", "active", "draining"]),
                          cpu_millis=rng.choice([1000, 2000, 4000]), memory_mib=4096,
                          overcommit=Decimal(rng.choice(["1", "1.5"])),
                          reserved_cpu_millis=rng.randrange(0, 4000),
                          reserved_memory_mib=rng.randrange(0, 4096),
                          answering=rng.random() > 0.1,
                          ports=frozenset(rng.sample([80, 443, 8080], rng.randrange(0, 3))),
                          labels=frozenset(rng.sample(["zone=eu", "ssd=yes"],
                                                      rng.randrange(0, 3))))
                 for i in range(rng.randrange(0, 12))]
        request = Request(tenant=rng.choice(["acme", "globex"]),
                          cpu_millis=rng.randrange(0, 2000), memory_mib=rng.randrange(0, 2048),
                          host_ports=tuple(rng.sample([80, 443], rng.randrange(0, 2))),
                          constraints=frozenset(rng.sample(["zone=eu"], rng.randrange(0, 2))),
                          avoid=rng.choice([None, "id-0"]))
        for strategy in ("spread", "binpack"):
            chosen, reasons = choose(request, hosts, strategy)
            assert chosen == naive(request, hosts, strategy)
            if chosen is None:
                assert set(reasons) == ({h.name for h in hosts} or {"*"})
