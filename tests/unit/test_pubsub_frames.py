"""Pub/Sub message pushes are built without the generic encoder (server/pubsub.py push_frames
from the fields' bulks): byte for byte what the encoder makes of the same Push, RESP2 and RESP3."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ember.protocol.encoder import Push, encode
from ember.server.pubsub import BULK, MESSAGE, PMESSAGE, SMESSAGE, TWO_BULKS, push_frames

FIELD_COUNTS = {MESSAGE: 2, PMESSAGE: 3, SMESSAGE: 2}
_fields = st.binary(max_size=1100)  # past the encoder's prebuilt bulk headers (< 1024 bytes)


@settings(max_examples=200, deadline=None)
@given(kind=st.sampled_from(sorted(FIELD_COUNTS)), data=st.data())
def test_push_frames_are_what_the_encoder_makes(kind, data):
    fields = tuple(data.draw(_fields) for _ in range(FIELD_COUNTS[kind]))
    channel, message = fields[-2:]
    bulks = TWO_BULKS % (len(channel), channel, len(message), message)
    if kind == PMESSAGE:
        bulks = BULK % (len(fields[0]), fields[0]) + bulks
    frames = push_frames(kind, bulks)
    for resp in (2, 3):
        assert frames[resp] == encode(Push([kind, *fields]), resp)


@pytest.mark.parametrize("fields", [(b"", b""), (b"ch", b"\r\n\x00"), (b"c" * 1023, b"m" * 1024)])
def test_push_frames_edges(fields):
    frames = push_frames(MESSAGE, TWO_BULKS % (len(fields[0]), fields[0], len(fields[1]), fields[1]))
    assert frames[2] == encode(Push([MESSAGE, *fields]), 2)
    assert frames[3] == encode(Push([MESSAGE, *fields]), 3)
