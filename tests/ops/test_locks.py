"""The lock files pin, with hashes, every dependency pyproject.toml declares, and make and the image use them."""

from __future__ import annotations

import re
import tomllib

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from ops.clirun import ROOT

LOCKS = ROOT / "requirements"
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)")


def pins(lock: str) -> dict[str, str]:
    """Package -> pinned version; asserts each pin carries at least one sha256 hash."""
    found: dict[str, str] = {}
    entries = re.split(r"\n(?=[A-Za-z0-9])", (LOCKS / lock).read_text())
    for entry in entries:
        match = PIN.match(entry)
        if match is None:
            continue
        assert "--hash=sha256:" in entry, f"{lock}: {match.group(1)} has no hash"
        found[canonicalize_name(match.group(1))] = match.group(2)
    return found


def declared(*extras: str) -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return [Requirement(r) for r in [*project["dependencies"],
                                     *(d for extra in extras for d in project["optional-dependencies"][extra])]]


@pytest.mark.parametrize(("lock", "extras"), [("runtime.lock", ("postgres",)), ("test.lock", ("postgres", "test")),
                                              ("bench.lock", ("postgres", "test", "bench"))])
def test_each_declared_dependency_is_pinned_within_its_bounds(lock: str, extras: tuple[str, ...]) -> None:
    pinned = pins(lock)
    for requirement in declared(*extras):
        name = canonicalize_name(requirement.name)
        assert name in pinned, f"{lock} lacks {name}: run make lock"
        assert requirement.specifier.contains(pinned[name], prereleases=True), \
            f"{lock} pins {name}=={pinned[name]} outside {requirement}: run make lock"
    for tool in ("setuptools", "wheel"):  # the build backend, for the install without build isolation
        assert tool in pinned


def test_the_locks_agree_and_make_and_the_image_install_from_them() -> None:
    runtime, test, bench = pins("runtime.lock"), pins("test.lock"), pins("bench.lock")
    assert {k: test[k] for k in runtime} == runtime
    assert {k: bench[k] for k in test} == test
    makefile = (ROOT / "Makefile").read_text()
    assert "--require-hashes" in makefile and "--no-deps --no-build-isolation -e ." in makefile
    assert re.search(r"^run: \$\(RUN_STAMP\)", makefile, re.M)
    assert re.search(r"^\$\(RUN_STAMP\):.*\$\(RUN_LOCK\)", makefile, re.M)
    assert re.search(r"pip-audit --disable-pip -r \$\(RUN_LOCK\)", makefile)
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "pip install --require-hashes -r /src/requirements/runtime.lock" in dockerfile
    assert "--no-deps --no-build-isolation /src" in dockerfile
    base = re.search(r"^ARG PYTHON_IMAGE=(\S+)", dockerfile, re.M)
    assert base and re.fullmatch(r"python:3\.11\.\d+-slim-\w+(@sha256:[0-9a-f]{64})?", base.group(1))
