#!/usr/bin/env python
"""Serving benchmark: `ml-lifecycle serve` against `mlflow models serve` on the same model, with wrk on loopback.

    python bench/serve.py [--workers 1 2] [--duration 15] [--quick] [--out bench/results/serve.json]

For each server (and each worker count): a warm-up, then closed-loop wrk runs at 1, 10 and 50 connections
with single-record bodies (p50/p75/p90/p95/p99 latency, requests/s), one batch run (1000 records per request,
rows/s), and for our API approximately open-loop runs: 50 connections that each wait an exponential
think time between requests, offering 25/50/75% of the closed-loop rate and 500 requests/s (latency below
saturation, without the queueing a closed loop at 50 connections measures). Bodies rotate over distinct test
records (model inputs, no missing values). Both servers run from a temporary copy of the project (the
prediction log of our API stays ON and goes to the copy's logs/), with OMP_NUM_THREADS = serve.threads.
wrk runs on the same 2 cores as the server (CPU seconds of each are recorded).
Targets (issue #5): p95 single-record latency < 10 ms at 50 concurrent clients on 2 cores; >= 3x the
requests/s of `mlflow models serve`; batch scoring >= half the raw XGBoost `inplace_predict` rows/s.
"""
import argparse, json, os, platform, shutil, signal, socket, subprocess, sys, tempfile, time, urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
P95_MS, RPS_RATIO, RAW_SHARE = 10.0, 3.0, 0.5
PCTS = (50, 75, 90, 95, 99, 99.9)
SKIP = ('.venv', '.git', '.dvc', 'mlartifacts', 'logs', 'nbs', '.pytest_cache', 'tests', 'plots')


def say(*a): print(*a, flush=True)


# ---- requests --------------------------------------------------------------------------------------------
def model_records(n: int, seed: int = 0) -> tuple[list[dict], list[str]]:
    "`n` distinct test rows (the model's inputs, no missing value) as JSON-ready records, and the input columns"
    import polars as pl
    cols = json.loads((ROOT/'models/model/manifest.json').read_text())['input_columns']
    df = pl.read_parquet(ROOT/'data/processed/test.parquet', columns=cols).drop_nulls().unique(maintain_order=True)
    return df.sample(min(n, df.height), seed=seed, shuffle=True).to_dicts(), cols


def bodies(recs: list[dict], api: str, batch: int, k: int) -> list[str]:
    "`k` request bodies for `api` ('ours' | 'mlflow'): one record each, or `batch` records each"
    wrap = (lambda rs: {'records': rs}) if api == 'ours' else (lambda rs: {'dataframe_records': rs})
    if batch == 1: return [json.dumps(r if api == 'ours' else wrap([r])) for r in recs[:k]]
    return [json.dumps(wrap([recs[(j * batch + i) % len(recs)] for i in range(batch)])) for j in range(k)]


def lua(path: Path, url_path: str, bodies: list[str], think_ms: float | None = None, seed: int = 0) -> Path:
    "A wrk script: POST `bodies` in turn; with `think_ms`, each connection waits an exponential delay of that mean"
    assert all(']==]' not in b for b in bodies)
    pct = ', '.join(str(p) for p in PCTS)
    path.write_text(f"""
local bodies = {{ {', '.join(f'[==[{b}]==]' for b in bodies)} }}
local reqs, i, n = {{}}, 0, 0
local tid_next = 0
setup = function(thread) thread:set("tid", tid_next); tid_next = tid_next + 1 end
init = function(args)
  math.randomseed({seed} + 7919 * (tid or 0))
  for k, b in ipairs(bodies) do reqs[k] = wrk.format("POST", "{url_path}", {{["Content-Type"] = "application/json"}}, b) end
  i = math.random(#reqs)
end
request = function() i = i % #reqs + 1; return reqs[i] end
""" + (f"delay = function() return -math.log(1 - math.random()) * {think_ms:.3f} end\n" if think_ms else '') + f"""
done = function(summary, latency, requests)
  io.write(string.format("RES duration_us %d\\nRES requests %d\\nRES bytes %d\\n", summary.duration, summary.requests, summary.bytes))
  local e = summary.errors
  io.write(string.format("RES err_connect %d\\nRES err_read %d\\nRES err_write %d\\nRES err_status %d\\nRES err_timeout %d\\n",
                         e.connect, e.read, e.write, e.status, e.timeout))
  io.write(string.format("RES mean_us %.1f\\nRES max_us %d\\n", latency.mean, latency.max))
  for _, p in ipairs({{ {pct} }}) do io.write(string.format("RES p%s_us %d\\n", tostring(p), latency:percentile(p))) end
end
""")
    return path


