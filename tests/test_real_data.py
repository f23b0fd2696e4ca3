"""Real public data sets of other shapes (tests/data/: each file's source and licence in its README) through the
pipeline as a new user runs it: `ml-lifecycle init-data FILE --target COL`, the `data` settings the file needs, `dvc repro`.

Multiclass, regression and binary; a date column and a time split; heavy missing values; odd names and levels
(`other` and `Other`, a literal `NA` level, `?` and empty strings, numbers as categories, unicode, columns named
`time` and `records`); parquet category columns; a pair of files from two periods of the same source for the
monitor; and a file over 50,000 rows (phase 1 only: the time budget). Fast budgets: every stage runs, on
fewer folds, trials and resamples."""
import json, shutil
from pathlib import Path
import polars as pl
import pytest, yaml
from conftest import ROOT, make_project, set_params, sh

pytestmark = pytest.mark.e2e
SPECS = yaml.safe_load((ROOT/'tests/data/datasets.yaml').read_text())
FULL = ['penguins', 'planes', 'flights_odd', 'seattle_weather', 'flights']   # the whole pipeline
PHASE1 = ['diamonds']                                                          # ingest to features and the baseline
LOWER = {'rmse', 'mae', 'log_loss'}
# every stage runs (a linear and a boosted candidate), on budgets that fit six data sets in the suite's time
BUDGETS = dict(train=dict(candidates=['logistic', 'xgboost'], cv_folds=2), tune=dict(top_k=1, n_trials=3, cv_folds=2, ensemble=False), evaluate=dict(bootstrap=100),
               fairness=dict(n_boot=100), robustness=dict(sample_rows=1000), latency=dict(single_calls=50, batch_calls=3, batch_size=200),
               explain=dict(sample_rows=200, n_repeats=1, perm_rows=1000))


def _project(tmp_path: Path, name: str) -> Path:
    "A fresh project on data set `name`, configured the way the README tells a user to"
    spec = SPECS[name]
    root = make_project(tmp_path/name, sample_rows=200, git=False)
    (root/'data/raw/adult.csv.gz').unlink()
    for k in ('file', 'monitor_batch'):
        if spec.get(k): shutil.copy(ROOT/spec[k], root/'data/raw'/Path(spec[k]).name)
    d = spec['data']
    r = sh(f"ml-lifecycle init-data {d['source']} --target {d['target']}", root)   # the task is inferred
    line = next(l for l in r.stdout.splitlines() if l.strip().startswith('target '))
    assert line.split(':')[1].split(',')[0].strip() == d['task'], r.stdout   # inferred as the data set's task
    set_params(root, data=d, **BUDGETS, **{k: spec[k] for k in ('split', 'monitor') if k in spec})
    sh('git init -q && git add -A && git -c user.name=t -c user.email=t@t commit -qm data', root)
    return root


def _check_phase1(root: Path, name: str):
    ing = json.loads((root/'data/interim/ingest.json').read_text())
    for k, v in SPECS[name]['expect'].items():
        got = ing.get(k)
        assert (sorted(got) if isinstance(v, list) else got) == (sorted(v) if isinstance(v, list) else v), f"{name}: ingest {k} = {got!r}, expected {v!r}"
    m = json.loads((root/'metrics/baseline.json').read_text())
    pm = m['primary_metric']
    lin, dummy = m['linear']['valid'][pm], m['dummy']['valid'][pm]
    assert (lin < dummy) if pm in LOWER else (lin > dummy), f"{name}: the linear baseline ({pm} {lin}) does not beat the dummy ({dummy})"
    return ing


@pytest.mark.parametrize('name', FULL)
def test_real_data_set_end_to_end(tmp_path, name):
    root = _project(tmp_path, name)
    r = sh('dvc repro', root)
    assert 'error' not in r.stderr.lower(), r.stderr[-2000:]
    ing = _check_phase1(root, name)
    from ml_lifecycle.runner import stage_outs
    for st in yaml.safe_load((root/'dvc.yaml').read_text())['stages'].values():
        for p in stage_outs(root, st['cmd'].split()[-1]): assert p.exists(), f"{name}: {p.relative_to(root)} missing"
    go = json.loads((root/'reports/go_no_go.json').read_text())
    assert go['verdict'] in ('go', 'no-go', 'awaiting approval') and all(c['reason'] for c in go['criteria'])
    card = (root/'reports/model_card.md').read_text()
    assert 'adults' not in card.lower() and '$50K' not in card   # nothing of the bundled example's text on this model's card
    assert '## Accepted risks' not in card and 'bundled example' not in card   # nor its accepted fairness risk (init-data resets it)
    assert ing['data']['target'] in card
    mon = json.loads((root/'reports/monitor.json').read_text())
    for b in mon['batches'].values(): assert not b['missing'], f"{name}: inputs missing from a batch: {b['missing']}"
    if name == 'flights':   # a later period of the same source, read with the training file's rules
        batch = mon['batches']['flights_2013_09.csv.gz']
        assert batch['rows']['current'] == 6000 and not mon.get('simulate')
        assert not batch.get('values_not_parsed'), batch.get('values_not_parsed')
    if name == 'flights_odd':   # levels of theirs that look like ours stay theirs
        col = json.loads((root/'models/schema.json').read_text())['columns']
        assert {'other', 'Other'} <= set(col['carrier']['categories']) and 'NA' in col['dest']['categories']
        assert col['origin']['categories'] == ['1', '2', '3'] and {'time', 'records'} <= set(json.loads((root/'models/features.json').read_text())['input_columns'])
    assert sh('dvc status', root).stdout.strip() == 'Data and pipelines are up to date.'


@pytest.mark.parametrize('name', PHASE1)
def test_real_data_set_phase1(tmp_path, name):
    root = _project(tmp_path, name)
    sh('dvc repro baseline quality', root)
    _check_phase1(root, name)
    assert pl.scan_parquet(root/'data/interim/clean.parquet').select(pl.len()).collect().item() > 50_000
