"""Deduplication core (pure Python): representative policy, MinHash, LSH parameters."""
