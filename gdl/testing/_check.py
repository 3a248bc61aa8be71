"""check_equivariance / assert_equivariant: one checker for every symmetry gdl knows.

For each symmetry S (derived from the declared types when not given) and each of its test
elements g (generators, then a fixed grid, then seeded random samples), compare

    f(g·x)   with   ρ_out(g) f(x)

where g·x is the action of g on the whole sample (positions, features, ``edge_index``,
transport angles …). Actions and comparisons run in float64 on the model's device; the
model runs in its own dtype. The error of an output is relative to its scale with a floor:

    err(g, out) = ‖f(g·x) − ρ_out(g) f(x)‖∞ / max(‖f(x)‖∞, floor),

and the check passes when every err ≤ rtol. Defaults (measured noise floors ×~100, see
docs/testing.md): rtol = 1e-10 in float64, 1e-4 in float32; floor = 1e-3 × the largest
|value| of the typed inputs (or atol / rtol when ``atol`` is given).

All elements of a symmetry run in ONE model call on stacked transformed copies (a disjoint
union of graphs, or a concatenation along the first axis of tensors). The untransformed
copy rides along (first), and one probe element (the first grid element) also runs alone;
if the stack does not reproduce both (a model that mixes the rows of its input, or reads a fixed row of it) the
check falls back to one call per element. An element that fails in the stacked call is
run again alone before it is reported (a model may read a fixed row of the whole stacked
input, x_i − x_0, and still be equivariant on one sample); each result records the mode
that produced it: ``batched``, ``confirmed one-at-a-time`` or ``one-at-a-time``.
"""
from __future__ import annotations

import copy
import time
import warnings
from typing import Dict, Optional

import torch

from gdl.groups import Euclidean, FieldTypeError, Group
from gdl.testing._diagnose import needs_gradients, relative_difference, training_mode_modules, trait_diagnoses
from gdl.testing._dtype import float32_constants_note
from gdl.testing._report import ElementResult, EquivarianceReport
from gdl.testing._sample import (
    EquivarianceSetupError,
    adapt_inputs,
    build_sample,
    collate,
    declared_types,
    output_dict,
    output_levels,
    output_types,
    single_copy,
    split_outputs,
)
from gdl.testing._symmetries import Elements, GlobalSymmetry, Symmetry, derive_symmetries
from gdl.testing._tolerances import default_floor_fraction, default_rtol


def _model_dtype_device(model, inputs):
    dtype = device = None
    if isinstance(model, torch.nn.Module):
        for t in list(model.parameters()) + list(model.buffers()):
            if device is None:
                device = t.device
            if t.is_floating_point():
                dtype, device = t.dtype, t.device
                break
    if dtype is None or device is None:
        for x in _tensors_in(inputs):
            if device is None:
                device = x.device
            if dtype is None and x.is_floating_point():
                dtype = x.dtype
    return dtype or torch.get_default_dtype(), device or torch.device("cpu")


def _tensors_in(inputs):
    for x in inputs:
        if isinstance(x, torch.Tensor):
            yield x
        elif isinstance(x, dict):
            yield from (v for v in x.values() if isinstance(v, torch.Tensor))
        elif hasattr(x, "to_dict"):
            yield from (v for v in x.to_dict().values() if isinstance(v, torch.Tensor))


def _as_symmetries(symmetry) -> Optional[list]:
    if symmetry is None:
        return None
    items = symmetry if isinstance(symmetry, (list, tuple)) else [symmetry]
    out = []
    for s in items:
        if isinstance(s, Symmetry):
            out.append(s)
        elif isinstance(s, Group):
            out.append(GlobalSymmetry(s))
        else:
            raise EquivarianceSetupError(f"symmetry must be a gdl.testing Symmetry or a gdl Group, got {s!r}")
    return out


def _user_elements(elements, sym: Symmetry, index: int, n_syms: int):
    if elements is None:
        return None
    if isinstance(elements, dict):
        el = elements.get(sym.name)
    elif isinstance(elements, list) and n_syms > 1:
        el = elements[index]
    else:
        el = elements if index == 0 else None
    if el is None:
        return None
    if isinstance(el, Elements):
        return el
    group = getattr(sym, "group", None)
    n = group.batch_size(el) if group is not None else el.shape[0]
    return Elements(el, [f"element {i}" for i in range(n)])


