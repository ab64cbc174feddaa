"""What federation announces, so that oversight (supervision/) can act on it without
federation depending on oversight."""

from __future__ import annotations

from blinker import Namespace

_events = Namespace()

# Sent inside the transaction that found it, with `session=`, `now=` and `why=` (words for
# an operator); the sender is the FederationPeer. A peer's audit checkpoint did not extend
# the one we kept, or the peer holds a history of our log other than ours.
peer_forked = _events.signal("peer-forked")
