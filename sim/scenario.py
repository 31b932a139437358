"""Load, override and validate scenarios; turn every problem into one clear :class:`ScenarioError`."""

from __future__ import annotations

import ast
import copy
import difflib
import hashlib
import json
import math
import re
import tomllib
import types
import typing
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from .params import Scenario, _KeyError, dotted_sets

DEFAULT_SCENARIO = "telecom"
MINIMAL_SCENARIO = 'name = "my-scenario"'
TOO_DEEP = "is nested too deeply (tables or lists inside one another, hundreds of levels)"


class ScenarioError(ValueError):
    """A scenario could not be used. ``str()`` names the file, the key path and the reason.

    ``problems`` is a list of ``(key, reason)``; ``items`` adds where each came from (the file, or
    the override that caused it, e.g. ``--set firms.0.price``). A key of ``None`` means the whole file.
    """

    def __init__(self, source: str, problems: list[tuple]):
        self.source = source
        self.items: list[tuple[str, str | None, str]] = [tuple(p) if len(p) == 3 else (source, *p) for p in problems]
        self.problems = [(key, reason) for _, key, reason in self.items]
        super().__init__("\n".join(_line(*item) for item in self.items))

    def one_line(self, limit: int = 3) -> str:
        """All problems on one line (the first ``limit`` of them), for the command line."""
        parts, last = [], None
        for src, key, reason in self.items[:limit]:
            text = reason if key is None else f"{key}: {reason}"
            parts.append(text if src == last else f"{src}: {text}")
            last = src
        more = len(self.items) - limit
        return "; ".join(parts) + (f"; and {more} more problem{'s' if more > 1 else ''}" if more > 0 else "")


def _line(source: str, key: str | None, reason: str) -> str:
    return f"{source}: {reason}" if key is None else f"{source}: {key}: {reason}"


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
    if path.is_dir():
        raise ScenarioError(str(spec), [(None, "is a folder, not a scenario file (a scenario is a .toml file)")])
    shipped = shipped_scenarios()
    if str(spec) in shipped:
        return shipped[str(spec)]
    known = ", ".join(sorted(shipped))
    if path.exists():
        raise ScenarioError(str(spec), [(None, "is not a regular file; a scenario is a .toml file")])
    raise ScenarioError(str(spec), [(None, f"no such file, and not a shipped scenario ({known})")])


# --- key paths and messages ----------------------------------------------------------------------

def _unwrap(tp: Any) -> Any:
    """Strip Annotated[...] and Optional[...] from a type."""
    while True:
        origin = typing.get_origin(tp)
        if origin is typing.Annotated:
            tp = typing.get_args(tp)[0]
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(tp) if a is not type(None)]
            if len(args) == 1:
                tp = args[0]
            else:
                return tp
        else:
            return tp


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def _tag_member(tp: Any, part: str) -> Any:
    """The member of a discriminated union whose tag is ``part`` (None if ``part`` is not a tag)."""
    for member in typing.get_args(tp):
        member = _unwrap(member)
        if not _is_model(member):
            continue
        for key in ("type", "distribution"):
            field = member.model_fields.get(key)
            if field is not None and part in typing.get_args(field.annotation):
                return member
    return None


def _walk(loc: tuple) -> tuple[tuple, Any]:
    """Follow a pydantic error location through the schema: the user's key path (union tags and
    validator names dropped) and the type found at its end (None once it is not known)."""
    tp: Any = Scenario
    out: list = []
    for part in loc:
        tp = _unwrap(tp) if tp is not None else None
        origin = typing.get_origin(tp)
        if origin in (typing.Union, types.UnionType) and isinstance(part, str):
            member = _tag_member(tp, part)
            if member is not None:
                tp = member
                continue
        if isinstance(part, str) and (part.startswith("function-") or part == ""):
            continue
        out.append(part)
        if tp is None:
            continue
        if isinstance(part, int) and origin in (list, tuple):
            tp = typing.get_args(tp)[0]
        elif isinstance(part, str) and _is_model(tp) and part in tp.model_fields:
            tp = tp.model_fields[part].annotation
        elif isinstance(part, str) and origin is dict:
            tp = typing.get_args(tp)[1]
        else:
            tp = None
    return tuple(out), (_unwrap(tp) if tp is not None else None)


