"""The command-line reference, derived from the argparse parser in :mod:`sim.cli`.

:func:`cli_markdown` walks ``sim.cli.parser()`` (the global options, then every subcommand that exists,
in the order the parser lists them) and renders ``docs/cli.md``: for each command its description, its
usage line and a table of its arguments with their defaults and help. Nothing here names a command or an
option, so a subcommand added to the parser appears in the reference after::

    python -m sim.docs_gen > docs/cli.md

``tests/test_docs.py`` fails while ``docs/cli.md`` differs from what this prints.
"""

from __future__ import annotations

import argparse
import re
import sys

__all__ = ["cli_markdown", "REGENERATE"]

REGENERATE = "python -m sim.docs_gen > docs/cli.md"
WIDTH = 100  # usage lines are wrapped at this width, whatever the terminal


def _text(text: str) -> str:
    """Help text as Markdown: one line, with ``<`` and ``>`` shown rather than read as HTML."""
    return " ".join(str(text).split()).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _cell(text: str) -> str:
    """Text for a Markdown table cell: one line, pipes escaped."""
    return _text(text).replace("|", r"\|")


def _sentence(text: str) -> str:
    """``text`` starting with a capital and ending with a full stop."""
    text = _text(text)
    if text and not text.endswith((".", "!", "?")):
        text += "."
    return text[:1].upper() + text[1:]


def _failures(module_doc: str | None) -> str:
    """The paragraph of the CLI module's docstring that says how failures are reported, without its
    remarks on imports ('' if there is none)."""
    for paragraph in (module_doc or "").split("\n\n"):
        if paragraph.strip().startswith("Every failure"):
            sentences = re.split(r"(?<=\.) ", " ".join(paragraph.replace("``", "`").split()))
            return " ".join(s for s in sentences if "import" not in s)  # how users see failures, not internals
    return ""


def _help(action: argparse.Action, prog: str) -> str:
    """An action's help with argparse's ``%(default)s``-style fields filled in."""
    text = action.help or ""
    if "%" in text:
        params = {k: v for k, v in vars(action).items() if v is not argparse.SUPPRESS}
        params["prog"] = prog
        if params.get("choices") is not None:
            params["choices"] = ", ".join(map(str, params["choices"]))
        try:
            text = text % params
        except (KeyError, TypeError, ValueError):
            pass
    return text


def _usage(parser: argparse.ArgumentParser) -> str:
    """The usage line, wrapped at :data:`WIDTH` independently of the terminal."""
    formatter = argparse.HelpFormatter(parser.prog, width=WIDTH)
    formatter.add_usage(parser.usage, parser._actions, parser._mutually_exclusive_groups)
    return formatter.format_help().strip()


def _name(action: argparse.Action) -> str:
    """How an argument is written: ``--seed SEED``, ``--force``, or the positional's metavar."""
    if not action.option_strings:
        return f"`{(action.metavar or action.dest).upper() if isinstance(action.metavar or action.dest, str) else action.dest}`"
    flags = ", ".join(action.option_strings)
    if action.nargs == 0:
        return f"`{flags}`"
    metavar = action.metavar or action.dest.upper()
    return f"`{flags} {metavar}`"


def _default(action: argparse.Action) -> str:
    if action.nargs == 0 or action.default in (None, argparse.SUPPRESS) or action.default == []:
        return ""
    return f"`{action.default}`"


def _arguments_table(parser: argparse.ArgumentParser) -> list[str]:
    rows = []
    for action in parser._actions:
        if isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)) or action.help == argparse.SUPPRESS:
            continue
        note = " (repeatable)" if isinstance(action, argparse._AppendAction) and "repeatable" not in (action.help or "") else ""
        if not action.option_strings and action.nargs == "?":
            note += " (optional)"
        rows.append(f"| {_name(action)} | {_default(action)} | {_cell(_help(action, parser.prog) + note)} |")
    if not rows:
        return ["No arguments.", ""]
    return ["| argument | default | meaning |", "|---|---|---|", *rows, ""]


def _subcommands(parser: argparse.ArgumentParser) -> list[tuple[str, str, argparse.ArgumentParser]]:
    """(name, one-line help, parser) of every subcommand, in the parser's order."""
    out = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help or "" for a in action._choices_actions}
            out += [(name, helps.get(name, ""), sub) for name, sub in action.choices.items()]
    return out


def cli_markdown(parser: argparse.ArgumentParser | None = None) -> str:
    """The full text of ``docs/cli.md`` for ``parser`` (default: ``sim.cli.parser()``)."""
    from . import cli

    parser = parser if parser is not None else cli.parser()
    prog = parser.prog
    commands = _subcommands(parser)
    out = [
        "# Command-line reference",
        "",
        f"<!-- Generated from the argparse parser in sim/cli.py by `{REGENERATE}`. Do not edit by hand. -->",
        "",
        f"{_sentence(parser.description or '')} The command is `{prog}`, installed into `.venv/bin/` by `./bootstrap.sh`.",
        "",
        "```text",
        _usage(parser),
        "```",
        "",
        "| command | what it does |",
        "|---|---|",
        *[f"| [`{name}`](#{prog}-{name}) | {_cell(help_)} |" for name, help_, _ in commands],
        "",
        "Options before the command:",
        "",
        *_arguments_table(parser),
    ]
    failures = _failures(cli.__doc__)
    if failures:
        out += [failures, ""]
    for name, help_, sub in commands:
        out += [f"## `{prog} {name}`", ""]
        description = sub.description or help_
        if description:
            out += [_sentence(description), ""]
        out += ["```text", _usage(sub), "```", "", *_arguments_table(sub)]
    return "\n".join(out).rstrip("\n") + "\n"


if __name__ == "__main__":  # pragma: no cover
    sys.stdout.buffer.write(cli_markdown().encode("utf-8"))
