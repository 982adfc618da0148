import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';

const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const realDataRoot = path.resolve(projectRoot, '../shared/data/vqa-rad');

/** Run the real `tandem` command with stdout piped and no CI, color or data-root settings. */
function tandem(args: string[]) {
  const environment: NodeJS.ProcessEnv = { ...process.env };
  for (const key of ['CI', 'CONTINUOUS_INTEGRATION', 'NO_COLOR', 'FORCE_COLOR', 'TANDEM_DATA_ROOT']) delete environment[key];
  return spawnSync(process.execPath, [path.join(projectRoot, 'runner/tandem.js'), ...args], {
    cwd: projectRoot,
    env: environment,
    encoding: 'utf8',
    timeout: 5 * 60 * 1000,
  });
}

/** Write configs/smoke.yaml with the real data root and a temporary output root; returns its path. */
function smokeConfig(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tandem-ui-'));
  const config = parse(readFileSync(path.join(projectRoot, 'configs/smoke.yaml'), 'utf8'));
  config.data = { ...config.data, root: realDataRoot };
  config.output = { root: path.join(dir, 'results') };
  const file = path.join(dir, 'smoke.yaml');
  writeFileSync(file, stringify(config));
  return file;
}

describe('tandem run --ui', () => {
  test('json prints one event per line', () => {
    const result = tandem(['run', smokeConfig(), '--ui', 'json']);
    assert.equal(result.status, 0, result.stderr);

    const events = result.stdout.trim().split('\n').map((line) => JSON.parse(line));
    const types = events.map((event) => event.type);
    assert.equal(types[0], 'run-start');
    assert.equal(types.at(-1), 'run-end');
    for (const type of ['epoch-start', 'batch-end', 'evaluation-progress', 'epoch-end', 'evaluation']) {
      assert.ok(types.includes(type), `no ${type} event in ${types.join(', ')}`);
    }
    for (const event of events) assert.ok(!Number.isNaN(Date.parse(event.time)), `time of ${JSON.stringify(event)}`);
  });

  test('invalid value exits 2 and names the choices', () => {
    const result = tandem(['run', smokeConfig(), '--ui', 'fancy']);
    assert.equal(result.status, 2, result.stderr);
    assert.match(result.stderr, /Invalid value "fancy" for --ui\. Expected one of: ink, plain, json\./);
  });

  test('run help describes --ui', () => {
    const result = tandem(['run', '--help']);
    assert.equal(result.status, 0);
    assert.match(result.stdout, /--ui ink\|plain\|json/);
  });

  test('help lists NO_COLOR and the Ctrl-C exit code', () => {
    const result = tandem(['--help']);
    assert.equal(result.status, 0);
    assert.match(result.stdout, /^ {2}NO_COLOR +When set and not empty, the live screen uses no colors or styles\.$/m);
    assert.match(result.stdout, /^ {2}130 +interrupted with Ctrl-C: the first stops after the current training step/m);
  });
});
