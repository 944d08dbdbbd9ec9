import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import {
  Arg,
  Copy,
  DockerfileParser,
  Env,
  From,
  Label,
  ModifiableInstruction,
  type Instruction,
} from 'dockerfile-ast';
import { parseAllDocuments } from 'yaml';
import { ConfigError } from '../../src/config/config-error.js';
import { loadConfig, type LoadedConfig } from '../../src/config/load.js';
import { pollUntilStatus, REPO_ROOT } from './cli-process.js';

/** The path of a repository file, given from the repository root. */
export function repoPath(relativePath: string): string {
  return join(REPO_ROOT, relativePath);
}

export function readRepoFile(relativePath: string): string {
  return readFileSync(repoPath(relativePath), 'utf8');
}

/** Every YAML document of a repository file; a YAML error or a duplicate key throws. */
export function readYamlDocuments(relativePath: string): unknown[] {
  return parseAllDocuments(readRepoFile(relativePath), { uniqueKeys: true }).map((doc) => {
    if (doc.errors.length > 0)
      throw new Error(`${relativePath}: ${doc.errors.map((e) => e.message).join('; ')}`);
    return doc.toJS() as unknown;
  });
}

/** The one YAML document of a repository file. */
export function readYaml(relativePath: string): unknown {
  const documents = readYamlDocuments(relativePath);
  if (documents.length !== 1) throw new Error(`${relativePath}: expected one YAML document`);
  return documents[0];
}

/**
 * The environment variables the sidecar reads, taken from the one module that reads `process.env`
 * (STYLE.md), so that a variable added there or removed from it is seen here.
 */
export function appEnvNames(): string[] {
  const source = readRepoFile('src/config/load.ts');
  return [...new Set([...source.matchAll(/\benv\.([A-Z][A-Z0-9_]*)\b/g)].map((match) => match[1] as string))];
}

/** The bundled example config (config/auth-sidecar.yaml), loaded by the sidecar's own loader. */
export async function loadBundledConfig(): Promise<LoadedConfig> {
  return loadConfig({ path: repoPath('config/auth-sidecar.yaml'), env: {}, requireSecret: false });
}

/**
 * What the sidecar's loader says of `JWT_SECRET` set to `secret`, with the bundled config: the
 * messages of the problems it finds with that variable (none when the secret is accepted).
 */
export async function jwtSecretProblems(secret: string): Promise<string[]> {
  try {
    await loadConfig({ path: repoPath('config/auth-sidecar.yaml'), env: { JWT_SECRET: secret } });
    return [];
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return err.problems.filter((problem) => problem.source === 'env JWT_SECRET').map((p) => p.message);
  }
}

/** One stage of a multi-stage Dockerfile: its FROM and the instructions after it. */
export interface DockerStage {
  readonly name: string | undefined;
  readonly image: string;
  readonly instructions: readonly Instruction[];
}

/** The stages of a Dockerfile in order; instructions before the first FROM (global ARGs) are left out. */
export function parseDockerfile(text: string): DockerStage[] {
  const stages: { name: string | undefined; image: string; instructions: Instruction[] }[] = [];
  for (const instruction of DockerfileParser.parse(text).getInstructions()) {
    if (instruction instanceof From) {
      stages.push({
        name: instruction.getBuildStage() ?? undefined,
        image: instruction.getImage() ?? '',
        instructions: [],
      });
    } else {
      stages.at(-1)?.instructions.push(instruction);
    }
  }
  return stages;
}

export function instructionsOf(stage: DockerStage, keyword: string): Instruction[] {
  return stage.instructions.filter((instruction) => instruction.getKeyword() === keyword);
}

/** The one instruction of `keyword` in a stage; fails on none or several. */
export function onlyInstruction(stage: DockerStage, keyword: string): Instruction {
  const found = instructionsOf(stage, keyword);
  if (found.length !== 1)
    throw new Error(`expected one ${keyword} in stage ${stage.name}, found ${found.length}`);
  return found[0] as Instruction;
}

/** The exec form (JSON array) of CMD, ENTRYPOINT, VOLUME or HEALTHCHECK CMD; a shell form throws. */
export function execForm(instruction: Instruction): string[] {
  const content = instruction.getArgumentsContent() ?? '';
  const json = instruction.getKeyword() === 'HEALTHCHECK' ? content.replace(/^CMD\s+/, '') : content;
  const parsed: unknown = JSON.parse(json);
  const items: unknown[] = Array.isArray(parsed) ? parsed : [parsed];
  if (!Array.isArray(parsed) || !items.every((item): item is string => typeof item === 'string')) {
    throw new Error(`${instruction.getKeyword()} is not an exec-form array of strings: ${content}`);
  }
  return items;
}