def key_path(loc: tuple) -> str:
    """('measures', 2, 'firm') -> 'measures[2].firm'."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else ("." if out else "") + str(part)
    return out or "(top level)"


def _show(value: Any) -> str:
    """A value as the user would write it in TOML (shortened)."""
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, float) and not math.isfinite(value):
        text = "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    elif isinstance(value, str):
        text = json.dumps(value, ensure_ascii=False)
    elif isinstance(value, (int, float)):
        text = repr(value)
    elif isinstance(value, dict):
        text = "a table"
    elif isinstance(value, (list, tuple)):
        text = "a list"
    else:
        text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


_PLAIN = {
    "int_type": "must be a whole number",
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "float_type": "must be a number",
    "float_parsing": "must be a number",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "string_type": "must be text in quotes",
    "model_type": "must be a table",
    "model_attributes_type": "must be a table",
    "dict_type": "must be a table",
    "list_type": "must be a list",
    "tuple_type": "must be a list",
    "missing": "is required but not set",
}


def _tags(tp: Any, disc: str) -> list[str]:
    """The tags (e.g. measure types) of the members of a discriminated union."""
    out = []
    for member in typing.get_args(tp):
        member = _unwrap(member)
        field = member.model_fields.get(disc) if _is_model(member) else None
        if field is not None:
            out += [str(a) for a in typing.get_args(field.annotation)]
    return out


def _reason(e: dict, loc: tuple) -> tuple[tuple, str]:
    """A plain-language reason for one pydantic error (and the key path it belongs to)."""
    kind, ctx, value = e["type"], e.get("ctx") or {}, e.get("input")
    if kind == "extra_forbidden":
        parent = _walk(tuple(e["loc"])[:-1])[1]
        names = list(parent.model_fields) if _is_model(parent) else []
        close = difflib.get_close_matches(str(loc[-1]), names, n=1, cutoff=0.6) if loc else []
        hint = f" (did you mean {key_path(loc[:-1] + (close[0],))}?)" if close else ""
        return loc, "unknown key" + hint
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        disc = str(ctx.get("discriminator", "type")).strip("'")
        expected = str(ctx.get("expected_tags", "")).replace("'", "") or ", ".join(_tags(_walk(tuple(e["loc"]))[1], disc))
        if kind == "union_tag_not_found":
            return loc + (disc,), f"is required but not set (one of: {expected})"
        return loc + (disc,), f"unknown {disc} {_show(ctx.get('tag'))} (expected one of: {expected})"
    if kind == "finite_number":
        return loc, f"must be a finite number (got {_show(value)})"
    if kind in _PLAIN:
        reason = _PLAIN[kind]
        if isinstance(value, bool) and kind in ("int_type", "float_type"):
            reason += ", not true or false"
        elif kind == "int_type" and isinstance(value, float) and math.isfinite(value):
            reason += ", without a decimal point"
    else:
        msg = e["msg"].removeprefix("Value error, ")
        reason = msg.replace("Input should be", "must be").replace("Input should have", "must have")
        reason = reason.replace("List should have", "must have").replace("Tuple should have", "must have")
        reason = reason[:1].lower() + reason[1:]
    if kind != "missing" and "input" in e and not isinstance(value, (dict, list, tuple)) and "(got" not in reason:
        reason += f" (got {_show(value)})"
    return loc, reason


def _problems(err: ValidationError) -> list[tuple[tuple, str]]:
    """(key path, reason) for every error, the key path as a tuple of the user's keys."""
    problems = []
    for e in err.errors():
        cause = (e.get("ctx") or {}).get("error")
        loc = _walk(tuple(e["loc"]))[0]
        if isinstance(cause, _KeyError):
            problems.append((loc + tuple(cause.loc), cause.reason))
            continue
        problems.append(_reason(e, loc))
    return problems


