"""What the checkpoint loop announces, so that oversight (supervision/) can act on it
without the loop depending on oversight."""

from __future__ import annotations

from blinker import Namespace

_events = Namespace()

# Sent inside the transaction that raised it, with `session=` and `now=`; receivers add
# their rows (notifications, SMS) to that transaction. The sender is the Anomaly row.
anomaly_raised = _events.signal("anomaly-raised")
