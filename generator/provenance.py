"""Optional self-declaration of the suite's own edits: invisible watermark and C2PA manifest.

- ``"watermark"``: the Stable Diffusion v1 reference watermark ("StableDiffusionV1", ``dwtDct`` method of
  ``invisible-watermark``), the one field tools already decode; it changes pixels, so it is applied before encoding.
  Images under 256 x 256 pixels are left unmarked (the method needs that much room) and the record says so.
- ``"c2pa"``: a C2PA manifest signed with c2pa-python: a ``c2pa.created`` action with digital source type
  ``trainedAlgorithmicMedia`` and the generation parameters as an ``org.img2img-forensics.generation`` assertion.
  The signing certificate is a local test chain (root CA + ES256 leaf) generated with ``cryptography`` under
  ``<out>/.parts/c2pa/``: validators will report it as untrusted, which is right for a test certificate.

Never train a classifier on stamped edits next to unstamped reals: the stamp alone would separate the classes.
"""

from __future__ import annotations

import datetime
import io
import json
from pathlib import Path

import numpy as np
from PIL import Image

WATERMARK_TEXT = b"StableDiffusionV1"
WATERMARK_MIN_SIDE = 256
DIGITAL_SOURCE_TYPE = "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"
ASSERTION_LABEL = "org.img2img-forensics.generation"
MIME_TYPES = {"jpg": "image/jpeg", "png": "image/png", "webp": "image/webp"}
KINDS = ("watermark", "c2pa")


def add_watermark(image: Image.Image) -> Image.Image | None:
    """Embed the SD v1 watermark; None when the image is too small for the method."""
    from imwatermark import WatermarkEncoder

    if min(image.size) < WATERMARK_MIN_SIDE:
        return None
    encoder = WatermarkEncoder()
    encoder.set_watermark("bytes", WATERMARK_TEXT)
    bgr = np.ascontiguousarray(np.asarray(image.convert("RGB"))[:, :, ::-1])
    return Image.fromarray(np.ascontiguousarray(encoder.encode(bgr, "dwtDct")[:, :, ::-1]))


def test_certificate_chain(folder: Path) -> tuple[bytes, bytes]:
    """(certificate chain PEM: leaf then root, leaf private key PEM) of a local test CA; created once in ``folder``."""
    chain_path, key_path = folder / "chain.pem", folder / "signer.key"
    if chain_path.is_file() and key_path.is_file():
        return chain_path.read_bytes(), key_path.read_bytes()
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.timezone.utc)
    root_key, leaf_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    root_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "img2img-forensics test root CA"),
                           x509.NameAttribute(NameOID.ORGANIZATION_NAME, "img2img-forensics (test)")])
    leaf_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "img2img-forensics dataset builder"),
                           x509.NameAttribute(NameOID.ORGANIZATION_NAME, "img2img-forensics (test)")])

    def builder(subject, issuer, public_key):
        return (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(public_key)
                .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
                .not_valid_after(now + datetime.timedelta(days=3650)))

    root = (builder(root_name, root_name, root_key.public_key())
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
            .sign(root_key, hashes.SHA256()))
    leaf = (builder(leaf_name, root_name, leaf_key.public_key())
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False, False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key()), critical=False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(leaf_key.public_key()), critical=False)
            .sign(root_key, hashes.SHA256()))
    chain = leaf.public_bytes(serialization.Encoding.PEM) + root.public_bytes(serialization.Encoding.PEM)
    key = leaf_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                 serialization.NoEncryption())
    folder.mkdir(parents=True, exist_ok=True)
    chain_path.write_bytes(chain)
    key_path.write_bytes(key)
    return chain, key


def c2pa_manifest(generation: dict) -> dict:
    """Manifest definition: created by a trained algorithm, with the generation parameters as an assertion."""
    from forensics import __version__

    return {
        "claim_generator_info": [{"name": "img2img-forensics generator", "version": __version__}],
        "title": "img2img edit",
        "assertions": [
            {"label": "c2pa.actions", "data": {"actions": [
                {"action": "c2pa.created", "digitalSourceType": DIGITAL_SOURCE_TYPE,
                 "softwareAgent": {"name": "img2img-forensics generator", "version": __version__}},
            ]}},
            {"label": ASSERTION_LABEL, "data": generation},
        ],
    }


class Provenance:
    """Stamps the files of edits; ``kinds`` is a subset of ("watermark", "c2pa")."""

    def __init__(self, kinds: list[str], workdir: Path) -> None:
        unknown = sorted(set(kinds) - set(KINDS))
        if unknown:
            raise ValueError(f"unknown provenance kind(s) {', '.join(unknown)}; use {', '.join(KINDS)}")
        self.kinds = list(kinds)
        self._signer = None
        if "c2pa" in self.kinds:
            import c2pa

            chain, key = test_certificate_chain(Path(workdir) / "c2pa")
            self._signer = c2pa.Signer.from_info(c2pa.C2paSignerInfo(c2pa.C2paSigningAlg.ES256, chain, key, None))

    def mark_pixels(self, image: Image.Image) -> tuple[Image.Image, list[str]]:
        """Apply the invisible watermark if asked; returns the image and what was done."""
        if "watermark" not in self.kinds:
            return image, []
        marked = add_watermark(image)
        return (image, ["watermark-skipped-too-small"]) if marked is None else (marked, ["watermark"])

    def sign(self, data: bytes, extension: str, generation: dict) -> tuple[bytes, list[str]]:
        """Embed a signed C2PA manifest into encoded image bytes if asked."""
        if self._signer is None:
            return data, []
        import c2pa

        destination = io.BytesIO()
        with c2pa.Builder(json.dumps(c2pa_manifest(generation))) as builder:
            builder.sign(self._signer, MIME_TYPES[extension], io.BytesIO(data), destination)
        return destination.getvalue(), ["c2pa"]
