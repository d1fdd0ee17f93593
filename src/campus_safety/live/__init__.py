"""Live events (实时推送): the consoles' one stream, filtered by scope, replayable."""
