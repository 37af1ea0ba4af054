"""The worker's metrics in multiprocess mode, as ``nova-worker worker`` switches it on."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

# Multiprocess mode changes process-wide state of prometheus_client: run it in a process of its
# own, in the order ``nova-worker worker`` uses (import the metrics module, then switch).
SCRIPT = textwrap.dedent(
    """
    import sys
    from pathlib import Path

    from nova_worker.metrics import enable_multiprocess

    enable_multiprocess(Path(sys.argv[1]))

    from prometheus_client import generate_latest

    from nova_worker import metrics

    metrics.RESTORED.inc(3)
    metrics.DUPLICATES.labels("nova.events.user_registered").inc()
    print(generate_latest(metrics.build_registry(None, [], None)).decode())
    """
)


def test_unlabelled_counters_reach_the_multiprocess_exposition(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path / "metrics")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    samples = [line for line in result.stdout.splitlines() if not line.startswith("#")]
    assert "worker_restored_messages_total 3.0" in samples, samples
    assert 'worker_duplicate_deliveries_total{task="nova.events.user_registered"} 1.0' in samples, (
        samples
    )
