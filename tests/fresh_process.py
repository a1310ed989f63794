"""Running a test script in a fresh Python process (nothing imported, TF not yet set up)."""

import json
import os
import subprocess
import sys


def run_python(script, cwd, timeout=180):
    """Runs `script` with this interpreter in `cwd`; its last stdout line, as JSON.

    A fresh process is how a test sees what a user's new session sees
    (`keras.saving.load_model` after `import kerasrec`), and the only way
    to configure logical devices, which TensorFlow fixes at its start.
    """
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])