# --- overrides -----------------------------------------------------------------------------------

def _plain(value: Any) -> Any:
    """numpy scalars and arrays (e.g. from a parameter sweep) as plain Python values."""
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_plain(v) for v in value)
    if type(value).__module__ == "numpy" and hasattr(value, "tolist"):
        return value.tolist()
    return value


def _parse_key(dotted: str) -> tuple:
    parts = dotted.split(".")
    if not dotted or any(p.strip() == "" or p != p.strip() for p in parts):
        raise ValueError("not a key path; write dotted keys like simulation.customers or firms.0.price")
    return tuple(int(p) if p.isdigit() else p for p in parts)


def _set_dotted(data: dict, dotted: str, value: Any) -> tuple:
    """Set ``data['a']['b'][0]['c']`` from ``'a.b.0.c'``, creating tables as needed. Returns the key
    path as a tuple; raises ValueError with a reason the user can act on."""
    loc = _parse_key(dotted)
    node: Any = data
    for depth, part in enumerate(loc):
        here = key_path(loc[:depth]) if depth else "the scenario"
        last = depth == len(loc) - 1
        if isinstance(node, list):
            if not isinstance(part, int):
                raise ValueError(f"{here} is a list: pick an entry by its number, e.g. {'.'.join(map(str, loc[:depth]))}.0")
            if part >= len(node):
                raise ValueError(f"{here} has {len(node)} entr{'y' if len(node) == 1 else 'ies'} (0 to {len(node) - 1}), "
                                 f"so there is no entry {part}")
            if last:
                node[part] = value
            else:
                node = node[part]
        elif isinstance(node, dict):
            if isinstance(part, int) and str(part) not in node:
                raise ValueError(f"{here} is not a list, so it has no entry {part}")
            key = str(part)
            if last:
                node[key] = value
            else:
                if key not in node and isinstance(loc[depth + 1], int):
                    raise ValueError(f"{key_path(loc[:depth + 1])} is not listed in the scenario file, "
                                     f"so it has no entry {loc[depth + 1]}")
                node = node.setdefault(key, {})
        else:
            raise ValueError(f"{here} is a single value ({_show(node)}), not a table")
    return loc


def validate(data: Mapping[str, Any], source: str = "<dict>", overrides: Mapping[str, Any] | None = None,
             override_labels: Mapping[str, str] | None = None, levels: list | None = None) -> Scenario:
    """Validate a scenario mapping (plus ``{'simulation.customers': 1000}``-style overrides).

    A problem caused by an override is reported under the override's label (by default
    ``override <key>``; the command line passes e.g. ``--set firms.0.price``), not under ``source``.
    With ``levels`` (the files of an ``extends`` chain, see :func:`resolve_variant`) a problem with a
    value is reported under the file and key that set it (a base file's own value, an ``[add]``
    entry as ``add.measures[0]``), not under the variant.
    """
    labels = dict(override_labels or {})
    original = _plain(dict(data))
    data = copy.deepcopy(original)
    overrides = _scaled(original, dict(overrides or {}))
    if "measures" in overrides and not any(k.split(".")[0] == "counterfactual" for k in overrides) \
            and _by_position(data.get("counterfactual")):
        data.pop("counterfactual", None)  # it names the replaced measures by their place (see resolve_variant)
    applied: list[tuple[tuple, str]] = []
    for dotted, value in (overrides or {}).items():
        label = labels.get(dotted, f"override {dotted}")
        try:
            loc = _set_dotted(data, dotted, _plain(value))
        except ValueError as err:
            raise ScenarioError(source, [(label, None, str(err))]) from None
        applied.append((loc, label))
    masked, original_ok = _masked_problems(original, data, applied, source)
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as err:
        problems = _problems(err)
    else:
        if masked:
            raise ScenarioError(source, masked)
        if scenario.counterfactual is not None:
            _check_counterfactual(scenario, source)
        return scenario
    items, from_file = [], []
    for loc, reason in problems:
        owner = next(((oloc, label) for oloc, label in sorted(applied, key=lambda a: -len(a[0])) if loc[:len(oloc)] == oloc),
                     None)
        if owner is None:
            from_file.append((loc, reason))
        else:
            oloc, label = owner
            items.append((label, None if loc == oloc else key_path(loc), reason))
    if from_file:
        where = source
        if applied and original_ok:
            where = f"{source} with {', '.join(dict.fromkeys(label for _, label in applied))}"
        blamed = []
        for loc, reason in from_file:
            found = _blame(levels, loc) if levels else None
            if found is None or (found[0] == source and not found[1].startswith("add")):
                blamed.append((where, key_path(loc), reason))
            else:
                if found[1].startswith("add") and len(loc) > 1:  # a hint naming the entry names it as written
                    reason = reason.replace(key_path(loc[:2]) + ".", found[1].split("]")[0] + "].")
                blamed.append((found[0], found[1], reason))
        items = blamed + items
    if not any(key and key.startswith("counterfactual") for _, key, _ in masked + items):
        items += _counterfactual_set_problems(data, source)
    raise ScenarioError(source, masked + items)


