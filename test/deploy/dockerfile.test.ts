import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { posix } from 'node:path';
import { before, describe, it } from 'node:test';
import { validate, ValidationSeverity, type ValidatorSettings } from 'dockerfile-utils';
import type { LoadedConfig } from '../../src/config/load.js';
import {
  appEnvNames,
  copySourceOf,
  copyStepsOf,
  envOf,
  execForm,
  flagsOf,
  inBuildContext,
  instructionsOf,
  labelsOf,
  loadBundledConfig,
  onlyInstruction,
  parseDockerfile,
  readRepoFile,
  repoPath,
  runCommandsOf,
  userOf,
  workdirOf,
  type DockerStage,
  lowdbStorePathOf,
} from '../helpers/deploy-files.js';

/** Every rule of the linter that has a setting, raised to error. */
const EVERY_RULE_AN_ERROR: ValidatorSettings = {
  deprecatedMaintainer: ValidationSeverity.ERROR,
  directiveCasing: ValidationSeverity.ERROR,
  emptyContinuationLine: ValidationSeverity.ERROR,
  instructionCasing: ValidationSeverity.ERROR,
  instructionCmdMultiple: ValidationSeverity.ERROR,
  instructionEntrypointMultiple: ValidationSeverity.ERROR,
  instructionHealthcheckMultiple: ValidationSeverity.ERROR,
  instructionJSONInSingleQuotes: ValidationSeverity.ERROR,
  instructionWorkdirRelative: ValidationSeverity.ERROR,
};

/** LSP DiagnosticSeverity values, which the linter's diagnostics carry. */
const ERROR_OR_WARNING = new Set([1, 2]);

/** Environment variables of Node itself that the image may set. */
const NODE_ENV_NAMES = ['NODE_COMPILE_CACHE'];

function lint(text: string): string[] {
  return validate(text, EVERY_RULE_AN_ERROR)
    .filter((diagnostic) => ERROR_OR_WARNING.has(diagnostic.severity ?? 1))
    .map((diagnostic) => {
      const message = typeof diagnostic.message === 'string' ? diagnostic.message : diagnostic.message.value;
      return `line ${diagnostic.range.start.line + 1}: ${message}`;
    });
}

