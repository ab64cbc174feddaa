"""Running the product: readiness, metrics, backups and restores, data retention."""
