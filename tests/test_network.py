"""ser.network: the residual network, seeded training, the ensemble average, scaler and class prior."""

import dataclasses
import os

import numpy as np
import pytest

from conftest import TRAIN_CONFIG
from ser import cli, network
from ser.errors import ConfigError

cli.quiet_tensorflow()


def model_config(**change) -> network.ModelConfig:
    """model_training.py's network settings, with some changed."""
    return dataclasses.replace(TRAIN_CONFIG.model_config, **change)


def test_model_gives_a_distribution_over_the_8_emotions():
    model = network.build_model(20, 8, model_config(width=16, blocks=2))
    probabilities = model.predict(np.random.default_rng(0).standard_normal((5, 20)).astype(np.float32), verbose=0)
    assert probabilities.shape == (5, 8)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1, rtol=1e-5)


def test_residual_blocks_add_their_input_to_the_block_output():
    import keras

    model = network.build_model(12, 8, model_config(width=16, blocks=3))
    for block in range(3):
        skip = model.get_layer(f"block{block}_skip")
        assert isinstance(skip, keras.layers.Add)
        block_input, branch = skip.input
        probe = keras.Model(model.input, [block_input, branch, skip.output])
        x = np.random.default_rng(block).standard_normal((4, 12)).astype(np.float32)
        a, b, total = probe.predict(x, verbose=0)
        np.testing.assert_allclose(total, a + b, rtol=1e-5, atol=1e-6)
        assert np.abs(a).sum() > 0 and np.abs(b).sum() > 0  # both paths carry signal
        dense1 = model.get_layer(f"block{block}_dense1")
        assert dense1.input is block_input  # the skip starts where the block's first Dense does


def test_training_with_the_same_seed_gives_the_same_model():
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((64, 10)).astype(np.float32), rng.integers(0, 8, 64)
    config = model_config(width=16, blocks=1)
    runs = [network.train_network(X, y, X[:16], y[:16], config, 3, 16, 5, 2, seed=3, verbose=0)[0] for _ in range(2)]
    other = network.train_network(X, y, X[:16], y[:16], config, 3, 16, 5, 2, seed=4, verbose=0)[0]
    predictions = [m.predict(X, verbose=0) for m in runs + [other]]
    np.testing.assert_array_equal(predictions[0], predictions[1])
    assert not np.allclose(predictions[0], predictions[2])


def test_training_in_the_kept_trainer_equals_training_the_new_network_itself():
    """train_network trains every network of a shape in one compiled copy (tracing once): each result must be
    what fitting a network built from the same seed gives, also for the second and third network of a shape."""
    import keras

    rng = np.random.default_rng(1)
    X, y = rng.standard_normal((96, 12)).astype(np.float32), rng.integers(0, 8, 96)
    config = model_config(width=16, blocks=1)
    for seed in (5, 6, 7):
        model, history = network.train_network(X, y, X[:24], y[:24], config, 4, 16, 3, 2, seed=seed, verbose=0)
        keras.utils.set_random_seed(seed)
        alone = network.build_model(12, 8, config)
        fitted = alone.fit(X, keras.utils.to_categorical(y, 8), validation_data=(X[:24], keras.utils.to_categorical(
            y[:24], 8)), epochs=4, batch_size=16, shuffle=True, verbose=0, callbacks=[
            keras.callbacks.EarlyStopping(monitor="val_loss", patience=3, restore_best_weights=True),
            keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=2, min_lr=1e-5)])
        assert history["loss"] == [float(v) for v in fitted.history["loss"]]
        np.testing.assert_array_equal(model.predict(X, verbose=0), alone.predict(X, verbose=0))
    assert network._trainer.cache_info().hits >= 2


@pytest.mark.skipif(os.cpu_count() < 2, reason="needs two cores for worker processes")
def test_networks_trained_two_at_once_in_workers_are_those_trained_here_one_after_another():
    """train_networks with jobs 2 trains in worker processes on 1 TensorFlow thread each, and sends the weights
    back: the models, their histories and their order must be those of training each here, on 2 threads."""
    rng = np.random.default_rng(2)
    X, y = rng.standard_normal((600, 300)).astype(np.float32), rng.integers(0, 8, 600)
    config = model_config(width=64, blocks=1)
    tasks = [dict(X_train=X[100 * k:], y_train=y[100 * k:], X_val=X[:100], y_val=y[:100], config=config, epochs=4,
                  batch_size=32, patience=3, lr_patience=2, seed=seed) for k, seed in enumerate((5, 6, 7))]
    here = list(network.train_networks(iter(tasks), 3, jobs=1, verbose=0))
    in_workers = list(network.train_networks(iter(tasks), 3, jobs=2))
    assert [history for _, history in in_workers] == [history for _, history in here]
    for (model, _), (alone, _) in zip(in_workers, here):
        for mine, theirs in zip(model.variables, alone.variables):
            np.testing.assert_array_equal(mine.numpy(), theirs.numpy())
    assert len({h["loss"][0] for _, h in here}) == 3  # three different networks


