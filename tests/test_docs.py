"""The documentation: its result tables agree with bench/results, the site builds strictly, the README
stays a front door, and no dated figure is left where the issue moved them out of."""

from __future__ import annotations

import difflib
import importlib.util
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import mnas.docs.tables as docs_tables
from mnas.__main__ import main

REPO = Path(__file__).resolve().parent.parent
LINK = re.compile(r"\[[^\]]*\]\(([^)#\s]+)(?:#[^)]*)?\)")
DATE = re.compile(r"\b20[0-9]{2}-[01][0-9]-[0-3][0-9]\b")


def docs_copy(tmp_path: Path) -> Path:
    """A root holding a copy of docs/ and the real bench/results (read only)."""
    shutil.copytree(REPO / "docs", tmp_path / "docs")
    (tmp_path / "bench").mkdir()
    (tmp_path / "bench" / "results").symlink_to(REPO / "bench" / "results")
    return tmp_path


def test_every_results_table_agrees_with_bench_results(tmp_path):
    root = docs_copy(tmp_path)
    docs_tables.refresh(root)
    differences = []
    for page in docs_tables.pages(root):
        committed = (REPO / page.relative_to(root)).read_text().splitlines()
        rendered = page.read_text().splitlines()
        differences += difflib.unified_diff(committed, rendered, str(page.relative_to(root)), "rendered", lineterm="")
    assert not differences, ("pages disagree with bench/results; run 'python -m mnas docs tables':\n"
                             + "\n".join(differences[:60]))


def test_every_table_is_shown_on_a_page():
    shown = {m["name"] for page in docs_tables.pages(REPO) for m in docs_tables.BLOCK.finditer(page.read_text())}
    assert shown == set(docs_tables.TABLES)


def test_check_fails_on_an_edited_table_and_passes_once_rendered(tmp_path, capsys):
    root = docs_copy(tmp_path)
    page = root / "docs" / "search" / "proxy.md"
    page.write_text(page.read_text().replace("| 0.43 (", "| 0.99 (", 1))
    assert main(["docs", "tables", "--check", "--root", str(root)]) == 1
    assert "docs/search/proxy.md" in capsys.readouterr().err
    assert main(["docs", "tables", "--root", str(root)]) == 0
    assert main(["docs", "tables", "--check", "--root", str(root)]) == 0


def test_an_unknown_block_names_the_page_and_the_block(tmp_path):
    with pytest.raises(ValueError, match=r"guide\.md: results block 'no-such-table'"):
        docs_tables.render_page("<!-- results: no-such-table -->\n<!-- end results -->\n", tmp_path, "guide.md")


def test_a_missing_results_file_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"strategies\.json"):
        docs_tables.render_page("<!-- results: strategies -->\n<!-- end results -->\n", tmp_path, "p.md")


def test_a_block_inside_a_code_fence_is_an_example_not_a_table(tmp_path):
    text = "```markdown\n<!-- results: strategies -->\nanything\n<!-- end results -->\n```\n"
    assert docs_tables.render_page(text, tmp_path) == text


def test_a_folder_without_docs_is_refused(tmp_path):
    assert main(["docs", "tables", "--check", "--root", str(tmp_path)]) == 2


@pytest.mark.skipif(importlib.util.find_spec("mkdocs") is None or importlib.util.find_spec("mkdocstrings") is None,
                    reason="mkdocs / mkdocstrings not installed (scripts/setup.sh installs them)")
@pytest.mark.slow
def test_the_site_builds_strictly(tmp_path):
    """A broken link, a page missing from the nav or an API reference that does not resolve fails."""
    build = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "--site-dir",
                            str(tmp_path / "site")], cwd=REPO, capture_output=True, text=True, timeout=600,
                           env={**__import__("os").environ, "NO_MKDOCS_2_WARNING": "1"})
    assert build.returncode == 0, build.stdout + build.stderr
    assert (tmp_path / "site" / "index.html").is_file()
    assert (tmp_path / "site" / "api" / "mnas" / "index.html").read_text().count('id="mnas.create_model"') == 1


def test_the_readme_is_a_front_door():
    readme = (REPO / "README.md").read_text()
    assert len(readme.splitlines()) <= 200
    # the two commands, as the set-up and CI run them
    assert re.search(r"^bash scripts/run\s", readme, re.M) and re.search(r"^bash scripts/test\s", readme, re.M)
    assert not DATE.search(readme), "dated measurements belong in docs/, not the README"


@pytest.mark.parametrize("markdown", ["README.md", "bench/README.md", "bench/results/README.md",
                                      "infer_mnasnet/README.md", "train_mnasnet/README.md",
                                      "search_mini/README.md", "notebooks/README.md"])
def test_readme_links_lead_to_files(markdown):
    path = REPO / markdown
    missing = [target for target in LINK.findall(path.read_text())
               if not target.startswith(("http://", "https://")) and not (path.parent / target).exists()]
    assert not missing, f"{markdown} links to missing files: {missing}"


def _module_docstrings() -> list[tuple[str, str]]:
    import ast

    found = []
    for path in sorted((REPO / "mnas").rglob("*.py")):
        doc = ast.get_docstring(ast.parse(path.read_text()))
        if doc:
            found.append((str(path.relative_to(REPO)), doc))
    return found


def _lesson_prose() -> list[tuple[str, str]]:
    """The Markdown cells of the lessons and their solutions (py:percent comments)."""
    found = []
    for path in sorted((REPO / "notebooks").glob("*.py")) + sorted((REPO / "notebooks" / "solutions").glob("*.py")):
        found += [(str(path.relative_to(REPO)), line) for line in path.read_text().splitlines()
                  if line.startswith("#")]
    return found


def test_no_dated_figures_in_module_docstrings_lesson_prose_or_plugin_readmes():
    texts = _module_docstrings() + _lesson_prose()
    texts += [(f"{p}/README.md", (REPO / p / "README.md").read_text())
              for p in ("infer_mnasnet", "train_mnasnet", "search_mini")]
    dated = [(where, DATE.search(text)[0]) for where, text in texts if DATE.search(text)]
    assert not dated, f"dated figures (move them to docs/, link there): {dated}"
