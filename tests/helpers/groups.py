"""Groups and representations under test, shared by the group test modules
(``from tests.helpers.groups import GROUPS, ...``; the ``group``, ``rep_case`` and ``action_case``
fixtures are in tests/groups/conftest.py)."""
import torch

from gdl.groups import (
    O2, O3, SO2, SO3, Cyclic, Dihedral, DirectProduct, Euclidean, OrthogonalGroup,
    SpecialEuclidean, Symmetric,
)


def _groups():
    return {
        "C1": Cyclic(1), "C5": Cyclic(5), "C6": Cyclic(6), "D1": Dihedral(1), "D2": Dihedral(2),
        "D5": Dihedral(5), "D6": Dihedral(6), "SO2": SO2(), "O2": O2(), "SO3": SO3(), "O3": O3(),
        "O4": OrthogonalGroup(4), "SO4": OrthogonalGroup(4, special=True),
        "S1": Symmetric(1), "S4": Symmetric(4), "S5": Symmetric(5),
        "E2": Euclidean(2), "E3": Euclidean(3), "SE2": SpecialEuclidean(2), "SE3": SpecialEuclidean(3),
        "C3xSO2": DirectProduct(Cyclic(3), SO2()), "S3xO3": DirectProduct(Symmetric(3), O3()),
    }


GROUPS = _groups()


def reps_of(name, g):
    """Every linear representation the issue lists, for group ``g`` (E(d)'s affine action on
    points is not one: see ``actions_of``)."""
    reps = {"trivial": g.trivial_rep(), "trivial3": g.trivial_rep(3)}
    if not isinstance(g, Euclidean):
        reps["standard"] = g.standard_rep()
    if g.is_finite and g.order <= 120:
        reps["regular"] = g.regular_rep()
    if isinstance(g, SO2):
        reps.update({f"rho{m}": g.irrep(m) for m in (0, 1, 2, 5)})
        reps["4x0+2x1+1x2"] = g.irreps("4x0+2x1+1x2")
    if isinstance(g, O2):
        reps.update({"det": g.irrep(0, 1), "rho1": g.irrep(1), "rho3": g.irrep(3)})
        reps["2x0+0'+3x1+2"] = g.irreps("2x0+0'+3x1+2")
    if isinstance(g, Cyclic):
        reps.update({f"irrep{j}": g.irrep(j) for j in range(g.n // 2 + 1)})
        reps["irreps"] = g.irreps("+".join(f"{j + 1}x{j}" for j in range(g.n // 2 + 1)))
    if isinstance(g, Dihedral):
        for j in range(g.n // 2 + 1):
            for f in (0, 1):
                if 0 < j < g.n / 2 and f:
                    continue
                reps[f"irrep{j}{f}"] = g.irrep(j, f)
        reps["irreps"] = g.irreps("2x0+0'" + (f"+{g.n // 2}+{g.n // 2}'" if g.n % 2 == 0 else "") + "".join(f"+2x{j}" for j in range(1, (g.n + 1) // 2)))
    if isinstance(g, (SO3, O3)):
        reps.update({
            "4x0e+4x1o+2x2e": g.irreps("4x0e+4x1o+2x2e"), "0o+1e+3o+4e": g.irreps("0o+1e+3o+4e"),
            "l6": g.irrep(6),
        })
    if isinstance(g, OrthogonalGroup):
        reps["det"] = g.det_rep()
    if isinstance(g, Symmetric):
        reps.update({"sign": g.irrep("sign"), "std_irrep": g.irrep("standard") if g.n > 1 else g.irrep("trivial")})
    if isinstance(g, Euclidean):
        reps["vector"] = g.vector_rep()
        if g.d == 3:
            reps["irreps"] = g.irreps("2x0e+1o+2e") if not g.special else g.irreps("0e+1o+2e")
    if isinstance(g, DirectProduct):
        a, b = g.factors
        reps["outer"] = g.outer(a.standard_rep(), b.standard_rep())
    # arithmetic: sums, multiples, tensor products, duals, slices, sorting
    std = reps["vector"] if isinstance(g, Euclidean) else reps["standard"]
    reps["sum"] = std + g.trivial_rep(2) + std
    reps["3x"] = 3 * std
    reps["tensor"] = std.tensor(std)
    reps["dual"] = std.dual()
    for key in ("4x0+2x1+1x2", "2x0+0'+3x1+2", "irreps", "4x0e+4x1o+2x2e"):
        if key in reps and len(reps[key]) > 1:
            reps[f"{key}[1:]"] = reps[key][1:]
            reps[f"sorted {key}"] = reps[key].sort().rep
    return reps


def actions_of(name, g):
    """The affine actions (points, and points next to linear fields) of a Euclidean group."""
    if not isinstance(g, Euclidean):
        return {}
    points, vector = g.point_action(), g.vector_rep()
    out = {"points": points, "points+vector": points + vector, "2x trivial+points+vector+points": g.trivial_rep(2) + points + vector + points}
    if g.d == 3:
        out["irreps+points"] = g.irreps("0e+1o") + points
    return out


REP_CASES = [(gname, rname) for gname, g in GROUPS.items() for rname in reps_of(gname, g)]
ACTION_CASES = [(gname, aname) for gname, g in GROUPS.items() for aname in actions_of(gname, g)]


def elements_for(g, n_random=100, seed=1):
    """test_elements() ∪ 100 more random samples, float64."""
    a = g.test_elements(dtype=torch.float64)
    b = g.sample(n_random, torch.Generator().manual_seed(seed), dtype=torch.float64)
    return g.cat([a, b])
