"""``Range: bytes=...`` parsing for GetObject (one range, as Object Storage serves)."""

from __future__ import annotations

from deploy.local.emulator.http import ServiceError


def _unsatisfiable(size: int) -> ServiceError:
    return ServiceError(416, "InvalidRange", "The requested range is not satisfiable",
                        headers={"Content-Range": f"bytes */{size}"})


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """Inclusive ``(first, last)`` byte positions, or ``None`` for the whole object.

    Forms: ``bytes=a-b``, ``bytes=a-`` and ``bytes=-n`` (the last ``n`` bytes). A
    header that is not a byte range is ignored (whole object), as HTTP allows;
    a range past the end answers 416 ``InvalidRange``.
    """
    if not header:
        return None
    unit, sep, spec = header.strip().partition("=")
    if not sep or unit.strip().lower() != "bytes" or "," in spec:
        return None
    first_s, dash, last_s = spec.strip().partition("-")
    if not dash:
        return None
    first_s, last_s = first_s.strip(), last_s.strip()
    if not (first_s.isdigit() or first_s == "") or not (last_s.isdigit() or last_s == ""):
        return None
    if first_s == "":
        if last_s == "":
            return None
        suffix = int(last_s)
        if suffix == 0 or size == 0:
            raise _unsatisfiable(size)
        return max(0, size - suffix), size - 1
    first = int(first_s)
    last = int(last_s) if last_s else size - 1
    if first >= size:
        raise _unsatisfiable(size)
    if last < first:
        return None
    return first, min(last, size - 1)
