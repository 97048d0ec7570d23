"""ser: the library under data_preparation.py, model_training.py and predict.py, one module per job.

    corpus         RAVDESS file names, finding files, speaker-independent splits and folds
    audio          reading any audio file as mono float32 at one rate
    features       FeatureConfig and extract_features, the one feature function
    functionals    statistics of a contour over time (pooling, contour shape, thirds, modulation)
    augment        augmented copies (audiomentations) as features, seeded per file, cached
    transforms     augmentation transforms audiomentations lacks: room, babble, MP3 round trip, phone line
    download       fetching and safely extracting the corpus zip
    degradations   recording conditions for the robustness benchmark: noise, babble, telephone, room, MP3, ...
    network        the scaler, the residual Dense network, the ensemble, the class prior
    training       the training recipe: ensemble on rotating validation actors, evaluation, folds
    metrics        test figures, reports, cross-validation summaries
    plots          confusion matrix, training curves, a recording's emotions over time
    inference      features of files and windows for prediction, results per file
    stream         audio arriving on a pipe (raw PCM or WAV) cut into the windows of --segment
    prepared_data  the prepared-data folder (arrays, manifest, meta.json): writer and reader
    model_folder   the model folder (model.keras, preprocessing.json): writer and reader
    atomic         writing a file whole or not at all, and a folder of outputs as a whole
    parallel       work spread over processes with a progress bar
    cli            flags derived from a script's constants, logging, one-line errors
    errors         UserError and the checks of config values

The scripts import this package; nothing in it imports a script.
"""
