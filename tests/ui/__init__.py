"""ui tests."""
