"""What the pass workflow asks of the loop above it, without depending on it."""

from __future__ import annotations

from blinker import Namespace

_events = Namespace()

# The driver's page asks where the truck stands in its trip: sender is the Pass, with
# `session=`; a receiver returns the open trip's state ("entered" or "arrived") or None.
trip_progress = _events.signal("trip-progress")

# A reviewer rejected or revoked a pass: sender is the Pass (its new status set), with
# `session=` (the decision's transaction) and `now=`. Receivers add to that transaction.
pass_decided = _events.signal("pass-decided")
