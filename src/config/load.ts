/**
 * Loads an experiment config: reads the YAML file and its `extends` bases, applies `--set` overrides,
 * validates the result against the schema with the defaults applied, runs the cross-field checks, and
 * reports every problem at once as a `ConfigError`.
 */
import path from 'node:path';
import type { ExperimentConfig } from './schema.ts';
import { runCrossFieldChecks } from './checks.ts';
import { composeFiles, type ConfigLayer } from './compose.ts';
import { mergeLayers, rebaseFilePaths } from './merge.ts';
import { parseOverrides } from './overrides.ts';
import {
  COMMAND_LINE,
  ConfigError,
  formatConfigPath,
  formatProblems,
  sortProblems,
  type ConfigProblem,
  type ConfigSources,
} from './problems.ts';
import { closestMatch } from './suggest.ts';
import { schemaAt, validateExperiment } from './validate.ts';

/** Options of `loadConfig` and `checkConfig`. */
export interface LoadOptions {
  /** `--set` option values such as `train.epochs=2`, applied in order after every config file. */
  overrides?: readonly string[];
  /** Folder that relative paths in `overrides` resolve against; the process's working directory by default. */
  workingDirectory?: string;
}

/** A config that passed every check, with the warnings that did not stop it. */
export interface LoadedConfig {
  /**
   * The schema-validated config with every default applied. Relative file paths in it (data.root,
   * output.root) are relative to `dir`, whichever file or override set them.
   */
  config: ExperimentConfig;
  /** Absolute path of the config file. */
  file: string;
  /** Absolute path of the folder that contains the config file. */
  dir: string;
  warnings: ConfigProblem[];
  /** Source lines of the config file, its bases and the overrides, for `formatProblems(warnings, sources)`. */
  sources: ConfigSources;
  /** The config file and the bases it extends, as shown in problems: the config file first. */
  files: string[];
  /** The `--set` option values applied, in order. */
  overrides: string[];
}

/** The outcome of checking a config: every problem found, and the config when it has no errors. */
export interface ConfigCheck {
  /** The resolved config, or undefined when `problems` has an error. */
  config: ExperimentConfig | undefined;
  /** Absolute path of the config file. */
  file: string;
  /** Absolute path of the folder that contains the config file. */
  dir: string;
  /** Every problem, warnings included: the config file's first, then its bases', then the command line's. */
  problems: ConfigProblem[];
  sources: ConfigSources;
  /** The config file and the bases it extends, as shown in problems: the config file first. */
  files: string[];
  /** The `--set` option values given, in order. */
  overrides: string[];
  /** Set when problems kept the schema and cross-field checks from running. */
  note?: string;
}

/**
 * Loads, validates and resolves the experiment config in `file` (relative to the working directory or
 * absolute), its bases and `options.overrides`. Throws a `ConfigError` listing every problem when a file
 * is missing or unreadable, is not valid YAML, breaks the schema or fails a cross-field check, or when
 * an override is malformed. Problems of severity 'warning' alone do not throw and are returned in
 * `warnings`.
 */
export function loadConfig(file: string, options: LoadOptions = {}): LoadedConfig {
  const checked = checkConfig(file, options);
  if (checked.config === undefined) {
    throw new ConfigError(checked.problems, checked.sources, { note: checked.note });
  }
  return {
    config: checked.config,
    file: checked.file,
    dir: checked.dir,
    warnings: checked.problems,
    sources: checked.sources,
    files: checked.files,
    overrides: checked.overrides,
  };
}

/** Does what `loadConfig` does, but returns the problems instead of throwing them. */
export function checkConfig(file: string, options: LoadOptions = {}): ConfigCheck {
  const absolutePath = path.resolve(file);
  const dir = path.dirname(absolutePath);
  const composed = composeFiles(absolutePath);
  const overrides = parseOverrides(options.overrides ?? [], options.workingDirectory ?? process.cwd());

  const sources = new Map(composed.sources);
  if (overrides.lines.length > 0) sources.set(COMMAND_LINE, overrides.lines);
  const problems = [...composed.problems, ...overrides.problems];
  const fileOrder = [...composed.files, COMMAND_LINE];
  const result = (config: ExperimentConfig | undefined, note?: string): ConfigCheck => {
    const sorted = sortProblems(problems, fileOrder);
    const hasErrors = sorted.some((problem) => problem.severity === 'error');
    return {
      config: hasErrors ? undefined : config,
      file: absolutePath,
      dir,
      problems: sorted,
      sources,
      files: composed.files,
      overrides: [...(options.overrides ?? [])],
      note,
    };
  };

  if (composed.blockedBy !== undefined) {
    return result(
      undefined,
      composed.blockedBy === 'yaml'
        ? 'The schema and cross-field checks run once the YAML syntax errors are fixed.'
        : 'The schema and cross-field checks run once every config file is a mapping of keys to values.',
    );
  }
  // A missing config file leaves nothing to check, and checking would only add a missing `name`.
  if (composed.layers.length === 0) return result(undefined);

  const layers = [...composed.layers, ...overrides.layers].map((layer) => rebaseFilePaths(layer, dir));
  const { data, locate } = mergeLayers(layers);
  problems.push(...unknownDefaultKeys(layers));
  const schemaProblems = validateExperiment(data, locate);
  problems.push(...schemaProblems);

  const config = data as ExperimentConfig;
  const invalidPaths = schemaProblems.map((problem) => problem.path);
  for (const finding of runCrossFieldChecks(config, invalidPaths, { configDir: dir })) {
    const location = locate(finding.path, 'value');
    const problem: ConfigProblem = {
      code: `cross-field/${finding.check}`,
      ...location,
      path: formatConfigPath(finding.path),
      message: finding.message,
      severity: finding.severity,
    };
    if (finding.found !== undefined) problem.found = finding.found;
    if (finding.allowed !== undefined) problem.allowed = finding.allowed;
    if (finding.fix !== undefined) problem.fix = finding.fix;
    problems.push(problem);
  }
  return result(config);
}

/** Formats the warnings of a loaded config with their source excerpts, for printing. */
export function formatWarnings(loaded: LoadedConfig): string {
  return loaded.warnings.length === 0 ? '' : formatProblems(loaded.warnings, loaded.sources);
}

/**
 * Reports each key tagged !default that its section of the schema does not define. The merge removes
 * such a key before schema validation, so a misspelt one would otherwise have no effect and no message.
 */
function unknownDefaultKeys(layers: readonly ConfigLayer[]): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  for (const layer of layers) {
    for (const { tag, path } of layer.mergeTags) {
      const parent = schemaAt(path.slice(0, -1));
      const key = path[path.length - 1];
      if (tag !== 'default' || key === undefined || parent?.properties === undefined || parent.additionalProperties !== false) continue;
      if (Object.hasOwn(parent.properties, key)) continue;
      const known = Object.keys(parent.properties);
      const suggestion = closestMatch(key, known);
      problems.push({
        code: 'unknown-key',
        file: layer.file,
        ...layer.locate(path, 'key'),
        path: formatConfigPath(path),
        message: `unknown key \`${key}\`, so !default has nothing to remove`,
        allowed: known.join(', '),
        fix: suggestion === undefined ? 'remove the key' : `did you mean \`${suggestion}\`?`,
        severity: 'error',
      });
    }
  }
  return problems;
}
