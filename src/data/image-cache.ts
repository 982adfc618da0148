/**
 * An on-disk cache of decoded and resized images, so that the runs of a sweep, and reruns of a config,
 * decode each image once instead of once per run. One file contains every cached image of a data set at
 * one resize setting. Its name comes from the data set's fingerprint (SHA-256 of its metadata file and every
 * image, see fingerprint.ts), the size and the resize mode, and its header also records the decoder, so
 * a changed image, another resize setting or a changed decoder never reads stale pixels.
 *
 * The cache lives in `tandem-image-cache` in the operating system's temporary folder, where a cleaned
 * folder only costs a decode; files are keyed by content, so projects and users on one machine can share
 * it. TANDEM_IMAGE_CACHE=off turns it off, and any other value names the folder to use instead.
 */
import { createHash } from 'node:crypto';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { makeFolders } from '../artifacts/files.ts';
import { decodeEntries, type DecodeEntriesOptions, type DecodedEntries } from './check.ts';
import { fingerprintSource } from './fingerprint.ts';
import type { ImageInfo } from './images.ts';
import type { DataSource, DatasetEntry } from './types.ts';

/** The environment variable that moves the cache (a folder) or turns it off ('off'). */
export const IMAGE_CACHE_VARIABLE = 'TANDEM_IMAGE_CACHE';

/** The first bytes of a cache file, which also version its layout. */
const MAGIC = 'TANDEMPIXELS1\n';

/** The header of a cache file, stored as JSON after MAGIC and its own byte length. */
interface CacheHeader {
  fingerprint: string;
  size: number;
  mode: string;
  decoder: string;
  /** Every cached image: its entry id, file facts and the byte offset of its pixels after the header. */
  images: { id: string; info: ImageInfo; offset: number }[];
}

/** Returns the cache folder that TANDEM_IMAGE_CACHE selects, or null when it is 'off'. */
export function imageCacheDir(environment: NodeJS.ProcessEnv = process.env): string | null {
  const setting = environment[IMAGE_CACHE_VARIABLE];
  if (setting === 'off') return null;
  if (setting !== undefined && setting !== '') return path.resolve(setting);
  return path.join(tmpdir(), 'tandem-image-cache');
}

let decoderKey: string | null = null;

/**
 * Identifies the decoder: the sharp and libvips versions and a hash of images.ts, which turns files into pixels, so
 * that a change to either invalidates the cache.
 */
function currentDecoder(): string {
  if (decoderKey === null) {
    const versions = sharp.versions as Record<string, string | undefined>;
    const sharpVersion = `${versions.sharp ?? 'unknown'} (libvips ${versions.vips ?? 'unknown'})`;
    const decoderSource = readFileSync(fileURLToPath(new URL('./images.ts', import.meta.url)));
    decoderKey = `sharp ${sharpVersion}, images.ts ${createHash('sha256').update(decoderSource).digest('hex').slice(0, 16)}`;
  }
  return decoderKey;
}

function cacheFile(dir: string, fingerprint: string, options: DecodeEntriesOptions): string {
  return path.join(dir, `${fingerprint.slice(0, 32)}-${options.size}-${options.mode}.pixels`);
}

/** Reads a cache file; returns null when it is missing, unreadable or for other settings. */
async function readCache(file: string, expected: Omit<CacheHeader, 'images'>): Promise<DecodedEntries | null> {
  let contents: Buffer;
  try {
    contents = await readFile(file);
  } catch {
    return null;
  }
  try {
    if (contents.toString('latin1', 0, MAGIC.length) !== MAGIC) return null;
    const headerLength = contents.readUInt32LE(MAGIC.length);
    const headerStart = MAGIC.length + 4;
    const header = JSON.parse(contents.toString('utf8', headerStart, headerStart + headerLength)) as CacheHeader;
    const matches =
      header.fingerprint === expected.fingerprint &&
      header.size === expected.size &&
      header.mode === expected.mode &&
      header.decoder === expected.decoder;
    if (!matches) return null;
    const pixelsStart = headerStart + headerLength;
    const imageBytes = expected.size * expected.size * 3;
    const result: DecodedEntries = { pixels: new Map(), info: new Map(), problems: [] };
    for (const image of header.images) {
      const start = contents.byteOffset + pixelsStart + image.offset;
      if (pixelsStart + image.offset + imageBytes > contents.length) return null;
      // Views into the file's buffer, which stays alive as long as any of them does.
      result.pixels.set(image.id, new Uint8Array(contents.buffer, start, imageBytes));
      result.info.set(image.id, image.info);
    }
    return result;
  } catch {
    // A truncated or garbled file is a miss; the run decodes the images and writes it again.
    return null;
  }
}

