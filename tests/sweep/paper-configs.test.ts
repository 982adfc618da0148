import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { Ajv } from 'ajv';
import { parse } from 'yaml';
import { configFileJsonSchema } from '../../src/config/reference.ts';
import { plan, projectRoot } from './helpers.ts';

const table1 = path.join(projectRoot, 'configs/paper/table1.yaml');
const dropRate = path.join(projectRoot, 'configs/paper/drop-rate.yaml');

describe('paper sweep configs', () => {
  test('table1 has the five rows times three seeds', async () => {
    const planned = await plan(table1);
    assert.deepEqual(
      planned.points.map((point) => point.label),
      ['WRN16-4', 'ResNet18-TL', 'TandemNet-WVS', 'TandemNet', 'TandemNet-TL'],
    );
    assert.equal(planned.trials.length, 15);
    assert.deepEqual(
      planned.trials.slice(0, 3).map((trial) => trial.seed),
      [1234, 1235, 1236],
    );
    const configOf = (point: number) => planned.trials.find((trial) => trial.point === point && trial.config !== null)?.config;
    assert.equal(configOf(0)?.model.type, 'image-only');
    assert.equal(configOf(0)?.model.backbone.type, 'wrn');
    assert.equal(configOf(2)?.model.skipConnection, false);
    assert.equal(configOf(3)?.model.skipConnection, true);
    assert.equal(configOf(3)?.model.type, 'tandem');
    for (const point of [1, 4]) {
      const trials = planned.trials.filter((trial) => trial.point === point);
      // Without the ImageNet weights the "-TL" rows cannot run; with them, they use ResNet-18.
      assert.ok(trials.every((trial) => (trial.blocked !== null ? /weights/.test(trial.blocked) : trial.config?.model.backbone.type === 'resnet18')));
    }
  });

  test('drop-rate grid is 0 to 1 by 0.1', async () => {
    const planned = await plan(dropRate);
    assert.deepEqual(
      planned.points.map((point) => point.grid[0].value),
      [0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1],
    );
    assert.equal(planned.trials.length, 33);
    assert.ok(planned.trials.every((trial) => trial.blocked === null && trial.config?.model.textDropRate === planned.points[trial.point].grid[0].value));
  });

  test('editor schema accepts both', () => {
    const validate = new Ajv({ strict: false }).compile(configFileJsonSchema());
    for (const file of [table1, dropRate]) {
      assert.equal(validate(parse(readFileSync(file, 'utf8'))), true, `${file}: ${JSON.stringify(validate.errors)}`);
    }
  });
});
