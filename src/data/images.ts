/** Decoding and resizing images with sharp, and the per-channel mean. */
import { open, readFile } from 'node:fs/promises';
import sharp, { type FitEnum, type Metadata, type OutputInfo, type Sharp } from 'sharp';
import { DataError } from '../errors.ts';

/** Resize mode that makes an image square, with the same values as `data.resizeMode` in the config. */
export type ResizeMode = 'contain' | 'cover' | 'fill' | 'crop';

const SHARP_FIT: Record<Exclude<ResizeMode, 'crop'>, keyof FitEnum> = {
  contain: 'contain', // Letterbox: scale to fit inside, pad with black.
  cover: 'cover', // Scale to cover, crop the centre.
  fill: 'fill', // Stretch to the square, ignoring the aspect ratio.
};

const BLACK = { r: 0, g: 0, b: 0, alpha: 1 };

/** Number of images decoded at the same time by default: enough to keep two cores busy. */
export const DEFAULT_DECODE_CONCURRENCY = 2;

/** The image file formats tandem reads, as `detectImageFormat` names them. */
export const SUPPORTED_IMAGE_FORMATS = ['JPEG', 'PNG', 'TIFF'] as const;

/** The kinds of image problem, with the codes that the data checks report them under. */
export type ImageProblemCode = 'missing-image' | 'unreadable-image' | 'unsupported-format';

/** An image file that is missing, cannot be decoded or has a format tandem does not read. */
export class ImageFileError extends DataError {
  readonly code: ImageProblemCode;
  readonly filePath: string;
  /** The problem as a clause that follows the file name, e.g. "was not found". */
  readonly reason: string;

  constructor(code: ImageProblemCode, filePath: string, reason: string, message: string, options: { cause?: unknown } = {}) {
    super(message, options);
    this.name = 'ImageFileError';
    this.code = code;
    this.filePath = filePath;
    this.reason = reason;
  }
}

/** Facts that the decoder reads from an image file before resizing it. */
export interface ImageInfo {
  /** One of SUPPORTED_IMAGE_FORMATS. */
  format: string;
  width: number;
  height: number;
  /** Channels in the file: 1 grey, 2 grey and alpha, 3 RGB, 4 RGBA or CMYK. */
  channels: number;
  /** 8 or 16. */
  bitsPerSample: number;
}

/**
 * Name the image format of a file from its first bytes (at least 132 of them for DICOM), or return
 * undefined when they match no format listed here. Formats outside SUPPORTED_IMAGE_FORMATS are named
 * too, so that the error can name the format it found.
 */
