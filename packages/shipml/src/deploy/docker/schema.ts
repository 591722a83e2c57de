import { z } from 'zod';

/** `deploy.docker` in shipml.yaml: the load balancer in front of the replicas. */
export const DockerDeploySchema = z
  .object({
    /** Host port of the load balancer, published on `address` only. */
    port: z.number().int().min(1).max(65535).default(8080),
    address: z.string().min(1).default('127.0.0.1'),
    /** The reverse proxy's image (HAProxy); default: the one `scripts/base-images.sh` builds. */
    proxyImage: z.string().min(1).optional(),
  })
  .strict();
export type DockerDeployOptions = z.output<typeof DockerDeploySchema>;
