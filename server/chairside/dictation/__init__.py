"""Dictation: pure text in, structured drafting out (no sockets, no SQL).

Started with issue 3; for now: normalization of dental French (numbers,
units, FDI teeth, surfaces), voice command matching, prescription lines
with the formulary, and the dictation state (``state.Dictation``), which the
session feeds with every whole utterance.
"""
