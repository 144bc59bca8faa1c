"""Record shapes: which one a dataset is (from its first record), and conversations.

Shapes (``Findings.record_schema``):

* ``alpaca``            ``{"instruction", "input", "output"}``
* ``prompt_completion`` ``{"prompt", "completion"}``
* ``openai_chat``       ``{"messages": [{"role": "system"|"user"|"assistant", "content"}]}``
* ``sharegpt``          ``{"conversations": [{"from": "system"|"human"|"gpt", "value"}]}``
* ``fields``            any two string fields, named by a :class:`FieldMapping` or found
  among the common pairs in :data:`COMMON_PAIRS` (question/answer, query/response, ...),
  with an optional context field rendered as Alpaca's ``input`` is.

The conversation rule (the same for OpenAI chat and ShareGPT):

* the **last assistant turn is the completion**; turns after it (an unanswered user turn)
  are dropped;
* the prompt is the user's text alone when only one user turn precedes it; otherwise
  every turn before it, system messages included where they stand, each as
  ``System: ...`` / ``User: ...`` / ``Assistant: ...``, separated by a blank line;
* a conversation with no assistant turn, or none preceded by a user turn, an empty turn,
  a tool call (or tool / function message) or a non-text content part is skipped with
  its own reason code (``no_assistant_turn``, ``no_user_turn``, ``empty_field``,
  ``tool_call``, ``non_text_content``, ``unknown_role``).

Why: OCI trains on prompt/completion pairs alone
(https://docs.oracle.com/iaas/Content/generative-ai/training-data-requirements.htm),
so one pair a conversation carries one trained answer. Keeping the last answer with
the whole history as its prompt is torchtune's ``train_on_last`` masking strategy ("only
the last assistant message is unmasked",
https://pytorch.org/torchtune/main/generated/torchtune.data.mask_messages.html), applied to
the same OpenAI and ShareGPT message shapes torchtune reads
(https://pytorch.org/torchtune/main/generated/torchtune.data.OpenAIToMessages.html): the
answer that sees the most context, the others still there as context. It keeps one
example a record, so the report's counts, duplicate check and skip locations stay per
record. The labels are plain text because a prompt is plain text to OCI: its dataset
format names no chat template.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import msgspec

from shared.convert.findings import RecordSchema

#: Common field names, first match wins (prompt field, completion field).
COMMON_PAIRS: tuple[tuple[str, str], ...] = (
    ("question", "answer"), ("query", "response"), ("instruction", "response"),
    ("prompt", "response"), ("input", "output"), ("question", "response"),
)
#: A context field, looked for when a common pair (not a mapping) is detected.
CONTEXT_NAMES = ("context", "input")
CONVERSATIONS: frozenset[RecordSchema] = frozenset({"openai_chat", "sharegpt"})
TURN_KEYS = {"openai_chat": "messages", "sharegpt": "conversations"}
SHAPE_WORDS: dict[RecordSchema, str] = {
    "alpaca": "Alpaca (instruction/input/output)",
    "prompt_completion": "prompt/completion",
    "openai_chat": "OpenAI chat (messages)",
    "sharegpt": "ShareGPT (conversations)",
    "fields": "field-mapped records",
}
_LABELS = {"system": "System", "user": "User", "assistant": "Assistant"}
ROLES = {"system": "system", "developer": "system", "user": "user", "human": "user",
          "assistant": "assistant", "gpt": "assistant", "chatgpt": "assistant",
          "model": "assistant"}
_TOOL_ROLES = frozenset({"tool", "function", "function_call", "observation", "ipython",
                         "tool_call", "tool_response"})
MAPPING_FLAGS = ("--prompt-field F --completion-field F [--context-field F] (object metadata "
                 "opc-meta-ocift-prompt-field / -completion-field / -context-field)")


class FieldMapping(msgspec.Struct, frozen=True):
    """Which record fields (CSV columns) hold the prompt, the completion and an optional
    context appended to the prompt as Alpaca's ``input`` is."""

    prompt: str
    completion: str
    context: str | None = None

    def __post_init__(self) -> None:
        names = [n for n in (self.prompt, self.completion, self.context) if n is not None]
        if any(not n.strip() for n in names):
            raise ValueError("a mapped field name is empty")
        if len(set(names)) != len(names):
            raise ValueError(f"mapped field names must differ: {', '.join(names)}")


def mapping_of(prompt: str | None, completion: str | None, context: str | None,
               key: Callable[[str], str]) -> FieldMapping | None:
    """The mapping three optional field names give (None when none is given); ValueError
    for half a mapping, naming each setting as ``key("prompt")`` etc. spells it (a flag,
    a metadata key)."""
    if prompt is None and completion is None:
        if context is not None:
            raise ValueError(f"{key('context')} is set without {key('prompt')} and "
                             f"{key('completion')}")
        return None
    if prompt is None or completion is None:
        raise ValueError(f"set both {key('prompt')} and {key('completion')} (or neither)")
    return FieldMapping(prompt, completion, context)


