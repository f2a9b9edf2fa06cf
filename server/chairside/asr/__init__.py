"""Speech recognition: the model catalogue, the shared engine, the streaming policy of one
utterance, and the listener (audio → VAD → partials and finals, in order)."""