def _float64(values):
    return {k: (v.to(torch.float64) if isinstance(v, torch.Tensor) and v.is_floating_point() else v) for k, v in values.items()}


def _to_model(values, dtype):
    return {k: (v.to(dtype) if isinstance(v, torch.Tensor) and v.is_floating_point() else v) for k, v in values.items()}


def _cat_copies(first, rest):
    """Prepend the untransformed copy (``first``, no copy axis) to ``rest`` ([K, ...])."""
    out = {}
    for k, v in rest.items():
        if isinstance(v, torch.Tensor):
            out[k] = torch.cat([first[k].unsqueeze(0).to(v.dtype), v], 0)
        else:
            out[k] = v
    return out


def _finite_message(outputs: Dict[str, torch.Tensor], where: str) -> Optional[str]:
    for name, v in outputs.items():
        if v.is_floating_point() and not torch.isfinite(v).all():
            return f"model returned non-finite output (NaN or inf) in {name!r} {where}"
    return None


def _modes_note(sym_name, rerun, refuted) -> Optional[str]:
    if not refuted:
        return None
    return (f"{sym_name}: {refuted} of {rerun} elements that failed in the stacked call (all elements in one model call) "
            f"passed one at a time: the model's output depends on the other copies in a batch (e.g. x − x[0] over the "
            f"whole tensor, a radius graph or normalisation across rows); their verdicts come from one-at-a-time calls")


