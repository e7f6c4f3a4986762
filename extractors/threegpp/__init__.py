"""The 3GPP specification reader behind source kind ``3gpp`` (see ``extractors/spec.py``).

* :mod:`.filename`: spec number, version and release from 3GPP / ETSI names and cover lines
* :mod:`.wg`: series/number -> responsible working group
* :mod:`.zips`: archive reading with limits (size, members, depth, path traversal)
* :mod:`.docx_reader`: streaming WordprocessingML -> blocks with clause structure
* :mod:`.omml`: Office Math (OMML) -> LaTeX
* :mod:`.markdown`: blocks -> boilerplate removal -> markdown, per document and per clause
* :mod:`.legacy_doc`: Word 97 ``.doc`` -> ``.docx`` through headless LibreOffice
* :mod:`.etsi_pdf`: ETSI PDF editions of 3GPP specs

None of it knows about Beam, manifests or counting; ``spec.py`` wires it to a source.
"""
