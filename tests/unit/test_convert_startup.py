"""``ocift convert`` starts lean: msgspec without typing_extensions, argparse without shutil.

Each check runs in a fresh interpreter, where what is imported at start-up is visible.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SAMPLE = REPO / "deploy" / "local" / "samples" / "finance_alpaca_sample.json"


def _fresh(code: str, env: dict[str, str] | None = None) -> dict[str, object]:
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                          text=True, timeout=120, env={**os.environ, **(env or {})})
    assert proc.returncode == 0, proc.stderr
    result: dict[str, object] = json.loads(proc.stdout.splitlines()[-1])
    return result


def test_msgspec_is_imported_without_typing_extensions_and_still_decodes() -> None:
    seen = _fresh("""
import json, sys
from shared.convert.lean_import import import_msgspec
lean = import_msgspec()
without = "typing_extensions" not in sys.modules
import msgspec
from typing import Literal
class R(msgspec.Struct, frozen=True):
    kind: Literal["a", "b"]
    text: str
    n: int | None = None
got = msgspec.json.decode(b'{"kind": "b", "text": "x"}', type=R)
try:
    msgspec.json.decode(b'{"kind": "c", "text": "x"}', type=R)
    refused = False
except msgspec.ValidationError:
    refused = True
import typing_extensions  # importable as usual afterwards
print(json.dumps({"lean": lean, "without": without, "got": [got.kind, got.text, got.n],
                  "refused": refused, "te": typing_extensions.__name__}))
""")
    assert seen == {"lean": True, "without": True, "got": ["b", "x", None], "refused": True,
                    "te": "typing_extensions"}


def test_an_interpreter_that_has_typing_extensions_is_left_as_it_is() -> None:
    seen = _fresh("""
import json, sys
import typing_extensions
from shared.convert.lean_import import import_msgspec
lean = import_msgspec()
print(json.dumps({"lean": lean, "same": sys.modules["typing_extensions"] is typing_extensions,
                  "msgspec": "msgspec" in sys.modules}))
""")
    assert seen == {"lean": False, "same": True, "msgspec": False}


def test_the_console_script_converts_without_shutil_or_typing_extensions(
        tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    seen = _fresh(f"""
import contextlib, io, json, sys
from shared.cli.entry import main
with contextlib.redirect_stdout(io.StringIO()):
    code = main(["convert", {str(SAMPLE)!r}, {str(out)!r}])
print(json.dumps({{"code": code, "loaded": sorted(m for m in ("shutil", "typing_extensions",
    "pydantic", "oci") if m in sys.modules)}}))
""")
    assert seen == {"code": 0, "loaded": []}
    assert out.read_bytes().count(b"\n") > 0


def test_help_is_as_wide_as_the_terminal_says() -> None:
    for columns in (50, 120):
        seen = _fresh("""
import contextlib, io, json
from shared.cli.entry import main
buf = io.StringIO()
with contextlib.redirect_stdout(buf):
    code = main(["convert", "--help"])
lines = buf.getvalue().splitlines()
print(json.dumps({"code": code, "widest": max(map(len, lines))}))
""", env={"COLUMNS": str(columns)})
        assert seen["code"] == 0
        widest = seen["widest"]
        assert isinstance(widest, int) and columns - 25 < widest <= columns - 2
