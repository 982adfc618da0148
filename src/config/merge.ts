/**
 * Merging of config layers (base files, the config file, `--set` options) into one config, remembering
 * which layer wrote each value so that a problem points into the file or option that caused it.
 */
import path from 'node:path';
import type { ConfigLayer } from './compose.ts';
import type { Locator, MergeTag, ProblemLocation } from './source.ts';
import { filePathFields } from './validate.ts';

/** The layers that wrote a value of the merged config, and the same for the keys of a mapping. */
interface OriginNode {
  /** Every layer that wrote this value, in merge order. Only mappings that merged have more than one. */
  layers: ConfigLayer[];
  children: Map<string, OriginNode>;
}

/** The merged config and a locator that finds, for each config path, the layer that wrote it. */
export interface MergedConfig {
  data: Record<string, unknown>;
  locate: Locator;
}

/**
 * Deep-merges the layers in order, each one over the ones before it. Two mappings merge key by key, at
 * any depth; any other value, lists included, replaces what was there. A mapping tagged !replace
 * replaces the mapping below it whole, and a key tagged !default removes the key that the layers below
 * set, so that the schema's default applies.
 */
export function mergeLayers(layers: readonly ConfigLayer[]): MergedConfig {
  const data: Record<string, unknown> = {};
  const origins: OriginNode = { layers: [], children: new Map() };
  for (const layer of layers) {
    origins.layers.push(layer);
    const tags = new Map(layer.mergeTags.map((mergeTag) => [pathKey(mergeTag.path), mergeTag.tag]));
    mergeMapping(data, origins, layer.data, layer, [], tags);
  }
  return { data, locate: (segments, target) => locateOrigin(origins, segments, target) };
}

/** Joins a config path into one map key, with NUL between segments, which no schema key contains. */
function pathKey(segments: readonly string[]): string {
  return segments.join('\u0000');
}

function mergeMapping(
  target: Record<string, unknown>,
  origin: OriginNode,
  source: Record<string, unknown>,
  layer: ConfigLayer,
  segments: readonly string[],
  tags: ReadonlyMap<string, MergeTag['tag']>,
): void {
  for (const [key, value] of Object.entries(source)) {
    const keySegments = [...segments, key];
    const tag = tags.get(pathKey(keySegments));
    if (tag === 'default') {
      delete target[key];
      origin.children.delete(key);
      continue;
    }
    const current = Object.hasOwn(target, key) ? target[key] : undefined;
    const child = origin.children.get(key);
    if (tag !== 'replace' && isMapping(current) && isMapping(value) && child !== undefined) {
      child.layers.push(layer);
      mergeMapping(current, child, value, layer, keySegments, tags);
    } else {
      setOwnProperty(target, key, withoutDefaultKeys(structuredClone(value), keySegments, tags));
      origin.children.set(key, originOf(value, layer));
    }
  }
}

/**
 * Removes from a value that a layer writes whole the keys that it tags !default, which then take the
 * schema's default as if the layer had not written them.
 */
function withoutDefaultKeys(value: unknown, segments: readonly string[], tags: ReadonlyMap<string, MergeTag['tag']>): unknown {
  if (!isMapping(value)) return value;
  for (const key of Object.keys(value)) {
    const keySegments = [...segments, key];
    if (tags.get(pathKey(keySegments)) === 'default') delete value[key];
    else withoutDefaultKeys(value[key], keySegments, tags);
  }
  return value;
}

/** Returns the origin tree of a value that one layer wrote as a whole. */
function originOf(value: unknown, layer: ConfigLayer): OriginNode {
  const node: OriginNode = { layers: [layer], children: new Map() };
  if (isMapping(value)) {
    for (const [key, child] of Object.entries(value)) node.children.set(key, originOf(child, layer));
  }
  return node;
}

/**
 * Finds the layer that wrote the deepest existing part of `segments` and returns the position of
 * `segments` in that layer. Where several layers wrote a mapping, the last config file among them is
 * chosen, because a key missing from that mapping is best added in the file that the user is editing.
 */
function locateOrigin(root: OriginNode, segments: readonly string[], target: 'key' | 'value'): ProblemLocation {
  let node = root;
  for (const segment of segments) {
    const child = node.children.get(segment);
    if (child === undefined) break;
    node = child;
  }
  const files = node.layers.filter((layer) => layer.kind === 'file');
  const layer = files.length > 0 ? files[files.length - 1] : node.layers[node.layers.length - 1];
  if (layer === undefined) return { file: '', line: 1, column: 1 };
  return { file: layer.file, ...layer.locate(segments, target) };
}

/**
 * Returns a copy of the layer whose relative file paths (the schema fields marked `filePath`) are
 * rewritten relative to `configDir`, the folder of the config file given on the command line. A path
 * written in a base file thus still names the file it named there. Absolute paths, empty strings and
 * values of the wrong type are kept for the schema to judge.
 */
export function rebaseFilePaths(layer: ConfigLayer, configDir: string): ConfigLayer {
  if (path.resolve(layer.pathBase) === path.resolve(configDir)) return layer;
  const data = structuredClone(layer.data);
  updateFilePaths(data, (value) =>
    value === '' || path.isAbsolute(value) ? value : path.relative(configDir, path.resolve(layer.pathBase, value)) || '.',
  );
  return { ...layer, data };
}

/** Replaces, in place, each string value of a field marked `filePath` in the schema by `update(value)`. */
export function updateFilePaths(data: Record<string, unknown>, update: (value: string) => string): void {
  for (const field of filePathFields()) {
    const parent = field.slice(0, -1).reduce<unknown>((node, key) => (isMapping(node) ? node[key] : undefined), data);
    const key = field[field.length - 1];
    if (!isMapping(parent) || !Object.hasOwn(parent, key)) continue;
    const value = parent[key];
    if (typeof value === 'string') parent[key] = update(value);
  }
}

export function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Sets a key as an own property, so that a key such as `__proto__` stays data instead of a prototype. */
export function setOwnProperty(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, writable: true, enumerable: true, configurable: true });
}
