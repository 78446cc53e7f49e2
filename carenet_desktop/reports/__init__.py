"""Reports: PDF and spreadsheet output from computed results (no Qt here)."""
