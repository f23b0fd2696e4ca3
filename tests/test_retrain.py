"The retraining loop once end to end on a sample: a champion, new data, `retrain`, promotion only on a go that beats it, rollback."
import gzip, json
import polars as pl
import pytest
from conftest import ROOT, make_project, set_params, sh
from test_e2e import PERMISSIVE, _version

pytestmark = pytest.mark.e2e

# every stage runs, on small budgets: two full `dvc repro` runs fit in a few minutes on 2 cores
SMALL = dict(train=dict(candidates=['logistic', 'xgboost'], cv_folds=2), tune=dict(top_k=1, n_trials=3, cv_folds=2, ensemble=False),
             evaluate=dict(bootstrap=100), fairness=dict(n_boot=100, mitigate=False), robustness=dict(sample_rows=1000),
             latency=dict(single_calls=50, batch_calls=3, batch_size=200), explain=dict(sample_rows=200, n_repeats=1, perm_rows=1000))
RETRAIN = 'ml-lifecycle retrain'


def other_sample(dst, rows):
    "A different slice of the bundled Adult file (same format): the 'updated data' of the loop"
    with gzip.open(ROOT/'data/raw/adult.csv.gz', 'rt') as f: lines = f.readlines()
    body = lines[1:]
    keep = body[10_000:10_000 + rows // 2] + body[-20_000:-20_000 + rows - rows // 2]
    with gzip.open(dst, 'wt') as f: f.write(lines[0] + ''.join(keep))


def test_retrain_loop_once_end_to_end(tmp_path):
    root = make_project(tmp_path/'proj', sample_rows=3000)
    set_params(root, go_no_go=PERMISSIVE, **SMALL)
    sh('dvc repro', root)
    assert _version(root, 'champion') == '1'
    sim = json.loads((root/'reports/monitor.json').read_text())
    assert sim['simulated'] and not sim['retrain']['required']  # batches the stage simulated itself never ask for retraining
    assert sh(f'{RETRAIN} --dry-run', root).stdout.strip().splitlines()[-1].startswith('dry run: retraining not required')
    # a real batch is configured, and it has drifted: now the rule asks for retraining
    pl.read_parquet(root/'data/processed/test.parquet').with_columns(pl.col('hours_per_week') + 25).write_parquet(root/'data/current.parquet')
    set_params(root, monitor=dict(current='data/current.parquet'))
    sh('dvc repro monitor', root)
    mon = json.loads((root/'reports/monitor.json').read_text())
    assert not mon['simulated'] and mon['retrain']['required'] and any('hours_per_week' in r for r in mon['retrain']['reasons'])

    other_sample(root/'data/raw/adult.csv.gz', 3000)  # new data arrives
    r = sh(RETRAIN, root)
    line = r.stdout.strip().splitlines()[-1]
    rec = json.loads((root/'reports/retrain.json').read_text())
    assert rec['triggered_by'] == mon['retrain']['reasons'] and any('drift:' in t for t in rec['triggered_by'])
    assert "Running stage 'ingest'" in r.stdout and "Running stage 'decide'" in r.stdout
    go = json.loads((root/'reports/go_no_go.json').read_text())
    assert rec['champion_before'] == '1' and rec['candidate_version'] == go['model']['version'] == '2'
    beats = next(c for c in go['criteria'] if c['name'] == 'beats the champion')
    assert beats['judged'] and isinstance(beats['passed'], bool)  # the champion was scored on the new test rows
    ev = json.loads((root/'reports/evaluate.json').read_text())
    assert 'champion' in ev['test'] and ev['champion']['version'] == '1'
    promoted = go['status'] == 'promoted' and beats['passed']
    assert (go['status'] == 'promoted') == promoted  # never promoted without beating the champion
    assert rec['promoted'] == promoted and _version(root, 'champion') == ('2' if promoted else '1')
    assert line == (f"retrained: version 2 promoted to champion (was 1; roll back with: ml-lifecycle rollback --by NAME --reason WHY)" if promoted
                    else f"retrained: version 2, {go['verdict']} ({go['reason']}): champion stays version 1")
    hist = [json.loads(l) for l in (root/'reports/retrain_history.jsonl').read_text().splitlines()]
    assert len(hist) == 1 and hist[0]['candidate_version'] == '2' and hist[0]['promoted'] == promoted
    if promoted:
        sh('ml-lifecycle rollback --by "on-call" --reason "retrain test"', root)
        assert _version(root, 'champion') == '1'

    # a clean monitor report: nothing is rerun, the record says so
    champion = _version(root, 'champion')
    (root/'reports/monitor.json').write_text(json.dumps(dict(mon, status='ok', retrain=dict(required=False, reasons=[]))))
    r = sh(RETRAIN, root)
    assert r.stdout.strip().splitlines()[-1] == 'retraining not required (monitor: ok)'
    assert 'Running stage' not in r.stdout and 'up to date' not in r.stdout  # dvc was never called
    assert json.loads((root/'reports/retrain.json').read_text())['required'] is False and _version(root, 'champion') == champion
    assert len((root/'reports/retrain_history.jsonl').read_text().splitlines()) == 2
