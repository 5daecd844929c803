"""What each model is trained to minimise. One class per ``--model``; the loop only calls these.

- autoencoder: L1 + ``ssim_weight * (1 - SSIM)`` (our differentiable SSIM, unrounded luminance).
- srgan: L1 + LPIPS (``--perceptual``; auto: on when its AlexNet weights are found), and after ``pretrain_steps``
  (default half the steps) + ``adv_weight`` x the non-saturating GAN loss (Ledig et al. 2017, doi:10.1109/CVPR.2017.19).
- stylegan-lite: L1 (alone for the first quarter of the steps) + ``adv_weight`` x non-saturating GAN loss, R1 penalty
  ``gamma / 2 * E[|grad D(real)|^2]`` (Mescheder et al. 2018, arXiv:1801.04406), as StyleGAN2 trains.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn


PERCEPTUAL_MODES = ("auto", "on", "off")
PERCEPTUAL_NOT_FOUND = "perceptual loss: off (LPIPS weights not found)"


def perceptual_loss(mode: str, weights_dir=None) -> tuple[object | None, str, str | None]:
    """``(loss_fn or None, note, warning)`` for ``--perceptual`` ``mode``: LPIPS (AlexNet) when its weights are found.

    ``auto`` turns the loss off with a warning when the weights are missing; ``on`` raises
    :class:`iqa.weights.WeightsNotFoundError` (what to fetch and how to import it) before any training.
    """
    from ..metrics.lpips import lpips
    from ..weights import WeightsNotFoundError, find_weights

    if mode not in PERCEPTUAL_MODES:
        raise ValueError(f"perceptual must be one of {', '.join(PERCEPTUAL_MODES)}, got {mode!r}")
    if mode == "off":
        return None, "perceptual loss: off (--perceptual off)", None
    try:
        weights = find_weights("alexnet", weights_dir)
    except WeightsNotFoundError as error:
        if mode == "on":
            raise
        warning = f"{PERCEPTUAL_NOT_FOUND}; --perceptual off silences this, --perceptual on requires them.\n{error}"
        return None, PERCEPTUAL_NOT_FOUND, warning
    return (lambda x, y: lpips(x.clamp(0, 1), y, weights=weights)), f"perceptual loss: on (LPIPS, {weights.name})", None


class Fidelity:
    loss_names = ("l1", "ssim")
    adversarial = False

    def __init__(self, ssim_weight: float = 0.2):
        from ..metrics.losses import SSIMLoss

        self.ssim_weight = ssim_weight
        self.ssim_loss = SSIMLoss(color="rgb", quantize=None)

    def generator_loss(self, fake: Tensor, hr: Tensor, discriminator, step: int) -> tuple[Tensor, dict]:
        l1 = F.l1_loss(fake, hr)
        ssim_term = self.ssim_loss(fake.clamp(0, 1), hr)
        return l1 + self.ssim_weight * ssim_term, {"l1": l1, "ssim": ssim_term}


class Adversarial:
    """L1 content loss plus a non-saturating GAN loss; optional L1-only warm-up and R1 penalty."""

    loss_names = ("l1", "perceptual", "g_adv", "d_real", "d_fake", "r1")
    adversarial = True

    def __init__(self, adv_weight: float, pretrain_steps: int = 0, r1_gamma: float = 0.0, perceptual=None):
        self.adv_weight, self.pretrain_steps, self.r1_gamma, self.perceptual = adv_weight, pretrain_steps, r1_gamma, perceptual

    def is_adversarial(self, step: int) -> bool:
        return step >= self.pretrain_steps

    def generator_loss(self, fake: Tensor, hr: Tensor, discriminator: nn.Module, step: int) -> tuple[Tensor, dict]:
        l1 = F.l1_loss(fake, hr)
        loss, parts = l1, {"l1": l1}
        if self.perceptual is not None:
            parts["perceptual"] = self.perceptual(fake, hr)
            loss = loss + parts["perceptual"]
        if self.is_adversarial(step):
            parts["g_adv"] = F.softplus(-discriminator(fake)).mean()
            loss = loss + self.adv_weight * parts["g_adv"]
        return loss, parts

    def discriminator_loss(self, fake: Tensor, hr: Tensor, discriminator: nn.Module) -> tuple[Tensor, dict]:
        real = hr.detach().requires_grad_(self.r1_gamma > 0)
        real_logits = discriminator(real)
        parts = {"d_real": F.softplus(-real_logits).mean(), "d_fake": F.softplus(discriminator(fake.detach())).mean()}
        loss = parts["d_real"] + parts["d_fake"]
        if self.r1_gamma > 0:
            (gradient,) = torch.autograd.grad(real_logits.sum(), real, create_graph=True)
            parts["r1"] = gradient.square().sum(dim=(1, 2, 3)).mean()
            loss = loss + self.r1_gamma / 2 * parts["r1"]
        return loss, parts


LOSS_OPTIONS = ("pretrain_steps", "adv_weight", "r1_gamma", "perceptual", "weights_dir")
# The loss options each model uses (None = not given); giving one to another model is an error, not ignored.
MODEL_OPTIONS = {
    "autoencoder": (),
    "srgan": ("pretrain_steps", "adv_weight", "perceptual", "weights_dir"),
    "stylegan-lite": ("pretrain_steps", "adv_weight", "r1_gamma"),
}


def unused_options(model: str, **options) -> list[str]:
    """Names of the given (not None) ``options`` that ``model`` does not use."""
    return [name for name, value in options.items() if value is not None and name not in MODEL_OPTIONS.get(model, ())]


def make_objective(model: str, steps: int, pretrain_steps: int | None = None, adv_weight: float | None = None,
                   r1_gamma: float | None = None, perceptual: str | None = None, weights_dir=None):
    """``(objective, note, warning)``: what ``model`` minimises, a line for the log and card, and a warning or None."""
    unused = unused_options(model, pretrain_steps=pretrain_steps, adv_weight=adv_weight, r1_gamma=r1_gamma,
                            perceptual=perceptual, weights_dir=weights_dir)
    if unused:
        raise ValueError(f"--model {model} does not use {', '.join(unused)}: leave them unset")
    if model == "autoencoder":
        return Fidelity(), "autoencoder: L1 + 0.2 * (1 - SSIM)", None
    if model == "srgan":
        lpips_loss, lpips_note, warning = perceptual_loss(perceptual or "auto", weights_dir)
        pretrain = steps // 2 if pretrain_steps is None else pretrain_steps
        weight = 1e-2 if adv_weight is None else adv_weight
        note = f"srgan: L1 for {pretrain} steps, then L1 + {weight:g} x non-saturating GAN loss; {lpips_note}"
        return Adversarial(weight, pretrain, 0.0, lpips_loss), note, warning
    if model == "stylegan-lite":
        r1_gamma = 1.0 if r1_gamma is None else r1_gamma
        pretrain = steps // 4 if pretrain_steps is None else pretrain_steps
        weight = 1e-2 if adv_weight is None else adv_weight
        note = f"stylegan-lite: L1 for {pretrain} steps, then L1 + {weight:g} x non-saturating GAN loss, R1 gamma {r1_gamma:g}"
        return Adversarial(weight, pretrain, r1_gamma), note, None
    raise ValueError(f"model must be srgan, stylegan-lite or autoencoder, got {model!r}")
