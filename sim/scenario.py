"""Load, override and validate scenarios; turn every problem into one clear :class:`ScenarioError`."""

from __future__ import annotations

import copy
import hashlib
import json
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any, Mapping

from pydantic import ValidationError

from .params import Scenario, _KeyError

DEFAULT_SCENARIO = "telecom"


class ScenarioError(ValueError):
    """A scenario could not be used. ``str()`` names the file, the key path and the reason."""

    def __init__(self, source: str, problems: list[tuple[str, str]]):
        self.source = source
        self.problems = problems
        lines = [f"{source}: {key}: {reason}" for key, reason in problems]
        super().__init__("\n".join(lines))


def shipped_scenarios() -> dict[str, Path]:
    """The scenarios packaged with ``sim``, by name (file stem)."""
    folder = resources.files("sim") / "scenarios"
    return {Path(p.name).stem: Path(str(p)) for p in folder.iterdir() if p.name.endswith(".toml")}


def resolve_path(spec: str | Path | None) -> Path:
    """A scenario path: an existing file, or the name of a shipped scenario (default: telecom)."""
    if spec is None:
        spec = DEFAULT_SCENARIO
    path = Path(spec)
    if path.is_file():
        return path
    shipped = shipped_scenarios()
    if str(spec) in shipped:
        return shipped[str(spec)]
    known = ", ".join(sorted(shipped))
    raise ScenarioError(str(spec), [("(file)", f"no such file, and not a shipped scenario ({known})")])


def _key_path(loc: tuple) -> str:
    """('measures', 2, 'firm') -> 'measures[2].firm'; pydantic's union tags are dropped."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in {"discount", "service", "contract", "nostalgia", "price_change", "fixed", "beta"} and out.endswith("]"):
            continue  # discriminated-union tag, not a key the user wrote
        elif part.startswith("function-") or part == "":
            continue
        else:
            out += ("." if out else "") + str(part)
    return out or "(top level)"


def _problems(err: ValidationError) -> list[tuple[str, str]]:
    problems = []
    for e in err.errors():
        cause = (e.get("ctx") or {}).get("error")
        if isinstance(cause, _KeyError):
            problems.append((_key_path(cause.loc), cause.reason))
            continue
        reason = e["msg"].removeprefix("Value error, ")
        if e["type"] == "extra_forbidden":
            reason = "unknown key"
        elif "input" in e and e["type"] not in {"missing"} and not isinstance(e["input"], (dict, list)):
            reason += f" (got {e['input']!r})"
        problems.append((_key_path(tuple(e["loc"])), reason))
    return problems


def _set_dotted(data: dict, dotted: str, value: Any) -> None:
    """Set ``data['a']['b'][0]['c']`` from ``'a.b.0.c'``, creating tables as needed."""
    parts = dotted.split(".")
    node: Any = data
    for part in parts[:-1]:
        if isinstance(node, list):
            node = node[int(part)]
        else:
            node = node.setdefault(part, {})
    if isinstance(node, list):
        node[int(parts[-1])] = value
    else:
        node[parts[-1]] = value


def validate(data: Mapping[str, Any], source: str = "<dict>", overrides: Mapping[str, Any] | None = None) -> Scenario:
    """Validate a scenario mapping (plus ``{'simulation.customers': 1000}``-style overrides)."""
    data = copy.deepcopy(dict(data))
    for dotted, value in (overrides or {}).items():
        try:
            _set_dotted(data, dotted, value)
        except (IndexError, ValueError, TypeError, AttributeError):
            raise ScenarioError(source, [(dotted, "cannot override: no such list entry or table")]) from None
    try:
        return Scenario.model_validate(data)
    except ValidationError as err:
        raise ScenarioError(source, _problems(err)) from None


def load(spec: str | Path | Mapping[str, Any] | Scenario | None = None, overrides: Mapping[str, Any] | None = None) -> Scenario:
    """Load a scenario from a file path, a shipped scenario's name, a dict or a Scenario.

    >>> sc = load("telecom", overrides={"simulation.customers": 500})
    >>> sc.simulation.customers
    500
    """
    if isinstance(spec, Scenario):
        return validate(spec.model_dump(), f"<scenario {spec.name}>", overrides)
    if isinstance(spec, Mapping):
        return validate(spec, "<dict>", overrides)
    path = resolve_path(spec)
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except tomllib.TOMLDecodeError as err:
        raise ScenarioError(str(path), [("(syntax)", f"not valid TOML: {err}")]) from None
    except OSError as err:
        raise ScenarioError(str(path), [("(file)", f"cannot read: {err.strerror}")]) from None
    return validate(data, str(path), overrides)


def scenario_hash(scenario: Scenario) -> str:
    """SHA-256 of the fully resolved scenario (every default filled in), canonical JSON."""
    text = json.dumps(scenario.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()
