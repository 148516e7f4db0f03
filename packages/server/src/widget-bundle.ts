import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

export interface WidgetAsset {
  body: Buffer;
  etag: string;
}

/** The `<call-us-button>` CDN bundle this server hands to pages, read once at start-up. */
export interface WidgetBundle {
  esm: WidgetAsset;
  iife: WidgetAsset;
  /** A content hash: URLs carrying it can be cached for a year. */
  version: string;
}

/**
 * Reads the bundle from `@beckon/widget`'s `cdn/` folder (or `dir`). Undefined when it has not been
 * built: the routes then say so instead of failing.
 */
export function loadWidgetBundle(dir?: string): WidgetBundle | undefined {
  try {
    const folder = dir ?? join(dirname(createRequire(import.meta.url).resolve('@beckon/widget/package.json')), 'cdn');
    const asset = (file: string): WidgetAsset => {
      const body = readFileSync(join(folder, file));
      return { body, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"` };
    };
    const esm = asset('call-us-button.js');
    const iife = asset('call-us-button.iife.js');
    const version = createHash('sha256').update(esm.body).update(iife.body).digest('hex').slice(0, 12);
    return { esm, iife, version };
  } catch {
    return undefined;
  }
}
