"Identifier and personal columns never reach a model or a report unmasked; a time column gives a time-ordered split."
import json
import numpy as np, pandas as pd, polars as pl
import pytest
from sklearn import datasets
from conftest import make_project, set_params, sh
from test_real_data import BUDGETS   # every stage runs, on small budgets

pytestmark = pytest.mark.e2e


@pytest.fixture(scope='module')
def customers(tmp_path_factory):
    "A project on a customer-like table: id, email, signup date, a sensitive attribute and a binary target"
    root = make_project(tmp_path_factory.mktemp('priv')/'p', sample_rows=200)
    df = datasets.load_breast_cancer(as_frame=True).frame.iloc[:, [0, 1, 2, 3, 4, 5, 30]]
    rng = np.random.default_rng(0)
    df.insert(0, 'customer_id', [f'CUST-{i:06d}' for i in rng.permutation(len(df))])
    df.insert(1, 'email', [f'person{i}@example.com' for i in range(len(df))])
    df.insert(2, 'signup_date', pd.date_range('2021-01-01', periods=len(df), freq='D').strftime('%Y-%m-%d'))
    df.insert(3, 'gender', rng.choice(['f', 'm'], len(df)))
    df = df.sample(frac=1, random_state=1)  # file order is not time order
    (root/'data/raw/adult.csv.gz').unlink()
    df.to_csv(root/'data/raw/customers.csv', index=False)
    set_params(root, data=dict(source='data/raw/customers.csv', target='target', task='binary', positive_label=1, target_map={},
                               id_columns=['customer_id'], pii_columns=['email'], time_column='signup_date', weight_column=None,
                               drop_columns=[], sensitive_features=['gender']),
               split=dict(strategy='time'), **BUDGETS)
    sh('git add -A && git -c user.name=t -c user.email=t@t commit -qm data', root)
    sh('dvc repro', root)
    return root, df


def test_ids_and_pii_are_never_features(customers):
    root, _ = customers
    used = json.loads((root/'models/features.json').read_text())['input_columns']
    for c in ('customer_id', 'email', 'signup_date', 'gender', 'target'): assert c not in used


def test_ids_and_pii_never_appear_in_reports(customers):
    "No raw id or email value in any report, executed notebook, figure name, metric or model record"
    root, df = customers
    secrets = set(df['customer_id']) | set(df['email'])
    files = [p for d in ('reports', 'metrics', 'models') for p in (root/d).rglob('*') if p.is_file() and p.suffix in ('.json', '.ipynb', '.md', '.html', '.png')]
    assert len(files) > 10
    for p in files:
        text = p.read_bytes().decode('utf-8', 'ignore')
        leaked = [s for s in list(secrets)[:600] if s in text]
        assert not leaked, f"{p.relative_to(root)} shows raw identifiers, e.g. {leaked[:2]}"


def test_time_split_runs_forward(customers):
    root, _ = customers
    t = {k: pl.read_parquet(root/f'data/processed/{k}.parquet')['signup_date'] for k in ('train', 'valid', 'test')}
    assert t['train'].dtype.is_temporal()
    assert t['train'].max() < t['valid'].min() and t['valid'].max() < t['test'].min()
    rec = json.loads((root/'data/processed/split.json').read_text())
    assert rec['strategy'] == 'time' and rec['train_until'] and rec['valid_until']
