"""Issue 12, as an attacker and an on-call engineer would test the API: real uvicorn servers on loopback, real files.

Model files that are corrupt, tampered with or built to run code are refused in one line before anything
listens; no request makes a 500 or starves the others; the OpenAPI contract matches the validator
(schemathesis); the serving extra installs and serves alone."""
import http.client, json, os, shutil, subprocess, sys, threading, time
from pathlib import Path
import numpy as np
import pytest
from conftest import ROOT, free_port
from test_serve import build_project, running, call, server_env, serve_code

pytestmark = pytest.mark.e2e
CLI = str(Path(sys.executable).parent/'ml-lifecycle')


@pytest.fixture(scope='module')
def proj(tmp_path_factory):
    "A tiny project (logistic package, XGBoost package in xgb/, a baseline with its checksum) with the project's params.yaml"
    d, _ = build_project(tmp_path_factory.mktemp('hard'), xgb=True)
    shutil.copy(ROOT/'params.yaml', d/'params.yaml')
    return d


def cli_serve(root, *args, timeout=120):
    "`ml-lifecycle serve ...` that must fail: (exit code, stderr)"
    r = subprocess.run([CLI, 'serve', '--port', str(free_port()), *args], cwd=root, capture_output=True, text=True, env=server_env(), timeout=timeout)
    return r.returncode, r.stderr


def broken_copy(proj, tmp_path, how):
    "A copy of the XGBoost package with one thing wrong"
    pkg = tmp_path/'pkg'; shutil.copytree(proj/'xgb', pkg)
    how(pkg)
    return pkg


def flip_bit(f, pos=0.5):
    b = bytearray(f.read_bytes()); i = int(len(b) * pos); b[i] ^= 0x10; f.write_bytes(bytes(b))


@pytest.mark.parametrize('name, how, expect', [
    ('bit flip in model.ubj', lambda p: flip_bit(p/'model.ubj'), 'model.ubj: SHA-256 mismatch'),
    ('truncated features.skops', lambda p: (p/'features.skops').write_bytes((p/'features.skops').read_bytes()[:200]), 'features.skops: SHA-256 mismatch'),
    ('model.ubj missing', lambda p: (p/'model.ubj').unlink(), 'model.ubj: missing'),
    ('manifest not UTF-8', lambda p: (p/'manifest.json').write_bytes(b'\xff\xfe\x00garbage'), 'manifest.json: '),
    ('manifest missing', lambda p: (p/'manifest.json').unlink(), 'no model package here (manifest.json missing)')])
def test_corrupt_package_is_refused_in_one_line(proj, tmp_path, name, how, expect):
    "Before the fix: 'serving on ...', then a 30-50 line traceback (or a SIGSEGV) 11-20 s later"
    pkg = broken_copy(proj, tmp_path, how)
    rc, err = cli_serve(proj, '--model', str(pkg))
    lines = [l for l in err.splitlines() if not l.startswith('warning:')]
    assert rc != 0 and len(lines) == 1 and lines[0].startswith('error: ') and expect in lines[0], err[-2000:]
    assert 'serving on' not in err and 'Traceback' not in err


def evil_skops(path, code):
    "A skops file whose tree calls builtins.exec(code) when loaded: the 689-byte attack of the issue"
    import io, zipfile
    import skops.io as sio
    arg = json.loads(zipfile.ZipFile(io.BytesIO(sio.dumps((code,)))).read('schema.json'))
    tree = dict(__class__='exec', __module__='builtins', __loader__='ConstructorFromReduceNode', __id__=0, protocol=arg['protocol'],
                _skops_version=arg['_skops_version'], content={k: v for k, v in arg.items() if k not in ('protocol', '_skops_version')})
    with zipfile.ZipFile(path, 'w') as z: z.writestr('schema.json', json.dumps(tree))
    return path


