"""Train the built-in "inhouse-ldm" model: a small latent diffusion UNet in the TAESD latent space.

The recipe (``datasets/inhouse-ldm.json``) fixes everything: the photos and the held-out ones, the crops, the UNet
config, the optimiser, the time budget and the evaluation. The model is a diffusers ``UNet2DConditionModel`` trained
with Stable Diffusion 1.x's noise schedule (``generator.schedulers.SD_SCHEDULER_CONFIG``: scaled-linear betas
0.00085-0.012, 1000 steps, epsilon prediction), conditioned on the frozen tiny CLIP text encoder of
``generator.tiny`` so that ``StableDiffusionImg2ImgPipeline`` runs it unchanged with any scheduler and any prompt.
The photos carry no captions: half of the training items get the empty prompt (the unconditional input of
classifier-free guidance), the others a random prompt, so the model learns that text carries no information and
guidance is harmless.

Stages (``python -m generator.train_unet datasets/inhouse-ldm.json --stage all``):
  prepare  -- encode one random crop (random scale, random flip) of every photo with TAESD; cached in ``cache``
  train    -- AdamW on the epsilon MSE, EMA weights checkpointed to ``output`` every ``checkpoint_every`` steps
  evaluate -- held-out denoising loss of the trained (EMA) vs a randomly initialised UNet, loss curve, img2img grid
"""

from __future__ import annotations

import argparse
import copy
import csv
import json
import random
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from diffusers import DDPMScheduler, UNet2DConditionModel
from PIL import Image, ImageOps

from forensics.config import PROJECT_ROOT, data_root
from generator.prompts import STYLE_PROMPTS
from generator.schedulers import SD_SCHEDULER_CONFIG
from generator.tiny import build_text_encoder, build_tokenizer, tiny_unet_config

LATENTS_FILE = "latents.pt"
LOG_FILE = "train_log.jsonl"
CHECKPOINT_FILE = "checkpoint.pt"
METRICS_FILE = "metrics.json"


def read_recipe(path: str | Path) -> dict[str, Any]:
    return json.loads(Path(path).read_text())


def unet_config(recipe: dict[str, Any]) -> dict[str, Any]:
    """The UNet config: ``generator.tiny``'s SD-1.x block layout at the recipe's widths, latent crop size."""
    spec = recipe["unet"]
    config = tiny_unet_config(
        block_out_channels=tuple(spec["block_out_channels"]),
        layers_per_block=spec["layers_per_block"],
        attention_head_dim=spec["attention_head_dim"],
        sample_size=recipe["latent_crop"],
    )
    config["norm_num_groups"] = spec["norm_num_groups"]
    return config


def build_unet(recipe: dict[str, Any]) -> UNet2DConditionModel:
    """The randomly initialised UNet of the recipe (its ``unet.seed``): the training start and the loss baseline."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(recipe["unet"]["seed"])
        return UNet2DConditionModel(**unet_config(recipe))


# --- data -------------------------------------------------------------------------------------------------------


def photo_split(recipe: dict[str, Any]) -> tuple[list[str], list[str]]:
    """(training, held-out) photo files, relative to the photos folder, from its ``manifest.csv``."""
    spec = recipe["photos"]
    with open(data_root() / spec["folder"] / "manifest.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    eligible = [
        row["file"]
        for row in rows
        if row["file"].split("/")[0] not in spec["exclude_folders"]
        and min(int(v) for v in row["width_x_height"].split("x")) >= spec["min_side"]
    ]
    held_out = set(recipe["held_out"]["files"])
    missing = held_out - set(eligible)
    if missing:
        raise ValueError(f"held-out photos not among the eligible ones: {sorted(missing)}")
    return [f for f in eligible if f not in held_out], [f for f in eligible if f in held_out]


def load_photo(recipe: dict[str, Any], file: str) -> Image.Image:
    """An RGB photo in display orientation (EXIF rotation applied)."""
    with Image.open(data_root() / recipe["photos"]["folder"] / file) as image:
        return ImageOps.exif_transpose(image).convert("RGB")


def random_crop(image: Image.Image, size: int, short_side: tuple[int, int], flip_p: float, rng: random.Random):
    """A ``size`` x ``size`` crop after resizing the short side to a random length in ``short_side`` (pixels)."""
    scale = rng.uniform(*short_side) / min(image.size)
    w, h = max(size, round(image.width * scale)), max(size, round(image.height * scale))
    image = image.resize((w, h), Image.Resampling.LANCZOS)
    x, y = rng.randint(0, w - size), rng.randint(0, h - size)
    crop = image.crop((x, y, x + size, y + size))
    return crop.transpose(Image.Transpose.FLIP_LEFT_RIGHT) if rng.random() < flip_p else crop


def to_tensor(images: list[Image.Image]) -> torch.Tensor:
    """PIL images -> (N, 3, H, W) float32 in [-1, 1], the autoencoder's input range."""
    array = np.stack([np.asarray(image, dtype=np.float32) for image in images])
    return torch.from_numpy(array).permute(0, 3, 1, 2) / 127.5 - 1.0


