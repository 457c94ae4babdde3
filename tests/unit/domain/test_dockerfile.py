"""What a Dockerfile takes from outside its context, as a build checks it."""

from __future__ import annotations

import pytest

from wharf.domain import dockerfile
from wharf.domain.errors import InvalidInput
from wharf.domain.pipeline import check_tag_pattern, image_tag


def test_base_images_and_copied_images_are_found_across_stages() -> None:
    read = dockerfile.read("""
# syntax=docker/dockerfile:1
ARG BASE=127.0.0.1:5000/acme/base
ARG VERSION="2"
FROM --platform=linux/amd64 ${BASE}:$VERSION AS build
RUN make \\
    all
FROM busybox:latest
COPY --from=build /out /out
COPY --from=0 /x /x
COPY --from=127.0.0.1:5000/rival/secret:1 /secret.txt /
COPY --chown=1:1 a b
FROM scratch
""")
    assert read.images == ["127.0.0.1:5000/acme/base:2", "busybox:latest",
                           "127.0.0.1:5000/rival/secret:1"]
    assert read.remote_sources == []


def test_add_from_a_url_is_seen_in_both_forms() -> None:
    read = dockerfile.read('FROM busybox\nADD http://127.0.0.1:8080/healthz /h\n'
                           'ADD ["https://example.com/a", "/a"]\nADD local.txt /l\n')
    assert read.remote_sources == ["http://127.0.0.1:8080/healthz", "https://example.com/a"]


@pytest.mark.parametrize("text", ["RUN echo no base", "FROM $UNKNOWN\n", "FROM\n",
                                  "ARG X\nFROM img:$X\n"])
def test_a_base_that_cannot_be_known_before_the_build_is_refused(text: str) -> None:
    with pytest.raises(dockerfile.DockerfileError):
        dockerfile.read(text)


def test_tag_patterns_must_make_tags() -> None:
    assert check_tag_pattern("{branch}-{short}") == "{branch}-{short}"
    assert image_tag("{branch}-{build}", "a" * 40, "feature/x", 7) == "feature-x-7"
    for bad in ("{bui{short}ld}", "{nope}", "-{short}", "{short}}", "a b"):
        with pytest.raises(InvalidInput):
            check_tag_pattern(bad)