def _toml_reason(text: str, err: tomllib.TOMLDecodeError) -> str:
    """tomllib's reason with the line it stopped at quoted, and for a key declared twice the line that
    declared it first (a dotted key ``a.b = 1`` in a table declares the table ``a`` as well)."""
    reason = str(err)
    lines = text.splitlines()
    at = re.search(r"\(at line (\d+), column \d+\)$", reason)  # tomllib has no lineno attribute before 3.14
    lineno = int(at.group(1)) if at else 0
    if not 1 <= lineno <= len(lines):
        return reason
    here = lines[lineno - 1].strip()
    twice = re.match(r"Cannot declare (\(.*\)) twice", reason)
    if twice:
        try:
            target = tuple(ast.literal_eval(twice.group(1)))
        except (ValueError, SyntaxError):
            target = ()
        first = _first_declaration(lines[:lineno - 1], target) if target else None
        if first is not None:
            return (f"{'.'.join(target)} is declared twice, on line {first + 1} ({lines[first].strip()[:80]}) "
                    f"and on line {lineno} ({here[:80]})")
    return f"{reason}: {here[:80]}" if here else reason


def _first_declaration(lines: list[str], target: tuple[str, ...]) -> int | None:
    """The index of the first of ``lines`` that declares the table ``target``: its header, a header
    below it, or a dotted key under it (simple keys only; None if none is found)."""
    def parts(dotted: str) -> tuple[str, ...]:
        return tuple(p.strip().strip('"').strip("'") for p in dotted.split("."))

    table: tuple[str, ...] = ()
    for i, line in enumerate(lines):
        header = re.match(r"\s*\[\[?\s*([^\[\]]+?)\s*\]\]?\s*(#.*)?$", line)
        key = re.match(r"\s*([A-Za-z0-9_\-.\"' ]+?)\s*=", line)
        full = parts(header.group(1)) if header else table + parts(key.group(1)) if key else None
        if header:
            table = full
        if full is not None and len(full) >= len(target) and full[:len(target)] == target and (header or len(full) > len(target)):
            return i
    return None


def _by_position(cf: Any) -> bool:
    """Whether a counterfactual as written names measures by their position."""
    return isinstance(cf, dict) and any(isinstance(k, int) and not isinstance(k, bool) for k in cf.get("drop_measures") or [])


def _scaled(data: Mapping[str, Any], overrides: dict) -> dict:
    """``overrides`` with ``simulation.scale`` added when they change the number of customers and do not
    set the scale themselves: the market is scaled with its population (see ``simulation.scale``), so a
    run at another size is the same market."""
    if "simulation.customers" not in overrides or "simulation.scale" in overrides:
        return overrides
    sim = data.get("simulation") if isinstance(data.get("simulation"), Mapping) else {}
    base, scale = sim.get("customers", 10_000), sim.get("scale", 1.0)
    new = overrides["simulation.customers"]
    ok = all(isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0 for v in (base, scale, new))
    return {**overrides, "simulation.scale": float(scale) * float(new) / float(base)} if ok else overrides


