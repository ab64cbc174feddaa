"""What the SMS outbox announces, so the packages above it hear of a message that will not
arrive without the outbox depending on them."""

from __future__ import annotations

from blinker import Namespace

_events = Namespace()

# A message failed for good (the provider refused it, or every attempt was spent, or a
# delivery report said so), in the transaction that marks it: sender is the SmsMessage,
# with `session=` and `now=`. Receivers add to that transaction.
sms_failed = _events.signal("sms-failed")
