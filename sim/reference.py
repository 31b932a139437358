"""The parameter reference, derived from the scenario schema in :mod:`sim.params`.

Every parameter is declared once, in ``sim/params.py``; this module reads those declarations and
writes them out for people:

- :func:`parameter_records` gives one record per parameter (dotted key, type, default, range, unit,
  meaning, source tag);
- :func:`parameters_markdown` renders them as ``docs/parameters.md``;
- :func:`annotated_toml` prints a scenario with every default filled in, each value commented with
  its unit and meaning (what ``retention-sim validate`` shows).

Nothing here names a field: the schema is walked recursively (nested sections, lists of sections,
discriminated unions), so a parameter added to ``sim/params.py`` appears in the reference after
``python -m sim.reference > docs/parameters.md``.

A field's description is parsed by convention: ``<meaning>. Unit: <unit>[; note]. [<tag>]``, where
``<tag>`` is ``sourced: ...`` (the default rests on a source document; see ``docs/sources.md``) or
``invented`` (possibly with a note). The unit and the tag are optional.
"""

from __future__ import annotations

import re
import sys
import types
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from sim.params import Scenario

__all__ = ["parameter_records", "parameters_markdown", "annotated_toml"]

REGENERATE = "python -m sim.reference > docs/parameters.md"

# --------------------------------------------------------------------------------------------------
# Reading the schema
# --------------------------------------------------------------------------------------------------

_TAG = re.compile(r"\s*\[\s*((?:sourced|invented)\b[^\[\]]*)\]", re.IGNORECASE)


def parse_description(text: str | None) -> tuple[str, str | None, str | None]:
    """Split a field description into (meaning, unit, source tag).

    ``"Horizon. Unit: periods. [invented]"`` gives ``("Horizon.", "periods", "invented")``. A note
    after the unit (``Unit: fraction; shares are normalised.``) moves to the meaning.
    """
    text = " ".join((text or "").split())
    source = None
    tag = _TAG.search(text)
    if tag:
        source = " ".join(tag.group(1).split())
        text = (text[: tag.start()] + text[tag.end():]).strip()
    unit = None
    at = text.rfind("Unit:")
    if at >= 0:
        unit_text = text[at + len("Unit:"):].strip()
        text = text[:at].strip()
        unit, _, note = unit_text.partition(";")
        unit = unit.strip().rstrip(".").strip() or None
        note = note.strip()
        if note:
            note = note[0].upper() + note[1:]
            text = f"{text} {note}" if text else note
            if not text.endswith("."):
                text += "."
    return text, unit, source


def _doc(cls: type) -> str:
    """A class's docstring as one line ('' if it has none of its own)."""
    doc = cls.__dict__.get("__doc__") or ""
    return " ".join(doc.split())


def _short(text: str) -> str:
    """The first clause of a sentence: up to the first ':', ';' or ' (' (for compact listings)."""
    cut = min([i for i in (text.find(":"), text.find(";"), text.find(" (")) if i >= 0] or [len(text)])
    return text[:cut].rstrip(" .")


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def _strip_annotated(tp: Any) -> tuple[Any, list]:
    metadata: list = []
    while get_origin(tp) is Annotated:
        args = get_args(tp)
        tp, metadata = args[0], metadata + list(args[1:])
    return tp, metadata


def _union_args(tp: Any) -> tuple | None:
    if get_origin(tp) in (Union, types.UnionType):
        return get_args(tp)
    return None


def _without_none(tp: Any) -> tuple[Any, bool]:
    """(tp without None, whether None was allowed)."""
    args = _union_args(tp)
    if args and type(None) in args:
        rest = tuple(a for a in args if a is not type(None))
        return (rest[0] if len(rest) == 1 else Union[rest]), True  # noqa: UP007
    return tp, False


class _Union:
    """A discriminated union of sections: the key that selects the variant, and the variants by value."""

    def __init__(self, variants: tuple[type[BaseModel], ...], discriminator: Any):
        self.variants = variants
        self.key = discriminator if isinstance(discriminator, str) else self._guess_key(variants)
        self.by_value: dict[Any, type[BaseModel]] = {}
        for v in variants:
            for value in get_args(v.model_fields[self.key].annotation):
                self.by_value[value] = v
        # fields every variant shares, declared identically (documented once, without a variant)
        first = variants[0].model_fields
        self.common = [
            name for name in first
            if name != self.key
            and all(name in v.model_fields and _same_field(first[name], v.model_fields[name]) for v in variants)
        ]

    @staticmethod
    def _guess_key(variants) -> str:
        for name, f in variants[0].model_fields.items():
            if get_origin(f.annotation) is Literal and all(name in v.model_fields for v in variants):
                return name
        raise TypeError(f"cannot find the discriminator of {variants}")

    def value_of(self, variant: type[BaseModel]) -> Any:
        return get_args(variant.model_fields[self.key].annotation)[0]


