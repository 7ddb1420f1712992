"""JSON Lines, read one record at a time: the one reader behind corpus files, question files and
``.jsonl`` documents. Blank lines are skipped; a line that is not JSON raises the caller's error
(each caller names the file its own way), chained to the decoder's, or, when the caller returns
a value that is not an exception, yields that value in the line's place (a batch that goes on).

>>> import tempfile, pathlib
>>> p = pathlib.Path(tempfile.mkdtemp()) / "q.jsonl"
>>> _ = p.write_text('{"question": "Who?"}\\n\\n{"question": "When?"}\\n')
>>> [n for n, _ in iter_json_lines(p, lambda n, msg: ValueError(msg))]
[1, 3]
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

BadLine = Callable[[int, str], Any]
"""``bad_line(lineno, decoder_message)`` -> the exception to raise for a line that is not JSON, or
any other value to yield as that line's record."""


def iter_json_lines(path: Path, bad_line: BadLine) -> Iterator[tuple[int, Any]]:
    """``(line number, parsed value)`` per non-blank line of ``path`` (UTF-8), streamed."""
    with Path(path).open(encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except json.JSONDecodeError as e:
                value = bad_line(lineno, e.msg)
                if isinstance(value, BaseException):
                    raise value from e
            yield lineno, value
