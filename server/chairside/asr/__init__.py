"""Speech recognition: the model catalogue, the shared engine and the streaming policy."""
