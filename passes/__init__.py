"""Fleet (vehicles, drivers) and the pass workflow: applications, review, tokens, QR, SMS."""
