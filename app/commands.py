"""Top-level commands: serve, migrate, openapi. Domain commands live in their domains."""
