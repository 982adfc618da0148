/**
 * Not a test: a measurement behind the default loss tolerance of `tandem baseline`, run by hand with
 *
 *     node --import tsx tests/reproduce/pixel-sensitivity.ts [config] [share ...]
 *
 * It trains and tests the config (configs/smoke.yaml by default) on the wasm backend once as it is and
 * once per share. Each share of the resized image bytes is raised by one grey level (255 is lowered), as
 * a different image resampling path could do. It prints each loss's relative change.
 */
import { selectBackend } from '../../src/backend/select.ts';
import { loadConfig } from '../../src/config/load.ts';
import { loadData } from '../../src/data/index.ts';
import { predict } from '../../src/evaluate/evaluate.ts';
import { buildModel } from '../../src/model/model.ts';
import { Random } from '../../src/random.ts';
import { Trainer } from '../../src/train/train.ts';

const [configFile = 'configs/smoke.yaml', ...shareArguments] = process.argv.slice(2);
const shares = shareArguments.length > 0 ? shareArguments.map(Number) : [0.001, 0.01, 0.1];
const loaded = loadConfig(configFile);
const config = loaded.config;
await selectBackend('wasm');

/** Train and test once with `share` of the pixel bytes changed by one grey level; returns the losses. */
async function measure(share: number): Promise<Record<string, number>> {
  const data = await loadData(config, loaded.dir);
  const noise = new Random(99);
  for (const pixels of data.pixels.values()) {
    for (let i = 0; i < pixels.length; i++) {
      if (noise.next() < share) pixels[i] = pixels[i] === 255 ? 254 : pixels[i] + 1;
    }
  }
  const random = new Random(config.seed);
  const shape = { vocabularySize: data.vocabulary.size, classes: data.classes.length, sentences: config.data.maxSentences };
  const model = buildModel(config.model, shape, random);
  const trainer = new Trainer({ config, data, model, random, emit: () => {} });
  const result = await trainer.run();
  const withoutText = predict(model, data.test, data, config, false);
  const withText = predict(model, data.test, data, config, true);
  trainer.dispose();
  model.dispose();
  return {
    'test.lossWithoutText': withoutText.loss,
    'test.lossWithText': withText.loss,
    'validationAtBestEpoch.loss': result.history[result.bestEpoch - 1].validation.loss,
    'finalEpoch.trainLoss': result.history[result.history.length - 1].trainLoss,
  };
}

const reference = await measure(0);
for (const share of shares) {
  const perturbed = await measure(share);
  const changes = Object.entries(perturbed).map(
    ([name, value]) => `${name} ${(Math.abs(value - reference[name]) / Math.abs(reference[name])).toExponential(1)}`,
  );
  console.log(`share ${share}: ${changes.join(', ')}`);
}
