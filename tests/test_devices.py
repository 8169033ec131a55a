"""Runs tests/devices/ with 4 CPU devices in one subprocess (the device count is fixed at JAX start-up)."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from crlx.config import ConfigError
from crlx.preflight import prepare
from tests.conftest import ROOT, subprocess_env, tiny_config


def test_four_device_suite_passes():
    env = subprocess_env()
    env["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=4").strip()
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env["PYTHONPATH"]])
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-s", "-p", "no:cacheprovider", str(ROOT / "tests" / "devices")],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=900,
    )
    # -s: XLA's own fatal log line (e.g. a collective's rendezvous timeout) reaches proc.stderr.
    fatal = [line for line in proc.stderr.splitlines() if re.match(r"F\d{4} ", line)]
    assert proc.returncode == 0, "\n".join(fatal) + "\n" + proc.stdout[-4000:] + proc.stderr[-2000:]
    assert "skipped" not in proc.stdout and " passed" in proc.stdout, proc.stdout[-2000:]


def test_more_devices_than_visible_is_a_config_error(tmp_path):
    import jax

    n = jax.device_count()
    with pytest.raises(ConfigError, match=rf"num_devices={n + 1} but {n} device\(s\).*set num_devices between 1"):
        prepare(tiny_config(tmp_path, num_devices=n + 1))
    with pytest.raises(ConfigError, match=r"num_devices must be >= 0 \(0 = every device\), got -1"):
        tiny_config(tmp_path, num_devices=-1).validate()
