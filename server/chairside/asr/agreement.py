"""LocalAgreement-n: commit the words that n consecutive hypotheses agree on.

Each hypothesis is the list of words that follow what is already committed
(the decoder is forced to start with the committed words).  The longest
common prefix of the last ``n`` hypotheses is committed and never changes
again; the rest of the newest hypothesis is the unstable tail.

n = 2 is the classic policy.  Chairside defaults to n = 3: with Whisper base
greedy partials, n = 2 commits too many early mistakes that the final decode
can no longer fix (French WER 0.356 vs 0.279 for n = 3, whole-file 0.267;
docs/benchmarks.md), while what is *shown* is the same.
"""

from __future__ import annotations

import re

from ..text import strip_trailing_punctuation, word_key

MAX_REPEATS = 2  # an n-gram said more than twice in a row is a decoding loop
# A loop inside one word: 1-4 letters five times in a row ("potroponononononon…");
# no French or English word has one (digits may: "100000").
_LOOP_IN_WORD = re.compile(r"([^\W\d_]{1,4}?)\1{4,}")


def trim_repetition(words: list[str], max_ngram: int = 4) -> list[str]:
    """Cut a hypothesis where it starts looping ("par par par par ...",
    "C'est bon C'est bon C'est bon"), keeping the first occurrences; a word
    that loops in itself ("potropononononon…") is cut with what follows."""
    keys = [word_key(w) for w in words]
    looping = next((i for i, k in enumerate(keys) if _LOOP_IN_WORD.search(k)), None)
    if looping is not None:
        words, keys = words[:looping], keys[:looping]
    for i in range(len(keys)):
        for n in range(1, max_ngram + 1):
            gram = keys[i : i + n]
            if len(gram) < n or not any(gram):
                continue
            repeats = 1
            while keys[i + repeats * n : i + (repeats + 1) * n] == gram:
                repeats += 1
            if repeats > MAX_REPEATS:
                return words[: i + n]
    return words


class LocalAgreement:
    def __init__(self, n: int = 3) -> None:
        if n < 2:
            raise ValueError("LocalAgreement needs at least 2 hypotheses to agree")
        self.n = n
        self.committed: list[str] = []
        self._history: list[list[str]] = []  # last n hypotheses, committed words removed

    @property
    def unstable(self) -> list[str]:
        return list(self._history[-1]) if self._history else []

    @property
    def stable_text(self) -> str:
        return " ".join(self.committed)

    def update(self, hypothesis: list[str], trusted: bool = True) -> list[str]:
        """Feed the words decoded after the committed ones; returns the newly
        committed words.  An untrusted hypothesis (decoded from too little
        audio) is shown as the unstable tail but starts the agreement afresh."""
        hypothesis = trim_repetition(hypothesis)
        if not trusted:
            self._history = [list(hypothesis)]
            return []
        self._history = (self._history + [list(hypothesis)])[-self.n :]
        if len(self._history) < self.n:
            return []
        agreed = 0
        for column in zip(*self._history):
            keys = {word_key(w) for w in column}
            if len(keys) != 1 or not next(iter(keys)):
                break
            agreed += 1
        newly = [
            word if all(w == word for w in column) else strip_trailing_punctuation(word)
            for word, column in zip(hypothesis[:agreed], zip(*self._history))
        ]
        self.committed.extend(newly)
        self._history = [h[agreed:] for h in self._history]
        return newly

    def settle(self, n: int) -> list[str]:
        """Commit the first ``n`` words of the newest hypothesis whether or
        not the others agree (they are old enough: the streaming policy moves
        its decoding window past them).  The agreement starts afresh on what
        follows them."""
        if not self._history or n <= 0:
            return []
        newest = self._history[-1]
        newly = list(newest[:n])
        self.committed.extend(newly)
        self._history = [newest[n:]]
        return newly
