"""The demo street and its history: seed-demo, seed-bulk and their data."""
