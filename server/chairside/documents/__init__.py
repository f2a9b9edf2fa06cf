"""Documents: context, legal mentions, rendering to PDF, FHIR export, versions."""
