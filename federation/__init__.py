"""Federation between jurisdictions (docs/architecture.md, Federation)."""
