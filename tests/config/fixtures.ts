/** Temporary config files for the config tests. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config/load.ts';
import { ConfigError } from '../../src/config/problems.ts';

/** A temporary folder of config files, removed by `remove`. */
export interface FixtureFolder {
  dir: string;
  /** Writes `text` to `name` in the folder, creating subfolders, and returns the file's absolute path. */
  write(name: string, text: string): string;
  remove(): void;
}

export function createFixtureFolder(): FixtureFolder {
  const dir = mkdtempSync(path.join(tmpdir(), 'tandem-config-'));
  return {
    dir,
    write(name, text) {
      const file = path.join(dir, name);
      mkdirSync(path.dirname(file), { recursive: true });
      writeFileSync(file, text);
      return file;
    },
    remove() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Loads `file` and returns the ConfigError it throws; fails when it loads or throws anything else. */
export function loadError(file: string): ConfigError {
  try {
    loadConfig(file);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error(`expected ${file} to fail with a ConfigError, but it loaded`);
}