def test_average_models_averages_the_members():
    members = [network.build_model(6, 8, model_config(width=8, blocks=1)) for _ in range(3)]
    ensemble = network.average_models(members)
    x = np.random.default_rng(1).standard_normal((3, 6)).astype(np.float32)
    expected = np.mean([m.predict(x, verbose=0) for m in members], axis=0)
    np.testing.assert_allclose(ensemble.predict(x, verbose=0), expected, rtol=1e-5)


def test_uniform_prior_divides_out_the_training_shares():
    y_train = np.array([0] * 2 + [1] * 4 + [2] * 4)  # neutral half as frequent; classes 3-7 absent
    prior = network.class_prior(y_train, 8)
    assert prior.sum() == pytest.approx(1) and prior[0] == pytest.approx(prior[1] / 2) and prior[3] == prior[0] / 2
    probabilities = np.array([[0.30, 0.40, 0.30, 0, 0, 0, 0, 0], [0.1, 0.1, 0.8, 0, 0, 0, 0, 0]])
    adjusted = network.with_uniform_prior(probabilities, prior)
    np.testing.assert_allclose(adjusted.sum(axis=1), 1)
    assert adjusted[0].argmax() == 0  # 0.30 / 2 beats 0.40 / 4: neutral wins once the shares are divided out
    np.testing.assert_allclose(adjusted[1, :3], [0.2, 0.1, 0.8] / np.float64(1.1))
    assert network.with_uniform_prior(probabilities, None) is probabilities


def test_scaler_standardises_training_rows():
    X = np.random.default_rng(0).normal(5, 3, (200, 4)).astype(np.float32)
    X[:, 3] = 7.0  # constant feature
    mean, scale = network.fit_scaler(X)
    scaled = network.apply_scaler(X, mean, scale)
    np.testing.assert_allclose(scaled[:, :3].mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(scaled[:, :3].std(axis=0), 1, atol=1e-4)
    assert np.all(scaled[:, 3] == 0)


def test_model_config_names_the_bad_value():
    with pytest.raises(ConfigError, match="dropout 1.5"):
        model_config(dropout=1.5)


def test_the_numpy_network_predicts_what_keras_does_single_and_ensemble():
    """NumpyNetwork.from_keras of trained networks (batch-norm statistics moved off 0 and 1 by training, dropout
    active in training only) gives keras' probabilities to 1e-5, for one network and for an ensemble."""
    rng = np.random.default_rng(2)
    X, y = (3 * rng.standard_normal((96, 12)) + 1).astype(np.float32), rng.integers(0, 5, 96)
    config = model_config(width=16, blocks=2, dropout=0.3)
    members = [network.train_network(X, y, X[:24], y[:24], config, 4, 16, 5, 2, seed=s, verbose=0, n_classes=5)[0]
               for s in range(2)]
    bn = members[0].get_layer("block1_bn2")
    assert np.abs(bn.moving_mean.numpy()).max() > 1e-3  # the folded statistics are not the initial ones
    for model in (members[0], network.average_models(members)):
        exported = network.NumpyNetwork.from_keras(model)
        assert (exported.n_features, exported.n_classes, exported.blocks) == (12, 5, 2)
        np.testing.assert_allclose(exported.predict(X), model.predict(X, verbose=0), atol=1e-5)
    assert len(network.NumpyNetwork.from_keras(network.average_models(members)).members) == 2


def test_a_numpy_network_without_a_stem_is_refused():
    with pytest.raises(ConfigError, match="hold no network"):
        network.NumpyNetwork({"member0/emotion/kernel": np.zeros((4, 2))})


def test_exporting_a_layer_the_numpy_network_does_not_know_is_refused():
    import keras

    inputs = keras.Input(shape=(4,))
    model = keras.Model(inputs, keras.layers.Dense(2, name="emotion")(keras.layers.LayerNormalization()(inputs)))
    with pytest.raises(TypeError, match="NumpyNetwork has no LayerNormalization"):
        network.NumpyNetwork.from_keras(model)
