"""The zh-Hans catalogue: every string the code marks for translation has a Chinese
translation, the catalogue compiles, and the committed ``.mo`` is the ``.po`` compiled
(issue #14 item 4).

``makemessages`` runs on a copy of the package, so the real ``.po`` is never rewritten:
the copy's catalogue is merged with the code as it is now, and any entry left without a
translation, or only with a guess (``fuzzy``), is a word a user would read in English.
"""

from __future__ import annotations

import gettext
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.core.management import call_command

import campus_safety

PACKAGE = Path(campus_safety.__file__).parent
CATALOGUE = Path("locale", "zh_Hans", "LC_MESSAGES")
PO = PACKAGE / CATALOGUE / "django.po"
MO = PACKAGE / CATALOGUE / "django.mo"
# Apps with a catalogue of their own (newer apps keep their words beside their code, so
# that work on one app never rewrites another's catalogue); the package's catalogue
# holds everything else.
APP_CATALOGUES = sorted(
    d.name for d in PACKAGE.iterdir() if (d / CATALOGUE / "django.po").is_file()
)
# What makemessages need not read: run-time data, static files, compiled catalogues,
# migrations (their strings are frozen copies of the models').
NOT_SOURCE = shutil.ignore_patterns("var", "static", "__pycache__", "*.mo", "migrations")


def _package_sources(folder: str, names: list[str]) -> set[str]:
    """The package's own sources: apps with their own catalogue are read on their own."""
    ignored = set(NOT_SOURCE(folder, names))
    if Path(folder) == PACKAGE:
        ignored |= set(APP_CATALOGUES) & set(names)
    return ignored


def _catalogue(app: str) -> tuple[Path, Path, Path]:
    """(source folder, .po, .mo) of the package's catalogue ("") or an app's."""
    source = PACKAGE / app if app else PACKAGE
    return source, source / CATALOGUE / "django.po", source / CATALOGUE / "django.mo"


@dataclass
class Entry:
    msgid: str = ""
    msgid_plural: str = ""
    msgctxt: str | None = None
    msgstr: list[str] = field(default_factory=list)
    flags: set[str] = field(default_factory=set)
    where: list[str] = field(default_factory=list)

    def describe(self) -> str:
        context = f"[{self.msgctxt}] " if self.msgctxt is not None else ""
        return f"{context}{self.msgid!r} ({' '.join(self.where[:2]) or 'no source'})"


_STRING = re.compile(r'"((?:[^"\\]|\\.)*)"')


def _unquote(line: str) -> str:
    text = _STRING.search(line).group(1)
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), text)


def read_po(path: Path) -> list[Entry]:
    """The live entries of a .po file (obsolete ``#~`` ones left out)."""
    entries: list[Entry] = []
    entry, target = Entry(), None

    def finish() -> None:
        nonlocal entry, target
        if target is not None:
            entries.append(entry)
        entry, target = Entry(), None

    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            finish()
        elif line.startswith("#~"):
            continue
        elif line.startswith("#,"):
            entry.flags.update(flag.strip() for flag in line[2:].split(","))
        elif line.startswith("#:"):
            entry.where.extend(line[2:].split())
        elif line.startswith("#"):
            continue
        elif line.startswith("msgctxt "):
            if target is not None and target != "msgctxt":
                finish()
            entry.msgctxt, target = _unquote(line), "msgctxt"
        elif line.startswith("msgid_plural "):
            entry.msgid_plural, target = _unquote(line), "msgid_plural"
        elif line.startswith("msgid "):
            if target not in (None, "msgctxt"):
                finish()
            entry.msgid, target = _unquote(line), "msgid"
        elif line.startswith("msgstr"):
            entry.msgstr.append(_unquote(line))
            target = "msgstr"
        elif line.startswith('"') and target is not None:
            if target == "msgstr":
                entry.msgstr[-1] += _unquote(line)
            elif target == "msgctxt":
                entry.msgctxt = (entry.msgctxt or "") + _unquote(line)
            else:
                setattr(entry, target, getattr(entry, target) + _unquote(line))
    finish()
    return entries


def untranslated(entries: list[Entry]) -> list[Entry]:
    return [e for e in entries if e.msgid and ("fuzzy" in e.flags or not all(s for s in e.msgstr))]


def test_the_reader_sees_empty_fuzzy_and_plural_entries(tmp_path):
    po = tmp_path / "django.po"
    po.write_text(
        'msgid ""\nmsgstr ""\n"Plural-Forms: nplurals=1; plural=0;\\n"\n\n'
        '#: a.py:1\n#, python-format\nmsgid "%(n)s done"\nmsgstr "已完成 %(n)s"\n\n'
        '#: b.html:2\nmsgid "Open"\nmsgstr ""\n\n'
        '#: c.py:3\n#, fuzzy\n#| msgid "Opened"\nmsgctxt "state"\nmsgid "Open"\nmsgstr "立案"\n\n'
        '#: d.py:4\nmsgid ""\n"a long "\n"one"\nmsgid_plural "ones"\nmsgstr[0] ""\n\n'
        '#~ msgid "gone"\n#~ msgstr "没了"\n',
        encoding="utf-8",
    )
    entries = read_po(po)
    assert [e.msgid for e in entries] == ["", "%(n)s done", "Open", "Open", "a long one"]
    assert entries[3].msgctxt == "state" and entries[4].msgid_plural == "ones"
    assert [e.describe() for e in untranslated(entries)] == [
        "'Open' (b.html:2)",
        "[state] 'Open' (c.py:3)",
        "'a long one' (d.py:4)",
    ]


CATALOGUES = pytest.mark.parametrize("app", ["", *APP_CATALOGUES], ids=["package", *APP_CATALOGUES])


@CATALOGUES
def test_every_marked_string_has_a_chinese_translation(app, tmp_path, monkeypatch, settings):
    """makemessages on a copy of the sources: the catalogue merged with today's code."""
    source, po, _mo = _catalogue(app)
    copy = tmp_path / (app or "campus_safety")
    shutil.copytree(source, copy, ignore=_package_sources if not app else NOT_SOURCE)
    monkeypatch.chdir(copy)
    settings.LOCALE_PATHS = [copy / "locale"]
    call_command("makemessages", locale=["zh_Hans"], no_obsolete=True, verbosity=0)
    missing = untranslated(read_po(copy / CATALOGUE / "django.po"))
    assert not missing, (
        f"{len(missing)} strings have no zh-Hans translation (empty, or a fuzzy guess) — "
        f"add them to {po.relative_to(PACKAGE.parent)}:\n"
        + "\n".join(e.describe() for e in missing)
    )


@CATALOGUES
def test_the_catalogue_compiles_and_the_committed_mo_is_the_po_compiled(app, tmp_path):
    _source, PO, MO = _catalogue(app)
    compiled = tmp_path / "django.mo"
    subprocess.run(
        ["msgfmt", "--check", "-o", str(compiled), str(PO)],
        check=True,
        capture_output=True,
        text=True,
    )
    with compiled.open("rb") as fresh, MO.open("rb") as committed:
        fresh_messages = gettext.GNUTranslations(fresh)._catalog
        committed_messages = gettext.GNUTranslations(committed)._catalog
    stale = {
        key for key in fresh_messages.keys() | committed_messages.keys()
        if fresh_messages.get(key) != committed_messages.get(key)
    }  # fmt: skip
    assert not stale, (
        f"django.mo differs from django.po in {len(stale)} messages, e.g. "
        f"{sorted(map(str, stale))[:5]}; recompile: msgfmt --check -o {MO} {PO}"
    )
