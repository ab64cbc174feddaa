"""What the accounts package announces, so that packages above it (checkpoints/) can add
their part to a user without accounts depending on them."""

from __future__ import annotations

from blinker import Namespace

_events = Namespace()

# A user was created, in the creating transaction: sender is the User, with `session=`,
# `data=` (the UserCreate input), `actor=` and `now=`. Receivers may raise
# ValidationFailed, which rolls the whole creation back.
user_created = _events.signal("user-created")

# The admin's user list asks which places officers can be assigned to: sender is the
# Session, with `users=`; a receiver returns (places, {user_id: set of assigned place ids}).
officer_places = _events.signal("officer-places")

# An enterprise's status changed, in the changing transaction: sender is the Enterprise,
# with `session=`, `before=`, `after=` and `now=` (the pass workflow lists or unlists the
# passes of a suspended enterprise on the revocation list).
enterprise_status_changed = _events.signal("enterprise-status-changed")

# API tokens stopped working, in the revoking transaction: sender is the user id, with
# `token_hash=` (one token signed out) or None (all of the user's). The token cache of
# this process forgets them at once.
tokens_revoked = _events.signal("tokens-revoked")

# The home page asks what waits for the user: sender is the Session, with `user=`; a
# receiver returns a dict of counts to show on the user's tiles (the review queue's).
waiting_work = _events.signal("waiting-work")

# An enterprise signed up and waits for approval, in the sign-up's transaction: sender is
# the Enterprise, with `session=` and `now=` (the admins are told).
enterprise_signed_up = _events.signal("enterprise-signed-up")