@pytest.mark.parametrize('target', ['models/model/features.skops', 'models/baseline.skops'])
def test_model_file_cannot_run_code(proj, tmp_path, target):
    "Before the fix `ml-lifecycle serve` ran the file's code (a prefix rule trusted builtins.*); hashes updated too, as an attacker would"
    from ml_lifecycle.features import file_sha256, write_sha256
    d = tmp_path/'p'; shutil.copytree(proj, d, ignore=shutil.ignore_patterns('logs', '*.log'))
    witness = tmp_path/'pwned'
    evil_skops(d/target, f"open({str(witness)!r}, 'w').close()")
    if target.startswith('models/model/'):  # whoever can write the package can rewrite its manifest
        m = json.loads((d/'models/model/manifest.json').read_text()); m['files']['features.skops'] = file_sha256(d/target)
        (d/'models/model/manifest.json').write_text(json.dumps(m))
        rc, err = cli_serve(d, '--model', 'models/model')
        assert rc != 0 and 'features.skops: refusing to load untrusted type(s) builtins.exec' in err and 'Traceback' not in err, err[-2000:]
    else:
        write_sha256(d/target)
        with running(d, serve_code(d, model='models/model', log_dir=None)) as url:
            assert 'refusing to load untrusted type(s) builtins.exec' in json.loads(call(url, 'GET', '/ready')[2])['fallback']['reason']
    assert not witness.exists()


def test_corrupt_baseline_serves_without_fallback(proj, tmp_path):
    "A corrupt baseline does not block start-up: one warning line, no fallback, said in /ready and /metadata"
    d = tmp_path/'p'; shutil.copytree(proj, d, ignore=shutil.ignore_patterns('logs', 'server.log'))
    flip_bit(d/'models/baseline.skops', 0.3)
    with running(d, serve_code(d, model='models/model', log_dir=None)) as url:
        st, _, b = call(url, 'GET', '/ready')
        r = json.loads(b)
        assert st == 200 and r['fallback']['available'] is False and 'baseline.skops: SHA-256 mismatch' in r['fallback']['reason']
        assert json.loads(call(url, 'GET', '/metadata')[2])['fallback'] == r['fallback']
        assert call(url, 'POST', '/predict', dict(age=40, job='a'))[0] == 200
    warn = [l for l in (d/'server.log').read_text().splitlines() if 'without a fallback' in l]
    assert len(warn) == 1 and 'baseline.skops: SHA-256 mismatch' in warn[0]


@pytest.fixture(scope='module')
def server(proj):
    code = serve_code(proj, model='models/model', max_body_mb=1.0, max_string=100, log_flush_rows=1, log_dir='logs/hard')
    with running(proj, code, 'hard.log') as url: yield url


def test_query_parameters_never_500(server):
    "Before the fix: top=%C2%B2 (a superscript two passes str.isdigit) and a 5,000-digit top answered 500"
    for q in ('top=%C2%B2', 'top=' + '9' * 5000, 'top=0', 'top=-1', 'top=1.5', 'explain=perhaps'):
        st, _, b = call(server, 'POST', f'/predict?explain=true&{q}', dict(age=40, job='a'))
        d = json.loads(b)['detail']
        assert st == 422 and d[0]['loc'][:1] == ['query'] and len(b) < 1000, (q, st, b[:300])
    assert call(server, 'POST', '/predict?explain=true&top=2', dict(age=40, job='a'))[0] == 200


def rss_mb(pid):
    return int(next(l for l in Path(f'/proc/{pid}/status').read_text().splitlines() if l.startswith('VmRSS')).split()[1]) / 1024


def server_pid(port):
    "The pid of the process listening on `port` (the server, not the test)"
    out = subprocess.run(['ss', '-ltnpH', f'sport = :{port}'], capture_output=True, text=True).stdout
    return int(out.split('pid=')[1].split(',')[0])


def test_body_limit_is_enforced_while_reading(server):
    "Before the fix: a 256 MiB chunked body got its 413 only after all of it sat in memory (+400 MB)"
    port = int(server.rsplit(':', 1)[1])
    pid = server_pid(port)
    before = rss_mb(pid)
    c = http.client.HTTPConnection('127.0.0.1', port, timeout=30)
    c.putrequest('POST', '/predict'); c.putheader('Content-Type', 'application/json'); c.putheader('Transfer-Encoding', 'chunked'); c.endheaders()
    chunk = b'{"records": [' + b' ' * (1 << 20)
    sent = 0
    try:
        for _ in range(256):  # 256 MiB offered
            c.send(b'%x\r\n%s\r\n' % (len(chunk), chunk)); sent += 1
    except (BrokenPipeError, ConnectionResetError): pass
    r = c.getresponse()
    assert r.status == 413 and b'at most 1,048,576' in r.read()
    assert rss_mb(pid) - before < 50, (sent, before, rss_mb(pid))  # before the fix: +400 MB, and 180 MB never returned
    # a Content-Length over the cap is refused on the header alone, before a byte of the body is sent (a client that
    # sent the body anyway could see the connection closed under it: the answer is read before sending)
    c = http.client.HTTPConnection('127.0.0.1', port, timeout=30)
    c.putrequest('POST', '/predict'); c.putheader('Content-Type', 'application/json'); c.putheader('Content-Length', str(2 << 20)); c.endheaders()
    assert c.getresponse().status == 413


