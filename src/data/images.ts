/** Decoding and resizing images with sharp, and the per-channel mean. */
import { readFile } from 'node:fs/promises';
import sharp, { type FitEnum, type OutputInfo } from 'sharp';
import { DataError } from '../errors.ts';

/** Resize mode that makes a non-square image square, with the same values as `data.resizeMode` in the config. */
export type ResizeMode = 'contain' | 'cover' | 'fill';

const SHARP_FIT: Record<ResizeMode, keyof FitEnum> = {
  contain: 'contain', // Letterbox: scale to fit inside, pad with black.
  cover: 'cover', // Scale to cover, crop the centre.
  fill: 'fill', // Stretch to the square, ignoring the aspect ratio.
};

/** Number of images decoded at the same time by default: enough to keep two cores busy. */
export const DEFAULT_DECODE_CONCURRENCY = 2;

/**
 * Decode the image file at `filePath` and resize it to `size` x `size` pixels by `mode`. Greyscale becomes
 * three equal channels, alpha is dropped, and 16-bit images are reduced to 8 bits. Returns size x size x 3
 * bytes, HWC order, RGB, 0 to 255. Throws DataError naming the file when it is missing or sharp cannot
 * decode it.
 */
export async function decodeImage(filePath: string, size: number, mode: ResizeMode): Promise<Uint8Array> {
  let bytes: Buffer;
  try {
    bytes = await readFile(filePath);
  } catch (error) {
    throw readError(filePath, error as NodeJS.ErrnoException);
  }

  let result: { data: Buffer; info: OutputInfo };
  try {
    result = await sharp(bytes)
      .resize(size, size, { fit: SHARP_FIT[mode], position: 'centre', background: { r: 0, g: 0, b: 0, alpha: 1 } })
      .removeAlpha()
      .toColourspace('srgb')
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
  } catch (error) {
    throw decodeError(filePath, error);
  }
  const { data, info } = result;
  if (info.width !== size || info.height !== size || info.channels !== 3) {
    throw new DataError(
      `Image file ${filePath} decoded to ${info.width}x${info.height} pixels with ${info.channels} channels, ` +
        `expected ${size}x${size} with 3. Convert it to an 8-bit RGB or greyscale JPEG or PNG.`,
    );
  }
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

function readError(filePath: string, error: NodeJS.ErrnoException): DataError {
  if (error.code === 'ENOENT') {
    return new DataError(
      `Image file not found: ${filePath}. Copy it from the data set release into that folder, or point ` +
        `data.root or the environment variable TANDEM_DATA_ROOT at a complete copy of the data set.`,
      { cause: error },
    );
  }
  return new DataError(`Image file ${filePath} could not be read (${error.message}). Check its permissions.`, {
    cause: error,
  });
}

function decodeError(filePath: string, error: unknown): DataError {
  const reason = error instanceof Error ? error.message.trim() : String(error);
  return new DataError(
    `Image file ${filePath} could not be decoded (sharp: ${reason}). The file is damaged or not an image: ` +
      `replace it with the unchanged file from the data set release.`,
    { cause: error },
  );
}

/** Options of `decodeImages`. */
export interface DecodeOptions {
  size: number;
  mode: ResizeMode;
  /** Images decoded at the same time; default DEFAULT_DECODE_CONCURRENCY. */
  concurrency?: number;
  /** Called after each decoded image with the number done so far and the total. */
  onProgress?: (done: number, total: number) => void;
}

/**
 * Decode and resize every file of `filePaths` with `decodeImage`, a few at a time. Returns the pixel
 * arrays in the order of `filePaths`. The first failure rejects with its DataError once the images
 * already being decoded have finished; no new image starts after a failure.
 */
export async function decodeImages(filePaths: readonly string[], options: DecodeOptions): Promise<Uint8Array[]> {
  const concurrency = Math.max(1, Math.floor(options.concurrency ?? DEFAULT_DECODE_CONCURRENCY));
  const results: Uint8Array[] = new Array(filePaths.length);
  let nextIndex = 0;
  let done = 0;
  let failure: unknown;

  const worker = async (): Promise<void> => {
    while (failure === undefined && nextIndex < filePaths.length) {
      const index = nextIndex++;
      try {
        results[index] = await decodeImage(filePaths[index], options.size, options.mode);
      } catch (error) {
        failure ??= error;
        return;
      }
      done++;
      options.onProgress?.(done, filePaths.length);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, filePaths.length) }, worker));

  if (failure !== undefined) throw failure;
  return results;
}

/**
 * Mean of each RGB channel over every pixel of `images` (HWC bytes, 3 channels), in [0, 1] units.
 * Returns [0, 0, 0] for no images.
 */
export function computeChannelMean(images: Iterable<Uint8Array>): [number, number, number] {
  const sums = [0, 0, 0];
  let pixels = 0;
  for (const image of images) {
    for (let offset = 0; offset < image.length; offset += 3) {
      sums[0] += image[offset];
      sums[1] += image[offset + 1];
      sums[2] += image[offset + 2];
    }
    pixels += image.length / 3;
  }
  if (pixels === 0) return [0, 0, 0];
  return [sums[0] / pixels / 255, sums[1] / pixels / 255, sums[2] / pixels / 255];
}
