"""Provides the reports: console text (``text``), dive's JSON export (``export``), the summary of a comparison
(``diff``), and the CI report files (``junit``, ``markdown``). None of them imports Textual, the UI or the CLI.
"""