def test_long_strings_and_names_are_capped(server, proj):
    "Before the fix: a 5 MB category was accepted and logged as one 5 MB line; a 1 MB field name got a 2 MB reply"
    st, _, b = call(server, 'POST', '/predict', dict(age=40, job='x' * 900_000), headers={'X-Request-ID': 'long-1'})  # (under this server's 1 MB body cap)
    assert st == 422 and json.loads(b)['detail'][0]['msg'] == 'string of 900,000 characters; at most 100' and len(b) < 500
    st, _, b = call(server, 'POST', '/predict', {'age': 40, 'job': 'a', 'k' * 900_000: 1})
    assert st == 422 and len(b) < 1000
    st, _, b = call(server, 'POST', '/predict', dict(age=40, job='y' * 100), headers={'X-Request-ID': 'long-2'})
    assert st == 200
    lines = [l for f in (proj/'logs/hard').glob('*.jsonl') for l in f.read_text().splitlines()]
    assert any('long-2' in l for l in lines) and not any('long-1' in l for l in lines) and max(map(len, lines)) < 2000


def test_405_names_the_allowed_methods(server):
    st, h, b = call(server, 'GET', '/predict')
    assert st == 405 and h['allow'] == 'POST' and json.loads(b)['detail'] == 'Method Not Allowed'


def test_lost_log_lines_are_counted(proj, tmp_path):
    "The log folder replaced by a file: the server keeps answering, and /metrics and /ready say how many lines were lost"
    logs = tmp_path/'logs'
    with running(proj, serve_code(proj, 'critical', model='models/model', log_flush_rows=1, log_dir=str(logs)), 'lost.log') as url:
        assert call(url, 'POST', '/predict', dict(age=40, job='a'))[0] == 200
        shutil.rmtree(logs); logs.write_text('in the way')
        assert [call(url, 'POST', '/predict', dict(records=[dict(age=40, job='a')] * 2))[0] for _ in range(3)] == [200] * 3
        assert 'ml_prediction_log_lost_lines_total 6.0' in call(url, 'GET', '/metrics')[2].decode()
        assert json.loads(call(url, 'GET', '/ready')[2])['prediction_log'] == dict(lost_lines=6)


@pytest.fixture(scope='module')
def slow_project(tmp_path_factory):
    "A project whose model is a big XGBoost ensemble: explaining 1,000 rows takes seconds"
    from sklearn.pipeline import Pipeline
    from xgboost import XGBClassifier
    from ml_lifecycle.features import build_features, to_model_frame
    from ml_lifecycle.package import save_package
    d, df = build_project(tmp_path_factory.mktemp('slow'))
    roles = dict(numeric=['age', 'hours'], onehot=['job'], target=[], unused=[])
    y = np.random.default_rng(0).integers(0, 2, df.height)  # noise: every tree grows to full depth
    p = Pipeline([('features', build_features(roles, 'binary', {})), ('model', XGBClassifier(n_estimators=600, max_depth=8, min_child_weight=0, n_jobs=2))])
    save_package(d/'slow', p.fit(to_model_frame(df, roles), y), dict(name='t', candidate='xgboost', task='binary', classes=['0', '1'], positive_label='1',
                                                                    roles=roles), d/'models/schema.json')
    return d


def test_big_explained_batch_does_not_block_health(slow_project):
    "Before the fix the model ran on the event loop: /health waited 3.9 s behind one explained 1,000-row batch"
    code = serve_code(slow_project, model='slow', log_dir=None, threads=1)
    recs = [dict(age=18 + i % 60, hours=float(i % 50), job='abc'[i % 3]) for i in range(1000)]
    with running(slow_project, code) as url:
        out = {}
        def big():
            t0 = time.monotonic(); out['status'] = call(url, 'POST', '/predict?explain=true&top=3', dict(records=recs))[0]; out['s'] = time.monotonic() - t0
        t = threading.Thread(target=big); t.start()
        time.sleep(0.2)
        waits = []
        while t.is_alive():
            t0 = time.monotonic(); assert call(url, 'GET', '/health')[0] == 200; waits.append(time.monotonic() - t0)
            time.sleep(0.05)
        t.join()
    # the batch really was slow (CI machines differ: judged against the batch's own time, not a fixed second)...
    assert out['status'] == 200 and out['s'] > 0.5, out
    # ...and health answered all along, each call in a small part of the batch's time
    assert len(waits) >= 5 and max(waits) < min(0.5, out['s'] / 3), (out, waits)


