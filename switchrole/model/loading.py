"""Loading an accounts file: bounded reading, the YAML parse with line numbers, the schema, every problem in words.

Loading collects every problem (with its field path and file line) before it gives up, so one run of
``switchrole validate`` shows the whole list; then cross references (:mod:`.references`) and resolution
(:mod:`.resolve`) give the :class:`~switchrole.model.organisation.Organisation`.
"""

from __future__ import annotations

import datetime
import math
import os
import re
import struct
import types
import typing
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path as FsPath
from typing import Any

from pydantic import BaseModel, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, TaggedScalar
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.reader import ReaderError

from switchrole.model.errors import ConfigError, Path, Problem, sorted_problems
from switchrole.model.organisation import (
    Organisation,
)
from switchrole.model.references import (
    check_references,
)
from switchrole.model.resolve import resolve
from switchrole.model.schema import OrganisationSpec
from switchrole.model.text import described, short, suggest
from switchrole.model.yaml_bounds import (
    MAX_DEPTH,
    MAX_LINES,
    CheckingComposer,
    MergeKeysComposer,
    Refused,
    count_lines,
    prescan,
)
from switchrole.model.yaml_lines import LocatingConstructor, locate_line
from switchrole.model.yaml_messages import in_words

# --------------------------------------------------------------------------- loading


MAX_FILE_BYTES = 2_000_000  # accounts files of 5,000 accounts are under 1 MB
MAX_VALUES = 1_000_000  # values in the parsed file, aliases expanded (5,000 accounts: ~60,000)
# The limits on the YAML as written (lines, nodes, anchors, depth) are in yaml_bounds.


def read_text(path: str | FsPath, what: str = "the file", limit: int = MAX_FILE_BYTES) -> str:
    """A regular UTF-8 file of at most ``limit`` bytes, or :class:`ConfigError` saying why not: a FIFO would
    block forever and /dev/zero would never end, so anything but a regular file is refused before reading."""
    import stat

    source = str(path)
    try:
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode):
            raise ConfigError.single((), f"{what} is not a regular file", source)
        if info.st_size > limit:
            raise ConfigError.single((), f"{what} is {info.st_size:,} bytes; at most {limit:,} are read", source)
        with open(path, "rb") as handle:
            data = handle.read(limit + 1)
    except OSError as exc:
        raise ConfigError.single((), f"cannot read {what}: {exc.strerror or exc}", source) from None
    if len(data) > limit:
        raise ConfigError.single((), f"{what} is over {limit:,} bytes", source)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        byte = data[exc.start]
        raise ConfigError.single((), f"not UTF-8: byte 0x{byte:02x} (save the file as UTF-8)", source, line) from None


def load(path: str | FsPath) -> Organisation:
    """Read and validate an accounts file; raise :class:`ConfigError` listing every problem."""
    return loads(read_text(path), str(path))


def loads(text: str, source: str = "accounts.yaml", *, merge_keys: bool = False) -> Organisation:
    """Validate accounts-file text (see :func:`load`); ``merge_keys``: see :func:`parse_yaml`."""
    root = parse_yaml(text, source, merge_keys=merge_keys)
    return from_data(to_plain(root, source), source, locate=lambda path: locate_line(root, path))


def from_data(
    data: Mapping[str, Any],
    source: str = "(generated)",
    *,
    locate: Callable[[Path], int | None] = lambda _: None,
) -> Organisation:
    """Validate parsed data: the schema, then cross references; ``locate`` maps field paths to file lines
    (generated organisations and benchmarks have none)."""
    try:
        spec = OrganisationSpec.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(sorted_problems(_schema_problems(exc, locate)), source) from None
    problems = check_references(spec)
    if problems:
        raise ConfigError(sorted_problems(ConfigError(problems).with_lines(locate).problems), source)
    return resolve(spec, source)


