"""``orgbook present``: a business presents its credentials or bundles, signed with its DID key.

``orgbook present --key business.key --challenge C --domain D [FILE…]`` prints a W3C Verifiable
Presentation 2.0 (:func:`orgbook.core.presentation.make_presentation`): holder the business's
DID (the key's ``did:key``, or ``--holder did:web:…``), proof ``eddsa-jcs-2022`` with purpose
``authentication`` and the verifier's challenge and domain. With no FILE it is the proof a
registry asks for to bind the DID (docs/businesses.md). ``--new-key`` makes the key file first:
an Ed25519 seed sealed with ``ORGBOOK_KEY_PASSPHRASE`` (encrypted PKCS#8 PEM). Exit 0, or 2 for
unusable input.

What it must not do: verify (``orgbook verify``), or write the key in clear.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from orgbook.core.errors import BadInput, OrgBookError

__all__ = ["register", "run_present"]


def register(subparsers: Any) -> None:
    present = subparsers.add_parser(
        "present",
        help="make a presentation of credentials or bundles signed with your DID key",
        description="Make a W3C Verifiable Presentation signed by the holder's DID key for a "
        "verifier's challenge and domain (docs/businesses.md). Exit 0, 2 unusable input.",
    )
    present.add_argument("files", metavar="FILE", nargs="*", help="credential or bundle JSON")
    present.add_argument("--key", metavar="FILE", required=True, help="the holder's key (PEM)")
    present.add_argument("--new-key", action="store_true", help="create the key file first")
    present.add_argument("--challenge", required=True, help="the verifier's challenge")
    present.add_argument("--domain", required=True, help="the verifier's domain")
    present.add_argument("--holder", metavar="DID", help="the holder DID (default: did:key)")
    present.add_argument(
        "--verification-method", metavar="DIDURL", help="the signing key's id (default #key-1)"
    )
    present.add_argument("--out", metavar="FILE", help="write the presentation here")
    present.set_defaults(func=run_present)


def _signer(path: Path, create: bool) -> Any:
    from orgbook.core.crypto import Ed25519Signer
    from orgbook.core.keystore import passphrase_from_env, seal_seed, unseal_seed

    passphrase = passphrase_from_env()
    if create:
        if path.exists():
            raise BadInput(f"{path} exists: not overwriting a key", field="key")
        signer = Ed25519Signer.generate()
        path.write_bytes(seal_seed(signer.seed, passphrase))
        path.chmod(0o600)
        return signer
    try:
        sealed = path.read_bytes()
    except OSError as exc:
        raise BadInput(f"cannot read {path}: {exc.strerror or exc}", field="key") from None
    return Ed25519Signer.from_seed(unseal_seed(sealed, passphrase))


def run_present(args: argparse.Namespace) -> int:
    from orgbook.core.did import did_key_from_public_key
    from orgbook.core.presentation import make_presentation
    from orgbook.verifier.offline import read_document

    try:
        signer = _signer(Path(args.key), args.new_key)
        items = [read_document(name) for name in args.files]
        presentation = make_presentation(
            items,
            signer,
            challenge=args.challenge,
            domain=args.domain,
            created=datetime.now(UTC).replace(microsecond=0),
            holder=args.holder,
            verification_method=args.verification_method,
        )
    except OrgBookError as exc:
        print(f"orgbook present: {exc.diagnostics()}", file=sys.stderr)
        return 2
    if args.new_key:
        print(f"new key {args.key}: {did_key_from_public_key(signer.public_key)}", file=sys.stderr)
    text = json.dumps(presentation, ensure_ascii=False, indent=2)
    if args.out:
        Path(args.out).write_text(text + "\n", encoding="utf-8")
    else:
        print(text)
    return 0
