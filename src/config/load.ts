/**
 * Loads an experiment config: reads the YAML file, validates it against the schema with the defaults
 * applied, runs the cross-field checks, and reports every problem at once as a `ConfigError`.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { ExperimentConfig } from './schema.ts';
import { runCrossFieldChecks } from './checks.ts';
import {
  ConfigError,
  displayPath,
  formatConfigPath,
  formatProblems,
  sortProblems,
  type ConfigProblem,
  type ConfigSources,
} from './problems.ts';
import { locatePath, parseConfigSource, type ConfigSource } from './source.ts';
import { validateExperiment } from './validate.ts';

/** A config that passed every check, with the warnings that did not stop it. */
export interface LoadedConfig {
  /** The schema-validated config with every default applied. Relative paths in it are relative to `dir`. */
  config: ExperimentConfig;
  /** Absolute path of the config file. */
  file: string;
  /** Absolute path of the folder that contains the config file. */
  dir: string;
  warnings: ConfigProblem[];
  /** Source lines of the config file, for `formatProblems(warnings, sources)`. */
  sources: ConfigSources;
}

/** The outcome of resolving config text: the config with defaults applied and every problem found. */
export interface ResolvedConfig {
  /** The validated config; it matches `ExperimentConfig` only when `problems` has no errors. */
  config: ExperimentConfig;
  /** Problems in line order, warnings included. */
  problems: ConfigProblem[];
  /** Set when YAML syntax errors kept the schema and cross-field checks from running. */
  note?: string;
}

/**
 * Loads, validates and resolves the experiment config in `file` (relative to the working directory or
 * absolute). Throws a `ConfigError` listing every problem when the file is missing or unreadable, is not
 * valid YAML, breaks the schema or fails a cross-field check. Problems of severity 'warning' alone do not
 * throw and are returned in `warnings`.
 */
export function loadConfig(file: string): LoadedConfig {
  const absolutePath = path.resolve(file);
  const shownPath = displayPath(absolutePath);
  const text = readConfigText(absolutePath, shownPath);
  const source = parseConfigSource(text, shownPath);
  const sources: ConfigSources = new Map([[shownPath, source.lines]]);

  const { config, problems, note } = resolveConfigSource(source);
  if (problems.some((problem) => problem.severity === 'error')) {
    throw new ConfigError(problems, sources, { note });
  }
  return {
    config,
    file: absolutePath,
    dir: path.dirname(absolutePath),
    warnings: problems,
    sources,
  };
}

/**
 * Validates a parsed config file and applies its defaults, collecting YAML problems, schema problems and
 * cross-field findings. YAML syntax errors (duplicate keys aside) stop here, because the structure the
 * parser recovered would produce misleading schema problems.
 */
export function resolveConfigSource(source: ConfigSource): ResolvedConfig {
  const problems = [...source.problems];
  // An empty file, or one of only comments, parses to null. Treating it as an empty mapping reports
  // the missing `name`.
  const data: unknown = source.document.contents === null ? {} : source.document.toJS();

  if (source.hasSyntaxErrors) {
    return {
      config: data as ExperimentConfig,
      problems: sortProblems(problems),
      note: 'The schema and cross-field checks run once the YAML syntax errors are fixed.',
    };
  }

  const schemaProblems = validateExperiment(data, source);
  problems.push(...schemaProblems);

  // A document that is not a mapping has no fields to cross-check.
  if (data !== null && typeof data === 'object' && !Array.isArray(data)) {
    const invalidPaths = schemaProblems.map((problem) => problem.path);
    for (const finding of runCrossFieldChecks(data as ExperimentConfig, invalidPaths)) {
      const { line, column } = locatePath(source, finding.path, 'value');
      const problem: ConfigProblem = {
        file: source.file,
        line,
        column,
        path: formatConfigPath(finding.path),
        message: finding.message,
        severity: finding.severity,
      };
      if (finding.found !== undefined) problem.found = finding.found;
      if (finding.allowed !== undefined) problem.allowed = finding.allowed;
      if (finding.fix !== undefined) problem.fix = finding.fix;
      problems.push(problem);
    }
  }
  return { config: data as ExperimentConfig, problems: sortProblems(problems) };
}

/** Reads the config file as UTF-8, turning a missing or unreadable file into a `ConfigError`. */
function readConfigText(absolutePath: string, shownPath: string): string {
  try {
    return readFileSync(absolutePath, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const problem: ConfigProblem = {
      file: shownPath,
      line: 0,
      column: 0,
      path: '',
      message: `cannot read the config file: ${(error as Error).message}`,
      fix: 'check the file permissions',
      severity: 'error',
    };
    if (code === 'ENOENT') {
      problem.message = 'config file not found';
      problem.fix =
        `check the path, which is relative to the working directory ${process.cwd()}. ` +
        'The shipped configs are in configs/, such as configs/vqa-rad.yaml';
    } else if (code === 'EISDIR') {
      problem.message = 'is a folder, not a config file';
      problem.fix = 'pass a YAML file, such as configs/vqa-rad.yaml';
    }
    throw new ConfigError([problem]);
  }
}

/** Formats the warnings of a loaded config with their source excerpts, for printing. */
export function formatWarnings(loaded: LoadedConfig): string {
  return loaded.warnings.length === 0 ? '' : formatProblems(loaded.warnings, loaded.sources);
}
