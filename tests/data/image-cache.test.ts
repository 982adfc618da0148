import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { decodeEntries } from '../../src/data/check.ts';
import { decodeEntriesCached, IMAGE_CACHE_VARIABLE, imageCacheDir } from '../../src/data/image-cache.ts';
import { readDataSource } from '../../src/data/sources.ts';
import type { DataSource } from '../../src/data/types.ts';
import { makeExperimentConfig } from '../fixtures/experiment-config.ts';
import { writeFixture, writeTestImage, type Fixture } from '../fixtures/vqa-rad-fixture.ts';

const OPTIONS = { size: 12, mode: 'contain' as const };

describe('decodeEntriesCached', () => {
  let fixture: Fixture;
  let cacheDir: string;
  let source: DataSource;

  before(async () => {
    fixture = await writeFixture();
    cacheDir = await mkdtemp(path.join(tmpdir(), 'tandem-image-cache-test-'));
    source = await readDataSource(makeExperimentConfig({ data: { root: fixture.root } }).data, fixture.root);
  });

  after(async () => {
    await fixture.remove();
    await rm(cacheDir, { recursive: true, force: true });
  });

  test('returns the pixels of decodeEntries', async () => {
    const expected = await decodeEntries(source, source.entries, OPTIONS);
    const first = await decodeEntriesCached(source, source.entries, OPTIONS, cacheDir);
    const second = await decodeEntriesCached(source, source.entries, OPTIONS, cacheDir);
    assert.equal((await readdir(cacheDir)).length, 1, 'one cache file');
    for (const result of [first, second]) {
      assert.deepEqual([...result.pixels.keys()].sort(), [...expected.pixels.keys()].sort());
      for (const [id, pixels] of expected.pixels) {
        assert.deepEqual(new Uint8Array(result.pixels.get(id)!), pixels, `pixels of ${id}`);
        assert.deepEqual(result.info.get(id), expected.info.get(id), `info of ${id}`);
      }
    }
  });

  test('reports progress for cached images', async () => {
    await decodeEntriesCached(source, source.entries, OPTIONS, cacheDir);
    const progress: [number, number][] = [];
    await decodeEntriesCached(source, source.entries, { ...OPTIONS, onProgress: (done, total) => progress.push([done, total]) }, cacheDir);
    const total = source.entries.length;
    assert.deepEqual(progress, Array.from({ length: total }, (_, index) => [index + 1, total]));
  });

  test('adds images of a larger sample to the cache', async () => {
    const otherDir = await mkdtemp(path.join(tmpdir(), 'tandem-image-cache-test-'));
    try {
      await decodeEntriesCached(source, source.entries.slice(0, 2), OPTIONS, otherDir);
      const all = await decodeEntriesCached(source, source.entries, OPTIONS, otherDir);
      assert.equal(all.pixels.size, new Set(source.entries.map((entry) => entry.id)).size);
      // A later run takes every image from the cache, including the first two.
      const again = await decodeEntriesCached(source, source.entries, OPTIONS, otherDir);
      assert.equal(again.pixels.size, all.pixels.size);
    } finally {
      await rm(otherDir, { recursive: true, force: true });
    }
  });

  test('keeps other resize settings apart', async () => {
    const small = await decodeEntriesCached(source, source.entries, OPTIONS, cacheDir);
    const large = await decodeEntriesCached(source, source.entries, { size: 16, mode: 'fill' }, cacheDir);
    const id = source.entries[0].id;
    assert.equal(small.pixels.get(id)!.length, 12 * 12 * 3);
    assert.equal(large.pixels.get(id)!.length, 16 * 16 * 3);
  });

  test('decodes again after an image changes', async () => {
    const id = source.entries[0].id;
    const before = await decodeEntriesCached(source, source.entries, OPTIONS, cacheDir);
    await writeTestImage(source.entries[0].imagePath, 99);
    const after = await decodeEntriesCached(source, source.entries, OPTIONS, cacheDir);
    const expected = await decodeEntries(source, [source.entries[0]], OPTIONS);
    assert.deepEqual(new Uint8Array(after.pixels.get(id)!), expected.pixels.get(id));
    assert.notDeepEqual(new Uint8Array(after.pixels.get(id)!), new Uint8Array(before.pixels.get(id)!));
  });

  test('treats a damaged cache file as a miss', async () => {
    const damagedDir = await mkdtemp(path.join(tmpdir(), 'tandem-image-cache-test-'));
    try {
      await decodeEntriesCached(source, source.entries, OPTIONS, damagedDir);
      const [file] = await readdir(damagedDir);
      await writeFile(path.join(damagedDir, file), 'TANDEMPIXELS1\n\u0005\u0000\u0000\u0000{"fin');
      const result = await decodeEntriesCached(source, source.entries, OPTIONS, damagedDir);
      const expected = await decodeEntries(source, source.entries, OPTIONS);
      assert.deepEqual(new Uint8Array(result.pixels.get(source.entries[1].id)!), expected.pixels.get(source.entries[1].id));
    } finally {
      await rm(damagedDir, { recursive: true, force: true });
    }
  });

  test('reports a missing image as decodeEntries does', async () => {
    const missing = { ...source.entries[0], id: 'absent.png', imagePath: path.join(fixture.root, 'images', 'absent.png') };
    const withMissing = { ...source, entries: [...source.entries, missing] };
    const result = await decodeEntriesCached(withMissing, withMissing.entries, OPTIONS, cacheDir);
    assert.equal(result.problems.length, 1);
    assert.equal(result.problems[0].code, 'missing-image');
  });
});

describe('imageCacheDir', () => {
  test('follows TANDEM_IMAGE_CACHE', () => {
    assert.equal(imageCacheDir({ [IMAGE_CACHE_VARIABLE]: 'off' }), null);
    assert.equal(imageCacheDir({ [IMAGE_CACHE_VARIABLE]: '/var/cache/tandem' }), '/var/cache/tandem');
    assert.equal(imageCacheDir({}), path.join(tmpdir(), 'tandem-image-cache'));
  });
});
