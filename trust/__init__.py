"""Signing keys, the pass token, QR rendering and the published trust list."""
