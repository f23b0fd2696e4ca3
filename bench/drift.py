#!/usr/bin/env python
"""Drift benchmark: the monitoring drift report on N current rows with Adult's columns.

    python bench/drift.py [--rows 1000000] [--quick] [--out bench/results/drift.json]

The current batch is N test rows resampled with a seeded RNG, then shifted with `drift.simulate_shift`
on half of the model's input features (the `monitor.simulate` spec of params.yaml plus `workclass`
going missing). The reference profile is built as the `monitor` stage does (nbs/44_monitor.ipynb):
`build_profile` on a lazy scan of train, `add_score_profile` with the package's scores on valid.
Timed separately: building the batch (not part of the target), scoring the N rows with the package
(`predict_scores`), and the drift report itself (`drift_report` with those scores).
Target (issue #5): the drift report on 1M current rows x Adult's columns under 30 s on 2 cores.
"""
import argparse, json, os, platform, resource, time
from pathlib import Path
import numpy as np, polars as pl

ROOT = Path(__file__).resolve().parents[1]
TARGET_S = 30.0
EXTRA_SHIFT = {'workclass': {'missing': 0.1}}  # with monitor.simulate's 4 entries: 5 of the 9 inputs move


def lap(times: dict, name: str, t0: float) -> float:
    "Record the seconds since `t0` under `name`, print them, return now"
    now = time.perf_counter(); times[name] = round(now - t0, 2)
    print(f"  {name:<22} {times[name]:>7.2f} s", flush=True)
    return now


def run(n: int, seed: int = 0) -> dict:
    "Seconds for profiling, building an `n`-row shifted batch, scoring it, and its drift report"
    from ml_lifecycle import drift
    from ml_lifecycle.core import load_params, read_json
    from ml_lifecycle.package import load_package
    P = load_params(ROOT/'params.yaml'); M = P.get('monitor') or {}
    ing = read_json(ROOT/'data/interim/ingest.json'); task = ing['task']
    classes = ing['classes'] if task == 'multiclass' else None
    pkg = load_package(ROOT/'models/model'); roles = pkg.manifest['roles']
    numeric, categorical = roles['numeric'], roles['onehot'] + roles['target']
    times, t = {}, time.perf_counter()
    profile = drift.build_profile(pl.scan_parquet(ROOT/'data/processed/train.parquet'), numeric, categorical, seed=P['seed'],
                                  **{**dict(bins=10, min_share=0.01, max_categories=30, sample=50_000), **(M.get('profile') or {})})
    profile = drift.add_score_profile(profile, pkg.predict_scores(pl.read_parquet(ROOT/'data/processed/valid.parquet')), classes)
    t = lap(times, 'reference_profile', t)
    test = pl.read_parquet(ROOT/'data/processed/test.parquet')
    rng = np.random.default_rng(seed)
    spec = {c: s for c, s in {**(M.get('simulate') or {}), **EXTRA_SHIFT}.items() if c in test.columns}
    cur = drift.simulate_shift(test[rng.integers(0, test.height, n)], spec, seed)
    t = lap(times, 'build_batch', t)
    scores = pkg.predict_scores(cur)
    t = lap(times, 'score', t)
    rep = drift.drift_report(profile, cur, scores, classes, M.get('thresholds'), seed=P['seed'])
    t = lap(times, 'drift_report', t)
    times['score_plus_report'] = round(times['score'] + times['drift_report'], 2)
    return dict(rows=n, columns=cur.width, features_profiled=len(numeric) + len(categorical), shifted=spec, seconds=times,
                rows_per_s=dict(score=round(n / max(times['score'], 1e-9)), drift_report=round(n / max(times['drift_report'], 1e-9))),
                peak_rss_gib=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2),
                report=dict(status=rep['status'], counts=rep['counts'], drifted=rep['drifted'], summary=rep['summary']))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--rows', type=int, default=1_000_000, help='current rows (default: the target size, 1M)')
    ap.add_argument('--quick', action='store_true', help='a short check on 100,000 rows (target not judged)')
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--out', type=Path, default=None, help='default bench/results/drift.json (drift_quick.json with --quick)')
    a = ap.parse_args()
    n = 100_000 if a.quick else a.rows
    out = a.out or ROOT/f"bench/results/{'drift_quick' if a.quick else 'drift'}.json"
    load0 = [round(x, 2) for x in os.getloadavg()]
    print(f"drift report on {n:,} rows (load average {load0})", flush=True)
    r = run(n, a.seed)
    load1 = [round(x, 2) for x in os.getloadavg()]
    judged = n >= 1_000_000
    met = r['seconds']['drift_report'] < TARGET_S if judged else None
    res = dict(machine=dict(cpus=os.cpu_count(), platform=platform.platform(), python=platform.python_version(),
                            polars=pl.__version__, load_avg_start=load0, load_avg_end=load1),
               target=dict(what=f'drift report on 1M current rows x Adult\'s columns under {TARGET_S:g} s (issue 5)',
                           seconds=TARGET_S, measured=r['seconds']['drift_report'], met=met),
               note=('Scoring is timed apart from the drift computation; the target judges drift_report (bucket counts, KS '
                     'samples, PSI/KS/chi-square tests, prediction-drift checks). score_plus_report is what the monitor '
                     'stage spends on a batch. load_avg > 2 on this 2-core machine means other work competed.'),
               result=r)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(res, indent=2) + '\n')
    verdict = 'not judged (--quick / < 1M rows)' if met is None else ('target met' if met else f'TARGET MISSED ({TARGET_S:g} s)')
    print(f"{n:,} rows: drift report {r['seconds']['drift_report']:.2f} s, scoring {r['seconds']['score']:.2f} s: {verdict}; "
          f"report: {r['report']['summary']}\nwritten to {out}")


if __name__ == '__main__':
    main()