def _common_base(classes) -> type:
    """The nearest class every one of ``classes`` derives from."""
    return next(c for c in classes[0].__mro__[1:] if all(issubclass(k, c) for k in classes))


def _same_field(a: FieldInfo, b: FieldInfo) -> bool:
    return (a.annotation, repr(a.default), a.default_factory, a.description, repr(a.metadata)) == (
        b.annotation, repr(b.default), b.default_factory, b.description, repr(b.metadata))


def _classify(field: FieldInfo) -> tuple[str, Any]:
    """What a field holds: ('model', cls), ('union', _Union), ('list', inner kind) or ('leaf', annotation)."""
    tp, _ = _without_none(field.annotation)
    tp, metadata = _strip_annotated(tp)
    kind = _classify_type(tp, field.discriminator, metadata)
    if kind is not None:
        return kind
    if get_origin(tp) is list:
        inner, inner_meta = _strip_annotated(get_args(tp)[0])
        disc = next((m.discriminator for m in inner_meta if isinstance(m, FieldInfo) and m.discriminator), None)
        kind = _classify_type(inner, disc, inner_meta)
        if kind is not None:
            return "list", kind
    return "leaf", field.annotation


def _classify_type(tp: Any, discriminator: Any, metadata: list) -> tuple[str, Any] | None:
    if _is_model(tp):
        return "model", tp
    args = _union_args(tp)
    if args and all(_is_model(a) for a in args):
        if discriminator is None:
            discriminator = next((m.discriminator for m in metadata if isinstance(m, FieldInfo) and m.discriminator), None)
        return "union", _Union(args, discriminator)
    return None


def _default(field: FieldInfo) -> tuple[Any, bool]:
    """(default value, required)."""
    if field.default is not PydanticUndefined:
        return field.default, False
    if field.default_factory is not None:
        try:
            return field.default_factory(), False
        except TypeError:  # a factory that wants the validated data
            return field.default_factory({}), False
    return None, True


def _type_name(tp: Any) -> str:
    tp, _ = _strip_annotated(tp)
    if tp is type(None):
        return "None"
    args = _union_args(tp)
    if args:
        return " | ".join(_type_name(a) for a in args)
    origin = get_origin(tp)
    if origin is Literal:
        kinds = sorted({type(v).__name__ for v in get_args(tp)})
        return " | ".join(kinds)
    if origin is not None:
        return f"{getattr(origin, '__name__', str(origin))}[{', '.join(_type_name(a) for a in get_args(tp))}]"
    return getattr(tp, "__name__", str(tp).replace("typing.", ""))


def _literal_choices(tp: Any) -> list | None:
    tp, _ = _without_none(tp)
    tp, _ = _strip_annotated(tp)
    if get_origin(tp) is Literal:
        return list(get_args(tp))
    args = _union_args(tp)
    if args and all(get_origin(a) is Literal for a in args):
        return [v for a in args for v in get_args(a)]
    return None


def _num(v: Any) -> str:
    """A bound for reading: 2400, 0.5, 1e12."""
    if isinstance(v, int) and abs(v) < 1e6:
        return str(v)
    return re.sub(r"e\+?(-?)0*(\d)", r"e\1\2", f"{v:g}")


def _range(field: FieldInfo) -> str:
    """Valid values, from the Field constraints (ge/gt/le/lt, lengths) and Literal choices."""
    tp, optional = _without_none(field.annotation)
    choices = _literal_choices(tp)
    if choices is not None:
        text = ", ".join(f"`{_toml_value(c)}`" for c in choices)
    elif _strip_annotated(tp)[0] is bool:
        text = "`true`, `false`"
    else:
        lo = hi = None
        min_len = max_len = None
        for m in field.metadata:
            for attr, side in (("ge", "["), ("gt", "(")):
                if getattr(m, attr, None) is not None:
                    lo = (side, getattr(m, attr))
            for attr, side in (("le", "]"), ("lt", ")")):
                if getattr(m, attr, None) is not None:
                    hi = (side, getattr(m, attr))
            if getattr(m, "min_length", None) is not None:
                min_len = m.min_length
            if getattr(m, "max_length", None) is not None:
                max_len = m.max_length
        if lo and hi:
            text = f"{lo[0]}{_num(lo[1])}, {_num(hi[1])}{hi[0]}"
        elif lo:
            text = f"{'≥' if lo[0] == '[' else '>'} {_num(lo[1])}"
        elif hi:
            text = f"{'≤' if hi[0] == ']' else '<'} {_num(hi[1])}"
        elif min_len is not None or max_len is not None:
            if max_len is None:
                text = "non-empty" if min_len == 1 else f"length ≥ {min_len}"
            else:
                text = f"length {min_len or 0} to {max_len}"
        else:
            text = ""
    if optional:
        text = f"{text}, or unset" if text else ("any text, or unset" if _strip_annotated(tp)[0] is str else "any, or unset")
    return text


