"""Reference for Wharf's A/B statistics side-by-side test: reads one JSON
request on stdin and answers with numpy and scipy (Debian python3-scipy)."""
import json
import sys

import numpy as np
import scipy
from scipy import stats


def tppf(p, df):
    """scipy's t.ppf, polished by one Newton step on scipy's own t.cdf:
    scipy 1.10's t.ppf (cdflib's cdft, a root search) stops a few 1e-9
    short, and its t.cdf is accurate to about 1e-15."""
    x = float(stats.t.ppf(p, df))
    if p in (0.0, 0.5, 1.0):
        return x
    if p < 0.5:
        return x - (float(stats.t.cdf(x, df)) - p) / float(stats.t.pdf(x, df))
    return x + (float(stats.t.sf(x, df)) - (1 - p)) / float(stats.t.pdf(x, df))


def bounds(values, trim):
    kind = trim.split(":")[0]
    if kind == "iqr":
        q1, q3 = np.percentile(values, 25), np.percentile(values, 75)
        iqr = q3 - q1
        return q1 - 1.5 * iqr, q3 + 1.5 * iqr
    if kind == "cap":
        return -np.inf, np.quantile(values, float(trim.split(":")[1]))
    return -np.inf, np.inf


def apply_trim(arms, trim):
    if trim == "none":
        return arms, [0] * len(arms)
    pooled = trim.endswith(":pooled")
    if pooled:
        lo, hi = bounds(np.concatenate(arms), trim)
    out, lost = [], []
    for a in arms:
        if not pooled:
            lo, hi = bounds(a, trim)
        if trim.startswith("cap"):
            kept = np.minimum(a, hi)
        else:
            kept = a[(a >= lo) & (a <= hi)]
        out.append(kept)
        lost.append(int(len(a) - len(kept)))
    return out, lost


def compare(a, b, alpha):
    na, nb = len(a), len(b)
    ma, mb = float(np.mean(a)), float(np.mean(b))
    va, vb = float(np.var(a, ddof=1)) / na, float(np.var(b, ddof=1)) / nb
    res = stats.ttest_ind(b, a, equal_var=False)
    df = (va + vb) ** 2 / (va**2 / (na - 1) + vb**2 / (nb - 1))
    q = tppf(1 - alpha / 2, df)
    se = np.sqrt(va + vb)
    lift = (mb - ma) / abs(ma)
    lift_se = np.sqrt(vb / ma**2 + va * mb**2 / ma**4)
    return {
        "t": float(res.statistic),
        "p": float(res.pvalue),
        "df": df,
        "diff_ci": [mb - ma - q * se, mb - ma + q * se],
        "lift": lift,
        "lift_ci": [lift - q * lift_se, lift + q * lift_se],
        "lift_p": float(2 * stats.t.sf(abs(lift / lift_se), df)),
    }


def dataset(d):
    arms = [np.array(a, dtype=float) for a in d["arms"]]
    out = {}
    for trim in d["trims"]:
        trimmed, lost = apply_trim(arms, trim)
        r = {
            "lost": lost,
            "units": [len(a) for a in trimmed],
            "mean": [float(np.mean(a)) for a in trimmed],
            "var": [float(np.var(a, ddof=1)) for a in trimmed],
            "cmp": [compare(trimmed[0], b, d["alpha"]) for b in trimmed[1:]],
        }
        counts = np.array([len(a) for a in trimmed], dtype=float)
        w = np.array(d["weights"], dtype=float)
        srm = stats.chisquare(counts, f_exp=w / w.sum() * counts.sum())
        r["srm"] = [float(srm.statistic), float(srm.pvalue)]
        out[trim] = r
    return out


def proportions(c):
    xc, nc, xt, nt = c
    table = [[xc, nc - xc], [xt, nt - xt]]
    chi2, p, _, _ = stats.chi2_contingency(table, correction=False)
    pc, pt = xc / nc, xt / nt
    z = float(stats.norm.ppf(1 - 0.05 / 2))
    se = np.sqrt(pc * (1 - pc) / nc + pt * (1 - pt) / nt)
    lift = (pt - pc) / pc
    lse = np.sqrt(pt * (1 - pt) / nt / pc**2 + pc * (1 - pc) / nc * pt**2 / pc**4)
    return {"chi2": float(chi2), "p": float(p), "diff_ci": [pt - pc - z * se, pt - pc + z * se],
            "lift_ci": [lift - z * lse, lift + z * lse]}


def main():
    req = json.load(sys.stdin)
    out = {
        "scipy": scipy.__version__,
        "numpy": np.__version__,
        "datasets": [dataset(d) for d in req["datasets"]],
        "percentiles": [[float(np.quantile(np.array(v, dtype=float), q)) for q in qs] for v, qs in req["percentiles"]],
        "tcdf": [[float(stats.t.cdf(x, df)), float(stats.t.sf(x, df))] for x, df in req["tcdf"]],
        "tppf": [tppf(p, df) for p, df in req["tppf"]],
        "tppf_raw": [float(stats.t.ppf(p, df)) for p, df in req["tppf"]],
        "tppf_back": [float(stats.t.cdf(x, df)) for x, df in req["tppf_back"]],
        "chi2": [[float(stats.chi2.cdf(x, k)), float(stats.chi2.sf(x, k))] for x, k in req["chi2"]],
        "chi2ppf": [float(stats.chi2.ppf(p, k)) for p, k in req["chi2ppf"]],
        "norm": [[float(stats.norm.cdf(x)), float(stats.norm.sf(x))] for x in req["norm"]],
        "normppf": [float(stats.norm.ppf(p)) for p in req["normppf"]],
        "props": [proportions(c) for c in req["props"]],
        "contingency": [list(map(float, stats.chi2_contingency(np.array(t), correction=False)[:2])) for t in req["contingency"]],
    }
    json.dump(out, sys.stdout)


main()
