"MLflow for real: a stage-like script logs to an `mlflow server` on loopback, and falls back to the local store when the server is down."
import json, os, signal, socket, subprocess, sys, time
import numpy as np, polars as pl
import pytest
from mlflow import MlflowClient
from conftest import BIN, free_port as _free_port  # the `server` fixture lives in conftest.py
from ml_lifecycle.core import file_md5
from ml_lifecycle.tracking import local_store, resolve_tracking

pytestmark = [pytest.mark.e2e,  # starting a server takes 10-30 s
              pytest.mark.filterwarnings('ignore:The ``noload`` loader strategy:DeprecationWarning')]  # MLflow's SQLAlchemy use

# What a phase-2 stage does with the tracking module, run as its own process (argv: project root, package folder, sample).
STAGE = r'''
import json, sys
import mlflow, polars as pl
from ml_lifecycle.tracking import *
root, pkg_dir, sample = sys.argv[1:4]
tp = dict(experiment='server_test', model_name='srv_model', server_timeout_s=2)
uri, warn = resolve_tracking(root, tp)
if warn: print(warn)
setup_tracking(root, tp, uri)
df = pl.read_parquet(sample)
with mlflow.start_run(run_name='final', tags=run_tags(root, dict(seed=1), dict(sample=sample), stage='tune')) as run:
    log_param_dict(dict(seed=1, train=dict(cv_folds=3)))
    log_metric_dict(dict(valid=dict(roc_auc=0.8, brier=None)))
    log_frame(df.head(5), 'tables/sample.csv', mask=['id'])
    for i in range(2):
        with mlflow.start_run(run_name=f'trial {i}', nested=True): log_metric_dict(dict(score=[0.7, 0.8][i]))
    model_uri = log_package_model(pkg_dir, df)
version = register_model(model_uri, tp['model_name'], 'challenger', dict(candidate='logistic'))
print(json.dumps(dict(run_id=run.info.run_id, model_uri=model_uri, version=version, tracking_uri=mlflow.get_tracking_uri())))
'''

# Loading the registered model in a process that never saw it logged.
LOAD = r'''
import json, sys
import mlflow, polars as pl
print(json.dumps(mlflow.pyfunc.load_model(sys.argv[1]).predict(pl.read_parquet(sys.argv[2]).to_pandas()).tolist()))
'''


def _py(code, *args, tracking_uri=None):
    "Run `code` in a fresh interpreter of this venv; return the CompletedProcess"
    env = {k: v for k, v in os.environ.items() if not k.startswith('MLFLOW_') and k != 'IN_TEST'}
    if tracking_uri: env['MLFLOW_TRACKING_URI'] = tracking_uri
    r = subprocess.run([sys.executable, '-c', code, *map(str, args)], capture_output=True, text=True, env=env, timeout=300)
    assert r.returncode == 0, f"exit {r.returncode}:\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
    return r


@pytest.fixture(scope='module')
def package(tmp_path_factory):
    "A small real model package (features + logistic regression, saved with skops) and a sample of raw rows"
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline, make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler
    from ml_lifecycle.features import to_model_frame
    from ml_lifecycle.package import save_package
    d, rng = tmp_path_factory.mktemp('package'), np.random.default_rng(1)
    df = pl.DataFrame(dict(id=range(300), age=rng.integers(18, 80, 300), hours=rng.normal(40, 5, 300),
                           job=rng.choice(['a', 'b', 'c'], 300), y=rng.integers(0, 2, 300)))
    df = df.with_columns(hours=pl.when(pl.col('id') % 7 > 0).then('hours'))  # gaps: a double column
    roles = dict(numeric=['age', 'hours'], onehot=['job'], target=[], unused=[])
    ct = ColumnTransformer([('num', make_pipeline(SimpleImputer(), StandardScaler()), roles['numeric']),
                            ('cat', OneHotEncoder(handle_unknown='ignore'), roles['onehot'])])
    pipe = Pipeline([('features', ct), ('model', LogisticRegression())]).fit(to_model_frame(df, roles), df['y'].to_numpy())
    pkg = save_package(d/'models/model', pipe, dict(name='t', candidate='logistic', task='binary', roles=roles,
                                                    input_columns=['age', 'hours', 'job']))
    df.write_parquet(d/'sample.parquet')
    return pkg, d/'sample.parquet'


def test_stage_logs_to_server(server, package, tmp_path):
    "Runs, tags, params, metrics, artifacts, the model and the `challenger` alias all land on the server"
    pkg, sample = package
    r = _py(STAGE, tmp_path, pkg, sample, tracking_uri=server['uri'])
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert 'warning' not in r.stdout and out['tracking_uri'] == server['uri']
    assert not (tmp_path/'mlflow.db').exists()  # nothing went to the local store
    c = MlflowClient(tracking_uri=server['uri'])
    run = c.get_run(out['run_id'])
    tags = run.data.tags
    assert tags['ml_lifecycle.stage'] == 'tune' and tags['ml_lifecycle.data_md5.sample'] == file_md5(sample)
    assert {'ml_lifecycle.git_commit', 'ml_lifecycle.params_hash', 'ml_lifecycle.version'} <= set(tags)
    assert run.data.params == {'seed': '1', 'train.cv_folds': '3'} and run.data.metrics == {'valid.roc_auc': 0.8}
    assert [a.path for a in c.list_artifacts(out['run_id'], 'tables')] == ['tables/sample.csv']
    trials = c.search_runs([run.info.experiment_id], f"tags.mlflow.parentRunId = '{out['run_id']}'")
    assert sorted(t.data.metrics['score'] for t in trials) == [0.7, 0.8]
    assert str(c.get_model_version_by_alias('srv_model', 'challenger').version) == out['version']
    assert any((server['dir']/'art').rglob('MLmodel'))  # artifacts went through the server to its store
    # a fresh process loads the registered model by alias from the server and scores like the package
    from ml_lifecycle.package import load_package
    got = json.loads(_py(LOAD, 'models:/srv_model@challenger', sample, tracking_uri=server['uri']).stdout)
    np.testing.assert_allclose(got, load_package(pkg).predict_scores(pl.read_parquet(sample)), rtol=1e-6)


def test_server_down_falls_back_to_local_store(package, tmp_path):
    "A tracking server that does not answer: one warning line, and everything is logged to the local store"
    pkg, sample = package
    down = f'http://127.0.0.1:{_free_port()}'
    uri, warn = resolve_tracking(tmp_path, dict(uri=down, server_timeout_s=1), env={})
    assert uri == local_store(tmp_path)
    assert warn.startswith(f'warning: MLflow server {down} not reachable (') and warn.endswith(f'logging to the local store {uri} instead')
    r = _py(STAGE, tmp_path, pkg, sample, tracking_uri=down)
    lines = r.stdout.strip().splitlines()
    assert lines[0].startswith(f'warning: MLflow server {down} not reachable'), r.stdout
    out = json.loads(lines[-1])
    assert out['tracking_uri'] == uri and (tmp_path/'mlflow.db').exists() and (tmp_path/'mlartifacts').is_dir()
    assert 'Creating initial MLflow database tables' not in r.stderr and 'alembic' not in r.stderr  # quiet set-up
    c = MlflowClient(tracking_uri=uri)
    assert c.get_run(out['run_id']).data.tags['ml_lifecycle.stage'] == 'tune'
    assert str(c.get_model_version_by_alias('srv_model', 'challenger').version) == out['version'] == '1'
