"""ComfyUI ``prompt`` (API graph) and ``workflow`` (UI graph) JSON: walk the graph to tell how the image was made.

A sampler whose latent comes from ``VAEEncode`` of a loaded image is img2img (its ``denoise``
is the edit strength); ``VAEEncodeForInpaint``/``InpaintModelConditioning``/``SetLatentNoiseMask``
make it inpainting; a latent that comes from another sampler (directly or decoded, upscaled and
re-encoded) is a hires/refine pass over a generated image. Graphs are untrusted: walks are
iterative, visit each node once and stop at :data:`MAX_NODES`.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from forensics.analyzers.metadata.readout import clip_text, number

MAX_NODES = 5_000
MAX_SAMPLERS = 50  # each sampler walks the graph once: bounded work on hostile graphs

_ENCODE = {"VAEEncode", "VAEEncodeTiled"}
_INPAINT = {"VAEEncodeForInpaint", "InpaintModelConditioning", "SetLatentNoiseMask", "LoadImageMask"}
_EDIT = {"InstructPixToPixConditioning", "TextEncodeQwenImageEdit", "TextEncodeQwenImageEditPlus", "ReferenceLatent"}
_CONDITION = ("ControlNet", "unCLIP", "CLIPVision", "IPAdapter", "StyleModel", "Redux")
_MODEL_SUFFIXES = (".safetensors", ".ckpt", ".pt", ".pth", ".bin", ".sft", ".gguf", ".onnx")
#: Order of how much a mode depends on an existing image (the file's overall mode is the highest).
_MODE_RANK = ["txt2img", "txt2img+hires", "image-conditioned", "edit", "img2img", "inpaint"]
# Widget order of common nodes in UI-format workflows (used only when no API ``prompt`` graph exists).
_WIDGETS = {
    "KSampler": ["seed", "control_after_generate", "steps", "cfg", "sampler_name", "scheduler", "denoise"],
    "LoadImage": ["image"],
    "CheckpointLoaderSimple": ["ckpt_name"],
    "CLIPTextEncode": ["text"],
}


def _is_sampler(node: dict[str, Any]) -> bool:
    kind = node["class_type"]
    return (
        "Sampler" in kind and "Select" not in kind and ("latent_image" in node["inputs"] or "latent" in node["inputs"])
    )


def _is_loader(kind: str) -> bool:
    return kind.startswith("LoadImage") or kind in {"Load Image", "ImageInput", "LoadImageOutput"}


def _links(inputs: dict[str, Any]) -> list[tuple[str, str]]:
    """(input name, source node id) for every input that is a link ``[node_id, output_index]``."""
    return [
        (name, str(value[0]))
        for name, value in inputs.items()
        if isinstance(value, list) and len(value) == 2 and isinstance(value[0], (str, int))
    ]


def normalise_prompt(graph: Any) -> dict[str, dict[str, Any]] | None:
    """API-format graph as ``{id: {"class_type": str, "inputs": dict}}``; ``None`` if it is not one."""
    if not isinstance(graph, dict) or not graph:
        return None
    nodes: dict[str, dict[str, Any]] = {}
    for node_id, node in list(graph.items())[:MAX_NODES]:
        if isinstance(node, dict) and isinstance(node.get("class_type"), str):
            inputs = node.get("inputs")
            nodes[str(node_id)] = {
                "class_type": node["class_type"],
                "inputs": inputs if isinstance(inputs, dict) else {},
            }
    return nodes or None


def workflow_to_prompt(workflow: Any) -> dict[str, dict[str, Any]] | None:
    """Rebuild an API-like graph from a UI ``workflow`` (topology, plus widgets of common nodes)."""
    if not isinstance(workflow, dict) or not isinstance(workflow.get("nodes"), list):
        return None
    link_source: dict[Any, str] = {}
    for link in workflow.get("links") or []:
        if isinstance(link, list) and len(link) >= 3:
            link_source[link[0]] = str(link[1])
    nodes: dict[str, dict[str, Any]] = {}
    for node in workflow["nodes"][:MAX_NODES]:
        if not isinstance(node, dict) or not isinstance(node.get("type"), str):
            continue
        inputs: dict[str, Any] = {}
        for slot in node.get("inputs") or []:
            if isinstance(slot, dict) and slot.get("link") in link_source:
                inputs[str(slot.get("name"))] = [link_source[slot["link"]], 0]
        widgets = node.get("widgets_values")
        if isinstance(widgets, list):
            for name, value in zip(_WIDGETS.get(node["type"], []), widgets, strict=False):
                inputs.setdefault(name, value)
        nodes[str(node.get("id"))] = {"class_type": node["type"], "inputs": inputs}
    return nodes or None


def _upstream(nodes: dict[str, dict[str, Any]], start: str, stop_at_samplers: bool = True) -> list[str]:
    """Ids of nodes feeding ``start`` (breadth first, each once), not walking past other samplers."""
    seen = {start}
    order: list[str] = []
    queue = deque([start])
    while queue and len(seen) <= MAX_NODES:
        current = queue.popleft()
        for _, source in _links(nodes.get(current, {}).get("inputs", {})):
            if source in seen or source not in nodes:
                continue
            seen.add(source)
            order.append(source)
            if not (stop_at_samplers and _is_sampler(nodes[source])):
                queue.append(source)
    return order


def _denoise(nodes: dict[str, dict[str, Any]], sampler: dict[str, Any]) -> float | None:
    inputs = sampler["inputs"]
    if number(inputs.get("denoise")) is not None:
        return number(inputs["denoise"])
    steps, start = number(inputs.get("steps")), number(inputs.get("start_at_step"))
    if steps and start is not None:  # KSamplerAdvanced: skipping the first steps keeps part of the input
        return max(0.0, min(1.0, 1.0 - start / steps))
    for name, source in _links(inputs):  # SamplerCustom(Advanced): denoise lives on the scheduler
        if name == "sigmas" and number(nodes.get(source, {}).get("inputs", {}).get("denoise")) is not None:
            return number(nodes[source]["inputs"]["denoise"])
    return None


def _sampler_mode(nodes: dict[str, dict[str, Any]], sampler_id: str) -> tuple[str, list[str]]:
    """How one sampler's latent was obtained, and the images it loads (names)."""
    sampler = nodes[sampler_id]
    latent = next((src for name, src in _links(sampler["inputs"]) if name in ("latent_image", "latent")), None)
    latent_chain = [latent, *_upstream(nodes, latent)] if latent in nodes else []
    kinds = {nodes[n]["class_type"] for n in latent_chain}
    all_upstream = _upstream(nodes, sampler_id)
    loaded = sorted({str(nodes[n]["inputs"].get("image")) for n in all_upstream if _is_loader(nodes[n]["class_type"])})
    if kinds & _INPAINT or any(nodes[n]["class_type"] in _INPAINT for n in all_upstream):
        return "inpaint", loaded
    if kinds & _EDIT or any(nodes[n]["class_type"] in _EDIT for n in all_upstream):
        return "edit", loaded
    if any(_is_sampler(nodes[n]) for n in latent_chain):
        return "txt2img+hires", loaded
    if kinds & _ENCODE:
        encoded_from = {nodes[n]["class_type"] for n in latent_chain}
        if any(_is_loader(k) for k in encoded_from):
            return "img2img", loaded
    if any(any(tag in nodes[n]["class_type"] for tag in _CONDITION) for n in all_upstream) and loaded:
        return "image-conditioned", loaded
    return "txt2img", loaded