@torch.no_grad()
def encode_crops(vae, crops: list[Image.Image], batch: int = 8) -> torch.Tensor:
    """TAESD latents (N, 4, size/8, size/8) of the crops (TAESD's latents are already SD-scaled)."""
    return torch.cat([vae.encode(to_tensor(crops[i : i + batch])).latents for i in range(0, len(crops), batch)])


def prepare(recipe: dict[str, Any], cache: Path) -> Path:
    """Encode the training and held-out crops once; returns the cache file of both latent tensors."""
    from forensics.autoencoders import load_vae

    out = cache / LATENTS_FILE
    if out.exists():
        return out
    train_files, held_files = photo_split(recipe)
    spec = recipe["crops"]
    vae = load_vae(recipe["autoencoder"])
    rng = random.Random(recipe["seed"])
    latents = {}
    for split, files in (("held_out", held_files), ("train", train_files)):
        chunks, start = [], time.time()
        for i in range(0, len(files), 8):
            crops = []
            for f in files[i : i + 8]:
                photo = load_photo(recipe, f)  # decoded once for all its crops (same random draws as per crop)
                crops += [random_crop(photo, spec["size"], tuple(spec["short_side"]), spec["flip_probability"], rng)
                          for _ in range(spec["per_photo"])]
            chunks.append(encode_crops(vae, crops))
            done = min(i + 8, len(files))
            print(f"prepare {split}: {done}/{len(files)} photos, {time.time() - start:.0f} s", flush=True)
        latents[split] = torch.cat(chunks)
    latents["train_files"], latents["held_out_files"] = train_files, held_files
    cache.mkdir(parents=True, exist_ok=True)
    torch.save(latents, out)
    return out


def prompt_pool(recipe: dict[str, Any]) -> list[str]:
    """Training prompts: the built-in style prompts and negatives, plus random shuffles of their phrases."""
    styles = list(STYLE_PROMPTS.values())
    prompts = sorted({s.prompt for s in styles} | {s.negative_prompt for s in styles})
    phrases = sorted({p.strip() for text in prompts for p in text.split(",")})
    rng = random.Random(recipe["seed"])
    count = recipe["prompts"]["random_phrase_prompts"]
    prompts += [", ".join(rng.sample(phrases, rng.randint(1, 8))) for _ in range(count)]
    return prompts


@torch.no_grad()
def embed_prompts(recipe: dict[str, Any], prompts: list[str]) -> torch.Tensor:
    """(P, 77, hidden) last hidden states of the frozen tiny text encoder, as the SD pipeline computes them."""
    tokenizer, encoder = build_tokenizer(), build_text_encoder(recipe["text_encoder_seed"])
    ids = tokenizer(prompts, padding="max_length", max_length=tokenizer.model_max_length, truncation=True,
                    return_tensors="pt").input_ids
    return encoder(ids)[0]


# --- training ---------------------------------------------------------------------------------------------------


def noise_scheduler() -> DDPMScheduler:
    return DDPMScheduler.from_config(SD_SCHEDULER_CONFIG)


def sample_batch(latents: torch.Tensor, crop: int, batch: int, gen: torch.Generator) -> torch.Tensor:
    """Random ``crop`` x ``crop`` windows of random cached latents: (batch, 4, crop, crop)."""
    index = torch.randint(0, len(latents), (batch,), generator=gen)
    limit = latents.shape[-1] - crop + 1
    ys, xs = torch.randint(0, limit, (batch,), generator=gen), torch.randint(0, limit, (batch,), generator=gen)
    return torch.stack([latents[i, :, y : y + crop, x : x + crop] for i, y, x in zip(index, ys, xs, strict=True)])


