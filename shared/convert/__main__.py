"""``python -m shared.convert in.json out.jsonl [--base-model NAME]``."""

import sys

from shared.convert.lean_import import import_msgspec

import_msgspec()

from shared.convert.cli import main  # noqa: E402

sys.exit(main())