def check_equivariance(
    model,
    *inputs,
    symmetry=None,
    elements=None,
    n_random: int = 8,
    n_grid: int = 8,
    seed: int = 0,
    dtype: Optional[torch.dtype] = None,
    atol: Optional[float] = None,
    rtol: Optional[float] = None,
    in_type=None,
    out_type=None,
    batch_elements: bool = True,
    enable_grad: bool = False,
) -> EquivarianceReport:
    """Check ``model`` on ``inputs`` against its symmetries; returns an ``EquivarianceReport``.

    ``inputs``: the forward's positional arguments, one dict of keyword arguments, or one PyG
    ``Data``/``Batch`` (passed as ``model(data)``, or attribute by attribute when the forward's
    parameters are attribute names, e.g. ``forward(x, pos, edge_index)``). Types come from
    ``in_type``/``out_type`` (arguments, else the model's attributes, else e3nn
    ``irreps_in``/``irreps_out``). ``symmetry``: a ``Symmetry``, a gdl ``Group`` (acting through
    the field types), or a list; ``None`` derives them from the types (E(d) for Euclidean fields,
    the group of the fields otherwise, ``NodePermutation`` — nodes relabelled, edges reordered —
    for graphs, ``GaugeSymmetry`` for SO(2) fields with transport angles). ``elements``: an
    element batch (or ``{symmetry name: batch}``) replacing the default generators + ``n_grid``
    grid + ``n_random`` random elements. ``dtype``: run a copy of the model in that dtype
    (default: the model's). ``batch_elements``: run all elements of a symmetry in one stacked
    call; an element that fails there is run again alone, and only that verdict counts.
    ``enable_grad``: keep autograd on (models that differentiate inside forward).
    The model runs in the mode it is in (``.train()`` / ``.eval()``); see the report's notes.
    """
    t0 = time.perf_counter()
    inputs = adapt_inputs(model, inputs)
    it, ot = declared_types(model, in_type, out_type)
    model_dtype, device = _model_dtype_device(model, inputs)
    notes = []
    cast_note = None
    if dtype is not None and dtype != model_dtype and isinstance(model, torch.nn.Module):
        model = copy.deepcopy(model).to(dtype)
        if _bits(dtype) > _bits(model_dtype):
            cast_note = (
                f"the model was cast from {str(model_dtype)[6:]} to {str(dtype)[6:]}: constants computed when it was "
                f"built keep {str(model_dtype)[6:]} rounding (e3nn Clebsch-Gordan: ~1e-8); build it in {str(dtype)[6:]} "
                f"(`with gdl.testing.default_dtype(torch.{str(dtype)[6:]}): model = MyModel()`) for a "
                f"{str(dtype)[6:]} noise floor"
            )
    dtype = dtype or model_dtype
    rtol = float(rtol) if rtol is not None else default_rtol(dtype)
    constants_note = ""
    if dtype == torch.float64:
        constants_note = float32_constants_note(model)
        if constants_note:
            notes.append(constants_note)
            cast_note = None  # the specific note says it all

    sample = build_sample(model, inputs, it, dtype=dtype, device=device)
    out_types = output_types(ot)
    values64 = _float64(sample.values)
    scales_in = [v.abs().max() for k, v in values64.items() if k in sample.types and v.is_floating_point() and v.numel()]
    if atol is not None:
        floor_value = float(atol) / rtol
    else:
        s_in = float(max(scales_in)) if scales_in else 1.0
        floor_value = default_floor_fraction() * (s_in if s_in > 0 else 1.0)

    syms = _as_symmetries(symmetry)
    explicit = syms is not None
    for sym in syms or []:
        sym.prepare(sample)

    grad_ctx = torch.enable_grad if enable_grad else torch.no_grad
    try:
        with grad_ctx():
            reference = output_dict(sample.call(sample.values), ot)
    except RuntimeError as exc:
        if not enable_grad and needs_gradients(exc):
            raise EquivarianceSetupError(
                f"{type(model).__name__}'s forward differentiates (e.g. forces −∂E/∂pos by autograd), but the check "
                f"runs it without gradients: pass enable_grad=True (the error was: {exc})") from exc
        raise
    for name, v in reference.items():
        t = out_types.get(name)
        if t is not None:
            try:
                t.check(v)
            except FieldTypeError as exc:
                raise FieldTypeError(f"output {name!r}: {exc}") from None
    ref64 = {k: v.detach().to(torch.float64) for k, v in reference.items()}
    levels = output_levels(sample, reference)
    scales = {k: float(v.abs().max()) if v.numel() else 0.0 for k, v in ref64.items()}
    checked = [k for k in ref64 if out_types.get(k) is not None]

    report = EquivarianceReport(
        model=getattr(model, "report_name", None) or (type(model).__name__ if isinstance(model, torch.nn.Module)
                                                       else getattr(model, "__name__", repr(model))),
        dtype=dtype,
        device=str(device),
        rtol=rtol,
        floor={k: max(scales[k], floor_value) for k in checked},
        outputs=checked,
    )
    report.notes.extend(notes)
    report.non_finite = _finite_message(reference, "on the untransformed input")
    if report.non_finite:
        report.seconds = time.perf_counter() - t0
        return report

    if syms is None:
        syms = derive_symmetries(sample, out_types)
    if not syms:
        raise EquivarianceSetupError(
            f"no symmetry to check: the declared types {it} → {ot} name no group acting on this sample; pass symmetry=..."
        )

    nonzero = {n for n in checked if scales[n] > 0}
    diagnoses = []
    translation_fails = False  # a pure translation (Q = I, t ≠ 0) fails: absolute positions leak, not rounding
    for index, sym in enumerate(syms):
        if not sym.applies_to(sample, out_types):
            if explicit:
                raise EquivarianceSetupError(f"symmetry {sym} has nothing to act on in this sample (types {it} → {ot})")
            continue
        els = _user_elements(elements, sym, index, len(syms)) or sym.elements(
            sample, n_grid=n_grid, n_random=n_random, seed=seed, device=device
        )
        g = els.values
        k = len(els)
        if k == 0:
            continue
        report.approximate[sym.name] = sym.is_approximate(sample, out_types)
        report.element_values[sym.name] = g
        copies = {n: (v.unsqueeze(0).expand(k, *v.shape) if isinstance(v, torch.Tensor) else v) for n, v in values64.items()}
        transformed = sym.act_inputs(g, sample, copies)
        transformed = _to_model(transformed, dtype)
        expected = sym.act_outputs(g, sample, {n: v.unsqueeze(0).expand(k, *v.shape) for n, v in ref64.items()}, out_types, levels)

        def alone(i):
            with grad_ctx():
                out = output_dict(sample.call(single_copy(transformed, i)), ot)
            return {n: out[n].detach().to(torch.float64) for n in reference}

        actual = None
        modes = ["batched"] * k
        if batch_elements:
            stacked = _cat_copies(sample.values, transformed)
            call_values = collate(sample, stacked, k + 1)
            if call_values is not None:
                why = "did not reproduce the results of single calls — the model mixes the copies of a batch (e.g. " \
                      "x − mean(x) or x − x[0] over the whole tensor, a radius graph across copies)"
                try:
                    with grad_ctx():
                        raw = output_dict(sample.call(call_values), ot)
                    split = split_outputs(sample, raw, reference, k + 1)
                except (RuntimeError, ValueError, IndexError) as exc:
                    split, why = None, f"raised {type(exc).__name__}: {str(exc).splitlines()[0][:120] if str(exc) else ''}"
                if split is None and why.startswith("did"):
                    why = "returned outputs whose shapes do not split into one copy per element"
                if split is not None and _consistent(split, ref64, scales, floor_value, rtol):
                    actual = {n: v[1:].detach().to(torch.float64) for n, v in split.items()}
                    # probe elements alone must give what they gave in the stack: a model that reads a fixed
                    # row of its input (row 0 is the untransformed copy's) would otherwise pass falsely
                    for i in _probes(els.labels):
                        one = alone(i)
                        if not _consistent({n: torch.stack([v[i], one[n]]) for n, v in actual.items()},
                                           one, scales, floor_value, rtol):
                            actual = None
                            break
                if actual is None:
                    report.notes.append(f"{sym.name}: the stacked call (all elements in one model call) {why}; "
                                        f"every element ran one at a time")
        if actual is None:
            report.batched = False
            modes = ["one-at-a-time"] * k
            per = [alone(i) for i in range(k)]
            actual = {n: torch.stack([p[n] for p in per]) for n in reference}

        errs = _errors(actual, expected, checked, scales, floor_value, k)
        finite = _finite_rows(actual, checked, k)
        if modes[0] == "batched":  # confirm every batched failure one element at a time
            failing = [i for i in range(k) if not finite[i] or any(not errs[n][i] <= rtol for n in checked)]
            refuted = 0
            for i in failing:
                one = alone(i)
                one_errs = _errors({n: v.unsqueeze(0) for n, v in one.items()},
                                   {n: v[i:i + 1] for n, v in expected.items()}, checked, scales, floor_value, 1)
                for n in checked:
                    actual[n][i] = one[n]
                    errs[n][i] = one_errs[n][0]
                finite[i] = _finite_message({n: one[n] for n in checked}, "") is None
                still = not finite[i] or any(not errs[n][i] <= rtol for n in checked)
                modes[i] = "confirmed one-at-a-time" if still else "one-at-a-time"
                refuted += not still
            if failing:
                report.batched = False
            note = _modes_note(sym.name, len(failing), refuted)
            if note:
                report.notes.append(note)
        for i in range(k):
            if not finite[i]:
                report.non_finite = _finite_message({n: actual[n][i] for n in checked}, f"under {sym} element {els.labels[i]!r}")
                break
        if report.non_finite:
            break
        for n in checked:
            if n not in nonzero and bool((actual[n] != 0).any()):
                nonzero.add(n)
        for i in range(k):
            report.results.append(ElementResult(sym.name, els.labels[i], {n: errs[n][i] for n in checked}, modes[i]))
        worst = [max((errs[n][i] for n in checked), default=0.0) for i in range(k)]
        diagnoses += trait_diagnoses(worst, els.traits, rtol, sym.name)
        translation_fails |= any(not worst[i] <= rtol for i in _pure_translations(sym, g))

    report.zero_outputs = [n for n in checked if n not in nonzero]
    if report.zero_outputs and report.non_finite is None:
        which = "every output is" if len(report.zero_outputs) == len(checked) else \
            f"output{'s' if len(report.zero_outputs) > 1 else ''} {', '.join(map(repr, report.zero_outputs))} " \
            f"{'are' if len(report.zero_outputs) > 1 else 'is'}"
        report.notes.append(f"{which} identically zero on the sample and on every transformed sample: the check is "
                            f"trivial there and says nothing about the model (an untrained zero-initialised output "
                            f"layer?); check a model or sample with non-zero output")
    if not report.passed and report.non_finite is None:
        report.notes.extend(diagnoses)
        report.notes.extend(_failure_hints(model, sample, reference, ot, grad_ctx))
        if cast_note:
            report.notes.append(cast_note)
        elif dtype == torch.float64 and not constants_note:
            note = float32_scale_note(report.max_error, rtol, diagnoses, translation_fails)
            if note:
                report.notes.append(note)
    report.seconds = time.perf_counter() - t0
    return report