_MISSING = object()


def _at(data: Any, loc: tuple) -> Any:
    """The value at a key path of a scenario mapping, or _MISSING."""
    for part in loc:
        if isinstance(data, list) and isinstance(part, int) and 0 <= part < len(data):
            data = data[part]
        elif isinstance(data, Mapping) and str(part) in data:
            data = data[str(part)]
        else:
            return _MISSING
    return data


def _masked_problems(original: dict, data: dict, applied: list[tuple[tuple, str]], source: str) -> tuple[list, bool]:
    """Problems of the file's own values that an override replaced (``customers = "abc"`` run with
    ``--customers 200``): a malformed file is reported even when this run would not use the value.
    Problems an override cures by design (a schedule beyond the file's horizon, run with a longer
    ``--periods``) are not of this kind: they sit elsewhere than the replaced value. Also returns
    whether the file alone is valid."""
    if not applied:
        return [], True
    try:
        Scenario.model_validate(original)
        return [], True
    except ValidationError as err:
        problems = _problems(err)
    masked = []
    for loc, reason in problems:
        replaced = any(loc[:len(oloc)] == oloc for oloc, _ in applied)
        if replaced and _at(original, loc) is not _MISSING and _at(original, loc) != _at(data, loc):
            masked.append((source, key_path(loc), reason))
    return masked, False


def _read(path: Path) -> dict:
    """Parse a scenario file; every way it can fail becomes a ScenarioError naming the file."""
    try:
        raw = path.read_bytes()
    except IsADirectoryError:
        raise ScenarioError(str(path), [(None, "is a folder, not a scenario file")]) from None
    except OSError as err:
        raise ScenarioError(str(path), [(None, f"cannot read: {err.strerror or err}")]) from None
    if b"\x00" in raw[:65536]:
        raise ScenarioError(str(path), [(None, "is a binary file, not a scenario (a scenario is a TOML text file)")])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        raise ScenarioError(str(path), [(None, f"is not UTF-8 text (byte 0x{raw[err.start]:02x} on line {line}); "
                                               "save it as UTF-8 or check that it is the scenario you meant")]) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ScenarioError(str(path), [(None, f"not valid TOML: {_toml_reason(text, err)}")]) from None
    except RecursionError:
        raise ScenarioError(str(path), [(None, TOO_DEEP)]) from None
    if not data:
        raise ScenarioError(str(path), [(None, f"has no settings (it is empty or only comments); a minimal scenario is "
                                               f"one line, {MINIMAL_SCENARIO}, and every key it does not set takes its "
                                               f"documented default (see `retention-sim validate telecom`)")])
    return data


# --- variants: `extends` ---------------------------------------------------------------------------

VARIANT_KEYS = ("extends", "set", "add")


