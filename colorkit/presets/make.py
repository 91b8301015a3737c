"""Turn a finished training run into a shipped preset: `python -m colorkit.presets.make RUN_DIR NAME`.

Reads the run's `generator.keras` (the averaged weights when the run kept an average),
`params.yaml`, `train.json` and `metrics.json`, and writes `colorkit/presets/<NAME>/` with the
model card. A run that started from the preset itself (`init_from: NAME`), or the preset's own run
resumed (`colorkit run --resume` after a `max_train_seconds` session), continues its training: the card
and metrics.json list every training session, the earlier ones first, each with the test metrics it
ended with (the learning curve). A run that started from another preset (a specialist fine-tuned from the
general one) lists that preset's sessions first, marked with its name (their test metrics are of its own test
photos). Nothing in the run folder is changed.
"""

import argparse
import json
import platform
import sys
from pathlib import Path

from colorkit import loading, presets, runs
from colorkit.presets import CARD_METRICS

# The learning curve's columns: (key in metrics.json's test metrics, header, format).
CURVE_METRICS = (("psnr", "PSNR (dB)", "{:.2f}"), ("dcf", "dcf", "{:.1f}"), ("de2000", "CIEDE2000", "{:.2f}"),
                 ("kid", "KID x1000", "{:.1f}"), ("c2st_acc", "two-sample acc.", "{:.3f}"))


def _listed_stages(name):
    listed = presets.PRESETS_DIR / name / presets.METRICS
    return json.loads(listed.read_text()).get("training", []) if listed.is_file() else []


def training_stages(name, run_dir):
    """The preset's training sessions: those it already lists when the run started from `name` itself or
    is the run of its last session resumed, or those of the other preset it started from (each marked
    ``"preset": that name``), then this session, with the test metrics it ended with."""
    run_dir = Path(run_dir)
    config, metrics = runs.read_params(run_dir), json.loads((run_dir / runs.METRICS_FILE).read_text())
    earlier, start = _listed_stages(name), config.get("init_from") or ""
    # The run of a listed session, resumed: the same name and start (a new run may reuse an old run's name).
    same_run = [s for s in earlier if (s["run_name"], s.get("init_from", "")) == (config["run_name"], start)
                and not s.get("preset")]
    if start != name and not same_run:
        earlier = ([{**s, "preset": s.get("preset") or start} for s in _listed_stages(start)]
                   if start in presets.names() else [])
    total = json.loads((run_dir / runs.TRAIN_FILE).read_text()).get("steps")
    if same_run and total == sum(s["steps"] for s in same_run):  # the card made again: its last session anew
        earlier, same_run = earlier[:-1], same_run[:-1]
    # A resumed run's totals include its earlier sessions: this session is what it added since.
    steps = total - sum(s["steps"] for s in same_run)
    stage = {"run_name": config["run_name"], "model": config["model"], "init_from": config.get("init_from", ""),
             "resumed": bool(same_run), "steps": steps, "epochs": metrics["epochs"],
             "max_train_seconds": config.get("max_train_seconds", 0.0),
             "train_seconds": metrics["train_seconds"] - sum(s["train_seconds"] for s in same_run),
             "backend": metrics["backend"], "best_metric": metrics["best_metric"],
             "test": {key: metrics["test"][key] for key, _, _ in CURVE_METRICS if key in metrics["test"]}}
    return [*earlier, stage]


def _groups(stages):
    """(preset, its sessions) for the sessions inherited from another preset, (None, [session]) for the rest."""
    groups = []
    for stage in stages:
        if stage.get("preset") and groups and groups[-1][0] == stage["preset"]:
            groups[-1][1].append(stage)
        else:
            groups.append((stage.get("preset"), [stage]))
    return groups


def _inherited_line(preset, stages):
    return (f"  - the `{preset}` preset's {len(stages)} session{'s' if len(stages) > 1 else ''}: "
            f"{sum(s['steps'] for s in stages)} steps, {sum(s['train_seconds'] for s in stages) / 60:.0f} min "
            f"(`colorkit presets {preset}` lists them)")


def _stage_line(stage, batch_size):
    start = ("resumed" if stage.get("resumed") else
             f"from `{stage['init_from']}`, a fresh optimizer" if stage["init_from"] else "from scratch")
    return (f"  - `{stage['run_name']}` ({stage['model']}, {start}): {stage['steps']} steps of {batch_size} images "
            f"(to epoch {stage['epochs']}), {stage['train_seconds'] / 60:.0f} min on {stage['backend']}, best "
            f"checkpoint by `{stage['best_metric']}`")


