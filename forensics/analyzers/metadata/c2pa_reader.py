"""C2PA Content Credentials through c2pa-python: manifest, actions, source type, validation in plain words.

We are offline: remote manifests and OCSP are never fetched, and no trust list is installed,
so a correctly signed manifest reads "valid, signer not on a trust list" rather than "trusted".
"""

from __future__ import annotations

import io
import json
from functools import cache
from typing import Any

from forensics.analyzers.base import Finding, Severity
from forensics.analyzers.metadata.readout import Readout, clip_text
from forensics.analyzers.metadata.xmp import SOURCE_TYPES, source_type_name
from forensics.media import Media

_MIME = {
    "JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp", "TIFF": "image/tiff", "HEIF": "image/heif",
    "AVIF": "image/avif", "GIF": "image/gif", "MP4": "video/mp4", "MOV": "video/quicktime", "AVI": "video/avi",
}  # fmt: skip
#: Source types a signed manifest may declare that make the picture machine-made.
AI_SOURCE_TYPES = {
    "trainedAlgorithmicMedia",
    "compositeWithTrainedAlgorithmicMedia",
    "algorithmicMedia",
    "compositeSynthetic",
}
_CAPTURE_SOURCE_TYPES = {"digitalCapture", "computationalCapture"}
# Failure codes that break the manifest, in words a reader understands.
_TAMPER_MEANING = {
    "assertion.dataHash.mismatch": "the picture's bytes changed after it was signed",
    "assertion.bmffHash.mismatch": "the video's bytes changed after it was signed",
    "assertion.boxesHash.mismatch": "the file's bytes changed after it was signed",
    "assertion.collectionHash.mismatch": "a signed file in the collection changed",
    "claimSignature.mismatch": "the signature does not match the signed claim (altered or forged credentials)",
    "claimSignature.missing": "the credentials carry no signature",
    "assertion.hashedURI.mismatch": "a signed statement inside the credentials was altered",
    "assertion.missing": "a signed statement is missing from the credentials",
    "signingCredential.revoked": "the signing certificate was revoked",
    "signingCredential.invalid": "the signing certificate is not valid for signing",
    "signingCredential.expired": "the signing certificate had expired when it signed",
    "ingredient.manifest.missing": "the credentials of a declared ingredient are missing",
}
# Failures that do not mean tampering: we have no trust list and make no network requests.
_BENIGN_PREFIXES = ("signingCredential.untrusted", "signingCredential.ocsp", "timeStamp.", "cawg.")


@cache
def _context() -> Any:
    import c2pa  # imported on first use: the native library is heavy

    settings = c2pa.Settings.from_dict({"verify": {"remote_manifest_fetch": False, "ocsp_fetch": False}})
    return c2pa.Context(settings)


def _codes(section: dict[str, Any] | None, kind: str) -> list[dict[str, str]]:
    return [
        {"code": str(item.get("code")), "explanation": clip_text(item.get("explanation", ""), 300)}
        for item in ((section or {}).get(kind) or [])[:100]
        if isinstance(item, dict)
    ]


def _actions(manifest: dict[str, Any]) -> tuple[list[dict[str, Any]], list[str]]:
    """Actions (name, software, source type) and every digital source type the manifest declares."""
    actions, source_types = [], []
    for assertion in manifest.get("assertions") or []:
        if not str(assertion.get("label", "")).startswith("c2pa.actions"):
            continue
        for action in (assertion.get("data") or {}).get("actions") or []:
            if not isinstance(action, dict):
                continue
            dst = source_type_name(str(action.get("digitalSourceType", ""))) or None
            agent = action.get("softwareAgent")
            agent = agent.get("name") if isinstance(agent, dict) else agent
            actions.append(
                {
                    "action": str(action.get("action")),
                    "software": clip_text(agent or "", 200),
                    "digital_source_type": dst,
                }
            )
            if dst:
                source_types.append(dst)
    return actions[:50], sorted(set(source_types))


def _summary(manifest: dict[str, Any]) -> dict[str, Any]:
    actions, source_types = _actions(manifest)
    generator = manifest.get("claim_generator")
    if not generator and manifest.get("claim_generator_info"):
        info = manifest["claim_generator_info"][0]
        generator = f"{info.get('name', '')} {info.get('version', '')}".strip()
    signature = manifest.get("signature_info") or {}
    return {
        "claim_generator": clip_text(generator or "", 300),
        "title": clip_text(manifest.get("title", ""), 300),
        "signer": clip_text(signature.get("issuer") or signature.get("common_name") or "", 300),
        "signed_at": signature.get("time"),
        "actions": actions,
        "digital_source_types": source_types,
        "ingredients": [
            {"title": clip_text(i.get("title", ""), 300), "relationship": i.get("relationship")}
            for i in (manifest.get("ingredients") or [])[:20]
            if isinstance(i, dict)
        ],
    }


