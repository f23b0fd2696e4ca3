#!/usr/bin/env python
"""Phase-2 benchmark: candidate cross-validation plus a 30-trial Optuna search, on the project's train split
(full Adult after `make repro`) and optionally on N synthetic rows resampled from it.

    python bench/phase2.py [--rows 1000000] [--trials 30] [--out bench/results/phase2.json]

Target (issue #3): CV of all candidates + a 30-trial search under 10 minutes on 2 cores for Adult.
Each size runs in-process after the previous; OpenMP is limited to one thread as in the stages.
"""
import argparse, json, os, platform, time
from pathlib import Path
import numpy as np, polars as pl
from threadpoolctl import threadpool_limits

ROOT = Path(__file__).resolve().parents[1]


def run(train: pl.DataFrame, trials: int, report=lambda r: None) -> dict:
    "Seconds for 5-fold CV of every candidate and a `trials`-trial search of XGBoost on `train`; `report` sees each step"
    from ml_lifecycle.core import load_params, read_json
    from ml_lifecycle.features import load_skops, to_model_frame, encode_target
    from ml_lifecycle.models import train_params, make_candidate, make_pipeline_for, cv_splitter, cross_validate_model
    from ml_lifecycle.tune import cv_objective, run_search, check_space
    from ml_lifecycle.baseline import PRIMARY
    P = load_params(ROOT/'params.yaml'); ing = read_json(ROOT/'data/interim/ingest.json'); d, task = ing['data'], ing['task']
    T, tp = train_params(P, task), P['tune']
    features, roles = load_skops(ROOT/'models/features.skops'), read_json(ROOT/'models/features.json')['roles']
    X, y = to_model_frame(train, roles), encode_target(train[d['target']], task, ing['classes'], ing['positive_label'])
    out, t = {}, time.perf_counter()
    partial = lambda: report(dict(rows=train.height, seconds=out, total_seconds=round(sum(out.values()), 1), complete=False))
    folds = list(cv_splitter(task, T['cv_folds'], P['seed']).split(X, y))
    for c in T['candidates']:
        cross_validate_model(make_pipeline_for(features, make_candidate(c, task, T['fixed'].get(c), P['seed'], T['imbalance'], y)), X, y, task, folds)
        out[f'cv_{c}'] = round(time.perf_counter() - t, 1); t = time.perf_counter(); partial()
    tf = list(cv_splitter(task, tp['cv_folds'], P['seed']).split(X, y))
    obj = cv_objective('xgboost', task, features, X, y, check_space(tp['space']['xgboost'], 'xgboost'), T['fixed'].get('xgboost'), tf,
                       P['seed'], T['imbalance'], PRIMARY[task])
    def trial_done(study, trial):  # progress after every trial: a long run that is stopped keeps what it measured
        out[f'search_xgboost_{trials}_trials'] = round(time.perf_counter() - t, 1); out['search_trials_done'] = len(study.trials); partial()
    run_search(obj, PRIMARY[task], P['seed'], trials, None, [trial_done], progress=False)
    out[f'search_xgboost_{trials}_trials'] = round(time.perf_counter() - t, 1); out.pop('search_trials_done', None)
    return dict(rows=train.height, seconds=out, total_seconds=round(sum(out.values()), 1), complete=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--rows', type=int, nargs='*', default=[], help='also run on this many synthetic rows (resampled from train)')
    ap.add_argument('--trials', type=int, default=30)
    ap.add_argument('--no-train', action='store_true', help='skip the run on the train split itself (only the synthetic sizes)')
    ap.add_argument('--out', type=Path, default=ROOT/'bench/results/phase2.json')
    a = ap.parse_args()
    train = pl.read_parquet(ROOT/'data/processed/train.parquet')
    sets = ([] if a.no_train else [train]) + [train.sample(n, with_replacement=True, seed=0) for n in a.rows]
    results = []
    a.out.parent.mkdir(parents=True, exist_ok=True)
    def write(rs):  # after every step, so a long synthetic run that is stopped keeps what it measured
        a.out.write_text(json.dumps(dict(machine=dict(cpus=os.cpu_count(), platform=platform.platform()), results=rs), indent=2) + '\n')
    with threadpool_limits(1, user_api='openmp'):
        for df in sets:
            step = lambda r: write(results + [dict(r, load_avg_1m=round(os.getloadavg()[0], 2))])
            r = run(df, a.trials, step)
            r['load_avg_1m'] = round(os.getloadavg()[0], 2)  # >1 on 2 cores means something else competed
            results.append(r); write(results)
            print(f"{r['rows']:>10,} rows: {r['total_seconds']:>7.1f} s  {r['seconds']}", flush=True)
    print(f"written to {a.out}")


if __name__ == '__main__':
    main()
