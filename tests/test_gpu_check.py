"""scripts/gpu_check.py's machinery on the CPU: requirement check, time boxes, the summary written
after each phase (the GPU phases themselves run on a GPU machine)."""

import json
import sys

from scripts import gpu_check


def test_the_dev_install_lacks_no_requirement():
    assert gpu_check.missing_requirements() == []


def test_a_phase_past_its_time_box_is_stopped_with_124(tmp_path):
    check = gpu_check.Check(tmp_path, budget_s=60)
    code, seconds = check.run([sys.executable, "-c", "import time; time.sleep(30)"], 1.0, "slow.log")
    assert code == 124 and seconds < 10
    code, _ = check.run([sys.executable, "-c", "print('hi')"], 30.0, "quick.log")
    assert code == 0 and (tmp_path / "quick.log").read_text().strip() == "hi"
    assert str(gpu_check.ROOT / "src") in check.env["PYTHONPATH"] and check.env["XLA_PYTHON_CLIENT_PREALLOCATE"] == "false"


def test_results_are_written_after_every_phase(tmp_path):
    check = gpu_check.Check(tmp_path, budget_s=60)
    check.result["environment"] = {"jax": "0.11.2", "jaxlib": "0.11.2", "devices": ["cuda:0"]}
    check.result["phases"]["b"] = {"status": "done", "seconds": 170.0, "data": {
        "command": "-m crlx.train --env ant", "exit": 0, "scale": {"scale": "gpu", "num_envs": 1024},
        "curve": [{"env_steps": 0, "eval/success": 0.0}, {"env_steps": 5_000_000, "eval/success": 0.5,
                                                          "eval/success_sampled": 0.7, "perf/wall_s": 60.0}]}}
    check.result["phases"]["c"] = {"status": "done", "seconds": 90.0, "data": {
        "ant_1024_jaxgcrl_1seeds": {"exit": 0, "env_steps_per_s": 150000.0, "updates_per_s": 9000.0, "compile_s": 20.0},
        "ant_4096_light_1seeds": {"exit": 124, "seconds": 30.0}}}
    check.save()
    assert json.loads((tmp_path / "gpu_check.json").read_text())["phases"]["b"]["data"]["curve"][1]["eval/success"] == 0.5
    text = (tmp_path / "gpu_check.md").read_text()
    assert "| 5,000,000 | 0.500 | 0.700 |" in text and "| ant_1024_jaxgcrl_1seeds | 150,000 | 9,000 | 20.0 |" in text
    assert "| ant_4096_light_1seeds | exit 124 |" in text