FLOAT32_SCALE = (1e-9, 1e-5)  # float32 round-off (eps 1.2e-7) after amplification by a model's depth


def _pure_translations(sym, g) -> list:
    """Indices of the pure translations (Q = I, t ≠ 0) among the elements ``g`` of an E(d) symmetry."""
    group = getattr(sym, "group", None)
    if not isinstance(group, Euclidean):
        return []
    q, t = group.linear_part(g), group.translation(g)
    eye = torch.eye(q.shape[-1], dtype=q.dtype, device=q.device)
    pure = ((q - eye).abs().amax((-2, -1)) == 0) & (t.norm(dim=-1) > 0)
    return pure.nonzero().flatten().tolist()


def float32_scale_note(max_error: float, rtol: float, diagnoses, translation_fails: bool = False) -> str:
    """A note for a failed float64 check whose error sits at float32 round-off scale
    (``FLOAT32_SCALE``) while pure translations pass (rounded constants multiply differences
    of positions, so translations stay exact; a leak of absolute positions fails them): an equivariant model with
    constants built or hard-coded in float32 (Clebsch–Gordan coefficients, spherical-harmonic
    normalisations) fails a float64 check just there, whoever cast it. "" otherwise."""
    low, high = FLOAT32_SCALE
    if not (max(low, rtol) < max_error <= high):
        return ""
    if translation_fails or any("fails only under translations" in d for d in diagnoses):
        return ""  # a leak of absolute positions, not rounding
    return (f"the float64 error {max_error:.1e} sits at float32 round-off scale (float32 eps 1.2e-7): constants "
            f"built in float32? (a module built under the float32 default and cast with .double(), or constants "
            f"hard-coded with dtype=torch.float32, e.g. Clebsch-Gordan or spherical-harmonic tables); if so the model "
            f"may be equivariant: build it in float64 (`with gdl.testing.default_dtype(torch.float64): model = MyModel()`) "
            f"or check it in float32")


