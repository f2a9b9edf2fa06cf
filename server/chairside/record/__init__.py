"""The shared record model: what dictation, documents, store and transports
all speak of, importing none of them.

- :mod:`.kinds`: the document kinds (titles, number prefixes, sections), one table
- :mod:`.context`: who a document is from and for (practitioner, clinic, patient with the
  facts a prescriber checks, lab)
- :mod:`.allergies`: the allergy classes a prescription is checked against, and the words naming them
- :mod:`.mentions`: what each kind must carry before it can be signed
- :mod:`.draft`: a draft and its lines, typed
- :mod:`.versions`: a rendered document version and whose it is (``Owner``)
- :mod:`.ids`: ids as Chairside writes them (32 lowercase hex digits)
"""
