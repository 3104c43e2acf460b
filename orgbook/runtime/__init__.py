"""What a running orgbook process sets up around the areas, shared by the commands and the app.

* :mod:`~orgbook.runtime.registry`: the registry a process opens from its settings (the engine
  with its schema upgraded, the ledger with its key, the issuers' key passphrase) and hands to
  routes (``RegistryDep``) and commands;
* :mod:`~orgbook.runtime.logging`: structured logs (plain or JSON lines) and the request id they
  carry;
* :mod:`~orgbook.runtime.commandline`: the options every sub-command shares (``--db``,
  ``--data-dir``), settings from them, JSON output, logging while a command works;
* :mod:`~orgbook.runtime.progress`: progress bars on stderr for long commands.

Below the areas and the HTTP plumbing, above the ledger, storage and the projections.
"""
