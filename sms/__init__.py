"""Outbound text messages: outbox, providers, templates, worker and delivery webhook."""