def sample_conditioning(embeddings: torch.Tensor, batch: int, empty_p: float, gen: torch.Generator) -> torch.Tensor:
    """Per item the empty prompt's embedding (row 0) with probability ``empty_p``, else a random prompt's."""
    index = torch.randint(1, len(embeddings), (batch,), generator=gen)
    index[torch.rand(batch, generator=gen) < empty_p] = 0
    return embeddings[index]


def epsilon_loss(unet, scheduler, clean, noise, timesteps, context) -> torch.Tensor:
    """Per-item MSE between the true and the predicted noise: (N,)."""
    noisy = scheduler.add_noise(clean, noise, timesteps)
    prediction = unet(noisy, timesteps, encoder_hidden_states=context).sample
    return (prediction - noise).pow(2).mean(dim=(1, 2, 3))


@torch.no_grad()
def held_out_loss(unet, recipe: dict[str, Any], latents: torch.Tensor, context: torch.Tensor) -> dict[str, Any]:
    """Epsilon MSE on the held-out latents (centre window) at the recipe's fixed timesteps, fixed noise.

    Every held-out latent is noised at every timestep with noise drawn from ``evaluation.seed``; returns the mean and
    the mean per timestep. ``context`` is the empty prompt's embedding (1, 77, hidden).
    """
    spec, crop = recipe["evaluation"], recipe["latent_crop"]
    offset = (latents.shape[-1] - crop) // 2
    clean = latents[:, :, offset : offset + crop, offset : offset + crop]
    gen = torch.Generator().manual_seed(spec["seed"])
    scheduler, per_t = noise_scheduler(), []
    was_training = unet.training
    unet.eval()
    for t in spec["timesteps"]:
        noise = torch.randn(clean.shape, generator=gen)
        steps = torch.full((len(clean),), t, dtype=torch.long)
        contexts = context.expand(len(clean), -1, -1)
        per_t.append(epsilon_loss(unet, scheduler, clean, noise, steps, contexts).mean().item())
    unet.train(was_training)
    return {"mean": float(np.mean(per_t)), "per_timestep": dict(zip(spec["timesteps"], per_t, strict=True))}


def save_unet(unet: UNet2DConditionModel, folder: Path) -> None:
    """Save in diffusers layout as float16 safetensors (half the size; loads back as float32)."""
    copy.deepcopy(unet).half().save_pretrained(folder, safe_serialization=True)


def train(recipe: dict[str, Any], cache: Path, output: Path, minutes: float | None = None,
          resume: bool = False) -> None:
    """Train until the time budget or ``max_steps``; EMA weights go to ``output/unet`` at every checkpoint.

    ``resume`` continues a run: from ``cache/checkpoint.pt`` (weights, EMA, optimiser, step, time) when present,
    else from the EMA weights in ``output/unet`` (a run that predates checkpoints), appending to the same log.
    ``minutes`` is the budget of this call, not of the whole run. The EMA warm-up restarts at each resumption
    (as it did for the shipped weights).
    """
    spec = recipe["train"]
    torch.set_num_threads(spec["threads"])
    torch.manual_seed(recipe["seed"])
    data = torch.load(cache / LATENTS_FILE)
    prompts = prompt_pool(recipe)
    embeddings = embed_prompts(recipe, ["", *prompts])
    unet = build_unet(recipe).train()
    optimiser = torch.optim.AdamW(unet.parameters(), lr=spec["learning_rate"], weight_decay=spec["weight_decay"])
    ema = copy.deepcopy(unet).eval().requires_grad_(False)
    step, elapsed_before = _restore(unet, ema, optimiser, cache, output) if resume else (0, 0.0)
    first = step
    warmup = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda s: min(1.0, (s + 1) / spec["warmup_steps"]))
    # A resumed run draws new batches (the generator is seeded with the step it resumes at).
    scheduler, gen = noise_scheduler(), torch.Generator().manual_seed(recipe["seed"] + step)
    budget_s = 60 * (minutes if minutes is not None else spec["minutes"])
    output.mkdir(parents=True, exist_ok=True)
    # Shipped beside the UNet so the model does not depend on generator.tiny's initialisation staying the same.
    build_text_encoder(recipe["text_encoder_seed"]).save_pretrained(output / "text_encoder", safe_serialization=True)
    with open(cache / LOG_FILE, "a" if resume else "w") as log:
        start, losses = time.time(), []
        while step < spec["max_steps"] and time.time() - start < budget_s:
            clean = sample_batch(data["train"], recipe["latent_crop"], spec["batch_size"], gen)
            noise = torch.randn(clean.shape, generator=gen)
            timesteps = torch.randint(0, scheduler.config.num_train_timesteps, (len(clean),), generator=gen)
            context = sample_conditioning(embeddings, len(clean), recipe["prompts"]["empty_probability"], gen)
            loss = epsilon_loss(unet, scheduler, clean, noise, timesteps, context).mean()
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(unet.parameters(), spec["grad_clip"])
            optimiser.step()
            warmup.step()
            step += 1
            # EMA with a warm-up (decay grows from 0.1) so early checkpoints are not dominated by the random init.
            decay = min(spec["ema_decay"], (1 + step - first) / (10 + step - first))
            with torch.no_grad():
                for e, p in zip(ema.parameters(), unet.parameters(), strict=True):
                    e.lerp_(p, 1 - decay)
            losses.append(loss.item())
            elapsed = elapsed_before + time.time() - start
            record: dict[str, Any] = {"step": step, "time_s": round(elapsed, 1), "loss": losses[-1]}
            if step % recipe["evaluation"]["every"] == 0:
                record["held_out_loss"] = held_out_loss(ema, recipe, data["held_out"], embeddings[:1])["mean"]
            if step % spec["checkpoint_every"] == 0:
                _checkpoint(unet, ema, optimiser, step, elapsed, cache, output)
            log.write(json.dumps(record) + "\n")
            log.flush()
            if step % 10 == 0:
                print(f"step {step} {elapsed:.0f}s loss(10) {np.mean(losses[-10:]):.4f}", flush=True)
    _checkpoint(unet, ema, optimiser, step, elapsed_before + time.time() - start, cache, output)


