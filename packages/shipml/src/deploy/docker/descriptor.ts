import type { TargetDescriptor } from '../types.js';
import { DockerDeploySchema } from './schema.js';

/** One Docker Engine (DOCKER_HOST, else the local socket): N replicas behind HAProxy. */
export const docker = {
  id: 'docker',
  summary: 'one Docker host: replicas behind HAProxy, published on 127.0.0.1 by default',
  optionsSchema: DockerDeploySchema,
  flags: [
    {
      flags: '--port <port>',
      option: 'port',
      description: 'host port of the load balancer',
      integer: true,
    },
  ],
  capabilities: [],
  secretOptions: [],
  secretEnv: [],
  ciEnv: [],
  example: 'deploy:\n  target: docker\n  docker: { port: 8080, address: 127.0.0.1 }',
  open: async (options, ctx) => {
    const { DockerTarget } = await import('./target.js');
    return new DockerTarget({
      port: options.port,
      address: options.address,
      proxyImage: options.proxyImage,
      registryAuth: ctx.pull && {
        username: ctx.pull.username,
        password: ctx.pull.password,
        serveraddress: ctx.pull.registry,
      },
      env: ctx.env,
    });
  },
} as const satisfies TargetDescriptor<typeof DockerDeploySchema>;
