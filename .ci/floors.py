"""Print the lowest allowed versions of the UI packages, read from pyproject.toml, as pip
requirements ("streamlit==1.56"): CI installs them in a second venv and runs the page tests
there, so the floors stay true."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

CHECKED = ("streamlit", "streamlit-drawable-canvas")


def floors() -> list[str]:
    project = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())
    out = []
    for requirement in project["project"]["dependencies"]:
        found = re.match(r"^([A-Za-z0-9_.-]+)\s*>=\s*([0-9][^,;\s]*)", requirement)
        if found and found.group(1).lower() in CHECKED:
            out.append(f"{found.group(1)}=={found.group(2)}")
    if len(out) != len(CHECKED):
        raise SystemExit(f"pyproject.toml names no floor for one of {CHECKED}")
    return out


if __name__ == "__main__":
    print(" ".join(floors()))
