"""local tests."""
