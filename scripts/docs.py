"""Build the documentation site offline: stage docs/ with the generated pages, build strict.

1. copy docs/ into build/docs-src;
2. write the data dictionary (glossary.md) from louyu_research/core/glossary.csv;
3. execute every notebook of notebooks/gallery/ through papermill on the shipped sample log
   into the staging folder (the site shows their figures and conclusions; they name no
   tenant); notebooks/explore.ipynb is shown as source, since its outputs show one building's
   file, tenant by tenant, which is for internal use;
4. `mkdocs build --strict`: a broken link between pages or to a heading fails the build.

Usage: python scripts/docs.py [--log events] [--no-execute] [--out DIR]
(`--out DIR`: stage into DIR/src and build into DIR/site instead of build/.)
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def glossary_page() -> str:
    from louyu_research.core import glossary

    frame = glossary.load_glossary().sort("name")

    def cell(text: str | None) -> str:
        return (text or "").replace("|", "\\|").replace("\n", " ")

    lines = [
        "# Data dictionary",
        "",
        "Every column of every frame the package produces, in Chinese and English, with its unit",
        "and scope. The same table drives the CLI's headers (`--labels`), the CSV and Stata",
        "exports and the JSON Schemas (`louyu glossary` prints it).",
        "",
        "Scope: **in_scope** — a figure over buildings in scope at the end of the row's month",
        "(scope is judged at each month end, so a year's monthly sums can differ from December's",
        "year to date; in the building panel the column is the building's own value, to be",
        "filtered on `in_scope` before summing); **row** — describes the row it is on;",
        "**city** — the whole city; **log** — an event as recorded.",
        "",
        "| column | 名称 | name | unit | scope | 定义 | definition |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in frame.iter_rows(named=True):
        lines.append(
            f"| `{r['name']}` | {cell(r['name_zh'])} | {cell(r['name_en'])} | {cell(r['unit'])} "
            f"| {cell(r['scope'])} | {cell(r['definition_zh'])} | {cell(r['definition_en'])} |"
        )
    return "\n".join(lines) + "\n"


def execute(source: Path, target: Path, log: Path) -> None:
    import tempfile

    import papermill as pm

    from louyu_research.report.pipeline import local_kernel_manager

    target.parent.mkdir(parents=True, exist_ok=True)
    key = "log" if source.name == "explore.ipynb" else "log_path"
    # the kernel on Unix sockets, as the reports' builds run it: only this user can reach it
    with tempfile.TemporaryDirectory(prefix="louyu-kernel-") as sockets:
        pm.execute_notebook(
            str(source),
            str(target),
            parameters={key: str(log)},
            kernel_name="louyu",
            cwd=str(source.parent),
            progress_bar=False,
            kernel_manager_class=local_kernel_manager(Path(sockets)),
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--log", type=Path, default=ROOT / "events")
    parser.add_argument("--no-execute", action="store_true", help="stage notebooks unexecuted")
    parser.add_argument("--out", type=Path, help="stage into OUT/src, build into OUT/site")
    args = parser.parse_args(argv)
    config = ROOT / "mkdocs.yml"
    if args.out is not None:
        import yaml

        settings = yaml.safe_load(config.read_text("utf-8"))
        out = args.out.resolve()
        stage, site = out / "src", out / "site"
        settings.update(docs_dir=str(stage), site_dir=str(site))
        for plugin in settings["plugins"]:
            if isinstance(plugin, dict) and "mkdocstrings" in plugin:
                plugin["mkdocstrings"]["handlers"]["python"]["paths"] = [str(ROOT)]
        out.mkdir(parents=True, exist_ok=True)
        config = out / "mkdocs.yml"
        config.write_text(yaml.safe_dump(settings, allow_unicode=True), encoding="utf-8")
    else:
        stage, site = ROOT / "build" / "docs-src", ROOT / "build" / "docs"
    if stage.exists():
        shutil.rmtree(stage)
    shutil.copytree(ROOT / "docs", stage)
    (stage / "glossary.md").write_text(glossary_page(), encoding="utf-8")
    explore = ROOT / "notebooks" / "explore.ipynb"
    (stage / "notebooks").mkdir(parents=True, exist_ok=True)
    shutil.copyfile(explore, stage / "notebooks" / explore.name)
    for nb in sorted((ROOT / "notebooks" / "gallery").glob("*.ipynb")):
        target = stage / nb.relative_to(ROOT)
        if args.no_execute:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(nb, target)
        else:
            print(f"docs: executing {nb.relative_to(ROOT)}", flush=True)
            execute(nb, target, args.log.resolve())
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file", str(config)],
        cwd=stage.parent,  # mkdocs-jupyter keeps its cache in the working folder
        check=False,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    if done.returncode == 0:
        print(f"docs: {site / 'index.html'}")
    return done.returncode


if __name__ == "__main__":
    sys.exit(main())
