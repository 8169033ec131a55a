"""crlx adds an XLA flag at import only where the installed XLA knows it (XLA aborts on unknown flags)."""

import os
import subprocess
import sys

import pytest

from crlx import xla_flags
from crlx.xla_flags import CPU_FUSION_EMITTERS_OFF


@pytest.mark.parametrize(
    "version, expected",
    [
        ("0.4.38", []),
        ("0.5.1", []),  # jaxlib 0.5.0 / 0.5.1 do not define the flag
        ("0.5.3", [CPU_FUSION_EMITTERS_OFF]),
        ("0.10.2", [CPU_FUSION_EMITTERS_OFF]),
        ("0.11.0.dev20260101", []),
        ("0.11.2", []),  # aborted every crlx run on a GPU machine
        ("0.12.0", []),
        ("1.0", []),
        ("garbage", []),
        (None, []),
    ],
)
def test_flags_for_jaxlib_versions(version, expected):
    assert xla_flags.flags_for(version) == expected


def test_apply_keeps_a_user_setting_and_adds_nothing_twice():
    environ = {"XLA_FLAGS": "--xla_cpu_use_fusion_emitters=true"}
    assert xla_flags.apply(environ, jaxlib_version="0.10.2") == []
    assert environ["XLA_FLAGS"] == "--xla_cpu_use_fusion_emitters=true"
    environ = {"XLA_FLAGS": "--xla_force_host_platform_device_count=2"}
    assert xla_flags.apply(environ, jaxlib_version="0.10.2") == [CPU_FUSION_EMITTERS_OFF]
    assert environ["XLA_FLAGS"] == f"--xla_force_host_platform_device_count=2 {CPU_FUSION_EMITTERS_OFF}"
    assert xla_flags.apply(environ, jaxlib_version="0.10.2") == []
    environ = {}
    assert xla_flags.apply(environ, jaxlib_version="0.11.2") == [] and "XLA_FLAGS" not in environ


FAKE_JAXLIB = """
import importlib.metadata as metadata
real = metadata.version
metadata.version = lambda name: {version!r} if name == "jaxlib" else real(name)
import os
import crlx, jax, jax.numpy as jnp
assert float(jax.jit(lambda x: (x * 2).sum())(jnp.arange(4.0))) == 12.0
print("XLA_FLAGS=" + os.environ.get("XLA_FLAGS", ""))
"""


@pytest.mark.parametrize("version", ["0.11.2", "installed"])
def test_import_crlx_then_a_jitted_op_in_a_fresh_process(version):
    """`import crlx` leaves XLA_FLAGS free of flags the (faked) jaxlib lacks, and JAX still runs."""
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    fake = xla_flags.installed_jaxlib() if version == "installed" else version
    out = subprocess.run([sys.executable, "-c", FAKE_JAXLIB.format(version=fake)], env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    line = [x for x in out.stdout.splitlines() if x.startswith("XLA_FLAGS=")][-1]
    assert (CPU_FUSION_EMITTERS_OFF in line) == bool(xla_flags.flags_for(fake))
