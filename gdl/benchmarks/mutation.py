"""Mutation testing of the modules that carry gdl's guarantees (mutmut 3; a benchmark, not CI).

    pip install -e ".[test,mutation]"
    python -m gdl.benchmarks.mutation                       # every target, one after another
    python -m gdl.benchmarks.mutation checker graph-conv    # some targets
    python -m gdl.benchmarks.mutation --list                # targets, files and test subsets

A mutant is a copy of the code with one small change (``<`` → ``<=``, ``+`` → ``-``, a constant
changed, a call's argument dropped …). It is *killed* when a test fails on it and *survives*
when every test still passes. A survivor is either a gap in the tests or an *equivalent*
mutant (one that cannot change behaviour). docs/testing.md lists the kill rate per target and
the survivors, with why each equivalent one is equivalent.

Each target mutates a few files and runs a fast test subset: mutmut records which tests call
each function (per-test coverage) and runs only those on each mutant of that function. Every
target runs in its own scratch copy of the checkout (``--workdir``, default
``/tmp/gdl-mutation/TARGET``), so the worktree never sees a ``mutants/`` folder. Results:
``--out`` (default ``mutation-results/``, ignored by git): ``TARGET.json`` (counts and the
survivors' names) and ``TARGET-survivors.txt`` (their diffs).

To add a target (e.g. a new domain's layers): add an entry to ``TARGETS`` with the files to
mutate, the mutant-name patterns to run (``*`` for all) and the tests that guard them.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Target:
    files: list  # glob patterns of the files to mutate (mutmut ``only_mutate``)
    tests: list  # pytest arguments selecting the guarding tests
    mutants: list = field(default_factory=lambda: ["*"])  # mutant-name patterns (``mutmut run`` arguments)
    deselect: list = field(default_factory=list)  # tests left out (wall-clock bounds: tracing slows them)
    # {file: [start of a line]}: functions left unmutated (``# pragma: no mutate block`` in the scratch copy)
    no_mutate: dict = field(default_factory=dict)
    description: str = ""


TARGETS = {
    "groups": Target(
        files=["gdl/groups/*.py"],
        tests=["tests/groups"],
        description="groups and representations",
    ),
    "gauge": Target(  # frames, transport, gauge transforms, curvature, pooling levels, validation, cache
        files=["gdl/gauge/*.py"],
        tests=["tests/gauge", "tests/testing/test_eq_gauge_sphere.py"],
        description="gauge geometry and transformations",
    ),
    "mesh-layers": Target(  # GEM-CNN layers: convolution, kernel basis, layout, nonlinearities, pooling, features
        files=["gdl/nn/mesh/*.py"],
        tests=["tests/nn/mesh", "tests/testing/test_eq_gauge_sphere.py"],
        description="gauge-equivariant mesh layers",
    ),
    "sphere-layers": Target(  # spherical CNN layers: transform, grids, convolutions, activations, readout
        files=["gdl/nn/sphere/*.py"],
        tests=["tests/nn/sphere", "tests/testing/test_eq_gauge_sphere.py"],
        description="spherical layers on harmonic coefficients",
    ),
    "checker": Target(
        files=["gdl/testing/_check.py", "gdl/testing/_tolerances.py", "gdl/testing/_report.py"],
        tests=["tests/testing/test_eq_check.py", "tests/testing/test_tolerances_pinned.py",
               "tests/testing/test_must_pass_independent.py", "tests/testing/test_report_contents.py",
               "tests/testing/test_eq_verdicts.py", "tests/testing/test_checker_mutants.py",
               "tests/testing/test_transformed_samples_by_hand.py"],
        # the slowest tests (5-15 s each, a TFN and a trainer built): they guard model building, not the checker
        deselect=["tests/testing/test_eq_verdicts.py::test_gdl_tfn_built_in_float64_passes_the_float64_check",
                  "tests/testing/test_eq_verdicts.py::test_trainer_builds_the_model_in_the_run_dtype"],
        description="the equivariance checker's core, tolerances and report",
    ),
    "checkpoint": Target(
        files=["gdl/train/_checkpoint.py", "gdl/train/_ema.py", "gdl/train/_trainer.py"],
        # fast in-process guards (the tiny task): test_resume_state_restored.py checks on the tiny task what
        # test_resume_all_options.py (N-body and CSL, ~40 s) checks, so each surviving mutant costs seconds
        tests=["tests/train/test_checkpoint_units.py", "tests/train/test_resume_state_restored.py",
               "tests/train/test_checkpoint.py", "tests/train/test_checkpoint_integrity.py", "tests/train/test_resume.py"],
        # seed_everything is guarded by test_checkpoint_units.py; this one trains three 3-epoch runs
        deselect=["tests/train/test_resume.py::test_same_seed_same_numbers_different_seed_different"],
        # the trainer: only its state, schedule and resume path
        mutants=["gdl.train._checkpoint.*", "gdl.train._ema.*", "gdl.train._trainer.*Trainer*state*",
                 "gdl.train._trainer.*Trainer*resume*", "gdl.train._trainer.*Trainer*optimizer_step*"],
        # LambdaLR.state_dict pickles its lr_lambda's __dict__, which mutmut's trampoline fills with
        # functions: a trampolined _lr_factor cannot be checkpointed at all (a tool limitation)
        no_mutate={"gdl/train/_trainer.py": ["    def _lr_factor("]},
        description="checkpoints, EMA, learning-rate schedule and resume",
    ),
    "graph-conv": Target(
        files=["gdl/nn/graph/_egnn_conv.py", "gdl/nn/graph/_egnn_fused.py", "gdl/nn/graph/_message_passing.py"],
        tests=["tests/nn/graph/test_graph_egnn_conv.py", "tests/references/test_egnn_paper_reference.py",
               "tests/nn/graph/test_graph_message_passing.py"],  # the shared helpers' own tests (fused_layout=False …)
        description="EGNN convolution (plain and fused) and the shared graph helpers",
    ),
}


def _existing(paths):
    return [p for p in paths if (ROOT / p.split("::")[0]).exists()]


def _copy_checkout(workdir: Path) -> None:
    """The tracked and untracked-but-not-ignored files of the checkout, copied into ``workdir``."""
    if workdir.exists():
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True)
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT, check=True,
                            capture_output=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        src = ROOT / name
        if src.is_file():
            dst = workdir / name
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst)


def _write_config(workdir: Path, target: Target) -> None:
    tests = _existing(target.tests)
    lines = ["", "[mutmut]", "source_paths = gdl", "only_mutate ="] + [f"    {p}" for p in target.files]
    lines += ["pytest_add_cli_args_test_selection ="] + [f"    {t}" for t in tests]
    lines += ["pytest_add_cli_args =", "    -p", "    no:cacheprovider", "    -q", "    -x", "    -m", "    not slow"]
    lines += [f"    --deselect={t}" for t in target.deselect]
    lines += ["also_copy =", "    datasets", "    examples", "    docs", "timeout_multiplier = 10.0", ""]
    with open(workdir / "setup.cfg", "a") as handle:
        handle.write("\n".join(lines))


def _apply_no_mutate(workdir: Path, target: Target) -> None:
    for name, starts in target.no_mutate.items():
        path = workdir / name
        lines = path.read_text().split("\n")
        for start in starts:
            hits = [i for i, line in enumerate(lines) if line.startswith(start)]
            assert len(hits) == 1, f"{name}: {start!r} found {len(hits)} times"
            lines[hits[0]] += "  # pragma: no mutate block"
        path.write_text("\n".join(lines))


def _counts(workdir: Path) -> dict:
    path = workdir / "mutants" / "mutmut-cicd-stats.json"
    subprocess.run([sys.executable, "-m", "mutmut", "export-cicd-stats"], cwd=workdir, capture_output=True)
    return json.loads(path.read_text()) if path.exists() else {}


def _survivors(workdir: Path) -> list:
    out = subprocess.run([sys.executable, "-m", "mutmut", "results"], cwd=workdir, capture_output=True, text=True).stdout
    return [line.split(":")[0].strip() for line in out.splitlines() if line.strip().endswith(("survived", "no tests"))]


def _refresh_tests(workdir: Path) -> None:
    """Copy the checkout's current tests into an existing scratch copy (for ``--survivors``)."""
    shutil.rmtree(workdir / "tests")
    shutil.copytree(ROOT / "tests", workdir / "tests", ignore=shutil.ignore_patterns("__pycache__"))


