/**
 * The app's load balancer container: HAProxy (haproxy.ts) published on the host, created on the
 * first deploy, replaced only when its own settings change, its config file kept in step with
 * the replicas that serve.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { PassThrough } from 'node:stream';
import type Docker from 'dockerode';
import { pack } from 'tar-stream';
import { ConfigError, ExternalServiceError } from '../../core/errors.js';
import type { DeploySpec } from '../types.js';
import { engineAnswer, engineCall, isMissing, type Engine } from './engine.js';
import { CONFIG_PATH, HaproxyAdmin, PROXY_PORT, renderHaproxyConfig } from './haproxy.js';
import { LABEL, liveRevision, names, proxySettingsLabel, readProxySettings } from './state.js';

export interface LoadBalancerSettings {
  /** Host address and port it is published on. */
  address: string;
  port: number;
  image: string;
}

export class LoadBalancer {
  constructor(
    private readonly engine: Engine,
    readonly settings: LoadBalancerSettings,
  ) {}

  async ensure(spec: DeploySpec, say: (m: string) => void): Promise<Docker.Container> {
    const app = spec.app;
    const settings = proxySettingsLabel({
      port: spec.port,
      readinessPath: spec.readinessPath,
      host: `${this.settings.address}:${this.settings.port}`,
      image: this.settings.image,
    });
    const network = names.network(app);
    try {
      await this.engine.docker.getNetwork(network).inspect();
    } catch (err) {
      if (!isMissing(err)) throw err;
      await engineCall(this.engine.where, `creating network ${network}`, () =>
        this.engine.docker.createNetwork({
          Name: network,
          Driver: 'bridge',
          Labels: { [LABEL.app]: app },
        }),
      );
    }
    const state = await this.engine.read(app);
    const name = names.proxy(app);
    const current = state.proxy;
    if (current?.Labels[LABEL.proxy] === settings) {
      const container = this.engine.docker.getContainer(current.Id);
      if (current.State !== 'running')
        await engineCall(this.engine.where, `starting ${name}`, () => container.start());
      await this.waitAdmin(container);
      return container;
    }
    await this.engine.ensureImage(this.settings.image).catch((err: unknown) => {
      throw new ConfigError(
        `load balancer image ${this.settings.image} is not available: ${(err as Error).message}`,
        {
          hint: 'scripts/base-images.sh builds shipml/haproxy:2.6; set deploy.docker.proxyImage to where it is',
        },
      );
    });
    // Port, readiness path or image changed: HAProxy cannot change those at run time, so a
    // new proxy replaces the old one — started beside it when the host port differs (the old
    // one serves until the new one runs), else in its place.
    const host = `${this.settings.address}:${this.settings.port}`;
    // Damaged settings leave its host port unknown: replacing it in place is what cannot
    // collide with itself on the port (a new one beside it would fail if the port is the same).
    const previous = current && readProxySettings(current.Labels ?? {});
    const samePort = previous !== undefined && (!previous.ok || previous.value.host === host);
    if (current) {
      const why =
        previous?.ok === false
          ? `${name}'s labels are damaged (${previous.reason})`
          : 'load balancer settings changed';
      say(`${why}: replacing ${name}${samePort ? ' (open connections are cut)' : ''}`);
      if (samePort) await this.engine.docker.getContainer(current.Id).remove({ force: true });
    }
    const running = liveRevision(state)?.replicas.filter((r) => r.running) ?? [];
    const servers = await this.engine.servers(running, app);
    const container = await engineCall(this.engine.where, `creating ${name}`, () =>
      this.engine.docker.createContainer({
        name: current && !samePort ? `${name}-next` : name,
        Image: this.settings.image,
        Cmd: ['haproxy', '-W', '-db', '-f', CONFIG_PATH],
        Labels: { [LABEL.app]: app, [LABEL.role]: 'proxy', [LABEL.proxy]: settings },
        ExposedPorts: { [`${PROXY_PORT}/tcp`]: {} },
        HostConfig: {
          NetworkMode: network,
          PortBindings: {
            [`${PROXY_PORT}/tcp`]: [
              { HostIp: this.settings.address, HostPort: String(this.settings.port) },
            ],
          },
          RestartPolicy: { Name: 'unless-stopped' },
        },
      }),
    );
    await this.writeConfig(container, spec, servers);
    try {
      await container.start();
    } catch (err) {
      await container.remove({ force: true }).catch(() => undefined);
      // Nothing half-made: a first deploy that cannot start its proxy leaves no network.
      if (state.revisions.length === 0 && !current)
        await this.engine.docker
          .getNetwork(network)
          .remove()
          .catch(() => undefined);
      const message = engineAnswer(err)?.message ?? (err as Error).message;
      if (/already allocated|address already in use/i.test(message))
        throw new ConfigError(`port ${host} for ${app}'s load balancer is in use`, {
          hint: 'stop what listens there, or set deploy.docker.port to a free port',
        });
      const lost = samePort
        ? `; the previous load balancer is gone: nothing serves at ${host}`
        : '';
      throw new ConfigError(`load balancer ${name} did not start: ${message}${lost}`, {
        cause: err,
      });
    }
    if (current && !samePort) {
      await this.engine.docker.getContainer(current.Id).remove({ force: true });
      await container.rename({ name });
    }
    await this.waitAdmin(container);
    say(`load balancer ${name} listens on http://${this.settings.address}:${this.settings.port}/`);
    return container;
  }

  private async waitAdmin(container: Docker.Container): Promise<void> {
    const admin = new HaproxyAdmin(container);
    const until = Date.now() + 10_000;
    for (;;) {
      try {
        await admin.command('show info');
        return;
      } catch (err) {
        if (Date.now() > until)
          throw new ExternalServiceError(
            `load balancer did not answer on its Runtime API: ${(err as Error).message}`,
            { retryable: true, cause: err },
          );
        await sleep(100);
      }
    }
  }

  async writeConfig(
    container: Docker.Container,
    spec: DeploySpec,
    servers: Array<{ slot: number; address: string }>,
  ): Promise<void> {
    const config = renderHaproxyConfig(
      { port: spec.port, readinessPath: spec.readinessPath },
      servers,
    );
    const tar = pack();
    tar.entry({ name: CONFIG_PATH.slice(1), mode: 0o644 }, config);
    tar.finalize();
    const body = new PassThrough();
    tar.pipe(body);
    await engineCall(this.engine.where, 'writing the load balancer config', () =>
      container.putArchive(body, { path: '/' }),
    );
  }
}
