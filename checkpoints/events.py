"""What the checkpoint loop announces, so that oversight (supervision/) can act on it
without the loop depending on oversight."""

from __future__ import annotations

from blinker import Namespace

_events = Namespace()

# Sent inside the transaction that raised it, with `session=` and `now=`; receivers add
# their rows (notifications, SMS) to that transaction. The sender is the Anomaly row.
anomaly_raised = _events.signal("anomaly-raised")

# Sent after a denied scan committed, with `session=` (its transaction over) and `now=`; the
# sender describes it (checkpoint_id, checkpoint, pass_id, number, plate).
scan_denied = _events.signal("scan-denied")

# Sent inside a scan's write transaction, with `connection=` (Core, that transaction) and
# `now=`, for every scan of a pass a peer issued; the sender describes the scan (scan_pk,
# pass_id, issuer_area_code). The receiver owes the issuer an event (federation/).
peer_pass_scanned = _events.signal("peer-pass-scanned")

# Sent inside a scan's write transaction, with `connection=` (Core, that transaction) and
# `now=`, when a trip is stamped with its entry; the sender describes it (trip_id, pass_id,
# number, plate, destination_enterprise_id, destination_status, destination_phone, gate,
# code, at). The consignee is told, so someone goes to receive the truck
# (supervision/consignees.py); its receiver reads nothing (the write lock is held).
truck_entered = _events.signal("truck-entered")