/** The `--name=value` flags of an instruction, such as HEALTHCHECK's interval and timeout. */
export function flagsOf(instruction: Instruction): Record<string, string> {
  const flags = instruction instanceof ModifiableInstruction ? instruction.getFlags() : [];
  return Object.fromEntries(flags.map((flag) => [flag.getName(), flag.getValue() ?? '']));
}

/** ARG defaults of a stage, by name. */
export function argsOf(stage: DockerStage): Record<string, string> {
  const args: Record<string, string> = {};
  for (const instruction of stage.instructions) {
    const property = instruction instanceof Arg ? instruction.getProperty() : null;
    if (property) args[property.getName()] = property.getValue() ?? '';
  }
  return args;
}

/** `${NAME}` and `$NAME` replaced by the stage's ARG defaults, as the builder would. */
export function expandArgs(stage: DockerStage, text: string): string {
  const args = argsOf(stage);
  return text.replace(
    /\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g,
    (_match: string, braced: string | undefined, bare: string | undefined) =>
      args[braced ?? bare ?? ''] ?? '',
  );
}

/** ENV of a stage, in order, later values winning. */
export function envOf(stage: DockerStage): Record<string, string> {
  const env: Record<string, string> = {};
  for (const instruction of stage.instructions) {
    if (!(instruction instanceof Env)) continue;
    for (const property of instruction.getProperties()) env[property.getName()] = property.getValue() ?? '';
  }
  return env;
}

/** LABELs of a stage with ARG references expanded. */
export function labelsOf(stage: DockerStage): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const instruction of stage.instructions) {
    if (!(instruction instanceof Label)) continue;
    for (const property of instruction.getProperties()) {
      labels[property.getName()] = expandArgs(stage, property.getValue() ?? '');
    }
  }
  return labels;
}

/** The WORKDIR in effect after the stage's last instruction ('/' without one). */
export function workdirOf(stage: DockerStage): string {
  let workdir = '/';
  for (const instruction of instructionsOf(stage, 'WORKDIR')) {
    workdir = posix.resolve(workdir, instruction.getArgumentsContent() ?? '');
  }
  return workdir;
}

/** USER of a stage as numbers; a name instead of a number throws (Kubernetes cannot check a name). */
export function userOf(stage: DockerStage): { uid: number; gid: number } {
  const text = onlyInstruction(stage, 'USER').getArgumentsContent() ?? '';
  const match = /^(\d+):(\d+)$/.exec(text);
  if (!match) throw new Error(`USER ${text}: expected numeric uid:gid`);
  return { uid: Number(match[1]), gid: Number(match[2]) };
}

/** One COPY: its sources (in the build context, or in another stage) and its absolute destination. */
export interface CopyStep {
  /** The stage named by `--from`, if any. */
  readonly fromStage: string | undefined;
  readonly sources: readonly string[];
  readonly destination: string;
  /** The destination is a folder the sources go into, not a new name for one source. */
  readonly intoFolder: boolean;
}

export function copyStepsOf(stage: DockerStage): CopyStep[] {
  const steps: CopyStep[] = [];
  let workdir = '/';
  for (const instruction of stage.instructions) {
    if (instruction.getKeyword() === 'WORKDIR') {
      workdir = posix.resolve(workdir, instruction.getArgumentsContent() ?? '');
    }
    if (!(instruction instanceof Copy)) continue;
    const args = instruction.getArguments().map((arg) => arg.getValue());
    const target = args.at(-1) ?? '';
    const sources = args.slice(0, -1);
    steps.push({
      fromStage: instruction.getFromFlag()?.getValue() ?? undefined,
      sources,
      destination: posix.resolve(workdir, target),
      intoFolder: target.endsWith('/') || sources.length > 1,
    });
  }
  return steps;
}

/** Where a COPY step puts one of its sources, absolute in the image. */
export function copyTarget(step: CopyStep, source: string): string {
  return step.intoFolder ? posix.join(step.destination, posix.basename(source)) : step.destination;
}

/**
 * The source that the stage's COPYs put at `imagePath` (the source itself or a file inside a copied
 * folder), with the stage it comes from; undefined when no COPY writes there. The last COPY wins.
 */
