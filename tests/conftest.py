"Shared fixtures: temp copies of the project, and running its commands as a user would."
import gzip, os, shutil, signal, socket, subprocess, sys, time
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
# what a fresh clone holds that the pipeline needs
PROJECT_FILES = ['nbs', 'ml_lifecycle', 'params.yaml', 'dvc.yaml', 'pyproject.toml', '.dvc/config', '.dvc/.gitignore', '.gitignore']


def sh(cmd, cwd, check=True, env=None):
    "Run a shell command with the project's venv first on PATH; return the CompletedProcess"
    e = {**os.environ, 'PATH': f"{BIN}{os.pathsep}{os.environ['PATH']}", **(env or {})}
    e.pop('IN_TEST', None)
    r = subprocess.run(cmd, cwd=cwd, shell=True, capture_output=True, text=True, env=e)
    if check and r.returncode:
        raise AssertionError(f"{cmd!r} failed ({r.returncode}):\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}")
    return r


def adult_sample(dst: Path, rows: int):
    "Write the first `rows` data rows of the bundled Adult file (quirks and all) to `dst`, plus a slice of its test part"
    with gzip.open(ROOT/'data/raw/adult.csv.gz', 'rt') as f: lines = f.readlines()
    head, body = lines[0], lines[1:]
    keep = body[:rows // 2] + body[-(rows - rows // 2):]  # both the train part and the test part (trailing '.' labels)
    dst.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(dst, 'wt') as f: f.write(head + ''.join(keep))


# phase-2 budgets small enough for tests: every step still runs, on fewer folds and trials
FAST = dict(train=dict(cv_folds=3), tune=dict(n_trials=4, cv_folds=2), explain=dict(sample_rows=300, n_repeats=2))


def make_project(dst: Path, sample_rows: int | None = 6000, git: bool = True, fast: bool = True) -> Path:
    "A copy of the project in `dst`, with (a sample of) the bundled data, as a git repo"
    for p in PROJECT_FILES:
        src = ROOT/p
        if not src.exists(): continue
        (dst/p).parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir(): shutil.copytree(src, dst/p, ignore=shutil.ignore_patterns('__pycache__'))
        else: shutil.copy2(src, dst/p)
    if sample_rows: adult_sample(dst/'data/raw/adult.csv.gz', sample_rows)
    else: shutil.copytree(ROOT/'data/raw', dst/'data/raw')
    if fast: set_params(dst, **FAST)
    if git:
        sh('git init -q && git add -A && git -c user.name=t -c user.email=t@t commit -qm init', dst)
    return dst


def set_params(root: Path, **sections):
    "Update params.yaml sections in place (nested dicts are merged one level deep)"
    import yaml
    p = yaml.safe_load((root/'params.yaml').read_text())
    for k, v in sections.items():
        p[k] = {**p[k], **v} if isinstance(v, dict) and isinstance(p.get(k), dict) else v
    (root/'params.yaml').write_text(yaml.safe_dump(p, sort_keys=False))


@pytest.fixture(scope='session')
def repro(tmp_path_factory):
    "A project copy after one full `dvc repro` on a 6,000-row sample (shared by the end-to-end and docs tests)"
    root = make_project(tmp_path_factory.mktemp('e2e')/'proj', sample_rows=6000)
    r = sh('dvc repro', root)
    return root, r


@pytest.fixture
def project(tmp_path):
    return make_project(tmp_path/'proj')


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0)); return s.getsockname()[1]


@pytest.fixture(scope='module')
def server(tmp_path_factory):
    "A real `mlflow server` on a free loopback port, with its own SQLite store and proxied artifact folder"
    d, port = tmp_path_factory.mktemp('mlflow_server'), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith('MLFLOW_')}
    env['MLFLOW_SERVER_ENABLE_JOB_EXECUTION'] = 'false'  # no background job workers: half the start-up time
    cmd = [str(BIN/'mlflow'), 'server', '--backend-store-uri', f'sqlite:///{d}/s.db', '--artifacts-destination', str(d/'art'),
           '--host', '127.0.0.1', '--port', str(port), '--workers', '1']
    uri = f'http://127.0.0.1:{port}'
    with open(d/'server.log', 'w') as log:
        p = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        try:
            deadline = time.monotonic() + 120
            from ml_lifecycle.tracking import probe_server
            while probe_server(uri, 1) is not None:
                if p.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"mlflow server did not come up:\n{(d/'server.log').read_text()[-3000:]}")
                time.sleep(0.25)
            yield dict(uri=uri, dir=d)
        finally:
            os.killpg(p.pid, signal.SIGTERM)
            try: p.wait(20)
            except subprocess.TimeoutExpired: os.killpg(p.pid, signal.SIGKILL); p.wait()