def learning_curve(stages):
    """A Markdown table: after each session, the steps and hours so far and its test metrics; the sessions
    of another preset it started from are one row, without metrics (they were measured on other photos)."""
    own = [s for s in stages if not s.get("preset")]
    keys = [(key, header, fmt) for key, header, fmt in CURVE_METRICS if any(key in s.get("test", {}) for s in own)]
    lines = ["| session | model | steps so far | hours so far | " + " | ".join(h for _, h, _ in keys) + " |",
             "|---|---|---|---|" + "---|" * len(keys)]
    steps = seconds = number = 0
    for preset, group in _groups(stages):
        steps += sum(s["steps"] for s in group)
        seconds += sum(s["train_seconds"] for s in group)
        first, number = number + 1, number + len(group)
        if preset:
            label, model, test = f"{first}-{number} the `{preset}` preset", group[-1]["model"], {}
        else:
            label, model, test = f"{number} `{group[0]['run_name']}`", group[0]["model"], group[0].get("test", {})
        values = " | ".join(fmt.format(test[key]) if key in test else "" for key, _, fmt in keys)
        lines.append(f"| {label} | {model} | {steps} | {seconds / 3600:.2f} | {values} |")
    return "\n".join(lines)


def _session_command(stage, name, params_file):
    # The session's own time limit, where it had one: the params file holds one value for every session.
    limit = f" --set max_train_seconds={stage['max_train_seconds']:g}" if stage.get("max_train_seconds") else ""
    if stage.get("resumed"):
        run = f"`colorkit run {params_file} --resume{limit}`"
    elif stage["init_from"] == name:
        run = f"`colorkit run {params_file} --set init_from={name} --set run_name={stage['run_name']}{limit}`"
    else:
        run = f"`colorkit run {params_file}{limit}`"
    return f"{run} and `python -m colorkit.presets.make outputs/{stage['run_name']} {name} --params-file {params_file}`"


def model_card(name, run_dir, params_file, description, stages=None, notes=""):
    """The Markdown card of a preset made from `run_dir` (after the earlier `stages`, if any); `notes`
    (Markdown: how it was chosen, measures beyond the run's own) go after the learning curve."""
    run_dir = Path(run_dir)
    config, metrics = runs.read_params(run_dir), json.loads((run_dir / runs.METRICS_FILE).read_text())
    stages = stages or training_stages(name, run_dir)
    notes = f"\n{notes.strip()}\n" if notes.strip() else ""
    test, gray = metrics["test"], metrics["baselines"]["grayscale"]
    rows = "\n".join(f"| {label} | {fmt.format(test[key])} | {fmt.format(gray[key])} |" for key, label, fmt in CARD_METRICS)
    rebuild = ", then ".join(f"the `{preset}` preset (its card says how)" if preset else
                             _session_command(group[0], name, params_file) for preset, group in _groups(stages))
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
{chr(10).join(_inherited_line(preset, group) if preset else _stage_line(group[0], config['batch_size'])
              for preset, group in _groups(stages))}
- **Versions**: {', '.join(f'{k} {v}' for k, v in metrics['versions'].items())}.

## Test metrics (beside the grayscale image, ab = 0)

| metric | preset | grayscale |
|---|---|---|
{rows}

## Learning curve (test metrics after each training session)

{learning_curve(stages)}
{notes}
A short CPU training: the colours are plausible but muted on unusual subjects; fine-tune with
`init_from: {name}` on your own photos.
"""


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("name")
    parser.add_argument("--params-file", required=True, help="the params/ file that rebuilds it")
    parser.add_argument("--description", default="")
    parser.add_argument("--notes", type=Path, help="a Markdown file added to the card after the learning curve")
    args = parser.parse_args(argv)
    notes = args.notes.read_text() if args.notes else ""
    generator = loading.load_generator(args.run_dir)  # its best checkpoint, which metrics.json measured
    metrics = json.loads((args.run_dir / runs.METRICS_FILE).read_text())
    stages = training_stages(args.name, args.run_dir)
    card = model_card(args.name, args.run_dir, args.params_file, args.description, stages, notes)
    folder = presets.save(generator, presets.PRESETS_DIR / args.name, card,
                          {"dataset": metrics["dataset"], "split": metrics["split"], "params_file": args.params_file,
                           "test": metrics["test"], "baselines": metrics["baselines"], "n_images": metrics["n_images"],
                           "training": stages})
    print(f"wrote {folder}: " + ", ".join(f"{p.name} {p.stat().st_size / 1e6:.1f} MB" for p in sorted(folder.iterdir())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
