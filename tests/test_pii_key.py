"The PII masking key across processes: created once (mode 0600) in the config folder, shared by racing processes, overridden by the environment."
import os, subprocess, sys, time
from pathlib import Path

# Wait until argv[1] (a time.time() value), then print the key this process uses and a token made with it.
KEY = r'''
import os, sys, time
os.umask(0)  # the key file must still be private
time.sleep(max(0, float(sys.argv[1]) - time.time()))
from ml_lifecycle.core import pii_key, mask_value
print(pii_key().decode(), mask_value('Female'))
'''


def _env(home: Path, **extra):
    "The environment of a user whose home is `home`, with no PII key settings but `extra`"
    env = {k: v for k, v in os.environ.items() if not k.startswith('ML_LIFECYCLE_PII_') and k not in ('XDG_CONFIG_HOME', 'IN_TEST')}
    return {**env, 'HOME': str(home), **extra}


def _run(env, start=0.0):
    return subprocess.Popen([sys.executable, '-c', KEY, str(start)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _out(p):
    out, err = p.communicate(timeout=60)
    assert p.returncode == 0, err[-3000:]
    return out.split()


def test_racing_processes_share_one_private_key(tmp_path):
    "Eight processes start together on a fresh home: one key file, mode 0600, the same key and tokens in all of them"
    start = time.time() + 2  # all imported by then
    outs = {tuple(_out(p)) for p in [_run(_env(tmp_path), start) for _ in range(8)]}
    f = tmp_path/'.config/ml_lifecycle/pii.key'
    assert len(outs) == 1 and f.read_text().strip() == next(iter(outs))[0]
    assert f.stat().st_mode & 0o777 == 0o600 and [p.name for p in f.parent.iterdir()] == ['pii.key']
    # a later process reuses the file; a server given its content in the variable makes the same tokens
    assert tuple(_out(_run(_env(tmp_path)))) in outs
    assert tuple(_out(_run(_env(tmp_path/'server', ML_LIFECYCLE_PII_KEY=f.read_text().strip())))) in outs
    assert not (tmp_path/'server').exists()


def test_xdg_config_home_and_key_file_variable(tmp_path):
    "$XDG_CONFIG_HOME moves the key file; $ML_LIFECYCLE_PII_KEY_FILE names it; different keys, different tokens"
    a = _out(_run(_env(tmp_path/'home', XDG_CONFIG_HOME=str(tmp_path/'xdg'))))
    b = _out(_run(_env(tmp_path/'home', ML_LIFECYCLE_PII_KEY_FILE=str(tmp_path/'secrets/pii.key'))))
    assert (tmp_path/'xdg/ml_lifecycle/pii.key').read_text().strip() == a[0]
    assert (tmp_path/'secrets/pii.key').read_text().strip() == b[0]
    assert not (tmp_path/'home').exists() and a[1] != b[1]


def test_bad_key_variable_is_one_line(tmp_path):
    "An empty or short $ML_LIFECYCLE_PII_KEY stops with a PipelineError naming the variable, and creates no key file"
    for bad, said in (('', 'is empty'), ('too-short', 'is 9 characters')):
        p = _run(_env(tmp_path, ML_LIFECYCLE_PII_KEY=bad)); _, err = p.communicate(timeout=60)
        assert p.returncode == 1 and err.strip().splitlines()[-1] == (f'ml_lifecycle.core.PipelineError: ML_LIFECYCLE_PII_KEY {said}; '
                                                                     'expected a secret of at least 16 characters (or unset it to use the key file)')
    assert not (tmp_path/'.config').exists()
