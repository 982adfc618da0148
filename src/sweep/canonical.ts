/**
 * Canonical text and hashes of configs, and the differences between two of them by config path: what
 * trial ids, sweep folder names and the "spec changed" message are made of.
 */
import { createHash } from 'node:crypto';

/**
 * Returns JSON with the keys of every mapping sorted, so that equal values give equal text whatever
 * order their keys were written in. Lists keep their order. Undefined values in mappings are left out.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value === null || typeof value !== 'object') return value;
  const sorted: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) {
    const child = (value as Record<string, unknown>)[key];
    if (child !== undefined) Object.defineProperty(sorted, key, { value: sortKeys(child), enumerable: true });
  }
  return sorted;
}

/** Length of the hexadecimal ids of trials and sweeps: 48 bits of SHA-256. */
export const ID_LENGTH = 12;

/** Returns the first `ID_LENGTH` hexadecimal digits of the SHA-256 of `value`'s canonical JSON. */
export function contentId(value: unknown): string {
  return createHash('sha256').update(canonicalJson(value)).digest('hex').slice(0, ID_LENGTH);
}

/** One difference between two values at a config path. */
export interface PathChange {
  /** Dotted config path, such as `train.epochs` or `sweep.grid.model.textDropRate`. */
  path: string;
  /** The earlier value as JSON, or undefined when the path is new. */
  before?: string;
  /** The new value as JSON, or undefined when the path was removed. */
  after?: string;
}

/**
 * Lists the paths at which `before` and `after` differ. Mappings are compared key by key at any depth;
 * lists and other values are compared as a whole. Paths come in sorted order.
 */
export function diffByPath(before: unknown, after: unknown): PathChange[] {
  const old = flattenPaths(before);
  const now = flattenPaths(after);
  const paths = [...new Set([...old.keys(), ...now.keys()])].sort();
  const changes: PathChange[] = [];
  for (const path of paths) {
    const a = old.get(path);
    const b = now.get(path);
    if (a === b) continue;
    const change: PathChange = { path };
    if (a !== undefined) change.before = a;
    if (b !== undefined) change.after = b;
    changes.push(change);
  }
  return changes;
}

/** Maps each leaf of nested mappings to its canonical JSON, keyed by the dotted path. An empty mapping is a leaf. */
function flattenPaths(value: unknown, prefix = '', into = new Map<string, string>()): Map<string, string> {
  const isMapping = value !== null && typeof value === 'object' && !Array.isArray(value);
  if (isMapping && Object.keys(value).length > 0) {
    for (const [key, child] of Object.entries(value)) {
      if (child !== undefined) flattenPaths(child, prefix === '' ? key : `${prefix}.${key}`, into);
    }
  } else {
    into.set(prefix, canonicalJson(value));
  }
  return into;
}

/** Formats changes one per line: `path: before -> after`, `path: added (value)`, `path: removed (was value)`. */
export function formatChanges(changes: readonly PathChange[]): string {
  return changes
    .map((change) => {
      if (change.before === undefined) return `${change.path}: added (${change.after})`;
      if (change.after === undefined) return `${change.path}: removed (was ${change.before})`;
      return `${change.path}: ${change.before} -> ${change.after}`;
    })
    .join('\n');
}
