"""Suggesting the matrix item from what was written (智能分拨)."""
