import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { attentionMapFileName, RUN_FILES, RunFolder, writeFileAtomic } from '../../src/artifacts/files.ts';

const temporaryFolder = () => mkdtempSync(path.join(os.tmpdir(), 'tandem-files-'));

describe('run file names', () => {
  test('every name is unique and described', () => {
    const names = Object.values(RUN_FILES).map((file) => file.name);
    assert.equal(new Set(names).size, names.length, `duplicate names in ${names.join(', ')}`);
    for (const [key, file] of Object.entries(RUN_FILES)) assert.ok(file.description.length > 0, `${key} has no description`);
  });

  test('attention map pictures are named after the image', () => {
    assert.equal(attentionMapFileName('synpic54610.jpg', 'image'), 'synpic54610-image.png');
    assert.equal(attentionMapFileName('synpic54610.jpg', 'with-text'), 'synpic54610-with-text.png');
    assert.equal(attentionMapFileName('scan 1/a.png', 'without-text'), 'scan_1_a-without-text.png');
  });
});

describe('run folder writes', () => {
  test('binary files are written whole', () => {
    const folder = RunFolder.create(temporaryFolder(), 'files', new Date());
    const bytes = new Uint8Array([137, 80, 78, 71, 0, 255]);
    const written = folder.writeBinary('confusionWithTextPng', bytes);
    assert.equal(written, path.join(folder.dir, 'confusion-with-text.png'));
    assert.deepEqual(new Uint8Array(readFileSync(written)), bytes);
  });

  test('files in a subfolder create it', () => {
    const folder = RunFolder.create(temporaryFolder(), 'files', new Date());
    const written = folder.writeInFolder('attentionMapsFolder', 'a-image.png', new Uint8Array([1, 2, 3]));
    assert.equal(written, path.join(folder.dir, 'attention-maps', 'a-image.png'));
    folder.writeInFolder('attentionMapsFolder', 'b-image.png', 'text');
    assert.deepEqual(readdirSync(folder.path('attentionMapsFolder')).sort(), ['a-image.png', 'b-image.png']);
  });

  test('atomic write takes bytes and leaves no temporary file', () => {
    const dir = temporaryFolder();
    writeFileAtomic(path.join(dir, 'data.bin'), new Uint8Array([9, 8, 7]));
    assert.deepEqual(readdirSync(dir), ['data.bin']);
    assert.deepEqual([...readFileSync(path.join(dir, 'data.bin'))], [9, 8, 7]);
  });
});
