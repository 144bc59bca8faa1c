"""OCI IAM policy statements, parsed from the documented text syntax.

``Allow <subject> to <verb> <resource-type> in <location> [where <conditions>]``
(Identity docs, "Policy Syntax":
https://docs.oracle.com/iaas/Content/Identity/Concepts/policysyntax.htm), with

* subjects ``group <name>[, ...]``, ``group id <ocid>``, ``dynamic-group <name>``,
  ``dynamic-group id <ocid>``, ``service <name>[, ...]``, ``any-user``, ``any-group``;
* a verb (``inspect`` / ``read`` / ``use`` / ``manage``) and a resource-type, or a
  permission list ``{PERM, PERM}`` in place of both;
* location ``tenancy``, ``compartment id <ocid>`` or ``compartment <name>``;
* conditions ("Conditions":
  https://docs.oracle.com/iaas/Content/Identity/policysyntax/conditions.htm):
  ``variable =|!= value`` and ``any {...}`` / ``all {...}`` (nestable), values
  ``'string'`` (single quotes required) or ``/pattern/`` with ``*`` only at the
  start and/or the end (``/hr*/``, ``/*hr/``, ``/*hr*/``).

Keywords are case-insensitive. Anything else is a :class:`PolicyParseError` naming
the statement and the character position, as CreatePolicy refuses such a policy.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from deploy.local.emulator.iam.permissions import VERBS, is_known_resource_type


class PolicyParseError(ValueError):
    """A statement that is not valid policy syntax (with where and why)."""

    def __init__(self, statement: str, position: int, reason: str) -> None:
        pointer = " " * position + "^"
        super().__init__(f"cannot parse policy statement at position {position}: {reason}\n"
                         f"  {statement}\n  {pointer}")
        self.statement = statement
        self.position = position
        self.reason = reason


@dataclass(frozen=True)
class Subject:
    """Who a statement is about (``kind``: group, dynamic-group, service, any-user, any-group)."""

    kind: str
    names: tuple[str, ...] = ()
    ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class Value:
    """A condition value: a quoted string or a ``/pattern/``."""

    text: str
    pattern: bool = False

    def matches(self, actual: str) -> bool:
        """Condition matching is case insensitive (Conditions page, "Important")."""
        want, got = self.text.lower(), actual.lower()
        if not self.pattern:
            return got == want
        starts, ends = want.startswith("*"), want.endswith("*") and len(want) > 1
        core = want.strip("*") if (starts or ends) else want
        if starts and ends:
            return core in got
        if starts:
            return got.endswith(core)
        if ends:
            return got.startswith(core)
        return got == core


@dataclass(frozen=True)
class Comparison:
    variable: str
    op: Literal["=", "!="]
    value: Value


@dataclass(frozen=True)
class Group:
    mode: Literal["any", "all"]
    items: tuple[Condition, ...]


Condition = Comparison | Group


@dataclass(frozen=True)
class Statement:
    """One parsed ``Allow`` statement."""

    text: str
    subject: Subject
    verb: str | None
    resource_type: str | None
    permissions: tuple[str, ...]
    location: tuple[str, str]  # ("tenancy", "") | ("compartment-id", ocid) | ("compartment", name)
    condition: Condition | None


_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<string>'[^']*')
  | (?P<op>!=|=)
  | (?P<punct>[{},])
  | (?P<word>[A-Za-z0-9_][A-Za-z0-9_.\-:/]*)
""", re.VERBOSE)


@dataclass(frozen=True)
class _Tok:
    kind: str
    text: str
    pos: int


def _tokens(text: str) -> list[_Tok]:
    out: list[_Tok] = []
    pos = 0
    while pos < len(text):
        if text[pos] == "/":
            out.append(_pattern(text, pos))
            pos = out[-1].pos + len(out[-1].text)
            continue
        found = _TOKEN.match(text, pos)
        if found is None:
            raise PolicyParseError(text, pos, f"unexpected character {text[pos]!r}")
        kind = found.lastgroup or ""
        if kind != "ws":
            out.append(_Tok(kind, found.group(), pos))
        pos = found.end()
    return out


