"""Every `omnisync ...` command the documentation quotes exists, with the options it shows.

The command lines are taken from README.md, docs/*.md and config/channels/README.md: the
lines of ```sh / ```console blocks and the inline code spans that start with `omnisync`.
Each one is run through the Typer app (tests/support/cli_runner.py) with `--help` added at
its end. Click reads every option before it acts on `--help`, so the help only appears
(exit 0) when each sub-command of the path exists and each option is one that command
takes; an unknown sub-command or option exits 2 with "No such command/option". The help
shown must then be the quoted sub-command's, and list every option used with it. Nothing
is executed: no database, no demo.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.cli_runner import CliResult, invoke_cli

REPOSITORY = Path(__file__).resolve().parents[2]
DOCUMENTS = [
    REPOSITORY / "README.md",
    *sorted((REPOSITORY / "docs").glob("*.md")),
    REPOSITORY / "config" / "channels" / "README.md",
]
SHELL_FENCES = {"sh", "console", "bash", "shell"}
FENCE = re.compile(r"^```(\S*)\s*$")
INLINE_CODE = re.compile(r"`([^`]+)`")
COMMAND_START = re.compile(r"(?:^|(?<=[\s;&|(]))omnisync(?=\s|$)")
SHELL_OPERATORS = {"|", "||", "&&", ";", "&"}
OPTION = re.compile(r"^--?[A-Za-z][\w-]*")
USAGE = re.compile(r"Usage: omnisync((?: [a-z][\w-]*)*) ")


@dataclass(frozen=True)
class Quoted:
    document: str
    text: str
    """The command line as quoted, from `omnisync` on."""

    @property
    def variants(self) -> list[list[str]]:
        """The arguments after `omnisync`, placeholders made concrete: `[`/`]` of optional
        parts and `...` dropped, and one variant per alternative of each `a|b|c`."""
        variants: list[list[str]] = [[]]
        for token in self.text.split()[1:]:
            if token in SHELL_OPERATORS or token.startswith((">", "<", "2>")):
                break
            token = token.replace("[", "").replace("]", "")
            if token in ("", "...", "…"):
                continue
            choices = [choice for choice in token.split("|") if choice] or [token]
            variants = [[*variant, choice] for variant in variants for choice in choices]
        return variants

    @property
    def args(self) -> list[str]:
        return self.variants[0]


def shell_lines(lines: list[str]) -> list[str]:
    """A shell block's commands: continuation lines joined, comments and prompts dropped."""
    commands, pending = [], ""
    for line in lines:
        line = re.sub(r"(^|\s)#.*$", "", line).rstrip()
        line = re.sub(r"^\s*\$ ", "", line)
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        commands.append(pending + line)
        pending = ""
    if pending:
        commands.append(pending)
    return commands


def quoted_commands(text: str, document: str) -> list[Quoted]:
    """The `omnisync` command lines of a Markdown text, in order."""
    found: list[str] = []
    prose: list[str] = []
    fence: str | None = None
    block: list[str] = []
    for line in text.splitlines():
        match = FENCE.match(line.strip())
        if fence is None and match:
            fence, block = match.group(1), []
            prose.append("")
        elif fence is not None and line.strip() == "```":
            if fence in SHELL_FENCES:
                for command in shell_lines(block):
                    start = COMMAND_START.search(command)
                    if start:
                        found.append(command[start.start() :])
            fence = None
        elif fence is not None:
            block.append(line)
        else:
            prose.append(line)
    # inline code may wrap onto the next line, never across a blank line
    for paragraph in "\n".join(prose).split("\n\n"):
        for span in INLINE_CODE.findall(paragraph):
            code = " ".join(span.replace("\\|", "|").split())
            code = re.sub(r"^\$ ", "", code)
            if COMMAND_START.match(code):
                found.append(code)
    return [Quoted(document, command) for command in dict.fromkeys(found)]


def quoted_in_documents() -> list[Quoted]:
    commands: list[Quoted] = []
    for path in DOCUMENTS:
        if path.is_file():
            relative = str(path.relative_to(REPOSITORY))
            commands += quoted_commands(path.read_text(encoding="utf-8"), relative)
    return commands


def listed_options(help_text: str) -> set[str]:
    """The option names a help screen lists (first column of its Options panel)."""
    names: set[str] = set()
    for line in help_text.splitlines():
        row = line.strip().strip("│").strip().removeprefix("*").strip()
        while (match := OPTION.match(row)) is not None:
            names.add(match.group(0))
            row = row[match.end() :].lstrip(" ,")
    return names


def command_path(result: CliResult) -> list[str]:
    match = USAGE.search(result.stdout)
    assert match is not None, result
    return match.group(1).split()


def problems_of(quoted: Quoted, tmp_path: Path) -> list[str]:
    """Why the quoted command would not be accepted; empty when it would."""
    return [
        problem for args in quoted.variants for problem in problems_of_args(quoted, args, tmp_path)
    ]


