"""The docs site (`make docs`, tools/docs.py) in a real browser: Debian's headless Chromium driven by Playwright.

Builds the site from a sample project after `dvc repro` (the `repro` fixture the end-to-end tests share), serves it on loopback and loads every page: no broken internal link or anchor, no
missing image or script, no request leaving the machine, the model card shows the test ROC-AUC from evaluate.json,
plots are rendered, and the search works. Screenshots go to the test's tmp dir."""
import functools, http.server, importlib.util, json, shutil, threading, urllib.parse
from pathlib import Path
import pytest
from conftest import ROOT, sh

CHROMIUM = next((p for p in map(shutil.which, ('chromium', 'chromium-browser')) if p), None)
pytestmark = [pytest.mark.skipif(CHROMIUM is None, reason='Chromium is not installed (CI: apt-get install -y chromium); '
                                 'the docs site is not browser-tested'),
              pytest.mark.filterwarnings('ignore::DeprecationWarning'), pytest.mark.filterwarnings('ignore::PendingDeprecationWarning')]


def _docs():
    spec = importlib.util.spec_from_file_location('docs_tool', ROOT/'tools/docs.py')
    m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)
    return m


@pytest.fixture(scope='module')
def site(repro, tmp_path_factory):
    "(docs folder, project root the site was built from): the site of a sample project after `dvc repro`"
    tmp = tmp_path_factory.mktemp('docs')
    proj = tmp/'proj'; proj.mkdir()   # a copy, so that the run's project keeps no _proc/_docs
    for p in ('pyproject.toml', 'nbs', 'reports'):
        (shutil.copytree if (repro[0]/p).is_dir() else shutil.copy2)(repro[0]/p, proj/p)
    return _docs().build(proj, tmp/'_docs'), proj


@pytest.fixture(scope='module')
def base_url(site):
    handler = functools.partial(_Quiet, directory=str(site[0]))
    srv = http.server.ThreadingHTTPServer(('127.0.0.1', 0), handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f'http://127.0.0.1:{srv.server_address[1]}/'
    srv.shutdown(); srv.server_close()


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *a): pass


@pytest.fixture(scope='module')
def browser():
    sync_playwright = pytest.importorskip('playwright.sync_api').sync_playwright
    with sync_playwright() as p:   # Debian's Chromium, no browser download
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=['--no-sandbox'])
        yield b
        b.close()


_JS = """() => ({
  ids: [...document.querySelectorAll('[id]')].map(e => e.id).concat([...document.querySelectorAll('a[name]')].map(e => e.name)),
  links: [...document.querySelectorAll('a[href]')].map(a => a.href),
  imgs: [...document.querySelectorAll('img')].map(i => ({src: i.currentSrc || i.src, ok: i.complete && i.naturalWidth > 0, w: i.naturalWidth})),
  text: document.body.innerText,
})"""


def _crawl(browser, base_url, docs: Path):
    "Load every HTML page; return {path: page info}, plus the failed/outside requests seen"
    page = browser.new_page()
    outside, failed = [], []
    def route(r):   # offline: anything not on our loopback server is a finding, and never fetched
        if r.request.url.startswith(base_url) or r.request.url.startswith('data:'): r.continue_()
        else: outside.append(r.request.url); r.abort()
    page.route('**/*', route)
    page.on('response', lambda r: r.status >= 400 and failed.append(f'{r.status} {r.url}'))
    page.on('requestfailed', lambda r: r.url.startswith(base_url) and failed.append(f'failed {r.url}'))
    pages = {}
    for f in sorted(docs.rglob('*.html')):
        rel = f.relative_to(docs).as_posix()
        page.goto(base_url + rel, wait_until='load')
        pages[rel] = page.evaluate(_JS)
    page.close()
    return pages, outside, failed


