"""The measure engine: value sets, measure definitions, vectorised evaluation, statistics.

Pure: DataFrames in, results out. No database, no Qt.
"""
