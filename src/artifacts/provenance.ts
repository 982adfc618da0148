/**
 * Provenance records for run.json: source state, package versions, host and config hash.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { updateFilePaths } from '../config/merge.ts';
import type { ExperimentConfig } from '../config/schema.ts';

const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface SourceState {
  /** Commit of the project checkout, or null outside a git checkout. */
  commit: string | null;
  /** Whether tracked files differ from that commit. */
  dirty: boolean | null;
  /** SHA-256 of package-lock.json, which pins every dependency. */
  packageLockSha256: string | null;
}

/** Read the project's git commit and dirty state, and hash its lock file. Never throws. */
export function readSourceState(): SourceState {
  const git = (args: string[]) =>
    execFileSync('git', args, { cwd: PROJECT_ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  let commit: string | null = null;
  let dirty: boolean | null = null;
  try {
    commit = git(['rev-parse', 'HEAD']);
    dirty = git(['status', '--porcelain', '--untracked-files=no']).length > 0;
  } catch {
    // Not a git checkout, or git is not installed: the run still proceeds.
  }
  let packageLockSha256: string | null = null;
  try {
    packageLockSha256 = createHash('sha256').update(readFileSync(path.join(PROJECT_ROOT, 'package-lock.json'))).digest('hex');
  } catch {
    packageLockSha256 = null;
  }
  return { commit, dirty, packageLockSha256 };
}

/** Version of an installed package, read from its package.json; null if it is not installed. */
export function packageVersion(name: string): string | null {
  try {
    const manifest = JSON.parse(readFileSync(path.join(PROJECT_ROOT, 'node_modules', name, 'package.json'), 'utf8'));
    return manifest.version ?? null;
  } catch {
    return null;
  }
}

export function hostInfo(): { node: string; platform: string; arch: string; cpus: number; cpuModel: string } {
  const cpus = os.cpus();
  return {
    node: process.version,
    platform: process.platform,
    arch: process.arch,
    cpus: cpus.length,
    cpuModel: cpus[0]?.model ?? 'unknown',
  };
}

/**
 * SHA-256 of the resolved config as JSON with sorted keys, with every file path (the schema fields marked
 * `filePath`: data.root, data.manifest, output.root, pretrained weights) replaced by "<path>". Where a file
 * lies does not change the numbers, so the same settings give the same hash in any checkout; the data
 * fingerprint covers the data files' contents.
 * NOTE: nothing hashes the contents of a pretrained weights file yet, so replacing that file under the
 * same name changes neither this hash nor run.json.
 */
export function hashConfig(config: ExperimentConfig): string {
  const settings = structuredClone(config) as unknown as Record<string, unknown>;
  updateFilePaths(settings, () => '<path>');
  return createHash('sha256').update(canonicalJson(settings)).digest('hex');
}

/** JSON with the keys of every object sorted and undefined members left out, so equal values give equal text. */
function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, member]) => member !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([key, member]) => `${JSON.stringify(key)}:${canonicalJson(member)}`).join(',')}}`;
}
