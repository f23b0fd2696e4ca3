"A copied or moved project reads and writes its own MLflow artifacts (local store), never the original's."
import json, os, shutil, sqlite3, subprocess, sys
import pytest

pytestmark = [pytest.mark.e2e,  # two fresh MLflow processes: about 15 s
              pytest.mark.filterwarnings('ignore:The ``noload`` loader strategy:DeprecationWarning')]

# The first checkout: a small package logged as a model in a run with a table artifact, and registered.
LOG = r'''
import json, sys
from pathlib import Path
import numpy as np, polars as pl, mlflow
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from ml_lifecycle.features import to_model_frame
from ml_lifecycle.package import save_package
from ml_lifecycle.tracking import *
root = Path(sys.argv[1])
rng = np.random.default_rng(0)
df = pl.DataFrame(dict(age=rng.integers(18, 80, 100), hours=rng.normal(40, 5, 100), y=rng.integers(0, 2, 100)))
roles = dict(numeric=['age', 'hours'], onehot=[], target=[], unused=[])
pipe = Pipeline([('features', ColumnTransformer([('num', StandardScaler(), roles['numeric'])])), ('model', LogisticRegression())])
pipe.fit(to_model_frame(df, roles), df['y'].to_numpy())
pkg = save_package(root/'models/model', pipe, dict(name='t', candidate='logistic', task='binary', roles=roles, input_columns=['age', 'hours']))
df.write_parquet(root/'sample.parquet')
tp = dict(experiment='moved', model_name='moved_model')
setup_tracking(root, tp, resolve_tracking(root, tp)[0])
with mlflow.start_run(run_name='final') as run:
    log_frame(df.head(3), 'tables/head.csv')
    uri = log_package_model(pkg, df)
print(json.dumps(dict(run_id=run.info.run_id, version=register_model(uri, tp['model_name'], 'challenger'))))
'''

# The copy: read the run's artifact and the registered model (by version, alias and run), then log a new run.
USE = r'''
import json, sys
from pathlib import Path
import polars as pl, mlflow
from mlflow import MlflowClient
from ml_lifecycle.tracking import *
root, run_id = Path(sys.argv[1]), sys.argv[2]
tp = dict(experiment='moved', model_name='moved_model')
eid = setup_tracking(root, tp, resolve_tracking(root, tp)[0])
X = pl.read_parquet(root/'sample.parquet').select('age', 'hours').to_pandas()
preds = [mlflow.pyfunc.load_model(u).predict(X).tolist() for u in ('models:/moved_model/1', 'models:/moved_model@challenger', f'runs:/{run_id}/model')]
table = Path(mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path='tables/head.csv')).read_text()
with mlflow.start_run(run_name='in the copy') as run:
    log_frame(pl.DataFrame(dict(a=[1])), 'tables/new.csv')
c = MlflowClient()
print(json.dumps(dict(same=all(p == preds[0] for p in preds), table=table.splitlines()[0],
                      experiment=mlflow.get_experiment(eid).artifact_location, new_run=c.get_run(run.info.run_id).info.artifact_uri,
                      old_run=c.get_run(run_id).info.artifact_uri, model=c.get_model_version_download_uri('moved_model', '1'))))
'''


def _py(code, *args, cwd):
    "Run `code` in a fresh interpreter of this venv, without MLflow settings from the environment; the last stdout line as JSON"
    env = {k: v for k, v in os.environ.items() if not k.startswith('MLFLOW_') and k != 'IN_TEST'}
    r = subprocess.run([sys.executable, '-c', code, *map(str, args)], capture_output=True, text=True, env=env, cwd=cwd, timeout=300)
    assert r.returncode == 0, f"exit {r.returncode}:\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
    return json.loads(r.stdout.strip().splitlines()[-1])


def _db_text(db):
    "Every text value in a SQLite file"
    with sqlite3.connect(db) as con:
        tables = [t for (t,) in con.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return [v for t in tables for row in con.execute(f'SELECT * FROM "{t}"') for v in row if isinstance(v, str)]


def test_moved_project_uses_its_own_artifacts(tmp_path):
    "Copy the project, move the original away: the copy loads its model and artifacts, and logs, under its own folder"
    orig, copy = tmp_path/'orig'/'proj', tmp_path/'copy'/'proj'
    orig.mkdir(parents=True); (orig/'params.yaml').write_text('{}\n')
    run_id = _py(LOG, orig, cwd=orig)['run_id']
    shutil.copytree(orig, copy)
    orig.rename(tmp_path/'orig'/'gone')  # the original is no longer where its store says
    out = _py(USE, copy, run_id, cwd=copy)
    assert out['same'] and out['table'] == 'age,hours,y'
    for k in ('experiment', 'new_run', 'old_run', 'model'):
        assert out[k].startswith((copy/'mlartifacts').as_uri() + '/') or out[k] == (copy/'mlartifacts').as_uri(), (k, out[k])
    assert not orig.exists()  # nothing was written where the original was
    assert list((copy/'mlartifacts').rglob('new.csv'))
    assert not [v for v in _db_text(copy/'mlflow.db') if str(orig) in v]
