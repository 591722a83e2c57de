/** `shipml/deploy/docker`: the Docker target (HAProxy + replicas on one engine). */
export { DockerTarget, DEFAULT_PROXY_IMAGE, type DockerTargetOptions } from './target.js';
export { DockerDeploySchema, type DockerDeployOptions } from './schema.js';
