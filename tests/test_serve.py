"The serving API for real: a uvicorn server process on a free loopback port, a small model package, plain HTTP requests."
import contextlib, json, math, os, signal, subprocess, sys, time, urllib.error, urllib.request
import numpy as np, polars as pl
import pytest
from conftest import free_port

pytestmark = pytest.mark.e2e  # starts a server process (a few seconds)


def build_project(d, xgb=False):
    "A tiny project in `d`: a model package (logistic; XGBoost with `xgb`) with its phase-1 schema, a baseline and its roles"
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from ml_lifecycle.features import build_features, save_verified_skops, to_model_frame
    from ml_lifecycle.package import save_package
    from ml_lifecycle.schema import infer_schema
    rng = np.random.default_rng(1)
    df = pl.DataFrame(dict(age=rng.integers(18, 80, 300), hours=rng.normal(40, 5, 300), job=rng.choice(['a', 'b', 'c'], 300)))
    df = df.with_columns(hours=pl.when(pl.int_range(300) % 7 > 0).then('hours'))  # gaps: a nullable column
    y = (df['age'].to_numpy() + rng.normal(0, 10, 300) > 50).astype(int)
    roles = dict(numeric=['age', 'hours'], onehot=['job'], target=[], unused=[])
    pipe = Pipeline([('features', build_features(roles, 'binary', {})), ('model', LogisticRegression())]).fit(to_model_frame(df, roles), y)
    (d/'models').mkdir(parents=True)
    schema = infer_schema(df.with_columns(y=pl.Series([str(v) for v in y])), target='y', task='binary', classes=['0', '1'])
    (d/'models/schema.json').write_text(json.dumps(schema))
    save_package(d/'models/model', pipe, dict(name='t', candidate='logistic', task='binary', classes=['0', '1'], positive_label='1',
                                              roles=roles, version='3'), d/'models/schema.json')
    broles = dict(numeric=['age'], onehot=[], target=[], unused=[])
    save_verified_skops(Pipeline([('features', build_features(broles, 'binary', {})), ('model', LogisticRegression())]).fit(to_model_frame(df, broles), y),
               d/'models/baseline.skops')
    (d/'models/features.json').write_text(json.dumps(dict(roles=broles)))
    if xgb:
        from xgboost import XGBClassifier
        xp = Pipeline([('features', build_features(roles, 'binary', {})), ('model', XGBClassifier(n_estimators=30, max_depth=3, n_jobs=1))])
        save_package(d/'xgb', xp.fit(to_model_frame(df, roles), y), dict(name='t', candidate='xgboost', task='binary', classes=['0', '1'],
                                                                           positive_label='1', roles=roles), d/'models/schema.json')
    return d, df


@pytest.fixture(scope='module')
def project(tmp_path_factory):
    return build_project(tmp_path_factory.mktemp('serve'))[0]


def server_env():
    "The environment of a server process: no test flag, no tracking URI from outside (the project's own store)"
    return {k: v for k, v in os.environ.items() if k not in ('IN_TEST', 'MLFLOW_TRACKING_URI', 'PROMETHEUS_MULTIPROC_DIR')}


def serve_code(root, log_level='warning', **config):
    "Python source that runs `serve(root, config=config)` on the port `running` gives it"
    cfg = repr(config).replace('{', '{{').replace('}', '}}')
    return f"from ml_lifecycle.serve import serve; serve({str(root)!r}, port={{port}}, config={cfg}, log_level={log_level!r})"


@contextlib.contextmanager
def running(project, code, log_name='server.log'):
    "Run python `code` (which starts a server on the port it is given as {port}) in its own process; yield its URL"
    port = free_port()
    url = f'http://127.0.0.1:{port}'
    with open(project/log_name, 'w') as log:
        p = subprocess.Popen([sys.executable, '-c', code.format(port=port)], cwd=project, stdout=log, stderr=subprocess.STDOUT,
                             env=server_env(), start_new_session=True)
        try:
            deadline = time.monotonic() + 90
            while call(url, 'GET', '/ready')[0] != 200:
                if p.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"server did not come up:\n{(project/log_name).read_text()[-3000:]}")
                time.sleep(0.2)
            yield url
        finally:
            os.killpg(p.pid, signal.SIGTERM)
            try: p.wait(20)
            except subprocess.TimeoutExpired: os.killpg(p.pid, signal.SIGKILL); p.wait()


