"""``python -m shared.convert in.json out.jsonl [--base-model NAME]``."""

import sys

from shared.convert.cli import main

sys.exit(main())
