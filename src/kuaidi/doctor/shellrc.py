"""Shell start-up files: a ``.bashrc`` that sources itself (every shell recurses until it dies)
and exports that silently undo kuaidi's env file."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

from kuaidi.doctor.context import Context
from kuaidi.doctor.model import Finding, check

RC_NAMES = (".bashrc", ".bash_profile", ".bash_login", ".profile", ".zshrc", ".zprofile")
_SOURCE = re.compile(r"(?:^\s*|[;&|]\s*|\bthen\s+)(?:source|\.)\s+(\S+)")
_EXEC_SHELL = re.compile(r"^\s*exec\s+(?:/\S+/)?(bash|zsh)\s*(?:-l|--login)?\s*$")
_EXPORT = re.compile(r"^\s*export\s+([A-Za-z_][A-Za-z0-9_]*)=(.*)$")
_ENV_FILE_EXPORT = re.compile(r'^export ([A-Za-z_][A-Za-z0-9_]*)="(.*)"$')
KUAIDI_MARK = "# kuaidi"


def rc_files(ctx: Context) -> list[Path]:
    """The start-up files that exist in HOME."""
    return [ctx.home / n for n in RC_NAMES if (ctx.home / n).is_file()]


def rc_lines(path: Path) -> list[tuple[int, str]]:
    """(line number, text) of every line that is not blank or a comment."""
    try:
        text = path.read_text("utf-8", errors="replace")
    except OSError:
        return []
    return [
        (i, line)
        for i, line in enumerate(text.splitlines(), 1)
        if line.strip() and not line.lstrip().startswith("#")
    ]


_FUNCTION_START = re.compile(r"^\s*(function\s+[\w-]+|[\w-]+\s*\(\s*\))\s*\{?\s*$")


def top_level_lines(path: Path) -> list[tuple[int, str]]:
    """``rc_lines`` outside shell function bodies (a ``turbo() { source …; }`` helper is fine)."""
    found, depth = [], 0
    for number, line in rc_lines(path):
        if depth == 0 and _FUNCTION_START.match(line):
            depth = 1 if "{" in line else -1  # -1: the body's brace is on the next line
            continue
        if depth == -1:
            depth = 1 if line.strip().startswith("{") else 0
            continue
        if depth > 0:
            if line.strip() == "}":
                depth = 0
            continue
        found.append((number, line))
    return found


def _resolve(ctx: Context, word: str) -> Path | None:
    try:
        word = shlex.split(word)[0]
    except (ValueError, IndexError):
        word = word.strip("'\"")
    for prefix in ("~/", "$HOME/", "${HOME}/"):
        if word.startswith(prefix):
            return ctx.home / word[len(prefix) :]
    if word.startswith("/"):
        return ctx.on_box(word)
    return None


def sourced_by(ctx: Context, path: Path) -> list[tuple[int, str, Path]]:
    """(line, text, start-up file) for each start-up file ``path`` sources."""
    found = []
    for number, line in top_level_lines(path):  # a `reload() { . ~/.bashrc; }` helper is fine
        for word in _SOURCE.findall(line):
            target = _resolve(ctx, word)
            if target is not None and target.name in RC_NAMES and target.parent == ctx.home:
                found.append((number, line.strip(), target))
    return found


@check("shellrc.self_source", "error", "no start-up file sources itself")
def check_self_source(ctx: Context) -> list[Finding]:
    findings = []
    graph = {p: sourced_by(ctx, p) for p in rc_files(ctx)}
    for start, edges in graph.items():
        for number, line, target in edges:
            # a cycle: start → target → … → start
            if not _reaches(graph, target, start):
                continue
            where = "itself" if target == start else f"{target.name}, which sources it back"
            findings.append(
                Finding(
                    "shellrc.self_source",
                    "error",
                    f"{start} sources {where}: every new shell recurses until bash gives up",
                    (f"{start}:{number}: {line}",),
                    f"sed -i '{number}d' {start}",
                )
            )
        if start.name in (".bashrc", ".zshrc"):
            for number, line in rc_lines(start):
                if _EXEC_SHELL.match(line):
                    findings.append(
                        Finding(
                            "shellrc.self_source",
                            "error",
                            f"{start} runs `{line.strip()}`: the new shell reads "
                            f"{start.name} again",
                            (f"{start}:{number}: {line.strip()}",),
                            f"sed -i '{number}d' {start}",
                        )
                    )
    return findings


def _reaches(graph: dict[Path, list[tuple[int, str, Path]]], node: Path, goal: Path) -> bool:
    seen: set[Path] = set()
    stack = [node]
    while stack:
        current = stack.pop()
        if current == goal:
            return True
        if current in seen:
            continue
        seen.add(current)
        stack += [t for _, _, t in graph.get(current, [])]
    return False


def kuaidi_exports(ctx: Context) -> dict[str, str]:
    """Variables kuaidi's env file exports (empty when ``kuaidi setup`` has not run)."""
    try:
        text = ctx.kuaidi_env_file.read_text("utf-8")
    except OSError:
        return {}
    found = {}
    for line in text.splitlines():  # top-level `export NAME="value"` only, not turbo_on's body
        match = _ENV_FILE_EXPORT.match(line)
        if match:
            found[match.group(1)] = re.sub(r'\\([\\"$`])', r"\1", match.group(2))
    return found


@check("shellrc.override", "warning", "nothing re-exports what kuaidi's env file sets")
def check_override(ctx: Context) -> list[Finding]:
    ours = kuaidi_exports(ctx)
    if not ours:
        return []
    findings = []
    for path in rc_files(ctx):
        lines = rc_lines(path)
        marks = [n for n, line in lines if line.rstrip().endswith(KUAIDI_MARK)]
        if not marks:
            continue
        for number, line in lines:
            match = _EXPORT.match(line)
            if number > marks[0] and match and match.group(1) in ours:
                value = match.group(2).strip().strip("'\"")
                if value != ours[match.group(1)]:
                    findings.append(
                        Finding(
                            "shellrc.override",
                            "warning",
                            f"{path.name} sets {match.group(1)} again after kuaidi's line, "
                            "undoing kuaidi setup in every new shell",
                            (
                                f"{path}:{number}: {line.strip()}",
                                f"kuaidi: {match.group(1)}={ours[match.group(1)]}",
                            ),
                            f"sed -i '{number}d' {path}",
                        )
                    )
    return findings
