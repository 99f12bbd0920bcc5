"""SSEDecoder: WHATWG event-stream rules, fed in arbitrary chunks."""

from __future__ import annotations

import pytest

from adapters.models._sse import SSEDecoder


def feed_all(chunks: list[bytes] | list[str]) -> list[str]:
    decoder = SSEDecoder()
    out: list[str] = []
    for chunk in chunks:
        out.extend(decoder.feed(chunk))
    return out


def test_one_event_per_blank_line() -> None:
    assert feed_all([b'data: {"a":1}\n\ndata: [DONE]\n\n']) == ['{"a":1}', "[DONE]"]


def test_event_is_only_dispatched_by_the_blank_line() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: x\n") == []
    assert decoder.has_pending
    assert decoder.feed(b"\n") == ["x"]
    assert not decoder.has_pending


@pytest.mark.parametrize("size", [1, 2, 3, 5, 7, 64])
def test_any_chunking_gives_the_same_payloads(size: int) -> None:
    stream = 'data: {"t":"héllo ✓"}\r\n\r\n: keep-alive\n\ndata: second\n\ndata: [DONE]\n\n'.encode()
    chunks = [stream[i : i + size] for i in range(0, len(stream), size)]
    assert feed_all(chunks) == ['{"t":"héllo ✓"}', "second", "[DONE]"]


def test_multibyte_character_split_across_chunks() -> None:
    encoded = "data: ✓\n\n".encode()
    cut = encoded.index("✓".encode()) + 1
    assert feed_all([encoded[:cut], encoded[cut:]]) == ["✓"]


def test_cr_lf_split_between_chunks_is_one_line_ending() -> None:
    # "\r" ends one chunk and "\n" starts the next: still one line ending, so no early dispatch.
    assert feed_all([b"data: a\r", b"\ndata: b\r", b"\n\r\n"]) == ["a\nb"]


def test_bare_cr_line_endings() -> None:
    assert feed_all([b"data: a\r\rdata: b\r\r"]) == ["a", "b"]


def test_comments_and_other_fields_are_ignored() -> None:
    stream = b": OPENROUTER PROCESSING\n\nevent: message\nid: 7\nretry: 100\ndata: x\n\n"
    assert feed_all([stream]) == ["x"]


def test_multiple_data_lines_are_joined_with_newline() -> None:
    assert feed_all([b"data: one\ndata: two\n\n"]) == ["one\ntwo"]


def test_only_one_leading_space_is_dropped() -> None:
    assert feed_all([b"data:  two spaces\ndata:none\n\n"]) == [" two spaces\nnone"]


def test_empty_data_line_dispatches_an_empty_payload() -> None:
    assert feed_all([b"data:\n\n"]) == [""]


def test_blank_lines_without_data_dispatch_nothing() -> None:
    assert feed_all([b"\n\n\n: comment\n\n"]) == []


def test_byte_order_mark_at_start_is_dropped() -> None:
    assert feed_all([b"\xef\xbb\xbfdata: x\n\n"]) == ["x"]


def test_str_chunks_are_accepted() -> None:
    assert feed_all(["data: a\n", "\n"]) == ["a"]


def test_unterminated_event_is_pending_not_dispatched() -> None:
    decoder = SSEDecoder()
    assert decoder.feed(b"data: partial") == []
    assert decoder.has_pending


def test_undecodable_bytes_are_replaced_not_raised() -> None:
    assert feed_all([b"data: \xff\n\n"]) == ["\ufffd"]
