"""What the TensorFlow and PyTorch backends do alike: Keras hands `train_step` the batch alone
(the variables hold the state), and an optimizer update is the optimizer's own `apply`."""


def run_step(model, step, data):
    return step(data)


def apply_gradients(optimizer, grads, variables):
    optimizer.apply(grads, variables)
