"""The ``iqa train-sr`` loop: data, optimisation, EMA, checkpoints, logs and validation.

Run directory layout::

    RUN_DIR/checkpoint.safetensors   full training state (models, EMA, optimisers, schedulers, RNG, step)
    RUN_DIR/weights.safetensors      the EMA generator, loadable with iqa.models.load(RUN_DIR)
    RUN_DIR/card.json                architecture, scale, params, data, steps, validation scores
    RUN_DIR/train.csv                one row per logged step: step, losses, lr, seconds
    RUN_DIR/valid.csv                one row per validation: step, psnr_y, ssim_y[, niqe]
    RUN_DIR/tensorboard/             TensorBoard event files (when tensorboard is installed)
"""
from __future__ import annotations

import copy
import csv
import io
import json
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import DataLoader, Subset
from torch.utils.data.distributed import DistributedSampler

from .. import models as zoo
from ..data.div2k import ImagePairs, RandomPatches, open_pairs
from ..io.atomic import atomic_write_text
from . import distributed
from .checkpoint import load_state, rng_state, save_state, set_rng_state
from .objectives import LOSS_OPTIONS, MODEL_OPTIONS, make_objective

CHECKPOINT, WEIGHTS, CARD = "checkpoint.safetensors", "weights.safetensors", "card.json"
# Config fields that change what a run computes; --resume refuses a checkpoint saved with other values.
# (out, device, resume, logging/saving/validation cadence, workers and progress do not.)
RUN_FIELDS = ("model", "data", "scale", "steps", "batch_size", "patch_size", "lr", "seed", "pretrain_steps",
              "adv_weight", "r1_gamma", "perceptual", "ema_decay", "model_options")
DIV2K_COMMAND = "iqa train-sr --model {model} --data /path/to/DIV2K --scale {scale} --steps 300000 --batch-size 16 --patch-size 128"


class ResumeMismatchError(ValueError):
    """--resume with settings that differ from those the checkpoint was saved with."""


@dataclass
class TrainConfig:
    model: str
    out: Path
    data: Path | None = None  # None: the embedded sample set
    scale: int = 4
    steps: int = 1000
    batch_size: int = 16
    patch_size: int = 96  # HR pixels
    lr: float = 2e-4
    seed: int = 0
    device: str = "auto"
    resume: bool = False
    save_every: int = 200
    val_every: int = 200
    log_every: int = 10
    val_images: int | None = 10
    pretrain_steps: int | None = None  # GAN models only
    adv_weight: float | None = None  # GAN models only
    r1_gamma: float | None = None  # stylegan-lite only [1.0]
    perceptual: str | None = None  # srgan only: LPIPS loss auto|on|off [auto: on when its weights are found]
    weights_dir: Path | None = None  # srgan only: a folder searched for the LPIPS weights before the torch hub cache
    ema_decay: float = 0.999
    workers: int = 0
    progress: bool = True
    model_options: dict = field(default_factory=dict)