def _record(key: str, section: str, group: str | None, field: FieldInfo) -> dict:
    meaning, unit, source = parse_description(field.description)
    default, required = _default(field)
    return {
        "key": key,
        "section": section,
        "group": group,
        "type": _type_name(field.annotation),
        "default": default,
        "required": required,
        "range": _range(field),
        "unit": unit,
        "meaning": meaning,
        "source": source,
        "source_kind": source.split(":")[0].split(";")[0].strip().lower() if source else None,
    }


def _walk(model: type[BaseModel], prefix: str, section: str | None, group: str | None, only: list[str] | None = None):
    """Yield one record per leaf parameter of ``model``; keys start with ``prefix``."""
    for name, field in model.model_fields.items():
        if only is not None and name not in only:
            continue
        sec = section or name
        kind, what = _classify(field)
        if kind == "leaf":
            yield _record(prefix + name, sec if section else "scenario", group, field)
        elif kind == "model":
            yield from _walk(what, f"{prefix}{name}.", sec, group)
        else:
            many = kind == "list"
            if many:
                kind, what = what
            here = f"{prefix}{name}[]" if many else f"{prefix}{name}"
            if kind == "model":
                yield from _walk(what, here + ".", sec, group)
                continue
            union: _Union = what
            yield _union_record(f"{here}.{union.key}", sec, group, field, union)
            yield from _walk(union.variants[0], here + ".", sec, group, only=union.common)
            for variant in union.variants:
                value = union.value_of(variant)
                variant_prefix = f"{prefix}{name}[{union.key}={value}]."
                # a union that is a section's own list gets a table per variant
                variant_group = f"{union.key} = {_toml_value(value)}" if section is None else group
                specific = [n for n in variant.model_fields if n != union.key and n not in union.common]
                yield from _walk(variant, variant_prefix, sec, variant_group, only=specific)


def _union_record(key: str, section: str, group: str | None, field: FieldInfo, union: _Union) -> dict:
    default, required = _default(field)
    if isinstance(default, list):  # a list of variants: each entry chooses its own
        default, required = None, True
    elif isinstance(default, BaseModel):
        default = getattr(default, union.key)
    meaning, _, source = parse_description(field.description)
    kinds = "; ".join(f"`{_toml_value(union.value_of(v))}`: {_short(_doc(v)) or v.__name__}" for v in union.variants)
    return {
        "key": key,
        "section": section,
        "group": group,
        "type": " | ".join(sorted({type(union.value_of(v)).__name__ for v in union.variants})),
        "default": default,
        "required": required,
        "range": ", ".join(f"`{_toml_value(union.value_of(v))}`" for v in union.variants),
        "unit": None,
        "meaning": f"{meaning + ' ' if meaning else ''}Selects the kind, and with it the other keys that apply: {kinds}.",
        "source": source,
        "source_kind": source.split(":")[0].strip().lower() if source else None,
    }


def parameter_records(schema: type[BaseModel] = Scenario) -> list[dict]:
    """One dict per parameter of the scenario schema, in declaration order.

    Keys: ``key`` (dotted; ``segments[].share`` for every entry of a list,
    ``measures[type=contract].term`` for one kind of a discriminated union), ``section`` (the
    top-level key, or ``"scenario"`` for top-level values), ``group`` (the variant, for a section
    that is a list of several kinds), ``type``, ``default`` (``None`` when unset or ``required``),
    ``required``, ``range``, ``unit``, ``meaning``, ``source`` (the tag text, e.g.
    ``"sourced: DIM-B2B"`` or ``"invented"``) and ``source_kind`` (``"sourced"``, ``"invented"`` or
    ``None``).
    """
    return list(_walk(schema, "", None, None))


