#!/usr/bin/env python
"""SHAP speed: exact Tree SHAP of an XGBoost model (300 trees, depth 6) on 100k rows with Adult's features,
computed by the shap package and by XGBoost itself (and on the GPU when there is one).

    python bench/shap_speed.py [--rows 100000] [--trees 300] [--depth 6] [--out bench/results/shap_speed.json]

The model is the project's feature pipeline (`models/features.skops`, cloned) + XGBClassifier fitted on
`data/processed/train.parquet`. The rows explained are train rows resampled with replacement to `--rows`.
Fitting and the feature transform are not timed; each method gets the same transformed matrix. Methods:

- `xgboost_cpu`: `booster.predict(DMatrix(X), pred_contribs=True)` on the CPU, all cores (what `ml_lifecycle.explain` uses);
- `xgboost_cpu_1thread`: the same on one thread, for a per-core comparison with shap's single-threaded C++;
- `shap_tree_explainer`: `shap.TreeExplainer(model).shap_values(X)`, the shap package's default for XGBoost,
  which hands the work to the same XGBoost call and then checks additivity with one more prediction;
- `shap_own_cpp`: shap's own C++ Tree SHAP on the same trees (the path shap takes for models without a
  native implementation; single-threaded), forced by skipping the XGBoost shortcut;
- `xgboost_gpu`: the same XGBoost call with `device='cuda'`, only when `explain.gpu_available()`.

Every method's values are checked against `xgboost_cpu` (max absolute difference reported). The methods run
round-robin `--repeats` times and the best time counts (other processes on a shared machine only ever add
time); every run's time is kept in the JSON.
"""
import argparse, json, os, platform, sys, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def build(rows: int, trees: int, depth: int, seed: int = 0):
    "The fitted model and the transformed matrix of `rows` resampled train rows"
    import numpy as np, polars as pl, xgboost as xgb
    from sklearn.base import clone
    from sklearn.pipeline import Pipeline
    from ml_lifecycle.core import read_json
    from ml_lifecycle.features import load_skops, to_model_frame, encode_target
    ing = read_json(ROOT/'data/interim/ingest.json'); d = ing['data']
    roles = read_json(ROOT/'models/features.json')['roles']
    train = pl.read_parquet(ROOT/'data/processed/train.parquet')
    y = encode_target(train[d['target']], ing['task'], ing['classes'], ing['positive_label'])
    pipe = Pipeline([('features', clone(load_skops(ROOT/'models/features.skops'))),
                     ('model', xgb.XGBClassifier(n_estimators=trees, max_depth=depth, learning_rate=0.1, random_state=seed))])
    pipe.fit(to_model_frame(train, roles), y)
    big = train[np.random.default_rng(seed).integers(0, train.height, rows)]
    Xt = np.asarray(pipe.named_steps['features'].transform(to_model_frame(big, roles)), dtype=np.float32)
    return pipe.named_steps['model'], Xt


def timed(f):
    t = time.perf_counter(); v = f(); return time.perf_counter() - t, v


def shap_own_cpp(model, Xt):
    "shap's C++ Tree SHAP on XGBoost's trees, skipping shap's hand-over to XGBoost"
    import shap
    e = shap.TreeExplainer(model)
    e.model.model_type = 'internal'  # the shortcut to XGBoost's pred_contribs is taken only for 'xgboost'
    return e.shap_values(Xt, check_additivity=False)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--rows', type=int, default=100_000)
    ap.add_argument('--trees', type=int, default=300)
    ap.add_argument('--depth', type=int, default=6)
    ap.add_argument('--repeats', type=int, default=2, help='round-robin repeats; the best time counts')
    ap.add_argument('--skip-shap-own', action='store_true', help='skip the (slow, single-threaded) shap C++ path')
    ap.add_argument('--out', default=str(ROOT/'bench/results/shap_speed.json'))
    a = ap.parse_args()
    import numpy as np, shap, xgboost
    from ml_lifecycle.explain import xgb_contribs, gpu_available
    model, Xt = build(a.rows, a.trees, a.depth)
    print(f"{a.rows:,} rows x {Xt.shape[1]} model features, XGBoost {a.trees} trees depth {a.depth}, {os.cpu_count()} CPU cores")
    xgb_contribs(model, Xt[:100])  # warm-up: thread pool, model load
    one_thread = model.get_booster().copy(); one_thread.set_param(dict(nthread=1))
    methods = [('xgboost_cpu', lambda: xgb_contribs(model, Xt)[:, :-1]),
               ('xgboost_cpu_1thread', lambda: one_thread.predict(xgboost.DMatrix(Xt), pred_contribs=True)[:, :-1]),
               ('shap_tree_explainer', lambda: shap.TreeExplainer(model).shap_values(Xt))]
    if not a.skip_shap_own: methods.append(('shap_own_cpp', lambda: shap_own_cpp(model, Xt)))
    if gpu_available(): methods.append(('xgboost_gpu', lambda: xgb_contribs(model, Xt, 'cuda')[:, :-1]))
    runs, diff, ref = {n: [] for n, _ in methods}, {}, None
    for r in range(a.repeats):
        for name, f in methods:
            s, v = timed(f)
            ref = v if ref is None else ref
            runs[name].append(round(s, 3)); diff[name] = float(np.abs(np.asarray(v) - ref).max()); del v
            print(f"  round {r + 1}: {name:<22} {s:8.2f} s", flush=True)
    results = {n: dict(seconds=min(t), rows_per_s=round(a.rows / min(t)), runs=t, max_abs_diff_vs_xgboost_cpu=diff[n]) for n, t in runs.items()}
    print(f"\n  {'method':<22} {'best s':>8} {'rows/s':>10}  max |diff|")
    for n, r in results.items(): print(f"  {n:<22} {r['seconds']:8.2f} {r['rows_per_s']:>10,}  {r['max_abs_diff_vs_xgboost_cpu']:.1e}")
    fastest = min(results, key=lambda k: results[k]['seconds'])
    rec = dict(rows=a.rows, model_features=Xt.shape[1], trees=a.trees, depth=a.depth, repeats=a.repeats, results=results, fastest=fastest,
               gpu=gpu_available(), machine=dict(cpus=os.cpu_count(), platform=platform.platform(), python=sys.version.split()[0]),
               versions=dict(xgboost=xgboost.__version__, shap=shap.__version__))
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(rec, indent=2) + '\n')
    print(f"fastest: {fastest}; written {a.out}")


if __name__ == '__main__':
    main()