def _checkpoint(unet, ema, optimiser, step: int, elapsed: float, cache: Path, output: Path) -> None:
    """Shipped EMA weights to ``output/unet``; everything a resumed run needs to ``cache/checkpoint.pt``."""
    save_unet(ema, output / "unet")
    torch.save({"unet": unet.state_dict(), "ema": ema.state_dict(), "optimiser": optimiser.state_dict(),
                "step": step, "time_s": elapsed}, cache / CHECKPOINT_FILE)


def truncate_log(cache: Path, step: int) -> None:
    """Drop the log records after ``step``: steps of a stopped run whose weights were never checkpointed."""
    path = cache / LOG_FILE
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(line for line in lines if json.loads(line)["step"] <= step))


def _restore(unet, ema, optimiser, cache: Path, output: Path) -> tuple[int, float]:
    """Load the state to resume from into ``unet``, ``ema`` and ``optimiser``; returns (step, seconds so far)."""
    if (cache / CHECKPOINT_FILE).exists():
        state = torch.load(cache / CHECKPOINT_FILE)
        unet.load_state_dict(state["unet"])
        ema.load_state_dict(state["ema"])
        optimiser.load_state_dict(state["optimiser"])
        truncate_log(cache, state["step"])
        return state["step"], state["time_s"]
    shipped = UNet2DConditionModel.from_pretrained(output / "unet", torch_dtype=torch.float32).state_dict()
    unet.load_state_dict(shipped)
    ema.load_state_dict(shipped)
    last = json.loads((cache / LOG_FILE).read_text().splitlines()[-1])
    return last["step"], last["time_s"]


# --- evaluation ---------------------------------------------------------------------------------------------------


def plot_loss_curve(log_path: Path, baseline: float, trained: float, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    records = [json.loads(line) for line in log_path.read_text().splitlines()]
    steps = np.array([r["step"] for r in records])
    loss = np.array([r["loss"] for r in records])
    window = min(50, len(loss))
    smooth = np.convolve(loss, np.ones(window) / window, mode="valid")
    evals = [(r["step"], r["held_out_loss"]) for r in records if "held_out_loss" in r]
    fig, ax = plt.subplots(figsize=(6, 3.6), dpi=100)
    ax.plot(steps, loss, color="0.8", lw=0.5, label="training loss (batch)")
    ax.plot(steps[window - 1 :], smooth, color="C0", label=f"training loss ({window}-step mean)")
    if evals:
        ax.plot(*zip(*evals, strict=True), "o-", color="C1", ms=3, label="held-out loss (EMA weights)")
    ax.axhline(baseline, color="C3", ls="--", label=f"held-out, random init ({baseline:.3f})")
    ax.axhline(trained, color="C2", ls=":", label=f"held-out, final EMA ({trained:.3f})")
    ax.set(xlabel="step (batch of 32 latent crops)", ylabel="epsilon MSE", yscale="log")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out)
    plt.close(fig)