def parse_yaml(text: str, source: str, *, merge_keys: bool = False) -> CommentedMap:
    """Parse with ruamel.yaml (round-trip mode keeps line numbers for error messages). ``merge_keys`` lets
    YAML merge keys through (refused otherwise: :mod:`switchrole.model.yaml_merge`), for a base revision that an
    earlier switchrole accepted."""
    if len(text) > MAX_FILE_BYTES:
        raise ConfigError.single((), f"the file is over {MAX_FILE_BYTES:,} characters", source)
    lines = count_lines(text)
    if lines > MAX_LINES:
        raise ConfigError.single((), f"the file has {lines:,} lines; at most {MAX_LINES:,} are read", source)
    yaml = YAML(typ="rt")
    yaml.Composer = MergeKeysComposer if merge_keys else CheckingComposer
    yaml.Constructor = LocatingConstructor
    try:
        prescan(
            text, merge_keys=merge_keys
        )  # the limits, cheaply, before ruamel's (pure Python) parser composes anything
        root = yaml.load(text)
    except Refused as exc:
        raise ConfigError.single(exc.path, exc.message, source, exc.line) from None
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark is not None else (None, None)
        what = in_words((exc.problem or exc.context or "parse error").strip())
        raise ConfigError.single((), f"not valid YAML: {short(what, 200)[1:-1]}", source, line, column) from None
    except ReaderError as exc:  # a character YAML does not allow, found before anything is parsed
        line, column = _line_and_column(text, exc.position)
        raise ConfigError.single((), _unreadable_character(exc.character), source, line, column) from None
    except YAMLError as exc:
        raise ConfigError.single((), f"not valid YAML: {short(str(exc).splitlines()[0], 200)[1:-1]}", source) from None
    except RecursionError:
        raise ConfigError.single((), f"not valid YAML: nested more than {MAX_DEPTH} levels", source) from None
    except Exception as exc:  # the parser's own failures (a 5,000-digit number, a %YAML 1.3 header, ...)
        reason = short(str(exc).splitlines()[0] if str(exc) else type(exc).__name__, 200)[1:-1]
        raise ConfigError.single((), f"not valid YAML: {reason}", source) from None
    if root is None:
        raise ConfigError.single((), "the file is empty; see accounts.yaml in the repository for an example", source)
    if not isinstance(root, CommentedMap):
        raise ConfigError.single(
            (), f"the top level must be a mapping (hub:, roles:, accounts:, ...), not {_describe(root)}", source, 1
        )
    return root


_LINE_BREAKS = ("\n", "\r", "\x85", "\u2028", "\u2029")


def _line_and_column(text: str, position: int) -> tuple[int, int]:
    """1-based line and column of character ``position``, counting lines as YAML does (:func:`count_lines`)."""
    before = text[:position]
    start = max(before.rfind(end) for end in _LINE_BREAKS) + 1
    return count_lines(before) + 1, position - start + 1


def _unreadable_character(character: Any) -> str:
    """What YAML's reader refused (a control character, most often), in words."""
    import unicodedata

    code = character if isinstance(character, int) else ord(str(character)[:1] or "\0")
    kind = "control character" if unicodedata.category(chr(code)) == "Cc" else "character"
    return (
        f"not valid YAML: {kind} U+{code:04X}, which YAML does not allow in a file: delete it (in a "
        f'double-quoted string, write it as the escape "\\u{code:04X}")'
    )


