#!/usr/bin/env python
"""Phase-1 benchmark: wall time and peak memory of ingest, schema validation, quality report, split and
feature fit/transform on N synthetic rows with Adult's schema.

    python bench/phase1.py --rows 1000000 5000000 [--out bench/results/phase1.json]

Synthetic rows are Adult rows resampled with replacement, with numeric columns jittered so that rows are
(nearly) unique, written as a raw CSV with Adult's quirks (`?` for missing, leading spaces, trailing '.'
on some labels). Generating the file is not timed. Each size runs in a fresh process, so peak RSS is that
size's own. Target (issue #2): 5M rows through phase 1 in under 2 minutes and under 8 GiB on 2 cores.
"""
import argparse, json, os, platform, resource, subprocess, sys, tempfile, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def make_csv(n: int, path: Path, seed: int = 0):
    "Write `n` synthetic Adult-like rows to `path` (raw CSV, quirks kept)"
    import numpy as np, polars as pl
    raw = pl.read_csv(ROOT/'data/raw/adult.csv.gz', infer_schema=False)
    rng = np.random.default_rng(seed)
    df = raw[rng.integers(0, raw.height, n)]
    jitter = lambda c, scale: (pl.col(c).str.strip_chars().cast(pl.Int64) + pl.Series(rng.integers(-scale, scale + 1, n))).clip(0).cast(pl.String)
    df = df.with_columns(jitter('fnlwgt', 5000), jitter('hours-per-week', 2), jitter('age', 1))
    df.write_csv(path)


def run_one(n: int, workdir: Path) -> dict:
    "Time each phase-1 step on `n` rows (in this process)"
    import polars as pl
    from ml_lifecycle.core import load_params
    from ml_lifecycle.ingest import ingest
    from ml_lifecycle.split import split_frame
    from ml_lifecycle.schema import infer_schema, validate
    from ml_lifecycle.quality import quality_report, quality_params
    from ml_lifecycle.features import fit_features, to_model_frame
    src = workdir/f'adult_{n}.csv'
    if not src.exists(): make_csv(n, src)
    P = load_params(ROOT/'params.yaml')
    t, times = time.perf_counter(), {}
    def lap(name):
        nonlocal t
        now = time.perf_counter(); times[name] = round(now - t, 2); t = now
    rec = ingest(P['data'], src, workdir/'clean.parquet'); lap('ingest')
    parts, srec = split_frame(pl.scan_parquet(workdir/'clean.parquet'), {**P, 'data': rec['data']}, rec['task']); lap('split')
    schema = infer_schema(parts['train'], rec['kinds'], target=rec['data']['target'], task=rec['task'])
    for k in ('valid', 'test'): validate(parts[k], schema)
    lap('schema_validate')
    quality_report(pl.scan_parquet(workdir/'clean.parquet'), *(parts[k].lazy() for k in ('train', 'valid', 'test')), rec, srec,
                   quality_params(P['quality'])); lap('quality_report')
    ct, frec = fit_features(parts['train'], rec, P['features'], P['seed']); lap('features_fit')
    for k in ('valid', 'test'): ct.transform(to_model_frame(parts[k], frec['roles']))
    lap('features_transform')
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB -> GiB
    return dict(rows=n, seconds=times, total_seconds=round(sum(times.values()), 1), peak_rss_gib=round(peak, 2),
                rows_after_dedupe=sum(srec['rows'].values()))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--rows', type=int, nargs='+', default=[1_000_000, 5_000_000])
    ap.add_argument('--out', type=Path, default=ROOT/'bench/results/phase1.json')
    ap.add_argument('--workdir', type=Path, default=None, help='where the synthetic CSVs go (default: a temp dir)')
    ap.add_argument('--one', type=int, help=argparse.SUPPRESS)
    a = ap.parse_args()
    wd = a.workdir or Path(tempfile.mkdtemp(prefix='bench-phase1-'))
    wd.mkdir(parents=True, exist_ok=True)
    if a.one: print(json.dumps(run_one(a.one, wd))); return
    results = []
    for n in a.rows:
        t0 = time.perf_counter()
        r = subprocess.run([sys.executable, __file__, '--one', str(n), '--workdir', str(wd)], capture_output=True, text=True)
        if r.returncode: sys.exit(f"benchmark failed at {n} rows:\n{r.stderr[-3000:]}")
        res = json.loads(r.stdout.strip().splitlines()[-1]); results.append(res)
        ok = res['total_seconds'] < 120 and res['peak_rss_gib'] < 8
        print(f"{n:>10,} rows: {res['total_seconds']:>7.1f} s, peak {res['peak_rss_gib']:.2f} GiB  {res['seconds']}"
              + ('' if n < 5_000_000 else ('  target met' if ok else '  TARGET MISSED (2 min, 8 GiB)')))
    machine = dict(cpus=os.cpu_count(), platform=platform.platform(), python=platform.python_version())
    a.out.parent.mkdir(parents=True, exist_ok=True)
    a.out.write_text(json.dumps(dict(machine=machine, results=results), indent=2) + '\n')
    print(f"written to {a.out}")


if __name__ == '__main__':
    main()