describe('Dockerfile', () => {
  const text = readRepoFile('Dockerfile');
  const dockerignore = readRepoFile('.dockerignore');
  const stages = parseDockerfile(text);
  const runtime = stages.at(-1) as DockerStage;
  const build = stages.find((stage) => stage.name === 'build') as DockerStage;
  const packageJson = JSON.parse(readRepoFile('package.json')) as {
    version: string;
    license: string;
    description: string;
    scripts: Record<string, string>;
  };
  let bundled: LoadedConfig;

  before(async () => {
    bundled = await loadBundledConfig();
  });

  it('lints clean with dockerfile-utils, every rule set to error', () => {
    assert.deepEqual(lint(text), []);
  });

  it('the same lint does flag a broken Dockerfile, so a clean result means something', () => {
    const broken = 'FROM node:24-alpine\nEXPOSE eighty\nHEALTHCHECK --interval=1 CMD true\ncmd ["node"]\n';
    assert.ok(lint(broken).length >= 3, lint(broken).join('\n'));
  });

  it('compiles in a build stage and runs from a Node 24 Alpine or slim stage', () => {
    assert.ok(build, 'a stage named build');
    assert.ok(stages.length >= 2 && runtime !== build, 'the image is not the build stage');
    assert.match(build.image, /^node:24-(alpine|bookworm-slim)$/);
    assert.match(runtime.image, /^node:24-(alpine|bookworm-slim|slim)$/);
    const buildRuns = runCommandsOf(build).flat();
    assert.ok(
      buildRuns.some((command) => command.join(' ') === 'npm run build'),
      `the build stage runs npm run build (${packageJson.scripts.build})`,
    );
    assert.match(packageJson.scripts.build ?? '', /\btsc\b/);
  });

  it('installs only production dependencies in the image, from the lock file', () => {
    const installs = runCommandsOf(runtime)
      .flat()
      .filter((command) => command[0] === 'npm' && ['ci', 'install', 'i'].includes(command[1] ?? ''));
    assert.equal(installs.length, 1, JSON.stringify(installs));
    assert.deepEqual(installs[0]?.slice(0, 3), ['npm', 'ci', '--omit=dev']);
    for (const step of copyStepsOf(runtime)) {
      for (const source of step.sources)
        assert.doesNotMatch(source, /node_modules/, 'no node_modules is copied in');
    }
  });

  it('copies from the build context only files that exist and that .dockerignore lets in', () => {
    for (const stage of stages) {
      for (const step of copyStepsOf(stage).filter((s) => s.fromStage === undefined)) {
        for (const source of step.sources) {
          assert.ok(existsSync(repoPath(source)), `${source} exists`);
          assert.ok(inBuildContext(dockerignore, source), `.dockerignore lets ${source} in`);
        }
      }
    }
  });

  it('keeps secrets, local data and build output out of the build context', () => {
    for (const path of ['.env', 'data/auth-sidecar.json', 'dist/src/main.js', 'node_modules/yaml', '.git']) {
      assert.ok(!inBuildContext(dockerignore, path), `${path} is left out`);
    }
  });

  it('copies from the build stage only the compiled sidecar, dist/src', () => {
    const fromBuild = copyStepsOf(runtime).filter((step) => step.fromStage !== undefined);
    assert.ok(fromBuild.length > 0);
    for (const step of fromBuild) {
      assert.equal(step.fromStage, 'build');
      for (const source of step.sources) {
        assert.equal(posix.relative(workdirOf(build), source), 'dist/src');
      }
    }
  });

  it('runs as a numeric, non-root user', () => {
    const { uid, gid } = userOf(runtime);
    assert.notEqual(uid, 0);
    assert.notEqual(gid, 0);
  });

  it('runs node dist/src/main.js serve from the folder the files were copied to', () => {
    assert.deepEqual(execForm(onlyInstruction(runtime, 'CMD')), ['node', 'dist/src/main.js', 'serve']);
    assert.ok(existsSync(repoPath('dist/src/main.js')), 'the build writes dist/src/main.js');
    const main = posix.join(workdirOf(runtime), 'dist/src/main.js');
    assert.equal(copySourceOf(runtime, main)?.fromStage, 'build', `${main} comes from the build stage`);
  });

  it('runs tini from the apk package as PID 1, in front of CMD', () => {
    assert.deepEqual(execForm(onlyInstruction(runtime, 'ENTRYPOINT')), ['/sbin/tini', '--']);
    const commands = runCommandsOf(runtime).flat();
    assert.ok(
      commands.some((command) => command.join(' ') === 'apk add --no-cache tini'),
      'apk add --no-cache tini',
    );
  });

  it('points AUTH_SIDECAR_CONFIG at the bundled config it copies', () => {
    const configPath = envOf(runtime).AUTH_SIDECAR_CONFIG ?? '';
    const workdir = workdirOf(runtime);
    assert.ok(configPath.startsWith(`${workdir}/`), `${configPath} is under ${workdir}`);
    assert.deepEqual(copySourceOf(runtime, configPath), {
      fromStage: undefined,
      source: 'config/auth-sidecar.yaml',
    });
  });

  it('sets only environment variables the sidecar or Node reads', () => {
    const known = [...appEnvNames(), ...NODE_ENV_NAMES];
    for (const name of Object.keys(envOf(runtime))) assert.ok(known.includes(name), `${name} is read`);
  });

  it('exposes listen.port of the bundled config', () => {
    assert.equal(
      onlyInstruction(runtime, 'EXPOSE').getArgumentsContent(),
      String(bundled.config.listen.port),
    );
  });

  it('keeps the store and the compile cache on volumes, so the root filesystem can be read-only', () => {
    const volumes = execForm(onlyInstruction(runtime, 'VOLUME'));
    const storeFolder = posix.join(workdirOf(runtime), posix.dirname(lowdbStorePathOf(bundled)));
    assert.ok(volumes.includes(storeFolder), `${storeFolder} is a volume`);
    assert.ok(volumes.includes('/tmp'), '/tmp is a volume');
    const { uid, gid } = userOf(runtime);
    assert.ok(
      runCommandsOf(runtime)
        .flat()
        .some((command) => command.join(' ') === `chown ${uid}:${gid} ${storeFolder}`),
      `the store's folder belongs to USER ${uid}:${gid}`,
    );
    const compileCache = envOf(runtime).NODE_COMPILE_CACHE ?? '';
    assert.ok(
      volumes.some((volume) => compileCache.startsWith(`${volume}/`)),
      `NODE_COMPILE_CACHE ${compileCache} is on a volume`,
    );
  });

  it('checks health with node itself: GET /healthz on env PORT, else listen.port', () => {
    const healthcheck = onlyInstruction(runtime, 'HEALTHCHECK');
    const [command, flag, script = ''] = execForm(healthcheck);
    assert.equal(command, 'node');
    assert.equal(flag, '-e');
    assert.match(script, /\/healthz/);
    assert.match(script, new RegExp(`process\\.env\\.PORT \\|\\| ${bundled.config.listen.port}\\b`));
    assert.deepEqual(Object.keys(flagsOf(healthcheck)).sort(), [
      'interval',
      'retries',
      'start-period',
      'timeout',
    ]);
    const installed = runCommandsOf(runtime).flat().flat();
    for (const tool of ['curl', 'wget']) {
      assert.ok(!installed.includes(tool) && !execForm(healthcheck).includes(tool), `no ${tool}`);
    }
  });

  it("carries the OCI labels, with package.json's version, license and description", () => {
    const labels = labelsOf(runtime);
    assert.equal(labels['org.opencontainers.image.title'], 'auth-sidecar');
    assert.equal(labels['org.opencontainers.image.description'], packageJson.description);
    assert.equal(labels['org.opencontainers.image.licenses'], packageJson.license);
    assert.equal(labels['org.opencontainers.image.version'], packageJson.version);
    assert.ok('org.opencontainers.image.source' in labels, 'a source label (from --build-arg SOURCE_URL)');
    assert.equal(instructionsOf(runtime, 'LABEL').length, 1);
  });
});
