import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Deployment, type IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import {
  PodDisruptionBudget,
  type IPodDisruptionBudget,
} from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { ConfigMap, type IConfigMap } from 'kubernetes-models/v1/ConfigMap';
import type { IContainer } from 'kubernetes-models/v1/Container';
import { Secret, type ISecret } from 'kubernetes-models/v1/Secret';
import { Service, type IService } from 'kubernetes-models/v1/Service';
import { loadConfig, type LoadedConfig } from '../../src/config/load.js';
import { findFreePort, REPO_ROOT } from '../helpers/cli-process.js';
import {
  appEnvNames,
  envOf,
  jwtSecretProblems,
  onlyInstruction,
  parseDockerfile,
  readRepoFile,
  readYamlDocuments,
  startProcess,
  userOf,
  type DockerStage,
  type StartedProcess,
} from '../helpers/deploy-files.js';
import { TEST_JWT_SECRET } from '../helpers/sidecar.js';

const FOLDER = 'deploy/kubernetes';

/** The models that validate each kind these manifests use, by `apiVersion/kind`. */
const MODELS: Readonly<Record<string, (data: never) => { validate(): void }>> = {
  'v1/ConfigMap': (data: IConfigMap) => new ConfigMap(data),
  'v1/Secret': (data: ISecret) => new Secret(data),
  'v1/Service': (data: IService) => new Service(data),
  'apps/v1/Deployment': (data: IDeployment) => new Deployment(data),
  'policy/v1/PodDisruptionBudget': (data: IPodDisruptionBudget) => new PodDisruptionBudget(data),
};

interface Manifest {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string };
}

function manifestsIn(file: string): Manifest[] {
  return readYamlDocuments(posix.join(FOLDER, file)) as Manifest[];
}

/** The one manifest of `kind` in the folder. */
function only<T>(kind: string): T {
  const found = readdirSync(join(REPO_ROOT, FOLDER))
    .flatMap(manifestsIn)
    .filter((manifest) => manifest.kind === kind);
  assert.equal(found.length, 1, `one ${kind}`);
  return found[0] as T;
}

function envValue(container: IContainer, name: string): string | undefined {
  return container.env?.find((variable) => variable.name === name)?.value;
}