def _probes(labels) -> list:
    """The element run alone to cross-check a stacked call: the first grid element (it moves
    every row: a reversal of nodes and edges, a signed permutation with a translation), or
    the last element when there is no grid."""
    grid = [i for i, lab in enumerate(labels) if lab.startswith("grid")]
    return [grid[0] if grid else len(labels) - 1]


def _finite_rows(actual, checked, k) -> list:
    ok = torch.ones(k, dtype=torch.bool)
    for n in checked:
        v = actual[n]
        if v.is_floating_point() and v.numel():
            ok &= torch.isfinite(v.reshape(k, -1)).all(1).cpu()
    return ok.tolist()


def _errors(actual, expected, checked, scales, floor_value, k) -> Dict[str, list]:
    errs = {}
    for n in checked:
        diff = (actual[n] - expected[n]).abs().reshape(k, -1)
        diff = diff.amax(1) if diff.shape[1] else torch.zeros(k, dtype=torch.float64, device=diff.device)
        errs[n] = (diff / max(scales[n], floor_value)).tolist()
    return errs


def _failure_hints(model, sample, reference, ot, grad_ctx) -> list:
    """Notes for a failed check: layers in training mode, a forward that is not deterministic."""
    hints = []
    training = training_mode_modules(model)
    if training:
        shown = ", ".join(training[:3]) + (f" and {len(training) - 3} more" if len(training) > 3 else "")
        hints.append(f"the model is in training mode with {shown}: dropout masks and batch statistics change between "
                     f"calls (and batch-norm updates its running statistics during the check); call model.eval() "
                     f"before checking")
    try:
        with grad_ctx():
            again = output_dict(sample.call(sample.values), ot)
        diff = relative_difference(reference, again)
    except Exception:  # noqa: BLE001 - a hint only; the verdict stands
        diff = 0.0
    if diff > 0:
        hints.append(f"two calls on the same input differ (relative difference {diff:.1e}): the forward is not "
                     f"deterministic (dropout, sampling, non-deterministic kernels), and that difference counts as "
                     f"equivariance error")
    return hints


