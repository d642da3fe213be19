"""Lowerings for this op family (being written)."""