describe('Kubernetes example (deploy/kubernetes)', () => {
  const files = readdirSync(join(REPO_ROOT, FOLDER)).filter((file) => file.endsWith('.yaml'));
  const deployment = only<IDeployment>('Deployment');
  const service = only<IService>('Service');
  const configMap = only<IConfigMap>('ConfigMap');
  const secret = only<ISecret>('Secret');
  const budget = only<IPodDisruptionBudget>('PodDisruptionBudget');
  const pod = deployment.spec?.template.spec;
  const containers = pod?.containers ?? [];
  const sidecar = containers.find((container) => container.name === 'auth-sidecar') as IContainer;
  const app = containers.find((container) => container.name === 'app') as IContainer;
  const runtime = parseDockerfile(readRepoFile('Dockerfile')).at(-1) as DockerStage;
  const imageEnv = envOf(runtime);
  const { version } = JSON.parse(readRepoFile('package.json')) as { version: string };
  /**
   * The config of the ConfigMap, loaded by the sidecar's loader with the container's environment:
   * its literal values, and the Secret's placeholders for the variables it takes from the Secret.
   */
  let loaded: LoadedConfig;
  let tempDir: string;
  const started: StartedProcess[] = [];

  before(async () => {
    tempDir = await mkdtemp(join(tmpdir(), 'auth-sidecar-k8s-'));
    const configFile = join(tempDir, 'auth-sidecar.yaml');
    await writeFile(configFile, configMap.data?.['auth-sidecar.yaml'] ?? '');
    const env = Object.fromEntries(
      (sidecar.env ?? []).map((variable) => {
        const key = variable.valueFrom?.secretKeyRef?.key;
        return [variable.name, key === undefined ? variable.value : secret.stringData?.[key]];
      }),
    );
    loaded = await loadConfig({ path: configFile, env: { ...env, JWT_SECRET: TEST_JWT_SECRET } });
  });
  after(async () => {
    for (const process of started) await process.kill();
    await rm(tempDir, { recursive: true, force: true });
  });

  for (const file of files) {
    it(`${file} validates against the Kubernetes API schema`, () => {
      for (const manifest of manifestsIn(file)) {
        const model = MODELS[`${manifest.apiVersion}/${manifest.kind}`];
        assert.ok(model, `${manifest.apiVersion} ${manifest.kind} has a model here`);
        model(manifest as never).validate();
      }
    });
  }

  it('the same schema check refuses a broken Deployment, so passing means something', () => {
    const broken = structuredClone(deployment) as unknown as { spec: { replicas: unknown } };
    broken.spec.replicas = 'one';
    assert.throws(() => new Deployment(broken as IDeployment).validate(), /replicas/);
  });

  it("the ConfigMap's auth-sidecar.yaml is a valid config for the sidecar's loader", () => {
    assert.equal(loaded.config.default, 'deny');
    assert.ok(loaded.config.rules.length > 0);
  });

  it('runs 3 replicas on the shared Redis store, replaced by a rolling update that keeps all 3 ready', () => {
    assert.equal(loaded.config.store.driver, 'redis', 'the embedded lowdb store belongs to one process');
    assert.equal(deployment.spec?.replicas, 3);
    assert.equal(deployment.spec?.strategy?.type, 'RollingUpdate');
    assert.equal(deployment.spec?.strategy?.rollingUpdate?.maxUnavailable, 0);
    assert.ok(Number(deployment.spec?.strategy?.rollingUpdate?.maxSurge) >= 1, 'a new pod first');
  });

  it("gives the application's keys their own prefix on Redis, and fails closed while Redis is unreachable", () => {
    const { store } = loaded.config;
    assert.ok(store.driver === 'redis');
    const appName = deployment.metadata?.labels?.['app.kubernetes.io/name'];
    assert.equal(store.keyPrefix, `${appName}:`);
    assert.equal(store.unavailable, 'fail-closed');
  });

  it('takes REDIS_URL from the Secret, which overrides store.url; no password in the ConfigMap', () => {
    const placeholder = secret.stringData?.REDIS_URL ?? '';
    assert.ok(loaded.config.store.driver === 'redis');
    assert.equal(loaded.config.store.url, placeholder, 'env REDIS_URL wins');
    assert.match(new URL(placeholder).hostname, /\.invalid$/, 'a placeholder that cannot reach a server');
    const text = configMap.data?.['auth-sidecar.yaml'] ?? '';
    assert.doesNotMatch(text, /rediss?:\/\/[^\s]*@/, 'no credentials in the ConfigMap');
    assert.match(
      readRepoFile(posix.join(FOLDER, 'secret.yaml')),
      /--from-literal=REDIS_URL=/,
      'secret.yaml shows how to create the Secret with both keys',
    );
  });

  it('keeps a voluntary disruption to one pod at a time, and spreads the replicas over nodes', () => {
    const labels = deployment.spec?.template.metadata?.labels ?? {};
    const replicas = deployment.spec?.replicas ?? 0;
    const selectors = [
      budget.spec?.selector?.matchLabels ?? {},
      ...(pod?.topologySpreadConstraints ?? []).map((c) => c.labelSelector?.matchLabels ?? {}),
    ];
    assert.equal(selectors.length, 2, 'a PodDisruptionBudget and one topology spread constraint');
    for (const selector of selectors) {
      assert.ok(Object.keys(selector).length > 0);
      for (const [key, value] of Object.entries(selector)) assert.equal(labels[key], value, key);
    }
    assert.equal(budget.spec?.maxUnavailable, 1, 'a drain can go on, one pod at a time');
    assert.ok(replicas - 1 >= 2, 'two replicas keep serving');
    const [spread] = pod?.topologySpreadConstraints ?? [];
    assert.equal(spread?.topologyKey, 'kubernetes.io/hostname');
    assert.equal(spread?.whenUnsatisfiable, 'ScheduleAnyway', 'a one-node cluster still runs all 3');
  });

  it('selects the pod it defines, by the labels the pod carries', () => {
    const labels = deployment.spec?.template.metadata?.labels ?? {};
    for (const selector of [deployment.spec?.selector.matchLabels ?? {}, service.spec?.selector ?? {}]) {
      assert.ok(Object.keys(selector).length > 0);
      for (const [key, value] of Object.entries(selector)) assert.equal(labels[key], value, key);
    }
  });

  it("sends the Service only to the sidecar's port, which is listen.port and the image's EXPOSE", () => {
    const expose = Number(onlyInstruction(runtime, 'EXPOSE').getArgumentsContent());
    for (const port of service.spec?.ports ?? []) {
      const targets = containers.flatMap((container) =>
        (container.ports ?? [])
          .filter((p) => p.name === port.targetPort || p.containerPort === port.targetPort)
          .map((p) => ({ container: container.name, port: p.containerPort })),
      );
      assert.deepEqual(targets, [{ container: 'auth-sidecar', port: loaded.config.listen.port }]);
      assert.equal(loaded.config.listen.port, expose);
    }
    assert.equal(app.ports, undefined, 'the application declares no port');
  });

  it('has the application listen on 127.0.0.1 only, at the upstream.url of the config', () => {
    const upstream = new URL(loaded.config.upstream.url);
    assert.equal(upstream.hostname, '127.0.0.1');
    assert.equal(envValue(app, 'HOST'), '127.0.0.1');
    assert.equal(envValue(app, 'PORT'), upstream.port);
  });

  it("starts the application with args, keeping the image's tini entrypoint, and it answers", async () => {
    assert.equal(app.command, undefined, 'command would replace the entrypoint');
    const env = Object.fromEntries((app.env ?? []).map((variable) => [variable.name, variable.value ?? '']));
    const port = String(await findFreePort());
    const echo = startProcess(app.args ?? [], { cwd: REPO_ROOT, env: { ...env, PORT: port } });
    started.push(echo);
    await echo.waitForStatus(`http://127.0.0.1:${port}/`, 200);
    echo.child.kill('SIGTERM');
    await echo.exited;
  });

  it('runs both containers from the image of this version', () => {
    for (const container of containers)
      assert.equal(container.image, `auth-sidecar:${version}`, container.name);
  });

  it('sets only environment variables the sidecar reads on the sidecar, JWT_SECRET and REDIS_URL from the Secret', () => {
    const known = appEnvNames();
    for (const variable of sidecar.env ?? []) assert.ok(known.includes(variable.name), variable.name);
    for (const name of ['JWT_SECRET', 'REDIS_URL']) {
      const variable = sidecar.env?.find((v) => v.name === name);
      assert.ok(variable, name);
      assert.equal(variable.value, undefined, `${name}: never a literal value`);
      const ref = variable.valueFrom?.secretKeyRef;
      assert.equal(ref?.name, secret.metadata?.name, name);
      assert.equal(ref?.optional, undefined, `${name}: the pod does not start without it`);
      assert.ok(ref?.key !== undefined && ref.key in (secret.stringData ?? {}), `the Secret has ${ref?.key}`);
    }
  });

  it("refuses to start with secret.yaml's placeholder, so applying it as is cannot go unnoticed", async () => {
    const problems = await jwtSecretProblems(secret.stringData?.JWT_SECRET ?? '');
    assert.equal(problems.length, 1);
    assert.match(readRepoFile(posix.join(FOLDER, 'secret.yaml')), /kubectl create secret generic/);
  });

  it('mounts the ConfigMap read-only where AUTH_SIDECAR_CONFIG looks', () => {
    const configPath = envValue(sidecar, 'AUTH_SIDECAR_CONFIG') ?? imageEnv.AUTH_SIDECAR_CONFIG ?? '';
    const mount = sidecar.volumeMounts?.find((m) => m.mountPath === posix.dirname(configPath));
    assert.ok(mount, `a volume at ${posix.dirname(configPath)}`);
    assert.equal(mount.readOnly, true);
    const volume = pod?.volumes?.find((v) => v.name === mount.name);
    assert.equal(volume?.configMap?.name, configMap.metadata?.name);
    assert.ok(posix.basename(configPath) in (configMap.data ?? {}));
  });

  it('keeps nothing on the pod: only /tmp is writable, an emptyDir in each container', () => {
    const writable = containers.flatMap((container) =>
      (container.volumeMounts ?? []).filter((m) => m.readOnly !== true).map((m) => m.mountPath),
    );
    assert.deepEqual(writable, ['/tmp', '/tmp'], 'no data volume: the store is Redis');
    assert.ok(!(pod?.volumes ?? []).some((v) => v.persistentVolumeClaim), 'no PersistentVolumeClaim');
    assert.ok((imageEnv.NODE_COMPILE_CACHE ?? '').startsWith('/tmp/'));
    for (const container of containers) {
      const tmp = container.volumeMounts?.find((m) => m.mountPath === '/tmp');
      assert.ok(tmp, `${container.name} mounts /tmp`);
      assert.ok(
        pod?.volumes?.find((v) => v.name === tmp.name)?.emptyDir,
        `${container.name} /tmp is an emptyDir`,
      );
    }
  });

  it("checks liveness on /healthz and readiness on /readyz at the sidecar's port", () => {
    assert.equal(sidecar.livenessProbe?.httpGet?.path, '/healthz');
    assert.equal(sidecar.readinessProbe?.httpGet?.path, '/readyz');
    const portName = sidecar.ports?.find((p) => p.containerPort === loaded.config.listen.port)?.name;
    assert.equal(sidecar.livenessProbe?.httpGet?.port, portName);
    assert.equal(sidecar.readinessProbe?.httpGet?.port, portName);
  });

  it('runs every container non-root, read-only, without privilege escalation or capabilities', () => {
    const { uid, gid } = userOf(runtime);
    assert.equal(pod?.securityContext?.runAsNonRoot, true);
    assert.equal(pod?.securityContext?.runAsUser, uid, "the image's USER");
    assert.equal(pod?.securityContext?.runAsGroup, gid);
    assert.equal(pod?.securityContext?.seccompProfile?.type, 'RuntimeDefault');
    for (const container of containers) {
      const context = container.securityContext;
      assert.equal(context?.runAsNonRoot, true, container.name);
      assert.equal(context?.readOnlyRootFilesystem, true, container.name);
      assert.equal(context?.allowPrivilegeEscalation, false, container.name);
      assert.deepEqual(context?.capabilities?.drop, ['ALL'], container.name);
      assert.equal(context?.seccompProfile?.type, 'RuntimeDefault', container.name);
    }
  });

  it('gives every container CPU and memory requests and limits', () => {
    for (const container of containers) {
      for (const kind of ['requests', 'limits'] as const) {
        const resources = container.resources?.[kind] ?? {};
        assert.ok(resources.cpu !== undefined && resources.memory !== undefined, `${container.name} ${kind}`);
      }
    }
  });

  it('takes requests for shutdown.delay after SIGTERM, keeps the application up longer, all within the grace period', () => {
    const { delay, grace } = loaded.config.shutdown;
    assert.ok(delay > 0, 'shutdown.delay lets the endpoints drop the pod before the listener closes');
    const appSleep = app.lifecycle?.preStop?.sleep?.seconds ?? 0;
    assert.ok(appSleep * 1000 > delay, `the application outlives shutdown.delay (${appSleep} s)`);
    assert.equal(sidecar.lifecycle?.preStop, undefined, 'SIGTERM reaches the sidecar at once');
    const period = (pod?.terminationGracePeriodSeconds ?? 30) * 1000;
    assert.ok(period > delay + grace, `${period} ms > shutdown.delay + shutdown.grace (${delay + grace} ms)`);
    assert.ok(period > appSleep * 1000);
  });
});