# --------------------------------------------------------------------------------------------------
# TOML values
# --------------------------------------------------------------------------------------------------

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")
_ESCAPES = {"\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r", '"': '\\"', "\\": "\\\\"}


def _toml_string(s: str) -> str:
    out = []
    for ch in s:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _toml_key(k: str) -> str:
    return k if _BARE_KEY.match(k) else _toml_string(k)


def _toml_value(v: Any) -> str:
    """A Python value (as produced by ``model_dump(mode="json")``) as a TOML value."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return repr(v)  # shortest exact form; 'inf'/'nan' are valid TOML too
    if isinstance(v, str):
        return _toml_string(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        items = [f"{_toml_key(str(k))} = {_toml_value(x)}" for k, x in v.items() if x is not None]
        return "{ " + ", ".join(items) + " }" if items else "{}"
    if isinstance(v, BaseModel):
        return _toml_value(v.model_dump(mode="json"))
    raise TypeError(f"no TOML form for {v!r}")


# --------------------------------------------------------------------------------------------------
# docs/parameters.md
# --------------------------------------------------------------------------------------------------


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _default_cell(rec: dict) -> str:
    if rec["required"]:
        return "required"
    if rec["default"] is None:
        return "unset"
    return f"`{_toml_value(rec['default'])}`"


def _section_intro(name: str, field: FieldInfo, schema_field_kind: tuple[str, Any]) -> list[str]:
    """A sentence or two under a section heading: what it is, how it is written in TOML."""
    kind, what = schema_field_kind
    meaning, _, _ = parse_description(field.description)
    lines = []
    if kind == "model":
        lines.append(" ".join(x for x in (_doc(what), meaning) if x))
        lines.append(f"In a scenario file: the `[{name}]` table.")
    elif kind == "list":
        inner_kind, inner = what
        doc = _doc(inner) if inner_kind == "model" else _doc(_common_base(inner.variants))
        lines.append(" ".join(x for x in (doc, meaning) if x))
        counts = _range(field)
        text = f"In a scenario file: one `[[{name}]]` table per entry ({counts.replace('length', 'count')})."
        default, _ = _default(field)
        if isinstance(default, list):
            if not default:
                text += " None by default."
            else:
                entries = [d.model_dump(mode="json", exclude_defaults=True) if isinstance(d, BaseModel) else d for d in default]
                shown = ", ".join(f"`{_toml_value(e)}`" if e else "one entry with every default" for e in entries)
                text += f" A scenario without any gets {len(default)}: {shown}."
        lines.append(text)
    return [line for line in lines if line]


def parameters_markdown(schema: type[BaseModel] = Scenario) -> str:
    """The full text of ``docs/parameters.md``."""
    records = parameter_records(schema)
    month_key = next((r["key"] for r in records if (r["unit"] or "").startswith("month")), None)
    period_text = "one model step"
    if month_key:
        period_text += f"; its length in months is `{month_key}`"
    out = [
        "# Parameter reference",
        "",
        f"<!-- Generated from the schema in sim/params.py by `{REGENERATE}`. Do not edit by hand. -->",
        "",
        "Every parameter of a scenario, with its default, unit, valid range, meaning and source. A scenario",
        "file sets only what it changes; everything else keeps the default below. `retention-sim validate FILE`",
        "prints a scenario with every default filled in and each value commented with its unit and meaning.",
        "The model that uses these parameters is described in [model.md](model.md).",
        "",
        f"**Keys.** {_key_examples(records)}",
        "",
        "**Units.**",
        "",
        "- *money*: an arbitrary currency unit. Prices, unit costs and fees are per customer; budgets and",
        "  fixed costs are per firm.",
        f"- *period*: {period_text}.",
        "  Rates (`1/period`) and the probabilities of things that can happen in any period apply per",
        "  period. *probability* alone is the chance of an outcome once its occasion arises (a complaint,",
        "  a contract expiry).",
        "- *[0,1]*: a score on a scale from 0 (worst, none) to 1 (best, full): satisfaction, trust, service",
        "  quality, bond, attachment. It is not a probability.",
        "- *fraction*: a share of a whole; *utils*: utility in the customers' choice model; *none*: a pure number.",
        "",
        "**Sources.** The source column gives the tag each declaration in `sim/params.py` carries. `sourced: …`",
        "means the default rests on a statement in one of the source documents, named by its key in",
        "[sources.md](sources.md). The documents are German blog and consultancy texts; they give directions",
        "and orderings, almost never magnitudes, so a sourced number is a stylized fact, not a measurement.",
        "`invented` means the documents give no value and we chose a plausible starting point; these are the",
        "natural targets of sensitivity analysis. No tag: a name, a switch, a seed or a structural setting.",
        "",
    ]
    sections: dict[str, list[dict]] = {}
    for rec in records:
        sections.setdefault(rec["section"], []).append(rec)
    header = ["| key | default | unit | range | meaning | source |", "|---|---|---|---|---|---|"]
    for section, recs in sections.items():
        if section == "scenario":
            out += ["## Scenario", "", _doc(schema), ""]
        else:
            field = schema.model_fields[section]
            out += [f"## `{section}`", ""]
            intro = _section_intro(section, field, _classify(field))
            if intro:
                out += [" ".join(intro), ""]
        groups: dict[str | None, list[dict]] = {}
        for rec in recs:
            groups.setdefault(rec["group"], []).append(rec)
        for group, grecs in groups.items():
            if group is not None:
                out += [f"### {section}: `{group}`", ""]
                variant = _variant_of(schema, section, group)
                if variant is not None and _doc(variant):
                    out += [_doc(variant), ""]
            out += header
            for r in grecs:
                out.append("| " + " | ".join(_cell(x) for x in (
                    f"`{r['key']}`", _default_cell(r), r["unit"] or "", r["range"], r["meaning"], r["source"] or "",
                )) + " |")
            out.append("")
    return "\n".join(out)


def _key_examples(records: list[dict]) -> str:
    """How to read the dotted keys, with examples taken from the schema itself."""
    def first(pattern: str, **where) -> dict | None:
        return next((r for r in records if re.fullmatch(pattern, r["key"])
                     and all(r.get(k) == v for k, v in where.items())), None)

    out = []
    plain = first(r"(\w+)\.(\w+)")
    if plain:
        table, key = plain["key"].split(".")
        out.append(f"`{plain['key']}` is the key `{key}` in the `[{table}]` table.")
    listed = first(r"(\w+)\[\]\.(\w+)", group=None)
    if listed:
        table, key = listed["key"].split("[].")
        out.append(f"`{listed['key']}` is `{key}` in every `[[{table}]]` entry.")
    variant = first(r"(\w+)\[(\w+)=([^\]]+)\]\.(\w+)")
    if variant:
        m = re.fullmatch(r"(\w+)\[(\w+)=([^\]]+)\]\.(\w+)", variant["key"])
        table, disc, value = m.group(1), m.group(2), m.group(3)
        text = f"`{variant['key']}` applies to `[[{table}]]` entries with `{disc} = {_toml_value(value)}`"
        shared = next((r for r in records if r["key"].startswith(f"{table}[].") and r["key"] != f"{table}[].{disc}"), None)
        text += f"; `{shared['key']}` applies to every kind." if shared else "."
        out.append(text)
    return " ".join(out)


def _variant_of(schema: type[BaseModel], section: str, group: str) -> type[BaseModel] | None:
    kind, what = _classify(schema.model_fields[section])
    if kind == "list":
        kind, what = what
    if kind != "union":
        return None
    for value, variant in what.by_value.items():
        if group == f"{what.key} = {_toml_value(value)}":
            return variant
    return None


# --------------------------------------------------------------------------------------------------
# Annotated TOML
# --------------------------------------------------------------------------------------------------


def _comment(field: FieldInfo) -> str:
    meaning, unit, _ = parse_description(field.description)
    return "; ".join(x for x in (unit, meaning) if x)


def _is_scalar(v: Any) -> bool:
    return not isinstance(v, dict) and not (isinstance(v, list) and any(isinstance(x, dict) for x in v))


def _inline_comment(field: FieldInfo, model: type[BaseModel], data: dict) -> str:
    """Comment for an inline table: its meaning, then each key's unit, and which keys are unset."""
    meaning, _, _ = parse_description(field.description)
    meaning = meaning or _doc(model)
    units, unset = [], []
    for k, v in data.items():
        sub = model.model_fields.get(k)
        if sub is None:
            continue
        if v is None:
            unset.append(k)
            continue
        _, unit, _ = parse_description(sub.description)
        if unit:
            units.append(f"{k}: {unit}")
    extra = "; ".join(units + ([f"unset: {', '.join(unset)}"] if unset else []))
    return f"{meaning} [{extra}]" if extra else meaning