# ---- processes -------------------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s: s.bind(('127.0.0.1', 0)); return s.getsockname()[1]


def get(url: str, timeout: float = 2) -> int:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r: return r.status
    except urllib.error.HTTPError as e: return e.code
    except OSError: return 0


def post(url: str, body: str) -> dict:
    req = urllib.request.Request(url, body.encode(), {'Content-Type': 'application/json'})
    with urllib.request.urlopen(req, timeout=30) as r: return json.loads(r.read())


def group_cpu_s(pgid: int) -> float:
    "CPU seconds (user + system) used so far by the live processes of process group `pgid`"
    tick, tot = os.sysconf('SC_CLK_TCK'), 0
    for p in Path('/proc').iterdir():
        if not p.name.isdigit(): continue
        try: f = (p/'stat').read_text().rsplit(')', 1)[1].split()
        except OSError: continue
        if int(f[2]) == pgid: tot += int(f[11]) + int(f[12])
    return tot / tick


class Server:
    "A server subprocess in its own process group, stopped (the whole group) on exit"
    def __init__(self, name, cmd, cwd, env, ready_path, log):
        self.name, self.cmd, self.cwd, self.env, self.ready_path, self.log = name, cmd, cwd, env, ready_path, log
        self.port = int(cmd[cmd.index('--port' if '--port' in cmd else '-p') + 1])
        self.base = f'http://127.0.0.1:{self.port}'

    def __enter__(self):
        self.out = open(self.log, 'w')
        t0 = time.perf_counter()
        self.p = subprocess.Popen(self.cmd, cwd=self.cwd, env=self.env, stdout=self.out, stderr=subprocess.STDOUT, start_new_session=True)
        while get(self.base + self.ready_path) != 200:
            if self.p.poll() is not None or time.perf_counter() - t0 > 180:
                self.__exit__(); sys.exit(f"{self.name} did not become ready; its log:\n{Path(self.log).read_text()[-3000:]}")
            time.sleep(0.25)
        self.start_s = round(time.perf_counter() - t0, 1)
        say(f"  {self.name}: ready in {self.start_s} s on port {self.port} ({' '.join(map(str, self.cmd[1:]))})")
        return self

    def __exit__(self, *exc):
        if self.p.poll() is None:
            os.killpg(self.p.pid, signal.SIGTERM)
            try: self.p.wait(20)
            except subprocess.TimeoutExpired: os.killpg(self.p.pid, signal.SIGKILL); self.p.wait()
        self.out.close()


# ---- measurement -----------------------------------------------------------------------------------------
def wrk(server: Server, script: Path, conns: int, secs: float, threads: int) -> dict:
    "One wrk run: latency percentiles (ms), requests/s, errors, and the CPU seconds of server and wrk"
    t = max(1, min(threads, conns))
    cmd = ['wrk', f'-t{t}', f'-c{conns}', f'-d{secs:g}s', '--latency', '--timeout', '30s', '-s', str(script), server.base]
    cpu0, ch0 = group_cpu_s(server.p.pid), os.times()
    r = subprocess.run(cmd, capture_output=True, text=True)
    ch1, cpu1 = os.times(), group_cpu_s(server.p.pid)
    if r.returncode: sys.exit(f"wrk failed: {' '.join(cmd)}\n{r.stderr[-2000:]}")
    v = {k: float(x) for k, x in (l.split()[1:] for l in r.stdout.splitlines() if l.startswith('RES '))}
    dur = v['duration_us'] / 1e6
    errors = {k[4:]: int(v[k]) for k in v if k.startswith('err_') and v[k]}
    wrk_cpu = (ch1.children_user - ch0.children_user) + (ch1.children_system - ch0.children_system)
    return dict(connections=conns, wrk_threads=t, seconds=round(dur, 2), requests=int(v['requests']), requests_per_s=round(v['requests'] / dur, 1),
                latency_ms={**{f'p{p:g}': round(v[f'p{p:g}_us'] / 1e3, 2) for p in PCTS}, 'mean': round(v['mean_us'] / 1e3, 2),
                            'max': round(v['max_us'] / 1e3, 2)},
                errors=errors, cpu_cores_used=dict(server=round((cpu1 - cpu0) / dur, 2), wrk=round(wrk_cpu / dur, 2)),
                requests_per_server_cpu_s=round(v['requests'] / max(cpu1 - cpu0, 1e-9), 1),
                load_avg_1m_after=round(os.getloadavg()[0], 2))