export function detectImageFormat(head: Uint8Array): string | undefined {
  const startsWith = (bytes: number[], offset = 0) => bytes.every((byte, index) => head[offset + index] === byte);
  const ascii = (offset: number, length: number) => String.fromCharCode(...head.subarray(offset, offset + length));
  if (startsWith([0xff, 0xd8, 0xff])) return 'JPEG';
  if (startsWith([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'PNG';
  // Classic TIFF (42) and BigTIFF (43), little-endian ("II") and big-endian ("MM").
  if (startsWith([0x49, 0x49, 0x2a, 0x00]) || startsWith([0x4d, 0x4d, 0x00, 0x2a])) return 'TIFF';
  if (startsWith([0x49, 0x49, 0x2b, 0x00]) || startsWith([0x4d, 0x4d, 0x00, 0x2b])) return 'TIFF';
  if (ascii(0, 4) === 'GIF8') return 'GIF';
  if (ascii(0, 2) === 'BM') return 'BMP';
  if (ascii(0, 4) === 'RIFF' && ascii(8, 4) === 'WEBP') return 'WebP';
  if (ascii(128, 4) === 'DICM') return 'DICOM';
  if (startsWith([0x00, 0x00, 0x00, 0x0c, 0x6a, 0x50, 0x20, 0x20]) || startsWith([0xff, 0x4f, 0xff, 0x51])) return 'JPEG 2000';
  if (ascii(4, 4) === 'ftyp') return 'HEIF or AVIF';
  return undefined;
}

/** Bits per sample of sharp's pixel depths that tandem reads; other depths (float, 32-bit) are unsupported. */
const BITS_PER_SAMPLE: Partial<Record<NonNullable<Metadata['depth']>, number>> = { uchar: 8, ushort: 16 };

/**
 * Decode the image file at `filePath` and make it `size` x `size` pixels by `mode`. Greyscale becomes
 * three equal channels, alpha is dropped, and 16-bit samples keep their high byte (value >> 8), so the
 * full 16-bit range maps onto 0 to 255. Returns size x size x 3 bytes, HWC order, RGB, 0 to 255. Throws
 * DataError naming the file when it is missing or sharp cannot decode it.
 */
export async function decodeImage(filePath: string, size: number, mode: ResizeMode): Promise<Uint8Array> {
  return (await decodeImageWithInfo(filePath, size, mode)).pixels;
}

/**
 * Decode an image like `decodeImage` and also return what the file contains. Throws ImageFileError:
 * missing-image when the file is not found, unsupported-format for a format outside
 * SUPPORTED_IMAGE_FORMATS or samples of other than 8 or 16 bits, and unreadable-image when the file
 * cannot be read or decoded.
 */
export async function decodeImageWithInfo(
  filePath: string,
  size: number,
  mode: ResizeMode,
): Promise<{ pixels: Uint8Array; info: ImageInfo }> {
  let bytes: Buffer;
  try {
    bytes = await readFile(filePath);
  } catch (error) {
    throw readError(filePath, error as NodeJS.ErrnoException);
  }
  const format = checkFormat(filePath, bytes);

  let metadata: Metadata;
  try {
    metadata = await sharp(bytes).metadata();
  } catch (error) {
    throw decodeError(filePath, error);
  }
  const bitsPerSample = metadata.depth === undefined ? undefined : BITS_PER_SAMPLE[metadata.depth];
  if (bitsPerSample === undefined) {
    const reason = `has ${metadata.depth ?? 'unknown'} samples; tandem reads 8-bit and 16-bit integer samples`;
    throw new ImageFileError(
      'unsupported-format',
      filePath,
      reason,
      `Image file ${filePath} ${reason}. Convert it to an 8-bit or 16-bit PNG or TIFF.`,
    );
  }
  const info: ImageInfo = {
    format,
    width: metadata.width ?? 0,
    height: metadata.height ?? 0,
    channels: metadata.channels ?? 0,
    bitsPerSample,
  };

  let result: { data: Buffer; info: OutputInfo };
  try {
    result = await squarePipeline(sharp(bytes), info, size, mode)
      .removeAlpha()
      .toColourspace('srgb')
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
  } catch (error) {
    throw decodeError(filePath, error);
  }
  const { data, info: output } = result;
  if (output.width !== size || output.height !== size || output.channels !== 3) {
    const reason = `decoded to ${output.width}x${output.height} pixels with ${output.channels} channels, expected ${size}x${size} with 3`;
    throw new ImageFileError(
      'unreadable-image',
      filePath,
      reason,
      `Image file ${filePath} ${reason}. Convert it to an 8-bit RGB or greyscale PNG.`,
    );
  }
  return { pixels: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), info };
}

/**
 * Check that the image file exists and starts with the signature of a supported format, reading only its
 * first bytes, so that a whole data set is checked quickly. Returns the format. Throws ImageFileError
 * like `decodeImageWithInfo`; a file that passes can still fail to decode.
 */
export async function probeImageFile(filePath: string): Promise<string> {
  let handle;
  try {
    handle = await open(filePath, 'r');
  } catch (error) {
    throw readError(filePath, error as NodeJS.ErrnoException);
  }
  try {
    const head = Buffer.alloc(132);
    const { bytesRead } = await handle.read(head, 0, head.length, 0);
    return checkFormat(filePath, head.subarray(0, bytesRead));
  } catch (error) {
    if (error instanceof ImageFileError) throw error;
    throw readError(filePath, error as NodeJS.ErrnoException);
  } finally {
    await handle.close();
  }
}

/**
 * Add the steps that make the image `size` x `size`. Mode crop cuts the centre square at full
 * resolution and pads a side shorter than `size` with black; the other modes resize with sharp.
 */
function squarePipeline(image: Sharp, info: ImageInfo, size: number, mode: ResizeMode): Sharp {
  if (mode !== 'crop') {
    return image.resize(size, size, { fit: SHARP_FIT[mode], position: 'centre', background: BLACK });
  }
  const width = Math.min(info.width, size);
  const height = Math.min(info.height, size);
  image.extract({
    left: Math.floor((info.width - width) / 2),
    top: Math.floor((info.height - height) / 2),
    width,
    height,
  });
  if (width === size && height === size) return image;
  const top = Math.floor((size - height) / 2);
  const left = Math.floor((size - width) / 2);
  return image.extend({ top, bottom: size - height - top, left, right: size - width - left, background: BLACK });
}

/** Return the format of `bytes`, or throw ImageFileError when it is unknown or not supported. */
function checkFormat(filePath: string, bytes: Buffer): string {
  if (bytes.length === 0) {
    const reason = 'is empty (0 bytes)';
    throw new ImageFileError('unreadable-image', filePath, reason, `Image file ${filePath} ${reason}. Replace it with the complete file.`);
  }
  const format = detectImageFormat(bytes.subarray(0, 132));
  if (format === undefined) {
    const reason = 'could not be decoded: its first bytes match no JPEG, PNG or TIFF signature';
    throw new ImageFileError(
      'unreadable-image',
      filePath,
      reason,
      `Image file ${filePath} ${reason}. The file is damaged or not an image: replace it with the unchanged ` +
        `file from the data set release.`,
    );
  }
  if (!(SUPPORTED_IMAGE_FORMATS as readonly string[]).includes(format)) {
    const reason = `is a ${format} image; tandem reads ${SUPPORTED_IMAGE_FORMATS.join(', ')}`;
    throw new ImageFileError(
      'unsupported-format',
      filePath,
      reason,
      `Image file ${filePath} ${reason}. Convert it to PNG (lossless, keeps 16-bit greyscale) or TIFF.`,
    );
  }
  return format;
}

function readError(filePath: string, error: NodeJS.ErrnoException): ImageFileError {
  if (error.code === 'ENOENT') {
    return new ImageFileError(
      'missing-image',
      filePath,
      'was not found',
      `Image file not found: ${filePath}. Copy it from the data set release into that folder, or point ` +
        `data.root or the environment variable TANDEM_DATA_ROOT at a complete copy of the data set.`,
      { cause: error },
    );
  }
  const reason = error.code === 'EISDIR' ? 'is a folder, not a file' : `could not be read (${error.message})`;
  return new ImageFileError('unreadable-image', filePath, reason, `Image file ${filePath} ${reason}. Check the path and its permissions.`, {
    cause: error,
  });
}

function decodeError(filePath: string, error: unknown): ImageFileError {
  const detail = error instanceof Error ? error.message.trim() : String(error);
  // libvips repeats a warning once per scan line, so the first line is enough.
  const reason = `could not be decoded (sharp: ${detail.split('\n')[0]})`;
  return new ImageFileError(
    'unreadable-image',
    filePath,
    reason,
    `Image file ${filePath} ${reason}. The file is damaged or not an image: ` +
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