def _models(nodes: dict[str, dict[str, Any]]) -> list[str]:
    names = {
        value
        for node in nodes.values()
        for value in node["inputs"].values()
        if isinstance(value, str) and value.lower().endswith(_MODEL_SUFFIXES)
    }
    return sorted(names)[:50]


def _prompts(nodes: dict[str, dict[str, Any]]) -> list[str]:
    texts = [
        node["inputs"].get("text") or node["inputs"].get("prompt")
        for node in nodes.values()
        if "TextEncode" in node["class_type"]
    ]
    return [clip_text(t, 500) for t in texts if isinstance(t, str) and t.strip()][:20]


def parse_comfyui(prompt: Any, workflow: Any) -> dict[str, Any] | None:
    """Summarise a ComfyUI graph (``prompt`` preferred, ``workflow`` as fallback); ``None`` if neither is one.

    Returns ``mode`` (``txt2img``, ``txt2img+hires``, ``image-conditioned``, ``edit``, ``img2img``,
    ``inpaint``), ``denoise`` of the sampler that sets the mode, ``samplers`` (class, steps, cfg,
    seed, denoise, mode of each), ``loaded_images`` (file names of ``LoadImage`` nodes),
    ``inpaint_nodes``, ``models``, ``prompts``, ``node_count`` and ``graph_source``.
    """
    nodes = normalise_prompt(prompt)
    source = "prompt"
    if nodes is None:
        nodes, source = workflow_to_prompt(workflow), "workflow"
    if nodes is None:
        return None
    samplers = []
    for node_id, node in [(i, n) for i, n in nodes.items() if _is_sampler(n)][:MAX_SAMPLERS]:
        mode, loaded = _sampler_mode(nodes, node_id)
        inputs = node["inputs"]
        samplers.append(
            {
                "node": node_id,
                "class_type": node["class_type"],
                "mode": mode,
                "denoise": _denoise(nodes, node),
                "steps": number(inputs.get("steps")),
                "cfg": number(inputs.get("cfg")),
                "seed": number(inputs.get("seed", inputs.get("noise_seed"))),
                "sampler_name": clip_text(inputs.get("sampler_name", ""), 100),
                "loaded_images": [clip_text(n, 300) for n in loaded],
            }
        )
    decisive = max(samplers, key=lambda s: _MODE_RANK.index(s["mode"]), default=None)
    kinds = {node["class_type"] for node in nodes.values()}
    loaded_all = sorted({str(n["inputs"].get("image")) for n in nodes.values() if _is_loader(n["class_type"])})
    return {
        "format": "comfyui",
        "graph_source": source,
        "mode": decisive["mode"] if decisive else "unknown",
        "denoise": decisive["denoise"] if decisive else None,
        "samplers": samplers,
        "loaded_images": [clip_text(n, 300) for n in loaded_all[:20]],
        "inpaint_nodes": sorted(kinds & _INPAINT),
        "models": [clip_text(m, 300) for m in _models(nodes)],
        "prompts": _prompts(nodes),
        "node_count": len(nodes),
    }