def _model_for(kind: str, what: Any, value: dict) -> type[BaseModel]:
    if kind == "model":
        return what
    union: _Union = what
    return union.by_value.get(value.get(union.key), union.variants[0])


def _emit(lines: list[str], model: type[BaseModel], data: dict, path: list[str], root: bool) -> None:
    """Write the keys of one table: values (with comments) first, then sub-tables and arrays of tables."""
    rows: list[tuple[str, str]] = []  # (key = value, comment); value '' means a comment-only line
    later: list[tuple[str, Any, Any, FieldInfo]] = []
    union_key = next((u.key for u in _unions_with(model)), None)
    if union_key in data:  # the kind first: it says which keys follow
        data = {union_key: data[union_key], **{k: v for k, v in data.items() if k != union_key}}
    for key, value in data.items():
        field = model.model_fields.get(key)
        if field is None:  # not part of the schema (cannot happen for a validated scenario)
            continue
        kind, what = _classify(field)
        if value is None:
            meaning, unit, _ = parse_description(field.description)
            rows.append((f"# {key} is unset", "; ".join(x for x in (unit, meaning) if x)))
            continue
        if kind in ("model", "union") and isinstance(value, dict):
            sub = _model_for(kind, what, value)
            if not root and all(_is_scalar(v) for v in value.values()):
                rows.append((f"{_toml_key(key)} = {_toml_value(value)}", _inline_comment(field, sub, value)))
            else:
                later.append((key, sub, value, field))
            continue
        if kind == "list" and isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            later.append((key, what, value, field))
            continue
        comment = _doc(model) if key == union_key else _comment(field)
        rows.append((f"{_toml_key(key)} = {_toml_value(value)}", comment))
    width = min(max((len(r[0]) for r in rows if not r[0].startswith("#")), default=0), 40)
    for text, comment in rows:
        if text.startswith("#"):
            lines.append(f"{text}: {comment}" if comment else text)
        elif comment:
            lines.append(f"{text.ljust(width)}  # {comment}")
        else:
            lines.append(text)
    for key, what, value, field in later:
        dotted = ".".join(_toml_key(p) for p in [*path, key])
        if isinstance(value, dict):
            doc = _doc(what) or parse_description(field.description)[0]
            lines += [""] + ([f"# {doc}"] if doc else []) + [f"[{dotted}]"]
            _emit(lines, what, value, [*path, key], root=False)
        else:
            inner_kind, inner = what
            for i, item in enumerate(value):
                sub = _model_for(inner_kind, inner, item)
                lines.append("")
                if i == 0:
                    doc = _doc(inner) if inner_kind == "model" else parse_description(field.description)[0]
                    if doc:
                        lines.append(f"# {doc}")
                lines.append(f"[[{dotted}]]")
                _emit(lines, sub, item, [*path, key], root=False)


