"""Accounts: users, roles, enterprises, sign-in and tenant scoping."""