def to_plain(node: Any, source: str = "accounts.yaml") -> Any:
    """ruamel's round-trip types -> plain dict/list/str/int/float/bool/None for strict pydantic, and only those:
    policy documents end up as JSON, so a date, a YAML tag, bytes or a set is refused (naming the field), as
    are non-finite numbers, non-string keys, self-referencing aliases, deep nesting, and aliases that expand to
    more than :data:`MAX_VALUES` values (checked while expanding, so an alias bomb stops early). Synthesis must
    carry every value as written: integers beyond 2^53, lone surrogates and CDK's token markers are refused."""
    budget = [MAX_VALUES]
    root = node

    def fail(path: Path, message: str, line: int | None = None) -> ConfigError:
        return ConfigError.single(path, message, source, line or locate_line(root, path))

    def plain(value: Any, path: Path, parents: tuple[int, ...]) -> Any:
        budget[0] -= 1
        if budget[0] < 0:
            raise fail((), f"the file expands to more than {MAX_VALUES:,} values (YAML aliases repeating content?)")
        if len(parents) > MAX_DEPTH:
            raise fail(path, f"nested more than {MAX_DEPTH} levels")
        if isinstance(value, Mapping | list) and id(value) in parents:
            raise fail(path, "refers to itself (a YAML alias inside its own anchor)")
        inner = (*parents, id(value))
        if isinstance(value, Mapping):
            result = {}
            for key, item in value.items():
                if not isinstance(key, str):
                    raise fail(path, _key_problem(key), _key_line(value, key))
                checked(str(key), (*path, str(key)))
                result[str(key)] = plain(item, (*path, str(key)), inner)
            return result
        if isinstance(value, list):
            return [plain(item, (*path, i), inner) for i, item in enumerate(value)]
        if isinstance(value, bool) or value is None:
            return value
        if isinstance(value, str) and not isinstance(value, TaggedScalar):
            return checked(str(value), path)
        if isinstance(value, TaggedScalar) and str(value.tag) == "tag:yaml.org,2002:str":  # !!str, let in
            return checked(str(value.value), path)
        if isinstance(value, int):
            if abs(value) > MAX_EXACT_INTEGER:  # JSON numbers are doubles: CDK would write a rounded one, or null
                raise fail(path, f"{short(value)} is not a number JSON can carry exactly (at most 2^53 - 1)")
            return int(value)
        if isinstance(value, float):
            if not math.isfinite(value):
                raise fail(path, f"{value} is not a number JSON can carry")
            if struct.unpack("<Q", struct.pack("<d", value))[0] >> 48 == _CDK_NUMBER_TOKEN_BITS:
                raise fail(path, f"{value!r} is how CDK encodes a number token: {_CDK_TOKEN_EFFECT}")
            return float(value)
        if isinstance(value, datetime.datetime) and _until_path(path):  # an unquoted YAML timestamp
            # a plain datetime: ruamel's TimeStamp loses its zone when copied; the schema checks it is UTC
            return datetime.datetime(*value.timetuple()[:6], value.microsecond, tzinfo=value.tzinfo)
        if isinstance(value, datetime.date) and _until_path(path):
            return value  # a date without a time: the schema says what to write instead
        what = f"YAML tag {value.tag.value}" if isinstance(value, TaggedScalar) else described(value)
        if isinstance(value, datetime.date):  # ruamel's TimeStamp, or a date
            what = "a date (an unquoted timestamp)"
        raise fail(path, f"{what} is not allowed here: only strings, numbers, booleans, lists and maps (quote it)")

    def checked(text: str, path: Path) -> str:
        """A string synth can carry as written: whole Unicode characters, and no CDK token marker."""
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise fail(
                path,
                f"not valid Unicode: a lone surrogate U+{ord(text[exc.start]):04X} (a YAML escape must encode "
                "a whole character: \\U0001F600, not two \\u halves)",
            ) from None
        if "Token[" in text or "e+289" in text:
            found = _CDK_TOKEN.search(text)
            if found:
                raise fail(path, f"{found.group()!r} is how CDK marks a token: {_CDK_TOKEN_EFFECT}")
        return text

    return plain(node, (), ())


def _key_problem(key: Any) -> str:
    """Why a map key that is not a string is refused, in the words of the file (never a parser type)."""
    if isinstance(key, tuple | list):  # `? [a, b]: x` or `{[a]: 1}`
        what = "a list (a key written as [..] or ? [..])"
    elif isinstance(key, Mapping):
        what = "a map (a key written as {..} or ? {..})"
    elif key is None:
        what = "empty (null)"
    elif isinstance(key, bool):
        what = f"the boolean {str(key).lower()}: quote it if it is a name"
    elif isinstance(key, int | float):
        number = short(str(key), 40)[1:-1]
        what = f"the number {number}: quote it if it is a name ('{number}')"
    elif isinstance(key, datetime.date):
        what = "a date: quote it if it is a name"
    else:
        what = "a tagged or typed value: write it as a plain string"
    return f"a mapping key must be a plain string, not {what}"


