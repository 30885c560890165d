"""Whistle: grid-governance event dispatch (街道吹哨、部门报到)."""
