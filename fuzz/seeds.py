#!/usr/bin/env python3
"""Writes seed corpora for the fuzz targets from the shared test vectors.

    python3 fuzz/seeds.py        # from the repository root, or from fuzz/

Reads crates/core/tests/vectors/*.json (bytes in hex) and writes one file per
seed into fuzz/corpus/<target>/ (git-ignored), named seed-<sha1 prefix> so that
re-running is idempotent. The targets use the vectors' own keys, so the valid
vector blobs decrypt and start the fuzzer on the success paths.
"""
import hashlib
import json
import pathlib

FUZZ = pathlib.Path(__file__).resolve().parent
VECTORS = FUZZ.parent / "crates" / "core" / "tests" / "vectors"

# opaque_messages: first byte selects the decoder (see the target).
OPAQUE = {
    "password_file": 0,
    "server_setup": 1,
    # 2: saved server login state: no vector field (the target makes it)
    "registration_request": 3,
    "registration_upload": 4,
    "login_request": 5,
    "login_finalization": 6,
    "registration_response": 7,
    "login_response": 8,
}


def load(name):
    return json.loads((VECTORS / f"{name}.json").read_text(encoding="utf-8"))["cases"]


def main():
    seeds = {}

    def add(target, data):
        if isinstance(data, str):
            data = data.encode("utf-8")
        seeds.setdefault(target, set()).add(bytes(data))

    for c in load("link"):
        add("link_fragment", c["fragment"])
        if "grant_id_base64url" in c:
            add("grant_id", c["grant_id_base64url"])
    for name in ("grant", "hpke", "message"):
        for c in load(name):
            if "conversation_id" in c:
                add("grant_id", c["conversation_id"])
                add("grant_id", c["conversation_id"].upper())
            if "message_id" in c:
                add("grant_id", c["message_id"])
    for c in load("identity"):
        add("identity_public", bytes.fromhex(c["public_key"]))
    for c in load("hpke"):
        if "recipient_public" in c:
            add("identity_public", bytes.fromhex(c["recipient_public"]))
    # Edge cases of X25519: 0, 1, a low-order point, p - 1 (low order), p (not canonical).
    for u in ("00" * 32, "01" + "00" * 31,
              "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
              "ec" + "ff" * 30 + "7f", "ed" + "ff" * 30 + "7f"):
        add("identity_public", bytes.fromhex(u))
    for c in load("grant"):
        add("wrapped_conversation_key", bytes.fromhex(c["wrapped"]))
    for c in load("hpke"):
        add("sealed_conversation_key", bytes.fromhex(c["sealed"]))
    for c in load("message"):
        if "ciphertext" in c:
            add("message_ciphertext", bytes.fromhex(c["ciphertext"]))
        if "encoded" in c:
            add("plaintext", bytes.fromhex(c["encoded"]))
    for c in load("plaintext"):
        add("plaintext", bytes.fromhex(c["encoded"]))
    for c in load("kek"):
        for key in ("printable", "text"):
            if key in c:
                add("recovery_key", c[key])
        for text in c.get("also_parses", []):
            add("recovery_key", text)
        if "sealed" in c:
            add("sealed_identity", bytes.fromhex(c["sealed"]))
    for c in load("server"):
        if "sealed" in c:
            add("server_field", bytes.fromhex(c["sealed"]))
    for c in load("opaque"):
        for field, selector in OPAQUE.items():
            add("opaque_messages", bytes([selector]) + bytes.fromhex(c[field]))
        # The secrets file: version || root secret || OPAQUE server setup.
        root = load("server")[0]["root"]
        add("server_field", bytes([1]) + bytes.fromhex(root) + bytes.fromhex(c["server_setup"]))

    for target, items in sorted(seeds.items()):
        out = FUZZ / "corpus" / target
        out.mkdir(parents=True, exist_ok=True)
        for data in sorted(items):
            (out / f"seed-{hashlib.sha1(data).hexdigest()[:16]}").write_bytes(data)
        print(f"{target}: {len(items)} seeds")


if __name__ == "__main__":
    main()
