/** One thing wrong with the configuration, located as precisely as the source allows. */
export interface ConfigProblem {
  /** The file, or the environment variable, the value came from. */
  readonly source: string;
  readonly line?: number;
  /** Key path such as `rules[2].roles`; absent for problems with the file as a whole. */
  readonly key?: string;
  readonly message: string;
}

export function formatConfigProblem(problem: ConfigProblem): string {
  const where = problem.line === undefined ? problem.source : `${problem.source}:${problem.line}`;
  return problem.key === undefined
    ? `${where} ${problem.message}`
    : `${where} ${problem.key}: ${problem.message}`;
}

/** Start-up must stop: every problem found is listed, not just the first. */
export class ConfigError extends Error {
  readonly problems: readonly ConfigProblem[];

  constructor(problems: readonly ConfigProblem[]) {
    super(problems.map(formatConfigProblem).join('\n'));
    this.name = 'ConfigError';
    this.problems = problems;
  }
}