class Shape(msgspec.Struct, frozen=True):
    """A detected shape; for the field shapes, which keys hold what."""

    schema: RecordSchema
    prompt: str = ""
    completion: str = ""
    context: str | None = None

    def read_keys(self) -> frozenset[str]:
        """The keys the conversion reads (a duplicate of one of these is counted)."""
        if self.schema in CONVERSATIONS:  # a turn's text (core._turn_keys_once says why)
            return frozenset({"content", "value"})
        return frozenset(k for k in (self.prompt, self.completion, self.context) if k)

    def words(self) -> str:
        """The shape in words, e.g. "field-mapped records (question/answer)"."""
        if self.schema == "fields":
            return f"{SHAPE_WORDS['fields']} ({self.prompt}/{self.completion}" + (
                f", context {self.context})" if self.context else ")")
        return SHAPE_WORDS[self.schema]

    def describe(self) -> dict[str, str]:
        """The report's ``mapping``: how prompt and completion are built."""
        if self.schema in CONVERSATIONS:
            return {"prompt": "the turns before the last assistant turn: the user's text "
                              "alone for one user turn, else 'System: / User: / Assistant: "
                              "' labelled turns separated by a blank line",
                    "completion": "the last assistant turn",
                    "ignored": "turns after the last assistant turn and any other keys"}
        prompt = self.prompt
        if self.context is not None:
            prompt += f', then "\\n\\nContext:\\n" + {self.context} when {self.context} ' \
                      "is not empty"
        ignored = "text and any other keys" if self.schema == "alpaca" else "any other keys"
        return {"prompt": prompt, "completion": self.completion, "ignored": ignored}


ALPACA = Shape("alpaca", "instruction", "output", "input")
PROMPT_COMPLETION = Shape("prompt_completion", "prompt", "completion")


class Turn(msgspec.Struct):
    """One OpenAI chat message (``content`` UNSET when absent); tool calls are kept only
    to be refused."""

    role: str
    content: str | list[Any] | msgspec.UnsetType | None = msgspec.UNSET
    tool_calls: Any = None
    function_call: Any = None


class _TextTurn(msgspec.Struct):
    """A message as a typed run decodes it: a turn with a tool call (non-null
    ``tool_calls``/``function_call``) does not fit, so its run is read as dicts, and
    a typed turn needs no tool check."""

    role: str
    content: str | list[Any] | msgspec.UnsetType | None = msgspec.UNSET
    tool_calls: None = None
    function_call: None = None


class _ShareGptTurn(msgspec.Struct, rename={"role": "from", "content": "value"}):
    """One ShareGPT turn, under ``_TextTurn``'s attribute names."""

    role: str
    content: str | list[Any] | msgspec.UnsetType | None = msgspec.UNSET
    tool_calls: None = None
    function_call: None = None


class ChatRecord(msgspec.Struct):
    messages: list[_TextTurn]


class ShareGptRecord(msgspec.Struct):
    conversations: list[_ShareGptTurn]


class Skip(msgspec.Struct, frozen=True):
    """Why a record is skipped: a reason code and the words."""

    code: str
    message: str