def _merge(base: dict, child: Mapping[str, Any]) -> dict:
    """``child`` over ``base``: tables merge key by key, everything else (values, lists) replaces."""
    out = copy.deepcopy(base)
    for key, value in child.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def resolve_variant(data: Mapping[str, Any], source: str, folder: Path | None, seen: tuple[str, ...] = (),
                    bases: Mapping[str, Path] | None = None, levels: list | None = None) -> dict:
    """A scenario mapping with its ``extends`` chain resolved.

    A variant names its base with ``extends`` (a shipped scenario's name, or a file path relative to
    the variant's own folder) and sets only what differs: its tables are merged into the base's key by
    key, its lists (``segments``, ``firms``, ``measures``) replace the base's, ``[add]`` appends to
    the base's lists (e.g. ``[[add.measures]]``), and ``[set]`` sets dotted keys (``"firms.0.price" =
    33.0``, quoted or not). A variant without a ``name`` is named after its file.

    ``bases`` restricts what ``extends`` may name, for a scenario from an untrusted source (a file
    uploaded through the dashboard, a saved game): only the keys of ``bases`` (names, never paths), and
    the whole chain is held to the same list. ``None`` (the default) allows a shipped name or a path.

    ``levels``, if given, receives one :class:`_Level` per file of the chain (the deepest base first),
    so that a problem can be blamed on the file that set the value (:func:`_blame`).
    """
    data = dict(data)
    if not any(k in data for k in VARIANT_KEYS):
        if levels is not None:
            levels.append(_Level(source, data, {}, {}))
        return data
    extends = data.pop("extends", None)
    sets = data.pop("set", {}) or {}
    adds = data.pop("add", {}) or {}
    for key, value, kind in (("set", sets, "a table of dotted keys"), ("add", adds, "a table of lists")):
        if not isinstance(value, Mapping):
            raise ScenarioError(source, [(key, f"must be {kind}")])
    if extends is None:
        base: dict = {}
    else:
        if not isinstance(extends, str) or not extends:
            raise ScenarioError(source, [("extends",
                                          "must be the name of a shipped scenario or a path to a scenario file, in quotes")])
        if len(extends) > MAX_EXTENDS:
            raise ScenarioError(source, [("extends", f"is {len(extends):,} characters long; name a shipped scenario or a "
                                                     f"scenario file (at most {MAX_EXTENDS:,} characters)")])
        if bases is not None:
            if extends not in bases:
                known = ", ".join(sorted(bases)[:8]) + (", ..." if len(bases) > 8 else "") if bases else "none"
                # the value is not repeated: from an untrusted source it may be a path, and it is its sender's anyway
                raise ScenarioError(source, [("extends", f"is not one of the scenarios offered here ({known}); "
                                                         "name one of them, not a file")])
            base_path = bases[extends]
        else:
            candidate = (folder / extends) if folder is not None else Path(extends)
            try:
                base_path = candidate if candidate.is_file() else resolve_path(extends)
            except ScenarioError as err:
                raise ScenarioError(source, [("extends", f"{_show(extends)}: {err.items[0][2]}")]) from None
            except (OSError, ValueError) as err:  # a name too long for a file, a NUL byte
                raise ScenarioError(source, [("extends", f"{_show(extends)}: not a usable file name "
                                                         f"({getattr(err, 'strerror', None) or err})")]) from None
        key = str(base_path.resolve())
        if key in seen:
            raise ScenarioError(source, [("extends",
                                          f"{extends!r} extends itself (through {' -> '.join(Path(s).name for s in seen)})")])
        if bases is None:
            base = resolve_variant(_read(base_path), str(base_path), base_path.parent, seen + (key,), levels=levels)
        else:  # messages name the offered scenario, never where the server keeps it
            try:
                raw = _read(base_path)
            except ScenarioError as err:
                raise ScenarioError(extends, [(None, err.items[0][2])]) from None
            base = resolve_variant(raw, extends, None, seen + (key,), bases, levels=levels)
    merged = _merge(base, data)
    if "measures" in data and "counterfactual" not in data and _by_position(merged.get("counterfactual")):
        # a counterfactual that names the base's measures by their place would name other measures
        # here: a variant that replaces the measures states its own (or has none); one naming types holds
        merged.pop("counterfactual", None)
    added: dict[str, int] = {}
    for key, extra in adds.items():
        if not isinstance(extra, list):
            raise ScenarioError(source, [(f"add.{key}", "must be a list, e.g. [[add.measures]]")])
        if key in merged and not isinstance(merged[key], list):
            raise ScenarioError(source, [(f"add.{key}", f"{key} is not a list in the base scenario")])
        added[key] = len(merged.get(key, []))
        merged[key] = list(merged.get(key, [])) + copy.deepcopy(extra)
    if levels is not None:
        levels.append(_Level(source, data, dotted_sets(sets), added))
    for dotted, value in dotted_sets(sets).items():
        try:
            _set_dotted(merged, dotted, _plain(value))
        except ValueError as err:
            raise ScenarioError(source, [(f"set.{dotted}", str(err))]) from None
    if "name" not in data and folder is not None:
        merged["name"] = Path(source).stem
    return merged


