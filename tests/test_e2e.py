"The phase-1 pipeline end to end with real DVC, in a temp copy of the project, on a sample of the bundled data."
import json, subprocess
import polars as pl
import pytest
from conftest import make_project, set_params, sh

pytestmark = pytest.mark.e2e
STAGES = ['ingest', 'split', 'schema', 'quality', 'eda', 'features', 'baseline', 'compare', 'tune', 'explain']


@pytest.fixture(scope='module')
def repro(tmp_path_factory):
    "A project copy after one full `dvc repro`"
    root = make_project(tmp_path_factory.mktemp('e2e')/'proj', sample_rows=6000)
    r = sh('dvc repro', root)
    return root, r


def test_every_stage_ran_and_wrote_its_outputs(repro):
    root, r = repro
    for s in STAGES: assert f"Running stage '{s}'" in r.stdout
    import yaml
    stages = yaml.safe_load((root/'dvc.yaml').read_text())['stages']
    for name, st in stages.items():
        for o in st.get('outs', []) + st.get('metrics', []):
            p = root/(next(iter(o)) if isinstance(o, dict) else o)
            assert p.exists(), f"stage {name}: {p} missing"
    nb = json.loads((root/'reports/16_baseline.ipynb').read_text())
    assert any(c.get('outputs') for c in nb['cells']), 'executed notebook has no outputs'


def test_quirks_of_adult_are_handled(repro):
    root, _ = repro
    clean = pl.read_parquet(root/'data/interim/clean.parquet')
    assert set(clean['income'].unique()) == {'<=50K', '>50K'}  # trailing '.' mapped
    assert 'education' not in clean.columns and 'education_num' in clean.columns
    assert clean['workclass'].null_count() > 0 and '?' not in clean['workclass'].to_list()
    assert clean['age'].dtype.is_integer()
    features = json.loads((root/'models/features.json').read_text())
    for col in ('fnlwgt', 'sex', 'race', 'age', 'income'): assert col not in features['input_columns']


def test_split_is_leak_free(repro):
    root, _ = repro
    parts = {k: pl.read_parquet(root/f'data/processed/{k}.parquet') for k in ('train', 'valid', 'test')}
    assert parts['train'].join(parts['test'], on=parts['train'].columns, how='semi', nulls_equal=True).height == 0
    assert parts['train'].is_duplicated().sum() == 0
    n = sum(p.height for p in parts.values())
    rates = {k: (p['income'] == '>50K').mean() for k, p in parts.items()}
    assert abs(parts['train'].height / n - 0.6) < 0.01 and max(rates.values()) - min(rates.values()) < 0.01


def test_baseline_metrics_are_real(repro):
    root, _ = repro
    m = json.loads((root/'metrics/baseline.json').read_text())
    assert m['primary_metric'] == 'roc_auc'
    assert m['dummy']['valid']['roc_auc'] == 0.5
    assert 0.8 < m['linear']['valid']['roc_auc'] < 1.0
    shown = sh('dvc metrics show --json', root).stdout
    assert 'roc_auc' in shown


def test_artifacts_record_commit_params_and_data_hash(repro):
    root, _ = repro
    head = sh('git rev-parse HEAD', root).stdout.strip()
    for f in ['data/interim/ingest.json', 'data/processed/split.json', 'models/schema.json', 'reports/data_quality.json',
              'reports/eda.json', 'models/features.json', 'models/baseline.json', 'reports/compare.json', 'reports/tune.json',
              'reports/explain.json', 'models/model/manifest.json']:
        prov = json.loads((root/f).read_text())['provenance']
        assert prov['git_commit'] == head, f
        assert prov['params'] and len(prov['params_hash']) == 16, f
        assert prov['inputs'] and all(len(i['md5']) == 32 for i in prov['inputs'].values()), f


def test_second_repro_does_nothing(repro):
    root, _ = repro
    r = sh('dvc repro', root)
    assert 'Running stage' not in r.stdout
    assert 'up to date' in sh('dvc status', root).stdout


def test_same_params_same_results(repro):
    "Re-running split and baseline from scratch reproduces the data and the metrics exactly"
    root, _ = repro
    train = pl.read_parquet(root/'data/processed/train.parquet')
    metrics = (root/'metrics/baseline.json').read_text()
    sh('dvc repro --force split && dvc repro --force baseline', root)
    assert pl.read_parquet(root/'data/processed/train.parquet').equals(train)
    assert (root/'metrics/baseline.json').read_text() == metrics


def test_notebook_opened_from_nbs_gives_the_stage_result(repro):
    "A phase notebook run from nbs/ with no arguments (as in JupyterLab) reads params.yaml and writes the same outputs"
    root, _ = repro
    before = pl.read_parquet(root/'data/processed/valid.parquet')
    sh('papermill --no-progress-bar 11_split.ipynb /tmp/_split_from_nbs.ipynb', root/'nbs')
    assert pl.read_parquet(root/'data/processed/valid.parquet').equals(before)


