/** Temporary sweep configs and sweep folders for the sweep tests. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../../src/config/problems.ts';
import { planSweepFile, type PlanOptions, type SweepPlan } from '../../src/sweep/plan.ts';

export const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const realDataRoot = path.resolve(projectRoot, '../shared/data/vqa-rad');

/** A fingerprint that reads no data: the same for every data section. */
export const fakeFingerprint: NonNullable<PlanOptions['fingerprint']> = async () => 'f'.repeat(64);

/** A temporary folder, removed by `remove`. */
export interface TemporaryFolder {
  dir: string;
  /** Writes `text` to `name` in the folder, creating subfolders, and returns the file's absolute path. */
  write(name: string, text: string): string;
  remove(): void;
}

export function temporaryFolder(prefix = 'tandem-sweep-'): TemporaryFolder {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
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

/** Plans `file` with the fake fingerprint unless `options` give one. */
export function plan(file: string, options: PlanOptions = {}): Promise<SweepPlan> {
  return planSweepFile(file, { fingerprint: fakeFingerprint, ...options });
}

/** Plans `file` and returns the ConfigError it throws; fails when planning succeeds or throws anything else. */
export async function planError(file: string, options: PlanOptions = {}): Promise<ConfigError> {
  try {
    await plan(file, options);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error(`expected planning ${file} to fail with a ConfigError, but it succeeded`);
}