@pytest.fixture(scope='module')
def server(project):
    "`serve(...)` in its own process, as `ml-lifecycle serve` will run it; stopped with SIGTERM"
    code = (f"from ml_lifecycle.serve import serve; serve({str(project)!r}, port={{port}}, "
            f"config=dict(max_rows=50, log_flush_rows=1, threshold=0.5), log_level='warning')")
    with running(project, code) as url: yield url


def call(url, method, path, body=None, raw=None, headers=None):
    "(status, headers (lower-case names), body) of one HTTP request; (None, {}, error) when nothing answers"
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    req = urllib.request.Request(url + path, data=data, method=method, headers={'Content-Type': 'application/json', **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=10) as r: return r.status, {k.lower(): v for k, v in r.headers.items()}, r.read()
    except urllib.error.HTTPError as e: return e.code, {k.lower(): v for k, v in e.headers.items()}, e.read()
    except (urllib.error.URLError, ConnectionError) as e: return None, {}, str(e)


def test_health_ready_metadata(server):
    assert call(server, 'GET', '/health')[0] == 200
    st, _, b = call(server, 'GET', '/ready')
    assert st == 200 and json.loads(b) == dict(ready=True, model_version='3', fallback=dict(available=True, reason=None),
                                              prediction_log=dict(lost_lines=0))
    st, _, b = call(server, 'GET', '/metadata')
    m = json.loads(b)
    assert st == 200 and (m['name'], m['version'], m['candidate'], m['threshold']) == ('t', '3', 'logistic', 0.5)
    assert m['input_schema']['job'] == dict(type='categorical', required=True, categories=['a', 'b', 'c'])
    assert m['input_schema']['hours']['required'] is False


def test_predict_single_and_batch(server, project):
    st, h, b = call(server, 'POST', '/predict', dict(age=70, hours=40.0, job='a'), headers={'X-Request-ID': 'abc-1'})
    r = json.loads(b)
    assert st == 200 and h['x-request-id'] == 'abc-1'
    assert {k: r[k] for k in ('request_id', 'model_version', 'arm', 'fallback')} == dict(request_id='abc-1', model_version='3', arm='champion', fallback=False)
    (p,) = r['predictions']
    assert 0 <= p['score'] <= 1 and p['label'] == ('1' if p['score'] >= 0.5 else '0')
    from ml_lifecycle.package import load_package  # the served score is the package's own
    np.testing.assert_allclose(p['score'], load_package(project/'models/model').predict_scores(pl.DataFrame(dict(age=[70], hours=[40.0], job=['a'])))[0], rtol=1e-9)
    st, _, b = call(server, 'POST', '/predict', dict(records=[dict(age=30, job='b'), dict(age=200, hours=None, job='zz')]))
    ps = json.loads(b)['predictions']
    assert st == 200 and len(ps) == 2
    assert [p['flags'] for p in ps] == [dict(unseen=[], out_of_range=[]), dict(unseen=['job'], out_of_range=['age'])]


def test_bad_requests_are_4xx(server):
    st, _, b = call(server, 'POST', '/predict', dict(age='old', job='a'))
    assert st == 422 and json.loads(b)['detail'] == [dict(loc=['body', 'age'], msg="expected a number, got 'old'", type='type_error')]
    st, _, b = call(server, 'POST', '/predict', dict(records=[dict(age=30, job='a'), dict(job='a', pet='cat')]))
    assert st == 422 and [d['loc'] for d in json.loads(b)['detail']] == [['body', 'records', 1, 'pet'], ['body', 'records', 1, 'age']]
    st, _, b = call(server, 'POST', '/predict', raw=b'{"age": 30,')
    assert st == 400 and json.loads(b)['detail'][0]['type'] == 'json_invalid'
    st, _, b = call(server, 'POST', '/predict', dict(records=[dict(age=30, job='a')] * 51))
    assert st == 413 and json.loads(b)['detail'][0]['msg'] == '51 records; at most 50 per request'
    assert call(server, 'GET', '/health')[0] == 200  # still up


def test_log_and_metrics(server, project):
    call(server, 'POST', '/predict', dict(age=41, job='c'), headers={'X-Request-ID': 'logged-1'})
    time.sleep(0.2)
    lines = [json.loads(l) for f in (project/'logs/predictions').glob('*.jsonl') for l in f.read_text().splitlines()]
    row = next(l for l in lines if l['request_id'] == 'logged-1')
    assert row['inputs'] == dict(age=41, hours=None, job='c') and row['arm'] == 'champion' and row['model_version'] == '3'
    assert {'time', 'outputs', 'latency_ms', 'fallback', 'flags'} <= set(row)
    st, h, b = call(server, 'GET', '/metrics')
    txt = b.decode()
    assert st == 200 and h['content-type'].startswith('text/plain')
    assert 'ml_requests_total{endpoint="/predict",status="200"}' in txt and 'ml_requests_total{endpoint="/predict",status="422"}' in txt
    assert 'ml_request_latency_seconds_bucket{endpoint="/predict",le="0.01"}' in txt and 'ml_fallbacks_total 0.0' in txt


def explained_sum(p):
    "base + contributions + rest of one explained prediction"
    e = p['explanation']
    return e['base'] + sum(c['contribution'] for c in e['contributions']) + e['rest']


def test_explain_adds_up_to_the_log_odds(server):
    recs = [dict(age=70, hours=40.0, job='a'), dict(age=25, job='zz'), dict(age=50, hours=None, job='c')]
    st, _, b = call(server, 'POST', '/predict?explain=true&top=2', dict(records=recs))
    ps = json.loads(b)['predictions']
    assert st == 200 and [len(p['explanation']['contributions']) for p in ps] == [2, 2, 2]
    assert ps[0]['explanation']['space'] == 'log-odds' and {c['feature'] for p in ps for c in p['explanation']['contributions']} <= {'age', 'hours', 'job'}
    np.testing.assert_allclose([explained_sum(p) for p in ps], [math.log(p['score'] / (1 - p['score'])) for p in ps], rtol=0, atol=1e-9)
    st, _, b = call(server, 'POST', '/predict', recs[0])
    assert st == 200 and 'explanation' not in json.loads(b)['predictions'][0]  # no explain: the answer as before
    st, _, b = call(server, 'POST', '/predict?explain=true&top=none', recs[0])
    assert st == 422 and json.loads(b)['detail'][0]['loc'] == ['query', 'top']


@pytest.fixture(scope='module')
def registry(tmp_path_factory):
    "A tiny project whose SQLite MLflow store has the XGBoost package registered as version 1 of 'ml_lifecycle_model', alias champion"
    d, df = build_project(tmp_path_factory.mktemp('registry'), xgb=True)
    code = f"""
import mlflow, polars as pl
from ml_lifecycle.tracking import setup_tracking, log_package_model, register_model
setup_tracking({str(d)!r})
with mlflow.start_run() as run:
    uri = log_package_model({str(d/'xgb')!r}, pl.read_parquet({str(d/'sample.parquet')!r}))
    mlflow.log_dict(dict(threshold=dict(value=0.9)), 'validation/evaluate.json')  # what decide logs: the version's own threshold
print(register_model(uri, 'ml_lifecycle_model', alias='champion'), run.info.run_id)
"""
    df.write_parquet(d/'sample.parquet')
    r = subprocess.run([sys.executable, '-c', code], cwd=d, capture_output=True, text=True, env=server_env())
    assert r.returncode == 0, r.stderr[-3000:]
    version, run_id = r.stdout.split()[-2:]
    assert version == '1'
    return dict(root=d, run_id=run_id)


SERVE_CLI = ("from ml_lifecycle.serve import serve, serve_settings\n"
             "s, ws = serve_settings({root!r}, dict(serve=dict(log_flush_rows=1)), {model!r})\n"
             "print(*ws, sep='\\n')\n"
             "serve({root!r}, port={{port}}, config=s, log_level='warning')")


@pytest.mark.parametrize('model', ['champion', 'models:/ml_lifecycle_model@champion'])
def test_serve_from_the_registry(registry, model):
    root = registry['root']
    with running(root, SERVE_CLI.format(root=str(root), model=model)) as url:
        st, _, b = call(url, 'GET', '/metadata')
        m = json.loads(b)
        assert st == 200 and (m['version'], m['candidate']) == ('1', 'xgboost')  # the registry's version, not the folder's logistic '3'
        assert m['threshold'] == 0.9  # the version's own decision threshold, logged with it, not the project's reports/evaluate.json
        st, _, b = call(url, 'POST', '/predict?explain=true&top=3', dict(records=[dict(age=70, hours=40.0, job='a'), dict(age=20, job='b')]))
        r = json.loads(b)
        assert st == 200 and r['model_version'] == '1'
        np.testing.assert_allclose([explained_sum(p) for p in r['predictions']], [math.log(p['score'] / (1 - p['score'])) for p in r['predictions']], atol=1e-4)
    assert (root/'models/serving/ml_lifecycle_model-v1/MLmodel').exists()  # downloaded once, reused
    assert 'not the champion' not in (root/'server.log').read_text()


def test_serve_by_run_uri_and_folder(registry):
    from ml_lifecycle.serve import resolve_model
    root = registry['root']
    pkg, version, source, warn = resolve_model(root, {}, f"runs:/{registry['run_id']}/model")
    assert (pkg/'manifest.json').exists() and version.startswith('md5-') and warn is None and source.startswith('MLflow model runs:/')
    assert resolve_model(root, {}, 'models/model')[1:] == ('3', 'folder models/model', None)


@pytest.mark.parametrize('uri, expect', [
    ('models:/ml_lifecycle_model@nope', "model models:/ml_lifecycle_model@nope: no alias 'nope' on registered model 'ml_lifecycle_model'"),
    ('models:/ml_lifecycle_model/7', 'model models:/ml_lifecycle_model/7: '),
    ('runs:/0123456789abcdef/model', 'model runs:/0123456789abcdef/model: '),
    ('models/nowhere', 'models/nowhere: no model package here (manifest.json missing)')])
def test_bad_model_is_one_line(registry, uri, expect):
    from ml_lifecycle.core import PipelineError
    from ml_lifecycle.serve import serve_settings
    with pytest.raises(PipelineError) as e: serve_settings(registry['root'], {}, uri)
    assert expect in str(e.value) and '\n' not in str(e.value)


def test_unreachable_tracking_server_is_one_line(project):
    from ml_lifecycle.core import PipelineError
    from ml_lifecycle.serve import serve_settings
    params = dict(tracking=dict(uri=f'http://127.0.0.1:{free_port()}', server_timeout_s=1))
    for model in ('champion', 'models:/ml_lifecycle_model@champion'):
        with pytest.raises(PipelineError) as e: serve_settings(project, params, model)
        assert f"{model}: MLflow tracking server http://127.0.0.1:" in str(e.value) and '\n' not in str(e.value)


def test_two_workers_answer(project, tmp_path):
    "serve.workers: 2: every request answered, metrics added up over the workers, one log file per worker process"
    logs = tmp_path/'preds'
    code = (f"from ml_lifecycle.serve import serve; serve({str(project)!r}, port={{port}}, "
            f"config=dict(model='models/model', workers=2, log_dir={str(logs)!r}, log_flush_rows=1), log_level='warning')")
    with running(project, code, 'workers.log') as url:
        answers = [call(url, 'POST', '/predict', dict(age=30 + i, job='a'), headers={'X-Request-ID': f'w{i}'}) for i in range(40)]
        assert [a[0] for a in answers] == [200] * 40
        want, deadline = 'ml_requests_total{endpoint="/predict",status="200"} 40.0', time.monotonic() + 5
        while want not in (txt := call(url, 'GET', '/metrics')[2].decode()) and time.monotonic() < deadline: time.sleep(0.1)
    assert want in txt  # both workers' counts, added up (a request is counted just after its answer has gone)
    files = sorted(logs.glob('*.jsonl'))
    assert files and all(len(f.name.split('.')) == 3 for f in files)  # <day>.<pid>.jsonl
    rows = [json.loads(l) for f in files for l in f.read_text().splitlines()]
    assert sorted(r['request_id'] for r in rows) == sorted(f'w{i}' for i in range(40))