def square(image: Image.Image, size: int) -> Image.Image:
    """Centre square crop resized to ``size`` x ``size`` pixels."""
    side = min(image.size)
    left, top = (image.width - side) // 2, (image.height - side) // 2
    return image.crop((left, top, left + side, top + side)).resize((size, size), Image.Resampling.LANCZOS)


def img2img_grid(recipe: dict[str, Any], model: Path, out: Path) -> None:
    """Rows: held-out photos; columns: the source, then ``StableDiffusionImg2ImgPipeline`` at each strength."""
    from diffusers import StableDiffusionImg2ImgPipeline

    from generator.builtin import inhouse_ldm_components
    from generator.schedulers import make_scheduler

    spec = recipe["grid"]
    components = inhouse_ldm_components(model)
    for key in ("description", "vae_name"):
        components.pop(key)
    components["scheduler"] = make_scheduler(spec["scheduler"], components["scheduler"].config)
    pipe = StableDiffusionImg2ImgPipeline(**components, safety_checker=None, feature_extractor=None,
                                          requires_safety_checker=False)
    pipe.set_progress_bar_config(disable=True)
    cell, rows = spec["cell"], []
    for file in spec["photos"]:
        source = square(load_photo(recipe, file), spec["size"])
        row = [source]
        for strength in spec["strengths"]:
            result = pipe(prompt=spec["prompt"], image=source, strength=strength, num_inference_steps=spec["steps"],
                          guidance_scale=spec["guidance"], generator=torch.Generator().manual_seed(spec["seed"]))
            row.append(result.images[0])
        rows.append(row)
    grid = Image.new("RGB", (cell * len(rows[0]), cell * len(rows)))
    for r, row in enumerate(rows):
        for c, image in enumerate(row):
            grid.paste(image.resize((cell, cell), Image.Resampling.LANCZOS), (c * cell, r * cell))
    grid.save(out, optimize=True)


def evaluate(recipe: dict[str, Any], cache: Path, output: Path) -> dict[str, Any]:
    """Held-out loss of the trained vs the random UNet, loss curve and img2img grid; writes ``metrics.json``."""
    torch.set_num_threads(recipe["train"]["threads"])
    data = torch.load(cache / LATENTS_FILE)
    context = embed_prompts(recipe, [""])
    trained = UNet2DConditionModel.from_pretrained(output / "unet", torch_dtype=torch.float32)
    records = [json.loads(line) for line in (cache / LOG_FILE).read_text().splitlines()]
    metrics = {
        "held_out_photos": len(data["held_out_files"]),
        "training_photos": len(data["train_files"]),
        "steps": records[-1]["step"],
        "train_time_s": records[-1]["time_s"],
        "parameters": sum(p.numel() for p in trained.parameters()),
        "held_out_loss": {
            "trained_ema": held_out_loss(trained, recipe, data["held_out"], context),
            "random_init": held_out_loss(build_unet(recipe), recipe, data["held_out"], context),
        },
    }
    (output / METRICS_FILE).write_text(json.dumps(metrics, indent=2) + "\n")
    losses = metrics["held_out_loss"]
    plot_loss_curve(cache / LOG_FILE, losses["random_init"]["mean"], losses["trained_ema"]["mean"],
                    output / "loss_curve.png")
    img2img_grid(recipe, output, output / "img2img_grid.png")
    return metrics


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("recipe", help="recipe JSON, e.g. datasets/inhouse-ldm.json")
    parser.add_argument("--stage", choices=("prepare", "train", "evaluate", "all"), default="all")
    parser.add_argument("--minutes", type=float, default=None, help="training time budget (default: the recipe's)")
    parser.add_argument("--resume", action="store_true", help="continue the run in the recipe's cache")
    args = parser.parse_args(argv)
    recipe = read_recipe(args.recipe)
    cache, output = Path(recipe["cache"]), PROJECT_ROOT / recipe["output"]
    torch.set_num_threads(recipe["train"]["threads"])
    if args.stage in ("prepare", "all"):
        prepare(recipe, cache)
    if args.stage in ("train", "all"):
        train(recipe, cache, output, args.minutes, args.resume)
    if args.stage in ("evaluate", "all"):
        print(json.dumps(evaluate(recipe, cache, output), indent=2))


if __name__ == "__main__":
    main()
