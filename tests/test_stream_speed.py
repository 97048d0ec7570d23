"""bench/stream_speed.py: the long-recording row reports the measured process's own peak memory."""

import importlib.util
import sys

import numpy as np

from conftest import ROOT

spec = importlib.util.spec_from_file_location("stream_speed", ROOT / "bench" / "stream_speed.py")
stream_speed = importlib.util.module_from_spec(spec)
spec.loader.exec_module(stream_speed)

ALLOCATE_MB = "import sys, numpy; block = numpy.ones(int(sys.argv[1]) * 2 ** 17); block += 1"  # 8 bytes each


def test_the_peak_memory_is_the_measured_process_s_not_the_benchmark_s():
    held = np.ones(400 * 2 ** 17)  # 400 MB held here, as the benchmark holds the long recording
    held += 1  # touched: resident
    _, small = stream_speed.long_file([sys.executable, "-c", ALLOCATE_MB], "20")
    _, large = stream_speed.long_file([sys.executable, "-c", ALLOCATE_MB], "200")
    assert held.sum() > 0
    assert small < 150  # a fork of this process would start at 400 MB and more
    assert 200 < large < 400  # the 200 MB it allocated, numpy and the interpreter