def show(label: str, r: dict, rows: int = 1):
    l = r['latency_ms']
    say(f"    {label:<26} {r['requests_per_s']:>8.1f} req/s" + (f" {r['requests_per_s'] * rows:>9.0f} rows/s" if rows > 1 else '')
        + f"  p50 {l['p50']:>7.2f}  p95 {l['p95']:>7.2f}  p99 {l['p99']:>7.2f} ms  cpu server {r['cpu_cores_used']['server']:.2f} wrk {r['cpu_cores_used']['wrk']:.2f}"
        + (f"  ERRORS {r['errors']}" if r['errors'] else ''))


def measure(server: Server, api: str, recs: list[dict], a, tmp: Path, open_fracs: list[float]) -> dict:
    "Warm-up, closed-loop single-record runs, a batch run, and (if asked) approximately open-loop runs"
    path = '/predict' if api == 'ours' else '/invocations'
    single = lua(tmp/f'{api}_single.lua', path, bodies(recs, api, 1, a.distinct), seed=a.seed)
    batch = lua(tmp/f'{api}_batch.lua', path, bodies(recs, api, a.batch, 3), seed=a.seed)
    wrk(server, single, 10, a.warmup, a.wrk_threads)
    out = dict(start_s=server.start_s, closed_loop={}, open_loop=[])
    for c in a.connections:
        r = out['closed_loop'][str(c)] = wrk(server, single, c, a.duration, a.wrk_threads); show(f'closed loop, {c} conn', r)
    wrk(server, batch, a.batch_connections, min(a.warmup, 3), a.wrk_threads)
    r = out['batch'] = wrk(server, batch, a.batch_connections, a.duration, a.wrk_threads)
    r['rows_per_request'], r['rows_per_s'] = a.batch, round(r['requests_per_s'] * a.batch)
    show(f'batch {a.batch}, {a.batch_connections} conn', r, a.batch)
    sat = out['closed_loop'].get(str(a.open_clients), out['closed_loop'][str(max(a.connections))])['requests_per_s']
    for f, target in [(f, f * sat) for f in open_fracs] + [(None, float(x)) for x in (a.open_rps if open_fracs else [])]:
        think = 1e3 * a.open_clients / target
        s = lua(tmp/f'{api}_open.lua', path, bodies(recs, api, 1, a.distinct), think_ms=think, seed=a.seed)
        r = wrk(server, s, a.open_clients, a.duration, a.wrk_threads)
        r |= dict(fraction_of_closed_loop_rps=f, offered_rps_approx=round(target, 1), think_ms_mean=round(think, 2))
        out['open_loop'].append(r); show(f'open loop {f:.0%} ({a.open_clients} cl)' if f else f'open loop {target:g}/s ({a.open_clients} cl)', r)
    return out


def scores_of(server: Server, api: str, recs: list[dict]) -> list[float]:
    "The scores `server` gives `recs` (one batch request)"
    if api == 'ours': return [p['score'] for p in post(server.base + '/predict', json.dumps({'records': recs}))['predictions']]
    return post(server.base + '/invocations', json.dumps({'dataframe_records': recs}))['predictions']


