"""Turn a finished training run into a shipped preset: `python -m colorkit.presets.make RUN_DIR NAME`.

Reads the run's `generator.keras` (the averaged weights when the run kept an average),
`params.yaml`, `train.json` and `metrics.json`, and writes `colorkit/presets/<NAME>/` with the
model card. A run that started from the preset itself (`init_from: NAME`) continues its training:
the card and metrics.json list every training session, the earlier ones first. Nothing in the run
folder is changed.
"""

import argparse
import json
import platform
import sys
from pathlib import Path

from colorkit import loading, presets, runs
from colorkit.presets import CARD_METRICS


def training_stages(name, run_dir):
    """The preset's training sessions: those of the preset the run started from, when it started
    from `name` itself, then the run's own."""
    run_dir = Path(run_dir)
    config, metrics = runs.read_params(run_dir), json.loads((run_dir / runs.METRICS_FILE).read_text())
    earlier = []
    if config.get("init_from") == name and (presets.PRESETS_DIR / name / presets.METRICS).is_file():
        earlier = json.loads((presets.PRESETS_DIR / name / presets.METRICS).read_text()).get("training", [])
    stage = {"run_name": config["run_name"], "model": config["model"], "init_from": config.get("init_from", ""),
             "steps": json.loads((run_dir / runs.TRAIN_FILE).read_text()).get("steps"), "epochs": metrics["epochs"],
             "train_seconds": metrics["train_seconds"], "backend": metrics["backend"],
             "best_metric": metrics["best_metric"]}
    return [*earlier, stage]


def _stage_line(stage, batch_size):
    start = f"from `{stage['init_from']}`, a fresh optimizer" if stage["init_from"] else "from scratch"
    return (f"  - `{stage['run_name']}` ({stage['model']}, {start}): {stage['steps']} steps of {batch_size} images "
            f"({stage['epochs']} epochs), {stage['train_seconds'] / 60:.0f} min on {stage['backend']}, best "
            f"checkpoint by `{stage['best_metric']}`")


def model_card(name, run_dir, params_file, description, stages=None):
    """The Markdown card of a preset made from `run_dir` (after the earlier `stages`, if any)."""
    run_dir = Path(run_dir)
    config, metrics = runs.read_params(run_dir), json.loads((run_dir / runs.METRICS_FILE).read_text())
    stages = stages or training_stages(name, run_dir)
    test, gray = metrics["test"], metrics["baselines"]["grayscale"]
    rows = "\n".join(f"| {label} | {fmt.format(test[key])} | {fmt.format(gray[key])} |" for key, label, fmt in CARD_METRICS)
    rebuild = ", then ".join(
        f"`colorkit run {params_file}"
        + (f" --set init_from={name} --set run_name={s['run_name']}" if s["init_from"] == name else "")
        + f"` and `python -m colorkit.presets.make outputs/{s['run_name']} {name} --params-file {params_file}`"
        for s in stages)
    minutes = sum(s["train_seconds"] for s in stages) / 60
    machine = platform.processor() or platform.machine()
    sessions = f"{len(stages)} session" + ("s" if len(stages) > 1 else "")
    architecture = (f"U-Net layout `{config['layout']}`, {config['base_filters']} filters doubling to {config['max_filters']}, "
                    f"depth {config['depth'] or 'full'}, {config['image_size']} px")
    return f"""# Preset `{name}`

{description}

- **Use**: `colorkit colorize photo.jpg --out out/ --preset {name}`, or `colorkit.presets.load("{name}")` on any backend.
- **Model**: `{config['model']}` generator, {architecture}; weights stored as float16
  (averaged weights: ema_decay {config['ema_decay']}).
- **Data**: `{config['dataset']}`, split `{config['split'] or 'default'}`: {metrics['n_images']} test photos that
  training never saw.
- **Rebuild**: {rebuild}.
- **Training**: {sum(s['steps'] for s in stages)} steps, {minutes:.0f} min on a CPU ({machine}), in {sessions}:
{chr(10).join(_stage_line(s, config['batch_size']) for s in stages)}
- **Versions**: {', '.join(f'{k} {v}' for k, v in metrics['versions'].items())}.

## Test metrics (beside the grayscale image, ab = 0)

| metric | preset | grayscale |
|---|---|---|
{rows}

A short CPU training: the colours are plausible but muted on unusual subjects; fine-tune with
`init_from: {name}` on your own photos.
"""


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("name")
    parser.add_argument("--params-file", required=True, help="the params/ file that rebuilds it")
    parser.add_argument("--description", default="")
    args = parser.parse_args(argv)
    generator = loading.load_generator(args.run_dir)  # its best checkpoint, which metrics.json measured
    metrics = json.loads((args.run_dir / runs.METRICS_FILE).read_text())
    stages = training_stages(args.name, args.run_dir)
    card = model_card(args.name, args.run_dir, args.params_file, args.description, stages)
    folder = presets.save(generator, presets.PRESETS_DIR / args.name, card,
                          {"dataset": metrics["dataset"], "split": metrics["split"], "params_file": args.params_file,
                           "test": metrics["test"], "baselines": metrics["baselines"], "n_images": metrics["n_images"],
                           "training": stages})
    print(f"wrote {folder}: " + ", ".join(f"{p.name} {p.stat().st_size / 1e6:.1f} MB" for p in sorted(folder.iterdir())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
