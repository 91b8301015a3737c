"""One process of a multi-process (or a one-process) training run, through the train notebook's
own calls: `training.start_run`, `load_data`, `build_or_restore`, `fit`, `finish_training`.

    python tests/multi_process_train.py PARAMS.yaml OUT.npz [KEY=VALUE ...]

The cluster comes from COLORKIT_COORDINATOR, COLORKIT_NUM_PROCESSES and COLORKIT_PROCESS_ID (none:
one process). OUT.npz gets the generator's final weights; tests/test_multi_process.py compares them.
"""

import sys

import numpy as np

from colorkit import params, training


def main(params_file, out, *sets):
    config = params.load_params(params_file, dict(params.parse_set(item) for item in sets))
    run = training.start_run(config)
    data = training.load_data(config)
    gan, initial_epoch = training.build_or_restore(run, data)
    training.fit(gan, data, run, initial_epoch, show=False)
    training.finish_training(gan, data, run)
    np.savez(out, *gan.generator.get_weights())
    print("trained", run.dir)


if __name__ == "__main__":
    main(*sys.argv[1:])
