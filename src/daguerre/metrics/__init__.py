"""Image-quality metrics: fidelity (PSNR, SSIM), no-reference NIQE, feature distances.

Import the submodules directly (``daguerre.metrics.fidelity``, ``.niqe``, ``.features``);
this package imports nothing, so it stays light.
"""