def _key_line(mapping: Any, key: Any) -> int | None:
    """The line a key of a parsed map was written on, when ruamel recorded it."""
    try:
        return int(mapping.lc.key(key)[0]) + 1
    except (AttributeError, KeyError, TypeError, IndexError):
        return None


MAX_EXACT_INTEGER = 2**53 - 1
# CDK encodes unresolved values inside strings, lists and numbers (aws-cdk-lib core/lib/private/encoding.ts):
# "${Token[KEY]}" in a string, "#{Token[KEY]}" as a list's element, a double whose top 16 bits are 0xFBFF (about
# -1.888e+289) for a number, and that double written into a string. Synthesis looks each up and fails.
_CDK_TOKEN = re.compile(r"[$#]\{Token\[|-1\.\d{10,16}e\+289")
_CDK_NUMBER_TOKEN_BITS = 0xFBFF
_CDK_TOKEN_EFFECT = "synthesis would look it up as a reference to a value and fail (reword it)"


def _until_path(path: Path) -> bool:
    """``groups.<g>.grants[i].until`` or ``users.<u>.until``: the only places a timestamp may be unquoted."""
    shape = tuple(type(p) for p in path)
    grant = shape == (str, str, str, int, str) and path[0] == "groups" and path[2] == "grants"
    user = shape == (str, str, str) and path[0] == "users"
    return (grant or user) and path[-1] == "until"


def _schema_problems(exc: ValidationError, locate: Callable[[Path], int | None]) -> Iterable[Problem]:
    for error in exc.errors(include_url=False):
        loc = tuple(p for p in error["loc"] if p != "[key]")
        yield Problem(loc, _schema_message(error), locate(loc))


_BOUNDS = {
    "greater_than_equal": ("ge", "at least"),
    "greater_than": ("gt", "greater than"),
    "less_than_equal": ("le", "at most"),
    "less_than": ("lt", "less than"),
}


def _schema_message(error: Any) -> str:
    """Pydantic's message, phrased for someone editing YAML, with the offending value."""
    kind, ctx, value = error["type"], error.get("ctx") or {}, error.get("input")
    if kind == "value_error":
        return str(error["msg"]).removeprefix("Value error, ")
    if kind == "extra_forbidden":
        return "unknown key" + suggest(str(error["loc"][-1]), _fields_at(tuple(error["loc"][:-1])))
    if kind == "missing":
        return "is required"
    if kind in _BOUNDS:
        key, words = _BOUNDS[kind]
        return f"must be {words} {ctx[key]}, got {short(value)}"
    if kind == "too_short" and ctx.get("min_length") == 1:
        return "must not be empty"
    return f"{_MODEL_TYPE.sub('a mapping', str(error['msg']))}, got {_describe(value)}"


_MODEL_TYPE = re.compile(r"a valid dictionary( or instance of \w+)?")  # pydantic names the model class


def _describe(value: Any) -> str:
    """A value as YAML calls it (never a Python type name: ``got NoneType None`` read like a crash)."""
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return described(value)


def _fields_at(path: Path) -> list[str] | None:
    """Field names of the schema model at ``path``, for "did you mean" hints."""
    tp: Any = OrganisationSpec
    for part in path:
        tp = _unwrap(tp)
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            info = tp.model_fields.get(str(part))
            tp = info.annotation if info else None
        elif typing.get_origin(tp) in (list, dict):
            tp = typing.get_args(tp)[-1]
        else:
            return None
    tp = _unwrap(tp)
    return list(tp.model_fields) if isinstance(tp, type) and issubclass(tp, BaseModel) else None


def _unwrap(tp: Any) -> Any:
    while True:
        origin = typing.get_origin(tp)
        if origin is typing.Annotated:
            tp = typing.get_args(tp)[0]
        elif origin in (typing.Union, types.UnionType):
            members = [a for a in typing.get_args(tp) if a is not type(None)]
            tp = members[0]
        else:
            return tp
