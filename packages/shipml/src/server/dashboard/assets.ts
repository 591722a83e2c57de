/**
 * The files the browser loads: the stylesheet and the islands script (string modules, so
 * tsc ships them) and uPlot's build, read once from its package (a runtime dependency, so
 * it is installed wherever shipml is; nothing comes from a CDN).
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { CLIENT } from './client.js';
import { STYLE } from './style.js';

export interface Asset {
  type: string;
  body: string;
}

const UPLOT: Record<string, { file: string; type: string }> = {
  'uplot.js': { file: 'uplot/dist/uPlot.iife.min.js', type: 'text/javascript; charset=utf-8' },
  'uplot.css': { file: 'uplot/dist/uPlot.min.css', type: 'text/css; charset=utf-8' },
};

/** Loads assets on first use and keeps them (per dashboard, not per module). */
export function assetLoader(): (name: string) => Promise<Asset | undefined> {
  const cache = new Map<string, Asset>();
  const require = createRequire(import.meta.url);
  return async (name) => {
    const hit = cache.get(name);
    if (hit) return hit;
    let asset: Asset | undefined;
    if (name === 'style.css') asset = { type: 'text/css; charset=utf-8', body: STYLE };
    else if (name === 'app.js') asset = { type: 'text/javascript; charset=utf-8', body: CLIENT };
    else if (UPLOT[name])
      asset = {
        type: UPLOT[name].type,
        body: await readFile(require.resolve(UPLOT[name].file), 'utf8'),
      };
    if (asset) cache.set(name, asset);
    return asset;
  };
}