@pytest.mark.e2e
def test_site_in_chromium(site, base_url, browser, tmp_path):
    docs, proj = site
    pages, outside, failed = _crawl(browser, base_url, docs)
    # every library notebook, every executed phase notebook, and the reports have a page
    for nb in (proj/'nbs').glob('[0-9]*.ipynb'): assert f'api/{nb.stem}.html' in pages, nb.name
    runs = list((proj/'reports').glob('*.ipynb'))
    assert runs, 'no executed notebooks in reports/'
    for nb in runs: assert f'runs/{nb.stem}.html' in pages, nb.name
    for p in ('index.html', 'search.html', 'reports/model_card.html', 'reports/go_no_go.html', 'reports/runbook.html',
              'reports/standalone/monitor.html'):
        assert p in pages, p
    assert not outside, f'pages request outside the machine (the site must work offline): {sorted(set(outside))[:5]}'
    assert not failed, f'missing files (scripts, styles, images): {sorted(set(failed))[:5]}'
    # no broken internal link or anchor
    broken = []
    for src, info in pages.items():
        for href in info['links']:
            if not href.startswith(base_url): continue
            u = urllib.parse.urlsplit(href)
            path = urllib.parse.unquote(u.path[1:]) or 'index.html'
            if path.endswith('/'): path += 'index.html'
            if path in pages:
                if u.fragment and u.fragment not in pages[path]['ids']: broken.append(f'{src} -> {href} (no anchor)')
            elif not (docs/path).is_file(): broken.append(f'{src} -> {href}')
    assert not broken, f'{len(broken)} broken internal links, e.g. {broken[:5]}'
    bad_imgs = [(p, i['src'][:80]) for p, info in pages.items() for i in info['imgs'] if not i['ok']]
    assert not bad_imgs, f'images not rendered: {bad_imgs[:5]}'
    # the home page links the model documentation
    home = pages['index.html']['links']
    for target in ('reports/model_card.html', 'reports/go_no_go.html', 'reports/runbook.html', 'reports/standalone/monitor.html'):
        assert any(h.split('#')[0].endswith(target) for h in home), f'home page does not link {target}'
    # the model card shows the real numbers of the last run, with its plots
    ev = json.loads((proj/'reports/evaluate.json').read_text())
    auc = ev['test']['model'][ev['primary_metric']]['value']
    card = pages['reports/model_card.html']
    assert f'{auc:.4f}' in card['text'], f'model card page lacks the test {ev["primary_metric"]} {auc:.4f}'
    assert any('roc' in i['src'] and i['w'] > 0 for i in card['imgs']), 'no rendered ROC plot on the model card page'
    # an executed notebook keeps its plots (stored outputs, not re-executed)
    assert any(i['w'] > 0 for p, info in pages.items() if p.startswith('runs/') for i in info['imgs']), 'no plot in the executed notebooks'
    # the library pages carry show_doc signatures
    assert 'PipelineError' in pages['api/00_core.html']['text']
    # screenshots, and Sphinx's offline search
    page = browser.new_page(viewport={'width': 1280, 'height': 900})
    page.goto(base_url + 'reports/model_card.html'); page.screenshot(path=str(tmp_path/'model_card.png'), full_page=True)
    page.goto(base_url + 'index.html'); page.screenshot(path=str(tmp_path/'index.png'))
    page.goto(base_url + 'search.html?q=PipelineError')
    page.wait_for_selector('#search-results li, ul.search li', timeout=15000)
    page.screenshot(path=str(tmp_path/'search.png'))
    assert page.locator('ul.search li').count() > 0
    page.close()
    assert (tmp_path/'model_card.png').stat().st_size > 10_000


# ---------------------------------------------------------------------------------------------------------------------
# JupyterLab: the project's kernel, registered as `make lab` does, runs a notebook through a Jupyter server's REST and
# kernel websocket API (what the Lab front end does when you press "run all").
import os, re, socket, subprocess, sys, time, urllib.request, uuid


def _free_port():
    with socket.socket() as s: s.bind(('127.0.0.1', 0)); return s.getsockname()[1]


def _api(url, token, method='GET', body=None):
    req = urllib.request.Request(url, method=method, data=None if body is None else json.dumps(body).encode(),
                                 headers={'Authorization': f'token {token}', 'Content-Type': 'application/json'})
    with urllib.request.urlopen(req, timeout=30) as r: return json.loads(r.read() or b'null')


_SKIP = re.compile(r'^\s*#\|\s*(stage|notest|slow|eval:\s*false)\b', re.MULTILINE)   # as nbdev-test (tst_flags)


