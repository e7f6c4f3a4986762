"""Synthesis with teacher LLMs (``telecom_etl.synth``); pure code, no Beam.

* :mod:`~telecom_etl.synth.teacher`: the teacher client every LLM stage uses (OpenAI-compatible
  endpoints, cache, rate limits, retries, budget, cost, Batch API), over :mod:`~telecom_etl.synth.cache`;
* :mod:`~telecom_etl.synth.chunking`: section-aware passages (clauses, paper sections, code units);
* :mod:`~telecom_etl.synth.tasks`: one module per instruction family (prompt, parser, checks);
* :mod:`~telecom_etl.synth.validate`: pair checks and near-duplicate questions;
* :mod:`~telecom_etl.synth.instructions`: the steps of ``synth-instructions``;
  :mod:`~telecom_etl.synth.sft_schema`: its Parquet schema;
* :mod:`~telecom_etl.synth.preferences`: chosen/rejected pairs of ``synth-preferences``.
"""
