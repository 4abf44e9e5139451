"""The webhook verification snippet exactly as the README documents it (read from README.md and run)."""

import re
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def documented_verifier():
    """``verify_leadflow_signature`` from the README's "Webhooks" section."""
    text = README.read_text(encoding="utf-8")
    block = re.search(r"```python\n(.*?def verify_leadflow_signature.*?)```", text, re.S)
    assert block, "README.md lost its webhook verification snippet"
    namespace: dict = {}
    exec(compile(block.group(1), "README.md (webhook snippet)", "exec"), namespace)  # noqa: S102 - our own README
    return namespace["verify_leadflow_signature"]
