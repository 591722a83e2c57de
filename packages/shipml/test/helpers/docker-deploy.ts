/** The tiny app deployed on the Docker target, as the service tests that roll out need it. */

/**
 * The deploy section that puts `app` on the Docker target: one replica, no drain, readiness
 * and liveness on `/`, the load balancer on 127.0.0.1:`port` (`proxyImage`); verify checks
 * no version path (the tiny app has none). It replaces tinyApp()'s `deploy:` section.
 */
export function dockerDeploySection(app: string, port: number, proxyImage: string): string {
  return [
    'deploy:',
    `  app: ${app}`,
    '  replicas: 1',
    '  drainSeconds: 0',
    '  readinessPath: /',
    '  livenessPath: /',
    '  docker:',
    `    port: ${port}`,
    `    proxyImage: ${proxyImage}`,
    'verify: { versionPath: null }',
    '',
  ].join('\n');
}
