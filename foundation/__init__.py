"""The bottom floor: the event contracts, the lake's tables and partition rule, and every
environment variable the project reads.

Everything else imports from here (ingestion, streaming, the command line, the bench,
the tests); nothing here imports any other package of the project
(tests/test_layers.py).
"""
