"""Vehicles and drivers: registration, import and export, their pages and API."""
