"""What the trust layer announces to the layers above it, without depending on them."""

from __future__ import annotations

from blinker import Namespace

_events = Namespace()

# The audit sequencer refuses to sign (the tree does not extend its last checkpoint):
# sender is the problem in words, with `session=` and `now=`; the receiver alerts.
audit_halted = _events.signal("audit-halted")