export function copySourceOf(
  stage: DockerStage,
  imagePath: string,
): { fromStage: string | undefined; source: string } | undefined {
  let found: { fromStage: string | undefined; source: string } | undefined;
  for (const step of copyStepsOf(stage)) {
    for (const source of step.sources) {
      const target = copyTarget(step, source);
      if (imagePath === target || imagePath.startsWith(`${target}/`)) {
        found = { fromStage: step.fromStage, source: posix.join(source, posix.relative(target, imagePath)) };
      }
    }
  }
  return found;
}

/**
 * Each RUN of a stage as its `&&`-joined commands, each split into words. These Dockerfile RUNs use
 * no quoting; one that does is refused rather than split wrong.
 */
export function runCommandsOf(stage: DockerStage): string[][][] {
  return instructionsOf(stage, 'RUN').map((instruction) => {
    const text = instruction.getArgumentsContent() ?? '';
    if (/["'`$\\|;<>]/.test(text))
      throw new Error(`RUN ${text}: quoting or shell syntax this parser does not handle`);
    return text.split('&&').map((command) => command.trim().split(/\s+/));
  });
}

/**
 * Whether `.dockerignore` lets `relativePath` into the build context: the last pattern that matches
 * the path or one of its parent folders decides, `!` letting back in (Docker's rule).
 */
export function inBuildContext(dockerignore: string, relativePath: string): boolean {
  const patterns = dockerignore
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  const parts = posix.normalize(relativePath).split('/');
  const candidates = parts.map((_, index) => parts.slice(0, index + 1).join('/'));
  let included = true;
  for (const pattern of patterns) {
    const negated = pattern.startsWith('!');
    const glob = globToRegExp(posix.normalize((negated ? pattern.slice(1) : pattern).replace(/^\/+/, '')));
    if (candidates.some((candidate) => glob.test(candidate))) included = negated;
  }
  return included;
}

function globToRegExp(glob: string): RegExp {
  let source = '';
  for (let index = 0; index < glob.length; index++) {
    const char = glob[index] as string;
    if (char === '*' && glob[index + 1] === '*') {
      source += '.*';
      index++;
    } else if (char === '*') source += '[^/]*';
    else if (char === '?') source += '[^/]';
    else source += char.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${source.replace(/\/$/, '')}$`);
}

/** A process started from a command line of a deployment file (`node ...`). */
export interface StartedProcess {
  readonly child: ChildProcess;
  readonly output: () => string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Polls `url` until it answers `status`; rejects if the process exits first. */
  waitForStatus(url: string, status: number): Promise<void>;
  /** SIGKILL if it still runs (cleanup only). */
  kill(): Promise<void>;
}

export interface StartOptions {
  readonly cwd: string;
  /** The whole environment: nothing is inherited. */
  readonly env: Record<string, string>;
  readonly uid?: number;
  readonly gid?: number;
  /** The binary that `node` stands for; this test run's Node by default. */
  readonly nodePath?: string;
}

/** Runs `argv` as a container would; `node` is this test run's Node unless `nodePath` says otherwise. */
export function startProcess(argv: readonly string[], options: StartOptions): StartedProcess {
  const [command, ...args] = argv;
  if (command !== 'node') throw new Error(`only node commands are run here, not ${command}`);
  const child = spawn(options.nodePath ?? process.execPath, args, {
    cwd: options.cwd,
    env: options.env,
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(options.uid === undefined ? {} : { uid: options.uid, gid: options.gid }),
  });
  let output = '';
  let hasExited = false;
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  const exited = once(child, 'close').then(([code, signal]) => {
    hasExited = true;
    return { code: code as number | null, signal: signal as NodeJS.Signals | null };
  });
  return {
    child,
    output: () => output,
    exited,
    waitForStatus(url, status) {
      return pollUntilStatus(url, status, exited, () =>
        hasExited ? `${argv.join(' ')} exited (code ${child.exitCode}):\n${output}` : undefined,
      );
    },
    async kill() {
      if (hasExited) return;
      child.kill('SIGKILL');
      await exited;
    },
  };
}

/** The lowdb store file of a bundled config; the deploy files keep their store on a volume. */
export function lowdbStorePathOf(loaded: LoadedConfig): string {
  const { store } = loaded.config;
  if (store.driver !== 'lowdb')
    throw new Error(`${loaded.file}: expected the lowdb store, got ${store.driver}`);
  return store.path;
}
