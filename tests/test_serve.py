"The serving API for real: a uvicorn server process on a free loopback port, a small model package, plain HTTP requests."
import json, os, signal, subprocess, sys, time, urllib.error, urllib.request
import numpy as np, polars as pl
import pytest
from conftest import free_port

pytestmark = pytest.mark.e2e  # starts a server process (a few seconds)


@pytest.fixture(scope='module')
def project(tmp_path_factory):
    "A tiny project: a model package with its phase-1 schema, a baseline and its roles"
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from ml_lifecycle.features import build_features, save_skops, to_model_frame
    from ml_lifecycle.package import save_package
    from ml_lifecycle.schema import infer_schema
    d, rng = tmp_path_factory.mktemp('serve'), np.random.default_rng(1)
    df = pl.DataFrame(dict(age=rng.integers(18, 80, 300), hours=rng.normal(40, 5, 300), job=rng.choice(['a', 'b', 'c'], 300)))
    df = df.with_columns(hours=pl.when(pl.int_range(300) % 7 > 0).then('hours'))  # gaps: a nullable column
    y = (df['age'].to_numpy() + rng.normal(0, 10, 300) > 50).astype(int)
    roles = dict(numeric=['age', 'hours'], onehot=['job'], target=[], unused=[])
    pipe = Pipeline([('features', build_features(roles, 'binary', {})), ('model', LogisticRegression())]).fit(to_model_frame(df, roles), y)
    (d/'models').mkdir()
    schema = infer_schema(df.with_columns(y=pl.Series([str(v) for v in y])), target='y', task='binary', classes=['0', '1'])
    (d/'models/schema.json').write_text(json.dumps(schema))
    save_package(d/'models/model', pipe, dict(name='t', candidate='logistic', task='binary', classes=['0', '1'], positive_label='1',
                                              roles=roles, version='3'), d/'models/schema.json')
    broles = dict(numeric=['age'], onehot=[], target=[], unused=[])
    save_skops(Pipeline([('features', build_features(broles, 'binary', {})), ('model', LogisticRegression())]).fit(to_model_frame(df, broles), y),
               d/'models/baseline.skops')
    (d/'models/features.json').write_text(json.dumps(dict(roles=broles)))
    return d


@pytest.fixture(scope='module')
def server(project):
    "`serve(...)` in its own process, as `ml-lifecycle serve` will run it; stopped with SIGTERM"
    port = free_port()
    code = (f"from ml_lifecycle.serve import serve; serve({str(project)!r}, port={port}, "
            f"config=dict(max_rows=50, log_flush_rows=1, threshold=0.5), log_level='warning')")
    env = {k: v for k, v in os.environ.items() if k != 'IN_TEST'}
    url = f'http://127.0.0.1:{port}'
    with open(project/'server.log', 'w') as log:
        p = subprocess.Popen([sys.executable, '-c', code], cwd=project, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        try:
            deadline = time.monotonic() + 60
            while call(url, 'GET', '/ready')[0] != 200:
                if p.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"server did not come up:\n{(project/'server.log').read_text()[-3000:]}")
                time.sleep(0.2)
            yield url
        finally:
            os.killpg(p.pid, signal.SIGTERM)
            try: p.wait(20)
            except subprocess.TimeoutExpired: os.killpg(p.pid, signal.SIGKILL); p.wait()


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
    assert st == 200 and json.loads(b) == dict(ready=True, model_version='3')
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
