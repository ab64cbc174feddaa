"""Pass applications, review, the pass state machine, and the public status page."""