MAX_EXTENDS = 1024  # characters of an `extends` value: a name or a path


class _Level:
    """One file of an ``extends`` chain: its name, its own values (without ``extends``, ``[set]`` and
    ``[add]``), its ``[set]`` keys, and for each list it appends to with ``[add]`` the entries the
    list had before."""

    def __init__(self, source: str, own: Mapping[str, Any], sets: Mapping[str, Any], added: Mapping[str, int]):
        self.source, self.own, self.sets, self.added = source, own, dict(sets), dict(added)


def _blame(levels: list[_Level], loc: tuple) -> tuple[str, str] | None:
    """The file of an ``extends`` chain that set the value at ``loc`` of the resolved scenario, and
    the key as written there (``add.measures[0].x`` for an entry an ``[add]`` appended): the nearest
    file, from the variant down, whose ``[set]``, ``[add]`` or own values reach it. None when no file
    sets it (a default)."""
    for level in reversed(levels):  # the variant first
        for dotted in level.sets:
            try:
                sloc = _parse_key(dotted)
            except ValueError:
                continue
            if loc[:len(sloc)] == sloc:
                return level.source, f"[set] {dotted}"
        if len(loc) > 1 and loc[0] in level.added and isinstance(loc[1], int) and loc[1] >= level.added[loc[0]]:
            entry = ("add", loc[0], loc[1] - level.added[loc[0]])
            return level.source, key_path(entry + tuple(loc[2:]))
        if loc and str(loc[0]) in level.own:
            node: Any = level.own[str(loc[0])]
            depth = 1
            while depth < len(loc) and isinstance(node, Mapping) and str(loc[depth]) in node:
                node, depth = node[str(loc[depth])], depth + 1
            if depth == len(loc) or not isinstance(node, Mapping):
                return level.source, key_path(loc)
    return None


def load(spec: str | Path | Mapping[str, Any] | Scenario | None = None, overrides: Mapping[str, Any] | None = None,
         override_labels: Mapping[str, str] | None = None, *, source: str | None = None,
         bases: Mapping[str, Path] | None = None) -> Scenario:
    """Load a scenario from a file path, a shipped scenario's name, a dict or a Scenario (a file or
    dict may extend another scenario, see :func:`resolve_variant`).

    A dict from an untrusted source passes ``bases`` (what its ``extends`` may name) and ``source``
    (how messages name it, e.g. the uploaded file's name).

    >>> sc = load("telecom", overrides={"simulation.customers": 500})
    >>> sc.simulation.customers
    500
    """
    if isinstance(spec, Scenario):
        return validate(spec.model_dump(), f"<scenario {spec.name}>", overrides, override_labels)
    levels: list[_Level] = []
    if isinstance(spec, Mapping):
        source = source or "<dict>"
        raw = spec
    else:
        path = resolve_path(spec)
        raw, source = _read(path), str(path)
    try:
        if isinstance(spec, Mapping):
            data = resolve_variant(spec, source, None, bases=bases, levels=levels)
        else:
            data = resolve_variant(raw, source, path.parent, (str(path.resolve()),), levels=levels)
        # A problem with a value set in the file's own [set] table is reported under the key as written
        # there ("segments.1.price"), as a --set override is: both are validated as overrides.
        sets = dotted_sets(raw["set"]) if isinstance(raw.get("set"), Mapping) else {}
        labels = {dotted: f"{source}: [set] {dotted}" for dotted in sets} | dict(override_labels or {})
        return validate(data, source, {**sets, **(overrides or {})}, labels, levels=levels if len(levels) > 1 else None)
    except RecursionError:
        raise ScenarioError(source, [(None, TOO_DEEP)]) from None