class Trainer:
    def __init__(self, config: TrainConfig, dist: distributed.Dist):
        self.config, self.dist, self.device = config, dist, dist.device
        torch.manual_seed(config.seed)
        self.generator = zoo.build(config.model, scale=config.scale, **config.model_options).to(self.device)
        self.objective, self.objective_note, self.objective_warning = make_objective(
            config.model, config.steps, config.pretrain_steps, config.adv_weight, config.r1_gamma,
            config.perceptual, config.weights_dir,
        )
        self.discriminator = zoo.Discriminator().to(self.device) if self.objective.adversarial else None
        betas = (0.0, 0.99) if config.model == "stylegan-lite" else (0.9, 0.99)
        self.optimizers = {"generator": torch.optim.Adam(self.generator.parameters(), config.lr, betas=betas)}
        if self.discriminator is not None:
            self.optimizers["discriminator"] = torch.optim.Adam(self.discriminator.parameters(), config.lr, betas=betas)
        # Each schedule spans the steps its optimizer runs (the discriminator starts after the L1 warm-up).
        active_steps = {"generator": config.steps, "discriminator": config.steps - getattr(self.objective, "pretrain_steps", 0)}
        self.schedulers = {
            name: torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(active_steps[name], 1), eta_min=config.lr / 10)
            for name, opt in self.optimizers.items()
        }
        for module in self._trained_modules():
            distributed.broadcast_parameters(module, dist)
        self.ema = copy.deepcopy(self.generator).eval().requires_grad_(False)
        self.step, self.seconds = 0, 0.0
        self.validation: dict[str, float] = {}

    def _trained_modules(self) -> list[nn.Module]:
        return [m for m in (self.generator, self.discriminator) if m is not None]

    # -- state -----------------------------------------------------------------------------------
    def state(self) -> dict:
        state = {
            "step": self.step, "seconds": self.seconds, "config": _config_json(self.config), "world_size": self.dist.world_size,
            "loss": self.objective_note,
            "generator": self.generator.state_dict(), "ema": self.ema.state_dict(), "rng": rng_state(),
            "optimizers": {k: v.state_dict() for k, v in self.optimizers.items()},
            "schedulers": {k: v.state_dict() for k, v in self.schedulers.items()},
        }
        if self.discriminator is not None:
            state["discriminator"] = self.discriminator.state_dict()
        return state

    def restore(self, path: Path) -> None:
        """Continue from the checkpoint at ``path``; ValueError naming each setting that differs from it."""
        state = load_state(path)
        self._check_same_run(path, state)
        self.generator.load_state_dict(state["generator"])
        self.ema.load_state_dict(state["ema"])
        if self.discriminator is not None:
            self.discriminator.load_state_dict(state["discriminator"])
        for name, optimizer in self.optimizers.items():
            optimizer.load_state_dict(state["optimizers"][name])
        for name, scheduler in self.schedulers.items():
            scheduler.load_state_dict(state["schedulers"][name])
        set_rng_state(state["rng"])
        self.step, self.seconds = int(state["step"]), float(state["seconds"])

    def _check_same_run(self, path: Path, state: dict) -> None:
        saved, current = json.loads(state["config"]), json.loads(_config_json(self.config))
        # Items per step = batch_size x processes; --perceptual auto resolves by the weights found.
        saved["world_size"], current["world_size"] = state.get("world_size", self.dist.world_size), self.dist.world_size
        saved["loss"], current["loss"] = state.get("loss", self.objective_note), self.objective_note
        # Loss options the model does not use: older checkpoints stored a default there (r1_gamma 1.0).
        unused = set(LOSS_OPTIONS) - set(MODEL_OPTIONS.get(self.config.model, ()))
        differences = [
            f"{name}: checkpoint {saved.get(name)!r}, now {current[name]!r}"
            for name in (*RUN_FIELDS, "world_size", "loss") if name not in unused and saved.get(name) != current[name]
        ]
        if differences:
            raise ResumeMismatchError(
                f"--resume: {path} was saved by a run with other settings; resume with the same ones "
                "(or choose another --out):\n  " + "\n  ".join(differences)
            )

    def save(self) -> None:
        out = self.config.out
        save_state(self.state(), out / CHECKPOINT)
        zoo.save_weights(self.ema, out / WEIGHTS, {"step": str(self.step)})
        atomic_write_text(out / CARD, json.dumps(self.card(), indent=2) + "\n")

    def card(self) -> dict:
        c = self.config
        data = "DIV2K at " + str(c.data) if c.data else (
            "the embedded sample set (scikit-image photographs, iqa.data.TRAIN_NAMES); NOT trained on DIV2K"
        )
        return {
            "architecture": c.model, "scale": c.scale, "config": self.ema.config,
            "params": sum(p.numel() for p in self.ema.parameters()),
            "training_data": data, "steps": self.step, "batch_size": c.batch_size * self.dist.world_size,
            "patch_size": c.patch_size, "lr": c.lr, "seed": c.seed, "loss": self.objective_note,
            "training_seconds": round(self.seconds, 1),
            "validation": {"step": self.step, **self.validation, "images": "DIV2K_valid_HR" if c.data else "iqa.data.VALID_NAMES",
                           "convention": "Y (BT.601), crop_border=scale, EMA weights"},
            "div2k_command": DIV2K_COMMAND.format(model=c.model, scale=c.scale),
        }

    # -- training --------------------------------------------------------------------------------
    def batches(self, pairs: ImagePairs):
        c, d = self.config, self.dist
        dataset = RandomPatches(pairs, c.patch_size, length=c.steps * c.batch_size * d.world_size, seed=c.seed)
        # Rank r takes items r, r + W, r + 2W, ...; skipping consumed batches makes --resume exact.
        indices = list(DistributedSampler(dataset, num_replicas=d.world_size, rank=d.rank, shuffle=False))
        remaining = Subset(dataset, indices[self.step * c.batch_size :])
        # Its own generator: a DataLoader draws a seed when iterated, which must not disturb the global RNG
        # (restored exactly on --resume).
        return DataLoader(remaining, batch_size=c.batch_size, num_workers=c.workers, drop_last=True,
                          generator=torch.Generator().manual_seed(c.seed))

    def train_step(self, lr_batch, hr_batch) -> dict[str, float]:
        objective, parts = self.objective, {}
        adversarial = self.discriminator is not None and objective.is_adversarial(self.step)
        fake = self.generator(lr_batch)
        if adversarial:
            d_loss, d_parts = objective.discriminator_loss(fake, hr_batch, self.discriminator)
            self._update("discriminator", self.discriminator, d_loss)
            parts.update(d_parts)
            self.discriminator.requires_grad_(False)  # the generator step must not train D
        g_loss, g_parts = objective.generator_loss(fake, hr_batch, self.discriminator, self.step)
        self._update("generator", self.generator, g_loss)
        if self.discriminator is not None:
            self.discriminator.requires_grad_(True)
        parts.update(g_parts)
        self.schedulers["generator"].step()
        if adversarial:
            self.schedulers["discriminator"].step()
        self._update_ema()
        self.step += 1
        return {k: float(v.detach()) for k, v in parts.items()}

    def _update(self, name: str, module: nn.Module, loss) -> None:
        optimizer = self.optimizers[name]
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        distributed.average_gradients(module, self.dist)
        optimizer.step()

    @torch.no_grad()
    def _update_ema(self) -> None:
        # Warm-up: early on the EMA follows the weights closely instead of averaging in the random start.
        decay = min(self.config.ema_decay, (1 + self.step) / (10 + self.step))
        for average, current in zip(self.ema.state_dict().values(), self.generator.state_dict().values()):
            average.lerp_(current, 1 - decay) if average.is_floating_point() else average.copy_(current)

    @torch.no_grad()
    def validate(self, pairs: ImagePairs) -> dict[str, float]:
        from .validation import score_model

        self.validation = score_model(self.ema, pairs, self.config.scale, self.device)
        return self.validation