@pytest.mark.filterwarnings('ignore')
def test_notebook_runs_in_jupyter_server(tmp_path):
    websocket = pytest.importorskip('websocket')
    proj = tmp_path/'proj'; proj.mkdir()
    for p in ('pyproject.toml', 'params.yaml', 'nbs'):
        (shutil.copytree if (ROOT/p).is_dir() else shutil.copy2)(ROOT/p, proj/p)
    # register the kernel as `make lab` does (there into the venv, --sys-prefix; here into a temp prefix)
    prefix = tmp_path/'env'
    sh(f'python -m ipykernel install --prefix {prefix} --name ml-lifecycle --display-name ml_lifecycle', proj)
    spec = json.loads((prefix/'share/jupyter/kernels/ml-lifecycle/kernel.json').read_text())
    assert Path(spec['argv'][0]).resolve() == Path(sys.executable).resolve(), spec['argv']
    port, token = _free_port(), uuid.uuid4().hex
    env = {**os.environ, 'JUPYTER_PATH': str(prefix/'share/jupyter'), 'JUPYTER_CONFIG_DIR': str(tmp_path/'cfg'),
           'JUPYTER_RUNTIME_DIR': str(tmp_path/'rt'), 'JUPYTER_DATA_DIR': str(tmp_path/'data')}
    env.pop('IN_TEST', None)
    log = open(tmp_path/'server.log', 'w')
    srv = subprocess.Popen([sys.executable, '-m', 'jupyter_server', '--no-browser', '--ip=127.0.0.1', f'--port={port}',
                            f'--IdentityProvider.token={token}', f'--ServerApp.root_dir={proj}']
                           + (['--allow-root'] if os.geteuid() == 0 else []),
                           env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f'http://127.0.0.1:{port}'
    try:
        for _ in range(120):
            try: _api(f'{base}/api/status', token); break
            except OSError:
                if srv.poll() is not None: break
                time.sleep(0.5)
        else: pytest.fail('jupyter server did not start: ' + (tmp_path/'server.log').read_text()[-2000:])
        assert 'ml-lifecycle' in _api(f'{base}/api/kernelspecs', token)['kernelspecs']
        nb_path = 'nbs/00_core.ipynb'
        sess = _api(f'{base}/api/sessions', token, 'POST', dict(path=nb_path, type='notebook', name='00_core.ipynb',
                                                                    kernel=dict(name='ml-lifecycle')))
        assert sess['kernel']['name'] == 'ml-lifecycle'
        ws = websocket.create_connection(f'ws://127.0.0.1:{port}/api/kernels/{sess["kernel"]["id"]}/channels?token={token}',
                                         timeout=300)
        session = uuid.uuid4().hex

        def run(code):
            msg_id = uuid.uuid4().hex
            ws.send(json.dumps(dict(header=dict(msg_id=msg_id, username='test', session=session, msg_type='execute_request',
                                                version='5.3'), parent_header={}, metadata={}, channel='shell', buffers=[],
                                    content=dict(code=code, silent=False, store_history=True, user_expressions={},
                                                 allow_stdin=False, stop_on_error=True))))
            out, reply, idle = [], None, False
            while reply is None or not idle:   # the reply (shell) and the outputs (iopub) come on separate channels, in any order
                m = json.loads(ws.recv())
                if m.get('parent_header', {}).get('msg_id') != msg_id: continue
                if m['msg_type'] == 'stream': out.append(m['content']['text'])
                if m['msg_type'] == 'execute_reply': reply = m['content']
                if m['msg_type'] == 'status' and m['content'].get('execution_state') == 'idle': idle = True
            return reply, ''.join(out)

        reply, out = run('import sys, os; print(sys.executable); print(os.getcwd())')
        assert reply['status'] == 'ok'
        exe, cwd = out.split()
        assert Path(exe).resolve() == Path(sys.executable).resolve() and Path(cwd) == proj/'nbs', out
        cells = [''.join(c['source']) for c in json.loads((proj/nb_path).read_text())['cells'] if c['cell_type'] == 'code']
        ran = 0
        for i, src in enumerate(cells):
            if not src.strip() or _SKIP.search(src): continue
            reply, out = run(src)
            assert reply['status'] == 'ok', f"cell {i} failed in the server's kernel: {reply.get('ename')}: {reply.get('evalue')}\n{src[:500]}"
            ran += 1
        assert ran > 5
        ws.close()
        _api(f'{base}/api/sessions/{sess["id"]}', token, 'DELETE')
    finally:
        srv.terminate()
        try: srv.wait(20)
        except subprocess.TimeoutExpired: srv.kill()
        log.close()
