"""``colorkit presets``: the shipped presets one line each, or one preset's model card.

Read from the preset files (:func:`colorkit.presets.describe`, :func:`colorkit.presets.card`) without
starting Keras. Registered by :mod:`colorkit.cli`, as its own commands are: ``add_presets`` and ``run_presets``.
"""

from colorkit.cli_errors import CommandError


def presets_table(rows):
    """Lines of a table of the presets (:func:`colorkit.presets.describe`): name, data, model, params file,
    size, steps and the card's test metrics."""
    from colorkit.presets import CARD_METRICS

    header = ["preset", "data", "model", "recipe", "size", "steps", *(key for key, _, _ in CARD_METRICS)]
    table = [header]
    for row in rows:
        data = f"{row['dataset']} ({row['split']})" if row["dataset"] else "?"
        metrics = [fmt.format(row["test"][key]) if key in row["test"] else "-" for key, _, fmt in CARD_METRICS]
        table.append([row["name"], data, row["model"] or "?", row["params_file"] or "?",
                      f"{row['image_size']} px", str(row["steps"] or "?"), *metrics])
    widths = [max(len(line[i]) for line in table) for i in range(len(header))]
    return ["  ".join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip() for line in table]


def run_presets(args):
    from colorkit import presets

    if args.name is None:
        for line in presets_table(presets.describe(name) for name in presets.names()):
            print(line)
        print("test metrics on photos each preset never saw; `colorkit presets NAME` shows them beside grayscale's")
        return 0
    try:
        print(presets.card(args.name), end="")
    except FileNotFoundError as err:
        raise CommandError(str(err)) from err
    return 0


def add_presets(subparsers):
    parser = subparsers.add_parser(
        "presets", help="list the pretrained presets, or show one's model card",
        description="Without NAME: one line per shipped preset (its data, model, params file, size, training steps "
                    "and test metrics). With NAME: its model card (data, training, test metrics beside grayscale). "
                    "Read from the preset files, without starting Keras.")
    parser.add_argument("name", nargs="?", default=None, metavar="NAME", help="a preset's name")
    parser.set_defaults(func=run_presets)