def _pattern(text: str, start: int) -> _Tok:
    """``/.../`` up to the slash that is followed by a delimiter (``,`` ``}`` space or end)."""
    end = start + 1
    while True:
        end = text.find("/", end)
        if end < 0:
            raise PolicyParseError(text, start, "pattern is not closed: a pattern is delimited "
                                                "by slashes on both ends, e.g. /raw/*/")
        if end + 1 == len(text) or text[end + 1] in " \t\r\n,}":
            break
        end += 1
    body = text[start + 1:end]
    if not body:
        raise PolicyParseError(text, start, "empty pattern")
    core = body.strip("*")
    if not core or "*" in core or body.startswith("**") or body.endswith("**"):
        raise PolicyParseError(text, start, "'*' is allowed only once at the start and/or "
                                            "the end of a pattern, around a non-empty text")
    return _Tok("pattern", text[start:end + 1], start)


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.toks = _tokens(text)
        self.i = 0

    # -- helpers -------------------------------------------------------------------------------
    def _peek(self) -> _Tok | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def _fail(self, reason: str, tok: _Tok | None = None) -> PolicyParseError:
        tok = tok or self._peek()
        return PolicyParseError(self.text, tok.pos if tok else len(self.text), reason)

    def _next(self, expected: str) -> _Tok:
        tok = self._peek()
        if tok is None:
            raise self._fail(f"statement ends early: expected {expected}")
        self.i += 1
        return tok

    def _keyword(self, *words: str) -> str:
        tok = self._next(" or ".join(repr(w) for w in words))
        if tok.kind != "word" or tok.text.lower() not in words:
            raise self._fail(f"expected {' or '.join(repr(w) for w in words)}, found "
                             f"{tok.text!r}", tok)
        return tok.text.lower()

    def _at(self, *words: str) -> bool:
        tok = self._peek()
        return tok is not None and tok.kind == "word" and tok.text.lower() in words

    def _punct(self, char: str) -> bool:
        tok = self._peek()
        if tok is not None and tok.kind == "punct" and tok.text == char:
            self.i += 1
            return True
        return False

    # -- grammar -------------------------------------------------------------------------------
    def statement(self) -> Statement:
        self._keyword("allow")
        subject = self.subject()
        self._keyword("to")
        verb: str | None = None
        resource: str | None = None
        perms: tuple[str, ...] = ()
        if self._punct("{"):
            perms = self.permission_list()
        else:
            verb = self._keyword(*VERBS)
            tok = self._next("a resource-type")
            if tok.kind != "word" or not is_known_resource_type(tok.text.lower()):
                raise self._fail(f"unknown resource-type {tok.text!r}", tok)
            resource = tok.text.lower()
        self._keyword("in")
        location = self.location()
        condition: Condition | None = None
        if self._peek() is not None:
            self._keyword("where")
            condition = self.condition()
        if self._peek() is not None:
            raise self._fail(f"unexpected {self._peek().text!r} after the statement")  # type: ignore[union-attr]
        return Statement(self.text, subject, verb, resource, perms, location, condition)

    def subject(self) -> Subject:
        kind = self._keyword("group", "dynamic-group", "service", "any-user", "any-group")
        if kind in ("any-user", "any-group"):
            return Subject(kind)
        names: list[str] = []
        ids: list[str] = []
        while True:
            if kind != "service" and self._at("id"):
                self.i += 1
                tok = self._next("an OCID")
                if tok.kind != "word" or not tok.text.startswith("ocid1."):
                    raise self._fail(f"expected an OCID, found {tok.text!r}", tok)
                ids.append(tok.text)
            else:
                tok = self._next(f"a {kind} name")
                if tok.kind == "string":
                    names.append(tok.text[1:-1])
                elif tok.kind == "word" and tok.text.lower() != "to":
                    names.append(tok.text)
                else:
                    raise self._fail(f"expected a {kind} name, found {tok.text!r}", tok)
            if not self._punct(","):
                break
        return Subject(kind, tuple(names), tuple(ids))

    def permission_list(self) -> tuple[str, ...]:
        perms: list[str] = []
        while True:
            tok = self._next("a permission")
            if tok.kind != "word" or not re.fullmatch(r"[A-Z][A-Z0-9_]*", tok.text):
                raise self._fail(f"expected a permission such as OBJECT_READ, found "
                                 f"{tok.text!r}", tok)
            perms.append(tok.text)
            if self._punct("}"):
                return tuple(perms)
            if not self._punct(","):
                raise self._fail("expected ',' or '}' in the permission list")

    def location(self) -> tuple[str, str]:
        where = self._keyword("tenancy", "compartment")
        if where == "tenancy":
            return ("tenancy", "")
        if self._at("id"):
            self.i += 1
            tok = self._next("a compartment OCID")
            if tok.kind != "word" or not tok.text.startswith(("ocid1.compartment.",
                                                              "ocid1.tenancy.")):
                raise self._fail(f"expected a compartment OCID, found {tok.text!r}", tok)
            return ("compartment-id", tok.text)
        tok = self._next("a compartment name")
        if tok.kind != "word" or tok.text.lower() == "where":
            raise self._fail(f"expected a compartment name, found {tok.text!r}", tok)
        return ("compartment", tok.text)

    def condition(self) -> Condition:
        if self._at("any", "all"):
            mode = self._keyword("any", "all")
            if not self._punct("{"):
                raise self._fail(f"expected '{{' after {mode!r}")
            items = [self.condition()]
            while self._punct(","):
                items.append(self.condition())
            if not self._punct("}"):
                raise self._fail("expected ',' or '}' in the condition list")
            return Group("any" if mode == "any" else "all", tuple(items))
        var = self._next("a variable")
        if var.kind != "word" or not re.fullmatch(r"[a-z][a-z0-9\-]*(\.[A-Za-z0-9\-_]+)+",
                                                  var.text, re.IGNORECASE):
            raise self._fail(f"expected a variable such as target.bucket.name, found "
                             f"{var.text!r}", var)
        op = self._next("'=' or '!='")
        if op.kind != "op":
            raise self._fail(f"expected '=' or '!=', found {op.text!r}", op)
        val = self._next("a value")
        if val.kind == "string":
            value = Value(val.text[1:-1])
        elif val.kind == "pattern":
            value = Value(val.text[1:-1], pattern=True)
        else:
            raise self._fail("a value is a 'quoted string' (single quotes) or a /pattern/, "
                             f"found {val.text!r}", val)
        return Comparison(var.text.lower(), "=" if op.text == "=" else "!=", value)


def parse_statement(text: str) -> Statement:
    """Parse one statement; :class:`PolicyParseError` if it is not valid syntax."""
    if not text.strip():
        raise PolicyParseError(text, 0, "empty statement")
    return _Parser(text).statement()
