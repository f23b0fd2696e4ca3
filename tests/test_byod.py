"Bring your own data: another CSV and a params.yaml edit run phase 1 for each task type (multiclass and regression through the whole pipeline), with no code change."
import json
import pytest
from sklearn import datasets
from conftest import make_project, set_params, sh

pytestmark = pytest.mark.e2e

# (loader, target column name, expected task, primary metric, a floor it must clear on valid, DVC target: phase 1 or all)
# Phase 1 is what these assert; the whole pipeline also runs on the multiclass and regression sets (the only end-to-end
# runs of those tasks); binary runs end to end on Adult in the e2e tests, so here it stops after phase 1 (time budget).
CASES = {
    'breast_cancer': (datasets.load_breast_cancer, 'diagnosis', 'binary', 'roc_auc', 0.95, 'baseline quality'),
    'wine': (datasets.load_wine, 'cultivar', 'multiclass', 'macro_f1', 0.85, ''),
    'diabetes': (datasets.load_diabetes, 'progression', 'regression', 'r2', 0.25, ''),
}


@pytest.mark.parametrize('name', list(CASES))
def test_own_csv_runs_phase1(tmp_path, name):
    load, target, task, metric, floor, stage = CASES[name]
    root = make_project(tmp_path/'p', sample_rows=200)
    df = load(as_frame=True).frame.rename(columns={'target': target})
    (root/'data/raw/adult.csv.gz').unlink()
    df.to_csv(root/f'data/raw/{name}.csv', index=False)
    set_params(root, data=dict(source=f'data/raw/{name}.csv', target=target, task=None, positive_label=None, target_map={},
                               weight_column=None, drop_columns=[], sensitive_features=[]))
    sh('git add -A && git -c user.name=t -c user.email=t@t commit -qm data', root)
    sh(f'dvc repro {stage}'.strip(), root)
    ing = json.loads((root/'data/interim/ingest.json').read_text())
    assert ing['task'] == task  # inferred, params left it empty
    m = json.loads((root/'metrics/baseline.json').read_text())
    assert m['linear']['valid'][metric] > floor, m['linear']['valid']
    assert (root/'reports/data_quality.json').exists() and (root/'models/features.skops').exists()
