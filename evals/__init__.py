"""Evaluation harness: score grounding (search) and answers (agent) on real media.

``evals.metrics`` is pure scoring code, ``evals.dataset`` reads dataset files,
``evals.runner`` drives a ``Container`` over a dataset, ``evals.report`` writes the
Markdown report and chart, and ``evals.devset`` builds the development set.
"""
