"""requirements*.txt and constraints.txt: the install is pinned all the way down, so that a fresh
machine gets the packages (and the features, copies and figures) that the pinned outputs were made with."""

from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
REQUIREMENTS = ("requirements.txt", "requirements-dask.txt")


def pins(name: str) -> dict[str, str]:
    """{canonical package name: version} of a requirements file, every line of which must pin with ==."""
    result = {}
    for line in (ROOT / name).read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            requirement = Requirement(line)
            specifiers = list(requirement.specifier)
            assert len(specifiers) == 1 and specifiers[0].operator == "==", f"{name}: {line!r} is not pinned with =="
            result[canonicalize_name(requirement.name)] = specifiers[0].version
    return result


def pulled_in(packages) -> set[str]:
    """The installed packages and everything they require (their extras left out), by canonical name."""
    todo, seen = list(packages), set()
    while todo:
        package = todo.pop()
        if package in seen:
            continue
        seen.add(package)
        for line in metadata.requires(package) or []:
            requirement = Requirement(line)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                todo.append(canonicalize_name(requirement.name))
    return seen


def test_the_requirements_pin_what_the_constraints_pin():
    constraints = pins("constraints.txt")
    for name in REQUIREMENTS:
        for package, version in pins(name).items():
            assert constraints.get(package) == version, (
                f"{name} pins {package}=={version} but constraints.txt has {constraints.get(package)}")


def test_every_package_the_requirements_pull_in_is_constrained_and_installed_at_that_version():
    constraints = pins("constraints.txt")
    needed = pulled_in(package for name in REQUIREMENTS for package in pins(name))
    missing = sorted(needed - set(constraints))
    assert not missing, f"constraints.txt lacks {missing}: regenerate it (see its header)"
    drifted = {package: metadata.version(package) for package in needed
               if metadata.version(package) != constraints[package]}
    assert not drifted, f"installed {drifted} differ from constraints.txt: reinstall with make (rm -r .venv)"
