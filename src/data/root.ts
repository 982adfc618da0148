/** Finds the data set folder from the config and the environment. */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { DataError } from '../errors.ts';

/** Environment variable that overrides `data.root`. */
export const DATA_ROOT_VARIABLE = 'TANDEM_DATA_ROOT';

/** An absolute data folder path and the setting it came from, for error messages. */
export interface DataRoot {
  path: string;
  /** The setting that gave the path, phrased to follow "set by", e.g. 'data.root ("x"), relative to ...'. */
  origin: string;
}

/**
 * Resolve the data folder: the environment variable TANDEM_DATA_ROOT when it is set and not empty
 * (relative to the working directory), else `configuredRoot` (the config's `data.root`) relative to
 * `configDir`, the folder of the config file. Does not touch the file system.
 */
export function resolveDataRoot(
  configuredRoot: string,
  configDir: string,
  environment: NodeJS.ProcessEnv = process.env,
): DataRoot {
  const override = environment[DATA_ROOT_VARIABLE];
  if (override !== undefined && override.trim() !== '') {
    return { path: path.resolve(override), origin: `the environment variable ${DATA_ROOT_VARIABLE}` };
  }
  return { path: path.resolve(configDir, configuredRoot), origin: describePathSetting('data.root', configuredRoot, configDir) };
}

/**
 * Names a path setting for error messages, with the folder that a relative value starts from. The
 * value may come from the config file, a base it extends or a --set option, so the text names none.
 */
export function describePathSetting(key: string, value: string, configDir: string): string {
  const setting = `${key} ("${value}")`;
  return path.isAbsolute(value) ? setting : `${setting}, relative to the config folder ${path.resolve(configDir)}`;
}

/**
 * Check that `root.path` is an existing folder. Otherwise throw a DataError that names the path and the
 * setting it came from, followed by `howToGetData`, a sentence that names where to download the data set.
 */
export async function requireDataFolder(root: DataRoot, howToGetData: string): Promise<void> {
  const stats = await stat(root.path).catch(() => undefined);
  if (stats?.isDirectory()) return;
  const problem = stats ? 'is not a folder' : 'was not found';
  throw new DataError(
    `Data folder ${root.path} ${problem} (set by ${root.origin}). ${howToGetData} ` +
      `Then set data.root in the config (relative to the config file) or the environment variable ` +
      `${DATA_ROOT_VARIABLE} to that folder.`,
  );
}
