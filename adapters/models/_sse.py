r"""Incremental Server-Sent Events decoding: network chunks in, event data payloads out.

Follows the WHATWG "event stream interpretation" rules that provider streams rely on: lines end in
`\\n`, `\\r\\n` or `\\r`; a blank line dispatches the event; lines starting with `:` are comments (OpenRouter
sends `: OPENROUTER PROCESSING`); `data:` lines of one event are joined with `\\n`; one space after the colon
is dropped; `event:`, `id:` and `retry:` are accepted and ignored (every provider we speak repeats the event
type inside the JSON payload). Chunks may split anywhere, including inside a UTF-8 sequence or between
the `\\r` and `\\n` of one line ending. Source: https://html.spec.whatwg.org/multipage/server-sent-events.html
"""

from __future__ import annotations

import codecs
import re

__all__ = ["SSEDecoder"]

_LINE_ENDING = re.compile(r"\r\n|\r|\n")


class SSEDecoder:
    """Decode one SSE stream incrementally.

    Feed the chunks in the order they arrived; each `feed` returns the data payloads of the events that
    chunk completed, in stream order. An event still open when the stream ends is discarded (as the spec
    says); `has_pending` tells whether that happened, for callers that treat it as truncation.
    """

    def __init__(self) -> None:
        self._utf8 = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._buffer = ""
        """Text received after the last complete line."""
        self._data: list[str] = []
        """`data:` values of the event being read, in order."""
        self._skip_lf = False
        """The previous chunk ended in `\\r`: a leading `\\n` in the next one belongs to that line ending."""
        self._at_start = True

    @property
    def has_pending(self) -> bool:
        """True when an event or a line has started but not been completed by a blank line."""
        return bool(self._buffer or self._data)

    def feed(self, chunk: bytes | str) -> list[str]:
        """Consume one network chunk.

        Args:
            chunk: the next bytes (UTF-8, possibly cut mid-character) or text of the stream.

        Returns:
            The data payloads of the events completed by this chunk, in order; empty if none completed.
        """
        text = self._utf8.decode(chunk) if isinstance(chunk, bytes) else chunk
        if self._at_start and text:
            self._at_start = False
            text = text.removeprefix("\ufeff")
        if self._skip_lf and text:
            self._skip_lf = False
            text = text.removeprefix("\n")
        self._buffer += text
        payloads: list[str] = []
        for line in self._take_lines():
            if not line:
                # A blank line dispatches the event being read (if any).
                if self._data:
                    payloads.append("\n".join(self._data))
                    self._data = []
            elif line.startswith("data:"):
                self._data.append(line[6:] if line.startswith("data: ") else line[5:])
            elif line == "data":
                self._data.append("")
            # Other fields (event, id, retry, unknown ones) and `:` comments change nothing we report.
        return payloads

    def _take_lines(self) -> list[str]:
        """Remove and return the complete lines of the buffer (line endings dropped)."""
        buffer = self._buffer
        if "\r" not in buffer:
            # Every provider ends lines in "\n" alone: one split, the last piece is the open line.
            lines = buffer.split("\n")
            self._buffer = lines.pop()
            return lines
        lines = []
        start = 0
        for match in _LINE_ENDING.finditer(buffer):
            lines.append(buffer[start : match.start()])
            start = match.end()
        if start == len(buffer) and buffer.endswith("\r"):
            # A chunk boundary may sit between "\r" and "\n"; swallow that "\n" when it comes.
            self._skip_lf = True
        self._buffer = buffer[start:]
        return lines
