/**
 * Where users reach the app: the Ingress host when there is one, else the Service's load
 * balancer address once the cloud has assigned it. ClusterIP and NodePort Services have no
 * address of their own that users reach, so there the URL is unknown (undefined).
 */
import { NotFoundError } from '../../core/errors.js';
import type { KubeConnection } from './client.js';
import type { KubernetesTargetOptions } from './schema.js';

export async function serviceUrl(
  conn: KubeConnection,
  service: string,
  options: Pick<KubernetesTargetOptions, 'ingress' | 'service'>,
): Promise<string | undefined> {
  if (options.ingress) {
    return `${options.ingress.tlsSecret ? 'https' : 'http'}://${options.ingress.host}/`;
  }
  if (options.service.type !== 'LoadBalancer') return undefined;
  try {
    const svc = await conn.call(`read Service/${service}`, () =>
      conn.core.readNamespacedService({ name: service, namespace: conn.namespace }),
    );
    const lb = svc.status?.loadBalancer?.ingress?.[0];
    const host = lb?.hostname ?? lb?.ip;
    if (!host) return undefined;
    const port = options.service.port === 80 ? '' : `:${options.service.port}`;
    return `http://${host.includes(':') ? `[${host}]` : host}${port}/`;
  } catch (err) {
    if (err instanceof NotFoundError) return undefined;
    throw err;
  }
}
