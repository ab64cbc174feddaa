"""The plumbing every package may use, and which uses no package: settings, the database,
request helpers, errors, logs, metrics, rate limits, privacy, tabular files, the words of
stored codes and the audit writer. See docs/architecture.md."""
