"""Template tags, one module per area."""