def _unions_with(model: type[BaseModel]) -> list[_Union]:
    """The discriminated unions that ``model`` is a variant of (found through the whole schema)."""
    found = []
    for u in _all_unions(Scenario):
        if model in u.variants:
            found.append(u)
    return found


def _all_unions(model: type[BaseModel], seen: set | None = None) -> list[_Union]:
    seen = set() if seen is None else seen
    if model in seen:
        return []
    seen.add(model)
    out = []
    for field in model.model_fields.values():
        kind, what = _classify(field)
        if kind == "list":
            kind, what = what
        if kind == "model":
            out += _all_unions(what, seen)
        elif kind == "union":
            out.append(what)
            for v in what.variants:
                out += _all_unions(v, seen)
    return out


def annotated_toml(scenario: Scenario) -> str:
    """The scenario as TOML with every default filled in, each value commented with unit and meaning.

    Valid as a scenario file: ``Scenario.model_validate(tomllib.loads(annotated_toml(sc))) == sc``.
    Values that are unset (``None``; TOML has no null) are left out, with a comment line saying so.
    """
    data = scenario.model_dump(mode="json")
    lines = [
        f"# Scenario {_toml_string(str(data.get('name', '')))} with every default filled in (retention-sim validate).",
        "# Valid as a scenario file. Units: money = an arbitrary currency unit; period = one model step;",
        "# [0,1] = a score from 0 to 1; rates and per-period probabilities apply per period.",
        "# Ranges and sources of every parameter: docs/parameters.md.",
        "",
    ]
    _emit(lines, type(scenario), data, [], root=True)
    return "\n".join(lines) + "\n"


if __name__ == "__main__":  # pragma: no cover
    sys.stdout.buffer.write(parameters_markdown().encode("utf-8"))