def counterfactual(scenario: Scenario) -> Scenario:
    """The scenario's counterfactual (:class:`sim.params.Counterfactual`): the same scenario without the
    measures it drops and with the values it sets, itself without a counterfactual; ScenarioError if it
    names none."""
    cf = scenario.counterfactual
    if cf is None:
        raise ScenarioError(scenario.name, [("counterfactual", "the scenario names no counterfactual")])
    d = scenario.model_dump(mode="json")
    dropped = set(scenario.dropped_measures())
    d["measures"] = [m for k, m in enumerate(d["measures"]) if k not in dropped]
    d["counterfactual"] = None
    d["name"] = f"{scenario.name} without {cf.lever}"
    return validate(d, f"{scenario.name}: counterfactual", dict(cf.set), {k: f"counterfactual.set.{k}" for k in cf.set})


def _check_counterfactual(scenario: Scenario, source: str) -> None:
    """Refuse a scenario whose counterfactual is not a valid scenario (a key its ``set`` names that
    does not exist, a value out of range) when the scenario is loaded, under the scenario's file,
    not after its replications have run."""
    try:
        counterfactual(scenario)
    except ScenarioError as err:
        raise ScenarioError(source, _as_counterfactuals(err, source)) from None


def _as_counterfactuals(err: ScenarioError, source: str) -> list[tuple[str, str, str]]:
    """The problems of a counterfactual as problems of the scenario file ``source`` that names it."""
    return [(source, src if key is None else f"{src}.{key}" if src.startswith("counterfactual.") else f"counterfactual: {key}",
             reason) for src, key, reason in err.items]


def _counterfactual_set_problems(data: Mapping[str, Any], source: str) -> list[tuple[str, str, str]]:
    """For a scenario that is invalid already: the keys its counterfactual's ``set`` cannot set (an
    unknown key, a value out of range), so that one message names them too. Other problems of the
    counterfactual are the scenario's own and reported once, as the scenario's."""
    raw = data.get("counterfactual")
    sets = raw.get("set") if isinstance(raw, Mapping) else None
    if not isinstance(sets, Mapping) or not sets:
        return []
    try:
        sets = dotted_sets(sets)
        validate({k: v for k, v in data.items() if k != "counterfactual"}, source, sets,
                 {k: f"counterfactual.set.{k}" for k in sets})
    except ScenarioError as err:
        return [item for item in _as_counterfactuals(err, source) if item[1].startswith("counterfactual.set.")]
    except (ValueError, TypeError):  # a set the schema refuses already reports itself
        return []
    return []


def scenario_hash(scenario: Scenario) -> str:
    """SHA-256 of the fully resolved scenario (every default filled in), canonical JSON."""
    text = json.dumps(scenario.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def schema_field(scenario: Scenario, key: str) -> tuple[Any, Any]:
    """The value at dotted ``key`` of a loaded scenario and the pydantic field that declares it (its
    type and bounds; None for an entry of a list or table). The key is followed through the scenario
    itself, so a measure's fields are those of its own type (``measures.0.term`` of a contract).
    Raises ValueError for a malformed key and KeyError for one the scenario does not have."""
    loc = _parse_key(key)
    node: Any = scenario
    parent: Any = None
    for part in loc:
        parent = node
        try:
            if isinstance(node, Mapping):
                node = node[str(part)]
            elif isinstance(part, int):
                node = node[part]
            else:
                node = getattr(node, part) if part in getattr(type(node), "model_fields", {}) else node[part]
        except (AttributeError, IndexError, TypeError, KeyError):
            raise KeyError(key) from None
    name = loc[-1]
    info = getattr(type(parent), "model_fields", {}).get(name) if isinstance(name, str) else None
    return node, info


def whole_number(scenario: Scenario, key: str) -> bool:
    """Whether the schema declares dotted ``key`` a whole number (an ``int`` field: a horizon, a
    contract's term, a segment's purchase cycle). The one rule by which sweeps and calibration round
    the values they try before they are simulated; False for a key the scenario does not have."""
    try:
        _value, info = schema_field(scenario, key)
    except (KeyError, ValueError):
        return False
    return info is not None and _unwrap(info.annotation) is int
