"""What the pass workflow asks of the loop above it, without depending on it."""

from __future__ import annotations

from blinker import Namespace

_events = Namespace()

# The driver's page asks where the truck stands in its trip: sender is the Pass, with
# `session=`; a receiver returns the open trip's state ("entered" or "arrived") or None.
trip_progress = _events.signal("trip-progress")