class CsvLog:
    """A CSV log appended row by row; on resume it drops rows a killed run wrote after its last checkpoint."""

    def __init__(self, path: Path, columns: list[str], resume_step: int):
        rows = []
        if path.is_file() and resume_step > 0:
            with open(path, newline="") as f:
                rows = [r for r in csv.DictReader(f) if int(r["step"]) <= resume_step]
        # The kept rows replace the file atomically: a crash now must not lose the log of the steps already run.
        kept = io.StringIO()
        writer = csv.DictWriter(kept, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
        atomic_write_text(path, kept.getvalue())
        self.handle = open(path, "a", newline="")
        self.writer = csv.DictWriter(self.handle, fieldnames=columns, extrasaction="ignore")

    def write(self, row: dict) -> None:
        self.writer.writerow(row)
        self.handle.flush()

    def close(self) -> None:
        self.handle.close()


def _config_json(config: TrainConfig) -> str:
    return json.dumps(asdict(config), default=str)


def _tensorboard(out: Path):
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        return None
    return SummaryWriter(str(out / "tensorboard"))


def train(config: TrainConfig) -> dict:
    """Train one model; returns its card. Launch under ``torchrun`` for several processes."""
    dist = distributed.setup(config.device)
    try:
        return _train(config, dist)
    finally:
        distributed.teardown(dist)


def _log(dist: distributed.Dist, message: str) -> None:
    if dist.is_main:
        print(message, file=sys.stderr, flush=True)


def _train(config: TrainConfig, dist: distributed.Dist) -> dict:
    config.out = Path(config.out)
    checkpoint = config.out / CHECKPOINT
    if checkpoint.is_file() and not config.resume:
        raise FileExistsError(f"{checkpoint} exists: pass --resume to continue that run, or choose another --out")
    trainer = Trainer(config, dist)
    if config.resume and checkpoint.is_file():
        trainer.restore(checkpoint)
        _log(dist, f"resumed {checkpoint} at step {trainer.step}")
    _log(dist, trainer.objective_note)
    if trainer.objective_warning:
        _log(dist, trainer.objective_warning)
    train_pairs = open_pairs(config.data, "train", config.scale)
    valid_pairs = open_pairs(config.data, "valid", config.scale)
    if config.val_images is not None:
        valid_pairs = valid_pairs.head(config.val_images)

    loss_columns = list(trainer.objective.loss_names)
    train_log = valid_log = board = None
    if dist.is_main:
        config.out.mkdir(parents=True, exist_ok=True)
        train_log = CsvLog(config.out / "train.csv", ["step", *loss_columns, "lr", "seconds"], trainer.step)
        valid_log = CsvLog(config.out / "valid.csv", ["step", "psnr_y", "ssim_y", "niqe"], trainer.step)
        board = _tensorboard(config.out)

    progress = None
    if config.progress and dist.is_main:
        from tqdm import tqdm

        progress = tqdm(total=config.steps, initial=trainer.step, desc=f"train-sr {config.model}", dynamic_ncols=True)
    started = time.perf_counter() - trainer.seconds
    for lr_batch, hr_batch in trainer.batches(train_pairs):
        if trainer.step >= config.steps:
            break
        parts = trainer.train_step(lr_batch.to(trainer.device), hr_batch.to(trainer.device))
        trainer.seconds = time.perf_counter() - started
        step = trainer.step
        if progress is not None:
            progress.update(1)
            progress.set_postfix({k: f"{v:.4f}" for k, v in parts.items()}, refresh=False)
        if dist.is_main and (step % config.log_every == 0 or step == config.steps):
            row = {"step": step, **parts, "lr": trainer.schedulers["generator"].get_last_lr()[0], "seconds": round(trainer.seconds, 3)}
            train_log.write(row)
            if board is not None:
                for key, value in row.items():
                    if key != "step":
                        board.add_scalar(f"train/{key}", value, step)
        if step % config.val_every == 0 or step == config.steps:
            if dist.is_main:
                scores = trainer.validate(valid_pairs)
                valid_log.write({"step": step, **scores})
                if board is not None:
                    for key, value in scores.items():
                        board.add_scalar(f"valid/{key}", value, step)
                _log(dist, f"step {step}: " + ", ".join(f"{k} {v:.4f}" for k, v in scores.items()))
        if step % config.save_every == 0 or step == config.steps:
            if dist.is_main:
                trainer.save()
            distributed.barrier(dist)
    if progress is not None:
        progress.close()
    for log in (train_log, valid_log):
        if log is not None:
            log.close()
    if board is not None:
        board.close()
    return trainer.card()
