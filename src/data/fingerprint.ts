/**
 * A fingerprint of a data set: SHA-256 hashes of its metadata file (the VQA-RAD metadata or the manifest)
 * and of every image that the file names, so that two runs can tell whether they read the same bytes.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { DataConfig } from '../config/schema.ts';
import { DataError } from '../errors.ts';
import { readDataSource } from './sources.ts';
import type { DataSource } from './types.ts';

/** Hashes of a data set's files, as `fingerprintData` returns them; run.json stores them as `data.fingerprint`. */
export interface DataFingerprint {
  /**
   * SHA-256 over one line per file, `<path>\t<bytes>\t<sha256>\n`: the metadata file first, then every
   * image in path order. Paths are relative to the metadata file's folder, with `/` as separator, so
   * moving the data set as a whole keeps the fingerprint.
   */
  sha256: string;
  /** SHA-256 of the metadata file alone. */
  metadataSha256: string;
  /** Number of image files hashed. */
  images: number;
  /** Bytes hashed, the metadata file included. */
  bytes: number;
}

/**
 * Fingerprint the data set that `data` names, found as `loadData` finds it: TANDEM_DATA_ROOT when set,
 * else paths relative to `configDir`, the config file's folder. Every image of the data set counts,
 * also those that data.maxImages leaves out, so the result does not depend on the seed or the sample.
 * Throws DataError when the data set or an image cannot be read.
 */
export async function fingerprintData(data: DataConfig, configDir: string): Promise<DataFingerprint> {
  return fingerprintSource(await readDataSource(data, configDir));
}

/** Fingerprint a data set already read by `readDataSource`: its file and every entry's image. */
export async function fingerprintSource(source: Pick<DataSource, 'file' | 'entries'>): Promise<DataFingerprint> {
  const base = path.dirname(source.file);
  const relative = (file: string) => path.relative(base, file).split(path.sep).join('/');
  const files = [...new Set(source.entries.map((entry) => entry.imagePath))];
  const images = files.map((file) => ({ file, name: relative(file) }));
  // Code-unit order, which does not depend on the locale.
  images.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));

  const combined = createHash('sha256');
  const metadata = await hashFile(source.file);
  combined.update(`${relative(source.file)}\t${metadata.bytes}\t${metadata.sha256}\n`);
  let bytes = metadata.bytes;
  for (const image of images) {
    const hashed = await hashFile(image.file);
    combined.update(`${image.name}\t${hashed.bytes}\t${hashed.sha256}\n`);
    bytes += hashed.bytes;
  }
  return { sha256: combined.digest('hex'), metadataSha256: metadata.sha256, images: images.length, bytes };
}

async function hashFile(file: string): Promise<{ sha256: string; bytes: number }> {
  const contents = await readFile(file).catch((error: NodeJS.ErrnoException) => {
    throw new DataError(`Failed to read ${file} to fingerprint the data set: ${error.message}.`, { cause: error });
  });
  return { sha256: createHash('sha256').update(contents).digest('hex'), bytes: contents.length };
}
