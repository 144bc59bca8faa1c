"""ocift's tests: one package, so every test module imports ``tests.support`` the same way."""