def _bits(dtype) -> int:
    return torch.finfo(dtype).bits if dtype.is_floating_point else 0


def _consistent(split, ref64, scales, floor_value, rtol) -> bool:
    """Whether the untransformed copy inside a stacked call reproduces the reference output."""
    for n, v in split.items():
        first = v[0].detach().to(torch.float64)
        if first.shape != ref64[n].shape:
            return False
        if first.numel() and float((first - ref64[n]).abs().max()) > 0.1 * rtol * max(scales[n], floor_value):
            return False
    return True


def assert_equivariant(model, *inputs, **kwargs) -> EquivarianceReport:
    """``check_equivariance`` that raises ``AssertionError`` with the report table unless it
    passed; a pass on identically zero outputs (trivial) warns (``UserWarning``)."""
    report = check_equivariance(model, *inputs, **kwargs)
    if not report.passed:
        raise AssertionError("\n" + report.table(max_rows=40))
    if report.zero_outputs:
        warnings.warn(f"equivariance check of {report.model}: " + next(n for n in report.notes if "identically zero" in n),
                      UserWarning, stacklevel=2)
    return report


def transformed_samples(model, *inputs, symmetry=None, elements=None, n_random: int = 1, n_grid: int = 0, seed: int = 0,
                        in_type=None, out_type=None):
    """The sample moved by each test element, ready to call: ``[(symmetry, label, args)]`` with
    ``model(*args)`` valid (a rebuilt ``Data``/``Batch`` for PyG samples, keyword inputs as one dict
    in ``args[0]`` to be passed with ``**``). For metrics on transformed data (e.g. a task's loss
    on g·x vs g·y: declare the target in ``in_type`` to move it too)."""
    from gdl.testing._sample import _make_data

    inputs = adapt_inputs(model, inputs)
    it, ot = declared_types(model, in_type, out_type)
    dtype, device = _model_dtype_device(model, inputs)
    sample = build_sample(model, inputs, it, dtype=dtype, device=device)
    syms = _as_symmetries(symmetry)
    for sym in syms or []:
        sym.prepare(sample)
    syms = syms or derive_symmetries(sample, output_types(ot))
    values64 = _float64(sample.values)
    out = []
    for index, sym in enumerate(syms):
        if not sym.applies_to(sample, output_types(ot)):
            continue
        els = _user_elements(elements, sym, index, len(syms)) or sym.elements(
            sample, n_grid=n_grid, n_random=n_random, seed=seed, device=device)
        k = len(els)
        copies = {n: (v.unsqueeze(0).expand(k, *v.shape) if isinstance(v, torch.Tensor) else v) for n, v in values64.items()}
        moved = _to_model(sym.act_inputs(els.values, sample, copies), dtype)
        for i in range(k):
            vals = single_copy(moved, i)
            if sample.kind == "data":
                args = (_make_data(sample.data_cls, vals),)
            else:
                args = (vals,) if isinstance(inputs[0], dict) and len(inputs) == 1 else tuple(vals[n] for n in sample.values)
            out.append((sym.name, els.labels[i], args))
    return out