def _statuses(workdir: Path) -> dict:
    out = subprocess.run([sys.executable, "-m", "mutmut", "results", "--all", "true"], cwd=workdir, capture_output=True,
                         text=True).stdout
    pairs = [line.rsplit(":", 1) for line in out.splitlines() if ":" in line]
    return {name.strip(): status.strip() for name, status in pairs}


def _all_mutants(workdir: Path) -> list:
    return list(_statuses(workdir))


def _status_counts(workdir: Path, chosen) -> dict:
    counts = {}
    for name, status in _statuses(workdir).items():
        if name in chosen:
            key = status.replace(" ", "_")
            counts[key] = counts.get(key, 0) + 1
    return counts


def _sampled(workdir: Path, patterns, size: int, seed: int, env) -> list:
    """``size`` mutants drawn without replacement (seeded) from those matching ``patterns``; generates the
    mutants and the per-test coverage first when the scratch copy has none."""
    import fnmatch
    import random

    if not (workdir / "mutants").exists():
        subprocess.run([sys.executable, "-m", "mutmut", "run", "--max-children", "1", "no-such-mutant"], cwd=workdir,
                       env=env, capture_output=True)
    names = sorted(m for m in _all_mutants(workdir) if any(fnmatch.fnmatchcase(m, p) for p in patterns))
    return sorted(random.Random(seed).sample(names, min(size, len(names))))


