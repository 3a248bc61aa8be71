"""Compatibility benchmark: gdl's checker on the field's models as they are (a command, not CI).

    python -m gdl.benchmarks.compat                                 # every package, table into docs/testing.md
    python -m gdl.benchmarks.compat --packages mace schnetpack      # some packages
    python -m gdl.benchmarks.compat --root /tmp/gdl-compat --no-write

Per third-party package one virtual environment under ``--root`` (default /tmp/gdl-compat;
``ROOT/NAME/venv``, kept between runs): ``torch==2.13.0`` first, then the package (with
``--no-deps`` and its other requirements listed by hand where its pins conflict with torch
2.13), then gdl's own imports (e3nn, torch-geometric, networkx, scipy) where the package
did not bring them. gdl itself is not installed there: the runner imports this tree
(``PYTHONPATH``), so the table is about this checkout. PyG and e3nn models run in the current
interpreter (they are gdl's own dependencies). Each package's models then run through
``python -m gdl.benchmarks.compat.runner PACKAGE``, clean and with planted bugs
(``planted.py``); results go to ``ROOT/results/PACKAGE.json`` and the table between the
``compat-table`` markers of docs/testing.md.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

TREE = Path(__file__).resolve().parents[3]
DOCS = TREE / "docs" / "testing.md"
BEGIN, END = "<!-- compat-table:begin -->", "<!-- compat-table:end -->"
GDL_IMPORTS = ["e3nn>=0.6,<0.7", "torch-geometric", "networkx", "scipy"]

# name: (pip steps after torch; None = the current interpreter), extra environment
PACKAGES = {
    "torch_geometric": (None, {}),
    "e3nn": (None, {}),
    # MACE pins e3nn==0.4.4, whose import needs torch.load(weights_only=False) under torch >= 2.6
    "mace": ([["mace-torch"], ["torch-geometric", "networkx", "scipy"]], {"TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD": "1"}),
    # schnetpack 2.1.1 pins sympy<=1.12 (torch 2.13 needs sympy>=1.13.3): --no-deps, its requirements by hand
    "schnetpack": ([["--no-deps", "schnetpack==2.1.1"],
                    ["numpy", "ase", "h5py", "pyyaml", "hydra-core", "pytorch-lightning", "torchmetrics", "hydra-colorlog",
                     "rich", "fasteners", "dirsync", "torch-ema", "matscipy", "tqdm"] + GDL_IMPORTS], {}),
    "torchmd-net": ([["torchmd-net"], GDL_IMPORTS], {}),
}
VARIANTS = ["clean", "position leak 1e-6", "pseudoscalar", "per-graph node index", "wrong declared parity"]


def build_env(root: Path, name: str, steps, log) -> Path:
    """``ROOT/NAME/venv`` with torch 2.13.0 and the package (skipped when ``ROOT/NAME/ok`` exists)."""
    folder = root / name
    python = folder / "venv" / "bin" / "python"
    if (folder / "ok").exists():
        return python
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "venv", str(folder / "venv")], check=True)
    for step in [["torch==2.13.0"]] + steps:
        cmd = ["nice", "-n", "10", str(python), "-m", "pip", "install", "-q", *step, "torch==2.13.0"]
        if "--no-deps" in step:
            cmd.remove("torch==2.13.0")
        print("  $", " ".join(cmd[3:]), file=log, flush=True)
        subprocess.run(cmd, check=True, timeout=1800, stdout=log, stderr=subprocess.STDOUT)
    (folder / "ok").touch()
    return python


def run_package(root: Path, name: str, log) -> list:
    steps, env_extra = PACKAGES[name]
    python = Path(sys.executable) if steps is None else build_env(root, name, steps, log)
    out = root / "results" / f"{name}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, PYTHONPATH=str(TREE), OMP_NUM_THREADS="1", **env_extra)
    t0 = time.perf_counter()
    subprocess.run(["nice", "-n", "10", str(python), "-m", "gdl.benchmarks.compat.runner", name, "--out", str(out)],
                   env=env, check=True, timeout=3600, stdout=log, stderr=subprocess.STDOUT)
    print(f"{name}: {time.perf_counter() - t0:.0f} s", flush=True)
    return json.loads(out.read_text())


def _cell(res: dict) -> str:
    if "error" in res:
        return f"error: {res['error'][:60]}"
    mark = "✓" if res["ok"] else "✗"
    if "blamed" in res:
        return f"{mark} {', '.join(res['blamed']) or 'not flagged'} ({res['max_error']:.0e})"
    return f"{mark} {res['max_error']:.0e}"


def table(rows: list) -> str:
    head = "| package | model | lines | clean (max error) | " + " | ".join(f"{v}: blamed on (max error)" for v in VARIANTS[1:]) + " |"
    lines = [head, "|" + "---|" * (4 + len(VARIANTS) - 1)]
    for r in rows:
        res = r["results"]
        cells = [_cell(res[v]) if v in res else "—" for v in VARIANTS]
        opts = ", ".join(f"{k}={v}" for k, v in r.get("options", {}).items())
        model = r["model"] + (f" ({opts})" if opts else "")
        lines.append(f"| {r['package']} {r['version']} | {model} | {r['lines']} | " + " | ".join(cells) + " |")
    ok = sum(all(x.get("ok") for x in r["results"].values()) for r in rows)
    packages = {r["package"] for r in rows if all(x.get("ok") for x in r["results"].values())}
    lines.append("")
    lines.append(f"{ok} of {len(rows)} models from {len(packages)} packages: every verdict right "
                 f"(clean passes; each planted bug flagged and blamed on its symmetry only).")
    return "\n".join(lines)


def write_docs(text: str, path: Path = DOCS) -> None:
    doc = path.read_text()
    if BEGIN not in doc or END not in doc:
        raise SystemExit(f"{path} has no {BEGIN} … {END} markers")
    start, end = doc.index(BEGIN) + len(BEGIN), doc.index(END)
    path.write_text(doc[:start] + "\n" + text + "\n" + doc[end:])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--packages", nargs="*", default=list(PACKAGES), choices=list(PACKAGES))
    parser.add_argument("--root", type=Path, default=Path("/tmp/gdl-compat"))
    parser.add_argument("--no-write", action="store_true", help="print the table, leave docs/testing.md alone")
    parser.add_argument("--table-only", action="store_true", help="rebuild the table from ROOT/results/*.json")
    args = parser.parse_args(argv)
    rows = []
    log_path = args.root / "compat.log"
    args.root.mkdir(parents=True, exist_ok=True)
    with open(log_path, "a") as log:
        for name in args.packages:
            result = args.root / "results" / f"{name}.json"
            if args.table_only:
                if result.exists():
                    rows += json.loads(result.read_text())
                continue
            try:
                rows += run_package(args.root, name, log)
            except (subprocess.SubprocessError, OSError) as exc:
                print(f"{name}: failed ({exc}); see {log_path}", flush=True)
                rows.append({"package": name, "version": "?", "model": "(install or run failed)", "lines": 0,
                             "results": {"clean": {"ok": False, "error": str(exc)}}})
    text = table(rows)
    print(text)
    if not args.no_write:
        write_docs(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
