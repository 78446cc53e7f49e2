"""Shared eCQM libraries (QI-Core Status/QICoreCommon, Hospice, medication periods) as vectorised functions."""
