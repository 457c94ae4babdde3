"""What a Dockerfile takes from outside its build context: the images its stages start
from (`FROM`) and copy out of (`COPY --from=<image>`), and the URLs `ADD` would fetch.
A build checks each of those before Docker sees the file (pure: no I/O).

Docker's classic builder would take a base image from the build host's cache without
asking any registry, and would fetch an `ADD` URL from the host's own network: on a
platform many tenants share, both are refused unless the tenant may use them.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field

MAX_STAGES = 50
_VARIABLE = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))")


class DockerfileError(ValueError):
    """What is wrong with a Dockerfile, in its author's terms."""


@dataclass
class Dockerfile:
    images: list[str] = field(default_factory=list)  # every image it takes from outside
    remote_sources: list[str] = field(default_factory=list)  # URLs `ADD` names


def _instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order, continuation lines joined, comments dropped."""
    found, pending = [], ""
    for raw in text.splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if pending and line.startswith("#"):
            continue  # (a comment inside a continued instruction)
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        whole, pending = (pending + line).strip(), ""
        if whole:
            word, _, rest = whole.partition(" ")
            found.append((word.upper(), rest.strip()))
    if pending.strip():
        word, _, rest = pending.strip().partition(" ")
        found.append((word.upper(), rest.strip()))
    return found


def _substitute(value: str, args: dict[str, str]) -> str:
    def one(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        if name not in args:
            raise DockerfileError(f"{value}: ${name} has no default before the first FROM "
                                  "(name base images in full, or give the ARG a default)")
        return args[name]

    return _VARIABLE.sub(one, value)


def read(text: str) -> Dockerfile:
    """The outside images and URLs of a Dockerfile; DockerfileError for one whose base
    images cannot be known before it is built."""
    result = Dockerfile()
    args: dict[str, str] = {}  # ARGs before the first FROM: what a FROM may use
    stages: list[str] = []
    for word, rest in _instructions(text):
        if word == "ARG" and not stages:
            name, eq, default = rest.partition("=")
            if eq:
                args[name.strip()] = default.strip().strip('"').strip("'")
        elif word == "FROM":
            parts = [p for p in rest.split() if not p.startswith("--")]
            if not parts:
                raise DockerfileError("FROM names no image")
            image = _substitute(parts[0], args)
            if image.lower() not in stages and image.lower() != "scratch":
                result.images.append(image)
            if len(parts) >= 3 and parts[1].lower() == "as":
                stages.append(parts[2].lower())
            else:
                stages.append(f"#{len(stages)}")
            if len(stages) > MAX_STAGES:
                raise DockerfileError(f"at most {MAX_STAGES} stages")
        elif word in ("COPY", "ADD"):
            try:
                words = shlex.split(rest) if not rest.startswith("[") else []
            except ValueError:
                words = rest.split()
            for option in (w for w in words if w.startswith("--from=")):
                source = option.removeprefix("--from=")
                if source.lower() not in stages and not source.isdigit():
                    result.images.append(source)
            if word == "ADD":
                listed = _json_list(rest) if rest.startswith("[") else [
                    w for w in words if not w.startswith("--")][:-1]
                result.remote_sources += [s for s in listed
                                          if re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://", s)
                                          or s.startswith("git@")]
    if not stages:
        raise DockerfileError("no FROM: a Dockerfile starts from an image")
    return result


def _json_list(rest: str) -> list[str]:
    import json

    try:
        value = json.loads(rest)
    except ValueError:
        return []
    return [str(v) for v in value[:-1]] if isinstance(value, list) else []
