import io
import json
import logging

from shared import logs


def _capture() -> tuple[logging.Logger, io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.JsonFormatter())
    logger = logging.getLogger("test.logs")
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(logging.INFO)
    return logger, stream


def test_one_json_line_with_bound_context() -> None:
    logger, stream = _capture()
    logs.clear()
    logs.bind(function="convert-fn", stage="convert", object="raw/a.json", request_id="r-1")
    logger.info("stage finished", extra={"outcome": "done"})
    lines = stream.getvalue().splitlines()
    assert len(lines) == 1
    entry = json.loads(lines[0])
    assert entry["msg"] == "stage finished"
    assert entry["function"] == "convert-fn"
    assert entry["stage"] == "convert"
    assert entry["object"] == "raw/a.json"
    assert entry["request_id"] == "r-1"
    assert entry["outcome"] == "done"
    logs.clear()


def test_sensitive_fields_are_redacted() -> None:
    logger, stream = _capture()
    logs.clear()
    logger.info("x", extra={"prompt": "secret question", "completion": "secret answer",
                            "private_key": "-----BEGIN", "records": 3})
    entry = json.loads(stream.getvalue())
    assert "secret" not in stream.getvalue()
    assert entry["prompt"] == "[redacted]"
    assert entry["private_key"] == "[redacted]"
    assert entry["records"] == 3


def test_clear_drops_context() -> None:
    logger, stream = _capture()
    logs.bind(stage="train")
    logs.clear()
    logger.info("y")
    assert "stage" not in json.loads(stream.getvalue())


def test_exception_type_is_logged_without_traceback_text() -> None:
    logger, stream = _capture()
    try:
        raise ValueError("dataset line: the secret content")
    except ValueError:
        logger.exception("failed")
    entry = json.loads(stream.getvalue())
    assert entry["error_type"] == "ValueError"
    assert "secret content" not in stream.getvalue()