def schemathesis(url, *args):
    st = str(Path(sys.executable).parent/'st')
    cmd = [st, '--config-file', str(Path(__file__).with_name('schemathesis.toml')), 'run', f'{url}/openapi.json', '--checks', 'all', '--max-examples', '50', '--seed', '1', '--no-color', *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=Path(__file__).parent)


@pytest.mark.parametrize('key', [None, 'clé-s3cret'])
def test_openapi_contract_holds(proj, key):
    "schemathesis: every generated request (50 per operation, every check) meets the schema and the schema meets the server"
    code = serve_code(proj, 'critical', model='xgb', log_dir=None, **({'api_key': key} if key else {}))
    with running(proj, code, 'st.log') as url:
        if key:
            assert call(url, 'GET', '/openapi.json')[0] == 401 and call(url, 'GET', '/docs')[0] == 404
            c = http.client.HTTPConnection('127.0.0.1', int(url.rsplit(':', 1)[1]), timeout=10)
            c.putrequest('GET', '/metadata'); c.putheader('X-API-Key', key.encode('utf-8')); c.endheaders()
            assert c.getresponse().status == 200  # the key as curl sends it: UTF-8 bytes (before the fix: never matched)
            r = schemathesis(url, '-H', f'X-API-Key: {key}')
        else:
            st, h, b = call(url, 'GET', '/docs')
            assert st == 200 and b'/docs/assets/swagger-ui-bundle.js' in b and b'cdn' not in b.lower()
            assert call(url, 'GET', '/docs/assets/swagger-ui-bundle.js')[0] == 200
            r = schemathesis(url)
    assert r.returncode == 0, r.stdout[-6000:] + r.stderr[-2000:]
    assert 'No issues found' in r.stdout or 'passed' in r.stdout.lower()


def test_serve_extra_alone(proj, tmp_path):
    "`pip install .[serve]` in a fresh virtualenv (no JupyterLab, DVC, nbdev, Optuna, fairlearn) serves a package"
    venv = tmp_path/'venv'
    subprocess.run([sys.executable, '-m', 'venv', str(venv)], check=True)
    py = venv/'bin/python'
    src = tmp_path/'src'
    src.mkdir()
    for p in ('pyproject.toml', 'README.md', 'constraints.txt', 'ml_lifecycle'):
        if (ROOT/p).is_dir(): shutil.copytree(ROOT/p, src/p, ignore=shutil.ignore_patterns('__pycache__'))
        else: shutil.copy(ROOT/p, src/p)
    r = subprocess.run([str(py), '-m', 'pip', 'install', '-q', '-c', str(src/'constraints.txt'), f'{src}[serve]'], capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr[-3000:]
    names = {l.split('==')[0].lower().replace('_', '-') for l in subprocess.run([str(py), '-m', 'pip', 'freeze'], capture_output=True, text=True).stdout.split()}
    assert {'fastapi', 'uvicorn', 'xgboost', 'skops', 'mlflow-skinny'} <= names
    assert not {'jupyterlab', 'dvc', 'nbdev', 'optuna', 'fairlearn', 'papermill', 'mlflow', 'shap'} & names, sorted(names)
    port = free_port()
    env = {k: v for k, v in server_env().items() if k != 'VIRTUAL_ENV'} | dict(PATH=f"{venv/'bin'}{os.pathsep}{os.environ['PATH']}")
    with open(tmp_path/'lean.log', 'w') as log:
        p = subprocess.Popen([str(venv/'bin/ml-lifecycle'), 'serve', '--model', 'xgb', '--port', str(port)], cwd=proj, stdout=log, stderr=subprocess.STDOUT,
                             env=env, start_new_session=True)
        try:
            url, deadline = f'http://127.0.0.1:{port}', time.monotonic() + 90
            while call(url, 'GET', '/ready')[0] != 200:
                assert p.poll() is None and time.monotonic() < deadline, (tmp_path/'lean.log').read_text()[-3000:]
                time.sleep(0.3)
            st, _, b = call(url, 'POST', '/predict?explain=true', dict(age=40, hours=30.0, job='a'))
            assert st == 200 and 0 <= json.loads(b)['predictions'][0]['score'] <= 1
        finally:
            os.killpg(p.pid, 15); p.wait(20)
