"""Thin Qt item models over what the services return (no queries, no dialogs in here)."""