def classify_validation(state: str | None, results: dict[str, Any] | None) -> tuple[str, list[str]]:
    """``trusted``, ``valid_untrusted``, ``tampered`` or ``ingredient_invalid``, and the reasons in words.

    ``signingCredential.untrusted`` is not a failure here: offline, with no trust list, every
    signer is untrusted; what matters is whether the signature and the hashes still match.
    """
    active = (results or {}).get("activeManifest") or {}
    failures = [c["code"] for c in _codes(active, "failure")]
    broken = [c for c in failures if not c.startswith(_BENIGN_PREFIXES)]
    if broken:
        return "tampered", [_TAMPER_MEANING.get(c, f"validation failed ({c})") for c in broken]
    if state == "Trusted":
        return "trusted", []
    ingredient_failures = [
        c["code"]
        for delta in (results or {}).get("ingredientDeltas") or []
        if isinstance(delta, dict)
        for c in _codes(delta.get("validationDeltas"), "failure")
        if not c["code"].startswith(_BENIGN_PREFIXES)
    ]
    if ingredient_failures:
        return "ingredient_invalid", [_TAMPER_MEANING.get(c, f"validation failed ({c})") for c in ingredient_failures]
    # "Invalid" with only benign failures: identity (CAWG) checks that need the network we do not use
    offline = [f"not checked offline ({c})" for c in failures if c.startswith("cawg.")]
    return "valid_untrusted", offline


def read_c2pa(media: Media) -> Readout:
    """C2PA facts and findings; empty when the file carries no Content Credentials."""
    out = Readout()
    if b"c2pa" not in media.data and b"jumb" not in media.data:  # cheap pre-check: no JUMBF, no manifest
        return out
    import c2pa

    try:
        reader = c2pa.Reader.try_create(_MIME.get(media.format), io.BytesIO(media.data), context=_context())
    except (c2pa.C2paError.NotSupported, c2pa.C2paError.ManifestNotFound):
        return out  # a format c2pa cannot carry, or the pre-check matched ordinary bytes
    except c2pa.C2paError as exc:
        message = str(exc)
        if isinstance(exc, c2pa.C2paError.RemoteManifest) or "remote" in message.lower():
            out.details["c2pa"] = {"status": "remote_not_fetched", "error": clip_text(message, 300)}
            out.findings.append(
                Finding(
                    "c2pa_remote",
                    "The file points to Content Credentials stored online; this offline tool did not fetch them, "
                    "so nothing was verified.",
                    Severity.INFO,
                )
            )
        else:
            out.details["c2pa"] = {"status": "unreadable", "error": clip_text(message, 300)}
            out.findings.append(
                Finding(
                    "c2pa_unreadable",
                    f"The file carries Content Credentials that could not be validated ({clip_text(message, 120)}).",
                    Severity.LOW,
                )
            )
        return out
    if reader is None:
        return out
    with reader:
        store = json.loads(reader.json())
    manifests = store.get("manifests") or {}
    active = manifests.get(store.get("active_manifest")) or {}
    state, results = store.get("validation_state"), store.get("validation_results")
    status, reasons = classify_validation(state, results)
    summary = _summary(active)
    history_types = sorted({t for m in manifests.values() if m is not active for t in _actions(m)[1]})
    out.details["c2pa"] = {
        "status": status,
        "validation_state": state,
        "reasons": reasons,
        "failures": _codes((results or {}).get("activeManifest"), "failure"),
        "manifest_count": len(manifests),
        "active_manifest": summary,
        "ingredient_source_types": history_types,
    }
    out.features["c2pa_present"] = 1.0
    _findings(status, reasons, summary, history_types, out)
    return out


def _findings(status: str, reasons: list[str], summary: dict[str, Any], history_types: list[str], out: Readout) -> None:
    who = summary["claim_generator"] or "an unnamed tool"
    signer = summary["signer"] or "an unnamed signer"
    if status == "tampered":
        out.findings.append(
            Finding(
                "c2pa_tampered",
                f"Content Credentials are present but broken: {'; '.join(reasons)}. The file was changed after "
                "signing, or the credentials were forged; its declared history cannot be relied on.",
                Severity.HIGH,
                "neutral",  # broken credentials say nothing of AI: an EXIF edit after signing breaks them too
            )
        )
        return
    trust = (
        "signed by a trusted certificate"
        if status == "trusted"
        else f"signature intact, signer '{signer}' not on a trust list"
    )
    actions = ", ".join(sorted({a["action"].removeprefix("c2pa.") for a in summary["actions"]})) or "none recorded"
    out.findings.append(
        Finding(
            "c2pa_present",
            f"Content Credentials (C2PA) made by {who}; {trust}. Recorded actions: {actions}.",
            Severity.INFO,
        )
    )
    if status == "ingredient_invalid":
        out.findings.append(
            Finding(
                "c2pa_ingredient_invalid",
                f"The credentials of an ingredient (a source file) failed validation: {'; '.join(reasons)}.",
                Severity.MEDIUM,
            )
        )
    declared = set(summary["digital_source_types"])
    ai = sorted(declared & AI_SOURCE_TYPES)
    if ai:
        meaning = SOURCE_TYPES[ai[0]][1]
        out.findings.append(
            Finding(
                "c2pa_declares_ai",
                f"Signed Content Credentials declare this picture as {meaning} ('{ai[0]}'), {trust}.",
                Severity.DECISIVE if status in ("trusted", "valid_untrusted") else Severity.HIGH,
                "synthetic",
            )
        )
    elif history_types and set(history_types) & AI_SOURCE_TYPES:
        out.findings.append(
            Finding(
                "c2pa_ingredient_ai",
                "Content Credentials of an ingredient declare generative-AI content.",
                Severity.HIGH,
                "synthetic",
            )
        )
    if declared & _CAPTURE_SOURCE_TYPES and not ai:
        out.findings.append(
            Finding(
                "c2pa_declares_capture",
                f"Signed Content Credentials declare a camera capture, {trust}.",
                Severity.MEDIUM if status == "trusted" else Severity.LOW,
                "authentic",
            )
        )
