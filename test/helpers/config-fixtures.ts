/** One problem an invalid fixture must be reported with. */
export interface ExpectedProblem {
  /** 1-based line in the fixture. */
  readonly line: number;
  /** Key path such as `rules[2].roles`; absent for problems with the file as a whole (YAML errors). */
  readonly key?: string;
  readonly message: RegExp;
}

export interface InvalidFixture {
  /** What is wrong, as a sentence. */
  readonly name: string;
  /** File name under test/fixtures/. */
  readonly file: string;
  readonly problems: readonly ExpectedProblem[];
}

/** The invalid config fixtures, one per kind of config error, with where each must be reported. */
export const INVALID_FIXTURES: readonly InvalidFixture[] = [
  {
    name: 'a rule whose roles is a string instead of a list',
    file: 'invalid-roles-not-array.yaml',
    problems: [{ line: 14, key: 'rules[2].roles', message: /^expected an array of strings$/ }],
  },
  {
    name: 'an unknown top-level key (rule: instead of rules:)',
    file: 'invalid-unknown-top-level-key.yaml',
    problems: [{ line: 3, key: 'rule', message: /unknown key/ }],
  },
  {
    name: 'an unknown key inside a rule (role: instead of roles:)',
    file: 'invalid-unknown-rule-key.yaml',
    problems: [{ line: 6, key: 'rules[1].role', message: /unknown key/ }],
  },
  {
    name: 'an unknown key inside a section (upstream.timout)',
    file: 'invalid-unknown-nested-key.yaml',
    problems: [{ line: 4, key: 'upstream.timout', message: /unknown key/ }],
  },
  {
    name: 'a rule with none of public, authenticated or roles',
    file: 'invalid-rule-without-mode.yaml',
    problems: [{ line: 5, key: 'rules[1]', message: /exactly one of/ }],
  },
  {
    name: 'a rule with both public and roles',
    file: 'invalid-rule-with-two-modes.yaml',
    problems: [{ line: 3, key: 'rules[0]', message: /exactly one of/ }],
  },
  {
    name: 'a method that is not an HTTP method token',
    file: 'invalid-unknown-method.yaml',
    problems: [{ line: 4, key: 'rules[0].methods[1]', message: /expected an HTTP method: a token/ }],
  },
  {
    name: 'a glob that does not start with /',
    file: 'invalid-glob-relative.yaml',
    problems: [{ line: 3, key: 'rules[0].path', message: /starting with \// }],
  },
  {
    name: 'a * inside a path segment',
    file: 'invalid-glob-star-inside-segment.yaml',
    problems: [{ line: 3, key: 'rules[0].path', message: /whole path segment/ }],
  },
  {
    name: 'a .. segment in a glob',
    file: 'invalid-glob-dot-dot.yaml',
    problems: [{ line: 5, key: 'rules[1].path', message: /\.\./ }],
  },
  {
    name: 'a ; (path parameter) in a glob',
    file: 'invalid-glob-semicolon.yaml',
    problems: [{ line: 5, key: 'rules[1].path', message: /cannot contain ;/ }],
  },
  {
    name: 'a trustProxy entry that is not an IP address or CIDR',
    file: 'invalid-trust-proxy.yaml',
    problems: [{ line: 2, key: 'trustProxy[0]', message: /expected an IP address or CIDR/ }],
  },
  {
    name: 'an unknown key inside limits (limits.login.perUsernme)',
    file: 'invalid-limits-typo.yaml',
    problems: [{ line: 2, key: 'limits.login.perUsernme', message: /unknown key/ }],
  },
  {
    name: 'a duration without a unit',
    file: 'invalid-duration.yaml',
    problems: [{ line: 4, key: 'tokens.accessTtl', message: /expected a duration/ }],
  },
  {
    name: 'a bcrypt cost below 10',
    file: 'invalid-bcrypt-cost.yaml',
    problems: [{ line: 4, key: 'passwords.bcryptCost', message: /at least 10/ }],
  },
  {
    name: 'a YAML syntax error (a tab used as indentation)',
    file: 'invalid-yaml-syntax.yaml',
    problems: [{ line: 4, message: /invalid YAML/ }],
  },
  {
    name: 'a duplicate key',
    file: 'invalid-duplicate-key.yaml',
    problems: [{ line: 5, message: /unique|duplicate/i }],
  },
  {
    name: 'several independent problems in one file',
    file: 'invalid-several-problems.yaml',
    problems: [
      { line: 3, key: 'listen.port', message: /port/ },
      { line: 5, key: 'upstream.timout', message: /unknown key/ },
      { line: 7, key: 'passwords.bcryptCost', message: /at least 10/ },
      { line: 9, key: 'rules[0].path', message: /starting with \// },
      { line: 12, key: 'rules[1].roles', message: /^expected an array of strings$/ },
    ],
  },
];

/** The line an operator reads: `file:line key: message`, or `file:line message` without a key. */
export function expectedPrefix(file: string, problem: ExpectedProblem): string {
  return problem.key === undefined ? `${file}:${problem.line} ` : `${file}:${problem.line} ${problem.key}: `;
}

/** The line of `text` that starts with the expected prefix and whose message matches, if any. */
export function findReportedLine(text: string, file: string, problem: ExpectedProblem): string | undefined {
  const prefix = expectedPrefix(file, problem);
  return text
    .split('\n')
    .find((line) => line.startsWith(prefix) && problem.message.test(line.slice(prefix.length)));
}
