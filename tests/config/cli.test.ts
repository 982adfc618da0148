/** The config commands through the real `tandem` command line: validate, schema, run --dry-run and --set. */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { schemaCommand } from '../../runner/commands/schema.ts';

const repositoryRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

function tandem(args: string[]) {
  return spawnSync(process.execPath, [path.join(repositoryRoot, 'runner/tandem.js'), ...args], {
    cwd: repositoryRoot,
    env: { ...process.env, CI: 'true' },
    encoding: 'utf8',
    timeout: 60_000,
  });
}

const hasStackTrace = (text: string) => /^\s+at .+:\d+:\d+\)?$/m.test(text);

describe('tandem config commands', () => {
  test('validate shows three mistakes and valid file', () => {
    const broken = 'tests/config/corpus/three-mistakes.yaml';
    const result = tandem(['validate', broken, 'configs/vqa-rad.yaml']);
    assert.equal(result.status, 2, result.stderr);
    const headers = result.stdout.split('\n').filter((line) => line.startsWith(`${broken}:`));
    assert.deepEqual(headers, [
      `${broken}:5:15  data.resizeMode  unknown value "contian"  [enum]`,
      `${broken}:7:3  model.textDroprate  unknown key \`textDroprate\`  [unknown-key]`,
      `${broken}:10:14  train.batchSize  must be an integer  [type]`,
      `${broken}: 3 errors`,
    ]);
    assert.match(result.stdout, /^ {2}fix: did you mean `contain`\?$/m);
    assert.match(result.stdout, /^ {2}fix: did you mean `textDropRate`\?$/m);
    assert.match(result.stdout, /^configs\/vqa-rad\.yaml: valid$/m);
    assert.equal(result.stderr, '');
    assert.ok(!hasStackTrace(result.stdout), result.stdout);
  });

  test('schema prints the committed schema', async () => {
    // In process, because each spawned command costs seconds on a busy machine.
    let printed = '';
    const write = process.stdout.write;
    process.stdout.write = ((chunk: string) => {
      printed += chunk;
      return true;
    }) as typeof process.stdout.write;
    try {
      assert.equal(await schemaCommand.run([]), 0);
    } finally {
      process.stdout.write = write;
    }
    assert.equal(printed, readFileSync(path.join(repositoryRoot, 'configs/experiment.schema.json'), 'utf8'));
  });

  test('run --dry-run prints the resolved config', () => {
    const result = tandem(['run', 'configs/smoke.yaml', '--dry-run', '--set', 'train.epochs=3']);
    assert.equal(result.status, 0, result.stderr);
    const resolved = parse(result.stdout);
    assert.equal(resolved.train.epochs, 3);
    assert.equal(resolved.train.learningRateDecay, 0.9, 'defaults are included');
    assert.equal(resolved.data.root, path.resolve(repositoryRoot, '../shared/data/vqa-rad'));
    assert.match(result.stdout, /^# Would train TandemNet with a WRN-10-1 backbone for 3 epochs of batch 8/m);
  });

  test('run with invalid --set exits 2', () => {
    const result = tandem(['run', 'configs/smoke.yaml', '--set', 'model.textDropRate=1.5']);
    assert.equal(result.status, 2, result.stderr);
    assert.match(result.stderr, /^<command line>:1:26 {2}model\.textDropRate {2}must be at most 1 {2}\[range\]$/m);
    assert.match(result.stderr, /^ {2}1 \| --set model\.textDropRate=1\.5$/m);
    assert.ok(!hasStackTrace(result.stderr), result.stderr);
  });
});