def problems_of_args(quoted: Quoted, args: list[str], tmp_path: Path) -> list[str]:
    config_dir, database_url = tmp_path / "config", f"sqlite:///{tmp_path / 'unused.db'}"
    run = f"omnisync {' '.join(args)}".strip()
    shown = (
        f"`{quoted.text}` ({quoted.document}{f', run as `{run}`' if run != quoted.text else ''})"
    )
    result = invoke_cli(config_dir, database_url, *args, "--help")
    if result.exit_code != 0:
        error = " ".join(re.sub("[─│╭╮╰╯]", " ", result.stderr).split()) or result.stdout
        return [f"{shown}: {error}"]
    path = command_path(result)
    starts = [i for i in range(len(args) + 1) if args[i : i + len(path)] == path]
    if not starts:
        return [f"{shown}: --help showed `omnisync {' '.join(path)}`"]
    # options before the sub-command path are the root's, the others the leaf's
    first_word = starts[0] if path else len(args)
    problems = []
    leaf_options = listed_options(result.stdout)
    root_options = listed_options(invoke_cli(config_dir, database_url, "--help").stdout)
    for index, arg in enumerate(args):
        match = OPTION.match(arg)
        if match is None:
            continue
        known = root_options if index < first_word else leaf_options
        if match.group(0) not in known:
            where = " ".join(["omnisync", *(path if index >= first_word else [])])
            problems.append(f"{shown}: {where} lists no {arg}")
    return problems


QUOTED = quoted_in_documents()


def test_the_documents_quote_the_commands_users_need() -> None:
    """The extraction finds what the README is known to quote (it cannot pass empty)."""
    texts = [quoted.text for quoted in QUOTED if quoted.document == "README.md"]
    paths = {" ".join(word for word in Quoted("", t).args if not OPTION.match(word)) for t in texts}
    for expected in ("demo", "check", "run", "status", "orders ship", "sync fulfilments"):
        assert any(path.startswith(expected) for path in paths), (expected, sorted(paths))
    assert any("--log-format" in text for text in texts)


@pytest.mark.parametrize("quoted", QUOTED, ids=lambda quoted: quoted.text)
def test_a_quoted_command_and_its_options_exist(quoted: Quoted, tmp_path: Path) -> None:
    assert problems_of(quoted, tmp_path) == []


@pytest.mark.parametrize(
    ("line", "complaint"),
    [
        ("omnisync stock frobnicate SKU", "No such command 'frobnicate'"),
        ("omnisync orders ship ID --carrier ups --tracking 1Z --parcel 2", "--parcel"),
        ("omnisync run --log-format json", "--log-format"),
        ("omnisync --verbose status", "--verbose"),
        ("omnisync sync orders --channels shop", "--channels"),
        ("omnisync stock show|peek SKU", "No such command 'peek'"),
    ],
)
def test_a_command_or_option_that_does_not_exist_is_reported(
    tmp_path: Path, line: str, complaint: str
) -> None:
    (quoted,) = quoted_commands(f"```sh\n{line}\n```\n", "example.md")
    (problem,) = problems_of(quoted, tmp_path)
    assert complaint in problem


def test_commands_are_found_in_blocks_tables_and_wrapped_inline_code() -> None:
    text = (
        "```sh\n$ omnisync stock show SKU   # one SKU\n"
        "docker compose exec hub omnisync status\nmake demo\n```\n\n"
        "| `omnisync sync orders\\|stock [--channel NAME]` | run |\n\n"
        "Run `omnisync orders ship ID --carrier C --tracking N [--line\n"
        "SKU:QTY ...]` and `omnisync status >/dev/null || page-someone`;\n"
        "`omnisync_alerts_open` is a metric.\n\n"
        '```json\n{"omnisync": "not a command"}\n```\n'
    )
    assert [quoted.args for quoted in quoted_commands(text, "example.md")] == [
        ["stock", "show", "SKU"],
        ["status"],
        ["sync", "orders", "--channel", "NAME"],
        ["orders", "ship", "ID", "--carrier", "C", "--tracking", "N", "--line", "SKU:QTY"],
        ["status"],
    ]


def test_readme_opens_with_make_demo_and_make_test() -> None:
    text = (REPOSITORY / "README.md").read_text(encoding="utf-8")
    first_block = text.split("```sh\n", 1)[1].split("```", 1)[0]
    assert [line.split()[:2] for line in first_block.splitlines()] == [
        ["make", "demo"],
        ["make", "test"],
    ]
    assert text.index("```sh") < text.index("\n## ")


@pytest.mark.parametrize(
    "path",
    [path for path in DOCUMENTS if path.is_file()],
    ids=lambda path: str(path.relative_to(REPOSITORY)),
)
def test_the_documents_stay_inside_the_repository_and_cite_no_issue(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert "../" not in text
    assert not re.search(r"\bshared/", text)
    assert not re.search(r"\bissues? #?\d+", text, re.IGNORECASE)
