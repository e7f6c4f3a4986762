"""telecom-etl: training data for telecom LLMs (pre-training, instructions, preferences)."""

__version__ = "0.1.0"
