"""The GIL is released while the library builds, updates, embeds and searches.

How it is shown without timing anything: the interpreter's forced thread switch is pushed out of reach
(sys.setswitchinterval), so the only way another Python thread can run while this one is inside a native call is
that the call released the GIL. A pure-Python counter thread (giving the GIL up only at its own short sleeps, so
that this thread gets it back after a call) then advances during a call that releases it, and by exactly 0 during
one that holds it (the control case).
"""

from __future__ import annotations

import sys
import threading
import time

import pytest

import leann

TEXTS = [f"note {i}: the quick brown fox jumps over the lazy dog near river {i % 17} and stone {i % 29}"
         for i in range(1500)]


class Counter:
    """A pure-Python thread counting as fast as it can; it gives the GIL up (a short sleep, long enough for a waiting
    thread to take it) every 1000 increments."""

    def __init__(self):
        self.count = 0
        self._stop = False
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop:
            for _ in range(1000):
                self.count += 1
            time.sleep(0.0001)

    def __enter__(self):
        self._previous = sys.getswitchinterval()
        sys.setswitchinterval(30.0)  # no forced switches: only released GIL lets the counter run
        self._thread.start()
        while self.count == 0:  # the counter runs (this thread's sleep releases the GIL)
            time.sleep(0.001)
        return self

    def __exit__(self, *exc):
        self._stop = True
        self._thread.join()
        sys.setswitchinterval(self._previous)

    def advance_during(self, call, *args, **kwargs):
        """How far the counter advanced while `call` ran (this thread never releases the GIL around it)."""
        before = self.count
        result = call(*args, **kwargs)
        after = self.count
        return after - before, result


def _holds_the_gil(n):
    # sum() over a range runs in C without releasing the GIL: the control case.
    return sum(range(n))


def test_counter_does_not_advance_while_the_gil_is_held():
    with Counter() as counter:
        advanced, _ = counter.advance_during(_holds_the_gil, 20_000_000)
    assert advanced == 0


def test_build_update_embed_search_release_the_gil(tmp_path, tiny_model):
    encoder = leann.Encoder.load(tiny_model)
    documents = [leann.Document(f"d{i}", text) for i, text in enumerate(TEXTS)]
    options = leann.BuildOptions()
    options.threads = 1  # leave the other core to the counter
    path = tmp_path / "gil.leann"
    with Counter() as counter:
        built, _ = counter.advance_during(leann.Index.build, path, documents, encoder, options)
        embedded, _ = counter.advance_during(encoder.encode, TEXTS, "passage")

        # Updates need an index the writer made (Index.build's has no record manifest).
        writer_options = leann.WriterOptions()
        writer_options.build = options
        living = tmp_path / "living.leann"
        more = [leann.Document(f"u{i}", text + " updated") for i, text in enumerate(TEXTS[:400])]
        with leann.IndexWriter(living, encoder, writer_options) as writer:
            writer.upsert(documents)
        with leann.IndexWriter(living, encoder, writer_options) as writer:
            updated, _ = counter.advance_during(writer.upsert, more)

        index = leann.Index.open(path)
        index.attach_encoder(encoder)
        search_options = leann.SearchOptions()
        search_options.top_k = 50
        search_options.complexity = 1500
        search_options.recompute_share = 1.0  # every visited node embedded: a long call
        searched, result = counter.advance_during(index.search, "fox near river 3", search_options)
    assert len(result.hits) == 50
    # Each call ran long enough for the counter to complete at least one round of 1000 increments.
    for what, advanced in (("build", built), ("encode", embedded), ("upsert", updated), ("search", searched)):
        assert advanced >= 1000, f"{what}: the counter advanced {advanced} while it ran (GIL held?)"
