"""History buffer of generated images for the discriminator (Shrivastava et al. 2017).

https://arxiv.org/abs/1612.07828, as used by CycleGAN: the discriminator is shown a mix of the
newest fakes and fakes from earlier generators, which damps oscillation. Randomness comes only
from the ``torch.Generator`` passed to :meth:`ImagePool.query`, and the stored images travel
with :meth:`ImagePool.state_dict`, so a resumed run replays exactly.
"""

from __future__ import annotations

import torch


class ImagePool:
    """Up to ``size`` past images; :meth:`query` swaps new images for stored ones at random.

    Per image of a batch: while the pool is not full, the image is stored and returned; once
    full, with probability 1/2 a random stored image is returned and replaced by the new one,
    otherwise the new image is returned. ``size=0`` disables the pool.

    Args:
        size: capacity in images (50 in CycleGAN).

    Example:
        >>> pool = ImagePool(2)
        >>> gen = torch.Generator().manual_seed(0)
        >>> pool.query(torch.zeros(2, 3, 4, 4), gen).shape, len(pool)
        (torch.Size([2, 3, 4, 4]), 2)
    """

    def __init__(self, size: int = 50) -> None:
        if size < 0:
            raise ValueError(f"pool size must be >= 0, got {size}")
        self.size = size
        self.images: list[torch.Tensor] = []

    def __len__(self) -> int:
        return len(self.images)

    @torch.no_grad()
    def query(self, images: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        """Return a batch like ``images`` ``(B,C,H,W)``, mixing in stored images; detached.

        Args:
            images: the newest generated images.
            gen: a CPU generator; the draws advance it (two per image once the pool is full).

        Returns:
            ``(B,C,H,W)`` on ``images``' device and dtype.
        """
        images = images.detach()
        if self.size == 0:
            return images
        out = []
        for image in images:
            if len(self.images) < self.size:
                self.images.append(image.clone())
                out.append(image)
                continue
            if float(torch.rand((), generator=gen)) < 0.5:
                slot = int(torch.randint(0, self.size, (), generator=gen))
                out.append(self.images[slot].to(image.device, image.dtype))
                self.images[slot] = image.clone()
            else:
                out.append(image)
        return torch.stack(out)

    def state_dict(self) -> dict[str, torch.Tensor]:
        """The stored images as one CPU tensor ``(N,C,H,W)`` (``weights_only``-loadable)."""
        if not self.images:
            return {"images": torch.zeros(0)}
        return {"images": torch.stack(self.images).cpu()}

    def load_state_dict(self, state: dict[str, torch.Tensor], device: torch.device) -> None:
        """Restore the stored images (onto ``device``)."""
        stored = state["images"]
        if stored.numel() and len(stored) > self.size:
            raise ValueError(f"state holds {len(stored)} images; the pool holds {self.size}")
        self.images = [image.to(device) for image in stored] if stored.numel() else []
