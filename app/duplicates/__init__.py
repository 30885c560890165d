"""Possible duplicates (疑似重复): open tickets of the same item close together in place and time."""
