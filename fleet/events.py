"""What the fleet announces, so the pass workflow can guard what it signed without the
fleet depending on passes."""

from __future__ import annotations

from blinker import Namespace

_events = Namespace()

# Before a vehicle's plate changes: sender is the Vehicle (still with its old plate), with
# `session=`. A receiver refuses the change by raising ValidationFailed.
plate_changing = _events.signal("plate-changing")