def raw_xgboost_rows_per_s(recs: list[dict], batch: int, threads: int, secs: float = 3.0) -> dict:
    "Rows/s of XGBoost's `inplace_predict` alone on `batch` already-transformed rows (the issue's reference)"
    import polars as pl
    from threadpoolctl import threadpool_limits
    from ml_lifecycle.package import load_package
    pkg = load_package(ROOT/'models/model')
    df = pl.DataFrame([recs[i % len(recs)] for i in range(batch)])
    X = pkg.features.transform(pkg.frame(df)); X = X.toarray() if hasattr(X, 'toarray') else X
    booster = pkg.model.get_booster(); booster.set_param({'nthread': threads})
    with threadpool_limits(threads):
        booster.inplace_predict(X); n, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < secs: booster.inplace_predict(X); n += 1
        dt = time.perf_counter() - t0
    return dict(rows_per_call=batch, calls=n, threads=threads, rows_per_s=round(n * batch / dt),
                note='in-process, on the feature matrix (no JSON, no validation, no feature step)')


# ---- main ------------------------------------------------------------------------------------------------
def project_copy(tmp: Path) -> Path:
    "A copy of the project (no venv, git, notebooks, logs) where the servers run and write their logs"
    dst = tmp/'proj'
    shutil.copytree(ROOT, dst, ignore=lambda d, names: [n for n in names if Path(d) == ROOT and n in SKIP], symlinks=True)
    (dst/'logs').mkdir()
    return dst


def serve_settings(proj: Path) -> dict:
    import yaml
    return (yaml.safe_load((proj/'params.yaml').read_text()) or {}).get('serve') or {}


def workers_support() -> str | None:
    "'flag' when `ml-lifecycle serve --workers` exists, 'params' when only the serve settings know `workers`, else None"
    r = subprocess.run([str(BIN/'ml-lifecycle'), 'serve', '--help'], capture_output=True, text=True)
    if '--workers' in r.stdout: return 'flag'
    from ml_lifecycle import serve
    return 'params' if 'workers' in getattr(serve, 'SERVE_DEFAULTS', {}) else None


def set_workers(proj: Path, w: int):
    "Set serve.workers in the copy's params.yaml (comments are not kept: it is a throw-away copy)"
    import yaml
    P = yaml.safe_load((proj/'params.yaml').read_text()); P.setdefault('serve', {})['workers'] = w
    (proj/'params.yaml').write_text(yaml.safe_dump(P, sort_keys=False))


