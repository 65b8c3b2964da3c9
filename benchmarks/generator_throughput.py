"""img2img edits per second: a naive loop of single edits vs batched edits, side by side.

CPU (default): the built-in tiny model with TAESD, fp32.
    OMP_NUM_THREADS=2 python benchmarks/generator_throughput.py --edits 8 --batch 4 --size 128

GPU: Stable Diffusion 1.5's architecture from config with random weights (``load_editor("sd15-architecture")``),
512 x 512, strength 0.5, 30 steps, CFG 7.5. Baseline: the naive loop in fp32; candidate: batched fp16 with SDPA and
channels-last (``--compile`` adds ``torch.compile``). Achieved FLOP/s come from ``torch.utils.flop_counter`` on one
UNet call and one VAE encode + decode, times the calls made.
    python benchmarks/generator_throughput.py --device cuda --edits 16 --batch 8

Prints the measured figures; nothing is asserted.
"""

from __future__ import annotations

import argparse
import time

import torch
from PIL import Image

from forensics.config import data_root
from generator import EditParams, load_editor


def photos(count: int) -> list[Image.Image]:
    """The first ``count`` Kodak photos of the shared data (real inputs, fixed order)."""
    files = sorted((data_root() / "photos" / "kodak").glob("*.png"))[:count]
    if len(files) < count:
        raise SystemExit(f"need {count} photos in {data_root() / 'photos' / 'kodak'}")
    return [Image.open(f).convert("RGB") for f in files]


def params_for(args: argparse.Namespace, count: int) -> list[EditParams]:
    return [
        EditParams(prompt="a watercolor painting", negative_prompt="blurry", strength=args.strength,
                   steps=args.steps, guidance=args.cfg, seed=i, width=args.size, height=args.size, crop="center")
        for i in range(count)
    ]


def synchronize(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def timed(editor, images, params, batch: int, device: str) -> float:
    """Seconds for all edits, in chunks of ``batch`` (1 = the naive loop)."""
    synchronize(device)
    started = time.perf_counter()
    for start in range(0, len(images), batch):
        editor.edit_batch(images[start : start + batch], params[start : start + batch])
    synchronize(device)
    return time.perf_counter() - started


def flops_per_edit(editor, params: EditParams) -> float:
    """FLOPs of one edit: UNet calls (CFG doubles the batch) x effective steps, plus one VAE encode and decode."""
    from torch.utils.flop_counter import FlopCounterMode

    pipe = editor.pipe
    device, dtype = pipe.unet.device, pipe.unet.dtype
    side = params.width // pipe.vae_scale_factor
    latents = torch.randn(2, pipe.unet.config.in_channels, side, side, device=device, dtype=dtype)
    context = torch.randn(2, 77, pipe.unet.config.cross_attention_dim, device=device, dtype=dtype)
    image = torch.randn(1, 3, params.width, params.width, device=device, dtype=dtype)
    with torch.inference_mode(), FlopCounterMode(display=False) as unet_counter:
        pipe.unet(latents, 500, encoder_hidden_states=context)
    with torch.inference_mode(), FlopCounterMode(display=False) as vae_counter:
        encoded = pipe.vae.encode(image)
        sample = encoded.latents if hasattr(encoded, "latents") else encoded.latent_dist.mode()
        pipe.vae.decode(sample)
    return unet_counter.get_total_flops() * params.effective_steps() + vae_counter.get_total_flops()


def report(name: str, seconds: float, edits: int, baseline: float | None, flops: float | None) -> None:
    rate = edits / seconds
    ratio = f"{baseline / seconds:5.2f}x" if baseline else "1.00x (baseline)"
    achieved = f", {flops * edits / seconds / 1e9:9.1f} GFLOP/s" if flops else ""
    print(f"{name:<34} {seconds:8.2f} s  {rate:7.3f} edits/s  {ratio}{achieved}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--edits", type=int, default=8)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--size", type=int, help="square edit size (default 128 on CPU, 512 on CUDA)")
    parser.add_argument("--steps", type=int, help="default 20 on CPU, 30 on CUDA")
    parser.add_argument("--strength", type=float, default=0.5)
    parser.add_argument("--cfg", type=float, default=7.5)
    parser.add_argument("--compile", action="store_true", help="CUDA: torch.compile the UNet of the batched path")
    args = parser.parse_args()
    gpu = args.device.startswith("cuda")
    args.size = args.size or (512 if gpu else 128)
    args.steps = args.steps or (30 if gpu else 20)
    images = photos(args.edits)
    params = params_for(args, args.edits)
    print(f"device {args.device} ({torch.cuda.get_device_name() if gpu else f'{torch.get_num_threads()} threads'}), "
          f"torch {torch.__version__}; {args.edits} edits of {args.size}x{args.size}, strength {args.strength}, "
          f"{args.steps} steps ({params[0].effective_steps()} run), CFG {args.cfg}")
    if gpu:
        baseline_editor = load_editor("sd15-architecture", device=args.device, dtype="fp32")
        fast_editor = None  # loaded after the baseline is freed: two SD copies need not fit together
    else:
        baseline_editor = fast_editor = load_editor("tiny", device=args.device)
    print(f"model: {baseline_editor.description}")
    flops = flops_per_edit(baseline_editor, params[0])
    print(f"FLOPs per edit: {flops / 1e9:.1f} GFLOP")
    timed(baseline_editor, images[:1], params[:1], 1, args.device)  # warm-up
    naive = timed(baseline_editor, images, params, 1, args.device)
    report(f"naive loop ({'fp32' if gpu else 'fp32 CPU'})", naive, args.edits, None, flops)
    if gpu:
        del baseline_editor
        torch.cuda.empty_cache()
        fast_editor = load_editor("sd15-architecture", device=args.device, dtype="fp16", channels_last=True,
                                  compile=args.compile)
        timed(fast_editor, images[: args.batch], params[: args.batch], args.batch, args.device)  # warm-up/compile
    batched = timed(fast_editor, images, params, args.batch, args.device)
    label = f"batched x{args.batch}" + (" fp16 SDPA channels-last" if gpu else "")
    label += " compiled" if args.compile else ""
    report(label, batched, args.edits, naive, flops)
    if gpu:
        print(f"peak GPU memory {torch.cuda.max_memory_allocated() / 2**30:.1f} GiB")


if __name__ == "__main__":
    main()
