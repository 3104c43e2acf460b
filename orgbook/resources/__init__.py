"""orgbook's data files (the JSON Schemas in ``schemas/``); no code.

They are found through :func:`orgbook.core.datafiles.data_path`, never from a module's own
``__file__``, so a source checkout, an editable install and the wheel read the same files.
"""
