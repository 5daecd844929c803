"""Peak memory of SSIM on one 4000x3000 RGB pair, above the decoded inputs, for iqa and its peers.

    python benchmarks/bench_memory.py

Each library runs in its own subprocess. The inputs are made first, the kernel's
peak-RSS counter is reset (``/proc/self/clear_refs``), and the peak reached
while scoring is reported relative to the RSS before scoring. Linux only.
"""
from __future__ import annotations

import subprocess
import sys

CHILD = r"""
import sys, numpy as np, torch
torch.set_num_threads(2)
which = sys.argv[1]
rng = np.random.default_rng(0)
ref = rng.integers(0, 256, (3000, 4000, 3), dtype=np.uint8)
out = np.clip(ref + rng.normal(0, 10, ref.shape), 0, 255).astype(np.uint8)
if which == "scikit-image":
    from skimage.metrics import structural_similarity
    a, b = ref.astype(np.float32) / 255, out.astype(np.float32) / 255
    run = lambda: structural_similarity(a, b, channel_axis=2, gaussian_weights=True, sigma=1.5,
                                        use_sample_covariance=False, data_range=1.0)
else:
    a = torch.from_numpy(ref).permute(2, 0, 1)[None].float().div(255).contiguous()
    b = torch.from_numpy(out).permute(2, 0, 1)[None].float().div(255).contiguous()
    if which == "piq":
        import piq
        run = lambda: piq.ssim(a, b, data_range=1.0, downsample=False)
    else:
        import iqa
        color = which.split(":")[1]
        run = lambda: iqa.ssim(a, b, color=color)
del ref, out
def rss(field):
    for line in open("/proc/self/status"):
        if line.startswith(field):
            return int(line.split()[1]) / 1024
open("/proc/self/clear_refs", "w").write("5")
before = rss("VmRSS:")
with torch.inference_mode():
    run()
print(rss("VmHWM:") - before)
"""


def main() -> None:
    print("SSIM of one 4000x3000 RGB float32 pair: peak memory above the decoded inputs (MB)")
    for which in ("iqa:gray", "iqa:rgb", "scikit-image", "piq"):
        result = subprocess.run([sys.executable, "-c", CHILD, which], capture_output=True, text=True)
        value = result.stdout.strip().splitlines()[-1] if result.returncode == 0 else f"failed: {result.stderr[-200:]}"
        print(f"  {which:<14} {value if not value[0].isdigit() else f'{float(value):8.0f}'}")


if __name__ == "__main__":
    main()
