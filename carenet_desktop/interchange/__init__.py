"""Reading and writing the world's formats (FHIR R4, EHR exports, submission packages). No database here."""
