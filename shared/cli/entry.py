"""The ``ocift`` console script: ``ocift convert`` starts without the rest of the CLI.

``shared.cli.main`` imports the connection layer (settings, pydantic, the OCI SDK) to
build its parser; an offline conversion needs none of it, so it is dispatched here
first and pays only for the converter's own imports (see bench/convert_bench.py).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["convert"]:
        from shared.convert.lean_import import import_msgspec

        import_msgspec()
        from shared.convert.cli import main as convert_main

        try:
            return convert_main([a for a in args[1:] if a != "--"], prog="ocift convert")
        except KeyboardInterrupt:
            return 130
        except OSError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
    from shared.cli.main import main as full_main

    return full_main(args)


if __name__ == "__main__":
    sys.exit(main())