def test_changing_a_split_param_reruns_split_onward_not_ingest(repro):
    root, _ = repro
    set_params(root, split=dict(train=0.7, valid=0.15, test=0.15))
    r = sh('dvc repro', root)
    assert "Running stage 'ingest'" not in r.stdout
    for s in STAGES[1:]: assert f"Running stage '{s}'" in r.stdout or f"Stage '{s}' didn't change" in r.stdout
    assert "Running stage 'split'" in r.stdout and "Running stage 'tune'" in r.stdout
    rows = json.loads((root/'data/processed/split.json').read_text())['rows']
    assert abs(rows['train'] / sum(rows.values()) - 0.7) < 0.01


def test_push_and_pull_with_the_default_local_remote(repro):
    "`dvc push` / `dvc pull` work out of the box against the project-local remote"
    root, _ = repro
    sh('dvc push', root)
    assert (root/'.dvc-storage').is_dir()
    before = (root/'models/features.skops').read_bytes()
    sh('rm -rf .dvc/cache models/features.skops data/processed', root)
    sh('dvc pull', root)
    assert (root/'models/features.skops').read_bytes() == before
    assert (root/'data/processed/train.parquet').exists()
    assert 'up to date' in sh('dvc status', root).stdout


# ---- phase 2 ----

def _mlflow(root, code):
    "Run python `code` against the project's local MLflow store, in a fresh process; return its last stdout line"
    (root/'_q.py').write_text(f"import mlflow\nmlflow.set_tracking_uri('sqlite:///{root}/mlflow.db')\n{code}\n")
    try: return sh('python _q.py', root).stdout.strip().splitlines()[-1]
    finally: (root/'_q.py').unlink()


def test_phase2_compares_candidates_against_the_baseline(repro):
    root, _ = repro
    c = json.loads((root/'metrics/compare.json').read_text())
    assert set(c['ranking']) == {'logistic', 'random_forest', 'hist_gb', 'xgboost'}
    assert all(0.5 < c[k]['roc_auc_mean'] < 1 for k in c['ranking'])
    m = json.loads((root/'metrics/model.json').read_text())
    assert m['candidate'] in {*c['ranking'], 'ensemble'} and 0.8 < m['valid']['roc_auc'] < 1


def test_phase2_model_is_registered_as_challenger_and_loads_by_alias(repro):
    root, _ = repro
    out = _mlflow(root, "import pandas as pd\nm = mlflow.pyfunc.load_model('models:/ml_lifecycle_model@challenger')\n"
                        "p = m.predict(pd.read_parquet('data/processed/valid.parquet').head(20))\nprint(len(p), float(min(p)), float(max(p)))")
    n, lo, hi = out.split()
    assert int(n) == 20 and 0 <= float(lo) <= float(hi) <= 1
    out = _mlflow(root, "r = mlflow.search_runs(search_all_experiments=True, filter_string=\"tags.`ml_lifecycle.stage` = 'tune'\")\n"
                        "print(len(r), r['tags.ml_lifecycle.git_commit'].iloc[0])")
    n_runs, commit = out.split()
    assert int(n_runs) >= 4 and commit.removesuffix('+dirty') == sh('git rev-parse HEAD', root).stdout.strip()  # earlier tests edit params


def test_phase2_package_loads_without_pickle_and_records_provenance(repro):
    root, _ = repro
    man = json.loads((root/'models/model/manifest.json').read_text())
    assert man['task'] == 'binary' and man['provenance']['inputs']['train']['md5']
    files = {p.suffix for p in (root/'models/model').rglob('*') if p.is_file()}
    assert files <= {'.json', '.skops', '.ubj'}, files


def test_phase2_same_params_same_metrics(repro):
    root, _ = repro
    before = (root/'metrics/model.json').read_text()
    sh('dvc repro --force tune', root)
    assert (root/'metrics/model.json').read_text() == before


def test_phase2_server_down_falls_back_to_local_store_with_a_warning(repro):
    root, _ = repro
    sh('ml-lifecycle run nbs/21_tune.ipynb', root, env={'MLFLOW_TRACKING_URI': 'http://127.0.0.1:9'})
    assert 'warning: MLflow server http://127.0.0.1:9 not reachable' in (root/'reports/21_tune.ipynb').read_text()


import pytest as _pt

@_pt.mark.parametrize('edit,expected', [
    (dict(train=dict(candidates=['svm'])), "unknown candidate 'svm'"),
    (dict(tune=dict(space=dict(xgboost={}, hist_gb={}, random_forest={}, logistic={}))), 'is empty'),
    (dict(tune=dict(n_trials=0, timeout_s=0)), 'positive budget'),
])
def test_phase2_bad_params_stop_with_one_line(repro, tmp_path, edit, expected):
    import shutil
    root = shutil.copytree(repro[0], tmp_path/'copy', symlinks=True)  # a failed stage removes its outputs: not in the shared project
    set_params(root, **edit)
    nb = 'nbs/20_models.ipynb' if 'train' in edit else 'nbs/21_tune.ipynb'
    r = sh(f'ml-lifecycle run {nb}', root, check=False)
    assert r.returncode == 1 and expected in r.stderr.splitlines()[0], r.stderr
    assert not (root/('metrics/compare.json' if 'train' in edit else 'metrics/model.json')).exists()
