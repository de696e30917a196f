"""The README's first example runs as written."""
import re
from pathlib import Path

import numpy as np

README = Path(__file__).resolve().parent.parent / "README.md"


def test_readme_first_example_runs():
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    ns: dict = {}
    # The example must be a file for ParPy to read its source.
    path = Path(__file__).resolve().parent / "_readme_example.py"
    path.write_text(blocks[0])
    try:
        exec(compile(blocks[0], str(path), "exec"), ns)
    finally:
        path.unlink()
    np.testing.assert_array_equal(ns["y"], 2.0 * np.arange(1000, dtype=np.float32) + 1)
