"""Documents: rendering drafts to PDF (off the event loop), FHIR export.

The context, legal mentions and versions they use are the record's
(:mod:`chairside.record`); stored versions are the store's
(:mod:`chairside.store.documents`)."""
