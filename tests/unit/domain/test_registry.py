"""Who may pull and push what, and what an image reference names."""

from __future__ import annotations

import pytest

from wharf.domain.errors import InvalidInput
from wharf.domain.registry import (
    Caller,
    ImageRef,
    check_repository,
    granted,
    is_ours,
    parse_image,
    parse_scopes,
    pull_grant,
    usable,
)
from wharf.domain.repository import Repository
from wharf.domain.tenant import Tenant

ALL = {"pull", "push", "delete"}
OWNER = Caller(tenant="acme", role="owner")
VIEWER = Caller(tenant="acme", role="viewer")
RIVAL = Caller(tenant="rival", role="owner")
OPERATOR = Caller(operator=True)
NOBODY = Caller()


@pytest.mark.parametrize(("caller", "name", "expected"), [
    (OWNER, "acme/web", ALL),
    (VIEWER, "acme/web", {"pull"}),
    (RIVAL, "acme/web", set()),
    (NOBODY, "acme/web", set()),
    (OPERATOR, "acme/web", {"pull"}),
    (OWNER, "library/base", {"pull"}),
    (NOBODY, "library/base", {"pull"}),
    (OPERATOR, "library/base", ALL),
    (OWNER, "acme", set()),  # no namespace: not a repository
    (OWNER, "acme/../rival/web", set()),
    (OWNER, "Acme/web", set()),
    (OWNER, "acme/web/" + "a" * 300, set()),
    (Caller(tenant="acme-co", role="developer"), "acme-co/api.v2", ALL),
    (Caller(tenant="acme", role="owner"), "acme-co/web", set()),  # a prefix is not a match
])
def test_each_caller_gets_only_its_own_namespace_and_public_pulls(
    caller: Caller, name: str, expected: set[str]
) -> None:
    assert granted(caller, name, set(ALL)) == expected
    assert granted(caller, name, {"pull"}) == expected & {"pull"}


def test_scopes_are_read_as_distribution_writes_them_and_junk_is_dropped() -> None:
    scopes = parse_scopes(["repository:acme/web:pull,push",
                           "repository:127.0.0.1:5000/x:pull",  # (a colon in the name)
                           "registry:catalog:*", "nonsense", "repository:acme/web:fly"])
    assert [(s.type, s.name, sorted(s.actions)) for s in scopes] == [
        ("repository", "acme/web", ["pull", "push"]),
        ("repository", "127.0.0.1:5000/x", ["pull"]),
        ("registry", "catalog", ["delete", "pull", "push"]),
        ("repository", "acme/web", []),
    ]
    assert len(parse_scopes(["repository:a/b:pull"] * 1000)) == 16  # bounded work


@pytest.mark.parametrize(("reference", "expected"), [
    ("busybox", ImageRef("", "busybox")),
    ("busybox:1", ImageRef("", "busybox", "1")),
    ("127.0.0.1:5000/acme/web:1", ImageRef("127.0.0.1:5000", "acme/web", "1")),
    ("localhost:5000/acme/web", ImageRef("localhost:5000", "acme/web")),
    ("127.0.0.1:5000/acme/web@sha256:" + "a" * 64,
     ImageRef("127.0.0.1:5000", "acme/web", "", "sha256:" + "a" * 64)),
    ("acme/web:2", ImageRef("", "acme/web", "2")),
    ("sha256:" + "b" * 64, ImageRef("", "", digest="sha256:" + "b" * 64)),
    ("0123456789ab", ImageRef("", "", digest="0123456789ab")),
])
def test_image_references_are_taken_apart_as_docker_does(
    reference: str, expected: ImageRef
) -> None:
    assert parse_image(reference) == expected


def test_a_host_pulls_only_public_images_and_the_tenants_own() -> None:
    acme = Tenant.id_for("acme")
    assert pull_grant("127.0.0.1:5000/acme/web:1", acme, "127.0.0.1:5000") == "acme/web"
    assert pull_grant("localhost:5000/library/base", acme, "127.0.0.1:5000") == "library/base"
    assert pull_grant("127.0.0.1:5000/rival/web:1", acme, "127.0.0.1:5000") is None
    assert pull_grant("127.0.0.1:5001/acme/web:1", acme, "127.0.0.1:5000") is None  # not ours
    assert pull_grant("busybox:latest", acme, "127.0.0.1:5000") is None
    assert pull_grant("127.0.0.1:5000/acme/web:1", acme, "") is None  # no registry
    assert is_ours("[::1]:5000", "127.0.0.1:5000") and not is_ours("example.com:5000",
                                                                   "127.0.0.1:5000")


def test_repository_names_are_checked() -> None:
    assert check_repository("acme/web") == "acme/web"
    for bad in ("web", "acme//web", "acme/Web", "acme/web/", "/acme", "a" * 201):
        with pytest.raises(InvalidInput):
            check_repository(bad)


def test_a_tag_pushed_twice_is_recorded_once_and_a_delete_takes_every_tag_of_the_image(
) -> None:
    repository = Repository(id=Repository.id_for("acme/web"), name="acme/web",
                            tenant_id=Tenant.id_for("acme"), description="", guide="",
                            actor="t", cause="c")
    one, two = "sha256:" + "1" * 64, "sha256:" + "2" * 64
    assert repository.record_push("1", one, 10, "t1")
    assert not repository.record_push("1", one, 10, "t2")
    assert repository.record_push("latest", one, 10, "t3")
    assert repository.record_push("2", two, 20, "t4")
    assert repository.sharing("latest") == ["1", "latest"]
    assert repository.remove_digest(one) == ["1", "latest"]
    assert sorted(repository.tags) == ["2"]
    assert repository.remove_digest(one) == []
    assert repository.remove_tags(["2", "nope"]) == ["2"] and repository.tags == {}


@pytest.mark.parametrize("reference", ["482465ecf08", "482465", "abc", "sha256:482465",
                                       "sha256:" + "c" * 64])
def test_any_prefix_of_an_image_id_is_an_id_and_never_usable(reference: str) -> None:
    assert parse_image(reference).by_id
    assert not usable(reference, Tenant.id_for("acme"), "acme", "127.0.0.1:5000",
                      lambda _: None)


def test_images_through_mirrors_are_usable_by_their_owners_only() -> None:
    acme = Tenant.id_for("acme")
    owners = {"127.0.0.1:6001": "", "127.0.0.1:6002": str(acme),
              "127.0.0.1:6003": str(Tenant.id_for("rival"))}
    for address, expected in (("127.0.0.1:6001", True), ("localhost:6002", True),
                              ("127.0.0.1:6003", False), ("127.0.0.1:6004", True)):
        assert usable(f"{address}/library/busybox:1", acme, "acme", "127.0.0.1:5000",
                      owners.get) is expected, address
    assert usable("busybox", acme, "acme", "127.0.0.1:5000", owners.get)