/** Writes every image of `decoded` to `file`, through a temporary file so that readers never see half of it. */
async function writeCache(file: string, header: Omit<CacheHeader, 'images'>, decoded: DecodedEntries): Promise<void> {
  const imageBytes = header.size * header.size * 3;
  const ids = [...decoded.pixels.keys()].filter((id) => decoded.pixels.get(id)!.length === imageBytes).sort();
  const images = ids.map((id, index) => ({ id, info: decoded.info.get(id)!, offset: index * imageBytes }));
  const headerBytes = Buffer.from(JSON.stringify({ ...header, images }), 'utf8');
  const prefix = Buffer.alloc(MAGIC.length + 4);
  prefix.write(MAGIC, 0, 'latin1');
  prefix.writeUInt32LE(headerBytes.length, MAGIC.length);
  const pixels = Buffer.alloc(ids.length * imageBytes);
  ids.forEach((id, index) => pixels.set(decoded.pixels.get(id)!, index * imageBytes));

  makeFolders(path.dirname(file));
  const temporary = `${file}.${process.pid}.${Date.now()}.tmp`;
  try {
    await writeFile(temporary, Buffer.concat([prefix, headerBytes, pixels]));
    await rename(temporary, file);
  } finally {
    await rm(temporary, { force: true });
  }
}

/**
 * Does what decodeEntries does, but takes the images that `cacheDir` already holds for this data set and
 * resize setting from there, decodes only the others, and adds those to the cache. With cacheDir null it
 * is decodeEntries. Images that fail to decode are never cached, so their problems come back every run.
 * NOTE: a cache that cannot be written (a read-only or full disk) is skipped without a message, because
 * the run itself is unaffected.
 */
export async function decodeEntriesCached(
  source: DataSource,
  entries: readonly DatasetEntry[],
  options: DecodeEntriesOptions,
  cacheDir: string | null,
): Promise<DecodedEntries> {
  if (cacheDir === null) return decodeEntries(source, entries, options);
  let fingerprint: Awaited<ReturnType<typeof fingerprintSource>>;
  try {
    fingerprint = await fingerprintSource(source);
  } catch {
    // An image that cannot be read gets its problem from decodeEntries, which names its entry's line.
    return decodeEntries(source, entries, options);
  }
  const header = { fingerprint: fingerprint.sha256, size: options.size, mode: options.mode, decoder: currentDecoder() };
  const file = cacheFile(cacheDir, fingerprint.sha256, options);
  const cached = (await readCache(file, header)) ?? { pixels: new Map(), info: new Map(), problems: [] };

  const result: DecodedEntries = { pixels: new Map(), info: new Map(), problems: [] };
  const missing: DatasetEntry[] = [];
  for (const entry of entries) {
    const pixels = cached.pixels.get(entry.id);
    if (pixels === undefined) {
      missing.push(entry);
      continue;
    }
    result.pixels.set(entry.id, pixels);
    result.info.set(entry.id, cached.info.get(entry.id)!);
  }
  const hits = entries.length - missing.length;
  // Progress counts every image, cached or decoded, as decodeEntries does.
  for (let done = 1; done <= hits; done++) options.onProgress?.(done, entries.length);
  if (missing.length === 0) return result;

  const decoded = await decodeEntries(source, missing, {
    ...options,
    onProgress: options.onProgress && ((done) => options.onProgress!(hits + done, entries.length)),
  });
  for (const [id, pixels] of decoded.pixels) {
    result.pixels.set(id, pixels);
    result.info.set(id, decoded.info.get(id)!);
  }
  result.problems.push(...decoded.problems);

  if (decoded.pixels.size > 0) {
    // Keep the images that other runs cached (another maxImages sample, say) alongside the new ones.
    const merged: DecodedEntries = { pixels: new Map(cached.pixels), info: new Map(cached.info), problems: [] };
    for (const [id, pixels] of decoded.pixels) {
      merged.pixels.set(id, pixels);
      merged.info.set(id, decoded.info.get(id)!);
    }
    await writeCache(file, header, merged).catch(() => undefined);
  }
  return result;
}