def run_target(name: str, target: Target, workdir: Path, out: Path, max_children: int, survivors_only=False,
               collect_only=False, sample=None, seed=0) -> dict:
    files = [p for p in target.files if list(ROOT.glob(p))]
    if not files:
        print(f"{name}: no files match {target.files}; skipped")
        return {"target": name, "skipped": True}
    workdir = workdir / name
    mutants = target.mutants
    if survivors_only:  # re-judge the previous run's survivors against the current tests
        previous = json.loads((out / f"{name}.json").read_text())
        mutants = previous["survivors"]
        if not mutants:
            print(f"{name}: no survivors to re-run")
            return previous
        _refresh_tests(workdir)
    elif not collect_only and not (sample and (workdir / "mutants").exists()):
        _copy_checkout(workdir)
        _write_config(workdir, target)
        _apply_no_mutate(workdir, target)
    env = dict(os.environ, OMP_NUM_THREADS="1", GDL_TEST_THREADS="1", PYTHONPATH="")
    if sample and not survivors_only and not collect_only:
        mutants = _sampled(workdir, target.mutants, sample, seed, env)
    t0 = time.perf_counter()
    log = out / f"{name}.log"
    code = None
    with open(log, "a" if collect_only else "w") as handle:
        if not collect_only:
            command = [sys.executable, "-m", "mutmut", "run", "--max-children", str(max_children), *mutants]
            code = subprocess.run(command, cwd=workdir, env=env, stdout=handle, stderr=subprocess.STDOUT).returncode
    counts = _counts(workdir)
    survivors = _survivors(workdir)
    if target.mutants != ["*"] or sample:  # mutmut's counts cover every mutant it generated: keep the selected ones
        import fnmatch

        names = _all_mutants(workdir)
        chosen = {m for m in names if any(fnmatch.fnmatchcase(m, p) for p in (mutants if sample else target.mutants))}
        survivors = [m for m in survivors if m in chosen]
        counts = _status_counts(workdir, chosen)
    diffs = []
    for mutant in survivors:
        diffs.append(subprocess.run([sys.executable, "-m", "mutmut", "show", mutant], cwd=workdir, capture_output=True,
                                    text=True).stdout)
    (out / f"{name}-survivors.txt").write_text("\n".join(diffs))
    killed = counts.get("killed", 0) + counts.get("timeout", 0) + counts.get("segfault", 0)
    judged = killed + counts.get("survived", 0) + counts.get("no_tests", 0)
    result = {"target": name, "files": files, "tests": _existing(target.tests), "mutants": target.mutants,
              "sample": {"size": sample, "seed": seed, "of": len(_all_mutants(workdir))} if sample else None,
              "exit_code": code, "counts": counts, "killed": killed, "judged": judged,
              "kill_rate": killed / judged if judged else None, "survivors": survivors,
              "seconds": round(time.perf_counter() - t0, 1)}
    (out / f"{name}.json").write_text(json.dumps(result, indent=2))
    rate = f"{100 * result['kill_rate']:.1f}%" if judged else "n/a"
    print(f"{name}: {killed}/{judged} killed ({rate}), {len(survivors)} survivors, {result['seconds']} s; log {log}")
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("targets", nargs="*", help=f"targets to run (default: all of {', '.join(TARGETS)})")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/gdl-mutation"))
    parser.add_argument("--out", type=Path, default=ROOT / "mutation-results")
    parser.add_argument("--max-children", type=int, default=1, help="parallel mutant runs (default 1)")
    parser.add_argument("--list", action="store_true", help="list the targets and exit")
    parser.add_argument("--sample", type=int, help="run a seeded random sample of this many mutants per target "
                        "(the kill rate of the sample estimates the target's)")
    parser.add_argument("--seed", type=int, default=0, help="seed of --sample")
    parser.add_argument("--collect", action="store_true", help="only read the results of a finished (or running) run")
    parser.add_argument("--survivors", action="store_true",
                        help="re-run only the previous run's survivors, against the checkout's current tests")
    args = parser.parse_args(argv)
    unknown = [t for t in args.targets if t not in TARGETS]
    if unknown:
        parser.error(f"unknown target(s) {unknown}; valid targets: {', '.join(TARGETS)}")
    if args.list:
        for name, target in TARGETS.items():
            print(f"{name}: {target.description}\n  mutate {target.files} ({target.mutants})\n  tests  {target.tests}")
        return 0
    args.out.mkdir(parents=True, exist_ok=True)
    for name in args.targets or list(TARGETS):
        run_target(name, TARGETS[name], args.workdir, args.out, args.max_children, survivors_only=args.survivors,
                   collect_only=args.collect, sample=args.sample, seed=args.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
