"""The reference pages in docs/api are generated from the docstrings
(tools/gen_api_docs.py): they must be current, and every public name must
have a docstring (the generator refuses otherwise)."""
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_api_pages_match_the_docstrings():
    r = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "gen_api_docs.py"), "--check"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