class Unsupported(Exception):
    """The first record is in no shape we convert: ``message`` names what it is and
    ``hint`` the nearest supported shape or the mapping flags."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.message, self.hint = message, hint


def detect(keys: Iterable[str], mapping: FieldMapping | None = None,
           value: dict[str, Any] | None = None) -> Shape:
    """The shape of a dataset whose first record (or CSV header) has ``keys``; raises
    :class:`Unsupported` when it is none (``value``, the record, sharpens the message)."""
    present = set(keys)
    if mapping is not None:
        missing = [n for n in (mapping.prompt, mapping.completion) if n not in present]
        if missing:
            raise Unsupported(
                f"the first record has no field {' or '.join(map(repr, missing))} named by "
                f"the field mapping (its fields: {_names(present)})",
                "name fields the records have with --prompt-field/--completion-field")
        return Shape("fields", mapping.prompt, mapping.completion, mapping.context)
    if "messages" in present:
        return Shape("openai_chat")
    if "conversations" in present:
        return Shape("sharegpt")
    if "prompt" in present and "completion" in present:
        return PROMPT_COMPLETION
    if "instruction" in present and "output" in present:
        return ALPACA
    for prompt, completion in COMMON_PAIRS:
        if prompt in present and completion in present:
            context = next((c for c in CONTEXT_NAMES if c in present and c != prompt), None)
            return Shape("fields", prompt, completion, context)
    if "prompt" in present or "completion" in present:  # today's rule: half a shape
        return PROMPT_COMPLETION
    if present & {"instruction", "input", "output"}:
        return ALPACA
    raise Unsupported(_unsupported_message(present, value), _nearest(present, value))


def _names(keys: Iterable[str]) -> str:
    names = sorted(keys)
    text = ", ".join(names[:8]) + (", ..." if len(names) > 8 else "")
    return text or "none"


def _unsupported_message(keys: set[str], value: dict[str, Any] | None) -> str:
    return (f"the first record's fields ({_names(keys)}) match no shape this pipeline "
            "converts: Alpaca (instruction/input/output), prompt/completion, OpenAI chat "
            "(messages), ShareGPT (conversations), or a common pair ("
            + ", ".join(f"{p}/{c}" for p, c in COMMON_PAIRS[:5]) + ")")


def _nearest(keys: set[str], value: dict[str, Any] | None) -> str:
    """The nearest supported shape for a record with ``keys``, or the mapping flags."""
    for key in sorted(keys):
        items = value.get(key) if value is not None else None
        if isinstance(items, list) and items and isinstance(items[0], dict):
            first = items[0]
            if {"role", "content"} <= first.keys():
                return (f"{key!r} holds chat messages: name the field 'messages' (OpenAI "
                        "chat) and it converts")
            if {"from", "value"} <= first.keys():
                return (f"{key!r} holds ShareGPT turns: name the field 'conversations' "
                        "and it converts")
    if keys <= {"text", "id", "meta", "source", "url"} and "text" in keys:
        return ("a lone text field is pretraining data; fine-tuning needs a prompt and a "
                f"completion: split them into two fields and name them with {MAPPING_FLAGS}")
    return f"name the prompt and completion fields with {MAPPING_FLAGS}"


# ----- conversations --------------------------------------------------------------------

def turns_of(value: dict[str, Any], schema: RecordSchema) -> list[Any] | Skip:
    """The turns of a conversation record decoded as a dict, as ``Turn``-like objects."""
    key = TURN_KEYS[schema]
    items = value.get(key)
    if items is None:
        return Skip("missing_field", f"record has no {key}")
    if type(items) is not list:
        return Skip("non_string_field", f"field {key} is not an array of turns")
    turns: list[Any] = []
    for n, item in enumerate(items, 1):
        if type(item) is not dict:
            return Skip("non_string_field", f"turn {n} of {key} is not an object")
        role = item.get("role", item.get("from"))
        content = item.get("content", item.get("value"))
        if type(role) is not str:
            return Skip("missing_field" if role is None else "non_string_field",
                        f"turn {n} has no role" if role is None
                        else f"turn {n}'s role is not a string")
        if content is not None and type(content) not in (str, list):
            return Skip("non_string_field", f"turn {n}'s content is not a string")
        turns.append(Turn(role, content, item.get("tool_calls"), item.get("function_call")))
    return turns


def render(turns: Sequence[Any]) -> tuple[str, str] | Skip:
    """(prompt, completion) of a conversation by the module's rule, or why it is skipped.
    ``turns``: objects with ``role``, ``content``, ``tool_calls``, ``function_call``."""
    kinds: list[str] = []
    texts: list[str] = []
    last = -1
    for n, turn in enumerate(turns, 1):
        role = turn.role
        kind = ROLES.get(role)
        if kind is None:
            if role in _TOOL_ROLES:
                return Skip("tool_call", f"turn {n} is a {role!r} message: tool calls and "
                                         "their results are not converted")
            return Skip("unknown_role", f"turn {n} has role {role!r}, not system, user or "
                                        "assistant")
        if turn.tool_calls is not None or turn.function_call is not None:
            return Skip("tool_call", f"turn {n} ({role}) calls a tool: tool calls are not "
                                     "converted")
        content = turn.content
        if type(content) is not str:
            if content is None or content is msgspec.UNSET:
                return Skip("empty_field", f"turn {n} ({role}) has no content")
            parts = _text_of_parts(content, n)
            if type(parts) is Skip:
                return parts
            content = parts
        text = content.strip()
        if not text:
            return Skip("empty_field", f"turn {n} ({role}) has an empty content")
        if kind == "assistant":
            last = len(kinds)
        kinds.append(kind)
        texts.append(text)
    if last < 0:
        return Skip("no_assistant_turn", "the conversation has no assistant turn to be the "
                                         "completion")
    if "user" not in kinds[:last]:
        return Skip("no_user_turn", "no user turn precedes the last assistant turn")
    if last == 1 and kinds[0] == "user":
        return texts[0], texts[1]
    return "\n\n".join([f"{_LABELS[k]}: {t}" for k, t in zip(kinds[:last], texts[:last],
                                                             strict=True)]), texts[last]


def _text_of_parts(parts: list[Any], n: int) -> str | Skip:
    """The text of OpenAI content parts (``{"type": "text", "text": ...}``), joined by a
    line break; a part of any other type is refused."""
    texts = []
    for part in parts:
        if type(part) is not dict or part.get("type") != "text" \
                or type(part.get("text")) is not str:
            kind = part.get("type") if type(part) is dict else None
            return Skip("non_text_content", f"turn {n} has a non-text content part"
                                            + (f" ({kind!r})" if isinstance(kind, str) else ""))
        texts.append(part["text"])
    return "\n".join(texts)