def targets(w: dict, raw: dict | None) -> dict:
    "Each target for one worker count's runs `w`, with the measured value and whether it was met (closed and open loop apart)"
    o, m = w['ours'], w.get('mlflow')
    c50 = o['closed_loop'].get('50')
    t = {}
    if c50: t['p95_ms_50_clients_closed_loop'] = dict(target=f'< {P95_MS:g} ms', measured=c50['latency_ms']['p95'], met=c50['latency_ms']['p95'] < P95_MS,
                                                    note='closed loop at saturation: the p95 is mostly queueing (latency = connections / throughput)')
    if o['open_loop']:
        worst = max(o['open_loop'], key=lambda r: r['requests_per_s'])
        t['p95_ms_50_clients_open_loop'] = dict(target=f'< {P95_MS:g} ms', measured=worst['latency_ms']['p95'], met=worst['latency_ms']['p95'] < P95_MS,
                                                at_rps=worst['requests_per_s'], fraction_of_saturation=worst['fraction_of_closed_loop_rps'],
                                                per_rate=[dict(fraction=r['fraction_of_closed_loop_rps'], offered_rps=r['offered_rps_approx'], rps=r['requests_per_s'], p95_ms=r['latency_ms']['p95'],
                                                               met=r['latency_ms']['p95'] < P95_MS) for r in o['open_loop']],
                                                max_rps_meeting_target=max([r['requests_per_s'] for r in o['open_loop'] if r['latency_ms']['p95'] < P95_MS], default=None),
                                                note='50 clients with exponential think time; judged at the highest achieved rate (stricter); max_rps_meeting_target: the highest rate whose p95 stayed under the target')
    if m:
        ratios = {c: round(o['closed_loop'][c]['requests_per_s'] / m['closed_loop'][c]['requests_per_s'], 2) for c in o['closed_loop'] if c in m['closed_loop']}
        hi = str(max(int(c) for c in ratios))
        t['rps_vs_mlflow'] = dict(target=f'>= {RPS_RATIO:g}x', measured=ratios[hi], at_connections=int(hi), per_connections=ratios, met=ratios[hi] >= RPS_RATIO)
        t['batch_rows_per_s_vs_mlflow'] = dict(measured=round(o['batch']['rows_per_s'] / m['batch']['rows_per_s'], 2), note='no target; for information')
    if raw:
        share = round(o['batch']['rows_per_s'] / raw['rows_per_s'], 3)
        t['batch_vs_raw_inplace_predict'] = dict(target=f'>= {RAW_SHARE:g}', measured=share, met=share >= RAW_SHARE,
                                                 note='HTTP batch rows/s (JSON, validation, features, log) over in-process inplace_predict rows/s')
    return t


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--workers', type=int, nargs='+', default=None, help='(default 1 2; 1 with --quick) worker processes per server (2 is skipped for our API when `ml-lifecycle serve` has no --workers)')
    ap.add_argument('--connections', type=int, nargs='+', default=[1, 10, 50])
    ap.add_argument('--duration', type=float, default=15, help='seconds per measured wrk run')
    ap.add_argument('--warmup', type=float, default=5, help='seconds of untimed load before a server is measured')
    ap.add_argument('--wrk-threads', type=int, default=1, help='wrk threads (each is a busy loop on the same 2 cores)')
    ap.add_argument('--batch', type=int, default=1000, help='records per batch request')
    ap.add_argument('--batch-connections', type=int, default=2)
    ap.add_argument('--open-clients', type=int, default=50)
    ap.add_argument('--open-fractions', type=float, nargs='*', default=[0.25, 0.5, 0.75], help='offered rate of the open-loop runs, as fractions of the closed-loop rate')
    ap.add_argument('--open-rps', type=float, nargs='*', default=[500], help='also open-loop runs at these absolute offered rates (requests/s)')
    ap.add_argument('--distinct', type=int, default=64, help='distinct single-record bodies, sent in turn')
    ap.add_argument('--no-mlflow', action='store_true')
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--keep', action='store_true', help='keep the temporary project copy (server logs, prediction log)')
    ap.add_argument('--quick', action='store_true', help='a short check: 3 s runs, 1 s warm-up, one worker, one open-loop rate')
    ap.add_argument('--out', type=Path, default=None, help='default bench/results/serve.json (serve_quick.json with --quick)')
    a = ap.parse_args()
    if not shutil.which('wrk'): sys.exit("wrk not found: install it with `sudo apt-get install wrk` (Debian/Ubuntu) and run again")
    if a.quick: a.duration, a.warmup, a.open_fractions = 3, 1, a.open_fractions[1:2] or [0.5]
    a.workers = a.workers or ([1] if a.quick else [1, 2])
    out = a.out or ROOT/f"bench/results/{'serve_quick' if a.quick else 'serve'}.json"
    load0 = [round(x, 2) for x in os.getloadavg()]
    say(f"serving benchmark (load average {load0}); wrk {a.duration:g} s per run")
    tmp = Path(tempfile.mkdtemp(prefix='bench-serve-'))
    try:
        proj = project_copy(tmp); cfg = serve_settings(proj)
        threads = int(cfg.get('threads') or 1)
        recs, cols = model_records(max(a.distinct, a.batch * 3), a.seed)
        tune = json.loads((ROOT/'reports/tune.json').read_text())['mlflow']
        uri = f"models:/{tune['registered_model']}/{tune['version']}"
        env = dict(os.environ, PATH=f"{BIN}:{os.environ.get('PATH', '')}", OMP_NUM_THREADS=str(threads),
                   MLFLOW_TRACKING_URI=f"sqlite:///{proj/'mlflow.db'}", PYTHONUNBUFFERED='1')
        wsup = workers_support()
        res = dict(machine=dict(cpus=os.cpu_count(), platform=platform.platform(), python=platform.python_version(),
                                wrk=subprocess.run(['wrk', '--version'], capture_output=True, text=True).stdout.splitlines()[0].strip(),
                                load_avg_start=load0),
                   settings=dict(duration_s=a.duration, warmup_s=a.warmup, connections=a.connections, wrk_threads=a.wrk_threads,
                                 batch=a.batch, batch_connections=a.batch_connections, open_clients=a.open_clients,
                                 open_fractions=a.open_fractions, open_rps=a.open_rps, distinct_bodies=a.distinct, omp_threads=threads,
                                 request_fields=cols, mlflow_model_uri=uri, prediction_log=cfg.get('log_dir') or None,
                                 our_workers_support=wsup),
                   runs={}, notes=[])
        res['raw_xgboost'] = raw_xgboost_rows_per_s(recs, a.batch, threads)
        say(f"raw XGBoost inplace_predict: {res['raw_xgboost']['rows_per_s']:,} rows/s ({a.batch} rows per call, {threads} thread)")
        for w in a.workers:
            run = res['runs'][str(w)] = {}
            if w > 1 and not wsup:
                res['notes'].append(f'{w} workers: skipped, `ml-lifecycle serve` has no --workers flag and serve settings no `workers` yet'); say(res['notes'][-1]); continue
            say(f"{w} worker(s):")
            if wsup == 'params': set_workers(proj, w)
            ours = Server('ml-lifecycle serve', [str(BIN/'ml-lifecycle'), 'serve', '--port', str(free_port())] + (['--workers', str(w)] if wsup == 'flag' else []),
                          proj, env, '/ready', tmp/f'ours_{w}.log')
            with ours:
                ref = scores_of(ours, 'ours', recs[:200])
                run['ours'] = measure(ours, 'ours', recs, a, tmp, a.open_fractions)
            if not a.no_mlflow:
                mlf = Server('mlflow models serve', [str(BIN/'mlflow'), 'models', 'serve', '-m', uri, '--env-manager', 'local',
                                                     '-p', str(free_port()), '-w', str(w)], proj, env, '/ping', tmp/f'mlflow_{w}.log')
                with mlf:
                    diff = max(abs(x - y) for x, y in zip(ref, scores_of(mlf, 'mlflow', recs[:200])))
                    res.setdefault('same_model', {})[f'{w}_workers'] = dict(records=len(ref), max_abs_score_diff=diff)
                    say(f"  same model: largest score difference on {len(ref)} records {diff:.2e}")
                    run['mlflow'] = measure(mlf, 'mlflow', recs, a, tmp, [])
            log = proj/(cfg.get('log_dir') or 'logs/predictions')
            run['ours']['prediction_log_mb'] = round(sum(f.stat().st_size for f in log.glob('*')) / 2**20, 1) if log.exists() else None
            for f in log.glob('*') if log.exists() else []: f.unlink()  # each worker count starts with an empty log
        res['machine']['load_avg_end'] = [round(x, 2) for x in os.getloadavg()]
        res['targets'] = {f'{w}_workers': targets(r, res['raw_xgboost']) for w, r in res['runs'].items() if r}
        res['notes'] += [
            'wrk shares the 2 cores with the server under test: cpu_cores_used says how much each took; on a separate load machine the server would have both cores.',
            "requests_per_server_cpu_s (requests / CPU seconds the server used) compares the servers' efficiency even when other work takes CPU from them.",
            'load_avg_1m_after above ~2 (on 2 cores) means other processes competed for the CPU during that run; a saturated one-worker server then shows cpu_cores_used.server well below 1.',
            'Closed loop: each connection sends its next request as soon as the previous answer arrives, so at 50 connections the server is saturated and latency is queueing (about connections / requests_per_s).',
            "Open loop (approximate): wrk's delay() gives each of the 50 connections an exponential think time, mean 50 / target rate; a slow answer still delays that client's next request, so this is not a true fixed-rate generator, but far below saturation it is close.",
            'Single-record bodies rotate over distinct test records (the model inputs, no missing values); our API gets one JSON object, MLflow {"dataframe_records": [record]}. Our prediction log is ON (the realistic case).',
            f'Both servers run with OMP_NUM_THREADS={threads} (serve.threads); our API also applies it with threadpoolctl.']
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(res, indent=2) + '\n')
        for w, ts in res['targets'].items():
            for k, t in ts.items():
                say(f"  {w:<10} {k:<32} {t['measured']!s:>8}  target {t.get('target', '-'):<9} " + ('' if 'met' not in t else ('met' if t['met'] else 'NOT MET')))
        say(f"written to {out}")
    finally:
        if a.keep: say(f"kept {tmp}")
        else: shutil.rmtree(tmp, ignore_errors=True)


if __name__ == '__main__':
    main()
